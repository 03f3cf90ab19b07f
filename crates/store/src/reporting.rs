//! What the manager reports read: stock rows, per-variant activity over a window, daily
//! demand, stock over time, shelf-count discrepancies, and per-variant reorder settings.
//!
//! Rates and histories come from `daily_movements`, a per-variant/location/day summary of
//! the ledger written in the same transaction as the events ([`DailyTotals`]) and rebuilt
//! with the book stock, so a report over a million events reads thousands of rows, not
//! millions. The store-wide running totals (`variant_days`, `variant_totals`) are brought
//! up to date lazily: a write only marks the variants it moved, and the reads that need
//! the totals refresh the marked ones first ([`Store::refresh_running_totals`]). Days are
//! UTC days since 1970-01-01.

use std::collections::HashMap;

use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};

use crate::model::EventKind;
use crate::store::{location_id, variant_id, EventRow};
use crate::{Result, Store, StoreError};

const MS_PER_DAY: i64 = 86_400_000;

/// The UTC day (days since 1970-01-01) of a Unix-millisecond time; the same rounding as the
/// SQL `occurred_at_ms / 86400000` that builds `daily_movements`.
pub fn day_of_ms(unix_ms: i64) -> i64 {
    unix_ms / MS_PER_DAY
}

/// Which rows a report covers; `None` means all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportFilter {
    /// Case-insensitive substring of the SKU, the product name or the barcode.
    pub search: Option<String>,
    /// A location code; unknown codes are an error.
    pub location: Option<String>,
    /// A product category, case-insensitive.
    pub category: Option<String>,
}

/// Book stock of one variant at one location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockRow {
    pub sku: String,
    pub product_name: String,
    pub category: String,
    pub size: Option<String>,
    pub colour: Option<String>,
    pub barcode: Option<String>,
    pub location: String,
    pub on_hand: i64,
    pub price_cents: i64,
    pub cost_cents: i64,
}

/// How a variant is reordered; a variant without its own settings has the defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReorderSettings {
    /// A manager's fixed reorder point; `None`: computed from the demand forecast.
    pub reorder_point: Option<i64>,
    /// Days from placing an order to having the goods.
    pub lead_time_days: u32,
    /// Days between two looks at the stock (orders are placed at reviews).
    pub review_period_days: u32,
    /// Orders are whole packs of this many units.
    pub pack_size: u32,
    /// Wanted probability of not running out during a lead time, in [0.5, 1).
    pub service_level: f64,
}

impl Default for ReorderSettings {
    fn default() -> Self {
        ReorderSettings {
            reorder_point: None,
            lead_time_days: 7,
            review_period_days: 7,
            pack_size: 1,
            service_level: 0.95,
        }
    }
}

impl ReorderSettings {
    fn check(&self) -> Result<()> {
        let problem = if self.reorder_point.is_some_and(|p| p < 0) {
            Some("reorder point must not be negative".to_owned())
        } else if self.lead_time_days > 365 || self.review_period_days > 365 {
            Some("lead time and review period must be at most 365 days".to_owned())
        } else if self.pack_size == 0 {
            Some("pack size must be at least 1".to_owned())
        } else if !(0.5..1.0).contains(&self.service_level) {
            Some(format!(
                "service level {} must be at least 0.5 and below 1",
                self.service_level
            ))
        } else {
            None
        };
        match problem {
            Some(reason) => Err(StoreError::InvalidSettings(reason)),
            None => Ok(()),
        }
    }
}

/// One variant's stock and movements over a window of days.
#[derive(Debug, Clone, PartialEq)]
pub struct VariantActivity {
    pub sku: String,
    pub product_name: String,
    pub category: String,
    pub size: Option<String>,
    pub colour: Option<String>,
    pub price_cents: i64,
    pub cost_cents: i64,
    /// Book stock now (at the filtered location, or everywhere).
    pub on_hand: i64,
    /// Units sold, returned and received in the window.
    pub sold: i64,
    pub returned: i64,
    pub received: i64,
    /// Net book-stock change in the window (everything but counts), so
    /// `on_hand - net_change` was the stock when the window opened.
    pub net_change: i64,
    /// Sum over the window's days of net units sold (sold − returned) per day, and of its
    /// square: the mean and variance of daily demand without fetching every day.
    pub demand_sum: f64,
    pub demand_sum_sq: f64,
    /// The last day anything of it was sold (any time, not only in the window).
    pub last_sold_day: Option<i64>,
    pub settings: ReorderSettings,
}

/// The latest shelf count of a variant at a location, with book stock at that moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountDiscrepancy {
    pub sku: String,
    pub product_name: String,
    pub location: String,
    pub counted_at_ms: i64,
    pub counted: i64,
    /// Book stock just before the count (every earlier event applied).
    pub book: i64,
    pub cost_cents: i64,
}

/// Sums of one variant/location/day, in the column order of `daily_movements`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct DayTotals {
    sold: i64,
    returned: i64,
    received: i64,
    adjusted: i64,
    moved_in: i64,
    moved_out: i64,
}

/// Daily sums of the rows a [`crate::store::LedgerWriter`] appends, written to
/// `daily_movements` when the writer finishes, in its transaction.
#[derive(Debug, Default)]
pub(crate) struct DailyTotals(HashMap<(i64, i64, i64), DayTotals>);

impl DailyTotals {
    pub(crate) fn add(&mut self, row: &EventRow<'_>) {
        if row.kind == EventKind::Counted {
            return; // an observation: it moves nothing
        }
        let day = day_of_ms(row.occurred_at_ms);
        let at = self.0.entry((row.variant, row.location, day)).or_default();
        match row.kind {
            EventKind::Sold => at.sold += row.quantity,
            EventKind::Returned => at.returned += row.quantity,
            EventKind::Received => at.received += row.quantity,
            EventKind::Adjusted => at.adjusted += row.quantity,
            EventKind::Transferred => at.moved_out += row.quantity,
            EventKind::Counted => {}
        }
        if let Some(to) = row.to_location {
            self.0.entry((row.variant, to, day)).or_default().moved_in += row.quantity;
        }
    }

    /// Adds the sums to `daily_movements` and marks each variant moved as stale from its
    /// first day here; [`refresh_variant_days`] brings its running totals up to date later.
    pub(crate) fn flush(&mut self, conn: &Connection) -> Result<()> {
        let mut upsert = conn.prepare_cached(
            "INSERT INTO daily_movements
                 (variant_id, location_id, day, sold, returned, received, adjusted, moved_in,
                  moved_out)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (variant_id, location_id, day) DO UPDATE SET
                 sold = sold + excluded.sold, returned = returned + excluded.returned,
                 received = received + excluded.received, adjusted = adjusted + excluded.adjusted,
                 moved_in = moved_in + excluded.moved_in, moved_out = moved_out + excluded.moved_out",
        )?;
        let mut stale_from: HashMap<i64, i64> = HashMap::new();
        for ((variant, location, day), t) in self.0.drain() {
            upsert.execute(params![
                variant,
                location,
                day,
                t.sold,
                t.returned,
                t.received,
                t.adjusted,
                t.moved_in,
                t.moved_out
            ])?;
            let from = stale_from.entry(variant).or_insert(day);
            *from = (*from).min(day);
        }
        let mut mark = conn.prepare_cached(
            "INSERT INTO variant_totals (variant_id, stale_from) VALUES (?1, ?2)
             ON CONFLICT (variant_id) DO UPDATE SET
                 stale_from = min(COALESCE(stale_from, excluded.stale_from), excluded.stale_from)",
        )?;
        for (variant, day) in stale_from {
            mark.execute([variant, day])?;
        }
        Ok(())
    }
}

/// Recomputes `variant_days` of every variant marked stale from its first stale day on,
/// starting from the running totals of the day before, sets its `variant_totals` row to its
/// last day and clears its mark; returns how many variants it refreshed. The caller owns
/// the (write) transaction.
pub(crate) fn refresh_variant_days(conn: &Connection) -> Result<usize> {
    let stale: Vec<(i64, i64)> = conn
        .prepare_cached(
            "SELECT variant_id, stale_from FROM variant_totals WHERE stale_from IS NOT NULL",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    if stale.is_empty() {
        return Ok(0);
    }
    let mut running_before = conn.prepare_cached(
        "SELECT cum_sold, cum_returned, cum_received, cum_net, cum_demand, cum_demand_sq
         FROM variant_days WHERE variant_id = ?1 AND day < ?2
         ORDER BY day DESC LIMIT 1",
    )?;
    // Days never disappear from `daily_movements`, so every stale row is overwritten.
    let mut recompute = conn.prepare_cached(
        "INSERT INTO variant_days
             (variant_id, day, sold, returned, received, net,
              cum_sold, cum_returned, cum_received, cum_net, cum_demand, cum_demand_sq)
         SELECT ?1, day, sold, returned, received, net,
                ?3 + SUM(sold) OVER running, ?4 + SUM(returned) OVER running,
                ?5 + SUM(received) OVER running, ?6 + SUM(net) OVER running,
                ?7 + SUM(max(sold - returned, 0)) OVER running,
                ?8 + SUM(max(sold - returned, 0) * max(sold - returned, 0)) OVER running
         FROM (
             SELECT day, SUM(sold) AS sold, SUM(returned) AS returned,
                    SUM(received) AS received,
                    SUM(received + returned + adjusted + moved_in - sold - moved_out) AS net
             FROM daily_movements
             WHERE variant_id = ?1 AND day >= ?2
             GROUP BY day
         )
         WHERE true
         WINDOW running AS (ORDER BY day ROWS UNBOUNDED PRECEDING)
         ON CONFLICT (variant_id, day) DO UPDATE SET
             sold = excluded.sold, returned = excluded.returned, received = excluded.received,
             net = excluded.net, cum_sold = excluded.cum_sold,
             cum_returned = excluded.cum_returned, cum_received = excluded.cum_received,
             cum_net = excluded.cum_net, cum_demand = excluded.cum_demand,
             cum_demand_sq = excluded.cum_demand_sq",
    )?;
    let mut latest = conn.prepare_cached(
        "UPDATE variant_totals SET
             stale_from = NULL,
             (last_day, cum_sold, cum_returned, cum_received, cum_net, cum_demand,
              cum_demand_sq) =
                 (SELECT day, cum_sold, cum_returned, cum_received, cum_net, cum_demand,
                         cum_demand_sq
                  FROM variant_days WHERE variant_id = ?1 ORDER BY day DESC LIMIT 1),
             last_sold_day = (SELECT day FROM variant_days WHERE variant_id = ?1 AND sold > 0
                              ORDER BY day DESC LIMIT 1)
         WHERE variant_id = ?1",
    )?;
    for &(variant, from_day) in &stale {
        let before: [i64; 6] = running_before
            .query_row([variant, from_day], |r| {
                Ok([
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ])
            })
            .optional()?
            .unwrap_or_default();
        recompute.execute(params![
            variant, from_day, before[0], before[1], before[2], before[3], before[4], before[5]
        ])?;
        latest.execute([variant])?;
    }
    Ok(stale.len())
}

/// `variant_days` as the ledger's daily movements make it.
const VARIANT_DAYS_FROM_DAILY: &str = "
    SELECT variant_id, day, sold, returned, received, net,
           SUM(sold) OVER running, SUM(returned) OVER running, SUM(received) OVER running,
           SUM(net) OVER running, SUM(max(sold - returned, 0)) OVER running,
           SUM(max(sold - returned, 0) * max(sold - returned, 0)) OVER running
    FROM (
        SELECT variant_id, day, SUM(sold) AS sold, SUM(returned) AS returned,
               SUM(received) AS received,
               SUM(received + returned + adjusted + moved_in - sold - moved_out) AS net
        FROM daily_movements
        GROUP BY variant_id, day
    )
    WINDOW running AS (PARTITION BY variant_id ORDER BY day ROWS UNBOUNDED PRECEDING)";

/// Recomputes `daily_movements` from the ledger (inside the caller's transaction); returns
/// how many rows differed from the incremental totals.
pub(crate) fn rebuild_daily_movements(conn: &Connection) -> Result<usize> {
    const FROM_LEDGER: &str = "
        SELECT variant_id, location_id, day,
               SUM(sold), SUM(returned), SUM(received), SUM(adjusted), SUM(moved_in), SUM(moved_out)
        FROM (
            SELECT variant_id, location_id, occurred_at_ms / 86400000 AS day,
                   CASE kind WHEN 'sold' THEN quantity ELSE 0 END AS sold,
                   CASE kind WHEN 'returned' THEN quantity ELSE 0 END AS returned,
                   CASE kind WHEN 'received' THEN quantity ELSE 0 END AS received,
                   CASE kind WHEN 'adjusted' THEN quantity ELSE 0 END AS adjusted,
                   0 AS moved_in,
                   CASE kind WHEN 'transferred' THEN quantity ELSE 0 END AS moved_out
            FROM stock_events
            WHERE kind <> 'counted'
            UNION ALL
            SELECT variant_id, to_location_id, occurred_at_ms / 86400000, 0, 0, 0, 0, quantity, 0
            FROM stock_events
            WHERE kind = 'transferred'
        )
        GROUP BY variant_id, location_id, day";
    const STORED: &str = "SELECT variant_id, location_id, day, sold, returned, received,
                                 adjusted, moved_in, moved_out
                          FROM daily_movements";
    let read = |sql: &str| -> Result<HashMap<(i64, i64, i64), [i64; 6]>> {
        let mut stmt = conn.prepare(sql)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    (r.get(0)?, r.get(1)?, r.get(2)?),
                    [
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                        r.get(7)?,
                        r.get(8)?,
                    ],
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    };
    let before = read(STORED)?;
    let after = read(FROM_LEDGER)?;
    let differing = count_differing(&before, &after);
    if differing > 0 {
        conn.execute("DELETE FROM daily_movements", [])?;
        conn.execute(
            &format!(
                "INSERT INTO daily_movements (variant_id, location_id, day, sold, returned,
                                              received, adjusted, moved_in, moved_out)
                 {FROM_LEDGER}"
            ),
            [],
        )?;
    }
    Ok(differing + rebuild_variant_days(conn)?)
}

/// Rows of `before` that `after` lacks or holds with other values, plus rows only in `after`.
fn count_differing<K: Eq + std::hash::Hash, V: PartialEq>(
    before: &HashMap<K, V>,
    after: &HashMap<K, V>,
) -> usize {
    before
        .iter()
        .filter(|(key, values)| after.get(*key) != Some(*values))
        .count()
        + after.keys().filter(|key| !before.contains_key(*key)).count()
}

/// `variant_totals` as `variant_days` makes it (every row up to date).
const VARIANT_TOTALS_FROM_DAYS: &str = "
    SELECT d.variant_id, d.day,
           (SELECT s.day FROM variant_days s WHERE s.variant_id = d.variant_id AND s.sold > 0
            ORDER BY s.day DESC LIMIT 1),
           d.cum_sold, d.cum_returned, d.cum_received, d.cum_net, d.cum_demand, d.cum_demand_sq
    FROM variant_days d
    WHERE d.day = (SELECT MAX(x.day) FROM variant_days x WHERE x.variant_id = d.variant_id)";

/// Recomputes `variant_days` from `daily_movements` and `variant_totals` from it; returns
/// how many rows differed. Stale marks are refreshed first: a row waiting for its refresh
/// is late, not wrong.
fn rebuild_variant_days(conn: &Connection) -> Result<usize> {
    refresh_variant_days(conn)?;
    let read = |sql: &str| -> Result<HashMap<(i64, i64), [i64; 10]>> {
        let mut stmt = conn.prepare(sql)?;
        let rows = stmt
            .query_map([], |r| {
                let mut values = [0i64; 10];
                for (i, value) in values.iter_mut().enumerate() {
                    *value = r.get(i + 2)?;
                }
                Ok(((r.get(0)?, r.get(1)?), values))
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    };
    let before = read(
        "SELECT variant_id, day, sold, returned, received, net, cum_sold, cum_returned,
                cum_received, cum_net, cum_demand, cum_demand_sq
         FROM variant_days",
    )?;
    let after = read(VARIANT_DAYS_FROM_DAILY)?;
    let differing = count_differing(&before, &after);
    if differing > 0 {
        conn.execute("DELETE FROM variant_days", [])?;
        conn.execute(
            &format!(
                "INSERT INTO variant_days (variant_id, day, sold, returned, received, net,
                     cum_sold, cum_returned, cum_received, cum_net, cum_demand, cum_demand_sq)
                 {VARIANT_DAYS_FROM_DAILY}"
            ),
            [],
        )?;
    }
    Ok(differing + rebuild_variant_totals(conn)?)
}

/// Recomputes `variant_totals` from `variant_days` (no marks left); returns how many rows
/// differed.
fn rebuild_variant_totals(conn: &Connection) -> Result<usize> {
    let read = |sql: &str| -> Result<HashMap<i64, [Option<i64>; 8]>> {
        let mut stmt = conn.prepare(sql)?;
        let rows = stmt
            .query_map([], |r| {
                let mut values = [None; 8];
                for (i, value) in values.iter_mut().enumerate() {
                    *value = r.get(i + 1)?;
                }
                Ok((r.get(0)?, values))
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    };
    let before = read(
        "SELECT variant_id, last_day, last_sold_day, cum_sold, cum_returned, cum_received,
                cum_net, cum_demand, cum_demand_sq
         FROM variant_totals",
    )?;
    let after = read(VARIANT_TOTALS_FROM_DAYS)?;
    let differing = count_differing(&before, &after);
    if differing > 0 {
        conn.execute("DELETE FROM variant_totals", [])?;
        conn.execute(
            &format!(
                "INSERT INTO variant_totals (variant_id, last_day, last_sold_day, cum_sold,
                     cum_returned, cum_received, cum_net, cum_demand, cum_demand_sq)
                 {VARIANT_TOTALS_FROM_DAYS}"
            ),
            [],
        )?;
    }
    Ok(differing)
}

/// `?1` search (lower-case, or NULL), `?2` location id (or NULL), `?3` category (or NULL).
const VARIANT_FILTER: &str = "
    (?1 IS NULL OR instr(lower(v.sku), ?1) > 0 OR instr(lower(p.name), ?1) > 0
        OR instr(lower(COALESCE(v.barcode, '')), ?1) > 0)
    AND (?3 IS NULL OR p.category = ?3 COLLATE NOCASE)";

/// [`Store::variant_activity`] over all locations; `?4..=?5` is the window. The running
/// totals at the window's end are the variant's latest (`variant_totals`, one look-up by
/// key) unless it moved after the window; only then is `variant_days` searched (`hi`, whose
/// key is NULL otherwise, so no search is made). Book stock summed over locations is the
/// latest `cum_net`: every movement but counts, transfers cancelling out.
const STORE_WIDE_ACTIVITY: &str = "
    SELECT v.sku, p.name, p.category, v.size, v.colour, v.price_cents, v.cost_cents,
           COALESCE(t.cum_net, 0),
           iif(t.last_day > ?5, COALESCE(hi.cum_sold, 0), COALESCE(t.cum_sold, 0))
               - COALESCE(lo.cum_sold, 0),
           iif(t.last_day > ?5, COALESCE(hi.cum_returned, 0), COALESCE(t.cum_returned, 0))
               - COALESCE(lo.cum_returned, 0),
           iif(t.last_day > ?5, COALESCE(hi.cum_received, 0), COALESCE(t.cum_received, 0))
               - COALESCE(lo.cum_received, 0),
           iif(t.last_day > ?5, COALESCE(hi.cum_net, 0), COALESCE(t.cum_net, 0))
               - COALESCE(lo.cum_net, 0),
           iif(t.last_day > ?5, COALESCE(hi.cum_demand, 0), COALESCE(t.cum_demand, 0))
               - COALESCE(lo.cum_demand, 0),
           iif(t.last_day > ?5, COALESCE(hi.cum_demand_sq, 0), COALESCE(t.cum_demand_sq, 0))
               - COALESCE(lo.cum_demand_sq, 0),
           t.last_sold_day,
           r.variant_id IS NOT NULL, r.reorder_point, r.lead_time_days,
           r.review_period_days, r.pack_size, r.service_level
    FROM variants v
    JOIN products p ON p.id = v.product_id
    LEFT JOIN variant_totals t ON t.variant_id = v.id
    LEFT JOIN variant_days hi ON hi.variant_id = v.id AND hi.day = iif(t.last_day > ?5, (
        SELECT MAX(day) FROM variant_days x WHERE x.variant_id = v.id AND x.day <= ?5), NULL)
    LEFT JOIN variant_days lo ON lo.variant_id = v.id AND lo.day = (
        SELECT MAX(day) FROM variant_days x WHERE x.variant_id = v.id AND x.day < ?4)
    LEFT JOIN reorder_settings r ON r.variant_id = v.id";

/// [`Store::variant_activity`] at the location `?2`.
const LOCATION_ACTIVITY: &str = "WITH per_day AS (
                 SELECT variant_id, day,
                        SUM(sold) AS sold, SUM(returned) AS returned, SUM(received) AS received,
                        SUM(received + returned + adjusted + moved_in - sold - moved_out) AS net
                 FROM daily_movements
                 WHERE day BETWEEN ?4 AND ?5 AND (?2 IS NULL OR location_id = ?2)
                 GROUP BY variant_id, day
             ),
             span AS (
                 SELECT variant_id, SUM(sold) AS sold, SUM(returned) AS returned,
                        SUM(received) AS received, SUM(net) AS net,
                        SUM(max(sold - returned, 0)) AS demand,
                        SUM(max(sold - returned, 0) * max(sold - returned, 0)) AS demand_sq
                 FROM per_day GROUP BY variant_id
             ),
             stock AS (
                 SELECT variant_id, SUM(on_hand) AS on_hand FROM stock_levels
                 WHERE ?2 IS NULL OR location_id = ?2
                 GROUP BY variant_id
             ),
             last_sale AS (
                 SELECT variant_id, MAX(day) AS day FROM daily_movements
                 WHERE sold > 0 AND (?2 IS NULL OR location_id = ?2)
                 GROUP BY variant_id
             )
             SELECT v.sku, p.name, p.category, v.size, v.colour, v.price_cents, v.cost_cents,
                    COALESCE(s.on_hand, 0), COALESCE(w.sold, 0), COALESCE(w.returned, 0),
                    COALESCE(w.received, 0), COALESCE(w.net, 0), COALESCE(w.demand, 0),
                    COALESCE(w.demand_sq, 0), ls.day,
                    r.variant_id IS NOT NULL, r.reorder_point, r.lead_time_days,
                    r.review_period_days, r.pack_size, r.service_level
             FROM variants v
             JOIN products p ON p.id = v.product_id
             LEFT JOIN span w ON w.variant_id = v.id
             LEFT JOIN stock s ON s.variant_id = v.id
             LEFT JOIN last_sale ls ON ls.variant_id = v.id
             LEFT JOIN reorder_settings r ON r.variant_id = v.id";

impl Store {
    /// Brings the running totals of every variant moved since the last refresh up to date,
    /// in one transaction; returns how many variants it refreshed. The reads that need them
    /// call this first (so it takes `&self`); an import calls it at its end, so the first
    /// report after it does not wait.
    pub fn refresh_running_totals(&self) -> Result<usize> {
        let stale: bool = self
            .conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM variant_totals WHERE stale_from IS NOT NULL)",
            )?
            .query_row([], |r| r.get(0))?;
        if !stale {
            return Ok(0);
        }
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        let refreshed = refresh_variant_days(&tx)?;
        tx.commit()?;
        Ok(refreshed)
    }

    /// Book stock per variant and location, filtered, in catalog then location order.
    pub fn stock_rows(&self, filter: &ReportFilter) -> Result<Vec<StockRow>> {
        let (search, location, category) = self.filter_params(filter)?;
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT v.sku, p.name, p.category, v.size, v.colour, v.barcode, l.code, s.on_hand,
                    v.price_cents, v.cost_cents
             FROM stock_levels s
             JOIN variants v ON v.id = s.variant_id
             JOIN products p ON p.id = v.product_id
             JOIN locations l ON l.id = s.location_id
             WHERE {VARIANT_FILTER} AND (?2 IS NULL OR s.location_id = ?2)
             ORDER BY p.code, v.id, l.code"
        ))?;
        let rows = stmt
            .query_map(params![search, location, category], |r| {
                Ok(StockRow {
                    sku: r.get(0)?,
                    product_name: r.get(1)?,
                    category: r.get(2)?,
                    size: r.get(3)?,
                    colour: r.get(4)?,
                    barcode: r.get(5)?,
                    location: r.get(6)?,
                    on_hand: r.get(7)?,
                    price_cents: r.get(8)?,
                    cost_cents: r.get(9)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// The last day with any movement in the ledger (`None` for an empty ledger): reports
    /// measure their windows back from it, so an imported history reads as it was.
    pub fn last_movement_day(&self) -> Result<Option<i64>> {
        Ok(self
            .conn
            .prepare_cached("SELECT MAX(day) FROM daily_movements")?
            .query_row([], |r| r.get(0))?)
    }

    /// Every variant matching `filter`, with stock now and movements over the days
    /// `first_day..=last_day`, in catalog order.
    pub fn variant_activity(
        &self,
        filter: &ReportFilter,
        first_day: i64,
        last_day: i64,
    ) -> Result<Vec<VariantActivity>> {
        let (search, location, category) = self.filter_params(filter)?;
        // Store-wide: two look-ups per variant in the running totals, whatever the window.
        // At one location: that location's daily rows in the window, summed.
        let body = if location.is_none() {
            self.refresh_running_totals()?;
            STORE_WIDE_ACTIVITY
        } else {
            LOCATION_ACTIVITY
        };
        let mut stmt = self.conn.prepare_cached(&format!(
            "{body} WHERE {VARIANT_FILTER} ORDER BY p.code, v.id"
        ))?;
        let rows = stmt
            .query_map(
                params![search, location, category, first_day, last_day],
                |r| {
                    Ok(VariantActivity {
                        sku: r.get(0)?,
                        product_name: r.get(1)?,
                        category: r.get(2)?,
                        size: r.get(3)?,
                        colour: r.get(4)?,
                        price_cents: r.get(5)?,
                        cost_cents: r.get(6)?,
                        on_hand: r.get(7)?,
                        sold: r.get(8)?,
                        returned: r.get(9)?,
                        received: r.get(10)?,
                        net_change: r.get(11)?,
                        demand_sum: r.get::<_, i64>(12)? as f64,
                        demand_sum_sq: r.get::<_, i64>(13)? as f64,
                        last_sold_day: r.get(14)?,
                        settings: if r.get(15)? {
                            ReorderSettings {
                                reorder_point: r.get(16)?,
                                lead_time_days: r.get(17)?,
                                review_period_days: r.get(18)?,
                                pack_size: r.get(19)?,
                                service_level: r.get(20)?,
                            }
                        } else {
                            ReorderSettings::default()
                        },
                    })
                },
            )?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// One variant's net daily demand (sold − returned, not below 0) over
    /// `first_day..=last_day`, at one location or everywhere; days without sales are 0.
    pub fn demand_history(
        &self,
        sku: &str,
        location: Option<&str>,
        first_day: i64,
        last_day: i64,
    ) -> Result<Vec<f64>> {
        let variant = variant_id(&self.conn, sku)?;
        let location = location
            .map(|code| location_id(&self.conn, code))
            .transpose()?;
        if location.is_none() {
            self.refresh_running_totals()?;
        }
        let len = usize::try_from(last_day - first_day + 1).unwrap_or(0);
        let mut units = vec![0.0; len];
        let mut stmt = self.conn.prepare_cached(if location.is_none() {
            "SELECT day, sold - returned FROM variant_days
             WHERE variant_id = ?1 AND ?2 IS NULL AND day BETWEEN ?3 AND ?4"
        } else {
            "SELECT day, SUM(sold - returned) FROM daily_movements
             WHERE variant_id = ?1 AND location_id = ?2 AND day BETWEEN ?3 AND ?4
             GROUP BY day"
        })?;
        let mut rows = stmt.query(params![variant, location, first_day, last_day])?;
        while let Some(r) = rows.next()? {
            let day: i64 = r.get(0)?;
            let net: i64 = r.get(1)?;
            units[(day - first_day) as usize] = net.max(0) as f64;
        }
        Ok(units)
    }

    /// [`Store::demand_history`] of several variants in one query, in the order of `skus`.
    pub fn demand_histories(
        &self,
        skus: &[&str],
        location: Option<&str>,
        first_day: i64,
        last_day: i64,
    ) -> Result<Vec<Vec<f64>>> {
        let variants = skus
            .iter()
            .map(|sku| variant_id(&self.conn, sku))
            .collect::<Result<Vec<_>>>()?;
        let location = location
            .map(|code| location_id(&self.conn, code))
            .transpose()?;
        if location.is_none() {
            self.refresh_running_totals()?;
        }
        let len = usize::try_from(last_day - first_day + 1).unwrap_or(0);
        let mut by_variant: HashMap<i64, Vec<f64>> =
            variants.iter().map(|&v| (v, vec![0.0; len])).collect();
        // The ids go in as one JSON array (each once), so one prepared statement serves any
        // number of variants.
        let ids = format!(
            "[{}]",
            by_variant
                .keys()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(",")
        );
        let mut stmt = self.conn.prepare_cached(if location.is_none() {
            "SELECT d.variant_id, d.day, d.sold - d.returned
             FROM json_each(?1) j
             JOIN variant_days d ON d.variant_id = j.value AND d.day BETWEEN ?3 AND ?4
             WHERE ?2 IS NULL"
        } else {
            "SELECT d.variant_id, d.day, SUM(d.sold - d.returned)
             FROM json_each(?1) j
             JOIN daily_movements d ON d.variant_id = j.value AND d.location_id = ?2
                                   AND d.day BETWEEN ?3 AND ?4
             GROUP BY d.variant_id, d.day"
        })?;
        let mut rows = stmt.query(params![ids, location, first_day, last_day])?;
        while let Some(r) = rows.next()? {
            let (variant, day, net): (i64, i64, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
            if let Some(units) = by_variant.get_mut(&variant) {
                units[(day - first_day) as usize] = net.max(0) as f64;
            }
        }
        Ok(variants.iter().map(|v| by_variant[v].clone()).collect())
    }

    /// Book stock of one variant (at one location, or everywhere) at the end of each day
    /// `first_day..=last_day`, worked back from stock now through the daily movements.
    pub fn stock_by_day(
        &self,
        sku: &str,
        location: Option<&str>,
        first_day: i64,
        last_day: i64,
    ) -> Result<Vec<(i64, i64)>> {
        let variant = variant_id(&self.conn, sku)?;
        let location = location
            .map(|code| location_id(&self.conn, code))
            .transpose()?;
        let now: i64 = self
            .conn
            .prepare_cached(
                "SELECT COALESCE(SUM(on_hand), 0) FROM stock_levels
                 WHERE variant_id = ?1 AND (?2 IS NULL OR location_id = ?2)",
            )?
            .query_row(params![variant, location], |r| r.get(0))?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT day, SUM(received + returned + adjusted + moved_in - sold - moved_out)
             FROM daily_movements
             WHERE variant_id = ?1 AND (?2 IS NULL OR location_id = ?2) AND day > ?3
             GROUP BY day ORDER BY day DESC",
        )?;
        let net: Vec<(i64, i64)> = stmt
            .query_map(params![variant, location, first_day], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        // Stock at the end of day d = now − the net movements of every later day.
        let mut later = net.into_iter().peekable();
        let mut stock = now;
        let mut series = Vec::new();
        let newest = later
            .peek()
            .map_or(last_day, |(day, _)| (*day).max(last_day));
        for day in (first_day..=newest).rev() {
            if day <= last_day {
                series.push((day, stock));
            }
            if let Some((_, delta)) = later.next_if(|(d, _)| *d == day) {
                stock -= delta;
            }
        }
        series.reverse();
        Ok(series)
    }

    /// The latest shelf count of each variant/location matching `filter` made at or after
    /// `since_ms`, with book stock just before it.
    pub fn count_discrepancies(
        &self,
        filter: &ReportFilter,
        since_ms: i64,
    ) -> Result<Vec<CountDiscrepancy>> {
        let (search, location, category) = self.filter_params(filter)?;
        let mut counts_stmt = self.conn.prepare_cached(&format!(
            "SELECT c.seq, c.variant_id, c.location_id, c.occurred_at_ms, c.quantity,
                    v.sku, p.name, l.code, v.cost_cents,
                    COALESCE((SELECT on_hand FROM stock_levels s
                              WHERE s.variant_id = c.variant_id
                                AND s.location_id = c.location_id), 0)
             FROM stock_events c INDEXED BY stock_events_counts
             JOIN variants v ON v.id = c.variant_id
             JOIN products p ON p.id = v.product_id
             JOIN locations l ON l.id = c.location_id
             WHERE c.kind = 'counted' AND c.occurred_at_ms >= ?4
               AND (?2 IS NULL OR c.location_id = ?2) AND {VARIANT_FILTER}
               AND NOT EXISTS (
                   SELECT 1 FROM stock_events n
                   WHERE n.kind = 'counted' AND n.variant_id = c.variant_id
                     AND n.location_id = c.location_id
                     AND (n.occurred_at_ms > c.occurred_at_ms
                          OR (n.occurred_at_ms = c.occurred_at_ms AND n.seq > c.seq)))
             ORDER BY l.code, p.code, v.id"
        ))?;
        // Book stock at the count = stock now − every later movement at that location: the
        // whole days after the count's day from the daily totals, the rest of its own day
        // from the events.
        let mut later_days_stmt = self.conn.prepare_cached(
            "SELECT COALESCE(SUM(received + returned + adjusted + moved_in - sold - moved_out), 0)
             FROM daily_movements
             WHERE variant_id = ?1 AND location_id = ?2 AND day > ?3",
        )?;
        let mut same_day_stmt = self.conn.prepare_cached(
            "SELECT COALESCE(SUM(
                        CASE WHEN location_id = ?2 THEN
                            CASE kind WHEN 'received' THEN quantity WHEN 'returned' THEN quantity
                                      WHEN 'adjusted' THEN quantity WHEN 'sold' THEN -quantity
                                      WHEN 'transferred' THEN -quantity ELSE 0 END
                        ELSE quantity END), 0)
             FROM stock_events INDEXED BY stock_events_by_variant
             WHERE variant_id = ?1 AND occurred_at_ms >= ?3 AND occurred_at_ms < ?5
               AND (location_id = ?2 OR to_location_id = ?2)
               AND (occurred_at_ms > ?3 OR seq > ?4)",
        )?;
        let mut rows = counts_stmt.query(params![search, location, category, since_ms])?;
        let mut found = Vec::new();
        while let Some(r) = rows.next()? {
            let (seq, variant, location, at_ms): (i64, i64, i64, i64) =
                (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
            let now: i64 = r.get(9)?;
            let day = day_of_ms(at_ms);
            let later_days: i64 =
                later_days_stmt.query_row(params![variant, location, day], |r| r.get(0))?;
            let day_end = (day + 1) * MS_PER_DAY;
            let later_same_day: i64 = same_day_stmt
                .query_row(params![variant, location, at_ms, seq, day_end], |r| {
                    r.get(0)
                })?;
            let later = later_days + later_same_day;
            found.push(CountDiscrepancy {
                sku: r.get(5)?,
                product_name: r.get(6)?,
                location: r.get(7)?,
                counted_at_ms: at_ms,
                counted: r.get(4)?,
                book: now - later,
                cost_cents: r.get(8)?,
            });
        }
        Ok(found)
    }

    /// A variant's reorder settings (the defaults if it has none of its own).
    pub fn reorder_settings(&self, sku: &str) -> Result<ReorderSettings> {
        let variant = variant_id(&self.conn, sku)?;
        let settings = self
            .conn
            .prepare_cached(
                "SELECT reorder_point, lead_time_days, review_period_days, pack_size,
                        service_level
                 FROM reorder_settings WHERE variant_id = ?1",
            )?
            .query_row([variant], |r| {
                Ok(ReorderSettings {
                    reorder_point: r.get(0)?,
                    lead_time_days: r.get(1)?,
                    review_period_days: r.get(2)?,
                    pack_size: r.get(3)?,
                    service_level: r.get(4)?,
                })
            })
            .optional()?;
        Ok(settings.unwrap_or_default())
    }

    /// Sets a variant's reorder settings; out-of-range values are refused with the reason.
    pub fn set_reorder_settings(&mut self, sku: &str, settings: &ReorderSettings) -> Result<()> {
        settings.check()?;
        let variant = variant_id(&self.conn, sku)?;
        self.conn.execute(
            "INSERT INTO reorder_settings (variant_id, reorder_point, lead_time_days,
                                           review_period_days, pack_size, service_level)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (variant_id) DO UPDATE SET
                 reorder_point = excluded.reorder_point,
                 lead_time_days = excluded.lead_time_days,
                 review_period_days = excluded.review_period_days,
                 pack_size = excluded.pack_size, service_level = excluded.service_level",
            params![
                variant,
                settings.reorder_point,
                settings.lead_time_days,
                settings.review_period_days,
                settings.pack_size,
                settings.service_level
            ],
        )?;
        Ok(())
    }

    /// The filter as SQL parameters: lower-cased search, resolved location id, category.
    fn filter_params(
        &self,
        filter: &ReportFilter,
    ) -> Result<(Option<String>, Option<i64>, Option<String>)> {
        let clean = |s: &Option<String>| {
            s.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let location = clean(&filter.location)
            .map(|code| location_id(&self.conn, &code))
            .transpose()?;
        Ok((
            clean(&filter.search).map(|s| s.to_lowercase()),
            location,
            clean(&filter.category),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EventOrigin, NewEvent};

    const TEE: &str = "VT-TEE-ORBIT-M-INK";
    const SHELF: &str = "A1/B1/S1";
    const BACKROOM: &str = "BACKROOM";
    /// 2025-03-10T12:00:00Z
    const T0: i64 = 1_741_608_000_000;

    fn seeded() -> Store {
        let mut store = Store::open_in_memory().unwrap();
        store.seed_demo_if_empty().unwrap();
        store
    }

    fn event(kind: EventKind, location: &str, quantity: i64, at_ms: i64) -> NewEvent {
        let origin = EventOrigin {
            store_id: "s".into(),
            device_id: "d".into(),
            actor: "a".into(),
        };
        let mut e = NewEvent::now(&origin, kind, TEE, location, quantity);
        e.occurred_at_ms = at_ms;
        e
    }

    fn day(n: i64) -> i64 {
        T0 + n * MS_PER_DAY
    }

    #[test]
    fn daily_totals_follow_events_and_match_a_rebuild() {
        let mut store = seeded();
        let mut moved = event(EventKind::Transferred, BACKROOM, 3, day(0));
        moved.to_location_code = Some(SHELF.into());
        store
            .record_events(&[
                event(EventKind::Sold, SHELF, 2, day(0)),
                event(EventKind::Sold, SHELF, 1, day(0) + 1000),
                event(EventKind::Returned, SHELF, 1, day(1)),
                event(EventKind::Adjusted, SHELF, -1, day(2)),
                event(EventKind::Counted, SHELF, 4, day(2)),
                // A count alone on its day leaves no daily row.
                event(EventKind::Counted, SHELF, 4, day(5)),
                moved,
            ])
            .unwrap();
        let first = day_of_ms(day(0));
        let history = store.demand_history(TEE, None, first, first + 2).unwrap();
        assert_eq!(history, [3.0, 0.0, 0.0], "a return nets out");
        let at_shelf = store
            .demand_history(TEE, Some(SHELF), first - 1, first + 1)
            .unwrap();
        assert_eq!(at_shelf, [0.0, 3.0, 0.0]);

        let activity = store
            .variant_activity(&ReportFilter::default(), first, first + 2)
            .unwrap();
        let tee = activity.iter().find(|a| a.sku == TEE).unwrap();
        assert_eq!((tee.sold, tee.returned, tee.received), (3, 1, 0));
        assert_eq!(
            tee.net_change,
            -3 + 1 - 1,
            "a transfer moves nothing store-wide"
        );
        assert_eq!(tee.on_hand, 6 + 12 - 3);
        assert_eq!(tee.demand_sum, 3.0);
        assert_eq!(tee.demand_sum_sq, 9.0);
        assert_eq!(tee.last_sold_day, Some(first));

        let shelf_only = store
            .variant_activity(
                &ReportFilter {
                    location: Some(SHELF.into()),
                    ..ReportFilter::default()
                },
                first,
                first + 2,
            )
            .unwrap();
        let tee = shelf_only.iter().find(|a| a.sku == TEE).unwrap();
        assert_eq!(tee.net_change, -3 + 1 - 1 + 3);
        assert_eq!(tee.on_hand, 6 - 3 + 3);

        let tx = store.conn.transaction().unwrap();
        assert_eq!(rebuild_daily_movements(&tx).unwrap(), 0);
        tx.execute("DELETE FROM daily_movements WHERE day = ?1", [first])
            .unwrap();
        assert!(rebuild_daily_movements(&tx).unwrap() > 0);
        assert_eq!(rebuild_daily_movements(&tx).unwrap(), 0);
    }

    #[test]
    fn back_dated_events_keep_the_running_totals_right() {
        let mut store = seeded();
        let first = day_of_ms(day(0));
        // Days 5 and 9 first, then days 2 and 7 arrive late; then a window in the middle.
        store
            .record_events(&[
                event(EventKind::Sold, SHELF, 4, day(5)),
                event(EventKind::Sold, SHELF, 1, day(9)),
            ])
            .unwrap();
        store
            .record_events(&[
                event(EventKind::Sold, SHELF, 2, day(2)),
                event(EventKind::Returned, SHELF, 3, day(7)),
                event(EventKind::Sold, SHELF, 1, day(7)),
                event(EventKind::Received, BACKROOM, 6, day(7)),
            ])
            .unwrap();
        let window = |a: i64, b: i64, location: Option<&str>| {
            let filter = ReportFilter {
                location: location.map(str::to_owned),
                ..ReportFilter::default()
            };
            let all = store
                .variant_activity(&filter, first + a, first + b)
                .unwrap();
            let tee = all.into_iter().find(|x| x.sku == TEE).unwrap();
            (
                tee.sold,
                tee.returned,
                tee.received,
                tee.net_change,
                tee.demand_sum,
                tee.demand_sum_sq,
            )
        };
        // Days 3..=8: sold 4 + 1, returned 3, received 6; demand 4 (day 5) + 0 (day 7).
        assert_eq!(window(3, 8, None), (5, 3, 6, -5 + 3 + 6, 4.0, 16.0));
        assert_eq!(
            window(0, 9, None),
            (8, 3, 6, -8 + 3 + 6, 2.0 + 4.0 + 1.0, 4.0 + 16.0 + 1.0)
        );
        assert_eq!(window(10, 20, None), (0, 0, 0, 0, 0.0, 0.0));
        // The per-location path agrees where it can.
        assert_eq!(window(3, 8, Some(SHELF)).0, 5);
        assert_eq!(window(3, 8, Some(BACKROOM)).2, 6);
        let tx = store.conn.transaction().unwrap();
        assert_eq!(rebuild_daily_movements(&tx).unwrap(), 0);
        tx.execute("UPDATE variant_days SET cum_sold = cum_sold + 1", [])
            .unwrap();
        assert!(rebuild_daily_movements(&tx).unwrap() > 0);
        assert_eq!(rebuild_daily_movements(&tx).unwrap(), 0);
    }

    const OATS: &str = "GR-OATS-1KG";
    const OATS_SHELF: &str = "A5/B1/S3";

    fn stale_marks(store: &Store) -> i64 {
        store
            .conn
            .query_row(
                "SELECT count(*) FROM variant_totals WHERE stale_from IS NOT NULL",
                [],
                |r| r.get(0),
            )
            .unwrap()
    }

    /// Every read that uses the running totals, over a few windows.
    fn totals_reads(store: &Store) -> Vec<String> {
        let first = day_of_ms(day(0));
        let mut reads = Vec::new();
        for (a, b) in [(0, 9), (3, 8), (-5, 2), (6, 6), (10, 20)] {
            let activity = store
                .variant_activity(&ReportFilter::default(), first + a, first + b)
                .unwrap();
            reads.push(format!("{activity:?}"));
            for sku in [TEE, OATS] {
                let history = store
                    .demand_history(sku, None, first + a, first + b)
                    .unwrap();
                reads.push(format!("{sku} {history:?}"));
            }
        }
        reads
    }

    /// Several transactions over two variants, some back-dated behind days already read.
    fn record_mixed_history(store: &mut Store) {
        let oats = |kind, location: &str, quantity, at| {
            let mut e = event(kind, location, quantity, at);
            e.variant_sku = OATS.into();
            e
        };
        store
            .record_events(&[
                event(EventKind::Sold, SHELF, 2, day(4)),
                oats(EventKind::Sold, OATS_SHELF, 5, day(4)),
                event(EventKind::Received, BACKROOM, 7, day(6)),
            ])
            .unwrap();
        store
            .record_event(&oats(EventKind::Returned, OATS_SHELF, 1, day(9)))
            .unwrap();
        let mut moved = event(EventKind::Transferred, BACKROOM, 2, day(7));
        moved.to_location_code = Some(SHELF.into());
        store
            .record_events(&[
                event(EventKind::Sold, SHELF, 1, day(1)),
                oats(EventKind::Sold, OATS_SHELF, 3, day(2)),
                oats(EventKind::Adjusted, OATS_SHELF, -2, day(6)),
                event(EventKind::Counted, SHELF, 4, day(8)),
                moved,
            ])
            .unwrap();
    }

    #[test]
    fn writes_mark_variants_stale_and_reads_refresh_them() {
        let mut store = seeded();
        store.refresh_running_totals().unwrap();
        assert_eq!(stale_marks(&store), 0);
        record_mixed_history(&mut store);
        assert_eq!(stale_marks(&store), 2, "both variants wait for a refresh");
        // The earliest day written is the mark, whatever order the days came in.
        let from: i64 = store
            .conn
            .query_row(
                "SELECT t.stale_from FROM variant_totals t JOIN variants v ON v.id = t.variant_id
                 WHERE v.sku = ?1",
                [TEE],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(from, day_of_ms(day(1)));
        store
            .variant_activity(&ReportFilter::default(), 0, day_of_ms(day(20)))
            .unwrap();
        assert_eq!(stale_marks(&store), 0, "the read refreshed them");
        assert_eq!(store.refresh_running_totals().unwrap(), 0);
        // A count moves nothing, so it marks nothing.
        store
            .record_event(&event(EventKind::Counted, SHELF, 9, day(3)))
            .unwrap();
        assert_eq!(stale_marks(&store), 0);
        store
            .record_event(&event(EventKind::Sold, SHELF, 1, day(3)))
            .unwrap();
        assert_eq!(store.refresh_running_totals().unwrap(), 1);
    }

    #[test]
    fn lazily_refreshed_totals_read_the_same_as_a_full_rebuild() {
        let mut store = seeded();
        // Reads between the writes, so later refreshes start from totals already kept.
        store
            .record_event(&event(EventKind::Sold, SHELF, 1, day(5)))
            .unwrap();
        totals_reads(&store);
        record_mixed_history(&mut store);
        let lazy = totals_reads(&store);
        {
            let tx = store.conn.transaction().unwrap();
            assert_eq!(rebuild_daily_movements(&tx).unwrap(), 0, "nothing to correct");
            tx.execute("DELETE FROM variant_days", []).unwrap();
            tx.execute("DELETE FROM variant_totals", []).unwrap();
            assert!(rebuild_daily_movements(&tx).unwrap() > 0);
            tx.commit().unwrap();
        }
        assert_eq!(totals_reads(&store), lazy);
        // Book stock summed over locations is the latest running net.
        let tee = store
            .variant_activity(&ReportFilter::default(), 0, day_of_ms(day(20)))
            .unwrap()
            .into_iter()
            .find(|a| a.sku == TEE)
            .unwrap();
        assert_eq!(tee.on_hand, store.stock_level_total(TEE).unwrap());
    }

    #[test]
    fn demand_histories_equal_one_history_at_a_time() {
        let mut store = seeded();
        record_mixed_history(&mut store);
        let first = day_of_ms(day(0));
        for location in [None, Some(SHELF), Some(OATS_SHELF)] {
            let skus = [OATS, TEE, "GR-HONEY-350", TEE];
            let together = store
                .demand_histories(&skus, location, first - 1, first + 10)
                .unwrap();
            let one_by_one: Vec<Vec<f64>> = skus
                .iter()
                .map(|sku| {
                    store
                        .demand_history(sku, location, first - 1, first + 10)
                        .unwrap()
                })
                .collect();
            assert_eq!(together, one_by_one, "at {location:?}");
        }
        assert!(store
            .demand_histories(&[], None, first, first + 3)
            .unwrap()
            .is_empty());
        let err = store
            .demand_histories(&[TEE, "NOPE"], None, first, first + 3)
            .unwrap_err();
        assert!(err.to_string().contains("NOPE"), "{err}");
    }

    #[test]
    fn a_crash_before_the_refresh_loses_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kiosk.db");
        let expected = {
            let mut store = Store::open(&path).unwrap();
            store.seed_demo_if_empty().unwrap();
            store.refresh_running_totals().unwrap();
            record_mixed_history(&mut store);
            // A refresh that dies before its commit leaves the marks where they were.
            let tx = Transaction::new_unchecked(&store.conn, TransactionBehavior::Immediate)
                .unwrap();
            assert_eq!(refresh_variant_days(&tx).unwrap(), 2);
            drop(tx);
            assert_eq!(stale_marks(&store), 2);
            // The process ends here: the events and their marks were committed together.
            let mut same = Store::open_in_memory().unwrap();
            same.seed_demo_if_empty().unwrap();
            record_mixed_history(&mut same);
            totals_reads(&same)
        };
        let store = Store::open(&path).unwrap();
        assert_eq!(stale_marks(&store), 2);
        assert_eq!(totals_reads(&store), expected);
        assert_eq!(stale_marks(&store), 0);
    }

    #[test]
    fn stock_by_day_works_back_from_today() {
        let mut store = seeded();
        store
            .record_events(&[
                event(EventKind::Sold, SHELF, 2, day(0)),
                event(EventKind::Received, SHELF, 5, day(2)),
                event(EventKind::Sold, SHELF, 1, day(3)),
            ])
            .unwrap();
        let first = day_of_ms(day(0));
        let series = store
            .stock_by_day(TEE, Some(SHELF), first - 1, first + 2)
            .unwrap();
        let values: Vec<i64> = series.iter().map(|(_, v)| *v).collect();
        // Opening 6; −2 on day 0; +5 on day 2; −1 on day 3 (after the range).
        assert_eq!(values, [6, 4, 4, 9]);
        assert_eq!(series[0].0, first - 1);
        assert!(store.stock_by_day("NOPE", None, 0, 1).is_err());
    }

    #[test]
    fn a_count_is_compared_with_book_stock_at_its_moment() {
        let mut store = seeded();
        store
            .record_events(&[
                event(EventKind::Sold, SHELF, 1, day(0)),
                event(EventKind::Counted, SHELF, 3, day(1)),
                // The clerk books the two missing units, then more is sold: the count's
                // discrepancy stays what it was at the time.
                event(EventKind::Adjusted, SHELF, -2, day(1) + 1),
                event(EventKind::Sold, SHELF, 2, day(2)),
            ])
            .unwrap();
        let found = store
            .count_discrepancies(&ReportFilter::default(), day(-5))
            .unwrap();
        assert_eq!(found.len(), 1);
        let d = &found[0];
        assert_eq!((d.sku.as_str(), d.location.as_str()), (TEE, SHELF));
        assert_eq!((d.book, d.counted), (5, 3));
        assert_eq!(d.cost_cents, 640);
        // A later count replaces it; counts before `since` are left out.
        store
            .record_event(&event(EventKind::Counted, SHELF, 1, day(3)))
            .unwrap();
        let found = store
            .count_discrepancies(&ReportFilter::default(), day(-5))
            .unwrap();
        assert_eq!((found[0].book, found[0].counted), (1, 1));
        assert!(store
            .count_discrepancies(&ReportFilter::default(), day(4))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn filters_match_sku_name_barcode_category_and_location() {
        let store = seeded();
        let count = |filter: ReportFilter| store.stock_rows(&filter).unwrap().len();
        let all = count(ReportFilter::default());
        assert!(all > 50);
        let by = |search: &str| {
            count(ReportFilter {
                search: Some(search.into()),
                ..ReportFilter::default()
            })
        };
        assert_eq!(by("honey"), 2, "shelf and backroom");
        assert_eq!(by("GR-HONEY"), 2);
        assert_eq!(by("2000500100007"), 0);
        let barcode = store.products().unwrap()[0].variants[0]
            .barcode
            .clone()
            .unwrap_or_default();
        if !barcode.is_empty() {
            assert_eq!(by(&barcode), 2);
        }
        assert_eq!(
            count(ReportFilter {
                category: Some("GROCERY".into()),
                location: Some(BACKROOM.into()),
                ..ReportFilter::default()
            }),
            3
        );
        let err = store
            .stock_rows(&ReportFilter {
                location: Some("A9/B9/S9".into()),
                ..ReportFilter::default()
            })
            .unwrap_err();
        assert!(err.to_string().contains("A9/B9/S9"), "{err}");
    }

    #[test]
    fn reorder_settings_default_save_and_refuse_nonsense() {
        let mut store = seeded();
        assert_eq!(
            store.reorder_settings(TEE).unwrap(),
            ReorderSettings::default()
        );
        let mine = ReorderSettings {
            reorder_point: Some(5),
            lead_time_days: 3,
            review_period_days: 14,
            pack_size: 6,
            service_level: 0.9,
        };
        store.set_reorder_settings(TEE, &mine).unwrap();
        assert_eq!(store.reorder_settings(TEE).unwrap(), mine);
        let bad = ReorderSettings {
            service_level: 1.0,
            ..mine
        };
        let err = store.set_reorder_settings(TEE, &bad).unwrap_err();
        assert!(err.to_string().contains("service level"), "{err}");
        assert_eq!(store.reorder_settings(TEE).unwrap(), mine);
        assert!(store.set_reorder_settings("NOPE", &mine).is_err());
    }
}

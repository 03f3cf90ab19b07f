//! A realistic sales history for the demo catalog, recorded through the ledger like real
//! trade, so every report number on a fresh kiosk is derived from events.
//!
//! Each day the simulation draws Poisson demand per variant (weekly pattern, two promotion
//! weeks, a long tail of slow sizes that sell on few days), sells only what the shelf
//! physically holds (so stock-outs lose sales), refills shelves from the backroom, orders on
//! a weekly or fortnightly review with a lead time (one supplier misses a delivery), loses a
//! few units to theft that the books don't see, and counts the shelves three times, each
//! count followed by the adjustment a clerk books. Deterministic from the seed and the
//! last day.

use std::collections::HashMap;

use uuid::Builder;
use vitrine_store::{EventKind, NewEvent, ReorderSettings, Store};

use crate::ReportError;

const MS_PER_DAY: i64 = 86_400_000;
const BACKROOM: &str = "BACKROOM";
const STORE_ID: &str = "demo-store";
const DEVICE_ID: &str = "demo-history";

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryOptions {
    /// Days of trade, ending with `last_day`.
    pub days: u32,
    pub seed: u64,
    /// UTC day number (days since 1970-01-01) of the last day of trade.
    pub last_day: i64,
}

/// What was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryReport {
    pub events: usize,
    /// Events already in the ledger (the same seed and days generated before).
    pub duplicates: usize,
    pub units_sold: i64,
    /// Units customers wanted while the shelf was empty.
    pub lost_sales: i64,
}

/// How one demo variant trades.
struct Profile {
    sku: String,
    shelf: String,
    /// Mean units wanted per day before the weekly pattern.
    rate: f64,
    shelf_capacity: i64,
    settings: ReorderSettings,
    /// Units bought per customer at most.
    max_basket: i64,
    /// Daily chance a unit walks out unpaid (apparel only).
    theft: f64,
}

/// Monday first: a shop that is busiest on Friday and Saturday.
const WEEKDAY: [f64; 7] = [0.8, 0.85, 0.9, 1.0, 1.25, 1.5, 0.7];

struct Rng(u64);

impl Rng {
    /// splitmix64.
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Knuth's method; the rates here are small.
    fn poisson(&mut self, mean: f64) -> i64 {
        let limit = (-mean).exp();
        let mut product = self.uniform();
        let mut count = 0;
        while product > limit {
            count += 1;
            product *= self.uniform();
        }
        count
    }
}

fn profiles(store: &Store) -> Result<Vec<Profile>, ReportError> {
    let mut profiles = Vec::new();
    for product in store.products()? {
        for variant in &product.variants {
            let Some(shelf) = variant.home_location.clone() else {
                continue;
            };
            let size_weight = match variant.size.as_deref() {
                Some("M") => 1.0,
                Some("L") => 0.8,
                Some("S") => 0.55,
                Some("XL") => 0.3,
                Some("XS") => 0.2,
                _ => 1.0,
            };
            let (rate, capacity, settings, max_basket, theft) = match product.code.as_str() {
                "GR-OATS-1KG" => (7.0, 30, grocery(12), 3, 0.0),
                "GR-HONEY-350" => (2.2, 14, grocery(6), 2, 0.0),
                "GR-ESPR-250" => (3.0, 14, grocery(10), 2, 0.0),
                "VT-TEE-ORBIT" => (0.45 * size_weight, 6, apparel(6), 1, 0.004),
                "VT-HOOD-DRIFT" => (0.3 * size_weight, 4, apparel(4), 1, 0.004),
                // Dresses: a slow, intermittent seller.
                _ => (0.09 * size_weight, 3, apparel(2), 1, 0.003),
            };
            profiles.push(Profile {
                sku: variant.sku.clone(),
                shelf,
                rate,
                shelf_capacity: capacity,
                settings,
                max_basket,
                theft,
            });
        }
    }
    Ok(profiles)
}

fn grocery(pack: u32) -> ReorderSettings {
    ReorderSettings {
        reorder_point: None,
        lead_time_days: 3,
        review_period_days: 7,
        pack_size: pack,
        service_level: 0.95,
    }
}

fn apparel(pack: u32) -> ReorderSettings {
    ReorderSettings {
        reorder_point: None,
        lead_time_days: 10,
        review_period_days: 14,
        pack_size: pack,
        service_level: 0.9,
    }
}

/// Where one variant stands in the simulation.
#[derive(Default, Clone, Copy)]
struct Stock {
    /// What is really there (theft included).
    shelf: i64,
    backroom: i64,
    /// Units ordered, and the day they arrive.
    incoming: Option<(i64, i64)>,
}

/// Days of history a fresh demo store gets, and its seed.
pub const DEMO_DAYS: u32 = 180;
pub const DEMO_SEED: u64 = 1;

/// Seeds an empty store with the demo catalog and [`DEMO_DAYS`] of trade up to yesterday;
/// returns whether it seeded (a store with any product is left alone).
pub fn seed_demo_store(store: &mut Store) -> Result<bool, ReportError> {
    if !store.seed_demo_if_empty()? {
        return Ok(false);
    }
    let today = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
        .div_euclid(86_400);
    seed_history(
        store,
        &HistoryOptions {
            days: DEMO_DAYS,
            seed: DEMO_SEED,
            last_day: today - 1,
        },
    )?;
    // A promotion for the signage to show: the espresso, 15 % off for two weeks from today.
    let promotion = vitrine_store::Promotion { product_code: "GR-ESPR-250".into(), percent_off: 15, starts_day: today, ends_day: today + 13 };
    store.add_promotion(&promotion, today * MS_PER_DAY)?;
    Ok(true)
}

/// Generates `options.days` days of trade for the catalog in `store` (the demo catalog, or
/// any whose variants have home shelves) and records it through the ledger in one
/// transaction; also gives each variant demo reorder settings.
pub fn seed_history(
    store: &mut Store,
    options: &HistoryOptions,
) -> Result<HistoryReport, ReportError> {
    let profiles = profiles(store)?;
    let mut rng = Rng(options.seed ^ 0x5EED_0F_D3_40);
    let first_day = options.last_day - i64::from(options.days) + 1;
    // Book stock the day before the history starts (not today's, so generating the same
    // history again replays the same events, which the ledger recognises as duplicates).
    let before = |sku: &str, location: &str| -> Result<i64, ReportError> {
        let at = store.stock_by_day(sku, Some(location), first_day - 1, first_day - 1)?;
        Ok(at.first().map_or(0, |(_, on_hand)| *on_hand))
    };
    let mut stock: HashMap<String, Stock> = HashMap::new();
    let mut opening_shelf: HashMap<String, i64> = HashMap::new();
    for p in &profiles {
        let shelf = before(&p.sku, &p.shelf)?;
        opening_shelf.insert(p.sku.clone(), shelf);
        stock.insert(
            p.sku.clone(),
            Stock {
                shelf: shelf.max(0),
                backroom: before(&p.sku, BACKROOM)?.max(0),
                incoming: None,
            },
        );
    }
    // Promotions: the hoodies double for a week in the first half, espresso in the second.
    let promotions = [
        ("VT-HOOD-DRIFT", first_day + i64::from(options.days) / 3),
        ("GR-ESPR-250", first_day + 2 * i64::from(options.days) / 3),
    ];
    // Shelf counts near the start, the middle and the last week.
    let count_days = [
        first_day + 20,
        first_day + i64::from(options.days) / 2,
        options.last_day - 3,
    ];
    // The tee supplier misses one delivery: a visible stock-out.
    let missed_delivery = ("VT-TEE-ORBIT", first_day + i64::from(options.days) / 2);

    let mut events = Vec::new();
    let mut serial = 0u64;
    let mut make = |kind: EventKind, sku: &str, location: &str, quantity: i64, at_ms: i64| {
        serial += 1;
        let mut random = [0u8; 10];
        random[..8].copy_from_slice(&(options.seed.rotate_left(17) ^ serial).to_be_bytes());
        random[8..].copy_from_slice(&(serial as u16).to_be_bytes());
        let id = Builder::from_unix_timestamp_millis(at_ms as u64, &random).into_uuid();
        NewEvent {
            id: id.to_string(),
            store_id: STORE_ID.to_owned(),
            device_id: DEVICE_ID.to_owned(),
            occurred_at_ms: at_ms,
            actor: "demo-history".to_owned(),
            kind,
            variant_sku: sku.to_owned(),
            location_code: location.to_owned(),
            to_location_code: None,
            quantity,
            reference: None,
            note: None,
            source_key: None,
        }
    };
    let (mut units_sold, mut lost_sales) = (0i64, 0i64);
    for day in first_day..=options.last_day {
        let start = day * MS_PER_DAY;
        // 1970-01-01 was a Thursday.
        let weekday = (day + 3).rem_euclid(7) as usize;
        for p in &profiles {
            let s = stock.get_mut(&p.sku).expect("every profile has stock");
            // 07:00 deliveries arrive in the backroom.
            if let Some((arrives, units)) = s.incoming {
                if arrives == day {
                    let mut e = make(
                        EventKind::Received,
                        &p.sku,
                        BACKROOM,
                        units,
                        start + 7 * 3_600_000,
                    );
                    e.reference = Some(format!("DEMO-PO-{}", day));
                    events.push(e);
                    s.backroom += units;
                    s.incoming = None;
                }
            }
            // 08:00 the shelf is filled from the backroom when it is half empty.
            if s.shelf * 2 <= p.shelf_capacity && s.backroom > 0 {
                let moved = (p.shelf_capacity - s.shelf).min(s.backroom);
                let mut e = make(
                    EventKind::Transferred,
                    &p.sku,
                    BACKROOM,
                    moved,
                    start + 8 * 3_600_000,
                );
                e.to_location_code = Some(p.shelf.clone());
                events.push(e);
                s.backroom -= moved;
                s.shelf += moved;
            }
            // 09:00–20:00 customers, one sale event each, while the shelf has stock.
            let promo = promotions
                .iter()
                .any(|(code, from)| p.sku.starts_with(code) && (*from..*from + 7).contains(&day));
            let mean = p.rate * WEEKDAY[weekday] * if promo { 2.2 } else { 1.0 };
            let customers = rng.poisson(mean / ((1 + p.max_basket) as f64 / 2.0));
            for c in 0..customers {
                let wanted = 1 + (rng.next() % p.max_basket as u64) as i64;
                let sold = wanted.min(s.shelf);
                lost_sales += wanted - sold;
                if sold == 0 {
                    continue;
                }
                let at = start
                    + 9 * 3_600_000
                    + (c * 11 * 3_600_000) / customers.max(1)
                    + (rng.next() % 600_000) as i64;
                events.push(make(EventKind::Sold, &p.sku, &p.shelf, sold, at));
                s.shelf -= sold;
                units_sold += sold;
            }
            // A unit walks out now and then; the books only learn at the next count.
            if s.shelf > 0 && rng.uniform() < p.theft * s.shelf as f64 {
                s.shelf -= 1;
            }
            // 21:00 shelf counts, and the adjustment the clerk books for any gap.
            if count_days.contains(&day) {
                let book = book_stock(&events, opening_shelf[&p.sku], &p.sku, &p.shelf);
                events.push(make(
                    EventKind::Counted,
                    &p.sku,
                    &p.shelf,
                    s.shelf,
                    start + 21 * 3_600_000,
                ));
                if book != s.shelf {
                    let mut e = make(
                        EventKind::Adjusted,
                        &p.sku,
                        &p.shelf,
                        s.shelf - book,
                        start + 21 * 3_600_000 + 60_000,
                    );
                    e.note = Some("shelf count correction".into());
                    events.push(e);
                }
            }
            // Ordering on review days: up to demand over lead time + review, plus a little.
            let review = i64::from(p.settings.review_period_days.max(1));
            if (day - first_day) % review == 0 && s.incoming.is_none() {
                let cover = f64::from(p.settings.lead_time_days + p.settings.review_period_days);
                let target = (p.rate * cover * 1.15).ceil() as i64 + p.shelf_capacity / 2;
                let position = s.shelf + s.backroom;
                let missed = p.sku.starts_with(missed_delivery.0)
                    && (missed_delivery.1..missed_delivery.1 + review).contains(&day);
                if position < target && !missed {
                    let pack = i64::from(p.settings.pack_size);
                    let units = (target - position + pack - 1) / pack * pack;
                    s.incoming = Some((day + i64::from(p.settings.lead_time_days), units));
                }
            }
        }
    }
    group_receipts(&mut events, options.seed);
    events.sort_by_key(|e| e.occurred_at_ms);
    for p in &profiles {
        store.set_reorder_settings(&p.sku, &p.settings)?;
    }
    let outcomes = store.record_events(&events)?;

    let duplicates = outcomes
        .iter()
        .filter(|o| **o == vitrine_store::EventOutcome::Duplicate)
        .count();
    Ok(HistoryReport {
        events: events.len() - duplicates,
        duplicates,
        units_sold,
        lost_sales,
    })
}

/// Products shoppers often buy together in the demo, with how often the first's sale has the
/// second on its receipt (when one sold that day): what "complete the look" learns from.
const BOUGHT_TOGETHER: &[(&str, &str, f64)] = &[
    ("VT-TEE-ORBIT", "VT-HOOD-DRIFT", 0.6),
    ("VT-DRS-LUMEN", "VT-HOOD-DRIFT", 0.3),
    ("GR-OATS-1KG", "GR-HONEY-350", 0.5),
    ("GR-ESPR-250", "GR-OATS-1KG", 0.3),
];

/// Gives every sale a receipt number (`DEMO-R-day-n`, the POS export's `sale_id`), putting
/// pairs from [`BOUGHT_TOGETHER`] sold on the same day on one receipt. Draws from its own
/// generator, so the trade itself is the same with or without receipts.
fn group_receipts(events: &mut [NewEvent], seed: u64) {
    let mut rng = Rng(seed ^ 0x0BA5_CE75);
    let mut by_day: HashMap<i64, Vec<usize>> = HashMap::new();
    for (k, e) in events.iter().enumerate() {
        if e.kind == EventKind::Sold {
            by_day.entry(e.occurred_at_ms.div_euclid(MS_PER_DAY)).or_default().push(k);
        }
    }
    let mut days: Vec<i64> = by_day.keys().copied().collect();
    days.sort_unstable();
    for day in days {
        let sales = &by_day[&day];
        let mut receipt: HashMap<usize, usize> = HashMap::new();
        let mut receipts = 0usize;
        for &(first, second, chance) in BOUGHT_TOGETHER {
            for &a in sales.iter().filter(|&&k| events[k].variant_sku.starts_with(first)) {
                if receipt.contains_key(&a) || rng.uniform() >= chance {
                    continue;
                }
                let partner = sales.iter().copied().find(|&k| events[k].variant_sku.starts_with(second) && !receipt.contains_key(&k));
                if let Some(b) = partner {
                    receipts += 1;
                    receipt.insert(a, receipts);
                    receipt.insert(b, receipts);
                }
            }
        }
        for &k in sales {
            let n = *receipt.entry(k).or_insert_with(|| {
                receipts += 1;
                receipts
            });
            events[k].reference = Some(format!("DEMO-R-{day}-{n}"));
        }
    }
}

/// The book stock the ledger will show for a shelf after the events generated so far.
fn book_stock(events: &[NewEvent], opening: i64, sku: &str, shelf: &str) -> i64 {
    let mut book = opening;
    for e in events.iter().filter(|e| e.variant_sku == sku) {
        if e.location_code == shelf {
            book += match e.kind {
                EventKind::Received | EventKind::Returned | EventKind::Adjusted => e.quantity,
                EventKind::Sold | EventKind::Transferred => -e.quantity,
                EventKind::Counted => 0,
            };
        } else if e.to_location_code.as_deref() == Some(shelf) {
            book += e.quantity;
        }
    }
    book
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{run_report, Cell, ReportKind, ReportQuery};

    fn demo(days: u32) -> (Store, HistoryReport) {
        let mut store = Store::open_in_memory().unwrap();
        store.seed_demo_if_empty().unwrap();
        let report = seed_history(
            &mut store,
            &HistoryOptions {
                days,
                seed: 7,
                last_day: 20_400,
            },
        )
        .unwrap();
        (store, report)
    }

    #[test]
    fn the_history_is_deterministic_consistent_and_idempotent() {
        let (mut store, report) = demo(120);
        let (_, again) = demo(120);
        assert_eq!(report, again);
        assert!(report.events > 1000, "{report:?}");
        assert!(report.lost_sales > 0, "stock-outs happen: {report:?}");
        assert_eq!(store.rebuild_stock_from_ledger().unwrap().corrected, 0);
        let repeat = seed_history(
            &mut store,
            &HistoryOptions {
                days: 120,
                seed: 7,
                last_day: 20_400,
            },
        )
        .unwrap();
        assert_eq!(repeat.events, 0, "the same history records nothing twice");
        // Physical stock never went below zero, so neither did the books.
        assert!(store
            .stock_rows(&Default::default())
            .unwrap()
            .iter()
            .all(|r| r.on_hand >= 0));
    }

    #[test]
    fn every_demo_sale_is_on_a_receipt_and_the_pairs_show_in_them() {
        let (store, _) = demo(120);
        let baskets = store.sale_baskets(0).unwrap();
        let with = |a: &str, b: &str| baskets.iter().filter(|r| r.iter().any(|c| c == a) && r.iter().any(|c| c == b)).count();
        assert!(with("VT-TEE-ORBIT", "VT-HOOD-DRIFT") > 10, "tees go with hoodies");
        assert!(with("GR-OATS-1KG", "GR-HONEY-350") > 10, "oats with honey");
        assert_eq!(with("VT-TEE-ORBIT", "GR-HONEY-350"), 0, "and nothing else pairs up");
        assert!(baskets.iter().all(|r| r.len() <= 2));
    }

    #[test]
    fn the_demo_reports_have_something_to_show() {
        let (store, report) = demo(180);
        let sell = run_report(
            &store,
            &ReportQuery {
                kind: ReportKind::SellThrough,
                ..Default::default()
            },
        )
        .unwrap();
        let sold_at = sell.columns.iter().position(|c| c.key == "sold").unwrap();
        let sold_in_window: i64 = sell
            .rows
            .iter()
            .map(|r| if let Cell::Int(n) = r[sold_at] { n } else { 0 })
            .sum();
        assert!(
            sold_in_window > 100 && sold_in_window < report.units_sold,
            "{sold_in_window} {report:?}"
        );
        let discrepancies = run_report(
            &store,
            &ReportQuery {
                kind: ReportKind::Discrepancies,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(
            !discrepancies.rows.is_empty(),
            "the last count finds shrinkage"
        );
        assert!(discrepancies.notes[0].contains("missing"));
        for kind in ReportKind::ALL {
            run_report(
                &store,
                &ReportQuery {
                    kind,
                    ..Default::default()
                },
            )
            .unwrap();
        }
        let reorder = run_report(
            &store,
            &ReportQuery {
                kind: ReportKind::Reorder,
                ..Default::default()
            },
        )
        .unwrap();
        let slow = run_report(
            &store,
            &ReportQuery {
                kind: ReportKind::SlowMovers,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(!reorder.rows.is_empty() || !slow.rows.is_empty());
        let chart = crate::forecast_chart(&store, "GR-OATS-1KG", 14).unwrap();
        assert!(chart.history.points.iter().map(|p| p.value).sum::<f64>() > 100.0);
    }
}

//! Signage: the manager's decisions on suggested posters, promotions, and when each product
//! first arrived (for "new in store").

use std::collections::HashMap;

use rusqlite::{params, OptionalExtension};

use crate::store::variant_id;
use crate::{Result, Store, StoreError};

/// A decision on a poster (a SKU in one design).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PosterDecision {
    pub sku: String,
    pub design: String,
    /// `approved` or `rejected`.
    pub status: String,
    /// When an approved poster plays: from, until (UTC ms).
    pub from_ms: Option<i64>,
    pub until_ms: Option<i64>,
    pub decided_by: String,
    pub decided_ms: i64,
}

/// A percentage off a product's price over whole UTC days.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Promotion {
    pub product_code: String,
    pub percent_off: i64,
    /// UTC day numbers, both included.
    pub starts_day: i64,
    pub ends_day: i64,
}

impl Promotion {
    /// The price with the promotion, rounded to the cent.
    pub fn price(&self, price_cents: i64) -> i64 {
        (price_cents * (100 - self.percent_off) + 50) / 100
    }
}

impl Store {
    /// Adds a promotion; an unknown product, a percentage outside 1–90 or an end before the
    /// start is refused.
    pub fn add_promotion(&mut self, promotion: &Promotion, now_ms: i64) -> Result<()> {
        let product: Option<i64> = self.conn.query_row("SELECT id FROM products WHERE code = ?1", [&promotion.product_code], |r| r.get(0)).optional()?;
        let product = product.ok_or_else(|| StoreError::UnknownProduct(promotion.product_code.clone()))?;
        if !(1..=90).contains(&promotion.percent_off) || promotion.ends_day < promotion.starts_day {
            return Err(StoreError::InvalidPromotion(format!("it takes 1 to 90 % off and ends on or after its start (got {} %, from day {} to day {})", promotion.percent_off, promotion.starts_day, promotion.ends_day)));
        }
        self.conn.execute(
            "INSERT INTO promotions (product_id, percent_off, starts_day, ends_day, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![product, promotion.percent_off, promotion.starts_day, promotion.ends_day, now_ms],
        )?;
        Ok(())
    }

    /// Promotions running on `day`, one per product (the largest, when several overlap).
    pub fn promotions_on(&self, day: i64) -> Result<Vec<Promotion>> {
        let mut stmt = self.conn.prepare(
            "SELECT p.code, MAX(m.percent_off), m.starts_day, m.ends_day FROM promotions m JOIN products p ON p.id = m.product_id
             WHERE ?1 BETWEEN m.starts_day AND m.ends_day GROUP BY m.product_id ORDER BY p.code",
        )?;
        let rows = stmt
            .query_map([day], |r| Ok(Promotion { product_code: r.get(0)?, percent_off: r.get(1)?, starts_day: r.get(2)?, ends_day: r.get(3)? }))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Records (or replaces) the decision on `sku` in `design`: approved to play over
    /// `schedule` (from, until in UTC ms), or rejected (`None`).
    pub fn decide_poster(&mut self, sku: &str, design: &str, schedule: Option<(i64, i64)>, by: &str, now_ms: i64) -> Result<()> {
        let variant = variant_id(&self.conn, sku)?;
        self.conn.execute(
            "INSERT OR REPLACE INTO poster_decisions (variant_id, design, status, from_ms, until_ms, decided_by, decided_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![variant, design, if schedule.is_some() { "approved" } else { "rejected" }, schedule.map(|s| s.0), schedule.map(|s| s.1), by, now_ms],
        )?;
        Ok(())
    }

    /// Every decision, newest first.
    pub fn poster_decisions(&self) -> Result<Vec<PosterDecision>> {
        let mut stmt = self.conn.prepare(
            "SELECT v.sku, d.design, d.status, d.from_ms, d.until_ms, d.decided_by, d.decided_ms
             FROM poster_decisions d JOIN variants v ON v.id = d.variant_id
             ORDER BY d.decided_ms DESC, v.sku, d.design",
        )?;
        let rows = stmt
            .query_map([], |r| Ok(PosterDecision { sku: r.get(0)?, design: r.get(1)?, status: r.get(2)?, from_ms: r.get(3)?, until_ms: r.get(4)?, decided_by: r.get(5)?, decided_ms: r.get(6)? }))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// The first UTC day each variant was received, for those ever received.
    pub fn first_received_days(&self) -> Result<HashMap<String, i64>> {
        let mut stmt = self.conn.prepare(
            "SELECT v.sku, MIN(m.day) FROM daily_movements m JOIN variants v ON v.id = m.variant_id
             WHERE m.received > 0 GROUP BY m.variant_id",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_replace_each_other_and_rejections_have_no_end() {
        let mut store = Store::open_in_memory().unwrap();
        store.seed_demo_if_empty().unwrap();
        store.decide_poster("GR-OATS-1KG", "spotlight", Some((1_500, 2_000)), "Demo Manager", 1_000).unwrap();
        store.decide_poster("GR-OATS-1KG", "stripes", None, "Demo Manager", 1_001).unwrap();
        let d = store.poster_decisions().unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!((d[0].design.as_str(), d[0].status.as_str(), d[0].until_ms), ("stripes", "rejected", None));
        assert_eq!((d[1].from_ms, d[1].until_ms), (Some(1_500), Some(2_000)));
        assert!(store.decide_poster("GR-OATS-1KG", "spotlight", Some((2_000, 1_000)), "x", 1).is_err(), "ends before it starts");
        store.decide_poster("GR-OATS-1KG", "spotlight", None, "Demo Manager", 1_002).unwrap();
        assert!(store.poster_decisions().unwrap().iter().all(|d| d.status == "rejected"));
        assert!(store.decide_poster("NO-SUCH", "spotlight", Some((0, 1)), "x", 1).is_err());
        // The seed's opening delivery is every variant's first.
        let first = store.first_received_days().unwrap();
        assert_eq!(first.get("GR-OATS-1KG"), Some(&20_089), "2025-01-01");
    }

    #[test]
    fn promotions_run_over_their_days_and_bad_ones_are_refused() {
        let mut store = Store::open_in_memory().unwrap();
        store.seed_demo_if_empty().unwrap();
        let promo = |code: &str, pct, a, b| Promotion { product_code: code.into(), percent_off: pct, starts_day: a, ends_day: b };
        store.add_promotion(&promo("VT-HOOD-DRIFT", 20, 100, 106), 1).unwrap();
        store.add_promotion(&promo("VT-HOOD-DRIFT", 30, 104, 104), 1).unwrap();
        assert!(store.promotions_on(99).unwrap().is_empty());
        assert_eq!(store.promotions_on(100).unwrap(), vec![promo("VT-HOOD-DRIFT", 20, 100, 106)]);
        assert_eq!(store.promotions_on(104).unwrap()[0].percent_off, 30, "the larger of two that overlap");
        assert!(store.promotions_on(107).unwrap().is_empty(), "the end day is the last");
        assert_eq!(promo("x", 20, 0, 0).price(5400), 4320);
        assert_eq!(promo("x", 15, 0, 0).price(1999), 1699, "rounded to the cent");
        for bad in [promo("NO-SUCH", 20, 1, 2), promo("VT-HOOD-DRIFT", 95, 1, 2), promo("VT-HOOD-DRIFT", 20, 5, 2)] {
            assert!(store.add_promotion(&bad, 1).is_err(), "{bad:?}");
        }
    }
}

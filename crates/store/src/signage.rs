//! Signage: the manager's decisions on suggested posters, and when each product first arrived
//! (for "new in store").

use std::collections::HashMap;

use rusqlite::params;

use crate::store::variant_id;
use crate::{Result, Store};

/// A decision on a poster (a SKU in one design).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PosterDecision {
    pub sku: String,
    pub design: String,
    /// `approved` or `rejected`.
    pub status: String,
    pub until_ms: Option<i64>,
    pub decided_by: String,
    pub decided_ms: i64,
}

impl Store {
    /// Records (or replaces) the decision on `sku` in `design`.
    pub fn decide_poster(&mut self, sku: &str, design: &str, approved: bool, until_ms: Option<i64>, by: &str, now_ms: i64) -> Result<()> {
        let variant = variant_id(&self.conn, sku)?;
        self.conn.execute(
            "INSERT OR REPLACE INTO poster_decisions (variant_id, design, status, until_ms, decided_by, decided_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![variant, design, if approved { "approved" } else { "rejected" }, if approved { until_ms } else { None }, by, now_ms],
        )?;
        Ok(())
    }

    /// Every decision, newest first.
    pub fn poster_decisions(&self) -> Result<Vec<PosterDecision>> {
        let mut stmt = self.conn.prepare(
            "SELECT v.sku, d.design, d.status, d.until_ms, d.decided_by, d.decided_ms
             FROM poster_decisions d JOIN variants v ON v.id = d.variant_id
             ORDER BY d.decided_ms DESC, v.sku, d.design",
        )?;
        let rows = stmt
            .query_map([], |r| Ok(PosterDecision { sku: r.get(0)?, design: r.get(1)?, status: r.get(2)?, until_ms: r.get(3)?, decided_by: r.get(4)?, decided_ms: r.get(5)? }))?
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
        store.decide_poster("GR-OATS-1KG", "spotlight", true, Some(2_000), "Demo Manager", 1_000).unwrap();
        store.decide_poster("GR-OATS-1KG", "stripes", false, Some(2_000), "Demo Manager", 1_001).unwrap();
        let d = store.poster_decisions().unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!((d[0].design.as_str(), d[0].status.as_str(), d[0].until_ms), ("stripes", "rejected", None));
        store.decide_poster("GR-OATS-1KG", "spotlight", false, None, "Demo Manager", 1_002).unwrap();
        assert!(store.poster_decisions().unwrap().iter().all(|d| d.status == "rejected"));
        assert!(store.decide_poster("NO-SUCH", "spotlight", true, Some(1), "x", 1).is_err());
        // The seed's opening delivery is every variant's first.
        let first = store.first_received_days().unwrap();
        assert_eq!(first.get("GR-OATS-1KG"), Some(&20_089), "2025-01-01");
    }
}

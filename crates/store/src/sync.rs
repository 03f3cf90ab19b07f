//! The store's side of HQ sync: cursors, the outcome of each push and pull, catalog and price
//! changes from HQ, and other stores' stock. The sync client (`vitrine-sync`) talks to HQ;
//! everything it learns lands here, each answer in one transaction together with the cursor
//! that says it was applied, so a kiosk killed at any moment resumes where it stopped.

use std::collections::BTreeMap;

use rusqlite::params;
use serde::Serialize;
use tracing::{debug, warn};

use crate::hlc::Hlc;
use crate::store::{begin_write, finish_write};
use crate::{Result, Store};

/// Where sync stands, for the kiosk's status strip and the sync report.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct SyncStatus {
    /// Events recorded here that HQ has not acknowledged.
    pub pending_events: u64,
    pub last_push_unix_ms: Option<i64>,
    pub last_pull_unix_ms: Option<i64>,
    /// The latest failure, until the next successful push or pull.
    pub last_error: Option<String>,
    /// The HQ this file last synced with (none: never configured).
    pub hq_url: Option<String>,
    /// Other stores HQ has told this kiosk about, by id.
    pub stores: Vec<RemoteStoreStatus>,
}

/// Another store as HQ last described it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemoteStoreStatus {
    pub store_id: String,
    /// When that store last pushed to HQ.
    pub last_seen_unix_ms: Option<i64>,
    /// Events HQ holds from that store.
    pub events: u64,
}

/// What this kiosk has applied so far; a pull asks for what came after.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncCursors {
    pub catalog: i64,
    /// Per other store, the stock version applied.
    pub stock: BTreeMap<String, i64>,
}

/// A variant (with its product) as HQ's catalog has it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogUpdate {
    pub product_code: String,
    pub product_name: String,
    pub category: String,
    pub sku: String,
    pub size: Option<String>,
    pub colour: Option<String>,
    pub barcode: Option<String>,
    pub price_cents: i64,
    pub cost_cents: i64,
}

/// Another store's stock levels that changed, and the version they bring that store to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteStock {
    pub store_id: String,
    pub stock_version: i64,
    pub events: u64,
    pub last_seen_unix_ms: Option<i64>,
    /// `(sku, on_hand)`.
    pub levels: Vec<(String, i64)>,
}

/// One pull's answer, applied whole by [`Store::apply_pull`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PulledChanges {
    pub catalog: Vec<CatalogUpdate>,
    /// The catalog version after `catalog`.
    pub catalog_cursor: i64,
    pub stores: Vec<RemoteStock>,
}

impl Store {
    /// Where sync stands: pending events, last push/pull, last error, other stores.
    pub fn sync_status(&self) -> Result<SyncStatus> {
        let (hq_url, last_push_unix_ms, last_pull_unix_ms, last_error) = self.conn.query_row(
            "SELECT hq_url, last_push_unix_ms, last_pull_unix_ms, last_error
             FROM sync_state WHERE id = 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
        )?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT store_id, last_seen_unix_ms, events FROM remote_stores ORDER BY store_id",
        )?;
        let stores = stmt
            .query_map([], |row| {
                Ok(RemoteStoreStatus {
                    store_id: row.get(0)?,
                    last_seen_unix_ms: row.get(1)?,
                    events: row.get(2)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(SyncStatus {
            pending_events: self.outbox_len()?,
            last_push_unix_ms,
            last_pull_unix_ms,
            last_error,
            hq_url,
            stores,
        })
    }

    /// The cursors the next pull starts from.
    pub fn sync_cursors(&self) -> Result<SyncCursors> {
        let catalog = self.conn.query_row(
            "SELECT catalog_cursor FROM sync_state WHERE id = 1",
            [],
            |row| row.get(0),
        )?;
        let mut stmt = self
            .conn
            .prepare_cached("SELECT store_id, stock_version FROM remote_stores")?;
        let stock = stmt
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(SyncCursors { catalog, stock })
    }

    /// Remembers which HQ this file syncs with (shown in the status).
    pub fn set_hq_url(&mut self, url: Option<&str>) -> Result<()> {
        self.conn
            .execute("UPDATE sync_state SET hq_url = ?1 WHERE id = 1", [url])?;
        Ok(())
    }

    /// HQ holds the outbox events with these ledger `seq`s: they leave the outbox, the push
    /// time is recorded, the last error cleared, and HQ's clock merged, in one transaction.
    /// Returns how many left the outbox (a repeated call finds none).
    pub fn record_push(&mut self, seqs: &[i64], hq_hlc: Option<&Hlc>, now_unix_ms: i64) -> Result<usize> {
        let tx = begin_write(&mut self.conn, &mut self.clock)?;
        let mut acked = 0;
        {
            let mut delete = tx.prepare_cached("DELETE FROM outbox WHERE seq = ?1")?;
            for seq in seqs {
                acked += delete.execute([seq])?;
            }
        }
        tx.execute(
            "UPDATE sync_state SET last_push_unix_ms = ?1, last_error = NULL,
                                   last_error_unix_ms = NULL
             WHERE id = 1",
            [now_unix_ms],
        )?;
        merge_clock(&mut self.clock, hq_hlc);
        finish_write(tx, &self.clock)?;
        debug!(acked, "HQ holds pushed events");
        Ok(acked)
    }

    /// Applies one pull whole: catalog rows (products and variants inserted or updated by
    /// code and SKU), other stores' stock and versions, the new cursors and the pull time;
    /// HQ's clock is merged. Any failure (say, a barcode that clashes with another local
    /// variant) rolls it all back and the cursors stay where they were.
    pub fn apply_pull(&mut self, changes: &PulledChanges, hq_hlc: Option<&Hlc>, now_unix_ms: i64) -> Result<()> {
        let tx = begin_write(&mut self.conn, &mut self.clock)?;
        {
            let mut product = tx.prepare_cached(
                "INSERT INTO products (code, name, category) VALUES (?1, ?2, ?3)
                 ON CONFLICT (code) DO UPDATE SET name = excluded.name, category = excluded.category",
            )?;
            let mut variant = tx.prepare_cached(
                "INSERT INTO variants
                     (product_id, sku, size, colour, barcode, price_cents, cost_cents)
                 VALUES ((SELECT id FROM products WHERE code = ?1), ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (sku) DO UPDATE SET
                     product_id = excluded.product_id, size = excluded.size,
                     colour = excluded.colour, barcode = excluded.barcode,
                     price_cents = excluded.price_cents, cost_cents = excluded.cost_cents",
            )?;
            for c in &changes.catalog {
                product.execute(params![c.product_code, c.product_name, c.category])?;
                variant.execute(params![
                    c.product_code,
                    c.sku,
                    c.size,
                    c.colour,
                    c.barcode,
                    c.price_cents,
                    c.cost_cents
                ])?;
            }
            // The demo's invented neighbours make way for the chain's real stores.
            let demo = format!("{}%", crate::seed::DEMO_NEIGHBOUR_PREFIX);
            tx.execute("DELETE FROM remote_stock WHERE store_id LIKE ?1", [&demo])?;
            tx.execute("DELETE FROM remote_stores WHERE store_id LIKE ?1", [&demo])?;
            let mut store = tx.prepare_cached(
                "INSERT INTO remote_stores (store_id, stock_version, events, last_seen_unix_ms)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (store_id) DO UPDATE SET
                     stock_version = max(stock_version, excluded.stock_version),
                     events = excluded.events, last_seen_unix_ms = excluded.last_seen_unix_ms",
            )?;
            let mut level = tx.prepare_cached(
                "INSERT INTO remote_stock (store_id, sku, on_hand) VALUES (?1, ?2, ?3)
                 ON CONFLICT (store_id, sku) DO UPDATE SET on_hand = excluded.on_hand",
            )?;
            for s in &changes.stores {
                store.execute(params![s.store_id, s.stock_version, s.events, s.last_seen_unix_ms])?;
                for (sku, on_hand) in &s.levels {
                    level.execute(params![s.store_id, sku, on_hand])?;
                }
            }
        }
        tx.execute(
            "UPDATE sync_state SET catalog_cursor = max(catalog_cursor, ?1),
                                   last_pull_unix_ms = ?2, last_error = NULL,
                                   last_error_unix_ms = NULL
             WHERE id = 1",
            [changes.catalog_cursor, now_unix_ms],
        )?;
        merge_clock(&mut self.clock, hq_hlc);
        finish_write(tx, &self.clock)?;
        debug!(
            catalog = changes.catalog.len(),
            stores = changes.stores.len(),
            cursor = changes.catalog_cursor,
            "applied pull from HQ"
        );
        Ok(())
    }

    /// Keeps the latest sync failure for the status (cleared by the next success).
    pub fn record_sync_error(&mut self, message: &str, now_unix_ms: i64) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE sync_state SET last_error = ?1, last_error_unix_ms = ?2 WHERE id = 1",
            )?
            .execute(params![message, now_unix_ms])?;
        Ok(())
    }

    /// Book stock of `sku` at every other store HQ told this kiosk about, by store id.
    pub fn remote_stock(&self, sku: &str) -> Result<Vec<(String, i64)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT store_id, on_hand FROM remote_stock WHERE sku = ?1 ORDER BY store_id",
        )?;
        let levels = stmt
            .query_map([sku], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(levels)
    }

    /// Book stock at every other store HQ told this kiosk about, by SKU then store id.
    pub fn remote_stock_all(&self) -> Result<std::collections::HashMap<String, Vec<(String, i64)>>> {
        let mut stmt = self.conn.prepare_cached("SELECT sku, store_id, on_hand FROM remote_stock ORDER BY sku, store_id")?;
        let mut out: std::collections::HashMap<String, Vec<(String, i64)>> = std::collections::HashMap::new();
        for row in stmt.query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, row.get::<_, i64>(2)?)))? {
            let (sku, store, on_hand) = row?;
            out.entry(sku).or_default().push((store, on_hand));
        }
        Ok(out)
    }

    /// The ids of every event recorded on this file, with their HLC, in HLC order: what the
    /// sync tests compare with HQ.
    pub fn ledger_ids(&self) -> Result<Vec<(String, String)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, hlc FROM stock_events ORDER BY hlc, id")?;
        let ids = stmt
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(ids)
    }
}

/// Moves this device's clock past HQ's, so events recorded from now on sort after everything
/// HQ had seen. A timestamp implausibly far ahead is ignored (and logged) rather than
/// failing the sync: one store's broken clock must not drag every kiosk's along.
fn merge_clock(clock: &mut crate::hlc::HlcClock, hq_hlc: Option<&Hlc>) {
    if let Some(hlc) = hq_hlc {
        if let Err(e) = clock.receive(hlc) {
            warn!(error = %e, "HQ clock not merged");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EventKind, NewEvent};

    fn update(sku: &str, price_cents: i64) -> CatalogUpdate {
        CatalogUpdate {
            product_code: "HQ-SCARF".into(),
            product_name: "Scarf".into(),
            category: "accessories".into(),
            sku: sku.into(),
            size: None,
            colour: Some("red".into()),
            barcode: None,
            price_cents,
            cost_cents: 500,
        }
    }

    #[test]
    fn a_fresh_file_has_nothing_synced() {
        let store = Store::open_in_memory().unwrap();
        let status = store.sync_status().unwrap();
        assert_eq!(status, SyncStatus::default());
        assert_eq!(store.sync_cursors().unwrap(), SyncCursors::default());
    }

    #[test]
    fn a_pull_applies_catalog_prices_and_other_stores_with_its_cursor() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path().join("k.db")).unwrap();
        let changes = PulledChanges {
            catalog: vec![update("HQ-SCARF-RED", 1500), update("HQ-SCARF-RED", 1200)],
            catalog_cursor: 7,
            stores: vec![RemoteStock {
                store_id: "lyon".into(),
                stock_version: 3,
                events: 40,
                last_seen_unix_ms: Some(1_000),
                levels: vec![("HQ-SCARF-RED".into(), 9), ("ELSEWHERE-ONLY".into(), 2)],
            }],
        };
        let hq = Hlc::new(crate::hlc::wall_clock_ms() + 3_600_000, 0, "hq");
        store.apply_pull(&changes, Some(&hq), 2_000).unwrap();

        let product = store.products().unwrap().into_iter().find(|p| p.code == "HQ-SCARF").unwrap();
        assert_eq!(product.variants.len(), 1);
        assert_eq!(product.variants[0].price_cents, 1200, "the later change wins");
        assert_eq!(store.remote_stock("HQ-SCARF-RED").unwrap(), vec![("lyon".into(), 9)]);
        let cursors = store.sync_cursors().unwrap();
        assert_eq!(cursors.catalog, 7);
        assert_eq!(cursors.stock.get("lyon"), Some(&3));
        assert!(store.last_hlc() > hq, "the clock moved past HQ's");
        let status = store.sync_status().unwrap();
        assert_eq!(status.last_pull_unix_ms, Some(2_000));
        assert_eq!(
            status.stores,
            vec![RemoteStoreStatus { store_id: "lyon".into(), last_seen_unix_ms: Some(1_000), events: 40 }]
        );

        // Survives reopening, like every cursor.
        drop(store);
        let store = Store::open(dir.path().join("k.db")).unwrap();
        assert_eq!(store.sync_cursors().unwrap(), cursors);
    }

    #[test]
    fn a_pull_that_fails_part_way_applies_nothing() {
        let mut store = Store::open_in_memory().unwrap();
        let mut clash = update("HQ-SCARF-BLUE", 1000);
        clash.barcode = Some("123".into());
        let mut other = update("HQ-SCARF-RED", 1000);
        other.barcode = Some("123".into());
        let changes = PulledChanges { catalog: vec![clash, other], catalog_cursor: 2, stores: vec![] };

        assert!(store.apply_pull(&changes, None, 1).is_err());
        assert_eq!(store.sync_cursors().unwrap().catalog, 0);
        assert!(store.products().unwrap().iter().all(|p| p.code != "HQ-SCARF"));
    }

    #[test]
    fn a_push_empties_the_outbox_once_and_clears_the_error() {
        let mut store = Store::open_in_memory().unwrap();
        store.seed_demo_if_empty().unwrap();
        let sku = store.products().unwrap()[0].variants[0].sku.clone();
        let location = store.locations().unwrap()[0].code.clone();
        let origin = store.origin("tester");
        store.record_event(&NewEvent::now(&origin, EventKind::Received, &sku, &location, 3)).unwrap();
        store.record_sync_error("HQ unreachable", 5).unwrap();
        assert_eq!(store.sync_status().unwrap().last_error.as_deref(), Some("HQ unreachable"));

        let pending = store.pending_outbox(usize::MAX).unwrap();
        let seqs: Vec<i64> = pending.iter().map(|e| e.seq).collect();
        assert_eq!(store.record_push(&seqs, None, 9).unwrap(), pending.len());
        assert_eq!(store.record_push(&seqs, None, 10).unwrap(), 0);

        let status = store.sync_status().unwrap();
        assert_eq!(status.pending_events, 0);
        assert_eq!(status.last_push_unix_ms, Some(10));
        assert_eq!(status.last_error, None);
    }
}

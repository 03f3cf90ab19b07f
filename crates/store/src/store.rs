//! Opening the database safely, and the catalog and ledger operations on it.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{params, Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior};
use tracing::{debug, warn};

use crate::migrations::{check_version, migrate, user_version, MIGRATIONS, SCHEMA_VERSION};
use crate::model::{
    CatalogSummary, EventOutcome, Location, NewEvent, Product, RebuildReport, Variant, VariantStock,
};
use crate::{seed, Result, StoreError};

/// How long to wait for another process (the CLI next to the kiosk) holding the write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Book stock per variant/location recomputed from the ledger alone. Mirrors
/// `EventKind::book_delta`; the two are checked against each other by the rebuild.
const LEDGER_STOCK_SQL: &str = "
    SELECT variant_id, location_id, SUM(delta)
    FROM (
        SELECT variant_id, location_id,
               CASE kind
                   WHEN 'received' THEN quantity
                   WHEN 'returned' THEN quantity
                   WHEN 'adjusted' THEN quantity
                   WHEN 'sold' THEN -quantity
                   WHEN 'transferred' THEN -quantity
               END AS delta
        FROM stock_events
        WHERE kind <> 'counted'
        UNION ALL
        SELECT variant_id, to_location_id, quantity
        FROM stock_events
        WHERE kind = 'transferred'
    )
    GROUP BY variant_id, location_id";

/// A handle on the local cache. Not `Sync`: share it behind a `Mutex`, or open one per thread
/// (WAL lets readers and one writer work side by side).
#[derive(Debug)]
pub struct Store {
    conn: Connection,
}

impl Store {
    /// Opens (creating the file and its parent directories if missing) and migrates.
    ///
    /// An existing file is first checked read-only, so a corrupt file, a file that is not
    /// SQLite, or one written by a newer Vitrine is refused without a byte of it changing.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        if path.exists() {
            preflight(path)?;
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| open_error(path, e))?;
        let store = Self::init(conn, path)?;
        // After migrating, so a refused file never had its journal mode switched.
        let mode: String = store
            .conn
            .pragma_update_and_check(None, "journal_mode", "wal", |row| row.get(0))
            .map_err(|e| open_error(path, e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            warn!(
                path = %path.display(),
                mode,
                "WAL journal mode unavailable; readers will block the writer"
            );
        }
        debug!(path = %path.display(), "opened store");
        Ok(store)
    }

    /// A private, throwaway database for tests and demos; same schema, no WAL.
    pub fn open_in_memory() -> Result<Self> {
        let path = Path::new(":memory:");
        let conn = Connection::open_in_memory().map_err(|e| open_error(path, e))?;
        Self::init(conn, path)
    }

    fn init(mut conn: Connection, path: &Path) -> Result<Self> {
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| open_error(path, e))?;
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(|e| open_error(path, e))?;
        migrate(&mut conn, path, MIGRATIONS)?;
        Ok(Store { conn })
    }

    /// The schema version recorded in the file (equals [`SCHEMA_VERSION`] once open).
    pub fn schema_version(&self) -> Result<i64> {
        Ok(user_version(&self.conn)?)
    }

    /// Products ordered by code, each with its variants in catalog order.
    pub fn products(&self) -> Result<Vec<Product>> {
        let mut stmt = self.conn.prepare(
            "SELECT p.code, p.name, p.category,
                    v.sku, v.size, v.colour, v.barcode, v.price_cents, v.cost_cents
             FROM products p LEFT JOIN variants v ON v.product_id = p.id
             ORDER BY p.code, v.id",
        )?;
        let mut rows = stmt.query([])?;
        let mut products: Vec<Product> = Vec::new();
        while let Some(row) = rows.next()? {
            let code: String = row.get(0)?;
            if products.last().is_none_or(|p| p.code != code) {
                products.push(Product {
                    code,
                    name: row.get(1)?,
                    category: row.get(2)?,
                    variants: Vec::new(),
                });
            }
            if let Some(sku) = row.get::<_, Option<String>>(3)? {
                let product = products.last_mut().expect("pushed above");
                product.variants.push(Variant {
                    sku,
                    size: row.get(4)?,
                    colour: row.get(5)?,
                    barcode: row.get(6)?,
                    price_cents: row.get(7)?,
                    cost_cents: row.get(8)?,
                });
            }
        }
        Ok(products)
    }

    /// All locations, ordered by code.
    pub fn locations(&self) -> Result<Vec<Location>> {
        let mut stmt = self
            .conn
            .prepare("SELECT code, kind, name FROM locations ORDER BY code")?;
        let locations = stmt
            .query_map([], |row| {
                Ok(Location {
                    code: row.get(0)?,
                    kind: row.get(1)?,
                    name: row.get(2)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(locations)
    }

    /// Appends `event` to the ledger and moves book stock in the same transaction.
    /// An id already in the ledger changes nothing and reports [`EventOutcome::Duplicate`].
    pub fn record_event(&mut self, event: &NewEvent) -> Result<EventOutcome> {
        event.validate()?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let outcome = insert_event(&tx, event)?;
        tx.commit()?;
        match outcome {
            EventOutcome::Inserted => debug!(
                id = %event.id,
                kind = %event.kind,
                sku = %event.variant_sku,
                location = %event.location_code,
                quantity = event.quantity,
                "recorded stock event"
            ),
            EventOutcome::Duplicate => debug!(id = %event.id, "stock event already recorded"),
        }
        Ok(outcome)
    }

    /// Book stock of one variant at one location (0 if nothing ever moved there).
    pub fn stock_level(&self, variant_sku: &str, location_code: &str) -> Result<i64> {
        let variant = variant_id(&self.conn, variant_sku)?;
        let location = location_id(&self.conn, location_code)?;
        let on_hand = self
            .conn
            .query_row(
                "SELECT on_hand FROM stock_levels WHERE variant_id = ?1 AND location_id = ?2",
                [variant, location],
                |row| row.get(0),
            )
            .optional()?;
        Ok(on_hand.unwrap_or(0))
    }

    /// Every variant with its book stock summed over all locations, in catalog order.
    pub fn stock_by_variant(&self) -> Result<Vec<VariantStock>> {
        let mut stmt = self.conn.prepare(
            "SELECT v.sku, p.name, v.size, v.colour, COALESCE(SUM(s.on_hand), 0)
             FROM variants v
             JOIN products p ON p.id = v.product_id
             LEFT JOIN stock_levels s ON s.variant_id = v.id
             GROUP BY v.id
             ORDER BY p.code, v.id",
        )?;
        let stock = stmt
            .query_map([], |row| {
                Ok(VariantStock {
                    sku: row.get(0)?,
                    product_name: row.get(1)?,
                    size: row.get(2)?,
                    colour: row.get(3)?,
                    on_hand: row.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(stock)
    }

    /// Recomputes the book-stock table from the ledger alone and says how many rows the
    /// incremental projection had wrong; a non-zero count means a bug or a hand edit.
    pub fn rebuild_stock_from_ledger(&mut self) -> Result<RebuildReport> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let before = stock_table(
            &tx,
            "SELECT variant_id, location_id, on_hand FROM stock_levels",
        )?;
        let after = stock_table(&tx, LEDGER_STOCK_SQL)?;
        let corrected = before
            .iter()
            .filter(|(key, on_hand)| after.get(*key) != Some(*on_hand))
            .count()
            + after
                .keys()
                .filter(|key| !before.contains_key(*key))
                .count();
        tx.execute("DELETE FROM stock_levels", [])?;
        {
            let mut insert = tx.prepare(
                "INSERT INTO stock_levels (variant_id, location_id, on_hand) VALUES (?1, ?2, ?3)",
            )?;
            for ((variant, location), on_hand) in &after {
                insert.execute([variant, location, on_hand])?;
            }
        }
        tx.commit()?;
        let report = RebuildReport {
            rows: after.len(),
            corrected,
        };
        if corrected > 0 {
            warn!(
                ?report,
                "book stock disagreed with the ledger; rebuilt from events"
            );
        } else {
            debug!(?report, "book stock matches the ledger");
        }
        Ok(report)
    }

    /// Counts for a status line.
    pub fn catalog_summary(&self) -> Result<CatalogSummary> {
        Ok(self.conn.query_row(
            "SELECT (SELECT count(*) FROM products), (SELECT count(*) FROM variants),
                    (SELECT count(*) FROM locations), (SELECT count(*) FROM stock_events)",
            [],
            |row| {
                Ok(CatalogSummary {
                    products: row.get(0)?,
                    variants: row.get(1)?,
                    locations: row.get(2)?,
                    events: row.get(3)?,
                })
            },
        )?)
    }

    /// Fills an empty catalog with the deterministic demo store (garments, groceries,
    /// locations and opening deliveries) so a fresh kiosk has something to show.
    /// Returns whether it seeded; a catalog with any product is left alone.
    pub fn seed_demo_if_empty(&mut self) -> Result<bool> {
        seed::seed_demo_if_empty(&mut self.conn)
    }
}

/// Read-only look at an existing file before anything may write to it.
fn preflight(path: &Path) -> Result<()> {
    let sidecars = ["-wal", "-shm"].map(|suffix| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    });
    let existed = sidecars.each_ref().map(|sidecar| sidecar.exists());
    let verdict = inspect_read_only(path);
    if verdict.is_err() {
        // Even a read-only look at a WAL-mode file creates empty -wal/-shm files; don't leave
        // ours beside a file we refuse. Best effort: they are harmless if they stay.
        for (sidecar, existed) in sidecars.iter().zip(existed) {
            if !existed {
                let _ = fs::remove_file(sidecar);
            }
        }
    }
    verdict
}

fn inspect_read_only(path: &Path) -> Result<()> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| open_error(path, e))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| open_error(path, e))?;
    let version = user_version(&conn).map_err(|e| open_error(path, e))?;
    check_version(path, version, SCHEMA_VERSION)?;
    // quick_check reads every page, catching truncation that the header alone doesn't show.
    let problems = conn
        .prepare("PRAGMA quick_check")
        .and_then(|mut stmt| {
            stmt.query_map([], |row| row.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(|e| open_error(path, e))?;
    if problems != ["ok"] {
        return Err(StoreError::Corrupt {
            path: path.to_path_buf(),
            detail: problems.into_iter().take(3).collect::<Vec<_>>().join("; "),
        });
    }
    Ok(())
}

/// SQLite's "not a database" and "malformed" become [`StoreError::Corrupt`]; the rest
/// (permissions, locks) stay plain open failures.
fn open_error(path: &Path, source: rusqlite::Error) -> StoreError {
    match source.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => StoreError::Corrupt {
            path: path.to_path_buf(),
            detail: source.to_string(),
        },
        _ => StoreError::Open {
            path: path.to_path_buf(),
            source,
        },
    }
}

/// Inserts one validated event and applies it to book stock; the caller owns the transaction.
pub(crate) fn insert_event(conn: &Connection, event: &NewEvent) -> Result<EventOutcome> {
    let exists: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM stock_events WHERE id = ?1)",
        [&event.id],
        |row| row.get(0),
    )?;
    if exists {
        return Ok(EventOutcome::Duplicate);
    }
    let variant = variant_id(conn, &event.variant_sku)?;
    let location = location_id(conn, &event.location_code)?;
    let to_location = event
        .to_location_code
        .as_deref()
        .map(|code| location_id(conn, code))
        .transpose()?;
    conn.execute(
        "INSERT INTO stock_events (id, store_id, device_id, occurred_at_ms, actor, kind,
                                   variant_id, location_id, to_location_id, quantity,
                                   reference, note)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            event.id,
            event.store_id,
            event.device_id,
            event.occurred_at_ms,
            event.actor,
            event.kind.as_str(),
            variant,
            location,
            to_location,
            event.quantity,
            event.reference,
            event.note,
        ],
    )?;
    let delta = event.kind.book_delta(event.quantity);
    if delta != 0 {
        add_stock(conn, variant, location, delta)?;
    }
    if let Some(to) = to_location {
        add_stock(conn, variant, to, event.quantity)?;
    }
    Ok(EventOutcome::Inserted)
}

fn add_stock(conn: &Connection, variant: i64, location: i64, delta: i64) -> Result<()> {
    conn.execute(
        "INSERT INTO stock_levels (variant_id, location_id, on_hand) VALUES (?1, ?2, ?3)
         ON CONFLICT (variant_id, location_id) DO UPDATE SET on_hand = on_hand + excluded.on_hand",
        [variant, location, delta],
    )?;
    Ok(())
}

fn variant_id(conn: &Connection, sku: &str) -> Result<i64> {
    conn.query_row("SELECT id FROM variants WHERE sku = ?1", [sku], |row| {
        row.get(0)
    })
    .optional()?
    .ok_or_else(|| StoreError::UnknownVariant(sku.to_owned()))
}

fn location_id(conn: &Connection, code: &str) -> Result<i64> {
    conn.query_row("SELECT id FROM locations WHERE code = ?1", [code], |row| {
        row.get(0)
    })
    .optional()?
    .ok_or_else(|| StoreError::UnknownLocation(code.to_owned()))
}

fn stock_table(conn: &Connection, sql: &str) -> Result<BTreeMap<(i64, i64), i64>> {
    let mut stmt = conn.prepare(sql)?;
    let table = stmt
        .query_map([], |row| Ok(((row.get(0)?, row.get(1)?), row.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(table)
}

#[cfg(test)]
mod tests {
    use tempfile::TempDir;

    use super::*;
    use crate::model::{EventKind, EventOrigin};

    const TEE: &str = "VT-TEE-ORBIT-M-INK";
    const TEE_SHELF: &str = "A1/B1/S1";
    const BACKROOM: &str = "BACKROOM";

    fn event(kind: EventKind, sku: &str, location: &str, quantity: i64) -> NewEvent {
        let origin = EventOrigin {
            store_id: "store-7".into(),
            device_id: "kiosk-2".into(),
            actor: "sam".into(),
        };
        NewEvent::now(&origin, kind, sku, location, quantity)
    }

    fn transfer(sku: &str, from: &str, to: &str, quantity: i64) -> NewEvent {
        let mut e = event(EventKind::Transferred, sku, from, quantity);
        e.to_location_code = Some(to.into());
        e
    }

    fn seeded_file() -> (TempDir, PathBuf, Store) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vitrine.db");
        let mut store = Store::open(&path).unwrap();
        assert!(store.seed_demo_if_empty().unwrap());
        (dir, path, store)
    }

    fn projection(store: &Store) -> BTreeMap<(i64, i64), i64> {
        stock_table(
            &store.conn,
            "SELECT variant_id, location_id, on_hand FROM stock_levels",
        )
        .unwrap()
    }

    /// Deterministic noise, so the "random bytes" test needs no RNG crate.
    fn noise(len: usize) -> Vec<u8> {
        let mut x: u32 = 0x9E37_79B9;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect()
    }

    fn only_file_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn open_creates_missing_parent_directories_and_migrates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("var/lib/vitrine/cache.db");

        let store = Store::open(&path).unwrap();

        assert!(path.is_file());
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(store.catalog_summary().unwrap(), CatalogSummary::default());
    }

    #[test]
    fn reopening_keeps_version_and_data() {
        let (_dir, path, mut store) = seeded_file();
        store
            .record_event(&event(EventKind::Sold, TEE, TEE_SHELF, 1))
            .unwrap();
        let summary = store.catalog_summary().unwrap();
        drop(store);

        let mut store = Store::open(&path).unwrap();

        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(store.catalog_summary().unwrap(), summary);
        assert_eq!(store.stock_level(TEE, TEE_SHELF).unwrap(), 5);
        assert!(!store.seed_demo_if_empty().unwrap());
    }

    #[test]
    fn wal_and_foreign_keys_are_on() {
        let (_dir, path, store) = seeded_file();
        let mode: String = store
            .conn
            .pragma_query_value(None, "journal_mode", |row| row.get(0))
            .unwrap();
        let foreign_keys: bool = store
            .conn
            .pragma_query_value(None, "foreign_keys", |row| row.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        assert!(foreign_keys);

        // WAL is a property of the file, seen by any other connection too.
        let other = Connection::open(&path).unwrap();
        let mode: String = other
            .pragma_query_value(None, "journal_mode", |row| row.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn seed_runs_once() {
        let (_dir, _path, mut store) = seeded_file();
        let summary = store.catalog_summary().unwrap();
        assert!(summary.products > 0 && summary.variants > summary.products);
        assert!(summary.locations > 1 && summary.events > 0);

        assert!(!store.seed_demo_if_empty().unwrap());

        assert_eq!(store.catalog_summary().unwrap(), summary);
    }

    #[test]
    fn an_event_moves_book_stock_and_its_duplicate_does_not() {
        let (_dir, _path, mut store) = seeded_file();
        let before = store.catalog_summary().unwrap().events;
        let sale = event(EventKind::Sold, TEE, TEE_SHELF, 2);

        assert_eq!(store.record_event(&sale).unwrap(), EventOutcome::Inserted);
        assert_eq!(store.stock_level(TEE, TEE_SHELF).unwrap(), 4);

        assert_eq!(store.record_event(&sale).unwrap(), EventOutcome::Duplicate);
        assert_eq!(store.stock_level(TEE, TEE_SHELF).unwrap(), 4);
        assert_eq!(store.catalog_summary().unwrap().events, before + 1);
    }

    #[test]
    fn counted_is_an_observation_not_a_stock_change() {
        let (_dir, _path, mut store) = seeded_file();
        let before = projection(&store);

        let count = event(EventKind::Counted, TEE, TEE_SHELF, 1);
        assert_eq!(store.record_event(&count).unwrap(), EventOutcome::Inserted);

        assert_eq!(store.stock_level(TEE, TEE_SHELF).unwrap(), 6);
        assert_eq!(projection(&store), before);
    }

    #[test]
    fn a_transfer_moves_stock_between_locations() {
        let (_dir, _path, mut store) = seeded_file();
        store
            .record_event(&transfer(TEE, BACKROOM, TEE_SHELF, 5))
            .unwrap();
        assert_eq!(store.stock_level(TEE, BACKROOM).unwrap(), 7);
        assert_eq!(store.stock_level(TEE, TEE_SHELF).unwrap(), 11);
        let total = store
            .stock_by_variant()
            .unwrap()
            .into_iter()
            .find(|s| s.sku == TEE)
            .unwrap();
        assert_eq!(total.on_hand, 18);
        assert_eq!(total.product_name, "Orbit Crew Tee");
    }

    #[test]
    fn unknown_codes_are_refused_and_record_nothing() {
        let (_dir, _path, mut store) = seeded_file();
        let before = store.catalog_summary().unwrap();

        let err = store
            .record_event(&event(EventKind::Sold, "NO-SUCH-SKU", TEE_SHELF, 1))
            .unwrap_err();
        assert!(
            matches!(err, StoreError::UnknownVariant(ref s) if s == "NO-SUCH-SKU"),
            "{err}"
        );
        let err = store
            .record_event(&transfer(TEE, TEE_SHELF, "A9/B9/S9", 1))
            .unwrap_err();
        assert!(
            matches!(err, StoreError::UnknownLocation(ref s) if s == "A9/B9/S9"),
            "{err}"
        );
        assert!(matches!(
            store.stock_level(TEE, "NOWHERE"),
            Err(StoreError::UnknownLocation(_))
        ));

        assert_eq!(store.catalog_summary().unwrap(), before);
        assert_eq!(store.stock_level(TEE, TEE_SHELF).unwrap(), 6);
    }

    #[test]
    fn the_database_refuses_to_rewrite_the_ledger() {
        let (_dir, _path, store) = seeded_file();
        let before = store.catalog_summary().unwrap();
        let first_id: String = store
            .conn
            .query_row(
                "SELECT id FROM stock_events ORDER BY seq LIMIT 1",
                [],
                |row| row.get(0),
            )
            .unwrap();

        for sql in [
            "UPDATE stock_events SET quantity = quantity + 100",
            "DELETE FROM stock_events",
            "INSERT OR REPLACE INTO stock_events
                 (id, store_id, device_id, occurred_at_ms, actor, kind, variant_id, location_id, quantity)
             SELECT id, store_id, device_id, occurred_at_ms, actor, 'adjusted', variant_id, location_id, -99
             FROM stock_events ORDER BY seq LIMIT 1",
        ] {
            let err = store.conn.execute(sql, []).unwrap_err();
            assert!(err.to_string().contains("append-only"), "{sql}: {err}");
        }

        // The table's CHECKs hold for any writer, not only through record_event.
        let err = store
            .conn
            .execute(
                "INSERT INTO stock_events
                     (id, store_id, device_id, occurred_at_ms, actor, kind, variant_id, location_id, quantity)
                 VALUES ('x', 's', 'd', 0, 'a', 'transferred', 1, 1, 3)",
                [],
            )
            .unwrap_err();
        assert!(err.to_string().contains("CHECK"), "{err}");

        assert_eq!(store.catalog_summary().unwrap(), before);
        let still_first: String = store
            .conn
            .query_row(
                "SELECT id FROM stock_events ORDER BY seq LIMIT 1",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(still_first, first_id);
    }

    #[test]
    fn rebuilding_from_the_ledger_matches_the_incremental_projection() {
        let (_dir, path, mut store) = seeded_file();
        let hoodie = "VT-HOOD-DRIFT-L-EMB";
        let oats = "GR-OATS-1KG";
        let mixed = [
            event(EventKind::Sold, TEE, TEE_SHELF, 2),
            event(EventKind::Returned, TEE, TEE_SHELF, 1),
            transfer(TEE, BACKROOM, TEE_SHELF, 4),
            event(EventKind::Adjusted, TEE, BACKROOM, -3),
            event(EventKind::Counted, TEE, TEE_SHELF, 8),
            event(EventKind::Sold, hoodie, "A1/B2/S1", 7), // oversold: book stock goes negative
            event(EventKind::Adjusted, hoodie, "A1/B2/S1", 2),
            transfer(oats, BACKROOM, "A5/B2/S1", 6), // to a shelf it never sat on
            event(EventKind::Received, oats, BACKROOM, 12),
            event(EventKind::Sold, oats, "A5/B2/S1", 6), // back to exactly zero
        ];
        for e in &mixed {
            assert_eq!(store.record_event(e).unwrap(), EventOutcome::Inserted);
        }
        store.record_event(&mixed[0]).unwrap(); // a replayed duplicate changes nothing
        assert_eq!(store.stock_level(hoodie, "A1/B2/S1").unwrap(), -1);
        assert_eq!(store.stock_level(oats, "A5/B2/S1").unwrap(), 0);
        let incremental = projection(&store);
        drop(store);

        let mut store = Store::open(&path).unwrap();
        let report = store.rebuild_stock_from_ledger().unwrap();

        assert_eq!(report.corrected, 0);
        assert_eq!(report.rows, incremental.len());
        assert_eq!(projection(&store), incremental);
        assert_eq!(store.stock_level(TEE, TEE_SHELF).unwrap(), 6 - 2 + 1 + 4);
        assert_eq!(store.stock_level(TEE, BACKROOM).unwrap(), 12 - 4 - 3);
    }

    #[test]
    fn rebuilding_repairs_a_tampered_projection() {
        let (_dir, _path, mut store) = seeded_file();
        let sound = projection(&store);
        store
            .conn
            .execute_batch(
                "UPDATE stock_levels SET on_hand = on_hand + 5 WHERE variant_id = 1;
                 DELETE FROM stock_levels WHERE variant_id = 2;
                 INSERT INTO stock_levels VALUES (3, 5, 99);",
            )
            .unwrap();
        assert_ne!(projection(&store), sound);

        let report = store.rebuild_stock_from_ledger().unwrap();

        // Variants 1 and 2 each have a shelf and a backroom row; plus the stray row.
        assert_eq!(report.corrected, 2 + 2 + 1);
        assert_eq!(projection(&store), sound);
        assert_eq!(store.rebuild_stock_from_ledger().unwrap().corrected, 0);
    }

    #[test]
    fn a_file_from_a_newer_version_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("future.db");
        {
            // WAL like every file Vitrine writes, so refusing it must not leave -wal/-shm behind.
            let conn = Connection::open(&path).unwrap();
            conn.pragma_update(None, "journal_mode", "wal").unwrap();
            conn.execute_batch(
                "CREATE TABLE from_the_future (x INTEGER); INSERT INTO from_the_future VALUES (1);",
            )
            .unwrap();
            conn.pragma_update(None, "user_version", SCHEMA_VERSION + 41)
                .unwrap();
        }
        let bytes = fs::read(&path).unwrap();

        let err = Store::open(&path).unwrap_err();

        let message = err.to_string();
        assert!(
            matches!(err, StoreError::TooNew { found, supported, .. }
                if found == SCHEMA_VERSION + 41 && supported == SCHEMA_VERSION),
            "{message}"
        );
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(
            message.contains(&format!("schema version {}", SCHEMA_VERSION + 41)),
            "{message}"
        );
        assert!(
            message.contains(&format!("up to version {SCHEMA_VERSION}")),
            "{message}"
        );
        assert_eq!(fs::read(&path).unwrap(), bytes);
        assert_eq!(only_file_in(dir.path()), ["future.db"]);
    }

    #[test]
    fn a_file_that_is_not_sqlite_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("noise.db");
        fs::write(&path, noise(8192)).unwrap();

        let err = Store::open(&path).unwrap_err();

        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
        assert_eq!(fs::read(&path).unwrap(), noise(8192));
        assert_eq!(only_file_in(dir.path()), ["noise.db"]);
    }

    #[test]
    fn a_truncated_database_is_refused_untouched() {
        let (dir, path, store) = seeded_file();
        drop(store); // checkpoints the WAL back into the main file
        let full = fs::read(&path).unwrap();
        assert_eq!(only_file_in(dir.path()), ["vitrine.db"]);

        for keep in [full.len() / 2, 4096 + 100, 60] {
            fs::write(&path, &full[..keep]).unwrap();

            let err = Store::open(&path).unwrap_err();

            assert!(
                matches!(err, StoreError::Corrupt { .. }),
                "kept {keep} bytes: {err}"
            );
            assert!(err.to_string().contains("vitrine.db"), "{err}");
            assert_eq!(fs::read(&path).unwrap(), &full[..keep], "kept {keep} bytes");
            assert_eq!(only_file_in(dir.path()), ["vitrine.db"]);
        }
    }
}

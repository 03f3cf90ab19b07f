//! Opening the database safely, and the catalog and ledger operations on it.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::Path;
use std::time::Duration;

use rusqlite::backup::Backup;
use rusqlite::{
    params, CachedStatement, Connection, ErrorCode, OpenFlags, OptionalExtension, Transaction,
    TransactionBehavior,
};
use tracing::{debug, warn};

use crate::hlc::{Hlc, HlcClock};
use crate::migrations::{check_version, migrate, user_version, MIGRATIONS, SCHEMA_VERSION};
use crate::model::{
    CatalogSummary, EventKind, EventOrigin, EventOutcome, Location, NewEvent, NodeIdentity,
    Product, RebuildReport, RecordedEvent, Variant, VariantStock,
};
use crate::backup::{backup_database, default_backup_dir, new_backup_path, run_steps, sibling};
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
    pub(crate) conn: Connection,
    /// This device's clock; re-synchronised from the `node` row at the start of every write
    /// transaction, so another process writing the same file can't make it go backwards.
    pub(crate) clock: HlcClock,
    pub(crate) identity: NodeIdentity,
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
        Self::open_with(path, MIGRATIONS)
    }

    pub(crate) fn open_with(path: &Path, migrations: &[&str]) -> Result<Self> {
        let found = if path.exists() { Some(preflight(path)?) } else { None };
        let supported = migrations.len() as i64;
        // An upgrade of a file that holds data starts from a copy, so a step that fails (or a
        // schema that turns out wrong) never costs the store its ledger.
        let pre_migration = match found {
            Some(version) if version > 0 && version < supported => {
                let target = new_backup_path(
                    &default_backup_dir(path),
                    &format!("pre-migration-v{version}-to-v{supported}"),
                );
                Some(backup_database(path, &target, &mut |_, _| {})?.path)
            }
            _ => None,
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| open_error(path, e))?;
        let store = Self::init(conn, path, migrations, pre_migration.as_deref())?;
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
        Self::init(conn, path, MIGRATIONS, None)
    }

    fn init(
        mut conn: Connection,
        path: &Path,
        migrations: &[&str],
        pre_migration: Option<&Path>,
    ) -> Result<Self> {
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| open_error(path, e))?;
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(|e| open_error(path, e))?;
        match (migrate(&mut conn, path, migrations), pre_migration) {
            (Err(StoreError::Migration { version, source, .. }), Some(backup)) => {
                put_back(&mut conn, path, backup)?;
                return Err(StoreError::MigrationRestored {
                    path: path.to_path_buf(),
                    version,
                    backup: backup.to_path_buf(),
                    source,
                });
            }
            (result, _) => result?,
        }
        // The feed and ledger paths keep a few dozen statements hot.
        conn.set_prepared_statement_cache_capacity(64);
        let identity = conn.query_row(
            "SELECT store_id, device_id FROM node WHERE id = 1",
            [],
            |row| {
                Ok(NodeIdentity {
                    store_id: row.get(0)?,
                    device_id: row.get(1)?,
                })
            },
        )?;
        let mut clock = HlcClock::new(identity.device_id.clone());
        sync_clock(&conn, &mut clock)?;
        Ok(Store {
            conn,
            clock,
            identity,
        })
    }

    /// Who this device is: its store and its own id (also its clock's node id).
    pub fn identity(&self) -> &NodeIdentity {
        &self.identity
    }

    /// Assigns this device to a store; events recorded from now on carry the new id.
    pub fn set_store_id(&mut self, store_id: &str) -> Result<()> {
        if store_id.trim().is_empty() {
            return Err(StoreError::InvalidEvent {
                id: String::new(),
                reason: "store id must not be empty".into(),
            });
        }
        self.conn
            .execute("UPDATE node SET store_id = ?1 WHERE id = 1", [store_id])?;
        self.identity.store_id = store_id.to_owned();
        Ok(())
    }

    /// The origin of events made on this device by `actor`.
    pub fn origin(&self, actor: &str) -> EventOrigin {
        EventOrigin {
            store_id: self.identity.store_id.clone(),
            device_id: self.identity.device_id.clone(),
            actor: actor.to_owned(),
        }
    }

    /// The greatest HLC timestamp this device has issued or observed (persisted in the file).
    pub fn last_hlc(&self) -> Hlc {
        self.clock.last()
    }

    /// The schema version recorded in the file (equals [`SCHEMA_VERSION`] once open).
    pub fn schema_version(&self) -> Result<i64> {
        Ok(user_version(&self.conn)?)
    }

    /// Products ordered by code, each with its variants in catalog order.
    pub fn products(&self) -> Result<Vec<Product>> {
        let mut stmt = self.conn.prepare(
            "SELECT p.code, p.name, p.category,
                    v.sku, v.size, v.colour, v.barcode, v.price_cents, v.cost_cents, h.code
             FROM products p
             LEFT JOIN variants v ON v.product_id = p.id
             LEFT JOIN locations h ON h.id = v.home_location_id
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
                    home_location: row.get(9)?,
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

    /// Adds a location; returns `false` (changing nothing) if its code exists already.
    pub fn add_location(&mut self, location: &Location) -> Result<bool> {
        let added = self.conn.execute(
            "INSERT INTO locations (code, kind, name) VALUES (?1, ?2, ?3)
             ON CONFLICT (code) DO NOTHING",
            params![location.code, location.kind.as_str(), location.name],
        )?;
        Ok(added == 1)
    }

    /// Adds a product with its variants in one transaction. A product code or SKU that
    /// exists already, or a home location that doesn't, fails the whole product.
    pub fn add_product(&mut self, product: &Product) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        insert_product(&tx, product)?;
        tx.commit()?;
        Ok(())
    }

    /// Appends `event`, made on this device, to the ledger: stamps it with the next HLC
    /// timestamp, moves book stock and queues it in the outbox, all in one transaction.
    /// An id (or feed source key) already in the ledger changes nothing and reports
    /// [`EventOutcome::Duplicate`].
    pub fn record_event(&mut self, event: &NewEvent) -> Result<EventOutcome> {
        event.validate()?;
        let tx = begin_write(&mut self.conn, &mut self.clock)?;
        let outcome = insert_event(&tx, event, Stamp::Local(&mut self.clock))?;
        finish_write(tx, &self.clock)?;
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

    /// Several local events in one transaction: all are recorded (or found to be
    /// duplicates), or, if any is invalid or names an unknown code, none is.
    pub fn record_events(&mut self, events: &[NewEvent]) -> Result<Vec<EventOutcome>> {
        for event in events {
            event.validate()?;
        }
        let tx = begin_write(&mut self.conn, &mut self.clock)?;
        let outcomes = events
            .iter()
            .map(|event| insert_event(&tx, event, Stamp::Local(&mut self.clock)))
            .collect::<Result<Vec<_>>>()?;
        finish_write(tx, &self.clock)?;
        Ok(outcomes)
    }

    /// Records an event another device made (from HQ sync), keeping its own id, origin and
    /// HLC timestamp. The local clock merges `hlc` so later local events sort after it; a
    /// timestamp too far ahead of this device's clock is refused ([`crate::HlcError`]).
    /// Remote events don't enter the outbox: they are not this device's to send.
    pub fn record_remote_event(&mut self, event: &NewEvent, hlc: &Hlc) -> Result<EventOutcome> {
        event.validate()?;
        let tx = begin_write(&mut self.conn, &mut self.clock)?;
        self.clock.receive(hlc)?;
        let outcome = insert_event(&tx, event, Stamp::Remote(hlc))?;
        finish_write(tx, &self.clock)?;
        Ok(outcome)
    }

    /// Up to `limit` events recorded on this device that HQ has not acknowledged, oldest
    /// first.
    pub fn pending_outbox(&self, limit: usize) -> Result<Vec<RecordedEvent>> {
        self.pending_outbox_after(0, limit)
    }

    /// Like [`Store::pending_outbox`], from the first pending event with a `seq` above
    /// `after_seq`: the sync client reads the next batch while HQ takes the current one.
    pub fn pending_outbox_after(&self, after_seq: i64, limit: usize) -> Result<Vec<RecordedEvent>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT e.seq, e.hlc, e.id, e.store_id, e.device_id, e.occurred_at_ms, e.actor,
                    e.kind, v.sku, l.code, t.code, e.quantity, e.reference, e.note, e.source_key
             FROM outbox o
             JOIN stock_events e ON e.seq = o.seq
             JOIN variants v ON v.id = e.variant_id
             JOIN locations l ON l.id = e.location_id
             LEFT JOIN locations t ON t.id = e.to_location_id
             WHERE o.seq > ?2
             ORDER BY o.seq
             LIMIT ?1",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut rows = stmt.query([limit, after_seq])?;
        let mut events = Vec::new();
        while let Some(row) = rows.next()? {
            let hlc: String = row.get(1)?;
            let kind: String = row.get(7)?;
            events.push(RecordedEvent {
                seq: row.get(0)?,
                hlc: hlc.parse()?,
                event: NewEvent {
                    id: row.get(2)?,
                    store_id: row.get(3)?,
                    device_id: row.get(4)?,
                    occurred_at_ms: row.get(5)?,
                    actor: row.get(6)?,
                    kind: kind.parse()?,
                    variant_sku: row.get(8)?,
                    location_code: row.get(9)?,
                    to_location_code: row.get(10)?,
                    quantity: row.get(11)?,
                    reference: row.get(12)?,
                    note: row.get(13)?,
                    source_key: row.get(14)?,
                },
            });
        }
        Ok(events)
    }

    /// How many events wait in the outbox.
    pub fn outbox_len(&self) -> Result<u64> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM outbox", [], |row| row.get(0))?)
    }

    /// Marks events as acknowledged by HQ: they leave the outbox (and stay in the ledger).
    /// Ids that are unknown or already acknowledged are ignored, so a repeated ack is
    /// harmless. Returns how many left the outbox.
    pub fn ack<I, S>(&mut self, ids: I) -> Result<usize>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut acked = 0;
        {
            let mut delete = tx.prepare_cached(
                "DELETE FROM outbox WHERE seq = (SELECT seq FROM stock_events WHERE id = ?1)",
            )?;
            for id in ids {
                acked += delete.execute([id.as_ref()])?;
            }
        }
        tx.commit()?;
        debug!(acked, "acknowledged outbox events");
        Ok(acked)
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

    /// Book stock of one variant summed over all locations.
    pub fn stock_level_total(&self, variant_sku: &str) -> Result<i64> {
        let variant = variant_id(&self.conn, variant_sku)?;
        Ok(self
            .conn
            .prepare_cached(
                "SELECT COALESCE(SUM(on_hand), 0) FROM stock_levels WHERE variant_id = ?1",
            )?
            .query_row([variant], |row| row.get(0))?)
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

    /// Book stock held off the sales floor (backroom locations), by SKU; SKUs with none are
    /// left out.
    pub fn backroom_stock_by_variant(&self) -> Result<std::collections::HashMap<String, i64>> {
        let mut stmt = self.conn.prepare(
            "SELECT v.sku, SUM(s.on_hand) FROM stock_levels s
             JOIN variants v ON v.id = s.variant_id
             JOIN locations l ON l.id = s.location_id
             WHERE l.kind = 'backroom'
             GROUP BY v.id HAVING SUM(s.on_hand) > 0",
        )?;
        let rows = stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?.collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Sales since `since_ms` as receipts: the product codes of the sold events sharing a
    /// store and a reference (the sales feed's `sale_id`); a sale without a reference is a
    /// receipt of its own. Receipts in the order of their first sale.
    pub fn sale_baskets(&self, since_ms: i64) -> Result<Vec<Vec<String>>> {
        let mut stmt = self.conn.prepare(
            "SELECT e.store_id, e.reference, p.code
             FROM stock_events e
             JOIN variants v ON v.id = e.variant_id
             JOIN products p ON p.id = v.product_id
             WHERE e.kind = 'sold' AND e.occurred_at_ms >= ?1
             ORDER BY e.occurred_at_ms, e.seq",
        )?;
        let mut rows = stmt.query([since_ms])?;
        let mut baskets: Vec<Vec<String>> = Vec::new();
        let mut receipt_at: HashMap<(String, String), usize> = HashMap::new();
        while let Some(row) = rows.next()? {
            let (store, reference, code): (String, Option<String>, String) = (row.get(0)?, row.get(1)?, row.get(2)?);
            let at = match reference {
                Some(reference) => *receipt_at.entry((store, reference)).or_insert_with(|| {
                    baskets.push(Vec::new());
                    baskets.len() - 1
                }),
                None => {
                    baskets.push(Vec::new());
                    baskets.len() - 1
                }
            };
            if !baskets[at].contains(&code) {
                baskets[at].push(code);
            }
        }
        Ok(baskets)
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
        let daily_corrected = crate::reporting::rebuild_daily_movements(&tx)?;
        tx.commit()?;
        let report = RebuildReport {
            rows: after.len(),
            corrected: corrected + daily_corrected,
        };
        if report.corrected > 0 {
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

/// Raises the in-memory clock to the last timestamp persisted by any process on this file.
fn sync_clock(conn: &Connection, clock: &mut HlcClock) -> Result<()> {
    let last: Option<String> = conn
        .prepare_cached("SELECT last_hlc FROM node WHERE id = 1")?
        .query_row([], |row| row.get(0))?;
    if let Some(last) = last {
        clock.observe(&last.parse::<Hlc>()?);
    }
    Ok(())
}

/// Starts a write transaction that will stamp local events: takes the write lock first, then
/// catches the clock up with what other writers persisted.
pub(crate) fn begin_write<'c>(
    conn: &'c mut Connection,
    clock: &mut HlcClock,
) -> Result<Transaction<'c>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    sync_clock(&tx, clock)?;
    Ok(tx)
}

/// Persists the clock's last timestamp with the events it stamped, and commits.
pub(crate) fn finish_write(tx: Transaction<'_>, clock: &HlcClock) -> Result<()> {
    tx.prepare_cached("UPDATE node SET last_hlc = ?1 WHERE id = 1")?
        .execute([clock.last().to_string()])?;
    tx.commit()?;
    Ok(())
}

pub(crate) fn insert_product(conn: &Connection, product: &Product) -> Result<()> {
    conn.execute(
        "INSERT INTO products (code, name, category) VALUES (?1, ?2, ?3)",
        params![product.code, product.name, product.category],
    )?;
    let product_id = conn.last_insert_rowid();
    let mut insert = conn.prepare_cached(
        "INSERT INTO variants (product_id, sku, size, colour, barcode, price_cents, cost_cents,
                               home_location_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for variant in &product.variants {
        let home = variant
            .home_location
            .as_deref()
            .map(|code| location_id(conn, code))
            .transpose()?;
        insert.execute(params![
            product_id,
            variant.sku,
            variant.size,
            variant.colour,
            variant.barcode,
            variant.price_cents,
            variant.cost_cents,
            home,
        ])?;
    }
    Ok(())
}

/// Read-only look at an existing file before anything may write to it.
fn preflight(path: &Path) -> Result<i64> {
    let sidecar = |suffix: &str| sibling(path, suffix);
    // A power cut in the middle of a write in rollback-journal mode (a schema upgrade runs
    // before WAL is switched on) leaves a hot journal. Rolling it back is SQLite's own
    // recovery and needs a writable handle; a read-only look would fail on it instead.
    if sidecar("-journal").is_file() {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if let Ok(conn) = Connection::open_with_flags(path, flags) {
            match user_version(&conn) {
                Ok(_) => warn!(path = %path.display(), "rolled back a write interrupted by a crash or power cut"),
                Err(e) => warn!(path = %path.display(), error = %e, "could not roll back an interrupted write"),
            }
        }
    }
    let sidecars = ["-wal", "-shm"].map(sidecar);
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

/// Copies the pre-migration backup back over a file whose migration failed half-way.
fn put_back(conn: &mut Connection, path: &Path, backup: &Path) -> Result<()> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let source = Connection::open_with_flags(backup, flags).map_err(|e| open_error(backup, e))?;
    Backup::new(&source, conn)
        .map_err(|e| e.to_string())
        .and_then(|copy| {
            run_steps(&copy, path, &mut |_, _| {}, -1)
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
        .map_err(|e| StoreError::Backup {
            path: path.to_path_buf(),
            reason: format!(
                "the migration failed and putting back {} failed too ({e}); copy that file \
                 over the database by hand",
                backup.display()
            ),
        })?;
    warn!(path = %path.display(), backup = %backup.display(), "migration failed; restored the pre-migration backup");
    Ok(())
}

fn inspect_read_only(path: &Path) -> Result<i64> {
    open_checked_read_only(path).map(|(_, version)| version)
}

/// A read-only handle on `path` and its schema version, once the file has passed
/// `quick_check` and is not from a newer Vitrine.
pub(crate) fn open_checked_read_only(path: &Path) -> Result<(Connection, i64)> {
    let (conn, version) = open_read_only(path)?;
    // quick_check reads every page, catching truncation that the header alone doesn't show.
    let problems = check_pages(&conn, path, "PRAGMA quick_check")?;
    if !problems.is_empty() {
        return Err(StoreError::Corrupt {
            path: path.to_path_buf(),
            detail: problems.into_iter().take(3).collect::<Vec<_>>().join("; "),
        });
    }
    Ok((conn, version))
}

/// A read-only handle on `path` and its schema version, refused when the file is not SQLite
/// or comes from a newer Vitrine; its pages are not checked yet.
pub(crate) fn open_read_only(path: &Path) -> Result<(Connection, i64)> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| open_error(path, e))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| open_error(path, e))?;
    let version = user_version(&conn).map_err(|e| open_error(path, e))?;
    check_version(path, version, SCHEMA_VERSION)?;
    Ok((conn, version))
}

/// What `pragma` (`quick_check` or `integrity_check`) finds wrong; empty when nothing.
pub(crate) fn check_pages(conn: &Connection, path: &Path, pragma: &str) -> Result<Vec<String>> {
    let lines = conn
        .prepare(pragma)
        .and_then(|mut stmt| {
            stmt.query_map([], |row| row.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(|e| open_error(path, e))?;
    Ok(lines.into_iter().filter(|line| line != "ok").collect())
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

/// How an event gets its HLC timestamp, and whether it enters the outbox.
pub(crate) enum Stamp<'a> {
    /// Made here: the next tick of this device's clock; queued for HQ.
    Local(&'a mut HlcClock),
    /// Made on another device (HQ sync): keeps its own timestamp; not queued.
    Remote(&'a Hlc),
    /// A fixed timestamp for an event that is still queued for HQ (the demo seed).
    Fixed(&'a Hlc),
}

/// Inserts one validated event and applies it to book stock; the caller owns the transaction.
pub(crate) fn insert_event(
    conn: &Connection,
    event: &NewEvent,
    stamp: Stamp<'_>,
) -> Result<EventOutcome> {
    let exists: bool = conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM stock_events WHERE id = ?1)
                 OR EXISTS (SELECT 1 FROM stock_events WHERE source_key = ?2)",
        )?
        .query_row(params![event.id, event.source_key], |row| row.get(0))?;
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
    let (hlc, queue) = match stamp {
        Stamp::Local(clock) => (clock.now().to_string(), true),
        Stamp::Remote(hlc) => (hlc.to_string(), false),
        Stamp::Fixed(hlc) => (hlc.to_string(), true),
    };
    insert_row(
        conn,
        &EventRow {
            id: &event.id,
            hlc: &hlc,
            store_id: &event.store_id,
            device_id: &event.device_id,
            occurred_at_ms: event.occurred_at_ms,
            actor: &event.actor,
            kind: event.kind,
            variant,
            location,
            to_location,
            quantity: event.quantity,
            reference: event.reference.as_deref(),
            note: event.note.as_deref(),
            source_key: event.source_key.as_deref(),
        },
        queue,
    )?;
    Ok(EventOutcome::Inserted)
}

/// A validated event with its codes resolved to row ids, ready to insert.
pub(crate) struct EventRow<'a> {
    pub id: &'a str,
    pub hlc: &'a str,
    pub store_id: &'a str,
    pub device_id: &'a str,
    pub occurred_at_ms: i64,
    pub actor: &'a str,
    pub kind: EventKind,
    pub variant: i64,
    pub location: i64,
    pub to_location: Option<i64>,
    pub quantity: i64,
    pub reference: Option<&'a str>,
    pub note: Option<&'a str>,
    pub source_key: Option<&'a str>,
}

/// Appends a row known not to be a duplicate, moves book stock and, if `queue`, puts it in
/// the outbox. The caller owns the transaction.
pub(crate) fn insert_row(conn: &Connection, row: &EventRow<'_>, queue: bool) -> Result<()> {
    let mut writer = LedgerWriter::new(conn, queue)?;
    writer.insert(row)?;
    writer.finish()
}

/// Appends many rows inside one transaction: one prepared INSERT for all of them, the
/// outbox filled with one statement, and book-stock changes summed per variant/location and
/// applied by [`LedgerWriter::finish`], all in the caller's transaction. Between the first
/// insert and `finish`, `stock_levels` lags the ledger: the caller must not read it through
/// this connection in between.
pub(crate) struct LedgerWriter<'c> {
    conn: &'c Connection,
    queue: bool,
    /// Every row this writer inserts gets a seq above this (the transaction holds the lock).
    seq_before: i64,
    insert: CachedStatement<'c>,
    insert_or_ignore: CachedStatement<'c>,
    deltas: HashMap<(i64, i64), i64>,
    daily: crate::reporting::DailyTotals,
}

const INSERT_EVENT_COLUMNS: &str = "INTO stock_events
     (id, hlc, store_id, device_id, occurred_at_ms, actor, kind, variant_id, location_id,
      to_location_id, quantity, reference, note, source_key)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)";

impl<'c> LedgerWriter<'c> {
    /// A writer whose rows enter the outbox if `queue`.
    pub(crate) fn new(conn: &'c Connection, queue: bool) -> Result<Self> {
        let seq_before = conn
            .prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM stock_events")?
            .query_row([], |row| row.get(0))?;
        // OR FAIL (or IGNORE) rather than the default ABORT: a single-row INSERT that can
        // only fail as a whole then needs no statement journal. Every caller's transaction
        // is rolled back whole on any error anyway.
        Ok(LedgerWriter {
            conn,
            queue,
            seq_before,
            insert: conn.prepare_cached(&format!("INSERT OR FAIL {INSERT_EVENT_COLUMNS}"))?,
            insert_or_ignore: conn
                .prepare_cached(&format!("INSERT OR IGNORE {INSERT_EVENT_COLUMNS}"))?,
            deltas: HashMap::new(),
            daily: crate::reporting::DailyTotals::default(),
        })
    }

    /// Appends one row (not a duplicate: checked by the caller, enforced by the schema).
    pub(crate) fn insert(&mut self, row: &EventRow<'_>) -> Result<()> {
        self.append(row, false)?;
        Ok(())
    }

    /// Appends one row unless it clashes with one in the ledger (same id or source key) or
    /// breaks a constraint; says whether it was appended. Saves a look-up per row when
    /// duplicates are rare: the caller looks for the clashing row only when this is false.
    pub(crate) fn try_insert(&mut self, row: &EventRow<'_>) -> Result<bool> {
        self.append(row, true)
    }

    fn append(&mut self, row: &EventRow<'_>, or_ignore: bool) -> Result<bool> {
        let statement = if or_ignore {
            &mut self.insert_or_ignore
        } else {
            &mut self.insert
        };
        let appended = statement.execute(params![
            row.id,
            row.hlc,
            row.store_id,
            row.device_id,
            row.occurred_at_ms,
            row.actor,
            row.kind.as_str(),
            row.variant,
            row.location,
            row.to_location,
            row.quantity,
            row.reference,
            row.note,
            row.source_key,
        ])? == 1;
        if !appended {
            return Ok(false);
        }
        let delta = row.kind.book_delta(row.quantity);
        if delta != 0 {
            *self.deltas.entry((row.variant, row.location)).or_default() += delta;
        }
        if let Some(to) = row.to_location {
            *self.deltas.entry((row.variant, to)).or_default() += row.quantity;
        }
        self.daily.add(row);
        Ok(true)
    }

    /// Queues this writer's rows in the outbox and applies the summed book-stock changes.
    /// Rows that net to zero are still written, so the projection has the same rows as a
    /// rebuild from the ledger.
    pub(crate) fn finish(mut self) -> Result<()> {
        if self.queue {
            self.conn
                .prepare_cached(
                    "INSERT INTO outbox (seq) SELECT seq FROM stock_events WHERE seq > ?1",
                )?
                .execute([self.seq_before])?;
        }
        let mut stock = self.conn.prepare_cached(
            "INSERT INTO stock_levels (variant_id, location_id, on_hand) VALUES (?1, ?2, ?3)
             ON CONFLICT (variant_id, location_id)
             DO UPDATE SET on_hand = on_hand + excluded.on_hand",
        )?;
        for ((variant, location), delta) in self.deltas.drain() {
            stock.execute([variant, location, delta])?;
        }
        self.daily.flush(self.conn)
    }
}

const REPLACE_GUARD: &str = "stock_events_no_replace";

/// For bulk writes inside a write transaction: drops the trigger that refuses
/// `INSERT OR REPLACE` into the ledger and returns its SQL for [`restore_replace_guard`].
///
/// A row trigger makes SQLite open a statement journal for every INSERT (or stage a
/// multi-row one in a temporary table) and probe three more indexes per row: a third of the
/// cost of a bulk import. The writer that suspends it never replaces: it inserts plainly,
/// after its own duplicate check, and the UNIQUE constraints still refuse any clash. DDL is
/// transactional, so no other connection ever sees the ledger without its guard, and a
/// batch that fails rolls back with the trigger in place.
pub(crate) fn suspend_replace_guard(tx: &Transaction<'_>) -> Result<Option<String>> {
    let sql: Option<String> = tx
        .prepare_cached("SELECT sql FROM sqlite_schema WHERE type = 'trigger' AND name = ?1")?
        .query_row([REPLACE_GUARD], |row| row.get(0))
        .optional()?;
    if sql.is_some() {
        tx.execute_batch(&format!("DROP TRIGGER {REPLACE_GUARD}"))?;
    }
    Ok(sql)
}

/// Recreates the trigger [`suspend_replace_guard`] dropped, before the transaction commits.
pub(crate) fn restore_replace_guard(tx: &Transaction<'_>, sql: Option<String>) -> Result<()> {
    if let Some(sql) = sql {
        tx.execute_batch(&sql)?;
    }
    Ok(())
}

pub(crate) fn variant_id(conn: &Connection, sku: &str) -> Result<i64> {
    conn.prepare_cached("SELECT id FROM variants WHERE sku = ?1")?
        .query_row([sku], |row| row.get(0))
        .optional()?
        .ok_or_else(|| StoreError::UnknownVariant(sku.to_owned()))
}

pub(crate) fn location_id(conn: &Connection, code: &str) -> Result<i64> {
    conn.prepare_cached("SELECT id FROM locations WHERE code = ?1")?
        .query_row([code], |row| row.get(0))
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
    use std::path::PathBuf;

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
                     (id, hlc, store_id, device_id, occurred_at_ms, actor, kind, variant_id, location_id, quantity)
                 VALUES ('x', '000000000000000-00000-d', 's', 'd', 0, 'a', 'transferred', 1, 1, 3)",
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

    /// A file as Vitrine v1 wrote it: schema 1, a small catalog and ledger, by raw SQL.
    fn v1_file(dir: &Path) -> PathBuf {
        let path = dir.join("v1.db");
        let mut conn = Connection::open(&path).unwrap();
        migrate(&mut conn, &path, &MIGRATIONS[..1]).unwrap();
        conn.execute_batch(
            "INSERT INTO locations (id, code, kind, name) VALUES
                 (1, 'A1/B1/S1', 'shelf', 'tees'), (2, 'A2/B1/S1', 'shelf', 'spare'),
                 (3, 'BACKROOM', 'backroom', 'Backroom');
             INSERT INTO products (id, code, name, category) VALUES (1, 'TEE', 'Tee', 'apparel');
             INSERT INTO variants (id, product_id, sku, price_cents, cost_cents) VALUES
                 (1, 1, 'TEE-M', 1900, 600), (2, 1, 'TEE-L', 1900, 600), (3, 1, 'TEE-XL', 1900, 600);
             INSERT INTO stock_events
                 (id, store_id, device_id, occurred_at_ms, actor, kind, variant_id, location_id,
                  to_location_id, quantity)
             VALUES
                 ('e1', 's', 'kiosk-a', 1000, 'sam', 'received', 1, 1, NULL, 5),
                 ('e2', 's', 'kiosk-a', 1000, 'sam', 'received', 1, 3, NULL, 9),
                 ('e3', 's', 'kiosk-b', 1000, 'ann', 'sold', 1, 1, NULL, 1),
                 ('e4', 's', 'kiosk-a', 2000, 'sam', 'transferred', 1, 3, 2, 2),
                 ('e5', 's', 'kiosk-a', 1000, 'sam', 'received', 2, 3, NULL, 4);
             INSERT INTO stock_levels (variant_id, location_id, on_hand) VALUES
                 (1, 1, 4), (1, 3, 7), (1, 2, 2), (2, 3, 4);",
        )
        .unwrap();
        assert_eq!(user_version(&conn).unwrap(), 1);
        path
    }

    fn hlcs(store: &Store) -> Vec<(String, String)> {
        let mut stmt = store
            .conn
            .prepare("SELECT id, hlc FROM stock_events ORDER BY seq")
            .unwrap();
        stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    #[test]
    fn an_upgrade_starts_from_a_backup_and_a_failed_step_puts_the_file_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = v1_file(dir.path());
        let before = fs::read(&path).unwrap();
        let mut broken = MIGRATIONS.to_vec();
        broken[3] = "CREATE TABLE half_done (x INTEGER); INSERT INTO nowhere VALUES (1);";

        let err = Store::open_with(&path, &broken).unwrap_err();

        let StoreError::MigrationRestored { version, backup, .. } = &err else {
            panic!("{err}");
        };
        assert_eq!(*version, 4);
        assert!(err.to_string().contains("put back"), "{err}");
        assert_eq!(backup.parent().unwrap(), dir.path().join("backups"));
        assert!(backup.file_name().unwrap().to_string_lossy().starts_with("pre-migration-v1-to-v"));
        // The file is at version 1 again with its ledger, not at version 3 half-way.
        let conn = Connection::open(&path).unwrap();
        assert_eq!(user_version(&conn).unwrap(), 1);
        let events: i64 = conn
            .query_row("SELECT COUNT(*) FROM stock_events", [], |row| row.get(0))
            .unwrap();
        assert_eq!(events, 5);
        let hlc_column: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM pragma_table_info('stock_events') WHERE name = 'hlc'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(hlc_column, 0, "step 2's column must be gone with the restore");
        drop(conn);
        assert_eq!(fs::read(backup).unwrap().len(), before.len());

        // With the right steps the same file upgrades, from a second backup.
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(store.catalog_summary().unwrap().events, 5);
        assert_eq!(crate::list_backups(&dir.path().join("backups")).len(), 2);
    }

    #[test]
    fn a_backup_taken_while_another_writer_runs_is_whole_and_restores() {
        let (dir, path, mut store) = seeded_file();
        let origin = store.origin("sam");
        for _ in 0..200 {
            store
                .record_event(&NewEvent::now(&origin, EventKind::Received, TEE, BACKROOM, 1))
                .unwrap();
        }
        let before = store.catalog_summary().unwrap().events;
        let writer_path = path.clone();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer_stop = stop.clone();
        let writer = std::thread::spawn(move || {
            let mut store = Store::open(&writer_path).unwrap();
            let origin = store.origin("ann");
            let mut written = 0;
            while !writer_stop.load(std::sync::atomic::Ordering::Relaxed) {
                store
                    .record_event(&NewEvent::now(&origin, EventKind::Sold, TEE, TEE_SHELF, 1))
                    .unwrap();
                written += 1;
            }
            written
        });
        let target = dir.path().join("saved").join("copy.db");
        let mut steps = Vec::new();

        let report =
            crate::backup_database(&path, &target, &mut |done, total| steps.push((done, total)))
                .unwrap();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let written = writer.join().unwrap();

        assert!(written > 0, "the writer never ran");
        assert_eq!(report.schema_version, SCHEMA_VERSION);
        assert!(report.bytes > 0 && report.pages > 0);
        let (done, total) = *steps.last().unwrap();
        assert_eq!(done, total, "the last progress report says all pages");
        let mut copy = Store::open(&target).unwrap();
        let saved = copy.catalog_summary().unwrap().events;
        assert!(saved >= before, "{saved} < {before}");
        assert_eq!(copy.rebuild_stock_from_ledger().unwrap().corrected, 0, "a torn copy");
        drop(copy);
        // No second file of the same name, no leftovers.
        let again = crate::backup_database(&path, &target, &mut |_, _| {}).unwrap_err();
        assert!(again.to_string().contains("exists already"), "{again}");
        assert_eq!(only_file_in(&dir.path().join("saved")), ["copy.db"]);

        // Restoring brings the live file back to the copy; what it held first is kept aside.
        let now = store.catalog_summary().unwrap().events;
        assert!(now > saved);
        let (_, safety) =
            crate::restore_database(&target, &path, &dir.path().join("backups"), &mut |_, _| {})
                .unwrap();
        assert_eq!(store.catalog_summary().unwrap().events, saved, "the open handle sees it");
        let safety = Store::open(safety.unwrap()).unwrap();
        assert_eq!(safety.catalog_summary().unwrap().events, now);
    }

    #[test]
    fn a_bad_backup_is_refused_before_anything_is_touched() {
        let (dir, path, store) = seeded_file();
        let events = store.catalog_summary().unwrap().events;
        let junk = dir.path().join("junk.db");
        fs::write(&junk, b"not a database at all, just some bytes that are long enough").unwrap();

        let err = crate::restore_database(&junk, &path, &dir.path().join("backups"), &mut |_, _| {})
            .unwrap_err();

        assert!(matches!(err, StoreError::Corrupt { .. } | StoreError::Open { .. }), "{err}");
        assert!(err.to_string().contains("junk.db"), "{err}");
        assert_eq!(store.catalog_summary().unwrap().events, events);
        assert!(!dir.path().join("backups").exists(), "no safety copy for a refused restore");
        let missing = crate::restore_database(&dir.path().join("nope.db"), &path, dir.path(), &mut |_, _| {})
            .unwrap_err();
        assert!(missing.to_string().contains("no such file"), "{missing}");
    }

    #[test]
    fn a_v1_file_migrates_keeping_its_ledger_and_queueing_it_for_hq() {
        let dir = tempfile::tempdir().unwrap();
        let path = v1_file(dir.path());

        let mut store = Store::open(&path).unwrap();

        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(store.catalog_summary().unwrap().events, 5);
        // Each event got the HLC its device would have issued, counting up within a ms.
        let expected = [
            ("e1", "000000000001000-00000-kiosk-a"),
            ("e2", "000000000001000-00001-kiosk-a"),
            ("e3", "000000000001000-00000-kiosk-b"),
            ("e4", "000000000002000-00000-kiosk-a"),
            ("e5", "000000000001000-00002-kiosk-a"),
        ];
        let got = hlcs(&store);
        for ((id, hlc), (want_id, want_hlc)) in got.iter().zip(expected) {
            assert_eq!((id.as_str(), hlc.as_str()), (want_id, want_hlc));
            hlc.parse::<Hlc>().unwrap();
        }
        // Nothing was ever sent, so all of it is pending, in ledger order.
        let pending = store.pending_outbox(10).unwrap();
        let ids: Vec<&str> = pending.iter().map(|e| e.event.id.as_str()).collect();
        assert_eq!(ids, ["e1", "e2", "e3", "e4", "e5"]);
        assert_eq!(
            pending[3].event.to_location_code.as_deref(),
            Some("A2/B1/S1")
        );
        // Home locations come from where shelf stock sits; none without shelf stock.
        let homes: Vec<Option<String>> = store
            .products()
            .unwrap()
            .remove(0)
            .variants
            .into_iter()
            .map(|v| v.home_location)
            .collect();
        assert_eq!(homes, [Some("A1/B1/S1".to_owned()), None, None]);
        // The rebuilt table keeps its guards and its numbers.
        assert_eq!(store.rebuild_stock_from_ledger().unwrap().corrected, 0);
        let err = store
            .conn
            .execute("UPDATE stock_events SET quantity = 1", [])
            .unwrap_err();
        assert!(err.to_string().contains("append-only"), "{err}");
        // New events continue the ledger with this device's clock.
        let origin = store.origin("sam");
        let sale = NewEvent::now(&origin, EventKind::Sold, "TEE-M", "A1/B1/S1", 1);
        store.record_event(&sale).unwrap();
        assert_eq!(store.stock_level("TEE-M", "A1/B1/S1").unwrap(), 3);
        let (_, last) = hlcs(&store).pop().unwrap();
        assert!(last.ends_with(&store.identity().device_id), "{last}");
        drop(store);

        // Opening again applies nothing twice.
        let store = Store::open(&path).unwrap();
        assert_eq!(store.catalog_summary().unwrap().events, 6);
        assert_eq!(store.outbox_len().unwrap(), 6);
    }

    #[test]
    fn a_device_identity_is_made_once_and_kept() {
        let (_dir, path, mut store) = seeded_file();
        let identity = store.identity().clone();
        assert!(identity.device_id.starts_with("device-"), "{identity:?}");
        assert_eq!(identity.store_id, "local");
        store.set_store_id("store-7").unwrap();
        assert!(store.set_store_id(" ").is_err());
        drop(store);

        let store = Store::open(&path).unwrap();
        assert_eq!(store.identity().device_id, identity.device_id);
        assert_eq!(store.identity().store_id, "store-7");
        assert_eq!(store.origin("sam").store_id, "store-7");
        let other = Store::open(path.with_file_name("other.db")).unwrap();
        assert_ne!(other.identity().device_id, identity.device_id);
    }

    #[test]
    fn local_events_wait_in_the_outbox_until_acknowledged() {
        let (_dir, path, mut store) = seeded_file();
        let seeded = store.outbox_len().unwrap();
        assert_eq!(seeded, store.catalog_summary().unwrap().events);
        store
            .ack(
                store
                    .pending_outbox(usize::MAX)
                    .unwrap()
                    .iter()
                    .map(|e| e.event.id.clone())
                    .collect::<Vec<_>>(),
            )
            .unwrap();
        assert_eq!(store.outbox_len().unwrap(), 0);

        let mut sale = event(EventKind::Sold, TEE, TEE_SHELF, 1);
        sale.reference = Some("R-1".into());
        sale.note = Some("till 2".into());
        let moved = transfer(TEE, BACKROOM, TEE_SHELF, 2);
        let count = event(EventKind::Counted, TEE, TEE_SHELF, 7);
        let outcomes = store
            .record_events(&[sale.clone(), moved.clone(), count.clone()])
            .unwrap();
        assert_eq!(outcomes, [EventOutcome::Inserted; 3]);
        store.record_event(&sale).unwrap(); // a duplicate is not queued twice

        let pending = store.pending_outbox(2).unwrap();
        assert_eq!(pending.len(), 2);
        assert_eq!(pending[0].event, sale);
        assert_eq!(pending[1].event, moved);
        assert!(pending[0].hlc < pending[1].hlc);
        assert!(pending[0].seq < pending[1].seq);
        assert_eq!(store.pending_outbox(10).unwrap()[2].event, count);

        assert_eq!(store.ack([&sale.id, "no-such-id"]).unwrap(), 1);
        assert_eq!(
            store.ack([&sale.id]).unwrap(),
            0,
            "acking again is harmless"
        );
        drop(store);

        let mut store = Store::open(&path).unwrap();
        let left: Vec<String> = store
            .pending_outbox(10)
            .unwrap()
            .into_iter()
            .map(|e| e.event.id)
            .collect();
        assert_eq!(left, [moved.id.clone(), count.id.clone()]);
        // Acked events stay in the ledger and in book stock.
        assert_eq!(store.stock_level(TEE, TEE_SHELF).unwrap(), 6 - 1 + 2);
        assert_eq!(store.ack(&left).unwrap(), 2);
        assert_eq!(store.outbox_len().unwrap(), 0);
        assert_eq!(store.rebuild_stock_from_ledger().unwrap().corrected, 0);
    }

    #[test]
    fn a_failed_batch_records_and_queues_nothing() {
        let (_dir, _path, mut store) = seeded_file();
        let before = (
            store.catalog_summary().unwrap(),
            store.outbox_len().unwrap(),
        );
        let good = event(EventKind::Sold, TEE, TEE_SHELF, 1);
        let bad = event(EventKind::Sold, "NO-SUCH-SKU", TEE_SHELF, 1);
        assert!(store.record_events(&[good, bad]).is_err());
        assert_eq!(
            (
                store.catalog_summary().unwrap(),
                store.outbox_len().unwrap()
            ),
            before
        );
    }

    #[test]
    fn the_clock_never_goes_backwards_across_reopening() {
        let (_dir, path, mut store) = seeded_file();
        store
            .record_event(&event(EventKind::Sold, TEE, TEE_SHELF, 1))
            .unwrap();
        let first = store.last_hlc();
        drop(store);

        // Reopening continues after what was issued.
        let mut store = Store::open(&path).unwrap();
        assert_eq!(store.last_hlc(), first);
        store
            .record_event(&event(EventKind::Sold, TEE, TEE_SHELF, 1))
            .unwrap();
        assert!(store.last_hlc() > first);
        drop(store);

        // The last run's clock was two hours ahead of today's wall clock (NTP stepped it
        // back while the kiosk was off): timestamps continue from there, not from the wall.
        let ahead = Hlc::new(crate::hlc::wall_clock_ms() + 2 * 3_600_000, 40, "whoever");
        Connection::open(&path)
            .unwrap()
            .execute("UPDATE node SET last_hlc = ?1", [ahead.to_string()])
            .unwrap();
        let mut store = Store::open(&path).unwrap();
        for _ in 0..3 {
            store
                .record_event(&event(EventKind::Sold, TEE, TEE_SHELF, 1))
                .unwrap();
        }
        let stamps: Vec<Hlc> = hlcs(&store)
            .into_iter()
            .map(|(_, hlc)| hlc.parse().unwrap())
            .collect();
        let newest = &stamps[stamps.len() - 3..];
        assert_eq!(newest[0].physical_ms(), ahead.physical_ms());
        assert_eq!(
            newest.iter().map(Hlc::logical).collect::<Vec<_>>(),
            [41, 42, 43]
        );
        drop(store);
        let store = Store::open(&path).unwrap();
        assert_eq!(store.last_hlc(), newest[2]);
    }

    #[test]
    fn two_handles_on_one_file_share_one_clock() {
        let (_dir, path, mut kiosk) = seeded_file();
        let mut cli = Store::open(&path).unwrap();
        for i in 0..20 {
            let store = if i % 3 == 0 { &mut cli } else { &mut kiosk };
            store
                .record_event(&event(EventKind::Adjusted, TEE, BACKROOM, 1))
                .unwrap();
        }
        let local: Vec<Hlc> = hlcs(&kiosk)
            .into_iter()
            .map(|(_, hlc)| hlc.parse::<Hlc>().unwrap())
            .filter(|hlc| hlc.node() != "demo-seed")
            .collect();
        assert_eq!(local.len(), 20);
        assert!(local.windows(2).all(|w| w[0] < w[1]), "{local:?}");
    }

    #[test]
    fn remote_events_keep_their_timestamp_move_the_clock_and_are_not_queued() {
        let (_dir, _path, mut store) = seeded_file();
        let queued = store.outbox_len().unwrap();
        let remote_origin = EventOrigin {
            store_id: "store-7".into(),
            device_id: "kiosk-9".into(),
            actor: "ann".into(),
        };
        let sale = NewEvent::now(&remote_origin, EventKind::Sold, TEE, TEE_SHELF, 2);
        let stamp = Hlc::new(crate::hlc::wall_clock_ms() + 3 * 3_600_000, 3, "kiosk-9");

        assert_eq!(
            store.record_remote_event(&sale, &stamp).unwrap(),
            EventOutcome::Inserted
        );
        assert_eq!(
            store.record_remote_event(&sale, &stamp).unwrap(),
            EventOutcome::Duplicate
        );

        assert_eq!(store.outbox_len().unwrap(), queued);
        assert_eq!(store.stock_level(TEE, TEE_SHELF).unwrap(), 4);
        assert_eq!(hlcs(&store).pop().unwrap().1, stamp.to_string());
        store
            .record_event(&event(EventKind::Sold, TEE, TEE_SHELF, 1))
            .unwrap();
        let mine: Hlc = hlcs(&store).pop().unwrap().1.parse().unwrap();
        assert!(
            mine > stamp,
            "a later local event sorts after what we received"
        );

        let poisoned = Hlc::new(crate::hlc::wall_clock_ms() + 30 * 86_400_000, 0, "bad");
        let other = NewEvent::now(&remote_origin, EventKind::Sold, TEE, TEE_SHELF, 1);
        let err = store.record_remote_event(&other, &poisoned).unwrap_err();
        assert!(matches!(err, StoreError::Clock(_)), "{err}");
        assert!(store.last_hlc() < poisoned);
        assert_eq!(store.stock_level(TEE, TEE_SHELF).unwrap(), 3);
    }
}

//! CSV feeds from the store's other systems (the till, the warehouse) into the ledger.
//!
//! Files are streamed and written in batches, one transaction per batch. Each row becomes one
//! ledger event whose id and idempotency key are derived from the row's own identity (feed,
//! source id, line), so importing a file twice, or two overlapping exports, records every row
//! once. A bad row is reported with its line number and skipped; the good rows are kept.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::str::FromStr;

use csv::{ByteRecord, ReaderBuilder, Terminator};
use rusqlite::OptionalExtension;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tracing::{debug, info};
use uuid::Builder;

use crate::hlc::wall_clock_ms;
use crate::model::EventKind;
use crate::store::{
    begin_write, finish_write, restore_replace_guard, suspend_replace_guard, EventRow, LedgerWriter,
};
use crate::{Result, Store, StoreError};

/// Quantities beyond this are refused as implausible (and so book stock can't overflow).
const MAX_QUANTITY: i64 = 1_000_000_000;
/// Timestamps further ahead of this device's clock are refused as mistakes.
const MAX_FUTURE_MS: i64 = 24 * 60 * 60 * 1000;

/// A CSV feed the ledger accepts.
///
/// Both feeds are UTF-8 CSV files with a header line. Columns are found by name (in any
/// order, case-insensitive, surrounding spaces ignored); other columns are ignored. Values
/// may be quoted; spaces around values are trimmed.
///
/// **Sales** (`vitrine import sales FILE.csv`), one row per receipt line:
///
/// | column      | required | meaning |
/// |-------------|----------|---------|
/// | `sale_id`   | yes      | the receipt or transaction id in the till system |
/// | `line`      | yes      | the line number within that sale, a whole number ≥ 1 |
/// | `timestamp` | yes      | when it was sold, RFC 3339: `2025-03-01T14:03:22Z`, `2025-03-01 14:03:22.5+01:00` |
/// | `sku`       | yes      | the variant's SKU, as in the catalog |
/// | `quantity`  | yes      | units sold, a whole number; **negative for a return or a cancelled line** |
/// | `location`  | no       | where the stock left from, a location code (`A1/B1/S1`, `BACKROOM`) |
///
/// A positive quantity records a `sold` event, a negative one a `returned` event of that many
/// units; zero is refused.
///
/// **Deliveries** (`vitrine import deliveries FILE.csv`), one row per delivery-note line:
///
/// | column        | required | meaning |
/// |---------------|----------|---------|
/// | `delivery_id` | yes      | the delivery note or ASN id |
/// | `line`        | yes      | the line number within that delivery, a whole number ≥ 1 |
/// | `timestamp`   | yes      | when it was received, RFC 3339 as above |
/// | `sku`         | yes      | the variant's SKU |
/// | `quantity`    | yes      | units received, a whole number > 0 |
/// | `location`    | no       | where it was put, a location code |
///
/// Each row records a `received` event. A short or damaged delivery is corrected afterwards
/// with an adjustment, never by a negative delivery line.
///
/// **Both**: `(sale_id or delivery_id, line)` identifies a row. Importing a row whose
/// identity is already in the ledger records nothing (it counts as a duplicate), so a file can
/// be imported again safely; if the row's content changed since, it is rejected and the ledger
/// keeps the first version (corrections are new events). A row with no `location` goes to the
/// location given with `--location`, else to the SKU's home location in the catalog, else it
/// is rejected. Timestamps must say their UTC offset (`Z` or `±HH:MM`), unless an offset for
/// those without one is given (`--utc-offset`); timestamps before 1970 or more than a day in
/// the future are refused. Rejected rows are reported with their line number in the file
/// (the header is line 1) and a reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Feed {
    Sales,
    Deliveries,
}

impl Feed {
    pub fn name(self) -> &'static str {
        match self {
            Feed::Sales => "sales",
            Feed::Deliveries => "deliveries",
        }
    }

    /// The column that names the source document.
    pub fn id_column(self) -> &'static str {
        match self {
            Feed::Sales => "sale_id",
            Feed::Deliveries => "delivery_id",
        }
    }

    /// Every column the feed reads, required ones first; `location` is optional.
    pub fn columns(self) -> [&'static str; 6] {
        [
            self.id_column(),
            "line",
            "timestamp",
            "sku",
            "quantity",
            "location",
        ]
    }

    /// The event a row's signed quantity stands for, with its (positive) ledger quantity.
    fn event_for(self, quantity: i64) -> std::result::Result<(EventKind, i64), String> {
        match (self, quantity) {
            (_, 0) => Err("quantity is 0: nothing moved".into()),
            (Feed::Sales, q) if q > 0 => Ok((EventKind::Sold, q)),
            (Feed::Sales, q) => Ok((EventKind::Returned, -q)),
            (Feed::Deliveries, q) if q > 0 => Ok((EventKind::Received, q)),
            (Feed::Deliveries, q) => Err(format!(
                "quantity {q} is negative: a delivery line must be positive \
                 (correct stock with an adjustment)"
            )),
        }
    }
}

impl FromStr for Feed {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "sales" => Ok(Feed::Sales),
            "deliveries" => Ok(Feed::Deliveries),
            other => Err(StoreError::Feed(format!(
                "unknown feed {other:?} (sales or deliveries)"
            ))),
        }
    }
}

/// How to import a feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    /// Recorded as the actor of every event.
    pub actor: String,
    /// Location code for rows without one; wins over the SKU's home location.
    pub location: Option<String>,
    /// UTC offset, in minutes, of timestamps that don't carry one; `None` rejects them.
    pub utc_offset_minutes: Option<i32>,
    /// Rows per transaction.
    pub batch_size: usize,
    /// How many rejected rows to describe in the report (all are counted).
    pub max_problems: usize,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            actor: "import".into(),
            location: None,
            utc_offset_minutes: None,
            batch_size: 50_000,
            max_problems: 100,
        }
    }
}

/// A rejected row: its line in the file (the header is line 1) and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowProblem {
    pub line: u64,
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub feed: Feed,
    /// Data rows read (blank lines aside).
    pub rows: u64,
    /// Rows recorded as new events.
    pub inserted: u64,
    /// Rows already in the ledger with the same content; nothing recorded.
    pub duplicates: u64,
    /// Rows refused; the first [`ImportOptions::max_problems`] are in `problems`.
    pub rejected: u64,
    /// Rejected rows in line order.
    pub problems: Vec<RowProblem>,
}

impl ImportReport {
    fn new(feed: Feed) -> Self {
        ImportReport {
            feed,
            rows: 0,
            inserted: 0,
            duplicates: 0,
            rejected: 0,
            problems: Vec::new(),
        }
    }

    fn reject(&mut self, line: u64, reason: String, max_problems: usize) {
        self.rejected += 1;
        if self.problems.len() < max_problems {
            self.problems.push(RowProblem { line, reason });
        } else if let Some(last) = self.problems.iter_mut().max_by_key(|p| p.line) {
            // Batches resolve rows out of line order; keep the earliest lines.
            if line < last.line {
                *last = RowProblem { line, reason };
            }
        }
    }
}

/// A row that parsed; not yet checked against the catalog.
struct ParsedRow {
    csv_line: u64,
    source_id: String,
    source_key: String,
    occurred_at_ms: i64,
    sku: String,
    kind: EventKind,
    quantity: i64,
    location: Option<String>,
}

/// Where each column sits in the file.
struct Columns {
    source_id: usize,
    line: usize,
    timestamp: usize,
    sku: usize,
    quantity: usize,
    location: Option<usize>,
    width: usize,
}

impl Columns {
    fn from_header(feed: Feed, header: &ByteRecord) -> Result<Self> {
        let names: Vec<String> = header
            .iter()
            .map(|name| {
                String::from_utf8_lossy(name)
                    .trim_start_matches('\u{feff}')
                    .trim()
                    .to_ascii_lowercase()
            })
            .collect();
        let expected = feed.columns().join(",");
        if names.iter().all(String::is_empty) {
            return Err(StoreError::Feed(format!(
                "no header line: a {} file starts with the columns {expected}",
                feed.name()
            )));
        }
        let find = |column: &str| -> Result<Option<usize>> {
            let mut at = names.iter().enumerate().filter(|(_, n)| *n == column);
            match (at.next(), at.next()) {
                (Some((i, _)), None) => Ok(Some(i)),
                (None, _) => Ok(None),
                (Some(_), Some(_)) => Err(StoreError::Feed(format!(
                    "the header names column {column:?} twice"
                ))),
            }
        };
        let [id, line, timestamp, sku, quantity, location] = feed.columns().map(find);
        let (id, line, timestamp, sku, quantity, location) =
            (id?, line?, timestamp?, sku?, quantity?, location?);
        let required = [id, line, timestamp, sku, quantity];
        let missing: Vec<&str> = feed
            .columns()
            .iter()
            .zip(required)
            .filter(|(_, at)| at.is_none())
            .map(|(name, _)| *name)
            .collect();
        match required {
            [Some(source_id), Some(line), Some(timestamp), Some(sku), Some(quantity)] => {
                Ok(Columns {
                    source_id,
                    line,
                    timestamp,
                    sku,
                    quantity,
                    location,
                    width: names.len(),
                })
            }
            _ => Err(StoreError::Feed(format!(
                "the header lacks column(s) {}: a {} file has the columns {expected} \
                 (location optional); found {}",
                missing.join(", "),
                feed.name(),
                names.join(",")
            ))),
        }
    }
}

/// Catalog look-ups, remembered for the whole import.
#[derive(Default)]
struct Lookups {
    /// SKU → (variant id, home location id), `None` if unknown.
    variants: HashMap<String, Option<(i64, Option<i64>)>>,
    /// Location code → id, `None` if unknown.
    locations: HashMap<String, Option<i64>>,
    /// The `--location` default, resolved.
    default_location: Option<i64>,
}

impl Store {
    /// Imports a feed file; see [`Store::import_feed`].
    pub fn import_feed_file(
        &mut self,
        feed: Feed,
        path: impl AsRef<Path>,
        options: &ImportOptions,
    ) -> Result<ImportReport> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|source| StoreError::FeedFile {
            path: path.to_path_buf(),
            source,
        })?;
        let report = self.import_feed(feed, file, options)?;
        info!(
            path = %path.display(),
            feed = feed.name(),
            rows = report.rows,
            inserted = report.inserted,
            duplicates = report.duplicates,
            rejected = report.rejected,
            "imported feed"
        );
        Ok(report)
    }

    /// Streams a CSV feed into the ledger, one transaction per
    /// [`ImportOptions::batch_size`] rows; the columns are documented on [`Feed`]. Each row
    /// gets an HLC timestamp and enters the outbox like any local event.
    ///
    /// Bad rows are counted and described in the report, and the rest are recorded. An error
    /// means the input as a whole is unusable (no header, a required column missing, a read
    /// failure, a database failure); batches committed before a mid-file failure stay, and
    /// importing the file again records only what is missing.
    pub fn import_feed(
        &mut self,
        feed: Feed,
        input: impl Read,
        options: &ImportOptions,
    ) -> Result<ImportReport> {
        // Bulk settings for this connection while the feed streams in: commits don't wait
        // for the disk, the WAL is checkpointed less often, the hot index pages stay cached,
        // and foreign keys aren't re-checked (every variant and location id written was
        // looked up in the same write transaction). Restored afterwards, then a checkpoint
        // syncs the WAL, so a finished import is as durable as single events; a crash midway
        // can lose the last batches, which importing the file again restores.
        let saved = BulkPragmas::read(&self.conn)?;
        BulkPragmas::BULK.apply(&self.conn, &saved)?;
        let result = self.import_feed_rows(feed, input, options);
        saved.apply(&self.conn, &saved)?;
        if result.is_ok() {
            self.conn
                .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
        }
        result
    }

    fn import_feed_rows(
        &mut self,
        feed: Feed,
        input: impl Read,
        options: &ImportOptions,
    ) -> Result<ImportReport> {
        let mut reader = ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            // Lines end at \n only; a \r before it is trimmed off the last value. (With the
            // default CRLF handling the \n of a \r\n is consumed by the next record, which
            // throws line numbers off by one.)
            .terminator(Terminator::Any(b'\n'))
            .from_reader(EndsWithNewline::new(input));
        let header = reader
            .byte_headers()
            .map_err(|e| StoreError::Feed(format!("cannot read the header line: {e}")))?
            .clone();
        let columns = Columns::from_header(feed, &header)?;
        let mut lookups = Lookups::default();
        if let Some(code) = &options.location {
            let id = crate::store::location_id(&self.conn, code)?;
            lookups.default_location = Some(id);
        }

        let mut report = ImportReport::new(feed);
        let batch_size = options.batch_size.max(1);
        let mut batch: Vec<ParsedRow> = Vec::with_capacity(batch_size);
        let mut record = ByteRecord::new();
        let now_ms = wall_clock_ms() as i64;
        loop {
            match reader.read_byte_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    self.write_batch(feed, &mut batch, &mut lookups, options, &mut report)?;
                    let line = e.position().map_or(0, csv::Position::line);
                    return Err(StoreError::Feed(format!(
                        "reading line {line}: {e}; {} rows before it were recorded (importing \
                         the file again skips them)",
                        report.inserted
                    )));
                }
            }
            if record.iter().all(|field| field.trim_ascii().is_empty()) {
                continue;
            }
            report.rows += 1;
            // The record's own position counts from the end of the previous one, blank lines
            // between them included; count back from where it ended instead. Every record
            // ends with a newline (see `EndsWithNewline`), so it ended on the line before.
            let newlines_inside = record
                .iter()
                .map(|field| field.iter().filter(|b| **b == b'\n').count() as u64)
                .sum::<u64>();
            let line = reader.position().line().saturating_sub(1 + newlines_inside);
            match parse_row(feed, &columns, &record, line, options, now_ms) {
                Ok(row) => batch.push(row),
                Err(reason) => report.reject(line, reason, options.max_problems),
            }
            if batch.len() >= batch_size {
                self.write_batch(feed, &mut batch, &mut lookups, options, &mut report)?;
            }
        }
        self.write_batch(feed, &mut batch, &mut lookups, options, &mut report)?;
        report.problems.sort_by_key(|p| p.line);
        Ok(report)
    }

    /// Resolves and records one batch in one transaction; rows it can't place are rejected.
    fn write_batch(
        &mut self,
        feed: Feed,
        batch: &mut Vec<ParsedRow>,
        lookups: &mut Lookups,
        options: &ImportOptions,
        report: &mut ImportReport,
    ) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let rows = batch.len();
        let tx = begin_write(&mut self.conn, &mut self.clock)?;
        let guard = suspend_replace_guard(&tx)?;
        let mut existing_stmt = tx.prepare_cached(
            "SELECT kind, variant_id, location_id, quantity, occurred_at_ms
             FROM stock_events WHERE source_key = ?1",
        )?;
        let mut variant_stmt =
            tx.prepare_cached("SELECT id, home_location_id FROM variants WHERE sku = ?1")?;
        let mut location_stmt = tx.prepare_cached("SELECT id FROM locations WHERE code = ?1")?;
        let mut writer = LedgerWriter::new(&tx, true)?;
        for row in batch.drain(..) {
            let variant = match lookups.variants.get(&row.sku) {
                Some(found) => *found,
                None => {
                    let found = variant_stmt
                        .query_row([&row.sku], |r| Ok((r.get(0)?, r.get(1)?)))
                        .optional()?;
                    lookups.variants.insert(row.sku.clone(), found);
                    found
                }
            };
            let Some((variant, home)) = variant else {
                let reason = format!("unknown SKU {:?}", row.sku);
                report.reject(row.csv_line, reason, options.max_problems);
                continue;
            };
            let location = match &row.location {
                Some(code) => match lookups.locations.get(code) {
                    Some(found) => *found,
                    None => {
                        let found = location_stmt
                            .query_row([code], |r| r.get::<_, i64>(0))
                            .optional()?;
                        lookups.locations.insert(code.clone(), found);
                        found
                    }
                },
                None => lookups.default_location.or(home),
            };
            let Some(location) = location else {
                let reason = match &row.location {
                    Some(code) => format!("unknown location {code:?}"),
                    None => format!(
                        "no location given and SKU {:?} has no home location \
                         (add a location column or pass --location)",
                        row.sku
                    ),
                };
                report.reject(row.csv_line, reason, options.max_problems);
                continue;
            };

            let id = feed_event_id(&self.identity.store_id, &row.source_key, row.occurred_at_ms);
            let hlc = self.clock.now().to_string();
            let appended = writer.try_insert(&EventRow {
                id: &id,
                hlc: &hlc,
                store_id: &self.identity.store_id,
                device_id: &self.identity.device_id,
                occurred_at_ms: row.occurred_at_ms,
                actor: &options.actor,
                kind: row.kind,
                variant,
                location,
                to_location: None,
                quantity: row.quantity,
                reference: Some(&row.source_id),
                note: None,
                source_key: Some(&row.source_key),
            })?;
            if appended {
                report.inserted += 1;
                continue;
            }
            // Not appended: the row is in the ledger already, maybe with other content.
            let existing: Option<(String, i64, i64, i64, i64)> = existing_stmt
                .query_row([&row.source_key], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })
                .optional()?;
            let Some((kind, old_variant, old_location, quantity, occurred_at_ms)) = existing else {
                return Err(StoreError::Feed(format!(
                    "line {}: the database refused {} {:?} line {} although it is not in the \
                     ledger yet",
                    row.csv_line,
                    feed.id_column(),
                    row.source_id,
                    source_line(&row.source_key)
                )));
            };
            let mut changed = Vec::new();
            if kind != row.kind.as_str() || quantity != row.quantity {
                changed.push("quantity");
            }
            if old_variant != variant {
                changed.push("sku");
            }
            if occurred_at_ms != row.occurred_at_ms {
                changed.push("timestamp");
            }
            if row.location.is_some() && old_location != location {
                changed.push("location");
            }
            if changed.is_empty() {
                report.duplicates += 1;
            } else {
                let reason = format!(
                    "{} {:?} line {} was imported before with a different {}; the ledger \
                     keeps the first version (record a correction as a new event)",
                    feed.id_column(),
                    row.source_id,
                    source_line(&row.source_key),
                    changed.join(", ")
                );
                report.reject(row.csv_line, reason, options.max_problems);
            }
        }
        writer.finish()?;
        drop((existing_stmt, variant_stmt, location_stmt));
        restore_replace_guard(&tx, guard)?;
        finish_write(tx, &self.clock)?;
        debug!(feed = feed.name(), rows, "committed feed batch");
        Ok(())
    }
}

/// Connection settings that trade per-commit durability for bulk speed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct BulkPragmas {
    /// 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA.
    synchronous: i64,
    /// Pages of WAL before an automatic checkpoint.
    wal_autocheckpoint: i64,
    /// Pages if positive, KiB if negative.
    cache_size: i64,
    /// 0 default (a file), 1 FILE, 2 MEMORY. In memory, statement journals (the book-stock
    /// UPSERT opens one) never spill to a temporary file.
    temp_store: i64,
    /// 1 on, 0 off.
    foreign_keys: i64,
}

impl BulkPragmas {
    /// NORMAL sync (WAL stays consistent, only the latest commits may be lost on power
    /// failure), 64 MiB of WAL between checkpoints, 64 MiB of page cache, temporary data in
    /// memory, no foreign-key checks.
    const BULK: BulkPragmas = BulkPragmas {
        synchronous: 1,
        wal_autocheckpoint: 16_384,
        cache_size: -65_536,
        temp_store: 2,
        foreign_keys: 0,
    };

    fn read(conn: &rusqlite::Connection) -> Result<Self> {
        let get = |name| conn.pragma_query_value(None, name, |row| row.get::<_, i64>(0));
        Ok(BulkPragmas {
            synchronous: get("synchronous")?,
            wal_autocheckpoint: get("wal_autocheckpoint")?,
            cache_size: get("cache_size")?,
            temp_store: get("temp_store")?,
            foreign_keys: get("foreign_keys")?,
        })
    }

    /// Applies these settings; `synchronous` never goes above `current`'s (a connection set
    /// to OFF stays OFF). Only outside a transaction: SQLite ignores `foreign_keys` inside one.
    fn apply(&self, conn: &rusqlite::Connection, current: &BulkPragmas) -> Result<()> {
        conn.pragma_update(
            None,
            "synchronous",
            self.synchronous.min(current.synchronous),
        )?;
        conn.pragma_update(None, "foreign_keys", self.foreign_keys)?;
        conn.pragma_update(None, "wal_autocheckpoint", self.wal_autocheckpoint)?;
        conn.pragma_update(None, "cache_size", self.cache_size)?;
        conn.pragma_update(None, "temp_store", self.temp_store)?;
        Ok(())
    }
}

/// The line number at the end of a source key (`sales:S-1:2` → `2`).
fn source_line(source_key: &str) -> &str {
    source_key.rsplit(':').next().unwrap_or_default()
}

/// Passes a reader through, adding a final newline if the input lacks one, so that every
/// record, the last included, ends with a line break and line numbers can be counted back
/// from a record's end.
struct EndsWithNewline<R> {
    inner: R,
    last: Option<u8>,
    finished: bool,
}

impl<R> EndsWithNewline<R> {
    fn new(inner: R) -> Self {
        EndsWithNewline {
            inner,
            last: None,
            finished: false,
        }
    }
}

impl<R: Read> Read for EndsWithNewline<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.finished || buf.is_empty() {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        if n > 0 {
            self.last = Some(buf[n - 1]);
            return Ok(n);
        }
        self.finished = true;
        match self.last {
            Some(b'\n') | None => Ok(0),
            Some(_) => {
                buf[0] = b'\n';
                Ok(1)
            }
        }
    }
}

/// A UUIDv7 whose time is the row's own and whose other 74 bits hash the row's identity, so
/// the same row always gets the same id (on any device of the same store) and ids still sort
/// by time.
fn feed_event_id(store_id: &str, source_key: &str, occurred_at_ms: i64) -> String {
    let digest = Sha256::new()
        .chain_update(store_id.as_bytes())
        .chain_update([0])
        .chain_update(source_key.as_bytes())
        .finalize();
    let mut bits = [0u8; 10];
    bits.copy_from_slice(&digest[..10]);
    Builder::from_unix_timestamp_millis(occurred_at_ms.max(0) as u64, &bits)
        .into_uuid()
        .to_string()
}

/// Checks one record on its own (no database): every reason names the column at fault.
fn parse_row(
    feed: Feed,
    columns: &Columns,
    record: &ByteRecord,
    csv_line: u64,
    options: &ImportOptions,
    now_ms: i64,
) -> std::result::Result<ParsedRow, String> {
    if record.len() > columns.width {
        return Err(format!(
            "{} fields but the header has {} (a value with an unquoted comma?)",
            record.len(),
            columns.width
        ));
    }
    let field = |at: usize, name: &str| -> std::result::Result<&str, String> {
        let raw = record.get(at).unwrap_or_default().trim_ascii();
        let text = std::str::from_utf8(raw).map_err(|_| format!("{name} is not valid UTF-8"))?;
        if text.is_empty() {
            return Err(format!("missing {name}"));
        }
        Ok(text)
    };
    let source_id = field(columns.source_id, feed.id_column())?;
    let line = field(columns.line, "line")?;
    let line_no: u32 = line
        .parse()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| format!("line {line:?} is not a whole number ≥ 1"))?;
    let timestamp = field(columns.timestamp, "timestamp")?;
    let occurred_at_ms = parse_timestamp(timestamp, options.utc_offset_minutes)
        .map_err(|reason| format!("timestamp {timestamp:?}: {reason}"))?;
    if occurred_at_ms < 0 {
        return Err(format!("timestamp {timestamp:?} is before 1970"));
    }
    if occurred_at_ms > now_ms + MAX_FUTURE_MS {
        return Err(format!(
            "timestamp {timestamp:?} is more than a day in the future"
        ));
    }
    let sku = field(columns.sku, "sku")?;
    let quantity_text = field(columns.quantity, "quantity")?;
    let quantity: i64 = quantity_text
        .parse()
        .map_err(|_| format!("quantity {quantity_text:?} is not a whole number"))?;
    if !(-MAX_QUANTITY..=MAX_QUANTITY).contains(&quantity) {
        return Err(format!("quantity {quantity} is out of range"));
    }
    let (kind, quantity) = feed.event_for(quantity)?;
    let location = match columns.location {
        Some(at) if !record.get(at).unwrap_or_default().trim_ascii().is_empty() => {
            Some(field(at, "location")?.to_owned())
        }
        _ => None,
    };
    Ok(ParsedRow {
        csv_line,
        source_key: format!("{}:{source_id}:{line_no}", feed.name()),
        source_id: source_id.to_owned(),
        occurred_at_ms,
        sku: sku.to_owned(),
        kind,
        quantity,
        location,
    })
}

/// Parses `YYYY-MM-DD[T ]HH:MM:SS[.fraction][Z|±HH:MM|±HHMM]` to Unix milliseconds.
/// Without an offset, `assumed_offset_minutes` applies, or the timestamp is refused.
pub(crate) fn parse_timestamp(
    text: &str,
    assumed_offset_minutes: Option<i32>,
) -> std::result::Result<i64, String> {
    const FORMAT: &str = "expected YYYY-MM-DDTHH:MM:SS with Z or a ±HH:MM offset";
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> std::result::Result<i64, String> {
        let part = b.get(range).ok_or(FORMAT)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return Err(FORMAT.into());
        }
        Ok(part.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0')))
    };
    let sep = |at: usize, allowed: &[u8]| -> std::result::Result<(), String> {
        match b.get(at) {
            Some(c) if allowed.contains(c) => Ok(()),
            _ => Err(FORMAT.into()),
        }
    };
    let year = digits(0..4)?;
    sep(4, b"-")?;
    let month = digits(5..7)?;
    sep(7, b"-")?;
    let day = digits(8..10)?;
    sep(10, b"Tt ")?;
    let hour = digits(11..13)?;
    sep(13, b":")?;
    let minute = digits(14..16)?;
    sep(16, b":")?;
    let second = digits(17..19)?;
    let mut at = 19;
    let mut millis = 0;
    if b.get(at) == Some(&b'.') || b.get(at) == Some(&b',') {
        let start = at + 1;
        let end = start + b[start..].iter().take_while(|c| c.is_ascii_digit()).count();
        if end == start {
            return Err(FORMAT.into());
        }
        let frac = &text[start..end.min(start + 3)];
        millis = digits(start..start + frac.len())? * 10i64.pow(3 - frac.len() as u32);
        at = end;
    }
    let offset_minutes = match b.get(at) {
        None => assumed_offset_minutes.ok_or(
            "no UTC offset: add Z or ±HH:MM, or say which offset to assume (--utc-offset)",
        )?,
        Some(b'Z' | b'z') if at + 1 == b.len() => 0,
        Some(sign @ (b'+' | b'-')) => {
            let hours = digits(at + 1..at + 3)?;
            let rest = &b[at + 3..];
            let minutes = match rest {
                [b':', ..] if rest.len() == 3 => digits(at + 4..at + 6)?,
                _ if rest.len() == 2 => digits(at + 3..at + 5)?,
                [] => 0,
                _ => return Err(FORMAT.into()),
            };
            if hours > 23 || minutes > 59 {
                return Err("UTC offset out of range".into());
            }
            let minutes = (hours * 60 + minutes) as i32;
            if *sign == b'-' {
                -minutes
            } else {
                minutes
            }
        }
        _ => return Err(FORMAT.into()),
    };
    if !(1..=12).contains(&month) {
        return Err(format!("no month {month}"));
    }
    if day < 1 || day > days_in_month(year, month) {
        return Err(format!("no day {day} in {year:04}-{month:02}"));
    }
    if hour > 23 || minute > 59 || second > 60 {
        return Err("time of day out of range".into());
    }
    // A leap second (:60) is read as the last millisecond of the minute.
    let (second, millis) = if second == 60 {
        (59, 999)
    } else {
        (second, millis)
    };
    let days = days_from_civil(year, month, day);
    let seconds =
        days * 86_400 + hour * 3600 + minute * 60 + second - i64::from(offset_minutes) * 60;
    Ok(seconds * 1000 + millis)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests;

/// Unix seconds → `YYYY-MM-DDTHH:MM:SSZ`.
pub fn iso8601_utc(unix_s: i64) -> String {
    let (days, secs) = (unix_s.div_euclid(86_400), unix_s.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

//! `vitrine import sales|deliveries FILE.csv` and `vitrine bench ledger`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use serde::Serialize;
use vitrine_config::Config;
use vitrine_store::{
    Feed, ImportOptions, ImportReport, Location, LocationKind, Product, Store, Variant,
};

const SALES_HELP: &str = "\
Import sales from the till into the stock ledger.

The file is UTF-8 CSV with a header line; columns are found by name (any order, any case),
other columns are ignored:

  sale_id    required  the receipt or transaction id in the till system
  line       required  the line number within that sale, a whole number >= 1
  timestamp  required  when it was sold, RFC 3339: 2025-03-01T14:03:22Z or
                       2025-03-01 14:03:22.5+01:00
  sku        required  the variant's SKU, as in the catalog
  quantity   required  units sold, a whole number; NEGATIVE for a return or a
                       cancelled line (recorded as a `returned` event); 0 is refused
  location   optional  where the stock left from, a location code (A1/B1/S1, BACKROOM)

Example:

  sale_id,line,timestamp,sku,quantity,location
  S-1001,1,2025-03-01T10:15:00Z,VT-TEE-ORBIT-M-INK,2,A1/B1/S1
  S-1001,2,2025-03-01T10:15:00Z,GR-OATS-1KG,3,
  S-1002,1,2025-03-01T11:02:40+01:00,VT-TEE-ORBIT-M-INK,-1,A1/B1/S1";

const DELIVERIES_HELP: &str = "\
Import deliveries from the warehouse into the stock ledger.

The file is UTF-8 CSV with a header line; columns are found by name (any order, any case),
other columns are ignored:

  delivery_id  required  the delivery note or ASN id
  line         required  the line number within that delivery, a whole number >= 1
  timestamp    required  when it was received, RFC 3339: 2025-03-01T07:00:00Z or
                         2025-03-01 08:00:00+01:00
  sku          required  the variant's SKU, as in the catalog
  quantity     required  units received, a whole number > 0 (a short or damaged
                         delivery is corrected afterwards with an adjustment)
  location     optional  where it was put, a location code (A1/B1/S1, BACKROOM)

Example:

  delivery_id,line,timestamp,sku,quantity,location
  D-77,1,2025-03-01T07:00:00Z,VT-TEE-ORBIT-M-INK,10,BACKROOM
  D-77,2,2025-03-01T07:00:00Z,GR-OATS-1KG,20,";

const IMPORT_RULES: &str = "\
Rules for both feeds:
  * (sale_id or delivery_id, line) identifies a row. A row already in the ledger is skipped
    as a duplicate, so importing a file again is safe. A row whose content changed since it
    was imported is rejected; the ledger keeps the first version (corrections are new events).
  * A row without a location goes to --location, else to the SKU's home location, else it
    is rejected.
  * Timestamps need a UTC offset (Z or +HH:MM) unless --utc-offset says which to assume;
    timestamps before 1970 or more than a day ahead are rejected.
  * Bad rows (unknown SKU or location, bad number or timestamp, missing value, a zero
    quantity or a negative delivery) are listed with their line number (the header is
    line 1) and skipped; the good rows are recorded. Rows are committed 50,000 at a time;
    the report totals are brought up to date once at the end.

Exit status: 0 every row recorded or already there; 2 some rows rejected (the rest
recorded); 1 nothing imported (missing file, no header, a required column missing, or a
database error).";

#[derive(Subcommand)]
pub enum Import {
    /// Sales from the till (sale_id,line,timestamp,sku,quantity[,location]); negative
    /// quantities are returns.
    #[command(long_about = SALES_HELP, after_long_help = IMPORT_RULES)]
    Sales(ImportArgs),
    /// Deliveries from the warehouse (delivery_id,line,timestamp,sku,quantity[,location]).
    #[command(long_about = DELIVERIES_HELP, after_long_help = IMPORT_RULES)]
    Deliveries(ImportArgs),
}

#[derive(Args)]
pub struct ImportArgs {
    /// The CSV file.
    file: PathBuf,
    /// Location code for rows without one (default: the SKU's home location).
    #[arg(long, value_name = "CODE")]
    location: Option<String>,
    /// UTC offset of timestamps that lack one, e.g. +01:00 (default: such rows are rejected).
    #[arg(long, value_name = "±HH:MM", allow_hyphen_values = true)]
    utc_offset: Option<String>,
    /// Who is recorded as having made the events.
    #[arg(long, default_value = "import")]
    actor: String,
    /// How many rejected rows to list.
    #[arg(long, default_value_t = 20)]
    show: usize,
}

pub fn import(config: Config, which: Import) -> Result<()> {
    let (feed, args) = match which {
        Import::Sales(args) => (Feed::Sales, args),
        Import::Deliveries(args) => (Feed::Deliveries, args),
    };
    let utc_offset_minutes = args.utc_offset.as_deref().map(parse_offset).transpose()?;
    let mut store = open_store(&config)?;
    let options = ImportOptions {
        actor: args.actor,
        location: args.location,
        utc_offset_minutes,
        max_problems: args.show.max(1),
        ..ImportOptions::default()
    };
    let file = File::open(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let report = store
        .import_feed(feed, ProgressReader::new(file, size), &options)
        .with_context(|| format!("importing {} from {}", feed.name(), args.file.display()))?;
    // The user is waiting anyway: bring the report totals up to date now, so the first
    // report after an import does not have to.
    store.refresh_running_totals()?;
    print_report(&args.file, &report, args.show);
    if report.rejected > 0 {
        std::io::stdout().flush()?;
        std::process::exit(2);
    }
    Ok(())
}

/// Opens the configured database as the kiosk does (seeding the demo catalog if configured),
/// without starting models or cameras.
fn open_store(config: &Config) -> Result<Store> {
    let path = &config.store.database;
    let mut store = Store::open(path)?;
    if config.store.seed_demo {
        store.seed_demo_if_empty()?;
    }
    Ok(store)
}

fn print_report(file: &Path, report: &ImportReport, show: usize) {
    println!(
        "{} ({}): {} rows: {} recorded, {} already in the ledger, {} rejected",
        file.display(),
        report.feed.name(),
        report.rows,
        report.inserted,
        report.duplicates,
        report.rejected
    );
    for problem in report.problems.iter().take(show) {
        println!("  line {}: {}", problem.line, problem.reason);
    }
    let listed = report.problems.len().min(show) as u64;
    if report.rejected > listed {
        println!("  … and {} more rejected rows", report.rejected - listed);
    }
}

/// `+01:00`, `-0500`, `+02`, `Z` → minutes east of UTC.
fn parse_offset(text: &str) -> Result<i32> {
    let bad = || format!("--utc-offset {text:?}: expected ±HH:MM, like +01:00 or -05:00");
    if text.eq_ignore_ascii_case("z") || text.eq_ignore_ascii_case("utc") {
        return Ok(0);
    }
    let (sign, rest) = match text.as_bytes().first() {
        Some(b'+') => (1, &text[1..]),
        Some(b'-') => (-1, &text[1..]),
        _ => bail!(bad()),
    };
    let digits = rest.replace(':', "");
    if !(digits.len() == 2 || digits.len() == 4) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        bail!(bad());
    }
    let hours: i32 = digits[..2].parse()?;
    let minutes: i32 = if digits.len() == 4 {
        digits[2..].parse()?
    } else {
        0
    };
    if hours > 23 || minutes > 59 {
        bail!(bad());
    }
    Ok(sign * (hours * 60 + minutes))
}

#[derive(Debug, Serialize)]
struct LedgerFigures {
    events: usize,
    variants: usize,
    ingest_events_per_s: f64,
    ingest_s: f64,
    /// CPU time the ingest took (Linux); on a busy machine, events / this is the fairer rate.
    ingest_cpu_s: Option<f64>,
    /// Part of the ingest: the report totals brought up to date at the end of the import.
    refresh_ms: f64,
    stock_level_ms: f64,
    stock_report_ms: f64,
    rebuild_ms: f64,
    db_mib: f64,
    meets_targets: bool,
}

/// Ingests `events` feed rows (one fifth deliveries, the rest sales with some returns) into a
/// fresh database through the CSV import path, then times the stock queries.
pub fn bench(events: usize, variants: usize, dir: Option<PathBuf>) -> Result<()> {
    if cfg!(debug_assertions) {
        eprintln!("note: this is a debug build; speed figures come from `cargo run --release`");
    }
    if events < 10 || variants < 5 {
        bail!("--events must be at least 10 and --variants at least 5");
    }
    let tmp = match &dir {
        Some(dir) => tempfile::Builder::new()
            .prefix("vitrine-bench-")
            .tempdir_in(dir),
        None => tempfile::Builder::new().prefix("vitrine-bench-").tempdir(),
    }
    .context("creating a scratch directory")?;
    let db = tmp.path().join("ledger.db");
    let mut store = Store::open(&db)?;
    let skus = bench_catalog(&mut store, variants)?;
    let deliveries = tmp.path().join("deliveries.csv");
    let sales = tmp.path().join("sales.csv");
    let delivery_rows = events / 5;
    write_feeds(
        &skus,
        &deliveries,
        delivery_rows,
        &sales,
        events - delivery_rows,
    )?;
    println!(
        "ledger bench: {} · {} variants · {events} events ({delivery_rows} delivery rows, {} sales rows)",
        db.display(),
        skus.len(),
        events - delivery_rows
    );

    let options = ImportOptions::default();
    let cpu_start = process_cpu_s();
    let start = Instant::now();
    let mut inserted = 0;
    for (feed, file) in [(Feed::Deliveries, &deliveries), (Feed::Sales, &sales)] {
        let report = store.import_feed_file(feed, file, &options)?;
        if report.rejected > 0 {
            bail!("the bench feed had rejected rows: {:?}", report.problems);
        }
        inserted += report.inserted;
    }
    // As `vitrine import` does at its end.
    let refresh_start = Instant::now();
    let refreshed = store.refresh_running_totals()?;
    let refresh_ms = refresh_start.elapsed().as_secs_f64() * 1000.0;
    let ingest_s = start.elapsed().as_secs_f64();
    let ingest_cpu_s = process_cpu_s()
        .zip(cpu_start)
        .map(|(end, start)| end - start);
    if inserted != events as u64 {
        bail!("recorded {inserted} events, expected {events}");
    }
    let ingest_events_per_s = events as f64 / ingest_s;
    let cpu_note = ingest_cpu_s.map_or(String::new(), |cpu| {
        format!(
            ", {cpu:.2} s of CPU: {:.0} events per CPU second",
            events as f64 / cpu
        )
    });
    println!("ingest        {ingest_events_per_s:10.0} events/s  ({ingest_s:.2} s, batches of {}{cpu_note})", options.batch_size);
    println!("  of which    {refresh_ms:10.1} ms   (report totals of {refreshed} variants brought up to date at the end)");

    let sku = &skus[skus.len() / 2];
    let on_hand = store.stock_level_total(sku)?;
    let stock_level_ms = median_ms(51, || {
        store.stock_level_total(sku)?;
        Ok(())
    })?;
    println!("stock level   {stock_level_ms:10.3} ms   (one SKU, {sku}: {on_hand} on hand; median of 51)");
    let report_rows = store.stock_by_variant()?.len();
    let stock_report_ms = median_ms(11, || {
        store.stock_by_variant()?;
        Ok(())
    })?;
    println!(
        "stock report  {stock_report_ms:10.3} ms   (all {report_rows} variants; median of 11)"
    );
    let t = Instant::now();
    let rebuilt = store.rebuild_stock_from_ledger()?;
    let rebuild_ms = t.elapsed().as_secs_f64() * 1000.0;
    if rebuilt.corrected != 0 {
        bail!(
            "the projection disagreed with the ledger in {} rows",
            rebuilt.corrected
        );
    }
    println!("rebuild       {rebuild_ms:10.1} ms   (book stock recomputed from all {events} events: matches)");
    drop(store);
    let db_mib = db_size(&db) as f64 / (1024.0 * 1024.0);

    let meets_targets =
        ingest_events_per_s >= 50_000.0 && stock_level_ms <= 50.0 && stock_report_ms <= 50.0;
    println!(
        "targets (ingest ≥ 50000 events/s, stock level and report ≤ 50 ms): {}",
        if meets_targets { "met" } else { "MISSED" }
    );
    let figures = LedgerFigures {
        events,
        variants: skus.len(),
        ingest_events_per_s: ingest_events_per_s.round(),
        ingest_s: round3(ingest_s),
        ingest_cpu_s: ingest_cpu_s.map(round3),
        refresh_ms: round3(refresh_ms),
        stock_level_ms: round3(stock_level_ms),
        stock_report_ms: round3(stock_report_ms),
        rebuild_ms: round3(rebuild_ms),
        db_mib: round3(db_mib),
        meets_targets,
    };
    println!("{}", serde_json::to_string(&figures)?);
    Ok(())
}

/// User + system CPU seconds of this process so far, from /proc (None elsewhere).
pub(crate) fn process_cpu_s() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace().skip(11);
    let utime: f64 = fields.next()?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    // Clock ticks; 100 per second on every Linux this runs on (USER_HZ).
    Some((utime + stime) / 100.0)
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn db_size(db: &Path) -> u64 {
    ["", "-wal"]
        .iter()
        .filter_map(|suffix| {
            let mut name = db.as_os_str().to_owned();
            name.push(suffix);
            std::fs::metadata(PathBuf::from(name)).ok()
        })
        .map(|m| m.len())
        .sum()
}

pub(crate) fn median_ms(runs: usize, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    f()?; // warm-up
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        f()?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

/// 100 shelves and a backroom; products of five sizes each, homed on a shelf. Returns SKUs.
pub(crate) fn bench_catalog(store: &mut Store, variants: usize) -> Result<Vec<String>> {
    let shelves: Vec<String> = (0..100)
        .map(|i| format!("A{}/B{}/S{}", i / 20 + 1, i / 4 % 5 + 1, i % 4 + 1))
        .collect();
    for code in &shelves {
        store.add_location(&Location {
            code: code.clone(),
            kind: LocationKind::Shelf,
            name: format!("shelf {code}"),
        })?;
    }
    store.add_location(&Location {
        code: "BACKROOM".into(),
        kind: LocationKind::Backroom,
        name: "Backroom".into(),
    })?;
    let sizes = ["XS", "S", "M", "L", "XL"];
    let mut skus = Vec::with_capacity(variants);
    for p in 0..variants.div_ceil(sizes.len()) {
        let code = format!("BN-{p:05}");
        let product = Product {
            code: code.clone(),
            name: format!("Bench product {p}"),
            category: "apparel".into(),
            variants: sizes
                .iter()
                .take((variants - p * sizes.len()).min(sizes.len()))
                .map(|size| Variant {
                    sku: format!("{code}-{size}"),
                    size: Some((*size).into()),
                    colour: None,
                    barcode: None,
                    price_cents: 1000 + p as i64,
                    cost_cents: 400,
                    home_location: Some(shelves[p % shelves.len()].clone()),
                })
                .collect(),
        };
        skus.extend(product.variants.iter().map(|v| v.sku.clone()));
        store.add_product(&product)?;
    }
    Ok(skus)
}

/// Deterministic feeds over the last 30 days: deliveries of 10 lines, half to the backroom and
/// half to the home shelf; sales of up to 4 lines, mostly from the home shelf, 3% returns.
pub(crate) fn write_feeds(
    skus: &[String],
    deliveries: &Path,
    delivery_rows: usize,
    sales: &Path,
    sale_rows: usize,
) -> Result<()> {
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64;
    let start_s = now_s - 30 * 86_400;
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut out = BufWriter::new(File::create(deliveries)?);
    writeln!(out, "delivery_id,line,timestamp,sku,quantity,location")?;
    for i in 0..delivery_rows {
        let at = start_s + (i as i64 * 20 * 86_400) / delivery_rows as i64;
        let sku = &skus[next() as usize % skus.len()];
        let location = if i % 2 == 0 { "BACKROOM" } else { "" };
        writeln!(
            out,
            "D-{},{},{},{sku},{},{location}",
            i / 10,
            i % 10 + 1,
            vitrine_store::iso8601_utc(at),
            next() % 24 + 6
        )?;
    }
    out.flush()?;
    let mut out = BufWriter::new(File::create(sales)?);
    writeln!(out, "sale_id,line,timestamp,sku,quantity,location")?;
    for i in 0..sale_rows {
        let at = start_s + 86_400 + (i as i64 * 29 * 86_400) / sale_rows as i64;
        let sku = &skus[next() as usize % skus.len()];
        let r = next();
        let quantity = if r % 100 < 3 { -1 } else { (r % 3 + 1) as i64 };
        let location = if r % 10 == 0 { "BACKROOM" } else { "" };
        writeln!(
            out,
            "S-{},{},{},{sku},{quantity},{location}",
            i / 4,
            i % 4 + 1,
            vitrine_store::iso8601_utc(at)
        )?;
    }
    out.flush()?;
    Ok(())
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_parse() {
        assert_eq!(parse_offset("+01:00").unwrap(), 60);
        assert_eq!(parse_offset("-0530").unwrap(), -330);
        assert_eq!(parse_offset("+02").unwrap(), 120);
        assert_eq!(parse_offset("Z").unwrap(), 0);
        for bad in ["01:00", "+1", "+25:00", "+01:60", "+01:00:00", ""] {
            assert!(parse_offset(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn iso8601_formats_utc() {
        assert_eq!(vitrine_store::iso8601_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(vitrine_store::iso8601_utc(1_740_824_100), "2025-03-01T10:15:00Z");
        assert_eq!(vitrine_store::iso8601_utc(951_825_600), "2000-02-29T12:00:00Z");
    }

    #[test]
    fn a_small_bench_runs_end_to_end() {
        bench(2_000, 50, None).unwrap();
    }

    #[test]
    fn import_reports_and_keeps_the_good_rows() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        config.store.database = dir.path().join("v.db");
        let file = dir.path().join("deliveries.csv");
        std::fs::write(
            &file,
            "delivery_id,line,timestamp,sku,quantity,location\n\
             D-1,1,2025-03-01T07:00:00Z,GR-OATS-1KG,5,BACKROOM\n\
             D-1,2,2025-03-01T07:00:00Z,GR-OATS-1KG,x,BACKROOM\n",
        )
        .unwrap();
        let mut store = open_store(&config).unwrap();
        let report = store
            .import_feed_file(Feed::Deliveries, &file, &ImportOptions::default())
            .unwrap();
        assert_eq!((report.inserted, report.rejected), (1, 1));
        assert_eq!(store.stock_level("GR-OATS-1KG", "BACKROOM").unwrap(), 53);
    }
}

/// Reads a feed and, while a terminal watches, shows how much of it is in (a large till
/// export takes a while; logs and pipes get only the summary).
struct ProgressReader<R> {
    inner: R,
    size: u64,
    read: u64,
    shown: Option<u64>,
    terminal: bool,
}

impl<R> ProgressReader<R> {
    fn new(inner: R, size: u64) -> Self {
        use std::io::IsTerminal;
        // Small files are in before anyone could read a percentage.
        let terminal = std::io::stderr().is_terminal() && size > 4 << 20;
        ProgressReader { inner, size, read: 0, shown: None, terminal }
    }
}

impl<R: std::io::Read> std::io::Read for ProgressReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.terminal {
            let percent = self.read * 100 / self.size.max(1);
            if self.shown != Some(percent) {
                self.shown = Some(percent);
                eprint!("\rimporting: {percent:>3} % of {} MB", self.size >> 20);
                if n == 0 || self.read >= self.size {
                    eprintln!();
                }
            }
        }
        Ok(n)
    }
}

//! `vitrine report NAME`, `vitrine eval forecast`, `vitrine bench reports` and
//! `vitrine store seed-history`.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use vitrine_config::Config;
use vitrine_forecast::{forecast, reorder_advice, select, ReorderPolicy, SelectOptions};
use vitrine_reports::demo::{seed_demo_store, seed_history, HistoryOptions};
use vitrine_reports::eval::{evaluate, load_online_retail, EvalOptions};
use vitrine_reports::{
    run_report, to_csv, to_pdf, Cell, ColumnKind, ReportKind, ReportQuery, ReportTable,
};
use vitrine_store::{EventKind, EventOrigin, Feed, ImportOptions, NewEvent, Store};

const REPORT_HELP: &str = "\
Reports, derived from the stock ledger:

  stock          book stock per SKU and location, valued at cost and price
  low-stock      SKUs at or below their reorder point, with a suggested order
  discrepancies  latest shelf counts against book stock at that moment (shrinkage at cost)
  sell-through   sell-through, turnover and days of cover over --window-days
  slow-movers    stock lasting over 90 days at the window's pace, by value tied up
  reorder        what to order now, from each SKU's demand forecast (method chosen by backtest)
  sync-status    events waiting for HQ
  all            every report (for --format pdf or json)

Windows end on the last day with any movement in the ledger (UTC days).";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
    Pdf,
}

#[derive(Args)]
#[command(long_about = REPORT_HELP)]
pub struct ReportArgs {
    /// stock, low-stock, discrepancies, sell-through, slow-movers, reorder, sync-status, all.
    name: String,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Write here instead of standard output (required for a PDF on a terminal).
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Only SKUs whose SKU, product name or barcode contains this (any case).
    #[arg(long)]
    search: Option<String>,
    /// Only this location code (e.g. A1/B1/S1, BACKROOM).
    #[arg(long)]
    location: Option<String>,
    /// Only this product category.
    #[arg(long)]
    category: Option<String>,
    /// Look-back window for rates, in days.
    #[arg(long, default_value_t = 28)]
    window_days: u32,
}

/// Opens the configured database as the kiosk does: a fresh demo install gets the demo
/// catalog and its sales history.
fn open_store(config: &Config) -> Result<Store> {
    let path = &config.store.database;
    let mut store = Store::open(path).with_context(|| format!("opening {}", path.display()))?;
    if config.store.seed_demo {
        seed_demo_store(&mut store)?;
    }
    Ok(store)
}

pub fn report(config: Config, args: ReportArgs) -> Result<()> {
    let kinds: Vec<ReportKind> = if args.name == "all" {
        ReportKind::ALL.to_vec()
    } else {
        vec![args.name.parse()?]
    };
    if args.format == Format::Csv && kinds.len() > 1 {
        bail!("a CSV file holds one report: name one instead of `all`");
    }
    if args.format == Format::Pdf && args.output.is_none() && std::io::stdout().is_terminal() {
        bail!("a PDF is binary: pass --output FILE.pdf (or redirect standard output)");
    }
    let store = open_store(&config)?;
    let tables = kinds
        .iter()
        .map(|&kind| {
            run_report(
                &store,
                &ReportQuery {
                    kind,
                    search: args.search.clone(),
                    location: args.location.clone(),
                    category: args.category.clone(),
                    window_days: args.window_days,
                },
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let bytes = match args.format {
        Format::Table => tables
            .iter()
            .map(render_table)
            .collect::<Vec<_>>()
            .join("\n")
            .into_bytes(),
        Format::Csv => to_csv(&tables[0]).into_bytes(),
        Format::Json if tables.len() == 1 => serde_json::to_vec_pretty(&tables[0])?,
        Format::Json => serde_json::to_vec_pretty(&tables)?,
        Format::Pdf => to_pdf(&tables)?,
    };
    match &args.output {
        Some(path) => {
            std::fs::write(path, &bytes).with_context(|| format!("writing {}", path.display()))?;
            eprintln!(
                "wrote {} ({} bytes, {} rows)",
                path.display(),
                bytes.len(),
                tables.iter().map(|t| t.rows.len()).sum::<usize>()
            );
        }
        None => std::io::stdout().write_all(&bytes)?,
    }
    Ok(())
}

/// A table for the terminal: aligned columns (numbers to the right), then the notes.
fn render_table(table: &ReportTable) -> String {
    let cells: Vec<Vec<String>> = table
        .rows
        .iter()
        .map(|row| {
            row.iter()
                .zip(&table.columns)
                .map(|(cell, column)| match (cell, column.kind) {
                    (Cell::Text(s), _) => s.clone(),
                    (Cell::Int(i), _) => i.to_string(),
                    (Cell::Num(x), ColumnKind::Money) => format!("{x:.2}"),
                    (Cell::Num(x), ColumnKind::Percent) => format!("{x:.1}%"),
                    (Cell::Num(x), _) => format!("{x}"),
                    (Cell::Null, _) => "-".to_owned(),
                })
                .collect()
        })
        .collect();
    let widths: Vec<usize> = table
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            cells
                .iter()
                .map(|r| r[i].chars().count())
                .fold(c.label.chars().count(), usize::max)
        })
        .collect();
    let line = |values: Vec<&str>| -> String {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                if table.columns[i].kind == ColumnKind::Text {
                    format!("{v:<w$}", w = widths[i])
                } else {
                    format!("{v:>w$}", w = widths[i])
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    let mut out = format!("{} ({})\n\n", table.title, table.generated_at);
    out.push_str(&line(
        table.columns.iter().map(|c| c.label.as_str()).collect(),
    ));
    out.push('\n');
    for row in &cells {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
        out.push('\n');
    }
    if cells.is_empty() {
        out.push_str("(no rows)\n");
    }
    out.push('\n');
    for note in &table.notes {
        out.push_str(note);
        out.push('\n');
    }
    out
}

#[derive(Subcommand)]
pub enum StoreAction {
    /// Record a generated sales history for the demo catalog through the ledger.
    SeedHistory {
        /// Days of trade, ending yesterday (UTC).
        #[arg(long, default_value_t = 180)]
        days: u32,
        #[arg(long, default_value_t = vitrine_reports::demo::DEMO_SEED)]
        seed: u64,
    },
}

pub fn store_action(config: Config, action: StoreAction) -> Result<()> {
    match action {
        StoreAction::SeedHistory { days, seed } => {
            if !(1..=3650).contains(&days) {
                bail!("--days must be between 1 and 3650");
            }
            let path = &config.store.database;
            let mut store =
                Store::open(path).with_context(|| format!("opening {}", path.display()))?;
            store.seed_demo_if_empty()?;
            let last_day = now_s().div_euclid(86_400) - 1;
            let report = seed_history(
                &mut store,
                &HistoryOptions {
                    days,
                    seed,
                    last_day,
                },
            )?;
            println!(
                "{}: {} events recorded ({} already there), {} units sold, {} wanted while \
                 the shelf was empty",
                path.display(),
                report.events,
                report.duplicates,
                report.units_sold,
                report.lost_sales
            );
            Ok(())
        }
    }
}

fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[derive(Subcommand)]
pub enum Eval {
    /// MASE of every forecasting method and of the per-item backtest choice on a
    /// rolling-origin backtest of the UCI Online Retail history, against seasonal naive.
    Forecast {
        /// The history (CSV, optionally gzipped, with InvoiceNo, StockCode, Quantity,
        /// InvoiceDate, UnitPrice).
        #[arg(
            long,
            default_value = "../shared/data/online-retail/online_retail.csv.gz"
        )]
        data: PathBuf,
        /// Items must have sold on at least this many days.
        #[arg(long, default_value_t = 100)]
        min_selling_days: usize,
        /// Weekly evaluation origins (the last 7 × this days are forecast).
        #[arg(long, default_value_t = 8)]
        origins: usize,
        /// Weekly backtest origins behind each per-item choice.
        #[arg(long, default_value_t = SelectOptions::default().origins)]
        select_origins: usize,
    },
}

#[derive(Serialize)]
struct EvalFigures {
    items: usize,
    origins: usize,
    horizon_days: usize,
    seasonal_naive_mase: f64,
    chosen_mase: f64,
    chosen_vs_seasonal_naive: f64,
    improvement_pct: f64,
    best_single_method: String,
    best_single_mase: f64,
    seconds: f64,
    meets_target: bool,
}

pub fn eval(which: Eval) -> Result<()> {
    let Eval::Forecast {
        data,
        min_selling_days,
        origins,
        select_origins,
    } = which;
    let start = Instant::now();
    let items = load_online_retail(&data)?;
    let options = EvalOptions {
        min_selling_days,
        origins: origins.max(1),
        select: SelectOptions {
            origins: select_origins.max(1),
            ..SelectOptions::default()
        },
        ..EvalOptions::default()
    };
    println!(
        "{}: {} items over {} days ({} from {}); items selling on ≥ {min_selling_days} days, \
         {} weekly origins, horizon {} days",
        data.display(),
        items.items.len(),
        items.days,
        items
            .items
            .iter()
            .filter(|i| i.2 >= min_selling_days)
            .count(),
        vitrine_store::iso8601_utc(items.first_day * 86_400)[..10].to_owned(),
        options.origins,
        options.horizon
    );
    let result = evaluate(&items, &options);
    if result.items == 0 {
        bail!("no item sold on at least {min_selling_days} days with a usable backtest");
    }
    println!("\n{:<22} {:>8} {:>12}", "method", "MASE", "vs s-naive");
    for m in result.methods.iter().chain([&result.chosen]) {
        println!(
            "{:<22} {:>8.4} {:>11.1}%",
            m.method,
            m.mase,
            100.0 * (m.relative_to_seasonal_naive - 1.0)
        );
    }
    let picks: Vec<String> = result
        .choices
        .iter()
        .map(|(m, n)| format!("{m} {n}"))
        .collect();
    println!("\nchosen (items × origins): {}", picks.join(", "));
    let naive = result
        .methods
        .iter()
        .find(|m| m.method == "seasonal-naive")
        .map_or(f64::NAN, |m| m.mase);
    let best = result
        .methods
        .iter()
        .min_by(|a, b| a.mase.total_cmp(&b.mase))
        .expect("methods");
    let improvement_pct = 100.0 * (1.0 - result.chosen.relative_to_seasonal_naive);
    let meets_target = improvement_pct >= 10.0;
    println!(
        "per-item choice vs seasonal naive: {improvement_pct:.1} % better (target ≥ 10 %: {})",
        if meets_target { "met" } else { "MISSED" }
    );
    let figures = EvalFigures {
        items: result.items,
        origins: result.origins,
        horizon_days: result.horizon,
        seasonal_naive_mase: round4(naive),
        chosen_mase: round4(result.chosen.mase),
        chosen_vs_seasonal_naive: round4(result.chosen.relative_to_seasonal_naive),
        improvement_pct: round4(improvement_pct),
        best_single_method: best.method.clone(),
        best_single_mase: round4(best.mase),
        seconds: round4(start.elapsed().as_secs_f64()),
        meets_target,
    };
    println!("{}", serde_json::to_string(&figures)?);
    Ok(())
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

#[derive(Args)]
pub struct BenchReportsArgs {
    /// Ledger events in the bench store (one fifth deliveries, the rest sales).
    #[arg(long, default_value_t = 1_000_000)]
    events: usize,
    /// Variants in the bench catalog.
    #[arg(long, default_value_t = 5_000)]
    variants: usize,
    /// SKUs to forecast (synthetic half-year histories).
    #[arg(long, default_value_t = 10_000)]
    skus: usize,
    /// Timed runs per report (the median is reported).
    #[arg(long, default_value_t = 11)]
    runs: usize,
    /// Folder for the scratch database (default: the system temp folder).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

#[derive(Serialize)]
struct ReportsFigures {
    events: usize,
    variants: usize,
    counts: usize,
    /// Median milliseconds per report, by name.
    report_ms: std::collections::BTreeMap<String, f64>,
    /// CPU milliseconds per report (all threads; Linux), by name: the fairer figure when
    /// other work shares the machine.
    report_cpu_ms: std::collections::BTreeMap<String, f64>,
    slowest_report_ms: f64,
    /// The report totals brought up to date at the end of the import (as `vitrine import`
    /// does), in the build time, not in any report's.
    refresh_ms: f64,
    /// The first low-stock report after the import.
    first_report_ms: f64,
    /// The first reorder report after `kiosk_sales` more sales of as many variants (one
    /// transaction): it refreshes their totals itself.
    first_report_after_sales_ms: f64,
    kiosk_sales: usize,
    forecast_skus: usize,
    forecast_threads: usize,
    forecast_s: f64,
    /// CPU seconds of the forecasts, all threads together.
    forecast_cpu_s: Option<f64>,
    meets_targets: bool,
}

/// Builds a store with `events` ledger events through the feed import (as `bench ledger`
/// does) plus shelf counts, times every report, then forecasts `skus` synthetic histories.
pub fn bench(args: BenchReportsArgs) -> Result<()> {
    if cfg!(debug_assertions) {
        eprintln!("note: this is a debug build; speed figures come from `cargo run --release`");
    }
    let tmp = match &args.dir {
        Some(dir) => tempfile::Builder::new()
            .prefix("vitrine-bench-")
            .tempdir_in(dir),
        None => tempfile::Builder::new().prefix("vitrine-bench-").tempdir(),
    }
    .context("creating a scratch directory")?;
    let db = tmp.path().join("reports.db");
    let mut store = Store::open(&db)?;
    let skus = crate::ledger::bench_catalog(&mut store, args.variants.max(5))?;
    let deliveries = tmp.path().join("deliveries.csv");
    let sales = tmp.path().join("sales.csv");
    let delivery_rows = args.events / 5;
    crate::ledger::write_feeds(
        &skus,
        &deliveries,
        delivery_rows,
        &sales,
        args.events - delivery_rows,
    )?;
    let t = Instant::now();
    for (feed, file) in [(Feed::Deliveries, &deliveries), (Feed::Sales, &sales)] {
        let report = store.import_feed_file(feed, file, &ImportOptions::default())?;
        if report.rejected > 0 {
            bail!("the bench feed had rejected rows: {:?}", report.problems);
        }
    }
    let refresh_start = Instant::now();
    store.refresh_running_totals()?;
    let refresh_ms = refresh_start.elapsed().as_secs_f64() * 1000.0;
    // A shelf count of every tenth SKU at its home shelf, a few units short of the books.
    let origin = EventOrigin {
        store_id: "bench".into(),
        device_id: "bench".into(),
        actor: "bench".into(),
    };
    let products = store.products()?;
    let counts: Vec<NewEvent> = products
        .iter()
        .flat_map(|p| &p.variants)
        .step_by(10)
        .filter_map(|v| {
            let shelf = v.home_location.clone()?;
            let book = store.stock_level(&v.sku, &shelf).ok()?;
            Some(NewEvent::now(
                &origin,
                EventKind::Counted,
                &v.sku,
                &shelf,
                (book - 2).max(0),
            ))
        })
        .collect();
    store.record_events(&counts)?;
    println!(
        "reports bench: {} · {} variants · {} events + {} shelf counts (built in {:.1} s)",
        db.display(),
        skus.len(),
        args.events,
        counts.len(),
        t.elapsed().as_secs_f64()
    );

    let first = Instant::now();
    run_report(&store, &ReportQuery { kind: ReportKind::LowStock, ..ReportQuery::default() })?;
    let first_report_ms = first.elapsed().as_secs_f64() * 1000.0;
    println!("first report   {first_report_ms:9.2} ms  (low-stock, right after the import; its totals refresh took {refresh_ms:.1} ms at the import's end)");

    let mut report_ms = std::collections::BTreeMap::new();
    let mut report_cpu_ms = std::collections::BTreeMap::new();
    for kind in ReportKind::ALL {
        let query = ReportQuery {
            kind,
            ..ReportQuery::default()
        };
        let rows = run_report(&store, &query)?.rows.len();
        let ms = crate::ledger::median_ms(args.runs.max(1), || {
            run_report(&store, &query)?;
            Ok(())
        })?;
        // CPU time is counted in 10 ms ticks: spread over 21 more runs.
        let cpu_runs = 21;
        let before = crate::ledger::process_cpu_s();
        for _ in 0..cpu_runs {
            run_report(&store, &query)?;
        }
        let cpu_ms = crate::ledger::process_cpu_s()
            .zip(before)
            .map(|(after, before)| (after - before) * 1000.0 / f64::from(cpu_runs));
        let cpu_note = cpu_ms.map_or(String::new(), |cpu| format!(", {cpu:.1} ms of CPU"));
        println!(
            "{:<14} {ms:9.2} ms  ({rows} rows; median of {}{cpu_note})",
            kind.name(),
            args.runs.max(1)
        );
        report_ms.insert(kind.name().to_owned(), round4(ms));
        if let Some(cpu) = cpu_ms {
            report_cpu_ms.insert(kind.name().to_owned(), round4(cpu));
        }
    }
    // A day at the till: one sale of each of 1000 variants, then the first report that
    // reads the totals refreshes those variants itself.
    let till: Vec<NewEvent> = products
        .iter()
        .flat_map(|p| &p.variants)
        .filter_map(|v| {
            let shelf = v.home_location.as_deref()?;
            Some(NewEvent::now(&origin, EventKind::Sold, &v.sku, shelf, 1))
        })
        .take(1000)
        .collect();
    store.record_events(&till)?;
    let first = Instant::now();
    run_report(&store, &ReportQuery { kind: ReportKind::Reorder, ..ReportQuery::default() })?;
    let first_report_after_sales_ms = first.elapsed().as_secs_f64() * 1000.0;
    println!(
        "after sales    {first_report_after_sales_ms:9.2} ms  (the first reorder report after {} more sales, refreshing their totals)",
        till.len()
    );
    drop(store);
    let slowest_report_ms = report_ms
        .values()
        .copied()
        .chain([first_report_ms, first_report_after_sales_ms])
        .fold(0.0, f64::max);

    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    let histories = synthetic_histories(args.skus, 182);
    let t = Instant::now();
    let cpu_before = crate::ledger::process_cpu_s();
    let ordered = forecast_all(&histories, threads)?;
    let forecast_s = t.elapsed().as_secs_f64();
    let forecast_cpu_s = crate::ledger::process_cpu_s()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    println!(
        "forecasts     {forecast_s:9.2} s   ({} SKUs × 182 days: backtest choice among 6 \
         methods, 14-day forecast, reorder advice; {threads} threads; {ordered} to order)",
        histories.len()
    );
    let meets_targets = slowest_report_ms <= 50.0 && forecast_s <= 10.0;
    println!(
        "targets (every report ≤ 50 ms over {} events, {} forecasts ≤ 10 s): {}",
        args.events,
        histories.len(),
        if meets_targets { "met" } else { "MISSED" }
    );
    let figures = ReportsFigures {
        events: args.events,
        variants: skus.len(),
        counts: counts.len(),
        report_ms,
        report_cpu_ms,
        slowest_report_ms: round4(slowest_report_ms),
        refresh_ms: round4(refresh_ms),
        first_report_ms: round4(first_report_ms),
        first_report_after_sales_ms: round4(first_report_after_sales_ms),
        kiosk_sales: till.len(),
        forecast_skus: histories.len(),
        forecast_threads: threads,
        forecast_s: round4(forecast_s),
        forecast_cpu_s: forecast_cpu_s.map(round4),
        meets_targets,
    };
    println!("{}", serde_json::to_string(&figures)?);
    Ok(())
}

/// Deterministic daily histories: two thirds weekly-seasonal sellers at various rates, one
/// third intermittent.
fn synthetic_histories(skus: usize, days: usize) -> Vec<Vec<f64>> {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut uniform = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 11) as f64 / (1u64 << 53) as f64
    };
    let week = [0.8, 0.85, 0.9, 1.0, 1.25, 1.5, 0.7];
    (0..skus)
        .map(|i| {
            let rate = 0.2 + 12.0 * uniform();
            let intermittent = i % 3 == 2;
            (0..days)
                .map(|t| {
                    if intermittent {
                        if uniform() < 0.12 {
                            (1.0 + 4.0 * uniform()).floor()
                        } else {
                            0.0
                        }
                    } else {
                        (rate * week[t % 7] * (0.6 + 0.8 * uniform())).round()
                    }
                })
                .collect()
        })
        .collect()
}

/// Chooses, forecasts and sizes an order for every history, spread over `threads`; returns
/// how many would be ordered.
fn forecast_all(histories: &[Vec<f64>], threads: usize) -> Result<usize> {
    let policy = ReorderPolicy {
        lead_time_days: 5,
        review_period_days: 7,
        service_level: 0.95,
        pack_size: 6,
    };
    let chunk = histories.len().div_ceil(threads.max(1)).max(1);
    let counts: Vec<Result<usize>> = std::thread::scope(|scope| {
        let handles: Vec<_> = histories
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || -> Result<usize> {
                    let mut ordered = 0;
                    for history in part {
                        let choice = select(history, &SelectOptions::default());
                        let fc = forecast(choice.method, history, 14)?;
                        let on_hand = history[history.len() - 7..].iter().sum::<f64>();
                        if reorder_advice(&fc.mean, &fc.sd, on_hand, &policy)?.order_quantity > 0 {
                            ordered += 1;
                        }
                    }
                    Ok(ordered)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a forecasting thread panicked"))
            .collect()
    });
    counts.into_iter().sum()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn config(dir: &Path) -> Config {
        let mut config = Config::default();
        config.store.database = dir.join("v.db");
        config
    }

    fn args(name: &str, format: Format, output: Option<PathBuf>) -> ReportArgs {
        ReportArgs {
            name: name.into(),
            format,
            output,
            search: None,
            location: None,
            category: None,
            window_days: 28,
        }
    }

    #[test]
    fn reports_are_written_as_csv_json_and_pdf() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("low.csv");
        report(
            config(dir.path()),
            args("stock", Format::Csv, Some(csv.clone())),
        )
        .unwrap();
        let text = std::fs::read_to_string(&csv).unwrap();
        assert!(text.starts_with("SKU,Product,"), "{text}");
        assert!(text.lines().count() > 50);

        let json = dir.path().join("all.json");
        report(
            config(dir.path()),
            args("all", Format::Json, Some(json.clone())),
        )
        .unwrap();
        let tables: Vec<ReportTable> =
            serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        assert_eq!(tables.len(), ReportKind::ALL.len());

        let pdf = dir.path().join("all.pdf");
        report(
            config(dir.path()),
            args("all", Format::Pdf, Some(pdf.clone())),
        )
        .unwrap();
        assert!(std::fs::read(&pdf).unwrap().starts_with(b"%PDF-1.4"));

        let err = report(config(dir.path()), args("all", Format::Csv, None)).unwrap_err();
        assert!(err.to_string().contains("one report"), "{err}");
        let err = report(config(dir.path()), args("shrink", Format::Table, None)).unwrap_err();
        assert!(err.to_string().contains("low-stock"), "{err}");
    }

    #[test]
    fn tables_align_numbers_right() {
        let store = {
            let mut s = Store::open_in_memory().unwrap();
            s.seed_demo_if_empty().unwrap();
            s
        };
        let table = run_report(&store, &ReportQuery::default()).unwrap();
        let text = render_table(&table);
        assert!(text.starts_with("Stock on hand ("));
        assert!(text.contains("VT-TEE-ORBIT-M-INK"));
        assert!(
            text.lines()
                .any(|l| l.ends_with("  6          38.40          114.00")),
            "{text}"
        );
    }

    #[test]
    fn a_small_reports_bench_runs_end_to_end() {
        bench(BenchReportsArgs {
            events: 3_000,
            variants: 50,
            skus: 30,
            runs: 1,
            dir: None,
        })
        .unwrap();
    }

    #[test]
    fn a_missing_history_file_is_named() {
        let err = eval(Eval::Forecast {
            data: "/nonexistent/online_retail.csv.gz".into(),
            min_selling_days: 100,
            origins: 8,
            select_origins: 6,
        })
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("/nonexistent/online_retail.csv.gz"),
            "{err}"
        );
        assert!(err.to_string().contains("--data"), "{err}");
    }
}

//! `vitrine sync [--watch]` and `vitrine bench sync`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use serde::Serialize;
use vitrine_config::{Config, SyncConfig};
use vitrine_store::{EventKind, NewEvent, Store};
use vitrine_sync::{SyncClient, SyncReport, SyncSettings};

#[derive(Args)]
pub struct SyncArgs {
    /// Keep syncing every `[sync] interval_secs` until stopped (failures are reported and
    /// retried, never fatal).
    #[arg(long)]
    watch: bool,
    /// Only print where sync stands (pending events, last push and pull, last error, other
    /// stores) as JSON, without contacting HQ.
    #[arg(long, conflicts_with = "watch")]
    status: bool,
}

/// Where HQ is, for commands that may override `[sync]` from the command line.
#[derive(Args)]
pub struct HqArgs {
    /// HQ's base URL (default: `[sync] hq_url`).
    #[arg(long)]
    hq_url: Option<String>,
    /// File holding this store's token (default: `[sync] token_file`).
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// PEM certificate to trust for HQ (default: `[sync] ca_file`).
    #[arg(long)]
    ca_file: Option<PathBuf>,
}

impl HqArgs {
    fn settings(self, config: &SyncConfig) -> Result<SyncSettings> {
        let mut config = config.clone();
        if let Some(url) = self.hq_url {
            config.hq_url = Some(url);
        }
        if let Some(file) = self.token_file {
            config.token_file = file;
        }
        if let Some(file) = self.ca_file {
            config.ca_file = Some(file);
        }
        SyncSettings::from_config(&config)?
            .context("sync is off: set [sync] hq_url in vitrine.toml (or pass --hq-url)")
    }
}

/// One round with HQ (or rounds forever with `--watch`); the last line is the round's
/// report as JSON.
pub fn sync(config: Config, args: SyncArgs, hq: HqArgs) -> Result<()> {
    if args.status {
        let store = Store::open(&config.store.database)
            .with_context(|| format!("opening {}", config.store.database.display()))?;
        println!("{}", serde_json::to_string_pretty(&store.sync_status()?)?);
        return Ok(());
    }
    let settings = hq.settings(&config.sync)?;
    let interval = settings.interval;
    let hq_url = settings.hq_url.clone();
    let client = SyncClient::new(settings)?;
    let mut store = Store::open(&config.store.database)
        .with_context(|| format!("opening {}", config.store.database.display()))?;
    if config.store.seed_demo {
        store.seed_demo_if_empty()?;
    }
    loop {
        match client.sync_once(&mut store) {
            Ok(report) => print_report(&hq_url, &report)?,
            Err(e) if args.watch => eprintln!("sync with {hq_url} failed: {e}; trying again in {}s", interval.as_secs()),
            Err(e) => return Err(e).with_context(|| format!("syncing with {hq_url}")),
        }
        if !args.watch {
            return Ok(());
        }
        std::thread::sleep(interval);
    }
}

fn print_report(hq_url: &str, report: &SyncReport) -> Result<()> {
    println!(
        "synced with {hq_url}: pushed {} new events ({} HQ had already) in {} requests, {} ms; \
         pulled {} catalog changes and {} stores' stock in {} requests, {} ms; {} retries",
        report.pushed,
        report.duplicates,
        report.push_requests,
        report.push_ms,
        report.catalog_changes,
        report.stores_updated,
        report.pull_requests,
        report.pull_ms,
        report.retries
    );
    println!("{}", serde_json::to_string(report)?);
    Ok(())
}

#[derive(Args)]
pub struct BenchSyncArgs {
    /// Events to record locally and push.
    #[arg(long, default_value_t = 100_000)]
    events: usize,
    /// Events per push request (default: `[sync] batch_size`).
    #[arg(long)]
    batch_size: Option<usize>,
    /// Folder for the scratch database (default: the system temp folder).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    #[command(flatten)]
    hq: HqArgs,
}

#[derive(Debug, Serialize)]
struct SyncFigures {
    events: u64,
    batch_size: usize,
    record_s: f64,
    push_s: f64,
    push_events_per_s: f64,
    push_requests: u64,
    pull_ms: f64,
    resync_ms: f64,
    sync_s: f64,
    meets_target: bool,
}

/// Records `events` in a fresh kiosk database (demo catalog), then times one full sync
/// against a running HQ: the push of every event in batches, the pull, and a second round
/// with nothing left to send.
pub fn bench(config: Config, args: BenchSyncArgs) -> Result<()> {
    if cfg!(debug_assertions) {
        eprintln!("note: this is a debug build; speed figures come from `cargo run --release`");
    }
    let mut settings = args.hq.settings(&config.sync)?;
    if let Some(size) = args.batch_size {
        settings.batch_size = size.clamp(1, vitrine_sync::protocol::MAX_PUSH_EVENTS);
    }
    let batch_size = settings.batch_size;
    let hq_url = settings.hq_url.clone();
    let tmp = match &args.dir {
        Some(dir) => tempfile::Builder::new().prefix("vitrine-bench-").tempdir_in(dir),
        None => tempfile::Builder::new().prefix("vitrine-bench-").tempdir(),
    }
    .context("creating a scratch directory")?;
    let mut store = Store::open(tmp.path().join("kiosk.db"))?;
    store.seed_demo_if_empty()?;

    let started = Instant::now();
    record_bench_events(&mut store, args.events)?;
    let record_s = started.elapsed().as_secs_f64();
    let pending = store.outbox_len()?;
    println!("sync bench: {pending} events waiting for {hq_url} (recorded in {record_s:.2} s), batches of {batch_size}");

    let client = SyncClient::new(settings)?;
    let started = Instant::now();
    let report = client.sync_once(&mut store)?;
    let sync_s = started.elapsed().as_secs_f64();
    if store.outbox_len()? != 0 || report.pushed + report.duplicates != pending {
        bail!("HQ acknowledged {} of {pending} events", report.pushed + report.duplicates);
    }
    let push_s = report.push_ms as f64 / 1000.0;
    let push_events_per_s = pending as f64 / push_s.max(1e-3);
    println!("push     {push_events_per_s:10.0} events/s  ({push_s:.2} s, {} requests, {} retries)", report.push_requests, report.retries);
    println!("pull     {:10} ms        ({} catalog changes, {} stores)", report.pull_ms, report.catalog_changes, report.stores_updated);
    let started = Instant::now();
    client.sync_once(&mut store)?;
    let resync_ms = started.elapsed().as_secs_f64() * 1000.0;
    println!("resync   {resync_ms:10.1} ms        (nothing left to push)");
    let meets_target = pending >= 100_000 && sync_s <= 5.0;
    println!("target (100000 events synced on loopback in ≤ 5 s): {sync_s:.2} s for {pending}: {}", if sync_s <= 5.0 { "met" } else { "MISSED" });
    let round3 = |x: f64| (x * 1000.0).round() / 1000.0;
    let figures = SyncFigures {
        events: pending,
        batch_size,
        record_s: round3(record_s),
        push_s: round3(push_s),
        push_events_per_s: push_events_per_s.round(),
        push_requests: report.push_requests,
        pull_ms: report.pull_ms as f64,
        resync_ms: round3(resync_ms),
        sync_s: round3(sync_s),
        meets_target,
    };
    println!("{}", serde_json::to_string(&figures)?);
    Ok(())
}

/// Deliveries, sales and a few counts over the demo catalog, 5000 per transaction.
fn record_bench_events(store: &mut Store, events: usize) -> Result<()> {
    let skus: Vec<String> = store.products()?.iter().flat_map(|p| p.variants.iter().map(|v| v.sku.clone())).collect();
    let locations: Vec<String> = store.locations()?.into_iter().map(|l| l.code).collect();
    if skus.is_empty() || locations.is_empty() {
        bail!("the bench catalog is empty");
    }
    let origin = store.origin("bench");
    let mut batch = Vec::with_capacity(5_000);
    for i in 0..events {
        let kind = match i % 10 {
            0..=2 => EventKind::Received,
            9 => EventKind::Counted,
            _ => EventKind::Sold,
        };
        let event = NewEvent::now(&origin, kind, &skus[i % skus.len()], &locations[i / 7 % locations.len()], (i % 3 + 1) as i64);
        batch.push(event);
        if batch.len() == 5_000 || i + 1 == events {
            store.record_events(&batch)?;
            batch.clear();
        }
    }
    Ok(())
}

//! `vitrine bench soak`: the kiosk's work all at once for a long time — the mirror with a
//! garment on over a clip (frames read as the page reads them), a shelf scan every minute, sale
//! imports every few seconds, and sync rounds with HQ when `[sync]` names one — while the
//! process's memory, file descriptors and threads are sampled every second.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;
use serde::Serialize;
use vitrine_app::{App, ShelfInput};
use vitrine_config::Config;
use vitrine_store::{Feed, ImportOptions, Store};

#[derive(Args)]
pub struct SoakArgs {
    /// How long to run.
    #[arg(long, default_value_t = 5.0)]
    minutes: f64,
    /// The clip the mirror plays, looped (default: the demo clip setup renders).
    #[arg(long, default_value = "var/demo/astronaut_720p.mp4")]
    clip: PathBuf,
    /// The shelf photo scanned every minute.
    #[arg(long, default_value = "assets/demo/shelf_demo.jpg")]
    shelf: PathBuf,
    /// Seconds between shelf scans.
    #[arg(long, default_value_t = 60)]
    scan_every: u64,
    /// Seconds between sale imports (200 lines each).
    #[arg(long, default_value_t = 10)]
    import_every: u64,
    /// Run on this database instead of a scratch copy seeded with the demo store (the store's
    /// own file is never touched unless named here).
    #[arg(long, value_name = "FILE")]
    soak_database: Option<PathBuf>,
}

#[derive(Debug, Default, Serialize)]
struct SoakFigures {
    minutes: f64,
    rss_start_mb: f64,
    rss_max_mb: f64,
    rss_end_mb: f64,
    rss_growth_pct: f64,
    fps_p5: f64,
    fps_median: f64,
    fds_start: u64,
    fds_max: u64,
    threads_max: u64,
    frames: u64,
    frames_read: u64,
    mirror_errors: u64,
    scans: u64,
    scan_errors: u64,
    imported_rows: u64,
    sync: bool,
    sync_pending_end: Option<u64>,
    sync_last_error: Option<String>,
}

/// One second's sample of the process.
#[derive(Debug, Clone, Copy)]
struct Sample {
    at: Duration,
    rss_mb: f64,
    fds: u64,
    threads: u64,
    fps: f64,
}

pub fn soak(mut config: Config, args: SoakArgs) -> Result<()> {
    if !args.clip.is_file() {
        bail!("no clip at {} (scripts/setup.sh renders the demo clip; or pass --clip)", args.clip.display());
    }
    if !args.shelf.is_file() {
        bail!("no shelf photo at {} (pass --shelf)", args.shelf.display());
    }
    let total = Duration::from_secs_f64(args.minutes.max(0.1) * 60.0);
    // Memory settles after the first minute (models, caches, the first scan); shorter runs
    // take their first fifth as warm-up.
    let warm_up = Duration::from_secs(60).min(total / 5);
    let scratch = tempfile::tempdir()?;
    config.store.database = args.soak_database.clone().unwrap_or_else(|| scratch.path().join("soak.db"));
    config.store.seed_demo = true;
    config.camera.source = format!("video:{}", args.clip.display());
    let sync = config.sync.hq_url.is_some();

    let app = Arc::new(App::start(config.clone()));
    let garment = app
        .garments()
        .ok()
        .and_then(|choices| choices.into_iter().find_map(|c| c.variants.into_iter().next().map(|v| v.sku)));
    app.start_mirror()?;
    match &garment {
        Some(sku) => app.set_garment(Some(sku)).with_context(|| format!("trying on {sku}"))?,
        None => eprintln!("soak: no garment in the store; the mirror runs without try-on"),
    }
    let slot = app.session_slot();
    let sign_in = || app.sign_in(&slot, "Demo Clerk", "1357");
    sign_in().context("signing in the demo clerk for shelf scans")?;

    let stop = Arc::new(AtomicBool::new(false));
    // The page's part: read every finished frame as the WebView does.
    let frames_read = Arc::new(AtomicU64::new(0));
    let reader = {
        let (app, stop, frames_read) = (app.clone(), stop.clone(), frames_read.clone());
        std::thread::spawn(move || {
            let mut last = 0;
            while !stop.load(Ordering::Relaxed) {
                match app.frames().and_then(|board| board.newer_than(last, Duration::from_millis(500))) {
                    Some((seq, frame)) => {
                        last = seq;
                        std::hint::black_box(&frame);
                        frames_read.fetch_add(1, Ordering::Relaxed);
                    }
                    None => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        })
    };

    let mut importer = Store::open(&config.store.database).context("opening the soak database for imports")?;
    let sales = scratch.path().join("sales.csv");
    let skus = demo_skus(&importer)?;
    let started = Instant::now();
    let (mut next_scan, mut next_import, mut next_sample, mut next_progress) =
        (Duration::from_secs(5), Duration::ZERO, Duration::ZERO, Duration::from_secs(30));
    let mut samples: Vec<Sample> = Vec::new();
    let mut figures = SoakFigures { minutes: total.as_secs_f64() / 60.0, sync, ..SoakFigures::default() };
    let mut import_round = 0u64;
    while started.elapsed() < total {
        let now = started.elapsed();
        if now >= next_sample {
            let fps = app.mirror_stats().map_or(0.0, |s| s.fps);
            samples.push(Sample { at: now, rss_mb: rss_mb()?, fds: fd_count()?, threads: thread_count()?, fps });
            next_sample += Duration::from_secs(1);
        }
        if now >= next_scan {
            let scan = app.scan_shelf(&slot, ShelfInput::Path(args.shelf.clone()), None, None).or_else(|_| {
                // The clerk's session idles out between scans; sign in again, as a clerk would.
                sign_in()?;
                app.scan_shelf(&slot, ShelfInput::Path(args.shelf.clone()), None, None)
            });
            match scan {
                Ok(report) => {
                    figures.scans += 1;
                    let _ = app.discard_shelf_scan(&slot, &report.scan_id);
                }
                Err(e) => {
                    figures.scan_errors += 1;
                    eprintln!("soak: shelf scan failed: {e}");
                }
            }
            next_scan += Duration::from_secs(args.scan_every.max(1));
        }
        if now >= next_import {
            import_round += 1;
            write_sales(&sales, import_round, &skus)?;
            let report = importer.import_feed_file(Feed::Sales, &sales, &ImportOptions::default())?;
            figures.imported_rows += report.inserted;
            next_import += Duration::from_secs(args.import_every.max(1));
        }
        if now >= next_progress {
            if let Some(last) = samples.last() {
                eprintln!(
                    "soak {:.1}/{:.1} min: rss {:.0} MB, {:.1} fps, {} fds, {} threads, {} scans, {} rows imported",
                    now.as_secs_f64() / 60.0,
                    figures.minutes,
                    last.rss_mb,
                    last.fps,
                    last.fds,
                    last.threads,
                    figures.scans,
                    figures.imported_rows
                );
            }
            next_progress += Duration::from_secs(30);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, Ordering::Relaxed);
    let _ = reader.join();
    if let Some(stats) = app.mirror_stats() {
        figures.frames = stats.processed;
        figures.mirror_errors = stats.errors;
    }
    figures.frames_read = frames_read.load(Ordering::Relaxed);
    if sync {
        if let Ok(status) = importer.sync_status() {
            figures.sync_pending_end = Some(status.pending_events);
            figures.sync_last_error = status.last_error;
        }
    }
    summarise(&mut figures, &samples, warm_up);
    app.stop_mirror();
    std::io::stdout().flush()?;
    println!(
        "rss {:.0} MB after warm-up, {:.0} MB at most, {:+.1} % growth; {:.1} fps median, {:.1} fps p5; at most {} fds and {} threads; {} frames, {} shelf scans, {} rows imported",
        figures.rss_start_mb,
        figures.rss_max_mb,
        figures.rss_growth_pct,
        figures.fps_median,
        figures.fps_p5,
        figures.fds_max,
        figures.threads_max,
        figures.frames,
        figures.scans,
        figures.imported_rows
    );
    println!("{}", serde_json::to_string(&figures)?);
    Ok(())
}

fn summarise(figures: &mut SoakFigures, samples: &[Sample], warm_up: Duration) {
    let settled: Vec<&Sample> = samples.iter().filter(|s| s.at >= warm_up).collect();
    let Some(first) = settled.first() else { return };
    figures.rss_start_mb = first.rss_mb;
    figures.rss_max_mb = samples.iter().map(|s| s.rss_mb).fold(0.0, f64::max);
    figures.rss_end_mb = settled.last().map_or(0.0, |s| s.rss_mb);
    let settled_max = settled.iter().map(|s| s.rss_mb).fold(0.0, f64::max);
    figures.rss_growth_pct = (settled_max - first.rss_mb) / first.rss_mb * 100.0;
    let mut fps: Vec<f64> = settled.iter().map(|s| s.fps).collect();
    fps.sort_by(f64::total_cmp);
    figures.fps_p5 = fps[(fps.len() as f64 * 0.05) as usize];
    figures.fps_median = fps[fps.len() / 2];
    figures.fds_start = first.fds;
    figures.fds_max = samples.iter().map(|s| s.fds).max().unwrap_or(0);
    figures.threads_max = samples.iter().map(|s| s.threads).max().unwrap_or(0);
}

fn demo_skus(store: &Store) -> Result<Vec<(String, String)>> {
    let mut skus = Vec::new();
    for product in store.products()? {
        for variant in product.variants {
            if let Some(home) = variant.home_location {
                skus.push((variant.sku, home));
            }
        }
    }
    if skus.is_empty() {
        bail!("the soak database has no variant with a home location to sell from");
    }
    Ok(skus)
}

/// 200 sale lines, new ids each round, spread over the catalog.
fn write_sales(path: &Path, round: u64, skus: &[(String, String)]) -> Result<()> {
    let mut text = String::from("sale_id,line,timestamp,sku,quantity,location\n");
    let now = vitrine_store::iso8601_utc(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64),
    );
    for line in 0..200u64 {
        let (sku, location) = &skus[(round * 200 + line) as usize % skus.len()];
        text += &format!("SOAK-{round}-{},{},{now},{sku},1,{location}\n", line / 4, line % 4 + 1);
    }
    std::fs::write(path, text)?;
    Ok(())
}

fn proc_status(key: &str) -> Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("no {key} in /proc/self/status"))
}

fn rss_mb() -> Result<f64> {
    Ok(proc_status("VmRSS:")? as f64 / 1024.0)
}

fn thread_count() -> Result<u64> {
    proc_status("Threads:")
}

fn fd_count() -> Result<u64> {
    Ok(std::fs::read_dir("/proc/self/fd")?.count() as u64)
}

//! The plain (non-bench) subcommands.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use vitrine_app::App;
use vitrine_config::Config;
use vitrine_infer::ModelState;

pub fn models(config: Config, runs: usize) -> Result<()> {
    let app = App::start(config);
    let runtime = app.runtime().map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("ONNX Runtime: {}  (providers tried: {})", runtime.library().display(), join(runtime.providers()));
    let mut any = false;
    for entry in app.registry().entries() {
        any = true;
        println!("\n{}  [{}]", entry.name, entry.task);
        match &entry.state {
            ModelState::Disabled(reason) => println!("  DISABLED: {reason}"),
            ModelState::Ready(model) => {
                let mut model = model.lock().unwrap_or_else(|e| e.into_inner());
                println!("  provider: {}", model.provider());
                for (kind, specs) in [("input ", &model.manifest().inputs), ("output", &model.manifest().outputs)] {
                    for s in specs.iter() {
                        println!("  {kind} {:<16} {:?} {:?}", s.name, s.shape, s.dtype);
                    }
                }
                match model.median_latency_ms(runs) {
                    Ok(ms) => println!("  median latency: {ms:.2} ms over {runs} runs"),
                    Err(e) => println!("  latency: failed: {e}"),
                }
            }
        }
    }
    if !any {
        println!("no models found under {}", app.config.inference.models_dir.display());
    }
    Ok(())
}

pub fn mirror(config: Config, frames: u64) -> Result<()> {
    let app = App::start(config);
    app.start_mirror()?;
    let board = app.frames().context("mirror did not start")?;
    let start = Instant::now();
    let mut last_seq = 0;
    let mut got = 0;
    let deadline = Duration::from_secs(10);
    let mut idle_since = Instant::now();
    while got < frames {
        match board.newer_than(last_seq, Duration::from_millis(500)) {
            Some((seq, _frame)) => {
                last_seq = seq;
                got += 1;
                idle_since = Instant::now();
            }
            None => {
                let status = app.status();
                if status.source.state == "error" || status.source.state == "stopped" {
                    bail!("no frames: {}", status.source.message.unwrap_or_else(|| "the source stopped".into()));
                }
                if idle_since.elapsed() > deadline {
                    bail!("no frames for {} s from {}", deadline.as_secs(), status.source.description);
                }
            }
        }
    }
    let status = app.status();
    app.stop_mirror();
    let secs = start.elapsed().as_secs_f64();
    let stats = status.mirror.unwrap_or_default();
    println!("source: {}", status.source.description);
    println!(
        "{got} frames shown in {secs:.1} s ({:.1} fps); captured {}, dropped {}, skipped {}, errors {}",
        got as f64 / secs,
        stats.captured,
        stats.dropped,
        stats.skipped,
        stats.errors
    );
    println!("last frame: {:?}", stats.last);
    Ok(())
}

pub fn cameras() -> Result<()> {
    let cams = vitrine_capture::list_cameras();
    if cams.is_empty() {
        println!("no camera found; {}", vitrine_capture::ALTERNATIVES);
    }
    for c in cams {
        println!("{c}");
    }
    Ok(())
}

pub fn store(config: Config) -> Result<()> {
    let app = App::start(config);
    let store = app.store().map_err(|e| anyhow::anyhow!("{e}"))?;
    let store = store.lock().unwrap_or_else(|e| e.into_inner());
    println!("database: {}  (schema v{})", app.config.store.database.display(), store.schema_version()?);
    let s = store.catalog_summary()?;
    println!("{} products, {} variants, {} locations, {} ledger events", s.products, s.variants, s.locations, s.events);
    println!("\n{:<16} {:<28} {:>6} {:>8} {:>8}", "SKU", "product", "size", "colour", "on hand");
    for v in store.stock_by_variant()? {
        println!(
            "{:<16} {:<28} {:>6} {:>8} {:>8}",
            v.sku,
            v.product_name,
            v.size.as_deref().unwrap_or("-"),
            v.colour.as_deref().unwrap_or("-"),
            v.on_hand
        );
    }
    Ok(())
}

fn join<T: std::fmt::Display>(items: &[T]) -> String {
    items.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(" → ")
}

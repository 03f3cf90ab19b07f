//! `vitrine bench …`: measured speed, each ending with one line of JSON.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use serde::Serialize;
use vitrine_app::App;
use vitrine_capture::{CaptureOptions, FrameSource, VideoSource};
use vitrine_config::Config;

#[derive(Subcommand)]
pub enum Bench {
    /// The mirror pipeline at 720p (decode → preprocess → infer → composite → encode), and the
    /// same pipeline in Python (onnxruntime + OpenCV) side by side.
    Mirror {
        /// Video to run on (default: the demo clip made by scripts/setup.sh).
        #[arg(long, default_value = "var/demo/astronaut_720p.mp4")]
        input: PathBuf,
        /// Frames to time (after 10 warm-up frames).
        #[arg(long, default_value_t = 300)]
        frames: usize,
        /// Skip the Python peer.
        #[arg(long)]
        no_python: bool,
        /// Python interpreter with onnxruntime and cv2 (default: .venv/bin/python).
        #[arg(long, env = "VITRINE_PYTHON")]
        python: Option<PathBuf>,
    },
    /// The stock ledger: ingest through the CSV import path (batched transactions) into a
    /// fresh database, then one SKU's stock level and the full stock report.
    Ledger {
        /// Events to ingest (one fifth deliveries, the rest sales and returns).
        #[arg(long, default_value_t = 1_000_000)]
        events: usize,
        /// Variants in the bench catalog.
        #[arg(long, default_value_t = 5_000)]
        variants: usize,
        /// Folder for the scratch database (default: the system temp folder).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Default, Serialize)]
struct MirrorFigures {
    fps: f64,
    decode_ms: f64,
    preprocess_ms: f64,
    infer_ms: f64,
    composite_ms: f64,
    encode_ms: f64,
    width: u32,
    height: u32,
    frames: usize,
    python_fps: Option<f64>,
    vs_python: Option<f64>,
}

pub fn run(config: Config, which: Bench) -> Result<()> {
    match which {
        Bench::Mirror { input, frames, no_python, python } => mirror(config, &input, frames, no_python, python),
        Bench::Ledger { events, variants, dir } => crate::ledger::bench(events, variants, dir),
    }
}

fn mirror(config: Config, input: &Path, frames: usize, no_python: bool, python: Option<PathBuf>) -> Result<()> {
    if cfg!(debug_assertions) {
        eprintln!("note: this is a debug build; speed figures come from `cargo run --release`");
    }
    if !input.is_file() {
        bail!("{} not found: run scripts/setup.sh (it renders the demo clip) or pass --input", input.display());
    }
    let app = App::start(config);
    let mut pipeline = app.mirror_pipeline();
    if !pipeline.has_segmentation() {
        bail!("the segmentation model {:?} is not available (see `vitrine models`)", app.config.mirror.segmentation_model);
    }
    let model_path = app.registry().model(&app.config.mirror.segmentation_model)?.lock().unwrap_or_else(|e| e.into_inner()).path().to_owned();
    let options = CaptureOptions { realtime: false, looping: true, ..Default::default() };
    let mut source = VideoSource::open(input, &options)?;
    println!("mirror bench: {} · model {} · {} frames", source.describe(), model_path.display(), frames);

    for _ in 0..10 {
        let frame = source.next_frame()?;
        pipeline.process(&frame)?;
    }
    let mut fig = MirrorFigures { frames, ..Default::default() };
    let start = Instant::now();
    for _ in 0..frames {
        let t = Instant::now();
        let frame = source.next_frame()?;
        fig.decode_ms += t.elapsed().as_secs_f64() * 1000.0;
        let out = pipeline.process(&frame)?;
        (fig.width, fig.height) = (out.width, out.height);
        fig.preprocess_ms += out.timings.preprocess_ms;
        fig.infer_ms += out.timings.infer_ms;
        fig.composite_ms += out.timings.composite_ms;
        fig.encode_ms += out.timings.encode_ms;
    }
    let secs = start.elapsed().as_secs_f64();
    let n = frames as f64;
    fig.fps = n / secs;
    for v in [&mut fig.decode_ms, &mut fig.preprocess_ms, &mut fig.infer_ms, &mut fig.composite_ms, &mut fig.encode_ms] {
        *v /= n;
    }
    print_row("rust", fig.fps, [fig.decode_ms, fig.preprocess_ms, fig.infer_ms, fig.composite_ms, fig.encode_ms]);

    if !no_python {
        let py = python.unwrap_or_else(|| PathBuf::from(".venv/bin/python"));
        let script = Path::new("benches/mirror_pipeline.py");
        let output = Command::new(&py)
            .arg(script)
            .args(["--input".as_ref(), input.as_os_str(), "--model".as_ref(), model_path.as_os_str()])
            .args(["--frames", &frames.to_string(), "--quality", &app.config.mirror.jpeg_quality.to_string()])
            .output()
            .with_context(|| format!("running {} {}", py.display(), script.display()))?;
        if !output.status.success() {
            bail!("the Python pipeline failed:\n{}", String::from_utf8_lossy(&output.stderr));
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        let last = stdout.lines().last().unwrap_or_default();
        let py_fig: serde_json::Value = serde_json::from_str(last).with_context(|| format!("Python printed {last:?}"))?;
        let get = |k: &str| py_fig[k].as_f64().unwrap_or(f64::NAN);
        print_row("python", get("fps"), [get("decode_ms"), get("preprocess_ms"), get("infer_ms"), get("composite_ms"), get("encode_ms")]);
        fig.python_fps = Some(get("fps"));
        fig.vs_python = Some(fig.fps / get("fps"));
        println!("rust / python: {:.2}x", fig.fps / get("fps"));
    }
    println!("{}", serde_json::to_string(&fig)?);
    Ok(())
}

fn print_row(name: &str, fps: f64, stages: [f64; 5]) {
    let [decode, pre, infer, comp, enc] = stages;
    println!(
        "{name:<7} {fps:7.1} fps | decode {decode:6.2} ms | preprocess {pre:6.2} ms | infer {infer:6.2} ms | composite {comp:6.2} ms | encode {enc:6.2} ms"
    );
}

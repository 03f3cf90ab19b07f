//! `vitrine bench tryon`: try-on speed on real frames, ending with one line of JSON.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use opencv::core::{self, Mat, Scalar, Size};
use opencv::imgproc;
use opencv::prelude::*;
use serde::Serialize;
use vitrine_app::App;
use vitrine_capture::{CaptureOptions, FrameSource, VideoSource};
use vitrine_config::{BackgroundMode, Config};
use vitrine_garment::{demo, Garment, GarmentKind};
use vitrine_tryon::Worn;
use vitrine_vision::frame_to_bgr_mat;

#[derive(Args)]
pub struct BenchArgs {
    /// A video or a photo of a person (scaled and padded to 1280×720).
    #[arg(long, default_value = "../shared/data/media/videos/tfjs_pose_squats_pexels-4838220.mp4")]
    input: PathBuf,
    /// Frames to time (after 10 warm-up frames).
    #[arg(long, default_value_t = 150)]
    frames: usize,
    /// The garment: a variant SKU with one (default: the demo tee drawn in code).
    #[arg(long)]
    sku: Option<String>,
    /// Run the GAN in the live path on every N-th frame too (0: not at all).
    #[arg(long, default_value_t = 1)]
    gan_every: u32,
}

#[derive(Debug, Default, Serialize)]
struct BenchFigures {
    width: i32,
    height: i32,
    frames: usize,
    segment_ms: f64,
    background_ms: f64,
    pose_ms: f64,
    filter_ms: f64,
    warp_ms: f64,
    composite_ms: f64,
    jpeg_ms: f64,
    fps: f64,
    dressed_frames: usize,
    gan_live_ms: Option<f64>,
    gan_live_fps: Option<f64>,
    gan_every: u32,
    gan_still_ms: Option<f64>,
    plain_still_ms: f64,
}

/// 1280×720 frames of the input, a person scaled to the height and centred.
fn frames_720p(input: &Path, count: usize) -> Result<Vec<vitrine_frame::Frame>> {
    let is_video = matches!(input.extension().and_then(|e| e.to_str()), Some("mp4" | "avi" | "mov" | "mkv" | "webm"));
    let mut bgr_frames = Vec::new();
    if is_video {
        let mut source = VideoSource::open(input, &CaptureOptions { realtime: false, looping: true, ..Default::default() })?;
        for _ in 0..count {
            let mut bgr = Mat::default();
            frame_to_bgr_mat(&source.next_frame()?, &mut bgr)?;
            bgr_frames.push(bgr);
        }
    } else {
        let bgr = opencv::imgcodecs::imread(input.to_str().context("path")?, opencv::imgcodecs::IMREAD_COLOR)?;
        if bgr.empty() {
            bail!("{} is not a readable image or video", input.display());
        }
        bgr_frames.push(bgr);
    }
    bgr_frames
        .iter()
        .map(|bgr| {
            let padded = pad_to(bgr, 1280, 720)?;
            Ok(vitrine_capture::frame_from_bgr_mat(&padded)?)
        })
        .collect()
}

fn pad_to(bgr: &Mat, w: i32, h: i32) -> Result<Mat> {
    let s = (w as f64 / bgr.cols() as f64).min(h as f64 / bgr.rows() as f64);
    let size = Size::new((bgr.cols() as f64 * s).round() as i32, (bgr.rows() as f64 * s).round() as i32);
    let mut scaled = Mat::default();
    imgproc::resize(bgr, &mut scaled, size, 0.0, 0.0, imgproc::INTER_AREA)?;
    let mut out = Mat::new_rows_cols_with_default(h, w, core::CV_8UC3, Scalar::new(128.0, 128.0, 128.0, 0.0))?;
    let roi = core::Rect::new((w - size.width) / 2, (h - size.height) / 2, size.width, size.height);
    scaled.copy_to(&mut Mat::roi_mut(&mut out, roi)?)?;
    Ok(out)
}

fn bench_garment(app: &App, sku: Option<&str>) -> Result<Arc<Garment>> {
    Ok(match sku {
        Some(sku) => app.load_garment(sku)?,
        None => Arc::new(demo::draw(GarmentKind::Top, [70, 40, 30])?),
    })
}

pub fn bench(mut config: Config, args: BenchArgs) -> Result<()> {
    if cfg!(debug_assertions) {
        eprintln!("note: this is a debug build; speed figures come from `cargo run --release`");
    }
    config.mirror.background = BackgroundMode::Blur;
    let app = App::start(config);
    let garment = bench_garment(&app, args.sku.as_deref())?;
    let frames = frames_720p(&args.input, args.frames.max(1))?;
    println!("try-on bench: {} · {} distinct frames · {}×{}", args.input.display(), frames.len(), frames[0].width(), frames[0].height());

    let mut fig = BenchFigures { frames: args.frames, gan_every: args.gan_every, ..Default::default() };
    let run = |gan_every: u32, fig: &mut BenchFigures, record: bool| -> Result<f64> {
        let mut pipeline = app.mirror_pipeline_with_tryon(gan_every);
        if !pipeline.has_tryon() {
            bail!("try-on needs the segmentation and pose models (see `vitrine models`)");
        }
        pipeline.set_garment(Some(Worn::new(garment.clone(), None)))?;
        for frame in frames.iter().cycle().take(10) {
            pipeline.process(frame)?;
        }
        let start = Instant::now();
        let mut gan_ms = 0.0;
        for frame in frames.iter().cycle().take(args.frames) {
            let out = pipeline.process(frame)?;
            gan_ms += out.timings.tryon.gan_ms;
            if record {
                let t = out.timings;
                (fig.width, fig.height) = (out.width as i32, out.height as i32);
                fig.segment_ms += t.preprocess_ms + t.infer_ms;
                fig.background_ms += t.composite_ms;
                fig.pose_ms += t.tryon.pose_ms;
                fig.filter_ms += t.tryon.filter_ms;
                fig.warp_ms += t.tryon.warp_ms;
                fig.composite_ms += t.tryon.composite_ms;
                fig.jpeg_ms += t.encode_ms;
                fig.dressed_frames += (out.prompt.is_none()) as usize;
            }
        }
        let fps = args.frames as f64 / start.elapsed().as_secs_f64();
        if !record {
            fig.gan_live_ms = Some(gan_ms / (args.frames as f64 / gan_every as f64).max(1.0));
        }
        Ok(fps)
    };
    fig.fps = run(0, &mut fig, true)?;
    let n = args.frames as f64;
    for v in [&mut fig.segment_ms, &mut fig.background_ms, &mut fig.pose_ms, &mut fig.filter_ms, &mut fig.warp_ms, &mut fig.composite_ms, &mut fig.jpeg_ms] {
        *v /= n;
    }
    println!(
        "plain   {:6.1} fps | segment {:6.2} | background {:6.2} | pose {:6.2} | filter {:5.3} | warp {:6.2} | composite {:6.2} | jpeg {:6.2} ms | dressed {}/{}",
        fig.fps, fig.segment_ms, fig.background_ms, fig.pose_ms, fig.filter_ms, fig.warp_ms, fig.composite_ms, fig.jpeg_ms, fig.dressed_frames, fig.frames
    );
    if args.gan_every > 0 && app.tryon_gan().is_some() {
        let fps = run(args.gan_every, &mut fig, false)?;
        fig.gan_live_fps = Some(fps);
        println!("gan/{}   {:6.1} fps | gan {:6.2} ms per refined frame", args.gan_every, fps, fig.gan_live_ms.unwrap_or(0.0));
    }
    // The capture: a full-quality still from the middle frame, plain and refined.
    let mut bgr = Mat::default();
    frame_to_bgr_mat(&frames[frames.len() / 2], &mut bgr)?;
    let mut still_plain = Vec::new();
    let mut still_gan = Vec::new();
    for _ in 0..5 {
        let look = vitrine_app::render_look(&app, &bgr, Worn::new(garment.clone(), None))?;
        still_plain.push(look.plain_ms);
        if let Some(ms) = look.refined_ms {
            still_gan.push(ms);
        }
    }
    fig.plain_still_ms = median(&mut still_plain);
    fig.gan_still_ms = (!still_gan.is_empty()).then(|| median(&mut still_gan));
    println!("still   plain {:.1} ms | gan {}", fig.plain_still_ms, fig.gan_still_ms.map_or("unavailable".into(), |v| format!("{v:.1} ms")));
    println!("{}", serde_json::to_string(&fig)?);
    Ok(())
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}


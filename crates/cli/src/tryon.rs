//! `vitrine bench tryon` and `vitrine eval tryon`: try-on speed and quality on real frames,
//! each ending with one line of JSON.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use opencv::core::{self, Mat, Point, Scalar, Size, Vector};
use opencv::imgproc;
use opencv::prelude::*;
use serde::Serialize;
use vitrine_app::App;
use vitrine_capture::{CaptureOptions, FrameSource, VideoSource};
use vitrine_config::{BackgroundMode, Config};
use vitrine_garment::{demo, Garment, GarmentKind};
use vitrine_tryon::{Outcome, TryOn, TryOnTimings};
use vitrine_vision::{evaluate_restoration, frame_to_bgr_mat, GanResolution, PersonSegmenter};

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
        pipeline.set_garment(Some(garment.clone()))?;
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
        let look = vitrine_app::render_look(&app, &bgr, garment.clone())?;
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

#[derive(Args)]
pub struct EvalArgs {
    /// Photos of people (every .jpg/.png in the folder).
    #[arg(long, default_value = "../shared/data/media/people")]
    people: PathBuf,
    /// Clips for the jitter measure (the least-moving is used).
    #[arg(long, default_value = "../shared/data/media/videos")]
    videos: PathBuf,
    /// The GAN's held-out restoration set (written by `models/tryon_gan/data.py heldout`).
    #[arg(long)]
    heldout: Option<PathBuf>,
    /// Write each dressed photo with the torso region (green) and the garment's body part
    /// (red) outlined into this folder, to look at what the figures measure.
    #[arg(long)]
    dump: Option<PathBuf>,
}

#[derive(Debug, Default, Serialize)]
struct EvalFigures {
    photos: usize,
    dressed: usize,
    prompted: usize,
    ssim_outside_garment: f64,
    ssim_outside_min: f64,
    torso_iou: f64,
    torso_iou_min: f64,
    /// The same IoU with the sleeves counted as garment (they lie beside the torso).
    torso_iou_with_sleeves: f64,
    colour_delta_e: f64,
    /// The same after the try-on GAN's refinement (still size), where the model is present.
    colour_delta_e_gan: Option<f64>,
    jitter_noise_raw_px: f64,
    jitter_noise_filtered_px: f64,
    jitter_clip: Option<String>,
    jitter_clip_raw_px: Option<f64>,
    jitter_clip_filtered_px: Option<f64>,
    /// At the still's working size (the captured look).
    gan: Option<GanFigures>,
    /// At the live working size.
    gan_live: Option<GanFigures>,
    /// At the still's size, on held-out frames whose shopper wears a print the garment lacks
    /// (the target is the frame without it): a GAN that copies the shopper's own print onto
    /// the garment loses here.
    gan_shopper_print: Option<GanFigures>,
}

#[derive(Debug, Serialize)]
struct GanFigures {
    frames: usize,
    l1_plain: f64,
    l1_gan: f64,
    ssim_plain: f64,
    ssim_gan: f64,
    l1_reduction_pct: f64,
    ssim_gain: f64,
}

pub fn eval(config: Config, args: EvalArgs) -> Result<()> {
    let app = App::start(config);
    let mut seg = PersonSegmenter::new(app.registry(), &app.config.mirror.segmentation_model)?;
    let mut tryon = app.tryon_engine(0).context("try-on needs the pose model (see `vitrine models`)")?;
    tryon.set_filtering(false);
    let garment = Arc::new(demo::draw(GarmentKind::Top, [60, 110, 80])?);
    tryon.set_garment(Some(garment.clone()))?;
    let packshot_lab = lab(garment.mean_bgr())?;
    let delta_e = |c: [f64; 3]| ((c[0] - packshot_lab[0]).powi(2) + (c[1] - packshot_lab[1]).powi(2) + (c[2] - packshot_lab[2]).powi(2)).sqrt();
    // The GAN learns to restore a frame's own clothing: whether it keeps the packshot's colour
    // on a real try-on (and not the shopper's own shirt's) is measured here.
    let mut gan = app.tryon_gan();
    let mut des_gan = Vec::new();

    let mut photos: Vec<PathBuf> = std::fs::read_dir(&args.people)
        .with_context(|| format!("{} (the shared media; pass --people)", args.people.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("jpg" | "jpeg" | "png")))
        .collect();
    photos.sort();
    let mut fig = EvalFigures { photos: photos.len(), ssim_outside_min: 1.0, torso_iou_min: 1.0, ..Default::default() };
    let (mut ssims, mut ious, mut ious_with_sleeves, mut des) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for path in &photos {
        let input = opencv::imgcodecs::imread(path.to_str().context("path")?, opencv::imgcodecs::IMREAD_COLOR)?;
        let mask = seg.segment_bgr(&input)?;
        let mut out = input.try_clone()?;
        let outcome = tryon.apply(&mut out, &mask, 0.0, &mut TryOnTimings::default())?;
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let Outcome::Dressed { body, rendered, .. } = outcome else {
            println!("{name:<44} prompt: {:?}", outcome.prompt());
            fig.prompted += 1;
            continue;
        };
        fig.dressed += 1;
        let garment_full = full_mask(&rendered.alpha, rendered.roi, &input, 1)?;
        let mut outside = Mat::default();
        let k = (body.shoulder_width() / 8.0).max(5.0) as i32 | 1;
        let kernel = imgproc::get_structuring_element(imgproc::MORPH_ELLIPSE, Size::new(k, k), Point::new(-1, -1))?;
        imgproc::dilate_def(&garment_full, &mut outside, &kernel)?;
        let ssim = ssim_where(&input, &out, &outside, false)?;
        let torso = torso_mask(&input, &body)?;
        // The garment's body: sleeves are meant to leave the torso (they lie over the arms
        // beside it), as the hem is meant to go below the hip line, so neither counts as a miss.
        let with_sleeves = full_mask(&rendered.alpha, rendered.roi, &input, 128)?;
        let sleeves = full_mask(&rendered.sleeves, rendered.roi, &input, 128)?;
        let mut not_sleeves = Mat::default();
        core::bitwise_not_def(&sleeves, &mut not_sleeves)?;
        let mut body_part = Mat::default();
        core::bitwise_and_def(&with_sleeves, &not_sleeves, &mut body_part)?;
        let iou = torso_iou(&body_part, &torso, &body)?;
        let iou_with_sleeves = torso_iou(&with_sleeves, &torso, &body)?;
        let colour = mean_lab_where(&out, &with_sleeves, &torso)?;
        let de = delta_e(colour);
        if let Some(gan) = gan.as_mut() {
            let refined = vitrine_tryon::refine(gan, &input, &rendered, GanResolution::Still)?;
            des_gan.push(delta_e(mean_lab_where(&refined, &with_sleeves, &torso)?));
            if let Some(dir) = &args.dump {
                dump_overlay(dir, &format!("{}_gan", Path::new(&*name).with_extension("").display()), &refined, &torso, &body_part)?;
            }
        }
        println!("{name:<44} ssim outside {ssim:.4} · torso IoU {iou:.3} (with sleeves {iou_with_sleeves:.3}) · ΔE {de:.1}");
        if let Some(dir) = &args.dump {
            dump_overlay(dir, &name, &out, &torso, &body_part)?;
        }
        ssims.push(ssim);
        ious.push(iou);
        ious_with_sleeves.push(iou_with_sleeves);
        des.push(de);
    }
    if ssims.is_empty() {
        bail!("no photo in {} gave a dressed shopper", args.people.display());
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    fig.ssim_outside_garment = mean(&ssims);
    fig.ssim_outside_min = ssims.iter().copied().fold(1.0, f64::min);
    fig.torso_iou = mean(&ious);
    fig.torso_iou_min = ious.iter().copied().fold(1.0, f64::min);
    fig.torso_iou_with_sleeves = mean(&ious_with_sleeves);
    fig.colour_delta_e = mean(&des);
    fig.colour_delta_e_gan = (!des_gan.is_empty()).then(|| mean(&des_gan));

    // Jitter on a still scene: one photo repeated with sensor noise, raw vs One-Euro.
    let still_path = args.people.join("tfjs_pose.jpg");
    if still_path.is_file() {
        let still = opencv::imgcodecs::imread(still_path.to_str().context("path")?, opencv::imgcodecs::IMREAD_COLOR)?;
        let noisy: Vec<Mat> = (0..60).map(|i| with_noise(&still, 6.0, i as u64 + 1)).collect::<Result<_>>()?;
        fig.jitter_noise_raw_px = jitter(&mut tryon, &mut seg, &noisy, false)?;
        fig.jitter_noise_filtered_px = jitter(&mut tryon, &mut seg, &noisy, true)?;
        println!("jitter, still photo + noise: raw {:.2} px · One-Euro {:.2} px", fig.jitter_noise_raw_px, fig.jitter_noise_filtered_px);
    }
    // ...and on the least-moving real clip.
    if let Ok(entries) = std::fs::read_dir(&args.videos) {
        let mut best: Option<(f64, PathBuf, Vec<Mat>)> = None;
        for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
            let Ok(mut source) = VideoSource::open(&path, &CaptureOptions { realtime: false, looping: false, ..Default::default() }) else { continue };
            let mut clip = Vec::new();
            while clip.len() < 60 {
                let Ok(frame) = source.next_frame() else { break };
                let mut bgr = Mat::default();
                frame_to_bgr_mat(&frame, &mut bgr)?;
                clip.push(bgr);
            }
            if clip.len() < 10 {
                continue;
            }
            let raw = jitter(&mut tryon, &mut seg, &clip, false)?;
            if raw.is_finite() && best.as_ref().is_none_or(|b| raw < b.0) {
                best = Some((raw, path, clip));
            }
        }
        if let Some((raw, path, clip)) = best {
            let filtered = jitter(&mut tryon, &mut seg, &clip, true)?;
            println!("jitter, least-moving clip {}: raw {raw:.2} px · One-Euro {filtered:.2} px", path.display());
            fig.jitter_clip = Some(path.file_name().unwrap_or_default().to_string_lossy().into_owned());
            (fig.jitter_clip_raw_px, fig.jitter_clip_filtered_px) = (Some(raw), Some(filtered));
        }
    }
    // The GAN against the plain composite on its held-out restoration set, at the captured
    // still's size (the figure the issue asks for) and at the live size.
    match (args.heldout.as_deref(), app.tryon_gan()) {
        (Some(dir), Some(mut gan)) => {
            let printed = dir.join("print");
            let mut sets = vec![(dir.to_path_buf(), GanResolution::Still, "still", &mut fig.gan), (dir.to_path_buf(), GanResolution::Live, "live", &mut fig.gan_live)];
            if printed.is_dir() {
                sets.push((printed, GanResolution::Still, "still, shopper wears a print the garment lacks", &mut fig.gan_shopper_print));
            }
            for (set, resolution, name, slot) in sets {
                let r = evaluate_restoration(&mut gan, &set, resolution)?;
                let (w, h) = gan.size(resolution);
                println!(
                    "GAN restoration, {name} at {h}x{w} ({} held-out frames): L1 plain {:.4} → GAN {:.4} · SSIM plain {:.4} → GAN {:.4}",
                    r.frames, r.l1_plain, r.l1_gan, r.ssim_plain, r.ssim_gan
                );
                *slot = Some(GanFigures {
                    frames: r.frames,
                    l1_plain: r.l1_plain,
                    l1_gan: r.l1_gan,
                    ssim_plain: r.ssim_plain,
                    ssim_gan: r.ssim_gan,
                    l1_reduction_pct: 100.0 * (r.l1_plain - r.l1_gan) / r.l1_plain.max(1e-9),
                    ssim_gain: r.ssim_gan - r.ssim_plain,
                });
            }
        }
        (None, _) => println!("GAN restoration: skipped (pass --heldout DIR, written by models/tryon_gan/data.py heldout)"),
        (_, None) => println!("GAN restoration: skipped (no try-on GAN model)"),
    }
    println!(
        "{} photos, {} dressed: SSIM outside the garment {:.4} (min {:.4}) · torso IoU {:.3} (min {:.3}; with sleeves {:.3}) · ΔE to the packshot {:.1}{}",
        fig.photos,
        fig.dressed,
        fig.ssim_outside_garment,
        fig.ssim_outside_min,
        fig.torso_iou,
        fig.torso_iou_min,
        fig.torso_iou_with_sleeves,
        fig.colour_delta_e,
        fig.colour_delta_e_gan.map(|d| format!(" (after the GAN {d:.1})")).unwrap_or_default()
    );
    println!("{}", serde_json::to_string(&fig)?);
    Ok(())
}

/// `out` with the outlines of the torso region and the garment, as DIR/NAME.png.
fn dump_overlay(dir: &Path, name: &str, out: &Mat, torso: &Mat, garment: &Mat) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
    let mut img = out.try_clone()?;
    for (mask, colour) in [(torso, Scalar::new(0.0, 255.0, 0.0, 0.0)), (garment, Scalar::new(0.0, 0.0, 255.0, 0.0))] {
        let mut contours = Vector::<Vector<Point>>::new();
        imgproc::find_contours_def(mask, &mut contours, imgproc::RETR_EXTERNAL, imgproc::CHAIN_APPROX_SIMPLE)?;
        imgproc::draw_contours(&mut img, &contours, -1, colour, 2, imgproc::LINE_8, &core::no_array(), i32::MAX, Point::new(0, 0))?;
    }
    let path = dir.join(Path::new(name).with_extension("png"));
    opencv::imgcodecs::imwrite_def(path.to_str().context("path")?, &img)?;
    Ok(())
}

/// Mean frame-to-frame motion (px) of the body points the garment follows.
fn jitter(tryon: &mut TryOn, seg: &mut PersonSegmenter, frames: &[Mat], filtered: bool) -> Result<f64> {
    tryon.set_filtering(filtered);
    let mut last: Option<[(f32, f32); 9]> = None;
    let (mut sum, mut n) = (0.0, 0usize);
    for (i, frame) in frames.iter().enumerate() {
        let mask = seg.segment_bgr(frame)?;
        let located = tryon.locate(frame, &mask, i as f64 / 30.0, &mut TryOnTimings::default())?;
        let Ok((_, body)) = located else {
            last = None;
            continue;
        };
        let points = body.to_points();
        if let Some(prev) = last {
            // Shoulders, hips, elbows: what moves the garment.
            for k in [1, 2, 3, 4, 7, 8] {
                sum += ((points[k].0 - prev[k].0) as f64).hypot((points[k].1 - prev[k].1) as f64);
                n += 1;
            }
        }
        last = Some(points);
    }
    tryon.set_filtering(false);
    Ok(if n == 0 { f64::NAN } else { sum / n as f64 })
}

fn with_noise(bgr: &Mat, sigma: f64, seed: u64) -> Result<Mat> {
    let mut out = bgr.try_clone()?;
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut uniform = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    for v in out.data_bytes_mut()? {
        // Box-Muller would be exact; the sum of four uniforms is close enough to Gaussian.
        let g = (uniform() + uniform() + uniform() + uniform() - 2.0) * (3.0f64).sqrt();
        *v = (*v as f64 + g * sigma).round().clamp(0.0, 255.0) as u8;
    }
    Ok(out)
}

/// The ROI alpha pasted into a frame-size 0/255 mask (alpha ≥ `threshold`).
fn full_mask(alpha: &Mat, roi: core::Rect, frame: &Mat, threshold: u8) -> Result<Mat> {
    let mut full = Mat::new_rows_cols_with_default(frame.rows(), frame.cols(), core::CV_8UC1, Scalar::all(0.0))?;
    let mut bin = Mat::default();
    imgproc::threshold(alpha, &mut bin, threshold as f64 - 1.0, 255.0, imgproc::THRESH_BINARY)?;
    bin.copy_to(&mut Mat::roi_mut(&mut full, roi)?)?;
    Ok(full)
}

/// The torso quadrilateral from pose, widened from the joints to the body's edge (a tenth
/// of the shoulder width each side), as a 0/255 mask.
fn torso_mask(frame: &Mat, body: &vitrine_tryon::Body) -> Result<Mat> {
    let mut mask = Mat::new_rows_cols_with_default(frame.rows(), frame.cols(), core::CV_8UC1, Scalar::all(0.0))?;
    let [sr, sl, hl, hr] = body.torso_polygon();
    let widen = |a: (f32, f32), b: (f32, f32)| {
        let (dx, dy) = (a.0 - b.0, a.1 - b.1);
        let n = dx.hypot(dy).max(1.0);
        let e = 0.1 * body.shoulder_width();
        Point::new((a.0 + dx / n * e) as i32, (a.1 + dy / n * e) as i32)
    };
    let pts = Vector::<Point>::from_iter([widen(sr, sl), widen(sl, sr), widen(hl, hr), widen(hr, hl)]);
    imgproc::fill_poly_def(&mut mask, &Vector::<Vector<Point>>::from_iter([pts]), Scalar::all(255.0))?;
    Ok(mask)
}

/// IoU of a garment mask and the torso within the band between the shoulder and hip lines
/// (a top's hem is meant to go below the hip line; that is not a miss).
fn torso_iou(garment: &Mat, torso: &Mat, body: &vitrine_tryon::Body) -> Result<f64> {
    let (top, bottom) = (
        body.shoulder_left.1.min(body.shoulder_right.1).max(0.0) as usize,
        (body.hip_left.1.max(body.hip_right.1) as usize).min(garment.rows() as usize),
    );
    let (w, g, t) = (garment.cols() as usize, garment.data_bytes()?, torso.data_bytes()?);
    let (mut inter, mut union) = (0usize, 0usize);
    for i in top * w..bottom * w {
        let (a, b) = (g[i] > 0, t[i] > 0);
        inter += (a && b) as usize;
        union += (a || b) as usize;
    }
    Ok(if union == 0 { 0.0 } else { inter as f64 / union as f64 })
}

fn lab(bgr: [f32; 3]) -> Result<[f64; 3]> {
    let px = Mat::new_rows_cols_with_default(1, 1, core::CV_32FC3, Scalar::new(bgr[0] as f64 / 255.0, bgr[1] as f64 / 255.0, bgr[2] as f64 / 255.0, 0.0))?;
    let mut out = Mat::default();
    imgproc::cvt_color_def(&px, &mut out, imgproc::COLOR_BGR2Lab)?;
    let v = out.at_2d::<core::Vec3f>(0, 0)?;
    Ok([v[0] as f64, v[1] as f64, v[2] as f64])
}

/// Mean CIELAB colour of `bgr` where both masks are set.
fn mean_lab_where(bgr: &Mat, a: &Mat, b: &Mat) -> Result<[f64; 3]> {
    let (d, ma, mb) = (bgr.data_bytes()?, a.data_bytes()?, b.data_bytes()?);
    let (mut sum, mut n) = ([0f64; 3], 0f64);
    for i in 0..ma.len() {
        if ma[i] > 0 && mb[i] > 0 {
            for c in 0..3 {
                sum[c] += d[i * 3 + c] as f64;
            }
            n += 1.0;
        }
    }
    let n = n.max(1.0);
    lab([(sum[0] / n) as f32, (sum[1] / n) as f32, (sum[2] / n) as f32])
}

/// Mean SSIM of luminance (Gaussian window σ 1.5) over the pixels where `mask` is
/// `inside` (true: set; false: not set).
fn ssim_where(a: &Mat, b: &Mat, mask: &Mat, inside: bool) -> Result<f64> {
    let gray = |m: &Mat| -> Result<Mat> {
        let (mut g, mut f) = (Mat::default(), Mat::default());
        imgproc::cvt_color_def(m, &mut g, imgproc::COLOR_BGR2GRAY)?;
        g.convert_to(&mut f, core::CV_32F, 1.0, 0.0)?;
        Ok(f)
    };
    let (x, y) = (gray(a)?, gray(b)?);
    let blur = |m: &Mat| -> Result<Mat> {
        let mut o = Mat::default();
        imgproc::gaussian_blur_def(m, &mut o, Size::new(11, 11), 1.5)?;
        Ok(o)
    };
    let mul = |p: &Mat, q: &Mat| -> Result<Mat> {
        let mut o = Mat::default();
        core::multiply_def(p, q, &mut o)?;
        Ok(o)
    };
    let (mx, my) = (blur(&x)?, blur(&y)?);
    let (sxx, syy, sxy) = (blur(&mul(&x, &x)?)?, blur(&mul(&y, &y)?)?, blur(&mul(&x, &y)?)?);
    let (c1, c2) = ((0.01f32 * 255.0).powi(2), (0.03f32 * 255.0).powi(2));
    let (mx, my, sxx, syy, sxy) = (mx.data_typed::<f32>()?, my.data_typed::<f32>()?, sxx.data_typed::<f32>()?, syy.data_typed::<f32>()?, sxy.data_typed::<f32>()?);
    let m = mask.data_bytes()?;
    let (mut sum, mut n) = (0f64, 0usize);
    for i in 0..m.len() {
        if (m[i] > 0) != inside {
            continue;
        }
        let (vx, vy, cov) = (sxx[i] - mx[i] * mx[i], syy[i] - my[i] * my[i], sxy[i] - mx[i] * my[i]);
        let s = ((2.0 * mx[i] * my[i] + c1) * (2.0 * cov + c2)) / ((mx[i] * mx[i] + my[i] * my[i] + c1) * (vx + vy + c2));
        sum += s as f64;
        n += 1;
    }
    Ok(if n == 0 { 1.0 } else { sum / n as f64 })
}

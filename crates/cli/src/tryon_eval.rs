//! `vitrine eval tryon`: try-on quality on real photos and clips no training run saw, with
//! real packshots, ending with one line of JSON.
//!
//! - Photos: every packshot that ingests is tried on every person photo: SSIM outside the
//!   garment, torso IoU (against the shopper's torso silhouette), colour shift from the
//!   garment's own colours, and print leak (how much of the shopper's own fine detail inside
//!   the garment survives into the output).
//! - Clips, paired: the clothing of the shopper in one frame is cut out as the "packshot" and
//!   tried on the same shopper at least a second later; the result is compared with the real
//!   later frame inside the garment.
//! - Clips, hands: in frames where the shopper's hand or forearm is in front of their torso
//!   (skin-coloured pixels there), the share of those pixels that stay as they were.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::Args;
use opencv::core::{self, Mat, Point, Scalar, Size, Vector};
use opencv::imgproc;
use opencv::prelude::*;
use serde::Serialize;
use vitrine_app::App;
use vitrine_capture::{CaptureOptions, FrameSource, VideoSource};
use vitrine_config::Config;
use vitrine_garment::{demo, Garment, GarmentKind, GarmentLandmarks};
use vitrine_tryon::measure::{flat_render, full_mask, garment_interior, mask_at_frame_size, print_leak, torso_silhouette};
use vitrine_tryon::{Body, Outcome, Rendered, TryOn, TryOnTimings, Worn};
use vitrine_vision::{evaluate_restoration, frame_to_bgr_mat, GanResolution, PersonSegmenter};

#[derive(Args)]
pub struct EvalArgs {
    /// Photos of people (every .jpg/.png in the folder).
    #[arg(long, default_value = "../shared/data/media/people")]
    people: PathBuf,
    /// Clips of a person facing the camera, for the paired measure, hands and jitter.
    #[arg(long, alias = "videos", default_value = "../shared/data/media/videos")]
    clips: PathBuf,
    /// Packshots to try on (every .png/.jpg/.jpeg; a name with "hoodie" or "jacket" is
    /// outerwear, "dress" a dress, the rest tops). Without any that ingest: the demo top.
    #[arg(long, default_value = "../shared/data/media/garments")]
    garments: PathBuf,
    /// The GAN's held-out restoration set (written by `models/tryon_gan/data.py heldout`).
    #[arg(long)]
    heldout: Option<PathBuf>,
    /// Write each dressed photo with the torso silhouette (green) and the garment's body part
    /// (red) outlined into this folder.
    #[arg(long)]
    dump: Option<PathBuf>,
    /// Write a contact sheet: each person photo as original, before refinement and final,
    /// side by side, in the first garment.
    #[arg(long)]
    sheet: Option<PathBuf>,
}

#[derive(Debug, Default, Serialize)]
struct EvalFigures {
    photos: usize,
    garments: Vec<String>,
    /// Try-ons (photo × garment) that dressed the shopper, and those that asked them to move.
    dressed: usize,
    prompted: usize,
    ssim_outside_garment: f64,
    ssim_outside_min: f64,
    /// IoU of the garment's body with the shopper's torso silhouette (the person between the
    /// shoulder and hip lines, less head and arms).
    torso_iou: f64,
    torso_iou_min: f64,
    /// The same against the pose's torso quadrilateral (issue 3's measure).
    torso_iou_pose: f64,
    /// CIELAB ΔE between the garment as drawn and the garment's own warped colours, over the
    /// torso (the room's shading and the contact shadow are all that may move it).
    colour_delta_e: f64,
    /// Share of the shopper's own fine detail (print, logo, seams) inside the garment that
    /// survives into the output: 0 none, 1 all (pooled over photos).
    print_leak: f64,
    colour_delta_e_gan: Option<f64>,
    print_leak_gan: Option<f64>,
    /// Paired measure from video: SSIM and L1 (0..1) inside the garment against the real
    /// later frame.
    paired_ssim: Option<f64>,
    paired_l1: Option<f64>,
    paired_pairs: usize,
    /// The same with the later frame replaced by the first (the cut-out put back where it
    /// came from): what the warp itself loses.
    paired_ssim_self: Option<f64>,
    /// Share of frames with a hand or forearm in front of the torso where at least 90 % of
    /// its pixels stay visible.
    hands_in_front: Option<f64>,
    hand_frames: usize,
    jitter_noise_raw_px: f64,
    jitter_noise_filtered_px: f64,
    jitter_clip: Option<String>,
    jitter_clip_raw_px: Option<f64>,
    jitter_clip_filtered_px: Option<f64>,
    gan: Option<GanFigures>,
    gan_live: Option<GanFigures>,
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

/// The packshots to try on: (name, garment), and the refused ones with their reasons.
fn load_garments(dir: &Path) -> (Vec<(String, Arc<Garment>)>, Vec<(String, String)>) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("png" | "jpg" | "jpeg")));
    files.sort();
    let (mut ok, mut refused) = (Vec::new(), Vec::new());
    for path in files {
        let name = path.file_stem().unwrap_or_default().to_string_lossy().into_owned();
        let kind = kind_from_name(&name);
        match std::fs::read(&path).map_err(|e| e.to_string()).and_then(|b| Garment::from_photo(&b, kind).map_err(|e| e.to_string())) {
            Ok(g) => ok.push((name, Arc::new(g))),
            Err(e) => refused.push((name, e)),
        }
    }
    (ok, refused)
}

pub fn kind_from_name(name: &str) -> GarmentKind {
    let n = name.to_ascii_lowercase();
    if n.contains("hoodie") || n.contains("jacket") {
        GarmentKind::Outerwear
    } else if n.contains("dress") {
        GarmentKind::Dress
    } else {
        GarmentKind::Top
    }
}

/// What one try-on on a photo measured.
struct PhotoScore {
    ssim_outside: f64,
    iou: f64,
    iou_pose: f64,
    delta_e: f64,
    /// Print-leak numerator and denominator (pooled over photos).
    leak: (f64, f64),
}

pub fn eval(config: Config, args: EvalArgs) -> Result<()> {
    let app = App::start(config);
    let mut seg = PersonSegmenter::new(app.registry(), &app.config.mirror.segmentation_model)?;
    let mut tryon = app.tryon_engine(0).context("try-on needs the pose model (see `vitrine models`)")?;
    tryon.set_filtering(false);
    let mut gan = app.tryon_gan();

    let (mut garments, refused) = load_garments(&args.garments);
    for (name, why) in &refused {
        println!("packshot {name}: refused ({why})");
    }
    if garments.is_empty() {
        println!("no packshot in {} ingests: the demo top drawn in code stands in", args.garments.display());
        garments.push(("demo_top".into(), Arc::new(demo::draw(GarmentKind::Top, [60, 110, 80])?)));
    }
    // The sheet's garment: a long-sleeved one shows most (sleeves on arms, a logo to keep).
    garments.sort_by_key(|(n, _)| !n.contains("long_sleeve"));

    let mut photos: Vec<PathBuf> = std::fs::read_dir(&args.people)
        .with_context(|| format!("{} (the shared media; pass --people)", args.people.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("jpg" | "jpeg" | "png")))
        .collect();
    photos.sort();
    let mut fig = EvalFigures {
        photos: photos.len(),
        garments: garments.iter().map(|(n, _)| n.clone()).collect(),
        ssim_outside_min: 1.0,
        torso_iou_min: 1.0,
        ..Default::default()
    };
    let mut scores = Vec::new();
    let (mut gan_des, mut gan_leak) = (Vec::new(), (0.0, 0.0));
    let mut sheet_rows = Vec::new();
    for (gi, (gname, garment)) in garments.iter().enumerate() {
        tryon.set_garment(Some(Worn::new(garment.clone(), None)))?;
        for path in &photos {
            let input = opencv::imgcodecs::imread(path.to_str().context("path")?, opencv::imgcodecs::IMREAD_COLOR)?;
            let mask = seg.segment_bgr(&input)?;
            let mut out = input.try_clone()?;
            let outcome = tryon.apply(&mut out, &mask, 0.0, &mut TryOnTimings::default())?;
            let name = path.file_stem().unwrap_or_default().to_string_lossy().into_owned();
            let Outcome::Dressed { body, rendered, shopper, .. } = outcome else {
                println!("{gname:<26} {name:<40} prompt: {:?}", outcome.prompt());
                fig.prompted += 1;
                if gi == 0 {
                    sheet_rows.push([input.try_clone()?, out.try_clone()?, out]);
                }
                continue;
            };
            fig.dressed += 1;
            // The shopper's silhouette: the person dressed, not everyone in view.
            let person = mask_at_frame_size(&shopper, &input)?;
            let score = score_photo(&input, &out, &rendered, &body, &person)?;
            let mut line = format!(
                "{gname:<26} {name:<40} ssim outside {:.4} · torso IoU {:.3} (pose {:.3}) · ΔE {:.1} · print leak {:.3}",
                score.ssim_outside,
                score.iou,
                score.iou_pose,
                score.delta_e,
                score.leak.0 / score.leak.1.max(1e-9)
            );
            let mut final_frame = out.try_clone()?;
            if let Some(gan) = gan.as_mut() {
                let refined = vitrine_tryon::refine(gan, &input, &rendered, GanResolution::Still)?;
                let (de, leak) = colour_and_leak(&input, &refined, &rendered, &body, &person)?;
                gan_des.push(de);
                gan_leak = (gan_leak.0 + leak.0, gan_leak.1 + leak.1);
                line += &format!(" · GAN ΔE {de:.1} leak {:.3}", leak.0 / leak.1.max(1e-9));
                if vitrine_tryon::refinement_keeps_print(leak) {
                    final_frame = refined;
                }
            }
            println!("{line} · arms seen {:?} · ease {}", body.arms_visible, rendered.ease.map_or("-".into(), |e| format!("{e:.2}")));
            if let Some(dir) = &args.dump {
                let torso = torso_silhouette(&person, &body)?;
                let body_part = garment_body_mask(&rendered, &input)?;
                dump_overlay(dir, &format!("{gname}__{name}"), &out, &torso, &body_part)?;
            }
            if gi == 0 {
                sheet_rows.push([input, out, final_frame]);
            }
            scores.push(score);
        }
    }
    if scores.is_empty() {
        bail!("no photo in {} gave a dressed shopper", args.people.display());
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let col = |f: fn(&PhotoScore) -> f64| scores.iter().map(f).collect::<Vec<_>>();
    fig.ssim_outside_garment = mean(&col(|s| s.ssim_outside));
    fig.ssim_outside_min = col(|s| s.ssim_outside).into_iter().fold(1.0, f64::min);
    fig.torso_iou = mean(&col(|s| s.iou));
    fig.torso_iou_min = col(|s| s.iou).into_iter().fold(1.0, f64::min);
    fig.torso_iou_pose = mean(&col(|s| s.iou_pose));
    fig.colour_delta_e = mean(&col(|s| s.delta_e));
    let (ln, ld) = scores.iter().fold((0.0, 0.0), |a, s| (a.0 + s.leak.0, a.1 + s.leak.1));
    fig.print_leak = (ln / ld.max(1e-9)).clamp(0.0, 1.0);
    if !gan_des.is_empty() {
        fig.colour_delta_e_gan = Some(mean(&gan_des));
        fig.print_leak_gan = Some((gan_leak.0 / gan_leak.1.max(1e-9)).clamp(0.0, 1.0));
    }
    if let Some(path) = &args.sheet {
        crate::sheet::write_sheet(path, &sheet_rows, 340, 300)?;
        println!("contact sheet ({}, {} photos: original · before refinement · final): {}", garments[0].0, sheet_rows.len(), path.display());
    }

    // Clips: the paired measure and hands in front, with the first garment for the hands.
    let clips = read_clips(&args.clips)?;
    paired_measure(&mut tryon, &mut seg, &clips, &mut fig)?;
    // Hands and forearms should stay visible: a short-sleeved garment, where there is one.
    let short = garments.iter().find(|(n, _)| n.contains("tee") && !n.contains("long")).unwrap_or(&garments[0]);
    println!("hands in front, in {}", short.0);
    tryon.set_garment(Some(Worn::new(short.1.clone(), None)))?;
    hands_measure(&mut tryon, &mut seg, &clips, &mut fig, args.dump.as_deref())?;
    jitter_measures(&mut tryon, &mut seg, &args.people, &clips, &mut fig)?;

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
        "{} photos × {} garments, {} dressed: SSIM outside {:.4} (min {:.4}) · torso IoU {:.3} (min {:.3}; pose quad {:.3}) · ΔE {:.1} · print leak {:.3}{} · paired SSIM {} L1 {} ({} pairs; self {}) · hands in front {} ({} frames)",
        fig.photos,
        fig.garments.len(),
        fig.dressed,
        fig.ssim_outside_garment,
        fig.ssim_outside_min,
        fig.torso_iou,
        fig.torso_iou_min,
        fig.torso_iou_pose,
        fig.colour_delta_e,
        fig.print_leak,
        fig.print_leak_gan.map(|l| format!(" (GAN {l:.3}, ΔE {:.1})", fig.colour_delta_e_gan.unwrap_or(0.0))).unwrap_or_default(),
        opt(fig.paired_ssim, 3),
        opt(fig.paired_l1, 4),
        fig.paired_pairs,
        opt(fig.paired_ssim_self, 3),
        opt(fig.hands_in_front, 3),
        fig.hand_frames,
    );
    println!("{}", serde_json::to_string(&fig)?);
    Ok(())
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("-".into(), |v| format!("{v:.digits$}"))
}

fn score_photo(input: &Mat, out: &Mat, rendered: &Rendered, body: &Body, person: &Mat) -> Result<PhotoScore> {
    let garment_full = full_mask(&rendered.alpha, rendered.roi, input, 1)?;
    let mut outside = Mat::default();
    let k = (body.shoulder_width() / 8.0).max(5.0) as i32 | 1;
    let kernel = imgproc::get_structuring_element(imgproc::MORPH_ELLIPSE, Size::new(k, k), Point::new(-1, -1))?;
    imgproc::dilate_def(&garment_full, &mut outside, &kernel)?;
    let ssim_outside = ssim_where(input, out, &outside, false)?;
    let body_part = garment_body_mask(rendered, input)?;
    let iou = band_iou(&body_part, &torso_silhouette(person, body)?, body)?;
    let iou_pose = band_iou(&body_part, &torso_quad(input, body)?, body)?;
    let (delta_e, leak) = colour_and_leak(input, out, rendered, body, person)?;
    Ok(PhotoScore { ssim_outside, iou, iou_pose, delta_e, leak })
}

/// ΔE of `out` against the unlit garment, and the print-leak sums (numerator, denominator),
/// over the garment's fully opaque interior within the torso silhouette.
fn colour_and_leak(input: &Mat, out: &Mat, rendered: &Rendered, body: &Body, person: &Mat) -> Result<(f64, (f64, f64))> {
    let flat = flat_render(input, rendered)?;
    let region = garment_interior(input, rendered, body, person)?;
    let de = delta_e(mean_lab_where(out, &region)?, mean_lab_where(&flat, &region)?);
    Ok((de, print_leak(input, out, &flat, &region, body)?))
}

fn delta_e(a: [f64; 3], b: [f64; 3]) -> f64 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

/// The garment without its sleeves (alpha ≥ 128), frame size.
fn garment_body_mask(rendered: &Rendered, frame: &Mat) -> Result<Mat> {
    let with_sleeves = full_mask(&rendered.alpha, rendered.roi, frame, 128)?;
    let sleeves = full_mask(&rendered.sleeves, rendered.roi, frame, 128)?;
    let (mut not_sleeves, mut body) = (Mat::default(), Mat::default());
    core::bitwise_not_def(&sleeves, &mut not_sleeves)?;
    core::bitwise_and_def(&with_sleeves, &not_sleeves, &mut body)?;
    Ok(body)
}

/// The torso quadrilateral from pose, widened from the joints to the body's edge (a tenth
/// of the shoulder width each side), as a 0/255 mask.
fn torso_quad(frame: &Mat, body: &Body) -> Result<Mat> {
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

/// IoU of a garment mask and a torso mask within the band between the shoulder and hip lines
/// (a top's hem is meant to go below the hip line; that is not a miss).
fn band_iou(garment: &Mat, torso: &Mat, body: &Body) -> Result<f64> {
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

fn lab(bgr: [f64; 3]) -> Result<[f64; 3]> {
    let px = Mat::new_rows_cols_with_default(1, 1, core::CV_32FC3, Scalar::new(bgr[0] / 255.0, bgr[1] / 255.0, bgr[2] / 255.0, 0.0))?;
    let mut out = Mat::default();
    imgproc::cvt_color_def(&px, &mut out, imgproc::COLOR_BGR2Lab)?;
    let v = out.at_2d::<core::Vec3f>(0, 0)?;
    Ok([v[0] as f64, v[1] as f64, v[2] as f64])
}

/// Mean CIELAB colour of `bgr` where `mask` is set.
fn mean_lab_where(bgr: &Mat, mask: &Mat) -> Result<[f64; 3]> {
    let (d, m) = (bgr.data_bytes()?, mask.data_bytes()?);
    let (mut sum, mut n) = ([0f64; 3], 0f64);
    for i in 0..m.len() {
        if m[i] > 0 {
            for c in 0..3 {
                sum[c] += d[i * 3 + c] as f64;
            }
            n += 1.0;
        }
    }
    let n = n.max(1.0);
    lab([sum[0] / n, sum[1] / n, sum[2] / n])
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

/// Mean absolute difference (0..1) over the mask.
fn l1_where(a: &Mat, b: &Mat, mask: &Mat) -> Result<f64> {
    let (x, y, m) = (a.data_bytes()?, b.data_bytes()?, mask.data_bytes()?);
    let (mut sum, mut n) = (0f64, 0usize);
    for i in 0..m.len() {
        if m[i] > 0 {
            for c in 0..3 {
                sum += (x[i * 3 + c] as f64 - y[i * 3 + c] as f64).abs();
            }
            n += 3;
        }
    }
    Ok(if n == 0 { 0.0 } else { sum / n as f64 / 255.0 })
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
    let path = dir.join(format!("{name}.png"));
    opencv::imgcodecs::imwrite_def(path.to_str().context("path")?, &img)?;
    Ok(())
}

/// Rows of (original, before refinement, final), each scaled to one height, stacked.
/// A clip's frames (BGR) and rate.
struct Clip {
    name: String,
    fps: f64,
    frames: Vec<Mat>,
}

fn read_clips(dir: &Path) -> Result<Vec<Clip>> {
    let mut paths: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(_) => return Ok(Vec::new()),
    };
    paths.sort();
    let mut clips = Vec::new();
    for path in paths {
        let Ok(mut source) = VideoSource::open(&path, &CaptureOptions { realtime: false, looping: false, ..Default::default() }) else { continue };
        let fps = source.fps();
        let mut frames = Vec::new();
        while frames.len() < 400 {
            let Ok(frame) = source.next_frame() else { break };
            let mut bgr = Mat::default();
            frame_to_bgr_mat(&frame, &mut bgr)?;
            frames.push(bgr);
        }
        if frames.len() >= 10 {
            clips.push(Clip { name: path.file_name().unwrap_or_default().to_string_lossy().into_owned(), fps, frames });
        }
    }
    Ok(clips)
}

/// The shopper's own top in `frame`, cut out as a packshot with landmarks where the try-on
/// puts a garment's: the shoulder seams a little outside and above the joints, the hem just
/// below the hips. No sleeves: arms are not part of it.
fn packshot_from_frame(frame: &Mat, person: &Mat, body: &Body) -> Result<Option<Garment>> {
    let sw = body.shoulder_width();
    let torso = torso_silhouette(person, body)?;
    let shoulders = ((body.shoulder_left.0 + body.shoulder_right.0) / 2.0, (body.shoulder_left.1 + body.shoulder_right.1) / 2.0);
    let hips = ((body.hip_left.0 + body.hip_right.0) / 2.0, (body.hip_left.1 + body.hip_right.1) / 2.0);
    let down_len = (hips.0 - shoulders.0).hypot(hips.1 - shoulders.1).max(1.0);
    let down = ((hips.0 - shoulders.0) / down_len, (hips.1 - shoulders.1) / down_len);
    let across_len = sw.max(1.0);
    let across = ((body.shoulder_left.0 - body.shoulder_right.0) / across_len, (body.shoulder_left.1 - body.shoulder_right.1) / across_len);
    let at = |a: f32, d: f32| (shoulders.0 + across.0 * a + down.0 * d, shoulders.1 + across.1 * a + down.1 * d);
    // The region: torso silhouette from just below the shoulder line to just below the hips.
    let mut band = Mat::new_rows_cols_with_default(frame.rows(), frame.cols(), core::CV_8UC1, Scalar::all(0.0))?;
    let corners = [at(-0.9 * sw, 0.02 * sw), at(0.9 * sw, 0.02 * sw), at(0.9 * sw, 1.08 * down_len), at(-0.9 * sw, 1.08 * down_len)];
    let pts = Vector::<Point>::from_iter(corners.iter().map(|p| Point::new(p.0 as i32, p.1 as i32)));
    imgproc::fill_poly_def(&mut band, &Vector::<Vector<Point>>::from_iter([pts]), Scalar::all(255.0))?;
    let mut region = Mat::default();
    core::bitwise_and_def(&torso, &band, &mut region)?;
    let bbox = imgproc::bounding_rect(&region)?;
    if bbox.width < 16 || bbox.height < 16 {
        return Ok(None);
    }
    let mut bgra = Mat::default();
    imgproc::cvt_color_def(&Mat::roi(frame, bbox)?, &mut bgra, imgproc::COLOR_BGR2BGRA)?;
    let crop_mask = Mat::roi(&region, bbox)?.try_clone()?;
    for (px, &m) in bgra.data_bytes_mut()?.chunks_exact_mut(4).zip(crop_mask.data_bytes()?) {
        px[3] = m;
    }
    let local = |p: (f32, f32)| vitrine_garment::Point::new(p.0 - bbox.x as f32, p.1 - bbox.y as f32);
    // Try-on lays a garment's shoulder points 1.15 shoulder widths apart, 0.08 above the joints.
    let (ease, lift) = (1.15 / 2.0 * sw, -0.08 * sw);
    let hem_d = down_len * 1.08;
    let landmarks = GarmentLandmarks {
        neck_centre: local(at(0.0, 0.05 * sw)),
        neck_left: local(at(sw / 6.0, lift)),
        neck_right: local(at(-sw / 6.0, lift)),
        shoulder_left: local(at(ease, lift)),
        shoulder_right: local(at(-ease, lift)),
        armpit_left: local(at(0.5 * sw, 0.3 * down_len)),
        armpit_right: local(at(-0.5 * sw, 0.3 * down_len)),
        sleeve_left: None,
        sleeve_right: None,
        hem_left: local(at(0.5 * sw, hem_d)),
        hem_right: local(at(-0.5 * sw, hem_d)),
    };
    Ok(Some(Garment { kind: GarmentKind::Top, image: bgra, landmarks }))
}

/// The paired measure: in each clip the shopper's top in an early frame is tried on the same
/// shopper in frames a second or more later, compared inside the garment with the real frame.
fn paired_measure(tryon: &mut TryOn, seg: &mut PersonSegmenter, clips: &[Clip], fig: &mut EvalFigures) -> Result<()> {
    let (mut ssims, mut l1s, mut selfs) = (Vec::new(), Vec::new(), Vec::new());
    for clip in clips {
        let first = ((0.3 * clip.fps) as usize).min(clip.frames.len() - 1);
        let a = &clip.frames[first];
        let mask = seg.segment_bgr(a)?;
        let Ok((chosen, body)) = tryon.locate(a, &mask, 0.0, &mut TryOnTimings::default())? else { continue };
        let person = mask_at_frame_size(&chosen.mask, a)?;
        let Some(packshot) = packshot_from_frame(a, &person, &body)? else { continue };
        tryon.set_garment(Some(Worn::new(Arc::new(packshot), None)))?;
        let step = (0.5 * clip.fps).max(1.0) as usize;
        let mut later: Vec<usize> = (first + clip.fps as usize..clip.frames.len()).step_by(step).collect();
        later.insert(0, first);
        let (mut clip_ssim, mut n) = (0.0, 0);
        for &j in &later {
            let b = &clip.frames[j];
            let mask_b = seg.segment_bgr(b)?;
            let mut out = b.try_clone()?;
            let Outcome::Dressed { body: body_b, rendered, shopper, .. } = tryon.apply(&mut out, &mask_b, 0.0, &mut TryOnTimings::default())? else { continue };
            let person_b = mask_at_frame_size(&shopper, b)?;
            let mut region = Mat::default();
            core::bitwise_and_def(&full_mask(&rendered.alpha, rendered.roi, b, 128)?, &torso_silhouette(&person_b, &body_b)?, &mut region)?;
            let ssim = ssim_where(b, &out, &region, true)?;
            if j == first {
                selfs.push(ssim);
                continue;
            }
            ssims.push(ssim);
            l1s.push(l1_where(b, &out, &region)?);
            clip_ssim += ssim;
            n += 1;
        }
        if n > 0 {
            println!("paired, {}: {n} later frames, SSIM {:.3}", clip.name, clip_ssim / n as f64);
        }
    }
    let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
    (fig.paired_ssim, fig.paired_l1, fig.paired_ssim_self, fig.paired_pairs) = (mean(&ssims), mean(&l1s), mean(&selfs), ssims.len());
    Ok(())
}

fn chroma(px: &[u8]) -> (f32, f32, f32) {
    let (b, g, r) = (px[0] as f32, px[1] as f32, px[2] as f32);
    let y = 0.299 * r + 0.587 * g + 0.114 * b;
    (y, 128.0 + 0.713 * (r - y), 128.0 + 0.564 * (b - y))
}

/// Skin by a fixed YCrCb range.
fn in_skin_range(px: &[u8]) -> bool {
    let (y, cr, cb) = chroma(px);
    (136.0..=173.0).contains(&cr) && (77.0..=127.0).contains(&cb) && y > 40.0
}

/// The face's median chroma (a disc around the nose), where enough of it is skin.
fn face_chroma(frame: &Mat, body: &Body) -> Result<Option<(f32, f32)>> {
    let r = (0.15 * body.shoulder_width()).max(3.0) as i32;
    let (cx, cy) = (body.nose.0 as i32, body.nose.1 as i32);
    let (mut crs, mut cbs) = (Vec::new(), Vec::new());
    for y in (cy - r).max(0)..(cy + r).min(frame.rows()) {
        for x in (cx - r).max(0)..(cx + r).min(frame.cols()) {
            let px = frame.at_2d::<core::Vec3b>(y, x)?;
            let px = [px[0], px[1], px[2]];
            if (x - cx).pow(2) + (y - cy).pow(2) <= r * r && in_skin_range(&px) {
                let (_, cr, cb) = chroma(&px);
                crs.push(cr);
                cbs.push(cb);
            }
        }
    }
    if crs.len() < 30 {
        return Ok(None);
    }
    crs.sort_by(f32::total_cmp);
    cbs.sort_by(f32::total_cmp);
    Ok(Some((crs[crs.len() / 2], cbs[cbs.len() / 2])))
}

/// Skin: in the fixed range and, where the face is seen, within a few levels of its chroma
/// (a skin-toned sweater is not a hand). Stricter than the try-on's own skin test.
fn is_skin(px: &[u8], face: Option<(f32, f32)>) -> bool {
    let (_, cr, cb) = chroma(px);
    in_skin_range(px) && face.is_none_or(|(fcr, fcb)| (cr - fcr).hypot(cb - fcb) < 8.0)
}

/// Hands in front: frames where skin near the pose's forearms and hands covers at least 0.5 %
/// of the torso quad (less the head); such a frame passes when 90 % of those pixels come out
/// as they went in.
fn hands_measure(tryon: &mut TryOn, seg: &mut PersonSegmenter, clips: &[Clip], fig: &mut EvalFigures, dump: Option<&Path>) -> Result<()> {
    let (mut frames, mut passed) = (0usize, 0usize);
    for clip in clips {
        let (mut cf, mut cp, mut share) = (0, 0, 0.0);
        for (i, frame) in clip.frames.iter().enumerate().step_by(2) {
            let mask = seg.segment_bgr(frame)?;
            let mut out = frame.try_clone()?;
            let Outcome::Dressed { body, .. } = tryon.apply(&mut out, &mask, i as f64 / clip.fps, &mut TryOnTimings::default())? else { continue };
            let mut quad = torso_quad(frame, &body)?;
            let sw = body.shoulder_width();
            let nose = Point::new(body.nose.0 as i32, body.nose.1 as i32);
            imgproc::circle(&mut quad, nose, (0.45 * sw) as i32, Scalar::all(0.0), -1, imgproc::LINE_8, 0)?;
            // Only skin near the pose's forearms and hands counts (clothing can be skin-toned).
            let mut near = Mat::new_rows_cols_with_default(frame.rows(), frame.cols(), core::CV_8UC1, Scalar::all(0.0))?;
            let p = |v: (f32, f32)| Point::new(v.0 as i32, v.1 as i32);
            for (elbow, wrist) in [(body.elbow_left, body.wrist_left), (body.elbow_right, body.wrist_right)] {
                let hand = (wrist.0 + (wrist.0 - elbow.0) * 0.6, wrist.1 + (wrist.1 - elbow.1) * 0.6);
                imgproc::line(&mut near, p(elbow), p(wrist), Scalar::all(255.0), (0.5 * sw) as i32, imgproc::LINE_8, 0)?;
                imgproc::line(&mut near, p(wrist), p(hand), Scalar::all(255.0), (0.7 * sw) as i32, imgproc::LINE_8, 0)?;
            }
            let unrestricted = quad.try_clone()?;
            core::bitwise_and_def(&unrestricted, &near, &mut quad)?;
            let face = face_chroma(frame, &body)?;
            let (q, a, b) = (quad.data_bytes()?, frame.data_bytes()?, out.data_bytes()?);
            let (mut area, mut skin, mut kept) = (0usize, 0usize, 0usize);
            let mut marked = out.try_clone()?;
            let md = marked.data_bytes_mut()?;
            for i in 0..q.len() {
                if q[i] == 0 {
                    continue;
                }
                area += 1;
                if is_skin(&a[i * 3..i * 3 + 3], face) {
                    skin += 1;
                    let same = (0..3).all(|c| (a[i * 3 + c] as i32 - b[i * 3 + c] as i32).abs() <= 12);
                    kept += same as usize;
                    md[i * 3..i * 3 + 3].copy_from_slice(if same { &[0, 255, 0] } else { &[0, 0, 255] });
                }
            }
            let torso_area = core::count_non_zero(&unrestricted)? as usize;
            if area == 0 || skin * 200 < torso_area {
                continue;
            }
            cf += 1;
            share += kept as f64 / skin as f64;
            let pass = kept * 10 >= skin * 9;
            cp += pass as usize;
            if let Some(dir) = dump.filter(|_| !pass && cf - cp <= 3) {
                let mut pair = Mat::default();
                core::hconcat(&Vector::<Mat>::from_iter([frame.try_clone()?, out.try_clone()?, marked]), &mut pair)?;
                std::fs::create_dir_all(dir)?;
                let path = dir.join(format!("hands__{}_{i:04}.jpg", clip.name));
                opencv::imgcodecs::imwrite_def(path.to_str().context("path")?, &pair)?;
            }
        }
        if cf > 0 {
            println!("hands in front, {}: {cp}/{cf} frames keep them (on average {:.0} % of their pixels)", clip.name, 100.0 * share / cf as f64);
        }
        (frames, passed) = (frames + cf, passed + cp);
    }
    fig.hand_frames = frames;
    fig.hands_in_front = (frames > 0).then(|| passed as f64 / frames as f64);
    Ok(())
}

/// Jitter of the body points: a still photo with sensor noise, and the least-moving clip,
/// raw and with the One-Euro filter.
fn jitter_measures(tryon: &mut TryOn, seg: &mut PersonSegmenter, people: &Path, clips: &[Clip], fig: &mut EvalFigures) -> Result<()> {
    let still_path = people.join("tfjs_pose.jpg");
    if still_path.is_file() {
        let still = opencv::imgcodecs::imread(still_path.to_str().context("path")?, opencv::imgcodecs::IMREAD_COLOR)?;
        let noisy: Vec<Mat> = (0..60).map(|i| with_noise(&still, 6.0, i as u64 + 1)).collect::<Result<_>>()?;
        fig.jitter_noise_raw_px = jitter(tryon, seg, &noisy, false)?;
        fig.jitter_noise_filtered_px = jitter(tryon, seg, &noisy, true)?;
        println!("jitter, still photo + noise: raw {:.2} px · One-Euro {:.2} px", fig.jitter_noise_raw_px, fig.jitter_noise_filtered_px);
    }
    let mut best: Option<(f64, &Clip)> = None;
    for clip in clips {
        let frames = &clip.frames[..clip.frames.len().min(60)];
        let raw = jitter(tryon, seg, frames, false)?;
        if raw.is_finite() && best.as_ref().is_none_or(|b| raw < b.0) {
            best = Some((raw, clip));
        }
    }
    if let Some((raw, clip)) = best {
        let filtered = jitter(tryon, seg, &clip.frames[..clip.frames.len().min(60)], true)?;
        println!("jitter, least-moving clip {}: raw {raw:.2} px · One-Euro {filtered:.2} px", clip.name);
        fig.jitter_clip = Some(clip.name.clone());
        (fig.jitter_clip_raw_px, fig.jitter_clip_filtered_px) = (Some(raw), Some(filtered));
    }
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

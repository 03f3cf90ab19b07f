//! Warping the garment onto the body and compositing it into the frame.

use std::sync::Arc;
use std::time::Instant;

use opencv::core::{self, Mat, Rect, Scalar, Size};
use opencv::imgproc;
use opencv::prelude::*;
use vitrine_garment::{Garment, GarmentKind, Point};
use vitrine_vision::PersonMask;

use crate::{dist, mid, ms_since, Body, Result, Tps, TryOnTimings};

/// Garment shoulder seams sit a little outside the shoulder joints BlazePose finds.
const SHOULDER_EASE: f32 = 1.15;
/// The garment's shoulder line sits this far (share of shoulder width) above the joints.
const SHOULDER_LIFT: f32 = 0.08;
/// A top's hem sits this share of the torso below the hip joints.
const HEM_BELOW_HIPS: f32 = 0.08;
/// Torso length (shoulders to hips) over shoulder width: at or below `SHORT_TORSO` the hips are
/// taken for a guess (BlazePose puts hips it cannot see near its crop's centre, e.g. on a
/// head-and-chest shot) and the garment keeps its own length; from `PLAUSIBLE_TORSO` up the
/// hem goes to the hips; in between, a blend, so the garment does not jump.
const SHORT_TORSO: f32 = 1.0;
const PLAUSIBLE_TORSO: f32 = 1.3;
/// Grid step (px) at which the spline is evaluated; pixels between are interpolated.
const GRID: i32 = 8;

/// The garment drawn into one frame: where, how opaque, and the warped garment itself
/// (what a refinement model or an evaluation needs).
#[derive(Debug, Clone)]
pub struct Rendered {
    pub roi: Rect,
    /// Final alpha (0..=255) over `roi`.
    pub alpha: Mat,
    /// The warped garment over `roi`, BGRA.
    pub warped: Mat,
    /// The warped sleeve mask over `roi` (255 sleeve, 0 the garment's body): what of the
    /// garment is meant to leave the torso.
    pub sleeves: Mat,
    /// The garment's chest width over the shopper's silhouette (see [`TIGHT_EASE`] and
    /// [`LOOSE_EASE`]), when the mask gave the silhouette.
    pub ease: Option<f32>,
}

/// A selected garment with what every frame needs precomputed.
pub(crate) struct Prepared {
    pub garment: Arc<Garment>,
    /// The garment without its sleeves (body and collar), BGRA: warped by the torso's spline.
    torso_layer: Mat,
    /// Each sleeve alone (wearer's left, right), BGRA: warped along its own arm.
    sleeve_layers: [Option<Mat>; 2],
    /// Each sleeve's area in garment pixels (wearer's left, right).
    sleeve_areas: [f32; 2],
    /// Each sleeve's furthest pixel from its shoulder point, garment pixels.
    sleeve_radii: [f32; 2],
    /// Chest width of the chosen size over the reference size's (1 for M or no size).
    size_scale: f32,
    person: Mat,
    person_small: Mat,
}

impl Prepared {
    pub fn new(garment: Arc<Garment>, size_scale: f32) -> Result<Self> {
        let parts = garment.parts()?;
        let layer = |mask: &Mat| -> Result<Mat> {
            let mut out = garment.image.try_clone()?;
            let m = mask.data_bytes()?;
            for (px, &k) in out.data_bytes_mut()?.chunks_exact_mut(4).zip(m) {
                if k == 0 {
                    px[3] = 0;
                }
            }
            Ok(out)
        };
        let mut torso_mask = Mat::default();
        core::bitwise_or_def(&parts.body, &parts.collar, &mut torso_mask)?;
        let l = &garment.landmarks;
        let [_, left_area, right_area, _] = parts.areas()?;
        let sleeve_layers = [
            l.sleeve_left.is_some().then(|| layer(&parts.sleeve_left)).transpose()?,
            l.sleeve_right.is_some().then(|| layer(&parts.sleeve_right)).transpose()?,
        ];
        // How far each sleeve reaches from its shoulder point, in garment pixels.
        let radius = |mask: &Mat, shoulder: Point| -> Result<f32> {
            let w = mask.cols() as usize;
            Ok(mask.data_bytes()?.iter().enumerate().filter(|&(_, &m)| m > 0).map(|(i, _)| Point::new((i % w) as f32, (i / w) as f32).dist(shoulder)).fold(0.0, f32::max))
        };
        let sleeve_radii = [radius(&parts.sleeve_left, l.shoulder_left)?, radius(&parts.sleeve_right, l.shoulder_right)?];
        Ok(Self {
            torso_layer: layer(&torso_mask)?,
            sleeve_layers,
            sleeve_areas: [left_area as f32, right_area as f32],
            sleeve_radii,
            garment,
            size_scale,
            person: Mat::default(),
            person_small: Mat::default(),
        })
    }

    /// Draws the garment onto `bgr` in place; `None` when the body points are degenerate.
    pub fn render(&mut self, bgr: &mut Mat, mask: &PersonMask, body: &Body, timings: &mut TryOnTimings) -> Result<Option<Rendered>> {
        let t = Instant::now();
        let (fw, fh) = (bgr.cols(), bgr.rows());
        self.person_roi(mask, Size::new(fw, fh))?;
        let fit = Fit::new(&self.garment, body, self.size_scale, Some((&self.person, &*bgr)), self.sleeve_areas);
        let Some(inverse) = Tps::fit(&fit.targets, &fit.sources, 0.002) else { return Ok(None) };
        let margin = 0.3 * fit.sw;
        let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
        for p in fit.targets.iter().chain(fit.sleeve_chains.iter().flatten().flat_map(|c| c.points.iter())) {
            (x0, y0, x1, y1) = (x0.min(p.0), y0.min(p.1), x1.max(p.0), y1.max(p.1));
        }
        let rx0 = ((x0 - margin).floor() as i32).clamp(0, fw - 1);
        let ry0 = ((y0 - margin).floor() as i32).clamp(0, fh - 1);
        let rx1 = ((x1 + margin).ceil() as i32).clamp(rx0 + 1, fw);
        let ry1 = ((y1 + margin).ceil() as i32).clamp(ry0 + 1, fh);
        let roi = Rect::new(rx0, ry0, rx1 - rx0, ry1 - ry0);
        let (map_x, map_y) = spline_maps(&inverse, roi)?;
        let remap = |src: &Mat, mx: &Mat, my: &Mat| -> Result<Mat> {
            let mut out = Mat::default();
            imgproc::remap(src, &mut out, mx, my, imgproc::INTER_LINEAR, core::BORDER_CONSTANT, Scalar::all(0.0))?;
            Ok(out)
        };
        let mut warped = remap(&self.torso_layer, &map_x, &map_y)?;
        let mut sleeves = Mat::new_size_with_default(roi.size(), core::CV_8UC1, Scalar::all(0.0))?;
        // Sleeves over the body, each warped along its own arm (or with the body when the
        // arm is not seen).
        for ((layer, chain), radius) in self.sleeve_layers.iter().zip(&fit.sleeve_chains).zip(self.sleeve_radii) {
            let Some(layer) = layer else { continue };
            let sleeve = match chain {
                Some(chain) => {
                    let (mx, my) = chain.maps(roi, radius * chain.along.max(chain.across) + 2.0)?;
                    remap(layer, &mx, &my)?
                }
                None => remap(layer, &map_x, &map_y)?,
            };
            over(&mut warped, &sleeve, &mut sleeves)?;
        }
        timings.warp_ms = ms_since(t);

        let t = Instant::now();
        let person = Mat::roi(&self.person, roi)?.try_clone()?;
        let frame_roi = Mat::roi(bgr, roi)?.try_clone()?;
        let mut alpha = Mat::new_size_with_default(roi.size(), core::CV_8UC1, Scalar::all(0.0))?;
        // What stands in front of the garment (head, hands, bare forearms): its edge stays
        // sharp, as an occluder's does in a photo, instead of being feathered into.
        let mut front = Mat::new_size_with_default(roi.size(), core::CV_8UC1, Scalar::all(0.0))?;
        {
            let (wd, sd, pd, fd) = (warped.data_bytes()?, sleeves.data_bytes()?, person.data_bytes()?, frame_roi.data_bytes()?);
            let fr = front.data_bytes_mut()?;
            let ad = alpha.data_bytes_mut()?;
            let rw = roi.width as usize;
            let top_chroma = fit.own_top.as_ref().map(|t| chroma_f(&t.colour));
            for (i, a) in ad.iter_mut().enumerate() {
                let g = wd[i * 4 + 3];
                if g == 0 || pd[i] == 0 {
                    continue;
                }
                let p = ((roi.x as usize + i % rw) as f32 + 0.5, (roi.y as usize + i / rw) as f32 + 0.5);
                let c = chroma(&fd[i * 3..i * 3 + 3]);
                let to_skin = fit.skin.as_ref().map(|s| s.distance(c));
                let skin_here = to_skin.is_some_and(|d| d < SKIN_CHROMA_TOLERANCE);
                // Nearer the own top's chroma than the skin's (see `keep_frame`).
                let like_own_top = match (top_chroma, to_skin) {
                    (Some(t), Some(d)) => !skin_here && (c.0 - t.0).hypot(c.1 - t.1) < d,
                    _ => false,
                };
                let keep = fit.keep_frame(p, &fd[i * 3..i * 3 + 3], sd[i], skin_here, like_own_top);
                if keep >= 1.0 {
                    fr[i] = 255;
                }
                *a = ((g as f32 * pd[i] as f32 / 255.0) * (1.0 - keep)) as u8;
            }
        }
        if let Some(top) = &fit.own_top {
            cover_own_top(top, &fit, roi, &frame_roi, &person, &front, &mut warped, &mut alpha)?;
            cover_own_top_rim(top, &fit, roi, &frame_roi, &person, &front, &mut warped, &mut alpha)?;
        }
        // Soft seams: the alpha's edge feathered over a few pixels, except against what is in front.
        let mut soft = Mat::default();
        let k = ((fit.sw / 40.0) as i32 | 1).clamp(3, 9);
        imgproc::gaussian_blur_def(&alpha, &mut soft, Size::new(k, k), 0.0)?;
        let mut front_grown = Mat::default();
        let kernel = imgproc::get_structuring_element(imgproc::MORPH_ELLIPSE, Size::new(3, 3), core::Point::new(-1, -1))?;
        imgproc::dilate_def(&front, &mut front_grown, &kernel)?;
        for (a, &f) in soft.data_bytes_mut()?.iter_mut().zip(front_grown.data_bytes()?) {
            if f > 0 {
                *a = 0;
            }
        }
        let shade = shading(&frame_roi, &person, &warped, &fit, roi)?;
        {
            let mut target = Mat::roi_mut(bgr, roi)?;
            let (wd, ad, sh) = (warped.data_bytes()?, soft.data_bytes()?, shade.data_typed::<f32>()?);
            let rw = roi.width as usize;
            for y in 0..roi.height as usize {
                let row = target.at_row_mut::<core::Vec3b>(y as i32)?;
                for (x, px) in row.iter_mut().enumerate() {
                    let i = y * rw + x;
                    let a = ad[i] as f32 / 255.0;
                    if a == 0.0 {
                        continue;
                    }
                    for c in 0..3 {
                        let g = (wd[i * 4 + c] as f32 * sh[i]).min(255.0);
                        px[c] = (g * a + px[c] as f32 * (1.0 - a) + 0.5) as u8;
                    }
                }
            }
        }
        timings.composite_ms = ms_since(t);
        Ok(Some(Rendered { roi, alpha: soft, warped, sleeves, ease: fit.ease }))
    }

    /// The chosen person's mask at frame size. Not dilated: on a shopper who fills a fifth of
    /// the frame one mask cell is 5 pixels across, and the garment would reach that far onto
    /// the backdrop beside the body.
    fn person_roi(&mut self, mask: &PersonMask, size: Size) -> Result<()> {
        let mut small = Mat::new_rows_cols_with_default(mask.height as i32, mask.width as i32, core::CV_8UC1, Scalar::all(0.0))?;
        for (d, &p) in small.data_bytes_mut()?.iter_mut().zip(&mask.data) {
            *d = ((p - 0.25) * 4.0).clamp(0.0, 1.0).mul_add(255.0, 0.5) as u8;
        }
        // Softened before it is scaled up: linear interpolation alone leaves the coarse
        // mask's steps as a staircase along the garment's edge.
        imgproc::gaussian_blur_def(&small, &mut self.person_small, Size::new(3, 3), 0.0)?;
        imgproc::resize(&self.person_small, &mut self.person, size, 0.0, 0.0, imgproc::INTER_LINEAR)?;
        Ok(())
    }
}

/// How far (share of shoulder width) beyond the garment the shopper's own top is covered.
const OWN_TOP_COVER: f32 = 0.3;
/// How far above the shoulder line (share of the shoulder width) the garment's top edge is
/// beyond the neck: where the pose's shoulder points are, inside the shoulders' round.
const GARMENT_SHOULDERS: f32 = 0.12;
/// How far up the shoulders' round the shopper's own top is covered: to its top.
const OWN_TOP_SHOULDERS: f32 = 0.25;
/// The smallest piece of it covered: a square of this share of the shoulder width.
const OWN_TOP_MIN_PIECE: f32 = 0.2;

/// Where the shopper's own top would show beside or below the new garment (theirs is looser
/// or longer), within [`OWN_TOP_COVER`] of it, the garment is carried out over it: each such
/// pixel takes the garment's nearest opaque pixel (the room's shading is applied later, as
/// on the rest of the garment). Their own sleeve past the new garment's sleeve stays (a top
/// worn over it), and so do skin, hands and the head.
#[allow(clippy::too_many_arguments)]
fn cover_own_top(top: &OwnTop, fit: &Fit, roi: Rect, frame: &Mat, person: &Mat, front: &Mat, warped: &mut Mat, alpha: &mut Mat) -> Result<()> {
    // Where to cover is decided on a coarser grid (a close shopper's ROI is most of a 720p
    // frame); the covering itself is per pixel.
    let step = ((roi.width.max(roi.height) as f32 / COVER_GRID).ceil() as i32).max(1);
    let small = Size::new((roi.width + step - 1) / step, (roi.height + step - 1) / step);
    let shrink = |m: &Mat| -> Result<Mat> {
        let mut out = Mat::default();
        imgproc::resize(m, &mut out, small, 0.0, 0.0, imgproc::INTER_NEAREST)?;
        Ok(out)
    };
    let (alpha_s, frame_s, person_s, front_s) = (shrink(alpha)?, shrink(frame)?, shrink(person)?, shrink(front)?);
    let (sw_, sh_) = (small.width as usize, small.height as usize);
    let nearest = nearest_seeds(alpha_s.data_bytes()?, sw_, sh_);
    let (fd, pd, frd) = (frame_s.data_bytes()?, person_s.data_bytes()?, front_s.data_bytes()?);
    let reach = OWN_TOP_COVER * fit.sw / step as f32;
    // Not above the garment's top edge (their own top's shoulders are covered, its neckline
    // not), nor below the hem: a longer top of theirs is what the hem itself was carried down
    // over.
    let lowest = fit.hem_depth;
    // Where the garment may be carried (whatever the colour), and where the own top is seen.
    let mut allowed = vec![false; sw_ * sh_];
    let mut seen = Mat::new_size_with_default(small, core::CV_8UC1, Scalar::all(0.0))?;
    let sd = seen.data_bytes_mut()?;
    for (i, &(_, _, d2)) in nearest.iter().enumerate() {
        if d2 == 0 || d2 as f32 > reach * reach || pd[i] < 128 || frd[i] > 0 {
            continue;
        }
        let bgr = &fd[i * 3..i * 3 + 3];
        let p = (roi.x as f32 + ((i % sw_) as f32 + 0.5) * step as f32, roi.y as f32 + ((i / sw_) as f32 + 0.5) * step as f32);
        let in_long_sleeve = fit.in_long_sleeve(p);
        if fit.skin.as_ref().is_some_and(|s| s.matches(bgr)) && !in_long_sleeve {
            continue;
        }
        let (across, depth) = (dot(sub(p, fit.origin), fit.across), dot(sub(p, fit.origin), fit.down));
        if depth < fit.top_depth(across, OWN_TOP_SHOULDERS) || depth > lowest || dist(p, fit.nose) < 0.42 * fit.sw || (in_any(p, &fit.hands) && !fit.under_sleeve(p)) {
            continue;
        }
        let own_sleeve = fit.arms.iter().any(|&((a, b, r), span)| segment_distance(p, a, b) < r && span.along(p, a, b) >= span.sleeve_reach);
        if own_sleeve {
            continue;
        }
        allowed[i] = true;
        if in_long_sleeve || top.matches(&[bgr[0] as f32, bgr[1] as f32, bgr[2] as f32]) {
            sd[i] = 255;
        }
    }
    // Specks (trousers or a backdrop that happen to match) go; holes (a check's other
    // colour, a print) close.
    let k = (((fit.sw / 25.0) as i32 / step) | 1).clamp(3, 9);
    let kernel = imgproc::get_structuring_element(imgproc::MORPH_ELLIPSE, Size::new(k, k), core::Point::new(-1, -1))?;
    let (mut opened, mut solid) = (Mat::default(), Mat::default());
    imgproc::morphology_ex_def(&seen, &mut opened, imgproc::MORPH_OPEN, &kernel)?;
    imgproc::morphology_ex_def(&opened, &mut solid, imgproc::MORPH_CLOSE, &kernel)?;
    for (m, &ok) in solid.data_bytes_mut()?.iter_mut().zip(&allowed) {
        if !ok {
            *m = 0;
        }
    }
    // Scraps, and pieces cut off from the garment (by an arm, say), would read as stains on
    // the shopper's own clothes: only pieces of some size that touch the garment are covered.
    let (mut labels, mut stats, mut centroids) = (Mat::default(), Mat::default(), Mat::default());
    imgproc::connected_components_with_stats(&solid, &mut labels, &mut stats, &mut centroids, 8, core::CV_32S)?;
    let labels = labels.data_typed::<i32>()?;
    let mut touching = vec![false; stats.rows().max(1) as usize];
    for (&l, &(_, _, d2)) in labels.iter().zip(&nearest) {
        if l > 0 && d2 <= 2 {
            touching[l as usize] = true;
        }
    }
    let min_area = (OWN_TOP_MIN_PIECE * fit.sw / step as f32).powi(2) as i32;
    let keep: Vec<bool> =
        (0..stats.rows()).map(|r| touching[r as usize] && stats.at_2d::<i32>(r, imgproc::CC_STAT_AREA).is_ok_and(|&a| a >= min_area)).collect();
    if !keep.iter().any(|&k| k) {
        return Ok(());
    }
    // The colour comes from the garment smoothed along its edge, so that a seam or a fold
    // ending there is not drawn out into streaks.
    let smooth = premultiplied_blur(warped, ((fit.sw / 8.0) as i32 | 1).clamp(3, 61))?;
    let sm = smooth.data_bytes()?;
    let (full_p, full_f) = (person.data_bytes()?, front.data_bytes()?);
    let (rw, rh) = (roi.width as usize, roi.height as usize);
    let step = step as usize;
    let wd = warped.data_bytes_mut()?;
    let ad = alpha.data_bytes_mut()?;
    for y in 0..rh {
        for x in 0..rw {
            let (i, j) = (y * rw + x, (y / step) * sw_ + x / step);
            if !keep[labels[j] as usize] || ad[i] >= 128 || full_p[i] < 128 || full_f[i] > 0 {
                continue;
            }
            let (sx, sy, _) = nearest[j];
            let seed = ((sy as usize * step + step / 2).min(rh - 1)) * rw + (sx as usize * step + step / 2).min(rw - 1);
            paint(sm, seed, i, wd, ad);
        }
    }
    Ok(())
}

/// The last few pixels of the shopper's own top along the garment's edge (the person mask
/// is coarse: its edge runs a little inside or outside the body's) would draw a thin outline
/// of the old colour around the new garment: pixels within [`OWN_TOP_RIM`] of the garment
/// that look like the own top take the garment's colour there.
#[allow(clippy::too_many_arguments)]
fn cover_own_top_rim(top: &OwnTop, fit: &Fit, roi: Rect, frame: &Mat, person: &Mat, front: &Mat, warped: &mut Mat, alpha: &mut Mat) -> Result<()> {
    let reach = ((OWN_TOP_RIM * fit.sw) as i32).clamp(1, 8);
    let mut garment = Mat::default();
    imgproc::threshold(alpha, &mut garment, 127.0, 255.0, imgproc::THRESH_BINARY)?;
    let kernel = imgproc::get_structuring_element(imgproc::MORPH_ELLIPSE, Size::new(2 * reach + 1, 2 * reach + 1), core::Point::new(-1, -1))?;
    let mut near = Mat::default();
    imgproc::dilate_def(&garment, &mut near, &kernel)?;
    // The garment's colour carried out over the rim: premultiplied, blurred as far as the
    // rim reaches, divided back.
    let smooth = premultiplied_blur(warped, 2 * reach + 1)?;
    let (sm, nd, fd, pd, frd) = (smooth.data_bytes()?, near.data_bytes()?, frame.data_bytes()?, person.data_bytes()?, front.data_bytes()?);
    let rw = roi.width as usize;
    let wd = warped.data_bytes_mut()?;
    let ad = alpha.data_bytes_mut()?;
    for i in 0..ad.len() {
        if ad[i] >= 128 || nd[i] == 0 || pd[i] == 0 || frd[i] > 0 {
            continue;
        }
        let bgr = &fd[i * 3..i * 3 + 3];
        if fit.skin.as_ref().is_some_and(|s| s.matches(bgr)) || !top.matches(&[bgr[0] as f32, bgr[1] as f32, bgr[2] as f32]) {
            continue;
        }
        let p = ((roi.x as usize + i % rw) as f32 + 0.5, (roi.y as usize + i / rw) as f32 + 0.5);
        if in_any(p, &fit.hands) || dist(p, fit.nose) < 0.42 * fit.sw {
            continue;
        }
        paint(sm, i, i, wd, ad);
    }
    Ok(())
}

/// The garment's BGRA premultiplied by its alpha and box-blurred `k` wide: its colour carried
/// a little beyond its edge, without the transparent pixels' black.
fn premultiplied_blur(warped: &Mat, k: i32) -> Result<Mat> {
    let mut premultiplied = warped.try_clone()?;
    for px in premultiplied.data_bytes_mut()?.chunks_exact_mut(4) {
        for c in 0..3 {
            px[c] = (px[c] as u16 * px[3] as u16 / 255) as u8;
        }
    }
    let mut smooth = Mat::default();
    imgproc::blur_def(&premultiplied, &mut smooth, Size::new(k, k))?;
    Ok(smooth)
}

/// Pixel `i` of the garment (`warped`, `alpha`) made opaque in the colour of pixel `from` of
/// a [`premultiplied_blur`] (divided back by the alpha it averaged); nothing where that is
/// transparent.
fn paint(smooth: &[u8], from: usize, i: usize, warped: &mut [u8], alpha: &mut [u8]) {
    let a = smooth[from * 4 + 3] as f32;
    if a < 1.0 {
        return;
    }
    for c in 0..3 {
        warped[i * 4 + c] = (smooth[from * 4 + c] as f32 * 255.0 / a).min(255.0) as u8;
    }
    warped[i * 4 + 3] = 255;
    alpha[i] = 255;
}

/// How far out from the garment's edge (share of the shoulder width) the own top's rim is
/// covered.
const OWN_TOP_RIM: f32 = 0.03;

/// The grid `cover_own_top` decides on: the ROI's long side in at most this many cells.
const COVER_GRID: f32 = 240.0;

/// For each pixel of a `w`×`h` alpha, the nearest opaque pixel (alpha ≥ 128) as (x, y) and
/// the squared distance to it, `u32::MAX` for all three where there is none: two raster passes
/// over the 8 neighbours, close to exact at the few tens of pixels this is used for.
fn nearest_seeds(alpha: &[u8], w: usize, h: usize) -> Vec<(u32, u32, u32)> {
    const NONE: (u32, u32, u32) = (u32::MAX, u32::MAX, u32::MAX);
    let mut out: Vec<(u32, u32, u32)> =
        alpha.iter().enumerate().map(|(i, &a)| if a >= 128 { ((i % w) as u32, (i / w) as u32, 0) } else { NONE }).collect();
    let relax = |out: &mut [(u32, u32, u32)], x: usize, y: usize, j: usize| {
        let (sx, sy, _) = out[j];
        if sx == u32::MAX {
            return;
        }
        let (dx, dy) = (x as i64 - sx as i64, y as i64 - sy as i64);
        let d2 = (dx * dx + dy * dy) as u32;
        let i = y * w + x;
        if d2 < out[i].2 {
            out[i] = (sx, sy, d2);
        }
    };
    for y in 0..h {
        for x in 0..w {
            let i = y * w + x;
            if x > 0 {
                relax(&mut out, x, y, i - 1);
            }
            if y > 0 {
                relax(&mut out, x, y, i - w);
                if x > 0 {
                    relax(&mut out, x, y, i - w - 1);
                }
                if x + 1 < w {
                    relax(&mut out, x, y, i - w + 1);
                }
            }
        }
    }
    for y in (0..h).rev() {
        for x in (0..w).rev() {
            let i = y * w + x;
            if x + 1 < w {
                relax(&mut out, x, y, i + 1);
            }
            if y + 1 < h {
                relax(&mut out, x, y, i + w);
                if x + 1 < w {
                    relax(&mut out, x, y, i + w + 1);
                }
                if x > 0 {
                    relax(&mut out, x, y, i + w - 1);
                }
            }
        }
    }
    out
}

/// `top` (BGRA) laid over `base` (BGRA) in place; `cover` gains top's alpha.
fn over(base: &mut Mat, top: &Mat, cover: &mut Mat) -> Result<()> {
    let td = top.data_bytes()?;
    let cd = cover.data_bytes_mut()?;
    for ((b, t), c) in base.data_bytes_mut()?.chunks_exact_mut(4).zip(td.chunks_exact(4)).zip(cd.iter_mut()) {
        let a = t[3] as u16;
        if a == 0 {
            continue;
        }
        for k in 0..3 {
            b[k] = ((t[k] as u16 * a + b[k] as u16 * (255 - a) + 127) / 255) as u8;
        }
        b[3] = (a + b[3] as u16 * (255 - a) / 255).min(255) as u8;
        *c = (*c).max(t[3]);
    }
    Ok(())
}

/// The shopper's skin colour (Cr, Cb), read off the face: hands and forearms in front of the
/// body are kept from the frame where they have it.
#[derive(Debug, Clone, Copy)]
struct SkinTone {
    cr: f32,
    cb: f32,
}

impl SkinTone {
    /// Median chroma of skin-like pixels in a disc around the nose; `None` when too few.
    fn from_face(bgr: &Mat, nose: (f32, f32), radius: f32) -> Result<Option<Self>> {
        let (w, h) = (bgr.cols(), bgr.rows());
        let r = radius.max(3.0) as i32;
        let (cx, cy) = (nose.0 as i32, nose.1 as i32);
        let (mut crs, mut cbs) = (Vec::new(), Vec::new());
        for y in (cy - r).max(0)..(cy + r).min(h) {
            for x in (cx - r).max(0)..(cx + r).min(w) {
                if (x - cx).pow(2) + (y - cy).pow(2) > r * r {
                    continue;
                }
                let px = bgr.at_2d::<core::Vec3b>(y, x)?;
                let (cr, cb) = chroma(&[px[0], px[1], px[2]]);
                // A broad skin range first (hair, eyes and background fall outside it).
                if (133.0..=178.0).contains(&cr) && (77.0..=130.0).contains(&cb) {
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
        Ok(Some(Self { cr: crs[crs.len() / 2], cb: cbs[cbs.len() / 2] }))
    }

    fn matches(&self, bgr: &[u8]) -> bool {
        self.distance(chroma(bgr)) < SKIN_CHROMA_TOLERANCE
    }

    /// How far a (Cr, Cb) chroma is from this skin's.
    fn distance(&self, (cr, cb): (f32, f32)) -> f32 {
        (cr - self.cr).hypot(cb - self.cb)
    }

    /// Whether at least `share` of the pixels along the segment `a`–`b` (inside the frame)
    /// have this skin colour.
    fn covers_segment(&self, bgr: &Mat, a: (f32, f32), b: (f32, f32), share: f32) -> bool {
        let Ok(data) = bgr.data_bytes() else { return false };
        let (w, h) = (bgr.cols(), bgr.rows());
        let steps = dist(a, b).ceil().max(1.0) as usize;
        let (mut seen, mut skin) = (0usize, 0usize);
        for k in 0..=steps {
            let f = k as f32 / steps as f32;
            let (x, y) = ((a.0 + (b.0 - a.0) * f) as i32, (a.1 + (b.1 - a.1) * f) as i32);
            if x < 0 || y < 0 || x >= w || y >= h {
                continue;
            }
            let i = (y * w + x) as usize * 3;
            seen += 1;
            skin += self.matches(&data[i..i + 3]) as usize;
        }
        seen > 0 && skin as f32 >= share * seen as f32
    }

    /// The share of the pixels in a capsule (inside the frame) that have this skin colour,
    /// sampled on a grid; `None` when it lies outside the frame.
    fn share_in_capsule(&self, bgr: &Mat, (a, b, r): Capsule) -> Option<f32> {
        let data = bgr.data_bytes().ok()?;
        let (w, h) = (bgr.cols(), bgr.rows());
        let step = (r / 6.0).max(1.0);
        let (x0, x1) = (a.0.min(b.0) - r, a.0.max(b.0) + r);
        let (y0, y1) = (a.1.min(b.1) - r, a.1.max(b.1) + r);
        let (mut seen, mut skin) = (0usize, 0usize);
        let mut y = y0;
        while y <= y1 {
            let mut x = x0;
            while x <= x1 {
                let (xi, yi) = (x as i32, y as i32);
                if xi >= 0 && yi >= 0 && xi < w && yi < h && segment_distance((x, y), a, b) < r {
                    let i = (yi * w + xi) as usize * 3;
                    seen += 1;
                    skin += self.matches(&data[i..i + 3]) as usize;
                }
                x += step;
            }
            y += step;
        }
        (seen > 0).then(|| skin as f32 / seen as f32)
    }
}

/// The share of a hand's capsule below which it is not taken for a hand (a real one, blurred
/// by motion or half out of the picture, still shows 10 % and more).
const HAND_SKIN: f32 = 0.06;

/// The share of an arm capsule's bone line that must be skin-coloured for it to count as bare.
const BARE_ARM: f32 = 0.6;

/// Lines along an arm (offsets from its bone line, shares of the shoulder width) of which
/// one must be mostly skin for the arm to count as bare.
const BARE_ARM_OFFSETS: [f32; 5] = [0.0, -0.05, 0.05, -0.1, 0.1];

/// How far (in Cr/Cb levels) a pixel's chroma may be from the face's and still be skin.
const SKIN_CHROMA_TOLERANCE: f32 = 12.0;

fn chroma(bgr: &[u8]) -> (f32, f32) {
    chroma_f(&[bgr[0] as f32, bgr[1] as f32, bgr[2] as f32])
}

fn chroma_f(bgr: &[f32; 3]) -> (f32, f32) {
    let (b, g, r) = (bgr[0], bgr[1], bgr[2]);
    let y = 0.299 * r + 0.587 * g + 0.114 * b;
    (128.0 + 0.713 * (r - y), 128.0 + 0.564 * (b - y))
}

/// The room's light on the garment, as a gain per ROI pixel: the shopper's own brightness
/// smoothed at the scale of folds and of light falling across the body, over the same
/// brightness at the scale of the whole torso. A median first takes out prints, text and
/// seams (narrower than the filter), so the shopper's own print does not come through; what
/// is left is shading. Edges get a contact shadow: the collar and the hem darker, the sides a
/// little.
fn shading(frame: &Mat, person: &Mat, warped: &Mat, fit: &Fit, roi: Rect) -> Result<Mat> {
    const DOWN: f64 = 4.0;
    let small_size = Size::new(((roi.width as f64 / DOWN).ceil() as i32).max(1), ((roi.height as f64 / DOWN).ceil() as i32).max(1));
    let mut gray = Mat::default();
    imgproc::cvt_color_def(frame, &mut gray, imgproc::COLOR_BGR2GRAY)?;
    let (mut g_small, mut p_small) = (Mat::default(), Mat::default());
    imgproc::resize(&gray, &mut g_small, small_size, 0.0, 0.0, imgproc::INTER_AREA)?;
    imgproc::resize(person, &mut p_small, small_size, 0.0, 0.0, imgproc::INTER_AREA)?;
    let median_k = (((fit.sw / 10.0) as f64 / DOWN) as i32 | 1).clamp(3, 5);
    let mut med = Mat::default();
    imgproc::median_blur(&g_small, &mut med, median_k)?;
    // Normalised convolution: only the person's own pixels count (not the backdrop).
    let mut weighted = Mat::default();
    let (mut gf, mut pf) = (Mat::default(), Mat::default());
    med.convert_to(&mut gf, core::CV_32F, 1.0, 0.0)?;
    p_small.convert_to(&mut pf, core::CV_32F, 1.0 / 255.0, 0.0)?;
    core::multiply_def(&gf, &pf, &mut weighted)?;
    let blur = |src: &Mat, sigma: f64| -> Result<Mat> {
        let mut out = Mat::default();
        imgproc::gaussian_blur(src, &mut out, Size::new(0, 0), sigma.max(0.5), 0.0, core::BORDER_REPLICATE)?;
        Ok(out)
    };
    let fine = (fit.sw as f64 / 14.0) / DOWN;
    let broad = (fit.sw as f64 / 2.5) / DOWN;
    let (num_f, den_f, num_b, den_b) = (blur(&weighted, fine)?, blur(&pf, fine)?, blur(&weighted, broad)?, blur(&pf, broad)?);
    let mut gain_small = Mat::new_size_with_default(small_size, core::CV_32FC1, Scalar::all(1.0))?;
    {
        let (nf, df, nb, db) = (num_f.data_typed::<f32>()?, den_f.data_typed::<f32>()?, num_b.data_typed::<f32>()?, den_b.data_typed::<f32>()?);
        for (i, g) in gain_small.data_typed_mut::<f32>()?.iter_mut().enumerate() {
            if df[i] < 0.05 || db[i] < 0.05 {
                continue;
            }
            let (local, wide) = (nf[i] / df[i], nb[i] / db[i]);
            *g = ((local + 12.0) / (wide + 12.0)).powf(SHADING_STRENGTH).clamp(0.65, 1.2);
        }
    }
    let mut gain = Mat::default();
    imgproc::resize(&gain_small, &mut gain, roi.size(), 0.0, 0.0, imgproc::INTER_LINEAR)?;
    // Contact shadow: distance inside the garment from its edge.
    let mut inside = Mat::default();
    let alpha: Vec<u8> = warped.data_bytes()?.chunks_exact(4).map(|p| if p[3] > 127 { 255 } else { 0 }).collect();
    let alpha = Mat::new_rows_cols_with_data(roi.height, roi.width, &alpha)?;
    imgproc::distance_transform_def(&alpha, &mut inside, imgproc::DIST_L2, 3)?;
    // Light moves about on the garment but leaves its own colour on average: the gain over the
    // garment is brought to a mean of one (the power and the clamps above lean it one way).
    let (sum, n) = gain.data_typed::<f32>()?.iter().zip(alpha.data_bytes()?).filter(|&(_, &a)| a > 0).fold((0.0f32, 0usize), |(s, n), (&g, _)| (s + g, n + 1));
    if n > 0 {
        let mean = sum / n as f32;
        for g in gain.data_typed_mut::<f32>()? {
            *g /= mean.max(0.5);
        }
    }
    let band = (fit.sw / 14.0).max(2.0);
    let rw = roi.width as usize;
    let (hem_d, neck) = (fit.hem_depth, fit.neckline);
    let dist = inside.data_typed::<f32>()?.to_vec();
    for (i, g) in gain.data_typed_mut::<f32>()?.iter_mut().enumerate() {
        let d = dist[i];
        if d <= 0.0 || d >= band {
            continue;
        }
        let p = ((roi.x as usize + i % rw) as f32 + 0.5, (roi.y as usize + i / rw) as f32 + 0.5);
        let rel = sub(p, fit.origin);
        let down = dot(rel, fit.down);
        let near_neck = down < neck[1].1 + band;
        let near_hem = down > hem_d - 2.0 * band;
        let depth = if near_neck || near_hem { CONTACT_SHADOW } else { CONTACT_SHADOW / 3.0 };
        *g *= 1.0 - depth * (1.0 - d / band).powi(2);
    }
    Ok(gain)
}

/// Exponent on the room's shading ratio (1: all of it; less keeps more of the garment's colour).
const SHADING_STRENGTH: f32 = 0.85;
/// How much darker the garment is right at its collar and hem.
const CONTACT_SHADOW: f32 = 0.3;

/// The body-side geometry of one frame: correspondences and the keep-the-frame regions.
struct Fit {
    /// Body points (frame pixels) and the garment points they take, for the torso's spline.
    targets: Vec<(f32, f32)>,
    sources: Vec<(f32, f32)>,
    sw: f32,
    /// Origin (top of the shoulder line), across (wearer's right → left) and down axes.
    origin: (f32, f32),
    across: (f32, f32),
    down: (f32, f32),
    /// Neckline in (across, down) body coordinates: right, centre, left.
    neckline: [(f32, f32); 3],
    /// The hem's depth below the origin.
    hem_depth: f32,
    nose: (f32, f32),
    /// Arm capsules (from, to, radius), for arms seen well enough, each with the length of
    /// its arm (from the shoulder) that the garment's sleeve covers.
    arms: Vec<(Capsule, ArmSpan)>,
    /// Hands: capsules always kept from the frame.
    hands: Vec<Capsule>,
    /// Where skin-coloured pixels are kept as hands and forearms (unless the garment's sleeve
    /// reaches there).
    skin_reach: Vec<(Capsule, ArmSpan)>,
    /// Each sleeve's bone chain along its arm (wearer's left, right), for arms seen well.
    sleeve_chains: [Option<SleeveChain>; 2],
    /// The garment's chest width over the shopper's (from the mask), when the mask gives it.
    ease: Option<f32>,
    /// The shopper's own top, when the chest gave a sample.
    own_top: Option<OwnTop>,
    /// The shopper's skin tone, from the face, when the frame was seen and the face gave it.
    skin: Option<SkinTone>,
}

/// A segment with a radius: (from, to, radius), frame pixels.
type Capsule = ((f32, f32), (f32, f32), f32);

/// Where a capsule sits along its arm: the distance from the shoulder of its start, and how
/// far from the shoulder the sleeve reaches (0: no sleeve).
#[derive(Debug, Clone, Copy)]
struct ArmSpan {
    start: f32,
    sleeve_reach: f32,
    /// This stretch of the shopper's arm is bare (mostly their skin colour along its bone):
    /// what else lies in its capsule is what is behind the arm, not a sleeve of theirs.
    bare: bool,
    /// The garment's sleeve is a long one (see [`LONG_SLEEVE`]): it covers the whole arm to
    /// the wrist, skin included, even where the packshot's sleeve is narrower than the arm.
    long: bool,
}

impl ArmSpan {
    /// How far along the arm, from the shoulder, `p` lies in this span's capsule `a`–`b`.
    fn along(&self, p: (f32, f32), a: (f32, f32), b: (f32, f32)) -> f32 {
        self.start + dot(sub(p, a), unit(sub(b, a))).max(0.0)
    }
}

fn sub(a: (f32, f32), b: (f32, f32)) -> (f32, f32) {
    (a.0 - b.0, a.1 - b.1)
}
fn dot(a: (f32, f32), b: (f32, f32)) -> f32 {
    a.0 * b.0 + a.1 * b.1
}
fn unit(a: (f32, f32)) -> (f32, f32) {
    let n = a.0.hypot(a.1).max(1e-6);
    (a.0 / n, a.1 / n)
}
fn pt(p: Point) -> (f32, f32) {
    (p.x, p.y)
}

/// Distance from `p` to the segment `a`–`b`.
pub(crate) fn segment_distance(p: (f32, f32), a: (f32, f32), b: (f32, f32)) -> f32 {
    let ab = sub(b, a);
    let t = (dot(sub(p, a), ab) / dot(ab, ab).max(1e-6)).clamp(0.0, 1.0);
    dist(p, (a.0 + ab.0 * t, a.1 + ab.1 * t))
}

fn in_any(p: (f32, f32), capsules: &[Capsule]) -> bool {
    capsules.iter().any(|&(a, b, r)| segment_distance(p, a, b) < r)
}

/// A sleeve laid along its arm: the garment's sleeve axis (shoulder seam → cuff) maps onto the
/// chain shoulder → elbow → wrist, so the sleeve bends at the elbow and turns with the arm.
#[derive(Debug, Clone)]
struct SleeveChain {
    /// Shoulder, elbow, and a point past the wrist, frame pixels.
    points: [(f32, f32); 3],
    /// The garment's shoulder point, the unit axis towards the cuff and its normal.
    g_origin: (f32, f32),
    g_axis: (f32, f32),
    g_normal: (f32, f32),
    /// Frame pixels per garment pixel along the sleeve and across it.
    along: f32,
    across: f32,
}

impl SleeveChain {
    /// For every ROI pixel within `reach` of the chain, where in the garment to sample: the
    /// position along the nearest bone and the offset across it, carried into the garment's
    /// sleeve axis. Pixels further off sample nothing (-1): the sleeve does not reach them.
    fn maps(&self, roi: Rect, reach: f32) -> Result<(Mat, Mat)> {
        let [p0, p1, p2] = self.points;
        let bones = [(p0, p1, 0.0), (p1, p2, dist(p0, p1))];
        let mut mx = Mat::new_size_with_default(roi.size(), core::CV_32FC1, Scalar::all(-1.0))?;
        let mut my = Mat::new_size_with_default(roi.size(), core::CV_32FC1, Scalar::all(-1.0))?;
        let ys = my.data_typed_mut::<f32>()?;
        let xs = mx.data_typed_mut::<f32>()?;
        let rw = roi.width as usize;
        let (bx0, bx1) = (p0.0.min(p1.0).min(p2.0) - reach, p0.0.max(p1.0).max(p2.0) + reach);
        let (by0, by1) = (p0.1.min(p1.1).min(p2.1) - reach, p0.1.max(p1.1).max(p2.1) + reach);
        for (i, (ox, oy)) in xs.iter_mut().zip(ys.iter_mut()).enumerate() {
            let q = ((roi.x as usize + i % rw) as f32 + 0.5, (roi.y as usize + i / rw) as f32 + 0.5);
            if q.0 < bx0 || q.0 > bx1 || q.1 < by0 || q.1 > by1 {
                continue;
            }
            let mut best = (f32::MAX, 0.0f32, 0.0f32);
            for (k, &(a, b, start)) in bones.iter().enumerate() {
                let len = dist(a, b).max(1e-3);
                let d = unit(sub(b, a));
                let rel = sub(q, a);
                let t = dot(rel, d);
                // The first bone runs on before the shoulder, the last past the wrist.
                let tc = if k == 0 { t.min(len) } else { t.max(0.0) };
                let dd = dist(q, (a.0 + d.0 * tc, a.1 + d.1 * tc));
                if dd < best.0 {
                    best = (dd, start + t, dot(rel, (-d.1, d.0)));
                }
            }
            let (u, v) = (best.1 / self.along, best.2 / self.across);
            *ox = self.g_origin.0 + self.g_axis.0 * u + self.g_normal.0 * v;
            *oy = self.g_origin.1 + self.g_axis.1 * u + self.g_normal.1 * v;
        }
        Ok((mx, my))
    }
}

/// How far (share of the torso) below its own hem a top may be drawn down over the shopper's
/// longer clothing.
const OWN_HEM_REACH: f32 = 0.55;

/// The colours of the shopper's own top, sampled across the chest: what their clothing looks
/// like wherever it shows (below the new hem, beside the new garment). A single colour does
/// not do: a saturated top goes from washed out in the light to deep in the shadow under the
/// arms, further apart than any tolerance around one of them could allow without taking in
/// the trousers. So every sampled pixel counts, each standing for the colours near it.
#[derive(Debug, Clone)]
struct OwnTop {
    /// The samples' per-channel median (BGR), what the chest shows most.
    colour: [f32; 3],
    /// How many samples lie near each (chromaticity, brightness) bin.
    near: Vec<u16>,
    /// The count in `near` from which a pixel is taken for the top.
    enough: u16,
}

impl OwnTop {
    /// From rows across the body (`at`: share of the torso → point on the spine), arms, hands
    /// and skin left out; `None` without a usable sample.
    ///
    /// The median colour: per-channel medians over a few rows (half-width `half`) at mid-chest,
    /// upper chest and belly, the first that is like nearly as many of all those pixels as the
    /// best one is, so hands or a lanyard held across one depth do not decide it.
    ///
    /// The colours: every pixel of rows out to the body's sides (`sides`) at upper, mid and
    /// lower chest. Not the belly: hips BlazePose guesses high would take in the trousers.
    #[allow(clippy::too_many_arguments)]
    fn sample(
        frame: &Mat,
        person: &Mat,
        at: impl Fn(f32) -> (f32, f32),
        across: (f32, f32),
        half: f32,
        sides: f32,
        in_front: &[Capsule],
        skin: Option<&SkinTone>,
    ) -> Option<Self> {
        // Three rows 0.3 `half` apart.
        let rows = |f: f32, width: f32| {
            let centre = at(f);
            let mut pixels = Vec::new();
            for dy in [-0.3f32, 0.0, 0.3] {
                pixels.extend(body_row(frame, person, (centre.0 - across.1 * dy * half, centre.1 + across.0 * dy * half), across, width, in_front, skin));
            }
            pixels
        };
        let mut all = Vec::new();
        let mut candidates = Vec::new();
        for f in [0.55f32, 0.35, 0.75] {
            let sample = rows(f, half);
            if sample.len() < 20 {
                continue;
            }
            let median = |c: usize| {
                let mut v: Vec<f32> = sample.iter().map(|p| p[c]).collect();
                v.sort_by(f32::total_cmp);
                v[v.len() / 2]
            };
            candidates.push([median(0), median(1), median(2)]);
            all.extend(sample);
        }
        let scores: Vec<usize> = candidates.iter().map(|c| all.iter().filter(|p| like_colour(c, p)).count()).collect();
        let best = scores.iter().copied().max()?;
        let colour = candidates.into_iter().zip(scores).find(|&(_, n)| n * 20 >= best * 19)?.0;
        let sample: Vec<[f32; 3]> = [0.3f32, 0.45, 0.6].into_iter().flat_map(|f| rows(f, sides)).collect();
        if sample.len() < 30 {
            return None;
        }
        let mut near = vec![0u16; OWN_TOP_BINS.0 * OWN_TOP_BINS.0 * OWN_TOP_BINS.1];
        // Which sample last counted in each bin: a sample counts once however many of its
        // shades reach a bin.
        let mut counted = vec![u16::MAX; near.len()];
        let (rc, rl) = (OWN_TOP_NEAR.0 as isize, OWN_TOP_NEAR.1 as isize);
        let n = OWN_TOP_BINS.0 as f32;
        for (k, px) in sample.iter().enumerate() {
            let (u, v, l) = Self::bin(px);
            // A saturated colour's chromaticity moves with the light (deeper in the shadow,
            // washed out in a highlight) along its line from grey: the sample stands for that
            // line too.
            let (gu, gv) = (u as f32 + 0.5 - n / 3.0, v as f32 + 0.5 - n / 3.0);
            let saturated = gu.hypot(gv) >= OWN_TOP_SATURATED * n;
            let scales: &[f32] = if saturated { &OWN_TOP_SATURATION } else { &[1.0] };
            for &scale in scales {
                let (su, sv) = ((n / 3.0 + gu * scale) as isize, (n / 3.0 + gv * scale) as isize);
                for du in -rc..=rc {
                    for dv in -rc..=rc {
                        for dl in -rl..=rl {
                            if let Some(i) = Self::index(su + du, sv + dv, l + dl) {
                                if counted[i] != k as u16 {
                                    counted[i] = k as u16;
                                    near[i] = near[i].saturating_add(1);
                                }
                            }
                        }
                    }
                }
            }
        }
        let enough = ((sample.len() as f32 * OWN_TOP_SHARE).ceil() as u16).max(3);
        Some(Self { colour, near, enough })
    }

    /// A BGR pixel's bin: chromaticity (blue's and red's shares, which shading leaves alone)
    /// and log brightness.
    fn bin(p: &[f32; 3]) -> (isize, isize, isize) {
        let sum = p[0] + p[1] + p[2] + 3.0 * DARK_OFFSET;
        let n = OWN_TOP_BINS.0 as f32;
        let luma = 0.114 * p[0] + 0.587 * p[1] + 0.299 * p[2] + DARK_OFFSET;
        let l = (luma.log2() - DARK_OFFSET.log2()) / OWN_TOP_LUMA_BIN;
        (((p[0] + DARK_OFFSET) / sum * n) as isize, ((p[2] + DARK_OFFSET) / sum * n) as isize, l as isize)
    }

    fn index(u: isize, v: isize, l: isize) -> Option<usize> {
        let (n, m) = (OWN_TOP_BINS.0 as isize, OWN_TOP_BINS.1 as isize);
        ((0..n).contains(&u) && (0..n).contains(&v) && (0..m).contains(&l)).then(|| ((u * n + v) * m + l) as usize)
    }

    /// Whether a BGR pixel looks like the same clothing: enough of the chest's samples have
    /// about its chromaticity and a brightness within what folds and the room's light make of
    /// it. Trousers usually differ far more in one or the other.
    fn matches(&self, px: &[f32; 3]) -> bool {
        let (u, v, l) = Self::bin(px);
        Self::index(u, v, l).is_some_and(|i| self.near[i] >= self.enough)
    }

    /// Whether a BGR pixel is near the chest's median colour: about the same chromaticity and
    /// a brightness within what folds make of it. Stricter than [`Self::matches`]: where the
    /// top ends below, trousers of a like colour go on.
    fn like_median(&self, px: &[f32; 3]) -> bool {
        like_colour(&self.colour, px)
    }

    /// The depth down to which the top goes: from `from` down to `limit`, rows across the body
    /// whose pixels mostly look like the chest's median colour.
    #[allow(clippy::too_many_arguments)]
    fn end(
        &self,
        frame: &Mat,
        person: &Mat,
        spine: impl Fn(f32) -> (f32, f32),
        across: (f32, f32),
        half: f32,
        from: f32,
        limit: f32,
        in_front: &[Capsule],
        skin: Option<&SkinTone>,
    ) -> f32 {
        let mut depth = from;
        while depth < limit {
            let pixels = body_row(frame, person, spine(depth), across, half, in_front, skin);
            if pixels.len() < 6 || pixels.iter().filter(|p| self.like_median(p)).count() * 2 < pixels.len() {
                break;
            }
            depth += 2.0;
        }
        depth
    }
}

/// Whether BGR pixel `px` is about `colour` (BGR): the same chromaticity within
/// [`OWN_TOP_CHROMATICITY`] and a brightness within [`OWN_TOP_SHADING`] of it.
fn like_colour(colour: &[f32; 3], px: &[f32; 3]) -> bool {
    let chromaticity = |p: &[f32; 3]| {
        let sum = p[0] + p[1] + p[2] + 3.0 * DARK_OFFSET;
        [(p[0] + DARK_OFFSET) / sum, (p[1] + DARK_OFFSET) / sum, (p[2] + DARK_OFFSET) / sum]
    };
    let (a, b) = (chromaticity(px), chromaticity(colour));
    let luma = |p: &[f32; 3]| 0.114 * p[0] + 0.587 * p[1] + 0.299 * p[2] + DARK_OFFSET;
    let ratio = luma(px) / luma(colour);
    (0..3).map(|c| (a[c] - b[c]).powi(2)).sum::<f32>().sqrt() < OWN_TOP_CHROMATICITY && (OWN_TOP_SHADING.0..=OWN_TOP_SHADING.1).contains(&ratio)
}

/// How far a pixel's chromaticity may be from the chest's median and still be the top's
/// (see `OwnTop::like_median`).
const OWN_TOP_CHROMATICITY: f32 = 0.035;
/// Its brightness over the median's, from the deepest fold to the brightest highlight.
const OWN_TOP_SHADING: (f32, f32) = (0.6, 1.5);
/// Chromaticity bins per axis, and log-brightness bins (see `OwnTop::bin`).
const OWN_TOP_BINS: (usize, usize) = (56, 24);
/// Width of a brightness bin, in stops.
const OWN_TOP_LUMA_BIN: f32 = 0.25;
/// How many bins away a sample still counts as near: ±0.036 in chromaticity (a fold's
/// tint), ±0.5 stops in brightness (the samples themselves span the chest's light and shade).
const OWN_TOP_NEAR: (usize, usize) = (2, 2);
/// From this distance from grey in chromaticity on, a sample's colour is saturated.
const OWN_TOP_SATURATED: f32 = 0.12;
/// The saturations (over the sample's) a saturated sample stands for.
const OWN_TOP_SATURATION: [f32; 9] = [0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.35, 1.5];
/// The share of the chest's samples near a pixel for it to be taken for the top: a print's
/// other colour counts, a lanyard or a strand of hair does not.
const OWN_TOP_SHARE: f32 = 0.04;
/// Added to every channel (levels) so that near-black pixels' noise does not read as colour.
const DARK_OFFSET: f32 = 12.0;

/// The shopper's pixels (BGR) on a row across the body at `c`, 21 samples over `half` either
/// side, leaving out the backdrop, what is held in front (arms, hands) and skin (hands the
/// pose misplaced).
fn body_row(frame: &Mat, person: &Mat, c: (f32, f32), across: (f32, f32), half: f32, in_front: &[Capsule], skin: Option<&SkinTone>) -> Vec<[f32; 3]> {
    let (w, h) = (frame.cols(), frame.rows());
    let (Ok(fd), Ok(pd)) = (frame.data_bytes(), person.data_bytes()) else { return Vec::new() };
    (-10..=10)
        .filter_map(|k| {
            let p = (c.0 + across.0 * half * k as f32 / 10.0, c.1 + across.1 * half * k as f32 / 10.0);
            let (x, y) = (p.0 as i32, p.1 as i32);
            if x < 0 || y < 0 || x >= w || y >= h || pd[(y * w + x) as usize] < 128 || in_any(p, in_front) {
                return None;
            }
            let i = (y * w + x) as usize * 3;
            if skin.is_some_and(|s| s.matches(&fd[i..i + 3])) {
                return None;
            }
            Some([fd[i] as f32, fd[i + 1] as f32, fd[i + 2] as f32])
        })
        .collect()
}

/// Half-widths (to the wearer's right, to their left) of the shopper's silhouette across the
/// body at `centre`, stopping at the mask's edge or at an arm; `None` when a walk runs out.
/// Also says whether both walks were clear of arms held in front of the chest (met within
/// `in_front` of the centre): only then is the width a fair measure of the chest.
fn silhouette_half_widths(
    person: &Mat,
    centre: (f32, f32),
    across: (f32, f32),
    limit: f32,
    in_front: f32,
    arms: &[(Capsule, ArmSpan)],
) -> Option<(f32, f32, bool)> {
    let (w, h) = (person.cols(), person.rows());
    let data = person.data_bytes().ok()?;
    // An arm met near the centre is held in front of the chest: the walk goes on past it to
    // the body's edge (the chest is there behind it); one met further out hangs beside the
    // body, and the torso ends there.
    let walk = |sign: f32| -> Option<(f32, bool)> {
        let mut r = 0.0;
        let mut clear = true;
        while r < limit {
            let p = (centre.0 + sign * across.0 * r, centre.1 + sign * across.1 * r);
            let (x, y) = (p.0 as i32, p.1 as i32);
            if x < 0 || y < 0 || x >= w || y >= h {
                return None;
            }
            if data[(y * w + x) as usize] < 128 {
                return Some((r, clear));
            }
            if arms.iter().any(|&((a, b, rad), _)| segment_distance(p, a, b) < rad) {
                if r >= in_front {
                    return Some((r, clear));
                }
                clear = false;
            }
            r += 1.0;
        }
        None
    };
    let ((a, a_clear), (b, b_clear)) = (walk(-1.0)?, walk(1.0)?);
    Some((a, b, a_clear && b_clear))
}

/// Chest width of a size over the reference size (M): one size step is about 5 % of chest
/// girth (4–5 cm on 95–100 cm). Unknown or missing sizes fit as M.
pub fn size_scale(size: Option<&str>) -> f32 {
    let step = match size.map(|s| s.trim().to_ascii_uppercase()).as_deref() {
        Some("XXS") => -3.0,
        Some("XS") => -2.0,
        Some("S") => -1.0,
        Some("L") => 1.0,
        Some("XL") => 2.0,
        Some("XXL" | "2XL") => 3.0,
        Some("XXXL" | "3XL") => 4.0,
        _ => 0.0,
    };
    1.0 + SIZE_STEP * step
}

const SIZE_STEP: f32 = 0.05;
/// A garment whose chest is less than this much wider than the shopper's silhouette looks tight...
pub const TIGHT_EASE: f32 = 1.02;
/// ...and one more than this much wider looks loose.
pub const LOOSE_EASE: f32 = 1.3;
/// Torso length over shoulder width above which the shopper is taken to stand turned (facing
/// the mirror it is about 1.2 to 1.6).
const TURNED_TORSO: f32 = 1.9;
/// The garment never follows the silhouette out further than this many times its own width.
const MAX_STRETCH: f32 = 1.35;
/// A sleeve is drawn at least this many shoulder widths wide (an arm is about 0.3).
const SLEEVE_COVER: f32 = 0.34;
/// A sleeve at least this long for the shopper's arm (share of shoulder → wrist) is a long
/// one: its cuff goes to the wrist whatever the shopper's arm length, as the hem goes to the
/// hips. (Kept to the packshot's proportions, a long sleeve on a long-armed shopper ended
/// mid-forearm, their own cuff showing below it.)
const LONG_SLEEVE: f32 = 0.7;
/// How far past the wrist (share of the shoulder width) the shopper's own cuff is covered
/// under a long sleeve: the pose's wrist point is the joint's centre, a cuff ends past it.
const LONG_SLEEVE_CUFF: f32 = 0.14;
/// How far a long sleeve is shrunk or stretched along the arm to reach the wrist.
const SLEEVE_STRETCH: (f32, f32) = (0.75, 1.4);

impl Fit {
    /// `seen`: the person mask and the frame (BGR), both at frame size; `sleeve_widths`: each
    /// sleeve's area in garment pixels (wearer's left, right).
    fn new(garment: &Garment, body: &Body, size_scale: f32, seen: Option<(&Mat, &Mat)>, sleeve_widths: [f32; 2]) -> Self {
        let l = &garment.landmarks;
        let sw = body.shoulder_width().max(1.0);
        let across = unit(sub(body.shoulder_left, body.shoulder_right));
        let hips = mid(body.hip_left, body.hip_right);
        let shoulders = mid(body.shoulder_left, body.shoulder_right);
        let mut down = (-across.1, across.0);
        if dot(down, sub(hips, shoulders)) < 0.0 {
            down = (-down.0, -down.1);
        }
        let origin = (shoulders.0 - down.0 * SHOULDER_LIFT * sw, shoulders.1 - down.1 * SHOULDER_LIFT * sw);
        let torso = dot(sub(hips, shoulders), down).max(0.8 * sw);

        let g_shoulders = mid(pt(l.shoulder_left), pt(l.shoulder_right));
        let g_sw = l.shoulder_width().max(1.0);
        let g_across = unit(sub(pt(l.shoulder_left), pt(l.shoulder_right)));
        let mut g_down = (-g_across.1, g_across.0);
        if dot(g_down, sub(mid(pt(l.hem_left), pt(l.hem_right)), g_shoulders)) < 0.0 {
            g_down = (-g_down.0, -g_down.1);
        }
        let s = SHOULDER_EASE * sw / g_sw;
        // Garment point → (across, down) body coordinates, keeping the garment's proportions;
        // the size makes it wider or narrower.
        let coords = |p: Point| {
            let d = sub(pt(p), g_shoulders);
            (s * size_scale * dot(d, g_across), s * dot(d, g_down))
        };
        let place = |(a, d): (f32, f32)| (origin.0 + across.0 * a + down.0 * d, origin.1 + across.1 * a + down.1 * d);

        // Arms first: the silhouette walk stops at them.
        let (mut arms, mut hands, mut skin_reach) = (Vec::new(), Vec::new(), Vec::new());
        let mut sleeve_stretch = [1.0f32; 2];
        for (i, (shoulder, elbow, wrist)) in
            [(body.shoulder_left, body.elbow_left, body.wrist_left), (body.shoulder_right, body.elbow_right, body.wrist_right)].into_iter().enumerate()
        {
            if !body.arms_visible[i] {
                continue;
            }
            // The upper arm from a third of the way down: nearer the shoulder it is the torso.
            let upper_start = (shoulder.0 + (elbow.0 - shoulder.0) * 0.35, shoulder.1 + (elbow.1 - shoulder.1) * 0.35);
            let sleeve = [l.sleeve_left, l.sleeve_right][i].map_or(0.0, |end| {
                let g_shoulder = if i == 0 { l.shoulder_left } else { l.shoulder_right };
                s * end.dist(g_shoulder)
            });
            let upper = dist(shoulder, elbow);
            let arm_length = upper + dist(elbow, wrist);
            let long = sleeve >= LONG_SLEEVE * arm_length;
            if long {
                sleeve_stretch[i] = (arm_length / sleeve.max(1.0)).clamp(SLEEVE_STRETCH.0, SLEEVE_STRETCH.1);
            }
            let sleeve = sleeve * sleeve_stretch[i] + if long { LONG_SLEEVE_CUFF * sw } else { 0.0 };
            let forearm = ArmSpan { start: upper, sleeve_reach: sleeve, bare: false, long };
            arms.push(((upper_start, elbow, 0.17 * sw), ArmSpan { start: 0.35 * upper, ..forearm }));
            arms.push(((elbow, wrist, 0.14 * sw), forearm));
            let past_wrist = |f: f32| (wrist.0 + (wrist.0 - elbow.0) * f, wrist.1 + (wrist.1 - elbow.1) * f);
            hands.push((wrist, past_wrist(0.45), 0.16 * sw));
            skin_reach.push(((elbow, wrist, 0.28 * sw), forearm));
            skin_reach.push(((wrist, past_wrist(0.7), 0.3 * sw), ArmSpan { start: upper + dist(elbow, wrist), ..forearm }));
        }

        let mut pairs: Vec<((f32, f32), Point)> = Vec::new();
        for p in [l.neck_centre, l.neck_left, l.neck_right, l.shoulder_left, l.shoulder_right, l.armpit_left, l.armpit_right] {
            pairs.push((place(coords(p)), p));
        }
        // A top's hem sits just below the hips whatever the shopper's build: its length is
        // stretched or shrunk to the torso the pose gives, as far as that torso is plausible.
        let hem_scale = match garment.kind {
            GarmentKind::Top | GarmentKind::Outerwear => {
                let hem_d = coords(Point::new((l.hem_left.x + l.hem_right.x) / 2.0, (l.hem_left.y + l.hem_right.y) / 2.0)).1.max(1.0);
                let wanted = (1.0 + HEM_BELOW_HIPS) * torso + SHOULDER_LIFT * sw;
                let trust = ((torso / sw - SHORT_TORSO) / (PLAUSIBLE_TORSO - SHORT_TORSO)).clamp(0.0, 1.0);
                1.0 + trust * ((wanted / hem_d).clamp(0.75, 1.35) - 1.0)
            }
            GarmentKind::Dress => 1.0,
        };
        // The hem follows the hips (a shopper who leans or bends takes it along).
        let mut hem_depth = 0.0f32;
        for p in [l.hem_left, l.hem_right] {
            let (a, d) = coords(p);
            let below_hips = d * hem_scale - (torso + SHOULDER_LIFT * sw);
            hem_depth = hem_depth.max(d * hem_scale);
            pairs.push(((hips.0 + across.0 * a + down.0 * below_hips, hips.1 + across.1 * a + down.1 * below_hips), p));
        }
        // The body follows the shopper's silhouette: where their torso (or the clothes they
        // have on) is wider than the garment, its sides go out to it, so nothing of their own
        // clothing sticks out beside the new one.
        let (mut ease, mut own_top, mut skin) = (None, None, None);
        if let Some((person, frame)) = seen {
            // Down the spine and on past the hips (the own top's walk goes below them).
            let spine = |depth: f32| {
                let f = ((depth - SHOULDER_LIFT * sw) / torso).max(0.0);
                (shoulders.0 + (hips.0 - shoulders.0) * f, shoulders.1 + (hips.1 - shoulders.1) * f)
            };
            // A top over a longer top would leave the old hem showing below the new one: the
            // new hem goes down over what still looks like the chest's clothing.
            let in_front: Vec<Capsule> = arms.iter().map(|&(c, _)| c).chain(hands.iter().copied()).collect();
            skin = SkinTone::from_face(frame, body.nose, 0.18 * sw).ok().flatten();
            // Each arm capsule whose bone line is mostly skin is bare (see `ArmSpan::bare`).
            if let Some(tone) = &skin {
                for ((from, to, _), span) in &mut arms {
                    // The pose's bone line can lie off a thin arm (a far shopper's forearm is
                    // a dozen pixels across): lines beside it count too.
                    let normal = { let (x, y) = unit(sub(*to, *from)); (-y, x) };
                    span.bare = BARE_ARM_OFFSETS.iter().any(|&o| {
                        let shift = |p: (f32, f32)| (p.0 + normal.0 * o * sw, p.1 + normal.1 * o * sw);
                        tone.covers_segment(frame, shift(*from), shift(*to), BARE_ARM)
                    });
                }
            }
            // A hand the pose put where the frame shows almost no skin is a guess (arms hidden
            // at the sides, the wrists placed on the chest): kept in front, it would cut a
            // disc of the old clothing out of the new garment.
            if let Some(tone) = &skin {
                hands.retain(|&hand| tone.share_in_capsule(frame, hand).is_none_or(|share| share >= HAND_SKIN));
            }
            own_top = OwnTop::sample(frame, person, |f| spine(SHOULDER_LIFT * sw + f * torso), across, 0.28 * sw, 0.5 * sw, &in_front, skin.as_ref());
            if garment.kind != GarmentKind::Dress {
                // Hips BlazePose guessed (often at the elbows when the hands are up) would
                // keep the reach short of a top that goes on down.
                let limit = hem_depth + OWN_HEM_REACH * torso.max(PLAUSIBLE_TORSO * sw);
                if let Some(top) = &own_top {
                    let reach = top.end(frame, person, spine, across, 0.28 * sw, hem_depth, limit, &in_front, skin.as_ref());
                    let extra = reach - hem_depth;
                    if extra > 0.0 {
                        for idx in [7, 8] {
                            pairs[idx].0 = (pairs[idx].0 .0 + down.0 * extra, pairs[idx].0 .1 + down.1 * extra);
                        }
                        hem_depth = reach;
                    }
                }
            }
            // Armpits (pairs 5, 6) at their depth; hem corners (7, 8) at the hips.
            let chest = coords(l.armpit_left).1.max(0.35 * torso);
            for (left, right, depth) in [(5usize, 6usize, chest), (7, 8, 0.92 * torso)] {
                let centre = spine(depth);
                let Some((sil_r, sil_l, at_edges)) = silhouette_half_widths(person, centre, across, 1.2 * sw, 0.3 * sw, &arms) else { continue };
                let (g_l, g_r) = (dot(sub(pairs[left].0, centre), across), -dot(sub(pairs[right].0, centre), across));
                // The fit is judged only on a shopper facing the mirror with the chest in
                // view: turned, the shoulders look narrow; arms across the chest hide its width.
                if left == 5 && at_edges && torso / sw <= TURNED_TORSO {
                    ease = Some((g_l + g_r) / (sil_l + sil_r).max(1.0));
                }
                for (idx, g, sil, sign) in [(left, g_l, sil_l, 1.0f32), (right, g_r, sil_r, -1.0f32)] {
                    let wanted = (sil + 0.03 * sw).min(MAX_STRETCH * g.max(1.0));
                    if wanted > g {
                        let push = sign * (wanted - g);
                        pairs[idx].0 = (pairs[idx].0 .0 + across.0 * push, pairs[idx].0 .1 + across.1 * push);
                    }
                }
            }
        }
        let hem_mid_target = mid(pairs[7].0, pairs[8].0);
        pairs.push((hem_mid_target, Point::new((l.hem_left.x + l.hem_right.x) / 2.0, (l.hem_left.y + l.hem_right.y) / 2.0)));
        // Sleeves on arms seen well get a bone chain of their own; the others stay where the
        // garment's proportions put them, moved with the body.
        let mut sleeve_chains = [None, None];
        let sleeve_arms = [
            (l.sleeve_left, l.shoulder_left, body.elbow_left, body.wrist_left, body.arms_visible[0], 3),
            (l.sleeve_right, l.shoulder_right, body.elbow_right, body.wrist_right, body.arms_visible[1], 4),
        ];
        for (i, (sleeve, g_shoulder, elbow, wrist, visible, shoulder_pair)) in sleeve_arms.into_iter().enumerate() {
            let Some(end) = sleeve else { continue };
            if !visible {
                pairs.push((place(coords(end)), end));
                continue;
            }
            let g_axis = unit(sub(pt(end), pt(g_shoulder)));
            // The sleeve at least as wide as the arm in it (a packshot's sleeve, folded flat,
            // can be narrower than the arm the pose sees).
            let g_width = sleeve_widths[i] / end.dist(g_shoulder).max(1.0);
            let across_scale = (s * size_scale).max(SLEEVE_COVER * sw / g_width.max(1.0));
            let beyond = (wrist.0 + (wrist.0 - elbow.0) * 0.5, wrist.1 + (wrist.1 - elbow.1) * 0.5);
            sleeve_chains[i] = Some(SleeveChain {
                points: [pairs[shoulder_pair].0, elbow, beyond],
                g_origin: pt(g_shoulder),
                g_axis,
                g_normal: (-g_axis.1, g_axis.0),
                along: s * sleeve_stretch[i],
                across: across_scale,
            });
        }

        let neckline = [coords(l.neck_right), coords(l.neck_centre), coords(l.neck_left)];
        let (targets, sources) = pairs.into_iter().map(|(t, s)| (t, (s.x, s.y))).unzip();
        Self { targets, sources, sw, origin, across, down, neckline, hem_depth, nose: body.nose, arms, hands, skin_reach, sleeve_chains, ease, own_top, skin }
    }

    /// Where the garment's top edge is at `a` across the body (as a depth): the neckline
    /// between the neck points, `shoulders` (a share of the shoulder width) above the
    /// shoulder line beyond them.
    fn top_depth(&self, a: f32, shoulders: f32) -> f32 {
        let [r, c, l] = self.neckline;
        if a >= r.0 && a <= c.0 {
            r.1 + (c.1 - r.1) * (a - r.0) / (c.0 - r.0).max(1e-3)
        } else if a > c.0 && a <= l.0 {
            c.1 + (l.1 - c.1) * (a - c.0) / (l.0 - c.0).max(1e-3)
        } else {
            -shoulders * self.sw
        }
    }

    /// Whether `p` is on an arm, short of the wrist and the hand, that a long sleeve covers
    /// (skin there is under the sleeve; the cuff's reach past the wrist is for the shopper's
    /// own cuff only).
    fn in_long_sleeve(&self, p: (f32, f32)) -> bool {
        let wrist = |span: ArmSpan| span.sleeve_reach - LONG_SLEEVE_CUFF * self.sw;
        !in_any(p, &self.hands) && self.arms.iter().any(|&((a, b, r), span)| span.long && segment_distance(p, a, b) < r && span.along(p, a, b) < wrist(span))
    }

    /// Whether `p` is on a stretch of an arm that the garment's sleeve covers.
    fn under_sleeve(&self, p: (f32, f32)) -> bool {
        self.arms.iter().any(|&((a, b, r), span)| segment_distance(p, a, b) < r && span.along(p, a, b) < span.sleeve_reach)
    }

    /// How much (0..=1) of the frame to keep at `p` (its BGR `bgr`) instead of the garment;
    /// `sleeve` is the warped sleeve mask there (0..=255), `skin` whether the frame there has
    /// the shopper's skin colour, `like_own_top` whether its chroma is nearer their own top's
    /// than skin's.
    fn keep_frame(&self, p: (f32, f32), bgr: &[u8], sleeve: u8, skin: bool, like_own_top: bool) -> f32 {
        let rel = sub(p, self.origin);
        let (a, d) = (dot(rel, self.across), dot(rel, self.down));
        // The head, which is above the neckline: on a photo cut off at the neck, the pose
        // guesses a nose on the chest.
        if dist(p, self.nose) < 0.42 * self.sw && d < self.neckline[1].1 {
            return 1.0;
        }
        let above = ((self.top_depth(a, GARMENT_SHOULDERS) - d) / 3.0 + 0.5).clamp(0.0, 1.0);
        // Hands always stay in front, and so does bare skin around hands and forearms (a hand
        // flat on the chest is wider than the pose's capsule) past the garment's sleeve; arms
        // too, except where a sleeve covers them.
        // (A hand's capsule reaches back over the wrist: what there looks like the own top is
        // their cuff, which a long sleeve reaching the wrist covers. Told by the stricter
        // colour test too: a hand's shadow can be nearer a grey top's chroma than the skin's.)
        if in_any(p, &self.hands) {
            let own_cuff = like_own_top && self.own_top.as_ref().is_some_and(|t| t.matches(&[bgr[0] as f32, bgr[1] as f32, bgr[2] as f32]));
            if !(own_cuff && self.under_sleeve(p)) {
                return 1.0;
            }
        }
        let beyond_sleeve = |&((a, b, r), span): &(Capsule, ArmSpan)| segment_distance(p, a, b) < r && (sleeve < 128 || span.along(p, a, b) >= span.sleeve_reach);
        if skin && self.skin_reach.iter().any(beyond_sleeve) && !self.in_long_sleeve(p) {
            return 1.0;
        }
        // An arm where the sleeve reaches is the garment's (the sleeve, or the body beside a
        // sleeve narrower than the arm): the shopper's own sleeve must not show there.
        let mut arm = 0.0f32;
        for &((a, b, r), span) in &self.arms {
            if segment_distance(p, a, b) >= r {
                continue;
            }
            let along = span.along(p, a, b);
            // Beside a bare forearm held across the body, their own top is behind it: the new
            // garment covers that, not a band of the old one around the arm. (Shadows on the
            // arm and a watch are nearer skin than the top in chroma, and stay.)
            let behind_bare_arm = span.bare && like_own_top;
            arm = arm.max(if along < span.sleeve_reach || behind_bare_arm { 0.0 } else { 1.0 - sleeve as f32 / 255.0 });
        }
        above.max(arm)
    }
}

/// For every ROI pixel, where in the garment to sample: the spline on a coarse grid,
/// bilinear between grid nodes.
fn spline_maps(inverse: &Tps, roi: Rect) -> Result<(Mat, Mat)> {
    let (gw, gh) = ((roi.width + GRID - 1) / GRID + 1, (roi.height + GRID - 1) / GRID + 1);
    let mut grid = Vec::with_capacity((gw * gh) as usize);
    for j in 0..gh {
        for i in 0..gw {
            grid.push(inverse.eval((roi.x + i * GRID) as f32, (roi.y + j * GRID) as f32));
        }
    }
    let n = (roi.width * roi.height) as usize;
    let (mut xs, mut ys) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for y in 0..roi.height {
        let (j, fy) = ((y / GRID) as usize, (y % GRID) as f32 / GRID as f32);
        for x in 0..roi.width {
            let (i, fx) = ((x / GRID) as usize, (x % GRID) as f32 / GRID as f32);
            let g = |di: usize, dj: usize| grid[(j + dj) * gw as usize + i + di];
            let (a, b, c, d) = (g(0, 0), g(1, 0), g(0, 1), g(1, 1));
            let top = (a.0 + (b.0 - a.0) * fx, a.1 + (b.1 - a.1) * fx);
            let bottom = (c.0 + (d.0 - c.0) * fx, c.1 + (d.1 - c.1) * fx);
            xs.push(top.0 + (bottom.0 - top.0) * fy);
            ys.push(top.1 + (bottom.1 - top.1) * fy);
        }
    }
    let to_mat = |v: &[f32]| -> Result<Mat> {
        let mut m = Mat::new_size_with_default(roi.size(), core::CV_32FC1, Scalar::all(0.0))?;
        m.data_typed_mut::<f32>()?.copy_from_slice(v);
        Ok(m)
    };
    Ok((to_mat(&xs)?, to_mat(&ys)?))
}

#[cfg(test)]
mod tests {
    use vitrine_garment::demo;

    use super::*;

    /// A shopper facing the mirror, shoulders 100 px apart, hips `torso` px below them.
    fn body(torso: f32) -> Body {
        let (sy, hy) = (100.0, 100.0 + torso);
        Body {
            nose: (250.0, 40.0),
            shoulder_left: (300.0, sy),
            shoulder_right: (200.0, sy),
            elbow_left: (320.0, sy + 80.0),
            elbow_right: (180.0, sy + 80.0),
            wrist_left: (330.0, sy + 150.0),
            wrist_right: (170.0, sy + 150.0),
            hip_left: (280.0, hy),
            hip_right: (220.0, hy),
            arms_visible: [false, false],
        }
    }

    /// The hem's target: the last of the hem pairs (left, right, middle) is the middle.
    fn hem_y(garment: &Garment, torso: f32) -> f32 {
        Fit::new(garment, &body(torso), 1.0, None, [0.0, 0.0]).targets[9].1
    }

    #[test]
    fn a_tops_hem_sits_below_plausible_hips_and_keeps_its_length_on_guessed_ones() {
        let tee = demo::draw(GarmentKind::Top, [30, 30, 200]).unwrap();
        // Plausible torsos: the hem just below the hips, whatever the build.
        for torso in [140.0, 170.0] {
            let want = 100.0 + torso * (1.0 + HEM_BELOW_HIPS);
            assert!((hem_y(&tee, torso) - want).abs() < 1.0, "torso {torso}: hem at {} not {want}", hem_y(&tee, torso));
        }
        // Hips BlazePose guessed (a torso shorter than the shoulders are wide): the garment's
        // own length, the same whichever guess.
        assert!((hem_y(&tee, 85.0) - hem_y(&tee, 95.0)).abs() < 0.5);
        // A dress keeps its own length.
        let dress = demo::draw(GarmentKind::Dress, [30, 30, 200]).unwrap();
        assert!((hem_y(&dress, 140.0) - hem_y(&dress, 170.0)).abs() < 0.5);
    }
}

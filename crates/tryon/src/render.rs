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
}

/// A selected garment with what every frame needs precomputed.
pub(crate) struct Prepared {
    pub garment: Arc<Garment>,
    /// 255 on sleeve pixels, 0 on the body: only sleeves are drawn over arms.
    sleeves: Mat,
    person: Mat,
    person_small: Mat,
}

impl Prepared {
    pub fn new(garment: Arc<Garment>) -> Result<Self> {
        let sleeves = sleeve_mask(&garment)?;
        Ok(Self { garment, sleeves, person: Mat::default(), person_small: Mat::default() })
    }

    /// Draws the garment onto `bgr` in place; `None` when the body points are degenerate.
    pub fn render(&mut self, bgr: &mut Mat, mask: &PersonMask, body: &Body, timings: &mut TryOnTimings) -> Result<Option<Rendered>> {
        let t = Instant::now();
        let fit = Fit::new(&self.garment, body);
        let Some(inverse) = Tps::fit(&fit.targets, &fit.sources, 0.002) else { return Ok(None) };
        let (fw, fh) = (bgr.cols(), bgr.rows());
        let margin = 0.3 * fit.sw;
        let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
        for p in &fit.targets {
            (x0, y0, x1, y1) = (x0.min(p.0), y0.min(p.1), x1.max(p.0), y1.max(p.1));
        }
        let rx0 = ((x0 - margin).floor() as i32).clamp(0, fw - 1);
        let ry0 = ((y0 - margin).floor() as i32).clamp(0, fh - 1);
        let rx1 = ((x1 + margin).ceil() as i32).clamp(rx0 + 1, fw);
        let ry1 = ((y1 + margin).ceil() as i32).clamp(ry0 + 1, fh);
        let roi = Rect::new(rx0, ry0, rx1 - rx0, ry1 - ry0);
        let (map_x, map_y) = spline_maps(&inverse, roi)?;
        let mut warped = Mat::default();
        imgproc::remap(&self.garment.image, &mut warped, &map_x, &map_y, imgproc::INTER_LINEAR, core::BORDER_CONSTANT, Scalar::all(0.0))?;
        let mut sleeves = Mat::default();
        imgproc::remap(&self.sleeves, &mut sleeves, &map_x, &map_y, imgproc::INTER_LINEAR, core::BORDER_CONSTANT, Scalar::all(0.0))?;
        timings.warp_ms = ms_since(t);

        let t = Instant::now();
        self.person_roi(mask, Size::new(fw, fh))?;
        let person = Mat::roi(&self.person, roi)?.try_clone()?;
        let mut alpha = Mat::new_size_with_default(roi.size(), core::CV_8UC1, Scalar::all(0.0))?;
        {
            let (wd, sd, pd) = (warped.data_bytes()?, sleeves.data_bytes()?, person.data_bytes()?);
            let ad = alpha.data_bytes_mut()?;
            let rw = roi.width as usize;
            for (i, a) in ad.iter_mut().enumerate() {
                let g = wd[i * 4 + 3];
                if g == 0 || pd[i] == 0 {
                    continue;
                }
                let p = ((roi.x as usize + i % rw) as f32 + 0.5, (roi.y as usize + i / rw) as f32 + 0.5);
                let keep = fit.keep_frame(p, sd[i]);
                *a = ((g as f32 * pd[i] as f32 / 255.0) * (1.0 - keep)) as u8;
            }
        }
        // Soft seams: the alpha's edge feathered over a few pixels.
        let mut soft = Mat::default();
        let k = ((fit.sw / 40.0) as i32 | 1).clamp(3, 9);
        imgproc::gaussian_blur_def(&alpha, &mut soft, Size::new(k, k), 0.0)?;
        {
            let mut target = Mat::roi_mut(bgr, roi)?;
            let (wd, ad) = (warped.data_bytes()?, soft.data_bytes()?);
            let rw = roi.width as usize;
            for y in 0..roi.height as usize {
                let row = target.at_row_mut::<core::Vec3b>(y as i32)?;
                for (x, px) in row.iter_mut().enumerate() {
                    let i = y * rw + x;
                    let a = ad[i] as u16;
                    if a == 0 {
                        continue;
                    }
                    for c in 0..3 {
                        let v = wd[i * 4 + c] as u16 * a + px[c] as u16 * (255 - a) + 128;
                        px[c] = ((v + (v >> 8)) >> 8) as u8;
                    }
                }
            }
        }
        timings.composite_ms = ms_since(t);
        Ok(Some(Rendered { roi, alpha: soft, warped, sleeves }))
    }

    /// The chosen person's mask at frame size, dilated a little (garments are looser than
    /// skin, and the mask's edge is soft).
    fn person_roi(&mut self, mask: &PersonMask, size: Size) -> Result<()> {
        let mut small = Mat::new_rows_cols_with_default(mask.height as i32, mask.width as i32, core::CV_8UC1, Scalar::all(0.0))?;
        for (d, &p) in small.data_bytes_mut()?.iter_mut().zip(&mask.data) {
            *d = ((p - 0.25) * 4.0).clamp(0.0, 1.0).mul_add(255.0, 0.5) as u8;
        }
        let kernel = imgproc::get_structuring_element(imgproc::MORPH_RECT, Size::new(3, 3), core::Point::new(-1, -1))?;
        imgproc::dilate_def(&small, &mut self.person_small, &kernel)?;
        imgproc::resize(&self.person_small, &mut self.person, size, 0.0, 0.0, imgproc::INTER_LINEAR)?;
        Ok(())
    }
}

/// The body-side geometry of one frame: correspondences and the keep-the-frame regions.
struct Fit {
    /// Body points (frame pixels) and the garment points they take.
    targets: Vec<(f32, f32)>,
    sources: Vec<(f32, f32)>,
    sw: f32,
    /// Origin (top of the shoulder line), across (wearer's right → left) and down axes.
    origin: (f32, f32),
    across: (f32, f32),
    down: (f32, f32),
    /// Neckline in (across, down) body coordinates: right, centre, left.
    neckline: [(f32, f32); 3],
    nose: (f32, f32),
    /// Arm capsules (from, to, radius), for arms seen well enough.
    arms: Vec<((f32, f32), (f32, f32), f32)>,
    /// Hands: capsules always kept from the frame.
    hands: Vec<((f32, f32), (f32, f32), f32)>,
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
fn segment_distance(p: (f32, f32), a: (f32, f32), b: (f32, f32)) -> f32 {
    let ab = sub(b, a);
    let t = (dot(sub(p, a), ab) / dot(ab, ab).max(1e-6)).clamp(0.0, 1.0);
    dist(p, (a.0 + ab.0 * t, a.1 + ab.1 * t))
}

impl Fit {
    fn new(garment: &Garment, body: &Body) -> Self {
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
        // Garment point → (across, down) body coordinates, keeping the garment's proportions.
        let coords = |p: Point| {
            let d = sub(pt(p), g_shoulders);
            (s * dot(d, g_across), s * dot(d, g_down))
        };
        let place = |(a, d): (f32, f32)| (origin.0 + across.0 * a + down.0 * d, origin.1 + across.1 * a + down.1 * d);

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
        for p in [l.hem_left, l.hem_right] {
            let (a, d) = coords(p);
            let below_hips = d * hem_scale - (torso + SHOULDER_LIFT * sw);
            pairs.push(((hips.0 + across.0 * a + down.0 * below_hips, hips.1 + across.1 * a + down.1 * below_hips), p));
        }
        let hem_mid_target = mid(pairs[7].0, pairs[8].0);
        pairs.push((hem_mid_target, Point::new((l.hem_left.x + l.hem_right.x) / 2.0, (l.hem_left.y + l.hem_right.y) / 2.0)));
        // Sleeves: the sleeve's length laid along the arm, shoulder → elbow → wrist.
        let arms = [
            (l.sleeve_left, l.shoulder_left, body.elbow_left, body.wrist_left, body.arms_visible[0], 3),
            (l.sleeve_right, l.shoulder_right, body.elbow_right, body.wrist_right, body.arms_visible[1], 4),
        ];
        for (sleeve, g_shoulder, elbow, wrist, visible, shoulder_pair) in arms {
            let Some(end) = sleeve else { continue };
            if !visible {
                pairs.push((place(coords(end)), end));
                continue;
            }
            let start = pairs[shoulder_pair].0;
            let length = s * dist(pt(end), pt(g_shoulder));
            for f in [0.5, 1.0] {
                let g = Point::new(g_shoulder.x + (end.x - g_shoulder.x) * f, g_shoulder.y + (end.y - g_shoulder.y) * f);
                pairs.push((along_arm(start, elbow, wrist, length * f), g));
            }
        }

        let neckline = [coords(l.neck_right), coords(l.neck_centre), coords(l.neck_left)];
        let mut arm_capsules = Vec::new();
        let mut hands = Vec::new();
        for (i, (shoulder, elbow, wrist)) in
            [(body.shoulder_left, body.elbow_left, body.wrist_left), (body.shoulder_right, body.elbow_right, body.wrist_right)].into_iter().enumerate()
        {
            if !body.arms_visible[i] {
                continue;
            }
            // The upper arm from a third of the way down: nearer the shoulder it is the torso.
            let upper_start = (shoulder.0 + (elbow.0 - shoulder.0) * 0.35, shoulder.1 + (elbow.1 - shoulder.1) * 0.35);
            arm_capsules.push((upper_start, elbow, 0.17 * sw));
            arm_capsules.push((elbow, wrist, 0.14 * sw));
            let hand_end = (wrist.0 + (wrist.0 - elbow.0) * 0.45, wrist.1 + (wrist.1 - elbow.1) * 0.45);
            hands.push((wrist, hand_end, 0.16 * sw));
        }
        let (targets, sources) = pairs.into_iter().map(|(t, s)| (t, (s.x, s.y))).unzip();
        Self { targets, sources, sw, origin, across, down, neckline, nose: body.nose, arms: arm_capsules, hands }
    }

    /// How much (0..=1) of the frame to keep at `p` instead of the garment; `sleeve` is the
    /// warped sleeve mask there (0..=255).
    fn keep_frame(&self, p: (f32, f32), sleeve: u8) -> f32 {
        // The head.
        if dist(p, self.nose) < 0.42 * self.sw {
            return 1.0;
        }
        // Above the neckline (between the neck points) or well above the shoulder line.
        let rel = sub(p, self.origin);
        let (a, d) = (dot(rel, self.across), dot(rel, self.down));
        let [r, c, l] = self.neckline;
        let limit = if a >= r.0 && a <= c.0 {
            r.1 + (c.1 - r.1) * (a - r.0) / (c.0 - r.0).max(1e-3)
        } else if a > c.0 && a <= l.0 {
            c.1 + (l.1 - c.1) * (a - c.0) / (l.0 - c.0).max(1e-3)
        } else {
            -0.12 * self.sw
        };
        let above = ((limit - d) / 3.0 + 0.5).clamp(0.0, 1.0);
        // Hands always stay in front; arms too, except where a sleeve covers them.
        if self.hands.iter().any(|&(a, b, r)| segment_distance(p, a, b) < r) {
            return 1.0;
        }
        let on_arm = self.arms.iter().any(|&(a, b, r)| segment_distance(p, a, b) < r);
        let arm = if on_arm { 1.0 - sleeve as f32 / 255.0 } else { 0.0 };
        above.max(arm)
    }
}

/// The point `length` along the chain shoulder → elbow → wrist (continuing past the wrist).
fn along_arm(shoulder: (f32, f32), elbow: (f32, f32), wrist: (f32, f32), length: f32) -> (f32, f32) {
    let upper = dist(shoulder, elbow).max(1.0);
    if length <= upper {
        let f = length / upper;
        return (shoulder.0 + (elbow.0 - shoulder.0) * f, shoulder.1 + (elbow.1 - shoulder.1) * f);
    }
    let fore = dist(elbow, wrist).max(1.0);
    let f = ((length - upper) / fore).min(1.1);
    (elbow.0 + (wrist.0 - elbow.0) * f, elbow.1 + (wrist.1 - elbow.1) * f)
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

/// The garment's sleeves (255) apart from its body (0): pixels beyond the body line, which
/// runs from each armpit down to the hem corner and straight up above the armpit.
fn sleeve_mask(garment: &Garment) -> Result<Mat> {
    let l = &garment.landmarks;
    let (w, h) = (garment.width(), garment.height());
    let mut mask = Mat::new_rows_cols_with_default(h, w, core::CV_8UC1, Scalar::all(0.0))?;
    if garment.kind == GarmentKind::Dress && l.sleeve_left.is_none() && l.sleeve_right.is_none() {
        return Ok(mask);
    }
    let edge = |y: f32, armpit: Point, hem: Point| {
        if y <= armpit.y {
            armpit.x
        } else {
            armpit.x + (hem.x - armpit.x) * (y - armpit.y) / (hem.y - armpit.y).max(1.0)
        }
    };
    let alpha: Vec<u8> = garment.image.data_bytes()?.chunks_exact(4).map(|p| p[3]).collect();
    let data = mask.data_bytes_mut()?;
    for y in 0..h as usize {
        let yf = y as f32;
        let (left, right) = (edge(yf, l.armpit_left, l.hem_left), edge(yf, l.armpit_right, l.hem_right));
        for x in 0..w as usize {
            let i = y * w as usize + x;
            let xf = x as f32;
            if alpha[i] > 0 && (xf > left || xf < right) {
                data[i] = 255;
            }
        }
    }
    Ok(mask)
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
        Fit::new(garment, &body(torso)).targets[9].1
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

//! Landmarks from the mask's shape alone: the row-by-row runs of garment pixels give the
//! hem (the run under the centre at the bottom), the body line (hem ends up to the armpits,
//! where the centre run narrows to the body's width), the sleeves (what lies outside the
//! body line), the shoulders (the top edge above the body line) and the neckline (the top
//! edge between the shoulders, no higher than just above them, so a hood does not count).

use crate::{GarmentError, GarmentKind, GarmentLandmarks, Point, Result};

/// Runs `[start, end)` of garment pixels in each row.
struct Rows {
    runs: Vec<Vec<(usize, usize)>>,
    top: usize,
    bottom: usize,
    min_x: usize,
    max_x: usize,
    cx: f32,
    area: usize,
    column_top: Vec<Option<usize>>,
}

impl Rows {
    fn new(mask: &[u8], w: usize, h: usize) -> Option<Self> {
        let mut runs = vec![Vec::new(); h];
        let (mut top, mut bottom, mut min_x, mut max_x, mut sum_x, mut area) = (h, 0, w, 0, 0f64, 0);
        let mut column_top = vec![None; w];
        for (y, row_runs) in runs.iter_mut().enumerate() {
            let row = &mask[y * w..(y + 1) * w];
            let mut x = 0;
            while x < w {
                if row[x] == 0 {
                    x += 1;
                    continue;
                }
                let start = x;
                while x < w && row[x] != 0 {
                    column_top[x].get_or_insert(y);
                    sum_x += x as f64;
                    x += 1;
                }
                row_runs.push((start, x));
                area += x - start;
                (min_x, max_x) = (min_x.min(start), max_x.max(x));
                (top, bottom) = (top.min(y), bottom.max(y + 1));
            }
        }
        (area > 0).then(|| Self { runs, top, bottom, min_x, max_x, cx: (sum_x / area as f64) as f32, area, column_top })
    }

    fn height(&self) -> f32 {
        (self.bottom - self.top) as f32
    }

    fn width(&self) -> f32 {
        (self.max_x - self.min_x) as f32
    }

    /// The run under the centre line, or the one nearest it.
    fn central_run(&self, y: usize) -> Option<(usize, usize)> {
        let cx = self.cx;
        self.runs[y].iter().copied().min_by(|a, b| {
            let d = |r: (usize, usize)| if (r.0 as f32..r.1 as f32).contains(&cx) { 0.0 } else { (r.0 as f32 - cx).abs().min((r.1 as f32 - cx).abs()) };
            d(*a).total_cmp(&d(*b))
        })
    }

    fn extent(&self, y: usize) -> Option<(usize, usize)> {
        Some((self.runs[y].first()?.0, self.runs[y].last()?.1))
    }

    /// First garment row in column `x` (clamped into the garment).
    fn top_at(&self, x: f32) -> f32 {
        let x = (x.round() as usize).clamp(self.min_x, self.max_x - 1);
        self.column_top[x].unwrap_or(self.top) as f32
    }
}

pub fn find_landmarks(mask: &[u8], w: usize, h: usize, kind: GarmentKind) -> Result<GarmentLandmarks> {
    let wrong = |reason: String| GarmentError::WrongShape { kind, reason };
    let rows = Rows::new(mask, w, h).ok_or_else(|| GarmentError::NoGarment("the mask is empty".into()))?;
    let (gh, gw) = (rows.height(), rows.width());
    let aspect = gh / gw;
    if aspect < 0.6 {
        return Err(wrong(format!(
            "it is much wider than tall (height/width {aspect:.2}); photograph it flat, front view, upright"
        )));
    }
    if kind == GarmentKind::Dress && aspect < 1.25 {
        return Err(wrong(format!("a dress is clearly taller than wide, this is {aspect:.2} times as tall as wide")));
    }
    let hem_y = rows.bottom - 1 - ((0.02 * gh) as usize).max(1);
    let (hem_x0, hem_x1) = rows.central_run(hem_y).ok_or_else(|| wrong("no hem found at the bottom".into()))?;
    let body_w = (hem_x1 - hem_x0) as f32;
    let hem_left = Point::new(hem_x1 as f32 - 1.0, hem_y as f32);
    let hem_right = Point::new(hem_x0 as f32, hem_y as f32);

    let (shoulder_left, shoulder_right) = if kind == GarmentKind::Dress {
        let y = rows.top + (0.03 * gh) as usize;
        let (x0, x1) = rows.extent(y).ok_or_else(|| wrong("no shoulders at the top".into()))?;
        (Point::new(x1 as f32 - 1.0, y as f32), Point::new(x0 as f32, y as f32))
    } else {
        // Sleeves either spread (the widest row in the upper half) or hang beside the body
        // (rows with the body and both arms apart); caps and hats do neither.
        let widest = (rows.top..rows.bottom).max_by_key(|&y| rows.extent(y).map_or(0, |(a, b)| b - a)).unwrap_or(rows.top);
        let spread = (widest as f32) < rows.top as f32 + 0.55 * gh;
        let min_run = (0.02 * gw) as usize;
        let hanging = (rows.top..rows.top + (0.85 * gh) as usize).any(|y| rows.runs[y].iter().filter(|r| r.1 - r.0 >= min_run).count() >= 3);
        if body_w > 0.85 * gw || !(spread || hanging) {
            return Err(wrong(format!(
                "no sleeves or shoulders stand out from the body (the hem is {:.0}% of the widest row, \
                 the widest row is {:.0}% of the way down); this looks like a cap, hat or accessory, \
                 which try-on does not support",
                100.0 * body_w / gw,
                100.0 * (widest - rows.top) as f32 / gh
            )));
        }
        (Point::new(hem_left.x, rows.top_at(hem_left.x)), Point::new(hem_right.x, rows.top_at(hem_right.x)))
    };
    let shoulder_y = (shoulder_left.y + shoulder_right.y) / 2.0;
    let shoulder_w = shoulder_left.x - shoulder_right.x;
    if shoulder_w < 0.25 * gw {
        return Err(wrong("the shoulders are too narrow for the garment's width".into()));
    }

    // The neckline: the top edge a sixth of the shoulder width either side of the centre,
    // but never far above the shoulders (a hood or a high collar stands above them).
    let neck_at = |x: f32| Point::new(x, rows.top_at(x).max(shoulder_y - 0.15 * shoulder_w));
    let neck_left = neck_at(rows.cx + shoulder_w / 6.0);
    let neck_right = neck_at(rows.cx - shoulder_w / 6.0);
    let neck_y = (neck_left.y + neck_right.y) / 2.0;
    let neck_centre = Point::new(rows.cx, rows.top_at(rows.cx).max(neck_y + 0.25 * (neck_left.x - neck_right.x)).min(hem_left.y));

    // Armpits: where the centre run first narrows to about the hem's width; an armhole is
    // never deeper than about half the body's width below the shoulder.
    let start = (shoulder_y + 0.05 * gh) as usize;
    let deepest = ((shoulder_y + 0.5 * body_w) as usize).min(hem_y);
    let armpit_y = if kind == GarmentKind::Dress {
        (shoulder_y + 0.18 * gh) as usize
    } else {
        (start..deepest).find(|&y| rows.central_run(y).is_some_and(|(a, b)| ((b - a) as f32) <= 1.12 * body_w)).unwrap_or(deepest)
    };
    let (armpit_left, armpit_right) = match rows.central_run(armpit_y) {
        Some((a, b)) if ((b - a) as f32) <= 1.12 * body_w || kind == GarmentKind::Dress => {
            (Point::new(b as f32 - 1.0, armpit_y as f32), Point::new(a as f32, armpit_y as f32))
        }
        _ => (Point::new(hem_left.x, armpit_y as f32), Point::new(hem_right.x, armpit_y as f32)),
    };

    // Sleeves: garment pixels beyond the body line (armpit down to hem, straight above).
    let margin = 0.02 * gw;
    let body_edge = |y: f32, armpit: Point, hem: Point| {
        if y <= armpit.y {
            armpit.x
        } else {
            armpit.x + (hem.x - armpit.x) * (y - armpit.y) / (hem.y - armpit.y).max(1.0)
        }
    };
    let (mut left_far, mut right_far) = ((0usize, 0.0f32, shoulder_left), (0usize, 0.0f32, shoulder_right));
    for y in rows.top..rows.bottom {
        let yf = y as f32;
        let (edge_l, edge_r) = (body_edge(yf, armpit_left, hem_left) + margin, body_edge(yf, armpit_right, hem_right) - margin);
        for &(a, b) in &rows.runs[y] {
            for x in a..b {
                let p = Point::new(x as f32, yf);
                if p.x > edge_l && yf > shoulder_left.y - 0.1 * gh {
                    left_far.0 += 1;
                    let d = p.dist(shoulder_left);
                    if d > left_far.1 {
                        (left_far.1, left_far.2) = (d, p);
                    }
                } else if p.x < edge_r && yf > shoulder_right.y - 0.1 * gh {
                    right_far.0 += 1;
                    let d = p.dist(shoulder_right);
                    if d > right_far.1 {
                        (right_far.1, right_far.2) = (d, p);
                    }
                }
            }
        }
    }
    // At least 0.5 % of the garment beyond the body line: a packshot shot slightly from the side
    // hides most of one sleeve behind the body.
    let sleeve = |(count, reach, end): (usize, f32, Point)| (count * 200 >= rows.area && reach > 0.1 * gw).then_some(end);
    let (sleeve_left, sleeve_right) = (sleeve(left_far), sleeve(right_far));
    if kind != GarmentKind::Dress && (sleeve_left.is_none() || sleeve_right.is_none()) {
        return Err(wrong("no sleeves found on both sides; sleeveless garments are tried on as --kind dress".into()));
    }
    Ok(GarmentLandmarks {
        neck_centre,
        neck_left,
        neck_right,
        shoulder_left,
        shoulder_right,
        armpit_left,
        armpit_right,
        sleeve_left,
        sleeve_right,
        hem_left,
        hem_right,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo;

    #[test]
    fn drawn_garments_have_their_landmarks_where_they_were_drawn() {
        for kind in [GarmentKind::Top, GarmentKind::Outerwear, GarmentKind::Dress] {
            let g = demo::draw(kind, [60, 60, 60]).unwrap();
            let l = &g.landmarks;
            let w = g.width() as f32;
            // Symmetric drawings give symmetric landmarks.
            assert!((l.shoulder_left.x + l.shoulder_right.x - w).abs() < 0.04 * w, "{kind}: {l:?}");
            assert!((l.hem_left.x + l.hem_right.x - w).abs() < 0.04 * w, "{kind}: {l:?}");
            assert!((l.shoulder_left.y - l.shoulder_right.y).abs() < 3.0, "{kind}: {l:?}");
            assert!(l.neck_centre.y > l.neck_left.y && l.neck_centre.y < l.armpit_left.y, "{kind}: {l:?}");
            assert_eq!(l.sleeve_left.is_some(), kind != GarmentKind::Dress, "{kind}: {l:?}");
        }
    }

    #[test]
    fn a_plain_rectangle_is_not_a_top() {
        let (w, h) = (100, 120);
        let mut mask = vec![0u8; w * h];
        for y in 10..110 {
            mask[y * w + 10..y * w + 90].fill(1);
        }
        let err = find_landmarks(&mask, w, h, GarmentKind::Top).unwrap_err();
        assert!(err.to_string().contains("no sleeves or shoulders"), "{err}");
    }
}

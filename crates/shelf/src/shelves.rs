//! Shelves first: products count only where they stand in a row on a shelf. The detector,
//! trained on renders, also boxes ceiling lights, floor tiles and people, and calls sky or an
//! aisle floor an empty gap. On a real shelf, facings stand side by side with their bottoms on
//! one straight edge (the shelf's front), or above a line of shelf-edge labels; a person or a
//! ceiling gives no such row. So rows are found first, from the detections and the frame's
//! horizontal edges; products off every row are dropped, and a gap is kept only between the
//! products (or labels) of a row.

use opencv::core::{Mat, Size, CV_16S};
use opencv::imgproc;
use opencv::prelude::*;

use crate::detect::{Detection, DetectionClass};
use crate::ShelfError;

/// A row needs at least this many products side by side (or labels under it)...
const MIN_ROW_PRODUCTS: usize = 3;
/// ...of heights within this factor of each other...
const ROW_HEIGHT_SPREAD: f32 = 2.5;
/// ...spaced no wider than this many product widths apart on average...
const ROW_MAX_SPACING: f32 = 1.6;
/// ...standing on a straight horizontal edge that runs under at least this share of the row.
const MIN_EDGE_SUPPORT: f32 = 0.45;
/// ...and that edge runs on across at least this share of the frame's width.
const MIN_SHELF_SPAN: f32 = 0.5;
/// A box more than this share on a person is the person, not a product.
pub(crate) const MAX_PERSON_COVER: f32 = 0.3;
/// Bottoms within this share of the product height are on one shelf.
const BOTTOM_TOLERANCE: f32 = 0.3;
/// The edge map is computed at most this wide (speed; a shelf edge survives it).
const EDGE_WIDTH: i32 = 640;
/// A pixel is on a horizontal edge when its vertical gradient is this strong and dominates.
const EDGE_GRADIENT: i16 = 48;

/// One shelf row: where its products stand (`bottom` y at the row's left and right ends) and
/// its horizontal extent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShelfRow {
    pub x: [f32; 2],
    pub bottom: [f32; 2],
    pub product_height: f32,
}

impl ShelfRow {
    fn bottom_at(&self, x: f32) -> f32 {
        let t = if self.x[1] > self.x[0] { ((x - self.x[0]) / (self.x[1] - self.x[0])).clamp(0.0, 1.0) } else { 0.5 };
        self.bottom[0] + t * (self.bottom[1] - self.bottom[0])
    }

    fn holds(&self, d: &Detection, within: [f32; 2]) -> bool {
        let cx = d.centre_x();
        cx >= within[0] && cx <= within[1] && (d.bbox[3] - self.bottom_at(cx)).abs() <= BOTTOM_TOLERANCE * self.product_height.max(d.height())
    }
}

/// What the frame holds once off-shelf detections are gone.
#[derive(Debug, Clone, Default)]
pub struct OnShelves {
    pub rows: Vec<ShelfRow>,
    pub detections: Vec<Detection>,
}

impl OnShelves {
    pub fn is_shelf(&self) -> bool {
        !self.rows.is_empty()
    }
}

/// Horizontal-edge map of the frame (255 where a strong, mostly vertical gradient is) and the
/// scale from frame to map.
fn horizontal_edges(grey: &Mat) -> Result<(Mat, f32), ShelfError> {
    let scale = (EDGE_WIDTH as f32 / grey.cols().max(1) as f32).min(1.0);
    let mut small = Mat::default();
    if scale < 1.0 {
        let size = Size::new(((grey.cols() as f32 * scale).round() as i32).max(1), ((grey.rows() as f32 * scale).round() as i32).max(1));
        imgproc::resize(grey, &mut small, size, 0.0, 0.0, imgproc::INTER_AREA)?;
    } else {
        small = grey.try_clone()?;
    }
    let (mut gx, mut gy) = (Mat::default(), Mat::default());
    imgproc::sobel(&small, &mut gx, CV_16S, 1, 0, 3, 1.0, 0.0, opencv::core::BORDER_REPLICATE)?;
    imgproc::sobel(&small, &mut gy, CV_16S, 0, 1, 3, 1.0, 0.0, opencv::core::BORDER_REPLICATE)?;
    let (w, h) = (small.cols(), small.rows());
    let mut edges = Mat::new_rows_cols_with_default(h, w, opencv::core::CV_8UC1, 0.into())?;
    {
        let (gx, gy) = (gx.data_typed::<i16>()?, gy.data_typed::<i16>()?);
        let out = edges.data_bytes_mut()?;
        for i in 0..(w * h) as usize {
            let (ax, ay) = (gx[i].unsigned_abs(), gy[i].unsigned_abs());
            if ay >= EDGE_GRADIENT as u16 && ay > 2 * ax {
                out[i] = 255;
            }
        }
    }
    Ok((edges, scale))
}

/// Share of the columns in `[x0, x1)` with a horizontal edge within `band` rows of the line
/// from `(x0, y0)` to `(x1, y1)` (frame pixels).
fn edge_support(edges: &Mat, scale: f32, x: [f32; 2], y: [f32; 2], band: f32) -> f32 {
    let (w, h) = (edges.cols(), edges.rows());
    let Ok(data) = edges.data_bytes() else { return 0.0 };
    let (x0, x1) = (((x[0] * scale) as i32).clamp(0, w - 1), ((x[1] * scale) as i32).clamp(0, w - 1));
    if x1 <= x0 {
        return 0.0;
    }
    let band = ((band * scale).ceil() as i32).max(1);
    let mut hit = 0;
    for cx in x0..=x1 {
        let t = (cx - x0) as f32 / (x1 - x0) as f32;
        let cy = ((y[0] + t * (y[1] - y[0])) * scale) as i32;
        if (cy - band..=cy + band).any(|yy| yy >= 0 && yy < h && data[(yy * w + cx) as usize] != 0) {
            hit += 1;
        }
    }
    hit as f32 / (x1 - x0 + 1) as f32
}

fn median(v: Vec<f32>) -> f32 {
    crate::structure::median(v).unwrap_or(0.0)
}

/// Products grouped by where their bottoms are, top to bottom.
fn bottom_groups(products: &[Detection]) -> Vec<Vec<Detection>> {
    let mut sorted = products.to_vec();
    sorted.sort_by(|a, b| a.bbox[3].total_cmp(&b.bbox[3]));
    let mut groups: Vec<Vec<Detection>> = Vec::new();
    for d in sorted {
        let fits = groups.last().is_some_and(|g| {
            let h = median(g.iter().map(Detection::height).collect());
            let bottom = median(g.iter().map(|p| p.bbox[3]).collect());
            (d.bbox[3] - bottom).abs() <= BOTTOM_TOLERANCE * h.max(d.height())
        });
        if fits {
            groups.last_mut().unwrap().push(d);
        } else {
            groups.push(vec![d]);
        }
    }
    groups
}

/// The shelf rows in a group of products with aligned bottoms: runs of neighbours of similar
/// height, spaced like facings, on a straight horizontal edge (or with labels just below).
fn rows_in(group: &[Detection], labels: &[Detection], edges: &Mat, scale: f32) -> Vec<ShelfRow> {
    let mut by_x = group.to_vec();
    by_x.sort_by(|a, b| a.centre_x().total_cmp(&b.centre_x()));
    // Split where the next product is far from the last (another shelf section or a stray box).
    let mut runs: Vec<Vec<Detection>> = Vec::new();
    for d in by_x {
        let near = runs.last().and_then(|r| r.last()).is_some_and(|p: &Detection| {
            let w = p.width().max(d.width());
            d.bbox[0] - p.bbox[2] <= ROW_MAX_SPACING * w
        });
        if near {
            runs.last_mut().unwrap().push(d);
        } else {
            runs.push(vec![d]);
        }
    }
    let mut rows = Vec::new();
    for run in runs {
        let h = median(run.iter().map(Detection::height).collect());
        let similar: Vec<&Detection> = run.iter().filter(|d| d.height() <= ROW_HEIGHT_SPREAD * h && d.height() * ROW_HEIGHT_SPREAD >= h).collect();
        let x = [similar.iter().map(|d| d.bbox[0]).fold(f32::INFINITY, f32::min), similar.iter().map(|d| d.bbox[2]).fold(f32::NEG_INFINITY, f32::max)];
        let run_bottom = median(similar.iter().map(|d| d.bbox[3]).collect());
        let labelled = labels.iter().filter(|l| l.centre_x() >= x[0] && l.centre_x() <= x[1] && l.bbox[1] >= run_bottom - 0.3 * h && l.bbox[1] <= run_bottom + 0.8 * h).count();
        if similar.len() < MIN_ROW_PRODUCTS && !(similar.len() >= 2 && labelled >= 1) {
            continue;
        }
        // The shelf's front edge: first a least-squares line through the products' bottoms (a
        // shelf photographed at an angle slopes), then the straightest horizontal edge near it
        // (the boxes' bottoms are a little off), in a thin band. It must run under the products
        // and on past them, across most of a scan photo; an edge that happens to pass under a
        // few boxes (a neckline, a belt, a hem) does not.
        let (a, slope) = crate::structure::fit_line(&similar, |d| d.bbox[3], 0.4);
        let bottom = [a + slope * x[0], a + slope * x[1]];
        let frame_w = edges.cols() as f32 / scale;
        let band = 1.0 / scale;
        let step = 1.0 / scale;
        let mut best_span = 0.0f32;
        let mut offset = -0.2 * h;
        while offset <= 0.2 * h {
            let line = [bottom[0] + offset, bottom[1] + offset];
            if edge_support(edges, scale, x, line, band) >= MIN_EDGE_SUPPORT {
                let along = [line[0] - slope * x[0], line[0] + slope * (frame_w - 1.0 - x[0])];
                best_span = best_span.max(edge_support(edges, scale, [0.0, frame_w - 1.0], along, band));
            }
            offset += step;
        }
        if best_span >= MIN_SHELF_SPAN || labelled >= 2 {
            rows.push(ShelfRow { x, bottom, product_height: h });
        }
    }
    rows
}

/// Finds the shelf rows and keeps only what belongs to them: products standing on a row,
/// gaps between a row's ends, labels (always: a label strip is a shelf edge itself).
pub fn keep_on_shelves(grey: &Mat, detections: Vec<Detection>) -> Result<OnShelves, ShelfError> {
    let of = |c: DetectionClass| detections.iter().filter(|d| d.class == c).copied().collect::<Vec<_>>();
    let (products, labels) = (of(DetectionClass::Product), of(DetectionClass::ShelfLabel));
    if products.len() < 2 {
        return Ok(OnShelves { rows: Vec::new(), detections: labels_in_rows(&labels) });
    }
    let (edges, scale) = horizontal_edges(grey)?;
    // A box cut off by the frame's bottom has no bottom of its own to stand on a shelf with
    // (and all such boxes "align" on the frame's edge).
    let bottom_border = grey.rows() as f32 - 2.0;
    let standing: Vec<Detection> = products.iter().filter(|d| d.bbox[3] < bottom_border).copied().collect();
    let rows: Vec<ShelfRow> = bottom_groups(&standing).iter().flat_map(|g| rows_in(g, &labels, &edges, scale)).collect();
    if rows.is_empty() {
        return Ok(OnShelves { rows, detections: labels_in_rows(&labels) });
    }
    let kept = detections
        .into_iter()
        .filter(|d| match d.class {
            DetectionClass::ShelfLabel => true,
            DetectionClass::Product => rows.iter().any(|r| {
                let w = d.width();
                r.holds(d, [r.x[0] - w, r.x[1] + w])
            }),
            // An empty stretch lies between facings: inside a row's ends, on its shelf.
            DetectionClass::Gap => rows.iter().any(|r| r.holds(d, r.x)),
        })
        .collect();
    Ok(OnShelves { rows, detections: kept })
}

/// Labels alone are a shelf only when at least three stand in a line (a shelf edge).
fn labels_in_rows(labels: &[Detection]) -> Vec<Detection> {
    let h = median(labels.iter().map(Detection::height).collect()).max(1.0);
    labels.iter().filter(|l| labels.iter().filter(|o| (o.centre_y() - l.centre_y()).abs() <= h).count() >= 3).copied().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(x: f32, bottom: f32, w: f32, h: f32) -> Detection {
        Detection { class: DetectionClass::Product, bbox: [x, bottom - h, x + w, bottom], score: 0.9 }
    }

    fn gap(x0: f32, x1: f32, bottom: f32, h: f32) -> Detection {
        Detection { class: DetectionClass::Gap, bbox: [x0, bottom - h, x1, bottom], score: 0.9 }
    }

    /// A grey frame with a dark shelf board (a strong horizontal edge) at `y`.
    fn frame_with_shelf_edge(y: i32) -> Mat {
        let mut m = Mat::new_rows_cols_with_default(400, 600, opencv::core::CV_8UC1, 200.into()).unwrap();
        imgproc::rectangle(&mut m, opencv::core::Rect::new(0, y, 600, 20), 40.into(), -1, imgproc::LINE_8, 0).unwrap();
        m
    }

    #[test]
    fn products_on_a_shelf_edge_are_a_shelf_and_strays_and_outside_gaps_go() {
        let grey = frame_with_shelf_edge(300);
        let mut dets: Vec<Detection> = (0..5).map(|i| product(50.0 + 70.0 * i as f32, 300.0, 60.0, 100.0)).collect();
        dets.push(gap(120.0, 180.0, 300.0, 100.0)); // between facings
        dets.push(product(450.0, 80.0, 60.0, 60.0)); // a ceiling light
        dets.push(gap(400.0, 590.0, 390.0, 60.0)); // the floor
        let on = keep_on_shelves(&grey, dets).unwrap();
        assert!(on.is_shelf());
        assert_eq!(on.detections.iter().filter(|d| d.class == DetectionClass::Product).count(), 5);
        let gaps: Vec<_> = on.detections.iter().filter(|d| d.class == DetectionClass::Gap).collect();
        assert_eq!(gaps.len(), 1, "{gaps:?}");
        assert_eq!(gaps[0].bbox[0], 120.0);
    }

    #[test]
    fn aligned_boxes_without_a_shelf_edge_are_no_shelf() {
        // The same boxes over a flat wall: nothing runs under them.
        let grey = Mat::new_rows_cols_with_default(400, 600, opencv::core::CV_8UC1, 200.into()).unwrap();
        let dets: Vec<Detection> = (0..5).map(|i| product(50.0 + 70.0 * i as f32, 300.0, 60.0, 100.0)).collect();
        let on = keep_on_shelves(&grey, dets).unwrap();
        assert!(!on.is_shelf());
        assert!(on.detections.is_empty());
    }

    #[test]
    fn scattered_boxes_are_no_shelf() {
        let grey = frame_with_shelf_edge(300);
        let dets = vec![product(10.0, 100.0, 50.0, 80.0), product(300.0, 300.0, 40.0, 150.0), product(500.0, 200.0, 80.0, 60.0), gap(100.0, 400.0, 390.0, 50.0)];
        let on = keep_on_shelves(&grey, dets).unwrap();
        assert!(!on.is_shelf());
        assert!(on.detections.is_empty());
    }
}

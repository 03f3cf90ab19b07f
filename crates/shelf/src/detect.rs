//! The shelf detector (models/shelf_detector): letterbox a frame of any size into the model's
//! 512x384 input, run it, map the boxes back to the frame's pixels.

use opencv::core::{Mat, Rect, Scalar, Size, CV_8UC3};
use opencv::imgproc;
use opencv::prelude::*;
use serde::{Deserialize, Serialize};
use vitrine_infer::tensor::Tensor;
use vitrine_infer::{Registry, SharedModel, TensorSpec};

use crate::ShelfError;

/// Detections scoring below this are dropped (the threshold the model's figures use).
pub const DEFAULT_THRESHOLD: f32 = 0.3;

/// Photos with more pixels than this (a bit above 1080p) are also scanned in tiles.
pub const TILE_ABOVE_PIXELS: i64 = 2_200_000;
/// Tile size in frame pixels: about what the renders the detector learnt from show a shelf at.
const TILE_SIZE: (i32, i32) = (1600, 1200);
/// Neighbouring tiles share this share of their side, so every product is whole in one.
const TILE_OVERLAP: f32 = 0.25;

/// Grey the letterbox pads with, as in training.
const PAD_GREY: f64 = 127.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DetectionClass {
    Product,
    Gap,
    ShelfLabel,
}

impl DetectionClass {
    pub const ALL: [DetectionClass; 3] = [DetectionClass::Product, DetectionClass::Gap, DetectionClass::ShelfLabel];

    /// The model's class id.
    pub fn id(self) -> usize {
        self as usize
    }

    pub fn from_id(id: f32) -> Option<Self> {
        match id.round() as i64 {
            0 => Some(Self::Product),
            1 => Some(Self::Gap),
            2 => Some(Self::ShelfLabel),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Product => "product",
            Self::Gap => "gap",
            Self::ShelfLabel => "shelf-label",
        }
    }
}

/// One detected object, box in frame pixels `[x1, y1, x2, y2]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    pub class: DetectionClass,
    pub bbox: [f32; 4],
    pub score: f32,
}

impl Detection {
    pub fn width(&self) -> f32 {
        self.bbox[2] - self.bbox[0]
    }
    pub fn height(&self) -> f32 {
        self.bbox[3] - self.bbox[1]
    }
    pub fn centre_x(&self) -> f32 {
        (self.bbox[0] + self.bbox[2]) / 2.0
    }
    pub fn centre_y(&self) -> f32 {
        (self.bbox[1] + self.bbox[3]) / 2.0
    }
}

fn area(r: &[f32; 4]) -> f32 {
    (r[2] - r[0]) * (r[3] - r[1])
}

fn intersection(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    let iw = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let ih = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    iw * ih
}

/// Intersection over union of two `[x1, y1, x2, y2]` boxes.
pub fn iou(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    let inter = intersection(a, b);
    inter / (area(a) + area(b) - inter).max(1e-9)
}

/// Intersection over the smaller box's area: near 1 when one box lies mostly inside the other.
fn overlap_of_smaller(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    intersection(a, b) / area(a).min(area(b)).max(1e-9)
}

/// Merges duplicate detections, best first in and out. The model keeps every 3x3 heatmap peak,
/// so a long label or a wide gap can peak several times along its length, each peak seeing
/// only a part of it, and each duplicate would open a slot of its own. A box is a duplicate of
/// a better one of its class that overlaps it (IoU ≥ 0.5; for gaps and labels also 60 % of the
/// smaller box inside the other). A gap grows to the union of its duplicates that score at
/// least half its score (its peaks each see a stretch of empty shelf); other duplicates are
/// dropped: a label keeps its best box (the scan snaps it to the card), and products standing
/// side by side barely overlap and stay apart.
pub fn merge_duplicates(mut found: Vec<Detection>) -> Vec<Detection> {
    found.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Detection> = Vec::with_capacity(found.len());
    for d in found {
        let elongated = d.class != DetectionClass::Product;
        let duplicate_of = kept.iter_mut().find(|k| {
            k.class == d.class && (iou(&k.bbox, &d.bbox) >= 0.5 || (elongated && overlap_of_smaller(&k.bbox, &d.bbox) >= 0.6))
        });
        match duplicate_of {
            Some(best) if d.class == DetectionClass::Gap && d.score >= best.score / 2.0 => {
                let b = &mut best.bbox;
                *b = [b[0].min(d.bbox[0]), b[1].min(d.bbox[1]), b[2].max(d.bbox[2]), b[3].max(d.bbox[3])];
            }
            Some(_) => {}
            None => kept.push(d),
        }
    }
    kept
}

/// How a frame was fitted into the model input: `input = frame * scale + pad`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Letterbox {
    pub scale: f32,
    pub pad_x: f32,
    pub pad_y: f32,
}

impl Letterbox {
    /// The placement the model was trained with: keep aspect, centre, integer padding.
    pub fn fit(frame_w: usize, frame_h: usize, input_w: usize, input_h: usize) -> (Self, usize, usize) {
        let scale = (input_w as f64 / frame_w as f64).min(input_h as f64 / frame_h as f64);
        let nw = ((frame_w as f64 * scale).round() as usize).clamp(1, input_w);
        let nh = ((frame_h as f64 * scale).round() as usize).clamp(1, input_h);
        let (pad_x, pad_y) = ((input_w - nw) / 2, (input_h - nh) / 2);
        (Self { scale: scale as f32, pad_x: pad_x as f32, pad_y: pad_y as f32 }, nw, nh)
    }

    /// Input pixels back to frame pixels.
    pub fn to_frame(&self, b: [f32; 4]) -> [f32; 4] {
        [(b[0] - self.pad_x) / self.scale, (b[1] - self.pad_y) / self.scale, (b[2] - self.pad_x) / self.scale, (b[3] - self.pad_y) / self.scale]
    }
}

pub struct ShelfDetector {
    model: SharedModel,
    spec: TensorSpec,
    size: (usize, usize),
    resized: Mat,
    canvas: Mat,
    rgb: Mat,
    input: Vec<f32>,
    letterbox: Option<(Letterbox, usize, usize)>,
    /// Score threshold of [`Self::detect_bgr`].
    pub threshold: f32,
}

impl ShelfDetector {
    /// Takes the named shelf-detection model from the registry (loaded once, shared).
    pub fn new(registry: &Registry, name: &str) -> Result<Self, ShelfError> {
        let model = registry.model(name)?;
        let (spec, size) = {
            let m = model.lock().unwrap_or_else(|e| e.into_inner());
            let manifest = m.manifest();
            let wrong = |reason: String| ShelfError::WrongModel { model: name.into(), reason };
            if manifest.task != "shelf-detection" {
                return Err(wrong(format!("its task is {:?}, not \"shelf-detection\"", manifest.task)));
            }
            let spec = manifest.inputs[0].clone();
            let size = spec.image_size().ok_or_else(|| wrong("its input is not a fixed-size image".into()))?;
            if manifest.outputs.first().map(|o| o.shape.last().copied()) != Some(Some(6)) {
                return Err(wrong("its output rows are not x1, y1, x2, y2, score, class".into()));
            }
            (spec, size)
        };
        Ok(Self {
            model,
            spec,
            size,
            resized: Mat::default(),
            canvas: Mat::default(),
            rgb: Mat::default(),
            input: Vec::new(),
            letterbox: None,
            threshold: DEFAULT_THRESHOLD,
        })
    }

    /// Detections at or above [`Self::threshold`], best first, in frame pixels.
    /// A photo above [`TILE_ABOVE_PIXELS`] is scanned whole (big products, labels, gaps) and
    /// in overlapping tiles of about the model's own resolution times four, so that small
    /// products in a 12 MP photo are seen at the size the detector knows. Boxes cut by a tile's
    /// inner edge are dropped (the neighbouring tile holds them whole); duplicates merge.
    pub fn detect_tiled(&mut self, bgr: &Mat) -> Result<Vec<Detection>, ShelfError> {
        let (w, h) = (bgr.cols(), bgr.rows());
        let mut found = self.detect_bgr(bgr)?;
        if (w as i64) * (h as i64) <= TILE_ABOVE_PIXELS {
            return Ok(found);
        }
        let (tw, th) = (TILE_SIZE.0.min(w), TILE_SIZE.1.min(h));
        let starts = |len: i32, tile: i32| -> Vec<i32> {
            let step = ((tile as f32) * (1.0 - TILE_OVERLAP)).max(1.0) as i32;
            let mut v: Vec<i32> = (0..).map(|k| k * step).take_while(|&x| x + tile < len).collect();
            v.push(len - tile);
            v
        };
        // Small boxes from the whole frame are guesses at a fifth of the resolution: the tiles
        // see those products properly.
        found.retain(|d| d.class != DetectionClass::Product || d.height() >= 0.5 * th as f32);
        for y in starts(h, th) {
            for x in starts(w, tw) {
                let tile = Mat::roi(bgr, Rect::new(x, y, tw, th))?.try_clone()?;
                for d in self.detect_bgr(&tile)? {
                    let [x0, y0, x1, y1] = d.bbox;
                    let cut = |lo: f32, hi: f32, at: i32, len: i32, size: i32| (lo <= 2.0 && at > 0) || (hi >= size as f32 - 2.0 && at + size < len);
                    if cut(x0, x1, x, w, tw) || cut(y0, y1, y, h, th) {
                        continue;
                    }
                    found.push(Detection { bbox: [x0 + x as f32, y0 + y as f32, x1 + x as f32, y1 + y as f32], ..d });
                }
            }
        }
        Ok(merge_duplicates(found))
    }

    pub fn detect_bgr(&mut self, bgr: &Mat) -> Result<Vec<Detection>, ShelfError> {
        self.prepare(bgr)?;
        let threshold = self.threshold;
        Ok(self.run_prepared()?.into_iter().filter(|d| d.score >= threshold).collect())
    }

    /// Letterboxes a BGR image into the model input (the "letterbox" stage of a scan).
    pub fn prepare(&mut self, bgr: &Mat) -> Result<(), ShelfError> {
        let (iw, ih) = self.size;
        let (lb, nw, nh) = Letterbox::fit(bgr.cols() as usize, bgr.rows() as usize, iw, ih);
        // INTER_AREA as in training (cv2.resize in models/shelf_detector/detector.py).
        imgproc::resize(bgr, &mut self.resized, Size::new(nw as i32, nh as i32), 0.0, 0.0, imgproc::INTER_AREA)?;
        if self.canvas.rows() != ih as i32 || self.canvas.cols() != iw as i32 {
            self.canvas = Mat::new_rows_cols_with_default(ih as i32, iw as i32, CV_8UC3, Scalar::all(PAD_GREY))?;
        } else {
            self.canvas.set_to_def(&Scalar::all(PAD_GREY))?;
        }
        {
            let mut roi = Mat::roi_mut(&mut self.canvas, Rect::new(lb.pad_x as i32, lb.pad_y as i32, nw as i32, nh as i32))?;
            self.resized.copy_to(&mut roi)?;
        }
        imgproc::cvt_color(&self.canvas, &mut self.rgb, imgproc::COLOR_BGR2RGB, 0)?;
        vitrine_infer::tensor::rgb8_into_input(self.rgb.data_bytes()?, iw, ih, &self.spec, &mut self.input);
        self.letterbox = Some((lb, bgr.cols() as usize, bgr.rows() as usize));
        Ok(())
    }

    /// Runs the model on the prepared input: every output row (no threshold), in frame pixels,
    /// clipped to the frame, duplicates merged, best first.
    pub fn run_prepared(&mut self) -> Result<Vec<Detection>, ShelfError> {
        let Some((lb, fw, fh)) = self.letterbox else {
            return Ok(Vec::new());
        };
        let (iw, ih) = self.size;
        let input = Tensor::borrowed(vec![1, 3, ih as i64, iw as i64], &self.input);
        let outputs = self.model.lock().unwrap_or_else(|e| e.into_inner()).run(&[input])?;
        let rows = outputs.first().map(|t| t.data.as_ref()).unwrap_or(&[]);
        let mut found = Vec::with_capacity(rows.len() / 6);
        for row in rows.chunks_exact(6) {
            let Some(class) = DetectionClass::from_id(row[5]) else { continue };
            let b = lb.to_frame([row[0], row[1], row[2], row[3]]);
            let bbox = [b[0].clamp(0.0, fw as f32), b[1].clamp(0.0, fh as f32), b[2].clamp(0.0, fw as f32), b[3].clamp(0.0, fh as f32)];
            if bbox[2] > bbox[0] && bbox[3] > bbox[1] {
                found.push(Detection { class, bbox, score: row[4] });
            }
        }
        Ok(merge_duplicates(found))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;

    #[test]
    fn letterbox_maths_round_trips() {
        let (lb, nw, nh) = Letterbox::fit(1920, 1080, 512, 384);
        assert_eq!((nw, nh), (512, 288));
        assert_eq!((lb.pad_x, lb.pad_y), (0.0, 48.0));
        let b = lb.to_frame([0.0, 48.0, 512.0, 336.0]);
        assert!((b[2] - 1920.0).abs() < 0.01 && (b[3] - 1080.0).abs() < 0.01, "{b:?}");
        let (tall, nw, _) = Letterbox::fit(300, 600, 512, 384);
        assert_eq!((nw, tall.pad_x), (192, 160.0));
    }

    /// Three peaks along one wide label leave its best box; three along a wide gap become
    /// their union (a much weaker fourth is dropped); the label beside it and two products side
    /// by side stay apart.
    #[test]
    fn duplicate_peaks_merge_and_neighbours_stay() {
        let d = |class, bbox, score| Detection { class, bbox, score };
        use DetectionClass::{Gap, Product, ShelfLabel};
        let kept = merge_duplicates(vec![
            d(ShelfLabel, [0.0, 355.0, 396.0, 413.0], 0.8),
            d(ShelfLabel, [114.0, 357.0, 396.0, 410.0], 0.4),
            d(ShelfLabel, [163.0, 353.0, 417.0, 413.0], 0.4),
            d(ShelfLabel, [460.0, 355.0, 800.0, 410.0], 0.5),
            d(Gap, [624.0, 499.0, 1137.0, 735.0], 0.39),
            d(Gap, [518.0, 505.0, 1118.0, 729.0], 0.38),
            d(Gap, [467.0, 500.0, 919.0, 732.0], 0.36),
            d(Gap, [300.0, 500.0, 919.0, 732.0], 0.1),
            d(Product, [460.0, 71.0, 650.0, 354.0], 0.9),
            d(Product, [640.0, 71.0, 830.0, 354.0], 0.9),
        ]);
        assert_eq!(kept.len(), 5, "{kept:?}");
        let wide: Vec<&Detection> = kept.iter().filter(|m| m.class == ShelfLabel && m.bbox[0] < 200.0).collect();
        assert_eq!((wide.len(), wide[0].score, wide[0].bbox), (1, 0.8, [0.0, 355.0, 396.0, 413.0]));
        let gap = kept.iter().find(|m| m.class == Gap).unwrap();
        assert_eq!((gap.score, gap.bbox), (0.39, [467.0, 499.0, 1137.0, 735.0]));
        assert!(kept.windows(2).all(|w| w[0].score >= w[1].score));
    }

    /// A 12 MP photo of a long shelf wall: nine fixture shelves side by side and stacked, so
    /// each product is a third of its size in the whole frame. Scanned whole, the detector
    /// (which sees the photo at 512x384) misses most; in tiles it finds them.
    #[test]
    fn a_12_mp_wall_of_small_products_is_found_in_tiles() {
        let registry = registry();
        let mut detector = ShelfDetector::new(&registry, "shelf_detector").unwrap();
        let (image, truth) = fixture_shelves().swap_remove(0);
        let (w, h) = (image.cols() as f32, image.rows() as f32);
        let mut row = Mat::default();
        let mut wall = Mat::default();
        let three = opencv::core::Vector::<Mat>::from_iter([image.clone(), image.clone(), image.clone()]);
        opencv::core::hconcat(&three, &mut row).unwrap();
        opencv::core::vconcat(&opencv::core::Vector::<Mat>::from_iter([row.clone(), row.clone(), row]), &mut wall).unwrap();
        let mut photo = Mat::default();
        imgproc::resize(&wall, &mut photo, Size::new(4000, 3000), 0.0, 0.0, imgproc::INTER_AREA).unwrap();
        let (sx, sy) = (4000.0 / (3.0 * w), 3000.0 / (3.0 * h));
        let wanted: Vec<[f32; 4]> = (0..9)
            .flat_map(|k| {
                let (ox, oy) = ((k % 3) as f32 * w, (k / 3) as f32 * h);
                truth.boxes(DetectionClass::Product).into_iter().map(move |b| [(b[0] + ox) * sx, (b[1] + oy) * sy, (b[2] + ox) * sx, (b[3] + oy) * sy])
            })
            .collect();
        let recall = |found: &[Detection]| {
            let hits = wanted.iter().filter(|t| found.iter().any(|d| d.class == DetectionClass::Product && iou(&d.bbox, t) >= 0.5)).count();
            hits as f32 / wanted.len() as f32
        };
        let whole = recall(&detector.detect_bgr(&photo).unwrap());
        let tiled_found = detector.detect_tiled(&photo).unwrap();
        let tiled = recall(&tiled_found);
        let products = tiled_found.iter().filter(|d| d.class == DetectionClass::Product).count();
        eprintln!("{} products: whole-frame recall {whole:.3}, tiled {tiled:.3} ({products} boxes)", wanted.len());
        assert!(tiled >= 0.9, "tiled recall {tiled}");
        assert!(whole < tiled - 0.2, "the whole frame alone finds them too ({whole}): this photo does not test tiling");
        assert!((products as f32) <= 1.1 * wanted.len() as f32, "{products} boxes for {} products: tiles double-count", wanted.len());
    }

    #[test]
    fn iou_of_boxes() {
        assert_eq!(iou(&[0.0, 0.0, 2.0, 2.0], &[0.0, 0.0, 2.0, 2.0]), 1.0);
        assert!((iou(&[0.0, 0.0, 2.0, 2.0], &[1.0, 0.0, 3.0, 2.0]) - 1.0 / 3.0).abs() < 1e-6);
        assert_eq!(iou(&[0.0, 0.0, 1.0, 1.0], &[2.0, 2.0, 3.0, 3.0]), 0.0);
    }

    /// The real detector finds the annotated products of the committed held-out shelves
    /// (recall at IoU 0.5), at their own size and upscaled to 1080p.
    #[test]
    fn finds_the_annotated_products_at_any_size() {
        let registry = registry();
        let mut detector = ShelfDetector::new(&registry, "shelf_detector").unwrap();
        for (image, truth) in fixture_shelves() {
            for scale in [1.0, 1080.0 / 384.0] {
                let bgr = scaled(&image, scale);
                let found = detector.detect_bgr(&bgr).unwrap();
                for class in [DetectionClass::Product, DetectionClass::ShelfLabel] {
                    let wanted: Vec<[f32; 4]> = truth.boxes(class).iter().map(|b| b.map(|v| v * scale as f32)).collect();
                    let hits = wanted.iter().filter(|t| found.iter().any(|d| d.class == class && iou(&d.bbox, t) >= 0.5)).count();
                    let recall = hits as f32 / wanted.len() as f32;
                    assert!(recall >= 0.85, "{class:?} recall {recall} at scale {scale}");
                }
            }
        }
    }

    #[test]
    fn refuses_a_model_of_another_task() {
        let registry = registry();
        let err = ShelfDetector::new(&registry, "product_embedding").err().unwrap();
        assert!(err.to_string().contains("image-embedding"), "{err}");
    }
}

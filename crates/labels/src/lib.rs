//! Shelf-edge label reading: the barcode (EAN-13, UPC-A, Code 128, decoded in Rust: EAN/UPC by
//! our own fit of the symbol to a bar-averaged profile, then `rxing`), the printed price and
//! the other text lines (PP-OCRv4 det/cls/rec in ONNX).
//!
//! Public API (what `vitrine-shelf` codes against):
//!
//! ```text
//! LabelReader::load(&runtime, models_dir) -> Result<LabelReader, LabelError>   // models_dir = "models"
//! LabelReader::read(&mut self, &Frame, region: Option<[f32; 4]>) -> Result<LabelReading, LabelError>
//!     region = [x1, y1, x2, y2] in frame pixels (None = whole frame); a small margin is added.
//! LabelReading { barcode: Option<Barcode>, price: Option<Price>, text: Vec<TextLine>, timings: LabelTimings }
//! Barcode { symbology: Symbology (Ean13 | UpcA | Code128), digits: String }   // check digit verified
//! Price { cents: i64, text: String, confidence: f32 }
//! TextLine { text, confidence, quad: [[f32; 2]; 4] }   // quad in frame pixels, clockwise from top-left
//! LabelTimings { barcode_ms, ocr_det_ms, ocr_rec_ms }  // ocr_rec_ms includes the 180-degree check
//! decode_barcode(&GrayImage) -> Option<Barcode>          // no models needed
//! parse_price(&[TextLine]) -> Option<Price>              // the most price-like token, largest text
//! evaluate_label_set(&mut LabelReader, dir) -> Result<LabelEval, LabelError>
//! ```
//!
//! All results derive `serde::Serialize`. An empty, tiny or dark crop is not an error: it reads
//! as nothing found. A missing or damaged model file is a [`LabelError`].

mod barcode;
mod ean;
mod eval;
mod ocr;
mod price;

use std::path::{Path, PathBuf};
use std::time::Instant;

use opencv::core::{Mat, Rect};
use opencv::prelude::*;
use serde::Serialize;
use vitrine_frame::{Frame, PixelFormat};

pub use barcode::{decode_barcode, GrayImage};
pub use eval::{evaluate_label_set, BlurBucket, LabelEval};
pub use ocr::Ocr;
pub use price::parse_price;

#[derive(Debug, thiserror::Error)]
pub enum LabelError {
    #[error("OCR model {part}: {source}")]
    Model { part: &'static str, source: vitrine_infer::InferError },
    #[error("OCR character list {path}: {reason}")]
    Keys { path: PathBuf, reason: String },
    #[error(transparent)]
    Infer(#[from] vitrine_infer::InferError),
    #[error("OpenCV: {0}")]
    OpenCv(#[from] opencv::Error),
    #[error("{path}: {reason}")]
    Dataset { path: PathBuf, reason: String },
}

/// The symbologies shelf-edge labels carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Symbology {
    Ean13,
    UpcA,
    Code128,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Barcode {
    pub symbology: Symbology,
    /// The encoded characters (digits for EAN/UPC), check digit included and verified.
    pub digits: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Price {
    pub cents: i64,
    /// The token as read, e.g. `€4,63`.
    pub text: String,
    /// The recogniser's confidence in the line the price came from, 0..1.
    pub confidence: f32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TextLine {
    pub text: String,
    pub confidence: f32,
    /// Corners in frame pixels, clockwise from top-left.
    pub quad: [[f32; 2]; 4],
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct LabelTimings {
    pub barcode_ms: f64,
    pub ocr_det_ms: f64,
    /// Recognition of every detected line, including the 180-degree direction check.
    pub ocr_rec_ms: f64,
}

impl LabelTimings {
    pub fn total_ms(&self) -> f64 {
        self.barcode_ms + self.ocr_det_ms + self.ocr_rec_ms
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LabelReading {
    pub barcode: Option<Barcode>,
    pub price: Option<Price>,
    /// Every recognised line, top to bottom (the price line included).
    pub text: Vec<TextLine>,
    pub timings: LabelTimings,
}

/// Reads shelf-edge labels; holds the OCR models and scratch images, reused across labels.
pub struct LabelReader {
    ocr: Ocr,
    bgr: Mat,
}

impl std::fmt::Debug for LabelReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LabelReader").field("ocr", &self.ocr).finish()
    }
}

/// Extra room around a given label box, as a fraction of its size, so a slightly tight box
/// from a detector still holds the barcode's quiet zones and the price's last digit.
const REGION_MARGIN: f32 = 0.08;

impl LabelReader {
    /// Loads `models_dir/ocr/{det,rec,cls}` (each checked against its manifest).
    pub fn load(runtime: &vitrine_infer::Runtime, models_dir: &Path) -> Result<Self, LabelError> {
        Ok(Self { ocr: Ocr::load(runtime, &models_dir.join("ocr"))?, bgr: Mat::default() })
    }

    /// Reads one label. `region` is the label's box `[x1, y1, x2, y2]` in frame pixels; `None`
    /// reads the whole frame. Nothing found is a reading with empty fields, not an error.
    pub fn read(&mut self, frame: &Frame, region: Option<[f32; 4]>) -> Result<LabelReading, LabelError> {
        frame_to_bgr(frame, &mut self.bgr)?;
        let Some(rect) = crop_rect(frame.width() as i32, frame.height() as i32, region) else {
            return Ok(LabelReading::default());
        };
        let crop = Mat::roi(&self.bgr, rect)?.try_clone()?;
        let mut reading = LabelReading::default();

        let start = Instant::now();
        let mut gray = Mat::default();
        opencv::imgproc::cvt_color(&crop, &mut gray, opencv::imgproc::COLOR_BGR2GRAY, 0)?;
        reading.barcode = decode_barcode(&GrayImage::from_mat(&gray)?);
        reading.timings.barcode_ms = ms_since(start);

        let (lines, det_ms, rec_ms) = self.ocr.read_lines(&crop)?;
        reading.timings.ocr_det_ms = det_ms;
        reading.timings.ocr_rec_ms = rec_ms;
        let offset = [rect.x as f32, rect.y as f32];
        reading.text = lines
            .into_iter()
            .map(|mut line| {
                for corner in &mut line.quad {
                    corner[0] += offset[0];
                    corner[1] += offset[1];
                }
                line
            })
            .collect();
        reading.price = parse_price(&reading.text);
        Ok(reading)
    }
}

/// The pixel rectangle to read: the region grown by the margin and clipped to the frame, or
/// the whole frame; `None` when what is left is too small to hold a label.
fn crop_rect(width: i32, height: i32, region: Option<[f32; 4]>) -> Option<Rect> {
    const MIN_SIDE: i32 = 8;
    let [x1, y1, x2, y2] = match region {
        None => [0.0, 0.0, width as f32, height as f32],
        Some([x1, y1, x2, y2]) if x1.is_finite() && y1.is_finite() && x2.is_finite() && y2.is_finite() => {
            let (mx, my) = ((x2 - x1).abs() * REGION_MARGIN, (y2 - y1).abs() * REGION_MARGIN);
            [x1.min(x2) - mx, y1.min(y2) - my, x1.max(x2) + mx, y1.max(y2) + my]
        }
        Some(_) => return None,
    };
    let (left, top) = ((x1.floor() as i32).clamp(0, width), (y1.floor() as i32).clamp(0, height));
    let (right, bottom) = ((x2.ceil() as i32).clamp(0, width), (y2.ceil() as i32).clamp(0, height));
    (right - left >= MIN_SIDE && bottom - top >= MIN_SIDE).then(|| Rect::new(left, top, right - left, bottom - top))
}

/// Copies a frame into a BGR `Mat` (grey frames are expanded).
fn frame_to_bgr(frame: &Frame, bgr: &mut Mat) -> Result<(), LabelError> {
    let (rows, cols) = (frame.height() as i32, frame.width() as i32);
    let typ = match frame.format() {
        PixelFormat::Rgb8 | PixelFormat::Bgr8 => opencv::core::CV_8UC3,
        PixelFormat::Gray8 => opencv::core::CV_8UC1,
    };
    let mut packed = Mat::new_rows_cols_with_default(rows, cols, typ, opencv::core::Scalar::all(0.0))?;
    packed.data_bytes_mut()?.copy_from_slice(frame.data());
    match frame.format() {
        PixelFormat::Bgr8 => *bgr = packed,
        PixelFormat::Rgb8 => opencv::imgproc::cvt_color(&packed, bgr, opencv::imgproc::COLOR_RGB2BGR, 0)?,
        PixelFormat::Gray8 => opencv::imgproc::cvt_color(&packed, bgr, opencv::imgproc::COLOR_GRAY2BGR, 0)?,
    }
    Ok(())
}

fn ms_since(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use vitrine_infer::{Runtime, RuntimeOptions};

    use super::*;

    fn repo_root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
    }

    fn fixtures() -> PathBuf {
        repo_root().join("models/shelf_synth/fixtures/labels")
    }

    fn runtime() -> Runtime {
        Runtime::init(&RuntimeOptions { intra_threads: 2, ..Default::default() }).expect("ONNX Runtime (run scripts/setup.sh)")
    }

    fn reader() -> LabelReader {
        LabelReader::load(&runtime(), &repo_root().join("models")).expect("OCR models")
    }

    #[test]
    fn fixture_labels_read_exactly() {
        let eval = evaluate_label_set(&mut reader(), &fixtures()).unwrap();
        assert_eq!(eval.labels, 6);
        assert_eq!(eval.barcode_exact, 6, "{:#?}", eval.misses);
        assert_eq!(eval.price_exact, 6, "{:#?}", eval.misses);
        assert_eq!(eval.by_blur.iter().map(|b| b.labels).sum::<usize>(), 6);
    }

    #[test]
    fn a_region_reads_only_that_label_and_quads_are_in_frame_pixels() {
        let frame = eval::load_frame(&fixtures().join("000002.jpg")).unwrap();
        // 000002.json's corners span x 152..675, y 98..320.
        let reading = reader().read(&frame, Some([152.0, 98.0, 675.0, 320.0])).unwrap();
        assert_eq!(reading.price.map(|p| p.cents), Some(22));
        assert!(reading.text.iter().any(|l| l.text.contains("CHIPS")), "{:?}", reading.text);
        for line in &reading.text {
            for [x, y] in line.quad {
                assert!((100.0..=730.0).contains(&x) && (80.0..=340.0).contains(&y), "{line:?}");
            }
        }
    }

    #[test]
    fn empty_dark_or_tiny_input_reads_as_nothing() {
        let mut reader = reader();
        let dark = Frame::new(320, 120, PixelFormat::Rgb8, vec![3; 320 * 120 * 3]).unwrap();
        let reading = reader.read(&dark, None).unwrap();
        assert_eq!((reading.barcode, reading.price, reading.text.len()), (None, None, 0));
        let grey = Frame::new(40, 30, PixelFormat::Gray8, vec![128; 40 * 30]).unwrap();
        assert_eq!(reader.read(&grey, None).unwrap().text.len(), 0);
        for region in [[5.0, 5.0, 7.0, 7.0], [1000.0, 1000.0, 2000.0, 2000.0], [f32::NAN, 0.0, 10.0, 10.0]] {
            let reading = reader.read(&dark, Some(region)).unwrap();
            assert_eq!(reading, LabelReading::default(), "{region:?}");
        }
    }

    #[test]
    fn a_missing_model_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        for part in ["det", "rec", "cls"] {
            std::fs::create_dir_all(dir.path().join("ocr").join(part)).unwrap();
            let manifest = repo_root().join("models/ocr").join(part).join("manifest.toml");
            std::fs::copy(manifest, dir.path().join("ocr").join(part).join("manifest.toml")).unwrap();
        }
        let err = LabelReader::load(&runtime(), dir.path()).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("OCR model det") && message.contains("is missing"), "{message}");
    }
}

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
//! LabelReader::read_many(&mut self, bgr: &Mat, regions: &[[f32; 4]]) -> Result<Vec<LabelReading>, LabelError>
//!     every label box of one frame (8-bit BGR or grey Mat), same margin, results in order.
//! LabelReading { barcode: Option<Barcode>, price: Option<Price>, text: Vec<TextLine>, legible: bool, timings: LabelTimings }
//! Barcode { symbology: Symbology (Ean13 | UpcA | Code128), digits: String }   // check digit verified
//! Price { cents: i64, text: String, confidence: f32 }
//! TextLine { text, confidence, quad: [[f32; 2]; 4] }   // quad in frame pixels, clockwise from top-left
//! LabelTimings { legibility_ms, barcode_ms, ocr_det_ms, ocr_rec_ms }  // ocr_rec_ms includes the 180-degree check
//! legible_height(&GrayImage) -> f32                     // height in blur widths; under 40 nothing is read
//! decode_barcode(&GrayImage) -> Option<Barcode>          // no models needed
//! parse_price(&[TextLine]) -> Option<Price>              // the most price-like token, largest text
//! evaluate_label_set(&mut LabelReader, dir) -> Result<LabelEval, LabelError>
//! ```
//!
//! All results derive `serde::Serialize`. An empty, tiny, dark or illegibly blurred crop is not
//! an error: it reads as nothing found (`legible: false`). Order of work per label, cheapest
//! first: legibility, barcode, text detection, recognition (which stops at the price when the
//! barcode already names the product). A missing or damaged model file is a [`LabelError`].

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
    /// The legibility check (see [`legible_height`]).
    pub legibility_ms: f64,
    pub barcode_ms: f64,
    pub ocr_det_ms: f64,
    /// Recognition of every detected line, including the 180-degree direction check.
    pub ocr_rec_ms: f64,
}

impl LabelTimings {
    pub fn total_ms(&self) -> f64 {
        self.legibility_ms + self.barcode_ms + self.ocr_det_ms + self.ocr_rec_ms
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LabelReading {
    pub barcode: Option<Barcode>,
    pub price: Option<Price>,
    /// The recognised lines, top to bottom (the price line included). With a barcode read,
    /// recognition stops once the price is found, so only the lines needed for it are here.
    pub text: Vec<TextLine>,
    /// False when the crop holds nothing sharp enough to read (too small or too blurred for
    /// its size, flat or dark): then nothing else was tried.
    pub legible: bool,
    pub timings: LabelTimings,
}

/// Reads shelf-edge labels; holds the OCR models, reused across labels.
pub struct LabelReader {
    ocr: Ocr,
}

impl std::fmt::Debug for LabelReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LabelReader").field("ocr", &self.ocr).finish()
    }
}

/// Extra room around a given label box, as a fraction of its size, so a slightly tight box
/// from a detector still holds the barcode's quiet zones and the price's last digit.
const REGION_MARGIN: f32 = 0.08;

/// A crop must be at least this many blur widths tall (its height over the blur its sharpest
/// edges show, see [`legible_height`]) to be worth reading. A label's price is about a third
/// of its height and its narrowest bars far finer, so below this neither the price (a few
/// blur widths tall) nor the bars survive. Measured: the upscaled fixture shelf's labels at
/// 1080p give 20..34 (nothing on them is legible), the 200 rendered label photos 78 and up.
const MIN_LEGIBLE_HEIGHT: f32 = 40.0;

impl LabelReader {
    /// Loads `models_dir/ocr/{det,rec,cls}` (each checked against its manifest).
    pub fn load(runtime: &vitrine_infer::Runtime, models_dir: &Path) -> Result<Self, LabelError> {
        Ok(Self { ocr: Ocr::load(runtime, &models_dir.join("ocr"))? })
    }

    /// Reads one label. `region` is the label's box `[x1, y1, x2, y2]` in frame pixels; `None`
    /// reads the whole frame. Nothing found is a reading with empty fields, not an error.
    pub fn read(&mut self, frame: &Frame, region: Option<[f32; 4]>) -> Result<LabelReading, LabelError> {
        let Some(rect) = crop_rect(frame.width() as i32, frame.height() as i32, region) else {
            return Ok(LabelReading::default());
        };
        let crop = crop_to_bgr(frame, rect)?;
        Ok(self.read_crops(vec![Some((crop, rect))])?.pop().unwrap_or_default())
    }

    /// Reads every label box of one frame (`bgr`: the frame as an 8-bit BGR or grey `Mat`),
    /// in the order given; boxes as in [`LabelReader::read`]. Equivalent to `read` per box,
    /// without converting the frame once per label.
    pub fn read_many(&mut self, bgr: &Mat, regions: &[[f32; 4]]) -> Result<Vec<LabelReading>, LabelError> {
        let owned;
        let bgr = if bgr.channels() == 1 {
            let mut color = Mat::default();
            opencv::imgproc::cvt_color(bgr, &mut color, opencv::imgproc::COLOR_GRAY2BGR, 0)?;
            owned = color;
            &owned
        } else {
            bgr
        };
        let crops = regions
            .iter()
            .map(|&region| crop_rect(bgr.cols(), bgr.rows(), Some(region)).map(|rect| Ok::<_, LabelError>((Mat::roi(bgr, rect)?.try_clone()?, rect))).transpose())
            .collect::<Result<Vec<_>, _>>()?;
        self.read_crops(crops)
    }

    /// Cheapest first, per crop: is anything legible; the barcode. Then OCR over the legible
    /// crops together (recognition batched across labels), stopping at the price where the
    /// barcode already names the product (the other lines only serve to name it). `None`
    /// crops (boxes outside the frame) read as nothing.
    fn read_crops(&mut self, crops: Vec<Option<(Mat, Rect)>>) -> Result<Vec<LabelReading>, LabelError> {
        let mut readings = vec![LabelReading::default(); crops.len()];
        let mut uprights = vec![false; crops.len()];
        for (i, (reading, crop)) in readings.iter_mut().zip(&crops).enumerate() {
            let Some((crop, _)) = crop else { continue };
            let start = Instant::now();
            let mut gray = Mat::default();
            opencv::imgproc::cvt_color(crop, &mut gray, opencv::imgproc::COLOR_BGR2GRAY, 0)?;
            let gray = GrayImage::from_mat(&gray)?;
            reading.legible = legible_height(&gray) >= MIN_LEGIBLE_HEIGHT;
            reading.timings.legibility_ms = ms_since(start);
            if !reading.legible {
                continue;
            }
            let start = Instant::now();
            let (barcode, upright) = barcode::decode_oriented(&gray).map_or((None, None), |(b, u)| (Some(b), u));
            reading.barcode = barcode;
            uprights[i] = upright == Some(true);
            reading.timings.barcode_ms = ms_since(start);
        }
        let which: Vec<usize> = (0..crops.len()).filter(|&i| readings[i].legible).collect();
        let images: Vec<(&Mat, bool, bool)> =
            which.iter().filter_map(|&i| crops[i].as_ref().map(|(crop, _)| (crop, readings[i].barcode.is_some(), !uprights[i]))).collect();
        for (&i, (lines, det_ms, rec_ms)) in which.iter().zip(self.ocr.read_lines_many(&images)?) {
            let reading = &mut readings[i];
            let Some((_, rect)) = &crops[i] else { continue };
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
        }
        Ok(readings)
    }
}

/// How many blur widths tall an image is: its height over the Gaussian blur (px) that its
/// sharpest edges imply (a step of contrast C blurred by sigma has a steepest slope of
/// C / (sigma sqrt(2 pi))). Contrast from the 5th and 95th percentiles, slope from the mean
/// of the steepest 1 % of pixels. A flat or dark image is 0.
pub fn legible_height(image: &GrayImage) -> f32 {
    let (w, h) = (image.width, image.height);
    if w < 3 || h < 3 {
        return 0.0;
    }
    let mut histogram = [0usize; 256];
    for &v in &image.data {
        histogram[v as usize] += 1;
    }
    let percentile = |q: f32| {
        let target = (q * image.data.len() as f32) as usize;
        let mut seen = 0;
        for (v, &n) in histogram.iter().enumerate() {
            seen += n;
            if seen > target {
                return v as f32;
            }
        }
        255.0
    };
    let contrast = percentile(0.95) - percentile(0.05);
    if contrast < 20.0 {
        return 0.0;
    }
    let px = |x: usize, y: usize| image.data[y * w + x] as f32;
    let mut slopes = Vec::with_capacity((w - 2) * (h - 2));
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let gx = (px(x + 1, y) - px(x - 1, y)) * 0.5;
            let gy = (px(x, y + 1) - px(x, y - 1)) * 0.5;
            slopes.push(gx * gx + gy * gy);
        }
    }
    let top = (slopes.len() / 100).max(1);
    let cut = slopes.len() - top;
    slopes.select_nth_unstable_by(cut, f32::total_cmp);
    let steepest = slopes[cut..].iter().map(|s| s.sqrt()).sum::<f32>() / top as f32;
    if steepest <= 0.0 {
        return 0.0;
    }
    let sigma = contrast / (steepest * (2.0 * std::f32::consts::PI).sqrt());
    h as f32 / sigma.max(0.7)
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

/// Copies the `rect` part of a frame into a BGR `Mat` (grey frames are expanded); only the
/// crop is converted, never the whole frame.
fn crop_to_bgr(frame: &Frame, rect: Rect) -> Result<Mat, LabelError> {
    let channels = match frame.format() {
        PixelFormat::Rgb8 | PixelFormat::Bgr8 => 3,
        PixelFormat::Gray8 => 1,
    };
    let typ = if channels == 3 { opencv::core::CV_8UC3 } else { opencv::core::CV_8UC1 };
    let mut packed = Mat::new_rows_cols_with_default(rect.height, rect.width, typ, opencv::core::Scalar::all(0.0))?;
    let (stride, row_len) = (frame.width() as usize * channels, rect.width as usize * channels);
    let data = frame.data();
    for (y, dst) in packed.data_bytes_mut()?.chunks_exact_mut(row_len).enumerate() {
        let from = (rect.y as usize + y) * stride + rect.x as usize * channels;
        dst.copy_from_slice(&data[from..from + row_len]);
    }
    let mut bgr = Mat::default();
    match frame.format() {
        PixelFormat::Bgr8 => return Ok(packed),
        PixelFormat::Rgb8 => opencv::imgproc::cvt_color(&packed, &mut bgr, opencv::imgproc::COLOR_RGB2BGR, 0)?,
        PixelFormat::Gray8 => opencv::imgproc::cvt_color(&packed, &mut bgr, opencv::imgproc::COLOR_GRAY2BGR, 0)?,
    }
    Ok(bgr)
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
        // The barcode names the product, so recognition stopped at the price line.
        assert_eq!(reading.barcode.and_then(|b| b.gtin13()).as_deref(), Some("4332198082749"));
        assert!(reading.text.iter().any(|l| l.text.contains("0.22")), "{:?}", reading.text);
        assert!(!reading.text.iter().any(|l| l.text.contains("CHIPS")), "{:?}", reading.text);
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
    fn without_a_barcode_every_line_is_recognised() {
        let mut reader = reader();
        let path = fixtures().join("000002.jpg");
        let photo = opencv::imgcodecs::imread(path.to_str().unwrap(), opencv::imgcodecs::IMREAD_COLOR).unwrap();
        let (lines, _, _) = reader.ocr.read_lines(&photo, false).unwrap();
        let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
        assert!(texts.iter().any(|t| t.contains("CHIPS")) && texts.iter().any(|t| t.contains("0.22")), "{texts:?}");
        let (first, _, _) = reader.ocr.read_lines(&photo, true).unwrap();
        assert!(first.len() < lines.len() && parse_price(&first).map(|p| p.cents) == Some(22), "{first:?}");
    }

    #[test]
    fn read_many_reads_each_box_as_read_does() {
        let frame = eval::load_frame(&fixtures().join("000002.jpg")).unwrap();
        let bgr = {
            let mut m = Mat::new_rows_cols_with_default(frame.height() as i32, frame.width() as i32, opencv::core::CV_8UC3, 0.0.into()).unwrap();
            m.data_bytes_mut().unwrap().copy_from_slice(frame.data());
            m
        };
        let regions = [[152.0, 98.0, 675.0, 320.0], [5.0, 5.0, 7.0, 7.0], [0.0, 0.0, frame.width() as f32, frame.height() as f32]];
        let mut reader = reader();
        let many = reader.read_many(&bgr, &regions).unwrap();
        assert_eq!(many.len(), 3);
        for (region, got) in regions.iter().zip(&many) {
            let one = reader.read(&frame, Some(*region)).unwrap();
            // Batched recognition pads lines to a shared width: confidences may differ a little.
            let price = |r: &LabelReading| r.price.as_ref().map(|p| (p.cents, p.text.clone()));
            assert_eq!((&got.barcode, price(got), got.legible), (&one.barcode, price(&one), one.legible), "{region:?}");
            assert_eq!(got.text.iter().map(|l| &l.text).collect::<Vec<_>>(), one.text.iter().map(|l| &l.text).collect::<Vec<_>>());
        }
        assert_eq!(many[0].price.as_ref().map(|p| p.cents), Some(22));
        assert_eq!(many[1], LabelReading::default());
    }

    #[test]
    fn a_label_too_blurred_for_its_size_is_not_read() {
        let path = fixtures().join("000002.jpg");
        let photo = opencv::imgcodecs::imread(path.to_str().unwrap(), opencv::imgcodecs::IMREAD_GRAYSCALE).unwrap();
        // 000002.json's corners span x 152..675, y 98..320.
        let label = Mat::roi(&photo, Rect::new(152, 98, 523, 222)).unwrap().try_clone().unwrap();
        let sharp = GrayImage::from_mat(&label).unwrap();
        assert!(legible_height(&sharp) >= MIN_LEGIBLE_HEIGHT, "{}", legible_height(&sharp));
        // The same label 12 px tall blown up 3x: what the bench's 512x384 shelf gives at 1080p.
        let (mut small, mut big) = (Mat::default(), Mat::default());
        opencv::imgproc::resize(&label, &mut small, opencv::core::Size::new(28, 12), 0.0, 0.0, opencv::imgproc::INTER_AREA).unwrap();
        opencv::imgproc::resize(&small, &mut big, opencv::core::Size::new(0, 0), 3.0, 3.0, opencv::imgproc::INTER_LINEAR).unwrap();
        let mushy = GrayImage::from_mat(&big).unwrap();
        assert!(legible_height(&mushy) < MIN_LEGIBLE_HEIGHT, "{}", legible_height(&mushy));
        assert_eq!(legible_height(&GrayImage::new(50, 50, vec![128; 2500]).unwrap()), 0.0);
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

//! Exact-match rates over a folder of label photos, each with a JSON file (`image`, `ean13`,
//! `price`, `blur_sigma`) as `models/shelf_synth/shelf_synth.py --split labels` writes them.

use std::path::{Path, PathBuf};

use opencv::prelude::*;
use serde::{Deserialize, Serialize};
use vitrine_frame::{Frame, PixelFormat};

use crate::price::cents_of;
use crate::{LabelError, LabelReader, LabelTimings};

/// Blur buckets by the renderer's Gaussian sigma (in output pixels): upper bounds.
const BLUR_EDGES: [f32; 3] = [0.6, 1.2, f32::INFINITY];

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LabelEval {
    pub labels: usize,
    /// Barcodes decoded (right or wrong) and decoded right.
    pub barcode_found: usize,
    pub barcode_exact: usize,
    pub price_found: usize,
    pub price_exact: usize,
    /// Barcode and price both right.
    pub both_exact: usize,
    pub barcode_exact_rate: f64,
    pub price_exact_rate: f64,
    pub both_exact_rate: f64,
    pub by_blur: Vec<BlurBucket>,
    /// Mean per-label stage times, and the median and worst total.
    pub mean_timings: LabelTimings,
    pub median_ms: f64,
    pub max_ms: f64,
    /// Files whose barcode or price was missed or wrong, with what was read.
    pub misses: Vec<LabelMiss>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlurBucket {
    /// Blur sigma range `[from, to)`; `to` is `null` for the open top bucket.
    pub sigma_from: f32,
    pub sigma_to: Option<f32>,
    pub labels: usize,
    pub barcode_exact: usize,
    pub price_exact: usize,
    pub both_exact: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelMiss {
    pub image: String,
    pub blur_sigma: f32,
    pub ean13: String,
    pub barcode_read: Option<String>,
    pub price: String,
    pub price_read: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Truth {
    image: String,
    ean13: String,
    price: String,
    #[serde(default)]
    blur_sigma: f32,
}

/// Reads every labelled photo in `dir` (whole photo, no region) and counts exact matches:
/// the barcode as a 13-digit GTIN equal to `ean13`, the price equal to `price` in cents.
pub fn evaluate_label_set(reader: &mut LabelReader, dir: &Path) -> Result<LabelEval, LabelError> {
    let bad = |path: &Path, reason: String| LabelError::Dataset { path: path.to_owned(), reason };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| bad(dir, e.to_string()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(bad(dir, "no label JSON files here".to_owned()));
    }
    let mut eval = LabelEval {
        by_blur: BLUR_EDGES
            .iter()
            .enumerate()
            .map(|(i, &to)| BlurBucket {
                sigma_from: if i == 0 { 0.0 } else { BLUR_EDGES[i - 1] },
                sigma_to: to.is_finite().then_some(to),
                labels: 0,
                barcode_exact: 0,
                price_exact: 0,
                both_exact: 0,
            })
            .collect(),
        ..Default::default()
    };
    let mut totals = Vec::with_capacity(files.len());
    for json_path in &files {
        let text = std::fs::read_to_string(json_path).map_err(|e| bad(json_path, e.to_string()))?;
        let truth: Truth = serde_json::from_str(&text).map_err(|e| bad(json_path, e.to_string()))?;
        let expected_cents = cents_of(&truth.price).ok_or_else(|| bad(json_path, format!("price {:?} is not a price", truth.price)))?;
        let frame = load_frame(&dir.join(&truth.image))?;
        let reading = reader.read(&frame, None)?;

        let gtin = reading.barcode.as_ref().and_then(|b| b.gtin13());
        let barcode_ok = gtin.as_deref() == Some(truth.ean13.as_str());
        let price_ok = reading.price.as_ref().is_some_and(|p| p.cents == expected_cents);
        eval.labels += 1;
        eval.barcode_found += usize::from(reading.barcode.is_some());
        eval.barcode_exact += usize::from(barcode_ok);
        eval.price_found += usize::from(reading.price.is_some());
        eval.price_exact += usize::from(price_ok);
        eval.both_exact += usize::from(barcode_ok && price_ok);
        let bucket = BLUR_EDGES.iter().position(|&to| truth.blur_sigma < to).unwrap_or(BLUR_EDGES.len() - 1);
        let b = &mut eval.by_blur[bucket];
        b.labels += 1;
        b.barcode_exact += usize::from(barcode_ok);
        b.price_exact += usize::from(price_ok);
        b.both_exact += usize::from(barcode_ok && price_ok);
        let t = reading.timings;
        eval.mean_timings.legibility_ms += t.legibility_ms;
        eval.mean_timings.barcode_ms += t.barcode_ms;
        eval.mean_timings.ocr_det_ms += t.ocr_det_ms;
        eval.mean_timings.ocr_rec_ms += t.ocr_rec_ms;
        totals.push(t.total_ms());
        if !(barcode_ok && price_ok) {
            eval.misses.push(LabelMiss {
                image: truth.image.clone(),
                blur_sigma: truth.blur_sigma,
                ean13: truth.ean13.clone(),
                barcode_read: reading.barcode.map(|b| b.digits),
                price: truth.price.clone(),
                price_read: reading.price.map(|p| p.text),
            });
        }
    }
    let n = eval.labels as f64;
    eval.barcode_exact_rate = eval.barcode_exact as f64 / n;
    eval.price_exact_rate = eval.price_exact as f64 / n;
    eval.both_exact_rate = eval.both_exact as f64 / n;
    eval.mean_timings.legibility_ms /= n;
    eval.mean_timings.barcode_ms /= n;
    eval.mean_timings.ocr_det_ms /= n;
    eval.mean_timings.ocr_rec_ms /= n;
    totals.sort_by(f64::total_cmp);
    eval.median_ms = totals[totals.len() / 2];
    eval.max_ms = totals.last().copied().unwrap_or(0.0);
    Ok(eval)
}

/// Decodes an image file into a BGR frame.
pub(crate) fn load_frame(path: &Path) -> Result<Frame, LabelError> {
    let bad = |reason: String| LabelError::Dataset { path: path.to_owned(), reason };
    let name = path.to_str().ok_or_else(|| bad("path is not UTF-8".to_owned()))?;
    let mat = opencv::imgcodecs::imread(name, opencv::imgcodecs::IMREAD_COLOR)?;
    if mat.empty() {
        return Err(bad("not a readable image".to_owned()));
    }
    let mat = if mat.is_continuous() { mat } else { mat.try_clone()? };
    Frame::new(mat.cols() as u32, mat.rows() as u32, PixelFormat::Bgr8, mat.data_bytes()?.to_vec()).map_err(|e| bad(e.to_string()))
}

//! PP-OCRv4 in ONNX: DB text detection → rotated line boxes → 180-degree check → CTC
//! recognition. Pre- and post-processing follow RapidOCR's defaults (see the manifests).

use std::path::{Path, PathBuf};
use std::time::Instant;

use opencv::core::{Mat, Point, Point2f, RotatedRect, Scalar, Size, Vector};
use opencv::imgproc;
use opencv::prelude::*;
use vitrine_infer::tensor::Tensor;
use vitrine_infer::{Model, Runtime};

use crate::{ms_since, LabelError, TextLine};

/// DB post-processing (RapidOCR `config.yaml`).
const DET_THRESHOLD: f32 = 0.3;
const DET_BOX_SCORE: f32 = 0.5;
const DET_UNCLIP: f32 = 1.6;
const DET_MIN_SIDE: f32 = 3.0;
/// Detector input: the long side is brought into this range (then to multiples of 32). Small
/// crops from a shelf photo are upscaled so their text reaches the sizes DB was trained on;
/// big ones are capped to bound the cost on a CPU.
const DET_LONG_SIDE: (f32, f32) = (640.0, 960.0);
const DET_UPSCALE_HEIGHT: f32 = 64.0;
const REC_HEIGHT: i32 = 48;
/// RapidOCR pads every line to at least 320 x 48; recognition costs in proportion to the
/// width, and a price is a short line, so lines are padded only to 2:1 (then to a multiple
/// of 8, the recogniser's step). The 200 rendered labels read the same either way.
const REC_MIN_RATIO: f32 = 2.0;
const CLS_SIZE: (i32, i32) = (192, 48);
const CLS_FLIP_SCORE: f32 = 0.9;
/// Lines per recogniser run (similar widths together, as RapidOCR batches).
const BATCH: usize = 8;

/// The three PP-OCR models and the recogniser's character list.
pub struct Ocr {
    det: Model,
    rec: Model,
    cls: Model,
    /// Class index → text: 0 is the CTC blank (empty), the last is a space.
    keys: Vec<String>,
}

impl std::fmt::Debug for Ocr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ocr").field("det", &self.det).field("rec", &self.rec).field("cls", &self.cls).finish()
    }
}

impl Ocr {
    /// Loads `dir/{det,rec,cls}/manifest.toml` and `dir/rec/ppocr_keys.txt`.
    pub fn load(runtime: &Runtime, dir: &Path) -> Result<Self, LabelError> {
        let load = |part: &'static str| {
            Model::load(runtime, &dir.join(part).join("manifest.toml")).map_err(|source| LabelError::Model { part, source })
        };
        let (det, rec, cls) = (load("det")?, load("rec")?, load("cls")?);
        let keys_path = dir.join("rec/ppocr_keys.txt");
        let keys = load_keys(&keys_path)?;
        let classes = rec.manifest().outputs[0].shape.last().copied().unwrap_or(-1);
        if classes != keys.len() as i64 {
            return Err(LabelError::Keys {
                path: keys_path,
                reason: format!("{} classes with blank and space, the recogniser has {classes}", keys.len()),
            });
        }
        Ok(Self { det, rec, cls, keys })
    }

    /// Detects and recognises the text lines of a BGR image; returns them top to bottom with
    /// quads in image pixels, and the detection and recognition times in ms. With
    /// `until_price`, lines are recognised tallest first (the price is a label's biggest
    /// text) and recognition stops once they hold a price; the lines not read are left out.
    pub fn read_lines(&mut self, bgr: &Mat, until_price: bool) -> Result<(Vec<TextLine>, f64, f64), LabelError> {
        Ok(self.read_lines_many(&[(bgr, until_price, true)])?.pop().unwrap_or_default())
    }

    /// [`Ocr::read_lines`] over several images: detection batched where sizes allow, then the
    /// direction check and recognition batched across all of them (the recogniser runs once per round for
    /// every image's next line, not once per line). Recognition time is shared out by lines.
    /// Each image comes with `until_price` and whether its lines need the 180-degree check
    /// (not when a barcode already showed the label upright).
    pub fn read_lines_many(&mut self, images: &[(&Mat, bool, bool)]) -> Result<Vec<(Vec<TextLine>, f64, f64)>, LabelError> {
        struct Job {
            boxes: Vec<[[f32; 2]; 4]>,
            order: Vec<usize>,
            next: usize,
            read: Vec<Option<TextLine>>,
            until_price: bool,
            done: bool,
            det_ms: f64,
            rec_ms: f64,
        }
        let start = Instant::now();
        let detected = self.detect_many(&images.iter().map(|&(m, _, _)| m).collect::<Vec<_>>())?;
        // Detection time shared out by input area.
        let areas: Vec<f64> = images.iter().map(|(m, _, _)| (m.cols() * m.rows()) as f64).collect();
        let (det_total, area_total) = (ms_since(start), areas.iter().sum::<f64>().max(1.0));
        let mut jobs = Vec::with_capacity(images.len());
        for ((&(_, until_price, _), boxes), area) in images.iter().zip(detected).zip(&areas) {
            let mut order: Vec<usize> = (0..boxes.len()).collect();
            if until_price {
                order.sort_by(|&a, &b| quad_height(&boxes[b]).total_cmp(&quad_height(&boxes[a])));
            }
            let n = boxes.len();
            jobs.push(Job { boxes, order, next: 0, read: vec![None; n], until_price, done: n == 0, det_ms: det_total * area / area_total, rec_ms: 0.0 });
        }
        loop {
            // This round: every unfinished image's next line (all its lines when it wants them all).
            let mut items: Vec<(usize, usize)> = Vec::new();
            for (j, job) in jobs.iter_mut().enumerate().filter(|(_, job)| !job.done) {
                let take = if job.until_price { 1 } else { job.order.len() };
                let end = (job.next + take).min(job.order.len());
                items.extend(job.order[job.next..end].iter().map(|&i| (j, i)));
                job.next = end;
            }
            if items.is_empty() {
                break;
            }
            let start = Instant::now();
            let mut crops = items.iter().map(|&(j, i)| crop_line(images[j].0, &jobs[j].boxes[i])).collect::<Result<Vec<_>, _>>()?;
            let check: Vec<usize> = (0..items.len()).filter(|&n| images[items[n].0].2).collect();
            if !check.is_empty() {
                let mut some: Vec<Mat> = check.iter().map(|&n| std::mem::take(&mut crops[n])).collect();
                self.fix_upside_down(&mut some)?;
                for (&n, crop) in check.iter().zip(some) {
                    crops[n] = crop;
                }
            }
            let recognised = self.recognise(&crops)?;
            let per_line = ms_since(start) / items.len() as f64;
            for (&(j, i), (text, confidence)) in items.iter().zip(recognised) {
                let job = &mut jobs[j];
                job.read[i] = Some(TextLine { text, confidence, quad: job.boxes[i] });
                job.rec_ms += per_line;
            }
            for job in jobs.iter_mut().filter(|job| !job.done) {
                let so_far: Vec<TextLine> = job.read.iter().flatten().cloned().collect();
                job.done = !job.until_price || job.next >= job.order.len() || crate::parse_price(&so_far).is_some();
            }
        }
        Ok(jobs
            .into_iter()
            .map(|job| {
                let lines = job.read.into_iter().flatten().filter(|line| !line.text.trim().is_empty()).collect();
                (lines, job.det_ms, job.rec_ms)
            })
            .collect())
    }

    /// DB text detection over several images → each one's line quads (clockwise from
    /// top-left) in reading order. Images whose model inputs are about the same size run as
    /// one batch (padded by repeating their edges, and only their own part of the output is
    /// read): one run instead of one per label.
    fn detect_many(&mut self, images: &[&Mat]) -> Result<Vec<Vec<[[f32; 2]; 4]>>, LabelError> {
        let sizes: Vec<(i32, i32)> = images.iter().map(|m| det_input_size(m.cols() as f32, m.rows() as f32)).collect();
        let mut out = vec![Vec::new(); images.len()];
        // Largest first; a batch takes images until padding would waste more than a quarter.
        let mut order: Vec<usize> = (0..images.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(sizes[i].0 * sizes[i].1));
        let mut k = 0;
        while k < order.len() {
            let (bw, bh) = sizes[order[k]];
            let mut end = k + 1;
            let mut area = (bw * bh) as f64;
            while end < order.len() && end - k < BATCH {
                let (w, h) = sizes[order[end]];
                let (nw, nh) = (bw.max(w), bh.max(h));
                if (nw * nh) as f64 * (end - k + 1) as f64 > 1.25 * (area + (w * h) as f64) {
                    break;
                }
                area += (w * h) as f64;
                end += 1;
            }
            let batch = &order[k..end];
            let (pw, ph) = batch.iter().fold((0, 0), |(a, b), &i| (a.max(sizes[i].0), b.max(sizes[i].1)));
            let mut input = Vec::with_capacity(batch.len() * 3 * (pw * ph) as usize);
            for &i in batch {
                let (iw, ih) = sizes[i];
                let mut resized = Mat::default();
                imgproc::resize(images[i], &mut resized, Size::new(iw, ih), 0.0, 0.0, imgproc::INTER_LINEAR)?;
                let mut padded = Mat::default();
                opencv::core::copy_make_border(&resized, &mut padded, 0, ph - ih, 0, pw - iw, opencv::core::BORDER_REPLICATE, Scalar::all(0.0))?;
                input.extend(bgr_to_chw(&padded)?);
            }
            let outputs = self.det.run(&[Tensor::borrowed(vec![batch.len() as i64, 3, ph as i64, pw as i64], &input)])?;
            let plane = (pw * ph) as usize;
            for (n, &i) in batch.iter().enumerate() {
                let (iw, ih) = sizes[i];
                let full = &outputs[0].data[n * plane..(n + 1) * plane];
                let prob: Vec<f32> = (0..ih as usize).flat_map(|y| full[y * pw as usize..y * pw as usize + iw as usize].iter().copied()).collect();
                out[i] = db_boxes(&prob, iw, ih, images[i].cols() as f32, images[i].rows() as f32)?;
            }
            k = end;
        }
        Ok(out)
    }

    /// Turns lines the direction classifier is sure are upside down.
    fn fix_upside_down(&mut self, crops: &mut [Mat]) -> Result<(), LabelError> {
        for chunk in crops.chunks_mut(BATCH) {
            let (cw, ch) = CLS_SIZE;
            let mut input = Vec::with_capacity(chunk.len() * 3 * (cw * ch) as usize);
            for crop in chunk.iter() {
                input.extend(line_input(crop, ch, cw)?);
            }
            let outputs = self.cls.run(&[Tensor::borrowed(vec![chunk.len() as i64, 3, ch as i64, cw as i64], &input)])?;
            for (crop, scores) in chunk.iter_mut().zip(outputs[0].data.chunks(2)) {
                if scores[1] > scores[0] && scores[1] >= CLS_FLIP_SCORE {
                    let mut turned = Mat::default();
                    opencv::core::rotate(crop, &mut turned, opencv::core::ROTATE_180)?;
                    *crop = turned;
                }
            }
        }
        Ok(())
    }

    /// CTC greedy decoding of each line: text and mean probability of the kept characters.
    fn recognise(&mut self, crops: &[Mat]) -> Result<Vec<(String, f32)>, LabelError> {
        let ratio = |m: &Mat| m.cols() as f32 / m.rows().max(1) as f32;
        // Similar widths batch together (less padding), as RapidOCR does.
        let mut order: Vec<usize> = (0..crops.len()).collect();
        order.sort_by(|&a, &b| ratio(&crops[a]).total_cmp(&ratio(&crops[b])));
        let mut results = vec![(String::new(), 0.0); crops.len()];
        let classes = self.keys.len();
        for batch in order.chunks(BATCH) {
            let max_ratio = batch.iter().map(|&i| ratio(&crops[i])).fold(REC_MIN_RATIO, f32::max);
            let width = ((REC_HEIGHT as f32 * max_ratio / 8.0).ceil() as i32) * 8;
            let mut input = Vec::with_capacity(batch.len() * 3 * (REC_HEIGHT * width) as usize);
            for &i in batch {
                input.extend(line_input(&crops[i], REC_HEIGHT, width)?);
            }
            let outputs = self.rec.run(&[Tensor::borrowed(vec![batch.len() as i64, 3, REC_HEIGHT as i64, width as i64], &input)])?;
            let out = &outputs[0];
            let steps = out.shape[1] as usize;
            for (n, &i) in batch.iter().enumerate() {
                let probs = &out.data[n * steps * classes..(n + 1) * steps * classes];
                results[i] = ctc_greedy(probs, classes, &self.keys);
            }
        }
        Ok(results)
    }
}

/// The detector's input size for a `w` x `h` image: the long side brought into
/// DET_LONG_SIDE, but small crops upscaled only until they are DET_UPSCALE_HEIGHT tall (a
/// label's price, about a third of it, is then well within DB's range, and more only costs);
/// both sides multiples of 32.
fn det_input_size(w: f32, h: f32) -> (i32, i32) {
    let long = w.max(h);
    let scale = (long.clamp(DET_LONG_SIDE.0, DET_LONG_SIDE.1) / long).min((DET_UPSCALE_HEIGHT / h).max(1.0));
    let round32 = |v: f32| (((v * scale) / 32.0).round() as i32).max(1) * 32;
    (round32(w), round32(h))
}

/// DB post-processing of one probability map (`in_w` x `in_h`) → quads in the pixels of the
/// `w` x `h` image it came from, in reading order.
fn db_boxes(prob: &[f32], in_w: i32, in_h: i32, w: f32, h: f32) -> Result<Vec<[[f32; 2]; 4]>, LabelError> {
    let mut bitmap = Mat::new_rows_cols_with_default(in_h, in_w, opencv::core::CV_8UC1, Scalar::all(0.0))?;
    for (dst, &p) in bitmap.data_bytes_mut()?.iter_mut().zip(prob.iter()) {
        *dst = if p > DET_THRESHOLD { 255 } else { 0 };
    }
    let mut contours: Vector<Vector<Point>> = Vector::new();
    imgproc::find_contours(&bitmap, &mut contours, imgproc::RETR_LIST, imgproc::CHAIN_APPROX_SIMPLE, Point::new(0, 0))?;
    let (sx, sy) = (w / in_w as f32, h / in_h as f32);
    let mut quads = Vec::new();
    for contour in contours.iter().take(1000) {
        let rect = imgproc::min_area_rect(&contour)?;
        if rect.size.width.min(rect.size.height) < DET_MIN_SIDE {
            continue;
        }
        let corners = rect_corners(&rect)?;
        if box_score(prob, in_w as usize, in_h as usize, &corners) < DET_BOX_SCORE {
            continue;
        }
        // Offsetting a rectangle by d grows both sides by 2d; d = area * ratio / perimeter.
        let (rw, rh) = (rect.size.width, rect.size.height);
        let d = rw * rh * DET_UNCLIP / (2.0 * (rw + rh));
        let grown = RotatedRect::new(rect.center, opencv::core::Size2f::new(rw + 2.0 * d, rh + 2.0 * d), rect.angle)?;
        if grown.size.width.min(grown.size.height) < DET_MIN_SIDE + 2.0 {
            continue;
        }
        let quad = order_clockwise(rect_corners(&grown)?.map(|[x, y]| [(x * sx).clamp(0.0, w), (y * sy).clamp(0.0, h)]));
        quads.push(quad);
    }
    // Reading order: top to bottom, left to right within about a line's height.
    quads.sort_by(|a, b| a[0][1].total_cmp(&b[0][1]).then(a[0][0].total_cmp(&b[0][0])));
    for i in 1..quads.len() {
        let mut j = i;
        while j > 0 && (quads[j][0][1] - quads[j - 1][0][1]).abs() < 10.0 && quads[j][0][0] < quads[j - 1][0][0] {
            quads.swap(j, j - 1);
            j -= 1;
        }
    }
    Ok(quads)
}

fn load_keys(path: &Path) -> Result<Vec<String>, LabelError> {
    let text = std::fs::read_to_string(path).map_err(|e| LabelError::Keys { path: PathBuf::from(path), reason: e.to_string() })?;
    let mut keys = vec![String::new()];
    keys.extend(text.lines().map(str::to_owned));
    keys.push(" ".to_owned());
    Ok(keys)
}

fn ctc_greedy(probs: &[f32], classes: usize, keys: &[String]) -> (String, f32) {
    let mut text = String::new();
    let (mut sum, mut kept) = (0.0f32, 0usize);
    let mut previous = 0usize;
    for step in probs.chunks(classes) {
        let (best, p) = step.iter().enumerate().fold((0, f32::MIN), |acc, (i, &p)| if p > acc.1 { (i, p) } else { acc });
        if best != 0 && best != previous {
            text.push_str(&keys[best]);
            sum += p;
            kept += 1;
        }
        previous = best;
    }
    (text, if kept == 0 { 0.0 } else { sum / kept as f32 })
}

/// A line crop resized to `height`, width keeping its aspect up to `width`, normalised to
/// [-1, 1] BGR CHW, zero-padded on the right to `width`.
fn line_input(crop: &Mat, height: i32, width: i32) -> Result<Vec<f32>, LabelError> {
    let ratio = crop.cols() as f32 / crop.rows().max(1) as f32;
    let resized_w = ((height as f32 * ratio).ceil() as i32).clamp(1, width);
    let mut resized = Mat::default();
    imgproc::resize(crop, &mut resized, Size::new(resized_w, height), 0.0, 0.0, imgproc::INTER_LINEAR)?;
    let chw = bgr_to_chw(&resized)?;
    let (h, rw, w) = (height as usize, resized_w as usize, width as usize);
    let mut out = vec![0.0f32; 3 * h * w];
    for c in 0..3 {
        for y in 0..h {
            out[(c * h + y) * w..(c * h + y) * w + rw].copy_from_slice(&chw[(c * h + y) * rw..(c * h + y + 1) * rw]);
        }
    }
    Ok(out)
}

/// BGR8 image → CHW float32, (x / 255 - 0.5) / 0.5.
fn bgr_to_chw(bgr: &Mat) -> Result<Vec<f32>, LabelError> {
    let (w, h) = (bgr.cols() as usize, bgr.rows() as usize);
    let continuous = if bgr.is_continuous() { bgr.clone() } else { bgr.try_clone()? };
    let bytes = continuous.data_bytes()?;
    let mut out = vec![0.0f32; 3 * w * h];
    for (i, px) in bytes.chunks_exact(3).enumerate() {
        for c in 0..3 {
            out[c * w * h + i] = px[c] as f32 / 127.5 - 1.0;
        }
    }
    Ok(out)
}

fn rect_corners(rect: &RotatedRect) -> Result<[[f32; 2]; 4], LabelError> {
    let mut pts = [Point2f::default(); 4];
    rect.points(&mut pts)?;
    Ok(pts.map(|p| [p.x, p.y]))
}

/// The height of a line quad (clockwise from top-left): its longer left or right side.
fn quad_height(quad: &[[f32; 2]; 4]) -> f32 {
    let dist = |a: [f32; 2], b: [f32; 2]| ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt();
    dist(quad[0], quad[3]).max(dist(quad[1], quad[2]))
}

/// Corners clockwise from the top-left (smallest x + y first, as RapidOCR orders them).
fn order_clockwise(pts: [[f32; 2]; 4]) -> [[f32; 2]; 4] {
    let sum = |p: &[f32; 2]| p[0] + p[1];
    let diff = |p: &[f32; 2]| p[1] - p[0];
    let pick = |key: &dyn Fn(&[f32; 2]) -> f32, max: bool| {
        let it = pts.iter().copied();
        if max {
            it.max_by(|a, b| key(a).total_cmp(&key(b)))
        } else {
            it.min_by(|a, b| key(a).total_cmp(&key(b)))
        }
        .unwrap_or_default()
    };
    [pick(&sum, false), pick(&diff, false), pick(&sum, true), pick(&diff, true)]
}

/// Mean probability inside a quad (RapidOCR's "fast" box score).
fn box_score(prob: &[f32], w: usize, h: usize, quad: &[[f32; 2]; 4]) -> f32 {
    let xs = quad.map(|p| p[0]);
    let ys = quad.map(|p| p[1]);
    let x0 = (xs.iter().copied().fold(f32::MAX, f32::min).floor().max(0.0) as usize).min(w - 1);
    let x1 = (xs.iter().copied().fold(f32::MIN, f32::max).ceil().max(0.0) as usize).min(w - 1);
    let y0 = (ys.iter().copied().fold(f32::MAX, f32::min).floor().max(0.0) as usize).min(h - 1);
    let y1 = (ys.iter().copied().fold(f32::MIN, f32::max).ceil().max(0.0) as usize).min(h - 1);
    let (mut sum, mut count) = (0.0f64, 0usize);
    for y in y0..=y1 {
        for x in x0..=x1 {
            if inside(quad, x as f32, y as f32) {
                sum += prob[y * w + x] as f64;
                count += 1;
            }
        }
    }
    if count == 0 {
        0.0
    } else {
        (sum / count as f64) as f32
    }
}

/// Point in a convex quad (either winding).
fn inside(quad: &[[f32; 2]; 4], x: f32, y: f32) -> bool {
    let mut sign = 0.0f32;
    for i in 0..4 {
        let (a, b) = (quad[i], quad[(i + 1) % 4]);
        let cross = (b[0] - a[0]) * (y - a[1]) - (b[1] - a[1]) * (x - a[0]);
        if cross.abs() < 1e-6 {
            continue;
        }
        if sign == 0.0 {
            sign = cross.signum();
        } else if cross.signum() != sign {
            return false;
        }
    }
    true
}

/// The line under a quad, warped upright (tall lines turned a quarter, as RapidOCR does).
fn crop_line(bgr: &Mat, quad: &[[f32; 2]; 4]) -> Result<Mat, LabelError> {
    let dist = |a: [f32; 2], b: [f32; 2]| ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt();
    let width = dist(quad[0], quad[1]).max(dist(quad[2], quad[3])).round().max(1.0);
    let height = dist(quad[0], quad[3]).max(dist(quad[1], quad[2])).round().max(1.0);
    let src: Vector<Point2f> = quad.iter().map(|p| Point2f::new(p[0], p[1])).collect();
    let dst: Vector<Point2f> =
        [[0.0, 0.0], [width, 0.0], [width, height], [0.0, height]].iter().map(|p| Point2f::new(p[0], p[1])).collect();
    let transform = imgproc::get_perspective_transform(&src, &dst, opencv::core::DECOMP_LU)?;
    let mut line = Mat::default();
    imgproc::warp_perspective(
        bgr,
        &mut line,
        &transform,
        Size::new(width as i32, height as i32),
        imgproc::INTER_CUBIC,
        opencv::core::BORDER_REPLICATE,
        Scalar::all(0.0),
    )?;
    if height / width >= 1.5 {
        let mut turned = Mat::default();
        opencv::core::rotate(&line, &mut turned, opencv::core::ROTATE_90_COUNTERCLOCKWISE)?;
        line = turned;
    }
    Ok(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctc_greedy_drops_blanks_and_repeats() {
        let keys: Vec<String> = ["", "4", ".", "6", " "].iter().map(|s| s.to_string()).collect();
        // 4 4 blank . 6 6 blank 6 → "4.66"
        let steps = [1, 1, 0, 2, 3, 3, 0, 3];
        let mut probs = vec![0.0f32; steps.len() * keys.len()];
        for (t, &k) in steps.iter().enumerate() {
            probs[t * keys.len() + k] = 0.9;
        }
        let (text, confidence) = ctc_greedy(&probs, keys.len(), &keys);
        assert_eq!(text, "4.66");
        assert!((confidence - 0.9).abs() < 1e-6);
    }

    #[test]
    fn quads_are_ordered_clockwise_from_top_left() {
        let quad = order_clockwise([[10.0, 20.0], [0.0, 0.0], [0.0, 20.0], [10.0, 0.0]]);
        assert_eq!(quad, [[0.0, 0.0], [10.0, 0.0], [10.0, 20.0], [0.0, 20.0]]);
    }
}

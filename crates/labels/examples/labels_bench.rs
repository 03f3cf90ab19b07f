//! Label-reading figures without the shelf detector, for tuning this crate alone:
//!
//! ```text
//! cargo run --release -p vitrine-labels --example labels_bench -- shelf [SHELF.jpg] [RUNS]
//! cargo run --release -p vitrine-labels --example labels_bench -- eval [DIR]
//! ```
//!
//! `shelf` resizes a synthetic shelf (JSON beside it) to 1920x1080 as `vitrine bench shelf`
//! does and reads each annotated label box (8 % margin, as the shelf scan crops them);
//! `eval` runs the label evaluation over a rendered label set.

use std::path::{Path, PathBuf};
use std::time::Instant;

use opencv::core::{Mat, Rect, Size};
use opencv::prelude::*;
use vitrine_frame::{Frame, PixelFormat};
use vitrine_infer::{Runtime, RuntimeOptions};
use vitrine_labels::{decode_barcode, evaluate_label_set, GrayImage, LabelReader, LabelTimings};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    if args.first().map(String::as_str) == Some("barcodes") {
        let dir = args.get(1).map(PathBuf::from).unwrap_or_else(|| root.join("var/shelf_eval/labels"));
        barcodes(&dir);
        return;
    }
    let runtime = Runtime::init(&RuntimeOptions { intra_threads: 2, ..Default::default() }).expect("ONNX Runtime");
    let mut reader = LabelReader::load(&runtime, &root.join("models")).expect("OCR models");
    match args.first().map(String::as_str) {
        Some("eval") => {
            let dir = args.get(1).map(PathBuf::from).unwrap_or_else(|| root.join("var/shelf_eval/labels"));
            let start = Instant::now();
            let mut eval = evaluate_label_set(&mut reader, &dir).expect("label eval");
            let misses = std::mem::take(&mut eval.misses);
            for miss in &misses {
                println!("miss {miss:?}");
            }
            println!("{}", serde_json::to_string_pretty(&eval).unwrap());
            println!("wall {:.1} s", start.elapsed().as_secs_f64());
        }
        Some("barcodes") => {
            let dir = args.get(1).map(PathBuf::from).unwrap_or_else(|| root.join("var/shelf_eval/labels"));
            barcodes(&dir);
        }
        _ => {
            let image = args.get(1).map(PathBuf::from).unwrap_or_else(|| root.join("models/shelf_synth/fixtures/shelves/000000.jpg"));
            let runs: usize = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(5);
            shelf(&mut reader, &image, runs);
        }
    }
}

fn shelf(reader: &mut LabelReader, path: &Path, runs: usize) {
    let src = opencv::imgcodecs::imread(path.to_str().unwrap(), opencv::imgcodecs::IMREAD_COLOR).unwrap();
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path.with_extension("json")).unwrap()).unwrap();
    let (sx, sy) = (1920.0 / src.cols() as f32, 1080.0 / src.rows() as f32);
    let mut frame = Mat::default();
    opencv::imgproc::resize(&src, &mut frame, Size::new(1920, 1080), 0.0, 0.0, opencv::imgproc::INTER_LINEAR).unwrap();
    let crops: Vec<Frame> = json["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let b: Vec<f32> = l["box"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
            let [x1, y1, x2, y2] = [b[0] * sx, b[1] * sy, b[2] * sx, b[3] * sy];
            let (mw, mh) = ((x2 - x1) * 0.08, (y2 - y1) * 0.08);
            let (l, t) = (((x1 - mw).floor() as i32).max(0), ((y1 - mh).floor() as i32).max(0));
            let (r, b) = (((x2 + mw).ceil() as i32).min(1920), ((y2 + mh).ceil() as i32).min(1080));
            let crop = Mat::roi(&frame, Rect::new(l, t, r - l, b - t)).unwrap().try_clone().unwrap();
            Frame::new(crop.cols() as u32, crop.rows() as u32, PixelFormat::Bgr8, crop.data_bytes().unwrap().to_vec()).unwrap()
        })
        .collect();
    println!("{} labels, sizes {:?}", crops.len(), crops.iter().map(|c| (c.width(), c.height())).collect::<Vec<_>>());
    let mut walls = Vec::new();
    for run in 0..=runs {
        let mut sum = LabelTimings::default();
        let start = Instant::now();
        let mut found = (0, 0);
        for crop in &crops {
            let reading = reader.read(crop, None).unwrap();
            found.0 += usize::from(reading.barcode.is_some());
            found.1 += usize::from(reading.price.is_some());
            sum.barcode_ms += reading.timings.barcode_ms;
            sum.ocr_det_ms += reading.timings.ocr_det_ms;
            sum.ocr_rec_ms += reading.timings.ocr_rec_ms;
        }
        let wall = start.elapsed().as_secs_f64() * 1000.0;
        if run > 0 {
            walls.push(wall);
            println!(
                "run {run}: wall {wall:.1} ms | barcode {:.1} | det {:.1} | rec {:.1} | barcodes {} prices {}",
                sum.barcode_ms, sum.ocr_det_ms, sum.ocr_rec_ms, found.0, found.1
            );
        }
    }
    walls.sort_by(f64::total_cmp);
    println!("median wall {:.1} ms for {} labels", walls[walls.len() / 2], crops.len());
}

/// Barcode decoding alone over a rendered label set: exact, wrong and missed per blur bucket.
fn barcodes(dir: &Path) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|e| e == "json")).collect();
    files.sort();
    let mut buckets = [[0usize; 4]; 3]; // labels, exact, wrong, none
    let mut total_ms = 0.0;
    let mut worst = (0.0, String::new());
    for json in &files {
        let truth: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
        let image = dir.join(truth["image"].as_str().unwrap());
        let gray = opencv::imgcodecs::imread(image.to_str().unwrap(), opencv::imgcodecs::IMREAD_GRAYSCALE).unwrap();
        let gray = GrayImage::from_mat(&gray).unwrap();
        let sigma = truth["blur_sigma"].as_f64().unwrap_or(0.0);
        let start = Instant::now();
        let found = decode_barcode(&gray);
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        total_ms += ms;
        if ms > worst.0 {
            worst = (ms, image.display().to_string());
        }
        let b = &mut buckets[if sigma < 0.6 { 0 } else if sigma < 1.2 { 1 } else { 2 }];
        b[0] += 1;
        let want = truth["ean13"].as_str().unwrap();
        match found.as_ref().and_then(|f| f.gtin13()) {
            Some(g) if g == want => b[1] += 1,
            Some(g) => {
                b[2] += 1;
                println!("WRONG {} sigma {sigma} read {g} want {want}", image.display());
            }
            None => {
                b[3] += 1;
                println!("none {} sigma {sigma} want {want} ({} x {})", image.display(), gray.width, gray.height);
            }
        }
    }
    let exact: usize = buckets.iter().map(|b| b[1]).sum();
    let wrong: usize = buckets.iter().map(|b| b[2]).sum();
    println!("exact {exact}/{} wrong {wrong}; by blur [labels, exact, wrong, none]: {buckets:?}", files.len());
    println!("mean {:.1} ms, worst {:.1} ms ({})", total_ms / files.len() as f64, worst.0, worst.1);
}

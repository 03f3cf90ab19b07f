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

use opencv::core::{Mat, Size};
use opencv::prelude::*;
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
            let boxes = args.get(3).map(|p| serde_json::from_str::<Vec<[f32; 4]>>(&std::fs::read_to_string(p).unwrap()).unwrap());
            shelf(&mut reader, &image, runs, boxes);
        }
    }
}

fn shelf(reader: &mut LabelReader, path: &Path, runs: usize, boxes: Option<Vec<[f32; 4]>>) {
    let src = opencv::imgcodecs::imread(path.to_str().unwrap(), opencv::imgcodecs::IMREAD_COLOR).unwrap();
    let (sx, sy) = (1920.0 / src.cols() as f32, 1080.0 / src.rows() as f32);
    let mut resized = Mat::default();
    opencv::imgproc::resize(&src, &mut resized, Size::new(1920, 1080), 0.0, 0.0, opencv::imgproc::INTER_LINEAR).unwrap();
    // Through JPEG and back, as `vitrine bench shelf` feeds its scanner.
    let mut jpeg = opencv::core::Vector::<u8>::new();
    opencv::imgcodecs::imencode(".jpg", &resized, &mut jpeg, &opencv::core::Vector::new()).unwrap();
    let frame = opencv::imgcodecs::imdecode(&jpeg, opencv::imgcodecs::IMREAD_COLOR).unwrap();
    if let Some(out) = std::env::var_os("LABELS_BENCH_FRAME") {
        // The exact frame, for `vitrine shelf scan --format json` to give the detector's boxes.
        opencv::imgcodecs::imwrite(out.to_str().unwrap(), &frame, &opencv::core::Vector::new()).unwrap();
    }
    // Boxes in 1080p pixels (e.g. the detector's, from `vitrine shelf scan --format json`), or
    // the annotated labels of the JSON beside the photo.
    let boxes = boxes.unwrap_or_else(|| {
        let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path.with_extension("json")).unwrap()).unwrap();
        json["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                let b: Vec<f32> = l["box"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
                [b[0] * sx, b[1] * sy, b[2] * sx, b[3] * sy]
            })
            .collect()
    });
    println!("{} labels, sizes {:?}", boxes.len(), boxes.iter().map(|b| ((b[2] - b[0]).round(), (b[3] - b[1]).round())).collect::<Vec<_>>());
    let mut walls = Vec::new();
    for run in 0..=runs {
        let start = Instant::now();
        // Every label box of the frame in one call (what the shelf scan should do), or with
        // LABELS_BENCH_SINGLE set one `read` per box (what it did).
        let readings = if std::env::var_os("LABELS_BENCH_SINGLE").is_some() {
            boxes.iter().map(|&b| reader.read_many(&frame, &[b]).unwrap().remove(0)).collect()
        } else {
            reader.read_many(&frame, &boxes).unwrap()
        };
        let wall = start.elapsed().as_secs_f64() * 1000.0;
        let mut sum = LabelTimings::default();
        for r in &readings {
            sum.legibility_ms += r.timings.legibility_ms;
            sum.barcode_ms += r.timings.barcode_ms;
            sum.ocr_det_ms += r.timings.ocr_det_ms;
            sum.ocr_rec_ms += r.timings.ocr_rec_ms;
        }
        if run == 1 {
            for r in &readings {
                println!("  {:?} {:?} {:?} {:.1}/{:.1}/{:.1} ms", r.barcode.as_ref().map(|b| &b.digits), r.price.as_ref().map(|p| p.cents), r.text.iter().map(|l| &l.text).collect::<Vec<_>>(), r.timings.barcode_ms, r.timings.ocr_det_ms, r.timings.ocr_rec_ms);
            }
        }
        let count = |f: fn(&vitrine_labels::LabelReading) -> bool| readings.iter().filter(|r| f(r)).count();
        if run > 0 {
            walls.push(wall);
            println!(
                "run {run}: wall {wall:.1} ms | legibility {:.1} | barcode {:.1} | det {:.1} | rec {:.1} | legible {} barcodes {} prices {}",
                sum.legibility_ms,
                sum.barcode_ms,
                sum.ocr_det_ms,
                sum.ocr_rec_ms,
                count(|r| r.legible),
                count(|r| r.barcode.is_some()),
                count(|r| r.price.is_some())
            );
        }
    }
    walls.sort_by(f64::total_cmp);
    println!("median wall {:.1} ms for {} labels", walls[walls.len() / 2], boxes.len());
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

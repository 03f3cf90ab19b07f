//! Shelf scans (issue 4): what is on a shelf, from a photo, a folder of photos or a video
//! sweep.
//!
//! The detector ([`ShelfDetector`], models/shelf_detector) finds products, empty gaps and
//! shelf-edge labels at any frame size. Labels give the structure: rows from their height,
//! and label-anchored slots ([`structure`]): each label's barcode (or printed name and price,
//! via `vitrine-labels`) names a catalog SKU, and the products above its span are that
//! slot's facings. The product-embedding model ([`ProductEmbedder`]) against the catalog's
//! reference photos ([`ProductGallery`]) confirms each facing or flags one that looks like
//! another SKU (misplaced), and names products on unlabelled slots. The [`ShelfReport`] holds
//! facings per SKU per row, gaps with widths, price-label mismatches, planogram differences,
//! tasks for the clerk and the counts a confirmation writes. Bad input (blurred, dark, not a
//! shelf, an unreadable frame) gives a low-confidence report that says why, not an error.
//!
//! No database here: the app passes the catalog ([`ShelfCatalog`]) and reference embeddings.

mod annotate;
mod card;
mod catalog;
mod detect;
pub mod eval;
mod input;
mod planogram;
mod quality;
mod recognise;
mod report;
mod scan;
mod shelves;
pub mod structure;

use std::path::PathBuf;

pub use annotate::{annotate, write_annotated};
pub use catalog::{CatalogItem, ShelfCatalog};
pub use detect::{iou, Detection, DetectionClass, Letterbox, ShelfDetector, DEFAULT_THRESHOLD};
pub use input::{decode_image, encode_jpeg, frame_to_bgr, is_video, load as load_input, load_video, sha256_hex, InputFrame};
pub use planogram::{ExpectedFacings, Misplaced, Planogram, PlanogramDiff, PlanogramRow, Shortfall, Unexpected};
pub use quality::{assess as assess_quality, ImageQuality, BLURRY_BELOW, DARK_BELOW};
pub use recognise::{LookMatch, ProductEmbedder, ProductGallery};
pub use report::*;
pub use shelves::{keep_on_shelves, OnShelves, ShelfRow};
pub use scan::{row_location, ScanOptions, ScanRequest, ShelfScan, ShelfScanner};

#[derive(Debug, thiserror::Error)]
pub enum ShelfError {
    #[error(transparent)]
    Infer(#[from] vitrine_infer::InferError),
    #[error(transparent)]
    Vision(#[from] vitrine_vision::VisionError),
    #[error("OpenCV: {0}")]
    OpenCv(#[from] opencv::Error),
    #[error("model {model} cannot be used for shelf scans: {reason}")]
    WrongModel { model: String, reason: String },
    #[error("{}: {reason}", path.display())]
    Input { path: PathBuf, reason: String },
    #[error("planogram {}: {reason}", path.display())]
    Planogram { path: PathBuf, reason: String },
    #[error("{}: {reason}", path.display())]
    Output { path: PathBuf, reason: String },
    #[error("label reading failed: {0}")]
    Label(String),
    #[error("{}: {reason}", path.display())]
    Dataset { path: PathBuf, reason: String },
}

#[cfg(test)]
pub(crate) mod testutil {
    use std::path::{Path, PathBuf};

    use opencv::core::{Mat, Size};
    use opencv::prelude::*;
    use serde::Deserialize;
    use vitrine_infer::{Registry, Runtime, RuntimeOptions};

    use crate::detect::DetectionClass;

    pub fn repo_root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
    }

    pub fn runtime() -> Runtime {
        Runtime::init(&RuntimeOptions { intra_threads: 2, ..Default::default() }).expect("ONNX Runtime (run scripts/setup.sh)")
    }

    pub fn registry() -> Registry {
        Registry::load(&runtime(), &repo_root().join("models"))
    }

    pub fn fixtures() -> PathBuf {
        repo_root().join("models/shelf_synth/fixtures")
    }

    #[derive(Debug, Clone, Deserialize)]
    pub struct Annotated {
        pub sku: String,
        pub r#box: [f32; 4],
        #[serde(default)]
        pub visible: Option<f32>,
    }

    /// A synthetic shelf's annotation (models/shelf_synth's JSON).
    #[derive(Debug, Clone, Deserialize)]
    pub struct Truth {
        pub products: Vec<Annotated>,
        pub gaps: Vec<Annotated>,
        pub labels: Vec<Annotated>,
    }

    impl Truth {
        fn visible(list: &[Annotated]) -> impl Iterator<Item = &Annotated> {
            list.iter().filter(|o| o.visible.unwrap_or(1.0) >= 0.5)
        }
        pub fn boxes(&self, class: DetectionClass) -> Vec<[f32; 4]> {
            let list = match class {
                DetectionClass::Product => &self.products,
                DetectionClass::Gap => &self.gaps,
                DetectionClass::ShelfLabel => &self.labels,
            };
            Self::visible(list).map(|o| o.r#box).collect()
        }
        /// (sku, box) of every visible product.
        pub fn products(&self) -> Vec<(String, [f32; 4])> {
            Self::visible(&self.products).map(|o| (o.sku.clone(), o.r#box)).collect()
        }
    }

    pub fn fixture_shelves() -> Vec<(Mat, Truth)> {
        (0..3)
            .map(|i| {
                let dir = fixtures().join("shelves");
                let image = opencv::imgcodecs::imread(&dir.join(format!("{i:06}.jpg")), opencv::imgcodecs::IMREAD_COLOR).unwrap();
                let truth = serde_json::from_str(&std::fs::read_to_string(dir.join(format!("{i:06}.json"))).unwrap()).unwrap();
                (image, truth)
            })
            .collect()
    }

    pub fn scaled(image: &Mat, scale: f64) -> Mat {
        if scale == 1.0 {
            return image.clone();
        }
        let mut out = Mat::default();
        let size = Size::new((image.cols() as f64 * scale).round() as i32, (image.rows() as f64 * scale).round() as i32);
        opencv::imgproc::resize(image, &mut out, size, 0.0, 0.0, opencv::imgproc::INTER_LINEAR).unwrap();
        out
    }
}

//! What a scan found ([`ShelfReport`], serde/JSON) and its human table.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::detect::Detection;
use crate::planogram::PlanogramDiff;
use crate::quality::ImageQuality;
use crate::recognise::LookMatch;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum QualityFlag {
    Blurry,
    Dark,
    /// No row of products standing on a shelf edge, and no line of shelf-edge labels.
    NoShelfFound,
}

impl QualityFlag {
    pub fn explain(self) -> &'static str {
        match self {
            Self::Blurry => "too blurred to read (hold the camera still, or move closer)",
            Self::Dark => "too dark (more light, or no lens cover)",
            Self::NoShelfFound => "no shelf in view: point the camera at a shelf, its edge across the picture",
        }
    }
}

/// How a slot's SKU was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Identification {
    /// The label's barcode matched a catalog variant.
    Barcode,
    /// The label's printed name (and price) matched a catalog product.
    LabelText,
    /// No readable label: the products' look named it.
    Look,
    Unknown,
}

/// What the look check says about one product on a slot whose SKU the label gave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "verdict")]
pub enum LookVerdict {
    /// Looks like the slot's SKU (or no clearly better match).
    Confirmed,
    /// Looks clearly more like another catalog SKU: probably put back in the wrong place.
    Misplaced { looks_like: String },
    /// No reference photo of the slot's SKU, or no embedding model: not checked.
    Unchecked,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelSeen {
    pub bbox: [f32; 4],
    pub score: f32,
    pub barcode: Option<String>,
    pub price_cents: Option<i64>,
    pub text: Vec<String>,
    /// False when the label was too small or blurred in the picture to try reading it.
    #[serde(default = "legible_by_default")]
    pub legible: bool,
}

fn legible_by_default() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductSeen {
    pub bbox: [f32; 4],
    pub score: f32,
    /// The closest catalog looks, best first (empty without a gallery).
    pub look: Vec<LookMatch>,
    #[serde(flatten)]
    pub verdict: LookVerdict,
    /// The SKU this facing is counted under, if any.
    pub sku: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlotReport {
    pub label: Option<LabelSeen>,
    pub sku: Option<String>,
    pub name: Option<String>,
    pub identified_by: Identification,
    /// Horizontal extent in frame pixels.
    pub span: [f32; 2],
    /// Products standing in the slot that count for its SKU.
    pub facings: u32,
    pub products: Vec<ProductSeen>,
    /// Gap boxes the detector found in the slot.
    pub gaps: Vec<[f32; 4]>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GapReport {
    /// Index into [`ShelfReport::frames`].
    pub frame: usize,
    pub row: usize,
    pub location: Option<String>,
    pub bbox: [f32; 4],
    pub width_px: f32,
    /// Only when the store's label width is known (`label_width_cm`), scaled by the row's labels.
    pub width_cm: Option<f32>,
    /// The SKU whose slot it is in, when the slot's label named one.
    pub sku: Option<String>,
    /// True when the whole slot is empty (nothing above its label).
    pub slot_empty: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowReport {
    /// 1 = the top row in the photo.
    pub row: usize,
    pub location: Option<String>,
    /// False for products with no shelf-edge label line below them.
    pub labelled: bool,
    pub slots: Vec<SlotReport>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct StageTimings {
    pub decode_ms: f64,
    pub quality_ms: f64,
    pub letterbox_ms: f64,
    pub detector_ms: f64,
    pub recognition_ms: f64,
    pub labels_ms: f64,
    pub structure_ms: f64,
    pub total_ms: f64,
}

impl StageTimings {
    pub fn add(&mut self, other: &StageTimings) {
        self.decode_ms += other.decode_ms;
        self.quality_ms += other.quality_ms;
        self.letterbox_ms += other.letterbox_ms;
        self.detector_ms += other.detector_ms;
        self.recognition_ms += other.recognition_ms;
        self.labels_ms += other.labels_ms;
        self.structure_ms += other.structure_ms;
        self.total_ms += other.total_ms;
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameReport {
    /// File name, or `video#frame`.
    pub source: String,
    /// Why this frame was not used (unreadable photo or video frame).
    pub skipped: Option<String>,
    pub width: u32,
    pub height: u32,
    pub quality: Option<ImageQuality>,
    pub flags: Vec<QualityFlag>,
    pub rows: Vec<RowReport>,
    /// Every detection kept (score >= threshold), for overlays.
    pub detections: Vec<Detection>,
    pub timings: StageTimings,
}

/// Facings of one SKU on one row, merged over the scan's frames.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Facing {
    pub row: usize,
    pub location: Option<String>,
    pub sku: String,
    pub name: Option<String>,
    pub facings: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceMismatch {
    pub row: usize,
    pub location: Option<String>,
    pub sku: String,
    pub label_cents: i64,
    pub catalog_cents: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MisplacedProduct {
    pub frame: usize,
    pub row: usize,
    pub location: Option<String>,
    /// The slot's SKU (from its label).
    pub slot_sku: String,
    pub looks_like: String,
    pub bbox: [f32; 4],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TaskKind {
    Restock,
    FixPriceLabel,
    MoveProduct,
    CheckUnexpected,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub kind: TaskKind,
    pub sku: String,
    pub location: Option<String>,
    /// The instruction as the clerk reads it.
    pub text: String,
}

/// A count the scan would write on confirmation: `facings` units of `sku` seen at `location`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountLine {
    pub location: String,
    pub sku: String,
    pub facings: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShelfReport {
    /// Same input pixels and location give the same id (so a re-confirm writes nothing new).
    pub scan_id: String,
    pub input: String,
    pub location: Option<String>,
    pub confidence: Confidence,
    /// False when no frame showed a shelf (products in a row on a shelf edge, or a line of
    /// shelf-edge labels); then nothing is counted.
    #[serde(default)]
    pub is_shelf: bool,
    /// Product boxes on the shelves, over all frames.
    #[serde(default)]
    pub products_detected: usize,
    /// Why the confidence is not high, skipped frames, and anything else the clerk should know.
    pub notes: Vec<String>,
    pub frames: Vec<FrameReport>,
    pub facings: Vec<Facing>,
    pub gaps: Vec<GapReport>,
    pub price_mismatches: Vec<PriceMismatch>,
    pub misplaced: Vec<MisplacedProduct>,
    pub planogram: Option<PlanogramDiff>,
    pub tasks: Vec<Task>,
    /// What confirming writes to the ledger (rows with a location and a catalog SKU only).
    pub counts: Vec<CountLine>,
    /// Summed over frames.
    pub timings: StageTimings,
}

impl ShelfReport {
    /// The report as a plain-text table for a terminal.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "shelf scan {} of {} ({} frame(s)), confidence {:?}", &self.scan_id[..12.min(self.scan_id.len())], self.input, self.frames.len(), self.confidence);
        for note in &self.notes {
            let _ = writeln!(out, "  note: {note}");
        }
        let _ = writeln!(out, "\n{:<4} {:<12} {:<22} {:<28} {:>7}", "row", "location", "sku", "name", "facings");
        for f in &self.facings {
            let _ = writeln!(
                out,
                "{:<4} {:<12} {:<22} {:<28} {:>7}",
                f.row,
                f.location.as_deref().unwrap_or("-"),
                f.sku,
                truncate(f.name.as_deref().unwrap_or("-"), 28),
                f.facings
            );
        }
        if self.facings.is_empty() {
            let _ = writeln!(out, "(no products counted)");
        }
        if !self.gaps.is_empty() {
            let _ = writeln!(out, "\ngaps:");
            for g in &self.gaps {
                let cm = g.width_cm.map(|cm| format!(" ({cm:.0} cm)")).unwrap_or_default();
                let what = if g.slot_empty { "empty slot" } else { "gap" };
                let _ = writeln!(out, "  row {} {what} {:.0} px{cm}{}", g.row, g.width_px, g.sku.as_ref().map(|s| format!(" in {s}'s slot")).unwrap_or_default());
            }
        }
        for m in &self.price_mismatches {
            let _ = writeln!(out, "price label of {} on row {} says {}, catalog says {}", m.sku, m.row, cents(m.label_cents), cents(m.catalog_cents));
        }
        if let Some(diff) = &self.planogram {
            let _ = writeln!(
                out,
                "\nplanogram: {} missing, {} short, {} misplaced, {} unexpected",
                diff.missing.len(),
                diff.short.len(),
                diff.misplaced.len(),
                diff.unexpected.len()
            );
        }
        let _ = writeln!(out, "\ntasks:");
        for t in &self.tasks {
            let _ = writeln!(out, "  - {}", t.text);
        }
        if self.tasks.is_empty() {
            let _ = writeln!(out, "  (none)");
        }
        let t = &self.timings;
        let _ = writeln!(
            out,
            "\ntimings (ms): decode {:.1}, letterbox {:.1}, detector {:.1}, recognition {:.1}, labels {:.1}, structure {:.1}, total {:.1}",
            t.decode_ms, t.letterbox_ms, t.detector_ms, t.recognition_ms, t.labels_ms, t.structure_ms, t.total_ms
        );
        out
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        s.chars().take(n - 1).chain(std::iter::once('…')).collect()
    }
}

pub(crate) fn cents(c: i64) -> String {
    format!("{}.{:02}", c / 100, c % 100)
}

impl ShelfReport {
    /// The ledger event id of one count of this scan: derived from the scan id, location and
    /// SKU (a UUID of version 8, "custom"), so confirming the same scan again records nothing.
    pub fn count_event_id(&self, line: &CountLine) -> String {
        use sha2::{Digest, Sha256};
        let digest = Sha256::new().chain_update(b"vitrine-shelf-count\0").chain_update(self.scan_id.as_bytes()).chain_update([0]).chain_update(line.location.as_bytes()).chain_update([0]).chain_update(line.sku.as_bytes()).finalize();
        let mut b = [0u8; 16];
        b.copy_from_slice(&digest[..16]);
        b[6] = (b[6] & 0x0f) | 0x80;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h = hex::encode(b);
        format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
    }
}

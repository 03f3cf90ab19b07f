//! Shelf scans behind the role check (clerk or manager: the clerk's stock permission). A scan
//! is kept in memory, frames included, until the clerk confirms it (its counts go to the
//! ledger as `counted` observations, never moving book stock) or discards it.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use std::time::Instant;

use serde::Serialize;
use tracing::{info, warn};
use vitrine_auth::{Permission, SessionSlot};
use vitrine_frame::Frame;
use vitrine_shelf::{
    CatalogItem, Detection, InputFrame, Planogram, ProductEmbedder, ProductGallery, ScanRequest, ShelfCatalog, ShelfDetector, ShelfReport, ShelfScan,
    ShelfScanner,
};
use vitrine_store::{EventKind, NewEvent, NewReferencePhoto};

use crate::{App, AppError};

/// Registry names of the shelf models.
const DETECTOR: &str = "shelf_detector";
const EMBEDDER: &str = "product_embedding";
/// People in view are told apart from products with the mirror's segmenter.
const PEOPLE: &str = "selfie_segmentation";
/// Unconfirmed scans kept (with their frames); the oldest goes first.
const MAX_PENDING: usize = 4;
/// Frames sampled from a video sweep.
const VIDEO_FRAMES: usize = 8;

/// What to scan: a camera frame, or a photo / folder of photos / video on disk.
pub enum ShelfInput {
    Frame(Frame),
    Path(PathBuf),
}

/// What a confirmation wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfirmedScan {
    pub scan_id: String,
    pub actor: String,
    /// Count observations recorded now.
    pub recorded: usize,
    /// Counts already in the ledger from an earlier confirmation of the same scan.
    pub already_recorded: usize,
    /// Rows that had no location, so nothing could be written for them.
    pub without_location: usize,
}

/// Reference photos added for a SKU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddedPhotos {
    pub sku: String,
    pub added: usize,
    pub already_there: usize,
}

#[derive(Default)]
pub(crate) struct ShelfState {
    scanner: Option<ShelfScanner>,
    pending: VecDeque<ShelfScan>,
}

impl App {
    fn shelf_state(&self) -> std::sync::MutexGuard<'_, ShelfState> {
        self.shelf.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The scanner, built on first use from the registry's shared models; the OCR models are
    /// loaded here once. Without the embedding or OCR models the scan still runs (and says so).
    fn with_scanner<T>(&self, job: impl FnOnce(&mut ShelfScanner, &mut VecDeque<ShelfScan>) -> Result<T, AppError>) -> Result<T, AppError> {
        let mut state = self.shelf_state();
        let state = &mut *state;
        if state.scanner.is_none() {
            let detector = ShelfDetector::new(self.registry(), DETECTOR).map_err(shelf_error)?;
            let embedder = ProductEmbedder::new(self.registry(), EMBEDDER).map_err(|e| warn!(error = %e, "shelf scans without product looks")).ok();
            let labels = match self.runtime() {
                Ok(rt) => vitrine_labels::LabelReader::load(rt, &self.config.inference.models_dir).map_err(|e| warn!(error = %e, "shelf scans without label reading")).ok(),
                Err(_) => None,
            };
            let mut scanner = ShelfScanner::new(detector, embedder, labels);
            match vitrine_vision::PersonSegmenter::new(self.registry(), PEOPLE) {
                Ok(people) => scanner = scanner.with_people(people),
                Err(e) => warn!(error = %e, "shelf scans cannot tell people from products"),
            }
            state.scanner = Some(scanner);
        }
        job(state.scanner.as_mut().expect("built above"), &mut state.pending)
    }

    /// Detections on one frame, for the clerk screen's live overlay (no role check: nothing
    /// is read from or written to the store).
    pub fn detect_shelf(&self, frame: &Frame) -> Result<Vec<Detection>, AppError> {
        self.with_scanner(|scanner, _| scanner.detect(frame).map_err(shelf_error))
    }

    /// Scans a shelf against the catalog and its reference photos; the report is kept until
    /// confirmed or discarded.
    pub fn scan_shelf(&self, slot: &SessionSlot, input: ShelfInput, location: Option<&str>, planogram: Option<&Path>) -> Result<ShelfReport, AppError> {
        slot.authorize(Permission::StockLookup, vitrine_auth::now_ms())?;
        let planogram = planogram.map(Planogram::load).transpose().map_err(shelf_error)?;
        let start = Instant::now();
        let (description, frames) = match input {
            ShelfInput::Frame(frame) => {
                let image = vitrine_shelf::frame_to_bgr(&frame).map_err(|e| e.to_string());
                ("camera".to_owned(), vec![InputFrame { source: format!("camera#{}", frame.seq), image }])
            }
            ShelfInput::Path(path) => (path.display().to_string(), vitrine_shelf::load_input(&path, VIDEO_FRAMES).map_err(shelf_error)?),
        };
        let decode_ms = start.elapsed().as_secs_f64() * 1000.0;
        let catalog = self.with_store(|store| Ok(shelf_catalog(store)?))?;
        self.with_scanner(|scanner, pending| {
            let gallery = match scanner.embedder() {
                Some(embedder) => {
                    let models = embedder.comparable_models();
                    let references = self.with_store(|store| {
                        let mut references = Vec::new();
                        for model in models {
                            references.extend(store.reference_embeddings(model)?);
                        }
                        Ok(references)
                    })?;
                    ProductGallery::from_references(references)
                }
                None => ProductGallery::default(),
            };
            let request = ScanRequest { input: description, frames, decode_ms, location, planogram: planogram.as_ref(), catalog: &catalog, gallery: &gallery };
            let scan = scanner.scan(request).map_err(shelf_error)?;
            let report = scan.report.clone();
            pending.retain(|p| p.report.scan_id != report.scan_id);
            pending.push_back(scan);
            while pending.len() > MAX_PENDING {
                pending.pop_front();
            }
            info!(scan = %report.scan_id, confidence = ?report.confidence, counts = report.counts.len(), "shelf scanned");
            Ok(report)
        })
    }

    /// Writes the scan's counts to the ledger as `counted` observations at each row's location,
    /// signed by the clerk. Event ids come from the scan, so confirming twice records nothing
    /// new; the scan stays available (for the annotated image) until discarded.
    pub fn confirm_shelf_scan(&self, slot: &SessionSlot, scan_id: &str) -> Result<ConfirmedScan, AppError> {
        let session = slot.authorize(Permission::StockLookup, vitrine_auth::now_ms())?;
        let report = self.pending_report(scan_id)?;
        let without_location = report.facings.iter().filter(|f| f.location.is_none()).count();
        let outcomes = self.with_store(|store| {
            let origin = store.origin(&session.staff);
            let events: Vec<NewEvent> = report
                .counts
                .iter()
                .map(|line| {
                    let mut event = NewEvent::now(&origin, EventKind::Counted, &line.sku, &line.location, i64::from(line.facings));
                    event.id = report.count_event_id(line);
                    event.reference = Some(format!("shelf-scan:{}", report.scan_id));
                    event
                })
                .collect();
            Ok(store.record_events(&events)?)
        })?;
        let recorded = outcomes.iter().filter(|o| **o == vitrine_store::EventOutcome::Inserted).count();
        info!(scan = %scan_id, recorded, staff = %session.staff, "shelf scan confirmed");
        Ok(ConfirmedScan { scan_id: scan_id.to_owned(), actor: session.staff, recorded, already_recorded: outcomes.len() - recorded, without_location })
    }

    /// Forgets a pending scan and its frames; `false` if there was none by that id.
    pub fn discard_shelf_scan(&self, slot: &SessionSlot, scan_id: &str) -> Result<bool, AppError> {
        slot.authorize(Permission::StockLookup, vitrine_auth::now_ms())?;
        let mut state = self.shelf_state();
        let before = state.pending.len();
        state.pending.retain(|p| p.report.scan_id != scan_id);
        Ok(state.pending.len() < before)
    }

    /// The annotated image of frame `frame` of a pending scan, as JPEG bytes.
    pub fn shelf_scan_jpeg(&self, slot: &SessionSlot, scan_id: &str, frame: usize) -> Result<Vec<u8>, AppError> {
        slot.authorize(Permission::StockLookup, vitrine_auth::now_ms())?;
        let state = self.shelf_state();
        let scan = state.pending.iter().find(|p| p.report.scan_id == scan_id).ok_or_else(|| unknown_scan(scan_id))?;
        let image = scan.images.get(frame).and_then(Option::as_ref).ok_or_else(|| AppError::Invalid(format!("scan {scan_id} has no readable frame {frame}")))?;
        let annotated = vitrine_shelf::annotate(image, &scan.report.frames[frame]).map_err(shelf_error)?;
        vitrine_shelf::encode_jpeg(&annotated).map_err(shelf_error)
    }

    /// Saves the annotated frames of a pending scan: `path` itself for a one-frame scan, else
    /// `path` with `-<frame>` before the extension per readable frame. Returns the files.
    pub fn save_shelf_annotation(&self, slot: &SessionSlot, scan_id: &str, path: &Path) -> Result<Vec<PathBuf>, AppError> {
        slot.authorize(Permission::StockLookup, vitrine_auth::now_ms())?;
        let state = self.shelf_state();
        let scan = state.pending.iter().find(|p| p.report.scan_id == scan_id).ok_or_else(|| unknown_scan(scan_id))?;
        let readable: Vec<usize> = (0..scan.images.len()).filter(|&i| scan.images[i].is_some()).collect();
        let mut written = Vec::new();
        for &i in &readable {
            let out = if scan.images.len() == 1 {
                path.to_owned()
            } else {
                let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
                let ext = path.extension().map(|e| e.to_string_lossy().into_owned()).unwrap_or_else(|| "jpg".into());
                path.with_file_name(format!("{stem}-{i}.{ext}"))
            };
            let annotated = vitrine_shelf::annotate(scan.images[i].as_ref().expect("readable"), &scan.report.frames[i]).map_err(shelf_error)?;
            vitrine_shelf::write_annotated(&out, &annotated).map_err(shelf_error)?;
            written.push(out);
        }
        Ok(written)
    }

    fn pending_report(&self, scan_id: &str) -> Result<ShelfReport, AppError> {
        let state = self.shelf_state();
        state.pending.iter().find(|p| p.report.scan_id == scan_id).map(|p| p.report.clone()).ok_or_else(|| unknown_scan(scan_id))
    }

    /// Adds catalog reference photos of a SKU (the embedding of each; the photo is not kept).
    /// A headless catalog job like `vitrine staff`: every photo is read and embedded first, so
    /// an unknown SKU or an unreadable photo writes nothing.
    pub fn add_reference_photos(&self, sku: &str, photos: &[PathBuf]) -> Result<AddedPhotos, AppError> {
        if photos.is_empty() {
            return Err(AppError::Invalid("name at least one photo".into()));
        }
        self.with_store(|store| {
            if !store.products()?.iter().flat_map(|p| &p.variants).any(|v| v.sku == sku) {
                return Err(AppError::Invalid(format!("unknown SKU {sku:?}: add it to the catalog first")));
            }
            Ok(())
        })?;
        let now = vitrine_auth::now_ms();
        let new = self.with_scanner(|scanner, _| {
            let embedder = scanner.embedder().ok_or_else(|| AppError::Invalid(format!("the {EMBEDDER} model is not available (see `vitrine models`)")))?;
            let mut new = Vec::with_capacity(photos.len());
            for path in photos {
                let bytes = std::fs::read(path).map_err(|e| AppError::Invalid(format!("cannot read {}: {e}", path.display())))?;
                let image = vitrine_shelf::decode_image(&bytes).ok_or_else(|| AppError::Invalid(format!("{} is not a readable image", path.display())))?;
                let embedding = embedder.embed_image(&image).map_err(shelf_error)?;
                new.push(NewReferencePhoto {
                    sku: sku.to_owned(),
                    file_name: path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned()),
                    photo_sha256: vitrine_shelf::sha256_hex(&bytes),
                    model_sha256: embedder.model_sha256().to_owned(),
                    embedding,
                    added_at_ms: now,
                });
            }
            Ok(new)
        })?;
        let added = self.with_store(|store| Ok(store.add_reference_photos(&new)?))?;
        Ok(AddedPhotos { sku: sku.to_owned(), added, already_there: new.len() - added })
    }

    /// Reference photos of one SKU or of all.
    pub fn reference_photos(&self, sku: Option<&str>) -> Result<Vec<vitrine_store::ReferencePhoto>, AppError> {
        self.with_store(|store| Ok(store.reference_photos(sku)?))
    }
}

fn unknown_scan(scan_id: &str) -> AppError {
    AppError::Invalid(format!("no pending shelf scan {scan_id:?} (discarded, replaced by newer scans, or never made)"))
}

fn shelf_error(e: vitrine_shelf::ShelfError) -> AppError {
    AppError::Invalid(e.to_string())
}

/// The catalog as the scan sees it: one item per variant, named by product and variant.
fn shelf_catalog(store: &vitrine_store::Store) -> vitrine_store::Result<ShelfCatalog> {
    let items = store
        .products()?
        .into_iter()
        .flat_map(|p| {
            p.variants.into_iter().map(move |v| {
                let extra: Vec<&str> = [v.size.as_deref(), v.colour.as_deref()].into_iter().flatten().collect();
                let name = if extra.is_empty() { p.name.clone() } else { format!("{} {}", p.name, extra.join(" ")) };
                CatalogItem { sku: v.sku, name, barcode: v.barcode, price_cents: v.price_cents }
            })
        })
        .collect();
    Ok(ShelfCatalog::new(items))
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use vitrine_store::ReportFilter;

    use super::*;

    fn repo() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
    }

    /// The demo store (seeded) on a real SQLite file, the real models.
    fn app(dir: &Path) -> App {
        let mut config = vitrine_config::Config::default();
        config.store.database = dir.join("kiosk.db");
        config.inference.models_dir = repo().join("models");
        config.inference.providers = vec!["cpu".into()];
        App::start(config)
    }

    fn demo_shelf() -> PathBuf {
        repo().join("assets/demo/shelf_demo.jpg")
    }

    fn counted(app: &App) -> Vec<(String, i64)> {
        app.with_store(|store| Ok(store.count_discrepancies(&ReportFilter { location: Some("A5/B1/S3".into()), ..Default::default() }, 0)?))
            .unwrap()
            .into_iter()
            .map(|c| (c.sku, c.counted))
            .collect()
    }

    fn book(app: &App) -> i64 {
        app.with_store(|store| Ok(store.stock_level("GR-OATS-1KG", "A5/B1/S3")?)).unwrap()
    }

    /// A clerk scans the demo shelf, confirms: one `counted` per SKU at the shelf, signed by
    /// the clerk, book stock untouched. Confirming again, or scanning the same photo again and
    /// confirming, records nothing; a second, different scan of the shelf replaces the counts
    /// (the latest observation wins) instead of adding to them.
    #[test]
    fn confirmed_scans_write_counts_once_and_never_move_book_stock() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path());
        let slot = app.session_slot();
        assert!(app.scan_shelf(&slot, ShelfInput::Path(demo_shelf()), Some("A5/B1/S3"), None).is_err(), "no session, no scan");
        app.sign_in(&slot, "Demo Clerk", "1357").unwrap();
        let stock_before = book(&app);

        let report = app.scan_shelf(&slot, ShelfInput::Path(demo_shelf()), Some("A5/B1/S3"), None).unwrap();
        let oats = report.counts.iter().find(|c| c.sku == "GR-OATS-1KG").expect("oats counted").facings;
        // The demo shelf holds 7 oats facings (4 on its first shelf, none on the second, 3 on
        // the third), 7 honey and 5 espresso.
        let per_sku: Vec<(&str, u32)> = report.counts.iter().map(|c| (c.sku.as_str(), c.facings)).collect();
        assert_eq!(per_sku, [("GR-ESPR-250", 5), ("GR-HONEY-350", 7), ("GR-OATS-1KG", 7)], "{:#?}", report.counts);
        let first = app.confirm_shelf_scan(&slot, &report.scan_id).unwrap();
        assert_eq!((first.recorded, first.already_recorded, first.actor.as_str()), (report.counts.len(), 0, "Demo Clerk"));
        let after_first = counted(&app);
        assert!(after_first.contains(&("GR-OATS-1KG".into(), i64::from(oats))), "{after_first:?}");
        assert_eq!(book(&app), stock_before, "a count never moves book stock");

        let again = app.confirm_shelf_scan(&slot, &report.scan_id).unwrap();
        assert_eq!((again.recorded, again.already_recorded), (0, report.counts.len()));
        let rescan = app.scan_shelf(&slot, ShelfInput::Path(demo_shelf()), Some("A5/B1/S3"), None).unwrap();
        assert_eq!(rescan.scan_id, report.scan_id, "same photo, same scan");
        assert_eq!(app.confirm_shelf_scan(&slot, &rescan.scan_id).unwrap().recorded, 0);

        // A new photo of the same shelf (one pixel differs): new counts, which replace the old.
        let mut image = opencv::imgcodecs::imread(&demo_shelf(), opencv::imgcodecs::IMREAD_COLOR).unwrap();
        use opencv::prelude::*;
        *image.at_2d_mut::<opencv::core::Vec3b>(0, 0).unwrap() = opencv::core::Vec3b::from([1, 2, 3]);
        let frame = vitrine_capture::frame_from_bgr_mat(&image).unwrap();
        let second = app.scan_shelf(&slot, ShelfInput::Frame(frame), Some("A5/B1/S3"), None).unwrap();
        assert_ne!(second.scan_id, report.scan_id);
        assert!(app.confirm_shelf_scan(&slot, &second.scan_id).unwrap().recorded > 0);
        let after_second = counted(&app);
        assert_eq!(after_second.len(), after_first.len(), "one latest count per SKU, not two");
        assert!(after_second.contains(&("GR-OATS-1KG".into(), i64::from(oats))), "not doubled: {after_second:?}");
        assert_eq!(book(&app), stock_before);

        assert!(app.discard_shelf_scan(&slot, &second.scan_id).unwrap());
        assert!(app.confirm_shelf_scan(&slot, &second.scan_id).is_err(), "a discarded scan cannot be confirmed");
        app.sign_out(&slot);
        assert!(app.confirm_shelf_scan(&slot, &report.scan_id).is_err(), "signed out, refused");
    }

    /// The kiosk runs the int8 copy of the product-embedding model; reference photos a store
    /// embedded with the float model before the switch still name products by look.
    #[test]
    fn references_from_the_float_model_still_count_after_the_switch_to_int8() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path());
        let slot = app.session_slot();
        app.sign_in(&slot, "Demo Clerk", "1357").unwrap();
        let by_look = |app: &App| {
            let report = app.scan_shelf(&slot, ShelfInput::Path(demo_shelf()), Some("A5/B1/S3"), None).unwrap();
            !report.notes.iter().any(|n| n.contains("not compared by look"))
        };
        assert!(!by_look(&app), "no reference photos yet");

        let manifest = vitrine_infer::Manifest::load(&repo().join("models/product_embedding/manifest.toml")).unwrap();
        let float_model = manifest.same_outputs_as.clone().expect("the kiosk's embedding model is a quantized copy");
        assert_ne!(float_model, manifest.sha256);
        let photo = dir.path().join("oats.jpg");
        let shelf = opencv::imgcodecs::imread(&demo_shelf(), opencv::imgcodecs::IMREAD_COLOR).unwrap();
        use opencv::prelude::MatTraitConst;
        let crop = opencv::core::Mat::roi(&shelf, opencv::core::Rect::new(40, 74, 197, 286)).unwrap().try_clone().unwrap();
        opencv::imgcodecs::imwrite(&photo, &crop, &opencv::core::Vector::new()).unwrap();
        // The photo's embedding (made in another kiosk's store), stored here as the float model
        // had stored it, and only that.
        let other = tempfile::tempdir().unwrap();
        let other = self::app(other.path());
        other.add_reference_photos("GR-OATS-1KG", std::slice::from_ref(&photo)).unwrap();
        let (_, embedding) = other.with_store(|store| Ok(store.reference_embeddings(&manifest.sha256)?)).unwrap().remove(0);
        app.with_store(|store| {
            store.add_reference_photos(&[NewReferencePhoto {
                sku: "GR-OATS-1KG".into(),
                file_name: "oats-float.jpg".into(),
                photo_sha256: "0".repeat(64),
                model_sha256: float_model.clone(),
                embedding,
                added_at_ms: 0,
            }])?;
            Ok(())
        })
        .unwrap();
        assert_eq!(app.reference_photos(None).unwrap().len(), 1);
        assert!(by_look(&app), "the float model's reference was not used");
    }

    /// Reference photos: an unknown SKU or an unreadable photo writes nothing; the same photo
    /// twice is added once.
    #[test]
    fn reference_photos_are_all_or_nothing_and_added_once() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path());
        let photo = dir.path().join("oats.jpg");
        let shelf = opencv::imgcodecs::imread(&demo_shelf(), opencv::imgcodecs::IMREAD_COLOR).unwrap();
        use opencv::prelude::MatTraitConst;
        let crop = opencv::core::Mat::roi(&shelf, opencv::core::Rect::new(40, 74, 197, 286)).unwrap().try_clone().unwrap();
        opencv::imgcodecs::imwrite(&photo, &crop, &opencv::core::Vector::new()).unwrap();
        let broken = dir.path().join("broken.jpg");
        std::fs::write(&broken, b"\xff\xd8\xff\xe0 not really a jpeg").unwrap();

        let unknown = app.add_reference_photos("NO-SUCH-SKU", std::slice::from_ref(&photo)).unwrap_err();
        assert!(unknown.to_string().contains("NO-SUCH-SKU"), "{unknown}");
        let bad = app.add_reference_photos("GR-OATS-1KG", &[photo.clone(), broken.clone()]).unwrap_err();
        assert!(bad.to_string().contains("broken.jpg"), "{bad}");
        assert!(app.reference_photos(Some("GR-OATS-1KG")).unwrap().is_empty(), "nothing half-written");

        let added = app.add_reference_photos("GR-OATS-1KG", &[photo.clone(), photo.clone()]).unwrap();
        assert_eq!((added.added, added.already_there), (1, 1));
        assert_eq!(app.add_reference_photos("GR-OATS-1KG", std::slice::from_ref(&photo)).unwrap().added, 0);
        let listed = app.reference_photos(None).unwrap();
        assert_eq!((listed.len(), listed[0].file_name.as_str(), listed[0].dimensions), (1, "oats.jpg", 256));
    }
}

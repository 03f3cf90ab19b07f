//! Try-on in the kiosk: garments kept with catalog variants, the one the shopper picked shown
//! in the mirror, and the capture (plain composite and GAN still, as JPEG bytes in memory —
//! never written to disk).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use opencv::core::{self, Mat, Vector};
use opencv::imgcodecs;
use opencv::prelude::*;
use serde::Serialize;
use tracing::{info, warn};
use vitrine_config::Config;
use vitrine_garment::{demo, Garment, GarmentKind};
use vitrine_store::{GarmentRecord, NewGarment, Store};
use vitrine_tryon::{Outcome, TryOn, TryOnPrompt, TryOnTimings, Worn};
use vitrine_vision::{frame_to_bgr_mat, GanResolution, PersonSegmenter, PoseEstimator, TryOnGan};

use crate::{App, AppError};

/// The pose model try-on uses.
pub const POSE_MODEL: &str = "pose_landmark_lite";
/// The try-on GAN; without it try-on shows the plain composite.
pub const GAN_MODEL: &str = "tryon_gan";

/// The selected garment (its SKU and the garment in the variant's size) and the garments
/// already read from disk (by image hash).
#[derive(Default)]
pub(crate) struct TryOnState {
    selected: Option<(String, Worn)>,
    cache: HashMap<String, Arc<Garment>>,
    /// What this mirror session tried, oldest first: the suggestions' signal, forgotten when
    /// the mirror stops.
    tried: Vec<String>,
}

/// A product that can be tried on, with its variants and their live stock.
#[derive(Debug, Clone, Serialize)]
pub struct GarmentChoice {
    pub product_code: String,
    pub product_name: String,
    pub kind: String,
    pub variants: Vec<GarmentVariant>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GarmentVariant {
    pub sku: String,
    pub size: Option<String>,
    pub colour: Option<String>,
    pub price_cents: i64,
    /// Book stock over all locations.
    pub stock: i64,
}

/// The capture: the plain composite and, with the GAN, its refinement (JPEG bytes).
#[derive(Debug, Clone)]
pub struct Look {
    pub plain_jpeg: Vec<u8>,
    pub refined_jpeg: Option<Vec<u8>>,
    /// Why no garment is on the still, when none is.
    pub prompt: Option<TryOnPrompt>,
    pub plain_ms: f64,
    pub refined_ms: Option<f64>,
}

/// Where garment images live: `assets/garments` beside the database.
pub fn garment_assets_dir(config: &Config) -> PathBuf {
    config.store.database.parent().unwrap_or(Path::new(".")).join("assets/garments")
}

/// The demo apparel per colour: the product photo that dresses it (in `store.demo_packshots`)
/// and the colour of the garment drawn in code when that photo is absent or refused.
type DemoColour = (&'static str, Option<&'static str>, [u8; 3]);
const DEMO_GARMENTS: &[(&str, GarmentKind, &[DemoColour])] = &[
    (
        "VT-TEE-ORBIT",
        GarmentKind::Top,
        &[("Chalk", Some("solidus_ror_ringer.jpeg"), [225, 228, 230]), ("Ink", Some("solidus_dark_tee.png"), [70, 40, 30]), ("Moss", None, [60, 110, 80])],
    ),
    ("VT-HOOD-DRIFT", GarmentKind::Outerwear, &[("Coal", Some("solidus_hoodie_black_1.png"), [40, 40, 40]), ("Ember", None, [40, 70, 200])]),
    ("VT-DRS-LUMEN", GarmentKind::Dress, &[("Sage", None, [130, 165, 140]), ("Midnight", None, [80, 40, 35])]),
];

/// Where a garment drawn in code came from (earlier versions wrote "demo").
const DRAWN_SOURCES: [&str; 2] = ["demo drawing", "demo"];

/// Dresses the demo apparel: into a store without garments, each colour from its product photo
/// in `packshots` (cut out as `vitrine garments add` does) or else drawn; in a store that has
/// garments, only drawn demo garments whose photo has since appeared are replaced. Returns how
/// many variants got a garment.
pub(crate) fn seed_demo_garments(store: &mut Store, assets: &Path, packshots: &Path) -> Result<usize, String> {
    let existing: HashMap<String, String> = store.garments().map_err(|e| e.to_string())?.into_iter().map(|g| (g.sku, g.source)).collect();
    let fresh = existing.is_empty();
    let products = store.products().map_err(|e| e.to_string())?;
    let mut added = 0;
    for (code, kind, colours) in DEMO_GARMENTS {
        let Some(product) = products.iter().find(|p| p.code == *code) else { continue };
        for (colour, packshot, bgr) in *colours {
            let variants: Vec<_> = product
                .variants
                .iter()
                .filter(|v| v.colour.as_deref() == Some(*colour))
                .filter(|v| fresh || existing.get(&v.sku).is_some_and(|s| DRAWN_SOURCES.contains(&s.as_str())))
                .collect();
            if variants.is_empty() {
                continue;
            }
            let photo = packshot.and_then(|file| {
                let path = packshots.join(file);
                let bytes = std::fs::read(&path).ok()?;
                match Garment::from_photo(&bytes, *kind) {
                    Ok(garment) => Some((garment, format!("demo packshot {file}"))),
                    Err(e) => {
                        warn!(photo = %path.display(), error = %e, "demo packshot refused; the garment stays drawn");
                        None
                    }
                }
            });
            let (garment, source) = match photo {
                Some(found) => found,
                None if fresh => (demo::draw(*kind, *bgr).map_err(|e| e.to_string())?, DRAWN_SOURCES[0].to_string()),
                None => continue,
            };
            let png = garment.to_png().map_err(|e| e.to_string())?;
            let landmarks = garment.landmarks_json();
            for variant in variants {
                let new = NewGarment {
                    sku: &variant.sku,
                    kind: kind.as_str(),
                    png: &png,
                    width: garment.width() as u32,
                    height: garment.height() as u32,
                    landmarks: &landmarks,
                    source: &source,
                };
                store.add_garment(assets, &new).map_err(|e| e.to_string())?;
                added += 1;
            }
        }
    }
    Ok(added)
}

fn encode_jpeg(bgr: &Mat, quality: u8) -> Result<Vec<u8>, AppError> {
    let mut buf = Vector::<u8>::new();
    let params = Vector::from_slice(&[imgcodecs::IMWRITE_JPEG_QUALITY, quality as i32]);
    imgcodecs::imencode(".jpg", bgr, &mut buf, &params).map_err(cv)?;
    Ok(buf.to_vec())
}

fn cv(e: opencv::Error) -> AppError {
    AppError::Invalid(format!("OpenCV: {e}"))
}

impl App {
    pub fn garment_assets(&self) -> PathBuf {
        garment_assets_dir(&self.config)
    }

    /// Cuts a garment out of a product photo and stores it with the variant `sku`.
    pub fn add_garment(&self, photo: &[u8], source: &str, sku: &str, kind: GarmentKind) -> Result<GarmentRecord, AppError> {
        let assets = self.garment_assets();
        self.with_store(|store| {
            // The SKU first: a wrong SKU should not wait for image work, nor blame the photo.
            if store.garment(sku)?.is_none() && !store.products()?.iter().any(|p| p.variants.iter().any(|v| v.sku == sku)) {
                return Err(AppError::Invalid(format!("unknown variant SKU {sku:?}")));
            }
            let garment = Garment::from_photo(photo, kind).map_err(|e| AppError::Invalid(e.to_string()))?;
            let png = garment.to_png().map_err(|e| AppError::Invalid(e.to_string()))?;
            let landmarks = garment.landmarks_json();
            let new = NewGarment {
                sku,
                kind: kind.as_str(),
                png: &png,
                width: garment.width() as u32,
                height: garment.height() as u32,
                landmarks: &landmarks,
                source,
            };
            Ok(store.add_garment(&assets, &new)?)
        })
    }

    pub fn remove_garment(&self, sku: &str) -> Result<bool, AppError> {
        let assets = self.garment_assets();
        let removed = self.with_store(|store| Ok(store.remove_garment(&assets, sku)?))?;
        let mut state = self.tryon.lock().unwrap_or_else(|e| e.into_inner());
        if state.selected.as_ref().is_some_and(|(s, _)| s == sku) {
            state.selected = None;
            drop(state);
            self.push_garment(None);
        }
        Ok(removed)
    }

    /// The garments on offer, grouped by product, with each variant's live stock.
    pub fn garments(&self) -> Result<Vec<GarmentChoice>, AppError> {
        self.with_store(|store| {
            let mut choices: Vec<GarmentChoice> = Vec::new();
            for r in store.garments()? {
                let stock = store.stock_level_total(&r.sku)?;
                let variant = GarmentVariant { sku: r.sku, size: r.size, colour: r.colour, price_cents: r.price_cents, stock };
                match choices.iter_mut().find(|c| c.product_code == r.product_code) {
                    Some(choice) => choice.variants.push(variant),
                    None => choices.push(GarmentChoice {
                        product_code: r.product_code,
                        product_name: r.product_name,
                        kind: r.kind,
                        variants: vec![variant],
                    }),
                }
            }
            Ok(choices)
        })
    }

    /// Reads a variant's garment (cached by image; the store is not held while decoding).
    pub fn load_garment(&self, sku: &str) -> Result<Arc<Garment>, AppError> {
        let assets = self.garment_assets();
        // The cached garment, or the image bytes to decode.
        let (record, cached_or_png) = self.with_store(|store| {
            let record = store
                .garment(sku)?
                .ok_or_else(|| AppError::Invalid(format!("no garment for {sku:?}; add one with `vitrine garments add PHOTO --sku {sku}`")))?;
            let cached = self.tryon.lock().unwrap_or_else(|e| e.into_inner()).cache.get(&record.image_sha256).cloned();
            let found = match cached {
                Some(garment) => Ok(garment),
                None => Err(store.garment_image(&assets, &record)?),
            };
            Ok((record, found))
        })?;
        let png = match cached_or_png {
            Ok(garment) => return Ok(garment),
            Err(png) => png,
        };
        let kind: GarmentKind = record.kind.parse().map_err(|e: vitrine_garment::GarmentError| AppError::Invalid(e.to_string()))?;
        let garment = Arc::new(Garment::from_stored(&png, kind, &record.landmarks).map_err(|e| AppError::Invalid(format!("garment for {sku:?}: {e}")))?);
        self.tryon.lock().unwrap_or_else(|e| e.into_inner()).cache.insert(record.image_sha256, garment.clone());
        Ok(garment)
    }

    /// Selects the garment the mirror shows (`None`: none), fitted in the variant's size.
    /// Takes effect on the next frame.
    pub fn set_garment(&self, sku: Option<&str>) -> Result<(), AppError> {
        let selected = match sku {
            Some(sku) => Some((sku.to_owned(), self.worn(sku)?)),
            None => None,
        };
        let worn = selected.as_ref().map(|(_, w)| w.clone());
        let mut state = self.tryon.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(sku) = sku {
            state.tried.retain(|s| s != sku);
            state.tried.push(sku.to_owned());
        }
        state.selected = selected;
        drop(state);
        self.push_garment(worn);
        Ok(())
    }

    /// A variant's garment in the variant's size.
    pub fn worn(&self, sku: &str) -> Result<Worn, AppError> {
        let garment = self.load_garment(sku)?;
        let size = self.with_store(|store| Ok(store.garment(sku)?.and_then(|r| r.size)))?;
        Ok(Worn::new(garment, size.as_deref()))
    }

    /// The SKUs this mirror session tried, oldest first.
    pub fn tried_skus(&self) -> Vec<String> {
        self.tryon.lock().unwrap_or_else(|e| e.into_inner()).tried.clone()
    }

    /// The shopper is done: no garment on, and nothing they tried steers what comes next.
    pub fn end_tryon_session(&self) -> Result<(), AppError> {
        self.set_garment(None)?;
        self.forget_tried();
        Ok(())
    }

    pub(crate) fn forget_tried(&self) {
        self.tryon.lock().unwrap_or_else(|e| e.into_inner()).tried.clear();
    }

    pub fn selected_garment(&self) -> Option<String> {
        self.tryon.lock().unwrap_or_else(|e| e.into_inner()).selected.as_ref().map(|(s, _)| s.clone())
    }

    fn push_garment(&self, worn: Option<Worn>) {
        if let Some(runner) = self.mirror.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            runner.set_garment(worn);
        }
    }

    /// After the mirror (re)starts: show the garment that was selected.
    pub(crate) fn restore_garment(&self) {
        let garment = self.tryon.lock().unwrap_or_else(|e| e.into_inner()).selected.as_ref().map(|(_, w)| w.clone());
        if garment.is_some() {
            self.push_garment(garment);
        }
    }

    /// Try-on for a pipeline: the pose model, plus the GAN every `gan_every`-th frame when
    /// it is available (0: never). `None` without a pose model (the reason is logged).
    pub fn tryon_engine(&self, gan_every: u32) -> Option<TryOn> {
        let pose = match PoseEstimator::new(self.registry(), POSE_MODEL) {
            Ok(p) => p,
            Err(e) => {
                warn!(error = %e, "try-on is off: no pose model");
                return None;
            }
        };
        let gan = if gan_every == 0 { None } else { self.tryon_gan() };
        Some(TryOn::new(pose).with_refiner(gan, gan_every))
    }

    /// The try-on GAN, when its model loads (otherwise the plain composite; logged).
    pub fn tryon_gan(&self) -> Option<TryOnGan> {
        match TryOnGan::new(self.registry(), GAN_MODEL) {
            Ok(gan) => Some(gan),
            Err(e) => {
                info!(error = %e, "try-on GAN unavailable: the plain composite is shown");
                None
            }
        }
    }

    /// A full-quality still of the shopper in the selected garment, from the newest camera
    /// frame: the plain composite and the GAN's refinement side by side. Only in memory.
    pub fn capture_look(&self) -> Result<Look, AppError> {
        let frame = self
            .mirror
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .and_then(|r| r.last_input())
            .ok_or_else(|| AppError::Invalid("the mirror is not running".into()))?;
        let worn = self
            .tryon
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .selected
            .as_ref()
            .map(|(_, w)| w.clone())
            .ok_or_else(|| AppError::Invalid("no garment selected".into()))?;
        let mut bgr = Mat::default();
        frame_to_bgr_mat(&frame, &mut bgr).map_err(|e| AppError::Invalid(e.to_string()))?;
        if self.config.camera.mirror {
            let unflipped = bgr.clone();
            core::flip(&unflipped, &mut bgr, 1).map_err(cv)?;
        }
        render_look(self, &bgr, worn)
    }
}

/// The still: one plain render (no filtering: a single frame) and, with the GAN, its
/// refinement at the still size, kept only when none of the shopper's own print shows
/// through it (otherwise the plain still is the look).
pub fn render_look(app: &App, bgr: &Mat, worn: Worn) -> Result<Look, AppError> {
    let invalid = |e: &dyn std::fmt::Display| AppError::Invalid(e.to_string());
    let mut segmenter = PersonSegmenter::new(app.registry(), &app.config.mirror.segmentation_model).map_err(|e| invalid(&e))?;
    let mut tryon = app.tryon_engine(0).ok_or_else(|| AppError::Invalid("try-on needs the pose model".into()))?;
    tryon.set_filtering(false);
    tryon.set_garment(Some(worn)).map_err(|e| invalid(&e))?;
    let start = std::time::Instant::now();
    let mask = segmenter.segment_bgr(bgr).map_err(|e| invalid(&e))?;
    let mut plain = bgr.try_clone().map_err(cv)?;
    let outcome = tryon.apply(&mut plain, &mask, 0.0, &mut TryOnTimings::default()).map_err(|e| invalid(&e))?;
    let plain_ms = start.elapsed().as_secs_f64() * 1000.0;
    let quality = 92;
    let (refined_jpeg, refined_ms) = match (&outcome, app.tryon_gan()) {
        (Outcome::Dressed { rendered, body, .. }, Some(mut gan)) => {
            let t = std::time::Instant::now();
            let refined = vitrine_tryon::refine(&mut gan, bgr, rendered, GanResolution::Still).map_err(|e| invalid(&e))?;
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            let leak = refined_leak(bgr, &refined, rendered, body, &mask).map_err(|e| invalid(&e))?;
            if vitrine_tryon::refinement_keeps_print(leak) {
                (Some(encode_jpeg(&refined, quality)?), Some(ms))
            } else {
                info!(leak = leak.0 / leak.1.max(1e-9), "the refined still shows the shopper's own print; the plain one is the look");
                (None, Some(ms))
            }
        }
        _ => (None, None),
    };
    Ok(Look { plain_jpeg: encode_jpeg(&plain, quality)?, refined_jpeg, prompt: outcome.prompt(), plain_ms, refined_ms })
}

/// How much of the shopper's own print the refined still carries (sums; see
/// [`vitrine_tryon::measure::print_leak`]).
fn refined_leak(bgr: &Mat, refined: &Mat, rendered: &vitrine_tryon::Rendered, body: &vitrine_tryon::Body, mask: &vitrine_vision::PersonMask) -> vitrine_tryon::Result<(f64, f64)> {
    use vitrine_tryon::measure;
    let person = measure::mask_at_frame_size(mask, bgr)?;
    let flat = measure::flat_render(bgr, rendered)?;
    let region = measure::garment_interior(bgr, rendered, body, &person)?;
    measure::print_leak(bgr, refined, &flat, &region, body)
}

/// Where looks are written once a shopper says yes to saving one: `looks/` beside the
/// database (`var/looks` by default). Nothing else of the shopper is ever written there.
pub fn looks_dir(config: &Config) -> PathBuf {
    config.store.database.parent().unwrap_or(Path::new(".")).join("looks")
}

impl App {
    /// Writes the look's best picture (the GAN still, else the plain composite) as
    /// `look-<UTC time>-<SKU>.jpg` in [`looks_dir`]; a new file each time, nothing overwritten.
    /// Call only after the shopper said yes on screen: this is the one place a capture is kept.
    pub fn save_look(&self, sku: &str, look: &Look) -> Result<PathBuf, AppError> {
        use std::io::Write;
        let dir = looks_dir(&self.config);
        let io_error = |path: &Path, e: std::io::Error| AppError::Invalid(format!("cannot save the look to {}: {e}", path.display()));
        std::fs::create_dir_all(&dir).map_err(|e| io_error(&dir, e))?;
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
        // "2026-12-04T06:12:30Z" → "20261204T061230Z": sortable and valid on every filesystem.
        let stamp: String = vitrine_store::iso8601_utc(now).chars().filter(|c| c.is_ascii_alphanumeric()).collect();
        let sku: String = sku.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
        let bytes = look.refined_jpeg.as_deref().unwrap_or(&look.plain_jpeg);
        let stem = format!("look-{stamp}-{sku}");
        for attempt in 1..100 {
            let name = if attempt == 1 { format!("{stem}.jpg") } else { format!("{stem}-{attempt}.jpg") };
            let path = dir.join(name);
            let mut file = match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io_error(&path, e)),
            };
            if let Err(e) = file.write_all(bytes).and_then(|()| file.sync_all()) {
                // No half-written picture left behind.
                let _ = std::fs::remove_file(&path);
                return Err(io_error(&path, e));
            }
            info!(path = %path.display(), "look saved at the shopper's request");
            return Ok(path);
        }
        Err(AppError::Invalid(format!("cannot save the look: too many looks named {stem} in {}", dir.display())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dir: &Path) -> Config {
        let mut config = Config::default();
        config.store.database = dir.join("kiosk.db");
        config.inference.models_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models");
        config
    }

    #[test]
    fn a_fresh_kiosk_offers_the_demo_garments_with_stock() {
        let dir = tempfile::tempdir().unwrap();
        let app = App::start(config(dir.path()));
        let choices = app.garments().unwrap();
        let codes: Vec<&str> = choices.iter().map(|c| c.product_code.as_str()).collect();
        assert_eq!(codes, ["VT-DRS-LUMEN", "VT-HOOD-DRIFT", "VT-TEE-ORBIT"]);
        let tee = &choices[2];
        assert_eq!(tee.kind, "top");
        assert_eq!(tee.variants.len(), 12, "4 sizes x 3 colours");
        assert!(tee.variants.iter().any(|v| v.stock > 0), "the demo tee is in stock: {:?}", tee.variants);
        // Images are shared per colour: 7 files for 7 colours.
        assert_eq!(std::fs::read_dir(app.garment_assets()).unwrap().count(), 7);
        app.set_garment(Some("VT-TEE-ORBIT-M-INK")).unwrap();
        assert_eq!(app.selected_garment().as_deref(), Some("VT-TEE-ORBIT-M-INK"));
        let err = app.set_garment(Some("GR-OATS-1KG")).unwrap_err();
        assert!(err.to_string().contains("no garment"), "{err}");
        // A restart does not seed twice.
        drop(app);
        let app = App::start(config(dir.path()));
        assert_eq!(app.garments().unwrap().iter().map(|c| c.variants.len()).sum::<usize>(), 12 + 6 + 8);
    }

    #[test]
    fn the_demo_apparel_is_dressed_from_product_photos_once_they_are_there() {
        let packshots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/media/garments");
        if !packshots.is_dir() {
            return eprintln!("shared packshots missing; skipped");
        }
        let dir = tempfile::tempdir().unwrap();
        // First start without the photos: every colour drawn.
        let mut cfg = config(dir.path());
        cfg.store.demo_packshots = dir.path().join("no-photos");
        let app = App::start(cfg.clone());
        let sources = |app: &App| -> HashMap<String, String> {
            app.with_store(|s| Ok(s.garments()?.into_iter().map(|g| (g.sku, g.source)).collect())).unwrap()
        };
        assert!(sources(&app).values().all(|s| s == "demo drawing"));
        // A store's own garment on a drawn colour is never replaced.
        let own = std::fs::read(packshots.join("solidus_long_sleeve_tee.png")).unwrap();
        app.add_garment(&own, "own.png", "VT-TEE-ORBIT-L-INK", GarmentKind::Top).unwrap();
        drop(app);
        // The photos appear (setup copied them): the drawn colours that have one are cut from it.
        cfg.store.demo_packshots = packshots.clone();
        let app = App::start(cfg.clone());
        let after = sources(&app);
        assert_eq!(after["VT-TEE-ORBIT-M-INK"], "demo packshot solidus_dark_tee.png");
        assert_eq!(after["VT-TEE-ORBIT-S-CHK"], "demo packshot solidus_ror_ringer.jpeg");
        assert_eq!(after["VT-HOOD-DRIFT-M-COL"], "demo packshot solidus_hoodie_black_1.png");
        assert_eq!(after["VT-TEE-ORBIT-L-INK"], "own.png");
        assert_eq!(after["VT-DRS-LUMEN-M-SGE"], "demo drawing", "no dress photo: drawn");
        // The photo garment is not the drawing it replaced.
        let ink = app.load_garment("VT-TEE-ORBIT-M-INK").unwrap();
        let moss = app.load_garment("VT-TEE-ORBIT-M-MOS").unwrap();
        assert_ne!(ink.landmarks_json(), moss.landmarks_json());
        drop(app);
        // A further start changes nothing.
        let app = App::start(cfg);
        assert_eq!(sources(&app), after);
    }

    #[test]
    fn a_refused_photo_leaves_no_garment_and_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = config(dir.path());
        cfg.store.seed_demo = true;
        let app = App::start(cfg);
        let before = std::fs::read_dir(app.garment_assets()).unwrap().count();
        let err = app.add_garment(b"not an image", "x.png", "VT-TEE-ORBIT-M-INK", GarmentKind::Top).unwrap_err();
        assert!(err.to_string().contains("not a readable image"), "{err}");
        let err = app.add_garment(b"not an image", "x.png", "NOPE", GarmentKind::Top).unwrap_err();
        assert!(err.to_string().contains("unknown variant"), "{err}");
        assert_eq!(std::fs::read_dir(app.garment_assets()).unwrap().count(), before);
    }

    #[test]
    fn a_still_of_a_real_shopper_has_the_garment() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/media/people/tfjs_pose.jpg");
        if !path.is_file() {
            return eprintln!("shared media missing; skipped");
        }
        let dir = tempfile::tempdir().unwrap();
        let app = App::start(config(dir.path()));
        let bgr = imgcodecs::imread(path.to_str().unwrap(), imgcodecs::IMREAD_COLOR).unwrap();
        let look = render_look(&app, &bgr, app.worn("VT-TEE-ORBIT-M-INK").unwrap()).unwrap();
        assert_eq!(look.prompt, None);
        assert_eq!(&look.plain_jpeg[..2], &[0xFF, 0xD8]);
        // The GAN ran when it is there; its still is kept only when it shows none of the old print.
        assert_eq!(look.refined_ms.is_some(), app.tryon_gan().is_some());
        assert!(look.refined_jpeg.as_ref().is_none_or(|j| j[..2] == [0xFF, 0xD8]));
    }

    #[test]
    fn a_look_is_written_only_by_save_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let app = App::start(config(dir.path()));
        let looks = looks_dir(&app.config);
        assert_eq!(looks, dir.path().join("looks"));
        assert!(!looks.exists(), "nothing is written before a save");
        let plain_only = Look { plain_jpeg: b"plain".to_vec(), refined_jpeg: None, prompt: None, plain_ms: 1.0, refined_ms: None };
        let refined = Look { refined_jpeg: Some(b"refined".to_vec()), refined_ms: Some(2.0), ..plain_only.clone() };
        let a = app.save_look("VT-TEE-ORBIT-M-INK", &refined).unwrap();
        let b = app.save_look("../odd sku", &plain_only).unwrap();
        assert_ne!(a, b);
        assert_eq!(std::fs::read(&a).unwrap(), b"refined", "the GAN still when there is one");
        assert_eq!(std::fs::read(&b).unwrap(), b"plain");
        let name = a.file_name().unwrap().to_str().unwrap();
        assert!(name.starts_with("look-") && name.ends_with("-VT-TEE-ORBIT-M-INK.jpg"), "{name}");
        assert_eq!(b.parent().unwrap(), looks, "an odd SKU cannot leave the folder: {}", b.display());
        assert_eq!(std::fs::read_dir(&looks).unwrap().count(), 2);
    }
}

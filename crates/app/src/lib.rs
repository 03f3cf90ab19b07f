//! The running kiosk without its window: config + command-line overrides → ONNX Runtime,
//! model registry, store, and mirror sessions. The CLI and the Tauri shell both build an
//! [`App`] and call the same methods, so anything the kiosk does can be run headless.
//!
//! Start-up never fails as a whole: a missing runtime, a bad model or an unreadable
//! database disables its feature with a reason that [`App::status`] reports.

mod assistant;
mod feedback;
mod overrides;
mod recommend;
mod reports;
mod shelf;
mod shelf_live;
mod signage;
mod staff;
mod tryon;
mod voice;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tracing::{info, warn};
use vitrine_capture::{CaptureHandle, CaptureOptions, SourceSpec, SourceState};
use vitrine_config::{BackgroundMode, Config};
use vitrine_infer::{Provider, Registry, Runtime, RuntimeOptions};
use vitrine_mirror::{EncodedFrame, FrameBoard, MirrorOptions, MirrorPipeline, MirrorRunner, MirrorStats};
use vitrine_store::Store;
use vitrine_vision::PersonSegmenter;

pub use assistant::{AskReply, AskTimings, ProductCard};
pub use voice::SpokenReply;
pub use feedback::{feedback_model_path, sentiment_lexicon_path, FeedbackInput, FeedbackReceipt};
pub use overrides::{init_logging, Overrides};
pub use recommend::{SizeStock, SuggestRequest, Suggestion};
pub use signage::{AttractPoster, PosterSuggestion, RenderedPoster};
pub use vitrine_signage::{Design, Format as PosterFormat, Reason as PosterReason};
pub use reports::{ExportFormat, ExportedFile};
pub use shelf::{AddedPhotos, ConfirmedScan, ShelfInput};
pub use vitrine_shelf::{Detection, ShelfReport};
pub use shelf_live::{demo_shelf_beside, to_base64, LiveSource, LiveView, ShelfLive, ShelfLocation, DEMO_SHELF};
pub use staff::{policy, CommandError};
pub use tryon::{garment_assets_dir, render_look, GarmentChoice, GarmentVariant, Look, GAN_MODEL, POSE_MODEL};
pub use vitrine_garment::GarmentKind;
pub use vitrine_tryon::TryOnPrompt;
pub use vitrine_reports::{AisleDiscrepancy, ForecastChart, ReportKind, ReportQuery, ReportTable, Series};
pub use vitrine_auth::{AuthError, Role, Session, SessionSlot, StaffMember};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Config(#[from] vitrine_config::ConfigError),
    #[error(transparent)]
    Capture(#[from] vitrine_capture::CaptureError),
    #[error(transparent)]
    Infer(#[from] vitrine_infer::InferError),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Auth(#[from] vitrine_auth::AuthError),
    #[error("store unavailable: {0}")]
    StoreUnavailable(String),
    #[error(transparent)]
    Reports(#[from] vitrine_reports::ReportError),
    #[error(transparent)]
    Store(#[from] vitrine_store::StoreError),
}

/// What the kiosk screen shows about the system (the `get_status` command's answer).
#[derive(Debug, Clone, Serialize)]
pub struct KioskStatus {
    pub source: SourceReport,
    pub models: Vec<ModelReport>,
    pub background_mode: BackgroundMode,
    pub store: Option<vitrine_store::CatalogSummary>,
    pub store_error: Option<String>,
    pub runtime_error: Option<String>,
    pub mirror: Option<MirrorStats>,
    /// Whether `[sync]` names an HQ and the background sync runs.
    pub sync_enabled: bool,
    /// Where sync stands (pending events, last push/pull, last error); none without a store.
    pub sync: Option<vitrine_store::SyncStatus>,
    /// Why sync could not start (bad `[sync]` settings), if so.
    pub sync_error: Option<String>,
    /// What the store assistant runs without (its FAQ file, the sentence model), if anything.
    pub assistant_error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SourceReport {
    pub description: String,
    /// "running", "error" or "stopped"
    pub state: &'static str,
    pub message: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelReport {
    pub name: String,
    pub task: String,
    pub provider: Option<String>,
    pub enabled: bool,
    pub reason: Option<String>,
}

pub struct App {
    pub config: Config,
    runtime: Result<Runtime, String>,
    registry: Registry,
    store: Result<Mutex<Store>, String>,
    mirror: Mutex<Option<MirrorRunner>>,
    background: Mutex<BackgroundMode>,
    /// The background sync with HQ, when configured; stops when the app is dropped.
    sync: Result<Option<vitrine_sync::SyncLoop>, String>,
    /// Shelf scans: the scanner (built on first use) and the scans awaiting confirmation.
    shelf: Mutex<shelf::ShelfState>,
    /// Try-on: the garment the shopper picked and the garments already read from disk.
    tryon: Mutex<tryon::TryOnState>,
    /// When the idle camera was last looked for, and what was wrong.
    idle_camera: Mutex<Option<(Instant, Option<String>)>>,
    /// The basket model behind suggestions (shared with its background fit).
    recommend: recommend::SharedRecommendState,
    /// The poster renderer and the attract loop's rendered posters.
    signage: Mutex<signage::SignageState>,
    /// The assistant's FAQ and the shopper's conversation (memory only).
    assistant: Mutex<assistant::AssistantState>,
    /// The feedback scorer (made on first use).
    feedback: Mutex<Option<Arc<vitrine_feedback::Scorer>>>,
    /// The speech recogniser (loaded on first use) and the capture in progress.
    voice: Mutex<voice::VoiceState>,
}

impl App {
    /// Brings up everything the config names. Each failure is logged and kept as a reason.
    pub fn start(config: Config) -> Self {
        let runtime = runtime_options(&config).and_then(|o| Runtime::init(&o)).map_err(|e| e.to_string());
        let registry = match &runtime {
            Ok(rt) => Registry::load(rt, &config.inference.models_dir),
            Err(e) => {
                warn!(error = %e, "ONNX Runtime unavailable: every model-based feature is off");
                Registry::default()
            }
        };
        for entry in registry.entries() {
            match (entry.provider(), entry.disabled_reason()) {
                (Some(p), _) => info!(model = %entry.name, provider = %p, "model runs on {p}"),
                (None, reason) => warn!(model = %entry.name, reason = reason.unwrap_or(""), "model disabled"),
            }
        }
        let store = open_store(&config).map(Mutex::new);
        if let Err(e) = &store {
            warn!(error = %e, "store unavailable");
        }
        let background = Mutex::new(config.mirror.background);
        let sync = start_sync(&config, store.is_ok());
        if let Err(e) = &sync {
            warn!(error = %e, "sync with HQ is off");
        }
        Self { config, runtime, registry, store, mirror: Mutex::new(None), background, sync, shelf: Mutex::default(), tryon: Mutex::default(), idle_camera: Mutex::default(), recommend: Default::default(), signage: Mutex::default(), assistant: Mutex::default(), feedback: Mutex::default(), voice: Mutex::default() }
    }

    pub fn runtime(&self) -> Result<&Runtime, &str> {
        self.runtime.as_ref().map_err(String::as_str)
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub fn store(&self) -> Result<&Mutex<Store>, &str> {
        self.store.as_ref().map_err(String::as_str)
    }

    pub fn source_spec(&self) -> Result<SourceSpec, AppError> {
        Ok(self.config.camera.source.parse()?)
    }

    pub fn capture_options(&self) -> CaptureOptions {
        let c = &self.config.camera;
        CaptureOptions { width: c.width, height: c.height, fps: c.fps, realtime: true, looping: true }
    }

    /// The mirror pipeline as configured; without a usable segmentation model it still shows
    /// the camera, and the reason is in the log and the status.
    pub fn mirror_pipeline(&self) -> MirrorPipeline {
        self.mirror_pipeline_with_tryon(self.config.mirror.tryon_gan_every)
    }

    /// The mirror pipeline with try-on refining every `gan_every`-th frame with the GAN
    /// (0: never live).
    pub fn mirror_pipeline_with_tryon(&self, gan_every: u32) -> MirrorPipeline {
        let segmenter = match PersonSegmenter::new(&self.registry, &self.config.mirror.segmentation_model) {
            Ok(s) => Some(s),
            Err(e) => {
                warn!(error = %e, "mirror runs without segmentation");
                None
            }
        };
        let options = MirrorOptions {
            background: *self.background.lock().unwrap_or_else(|e| e.into_inner()),
            jpeg_quality: self.config.mirror.jpeg_quality,
            flip: self.config.camera.mirror,
        };
        MirrorPipeline::new(segmenter, options).with_tryon(self.tryon_engine(gan_every))
    }

    /// Starts capture and the mirror pipeline (no-op when already running).
    pub fn start_mirror(&self) -> Result<(), AppError> {
        if self.mirror.lock().unwrap_or_else(|e| e.into_inner()).is_some() {
            return Ok(());
        }
        let spec = self.source_spec()?;
        // Built before taking the slot: status readers (the page polls) never wait behind it.
        info!(source = %spec, "building the mirror pipeline");
        let pipeline = self.mirror_pipeline();
        let mut slot = self.mirror.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_some() {
            return Ok(());
        }
        let options = self.capture_options();
        let open_spec = spec.clone();
        let capture = CaptureHandle::spawn(spec.to_string(), Duration::from_secs(2), move || vitrine_capture::open(&open_spec, &options));
        *slot = Some(MirrorRunner::spawn(capture, pipeline));
        drop(slot);
        self.restore_garment();
        info!(source = %spec, "mirror started");
        Ok(())
    }

    /// Stops the mirror; the last frame is forgotten (nothing of the shopper lingers).
    pub fn stop_mirror(&self) {
        if let Some(mut runner) = self.mirror.lock().unwrap_or_else(|e| e.into_inner()).take() {
            runner.stop();
            info!("mirror stopped");
        }
        self.forget_tried();
    }

    pub fn set_background(&self, mode: BackgroundMode) {
        *self.background.lock().unwrap_or_else(|e| e.into_inner()) = mode;
        if let Some(runner) = self.mirror.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            runner.set_background(mode);
        }
    }

    /// Where finished mirror frames appear, while the mirror runs.
    pub fn frames(&self) -> Option<Arc<FrameBoard<EncodedFrame>>> {
        self.mirror.lock().unwrap_or_else(|e| e.into_inner()).as_ref().map(MirrorRunner::board)
    }

    /// The input's state, cheap enough to ask for every frame (no store access).
    pub fn source_report(&self) -> SourceReport {
        let mirror = self.mirror.lock().unwrap_or_else(|e| e.into_inner());
        match mirror.as_ref().map(MirrorRunner::source_status) {
            Some(s) => SourceReport {
                description: s.description,
                state: match s.state {
                    SourceState::Starting | SourceState::Running => "running",
                    SourceState::Error => "error",
                    SourceState::Stopped => "stopped",
                },
                message: s.message,
            },
            None => {
                drop(mirror);
                // A camera that is not there is worth saying before anyone starts the mirror
                // (the start screen marks the staff link).
                let missing = self.idle_camera_problem();
                let state = if missing.is_some() { "error" } else { "stopped" };
                SourceReport { description: self.config.camera.source.clone(), state, message: missing }
            }
        }
    }

    /// While the mirror is off: why the configured camera cannot be used, looked up at most
    /// every 10 s (the page asks every 2 s).
    fn idle_camera_problem(&self) -> Option<String> {
        let Ok(SourceSpec::Camera(index)) = self.source_spec() else { return None };
        let mut cached = self.idle_camera.lock().unwrap_or_else(|e| e.into_inner());
        match cached.as_ref() {
            Some((checked, problem)) if checked.elapsed() < Duration::from_secs(10) => problem.clone(),
            _ => {
                let problem = vitrine_capture::camera_present(index).err().map(|e| e.to_string());
                *cached = Some((Instant::now(), problem.clone()));
                problem
            }
        }
    }

    /// For the service watchdog: an error when the mirror thread has not gone round its
    /// loop for longer than `limit` (a stage is stuck). A stopped mirror cannot hang.
    pub fn pipeline_alive(&self, limit: Duration) -> Result<(), String> {
        let mirror = self.mirror.lock().unwrap_or_else(|e| e.into_inner());
        match mirror.as_ref().map(MirrorRunner::since_last_beat) {
            Some(stuck) if stuck > limit => Err(format!("the mirror pipeline has not moved for {:.0} s", stuck.as_secs_f64())),
            _ => Ok(()),
        }
    }

    /// Mirror counters while it runs (no store access).
    pub fn mirror_stats(&self) -> Option<MirrorStats> {
        self.mirror.lock().unwrap_or_else(|e| e.into_inner()).as_ref().map(MirrorRunner::stats)
    }

    pub fn status(&self) -> KioskStatus {
        let source = self.source_report();
        let models = self
            .registry
            .entries()
            .map(|e| ModelReport {
                name: e.name.clone(),
                task: e.task.clone(),
                provider: e.provider().map(|p| p.to_string()),
                enabled: e.disabled_reason().is_none(),
                reason: e.disabled_reason().map(str::to_owned),
            })
            .collect();
        let (store, store_error) = match &self.store {
            Ok(store) => match store.lock().unwrap_or_else(|e| e.into_inner()).catalog_summary() {
                Ok(summary) => (Some(summary), None),
                Err(e) => (None, Some(e.to_string())),
            },
            Err(e) => (None, Some(e.clone())),
        };
        let sync = match &self.store {
            Ok(store) => store.lock().unwrap_or_else(|e| e.into_inner()).sync_status().ok(),
            Err(_) => None,
        };
        KioskStatus {
            sync_enabled: matches!(self.sync, Ok(Some(_))),
            sync,
            sync_error: self.sync.as_ref().err().cloned(),
            assistant_error: self.assistant_problem(),
            source,
            models,
            background_mode: *self.background.lock().unwrap_or_else(|e| e.into_inner()),
            store,
            store_error,
            runtime_error: self.runtime.as_ref().err().cloned(),
            mirror: self.mirror_stats(),
        }
    }
}

impl Drop for App {
    fn drop(&mut self) {
        self.stop_mirror();
    }
}

pub fn runtime_options(config: &Config) -> Result<RuntimeOptions, vitrine_infer::InferError> {
    let providers = config.inference.providers.iter().map(|p| p.parse()).collect::<Result<Vec<Provider>, _>>()?;
    Ok(RuntimeOptions {
        library: config.inference.runtime_library.clone(),
        providers,
        intra_threads: config.inference.intra_threads,
        intra_op_spinning: config.inference.intra_op_spinning,
    })
}

/// Starts the background sync when `[sync] hq_url` is set and the store opened.
fn start_sync(config: &Config, store_ok: bool) -> Result<Option<vitrine_sync::SyncLoop>, String> {
    let Some(settings) = vitrine_sync::SyncSettings::from_config(&config.sync).map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    if !store_ok {
        return Err("sync needs the store, which is unavailable".into());
    }
    let hq_url = settings.hq_url.clone();
    let sync = vitrine_sync::SyncLoop::spawn(settings, config.store.database.clone()).map_err(|e| e.to_string())?;
    info!(hq = %hq_url, "syncing with HQ in the background");
    Ok(Some(sync))
}

fn open_store(config: &Config) -> Result<Store, String> {
    let path: &PathBuf = &config.store.database;
    let mut store = Store::open(path).map_err(|e| e.to_string())?;
    // The demo catalog comes with half a year of trade, so the reports have something to show.
    if config.store.seed_demo && vitrine_reports::demo::seed_demo_store(&mut store).map_err(|e| e.to_string())? {
        info!(database = %path.display(), "seeded the demo catalog and its sales history");
    }
    staff::warn_about_demo_staff(&store);
    // The demo apparel comes dressed (from product photos where setup found them), so the
    // mirror has something to try on.
    if config.store.seed_demo {
        match tryon::seed_demo_garments(&mut store, &garment_assets_dir(config), &config.store.demo_packshots) {
            Ok(0) => {}
            Ok(n) => info!(variants = n, "added the demo garments"),
            Err(e) => warn!(error = %e, "could not add the demo garments"),
        }
    }
    Ok(store)
}

#[cfg(test)]
mod sync_status_tests {
    use super::*;

    fn config(dir: &std::path::Path) -> Config {
        let mut config = Config::default();
        config.store.database = dir.join("kiosk.db");
        config.store.seed_demo = false;
        config.inference.models_dir = dir.join("no-models");
        config
    }

    #[test]
    fn the_status_carries_sync_state_and_says_why_sync_is_off() {
        let dir = tempfile::tempdir().unwrap();
        let status = App::start(config(dir.path())).status();
        assert!(!status.sync_enabled);
        assert_eq!(status.sync_error, None);
        assert_eq!(status.sync.expect("the store is open").pending_events, 0);

        let mut broken = config(dir.path());
        broken.sync.hq_url = Some("https://127.0.0.1:9".into());
        broken.sync.token_file = dir.path().join("missing.token");
        let status = App::start(broken).status();
        assert!(!status.sync_enabled);
        assert!(status.sync_error.unwrap().contains("missing.token"));
    }
}

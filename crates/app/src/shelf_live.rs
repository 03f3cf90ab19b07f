//! The clerk screen's live shelf view: a small loop that takes the newest captured frame a few
//! times a second, runs the fast shelf detector on it, JPEG-encodes it (the mirror's encoder,
//! no effects) and publishes frame + boxes together on a [`FrameBoard`], so the boxes the page
//! draws always belong to the picture under them. The frame itself is kept (in memory only)
//! for the "Scan" button.
//!
//! Without a usable source (no camera), it says why and shows the demo shelf image instead, so
//! a fresh install has something to scan.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use base64::Engine;
use serde::Serialize;
use tracing::{info, warn};
use vitrine_capture::{CaptureHandle, CaptureOptions, SourceSpec, SourceState};
use vitrine_config::BackgroundMode;
use vitrine_frame::Frame;
use vitrine_mirror::{FrameBoard, MirrorOptions, MirrorPipeline};
use vitrine_store::LocationKind;

use crate::{App, AppError, SessionSlot, ShelfInput, ShelfReport};

/// What a session must allow to see the shelf camera and the catalog's shelves: every clerk and
/// manager may (the stock lookup is the clerk's permission).
const SHELF_PERMISSION: vitrine_auth::Permission = vitrine_auth::Permission::StockLookup;

/// The demo shelf, relative to the folder that holds `models/` (the repository or install root).
pub const DEMO_SHELF: &str = "assets/demo/shelf_demo.jpg";
/// The demo shelf's planogram, beside it.
const DEMO_PLANOGRAM: &str = "shelf_demo_planogram.toml";

/// Frames per second the preview processes at most: enough to aim, light on a 2-core box.
const PREVIEW_FPS: f64 = 4.0;
/// How long a source may fail before the demo shelf is shown instead.
const FALLBACK_AFTER: Duration = Duration::from_secs(2);

/// One processed preview frame.
pub struct LiveFrame<D> {
    pub frame: Frame,
    pub jpeg: Vec<u8>,
    pub detections: Result<Vec<D>, String>,
    pub detect_ms: f64,
}

/// What the page gets for one preview frame: the picture (JPEG, base64) and the boxes found
/// on it, in the picture's pixels.
#[derive(Debug, Clone, Serialize)]
pub struct LiveView<D> {
    pub seq: u64,
    pub width: u32,
    pub height: u32,
    pub jpeg_base64: String,
    pub detections: Vec<D>,
    /// Why there are no boxes (detector model disabled, a failed run), if so.
    pub detect_error: Option<String>,
    pub detect_ms: f64,
}

/// Where the preview's pictures come from, for the screen.
#[derive(Debug, Clone, Serialize)]
pub struct LiveSource {
    pub running: bool,
    pub description: String,
    /// "running", "starting", "error" or "stopped".
    pub state: &'static str,
    pub message: Option<String>,
    /// Set when the demo shelf stands in for the configured source: why.
    pub demo_because: Option<String>,
}

struct Runner<D> {
    board: Arc<FrameBoard<LiveFrame<D>>>,
    source: Arc<Mutex<LiveSource>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// The live preview, started by the clerk screen and stopped when the clerk leaves it.
pub struct ShelfLive<D> {
    runner: Mutex<Option<Runner<D>>>,
}

impl<D> Default for ShelfLive<D> {
    fn default() -> Self {
        Self { runner: Mutex::new(None) }
    }
}

impl<D: Clone + Send + Sync + 'static> ShelfLive<D> {
    /// Starts capture from `spec` and the preview loop (no-op when running). `detect` runs on
    /// the preview thread; `demo_shelf` is shown when the source fails (None: just say so).
    pub fn start(
        &self,
        spec: SourceSpec,
        options: CaptureOptions,
        demo_shelf: Option<PathBuf>,
        detect: impl FnMut(&Frame) -> Result<Vec<D>, String> + Send + 'static,
    ) {
        let mut slot = self.runner.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_some() {
            return;
        }
        let board = Arc::new(FrameBoard::default());
        let source = Arc::new(Mutex::new(LiveSource {
            running: true,
            description: spec.to_string(),
            state: "starting",
            message: None,
            demo_because: None,
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (board, source, stop) = (board.clone(), source.clone(), stop.clone());
            std::thread::Builder::new()
                .name("shelf-live".into())
                .spawn(move || run(spec, options, demo_shelf, detect, &board, &source, &stop))
                .expect("spawning the shelf preview thread")
        };
        *slot = Some(Runner { board, source, stop, thread: Some(thread) });
        info!("shelf preview started");
    }

    /// Stops capture and forgets the last frame.
    pub fn stop(&self) {
        if let Some(mut runner) = self.runner.lock().unwrap_or_else(|e| e.into_inner()).take() {
            runner.stop.store(true, Ordering::SeqCst);
            if let Some(thread) = runner.thread.take() {
                let _ = thread.join();
            }
            runner.board.clear();
            info!("shelf preview stopped");
        }
    }

    /// The newest preview frame numbered above `after`, waiting up to `wait`.
    pub fn view(&self, after: u64, wait: Duration) -> Option<LiveView<D>> {
        let board = self.runner.lock().unwrap_or_else(|e| e.into_inner()).as_ref()?.board.clone();
        let (seq, live) = board.newer_than(after, wait)?;
        let (detections, detect_error) = match &live.detections {
            Ok(d) => (d.clone(), None),
            Err(e) => (Vec::new(), Some(e.clone())),
        };
        Some(LiveView {
            seq,
            width: live.frame.width(),
            height: live.frame.height(),
            jpeg_base64: to_base64(&live.jpeg),
            detections,
            detect_error,
            detect_ms: live.detect_ms,
        })
    }

    /// The frame the clerk sees now (for a scan).
    pub fn current_frame(&self) -> Option<Frame> {
        let board = self.runner.lock().unwrap_or_else(|e| e.into_inner()).as_ref()?.board.clone();
        board.newer_than(0, Duration::ZERO).map(|(_, live)| live.frame.clone())
    }

    pub fn source(&self) -> LiveSource {
        match self.runner.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            Some(r) => r.source.lock().unwrap_or_else(|e| e.into_inner()).clone(),
            None => LiveSource { running: false, description: String::new(), state: "stopped", message: None, demo_because: None },
        }
    }
}

impl<D> Drop for ShelfLive<D> {
    fn drop(&mut self) {
        if let Some(runner) = self.runner.get_mut().unwrap_or_else(|e| e.into_inner()).as_mut() {
            runner.stop.store(true, Ordering::SeqCst);
            if let Some(thread) = runner.thread.take() {
                let _ = thread.join();
            }
        }
    }
}

/// A shelf location the clerk can scan (the location picker).
#[derive(Debug, Clone, Serialize)]
pub struct ShelfLocation {
    pub code: String,
    pub name: String,
}

impl App {
    /// The catalog's shelf locations, for a signed-in clerk or manager.
    pub fn shelf_locations(&self, slot: &SessionSlot) -> Result<Vec<ShelfLocation>, AppError> {
        slot.authorize(SHELF_PERMISSION, vitrine_auth::now_ms())?;
        let locations = self.with_store(|store| store.locations().map_err(|e| AppError::StoreUnavailable(e.to_string())))?;
        Ok(locations
            .into_iter()
            .filter(|l| l.kind == LocationKind::Shelf)
            .map(|l| ShelfLocation { code: l.code, name: l.name })
            .collect())
    }

    /// Starts the live preview on the configured source for a signed-in clerk or manager;
    /// the demo shelf beside the models folder stands in for a source that fails.
    pub fn start_shelf_preview<D: Clone + Send + Sync + 'static>(
        &self,
        slot: &SessionSlot,
        live: &ShelfLive<D>,
        detect: impl FnMut(&Frame) -> Result<Vec<D>, String> + Send + 'static,
    ) -> Result<LiveSource, AppError> {
        slot.authorize(SHELF_PERMISSION, vitrine_auth::now_ms())?;
        let spec = self.source_spec()?;
        // One camera, one user: the mirror lets go of it while a clerk scans.
        self.stop_mirror();
        live.start(spec, self.capture_options(), demo_shelf_beside(&self.config.inference.models_dir), detect);
        Ok(live.source())
    }

    /// Scans the frame the clerk sees now (the preview's newest) at `location`, against the demo
    /// planogram when asked; the report waits for confirmation like any scan.
    pub fn scan_live_frame<D: Clone + Send + Sync + 'static>(
        &self,
        slot: &SessionSlot,
        live: &ShelfLive<D>,
        location: Option<&str>,
        demo_planogram: bool,
    ) -> Result<ShelfReport, AppError> {
        slot.authorize(SHELF_PERMISSION, vitrine_auth::now_ms())?;
        let frame = live.current_frame().ok_or_else(|| AppError::Invalid("no picture to scan yet: wait for the camera (or the demo shelf) to show".into()))?;
        let planogram = if demo_planogram {
            let path = demo_shelf_beside(&self.config.inference.models_dir).map(|p| p.with_file_name(DEMO_PLANOGRAM));
            Some(path.filter(|p| p.is_file()).ok_or_else(|| AppError::Invalid(format!("the demo planogram ({DEMO_PLANOGRAM}) is not installed beside the models")))?)
        } else {
            None
        };
        self.scan_shelf(slot, ShelfInput::Frame(frame), location, planogram.as_deref())
    }

    /// The newest preview frame after `after` (waiting up to `wait`), for a signed-in clerk or
    /// manager: camera pictures are staff-only.
    pub fn shelf_preview_view<D: Clone + Send + Sync + 'static>(
        &self,
        slot: &SessionSlot,
        live: &ShelfLive<D>,
        after: u64,
        wait: Duration,
    ) -> Result<Option<LiveView<D>>, AppError> {
        slot.authorize(SHELF_PERMISSION, vitrine_auth::now_ms())?;
        Ok(live.view(after, wait))
    }
}

/// Image bytes as standard base64, for a `data:` URL in the page.
pub fn to_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The demo shelf beside a models folder (`models/` → `assets/demo/shelf_demo.jpg`), if there.
pub fn demo_shelf_beside(models_dir: &Path) -> Option<PathBuf> {
    let root = models_dir.parent().unwrap_or(Path::new(""));
    let path = root.join(DEMO_SHELF);
    path.is_file().then_some(path)
}

fn spawn_capture(spec: &SourceSpec, options: &CaptureOptions) -> CaptureHandle {
    let (open_spec, options) = (spec.clone(), options.clone());
    CaptureHandle::spawn(spec.to_string(), Duration::from_secs(2), move || vitrine_capture::open(&open_spec, &options))
}

fn run<D>(
    spec: SourceSpec,
    options: CaptureOptions,
    demo_shelf: Option<PathBuf>,
    mut detect: impl FnMut(&Frame) -> Result<Vec<D>, String>,
    board: &FrameBoard<LiveFrame<D>>,
    source: &Mutex<LiveSource>,
    stop: &AtomicBool,
) {
    let mut capture = spawn_capture(&spec, &options);
    let mut encoder = MirrorPipeline::new(None, MirrorOptions { background: BackgroundMode::Off, jpeg_quality: 75, flip: false });
    let mut failing_since: Option<Instant> = None;
    let mut on_demo = false;
    let mut published = 0u64;
    let interval = Duration::from_secs_f64(1.0 / PREVIEW_FPS);
    while !stop.load(Ordering::SeqCst) {
        let started = Instant::now();
        let frame = capture.latest(Duration::from_millis(200));
        let status = capture.status();
        {
            let mut s = source.lock().unwrap_or_else(|e| e.into_inner());
            s.description = status.description.clone();
            s.message = status.message.clone();
            s.state = match status.state {
                SourceState::Starting => "starting",
                SourceState::Running => "running",
                SourceState::Error => "error",
                SourceState::Stopped => "stopped",
            };
        }
        let Some(frame) = frame else {
            if status.state == SourceState::Error && !on_demo {
                let since = *failing_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= FALLBACK_AFTER {
                    if let Some(demo) = &demo_shelf {
                        let why = status.message.unwrap_or_else(|| format!("{} failed", status.description));
                        warn!(reason = %why, demo = %demo.display(), "shelf preview shows the demo shelf");
                        capture.stop();
                        capture = spawn_capture(&SourceSpec::Images(demo.clone()), &CaptureOptions { fps: 2, ..options.clone() });
                        source.lock().unwrap_or_else(|e| e.into_inner()).demo_because = Some(why);
                        on_demo = true;
                    }
                }
            }
            continue;
        };
        failing_since = None;
        let t = Instant::now();
        let detections = detect(&frame);
        let detect_ms = t.elapsed().as_secs_f64() * 1000.0;
        match encoder.process(&frame) {
            Ok(encoded) => {
                published += 1;
                board.publish(published, LiveFrame { frame, jpeg: encoded.jpeg, detections, detect_ms });
            }
            Err(e) => warn!(error = %e, "shelf preview frame could not be encoded; skipping it"),
        }
        if let Some(rest) = interval.checked_sub(started.elapsed()) {
            std::thread::sleep(rest);
        }
    }
    capture.stop();
    source.lock().unwrap_or_else(|e| e.into_inner()).running = false;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    fn wait_for_view(live: &ShelfLive<u32>) -> LiveView<u32> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(v) = live.view(0, Duration::from_millis(500)) {
                return v;
            }
            assert!(Instant::now() < deadline, "no preview frame: {:?}", live.source());
        }
    }

    #[test]
    fn a_missing_camera_falls_back_to_the_demo_shelf_and_says_why() {
        let demo = demo_shelf_beside(&repo().join("models")).expect("assets/demo/shelf_demo.jpg is committed");
        let live = ShelfLive::default();
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let seen = sizes.clone();
        live.start(SourceSpec::Camera(7), CaptureOptions::default(), Some(demo), move |frame: &Frame| {
            seen.lock().unwrap().push((frame.width(), frame.height()));
            Ok(vec![frame.width()])
        });
        let view = wait_for_view(&live);
        // The demo shelf is 1600x1200; the boxes travel with their own frame.
        assert_eq!((view.width, view.height), (1600, 1200));
        assert_eq!(view.detections, vec![1600]);
        assert_eq!(view.detect_error, None);
        let jpeg = base64::engine::general_purpose::STANDARD.decode(&view.jpeg_base64).unwrap();
        assert_eq!(&jpeg[..3], &[0xFF, 0xD8, 0xFF]);
        let source = live.source();
        assert!(source.running);
        assert!(source.description.contains("shelf_demo.jpg"), "{source:?}");
        assert!(source.demo_because.as_deref().unwrap_or("").contains("camera"), "{source:?}");
        assert_eq!(live.current_frame().unwrap().width(), 1600);
        assert!(sizes.lock().unwrap().iter().all(|&s| s == (1600, 1200)));
        // A newer frame is asked for by number; stopping forgets the picture.
        assert!(live.view(view.seq, Duration::from_secs(10)).unwrap().seq > view.seq);
        live.stop();
        assert!(live.view(0, Duration::ZERO).is_none());
        assert!(live.current_frame().is_none());
        assert!(!live.source().running);
    }

    #[test]
    fn a_failing_detector_still_shows_the_picture_with_the_reason() {
        let live = ShelfLive::<u32>::default();
        let spec = SourceSpec::Images(repo().join(DEMO_SHELF));
        live.start(spec, CaptureOptions { fps: 5, ..Default::default() }, None, |_: &Frame| Err("shelf_detector is disabled: file missing".into()));
        let view = wait_for_view(&live);
        assert!(view.detections.is_empty());
        assert_eq!(view.detect_error.as_deref(), Some("shelf_detector is disabled: file missing"));
        assert_eq!(live.source().demo_because, None);
        live.stop();
    }

    #[test]
    fn staff_only_see_the_shelf_camera_and_the_shelf_locations() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = vitrine_config::Config::default();
        config.store.database = dir.path().join("kiosk.db");
        config.inference.models_dir = repo().join("models");
        config.inference.providers = vec!["cpu".into()];
        config.camera.source = "camera:7".into();
        let app = App::start(config);
        let slot = app.session_slot();
        let live = ShelfLive::<u32>::default();
        let refused = |e: AppError| crate::CommandError::from(e).code;
        assert_eq!(refused(app.shelf_locations(&slot).unwrap_err()), "not-signed-in");
        assert_eq!(refused(app.start_shelf_preview(&slot, &live, |_: &Frame| Ok(Vec::new())).unwrap_err()), "not-signed-in");
        assert_eq!(refused(app.shelf_preview_view(&slot, &live, 0, Duration::ZERO).unwrap_err()), "not-signed-in");
        assert!(!live.source().running, "a refused start starts nothing");

        app.sign_in(&slot, "Demo Clerk", "1357").unwrap();
        let codes: Vec<String> = app.shelf_locations(&slot).unwrap().into_iter().map(|l| l.code).collect();
        assert_eq!(codes, ["A1/B1/S1", "A1/B2/S1", "A2/B1/S2", "A5/B1/S3", "A5/B2/S1"], "shelves only, no backroom");
        assert!(app.start_shelf_preview(&slot, &live, |_: &Frame| Ok(vec![1])).unwrap().running);
        let deadline = Instant::now() + Duration::from_secs(30);
        let view = loop {
            if let Some(v) = app.shelf_preview_view(&slot, &live, 0, Duration::from_millis(500)).unwrap() {
                break v;
            }
            assert!(Instant::now() < deadline, "no preview frame: {:?}", live.source());
        };
        assert_eq!((view.width, view.height, view.detections), (1600, 1200, vec![1]), "the demo shelf stands in for camera 7");
        app.sign_out(&slot);
        assert_eq!(refused(app.shelf_preview_view(&slot, &live, 0, Duration::ZERO).unwrap_err()), "not-signed-in");
        live.stop();
    }

    #[test]
    fn without_a_demo_shelf_a_missing_camera_is_reported() {
        let live = ShelfLive::<u32>::default();
        live.start(SourceSpec::Camera(7), CaptureOptions::default(), None, |_: &Frame| Ok(Vec::new()));
        let deadline = Instant::now() + Duration::from_secs(20);
        while live.source().state != "error" {
            assert!(Instant::now() < deadline, "{:?}", live.source());
            std::thread::sleep(Duration::from_millis(100));
        }
        let source = live.source();
        assert!(source.message.unwrap().contains("video:PATH"));
        assert_eq!(source.demo_because, None);
        assert!(live.view(0, Duration::from_millis(100)).is_none());
        live.stop();
    }
}

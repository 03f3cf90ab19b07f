//! The mirror thread: takes the newest captured frame, runs the pipeline, publishes the
//! result on a [`FrameBoard`]. Frames that arrive while it is busy are dropped, not queued.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tracing::warn;
use vitrine_capture::{CaptureHandle, CaptureStats, SourceStatus};
use vitrine_config::BackgroundMode;
use vitrine_frame::Frame;
use vitrine_tryon::{FitNote, TryOnPrompt, Worn};

use crate::{EncodedFrame, FrameBoard, MirrorPipeline, StageTimings};

#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct MirrorStats {
    /// Frames processed per second, averaged over the last second or so.
    pub fps: f64,
    pub processed: u64,
    pub captured: u64,
    /// Captured frames never processed because the pipeline was busy.
    pub dropped: u64,
    /// Source frames that could not be decoded.
    pub skipped: u64,
    pub errors: u64,
    pub last: StageTimings,
    /// Whether a garment is being tried on.
    pub garment_selected: bool,
    /// What the shopper is asked to do when the garment cannot be shown (with its message).
    pub tryon_prompt: Option<TryOnPrompt>,
    pub tryon_message: Option<&'static str>,
    /// Whether the chosen size looks tight or loose (with its message).
    pub fit: Option<FitNote>,
    pub fit_message: Option<&'static str>,
}

/// The garment the mirror thread should show, with a change counter so it notices.
type GarmentSlot = Arc<Mutex<(u64, Option<Worn>)>>;

pub struct MirrorRunner {
    board: Arc<FrameBoard<EncodedFrame>>,
    /// Read-locked by everyone (the mirror thread waits for frames under it, status readers
    /// must not queue behind that wait); write-locked only to stop it.
    capture: Arc<RwLock<CaptureHandle>>,
    background: Arc<Mutex<BackgroundMode>>,
    stats: Arc<Mutex<MirrorStats>>,
    garment: GarmentSlot,
    /// The newest input frame, for a capture (memory only; forgotten on stop).
    last_input: Arc<Mutex<Option<Frame>>>,
    stop: Arc<AtomicBool>,
    /// When the mirror thread last went round its loop (it does at least every 200 ms
    /// while frames are late), for the service watchdog.
    beat: Arc<Mutex<Instant>>,
    thread: Option<JoinHandle<()>>,
}

impl MirrorRunner {
    pub fn spawn(capture: CaptureHandle, mut pipeline: MirrorPipeline) -> Self {
        let board = Arc::new(FrameBoard::default());
        let capture = Arc::new(RwLock::new(capture));
        let background = Arc::new(Mutex::new(pipeline.options().background));
        let stats = Arc::new(Mutex::new(MirrorStats::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let garment: GarmentSlot = Arc::new(Mutex::new((0, None)));
        let last_input = Arc::new(Mutex::new(None));
        let beat = Arc::new(Mutex::new(Instant::now()));
        let thread = {
            let beat = beat.clone();
            let (board, capture, background, stats, stop) =
                (board.clone(), capture.clone(), background.clone(), stats.clone(), stop.clone());
            let (garment, last_input) = (garment.clone(), last_input.clone());
            let mut garment_seen = 0u64;
            std::thread::Builder::new()
                .name("mirror".into())
                .spawn(move || {
                    let mut window_start = Instant::now();
                    let mut window_frames = 0u32;
                    while !stop.load(Ordering::SeqCst) {
                        *beat.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
                        let frame = capture.read().unwrap_or_else(|e| e.into_inner()).latest(Duration::from_millis(200));
                        let Some(frame) = frame else { continue };
                        pipeline.set_background(*background.lock().unwrap_or_else(|e| e.into_inner()));
                        let selected = {
                            let slot = garment.lock().unwrap_or_else(|e| e.into_inner());
                            (slot.0 != garment_seen).then(|| (slot.0, slot.1.clone()))
                        };
                        if let Some((generation, selected)) = selected {
                            garment_seen = generation;
                            if let Err(e) = pipeline.set_garment(selected) {
                                warn!(error = %e, "could not select the garment");
                            }
                        }
                        let result = pipeline.process(&frame);
                        *last_input.lock().unwrap_or_else(|e| e.into_inner()) = Some(frame);
                        let capture_stats = capture.read().unwrap_or_else(|e| e.into_inner()).stats();
                        let mut s = stats.lock().unwrap_or_else(|e| e.into_inner());
                        (s.captured, s.dropped, s.skipped) = (capture_stats.captured, capture_stats.dropped, capture_stats.skipped);
                        match result {
                            Ok(encoded) => {
                                s.processed += 1;
                                s.last = encoded.timings;
                                s.garment_selected = garment.lock().unwrap_or_else(|e| e.into_inner()).1.is_some();
                                s.tryon_prompt = encoded.prompt;
                                s.tryon_message = encoded.prompt.map(TryOnPrompt::message);
                                s.fit = encoded.fit;
                                s.fit_message = encoded.fit.map(FitNote::message);
                                window_frames += 1;
                                let elapsed = window_start.elapsed().as_secs_f64();
                                if elapsed >= 1.0 {
                                    s.fps = window_frames as f64 / elapsed;
                                    (window_start, window_frames) = (Instant::now(), 0);
                                }
                                drop(s);
                                board.publish(encoded.seq, encoded);
                            }
                            Err(e) => {
                                s.errors += 1;
                                warn!(error = %e, "mirror frame failed; continuing with the next");
                            }
                        }
                    }
                })
                .expect("spawning the mirror thread")
        };
        Self { board, capture, background, stats, garment, last_input, stop, beat, thread: Some(thread) }
    }

    /// How long since the mirror thread last went round its loop; a long time means a stage
    /// is stuck.
    pub fn since_last_beat(&self) -> Duration {
        self.beat.lock().unwrap_or_else(|e| e.into_inner()).elapsed()
    }

    pub fn board(&self) -> Arc<FrameBoard<EncodedFrame>> {
        self.board.clone()
    }

    pub fn set_background(&self, mode: BackgroundMode) {
        *self.background.lock().unwrap_or_else(|e| e.into_inner()) = mode;
    }

    pub fn background(&self) -> BackgroundMode {
        *self.background.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Selects the garment to try on, in its size (or none); the mirror thread picks it up
    /// next frame.
    pub fn set_garment(&self, worn: Option<Worn>) {
        let mut slot = self.garment.lock().unwrap_or_else(|e| e.into_inner());
        *slot = (slot.0 + 1, worn);
    }

    /// The newest input frame (unmirrored, as captured), for a still of the look.
    pub fn last_input(&self) -> Option<Frame> {
        self.last_input.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn stats(&self) -> MirrorStats {
        *self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn capture_stats(&self) -> CaptureStats {
        self.capture.read().unwrap_or_else(|e| e.into_inner()).stats()
    }

    pub fn source_status(&self) -> SourceStatus {
        self.capture.read().unwrap_or_else(|e| e.into_inner()).status()
    }

    /// Stops capture and processing and forgets the last frame.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.capture.write().unwrap_or_else(|e| e.into_inner()).stop();
        self.board.clear();
        *self.last_input.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

impl Drop for MirrorRunner {
    fn drop(&mut self) {
        self.stop();
    }
}

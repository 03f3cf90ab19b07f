//! The capture thread: reads a source as fast as it delivers and keeps only the newest frame.
//! When the source fails (a camera unplugged) it reports why, and tries to reopen it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing::{info, warn};
use vitrine_frame::Frame;

use crate::{CaptureError, FrameSource, LatestSlot};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceState {
    Starting,
    Running,
    Error,
    Stopped,
}

/// What the kiosk shows about its input.
#[derive(Debug, Clone)]
pub struct SourceStatus {
    pub state: SourceState,
    pub description: String,
    /// Why there are no frames, in words for the person at the kiosk.
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct CaptureStats {
    /// Frames the source produced.
    pub captured: u64,
    /// Frames replaced in the slot before the consumer took them.
    pub dropped: u64,
    /// Frames the source could not decode.
    pub skipped: u64,
}

type Opener = dyn Fn() -> Result<Box<dyn FrameSource>, CaptureError> + Send + Sync;

/// A running capture thread. Dropping it stops the thread.
pub struct CaptureHandle {
    slot: Arc<LatestSlot<Frame>>,
    status: Arc<Mutex<SourceStatus>>,
    skipped: Arc<Mutex<u64>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl CaptureHandle {
    /// Starts capturing from whatever `open` returns. `open` is called again after a failure,
    /// every `retry` (a camera plugged back in is picked up without a restart).
    pub fn spawn(
        description: String,
        retry: Duration,
        open: impl Fn() -> Result<Box<dyn FrameSource>, CaptureError> + Send + Sync + 'static,
    ) -> Self {
        let slot = Arc::new(LatestSlot::new());
        let status = Arc::new(Mutex::new(SourceStatus { state: SourceState::Starting, description, message: None }));
        let skipped = Arc::new(Mutex::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (slot, status, skipped, stop) = (slot.clone(), status.clone(), skipped.clone(), stop.clone());
            let open: Box<Opener> = Box::new(open);
            std::thread::Builder::new()
                .name("capture".into())
                .spawn(move || run(&*open, &slot, &status, &skipped, &stop, retry))
                .expect("spawning the capture thread")
        };
        Self { slot, status, skipped, stop, thread: Some(thread) }
    }

    /// The newest frame, waiting up to `timeout`.
    pub fn latest(&self, timeout: Duration) -> Option<Frame> {
        self.slot.take(timeout)
    }

    pub fn status(&self) -> SourceStatus {
        self.status.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn stats(&self) -> CaptureStats {
        let (captured, dropped) = self.slot.counts();
        CaptureStats { captured, dropped, skipped: *self.skipped.lock().unwrap_or_else(|e| e.into_inner()) }
    }

    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.slot.close();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.status.lock().unwrap_or_else(|e| e.into_inner()).state = SourceState::Stopped;
    }
}

impl Drop for CaptureHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

fn run(
    open: &Opener,
    slot: &LatestSlot<Frame>,
    status: &Mutex<SourceStatus>,
    skipped_total: &Mutex<u64>,
    stop: &AtomicBool,
    retry: Duration,
) {
    let set = |state: SourceState, description: Option<String>, message: Option<String>| {
        let mut s = status.lock().unwrap_or_else(|e| e.into_inner());
        s.state = state;
        if let Some(d) = description {
            s.description = d;
        }
        s.message = message;
    };
    let mut base_skipped = 0;
    while !stop.load(Ordering::SeqCst) {
        let mut source = match open() {
            Ok(source) => source,
            Err(e) => {
                warn!(error = %e, "capture source unavailable");
                set(SourceState::Error, None, Some(e.to_string()));
                sleep_unless_stopped(stop, retry);
                continue;
            }
        };
        info!(source = %source.describe(), "capturing");
        set(SourceState::Running, Some(source.describe()), None);
        loop {
            if stop.load(Ordering::SeqCst) {
                return;
            }
            match source.next_frame() {
                Ok(frame) => slot.put(frame),
                Err(CaptureError::EndOfStream) => {
                    set(SourceState::Stopped, None, Some("the source has no more frames".into()));
                    return;
                }
                Err(e) => {
                    warn!(error = %e, "capture failed; will try to reopen the source");
                    set(SourceState::Error, None, Some(e.to_string()));
                    break;
                }
            }
            *skipped_total.lock().unwrap_or_else(|e| e.into_inner()) = base_skipped + source.skipped();
        }
        base_skipped += source.skipped();
        sleep_unless_stopped(stop, retry);
    }
}

fn sleep_unless_stopped(stop: &AtomicBool, total: Duration) {
    let step = Duration::from_millis(20);
    let mut waited = Duration::ZERO;
    while waited < total && !stop.load(Ordering::SeqCst) {
        std::thread::sleep(step);
        waited += step;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;
    use std::time::Instant;
    use vitrine_frame::PixelFormat;

    /// A source that delivers `limit` frames and then fails the way an unplugged camera does.
    struct FlakySource {
        left: u32,
    }
    impl FrameSource for FlakySource {
        fn describe(&self) -> String {
            "flaky".into()
        }
        fn next_frame(&mut self) -> Result<Frame, CaptureError> {
            std::thread::sleep(Duration::from_millis(2));
            if self.left == 0 {
                return Err(CaptureError::CameraLost { index: 0, reason: "device gone".into() });
            }
            self.left -= 1;
            Ok(Frame::new(2, 2, PixelFormat::Rgb8, vec![0; 12]).unwrap())
        }
    }

    #[test]
    fn a_lost_source_is_reported_and_reopened() {
        let opens = Arc::new(AtomicU32::new(0));
        let counter = opens.clone();
        let mut handle = CaptureHandle::spawn("flaky".into(), Duration::from_millis(50), move || {
            // First open works for 5 frames, the second open fails, the third works again.
            match counter.fetch_add(1, Ordering::SeqCst) {
                1 => Err(CaptureError::NoCamera { detail: String::new() }),
                _ => Ok(Box::new(FlakySource { left: 5 }) as Box<dyn FrameSource>),
            }
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut saw_error = false;
        while Instant::now() < deadline && opens.load(Ordering::SeqCst) < 3 {
            let status = handle.status();
            if status.state == SourceState::Error {
                saw_error = true;
                assert!(status.message.unwrap().contains("video:PATH"));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(opens.load(Ordering::SeqCst) >= 3, "the source was reopened");
        assert!(saw_error, "the failure was visible in the status");
        assert!(handle.stats().captured >= 5);
        handle.stop();
        assert_eq!(handle.status().state, SourceState::Stopped);
    }

    #[test]
    fn a_slow_consumer_gets_the_newest_frame_and_drops_are_counted() {
        let handle = CaptureHandle::spawn("fast".into(), Duration::from_millis(10), || {
            Ok(Box::new(FlakySource { left: u32::MAX }) as Box<dyn FrameSource>)
        });
        let first = handle.latest(Duration::from_secs(5)).unwrap();
        std::thread::sleep(Duration::from_millis(100)); // a slow consumer
        let newest = handle.latest(Duration::from_secs(5)).unwrap();
        assert!(newest.seq == 0 || newest.captured.instant > first.captured.instant);
        assert!(newest.captured.age() < Duration::from_millis(50), "no backlog: the frame is fresh");
        assert!(handle.stats().dropped > 10, "{:?}", handle.stats());
    }
}

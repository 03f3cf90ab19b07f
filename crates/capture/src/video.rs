//! Video files through OpenCV's `VideoCapture`, played at their own rate and looped.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use opencv::core::Mat;
use opencv::prelude::*;
use opencv::videoio::{self, VideoCapture};
use tracing::warn;
use vitrine_frame::{CaptureTime, Frame};

use crate::{frame_from_bgr_mat, CaptureError, CaptureOptions, FrameSource};

/// Consecutive unreadable frames after which a file counts as broken rather than glitchy.
const MAX_CONSECUTIVE_FAILURES: u32 = 25;

pub struct VideoSource {
    path: PathBuf,
    capture: VideoCapture,
    frame_interval: Duration,
    frame_count: i64,
    options: CaptureOptions,
    next_due: Option<Instant>,
    mat: Mat,
    seq: u64,
    skipped: u64,
    size: (i32, i32),
}

impl VideoSource {
    pub fn open(path: &Path, options: &CaptureOptions) -> Result<Self, CaptureError> {
        let open_err = |reason: String| CaptureError::VideoOpen { path: path.to_owned(), reason };
        if !path.is_file() {
            return Err(open_err("no such file".into()));
        }
        let capture = VideoCapture::from_file(path, videoio::CAP_ANY).map_err(|e| open_err(e.to_string()))?;
        if !capture.is_opened().unwrap_or(false) {
            return Err(open_err("not a video OpenCV can decode".into()));
        }
        let fps = capture.get(videoio::CAP_PROP_FPS).unwrap_or(0.0);
        let fps = if fps.is_finite() && fps > 0.5 && fps < 240.0 { fps } else { options.fps.max(1) as f64 };
        let frame_count = capture.get(videoio::CAP_PROP_FRAME_COUNT).unwrap_or(0.0) as i64;
        let size = (
            capture.get(videoio::CAP_PROP_FRAME_WIDTH).unwrap_or(0.0) as i32,
            capture.get(videoio::CAP_PROP_FRAME_HEIGHT).unwrap_or(0.0) as i32,
        );
        Ok(Self {
            path: path.to_owned(),
            capture,
            frame_interval: Duration::from_secs_f64(1.0 / fps),
            frame_count,
            options: options.clone(),
            next_due: None,
            mat: Mat::default(),
            seq: 0,
            skipped: 0,
            size,
        })
    }

    /// The clip's frame rate (or the configured one where the file does not say).
    pub fn fps(&self) -> f64 {
        1.0 / self.frame_interval.as_secs_f64()
    }

    fn position(&self) -> i64 {
        self.capture.get(videoio::CAP_PROP_POS_FRAMES).unwrap_or(0.0) as i64
    }

    fn rewind(&mut self) -> Result<(), CaptureError> {
        // Re-opening is more reliable than seeking for some containers.
        self.capture = VideoCapture::from_file(&self.path, videoio::CAP_ANY)?;
        Ok(())
    }

    fn pace(&mut self) {
        if !self.options.realtime {
            return;
        }
        let now = Instant::now();
        let due = self.next_due.unwrap_or(now);
        if due > now {
            std::thread::sleep(due - now);
        }
        // If we fell behind, don't try to catch up with a burst: restart the clock.
        let base = if due + self.frame_interval < now { now } else { due };
        self.next_due = Some(base + self.frame_interval);
    }
}

impl FrameSource for VideoSource {
    fn describe(&self) -> String {
        format!(
            "video {} ({}x{} @ {:.1} fps)",
            self.path.display(),
            self.size.0,
            self.size.1,
            1.0 / self.frame_interval.as_secs_f64()
        )
    }

    fn next_frame(&mut self) -> Result<Frame, CaptureError> {
        self.pace();
        let mut failures = 0;
        let mut rewound = false;
        loop {
            let ok = self.capture.read(&mut self.mat).unwrap_or(false) && !self.mat.empty();
            if ok {
                let captured = CaptureTime::now();
                self.seq += 1;
                return Ok(frame_from_bgr_mat(&self.mat)?.with_meta(self.seq, captured));
            }
            let at_end = self.frame_count <= 0 || self.position() >= self.frame_count - 1;
            if at_end {
                if !self.options.looping || rewound {
                    return Err(CaptureError::EndOfStream);
                }
                self.rewind()?;
                rewound = true;
                continue;
            }
            // A damaged frame in the middle: skip it, say so, keep playing.
            failures += 1;
            self.skipped += 1;
            warn!(path = %self.path.display(), position = self.position(), "skipping an unreadable video frame");
            if failures >= MAX_CONSECUTIVE_FAILURES {
                return Err(CaptureError::Backend(format!("{}: {failures} unreadable frames in a row", self.path.display())));
            }
            let next = self.position() + 1;
            let _ = self.capture.set(videoio::CAP_PROP_POS_FRAMES, next as f64);
        }
    }

    fn skipped(&self) -> u64 {
        self.skipped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clip() -> Option<PathBuf> {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/media/videos/intel_asl_sorry.mp4");
        p.is_file().then_some(p)
    }

    #[test]
    fn missing_and_non_video_files_are_clear_errors() {
        let err = VideoSource::open(Path::new("/nonexistent.mp4"), &CaptureOptions::default()).err().unwrap();
        assert!(err.to_string().contains("/nonexistent.mp4"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.mp4");
        std::fs::write(&junk, b"this is not a video").unwrap();
        let err = VideoSource::open(&junk, &CaptureOptions::default()).err().unwrap();
        assert!(err.to_string().contains("junk.mp4"), "{err}");
    }

    #[test]
    fn plays_a_real_clip_with_increasing_timestamps_and_loops() {
        let Some(path) = clip() else { return eprintln!("shared media missing; skipped") };
        let opts = CaptureOptions { realtime: false, ..Default::default() };
        let mut src = VideoSource::open(&path, &opts).unwrap();
        let first = src.next_frame().unwrap();
        assert_eq!((first.width(), first.height()), (640, 480));
        let mut last = first.captured.instant;
        let mut n = 1;
        while n < 200 {
            let f = src.next_frame().unwrap();
            assert!(f.captured.instant >= last);
            last = f.captured.instant;
            n += 1;
        }
        // The clip is 2.4 s long, so 200 frames means it looped.
        assert_eq!(src.skipped(), 0);

        let once = CaptureOptions { realtime: false, looping: false, ..Default::default() };
        let mut src = VideoSource::open(&path, &once).unwrap();
        let mut count = 0;
        loop {
            match src.next_frame() {
                Ok(_) => count += 1,
                Err(CaptureError::EndOfStream) => break,
                Err(e) => panic!("{e}"),
            }
        }
        assert!((50..=90).contains(&count), "{count} frames in a 2.4 s clip");
    }
}

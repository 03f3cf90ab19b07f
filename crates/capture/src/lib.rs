//! Frame sources for the kiosk: a camera (nokhwa), a video file (OpenCV), or still images,
//! all behind one [`FrameSource`] trait; plus the newest-frame-wins [`LatestSlot`] and the
//! capture thread that fills it, so a slow consumer never builds up latency.

mod camera;
mod images;
mod slot;
mod thread;
mod video;

use std::path::PathBuf;
use std::str::FromStr;

pub use camera::{camera_present, list_cameras, CameraSource};
pub use images::ImageSource;
pub use slot::LatestSlot;
pub use thread::{CaptureHandle, CaptureStats, SourceState, SourceStatus};
pub use video::VideoSource;
use vitrine_frame::Frame;

/// What the kiosk should read frames from, as written in config and on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    /// `camera:INDEX`
    Camera(u32),
    /// `video:PATH`, looped at the file's own frame rate.
    Video(PathBuf),
    /// `images:PATH`, one image or a folder of them, shown in turn.
    Images(PathBuf),
}

impl FromStr for SourceSpec {
    type Err = CaptureError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || CaptureError::BadSpec(s.to_owned());
        let (kind, rest) = s.split_once(':').ok_or_else(bad)?;
        match kind {
            "camera" => rest.parse().map(SourceSpec::Camera).map_err(|_| bad()),
            "video" if !rest.is_empty() => Ok(SourceSpec::Video(rest.into())),
            "images" | "image" if !rest.is_empty() => Ok(SourceSpec::Images(rest.into())),
            _ => Err(bad()),
        }
    }
}

impl std::fmt::Display for SourceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SourceSpec::Camera(i) => write!(f, "camera:{i}"),
            SourceSpec::Video(p) => write!(f, "video:{}", p.display()),
            SourceSpec::Images(p) => write!(f, "images:{}", p.display()),
        }
    }
}

/// Options shared by every backend.
#[derive(Debug, Clone)]
pub struct CaptureOptions {
    /// Requested camera size; files keep their own size.
    pub width: u32,
    pub height: u32,
    /// Camera rate, and the rate still images are shown at.
    pub fps: u32,
    /// Sleep between file frames so playback runs at the file's own rate (off for benchmarks).
    pub realtime: bool,
    /// Start a video or image folder again at its end.
    pub looping: bool,
}

impl Default for CaptureOptions {
    fn default() -> Self {
        Self { width: 1280, height: 720, fps: 30, realtime: true, looping: true }
    }
}

/// Hint appended to every "no input" error so people know what else they can use.
pub const ALTERNATIVES: &str = "use --source video:PATH (a video file) or --source images:PATH (an image or a folder), or set [camera] source in vitrine.toml";

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("bad source {0:?}: expected camera:INDEX, video:PATH or images:PATH")]
    BadSpec(String),
    #[error("no camera found{detail}; {ALTERNATIVES}")]
    NoCamera { detail: String },
    #[error("camera {index} could not be opened: {reason}; {ALTERNATIVES}")]
    CameraOpen { index: u32, reason: String },
    #[error("camera {index} stopped delivering frames (unplugged?): {reason}; {ALTERNATIVES}")]
    CameraLost { index: u32, reason: String },
    #[error("cannot open video {path}: {reason}")]
    VideoOpen { path: PathBuf, reason: String },
    #[error("no readable images in {path}: {reason}")]
    NoImages { path: PathBuf, reason: String },
    #[error("the source has no more frames")]
    EndOfStream,
    #[error("{0}")]
    Backend(String),
}

impl From<opencv::Error> for CaptureError {
    fn from(e: opencv::Error) -> Self {
        CaptureError::Backend(format!("OpenCV: {e}"))
    }
}

/// Anything frames can be read from. `next_frame` blocks until the next frame is due.
/// Not `Send`: camera handles are tied to the thread that opened them, so sources are opened
/// on the capture thread itself (see [`CaptureHandle::spawn`]).
pub trait FrameSource {
    /// Human-readable name, e.g. "video var/demo/astronaut_720p.mp4 (1280x720 @ 30 fps)".
    fn describe(&self) -> String;
    fn next_frame(&mut self) -> Result<Frame, CaptureError>;
    /// Frames this source skipped because they could not be decoded.
    fn skipped(&self) -> u64 {
        0
    }
}

/// Opens the source a spec names.
pub fn open(spec: &SourceSpec, options: &CaptureOptions) -> Result<Box<dyn FrameSource>, CaptureError> {
    Ok(match spec {
        SourceSpec::Camera(index) => Box::new(CameraSource::open(*index, options)?),
        SourceSpec::Video(path) => Box::new(VideoSource::open(path, options)?),
        SourceSpec::Images(path) => Box::new(ImageSource::open(path, options)?),
    })
}

/// Wraps an OpenCV BGR `Mat` as a [`Frame`], copying its pixels once.
pub fn frame_from_bgr_mat(mat: &opencv::core::Mat) -> Result<Frame, CaptureError> {
    use opencv::prelude::*;
    let (width, height) = (mat.cols() as u32, mat.rows() as u32);
    if mat.typ() != opencv::core::CV_8UC3 {
        return Err(CaptureError::Backend(format!("unexpected OpenCV pixel type {}", mat.typ())));
    }
    let data = if mat.is_continuous() { mat.data_bytes()?.to_vec() } else { mat.try_clone()?.data_bytes()?.to_vec() };
    Frame::new(width, height, vitrine_frame::PixelFormat::Bgr8, data).map_err(|e| CaptureError::Backend(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_source_specs() {
        assert_eq!("camera:2".parse::<SourceSpec>().unwrap(), SourceSpec::Camera(2));
        assert_eq!("video:a/b.mp4".parse::<SourceSpec>().unwrap(), SourceSpec::Video("a/b.mp4".into()));
        assert_eq!("images:dir".parse::<SourceSpec>().unwrap(), SourceSpec::Images("dir".into()));
        for bad in ["camera:x", "video:", "webcam:0", "nothing"] {
            assert!(matches!(bad.parse::<SourceSpec>(), Err(CaptureError::BadSpec(_))), "{bad}");
        }
        assert_eq!(SourceSpec::Video("a.mp4".into()).to_string(), "video:a.mp4");
    }
}

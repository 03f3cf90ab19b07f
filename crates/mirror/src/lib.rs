//! The mirror pipeline: newest camera frame → person segmentation → background blurred or
//! replaced → mirrored → JPEG for the WebView, with per-stage timings.
//!
//! Everything happens in memory; nothing here writes a file.

mod board;
mod pipeline;
mod runner;

pub use board::FrameBoard;
pub use pipeline::{EncodedFrame, MirrorOptions, MirrorPipeline, StageTimings};
pub use runner::{MirrorRunner, MirrorStats};
pub use vitrine_config::BackgroundMode;

#[derive(Debug, thiserror::Error)]
pub enum MirrorError {
    #[error(transparent)]
    Vision(#[from] vitrine_vision::VisionError),
    #[error("OpenCV: {0}")]
    OpenCv(#[from] opencv::Error),
    #[error(transparent)]
    TryOn(#[from] vitrine_tryon::TryOnError),
    #[error("JPEG encoding produced no data")]
    Encode,
}

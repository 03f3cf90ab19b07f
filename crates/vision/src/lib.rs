//! Vision models as typed functions over frames: person segmentation and body pose.
//!
//! Each wraps a registry model, owns its scratch buffers (so the per-frame path does not
//! allocate), and speaks in frame coordinates.

mod pose;
mod segment;
mod tryon_gan;

pub use pose::{Landmark, Pose, PoseEstimator, LANDMARK_NAMES};
pub use segment::{PersonMask, PersonSegmenter};
pub use tryon_gan::{evaluate_restoration, plain_composite, GanResolution, RestorationEval, TryOnGan};

use opencv::core::Mat;
use opencv::prelude::*;
use vitrine_frame::{Frame, PixelFormat};

#[derive(Debug, thiserror::Error)]
pub enum VisionError {
    #[error(transparent)]
    Infer(#[from] vitrine_infer::InferError),
    #[error("model {model} is not a {task} model: {reason}")]
    WrongModel { model: String, task: &'static str, reason: String },
    #[error("OpenCV: {0}")]
    OpenCv(#[from] opencv::Error),
    #[error("unsupported frame format {0:?}")]
    Format(PixelFormat),
    #[error("bad try-on input: {0}")]
    BadInput(String),
}

/// Borrowless copy of a frame into an OpenCV `Mat` with BGR order (what OpenCV expects).
pub fn frame_to_bgr_mat(frame: &Frame, mat: &mut Mat) -> Result<(), VisionError> {
    let (rows, cols) = (frame.height() as i32, frame.width() as i32);
    let typ = match frame.format() {
        PixelFormat::Rgb8 | PixelFormat::Bgr8 => opencv::core::CV_8UC3,
        PixelFormat::Gray8 => return Err(VisionError::Format(PixelFormat::Gray8)),
    };
    if mat.rows() != rows || mat.cols() != cols || mat.typ() != typ {
        *mat = Mat::new_rows_cols_with_default(rows, cols, typ, opencv::core::Scalar::all(0.0))?;
    }
    mat.data_bytes_mut()?.copy_from_slice(frame.data());
    if frame.format() == PixelFormat::Rgb8 {
        let rgb = mat.try_clone()?;
        opencv::imgproc::cvt_color(&rgb, mat, opencv::imgproc::COLOR_RGB2BGR, 0)?;
    }
    Ok(())
}

/// Resizes a BGR image to `size` and fills a model input tensor from it.
pub(crate) fn bgr_to_input(
    bgr: &Mat,
    size: (usize, usize),
    spec: &vitrine_infer::TensorSpec,
    resized: &mut Mat,
    rgb: &mut Mat,
    out: &mut Vec<f32>,
) -> Result<(), VisionError> {
    use opencv::imgproc;
    imgproc::resize(bgr, resized, opencv::core::Size::new(size.0 as i32, size.1 as i32), 0.0, 0.0, imgproc::INTER_AREA)?;
    imgproc::cvt_color(resized, rgb, imgproc::COLOR_BGR2RGB, 0)?;
    vitrine_infer::tensor::rgb8_into_input(rgb.data_bytes()?, size.0, size.1, spec, out);
    Ok(())
}

#[cfg(test)]
pub(crate) mod testutil {
    use std::path::{Path, PathBuf};

    use vitrine_infer::{Registry, Runtime, RuntimeOptions};

    pub fn repo_root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
    }

    pub fn registry() -> Registry {
        let runtime = Runtime::init(&RuntimeOptions { intra_threads: 2, ..Default::default() }).expect("ONNX Runtime (run scripts/setup.sh)");
        Registry::load(&runtime, &repo_root().join("models"))
    }

    pub fn people_dir() -> Option<PathBuf> {
        let dir = repo_root().join("../shared/data/media/people");
        dir.is_dir().then_some(dir)
    }

    pub fn load_frame(path: &Path) -> vitrine_frame::Frame {
        let mat = opencv::imgcodecs::imread(path, opencv::imgcodecs::IMREAD_COLOR).unwrap();
        vitrine_capture::frame_from_bgr_mat(&mat).unwrap()
    }
}

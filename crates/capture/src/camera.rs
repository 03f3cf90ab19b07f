//! Camera capture through nokhwa (V4L2 on Linux).

use nokhwa::pixel_format::RgbFormat;
use nokhwa::utils::{ApiBackend, CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType, Resolution};
use nokhwa::Camera;
use vitrine_frame::{CaptureTime, Frame, PixelFormat};

use crate::{CaptureError, CaptureOptions, FrameSource};

/// Names of the cameras the system reports; empty when there are none.
pub fn list_cameras() -> Vec<String> {
    nokhwa::query(ApiBackend::Auto)
        .map(|cams| cams.iter().map(|c| format!("{}: {}", c.index(), c.human_name())).collect())
        .unwrap_or_default()
}

/// Camera `index`'s name when it is there, without opening it; the error says what is
/// present and what to use instead.
pub fn camera_present(index: u32) -> Result<String, CaptureError> {
    let cameras = nokhwa::query(ApiBackend::Auto).unwrap_or_default();
    if cameras.is_empty() {
        return Err(CaptureError::NoCamera { detail: String::new() });
    }
    match cameras.iter().find(|c| c.index() == &CameraIndex::Index(index)) {
        Some(camera) => Ok(camera.human_name()),
        None => {
            let known = cameras.iter().map(|c| c.index().to_string()).collect::<Vec<_>>().join(", ");
            Err(CaptureError::NoCamera { detail: format!(" at index {index} (cameras present: {known})") })
        }
    }
}

pub struct CameraSource {
    index: u32,
    camera: Camera,
    seq: u64,
}

impl CameraSource {
    pub fn open(index: u32, options: &CaptureOptions) -> Result<Self, CaptureError> {
        camera_present(index)?;
        let wanted = CameraFormat::new(Resolution::new(options.width, options.height), FrameFormat::MJPEG, options.fps);
        let format = RequestedFormat::new::<RgbFormat>(RequestedFormatType::Closest(wanted));
        let open_err = |e: nokhwa::NokhwaError| CaptureError::CameraOpen { index, reason: e.to_string() };
        let mut camera = Camera::new(CameraIndex::Index(index), format).map_err(open_err)?;
        camera.open_stream().map_err(open_err)?;
        Ok(Self { index, camera, seq: 0 })
    }
}

impl FrameSource for CameraSource {
    fn describe(&self) -> String {
        let f = self.camera.camera_format();
        format!("camera {} {} ({}x{} @ {} fps)", self.index, self.camera.info().human_name(), f.width(), f.height(), f.frame_rate())
    }

    fn next_frame(&mut self) -> Result<Frame, CaptureError> {
        let lost = |e: nokhwa::NokhwaError| CaptureError::CameraLost { index: self.index, reason: e.to_string() };
        let buffer = self.camera.frame().map_err(lost)?;
        let captured = CaptureTime::now();
        let image = buffer.decode_image::<RgbFormat>().map_err(lost)?;
        let (w, h) = image.dimensions();
        self.seq += 1;
        let frame = Frame::new(w, h, PixelFormat::Rgb8, image.into_raw()).map_err(|e| CaptureError::Backend(e.to_string()))?;
        Ok(frame.with_meta(self.seq, captured))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On a machine without a camera (CI, this box) opening one must be a clear error that
    /// names the alternatives; with a camera it must deliver a frame.
    #[test]
    fn camera_gives_a_frame_or_a_clear_error() {
        match CameraSource::open(0, &CaptureOptions::default()) {
            Ok(mut cam) => assert!(cam.next_frame().is_ok()),
            Err(e) => {
                let msg = e.to_string();
                assert!(msg.contains("video:PATH") && msg.contains("images:PATH"), "{msg}");
            }
        }
        let err = CameraSource::open(99, &CaptureOptions::default()).err().expect("no machine has 100 cameras");
        assert!(err.to_string().contains("camera"), "{err}");
    }
}

//! What a scan reads: one photo, a folder of photos, or a video sweep sampled to a few
//! frames. An unreadable photo or video frame is kept as a note (the report says it was
//! skipped), never a crash; only a path that does not exist or holds nothing usable is an error.

use std::path::{Path, PathBuf};

use opencv::core::Mat;
use opencv::prelude::*;
use opencv::videoio::{self, VideoCapture};
use tracing::warn;
use vitrine_frame::Frame;

use crate::ShelfError;

const IMAGE_EXTENSIONS: &[&str] = &["jpg", "jpeg", "png", "bmp", "webp", "tif", "tiff"];
const VIDEO_EXTENSIONS: &[&str] = &["mp4", "avi", "mov", "mkv", "webm", "m4v"];
/// Unreadable frames in a row after which the rest of a video is given up.
const MAX_CONSECUTIVE_FAILURES: usize = 25;

/// One picture of the input: where it came from, and its pixels or why there are none.
#[derive(Debug)]
pub struct InputFrame {
    /// File name, or `file#frame` for a video frame.
    pub source: String,
    pub image: Result<Mat, String>,
}

pub fn is_video(path: &Path) -> bool {
    has_extension(path, VIDEO_EXTENSIONS)
}

fn has_extension(path: &Path, list: &[&str]) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| list.contains(&e.to_ascii_lowercase().as_str()))
}

fn name_of(path: &Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}

/// Reads the input at `path`; a video gives at most `video_frames` evenly spaced frames.
pub fn load(path: &Path, video_frames: usize) -> Result<Vec<InputFrame>, ShelfError> {
    let err = |reason: &str| ShelfError::Input { path: path.to_owned(), reason: reason.to_owned() };
    if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| err(&e.to_string()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && (has_extension(p, IMAGE_EXTENSIONS) || is_video(p)))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(err("the folder holds no photos or videos"));
        }
        let mut frames = Vec::new();
        for file in files {
            if is_video(&file) {
                frames.extend(load_video(&file, video_frames)?);
            } else {
                frames.push(load_image(&file));
            }
        }
        Ok(frames)
    } else if path.is_file() {
        if is_video(path) {
            load_video(path, video_frames)
        } else {
            Ok(vec![load_image(path)])
        }
    } else {
        Err(err("no such file or folder"))
    }
}

fn load_image(path: &Path) -> InputFrame {
    let source = name_of(path);
    let image = match opencv::imgcodecs::imread(&path, opencv::imgcodecs::IMREAD_COLOR) {
        Ok(mat) if !mat.empty() => Ok(mat),
        Ok(_) => Err("not a readable image (damaged or unknown format)".to_owned()),
        Err(e) => Err(format!("cannot decode: {e}")),
    };
    if let Err(reason) = &image {
        warn!(%source, reason, "skipped an unreadable photo");
    }
    InputFrame { source, image }
}

/// Samples `wanted` frames evenly over the video. Every frame is read in order (seeking is
/// unreliable in many containers); a frame that fails to decode before the end is noted and
/// skipped.
pub fn load_video(path: &Path, wanted: usize) -> Result<Vec<InputFrame>, ShelfError> {
    let err = |reason: String| ShelfError::Input { path: path.to_owned(), reason };
    let mut capture = VideoCapture::from_file(&path, videoio::CAP_ANY).map_err(|e| err(e.to_string()))?;
    if !capture.is_opened().unwrap_or(false) {
        return Err(err("not a video OpenCV can decode".into()));
    }
    let total = capture.get(videoio::CAP_PROP_FRAME_COUNT).unwrap_or(0.0).max(0.0) as usize;
    let wanted = wanted.max(1);
    // Without a frame count, take every 15th frame up to `wanted`.
    let step = if total > 0 { total.div_ceil(wanted).max(1) } else { 15 };
    let name = name_of(path);
    let mut frames = Vec::new();
    let mut mat = Mat::default();
    let mut failures_in_row = 0;
    let mut index = 0usize;
    loop {
        if frames.iter().filter(|f: &&InputFrame| f.image.is_ok()).count() >= wanted || (total > 0 && index >= total) {
            break;
        }
        let ok = capture.read(&mut mat).unwrap_or(false) && !mat.empty();
        if ok {
            failures_in_row = 0;
            if index % step == 0 {
                frames.push(InputFrame { source: format!("{name}#{index}"), image: Ok(mat.try_clone()?) });
            }
        } else {
            // Past the known end, or no count and nothing more: the video is over.
            if total == 0 || index >= total {
                break;
            }
            failures_in_row += 1;
            warn!(video = %name, frame = index, "skipped an unreadable video frame");
            frames.push(InputFrame { source: format!("{name}#{index}"), image: Err("unreadable video frame, skipped".into()) });
            if failures_in_row >= MAX_CONSECUTIVE_FAILURES {
                frames.push(InputFrame {
                    source: format!("{name}#{}", index + 1),
                    image: Err(format!("{MAX_CONSECUTIVE_FAILURES} unreadable frames in a row: the rest of the video was not read")),
                });
                break;
            }
        }
        index += 1;
    }
    if frames.is_empty() {
        return Err(err("no frame of the video could be read".into()));
    }
    Ok(frames)
}

/// A frame from the kiosk's camera as the OpenCV image the scan works on (BGR).
pub fn frame_to_bgr(frame: &Frame) -> Result<Mat, ShelfError> {
    let mut mat = Mat::default();
    vitrine_vision::frame_to_bgr_mat(frame, &mut mat)?;
    Ok(mat)
}

/// Decodes an encoded image (JPEG, PNG, …) held in memory; `None` if it is not one.
pub fn decode_image(bytes: &[u8]) -> Option<Mat> {
    let buf = opencv::core::Vector::<u8>::from_slice(bytes);
    opencv::imgcodecs::imdecode(&buf, opencv::imgcodecs::IMREAD_COLOR).ok().filter(|m| !m.empty())
}

/// JPEG bytes of an image (quality 90).
pub fn encode_jpeg(image: &Mat) -> Result<Vec<u8>, ShelfError> {
    let mut buf = opencv::core::Vector::<u8>::new();
    let params = opencv::core::Vector::<i32>::from_slice(&[opencv::imgcodecs::IMWRITE_JPEG_QUALITY, 90]);
    opencv::imgcodecs::imencode(".jpg", image, &mut buf, &params)?;
    Ok(buf.to_vec())
}

/// Hex sha256 of some bytes (a reference photo's identity).
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

//! Body pose (MediaPipe BlazePose landmark): 33 landmarks from a person-centred crop.
//!
//! BlazePose places hips and shoulders correctly only when the crop is centred on the person,
//! so the crop comes from the person mask's bounding box (no separate detector needed).

use opencv::core::{Mat, Point2f, Scalar, Size, Vector, BORDER_CONSTANT};
use opencv::imgproc;
use opencv::prelude::*;
use vitrine_frame::Frame;
use vitrine_infer::tensor::Tensor;
use vitrine_infer::{Registry, SharedModel, TensorSpec};

use crate::{frame_to_bgr_mat, PersonMask, VisionError};

/// BlazePose's 33 body landmarks, in model order.
pub const LANDMARK_NAMES: [&str; 33] = [
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye", "right_eye_outer",
    "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_pinky", "right_pinky", "left_index", "right_index",
    "left_thumb", "right_thumb", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index",
];

/// One landmark in frame pixels; `visibility` and `presence` are probabilities.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Landmark {
    pub x: f32,
    pub y: f32,
    /// Depth relative to the hips, in the same pixel scale (smaller is nearer the camera).
    pub z: f32,
    pub visibility: f32,
    pub presence: f32,
}

#[derive(Debug, Clone)]
pub struct Pose {
    pub landmarks: Vec<Landmark>,
    /// Probability that a person is in the crop at all.
    pub score: f32,
}

impl Pose {
    pub fn landmark(&self, name: &str) -> Option<&Landmark> {
        LANDMARK_NAMES.iter().position(|n| *n == name).map(|i| &self.landmarks[i])
    }
}

pub struct PoseEstimator {
    model: SharedModel,
    spec: TensorSpec,
    size: usize,
    bgr: Mat,
    crop: Mat,
    rgb: Mat,
    input: Vec<f32>,
}

const CROP_MARGIN: f32 = 1.25;

impl PoseEstimator {
    pub fn new(registry: &Registry, name: &str) -> Result<Self, VisionError> {
        let model = registry.model(name)?;
        let spec = {
            let m = model.lock().unwrap_or_else(|e| e.into_inner());
            let manifest = m.manifest();
            let wrong = |reason: String| VisionError::WrongModel { model: name.into(), task: "pose-landmarks", reason };
            if manifest.task != "pose-landmarks" {
                return Err(wrong(format!("its task is {:?}", manifest.task)));
            }
            if manifest.outputs.len() < 2 || manifest.outputs[0].shape.last() != Some(&195) {
                return Err(wrong("its first output is not 39 landmarks x 5 values".into()));
            }
            manifest.inputs[0].clone()
        };
        let size = match spec.image_size() {
            Some((w, h)) if w == h => w,
            _ => return Err(VisionError::WrongModel { model: name.into(), task: "pose-landmarks", reason: "input is not a square image".into() }),
        };
        Ok(Self { model, spec, size, bgr: Mat::default(), crop: Mat::default(), rgb: Mat::default(), input: Vec::new() })
    }

    /// Estimates the pose of the person the mask shows; `None` when the mask is empty.
    pub fn estimate(&mut self, frame: &Frame, mask: &PersonMask) -> Result<Option<Pose>, VisionError> {
        let Some((x0, y0, x1, y1)) = mask.bounding_box() else { return Ok(None) };
        let (fw, fh) = (frame.width() as f32, frame.height() as f32);
        let (cx, cy) = ((x0 + x1) / 2.0 * fw, (y0 + y1) / 2.0 * fh);
        let side = ((x1 - x0) * fw).max((y1 - y0) * fh) * CROP_MARGIN;
        frame_to_bgr_mat(frame, &mut self.bgr)?;
        self.estimate_in_box(cx, cy, side).map(Some)
    }

    /// Estimates the pose inside a square box (centre and side in frame pixels).
    pub fn estimate_in_box(&mut self, cx: f32, cy: f32, side: f32) -> Result<Pose, VisionError> {
        let n = self.size as f32;
        let scale = n / side.max(1.0);
        // Affine map frame -> crop: scale about the box centre, then move it to the crop centre.
        let from = Vector::<Point2f>::from_iter([
            Point2f::new(cx - side / 2.0, cy - side / 2.0),
            Point2f::new(cx + side / 2.0, cy - side / 2.0),
            Point2f::new(cx - side / 2.0, cy + side / 2.0),
        ]);
        let to = Vector::<Point2f>::from_iter([Point2f::new(0.0, 0.0), Point2f::new(n, 0.0), Point2f::new(0.0, n)]);
        let affine = imgproc::get_affine_transform(&from, &to)?;
        let dsize = Size::new(self.size as i32, self.size as i32);
        imgproc::warp_affine(&self.bgr, &mut self.crop, &affine, dsize, imgproc::INTER_LINEAR, BORDER_CONSTANT, Scalar::all(0.0))?;
        imgproc::cvt_color(&self.crop, &mut self.rgb, imgproc::COLOR_BGR2RGB, 0)?;
        vitrine_infer::tensor::rgb8_into_input(self.rgb.data_bytes()?, self.size, self.size, &self.spec, &mut self.input);
        let input = Tensor::borrowed(vec![1, self.size as i64, self.size as i64, 3], &self.input);
        let outputs = self.model.lock().unwrap_or_else(|e| e.into_inner()).run(&[input])?;
        let raw = &outputs[0].data;
        let score = outputs[1].data.first().copied().unwrap_or(0.0);
        let (left, top) = (cx - side / 2.0, cy - side / 2.0);
        let landmarks = raw
            .chunks_exact(5)
            .take(LANDMARK_NAMES.len())
            .map(|v| Landmark {
                x: left + v[0] / scale,
                y: top + v[1] / scale,
                z: v[2] / scale,
                visibility: sigmoid(v[3]),
                presence: sigmoid(v[4]),
            })
            .collect();
        Ok(Pose { landmarks, score })
    }
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::PersonSegmenter;

    /// A real full-body photo: shoulders above hips above ankles, the nose near the top, and
    /// the person's left/right the right way round (the subject faces the camera).
    #[test]
    fn finds_a_plausible_pose_on_a_real_photo() {
        let registry = registry();
        let Some(dir) = people_dir() else { return eprintln!("shared media missing; skipped") };
        let frame = load_frame(&dir.join("tfjs_pose.jpg"));
        let mut seg = PersonSegmenter::new(&registry, "selfie_segmentation").unwrap();
        let mut pose = PoseEstimator::new(&registry, "pose_landmark_lite").unwrap();
        let mask = seg.segment(&frame).unwrap();
        let p = pose.estimate(&frame, &mask).unwrap().expect("a person");
        assert!(p.score > 0.5, "score {}", p.score);
        let y = |n: &str| p.landmark(n).unwrap().y;
        let x = |n: &str| p.landmark(n).unwrap().x;
        assert!(y("nose") < y("left_shoulder") && y("left_shoulder") < y("left_hip") && y("left_hip") < y("left_ankle"));
        assert!(x("left_shoulder") > x("right_shoulder"), "facing the camera, the left shoulder is on the image's right");
        for lm in &p.landmarks[..25] {
            assert!(lm.x > -50.0 && lm.x < frame.width() as f32 + 50.0 && lm.y > -50.0 && lm.y < frame.height() as f32 + 50.0);
        }
    }

    #[test]
    fn empty_mask_means_no_pose() {
        let registry = registry();
        let mut pose = PoseEstimator::new(&registry, "pose_landmark_lite").unwrap();
        let frame = Frame::new(8, 8, vitrine_frame::PixelFormat::Bgr8, vec![0; 192]).unwrap();
        let mask = PersonMask { width: 4, height: 4, data: vec![0.0; 16] };
        assert!(pose.estimate(&frame, &mask).unwrap().is_none());
    }
}

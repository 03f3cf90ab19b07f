//! Person segmentation (MediaPipe selfie segmentation): a per-pixel person probability.

use opencv::core::Mat;
use vitrine_frame::Frame;
use vitrine_infer::tensor::Tensor;
use vitrine_infer::{Registry, SharedModel, TensorSpec};

use crate::{bgr_to_input, frame_to_bgr_mat, VisionError};

/// Person probability at the model's resolution (row-major, 0..=1).
#[derive(Debug, Clone)]
pub struct PersonMask {
    pub width: usize,
    pub height: usize,
    pub data: Vec<f32>,
}

impl PersonMask {
    /// Fraction of pixels in the rectangle (given as fractions of the image) above 0.5.
    pub fn coverage(&self, x0: f32, y0: f32, x1: f32, y1: f32) -> f32 {
        let (cx0, cx1) = ((x0 * self.width as f32) as usize, ((x1 * self.width as f32) as usize).min(self.width));
        let (cy0, cy1) = ((y0 * self.height as f32) as usize, ((y1 * self.height as f32) as usize).min(self.height));
        let mut on = 0usize;
        let mut total = 0usize;
        for y in cy0..cy1 {
            for x in cx0..cx1 {
                total += 1;
                on += (self.data[y * self.width + x] > 0.5) as usize;
            }
        }
        if total == 0 { 0.0 } else { on as f32 / total as f32 }
    }

    /// Bounding box of the person pixels (> 0.5) as fractions (x0, y0, x1, y1); `None` if empty.
    pub fn bounding_box(&self) -> Option<(f32, f32, f32, f32)> {
        let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
        for (i, &p) in self.data.iter().enumerate() {
            if p > 0.5 {
                let (x, y) = (i % self.width, i / self.width);
                x0 = x0.min(x);
                y0 = y0.min(y);
                x1 = x1.max(x + 1);
                y1 = y1.max(y + 1);
            }
        }
        (x0 != usize::MAX).then(|| {
            (x0 as f32 / self.width as f32, y0 as f32 / self.height as f32, x1 as f32 / self.width as f32, y1 as f32 / self.height as f32)
        })
    }

    /// The mask as 8-bit alpha (0..=255), for compositing.
    pub fn to_alpha(&self, out: &mut Vec<u8>) {
        out.clear();
        out.extend(self.data.iter().map(|&p| (p.clamp(0.0, 1.0) * 255.0 + 0.5) as u8));
    }
}

pub struct PersonSegmenter {
    model: SharedModel,
    spec: TensorSpec,
    size: (usize, usize),
    bgr: Mat,
    resized: Mat,
    rgb: Mat,
    input: Vec<f32>,
}

impl PersonSegmenter {
    /// Takes the named person-segmentation model from the registry.
    pub fn new(registry: &Registry, name: &str) -> Result<Self, VisionError> {
        let model = registry.model(name)?;
        let (spec, size) = {
            let m = model.lock().unwrap_or_else(|e| e.into_inner());
            let manifest = m.manifest();
            let wrong = |reason: &str| VisionError::WrongModel { model: name.into(), task: "person-segmentation", reason: reason.into() };
            if manifest.task != "person-segmentation" {
                return Err(wrong(&format!("its task is {:?}", manifest.task)));
            }
            let spec = manifest.inputs[0].clone();
            let size = spec.image_size().ok_or_else(|| wrong("its input is not a fixed-size image"))?;
            let out = &manifest.outputs[0].shape;
            if out.iter().product::<i64>() != (size.0 * size.1) as i64 {
                return Err(wrong("its first output is not one value per input pixel"));
            }
            (spec, size)
        };
        Ok(Self { model, spec, size, bgr: Mat::default(), resized: Mat::default(), rgb: Mat::default(), input: Vec::new() })
    }

    /// Model input size (width, height).
    pub fn input_size(&self) -> (usize, usize) {
        self.size
    }

    /// Segments a frame.
    pub fn segment(&mut self, frame: &Frame) -> Result<PersonMask, VisionError> {
        frame_to_bgr_mat(frame, &mut self.bgr)?;
        let bgr = std::mem::take(&mut self.bgr);
        let result = self.segment_bgr(&bgr);
        self.bgr = bgr;
        result
    }

    /// Segments an OpenCV BGR image (the mirror pipeline already has one).
    pub fn segment_bgr(&mut self, bgr: &Mat) -> Result<PersonMask, VisionError> {
        bgr_to_input(bgr, self.size, &self.spec, &mut self.resized, &mut self.rgb, &mut self.input)?;
        self.run_prepared()
    }

    /// Prepares the input only (for per-stage timing); follow with [`Self::run_prepared`].
    pub fn prepare_bgr(&mut self, bgr: &Mat) -> Result<(), VisionError> {
        bgr_to_input(bgr, self.size, &self.spec, &mut self.resized, &mut self.rgb, &mut self.input)
    }

    pub fn run_prepared(&mut self) -> Result<PersonMask, VisionError> {
        let (w, h) = self.size;
        let input = Tensor::borrowed(vec![1, h as i64, w as i64, 3], &self.input);
        let mut outputs = self.model.lock().unwrap_or_else(|e| e.into_inner()).run(&[input])?;
        let data = outputs.swap_remove(0).data.into_owned();
        Ok(PersonMask { width: w, height: h, data })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;

    #[test]
    fn mask_helpers() {
        let mut data = vec![0.0; 16];
        data[5] = 0.9;
        data[6] = 0.8;
        let mask = PersonMask { width: 4, height: 4, data };
        assert_eq!(mask.bounding_box(), Some((0.25, 0.25, 0.75, 0.5)));
        assert_eq!(mask.coverage(0.0, 0.0, 1.0, 1.0), 2.0 / 16.0);
        let mut alpha = Vec::new();
        mask.to_alpha(&mut alpha);
        assert_eq!((alpha[0], alpha[5]), (0, 230));
        assert_eq!(PersonMask { width: 2, height: 1, data: vec![0.1, 0.2] }.bounding_box(), None);
    }

    /// The real model on a real portrait: the person's centre is covered, the top corners
    /// (background) are not.
    #[test]
    fn segments_a_real_portrait() {
        let registry = registry();
        let mut seg = PersonSegmenter::new(&registry, "selfie_segmentation").unwrap();
        let Some(dir) = people_dir() else { return eprintln!("shared media missing; skipped") };
        let frame = load_frame(&dir.join("skimage_astronaut.png"));
        let mask = seg.segment(&frame).unwrap();
        assert!(mask.coverage(0.3, 0.3, 0.6, 0.7) > 0.9, "{}", mask.coverage(0.3, 0.3, 0.6, 0.7));
        assert!(mask.coverage(0.85, 0.0, 1.0, 0.15) < 0.1);
    }

    #[test]
    fn refuses_a_model_of_another_task() {
        let registry = registry();
        let err = PersonSegmenter::new(&registry, "pose_landmark_lite").err().unwrap();
        assert!(err.to_string().contains("pose-landmarks"), "{err}");
    }
}

//! One frame through the mirror: segment, composite, mirror, encode.

use std::time::Instant;

use opencv::core::{self, Mat, Scalar, Size, Vector};
use opencv::imgcodecs;
use opencv::imgproc;
use opencv::prelude::*;
use vitrine_config::BackgroundMode;
use vitrine_frame::{CaptureTime, Frame};
use vitrine_tryon::{FitNote, TryOn, TryOnPrompt, TryOnTimings, Worn};
use vitrine_vision::{frame_to_bgr_mat, PersonSegmenter};

use crate::MirrorError;

#[derive(Debug, Clone)]
pub struct MirrorOptions {
    pub background: BackgroundMode,
    /// 1..=100
    pub jpeg_quality: u8,
    /// Flip horizontally so the shopper sees a mirror image.
    pub flip: bool,
}

impl Default for MirrorOptions {
    fn default() -> Self {
        Self { background: BackgroundMode::Blur, jpeg_quality: 80, flip: true }
    }
}

/// Milliseconds spent in each stage of one frame.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct StageTimings {
    /// Frame into an OpenCV image, mirroring, resizing and normalising for the model.
    pub preprocess_ms: f64,
    pub infer_ms: f64,
    /// Mask upsampling, background blur or replacement, blending.
    pub composite_ms: f64,
    pub encode_ms: f64,
    pub total_ms: f64,
    /// Try-on stages (zero while no garment is selected).
    pub tryon: TryOnTimings,
}

/// A finished frame, ready for the WebView.
#[derive(Debug, Clone)]
pub struct EncodedFrame {
    pub jpeg: Vec<u8>,
    pub width: u32,
    pub height: u32,
    pub seq: u64,
    pub captured: CaptureTime,
    pub timings: StageTimings,
    /// What the shopper is asked to do when a garment is selected but cannot be shown.
    pub prompt: Option<TryOnPrompt>,
    /// Whether the chosen size looks tight or loose on the shopper.
    pub fit: Option<FitNote>,
}

pub struct MirrorPipeline {
    segmenter: Option<PersonSegmenter>,
    options: MirrorOptions,
    input: Mat,
    frame: Mat,
    small: Mat,
    alpha_for_blur: Mat,
    blurred_small: Mat,
    background: Mat,
    replacement: Mat,
    alpha_small: Mat,
    alpha: Mat,
    alpha3: Mat,
    out: Mat,
    alpha_bytes: Vec<u8>,
    jpeg: Vector<u8>,
    tryon: Option<TryOn>,
    /// The try-on filter's clock starts here.
    epoch: Instant,
}

/// Blur is computed at 1/BLUR_SCALE resolution: a large blur for a fraction of the cost.
const BLUR_SCALE: i32 = 4;

impl MirrorPipeline {
    /// `segmenter` is `None` when the segmentation model is disabled: frames are then shown
    /// as they are (no background effect) rather than not at all.
    pub fn new(segmenter: Option<PersonSegmenter>, options: MirrorOptions) -> Self {
        Self {
            segmenter,
            options,
            input: Mat::default(),
            frame: Mat::default(),
            small: Mat::default(),
            alpha_for_blur: Mat::default(),
            blurred_small: Mat::default(),
            background: Mat::default(),
            replacement: Mat::default(),
            alpha_small: Mat::default(),
            alpha: Mat::default(),
            alpha3: Mat::default(),
            out: Mat::default(),
            alpha_bytes: Vec::new(),
            jpeg: Vector::new(),
            tryon: None,
            epoch: Instant::now(),
        }
    }

    /// Adds the try-on stage (it draws only while a garment is selected).
    pub fn with_tryon(mut self, tryon: Option<TryOn>) -> Self {
        self.tryon = tryon;
        self
    }

    pub fn has_tryon(&self) -> bool {
        self.tryon.is_some() && self.segmenter.is_some()
    }

    /// Selects the garment to try on, or none.
    pub fn set_garment(&mut self, worn: Option<Worn>) -> Result<(), MirrorError> {
        if let Some(tryon) = self.tryon.as_mut() {
            tryon.set_garment(worn)?;
        }
        Ok(())
    }

    fn dressing(&self) -> bool {
        self.tryon.as_ref().is_some_and(|t| t.garment().is_some())
    }

    pub fn options(&self) -> &MirrorOptions {
        &self.options
    }

    pub fn set_background(&mut self, mode: BackgroundMode) {
        self.options.background = mode;
    }

    pub fn has_segmentation(&self) -> bool {
        self.segmenter.is_some()
    }

    pub fn process(&mut self, frame: &Frame) -> Result<EncodedFrame, MirrorError> {
        let start = Instant::now();
        let mut timings = StageTimings::default();
        frame_to_bgr_mat(frame, &mut self.input)?;
        if self.options.flip {
            core::flip(&self.input, &mut self.frame, 1)?;
        } else {
            std::mem::swap(&mut self.input, &mut self.frame);
        }
        let dressing = self.dressing();
        let segment = self.options.background != BackgroundMode::Off || dressing;
        let (mut prompt, mut fit) = (None, None);
        let composited = match self.segmenter.as_mut().filter(|_| segment) {
            Some(segmenter) => {
                segmenter.prepare_bgr(&self.frame)?;
                timings.preprocess_ms = ms_since(start);
                let t = Instant::now();
                let mask = segmenter.run_prepared()?;
                timings.infer_ms = ms_since(t);
                let t = Instant::now();
                if self.options.background == BackgroundMode::Off {
                    self.frame.copy_to(&mut self.out)?;
                } else {
                    mask.to_alpha(&mut self.alpha_bytes);
                    self.composite(mask.width, mask.height)?;
                }
                timings.composite_ms = ms_since(t);
                if let Some(tryon) = self.tryon.as_mut().filter(|_| dressing) {
                    let seconds = frame.captured.instant.duration_since(self.epoch).as_secs_f64();
                    prompt = tryon.apply(&mut self.out, &mask, seconds, &mut timings.tryon)?.prompt();
                    fit = tryon.fit_note().filter(|_| prompt.is_none());
                }
                true
            }
            None => {
                timings.preprocess_ms = ms_since(start);
                false
            }
        };
        let t = Instant::now();
        let shown = if composited { &self.out } else { &self.frame };
        let params = Vector::from_slice(&[imgcodecs::IMWRITE_JPEG_QUALITY, self.options.jpeg_quality as i32]);
        self.jpeg.clear();
        imgcodecs::imencode(".jpg", shown, &mut self.jpeg, &params)?;
        if self.jpeg.is_empty() {
            return Err(MirrorError::Encode);
        }
        timings.encode_ms = ms_since(t);
        timings.total_ms = ms_since(start);
        Ok(EncodedFrame {
            jpeg: self.jpeg.to_vec(),
            width: shown.cols() as u32,
            height: shown.rows() as u32,
            seq: frame.seq,
            captured: frame.captured,
            timings,
            prompt,
            fit,
        })
    }

    /// Blends the frame over the chosen background using the person mask as alpha.
    fn composite(&mut self, mask_w: usize, mask_h: usize) -> Result<(), MirrorError> {
        let size = self.frame.size()?;
        if self.alpha_small.rows() != mask_h as i32 || self.alpha_small.cols() != mask_w as i32 {
            self.alpha_small = Mat::new_rows_cols_with_default(mask_h as i32, mask_w as i32, core::CV_8UC1, Scalar::all(0.0))?;
        }
        self.alpha_small.data_bytes_mut()?.copy_from_slice(&self.alpha_bytes);
        imgproc::resize(&self.alpha_small, &mut self.alpha, size, 0.0, 0.0, imgproc::INTER_LINEAR)?;
        // One alpha byte per colour byte, so the blend is a flat loop the compiler vectorises.
        imgproc::cvt_color(&self.alpha, &mut self.alpha3, imgproc::COLOR_GRAY2BGR, 0)?;
        match self.options.background {
            BackgroundMode::Replace => {
                if self.replacement.size()? != size {
                    self.replacement = studio_backdrop(size)?;
                }
            }
            _ => {
                let small = Size::new((size.width / BLUR_SCALE).max(1), (size.height / BLUR_SCALE).max(1));
                imgproc::resize(&self.frame, &mut self.small, small, 0.0, 0.0, imgproc::INTER_AREA)?;
                imgproc::resize(&self.alpha_small, &mut self.alpha_for_blur, small, 0.0, 0.0, imgproc::INTER_LINEAR)?;
                self.blurred_small = background_only_blur(&self.small, &self.alpha_for_blur)?;
                imgproc::resize(&self.blurred_small, &mut self.background, size, 0.0, 0.0, imgproc::INTER_LINEAR)?;
            }
        }
        let background = if self.options.background == BackgroundMode::Replace { &self.replacement } else { &self.background };
        if self.out.size()? != size || self.out.typ() != core::CV_8UC3 {
            self.out = Mat::new_size_with_default(size, core::CV_8UC3, Scalar::all(0.0))?;
        }
        blend(self.frame.data_bytes()?, background.data_bytes()?, self.alpha3.data_bytes()?, self.out.data_bytes_mut()?);
        Ok(())
    }
}

/// out = fg·a + bg·(1−a), per byte, with 8-bit alpha (one alpha byte per colour byte).
/// u16 arithmetic with the exact round-to-nearest division by 255, so it vectorises.
fn blend(fg: &[u8], bg: &[u8], alpha: &[u8], out: &mut [u8]) {
    for (((o, &f), &b), &a) in out.iter_mut().zip(fg).zip(bg).zip(alpha) {
        let (a, f, b) = (a as u16, f as u16, b as u16);
        let v = f * a + b * (255 - a) + 128;
        *o = ((v + (v >> 8)) >> 8) as u8;
    }
}

/// Blurs only the background: a normalised convolution that weights each pixel by how much
/// it is *not* person, so the person's colours don't bleed into a halo around them.
fn background_only_blur(bgr: &Mat, alpha: &Mat) -> Result<Mat, MirrorError> {
    let size = bgr.size()?;
    let pixels = (size.width * size.height) as usize;
    let mut weighted = Mat::new_size_with_default(size, core::CV_32FC3, Scalar::all(0.0))?;
    let mut weight = Mat::new_size_with_default(size, core::CV_32FC1, Scalar::all(0.0))?;
    {
        let (src, a) = (bgr.data_bytes()?, alpha.data_bytes()?);
        let wv = weight.data_typed_mut::<f32>()?;
        for (w, &a) in wv.iter_mut().zip(a).take(pixels) {
            *w = 1.0 - a as f32 / 255.0;
        }
        let wv = weight.data_typed::<f32>()?.to_vec();
        let dst = weighted.data_typed_mut::<core::Vec3f>()?;
        for ((d, px), w) in dst.iter_mut().zip(src.chunks_exact(3)).zip(&wv) {
            *d = core::Vec3f::from([px[0] as f32 * w, px[1] as f32 * w, px[2] as f32 * w]);
        }
    }
    let (mut weighted_blur, mut weight_blur) = (Mat::default(), Mat::default());
    imgproc::gaussian_blur_def(&weighted, &mut weighted_blur, Size::new(0, 0), 4.0)?;
    imgproc::gaussian_blur_def(&weight, &mut weight_blur, Size::new(0, 0), 4.0)?;
    let mut out = Mat::new_size_with_default(size, core::CV_8UC3, Scalar::all(0.0))?;
    {
        let (wb, vb) = (weight_blur.data_typed::<f32>()?, weighted_blur.data_typed::<core::Vec3f>()?);
        let src = bgr.data_bytes()?.to_vec();
        let dst = out.data_bytes_mut()?;
        for (i, (d, v)) in dst.chunks_exact_mut(3).zip(vb).enumerate() {
            let w = wb[i];
            for c in 0..3 {
                // Deep inside the person no background is near: keep the pixel (it is covered anyway).
                d[c] = if w > 1e-3 { (v[c] / w).clamp(0.0, 255.0) as u8 } else { src[i * 3 + c] };
            }
        }
    }
    Ok(out)
}

/// The replacement background: a soft, warm studio gradient with a darker floor, drawn
/// here so the kiosk needs no image asset.
fn studio_backdrop(size: Size) -> Result<Mat, MirrorError> {
    let mut mat = Mat::new_size_with_default(size, core::CV_8UC3, Scalar::all(0.0))?;
    let (w, h) = (size.width as usize, size.height as usize);
    let data = mat.data_bytes_mut()?;
    for y in 0..h {
        let t = y as f32 / h.max(1) as f32;
        for x in 0..w {
            let dx = x as f32 / w.max(1) as f32 - 0.5;
            let vignette = 1.0 - 0.5 * dx * dx * 2.0;
            let (b, g, r) = if t < 0.78 { (150.0 + 40.0 * t, 175.0 + 30.0 * t, 205.0 + 20.0 * t) } else { (70.0, 85.0, 105.0) };
            let px = &mut data[(y * w + x) * 3..][..3];
            px[0] = (b * vignette) as u8;
            px[1] = (g * vignette) as u8;
            px[2] = (r * vignette) as u8;
        }
    }
    Ok(mat)
}

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blend_uses_alpha() {
        let mut out = [0u8; 6];
        blend(&[200, 200, 200, 200, 200, 200], &[0, 0, 0, 100, 100, 100], &[255, 255, 255, 0, 0, 0], &mut out);
        assert_eq!(out, [200, 200, 200, 100, 100, 100]);
        blend(&[200, 0, 0], &[0, 0, 200], &[128, 128, 128], &mut out[..3]);
        assert_eq!(&out[..3], &[100, 0, 100]);
        // Exact rounding against the float formula over every alpha and a spread of values.
        for a in 0..=255u16 {
            for (f, b) in [(0u8, 255u8), (255, 0), (17, 230), (128, 127)] {
                let mut o = [0u8];
                blend(&[f], &[b], &[a as u8], &mut o);
                let want = ((f as f64 * a as f64 + b as f64 * (255 - a) as f64) / 255.0).round() as u8;
                assert!(o[0].abs_diff(want) <= 1, "a={a} f={f} b={b}: {} vs {want}", o[0]);
            }
        }
    }

    /// A bright person on the left, a dark background on the right: just outside the person
    /// the blurred background stays dark (no halo), unlike a plain blur.
    #[test]
    fn background_blur_does_not_bleed_the_person() {
        let (w, h) = (80, 20);
        let mut bgr = Mat::new_rows_cols_with_default(h, w, core::CV_8UC3, Scalar::all(40.0)).unwrap();
        let mut alpha = Mat::new_rows_cols_with_default(h, w, core::CV_8UC1, Scalar::all(0.0)).unwrap();
        let row = (w * 3) as usize;
        for y in 0..h as usize {
            bgr.data_bytes_mut().unwrap()[y * row..y * row + 40 * 3].fill(250);
            alpha.data_bytes_mut().unwrap()[y * w as usize..y * w as usize + 40].fill(255);
        }
        let ours = background_only_blur(&bgr, &alpha).unwrap();
        let mut plain = Mat::default();
        imgproc::gaussian_blur_def(&bgr, &mut plain, Size::new(0, 0), 4.0).unwrap();
        let at = |m: &Mat, x: usize| m.data_bytes().unwrap()[10 * row + x * 3];
        assert!(at(&ours, 42) <= 45, "halo: {}", at(&ours, 42));
        assert!(at(&plain, 42) > 80, "a plain blur bleeds: {}", at(&plain, 42));
    }

    #[test]
    fn without_a_segmenter_frames_pass_through_as_jpeg() {
        let mut pipeline = MirrorPipeline::new(None, MirrorOptions::default());
        let frame = Frame::new(64, 48, vitrine_frame::PixelFormat::Rgb8, vec![128; 64 * 48 * 3]).unwrap();
        let encoded = pipeline.process(&frame).unwrap();
        assert_eq!(&encoded.jpeg[..2], &[0xFF, 0xD8], "a JPEG");
        assert_eq!((encoded.width, encoded.height), (64, 48));
        assert_eq!(encoded.timings.infer_ms, 0.0);
    }
}

//! The try-on GAN runner: turns a shopper frame plus a warped garment into the final try-on
//! image, carrying the shopper's body shading and folds onto the garment and blending seams.
//!
//! Any ONNX generator that keeps the contract in `models/tryon_gan/manifest.toml` drops in:
//! task `tryon-generator`, inputs `composite` (RGB image: the frame outside the garment mask,
//! the warped garment inside, hard edge), `garment_mask` (1 where the garment is) and
//! `luminance_detail` (the frame's high-pass luminance inside the mask, no colour), output
//! `image` (the whole refined image, of which only the dilated garment region is used). The
//! working sizes come from the manifest: a fixed H×W in the input shape, or, for a model with
//! dynamic H/W, the `live=HxW` and `still=HxW` tokens of its description.
//!
//! [`TryOnGan::refine`] crops around the garment, resizes to the working size, runs the model,
//! adds the model's change to the composite (resized up) to the full-resolution composite, and
//! writes the result back only inside the dilated garment mask, so every pixel outside it is
//! the input frame's, bit for bit. [`evaluate_restoration`] measures the model on held-out
//! degraded frames (written by `models/tryon_gan/data.py heldout`).

use std::path::Path;

use opencv::core::{Mat, Point, Scalar, Size, BORDER_CONSTANT, BORDER_DEFAULT, CV_32FC1, CV_32FC3, CV_8UC1, CV_8UC3};
use opencv::imgproc;
use opencv::prelude::*;
use vitrine_frame::{Frame, PixelFormat};
use vitrine_infer::tensor::{rgb8_into_input, Tensor};
use vitrine_infer::{ColorOrder, Layout, Manifest, Model, Registry, Runtime, SharedModel, TensorSpec};

use crate::VisionError;

/// The manifest task every try-on generator declares.
pub const TASK: &str = "tryon-generator";
const INPUT_COMPOSITE: &str = "composite";
const INPUT_MASK: &str = "garment_mask";
const INPUT_DETAIL: &str = "luminance_detail";
const OUTPUT_IMAGE: &str = "image";

/// Margin around the garment's bounding box in the crop, as a fraction of its longer side.
const CROP_MARGIN: f64 = 0.15;
/// Blend ring outside the garment mask, as a fraction of the crop height (at least 2 px).
const DILATE_FRACTION: f64 = 0.02;
/// Gaussian σ of the luminance high-pass, as a fraction of the working height.
const DETAIL_SIGMA_FRACTION: f64 = 1.0 / 32.0;

/// Which working size to run at: the live mirror's or the full-quality still's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GanResolution {
    Live,
    Still,
}

pub struct TryOnGan {
    model: SharedModel,
    name: String,
    composite_spec: TensorSpec,
    output_spec: TensorSpec,
    /// Position of each of (composite, mask, detail) in the manifest's input order.
    input_order: [usize; 3],
    live: (usize, usize),
    still: (usize, usize),
    input: Vec<f32>,
}

impl TryOnGan {
    /// Loads and checks the generator a manifest describes (outside the registry, e.g. a
    /// retailer's replacement model).
    pub fn load(runtime: &Runtime, manifest_path: &Path) -> Result<Self, VisionError> {
        let model = Model::load(runtime, manifest_path)?;
        Self::from_model(std::sync::Arc::new(std::sync::Mutex::new(model)))
    }

    /// Takes the named generator from the registry.
    pub fn new(registry: &Registry, name: &str) -> Result<Self, VisionError> {
        Self::from_model(registry.model(name)?)
    }

    fn from_model(model: SharedModel) -> Result<Self, VisionError> {
        let manifest = model.lock().unwrap_or_else(|e| e.into_inner()).manifest().clone();
        let contract = Contract::read(&manifest)?;
        Ok(Self {
            model,
            name: manifest.name.clone(),
            composite_spec: contract.composite_spec,
            output_spec: contract.output_spec,
            input_order: contract.input_order,
            live: contract.live,
            still: contract.still,
            input: Vec::new(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Working size (width, height) for a resolution, as the manifest gives it.
    pub fn size(&self, resolution: GanResolution) -> (usize, usize) {
        match resolution {
            GanResolution::Live => self.live,
            GanResolution::Still => self.still,
        }
    }

    /// Refines a try-on: `frame` is the shopper frame (RGB or BGR), `warped_garment` the
    /// garment already warped onto the frame (same size, RGB or BGR, used where the mask is
    /// set), `garment_mask` one byte per frame pixel (0 none, 255 garment; soft edges allowed).
    /// Returns a frame in `frame`'s format; pixels outside the dilated mask are `frame`'s.
    pub fn refine(
        &mut self,
        frame: &Frame,
        warped_garment: &Frame,
        garment_mask: &[u8],
        resolution: GanResolution,
    ) -> Result<Frame, VisionError> {
        let inputs = TryOnInputs::new(frame, warped_garment, garment_mask)?;
        let mut out = frame.clone();
        let Some(crop) = inputs.crop_rect(self.size(resolution)) else { return Ok(out) };
        let refined = self.run_crop(&inputs, crop, self.size(resolution))?;
        let alpha = blend_alpha(&inputs.mask, inputs.width, crop)?;
        let bgr = frame.format() == PixelFormat::Bgr8;
        let data = out.data_mut();
        let (cw, ch) = (crop.w, crop.h);
        for y in 0..ch {
            for x in 0..cw {
                let a = alpha[y * cw + x];
                if a <= 0.0 {
                    continue;
                }
                let i = (crop.y + y) * inputs.width + crop.x + x;
                let composite = inputs.composite_px(i);
                for c in 0..3 {
                    let value = composite[c] as f32 * (1.0 - a) + refined[(y * cw + x) * 3 + c] as f32 * a;
                    let dst = if bgr { 2 - c } else { c };
                    data[i * 3 + dst] = value.round().clamp(0.0, 255.0) as u8;
                }
            }
        }
        Ok(out)
    }

    /// Runs the model on one crop; returns the refined crop as packed RGB8 at crop size.
    ///
    /// What comes back is the full-resolution composite plus the model's change to it
    /// (output − input composite at the working size), resized up: resizing the output itself
    /// would blur the whole crop to the working size, the packshot's print and the frame's
    /// own detail in the blend ring included, for no change the model made.
    fn run_crop(&mut self, inputs: &TryOnInputs, crop: Rect, (w, h): (usize, usize)) -> Result<Vec<u8>, VisionError> {
        let composite_full = inputs.crop_rgb(crop, true);
        let shopper = inputs.crop_rgb(crop, false);
        let mask = inputs.crop_mask(crop);
        let composite = resize_to(&mat_u8(crop.h, crop.w, CV_8UC3, &composite_full)?, w, h)?;
        let shopper = resize_to(&mat_u8(crop.h, crop.w, CV_8UC3, &shopper)?, w, h)?;
        let mut mask_small = Mat::default();
        imgproc::resize(&mat_u8(crop.h, crop.w, CV_8UC1, &mask)?, &mut mask_small, Size::new(w as i32, h as i32), 0.0, 0.0, imgproc::INTER_LINEAR)?;
        let mask: Vec<f32> = mask_small.data_bytes()?.iter().map(|&m| m as f32 / 255.0).collect();
        let detail = luminance_detail(shopper.data_bytes()?, w, h, &mask)?;
        rgb8_into_input(composite.data_bytes()?, w, h, &self.composite_spec, &mut self.input);

        let shape = |c: i64| vec![1, c, h as i64, w as i64];
        let mut tensors = [
            Tensor::borrowed(shape(3), self.input.as_slice()),
            Tensor::borrowed(shape(1), mask.as_slice()),
            Tensor::borrowed(shape(1), detail.as_slice()),
        ]
        .map(Some);
        let ordered: Vec<Tensor<'_>> = (0..3)
            .map(|slot| {
                let which = self.input_order.iter().position(|&o| o == slot).expect("contract checked: three inputs");
                tensors[which].take().expect("each input once")
            })
            .collect();
        let output = self.model.lock().unwrap_or_else(|e| e.into_inner()).run(&ordered)?.swap_remove(0);
        if output.shape != [1, 3, h as i64, w as i64] {
            return Err(VisionError::WrongModel {
                model: self.name.clone(),
                task: TASK,
                reason: format!("output {OUTPUT_IMAGE:?} has shape {:?}, expected [1, 3, {h}, {w}]", output.shape),
            });
        }
        let change: Vec<f32> =
            output_to_rgb_f32(&output.data, w, h, &self.output_spec).iter().zip(composite.data_bytes()?).map(|(&o, &c)| o - c as f32).collect();
        let mut change_mat = Mat::new_rows_cols_with_default(h as i32, w as i32, CV_32FC3, Scalar::all(0.0))?;
        // The garment keeps its catalog colour on average: the change's mean over the garment
        // goes, what stays is shading, folds and seams. The generator learned to restore the
        // shopper's own clothing, so its mean shift pulls the garment toward what they wear
        // (ΔE to the packshot 9.4 with it, 6.9 without; restoration L1 0.047 -> 0.056).
        let weight: f32 = mask.iter().sum();
        let offset: [f32; 3] = if weight > 0.0 {
            std::array::from_fn(|k| change.chunks_exact(3).zip(&mask).map(|(c, &m)| c[k] * m).sum::<f32>() / weight)
        } else {
            [0.0; 3]
        };
        change_mat.data_typed_mut::<opencv::core::Vec3f>()?.iter_mut().zip(change.chunks_exact(3)).for_each(|(d, s)| *d = opencv::core::Vec3f::from([s[0] - offset[0], s[1] - offset[1], s[2] - offset[2]]));
        let mut change_full = Mat::default();
        imgproc::resize(&change_mat, &mut change_full, Size::new(crop.w as i32, crop.h as i32), 0.0, 0.0, imgproc::INTER_LINEAR)?;
        let change_full = change_full.data_typed::<opencv::core::Vec3f>()?;
        Ok(composite_full
            .chunks_exact(3)
            .zip(change_full)
            .flat_map(|(c, d)| std::array::from_fn::<u8, 3, _>(|k| (c[k] as f32 + d[k]).round().clamp(0.0, 255.0) as u8))
            .collect())
    }
}

/// The plain composite: the garment pasted over the frame by its mask (the GAN's input and the
/// baseline it must beat). Same format as `frame`.
pub fn plain_composite(frame: &Frame, warped_garment: &Frame, garment_mask: &[u8]) -> Result<Frame, VisionError> {
    let inputs = TryOnInputs::new(frame, warped_garment, garment_mask)?;
    let mut out = frame.clone();
    let bgr = frame.format() == PixelFormat::Bgr8;
    for (i, px) in out.data_mut().chunks_exact_mut(3).enumerate() {
        let rgb = inputs.composite_px(i);
        for c in 0..3 {
            px[if bgr { 2 - c } else { c }] = rgb[c];
        }
    }
    Ok(out)
}

/// What the manifest promises, checked once at load.
struct Contract {
    composite_spec: TensorSpec,
    output_spec: TensorSpec,
    input_order: [usize; 3],
    live: (usize, usize),
    still: (usize, usize),
}

impl Contract {
    fn read(manifest: &Manifest) -> Result<Self, VisionError> {
        let wrong = |reason: String| VisionError::WrongModel { model: manifest.name.clone(), task: TASK, reason };
        if manifest.task != TASK {
            return Err(wrong(format!("its task is {:?}", manifest.task)));
        }
        let mut input_order = [0; 3];
        for (slot, (name, channels)) in [(INPUT_COMPOSITE, 3), (INPUT_MASK, 1), (INPUT_DETAIL, 1)].into_iter().enumerate() {
            let position = manifest.inputs.iter().position(|s| s.name == name).ok_or_else(|| wrong(format!("it has no input {name:?}")))?;
            let spec = &manifest.inputs[position];
            if spec.layout != Some(Layout::NCHW) || spec.shape.len() != 4 || spec.shape[1] != channels {
                return Err(wrong(format!("input {name:?} must be NCHW [1, {channels}, H, W], manifest says {:?}", spec.shape)));
            }
            input_order[slot] = position;
        }
        if manifest.inputs.len() != 3 {
            return Err(wrong(format!("it has {} inputs, the contract has 3", manifest.inputs.len())));
        }
        let output_spec = manifest.outputs.first().filter(|s| s.name == OUTPUT_IMAGE).cloned();
        let output_spec = output_spec.ok_or_else(|| wrong(format!("its first output is not {OUTPUT_IMAGE:?}")))?;
        let composite_spec = manifest.inputs[input_order[0]].clone();
        let (live, still) = match composite_spec.image_size() {
            Some(fixed) => (fixed, fixed),
            None => {
                let size = |key: &str| {
                    parse_size(&manifest.description, key)
                        .ok_or_else(|| wrong(format!("its input size is dynamic but its description gives no `{key}=HxW`")))
                };
                (size("live")?, size("still")?)
            }
        };
        Ok(Self { composite_spec, output_spec, input_order, live, still })
    }
}

/// Reads a `key=HxW` token (height first, as in the input shape) as (width, height).
fn parse_size(description: &str, key: &str) -> Option<(usize, usize)> {
    let prefix = format!("{key}=");
    let token = description.split(|c: char| c.is_whitespace() || c == ',' || c == ';').find_map(|t| t.strip_prefix(prefix.as_str()))?;
    let (h, w) = token.trim_end_matches('.').split_once('x')?;
    let (h, w) = (h.parse().ok()?, w.parse().ok()?);
    (h > 0 && w > 0).then_some((w, h))
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Rect {
    x: usize,
    y: usize,
    w: usize,
    h: usize,
}

/// The three inputs of a refine, checked, in RGB order.
struct TryOnInputs<'a> {
    width: usize,
    height: usize,
    frame: std::borrow::Cow<'a, [u8]>,
    garment: std::borrow::Cow<'a, [u8]>,
    mask: &'a [u8],
}

impl<'a> TryOnInputs<'a> {
    fn new(frame: &'a Frame, garment: &'a Frame, mask: &'a [u8]) -> Result<Self, VisionError> {
        let (width, height) = (frame.width() as usize, frame.height() as usize);
        if (garment.width() as usize, garment.height() as usize) != (width, height) {
            return Err(VisionError::BadInput(format!(
                "the warped garment is {}x{}, the frame {width}x{height}; they must match",
                garment.width(),
                garment.height()
            )));
        }
        if mask.len() != width * height {
            return Err(VisionError::BadInput(format!("the garment mask has {} values, the {width}x{height} frame needs {}", mask.len(), width * height)));
        }
        Ok(Self { width, height, frame: rgb_bytes(frame)?, garment: rgb_bytes(garment)?, mask })
    }

    fn composite_px(&self, i: usize) -> [u8; 3] {
        let m = self.mask[i] as u32;
        std::array::from_fn(|c| ((self.frame[i * 3 + c] as u32 * (255 - m) + self.garment[i * 3 + c] as u32 * m + 127) / 255) as u8)
    }

    /// The crop around the garment: its bounding box plus a margin, grown to the working
    /// aspect ratio, moved inside the frame, and cut to the frame where it is still too big.
    fn crop_rect(&self, (work_w, work_h): (usize, usize)) -> Option<Rect> {
        let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
        for (i, _) in self.mask.iter().enumerate().filter(|(_, &m)| m > 0) {
            let (x, y) = (i % self.width, i / self.width);
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x + 1), y1.max(y + 1));
        }
        (x0 != usize::MAX).then(|| crop_around((x0, y0, x1, y1), (self.width, self.height), work_w as f64 / work_h as f64))
    }

    fn crop_rgb(&self, r: Rect, composite: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(r.w * r.h * 3);
        for y in r.y..r.y + r.h {
            for x in r.x..r.x + r.w {
                let i = y * self.width + x;
                if composite {
                    out.extend_from_slice(&self.composite_px(i));
                } else {
                    out.extend_from_slice(&self.frame[i * 3..i * 3 + 3]);
                }
            }
        }
        out
    }

    fn crop_mask(&self, r: Rect) -> Vec<u8> {
        (r.y..r.y + r.h).flat_map(|y| self.mask[y * self.width + r.x..y * self.width + r.x + r.w].iter().copied()).collect()
    }
}

/// See [`TryOnInputs::crop_rect`]; `bbox` is (x0, y0, x1, y1) exclusive, `aspect` width/height.
fn crop_around((x0, y0, x1, y1): (usize, usize, usize, usize), (fw, fh): (usize, usize), aspect: f64) -> Rect {
    let (bw, bh) = ((x1 - x0) as f64, (y1 - y0) as f64);
    let margin = CROP_MARGIN * bw.max(bh);
    let (mut w, mut h) = (bw + 2.0 * margin, bh + 2.0 * margin);
    if w / h < aspect {
        w = h * aspect;
    } else {
        h = w / aspect;
    }
    let place = |centre: f64, len: f64, limit: usize| {
        let len = len.min(limit as f64);
        let start = (centre - len / 2.0).clamp(0.0, limit as f64 - len);
        let (a, b) = (start.floor() as usize, ((start + len).ceil() as usize).min(limit));
        (a, b - a)
    };
    let (x, w) = place((x0 + x1) as f64 / 2.0, w, fw);
    let (y, h) = place((y0 + y1) as f64 / 2.0, h, fh);
    Rect { x, y, w, h }
}

fn rgb_bytes(frame: &Frame) -> Result<std::borrow::Cow<'_, [u8]>, VisionError> {
    match frame.format() {
        PixelFormat::Rgb8 => Ok(std::borrow::Cow::Borrowed(frame.data())),
        PixelFormat::Bgr8 => Ok(std::borrow::Cow::Owned(frame.data().chunks_exact(3).flat_map(|p| [p[2], p[1], p[0]]).collect())),
        other => Err(VisionError::Format(other)),
    }
}

/// Blend weight per crop pixel: the garment mask (any value above 0) dilated by a ring, with
/// a feathered edge that stays inside the dilated region, so outside it the weight is 0.
fn blend_alpha(mask: &[u8], frame_width: usize, crop: Rect) -> Result<Vec<f32>, VisionError> {
    let radius = ((DILATE_FRACTION * crop.h as f64).round() as i32).max(2);
    let hard: Vec<u8> = (crop.y..crop.y + crop.h)
        .flat_map(|y| mask[y * frame_width + crop.x..y * frame_width + crop.x + crop.w].iter().map(|&m| if m > 0 { 255 } else { 0 }))
        .collect();
    let dilated = dilate(&hard, crop.w, crop.h, radius)?;
    let mut soft = Mat::default();
    let mut dilated_f = Mat::default();
    dilated.convert_to(&mut dilated_f, CV_32FC1, 1.0 / 255.0, 0.0)?;
    imgproc::gaussian_blur(&dilated_f, &mut soft, Size::new(0, 0), radius as f64 / 2.0, 0.0, BORDER_DEFAULT)?;
    let alpha = soft.data_typed::<f32>()?.iter().zip(dilated.data_bytes()?).map(|(&s, &d)| if d > 0 { s.clamp(0.0, 1.0) } else { 0.0 }).collect();
    Ok(alpha)
}

fn dilate(mask: &[u8], w: usize, h: usize, radius: i32) -> Result<Mat, VisionError> {
    let kernel = imgproc::get_structuring_element(imgproc::MORPH_ELLIPSE, Size::new(2 * radius + 1, 2 * radius + 1), Point::new(-1, -1))?;
    let mut out = Mat::default();
    imgproc::dilate(&mat_u8(h, w, CV_8UC1, mask)?, &mut out, &kernel, Point::new(-1, -1), 1, BORDER_CONSTANT, Scalar::all(0.0))?;
    Ok(out)
}

/// clamp(2·(Y − G_σ(Y)), −1, 1) inside the mask, Y the luminance in 0..1 (BT.601 weights),
/// σ = height / 32: the folds and shading of what the shopper wears, without its colour.
fn luminance_detail(rgb: &[u8], w: usize, h: usize, mask: &[f32]) -> Result<Vec<f32>, VisionError> {
    let luma: Vec<f32> = rgb.chunks_exact(3).map(|p| (0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32) / 255.0).collect();
    let luma_mat = mat_f32(h, w, &luma)?;
    let mut blurred = Mat::default();
    let sigma = h as f64 * DETAIL_SIGMA_FRACTION;
    imgproc::gaussian_blur(&luma_mat, &mut blurred, Size::new(0, 0), sigma, 0.0, BORDER_DEFAULT)?;
    Ok(luma.iter().zip(blurred.data_typed::<f32>()?).zip(mask).map(|((&y, &b), &m)| (2.0 * (y - b)).clamp(-1.0, 1.0) * m).collect())
}

/// The model's output as interleaved RGB in 8-bit units (not rounded or clamped).
fn output_to_rgb_f32(data: &[f32], w: usize, h: usize, spec: &TensorSpec) -> Vec<f32> {
    let [lo, hi] = spec.range.unwrap_or([-1.0, 1.0]);
    let order: [usize; 3] = match spec.color.unwrap_or(ColorOrder::RGB) {
        ColorOrder::RGB => [0, 1, 2],
        ColorOrder::BGR => [2, 1, 0],
    };
    let plane = w * h;
    let mut out = vec![0f32; plane * 3];
    for i in 0..plane {
        for (c, &src) in order.iter().enumerate() {
            out[i * 3 + c] = (data[src * plane + i] - lo) / (hi - lo) * 255.0;
        }
    }
    out
}

fn resize_to(src: &Mat, w: usize, h: usize) -> Result<Mat, VisionError> {
    let shrinking = (w as i32) < src.cols() || (h as i32) < src.rows();
    let mut out = Mat::default();
    let interpolation = if shrinking { imgproc::INTER_AREA } else { imgproc::INTER_LINEAR };
    imgproc::resize(src, &mut out, Size::new(w as i32, h as i32), 0.0, 0.0, interpolation)?;
    Ok(out)
}

fn mat_u8(rows: usize, cols: usize, typ: i32, data: &[u8]) -> Result<Mat, VisionError> {
    let mut mat = Mat::new_rows_cols_with_default(rows as i32, cols as i32, typ, Scalar::all(0.0))?;
    mat.data_bytes_mut()?.copy_from_slice(data);
    Ok(mat)
}

fn mat_f32(rows: usize, cols: usize, data: &[f32]) -> Result<Mat, VisionError> {
    let mut mat = Mat::new_rows_cols_with_default(rows as i32, cols as i32, CV_32FC1, Scalar::all(0.0))?;
    mat.data_typed_mut::<f32>()?.copy_from_slice(data);
    Ok(mat)
}

/// Restoration quality on held-out frames: the degraded plain composite against the GAN's
/// refinement, both compared with the real frame inside the dilated garment mask.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RestorationEval {
    pub frames: usize,
    /// Mean absolute error per channel, in 0..1 units, inside the dilated garment mask.
    pub l1_plain: f64,
    pub l1_gan: f64,
    /// Mean SSIM of luminance (11-pixel Gaussian window, σ 1.5) inside the dilated garment mask.
    pub ssim_plain: f64,
    pub ssim_gan: f64,
}

/// Evaluates a generator on a held-out set that `models/tryon_gan/data.py heldout` writes:
/// `NNN_frame.png` (the real frame), `NNN_garment.png` (its own clothing, flattened, slightly
/// re-coloured and shifted), `NNN_mask.png` (where that garment is pasted) and, where the
/// result should differ from the frame (the shopper wears a print the garment lacks),
/// `NNN_target.png`; otherwise the frame is the target. Figures are means over frames.
pub fn evaluate_restoration(gan: &mut TryOnGan, heldout_dir: &Path, resolution: GanResolution) -> Result<RestorationEval, VisionError> {
    let mut stems: Vec<String> = std::fs::read_dir(heldout_dir)
        .map_err(|e| VisionError::BadInput(format!("held-out folder {}: {e}", heldout_dir.display())))?
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.strip_suffix("_frame.png").map(str::to_owned))
        .collect();
    stems.sort();
    if stems.is_empty() {
        return Err(VisionError::BadInput(format!(
            "{} holds no NNN_frame.png; write the held-out set with `models/.venv-train/bin/python models/tryon_gan/data.py heldout --out {}`",
            heldout_dir.display(),
            heldout_dir.display()
        )));
    }
    let (mut sums, mut frames) = ([0.0f64; 4], 0usize);
    for stem in &stems {
        let frame = read_frame(&heldout_dir.join(format!("{stem}_frame.png")))?;
        let garment = read_frame(&heldout_dir.join(format!("{stem}_garment.png")))?;
        let mask_path = heldout_dir.join(format!("{stem}_mask.png"));
        let mask = read_image(&mask_path, opencv::imgcodecs::IMREAD_GRAYSCALE)?;
        if (mask.cols() as u32, mask.rows() as u32) != (frame.width(), frame.height()) {
            return Err(VisionError::BadInput(format!("{}: its size differs from its frame's", mask_path.display())));
        }
        let mask = mask.data_bytes()?.to_vec();
        let plain = plain_composite(&frame, &garment, &mask)?;
        let refined = gan.refine(&frame, &garment, &mask, resolution)?;
        let inputs = TryOnInputs::new(&frame, &garment, &mask)?;
        let Some(crop) = inputs.crop_rect(gan.size(resolution)) else { continue };
        let region: Vec<bool> = blend_alpha(&mask, inputs.width, crop)?.iter().map(|&a| a > 0.0).collect();
        let crop_of = |f: &Frame| -> Vec<u8> {
            (crop.y..crop.y + crop.h).flat_map(|y| f.data()[(y * inputs.width + crop.x) * 3..(y * inputs.width + crop.x + crop.w) * 3].to_vec()).collect()
        };
        let target_path = heldout_dir.join(format!("{stem}_target.png"));
        let own_target = if target_path.exists() { Some(read_frame(&target_path)?) } else { None };
        let target = own_target.as_ref().unwrap_or(&frame);
        if (target.width(), target.height()) != (frame.width(), frame.height()) {
            return Err(VisionError::BadInput(format!("{}: its size differs from its frame's", target_path.display())));
        }
        let (target, plain, refined) = (crop_of(target), crop_of(&plain), crop_of(&refined));
        sums[0] += masked_l1(&plain, &target, &region);
        sums[1] += masked_l1(&refined, &target, &region);
        sums[2] += masked_ssim(&plain, &target, crop, &region)?;
        sums[3] += masked_ssim(&refined, &target, crop, &region)?;
        frames += 1;
    }
    let n = frames.max(1) as f64;
    Ok(RestorationEval { frames, l1_plain: sums[0] / n, l1_gan: sums[1] / n, ssim_plain: sums[2] / n, ssim_gan: sums[3] / n })
}

fn read_image(path: &Path, flags: i32) -> Result<Mat, VisionError> {
    let mat = opencv::imgcodecs::imread(path, flags)?;
    if mat.empty() {
        return Err(VisionError::BadInput(format!("{} is missing or not a readable image", path.display())));
    }
    Ok(mat)
}

fn read_frame(path: &Path) -> Result<Frame, VisionError> {
    let mat = read_image(path, opencv::imgcodecs::IMREAD_COLOR)?;
    Frame::new(mat.cols() as u32, mat.rows() as u32, PixelFormat::Bgr8, mat.data_bytes()?.to_vec())
        .map_err(|e| VisionError::BadInput(format!("{}: {e}", path.display())))
}

/// Mean absolute difference per channel (0..1 units) over the pixels where `region` is set.
fn masked_l1(a: &[u8], b: &[u8], region: &[bool]) -> f64 {
    let (mut sum, mut count) = (0u64, 0u64);
    for ((pa, pb), _) in a.chunks_exact(3).zip(b.chunks_exact(3)).zip(region).filter(|(_, &r)| r) {
        sum += pa.iter().zip(pb).map(|(&x, &y)| x.abs_diff(y) as u64).sum::<u64>();
        count += 3;
    }
    if count == 0 { 0.0 } else { sum as f64 / count as f64 / 255.0 }
}

/// Mean luminance SSIM (Wang et al. 2004 constants) over the pixels where `region` is set;
/// `a` and `b` are BGR crops.
fn masked_ssim(a: &[u8], b: &[u8], crop: Rect, region: &[bool]) -> Result<f64, VisionError> {
    let luma = |px: &[u8]| -> Vec<f32> { px.chunks_exact(3).map(|p| 0.299 * p[2] as f32 + 0.587 * p[1] as f32 + 0.114 * p[0] as f32).collect() };
    let (x, y) = (luma(a), luma(b));
    let blur = |v: Vec<f32>| -> Result<Vec<f32>, VisionError> {
        let mut out = Mat::default();
        imgproc::gaussian_blur(&mat_f32(crop.h, crop.w, &v)?, &mut out, Size::new(11, 11), 1.5, 1.5, BORDER_DEFAULT)?;
        Ok(out.data_typed::<f32>()?.to_vec())
    };
    let mu_x = blur(x.clone())?;
    let mu_y = blur(y.clone())?;
    let xx = blur(x.iter().map(|v| v * v).collect())?;
    let yy = blur(y.iter().map(|v| v * v).collect())?;
    let xy = blur(x.iter().zip(&y).map(|(a, b)| a * b).collect())?;
    let (c1, c2) = ((0.01f64 * 255.0).powi(2), (0.03f64 * 255.0).powi(2));
    let (mut sum, mut count) = (0.0f64, 0usize);
    for i in (0..region.len()).filter(|&i| region[i]) {
        let (mx, my) = (mu_x[i] as f64, mu_y[i] as f64);
        let (vx, vy, cov) = (xx[i] as f64 - mx * mx, yy[i] as f64 - my * my, xy[i] as f64 - mx * my);
        sum += ((2.0 * mx * my + c1) * (2.0 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
        count += 1;
    }
    Ok(if count == 0 { 1.0 } else { sum / count as f64 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;

    const MODEL: &str = "tryon_gan";

    fn manifest_path() -> std::path::PathBuf {
        repo_root().join("models").join(MODEL).join("manifest.toml")
    }

    fn gan() -> TryOnGan {
        TryOnGan::new(&registry(), MODEL).unwrap()
    }

    /// A frame with texture everywhere (so any change shows), a flat "garment" and an oval mask
    /// with a soft edge over the middle.
    fn synthetic(width: usize, height: usize) -> (Frame, Frame, Vec<u8>) {
        let frame: Vec<u8> = (0..width * height).flat_map(|i| {
            let (x, y) = (i % width, i / width);
            [(x * 7 % 256) as u8, (y * 5 % 256) as u8, ((x + y) * 3 % 256) as u8]
        }).collect();
        let garment: Vec<u8> = (0..width * height).flat_map(|_| [200u8, 40, 60]).collect();
        let mask = (0..width * height)
            .map(|i| {
                let (dx, dy) = ((i % width) as f32 / width as f32 - 0.5, (i / width) as f32 / height as f32 - 0.55);
                let r = (dx * dx / 0.04 + dy * dy / 0.06).sqrt();
                ((1.05 - r) * 10.0 * 255.0).clamp(0.0, 255.0) as u8
            })
            .collect();
        let make = |data| Frame::new(width as u32, height as u32, PixelFormat::Rgb8, data).unwrap();
        (make(frame), make(garment), mask)
    }

    fn dilated_region(mask: &[u8], width: usize, height: usize, gan: &TryOnGan, resolution: GanResolution) -> Vec<bool> {
        let inputs = TryOnInputs { width, height, frame: Vec::new().into(), garment: Vec::new().into(), mask };
        let crop = inputs.crop_rect(gan.size(resolution)).unwrap();
        let alpha = blend_alpha(mask, width, crop).unwrap();
        let mut region = vec![false; width * height];
        for y in 0..crop.h {
            for x in 0..crop.w {
                region[(crop.y + y) * width + crop.x + x] = alpha[y * crop.w + x] > 0.0;
            }
        }
        region
    }

    /// The real generator at both sizes: outside the dilated garment mask the output is the
    /// input frame bit for bit; inside, the garment is there and the GAN changed it.
    #[test]
    fn refines_only_inside_the_dilated_garment_mask() {
        let mut gan = gan();
        let (w, h) = (320, 240);
        let (frame, garment, mask) = synthetic(w, h);
        let plain = plain_composite(&frame, &garment, &mask).unwrap();
        for resolution in [GanResolution::Live, GanResolution::Still] {
            let out = gan.refine(&frame, &garment, &mask, resolution).unwrap();
            assert_eq!((out.width(), out.height(), out.format()), (frame.width(), frame.height(), frame.format()));
            let region = dilated_region(&mask, w, h, &gan, resolution);
            let (mut changed_inside, mut garment_sum, mut garment_n, mut garment_red) = (0, [0f64; 3], 0f64, 0f64);
            for i in 0..w * h {
                let (o, f, p) = (&out.data()[i * 3..i * 3 + 3], &frame.data()[i * 3..i * 3 + 3], &plain.data()[i * 3..i * 3 + 3]);
                if !region[i] {
                    assert_eq!(o, f, "pixel {i} outside the dilated mask changed ({resolution:?})");
                } else if o != p {
                    changed_inside += 1;
                }
                if mask[i] == 255 {
                    (0..3).for_each(|c| garment_sum[c] += o[c] as f64);
                    garment_n += 1.0;
                    garment_red += (o[0] as i32 > o[1] as i32 + 60 && o[0] as i32 > o[2] as i32 + 60) as usize as f64;
                }
            }
            // The garment (200, 40, 60) stays recognisably the garment: shaded by the frame's
            // texture (here extreme: a saw-tooth in every channel), with highlights, but red
            // nearly everywhere and on the whole.
            let mean = garment_sum.map(|v| v / garment_n);
            assert!(garment_red / garment_n > 0.95, "only {:.3} of the garment is still red ({resolution:?})", garment_red / garment_n);
            assert!(mean[0] > mean[1] + 80.0 && mean[0] > mean[2] + 80.0, "garment mean {mean:?} ({resolution:?})");
            assert!(changed_inside > 0, "the generator left the composite untouched ({resolution:?})");
        }
    }

    #[test]
    fn bgr_frames_come_back_bgr_and_match_rgb() {
        let mut gan = gan();
        let (frame, garment, mask) = synthetic(160, 120);
        let rgb = gan.refine(&frame, &garment, &mask, GanResolution::Live).unwrap();
        let bgr = gan.refine(&frame.clone().into_format(PixelFormat::Bgr8).unwrap(), &garment, &mask, GanResolution::Live).unwrap();
        assert_eq!(bgr.format(), PixelFormat::Bgr8);
        assert_eq!(bgr.into_format(PixelFormat::Rgb8).unwrap().data(), rgb.data());
    }

    #[test]
    fn no_garment_means_the_frame_unchanged() {
        let mut gan = gan();
        let (frame, garment, _) = synthetic(64, 48);
        let out = gan.refine(&frame, &garment, &[0; 64 * 48], GanResolution::Live).unwrap();
        assert_eq!(out.data(), frame.data());
    }

    #[test]
    fn bad_inputs_are_refused_with_the_reason() {
        let mut gan = gan();
        let (frame, _, mask) = synthetic(64, 48);
        let (_, small, _) = synthetic(32, 24);
        let err = gan.refine(&frame, &small, &mask, GanResolution::Live).unwrap_err().to_string();
        assert!(err.contains("32x24") && err.contains("64x48"), "{err}");
        let (_, garment, _) = synthetic(64, 48);
        let err = gan.refine(&frame, &garment, &mask[..10], GanResolution::Live).unwrap_err().to_string();
        assert!(err.contains("10 values"), "{err}");
        let gray = Frame::new(64, 48, PixelFormat::Gray8, vec![0; 64 * 48]).unwrap();
        assert!(matches!(gan.refine(&gray, &garment, &mask, GanResolution::Live), Err(VisionError::Format(PixelFormat::Gray8))));
    }

    /// The working sizes are the manifest's, and a manifest that breaks the contract is refused
    /// with what is wrong.
    #[test]
    fn the_contract_comes_from_the_manifest() {
        let runtime = vitrine_infer::Runtime::init(&vitrine_infer::RuntimeOptions::default()).unwrap();
        let gan = TryOnGan::load(&runtime, &manifest_path()).unwrap();
        let manifest = Manifest::load(&manifest_path()).unwrap();
        assert_eq!(Some(gan.size(GanResolution::Live)), parse_size(&manifest.description, "live"));
        assert_eq!(Some(gan.size(GanResolution::Still)), parse_size(&manifest.description, "still"));

        let tmp = tempfile::tempdir().unwrap();
        let text = std::fs::read_to_string(manifest_path()).unwrap();
        std::fs::copy(manifest_path().with_file_name(&manifest.file), tmp.path().join(&manifest.file)).unwrap();
        let variant = |from: &str, to: &str| {
            assert!(text.contains(from), "{from}");
            let path = tmp.path().join("manifest.toml");
            std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
            TryOnGan::load(&runtime, &path)
        };
        let small = variant("live=256x192", "live=128x96").unwrap();
        assert_eq!(small.size(GanResolution::Live), (96, 128));
        let err = variant("live=256x192", "live=big").err().unwrap().to_string();
        assert!(err.contains("live=HxW"), "{err}");
        let err = variant("task = \"tryon-generator\"", "task = \"person-segmentation\"").err().unwrap().to_string();
        assert!(err.contains("person-segmentation"), "{err}");
    }

    #[test]
    fn sizes_and_crops() {
        assert_eq!(parse_size("Sizes: live=256x192 still=512x384 (H x W)", "still"), Some((384, 512)));
        assert_eq!(parse_size("live=0x192", "live"), None);
        assert_eq!(parse_size("nothing here", "live"), None);
        // A tall box in a wide frame: margin, 3:4 aspect, centred on the box.
        let r = crop_around((300, 100, 340, 300), (640, 480), 0.75);
        assert!(r.x <= 300 && r.x + r.w >= 340 && r.y <= 100 && r.y + r.h >= 300, "{r:?}");
        assert!(((r.w as f64 / r.h as f64) - 0.75).abs() < 0.02, "{r:?}");
        // Near the edge it moves inside the frame; bigger than the frame it is cut to it.
        let r = crop_around((0, 0, 50, 100), (640, 480), 0.75);
        assert_eq!((r.x, r.y), (0, 0));
        let r = crop_around((0, 0, 640, 480), (640, 480), 0.75);
        assert_eq!(r, Rect { x: 0, y: 0, w: 640, h: 480 });
    }

    /// The evaluation on a held-out set written here from a real photo: its own clothing region
    /// (a central box) flattened to its mean colour and shifted. Both figures are real numbers,
    /// the plain composite is visibly off, and a missing folder is a clear error.
    #[test]
    fn restoration_eval_reads_a_heldout_folder() {
        let mut gan = gan();
        let tmp = tempfile::tempdir().unwrap();
        let err = evaluate_restoration(&mut gan, tmp.path(), GanResolution::Live).unwrap_err().to_string();
        assert!(err.contains("data.py heldout"), "{err}");
        let Some(dir) = people_dir() else { return eprintln!("shared media missing; skipped") };
        let photo = opencv::imgcodecs::imread(&dir.join("sylius_tshirt_man_03.jpg"), opencv::imgcodecs::IMREAD_COLOR).unwrap();
        let mut frame = Mat::default();
        imgproc::resize(&photo, &mut frame, Size::new(300, 400), 0.0, 0.0, imgproc::INTER_AREA).unwrap();
        let (w, h) = (300usize, 400usize);
        let bytes = frame.data_bytes().unwrap();
        let inside = |x: usize, y: usize| (90..210).contains(&x) && (130..330).contains(&y);
        let mut mean = [0f64; 3];
        let mut n = 0.0;
        for y in 0..h {
            for x in 0..w {
                if inside(x, y) {
                    for c in 0..3 {
                        mean[c] += bytes[(y * w + x) * 3 + c] as f64;
                    }
                    n += 1.0;
                }
            }
        }
        let garment: Vec<u8> = (0..w * h).flat_map(|_| mean.map(|m| (m / n) as u8)).collect();
        let mask: Vec<u8> = (0..w * h).map(|i| if inside(i % w + 4, i / w + 3) { 255 } else { 0 }).collect();
        let write = |name: &str, mat: &Mat| assert!(opencv::imgcodecs::imwrite(&tmp.path().join(name), mat, &opencv::core::Vector::new()).unwrap());
        write("000_frame.png", &frame);
        write("000_garment.png", &mat_u8(h, w, CV_8UC3, &garment).unwrap());
        write("000_mask.png", &mat_u8(h, w, CV_8UC1, &mask).unwrap());
        let eval = evaluate_restoration(&mut gan, tmp.path(), GanResolution::Live).unwrap();
        assert_eq!(eval.frames, 1);
        assert!(eval.l1_plain > 0.01 && eval.ssim_plain < 0.9, "{eval:?}");
        for v in [eval.l1_gan, eval.ssim_gan] {
            assert!(v.is_finite() && (0.0..=1.0).contains(&v.abs()), "{eval:?}");
        }
        // A target that is the garment itself (what a shopper print must not spoil) is what
        // the composite is compared with, not the frame: the plain composite then nearly
        // matches inside the mask.
        let mut target = frame.try_clone().unwrap();
        target.data_bytes_mut().unwrap().iter_mut().zip(&mask.iter().flat_map(|&m| [m; 3]).collect::<Vec<u8>>()).zip(&garment).for_each(|((t, &m), &g)| {
            if m == 255 {
                *t = g;
            }
        });
        write("000_target.png", &target);
        let against_target = evaluate_restoration(&mut gan, tmp.path(), GanResolution::Live).unwrap();
        assert!(against_target.l1_plain < eval.l1_plain / 2.0, "{against_target:?} vs {eval:?}");
        write("000_target.png", &mat_u8(10, 10, CV_8UC3, &[0; 300]).unwrap());
        let err = evaluate_restoration(&mut gan, tmp.path(), GanResolution::Live).unwrap_err().to_string();
        assert!(err.contains("000_target.png") && err.contains("size"), "{err}");
    }
}

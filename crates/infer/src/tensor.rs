//! A minimal float32 tensor (shape + data) for model inputs and outputs, and the image
//! preprocessing that every vision model shares.

use std::borrow::Cow;

use crate::manifest::{ColorOrder, Layout, TensorSpec};

#[derive(Debug, Clone)]
pub struct Tensor<'a> {
    pub shape: Vec<i64>,
    pub data: Cow<'a, [f32]>,
}

impl<'a> Tensor<'a> {
    pub fn owned(shape: Vec<i64>, data: Vec<f32>) -> Tensor<'static> {
        Tensor { shape, data: Cow::Owned(data) }
    }
    pub fn borrowed(shape: Vec<i64>, data: &'a [f32]) -> Self {
        Tensor { shape, data: Cow::Borrowed(data) }
    }
}

/// Writes a packed RGB8 image (already resized to the model's input size) into `out` as the
/// spec asks: channel order, layout and value range. `out` is reused across frames.
pub fn rgb8_into_input(rgb: &[u8], width: usize, height: usize, spec: &TensorSpec, out: &mut Vec<f32>) {
    let [lo, hi] = spec.range.unwrap_or([0.0, 255.0]);
    let scale = (hi - lo) / 255.0;
    let order: [usize; 3] = match spec.color.unwrap_or(ColorOrder::RGB) {
        ColorOrder::RGB => [0, 1, 2],
        ColorOrder::BGR => [2, 1, 0],
    };
    let pixels = width * height;
    out.clear();
    out.resize(pixels * 3, 0.0);
    match spec.layout.unwrap_or(Layout::NHWC) {
        Layout::NCHW => {
            for (i, px) in rgb.chunks_exact(3).take(pixels).enumerate() {
                for (c, &src) in order.iter().enumerate() {
                    out[c * pixels + i] = px[src] as f32 * scale + lo;
                }
            }
        }
        _ => {
            for (dst, px) in out.chunks_exact_mut(3).zip(rgb.chunks_exact(3)) {
                for (c, &src) in order.iter().enumerate() {
                    dst[c] = px[src] as f32 * scale + lo;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::DType;

    fn spec(layout: Layout, color: ColorOrder, range: [f32; 2]) -> TensorSpec {
        TensorSpec {
            name: "x".into(),
            dtype: DType::Float32,
            shape: vec![1, 1, 2, 3],
            layout: Some(layout),
            color: Some(color),
            range: Some(range),
            description: String::new(),
        }
    }

    #[test]
    fn nhwc_rgb_unit_range() {
        let mut out = Vec::new();
        rgb8_into_input(&[255, 0, 0, 0, 255, 0], 2, 1, &spec(Layout::NHWC, ColorOrder::RGB, [0.0, 1.0]), &mut out);
        assert_eq!(out, vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
    }

    #[test]
    fn nchw_bgr_symmetric_range() {
        let mut out = Vec::new();
        rgb8_into_input(&[255, 0, 0, 0, 0, 255], 2, 1, &spec(Layout::NCHW, ColorOrder::BGR, [-1.0, 1.0]), &mut out);
        // planes: B, G, R
        assert_eq!(out, vec![-1.0, 1.0, -1.0, -1.0, 1.0, -1.0]);
    }
}

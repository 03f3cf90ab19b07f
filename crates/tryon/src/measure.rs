//! What a refinement is judged by before it is shown, and what the evaluation measures with
//! it: the garment's opaque interior on the torso, and how much of the shopper's own print
//! survives there.

use opencv::core::{self, Mat, Point, Rect, Scalar, Size};
use opencv::imgproc;
use opencv::prelude::*;
use vitrine_vision::PersonMask;

use crate::{Body, Rendered, Result};

/// The person mask at frame size, 0/255.
pub fn mask_at_frame_size(mask: &PersonMask, frame: &Mat) -> Result<Mat> {
    let mut small = Mat::new_rows_cols_with_default(mask.height as i32, mask.width as i32, core::CV_8UC1, Scalar::all(0.0))?;
    for (d, &p) in small.data_bytes_mut()?.iter_mut().zip(&mask.data) {
        *d = if p >= 0.5 { 255 } else { 0 };
    }
    let mut full = Mat::default();
    imgproc::resize(&small, &mut full, frame.size()?, 0.0, 0.0, imgproc::INTER_NEAREST)?;
    Ok(full)
}

/// The ROI alpha pasted into a frame-size 0/255 mask (alpha ≥ `threshold`).
pub fn full_mask(alpha: &Mat, roi: Rect, frame: &Mat, threshold: u8) -> Result<Mat> {
    let mut full = Mat::new_rows_cols_with_default(frame.rows(), frame.cols(), core::CV_8UC1, Scalar::all(0.0))?;
    let mut bin = Mat::default();
    imgproc::threshold(alpha, &mut bin, threshold as f64 - 1.0, 255.0, imgproc::THRESH_BINARY)?;
    bin.copy_to(&mut Mat::roi_mut(&mut full, roi)?)?;
    Ok(full)
}

/// The frame with the warped garment laid on by the render's alpha, unlit: what the garment
/// itself looks like there.
pub fn flat_render(input: &Mat, rendered: &Rendered) -> Result<Mat> {
    let mut flat = input.try_clone()?;
    let roi = rendered.roi;
    let mut target = Mat::roi_mut(&mut flat, roi)?;
    let (wd, ad) = (rendered.warped.data_bytes()?, rendered.alpha.data_bytes()?);
    for y in 0..roi.height as usize {
        let row = target.at_row_mut::<core::Vec3b>(y as i32)?;
        for (x, px) in row.iter_mut().enumerate() {
            let i = y * roi.width as usize + x;
            let a = ad[i] as f32 / 255.0;
            for c in 0..3 {
                px[c] = (wd[i * 4 + c] as f32 * a + px[c] as f32 * (1.0 - a) + 0.5) as u8;
            }
        }
    }
    Ok(flat)
}

/// The shopper's torso silhouette: the person mask less the head and the arms (capsules
/// along the pose's arms), 0/255.
pub fn torso_silhouette(person: &Mat, body: &Body) -> Result<Mat> {
    let mut torso = person.try_clone()?;
    let sw = body.shoulder_width();
    let p = |v: (f32, f32)| Point::new(v.0 as i32, v.1 as i32);
    imgproc::circle(&mut torso, p(body.nose), (0.45 * sw) as i32, Scalar::all(0.0), -1, imgproc::LINE_8, 0)?;
    for (i, (shoulder, elbow, wrist)) in
        [(body.shoulder_left, body.elbow_left, body.wrist_left), (body.shoulder_right, body.elbow_right, body.wrist_right)].into_iter().enumerate()
    {
        if !body.arms_visible[i] {
            continue;
        }
        let upper = (shoulder.0 + (elbow.0 - shoulder.0) * 0.35, shoulder.1 + (elbow.1 - shoulder.1) * 0.35);
        imgproc::line(&mut torso, p(upper), p(elbow), Scalar::all(0.0), (0.3 * sw) as i32, imgproc::LINE_8, 0)?;
        imgproc::line(&mut torso, p(elbow), p(wrist), Scalar::all(0.0), (0.26 * sw) as i32, imgproc::LINE_8, 0)?;
        imgproc::circle(&mut torso, p(wrist), (0.2 * sw) as i32, Scalar::all(0.0), -1, imgproc::LINE_8, 0)?;
    }
    Ok(torso)
}

/// The garment's fully opaque interior within the shopper's torso silhouette, 0/255 at
/// frame size: where the garment alone should be seen.
pub fn garment_interior(frame: &Mat, rendered: &Rendered, body: &Body, person: &Mat) -> Result<Mat> {
    let solid = full_mask(&rendered.alpha, rendered.roi, frame, 250)?;
    let mut interior = Mat::default();
    let kernel = imgproc::get_structuring_element(imgproc::MORPH_ELLIPSE, Size::new(7, 7), Point::new(-1, -1))?;
    imgproc::erode_def(&solid, &mut interior, &kernel)?;
    let mut region = Mat::default();
    core::bitwise_and_def(&interior, &torso_silhouette(person, body)?, &mut region)?;
    Ok(region)
}

/// The print-leak sums (numerator, denominator) over `region`: the fine detail `out` adds
/// beyond the unlit garment (`flat`), projected on the shopper's own detail in `input`.
/// Their ratio is 0 when none of the shopper's print survives and 1 when all of it does.
pub fn print_leak(input: &Mat, out: &Mat, flat: &Mat, region: &Mat, body: &Body) -> Result<(f64, f64)> {
    // Fine detail: each image less its blur at a tenth of the shoulder width.
    let sigma = (body.shoulder_width() as f64 / 24.0).max(2.0);
    let detail = |m: &Mat| -> Result<Mat> {
        let (mut g, mut f, mut b, mut d) = (Mat::default(), Mat::default(), Mat::default(), Mat::default());
        imgproc::cvt_color_def(m, &mut g, imgproc::COLOR_BGR2GRAY)?;
        g.convert_to(&mut f, core::CV_32F, 1.0, 0.0)?;
        imgproc::gaussian_blur(&f, &mut b, Size::new(0, 0), sigma, 0.0, core::BORDER_REFLECT)?;
        core::subtract_def(&f, &b, &mut d)?;
        Ok(d)
    };
    let (d_in, d_out, d_flat) = (detail(input)?, detail(out)?, detail(flat)?);
    let (a, b, c, m) = (d_in.data_typed::<f32>()?, d_out.data_typed::<f32>()?, d_flat.data_typed::<f32>()?, region.data_bytes()?);
    let (mut num, mut den) = (0f64, 0f64);
    for i in 0..m.len() {
        if m[i] == 0 {
            continue;
        }
        let added = (b[i] - c[i]) as f64;
        num += added * a[i] as f64;
        den += (a[i] as f64).powi(2);
    }
    Ok((num.max(0.0), den))
}

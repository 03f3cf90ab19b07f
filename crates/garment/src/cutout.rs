//! Cutting the garment out of its photo.
//!
//! A transparent PNG gives the mask directly. Otherwise the background is taken to be the
//! colour of the photo's border: pixels that differ from it are the garment's candidates,
//! closed (small gaps in a pale garment's outline), with holes filled (a white tee on a
//! white backdrop differs only along its outline and trim), and the largest connected part
//! is kept.

use std::collections::VecDeque;

use opencv::core::{self, Mat, Point, Scalar, Size};
use opencv::imgproc;
use opencv::prelude::*;

use crate::{GarmentError, Result, MAX_SIDE};

/// The garment cropped from its photo.
#[derive(Debug, Clone)]
pub struct CutOut {
    /// BGRA, alpha = mask (soft at the edge).
    pub bgra: Mat,
    /// 1 = garment, 0 = not, row-major `width × height`.
    pub mask: Vec<u8>,
    pub width: usize,
    pub height: usize,
}

/// Fraction of the photo the garment must at least cover.
const MIN_AREA: f32 = 0.03;
/// Smallest garment side, in working pixels.
const MIN_SIDE: usize = 48;
/// Least difference from the background colour (max over B, G, R) that counts as garment.
const MIN_CONTRAST: f32 = 28.0;
/// A border whose 90th-percentile deviation is at most this is a clean backdrop...
const CLEAN_BACKDROP: f32 = 2.0;
/// ...where this little difference already counts as garment.
const MIN_CONTRAST_CLEAN: f32 = 6.0;

pub fn cut_out(image: &Mat) -> Result<CutOut> {
    let (bgr, alpha) = split_bgr_alpha(&shrink(image)?)?;
    let (w, h) = (bgr.cols() as usize, bgr.rows() as usize);
    let transparent = alpha.as_ref().map(|a| a.iter().filter(|&&v| v < 128).count()).unwrap_or(0);
    let candidates = if transparent * 50 >= w * h {
        alpha.as_ref().unwrap().iter().map(|&a| (a >= 128) as u8).collect()
    } else {
        differs_from_border(&bgr)?
    };
    let filled = fill_holes(&candidates, w, h);
    let mask = largest_component(&filled, w, h);
    let area = mask.iter().filter(|&&m| m == 1).count();
    if area == 0 {
        return Err(GarmentError::NoGarment("nothing in the photo differs from its border colour".into()));
    }
    let (x0, y0, x1, y1) = bounding_box(&mask, w, h);
    if (area as f32) < MIN_AREA * (w * h) as f32 || x1 - x0 < MIN_SIDE || y1 - y0 < MIN_SIDE {
        return Err(GarmentError::TooSmall(format!(
            "it covers {:.1}% of the photo ({}×{} px); it needs at least {:.0}% and {MIN_SIDE} px a side",
            100.0 * area as f32 / (w * h) as f32,
            x1 - x0,
            y1 - y0,
            MIN_AREA * 100.0
        )));
    }
    if x0 == 0 && y0 == 0 && x1 == w && y1 == h {
        return Err(GarmentError::TouchesAllBorders);
    }
    // Soft edge: the binary mask blurred by a pixel, limited to the photo's own alpha.
    let mut soft = Mat::new_rows_cols_with_default(h as i32, w as i32, core::CV_8UC1, Scalar::all(0.0))?;
    for (d, &m) in soft.data_bytes_mut()?.iter_mut().zip(&mask) {
        *d = m * 255;
    }
    let mut blurred = Mat::default();
    imgproc::gaussian_blur_def(&soft, &mut blurred, Size::new(3, 3), 0.0)?;
    let pad = 2;
    let (cx0, cy0) = (x0.saturating_sub(pad), y0.saturating_sub(pad));
    let (cx1, cy1) = ((x1 + pad).min(w), (y1 + pad).min(h));
    let (cw, ch) = (cx1 - cx0, cy1 - cy0);
    let mut bgra = Mat::new_rows_cols_with_default(ch as i32, cw as i32, core::CV_8UC4, Scalar::all(0.0))?;
    let mut crop_mask = vec![0u8; cw * ch];
    {
        let (src, soft) = (bgr.data_bytes()?, blurred.data_bytes()?);
        let dst = bgra.data_bytes_mut()?;
        for y in 0..ch {
            for x in 0..cw {
                let (sx, sy) = (x + cx0, y + cy0);
                let i = sy * w + sx;
                let a = match &alpha {
                    Some(al) if transparent * 50 >= w * h => soft[i].min(al[i]),
                    _ => soft[i],
                };
                let o = (y * cw + x) * 4;
                dst[o..o + 3].copy_from_slice(&src[i * 3..i * 3 + 3]);
                dst[o + 3] = a;
                crop_mask[y * cw + x] = mask[i];
            }
        }
    }
    Ok(CutOut { bgra, mask: crop_mask, width: cw, height: ch })
}

/// Scales down so the longer side is at most [`MAX_SIDE`]; 8-bit from here on.
fn shrink(image: &Mat) -> Result<Mat> {
    let mut eight = Mat::default();
    if image.depth() == core::CV_16U {
        image.convert_to(&mut eight, core::CV_8U, 1.0 / 257.0, 0.0)?;
    } else if image.depth() == core::CV_8U {
        eight = image.try_clone()?;
    } else {
        return Err(GarmentError::Unreadable);
    }
    let longer = eight.cols().max(eight.rows());
    if longer <= MAX_SIDE {
        return Ok(eight);
    }
    let s = MAX_SIDE as f64 / longer as f64;
    let size = Size::new(((eight.cols() as f64 * s).round() as i32).max(1), ((eight.rows() as f64 * s).round() as i32).max(1));
    let mut small = Mat::default();
    imgproc::resize(&eight, &mut small, size, 0.0, 0.0, imgproc::INTER_AREA)?;
    Ok(small)
}

fn split_bgr_alpha(image: &Mat) -> Result<(Mat, Option<Vec<u8>>)> {
    let mut bgr = Mat::default();
    match image.channels() {
        1 => imgproc::cvt_color_def(image, &mut bgr, imgproc::COLOR_GRAY2BGR)?,
        3 => bgr = image.try_clone()?,
        4 => {
            imgproc::cvt_color_def(image, &mut bgr, imgproc::COLOR_BGRA2BGR)?;
            let alpha = image.data_bytes()?.chunks_exact(4).map(|p| p[3]).collect();
            return Ok((bgr, Some(alpha)));
        }
        _ => return Err(GarmentError::Unreadable),
    }
    Ok((bgr, None))
}

/// 1 where a pixel differs from the border's median colour by more than the border's own
/// spread allows; then closed so a faint outline has no gaps.
fn differs_from_border(bgr: &Mat) -> Result<Vec<u8>> {
    let (w, h) = (bgr.cols() as usize, bgr.rows() as usize);
    let data = bgr.data_bytes()?;
    let band = (w.min(h) / 50).max(2);
    let mut border: [Vec<u8>; 3] = Default::default();
    for y in 0..h {
        for x in 0..w {
            if x < band || y < band || x >= w - band || y >= h - band {
                for c in 0..3 {
                    border[c].push(data[(y * w + x) * 3 + c]);
                }
            }
        }
    }
    let median = |v: &mut Vec<u8>| {
        v.sort_unstable();
        v[v.len() / 2] as f32
    };
    let bg: Vec<f32> = border.iter_mut().map(median).collect();
    let mut spread: Vec<u8> = Vec::new();
    for i in 0..border[0].len() {
        let d = (0..3).map(|c| (border[c][i] as f32 - bg[c]).abs()).fold(0.0, f32::max);
        spread.push(d.min(255.0) as u8);
    }
    spread.sort_unstable();
    // The 90th percentile of the border's own deviation: texture and JPEG noise of the backdrop.
    // A clean studio backdrop (blown-out white, no noise) lets a faint difference count: a
    // white tee on white differs from it by a few levels only.
    let p90 = spread[spread.len() * 9 / 10] as f32;
    let floor = if p90 <= CLEAN_BACKDROP { MIN_CONTRAST_CLEAN } else { MIN_CONTRAST };
    let threshold = (p90 * 2.0).max(floor);
    let mut mask = Mat::new_rows_cols_with_default(h as i32, w as i32, core::CV_8UC1, Scalar::all(0.0))?;
    for (m, px) in mask.data_bytes_mut()?.iter_mut().zip(data.chunks_exact(3)) {
        let d = (0..3).map(|c| (px[c] as f32 - bg[c]).abs()).fold(0.0, f32::max);
        *m = (d > threshold) as u8;
    }
    let k = ((w.max(h) / 80) | 1).max(3) as i32;
    let kernel = imgproc::get_structuring_element(imgproc::MORPH_ELLIPSE, Size::new(k, k), Point::new(-1, -1))?;
    let mut closed = Mat::default();
    imgproc::morphology_ex_def(&mask, &mut closed, imgproc::MORPH_CLOSE, &kernel)?;
    Ok(closed.data_bytes()?.to_vec())
}

/// Everything not reachable from the photo's corners through non-garment pixels is garment.
/// Seeding at the corners rather than along the whole border keeps a pale garment whose
/// sleeve runs off the edge closed: its opening at the edge is not a way in.
pub(crate) fn fill_holes(mask: &[u8], w: usize, h: usize) -> Vec<u8> {
    let mut outside = vec![false; w * h];
    let mut queue = VecDeque::new();
    let corners = [0, w - 1, (h - 1) * w, h * w - 1];
    let mut seeds: Vec<usize> = corners.into_iter().filter(|&i| mask[i] == 0).collect();
    if seeds.is_empty() {
        seeds = (0..w).flat_map(|x| [x, (h - 1) * w + x]).chain((0..h).flat_map(|y| [y * w, y * w + w - 1])).filter(|&i| mask[i] == 0).collect();
    }
    for i in seeds {
        if !outside[i] {
            outside[i] = true;
            queue.push_back(i);
        }
    }
    while let Some(i) = queue.pop_front() {
        for (nx, ny) in neighbours(i % w, i / w, w, h) {
            let j = ny * w + nx;
            if mask[j] == 0 && !outside[j] {
                outside[j] = true;
                queue.push_back(j);
            }
        }
    }
    outside.iter().map(|&o| (!o) as u8).collect()
}

/// The largest 4-connected part of the mask.
pub(crate) fn largest_component(mask: &[u8], w: usize, h: usize) -> Vec<u8> {
    let mut label = vec![0u32; w * h];
    let (mut best, mut best_size, mut next) = (0u32, 0usize, 0u32);
    let mut queue = VecDeque::new();
    for start in 0..w * h {
        if mask[start] == 0 || label[start] != 0 {
            continue;
        }
        next += 1;
        label[start] = next;
        queue.push_back(start);
        let mut size = 0;
        while let Some(i) = queue.pop_front() {
            size += 1;
            for (nx, ny) in neighbours(i % w, i / w, w, h) {
                let j = ny * w + nx;
                if mask[j] != 0 && label[j] == 0 {
                    label[j] = next;
                    queue.push_back(j);
                }
            }
        }
        if size > best_size {
            (best, best_size) = (next, size);
        }
    }
    label.iter().map(|&l| (l == best && best != 0) as u8).collect()
}

fn neighbours(x: usize, y: usize, w: usize, h: usize) -> impl Iterator<Item = (usize, usize)> {
    [(x.wrapping_sub(1), y), (x + 1, y), (x, y.wrapping_sub(1)), (x, y + 1)].into_iter().filter(move |&(nx, ny)| nx < w && ny < h)
}

/// (x0, y0, x1, y1), exclusive ends; the mask must not be empty.
pub(crate) fn bounding_box(mask: &[u8], w: usize, h: usize) -> (usize, usize, usize, usize) {
    let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
    for y in 0..h {
        for x in 0..w {
            if mask[y * w + x] != 0 {
                (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x + 1), y1.max(y + 1));
            }
        }
    }
    (x0, y0, x1, y1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opencv::core::Rect;

    fn plain(w: i32, h: i32, colour: f64) -> Mat {
        Mat::new_rows_cols_with_default(h, w, core::CV_8UC3, Scalar::all(colour)).unwrap()
    }

    #[test]
    fn a_pale_outline_on_the_same_pale_backdrop_is_filled() {
        // A white square on white, drawn only as a grey outline: the inside is garment.
        let mut img = plain(200, 200, 250.0);
        imgproc::rectangle(&mut img, Rect::new(50, 40, 100, 120), Scalar::all(150.0), 2, imgproc::LINE_8, 0).unwrap();
        let cut = cut_out(&img).unwrap();
        let area = cut.mask.iter().filter(|&&m| m == 1).count();
        assert!((area as i32 - 100 * 120).abs() < 600, "{area}");
    }

    #[test]
    fn the_largest_part_wins_and_specks_are_dropped() {
        let mut img = plain(200, 200, 30.0);
        imgproc::rectangle(&mut img, Rect::new(40, 40, 100, 100), Scalar::new(0.0, 0.0, 220.0, 0.0), -1, imgproc::LINE_8, 0).unwrap();
        imgproc::rectangle(&mut img, Rect::new(170, 170, 6, 6), Scalar::all(200.0), -1, imgproc::LINE_8, 0).unwrap();
        let cut = cut_out(&img).unwrap();
        assert_eq!((cut.width, cut.height), (104, 104), "cropped to the big square plus 2 px");
    }

    #[test]
    fn unusable_photos_say_why() {
        let err = cut_out(&plain(120, 90, 128.0)).unwrap_err();
        assert!(matches!(err, GarmentError::NoGarment(_)), "{err}");
        let mut speck = plain(400, 400, 240.0);
        imgproc::rectangle(&mut speck, Rect::new(100, 100, 30, 30), Scalar::all(10.0), -1, imgproc::LINE_8, 0).unwrap();
        let err = cut_out(&speck).unwrap_err();
        assert!(matches!(err, GarmentError::TooSmall(_)) && err.to_string().contains("covers"), "{err}");
        // An opaque photo with a transparent window: the "garment" is the whole frame.
        let mut framed = Mat::new_rows_cols_with_default(100, 100, core::CV_8UC4, Scalar::new(90.0, 90.0, 90.0, 255.0)).unwrap();
        imgproc::rectangle(&mut framed, Rect::new(30, 30, 40, 40), Scalar::all(0.0), -1, imgproc::LINE_8, 0).unwrap();
        let err = cut_out(&framed).unwrap_err();
        assert!(matches!(err, GarmentError::TouchesAllBorders), "{err}");
    }

    #[test]
    fn alpha_is_used_when_the_photo_has_it() {
        let mut img = Mat::new_rows_cols_with_default(100, 100, core::CV_8UC4, Scalar::new(255.0, 255.0, 255.0, 0.0)).unwrap();
        imgproc::rectangle(&mut img, Rect::new(20, 10, 60, 80), Scalar::new(255.0, 255.0, 255.0, 255.0), -1, imgproc::LINE_8, 0).unwrap();
        let cut = cut_out(&img).unwrap();
        assert_eq!((cut.width, cut.height), (64, 84));
        assert_eq!(cut.bgra.data_bytes().unwrap()[3], 0);
    }
}

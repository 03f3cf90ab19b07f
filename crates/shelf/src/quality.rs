//! Is the photo usable: sharpness (variance of the Laplacian) and brightness, measured on a
//! copy scaled to the detector's input width so the thresholds mean the same at any size.

use opencv::core::{Mat, Size, CV_64F};
use opencv::imgproc;
use opencv::prelude::*;
use serde::{Deserialize, Serialize};

use crate::ShelfError;

/// Width the measures are taken at (the detector sees about this much detail).
const MEASURE_WIDTH: f64 = 512.0;
/// Below this Laplacian variance the photo is too blurred to trust (calibrated on the
/// fixture shelves: sharp ones measure several hundred, a Gaussian blur of sigma 3 about 20).
pub const BLURRY_BELOW: f64 = 60.0;
/// Mean grey level (0-255) below which the photo is too dark.
pub const DARK_BELOW: f64 = 40.0;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ImageQuality {
    /// Variance of the Laplacian of the grey image at 512 px width.
    pub sharpness: f64,
    /// Mean grey level, 0-255.
    pub brightness: f64,
    pub blurry: bool,
    pub dark: bool,
}

/// Measures a BGR image.
pub fn assess(bgr: &Mat) -> Result<ImageQuality, ShelfError> {
    let mut grey = Mat::default();
    imgproc::cvt_color(bgr, &mut grey, imgproc::COLOR_BGR2GRAY, 0)?;
    assess_grey(&grey)
}

/// Measures the greyscale of an image (for a caller that needs the grey image too).
pub(crate) fn assess_grey(grey: &Mat) -> Result<ImageQuality, ShelfError> {
    let scale = MEASURE_WIDTH / grey.cols().max(1) as f64;
    let mut small = Mat::default();
    let size = Size::new(MEASURE_WIDTH as i32, ((grey.rows() as f64 * scale).round() as i32).max(1));
    imgproc::resize(grey, &mut small, size, 0.0, 0.0, imgproc::INTER_AREA)?;
    let mut lap = Mat::default();
    imgproc::laplacian(&small, &mut lap, CV_64F, 1, 1.0, 0.0, opencv::core::BORDER_DEFAULT)?;
    let (mut mean, mut std) = (Mat::default(), Mat::default());
    opencv::core::mean_std_dev(&lap, &mut mean, &mut std, &opencv::core::no_array())?;
    let sd = *std.at::<f64>(0)?;
    let brightness = opencv::core::mean(&small, &opencv::core::no_array())?[0];
    let sharpness = sd * sd;
    Ok(ImageQuality { sharpness, brightness, blurry: sharpness < BLURRY_BELOW, dark: brightness < DARK_BELOW })
}

/// A uniform image of one colour (used by tests and as the "black frame" case).
#[cfg(test)]
pub(crate) fn uniform(width: i32, height: i32, bgr: [f64; 3]) -> Mat {
    Mat::new_rows_cols_with_default(height, width, opencv::core::CV_8UC3, opencv::core::Scalar::new(bgr[0], bgr[1], bgr[2], 0.0)).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;

    #[test]
    fn sharp_blurred_and_dark_shelves() {
        let (image, _) = fixture_shelves().swap_remove(0);
        let sharp = assess(&image).unwrap();
        assert!(!sharp.blurry && !sharp.dark, "{sharp:?}");
        let mut blurred = Mat::default();
        imgproc::gaussian_blur_def(&image, &mut blurred, Size::new(0, 0), 3.0).unwrap();
        let soft = assess(&blurred).unwrap();
        assert!(soft.blurry, "{soft:?} vs sharp {sharp:?}");
        let mut dark = Mat::default();
        image.convert_to(&mut dark, -1, 0.1, 0.0).unwrap();
        assert!(assess(&dark).unwrap().dark);
        let black = assess(&uniform(1920, 1080, [0.0; 3])).unwrap();
        assert!(black.dark && black.blurry, "{black:?}");
    }
}

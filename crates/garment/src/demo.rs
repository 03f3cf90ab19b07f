//! Demo garments drawn in code (flat front views with a print), so a fresh kiosk can try
//! on its demo catalog without any photo. They go through the same cut-out and landmark
//! finding as a real packshot.

use opencv::core::{self, Mat, Point, Scalar, Vector};
use opencv::imgproc;
use opencv::prelude::*;

use crate::{Garment, GarmentKind, Result};

const SIDE: i32 = 400;

fn outline(kind: GarmentKind) -> Vec<(i32, i32)> {
    match kind {
        GarmentKind::Top => vec![
            (170, 40), (200, 52), (230, 40), (290, 55), (362, 125), (322, 165), (290, 140), (292, 362),
            (108, 362), (110, 140), (78, 165), (38, 125), (110, 55),
        ],
        GarmentKind::Outerwear => vec![
            (160, 72), (166, 16), (200, 6), (234, 16), (240, 72), (290, 78), (330, 200), (345, 330),
            (305, 338), (292, 230), (290, 372), (110, 372), (108, 230), (95, 338), (55, 330), (70, 200), (110, 78),
        ],
        GarmentKind::Dress => vec![
            (140, 28), (200, 80), (260, 28), (266, 110), (250, 190), (310, 442), (90, 442), (150, 190), (134, 110),
        ],
    }
}

/// A flat garment of the given kind and colour (B, G, R) with a contrasting print.
pub fn draw(kind: GarmentKind, bgr: [u8; 3]) -> Result<Garment> {
    let height = if kind == GarmentKind::Dress { SIDE + 60 } else { SIDE };
    let mut canvas = Mat::new_rows_cols_with_default(height, SIDE, core::CV_8UC4, Scalar::all(0.0))?;
    let colour = Scalar::new(bgr[0] as f64, bgr[1] as f64, bgr[2] as f64, 255.0);
    let light = bgr.iter().map(|&c| c as u32).sum::<u32>() > 3 * 128;
    let print = if light { Scalar::new(40.0, 30.0, 30.0, 255.0) } else { Scalar::new(235.0, 240.0, 245.0, 255.0) };
    let pts: Vector<Point> = outline(kind).into_iter().map(|(x, y)| Point::new(x, y)).collect();
    let polys = Vector::<Vector<Point>>::from_iter([pts]);
    imgproc::fill_poly_def(&mut canvas, &polys, colour)?;
    // Shading down the sides, so a warp's stretch is visible in the demo.
    let shade = Scalar::new(bgr[0] as f64 * 0.8, bgr[1] as f64 * 0.8, bgr[2] as f64 * 0.8, 255.0);
    match kind {
        GarmentKind::Top => {
            imgproc::circle(&mut canvas, Point::new(200, 180), 46, print, 10, imgproc::LINE_AA, 0)?;
            imgproc::circle(&mut canvas, Point::new(200, 180), 14, print, -1, imgproc::LINE_AA, 0)?;
            imgproc::line(&mut canvas, Point::new(112, 330), Point::new(288, 330), shade, 8, imgproc::LINE_8, 0)?;
        }
        GarmentKind::Outerwear => {
            imgproc::line(&mut canvas, Point::new(200, 90), Point::new(200, 370), print, 4, imgproc::LINE_8, 0)?;
            imgproc::rectangle(&mut canvas, core::Rect::new(140, 260, 120, 60), shade, -1, imgproc::LINE_8, 0)?;
            imgproc::line(&mut canvas, Point::new(112, 360), Point::new(288, 360), print, 6, imgproc::LINE_8, 0)?;
        }
        GarmentKind::Dress => {
            for (i, y) in (230..430).step_by(40).enumerate() {
                let x = 150 + (i as i32 % 2) * 40;
                for k in 0..3 {
                    imgproc::circle(&mut canvas, Point::new(x + k * 45, y), 9, print, -1, imgproc::LINE_AA, 0)?;
                }
            }
            imgproc::line(&mut canvas, Point::new(150, 190), Point::new(250, 190), shade, 6, imgproc::LINE_8, 0)?;
        }
    }
    // Prints drawn across the edge must not show outside the garment: keep the outline's alpha.
    let mut outline_only = Mat::new_rows_cols_with_default(height, SIDE, core::CV_8UC1, Scalar::all(0.0))?;
    imgproc::fill_poly_def(&mut outline_only, &polys, Scalar::all(255.0))?;
    let inside = outline_only.data_bytes()?.to_vec();
    for (px, &a) in canvas.data_bytes_mut()?.chunks_exact_mut(4).zip(&inside) {
        px[3] = a;
    }
    Garment::from_image(&canvas, kind)
}

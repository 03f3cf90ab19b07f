//! The annotated image: products (green when confirmed or named, orange when misplaced, grey
//! when unnamed) with their SKU, gaps in red with their width, labels in blue.

use std::path::Path;

use opencv::core::{Mat, Point, Rect, Scalar, Vector};
use opencv::imgproc;
use opencv::prelude::*;

use crate::report::{FrameReport, LookVerdict, QualityFlag};
use crate::ShelfError;

const GREEN: (f64, f64, f64) = (60.0, 200.0, 60.0);
const ORANGE: (f64, f64, f64) = (0.0, 150.0, 255.0);
const GREY: (f64, f64, f64) = (170.0, 170.0, 170.0);
const RED: (f64, f64, f64) = (40.0, 40.0, 230.0);
const BLUE: (f64, f64, f64) = (230.0, 120.0, 30.0);

fn colour(c: (f64, f64, f64)) -> Scalar {
    Scalar::new(c.0, c.1, c.2, 0.0)
}

fn rect(b: &[f32; 4]) -> Rect {
    Rect::new(b[0] as i32, b[1] as i32, ((b[2] - b[0]) as i32).max(1), ((b[3] - b[1]) as i32).max(1))
}

/// A copy of `bgr` with the frame's findings drawn on it.
pub fn annotate(bgr: &Mat, frame: &FrameReport) -> Result<Mat, ShelfError> {
    let mut out = bgr.try_clone()?;
    // Line and text size follow the image, so 1080p stays legible.
    let unit = (out.cols().max(out.rows()) as f64 / 640.0).max(1.0);
    let thick = unit.round() as i32;
    let font = 0.35 * unit;
    let text = |img: &mut Mat, s: &str, at: Point, c: (f64, f64, f64)| -> Result<(), ShelfError> {
        imgproc::put_text(img, s, at, imgproc::FONT_HERSHEY_SIMPLEX, font, Scalar::all(0.0), thick + 2, imgproc::LINE_AA, false)?;
        imgproc::put_text(img, s, at, imgproc::FONT_HERSHEY_SIMPLEX, font, colour(c), thick, imgproc::LINE_AA, false)?;
        Ok(())
    };
    for row in &frame.rows {
        for slot in &row.slots {
            if let Some(label) = &slot.label {
                imgproc::rectangle(&mut out, rect(&label.bbox), colour(BLUE), thick, imgproc::LINE_8, 0)?;
            }
            for g in &slot.gaps {
                imgproc::rectangle(&mut out, rect(g), colour(RED), thick, imgproc::LINE_8, 0)?;
                text(&mut out, &format!("gap {:.0}px", g[2] - g[0]), Point::new(g[0] as i32 + 2, ((g[1] + g[3]) / 2.0) as i32), RED)?;
            }
            if slot.products.is_empty() && slot.label.is_some() && slot.gaps.is_empty() {
                let l = slot.label.as_ref().unwrap();
                text(&mut out, "EMPTY", Point::new(l.bbox[0] as i32, (l.bbox[1] - 4.0 * unit as f32) as i32), RED)?;
            }
            for p in &slot.products {
                let c = match (&p.verdict, &p.sku) {
                    (LookVerdict::Misplaced { .. }, _) => ORANGE,
                    (_, Some(_)) => GREEN,
                    (_, None) => GREY,
                };
                imgproc::rectangle(&mut out, rect(&p.bbox), colour(c), thick, imgproc::LINE_8, 0)?;
                if let Some(sku) = &p.sku {
                    text(&mut out, sku, Point::new(p.bbox[0] as i32 + 2, p.bbox[1] as i32 + (10.0 * unit) as i32), c)?;
                }
            }
        }
    }
    let mut y = (16.0 * unit) as i32;
    for flag in &frame.flags {
        let s = match flag {
            QualityFlag::Blurry => "BLURRY",
            QualityFlag::Dark => "DARK",
            QualityFlag::NoShelfFound => "NO SHELF FOUND",
        };
        text(&mut out, s, Point::new((6.0 * unit) as i32, y), RED)?;
        y += (16.0 * unit) as i32;
    }
    Ok(out)
}

/// Writes an annotated image; the extension picks the format (`.jpg`, `.png`).
pub fn write_annotated(path: &Path, image: &Mat) -> Result<(), ShelfError> {
    let err = |reason: String| ShelfError::Output { path: path.to_owned(), reason };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
    }
    let ok = opencv::imgcodecs::imwrite(&path, image, &Vector::new()).map_err(|e| err(e.to_string()))?;
    if !ok {
        return Err(err("the image could not be written (unknown extension? use .jpg or .png)".into()));
    }
    Ok(())
}

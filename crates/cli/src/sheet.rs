//! Contact sheets: rows of pictures, each scaled into a white cell, written as one PNG.

use std::path::Path;

use anyhow::{Context, Result};
use opencv::core::{self, Mat, Rect, Scalar, Size, Vector};
use opencv::imgproc;
use opencv::prelude::*;

/// Writes `rows` (BGR pictures) as a grid of `cell_w`×`cell_h` cells.
pub fn write_sheet<R: AsRef<[Mat]>>(path: &Path, rows: &[R], cell_w: i32, cell_h: i32) -> Result<()> {
    let columns = rows.iter().map(|r| r.as_ref().len()).max().unwrap_or(0);
    let mut sheet = Vector::<Mat>::new();
    for row in rows {
        let mut cells = Vector::<Mat>::new();
        for k in 0..columns {
            let mut cell = Mat::new_rows_cols_with_default(cell_h, cell_w, core::CV_8UC3, Scalar::all(255.0))?;
            if let Some(img) = row.as_ref().get(k) {
                let s = (f64::from(cell_h) / f64::from(img.rows())).min(f64::from(cell_w) / f64::from(img.cols()));
                let (w, h) = (((f64::from(img.cols()) * s).round() as i32).clamp(1, cell_w), ((f64::from(img.rows()) * s).round() as i32).clamp(1, cell_h));
                let mut scaled = Mat::default();
                imgproc::resize(img, &mut scaled, Size::new(w, h), 0.0, 0.0, imgproc::INTER_AREA)?;
                scaled.copy_to(&mut Mat::roi_mut(&mut cell, Rect::new((cell_w - w) / 2, (cell_h - h) / 2, w, h))?)?;
            }
            cells.push(cell);
        }
        let mut line = Mat::default();
        core::hconcat(&cells, &mut line)?;
        sheet.push(line);
    }
    let mut out = Mat::default();
    core::vconcat(&sheet, &mut out)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let params = Vector::from_slice(&[opencv::imgcodecs::IMWRITE_PNG_COMPRESSION, 9]);
    opencv::imgcodecs::imwrite(path.to_str().context("path")?, &out, &params)?;
    Ok(())
}

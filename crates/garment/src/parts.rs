//! A garment split into the parts that move apart on a body: the body, each sleeve, and the
//! collar or hood. Try-on warps each part on its own (a sleeve follows its arm), so the split
//! is made once, when the garment is prepared, from its landmarks.

use opencv::core::{self, Mat, Scalar};
use opencv::prelude::*;

use crate::{Garment, Point, Result};

/// Which part a pixel of the cut-out belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Body,
    /// The wearer's left sleeve (on the image's right).
    SleeveLeft,
    SleeveRight,
    /// What stands above the neckline: the inside of the back neck, a collar, a hood.
    Collar,
}

/// One 8-bit mask per part over the cut-out (255 inside); every opaque pixel lies in exactly
/// one part.
#[derive(Debug, Clone)]
pub struct GarmentParts {
    pub body: Mat,
    pub sleeve_left: Mat,
    pub sleeve_right: Mat,
    pub collar: Mat,
}

impl GarmentParts {
    pub fn get(&self, part: Part) -> &Mat {
        match part {
            Part::Body => &self.body,
            Part::SleeveLeft => &self.sleeve_left,
            Part::SleeveRight => &self.sleeve_right,
            Part::Collar => &self.collar,
        }
    }

    /// Opaque pixels in each part: (body, left sleeve, right sleeve, collar).
    pub fn areas(&self) -> Result<[usize; 4]> {
        let count = |m: &Mat| -> Result<usize> { Ok(m.data_bytes()?.iter().filter(|&&v| v > 0).count()) };
        Ok([count(&self.body)?, count(&self.sleeve_left)?, count(&self.sleeve_right)?, count(&self.collar)?])
    }
}

impl Garment {
    /// Splits the cut-out into body, sleeves and collar. Sleeves are what lies beyond the body
    /// line (each armpit down to its hem corner, straight up above the armpit), on their own
    /// side of the centre; the collar is what lies above the neckline (back-neck corners and
    /// the front of the neckline), between the neck points and a little beyond.
    pub fn parts(&self) -> Result<GarmentParts> {
        let l = &self.landmarks;
        let (w, h) = (self.width(), self.height());
        let blank = || Mat::new_rows_cols_with_default(h, w, core::CV_8UC1, Scalar::all(0.0));
        let (mut body, mut left, mut right, mut collar) = (blank()?, blank()?, blank()?, blank()?);
        // A side without a sleeve end has no sleeve: what lies beyond its body line is body.
        let (has_left, has_right) = (l.sleeve_left.is_some(), l.sleeve_right.is_some());
        let edge = |y: f32, armpit: Point, hem: Point| {
            if y <= armpit.y {
                armpit.x
            } else {
                armpit.x + (hem.x - armpit.x) * (y - armpit.y) / (hem.y - armpit.y).max(1.0)
            }
        };
        let centre = l.neck_centre.x;
        let neck_span = (l.neck_left.x - l.neck_right.x).abs().max(1.0);
        // The neckline as a curve over x: back corners → front centre → back corners.
        let neck_y = |x: f32| -> Option<f32> {
            let (r, c, lf) = (l.neck_right, l.neck_centre, l.neck_left);
            let reach = 0.35 * neck_span;
            if x < r.x - reach || x > lf.x + reach {
                None
            } else if x <= r.x {
                Some(r.y)
            } else if x <= c.x {
                Some(r.y + (c.y - r.y) * (x - r.x) / (c.x - r.x).max(1e-3))
            } else if x <= lf.x {
                Some(c.y + (lf.y - c.y) * (x - c.x) / (lf.x - c.x).max(1e-3))
            } else {
                Some(lf.y)
            }
        };
        let alpha: Vec<u8> = self.image.data_bytes()?.chunks_exact(4).map(|p| p[3]).collect();
        let (bd, ld, rd, cd) = (body.data_bytes_mut()?, left.data_bytes_mut()?, right.data_bytes_mut()?, collar.data_bytes_mut()?);
        for y in 0..h as usize {
            let yf = y as f32 + 0.5;
            let (edge_l, edge_r) = (edge(yf, l.armpit_left, l.hem_left), edge(yf, l.armpit_right, l.hem_right));
            for x in 0..w as usize {
                let i = y * w as usize + x;
                if alpha[i] == 0 {
                    continue;
                }
                let xf = x as f32 + 0.5;
                let above_neck = neck_y(xf).is_some_and(|ny| yf < ny) && yf < l.armpit_left.y.min(l.armpit_right.y);
                let target = if has_left && xf > edge_l && xf > centre && !above_neck {
                    &mut ld[i]
                } else if has_right && xf < edge_r && xf < centre && !above_neck {
                    &mut rd[i]
                } else if above_neck {
                    &mut cd[i]
                } else {
                    &mut bd[i]
                };
                *target = 255;
            }
        }
        Ok(GarmentParts { body, sleeve_left: left, sleeve_right: right, collar })
    }
}

#[cfg(test)]
mod tests {
    use crate::testutil::packshots;
    use crate::{demo, Garment, GarmentKind};

    #[test]
    fn every_opaque_pixel_is_in_one_part_and_sleeves_are_on_their_side() {
        let tee = demo::draw(GarmentKind::Top, [30, 30, 200]).unwrap();
        let parts = tee.parts().unwrap();
        let [body, left, right, collar] = parts.areas().unwrap();
        let opaque = tee.image.data_bytes().unwrap().chunks_exact(4).filter(|p| p[3] > 0).count();
        assert_eq!(body + left + right + collar, opaque);
        assert!(body > left + right, "the body is the largest part: {body} {left} {right}");
        assert!(left > 0 && right > 0 && (left as f32 / right as f32 - 1.0).abs() < 0.2, "symmetric sleeves {left} {right}");
        // The wearer's left sleeve is on the image's right: the middle of each sleeve (between
        // its shoulder and its end) is in that sleeve's part.
        let l = &tee.landmarks;
        let mid = |a: crate::Point, b: crate::Point| crate::Point::new(0.5 * (a.x + b.x), 0.5 * (a.y + b.y));
        let at = |m: &opencv::core::Mat, p: crate::Point| *m.at_2d::<u8>(p.y as i32, p.x as i32).unwrap();
        use opencv::prelude::*;
        let (ml, mr) = (mid(l.shoulder_left, l.sleeve_left.unwrap()), mid(l.shoulder_right, l.sleeve_right.unwrap()));
        assert!(ml.x > mr.x);
        assert_eq!(at(&parts.sleeve_left, ml), 255);
        assert_eq!(at(&parts.sleeve_right, mr), 255);
        // A sleeveless dress is all body and collar.
        let dress = demo::draw(GarmentKind::Dress, [30, 30, 200]).unwrap();
        let [_, dl, dr, _] = dress.parts().unwrap().areas().unwrap();
        assert_eq!(dl + dr, 0);
    }

    #[test]
    fn a_real_hoodie_has_a_hood_and_two_long_sleeves() {
        let Some(dir) = packshots() else { return eprintln!("shared packshots missing; skipped") };
        let bytes = std::fs::read(dir.join("solidus_hoodie_black_1.png")).unwrap();
        let hoodie = Garment::from_photo(&bytes, GarmentKind::Outerwear).unwrap();
        let [body, left, right, hood] = hoodie.parts().unwrap().areas().unwrap();
        let total = (body + left + right + hood) as f32;
        assert!(hood as f32 > 0.03 * total, "the hood stands above the neckline: {hood} of {total}");
        for sleeve in [left, right] {
            assert!((0.08..0.3).contains(&(sleeve as f32 / total)), "a long sleeve: {sleeve} of {total}");
        }
    }
}

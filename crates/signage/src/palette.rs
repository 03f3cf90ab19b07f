//! Colours: the palette taken from the product photo, WCAG contrast, and the measure of a
//! text's contrast against what was really rendered behind it.

use resvg::tiny_skia::Pixmap;
use serde::Serialize;

use crate::SignageError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    pub const WHITE: Rgb = Rgb(255, 255, 255);
    pub const INK: Rgb = Rgb(17, 17, 20);

    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }

    /// WCAG 2 relative luminance.
    pub fn luminance(self) -> f64 {
        let lin = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.039_28 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
        };
        0.2126 * lin(self.0) + 0.7152 * lin(self.1) + 0.0722 * lin(self.2)
    }

    /// Mixed with `other` by `t` (0: self, 1: other).
    pub fn mix(self, other: Rgb, t: f64) -> Rgb {
        let m = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * t).round().clamp(0.0, 255.0) as u8;
        Rgb(m(self.0, other.0), m(self.1, other.1), m(self.2, other.2))
    }

    fn hsv(self) -> (f64, f64, f64) {
        let (r, g, b) = (f64::from(self.0) / 255.0, f64::from(self.1) / 255.0, f64::from(self.2) / 255.0);
        let max = r.max(g).max(b);
        let min = r.min(g).min(b);
        let d = max - min;
        let h = if d == 0.0 {
            0.0
        } else if max == r {
            60.0 * ((g - b) / d).rem_euclid(6.0)
        } else if max == g {
            60.0 * ((b - r) / d + 2.0)
        } else {
            60.0 * ((r - g) / d + 4.0)
        };
        (h, if max == 0.0 { 0.0 } else { d / max }, max)
    }

    fn from_hsv(h: f64, s: f64, v: f64) -> Rgb {
        let c = v * s;
        let x = c * (1.0 - ((h / 60.0).rem_euclid(2.0) - 1.0).abs());
        let m = v - c;
        let (r, g, b) = match (h.rem_euclid(360.0) / 60.0) as u32 {
            0 => (c, x, 0.0),
            1 => (x, c, 0.0),
            2 => (0.0, c, x),
            3 => (0.0, x, c),
            4 => (x, 0.0, c),
            _ => (c, 0.0, x),
        };
        let byte = |v: f64| ((v + m) * 255.0).round().clamp(0.0, 255.0) as u8;
        Rgb(byte(r), byte(g), byte(b))
    }
}

/// WCAG 2 contrast ratio, 1 to 21.
pub fn contrast_ratio(a: Rgb, b: Rgb) -> f64 {
    let (la, lb) = (a.luminance(), b.luminance());
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// The poster's colours: `base` from the photo, a dark and a light shade of it, an accent at
/// the opposite hue.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Palette {
    pub base: Rgb,
    pub dark: Rgb,
    pub light: Rgb,
    pub accent: Rgb,
}

impl Palette {
    pub fn from_base(base: Rgb) -> Self {
        let (h, s, _) = base.hsv();
        // A grey or black garment gives no hue: the accent falls back to the store's amber.
        let accent = if s < 0.15 { Rgb(232, 176, 74) } else { Rgb::from_hsv(h + 180.0, 0.65, 0.9) };
        Palette { base, dark: Rgb::from_hsv(h, s.min(0.6), 0.16), light: Rgb::from_hsv(h, (s * 0.25).min(0.12), 0.97), accent }
    }

    /// For a product without a photo: a hue from its code, so each product keeps its colours.
    pub fn from_code(code: &str) -> Self {
        let hash = code.bytes().fold(0x811C_9DC5u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
        Palette::from_base(Rgb::from_hsv(f64::from(hash % 360), 0.55, 0.7))
    }
}

/// A product photo with transparency: the PNG as it came, its size, the box its opaque
/// pixels fill, and its dominant colour.
#[derive(Debug, Clone)]
pub struct Photo {
    pub png: Vec<u8>,
    pub width: u32,
    pub height: u32,
    /// x, y, width, height of the opaque pixels.
    pub content: (u32, u32, u32, u32),
    pub dominant: Rgb,
}

impl Photo {
    pub fn decode(png: &[u8]) -> Result<Self, SignageError> {
        let pixmap = Pixmap::decode_png(png).map_err(|e| SignageError::Photo(e.to_string()))?;
        let (w, h) = (pixmap.width(), pixmap.height());
        let mut counts = vec![0u32; 4096];
        let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
        for (i, p) in pixmap.pixels().iter().enumerate() {
            if p.alpha() < 128 {
                continue;
            }
            let c = p.demultiply();
            let (x, y) = (i as u32 % w, i as u32 / w);
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            counts[(usize::from(c.red() >> 4) << 8) | (usize::from(c.green() >> 4) << 4) | usize::from(c.blue() >> 4)] += 1;
        }
        if x1 < x0 {
            return Err(SignageError::Photo("no opaque pixel".into()));
        }
        let bucket = counts.iter().enumerate().max_by_key(|(_, n)| **n).map_or(0, |(k, _)| k);
        let centre = |v: usize| ((v & 15) * 16 + 8) as u8;
        let dominant = Rgb(centre(bucket >> 8), centre(bucket >> 4), centre(bucket));
        Ok(Self { png: png.to_vec(), width: w, height: h, content: (x0, y0, x1 - x0 + 1, y1 - y0 + 1), dominant })
    }
}

/// The lowest contrast of `colour` against every pixel of `background` inside `rect`.
pub(crate) fn min_contrast_behind(background: &Pixmap, rect: (f32, f32, f32, f32), colour: Rgb) -> f64 {
    let (w, h) = (background.width() as i64, background.height() as i64);
    let x0 = (rect.0.floor() as i64).clamp(0, w);
    let y0 = (rect.1.floor() as i64).clamp(0, h);
    let x1 = ((rect.0 + rect.2).ceil() as i64).clamp(0, w);
    let y1 = ((rect.1 + rect.3).ceil() as i64).clamp(0, h);
    let mut worst = f64::INFINITY;
    let mut seen = std::collections::HashSet::new();
    for y in y0..y1 {
        for x in x0..x1 {
            let p = background.pixels()[(y * w + x) as usize].demultiply();
            let rgb = Rgb(p.red(), p.green(), p.blue());
            if seen.insert(rgb) {
                worst = worst.min(contrast_ratio(colour, rgb));
            }
        }
    }
    worst
}

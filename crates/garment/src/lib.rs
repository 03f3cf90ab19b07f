//! Garments from one product photo: the garment is cut out of its background (a transparent
//! PNG's alpha, or a plain background estimated from the border), then its landmarks —
//! neckline, shoulders, armpits, sleeve ends, hem corners — are read off the mask's shape.
//! No manual annotation. Photos that cannot give a usable garment are refused with a reason.
//! [`Garment::parts`] splits it into body, sleeves and collar or hood for try-on's per-part fit.
//!
//! Coordinates are pixels of the cut-out image. "Left" and "right" are the *wearer's*, as in
//! BlazePose: a front-view packshot shows the wearer's left on the image's right.

mod cutout;
pub mod demo;
mod landmarks;
mod parts;

use std::fmt;
use std::str::FromStr;

use opencv::core::{Mat, Vector};
use opencv::imgcodecs;
use opencv::prelude::*;
use serde::{Deserialize, Serialize};

pub use cutout::{cut_out, CutOut};
pub use landmarks::find_landmarks;
pub use parts::{GarmentParts, Part};

#[derive(Debug, thiserror::Error)]
pub enum GarmentError {
    #[error("the file is not a readable image (corrupt, truncated or not PNG/JPEG)")]
    Unreadable,
    #[error("no garment stands out from the background: {0}")]
    NoGarment(String),
    #[error("the garment is too small: {0}")]
    TooSmall(String),
    #[error("the garment touches every border of the photo, so its background cannot be told apart; photograph it with margin on a plain background")]
    TouchesAllBorders,
    #[error("not usable as a {kind}: {reason}")]
    WrongShape { kind: GarmentKind, reason: String },
    #[error("unknown garment kind {0:?} (supported: top, outerwear, dress)")]
    UnknownKind(String),
    #[error("stored landmarks are unreadable: {0}")]
    Landmarks(#[from] serde_json::Error),
    #[error("OpenCV: {0}")]
    OpenCv(#[from] opencv::Error),
}

pub type Result<T, E = GarmentError> = std::result::Result<T, E>;

/// What the garment is; it decides which landmarks it must have. Caps, hats and other
/// accessories are not supported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GarmentKind {
    /// Tees, shirts, sweaters: shoulders, sleeves, hem at the hips.
    Top,
    /// Hoodies, jackets: like a top (a hood is clipped above the neckline).
    Outerwear,
    /// Dresses: shoulders and a hem below the hips; sleeves optional.
    Dress,
}

impl GarmentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Top => "top",
            Self::Outerwear => "outerwear",
            Self::Dress => "dress",
        }
    }
}

impl fmt::Display for GarmentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for GarmentKind {
    type Err = GarmentError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "top" => Ok(Self::Top),
            "outerwear" => Ok(Self::Outerwear),
            "dress" => Ok(Self::Dress),
            other => Err(GarmentError::UnknownKind(other.into())),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub x: f32,
    pub y: f32,
}

impl Point {
    pub fn new(x: f32, y: f32) -> Self {
        Self { x, y }
    }
    pub fn dist(self, o: Point) -> f32 {
        ((self.x - o.x).powi(2) + (self.y - o.y).powi(2)).sqrt()
    }
}

/// Where the garment's parts are, in cut-out pixels; left/right are the wearer's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GarmentLandmarks {
    /// Front of the neckline, on the centre line.
    pub neck_centre: Point,
    pub neck_left: Point,
    pub neck_right: Point,
    pub shoulder_left: Point,
    pub shoulder_right: Point,
    /// Where sleeve meets body (for a dress without sleeves: the side seam at the same height).
    pub armpit_left: Point,
    pub armpit_right: Point,
    /// The far end of each sleeve; `None` when the garment has none.
    pub sleeve_left: Option<Point>,
    pub sleeve_right: Option<Point>,
    pub hem_left: Point,
    pub hem_right: Point,
}

impl GarmentLandmarks {
    pub fn shoulder_width(&self) -> f32 {
        self.shoulder_left.dist(self.shoulder_right)
    }

    /// The same landmarks in an image scaled by `s` (stored garments are downsized).
    pub fn scaled(&self, s: f32) -> Self {
        let p = |p: Point| Point::new(p.x * s, p.y * s);
        Self {
            neck_centre: p(self.neck_centre),
            neck_left: p(self.neck_left),
            neck_right: p(self.neck_right),
            shoulder_left: p(self.shoulder_left),
            shoulder_right: p(self.shoulder_right),
            armpit_left: p(self.armpit_left),
            armpit_right: p(self.armpit_right),
            sleeve_left: self.sleeve_left.map(p),
            sleeve_right: self.sleeve_right.map(p),
            hem_left: p(self.hem_left),
            hem_right: p(self.hem_right),
        }
    }
}

/// A garment ready to try on: the cut-out image and its landmarks.
#[derive(Debug, Clone)]
pub struct Garment {
    pub kind: GarmentKind,
    /// BGRA, cropped to the garment; alpha is the cut-out mask.
    pub image: Mat,
    pub landmarks: GarmentLandmarks,
}

/// Stored garments are at most this many pixels on their longer side: plenty for a torso on
/// a 720p frame, and small enough to warp every frame.
pub const MAX_SIDE: i32 = 640;

impl Garment {
    /// Cuts the garment out of a packshot (PNG/JPEG bytes) and finds its landmarks.
    pub fn from_photo(bytes: &[u8], kind: GarmentKind) -> Result<Self> {
        let decoded = if bytes.is_empty() {
            Mat::default()
        } else {
            imgcodecs::imdecode(&Vector::<u8>::from_slice(bytes), imgcodecs::IMREAD_UNCHANGED).unwrap_or_default()
        };
        if decoded.empty() {
            return Err(GarmentError::Unreadable);
        }
        Self::from_image(&decoded, kind)
    }

    /// As [`Self::from_photo`] for an already decoded image (1, 3 or 4 channels, 8-bit).
    pub fn from_image(image: &Mat, kind: GarmentKind) -> Result<Self> {
        let cut = cut_out(image)?;
        let landmarks = find_landmarks(&cut.mask, cut.width, cut.height, kind)?;
        Ok(Self { kind, image: cut.bgra, landmarks })
    }

    /// A garment as stored: its PNG (BGRA) and landmarks JSON.
    pub fn from_stored(png: &[u8], kind: GarmentKind, landmarks_json: &str) -> Result<Self> {
        let image = imgcodecs::imdecode(&Vector::<u8>::from_slice(png), imgcodecs::IMREAD_UNCHANGED).unwrap_or_default();
        if image.empty() || image.channels() != 4 {
            return Err(GarmentError::Unreadable);
        }
        Ok(Self { kind, image, landmarks: serde_json::from_str(landmarks_json)? })
    }

    pub fn landmarks_json(&self) -> String {
        serde_json::to_string(&self.landmarks).expect("landmarks are plain numbers")
    }

    /// The cut-out as a PNG with alpha.
    pub fn to_png(&self) -> Result<Vec<u8>> {
        let mut buf = Vector::<u8>::new();
        imgcodecs::imencode_def(".png", &self.image, &mut buf)?;
        Ok(buf.to_vec())
    }

    pub fn width(&self) -> i32 {
        self.image.cols()
    }

    pub fn height(&self) -> i32 {
        self.image.rows()
    }

    /// Mean colour (B, G, R) of the opaque pixels.
    pub fn mean_bgr(&self) -> [f32; 3] {
        let data = self.image.data_bytes().unwrap_or(&[]);
        let (mut sum, mut n) = ([0f64; 3], 0f64);
        for px in data.chunks_exact(4).filter(|px| px[3] > 200) {
            for c in 0..3 {
                sum[c] += px[c] as f64;
            }
            n += 1.0;
        }
        let n = n.max(1.0);
        [(sum[0] / n) as f32, (sum[1] / n) as f32, (sum[2] / n) as f32]
    }
}

#[cfg(test)]
pub(crate) mod testutil {
    use std::path::{Path, PathBuf};

    /// The shared packshots, when this checkout has them.
    pub fn packshots() -> Option<PathBuf> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/media/garments");
        dir.is_dir().then_some(dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::packshots;

    fn add(name: &str, kind: GarmentKind) -> Result<Garment> {
        let bytes = std::fs::read(packshots().unwrap().join(name)).unwrap();
        Garment::from_photo(&bytes, kind)
    }

    #[test]
    fn real_tops_are_cut_out_with_plausible_landmarks() {
        let Some(_) = packshots() else { return eprintln!("shared packshots missing; skipped") };
        for (name, kind, long_sleeves) in [
            ("solidus_dark_tee.png", GarmentKind::Top, false),
            ("solidus_long_sleeve_tee.png", GarmentKind::Top, true),
            ("solidus_hoodie_black_1.png", GarmentKind::Outerwear, true),
        ] {
            let g = add(name, kind).unwrap_or_else(|e| panic!("{name}: {e}"));
            let l = &g.landmarks;
            let (w, h) = (g.width() as f32, g.height() as f32);
            assert!(w <= MAX_SIDE as f32 && h <= MAX_SIDE as f32);
            // Wearer's left on the image's right; neck above shoulders above armpits above hem.
            assert!(l.shoulder_left.x > l.shoulder_right.x && l.hem_left.x > l.hem_right.x, "{name}: {l:?}");
            assert!(l.neck_centre.y < l.armpit_left.y && l.armpit_left.y < l.hem_left.y, "{name}: {l:?}");
            assert!(l.shoulder_left.y < l.hem_left.y - 0.4 * h, "{name}: {l:?}");
            assert!((l.neck_centre.x - w / 2.0).abs() < 0.1 * w, "{name}: neck centred: {l:?}");
            let (sl, sr) = (l.sleeve_left.expect(name), l.sleeve_right.expect(name));
            assert!(sl.x > l.armpit_left.x && sr.x < l.armpit_right.x, "{name}: sleeves outside the body: {l:?}");
            let reach = sl.dist(l.shoulder_left) / l.shoulder_left.dist(l.hem_left);
            assert_eq!(reach > 0.55, long_sleeves, "{name}: sleeve reach {reach}");
            // The cut-out is the garment, not the backdrop: the corners are transparent.
            let d = g.image.data_bytes().unwrap();
            assert_eq!(d[3], 0, "{name}: top-left corner transparent");
            let opaque = d.chunks_exact(4).filter(|p| p[3] > 127).count() as f32 / (w * h);
            assert!((0.35..0.95).contains(&opaque), "{name}: {opaque}");
        }
    }

    #[test]
    fn a_white_tee_shot_on_a_white_studio_backdrop_is_accepted() {
        // The ringer: a white tee on a blown-out white backdrop, differing from it by a few
        // levels; its print and trim must survive the cut-out, the backdrop must not.
        let Some(_) = packshots() else { return eprintln!("shared packshots missing; skipped") };
        let g = add("solidus_ror_ringer.jpeg", GarmentKind::Top).unwrap_or_else(|e| panic!("{e}"));
        let (w, h) = (g.width() as f32, g.height() as f32);
        let d = g.image.data_bytes().unwrap();
        let opaque = d.chunks_exact(4).filter(|p| p[3] > 127).count() as f32 / (w * h);
        assert!((0.5..0.9).contains(&opaque), "{opaque}");
        assert_eq!(d[3], 0, "corner transparent");
        let l = &g.landmarks;
        assert!(l.sleeve_left.is_some() && l.sleeve_right.is_some(), "{l:?}");
        assert!(l.shoulder_left.x > l.shoulder_right.x && l.armpit_left.y < l.hem_left.y, "{l:?}");
        // The red print in the middle is kept, sharp: strong red pixels exist in the cut-out.
        let red = d.chunks_exact(4).filter(|p| p[3] > 200 && p[2] > 150 && p[1] < 90).count();
        assert!(red > 500, "{red} red print pixels");
    }

    #[test]
    fn caps_hats_and_flat_lays_are_refused_with_a_reason() {
        let Some(_) = packshots() else { return eprintln!("shared packshots missing; skipped") };
        for name in ["solidus_cap_red_1.png", "solidus_hat.png"] {
            let err = add(name, GarmentKind::Top).unwrap_err();
            assert!(matches!(err, GarmentError::WrongShape { .. }), "{name}: {err}");
            assert!(err.to_string().contains("sleeves"), "{name}: {err}");
            let err = add(name, GarmentKind::Dress).unwrap_err();
            assert!(matches!(err, GarmentError::WrongShape { .. }), "{name}: {err}");
        }
        let err = add("solidus_tshirt.png", GarmentKind::Top).unwrap_err();
        assert!(err.to_string().contains("wider than tall"), "{err}");
    }

    #[test]
    fn unreadable_bytes_are_refused() {
        assert!(matches!(Garment::from_photo(b"", GarmentKind::Top), Err(GarmentError::Unreadable)));
        assert!(matches!(Garment::from_photo(b"\x89PNG\r\n\x1a\nnot really", GarmentKind::Top), Err(GarmentError::Unreadable)));
        let mut png = demo::draw(GarmentKind::Top, [40, 40, 200]).unwrap().to_png().unwrap();
        png.truncate(png.len() / 3);
        assert!(Garment::from_photo(&png, GarmentKind::Top).is_err());
    }

    #[test]
    fn a_stored_garment_round_trips() {
        let g = demo::draw(GarmentKind::Dress, [90, 140, 60]).unwrap();
        let back = Garment::from_stored(&g.to_png().unwrap(), g.kind, &g.landmarks_json()).unwrap();
        assert_eq!(back.landmarks, g.landmarks);
        assert_eq!((back.width(), back.height()), (g.width(), g.height()));
        assert!(Garment::from_stored(b"junk", g.kind, &g.landmarks_json()).is_err());
        assert!(Garment::from_stored(&g.to_png().unwrap(), g.kind, "{").is_err());
    }

    #[test]
    fn kinds_parse() {
        assert_eq!("outerwear".parse::<GarmentKind>().unwrap(), GarmentKind::Outerwear);
        let err = "cap".parse::<GarmentKind>().unwrap_err();
        assert!(err.to_string().contains("top, outerwear, dress"), "{err}");
    }
}

//! Posters the store did not have to design, made on the device from its own data.
//!
//! A poster starts as [`PosterFacts`] (what the database says: product, price, sizes in stock,
//! shelf, why it is suggested) plus an optional cut-out photo and a line of copy. Each of the
//! [`Design`]s lays it out for a [`Format`] (screen portrait/landscape, A4/A3 print) as SVG:
//! palette from the photo, a background generated from the palette and the product code,
//! text fitted to its boxes (shrunk, then wrapped; what still does not fit is counted as
//! overflow, never cut), a QR code. [`render_png`] renders it and measures the WCAG contrast
//! of every text against the pixels really behind it; [`render_pdf`] prints it. Every
//! price, size, shelf and date put on a poster is listed in [`Poster::facts`] so the caller
//! can check each against the database before the poster is shown.

mod layout;
mod palette;
mod text;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use resvg::tiny_skia::{Pixmap, Transform};
use resvg::usvg;
use serde::Serialize;

pub use layout::{compose, Design};
pub use palette::{contrast_ratio, Palette, Photo, Rgb};
pub use text::Fonts;

/// Why a poster could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SignageError {
    #[error("no font for posters: {0} (install fonts-dejavu-core, or set [signage] font_dir)")]
    FontMissing(String),
    #[error("the product photo is not a readable PNG: {0}")]
    Photo(String),
    #[error("the poster's SVG did not parse: {0}")]
    Svg(String),
    #[error("cannot render the poster: {0}")]
    Render(String),
    #[error("the QR code cannot hold {0:?}")]
    Qr(String),
}

/// What the database says about the product on a poster.
#[derive(Debug, Clone, Serialize)]
pub struct PosterFacts {
    pub sku: String,
    pub product_code: String,
    pub product_name: String,
    pub price_cents: i64,
    /// Sizes with stock here, in wearing order (empty for one-size goods).
    pub sizes_in_stock: Vec<String>,
    /// The home shelf, e.g. "A1/B2/S1".
    pub location: Option<String>,
    pub reason: Reason,
    /// Where the QR code leads (the product's page, or its code when the store has none).
    pub qr_payload: String,
    /// A promotion running today: the poster shows its price, the usual one and its end.
    pub promotion: Option<PromotionFacts>,
}

/// A promotion as the poster prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PromotionFacts {
    pub percent_off: i64,
    pub price_cents: i64,
    /// The last UTC day (days since 1970-01-01).
    pub ends_day: i64,
}

/// Why a product gets a poster.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason {
    /// A promotion the store runs now.
    Promotion { percent_off: i64, ends_day: i64 },
    /// More stock than the recent sales rate moves in a long time.
    Overstock { days_of_cover: f64 },
    /// Sold nothing or little in the window although in stock.
    SlowMover { units_sold: i64, window_days: u32 },
    /// First delivered recently.
    NewArrival { days_ago: i64 },
    /// Among the store's best sellers (offered when the data finds too few of the above).
    BestSeller { units_sold: i64, window_days: u32 },
    /// Chosen by hand (`vitrine signage render --sku`), for no reason the data gives.
    Featured,
}

impl Reason {
    /// Why, in words for the manager approving it.
    pub fn why(&self) -> String {
        match self {
            Reason::Promotion { percent_off, ends_day } => format!("promotion: {percent_off} % off until {}", day_text(*ends_day)),
            Reason::Overstock { days_of_cover } => format!("{days_of_cover:.0} days of cover"),
            Reason::SlowMover { units_sold, window_days } => format!("{units_sold} sold in {window_days} days"),
            Reason::NewArrival { days_ago } => format!("new: first delivered {days_ago} days ago"),
            Reason::BestSeller { units_sold, window_days } => format!("best seller: {units_sold} sold in {window_days} days"),
            Reason::Featured => "chosen by hand".to_owned(),
        }
    }

    /// The line of copy when no language model writes one.
    pub fn template_copy(&self, product_name: &str) -> String {
        match self {
            Reason::Promotion { percent_off, .. } => format!("{percent_off} % off the {product_name} for a short time only."),
            Reason::Overstock { .. } => format!("Plenty of {product_name} in every size we have: come and try it on."),
            Reason::SlowMover { .. } => format!("Have you seen the {product_name}? It is right here in the store."),
            Reason::NewArrival { .. } => format!("Just in: the {product_name}, on our shelves now."),
            Reason::BestSeller { .. } => format!("A favourite in this store: the {product_name}."),
            Reason::Featured => format!("The {product_name}: find it in the store today."),
        }
    }
}

/// Where a poster goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// The kiosk's screen upright, 1080×1920.
    Portrait,
    /// A landscape screen, 1920×1080.
    Landscape,
    /// Print, A4 upright.
    A4,
    /// Print, A3 upright.
    A3,
}

impl Format {
    pub const ALL: [Format; 4] = [Format::Portrait, Format::Landscape, Format::A4, Format::A3];

    /// The canvas in pixels (print pages at 150 dpi).
    pub fn size(self) -> (u32, u32) {
        match self {
            Format::Portrait => (1080, 1920),
            Format::Landscape => (1920, 1080),
            Format::A4 => (1240, 1754),
            Format::A3 => (1754, 2480),
        }
    }

    /// Print formats' page size in millimetres.
    pub fn page_mm(self) -> Option<(u32, u32)> {
        match self {
            Format::A4 => Some((210, 297)),
            Format::A3 => Some((297, 420)),
            _ => None,
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "portrait" => Some(Format::Portrait),
            "landscape" => Some(Format::Landscape),
            "a4" => Some(Format::A4),
            "a3" => Some(Format::A3),
            _ => None,
        }
    }
}

/// A fact printed on a poster, to be checked against the database.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fact {
    Price { sku: String, cents: i64 },
    /// The promotion's price, its percentage and its last day.
    Promotion { sku: String, cents: i64, percent_off: i64, ends_day: i64 },
    SizeInStock { sku: String, size: String },
    Location { sku: String, code: String },
}

/// A text placed on the poster: its box, colour and whether it fitted.
#[derive(Debug, Clone, Serialize)]
pub struct TextBox {
    pub role: &'static str,
    pub text: String,
    /// x, y, width, height in canvas pixels.
    pub rect: (f32, f32, f32, f32),
    pub colour: Rgb,
    pub font_px: f32,
    pub lines: usize,
    pub fits: bool,
}

/// A laid-out poster, ready to render.
#[derive(Debug, Clone)]
pub struct Poster {
    pub design: Design,
    pub format: Format,
    pub width: u32,
    pub height: u32,
    /// The whole poster, and the same without its texts (for measuring what is behind them).
    pub svg: String,
    pub background_svg: String,
    pub texts: Vec<TextBox>,
    pub facts: Vec<Fact>,
    /// How much of the poster the product photo fills (0 without one).
    pub photo_share: f64,
}

impl Poster {
    /// Texts that did not fit their box even at the smallest size.
    pub fn overflow(&self) -> usize {
        self.texts.iter().filter(|t| !t.fits).count()
    }
}

/// A rendered poster and what was measured on it.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub png: Vec<u8>,
    /// The lowest WCAG contrast of any text against any pixel behind it.
    pub min_contrast: f64,
    pub render_ms: f64,
}

/// The fonts and options shared by every render (loaded once).
pub struct Renderer {
    options: usvg::Options<'static>,
    pub fonts: Arc<Fonts>,
}

impl Renderer {
    /// Loads DejaVu Sans (regular and bold) from `font_dir` or the usual system places.
    pub fn new(font_dir: Option<&Path>) -> Result<Self, SignageError> {
        let dirs: Vec<PathBuf> = match font_dir {
            Some(dir) => vec![dir.to_path_buf()],
            None => vec![PathBuf::from("/usr/share/fonts/truetype/dejavu"), PathBuf::from("/usr/share/fonts/TTF"), PathBuf::from("/usr/share/fonts/dejavu")],
        };
        let fonts = Arc::new(Fonts::load(&dirs)?);
        let mut db = usvg::fontdb::Database::new();
        db.load_font_data(fonts.regular_data.clone());
        db.load_font_data(fonts.bold_data.clone());
        let options = usvg::Options { font_family: text::FAMILY.to_owned(), fontdb: Arc::new(db), ..usvg::Options::default() };
        Ok(Self { options, fonts })
    }

    fn pixmap(&self, svg: &str, width: u32, height: u32, scale: f32) -> Result<Pixmap, SignageError> {
        let tree = usvg::Tree::from_str(svg, &self.options).map_err(|e| SignageError::Svg(e.to_string()))?;
        let mut pixmap = Pixmap::new(width, height).ok_or_else(|| SignageError::Render(format!("no {width}×{height} canvas")))?;
        resvg::render(&tree, Transform::from_scale(scale, scale), &mut pixmap.as_mut());
        Ok(pixmap)
    }

    /// Renders the poster to PNG at `scale` (1: full size) and measures every text's contrast
    /// against the background rendered without the texts.
    pub fn render_png(&self, poster: &Poster, scale: f32) -> Result<Rendered, SignageError> {
        let started = std::time::Instant::now();
        let (w, h) = (((poster.width as f32) * scale).round().max(1.0) as u32, ((poster.height as f32) * scale).round().max(1.0) as u32);
        let full = self.pixmap(&poster.svg, w, h, scale)?;
        let background = self.pixmap(&poster.background_svg, w, h, scale)?;
        let min_contrast = poster
            .texts
            .iter()
            .map(|t| palette::min_contrast_behind(&background, (t.rect.0 * scale, t.rect.1 * scale, t.rect.2 * scale, t.rect.3 * scale), t.colour))
            .fold(f64::INFINITY, f64::min);
        let png = full.encode_png().map_err(|e| SignageError::Render(e.to_string()))?;
        Ok(Rendered { png, min_contrast: if min_contrast.is_finite() { min_contrast } else { 21.0 }, render_ms: started.elapsed().as_secs_f64() * 1e3 })
    }

    /// The poster as a one-page PDF at its print size (screen formats at 150 dpi).
    pub fn render_pdf(&self, poster: &Poster) -> Result<Vec<u8>, SignageError> {
        let svg = match poster.format.page_mm() {
            Some((w, h)) => poster.svg.replacen(&format!("width=\"{}\" height=\"{}\"", poster.width, poster.height), &format!("width=\"{w}mm\" height=\"{h}mm\""), 1),
            None => poster.svg.clone(),
        };
        let tree = usvg::Tree::from_str(&svg, &self.options).map_err(|e| SignageError::Svg(e.to_string()))?;
        svg2pdf::to_pdf(&tree, svg2pdf::ConversionOptions::default(), svg2pdf::PageOptions { dpi: 96.0 }).map_err(|e| SignageError::Render(e.to_string()))
    }
}

/// Every design of the facts for a format, rendered at `scale`, best first: no overflow before any
/// overflow, then the higher of (contrast, capped at 7) and how much of the poster the
/// product fills. The score is returned beside each.
pub fn ranked_designs(renderer: &Renderer, facts: &PosterFacts, copy: &str, photo_png: Option<&[u8]>, format: Format, scale: f32) -> Result<Vec<(Poster, Rendered, f64)>, SignageError> {
    let photo = photo_png.map(palette::Photo::decode).transpose()?;
    let mut out = Vec::new();
    for design in Design::ALL {
        let poster = compose(&renderer.fonts, facts, copy, photo.as_ref(), design, format)?;
        let rendered = renderer.render_png(&poster, scale)?;
        let score = if poster.overflow() > 0 { -1.0 } else { rendered.min_contrast.min(7.0) / 7.0 + poster.photo_share };
        out.push((poster, rendered, score));
    }
    out.sort_by(|a, b| b.2.total_cmp(&a.2));
    Ok(out)
}

/// A UTC day number as a poster prints it: "14 Dec".
pub fn day_text(day: i64) -> String {
    // Howard Hinnant's civil_from_days.
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    format!("{d} {}", MONTHS[(m - 1) as usize])
}

/// Price as the store prints it: "19.00".
pub fn money(cents: i64) -> String {
    format!("{}{}.{:02}", if cents < 0 { "-" } else { "" }, cents.abs() / 100, cents.abs() % 100)
}

#[cfg(test)]
mod tests;

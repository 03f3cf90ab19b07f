//! The designs: where the product, the texts and the QR code go for each format, and the
//! background each design generates from the palette and the product code.

use base64::Engine;
use serde::Serialize;

use crate::palette::{contrast_ratio, Palette, Photo, Rgb};
use crate::text::{xml, Fonts, LINE_HEIGHT};
use crate::{day_text, money, Fact, Format, Poster, PosterFacts, Reason, SignageError, TextBox};

/// A poster design: one layout family, its own background and text treatment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Design {
    /// Dark ground, a glow of the product's colour behind the photo, light text.
    Spotlight,
    /// Light ground with diagonal stripes of the product's colour, text on a dark panel.
    Stripes,
    /// Light ground scattered with circles of the palette (placed from the product code),
    /// text on a white card.
    Confetti,
}

impl Design {
    pub const ALL: [Design; 3] = [Design::Spotlight, Design::Stripes, Design::Confetti];

    pub fn name(self) -> &'static str {
        match self {
            Design::Spotlight => "spotlight",
            Design::Stripes => "stripes",
            Design::Confetti => "confetti",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Design::ALL.into_iter().find(|d| d.name() == text)
    }
}

/// x, y, width, height.
type Rect = (f32, f32, f32, f32);

struct Canvas<'a> {
    fonts: &'a Fonts,
    body: String,
    texts: String,
    boxes: Vec<TextBox>,
}

impl Canvas<'_> {
    /// Fits `text` into `rect` and places it (top-left aligned, or centred when `centre`);
    /// `behind` is the colour the design puts behind it, for picking a readable colour.
    #[allow(clippy::too_many_arguments)]
    fn text(&mut self, role: &'static str, text: &str, rect: Rect, max_px: f32, max_lines: usize, bold: bool, preferred: Rgb, behind: Rgb, centre: bool) -> f32 {
        let fitted = self.fonts.fit(text, rect.2, rect.3, max_px, max_px * 0.4, max_lines, bold);
        let colour = readable(preferred, behind);
        let line_h = fitted.px * LINE_HEIGHT;
        let ascent = self.fonts.ascent(bold) * fitted.px;
        let widest = fitted.lines.iter().map(|l| self.fonts.width(l, fitted.px, bold)).fold(0.0f32, f32::max);
        for (i, line) in fitted.lines.iter().enumerate() {
            let w = self.fonts.width(line, fitted.px, bold);
            let x = if centre { rect.0 + (rect.2 - w) / 2.0 } else { rect.0 };
            self.texts.push_str(&format!(
                "<text x=\"{x:.1}\" y=\"{:.1}\" font-family=\"DejaVu Sans\" font-weight=\"{}\" font-size=\"{:.1}\" fill=\"{}\">{}</text>\n",
                rect.1 + ascent + i as f32 * line_h,
                if bold { "bold" } else { "normal" },
                fitted.px,
                colour.hex(),
                xml(line)
            ));
        }
        let height = fitted.lines.len() as f32 * line_h;
        let x = if centre { rect.0 + (rect.2 - widest) / 2.0 } else { rect.0 };
        self.boxes.push(TextBox { role, text: text.to_owned(), rect: (x, rect.1, widest, height), colour, font_px: fitted.px, lines: fitted.lines.len(), fits: fitted.fits });
        height
    }
}

/// `preferred` when it reads on `behind` (WCAG AA, 4.5:1), else whichever of near-black and
/// white reads better.
fn readable(preferred: Rgb, behind: Rgb) -> Rgb {
    if contrast_ratio(preferred, behind) >= 4.5 {
        return preferred;
    }
    if contrast_ratio(Rgb::INK, behind) >= contrast_ratio(Rgb::WHITE, behind) { Rgb::INK } else { Rgb::WHITE }
}

/// "A1/B2/S1" → "Aisle 1 · Bay 2 · Shelf 1".
fn location_words(code: &str) -> String {
    let parts: Vec<&str> = code.split('/').collect();
    match parts.as_slice() {
        [a, b, s] if a.starts_with('A') && b.starts_with('B') && s.starts_with('S') => format!("Aisle {} · Bay {} · Shelf {}", &a[1..], &b[1..], &s[1..]),
        _ => code.to_owned(),
    }
}

fn tag(reason: &Reason) -> &'static str {
    match reason {
        Reason::Promotion { .. } => "PROMOTION",
        Reason::NewArrival { .. } => "NEW IN STORE",
        Reason::Overstock { .. } => "IN STOCK NOW",
        Reason::SlowMover { .. } => "DON'T MISS IT",
        Reason::BestSeller { .. } => "BEST SELLER",
        Reason::Featured => "IN THIS STORE",
    }
}

/// A small deterministic generator from the product code, for the generated backgrounds.
struct Seeded(u64);

impl Seeded {
    fn new(code: &str) -> Self {
        Seeded(code.bytes().fold(0xCBF2_9CE4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3)))
    }

    fn unit(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// Lays out `facts` in `design` for `format`.
pub fn compose(fonts: &Fonts, facts: &PosterFacts, copy: &str, photo: Option<&Photo>, design: Design, format: Format) -> Result<Poster, SignageError> {
    let (w, h) = format.size();
    let (wf, hf) = (w as f32, h as f32);
    let palette = photo.map_or_else(|| Palette::from_code(&facts.product_code), |p| Palette::from_base(p.dominant));
    let upright = h > w;
    // The product's region and the text region.
    let (art, text_area): (Rect, Rect) = if upright {
        ((0.08 * wf, 0.05 * hf, 0.84 * wf, 0.47 * hf), (0.08 * wf, 0.56 * hf, 0.84 * wf, 0.40 * hf))
    } else {
        ((0.04 * wf, 0.08 * hf, 0.44 * wf, 0.84 * hf), (0.53 * wf, 0.09 * hf, 0.43 * wf, 0.82 * hf))
    };
    let unit = wf.min(hf);
    let mut c = Canvas { fonts, body: String::new(), texts: String::new(), boxes: Vec::new() };

    // Background and the panel the texts sit on.
    let pad = 0.04 * unit;
    let panel: Rect = (text_area.0 - pad, text_area.1 - pad, text_area.2 + 2.0 * pad, text_area.3 + 2.0 * pad);
    let (panel_colour, ink, price_colour) = match design {
        Design::Spotlight => {
            c.body.push_str(&format!(
                "<defs><radialGradient id=\"glow\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"{:.1}\" gradientUnits=\"userSpaceOnUse\"><stop offset=\"0\" stop-color=\"{}\" stop-opacity=\"0.95\"/><stop offset=\"1\" stop-color=\"{}\" stop-opacity=\"0\"/></radialGradient></defs>\n<rect width=\"{w}\" height=\"{h}\" fill=\"{}\"/>\n<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"{:.1}\" fill=\"url(#glow)\"/>\n",
                art.0 + art.2 / 2.0,
                art.1 + art.3 / 2.0,
                art.2.min(art.3) * 0.62,
                palette.base.mix(Rgb::WHITE, 0.25).hex(),
                palette.dark.hex(),
                palette.dark.hex(),
                art.0 + art.2 / 2.0,
                art.1 + art.3 / 2.0,
                art.2.min(art.3) * 0.62,
            ));
            (palette.dark, Rgb::WHITE, palette.accent)
        }
        Design::Stripes => {
            let step = unit * 0.06;
            c.body.push_str(&format!(
                "<defs><pattern id=\"stripes\" width=\"{step:.1}\" height=\"{step:.1}\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(35)\"><rect width=\"{:.1}\" height=\"{step:.1}\" fill=\"{}\" fill-opacity=\"0.22\"/></pattern></defs>\n<rect width=\"{w}\" height=\"{h}\" fill=\"{}\"/>\n<rect width=\"{w}\" height=\"{h}\" fill=\"url(#stripes)\"/>\n<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"{:.1}\" fill=\"{}\"/>\n",
                step * 0.45,
                palette.base.hex(),
                palette.light.hex(),
                panel.0,
                panel.1,
                panel.2,
                panel.3,
                pad * 0.6,
                palette.dark.hex(),
            ));
            (palette.dark, Rgb::WHITE, palette.accent)
        }
        Design::Confetti => {
            c.body.push_str(&format!("<rect width=\"{w}\" height=\"{h}\" fill=\"{}\"/>\n", palette.light.hex()));
            let mut rng = Seeded::new(&facts.product_code);
            for _ in 0..46 {
                let (x, y, r) = (rng.unit() * wf, rng.unit() * hf, unit * (0.015 + 0.07 * rng.unit()));
                let colour = if rng.unit() < 0.5 { palette.base } else { palette.accent };
                c.body.push_str(&format!("<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{r:.1}\" fill=\"{}\" fill-opacity=\"0.28\"/>\n", colour.hex()));
            }
            c.body.push_str(&format!(
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"{:.1}\" fill=\"#ffffff\"/>\n",
                panel.0,
                panel.1,
                panel.2,
                panel.3,
                pad * 0.6
            ));
            (Rgb::WHITE, Rgb::INK, palette.dark)
        }
    };

    let shown_price = facts.promotion.as_ref().map_or(facts.price_cents, |p| p.price_cents);
    // The product: its photo fitted into the art region, or without one a price medallion.
    let mut price_in_art = false;
    match photo {
        Some(p) => {
            let href = format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(&p.png));
            let (cx, cy, cw, ch) = p.content;
            c.body.push_str(&format!(
                "<svg x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" viewBox=\"{cx} {cy} {cw} {ch}\" preserveAspectRatio=\"xMidYMid meet\"><image width=\"{}\" height=\"{}\" xlink:href=\"{href}\"/></svg>\n",
                art.0, art.1, art.2, art.3, p.width, p.height
            ));
        }
        None => {
            let r = art.2.min(art.3) * 0.42;
            let (x, y) = (art.0 + art.2 / 2.0, art.1 + art.3 / 2.0);
            let disc = if design == Design::Spotlight { palette.base } else { palette.dark };
            c.body.push_str(&format!("<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{r:.1}\" fill=\"{}\"/>\n", disc.hex()));
            let inner = (x - r * 0.72, y - r * 0.32, r * 1.44, r * 0.64);
            c.text("price", &money(shown_price), inner, r * 0.55, 1, true, Rgb::WHITE, disc, true);
            price_in_art = true;
        }
    }

    // Texts, top to bottom; the QR code beside the price, sizes and shelf.
    let (x, mut y, tw) = (text_area.0, text_area.1, text_area.2);
    let bottom = text_area.1 + text_area.3;
    // Type is sized to the page's short side, but never beyond what the text area holds: a
    // print page is taller than a screen for its width.
    let type_unit = unit.min(text_area.3 * 1.41);
    let gap = 0.018 * type_unit;
    let first_text = c.boxes.len();
    y += c.text("tag", tag(&facts.reason), (x, y, tw, 0.05 * type_unit), 0.04 * type_unit, 1, true, palette.accent, panel_colour, false) + gap;
    y += c.text("headline", &facts.product_name, (x, y, tw, 0.2 * type_unit), 0.1 * type_unit, 2, true, ink, panel_colour, false) + gap;
    y += c.text("copy", copy, (x, y, tw, 0.16 * type_unit), 0.045 * type_unit, 3, false, ink, panel_colour, false) + gap;
    let qr_side = (bottom - y).min(tw * 0.34).max(0.0);
    let beside = tw - qr_side - gap;
    if !price_in_art {
        y += c.text("price", &money(shown_price), (x, y, beside, 0.13 * type_unit), 0.12 * type_unit, 1, true, price_colour, panel_colour, false) + gap * 0.5;
    }
    if let Some(p) = &facts.promotion {
        let line = format!("{} % off until {} · usually {}", p.percent_off, day_text(p.ends_day), money(facts.price_cents));
        y += c.text("promotion", &line, (x, y, beside, 0.1 * type_unit), 0.04 * type_unit, 2, true, ink, panel_colour, false) + gap * 0.5;
    }
    if !facts.sizes_in_stock.is_empty() {
        let sizes = format!("In stock: {}", facts.sizes_in_stock.join(" · "));
        y += c.text("sizes", &sizes, (x, y, beside, 0.1 * type_unit), 0.04 * type_unit, 2, false, ink, panel_colour, false) + gap * 0.5;
    }
    if let Some(code) = &facts.location {
        c.text("location", &location_words(code), (x, y, beside, 0.08 * type_unit), 0.04 * type_unit, 2, true, ink, panel_colour, false);
    }
    // Each text fitted its own box; together they must also end inside the text area (and
    // its panel): any that runs past it is overflow.
    for b in &mut c.boxes[first_text..] {
        if b.rect.1 + b.rect.3 > bottom + 0.5 {
            b.fits = false;
        }
    }
    qr(&mut c.body, &facts.qr_payload, (x + tw - qr_side, bottom - qr_side, qr_side))?;

    let mut facts_shown = vec![Fact::Price { sku: facts.sku.clone(), cents: facts.price_cents }];
    if let Some(p) = &facts.promotion {
        facts_shown.push(Fact::Promotion { sku: facts.sku.clone(), cents: p.price_cents, percent_off: p.percent_off, ends_day: p.ends_day });
    }
    facts_shown.extend(facts.sizes_in_stock.iter().map(|s| Fact::SizeInStock { sku: facts.sku.clone(), size: s.clone() }));
    if let Some(code) = &facts.location {
        facts_shown.push(Fact::Location { sku: facts.sku.clone(), code: code.clone() });
    }
    let head = format!("<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">\n");
    Ok(Poster {
        design,
        format,
        width: w,
        height: h,
        svg: format!("{head}{}{}</svg>\n", c.body, c.texts),
        background_svg: format!("{head}{}</svg>\n", c.body),
        texts: c.boxes,
        facts: facts_shown,
        photo_share: photo.map_or(0.0, |p| {
            let scale = (art.2 / p.content.2 as f32).min(art.3 / p.content.3 as f32);
            f64::from(scale * p.content.2 as f32 * scale * p.content.3 as f32 / (wf * hf))
        }),
    })
}

/// The QR code as black modules on a white square with its quiet zone.
fn qr(body: &mut String, payload: &str, (x, y, side): (f32, f32, f32)) -> Result<(), SignageError> {
    if side <= 0.0 {
        return Ok(());
    }
    let code = qrcode::QrCode::new(payload.as_bytes()).map_err(|_| SignageError::Qr(payload.to_owned()))?;
    let n = code.width();
    let module = side / (n + 4) as f32;
    let mut path = String::new();
    for (i, colour) in code.to_colors().into_iter().enumerate() {
        if colour == qrcode::Color::Dark {
            let (mx, my) = ((i % n) as f32, (i / n) as f32);
            path.push_str(&format!("M{:.2} {:.2}h{module:.2}v{module:.2}h-{module:.2}z", x + (mx + 2.0) * module, y + (my + 2.0) * module));
        }
    }
    body.push_str(&format!("<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{side:.1}\" height=\"{side:.1}\" fill=\"#ffffff\"/>\n<path d=\"{path}\" fill=\"#000000\" shape-rendering=\"crispEdges\"/>\n"));
    Ok(())
}

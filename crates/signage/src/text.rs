//! Text on posters: the fonts, their advance widths, and fitting a text into a box (largest
//! size first, wrapped at spaces; too long even at the smallest size is overflow).

use std::path::PathBuf;

use crate::SignageError;

/// The family the SVG names; both faces below belong to it.
pub(crate) const FAMILY: &str = "DejaVu Sans";

/// DejaVu Sans, regular and bold: the bytes (for the renderer) and advance widths per
/// character (for fitting), in ems.
pub struct Fonts {
    pub(crate) regular_data: Vec<u8>,
    pub(crate) bold_data: Vec<u8>,
    regular: Advances,
    bold: Advances,
}

struct Advances {
    /// Advance of U+0000..U+02FF; other characters use `fallback`.
    table: Vec<f32>,
    fallback: f32,
    /// Cap height and descender, in ems, for placing lines.
    ascent: f32,
}

impl Advances {
    fn read(data: &[u8], name: &str) -> Result<Self, SignageError> {
        let face = ttf_parser::Face::parse(data, 0).map_err(|e| SignageError::FontMissing(format!("{name}: {e}")))?;
        let em = f32::from(face.units_per_em());
        let advance = |c: char| face.glyph_index(c).and_then(|g| face.glyph_hor_advance(g)).map(|a| f32::from(a) / em);
        let fallback = advance('M').unwrap_or(0.8);
        let table = (0u32..0x300).map(|u| char::from_u32(u).and_then(advance).unwrap_or(fallback)).collect();
        Ok(Self { table, fallback, ascent: f32::from(face.ascender()) / em })
    }

    fn width(&self, text: &str) -> f32 {
        text.chars().map(|c| self.table.get(c as usize).copied().unwrap_or(self.fallback)).sum()
    }
}

impl Fonts {
    pub(crate) fn load(dirs: &[PathBuf]) -> Result<Self, SignageError> {
        let find = |file: &str| dirs.iter().map(|d| d.join(file)).find(|p| p.is_file());
        let read = |file: &str| -> Result<Vec<u8>, SignageError> {
            let path = find(file).ok_or_else(|| SignageError::FontMissing(format!("{file} not in {}", dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", "))))?;
            std::fs::read(&path).map_err(|e| SignageError::FontMissing(format!("{}: {e}", path.display())))
        };
        let regular_data = read("DejaVuSans.ttf")?;
        let bold_data = read("DejaVuSans-Bold.ttf")?;
        let regular = Advances::read(&regular_data, "DejaVuSans.ttf")?;
        let bold = Advances::read(&bold_data, "DejaVuSans-Bold.ttf")?;
        Ok(Self { regular_data, bold_data, regular, bold })
    }

    /// The width of `text` at `px` pixels.
    pub fn width(&self, text: &str, px: f32, bold: bool) -> f32 {
        (if bold { &self.bold } else { &self.regular }).width(text) * px
    }

    pub(crate) fn ascent(&self, bold: bool) -> f32 {
        (if bold { &self.bold } else { &self.regular }).ascent
    }

    /// The largest size from `max_px` down to `min_px` at which `text` wrapped at spaces
    /// fits `width`×`height` in at most `max_lines` lines; at `min_px` with `fits: false`
    /// when none does.
    #[allow(clippy::too_many_arguments)]
    pub fn fit(&self, text: &str, width: f32, height: f32, max_px: f32, min_px: f32, max_lines: usize, bold: bool) -> Fitted {
        let mut px = max_px;
        loop {
            let lines = self.wrap(text, width, px, bold);
            let tall = lines.len() as f32 * px * LINE_HEIGHT;
            let wide = lines.iter().all(|l| self.width(l, px, bold) <= width);
            if lines.len() <= max_lines && tall <= height && wide {
                return Fitted { lines, px, fits: true };
            }
            if px <= min_px {
                return Fitted { lines, px, fits: false };
            }
            px = (px * 0.92).max(min_px);
        }
    }

    /// Greedy wrap at spaces (a word longer than the line stays on its own line).
    fn wrap(&self, text: &str, width: f32, px: f32, bold: bool) -> Vec<String> {
        let mut lines: Vec<String> = Vec::new();
        let mut line = String::new();
        for word in text.split_whitespace() {
            let candidate = if line.is_empty() { word.to_owned() } else { format!("{line} {word}") };
            if !line.is_empty() && self.width(&candidate, px, bold) > width {
                lines.push(std::mem::replace(&mut line, word.to_owned()));
            } else {
                line = candidate;
            }
        }
        if !line.is_empty() {
            lines.push(line);
        }
        lines
    }
}

/// Line spacing as a multiple of the font size.
pub(crate) const LINE_HEIGHT: f32 = 1.18;

/// A text fitted into its box.
#[derive(Debug, Clone)]
pub struct Fitted {
    pub lines: Vec<String>,
    pub px: f32,
    pub fits: bool,
}

/// Escapes text for SVG.
pub(crate) fn xml(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

//! Reports as a printable A4 PDF, written object by object (PDF 1.4, the standard Helvetica
//! fonts every reader has, so nothing is embedded): per report a title, the date, the notes
//! and the table, with its header repeated on every page and page numbers at the foot.

use std::fmt::Write as _;

use crate::{Cell, ColumnKind, ReportError, ReportTable};

const PAGE_W: f64 = 595.0;
const PAGE_H: f64 = 842.0;
const MARGIN: f64 = 40.0;
const BODY_SIZE: f64 = 7.5;
const ROW_H: f64 = 10.5;
/// Helvetica's average glyph width, in em, for wrapping notes.
const TEXT_EM: f64 = 0.52;
/// Space between columns, points.
const GAP: f64 = 6.0;

/// One or more reports as one PDF document, each starting on a new page.
pub fn to_pdf(tables: &[ReportTable]) -> Result<Vec<u8>, ReportError> {
    let mut pages: Vec<String> = Vec::new();
    for table in tables {
        layout(table, &mut pages);
    }
    if pages.is_empty() {
        let mut page = Page::new();
        page.text(MARGIN, PAGE_H - MARGIN - 14.0, "F2", 14.0, "No reports");
        pages.push(page.content);
    }
    let total = pages.len();
    for (i, content) in pages.iter_mut().enumerate() {
        let mut page = Page {
            content: std::mem::take(content),
        };
        let footer = format!("Vitrine - page {} of {total}", i + 1);
        page.text(MARGIN, MARGIN / 2.0, "F1", 7.0, &footer);
        *content = page.content;
    }
    Ok(assemble(&pages))
}

struct Page {
    content: String,
}

impl Page {
    fn new() -> Self {
        Page {
            content: String::new(),
        }
    }

    fn text(&mut self, x: f64, y: f64, font: &str, size: f64, text: &str) {
        let _ = writeln!(
            self.content,
            "BT /{font} {size:.1} Tf {x:.2} {y:.2} Td ({}) Tj ET",
            escape(text)
        );
    }

    fn rule(&mut self, y: f64) {
        let _ = writeln!(
            self.content,
            "0.6 G 0.5 w {MARGIN:.2} {y:.2} m {:.2} {y:.2} l S 0 G",
            PAGE_W - MARGIN
        );
    }
}

fn cell_text(cell: &Cell, kind: ColumnKind) -> String {
    match (cell, kind) {
        (Cell::Text(s), _) => s.clone(),
        (Cell::Int(i), _) => i.to_string(),
        (Cell::Num(x), ColumnKind::Money) => format!("{x:.2}"),
        (Cell::Num(x), ColumnKind::Percent) => format!("{x:.1}%"),
        (Cell::Num(x), _) => {
            if x.fract() == 0.0 {
                format!("{x:.0}")
            } else {
                format!("{x:.2}")
            }
        }
        (Cell::Null, _) => "-".to_owned(),
    }
}

/// Helvetica's advance width of `c`, in em (close to the AFM metrics, by class).
fn glyph_em(c: char) -> f64 {
    match c {
        'M' | 'W' | 'm' | 'w' | '@' | '%' => 0.85,
        'I' | 'i' | 'j' | 'l' | '\'' | '|' => 0.24,
        'f' | 't' | 'r' | ' ' | '.' | ',' | ':' | ';' | '/' | '!' | '(' | ')' | '-' => 0.3,
        'A'..='Z' => 0.69,
        '0'..='9' | 'a'..='z' | '$' | '#' | '_' => 0.556,
        _ => 0.6,
    }
}

fn width(text: &str, size: f64) -> f64 {
    text.chars().map(glyph_em).sum::<f64>() * size
}

/// Lays one table out over as many pages as it needs.
fn layout(table: &ReportTable, pages: &mut Vec<String>) {
    let numeric: Vec<bool> = table
        .columns
        .iter()
        .map(|c| c.kind != ColumnKind::Text)
        .collect();
    let texts: Vec<Vec<String>> = table
        .rows
        .iter()
        .map(|row| {
            row.iter()
                .zip(&table.columns)
                .map(|(cell, column)| cell_text(cell, column.kind))
                .collect()
        })
        .collect();
    // Natural widths, then text columns shrink (and their cells are cut) to fit the page.
    let mut widths: Vec<f64> = table
        .columns
        .iter()
        .enumerate()
        .map(|(i, column)| {
            texts
                .iter()
                .map(|row| width(row.get(i).map_or("", String::as_str), BODY_SIZE))
                .fold(width(&column.label, BODY_SIZE), f64::max)
        })
        .collect();
    let available = PAGE_W - 2.0 * MARGIN - GAP * table.columns.len().saturating_sub(1) as f64;
    let fixed: f64 = widths
        .iter()
        .zip(&numeric)
        .filter(|(_, n)| **n)
        .map(|(w, _)| w)
        .sum();
    let flexible: f64 = widths
        .iter()
        .zip(&numeric)
        .filter(|(_, n)| !**n)
        .map(|(w, _)| w)
        .sum();
    if fixed + flexible > available {
        let scale = if flexible > 0.0 {
            ((available - fixed) / flexible).max(0.15)
        } else {
            1.0
        };
        let all = if flexible > 0.0 && available > fixed {
            1.0
        } else {
            available / (fixed + flexible)
        };
        for (w, n) in widths.iter_mut().zip(&numeric) {
            if !*n {
                *w *= scale;
            }
            *w *= all;
        }
    }
    let mut xs = Vec::with_capacity(widths.len());
    let mut x = MARGIN;
    for w in &widths {
        xs.push(x);
        x += w + GAP;
    }

    let mut page = Page::new();
    let mut y = PAGE_H - MARGIN - 16.0;
    page.text(MARGIN, y, "F2", 16.0, &table.title);
    y -= 14.0;
    page.text(
        MARGIN,
        y,
        "F1",
        8.0,
        &format!(
            "Generated {} (UTC)",
            table.generated_at.replace('T', " ").trim_end_matches('Z')
        ),
    );
    y -= 6.0;
    for note in &table.notes {
        for line in wrap(note, ((PAGE_W - 2.0 * MARGIN) / (TEXT_EM * 8.0)) as usize) {
            y -= 10.0;
            page.text(MARGIN, y, "F1", 8.0, &line);
        }
    }
    y -= 8.0;
    let header = |page: &mut Page, y: &mut f64| {
        *y -= ROW_H;
        for (i, column) in table.columns.iter().enumerate() {
            let label = fit(&column.label, widths[i]);
            let x = if numeric[i] {
                xs[i] + widths[i] - width(&label, BODY_SIZE)
            } else {
                xs[i]
            };
            page.text(x, *y, "F2", BODY_SIZE, &label);
        }
        page.rule(*y - 3.0);
        *y -= 2.0;
    };
    header(&mut page, &mut y);
    if texts.is_empty() {
        y -= ROW_H;
        page.text(MARGIN, y, "F1", BODY_SIZE, "(no rows)");
    }
    for row in &texts {
        if y - ROW_H < MARGIN {
            pages.push(std::mem::take(&mut page.content));
            y = PAGE_H - MARGIN;
            page.text(
                MARGIN,
                y,
                "F1",
                8.0,
                &format!("{} (continued)", table.title),
            );
            y -= 6.0;
            header(&mut page, &mut y);
        }
        y -= ROW_H;
        for (i, value) in row.iter().enumerate() {
            let value = fit(value, widths[i]);
            let x = if numeric[i] {
                xs[i] + widths[i] - width(&value, BODY_SIZE)
            } else {
                xs[i]
            };
            page.text(x, y, "F1", BODY_SIZE, &value);
        }
    }
    pages.push(page.content);
}

/// Cuts `text` to fit `room` points, marking the cut.
fn fit(text: &str, room: f64) -> String {
    if width(text, BODY_SIZE) <= room {
        return text.to_owned();
    }
    let mut cut = String::new();
    let mut used = width("..", BODY_SIZE);
    for c in text.chars() {
        used += glyph_em(c) * BODY_SIZE;
        if used > room {
            break;
        }
        cut.push(c);
    }
    cut.push_str("..");
    cut
}

fn wrap(text: &str, chars: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > chars {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// A PDF string literal's body in WinAnsiEncoding: the ASCII and Latin-1 a report holds,
/// a few typographic marks, and `?` for anything the standard fonts cannot show.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '(' | ')' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            '\u{a0}'..='\u{ff}' => {
                let _ = write!(out, "\\{:03o}", c as u32);
            }
            '€' => out.push_str("\\200"),
            '…' => out.push_str("\\205"),
            '–' => out.push_str("\\226"),
            '—' => out.push_str("\\227"),
            '≥' => out.push_str(">="),
            '≤' => out.push_str("<="),
            '−' => out.push('-'),
            _ => out.push('?'),
        }
    }
    out
}

/// The file: catalog, page tree, two fonts, then a page and a content stream per page,
/// the cross-reference table and the trailer.
fn assemble(pages: &[String]) -> Vec<u8> {
    let mut objects: Vec<String> = Vec::new();
    let page_ids: Vec<usize> = (0..pages.len()).map(|i| 5 + 2 * i).collect();
    objects.push("<< /Type /Catalog /Pages 2 0 R >>".to_owned());
    objects.push(format!(
        "<< /Type /Pages /Kids [{}] /Count {} >>",
        page_ids
            .iter()
            .map(|id| format!("{id} 0 R"))
            .collect::<Vec<_>>()
            .join(" "),
        pages.len()
    ));
    objects.push(
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_owned(),
    );
    objects.push(
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>"
            .to_owned(),
    );
    for (i, content) in pages.iter().enumerate() {
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_W} {PAGE_H}] \
             /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {} 0 R >>",
            page_ids[i] + 1
        ));
        objects.push(format!(
            "<< /Length {} >>\nstream\n{content}endstream",
            content.len()
        ));
    }
    let mut out = String::from("%PDF-1.4\n");
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, object) in objects.iter().enumerate() {
        offsets.push(out.len());
        let _ = write!(out, "{} 0 obj\n{object}\nendobj\n", i + 1);
    }
    let xref = out.len();
    let _ = write!(out, "xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for offset in offsets {
        let _ = write!(out, "{offset:010} 00000 n \n");
    }
    let _ = write!(
        out,
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    );
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Column, ReportKind};

    fn table(rows: usize) -> ReportTable {
        ReportTable {
            kind: ReportKind::Stock,
            title: "Stock on hand".into(),
            generated_at: "2025-03-01T10:00:00Z".into(),
            columns: vec![
                Column {
                    key: "sku".into(),
                    label: "SKU".into(),
                    kind: ColumnKind::Text,
                },
                Column {
                    key: "n".into(),
                    label: "On hand".into(),
                    kind: ColumnKind::Integer,
                },
                Column {
                    key: "v".into(),
                    label: "Value".into(),
                    kind: ColumnKind::Money,
                },
            ],
            rows: (0..rows)
                .map(|i| {
                    vec![
                        Cell::Text(format!("SKU-{i} (café)")),
                        Cell::Int(i as i64),
                        Cell::Num(i as f64 * 1.5),
                    ]
                })
                .collect(),
            notes: vec!["Total: 12 units.".into()],
        }
    }

    #[test]
    fn a_pdf_has_a_valid_cross_reference_and_every_row() {
        let pdf = to_pdf(&[table(150), table(3)]).unwrap();
        let text = String::from_utf8(pdf.clone()).unwrap();
        assert!(text.starts_with("%PDF-1.4\n") && text.ends_with("%%EOF\n"));
        // 150 rows need three pages at ~70 rows a page, plus one for the short table.
        assert!(text.contains("/Count 4"), "{}", &text[..300]);
        assert!(text.contains("(Stock on hand \\(continued\\)) Tj"));
        assert!(text.contains("(SKU-149 \\(caf\\351\\)) Tj"));
        assert!(text.contains("(223.50) Tj"));
        assert!(text.contains("(Vitrine - page 4 of 4) Tj"));
        // Every xref offset points at its object.
        let xref_at: usize = text
            .rsplit("startxref\n")
            .next()
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let xref = &text[xref_at..];
        for (n, line) in xref
            .lines()
            .skip(3)
            .take_while(|l| l.ends_with(" n "))
            .enumerate()
        {
            let offset: usize = line[..10].parse().unwrap();
            assert!(
                text[offset..].starts_with(&format!("{} 0 obj", n + 1)),
                "object {}",
                n + 1
            );
        }
        // Stream lengths are exact.
        for part in text.split("<< /Length ").skip(1) {
            let (len, rest) = part.split_once(" >>\nstream\n").unwrap();
            let len: usize = len.parse().unwrap();
            assert!(rest[len..].starts_with("endstream"));
        }
    }
}

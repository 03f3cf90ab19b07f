//! Reports as CSV (RFC 4180).

use crate::{Cell, ReportTable};

/// The table as RFC 4180 CSV: a header row of column labels, then one line per row, CRLF
/// line ends; fields with a comma, quote or line break are quoted, quotes doubled. Empty
/// cells stand for nulls; numbers are written as they are held (money in currency units,
/// percentages in points).
pub fn to_csv(table: &ReportTable) -> String {
    let mut out = String::new();
    let header: Vec<&str> = table.columns.iter().map(|c| c.label.as_str()).collect();
    push_record(&mut out, header.iter().map(|label| field(label)));
    for row in &table.rows {
        push_record(&mut out, row.iter().map(cell_text));
    }
    out
}

fn push_record(out: &mut String, fields: impl Iterator<Item = String>) {
    for (i, value) in fields.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&value);
    }
    out.push_str("\r\n");
}

fn field(value: &str) -> String {
    if value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

fn cell_text(cell: &Cell) -> String {
    match cell {
        Cell::Text(s) => field(s),
        Cell::Int(i) => i.to_string(),
        Cell::Num(x) => x.to_string(),
        Cell::Null => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Column, ColumnKind, ReportKind};

    #[test]
    fn fields_are_quoted_as_rfc_4180_says() {
        let table = ReportTable {
            kind: ReportKind::Stock,
            title: "t".into(),
            generated_at: "2025-01-01T00:00:00Z".into(),
            columns: vec![
                Column {
                    key: "a".into(),
                    label: "Name, full".into(),
                    kind: ColumnKind::Text,
                },
                Column {
                    key: "b".into(),
                    label: "N".into(),
                    kind: ColumnKind::Integer,
                },
                Column {
                    key: "c".into(),
                    label: "X".into(),
                    kind: ColumnKind::Money,
                },
            ],
            rows: vec![
                vec![
                    Cell::Text("say \"hi\"".into()),
                    Cell::Int(-3),
                    Cell::Num(12.5),
                ],
                vec![Cell::Text("two\nlines".into()), Cell::Null, Cell::Num(0.1)],
            ],
            notes: vec![],
        };
        assert_eq!(
            to_csv(&table),
            "\"Name, full\",N,X\r\n\"say \"\"hi\"\"\",-3,12.5\r\n\"two\nlines\",,0.1\r\n"
        );
    }
}

//! Planograms: which SKUs a bay's shelf rows should hold, with how many facings, and how a
//! scan differs from that.
//!
//! The file is TOML (or JSON with the same fields, by a `.json` extension). Rows are counted
//! from the top of the photo, starting at 1:
//!
//! ```toml
//! [[rows]]
//! row = 1
//! location = "A5/B1/S1"      # optional; else from --location
//! expected = [
//!     { sku = "GRO-OATS-500", facings = 3 },
//!     { sku = "GRO-MUESLI", facings = 2 },
//! ]
//!
//! [[rows]]
//! row = 2
//! expected = [{ sku = "GRO-COFFEE-BEANS", facings = 4 }]
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::ShelfError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Planogram {
    pub rows: Vec<PlanogramRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanogramRow {
    /// 1 = the top row in the photo.
    pub row: usize,
    #[serde(default)]
    pub location: Option<String>,
    pub expected: Vec<ExpectedFacings>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedFacings {
    pub sku: String,
    pub facings: u32,
}

impl Planogram {
    pub fn load(path: &Path) -> Result<Self, ShelfError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ShelfError::Planogram { path: path.to_owned(), reason: e.to_string() })?;
        Self::parse(&text, path)
    }

    /// A planogram's text: JSON when `path` ends in `.json`, TOML otherwise.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ShelfError> {
        let err = |reason: String| ShelfError::Planogram { path: path.to_owned(), reason };
        let planogram: Planogram = if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json")) {
            serde_json::from_str(text).map_err(|e| err(e.to_string()))?
        } else {
            toml::from_str(text).map_err(|e| err(e.to_string()))?
        };
        planogram.validate().map_err(err)?;
        Ok(planogram)
    }

    fn validate(&self) -> Result<(), String> {
        let mut rows = BTreeSet::new();
        for row in &self.rows {
            if row.row == 0 {
                return Err("rows are counted from 1 (the top row)".into());
            }
            if !rows.insert(row.row) {
                return Err(format!("row {} is listed twice", row.row));
            }
            let mut skus = BTreeSet::new();
            for e in &row.expected {
                if e.sku.trim().is_empty() {
                    return Err(format!("row {} has an empty sku", row.row));
                }
                if e.facings == 0 {
                    return Err(format!("row {}: {} expects 0 facings; leave it out instead", row.row, e.sku));
                }
                if !skus.insert(&e.sku) {
                    return Err(format!("row {} lists {} twice", row.row, e.sku));
                }
            }
        }
        Ok(())
    }

    pub fn row(&self, row: usize) -> Option<&PlanogramRow> {
        self.rows.iter().find(|r| r.row == row)
    }

    /// Compares facings seen per row (`row → sku → facings`) with the plan.
    pub fn diff(&self, seen: &BTreeMap<usize, BTreeMap<String, u32>>) -> PlanogramDiff {
        let mut diff = PlanogramDiff::default();
        let home: BTreeMap<&str, usize> = self.rows.iter().flat_map(|r| r.expected.iter().map(move |e| (e.sku.as_str(), r.row))).collect();
        let empty = BTreeMap::new();
        for planned in &self.rows {
            let row_seen = seen.get(&planned.row).unwrap_or(&empty);
            for e in &planned.expected {
                let have = row_seen.get(&e.sku).copied().unwrap_or(0);
                if have == 0 {
                    diff.missing.push(Shortfall { row: planned.row, sku: e.sku.clone(), expected: e.facings, seen: 0 });
                } else if have < e.facings {
                    diff.short.push(Shortfall { row: planned.row, sku: e.sku.clone(), expected: e.facings, seen: have });
                }
            }
        }
        for (&row, skus) in seen {
            for (sku, &n) in skus {
                if n == 0 || self.row(row).is_some_and(|r| r.expected.iter().any(|e| &e.sku == sku)) {
                    continue;
                }
                match home.get(sku.as_str()) {
                    Some(&expected_row) => diff.misplaced.push(Misplaced { sku: sku.clone(), seen_row: row, expected_row, facings: n }),
                    None => diff.unexpected.push(Unexpected { row, sku: sku.clone(), facings: n }),
                }
            }
        }
        diff
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlanogramDiff {
    /// Planned, not seen on its row at all.
    pub missing: Vec<Shortfall>,
    /// Seen on its row with fewer facings than planned.
    pub short: Vec<Shortfall>,
    /// Seen on a row other than the one planned for it.
    pub misplaced: Vec<Misplaced>,
    /// Seen but in no row of the plan.
    pub unexpected: Vec<Unexpected>,
}

impl PlanogramDiff {
    pub fn is_empty(&self) -> bool {
        self.missing.is_empty() && self.short.is_empty() && self.misplaced.is_empty() && self.unexpected.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shortfall {
    pub row: usize,
    pub sku: String,
    pub expected: u32,
    pub seen: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Misplaced {
    pub sku: String,
    pub seen_row: usize,
    pub expected_row: usize,
    pub facings: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unexpected {
    pub row: usize,
    pub sku: String,
    pub facings: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Planogram {
        toml::from_str(
            r#"
            [[rows]]
            row = 1
            location = "A5/B1/S1"
            expected = [{ sku = "OATS", facings = 3 }, { sku = "MUESLI", facings = 2 }, { sku = "JAM", facings = 1 }]
            [[rows]]
            row = 2
            expected = [{ sku = "COFFEE", facings = 4 }]
            "#,
        )
        .unwrap()
    }

    #[test]
    fn missing_short_misplaced_and_unexpected() {
        let seen: BTreeMap<usize, BTreeMap<String, u32>> = [
            (1, [("OATS".to_owned(), 3), ("MUESLI".to_owned(), 1), ("COFFEE".to_owned(), 1)].into()),
            (2, [("COFFEE".to_owned(), 4), ("SOAP".to_owned(), 2), ("JAM".to_owned(), 0)].into()),
        ]
        .into();
        let diff = plan().diff(&seen);
        assert_eq!(diff.missing, vec![Shortfall { row: 1, sku: "JAM".into(), expected: 1, seen: 0 }]);
        assert_eq!(diff.short, vec![Shortfall { row: 1, sku: "MUESLI".into(), expected: 2, seen: 1 }]);
        assert_eq!(diff.misplaced, vec![Misplaced { sku: "COFFEE".into(), seen_row: 1, expected_row: 2, facings: 1 }]);
        assert_eq!(diff.unexpected, vec![Unexpected { row: 2, sku: "SOAP".into(), facings: 2 }]);
        assert!(plan().diff(&[(1, [("OATS".to_owned(), 3), ("MUESLI".to_owned(), 2), ("JAM".to_owned(), 1)].into()), (2, [("COFFEE".to_owned(), 5)].into())].into()).is_empty());
    }

    #[test]
    fn bad_files_are_refused_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p
        };
        let zero = write("zero.toml", "[[rows]]\nrow = 1\nexpected = [{ sku = \"A\", facings = 0 }]\n");
        assert!(Planogram::load(&zero).unwrap_err().to_string().contains("0 facings"));
        let twice = write("twice.toml", "[[rows]]\nrow = 1\nexpected = []\n[[rows]]\nrow = 1\nexpected = []\n");
        assert!(Planogram::load(&twice).unwrap_err().to_string().contains("twice"));
        let typo = write("typo.toml", "[[rows]]\nrow = 1\nexpectd = []\n");
        assert!(Planogram::load(&typo).unwrap_err().to_string().contains("typo.toml"));
        let json = write("p.json", r#"{"rows": [{"row": 1, "expected": [{"sku": "A", "facings": 2}]}]}"#);
        assert_eq!(Planogram::load(&json).unwrap().rows[0].expected[0].facings, 2);
        assert!(Planogram::load(&dir.path().join("none.toml")).is_err());
    }
}

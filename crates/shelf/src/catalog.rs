//! The part of the catalog a scan needs: SKU, name, barcode, price. The app fills it from the
//! store, tests from fixture JSON; this crate never opens the database.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogItem {
    pub sku: String,
    pub name: String,
    pub barcode: Option<String>,
    pub price_cents: i64,
}

#[derive(Debug, Clone, Default)]
pub struct ShelfCatalog {
    items: Vec<CatalogItem>,
}

impl ShelfCatalog {
    pub fn new(items: Vec<CatalogItem>) -> Self {
        Self { items }
    }

    pub fn items(&self) -> &[CatalogItem] {
        &self.items
    }

    pub fn by_sku(&self, sku: &str) -> Option<&CatalogItem> {
        self.items.iter().find(|i| i.sku == sku)
    }

    /// A scanned barcode; a UPC-A and its EAN-13 form (a leading 0) are the same code.
    pub fn by_barcode(&self, digits: &str) -> Option<&CatalogItem> {
        let norm = |d: &str| d.trim_start_matches('0').to_owned();
        let wanted = norm(digits);
        self.items.iter().find(|i| i.barcode.as_deref().is_some_and(|b| norm(b) == wanted))
    }

    /// The product a label's printed text names: the catalog name whose words appear best
    /// in the label (at least half of them); then the longer name, then the price, settle ties.
    pub fn by_label_text(&self, lines: &[String], price_cents: Option<i64>) -> Option<&CatalogItem> {
        let label_words: Vec<String> = lines.iter().flat_map(|l| words(l)).collect();
        if label_words.is_empty() {
            return None;
        }
        let mut best: Option<(f32, usize, bool, &CatalogItem)> = None;
        for item in &self.items {
            let name_words = words(&item.name);
            if name_words.is_empty() {
                continue;
            }
            let hits = name_words.iter().filter(|w| label_words.contains(w)).count();
            let share = hits as f32 / name_words.len() as f32;
            if share < 0.5 || !name_words.iter().any(|w| w.len() >= 3 && label_words.contains(w)) {
                continue;
            }
            let price_agrees = price_cents == Some(item.price_cents);
            if best.is_none_or(|(s, h, p, _)| (share, hits, price_agrees) > (s, h, p)) {
                best = Some((share, hits, price_agrees, item));
            }
        }
        best.map(|(_, _, _, item)| item)
    }
}

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| w.len() >= 2 && !w.chars().all(|c| c.is_ascii_digit())).map(str::to_uppercase).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> ShelfCatalog {
        let item = |sku: &str, name: &str, barcode: Option<&str>, price_cents| CatalogItem { sku: sku.into(), name: name.into(), barcode: barcode.map(Into::into), price_cents };
        ShelfCatalog::new(vec![
            item("OATS", "Rolled Oats 500 g", Some("0012345678905"), 249),
            item("MILK", "Adzes Milk", None, 463),
            item("MILK2", "Adzes Milk Light", None, 499),
        ])
    }

    #[test]
    fn barcodes_match_with_or_without_the_ean_zero() {
        assert_eq!(catalog().by_barcode("012345678905").unwrap().sku, "OATS");
        assert_eq!(catalog().by_barcode("0012345678905").unwrap().sku, "OATS");
        assert!(catalog().by_barcode("4006381333931").is_none());
    }

    #[test]
    fn label_text_names_the_product() {
        let c = catalog();
        assert_eq!(c.by_label_text(&["ADZES MILK".into(), "4.63".into()], Some(463)).unwrap().sku, "MILK");
        assert_eq!(c.by_label_text(&["adzes milk light".into()], Some(499)).unwrap().sku, "MILK2");
        assert_eq!(c.by_label_text(&["rolled oats".into()], None).unwrap().sku, "OATS");
        assert!(c.by_label_text(&["4.63".into()], Some(463)).is_none());
        assert!(c.by_label_text(&["SOAP".into()], None).is_none());
    }
}

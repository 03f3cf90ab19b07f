//! What the assistant may say: a snapshot of the store's catalog with live stock, prices,
//! promotions, shelves and other stores' stock, taken by the caller for each question.

use serde::Serialize;

#[derive(Debug, Clone, Default)]
pub struct Knowledge {
    pub products: Vec<ProductInfo>,
    /// Today as a UTC day number (promotions end on a day).
    pub today: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProductInfo {
    pub code: String,
    pub name: String,
    pub category: String,
    pub variants: Vec<VariantInfo>,
    pub promotion: Option<PromotionInfo>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct PromotionInfo {
    pub percent_off: i64,
    /// The last UTC day it runs.
    pub ends_day: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct VariantInfo {
    pub sku: String,
    pub size: Option<String>,
    pub colour: Option<String>,
    pub price_cents: i64,
    /// Book stock in this store, and how much of it is in the backroom (a clerk fetches it).
    pub stock_here: i64,
    pub in_backroom: i64,
    /// The home shelf's code ("A1/B2/S1") and name ("Aisle 1, bay 2, shelf 1: hoodies").
    pub location: Option<String>,
    pub location_name: Option<String>,
    /// Book stock in the other stores HQ reported, by store id.
    pub elsewhere: Vec<(String, i64)>,
    /// Whether the mirror can put it on.
    pub try_on: bool,
}

impl ProductInfo {
    /// The price a shopper pays today for a variant.
    pub fn price_today(&self, variant: &VariantInfo) -> i64 {
        match self.promotion {
            Some(p) => (variant.price_cents * (100 - p.percent_off) + 50) / 100,
            None => variant.price_cents,
        }
    }

    /// Sizes in wearing order (XS before S before M), as the catalog spells them.
    pub fn sizes(&self) -> Vec<String> {
        let mut sizes: Vec<String> = Vec::new();
        for v in &self.variants {
            if let Some(s) = &v.size {
                if !sizes.contains(s) {
                    sizes.push(s.clone());
                }
            }
        }
        sizes.sort_by_key(|s| size_rank(s));
        sizes
    }

    pub fn colours(&self) -> Vec<String> {
        let mut colours: Vec<String> = Vec::new();
        for v in &self.variants {
            if let Some(c) = &v.colour {
                if !colours.contains(c) {
                    colours.push(c.clone());
                }
            }
        }
        colours
    }
}

/// Letter sizes in wearing order; others after them.
pub fn size_rank(size: &str) -> usize {
    ["XXS", "XS", "S", "M", "L", "XL", "XXL", "3XL"].iter().position(|s| s.eq_ignore_ascii_case(size)).unwrap_or(100)
}

/// Price as the store prints it: "19.00".
pub fn money(cents: i64) -> String {
    format!("{}{}.{:02}", if cents < 0 { "-" } else { "" }, cents.abs() / 100, cents.abs() % 100)
}

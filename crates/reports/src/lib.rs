//! What a store manager reads, derived from the stock ledger and nothing else: stock, low
//! stock, shelf-count discrepancies (shrinkage), sell-through with turnover and days of
//! cover, slow movers, reorder suggestions from a per-SKU demand forecast, and sync status;
//! as tables ([`run_report`]), CSV ([`to_csv`]) and a printable PDF ([`to_pdf`]), plus the
//! series the charts draw ([`stock_history`], [`forecast_chart`], [`discrepancy_by_aisle`]).
//!
//! A pure library: it checks no roles (the kiosk does, before calling it). Windows of days
//! end at the last day with any movement in the ledger, so an imported history reads as it
//! was; days are UTC.

mod charts;
mod csv;
pub mod demo;
pub mod eval;
mod pdf;
mod reports;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use vitrine_forecast::ForecastError;
use vitrine_store::StoreError;

pub use charts::{discrepancy_by_aisle, feedback_trend, forecast_chart, stock_history};
pub use csv::to_csv;
pub use pdf::to_pdf;
pub use reports::run_report;

/// The reports there are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReportKind {
    /// Book stock per SKU and location.
    #[default]
    Stock,
    /// SKUs at or below their reorder point.
    LowStock,
    /// Shelf counts against book stock at the moment of counting, valued at cost.
    Discrepancies,
    /// Sell-through, turnover and days of cover over the window.
    SellThrough,
    /// Stock that sells slowly or not at all, by value tied up.
    SlowMovers,
    /// What to order now, from each SKU's demand forecast.
    Reorder,
    /// Events waiting for HQ, last sync, other stores.
    SyncStatus,
    /// Shoppers' feedback by product and topic: how many, how they felt, the latest comment.
    Feedback,
}

impl ReportKind {
    pub const ALL: [ReportKind; 8] = [
        ReportKind::Stock,
        ReportKind::LowStock,
        ReportKind::Discrepancies,
        ReportKind::SellThrough,
        ReportKind::SlowMovers,
        ReportKind::Reorder,
        ReportKind::SyncStatus,
        ReportKind::Feedback,
    ];

    /// The name on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            ReportKind::Stock => "stock",
            ReportKind::LowStock => "low-stock",
            ReportKind::Discrepancies => "discrepancies",
            ReportKind::SellThrough => "sell-through",
            ReportKind::SlowMovers => "slow-movers",
            ReportKind::Reorder => "reorder",
            ReportKind::SyncStatus => "sync-status",
            ReportKind::Feedback => "feedback",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            ReportKind::Stock => "Stock on hand",
            ReportKind::LowStock => "Low stock",
            ReportKind::Discrepancies => "Count discrepancies",
            ReportKind::SellThrough => "Sell-through, turnover and cover",
            ReportKind::SlowMovers => "Slow movers",
            ReportKind::Reorder => "Reorder suggestions",
            ReportKind::SyncStatus => "Sync status",
            ReportKind::Feedback => "Shopper feedback",
        }
    }
}

impl fmt::Display for ReportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ReportKind {
    type Err = ReportError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ReportKind::ALL
            .into_iter()
            .find(|kind| kind.name() == s)
            .ok_or_else(|| ReportError::UnknownReport(s.to_owned()))
    }
}

/// Which report, over which rows and days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReportQuery {
    pub kind: ReportKind,
    /// Case-insensitive substring of the SKU, product name or barcode.
    pub search: Option<String>,
    /// A location code.
    pub location: Option<String>,
    pub category: Option<String>,
    /// Look-back window for rates (sell-through, turnover, days of cover, demand), 1–3650.
    pub window_days: u32,
}

impl Default for ReportQuery {
    fn default() -> Self {
        ReportQuery {
            kind: ReportKind::Stock,
            search: None,
            location: None,
            category: None,
            window_days: 28,
        }
    }
}

/// A finished report: typed columns, rows of cells, and notes (totals, assumptions).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportTable {
    pub kind: ReportKind,
    pub title: String,
    /// When it was made, ISO-8601 UTC.
    pub generated_at: String,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub key: String,
    pub label: String,
    pub kind: ColumnKind,
}

/// How a column's numbers read. Money is in currency units (12.5 = 12.50), Percent in
/// percent points (42.5 = 42.5 %), Days a number of days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnKind {
    Text,
    Integer,
    Decimal,
    Money,
    Percent,
    Days,
}

/// One value; `Null` where a number has no meaning (days of cover of an unsold SKU).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Cell {
    Text(String),
    Int(i64),
    Num(f64),
    Null,
}

/// A dated series for a chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub label: String,
    pub points: Vec<SeriesPoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesPoint {
    /// YYYY-MM-DD (UTC).
    pub day: String,
    pub value: f64,
}

/// A SKU's daily demand history and its forecast with the 80 % band.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastChart {
    pub sku: String,
    /// The method the backtest chose (e.g. `holt-winters`).
    pub method: String,
    pub history: Series,
    pub forecast: Vec<ForecastPoint>,
    /// The chosen method's rolling-origin MASE; `None` when history was too short.
    pub backtest_mase: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastPoint {
    pub day: String,
    pub mean: f64,
    /// The 80 % prediction interval.
    pub lo: f64,
    pub hi: f64,
}

/// Shrinkage (or overage) found by the latest counts, per aisle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AisleDiscrepancy {
    /// `A4` for shelves coded `A4/B2/S3`; other locations by their code.
    pub aisle: String,
    /// Counted − book, summed: negative when units went missing.
    pub units: i64,
    pub value_at_cost: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Forecast(#[from] ForecastError),
    #[error("unknown report {0:?}; the reports are: stock, low-stock, discrepancies, sell-through, slow-movers, reorder, sync-status")]
    UnknownReport(String),
    #[error("window_days must be between 1 and 3650, got {0}")]
    Window(u32),
    #[error("horizon_days must be between 1 and 365, got {0}")]
    Horizon(u32),
}

/// `YYYY-MM-DD` of a UTC day number.
pub(crate) fn day_text(day: i64) -> String {
    vitrine_store::iso8601_utc(day * 86_400)[..10].to_owned()
}

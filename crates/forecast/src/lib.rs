//! Daily demand forecasts for one SKU at a time, the backtest that picks a method per SKU,
//! and the reorder maths built on a forecast.
//!
//! Methods are the simple, proven ones of the M-competitions: seasonal naive (weekly),
//! exponential smoothing (ETS with additive errors: simple, Holt-Winters with a weekly
//! season, and Holt-Winters with a damped trend), and Croston and its bias-corrected SBA
//! variant for items that sell on few days. Every forecast carries an 80 % prediction
//! interval. [`select`] chooses a method by rolling-origin backtest, scoring each by MASE
//! (mean absolute scaled error, scaled by the in-sample error of seasonal naive).
//!
//! Everything is a pure function over `&[f64]` daily histories (oldest first); no I/O.

mod backtest;
mod methods;
mod reorder;

use serde::{Deserialize, Serialize};

pub use backtest::{mase, rolling_mase, select, Score, SelectOptions, Selection};
pub use reorder::{normal_quantile, reorder_advice, ReorderAdvice, ReorderPolicy};

/// Days in a season: demand follows the week.
pub const WEEK: usize = 7;

/// The standard normal quantile at 90 %: an 80 % two-sided interval is mean ± this × sd.
pub const Z80: f64 = 1.281_551_565_544_600_4;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ForecastError {
    #[error("{method} needs at least {needed} days of history, got {got}")]
    TooShort {
        method: &'static str,
        needed: usize,
        got: usize,
    },
    #[error("day {0} of the history is not a finite number")]
    NotFinite(usize),
    #[error("invalid reorder policy: {0}")]
    InvalidPolicy(String),
}

/// A forecasting method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Each day repeats the same weekday of the last week seen.
    SeasonalNaive,
    /// Simple exponential smoothing, ETS(A,N,N): a level, no trend, no season.
    Ses,
    /// Holt-Winters, ETS(A,N,A): a level and an additive weekly season.
    HoltWinters,
    /// Holt-Winters with a damped trend, ETS(A,Ad,A).
    HoltWintersDamped,
    /// Croston: separate smoothing of demand sizes and of the gaps between demands.
    Croston,
    /// Syntetos–Boylan approximation: Croston with its upward bias corrected.
    Sba,
}

impl Method {
    pub const ALL: [Method; 6] = [
        Method::SeasonalNaive,
        Method::Ses,
        Method::HoltWinters,
        Method::HoltWintersDamped,
        Method::Croston,
        Method::Sba,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Method::SeasonalNaive => "seasonal-naive",
            Method::Ses => "ses",
            Method::HoltWinters => "holt-winters",
            Method::HoltWintersDamped => "holt-winters-damped",
            Method::Croston => "croston",
            Method::Sba => "sba",
        }
    }

    /// The fewest days of history the method can work from.
    pub fn min_history(self) -> usize {
        match self {
            Method::SeasonalNaive | Method::HoltWinters => WEEK,
            Method::HoltWintersDamped => 2 * WEEK,
            Method::Ses | Method::Croston | Method::Sba => 1,
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Daily forecasts for the days after the history: the expected demand and its 80 %
/// prediction interval. Demand is never negative, so `mean` and `lo` are at least 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forecast {
    pub method: Method,
    pub mean: Vec<f64>,
    pub lo: Vec<f64>,
    pub hi: Vec<f64>,
    /// The standard deviation of each day's forecast error, from which the interval came.
    pub sd: Vec<f64>,
}

impl Forecast {
    fn from_mean_sd(method: Method, mean: Vec<f64>, sd: Vec<f64>) -> Self {
        let mean: Vec<f64> = mean.into_iter().map(|m| m.max(0.0)).collect();
        let lo = mean
            .iter()
            .zip(&sd)
            .map(|(m, s)| (m - Z80 * s).max(0.0))
            .collect();
        let hi = mean.iter().zip(&sd).map(|(m, s)| m + Z80 * s).collect();
        Forecast {
            method,
            mean,
            lo,
            hi,
            sd,
        }
    }
}

/// Forecasts `horizon` days after `history` (daily units, oldest first) with `method`.
pub fn forecast(
    method: Method,
    history: &[f64],
    horizon: usize,
) -> Result<Forecast, ForecastError> {
    if let Some(day) = history.iter().position(|y| !y.is_finite()) {
        return Err(ForecastError::NotFinite(day));
    }
    if history.len() < method.min_history() {
        return Err(ForecastError::TooShort {
            method: method.name(),
            needed: method.min_history(),
            got: history.len(),
        });
    }
    let (mean, sd) = match method {
        Method::SeasonalNaive => methods::seasonal_naive(history, horizon),
        Method::Ses => methods::ets(history, horizon, methods::EtsShape::LEVEL),
        Method::HoltWinters => methods::ets(history, horizon, methods::EtsShape::SEASONAL),
        Method::HoltWintersDamped => {
            methods::ets(history, horizon, methods::EtsShape::DAMPED_SEASONAL)
        }
        Method::Croston => methods::croston(history, horizon, false),
        Method::Sba => methods::croston(history, horizon, true),
    };
    Ok(Forecast::from_mean_sd(method, mean, sd))
}

/// Average days between two days with demand (ADI): above 1.32 an item counts as
/// intermittent (Syntetos, Boylan & Croston 2005). `None` when it never sold.
pub fn average_demand_interval(history: &[f64]) -> Option<f64> {
    let selling = history.iter().filter(|y| **y > 0.0).count();
    (selling > 0).then(|| history.len() as f64 / selling as f64)
}

#[cfg(test)]
mod tests;

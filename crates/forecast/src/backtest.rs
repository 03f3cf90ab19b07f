//! Rolling-origin backtests scored by MASE, and the per-SKU choice of method.

use serde::Serialize;

use crate::{average_demand_interval, forecast, Method, WEEK};

/// The scale of MASE: the in-sample mean absolute error of seasonal naive on `train`.
/// `None` when it is zero (a history that repeats every week exactly) or too short.
fn seasonal_naive_scale(train: &[f64]) -> Option<f64> {
    if train.len() <= WEEK {
        return None;
    }
    let total: f64 = (WEEK..train.len())
        .map(|t| (train[t] - train[t - WEEK]).abs())
        .sum();
    let scale = total / (train.len() - WEEK) as f64;
    (scale > 0.0).then_some(scale)
}

/// MASE of a forecast of `actual` made from `train`: its mean absolute error over the
/// in-sample mean absolute error of seasonal naive on `train`. `None` when that scale is 0.
pub fn mase(train: &[f64], forecast_mean: &[f64], actual: &[f64]) -> Option<f64> {
    let scale = seasonal_naive_scale(train)?;
    let n = actual.len().min(forecast_mean.len());
    if n == 0 {
        return None;
    }
    let mae = (0..n)
        .map(|k| (actual[k] - forecast_mean[k]).abs())
        .sum::<f64>()
        / n as f64;
    Some(mae / scale)
}

/// Mean MASE of `method` over `origins` rolling origins, each forecasting `horizon` days:
/// the last origin leaves exactly `horizon` days to test, each earlier one `horizon` days
/// before it. Origins with too little history before them, or a zero scale, are skipped;
/// `None` when none is left.
pub fn rolling_mase(
    method: Method,
    history: &[f64],
    horizon: usize,
    origins: usize,
) -> Option<f64> {
    let n = history.len();
    let mut total = 0.0;
    let mut scored = 0;
    for back in 1..=origins {
        let Some(origin) = n.checked_sub(back * horizon) else {
            break;
        };
        let train = &history[..origin];
        if train.len() < (2 * WEEK).max(method.min_history()) {
            break;
        }
        let Ok(fc) = forecast(method, train, horizon) else {
            continue;
        };
        if let Some(score) = mase(train, &fc.mean, &history[origin..origin + horizon]) {
            total += score;
            scored += 1;
        }
    }
    (scored > 0).then(|| total / scored as f64)
}

/// How [`select`] backtests.
#[derive(Debug, Clone, PartialEq)]
pub struct SelectOptions {
    pub horizon: usize,
    pub origins: usize,
    pub candidates: Vec<Method>,
}

impl Default for SelectOptions {
    /// Six weekly origins (fewer make the choice noisy on daily retail data), every method.
    fn default() -> Self {
        SelectOptions {
            horizon: WEEK,
            origins: 6,
            candidates: Method::ALL.to_vec(),
        }
    }
}

/// One method's backtest score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Score {
    pub method: Method,
    /// Mean MASE over the origins; `None` if it could not be scored.
    pub mase: Option<f64>,
}

/// The method chosen for one history, and every candidate's score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Selection {
    pub method: Method,
    /// The chosen method's score; `None` when no backtest was possible and the method was
    /// chosen by the shape of demand alone.
    pub mase: Option<f64>,
    pub scores: Vec<Score>,
}

/// Picks the candidate with the lowest rolling-origin MASE. With too little history to
/// backtest, falls back on the shape of demand: SBA for intermittent sellers (ADI > 1.32),
/// else seasonal naive given a week of history, else simple smoothing.
pub fn select(history: &[f64], options: &SelectOptions) -> Selection {
    let scores: Vec<Score> = options
        .candidates
        .iter()
        .map(|&method| Score {
            method,
            mase: rolling_mase(method, history, options.horizon, options.origins),
        })
        .collect();
    let best = scores
        .iter()
        .filter_map(|s| s.mase.map(|m| (s.method, m)))
        .min_by(|a, b| a.1.total_cmp(&b.1));
    match best {
        Some((method, mase)) => Selection {
            method,
            mase: Some(mase),
            scores,
        },
        None => {
            let intermittent = average_demand_interval(history).is_none_or(|adi| adi > 1.32);
            let method = if intermittent {
                Method::Sba
            } else if history.len() >= WEEK {
                Method::SeasonalNaive
            } else {
                Method::Ses
            };
            Selection {
                method,
                mase: None,
                scores,
            }
        }
    }
}

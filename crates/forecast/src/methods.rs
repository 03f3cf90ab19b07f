//! The forecasting methods; each returns the daily means and error standard deviations.

use crate::WEEK;

/// Seasonal naive: the last week repeats. Error sd from the in-sample seasonal differences,
/// growing with every further week ahead (a seasonal random walk).
pub(crate) fn seasonal_naive(y: &[f64], horizon: usize) -> (Vec<f64>, Vec<f64>) {
    let n = y.len();
    let last_week = &y[n - WEEK..];
    let mean = (0..horizon).map(|k| last_week[k % WEEK]).collect();
    let residuals: Vec<f64> = (WEEK..n).map(|t| y[t] - y[t - WEEK]).collect();
    let sigma = rms(&residuals);
    let sd = (0..horizon)
        .map(|k| sigma * ((k / WEEK + 1) as f64).sqrt())
        .collect();
    (mean, sd)
}

fn rms(errors: &[f64]) -> f64 {
    if errors.is_empty() {
        return 0.0;
    }
    (errors.iter().map(|e| e * e).sum::<f64>() / errors.len() as f64).sqrt()
}

/// Which components an additive ETS model has.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EtsShape {
    /// Damping of the trend; `None` for no trend.
    damping: Option<f64>,
    seasonal: bool,
}

impl EtsShape {
    pub(crate) const LEVEL: EtsShape = EtsShape {
        damping: None,
        seasonal: false,
    };
    pub(crate) const SEASONAL: EtsShape = EtsShape {
        damping: None,
        seasonal: true,
    };
    pub(crate) const DAMPED_SEASONAL: EtsShape = EtsShape {
        damping: Some(0.9),
        seasonal: true,
    };
}

/// Smoothing weights of an additive ETS model in error-correction form.
#[derive(Debug, Clone, Copy)]
struct EtsParams {
    alpha: f64,
    /// Trend weight (β·α in Holt's form); 0 without a trend.
    beta: f64,
    gamma: f64,
    phi: f64,
}

/// The state after running the filter over a history.
struct EtsFit {
    level: f64,
    trend: f64,
    season: [f64; WEEK],
    sse: f64,
    steps: usize,
}

const ALPHAS: [f64; 5] = [0.02, 0.05, 0.1, 0.2, 0.4];
const BETA_SHARES: [f64; 2] = [0.05, 0.2];
const GAMMAS: [f64; 3] = [0.02, 0.08, 0.2];

/// Additive ETS with parameters picked from a small grid by in-sample one-step squared
/// error (a grid rather than an optimiser: cheap, deterministic, and robust on short noisy
/// retail series).
pub(crate) fn ets(y: &[f64], horizon: usize, shape: EtsShape) -> (Vec<f64>, Vec<f64>) {
    let gammas: &[f64] = if shape.seasonal { &GAMMAS } else { &[0.0] };
    let shares: &[f64] = if shape.damping.is_some() {
        &BETA_SHARES
    } else {
        &[0.0]
    };
    let phi = shape.damping.unwrap_or(0.0);
    let mut best: Option<(EtsParams, EtsFit)> = None;
    for &alpha in &ALPHAS {
        for &share in shares {
            for &gamma in gammas {
                let params = EtsParams {
                    alpha,
                    beta: alpha * share,
                    gamma,
                    phi,
                };
                let fit = run_ets(y, params, shape);
                if best.as_ref().is_none_or(|(_, b)| fit.sse < b.sse) {
                    best = Some((params, fit));
                }
            }
        }
    }
    let (p, fit) = best.expect("the grid is not empty");
    let sigma = if fit.steps > 0 {
        (fit.sse / fit.steps as f64).sqrt()
    } else {
        0.0
    };
    let n = y.len();
    let mut mean = Vec::with_capacity(horizon);
    let mut sd = Vec::with_capacity(horizon);
    let mut damped_sum = 0.0; // φ + φ² + … + φ^h
    let mut power = 1.0;
    let mut variance_sum: f64 = 1.0; // 1 + Σ c_j²
    for k in 0..horizon {
        power *= p.phi;
        damped_sum += power;
        let season = if shape.seasonal {
            fit.season[(n + k) % WEEK]
        } else {
            0.0
        };
        mean.push(fit.level + damped_sum * fit.trend + season);
        sd.push(sigma * variance_sum.sqrt());
        // c_j for the next step (Hyndman et al., Forecasting with Exponential Smoothing,
        // class 1 variances): α + β(φ + … + φ^j) + γ when j is a whole number of seasons.
        let j = k + 1;
        let seasonal_hit = if shape.seasonal && j % WEEK == 0 {
            p.gamma
        } else {
            0.0
        };
        let c = p.alpha + p.beta * damped_sum + seasonal_hit;
        variance_sum += c * c;
    }
    (mean, sd)
}

fn run_ets(y: &[f64], p: EtsParams, shape: EtsShape) -> EtsFit {
    let n = y.len();
    let first_week = &y[..WEEK.min(n)];
    let first_mean = first_week.iter().sum::<f64>() / first_week.len() as f64;
    let mut level = if shape.seasonal { first_mean } else { y[0] };
    let mut trend = if shape.damping.is_some() && n >= 2 * WEEK {
        let second_mean = y[WEEK..2 * WEEK].iter().sum::<f64>() / WEEK as f64;
        (second_mean - first_mean) / WEEK as f64
    } else {
        0.0
    };
    let mut season = [0.0; WEEK];
    if shape.seasonal {
        for (t, value) in first_week.iter().enumerate() {
            season[t] = value - first_mean;
        }
    }
    let mut sse = 0.0;
    let mut steps = 0;
    for (t, &value) in y.iter().enumerate() {
        let s = season[t % WEEK];
        let predicted = level + p.phi * trend + s;
        let error = value - predicted;
        // The first week set the initial state; its errors would flatter the fit.
        if t >= WEEK || !shape.seasonal {
            sse += error * error;
            steps += 1;
        }
        level = level + p.phi * trend + p.alpha * error;
        trend = p.phi * trend + p.beta * error;
        if shape.seasonal {
            season[t % WEEK] = s + p.gamma * error;
        }
    }
    EtsFit {
        level,
        trend,
        season,
        sse,
        steps,
    }
}

const CROSTON_ALPHAS: [f64; 4] = [0.05, 0.1, 0.2, 0.3];

/// Croston's method (or SBA with `bias_corrected`): demand size and the interval between
/// demands are smoothed separately, updated only on days with demand; the forecast is flat.
/// The smoothing weight is picked by in-sample one-step squared error; the sd grows like
/// simple smoothing's, √(1 + kα²) at k days ahead.
pub(crate) fn croston(y: &[f64], horizon: usize, bias_corrected: bool) -> (Vec<f64>, Vec<f64>) {
    let best = CROSTON_ALPHAS
        .iter()
        .map(|&alpha| run_croston(y, alpha, bias_corrected))
        .min_by(|a, b| a.2.total_cmp(&b.2))
        .expect("four alphas");
    let (alpha, rate, sigma) = best;
    let mean = vec![rate; horizon];
    let sd = (0..horizon)
        .map(|k| sigma * (1.0 + k as f64 * alpha * alpha).sqrt())
        .collect();
    (mean, sd)
}

/// Returns (alpha, final rate, in-sample one-step rms error).
pub(crate) fn run_croston(y: &[f64], alpha: f64, bias_corrected: bool) -> (f64, f64, f64) {
    let factor = if bias_corrected {
        1.0 - alpha / 2.0
    } else {
        1.0
    };
    let Some(first) = y.iter().position(|v| *v > 0.0) else {
        return (alpha, 0.0, 0.0);
    };
    let mut size = y[first];
    let mut interval = (first + 1) as f64;
    let mut since = 0.0;
    let mut sse = 0.0;
    let mut steps = 0usize;
    for &value in &y[first + 1..] {
        let rate = factor * size / interval;
        sse += (value - rate) * (value - rate);
        steps += 1;
        since += 1.0;
        if value > 0.0 {
            size += alpha * (value - size);
            interval += alpha * (since - interval);
            since = 0.0;
        }
    }
    let sigma = if steps > 0 {
        (sse / steps as f64).sqrt()
    } else {
        0.0
    };
    (alpha, factor * size / interval, sigma)
}

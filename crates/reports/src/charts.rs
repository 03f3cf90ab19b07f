//! The series the manager's charts draw: stock over time, a forecast with its band, and
//! shrinkage by aisle.

use vitrine_forecast::{forecast, select, SelectOptions};
use vitrine_store::{ReportFilter, Store};

use crate::reports::{Context, FORECAST_HISTORY_DAYS};
use crate::{
    day_text, AisleDiscrepancy, ForecastChart, ForecastPoint, ReportError, ReportQuery, Series,
    SeriesPoint,
};

/// Book stock of `sku` at the end of each of the last `days` days (at `location`, or
/// summed over all locations), ending on the last day with any movement.
pub fn stock_history(
    store: &Store,
    sku: &str,
    location: Option<&str>,
    days: u32,
) -> Result<Series, ReportError> {
    let ctx = Context::new(store, &window(days)?)?;
    let points = store
        .stock_by_day(sku, location, ctx.first_day, ctx.last_day)?
        .into_iter()
        .map(|(day, on_hand)| SeriesPoint {
            day: day_text(day),
            value: on_hand as f64,
        })
        .collect();
    let label = match location {
        Some(code) => format!("{sku} at {code}"),
        None => format!("{sku}, all locations"),
    };
    Ok(Series { label, points })
}

fn window(days: u32) -> Result<ReportQuery, ReportError> {
    if !(1..=3650).contains(&days) {
        return Err(ReportError::Window(days));
    }
    Ok(ReportQuery {
        window_days: days,
        ..ReportQuery::default()
    })
}

/// `sku`'s net daily demand over the last 84 days and its forecast for `horizon_days`, by
/// the method its rolling-origin backtest chose, with the 80 % prediction band.
pub fn forecast_chart(
    store: &Store,
    sku: &str,
    horizon_days: u32,
) -> Result<ForecastChart, ReportError> {
    if !(1..=365).contains(&horizon_days) {
        return Err(ReportError::Horizon(horizon_days));
    }
    let ctx = Context::new(store, &ReportQuery::default())?;
    let first = ctx.last_day - FORECAST_HISTORY_DAYS + 1;
    let history = store.demand_history(sku, None, first, ctx.last_day)?;
    let choice = select(&history, &SelectOptions::default());
    let fc = forecast(choice.method, &history, horizon_days as usize)?;
    let forecast = (0..fc.mean.len())
        .map(|k| ForecastPoint {
            day: day_text(ctx.last_day + 1 + k as i64),
            mean: fc.mean[k],
            lo: fc.lo[k],
            hi: fc.hi[k],
        })
        .collect();
    Ok(ForecastChart {
        sku: sku.to_owned(),
        method: choice.method.name().to_owned(),
        history: Series {
            label: format!("{sku}: units sold per day"),
            points: history
                .iter()
                .enumerate()
                .map(|(k, units)| SeriesPoint {
                    day: day_text(first + k as i64),
                    value: *units,
                })
                .collect(),
        },
        forecast,
        backtest_mase: choice.mase,
    })
}

/// The latest counts of the default 28-day window (as in the discrepancies report), summed
/// per aisle: shelves `A4/B2/S3` belong to aisle `A4`; other locations stand alone.
pub fn discrepancy_by_aisle(store: &Store) -> Result<Vec<AisleDiscrepancy>, ReportError> {
    let ctx = Context::new(store, &ReportQuery::default())?;
    let mut aisles: Vec<AisleDiscrepancy> = Vec::new();
    for d in store.count_discrepancies(&ReportFilter::default(), ctx.first_day * 86_400_000)? {
        let aisle = d
            .location
            .split('/')
            .next()
            .unwrap_or(&d.location)
            .to_owned();
        let difference = d.counted - d.book;
        let value = (difference * d.cost_cents) as f64 / 100.0;
        match aisles.iter_mut().find(|a| a.aisle == aisle) {
            Some(a) => {
                a.units += difference;
                a.value_at_cost += value;
            }
            None => aisles.push(AisleDiscrepancy {
                aisle,
                units: difference,
                value_at_cost: value,
            }),
        }
    }
    for a in &mut aisles {
        a.value_at_cost = (a.value_at_cost * 100.0).round() / 100.0;
    }
    aisles.sort_by(|a, b| a.aisle.cmp(&b.aisle));
    Ok(aisles)
}

/// Shoppers' mood day by day over the last `days`: net positive feedback in percent
/// ((positive − negative) / all), on the days that had any.
pub fn feedback_trend(store: &Store, days: u32) -> Result<Series, ReportError> {
    if !(1..=3650).contains(&days) {
        return Err(ReportError::Window(days));
    }
    let last = crate::reports::today();
    let rows = store.feedback_between(last - i64::from(days) + 1, last)?;
    let mut points: Vec<(i64, i64, i64)> = Vec::new();
    for f in &rows {
        if points.last().is_none_or(|p| p.0 != f.day) {
            points.push((f.day, 0, 0));
        }
        let p = points.last_mut().expect("pushed above");
        p.1 += 1;
        p.2 += match f.label.as_str() {
            "positive" => 1,
            "negative" => -1,
            _ => 0,
        };
    }
    Ok(Series {
        label: "net positive feedback, %".to_owned(),
        points: points.into_iter().map(|(day, n, net)| SeriesPoint { day: day_text(day), value: (net as f64 * 1000.0 / n as f64).round() / 10.0 }).collect(),
    })
}

//! The report builders: one function per [`ReportKind`], each a few store queries and
//! arithmetic on their rows.

use std::time::{SystemTime, UNIX_EPOCH};

use vitrine_forecast::{forecast, reorder_advice, select, Method, ReorderPolicy, SelectOptions};
use vitrine_store::{day_of_ms, ReorderSettings, ReportFilter, Store, VariantActivity};

use crate::{
    day_text, Cell, Column, ColumnKind, ReportError, ReportKind, ReportQuery, ReportTable,
};

/// Days of demand history a reorder forecast learns from.
pub(crate) const FORECAST_HISTORY_DAYS: i64 = 84;

/// Runs one report. Unknown location codes and out-of-range windows are errors that say so.
pub fn run_report(store: &Store, query: &ReportQuery) -> Result<ReportTable, ReportError> {
    if !(1..=3650).contains(&query.window_days) {
        return Err(ReportError::Window(query.window_days));
    }
    let ctx = Context::new(store, query)?;
    let (columns, rows, notes) = match query.kind {
        ReportKind::Stock => stock(store, &ctx)?,
        ReportKind::LowStock => low_stock(store, &ctx)?,
        ReportKind::Discrepancies => discrepancies(store, &ctx)?,
        ReportKind::SellThrough => sell_through(store, &ctx)?,
        ReportKind::SlowMovers => slow_movers(store, &ctx)?,
        ReportKind::Reorder => reorder(store, &ctx)?,
        ReportKind::SyncStatus => sync_status(store)?,
        ReportKind::Feedback => feedback(store, query)?,
    };
    let mut notes = notes;
    if let Some(filter) = ctx.describe_filter() {
        notes.insert(0, filter);
    }
    Ok(ReportTable {
        kind: query.kind,
        title: query.kind.title().to_owned(),
        generated_at: vitrine_store::iso8601_utc(now_s()),
        columns,
        rows,
        notes,
    })
}

type Built = (Vec<Column>, Vec<Vec<Cell>>, Vec<String>);

fn now_s() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The filter and the window every report shares.
pub(crate) struct Context {
    pub filter: ReportFilter,
    /// The window's last day: the last day with any movement (today for an empty ledger).
    pub last_day: i64,
    pub first_day: i64,
    pub window_days: u32,
}

impl Context {
    pub(crate) fn new(store: &Store, query: &ReportQuery) -> Result<Self, ReportError> {
        let last_day = store
            .last_movement_day()?
            .unwrap_or_else(|| now_s().div_euclid(86_400));
        Ok(Context {
            filter: ReportFilter {
                search: query.search.clone(),
                location: query.location.clone(),
                category: query.category.clone(),
            },
            last_day,
            first_day: last_day - i64::from(query.window_days) + 1,
            window_days: query.window_days,
        })
    }

    fn window_note(&self) -> String {
        format!(
            "Window: {} days, {} to {} (UTC).",
            self.window_days,
            day_text(self.first_day),
            day_text(self.last_day)
        )
    }

    fn describe_filter(&self) -> Option<String> {
        let parts: Vec<String> = [
            ("search", &self.filter.search),
            ("location", &self.filter.location),
            ("category", &self.filter.category),
        ]
        .iter()
        .filter_map(|(name, value)| value.as_ref().map(|v| format!("{name} {v:?}")))
        .collect();
        (!parts.is_empty()).then(|| format!("Filtered by {}.", parts.join(", ")))
    }
}

/// Today as a UTC day number (feedback is dated by the clock, not by the ledger).
pub(crate) fn today() -> i64 {
    now_s().div_euclid(86_400)
}

/// Feedback over the window, one row per product (or the store) and topic: a comment with two
/// topics counts under both. Only the search filter applies (on the product's name or code).
fn feedback(store: &Store, query: &ReportQuery) -> Result<Built, ReportError> {
    let last = today();
    let first = last - i64::from(query.window_days) + 1;
    let search = query.search.as_deref().map(str::to_lowercase);
    let rows: Vec<vitrine_store::FeedbackRow> = store
        .feedback_between(first, last)?
        .into_iter()
        .filter(|f| {
            search.as_ref().is_none_or(|s| {
                f.product_code.as_deref().is_some_and(|c| c.to_lowercase().contains(s)) || f.product_name.as_deref().is_some_and(|n| n.to_lowercase().contains(s))
            })
        })
        .collect();
    let columns = vec![
        col("product", "Product", ColumnKind::Text),
        col("topic", "Topic", ColumnKind::Text),
        col("comments", "Feedback", ColumnKind::Integer),
        col("positive", "Positive", ColumnKind::Integer),
        col("neutral", "Neutral", ColumnKind::Integer),
        col("negative", "Negative", ColumnKind::Integer),
        col("net", "Net positive", ColumnKind::Percent),
        col("stars", "Average stars", ColumnKind::Decimal),
        col("latest", "Latest comment", ColumnKind::Text),
    ];
    #[derive(Default)]
    struct Group {
        n: i64,
        by_label: [i64; 3],
        stars: Vec<u8>,
        latest: Option<String>,
    }
    let mut groups: Vec<((String, String), Group)> = Vec::new();
    for f in &rows {
        let product = f.product_name.clone().unwrap_or_else(|| "(the store)".to_owned());
        let topics = if f.topics.is_empty() { vec!["(none)".to_owned()] } else { f.topics.clone() };
        for topic in topics {
            let key = (product.clone(), topic);
            let at = match groups.iter().position(|(k, _)| *k == key) {
                Some(at) => at,
                None => {
                    groups.push((key, Group::default()));
                    groups.len() - 1
                }
            };
            let g = &mut groups[at].1;
            g.n += 1;
            g.by_label[match f.label.as_str() { "positive" => 0, "neutral" => 1, _ => 2 }] += 1;
            g.stars.extend(f.rating);
            if f.comment.is_some() {
                g.latest = f.comment.clone();
            }
        }
    }
    groups.sort_by(|a, b| b.1.n.cmp(&a.1.n).then_with(|| a.0.cmp(&b.0)));
    let body = groups
        .into_iter()
        .map(|((product, topic), g)| {
            let stars = if g.stars.is_empty() { Cell::Null } else { num(g.stars.iter().map(|&s| f64::from(s)).sum::<f64>() / g.stars.len() as f64, 1) };
            vec![
                text(&product),
                text(&topic),
                Cell::Int(g.n),
                Cell::Int(g.by_label[0]),
                Cell::Int(g.by_label[1]),
                Cell::Int(g.by_label[2]),
                num((g.by_label[0] - g.by_label[2]) as f64 * 100.0 / g.n as f64, 1),
                stars,
                opt_text(&g.latest),
            ]
        })
        .collect();
    let count = |label: &str| rows.iter().filter(|f| f.label == label).count();
    let rated: Vec<f64> = rows.iter().filter_map(|f| f.rating.map(f64::from)).collect();
    let mut notes = vec![format!(
        "{} pieces of feedback from {} to {}: {} positive, {} neutral, {} negative{}.",
        rows.len(),
        day_text(first),
        day_text(last),
        count("positive"),
        count("neutral"),
        count("negative"),
        if rated.is_empty() { String::new() } else { format!("; {:.1} stars on average over {} ratings", rated.iter().sum::<f64>() / rated.len() as f64, rated.len()) }
    )];
    notes.push("Kept without who gave it: the text, the stars, the scores and the product only.".to_owned());
    Ok((columns, body, notes))
}

fn col(key: &str, label: &str, kind: ColumnKind) -> Column {
    Column {
        key: key.to_owned(),
        label: label.to_owned(),
        kind,
    }
}

fn text(s: &str) -> Cell {
    Cell::Text(s.to_owned())
}

fn opt_text(s: &Option<String>) -> Cell {
    s.as_deref().map_or(Cell::Null, text)
}

fn money(cents: f64) -> Cell {
    Cell::Num((cents).round() / 100.0)
}

fn num(x: f64, decimals: i32) -> Cell {
    if x.is_finite() {
        let scale = 10f64.powi(decimals);
        Cell::Num((x * scale).round() / scale)
    } else {
        Cell::Null
    }
}

fn money_total(cents: f64) -> String {
    format!("{:.2}", cents / 100.0)
}

/// Mean and sd of daily demand over the window, from the activity's sums.
fn demand_stats(a: &VariantActivity, window_days: u32) -> (f64, f64) {
    let n = f64::from(window_days);
    let mean = a.demand_sum / n;
    let variance = (a.demand_sum_sq / n - mean * mean).max(0.0);
    (mean, variance.sqrt())
}

fn policy(settings: &ReorderSettings) -> ReorderPolicy {
    ReorderPolicy {
        lead_time_days: settings.lead_time_days,
        review_period_days: settings.review_period_days,
        service_level: settings.service_level,
        pack_size: settings.pack_size,
    }
}

fn stock(store: &Store, ctx: &Context) -> Result<Built, ReportError> {
    let rows = store.stock_rows(&ctx.filter)?;
    let columns = vec![
        col("sku", "SKU", ColumnKind::Text),
        col("product", "Product", ColumnKind::Text),
        col("category", "Category", ColumnKind::Text),
        col("size", "Size", ColumnKind::Text),
        col("colour", "Colour", ColumnKind::Text),
        col("location", "Location", ColumnKind::Text),
        col("on_hand", "On hand", ColumnKind::Integer),
        col("value_at_cost", "Value at cost", ColumnKind::Money),
        col("value_at_price", "Value at price", ColumnKind::Money),
    ];
    let (mut units, mut cost, mut retail) = (0i64, 0f64, 0f64);
    let cells = rows
        .iter()
        .map(|r| {
            units += r.on_hand;
            let at_cost = (r.on_hand * r.cost_cents) as f64;
            let at_price = (r.on_hand * r.price_cents) as f64;
            cost += at_cost;
            retail += at_price;
            vec![
                text(&r.sku),
                text(&r.product_name),
                text(&r.category),
                opt_text(&r.size),
                opt_text(&r.colour),
                text(&r.location),
                Cell::Int(r.on_hand),
                money(at_cost),
                money(at_price),
            ]
        })
        .collect();
    let notes = vec![format!(
        "{} rows; {units} units on hand, {} at cost, {} at price.",
        rows.len(),
        money_total(cost),
        money_total(retail)
    )];
    Ok((columns, cells, notes))
}

fn low_stock(store: &Store, ctx: &Context) -> Result<Built, ReportError> {
    let activity = store.variant_activity(&ctx.filter, ctx.first_day, ctx.last_day)?;
    let columns = vec![
        col("sku", "SKU", ColumnKind::Text),
        col("product", "Product", ColumnKind::Text),
        col("on_hand", "On hand", ColumnKind::Integer),
        col("reorder_point", "Reorder point", ColumnKind::Integer),
        col("daily_demand", "Daily demand", ColumnKind::Decimal),
        col("days_of_cover", "Days of cover", ColumnKind::Days),
        col("lead_time_days", "Lead time", ColumnKind::Days),
        col("suggested_order", "Suggested order", ColumnKind::Integer),
    ];
    let mut found = Vec::new();
    for a in &activity {
        let (mean, sd) = demand_stats(a, ctx.window_days);
        let advice = reorder_advice(&[mean], &[sd], a.on_hand as f64, &policy(&a.settings))?;
        let reorder_point = a
            .settings
            .reorder_point
            .unwrap_or_else(|| advice.reorder_point.ceil() as i64);
        // Nothing sells and nothing is set: no reorder point to be below.
        let below = match a.settings.reorder_point {
            Some(point) => a.on_hand <= point,
            None => advice.reorder_point > 0.0 && a.on_hand as f64 <= advice.reorder_point,
        };
        if !below {
            continue;
        }
        let suggested = if a.settings.reorder_point.is_some() {
            // A fixed reorder point: order up to it plus the demand of a review period.
            let pack = i64::from(a.settings.pack_size);
            let up_to = reorder_point as f64 + mean * f64::from(a.settings.review_period_days);
            let wanted = (up_to - a.on_hand as f64).ceil().max(1.0) as i64;
            (wanted + pack - 1) / pack * pack
        } else {
            advice.order_quantity as i64
        };
        let cover = if mean > 0.0 {
            a.on_hand.max(0) as f64 / mean
        } else {
            f64::INFINITY
        };
        found.push((
            cover,
            vec![
                text(&a.sku),
                text(&a.product_name),
                Cell::Int(a.on_hand),
                Cell::Int(reorder_point),
                num(mean, 2),
                num(cover, 1),
                Cell::Int(i64::from(a.settings.lead_time_days)),
                Cell::Int(suggested),
            ],
        ));
    }
    found.sort_by(|a, b| a.0.total_cmp(&b.0));
    let notes = vec![
        format!(
            "{} of {} SKUs at or below their reorder point.",
            found.len(),
            activity.len()
        ),
        format!(
            "Reorder point: the SKU's own setting, else demand over the lead time plus \
             safety stock at its service level, from the window's daily demand. {}",
            ctx.window_note()
        ),
    ];
    Ok((
        columns,
        found.into_iter().map(|(_, row)| row).collect(),
        notes,
    ))
}

fn discrepancies(store: &Store, ctx: &Context) -> Result<Built, ReportError> {
    let found = store.count_discrepancies(&ctx.filter, ctx.first_day * 86_400_000)?;
    let columns = vec![
        col("counted_on", "Counted on", ColumnKind::Text),
        col("location", "Location", ColumnKind::Text),
        col("sku", "SKU", ColumnKind::Text),
        col("product", "Product", ColumnKind::Text),
        col("book", "Book", ColumnKind::Integer),
        col("counted", "Counted", ColumnKind::Integer),
        col("difference", "Difference", ColumnKind::Integer),
        col("value_at_cost", "Value at cost", ColumnKind::Money),
    ];
    let (mut shrink_units, mut shrink_cents, mut over_cents) = (0i64, 0f64, 0f64);
    let mut matched = 0;
    let mut rows = Vec::new();
    for d in &found {
        let difference = d.counted - d.book;
        if difference == 0 {
            matched += 1;
            continue;
        }
        let value = (difference * d.cost_cents) as f64;
        if difference < 0 {
            shrink_units -= difference;
            shrink_cents -= value;
        } else {
            over_cents += value;
        }
        rows.push(vec![
            text(&day_text(day_of_ms(d.counted_at_ms))),
            text(&d.location),
            text(&d.sku),
            text(&d.product_name),
            Cell::Int(d.book),
            Cell::Int(d.counted),
            Cell::Int(difference),
            money(value),
        ]);
    }
    let notes = vec![
        format!(
            "Shrinkage: {shrink_units} units missing, {} at cost; overage {} at cost.",
            money_total(shrink_cents),
            money_total(over_cents)
        ),
        format!(
            "{} latest counts per SKU and location; {matched} matched the book. Book stock \
             is as it stood when each count was made. {}",
            found.len(),
            ctx.window_note()
        ),
    ];
    Ok((columns, rows, notes))
}

fn sell_through(store: &Store, ctx: &Context) -> Result<Built, ReportError> {
    let activity = store.variant_activity(&ctx.filter, ctx.first_day, ctx.last_day)?;
    let columns = vec![
        col("sku", "SKU", ColumnKind::Text),
        col("product", "Product", ColumnKind::Text),
        col("category", "Category", ColumnKind::Text),
        col("opening", "Opening", ColumnKind::Integer),
        col("received", "Received", ColumnKind::Integer),
        col("sold", "Sold (net)", ColumnKind::Integer),
        col("closing", "Closing", ColumnKind::Integer),
        col("sell_through", "Sell-through", ColumnKind::Percent),
        col("turnover", "Turnover / year", ColumnKind::Decimal),
        col("days_of_cover", "Days of cover", ColumnKind::Days),
    ];
    let window = f64::from(ctx.window_days);
    let (mut sold_total, mut available_total) = (0i64, 0i64);
    let rows = activity
        .iter()
        .filter(|a| a.on_hand != 0 || a.sold != 0 || a.received != 0 || a.net_change != 0)
        .map(|a| {
            let opening = a.on_hand - a.net_change;
            let sold = a.sold - a.returned;
            let available = opening.max(0) + a.received;
            sold_total += sold;
            available_total += available;
            let sell_through = if available > 0 {
                100.0 * sold as f64 / available as f64
            } else {
                f64::NAN
            };
            let average_stock = (opening.max(0) + a.on_hand.max(0)) as f64 / 2.0;
            let turnover = if average_stock > 0.0 {
                sold as f64 / average_stock * 365.0 / window
            } else {
                f64::NAN
            };
            let cover = if sold > 0 {
                a.on_hand.max(0) as f64 / (sold as f64 / window)
            } else {
                f64::NAN
            };
            vec![
                text(&a.sku),
                text(&a.product_name),
                text(&a.category),
                Cell::Int(opening),
                Cell::Int(a.received),
                Cell::Int(sold),
                Cell::Int(a.on_hand),
                num(sell_through, 1),
                num(turnover, 2),
                num(cover, 1),
            ]
        })
        .collect();
    let overall = if available_total > 0 {
        format!(
            "{:.1} %",
            100.0 * sold_total as f64 / available_total as f64
        )
    } else {
        "n/a".to_owned()
    };
    let notes = vec![
        format!("Overall sell-through {overall}: {sold_total} units sold of {available_total} available."),
        format!(
            "Sell-through = net units sold / (opening stock + received); turnover = net \
             units sold / average of opening and closing stock, per year; days of cover = \
             closing stock / average daily net sales. {}",
            ctx.window_note()
        ),
    ];
    Ok((columns, rows, notes))
}

fn slow_movers(store: &Store, ctx: &Context) -> Result<Built, ReportError> {
    /// Stock that would last longer than this at the window's pace is slow.
    const SLOW_COVER_DAYS: f64 = 90.0;
    let activity = store.variant_activity(&ctx.filter, ctx.first_day, ctx.last_day)?;
    let columns = vec![
        col("sku", "SKU", ColumnKind::Text),
        col("product", "Product", ColumnKind::Text),
        col("on_hand", "On hand", ColumnKind::Integer),
        col("sold", "Sold in window", ColumnKind::Integer),
        col("last_sold", "Last sold", ColumnKind::Text),
        col("days_since_sale", "Days since sale", ColumnKind::Days),
        col("days_of_cover", "Days of cover", ColumnKind::Days),
        col("value_at_cost", "Value at cost", ColumnKind::Money),
    ];
    let window = f64::from(ctx.window_days);
    let mut found: Vec<(f64, Vec<Cell>)> = Vec::new();
    let mut tied_up = 0.0;
    for a in activity.iter().filter(|a| a.on_hand > 0) {
        let sold = a.sold - a.returned;
        let cover = if sold > 0 {
            a.on_hand as f64 / (sold as f64 / window)
        } else {
            f64::INFINITY
        };
        if cover <= SLOW_COVER_DAYS {
            continue;
        }
        let value = (a.on_hand * a.cost_cents) as f64;
        tied_up += value;
        found.push((
            value,
            vec![
                text(&a.sku),
                text(&a.product_name),
                Cell::Int(a.on_hand),
                Cell::Int(sold),
                a.last_sold_day.map_or(Cell::Null, |d| text(&day_text(d))),
                a.last_sold_day
                    .map_or(Cell::Null, |d| Cell::Int(ctx.last_day - d)),
                num(cover, 1),
                money(value),
            ],
        ));
    }
    found.sort_by(|a, b| b.0.total_cmp(&a.0));
    let notes = vec![
        format!(
            "{} SKUs would last more than {SLOW_COVER_DAYS} days at the window's pace (or \
             did not sell); {} at cost tied up.",
            found.len(),
            money_total(tied_up)
        ),
        ctx.window_note(),
    ];
    Ok((
        columns,
        found.into_iter().map(|(_, row)| row).collect(),
        notes,
    ))
}

/// One SKU's reorder suggestion from its chosen forecast.
pub(crate) struct Suggestion {
    pub method: Method,
    pub advice: vitrine_forecast::ReorderAdvice,
}

/// Forecasts one SKU's demand (method chosen by backtest) and applies its reorder settings.
pub(crate) fn suggest(
    history: &[f64],
    on_hand: i64,
    settings: &ReorderSettings,
) -> Result<Suggestion, ReportError> {
    let choice = select(history, &SelectOptions::default());
    let horizon = (settings.lead_time_days + settings.review_period_days).max(1) as usize;
    let fc = forecast(choice.method, history, horizon)?;
    let mut advice = reorder_advice(&fc.mean, &fc.sd, on_hand as f64, &policy(settings))?;
    if let Some(point) = settings.reorder_point {
        // The manager's reorder point wins; the forecast still sizes the order.
        advice.reorder_point = point as f64;
        if on_hand > point {
            advice.order_quantity = 0;
            advice.packs = 0;
        } else if advice.order_quantity == 0 {
            let pack = u64::from(settings.pack_size);
            advice.order_quantity = pack;
            advice.packs = 1;
        }
    }
    Ok(Suggestion {
        method: choice.method,
        advice,
    })
}

fn reorder(store: &Store, ctx: &Context) -> Result<Built, ReportError> {
    let activity = store.variant_activity(&ctx.filter, ctx.first_day, ctx.last_day)?;
    let columns = vec![
        col("sku", "SKU", ColumnKind::Text),
        col("product", "Product", ColumnKind::Text),
        col("on_hand", "On hand", ColumnKind::Integer),
        col("method", "Forecast method", ColumnKind::Text),
        col("lead_time_demand", "Lead-time demand", ColumnKind::Decimal),
        col("reorder_point", "Reorder point", ColumnKind::Integer),
        col("order_up_to", "Order up to", ColumnKind::Integer),
        col("order_quantity", "Order", ColumnKind::Integer),
        col("packs", "Packs", ColumnKind::Integer),
        col("pack_size", "Pack size", ColumnKind::Integer),
        col("order_cost", "Order cost", ColumnKind::Money),
    ];
    let first = ctx.last_day - FORECAST_HISTORY_DAYS + 1;
    // A cheap first look with the window's flat rate, a fifth more demand and half again the
    // spread: only SKUs that may be near their reorder point get a forecast.
    let mut near_skus = Vec::new();
    for a in &activity {
        let (mean, sd) = demand_stats(a, ctx.window_days);
        let loose = reorder_advice(
            &[mean * 1.2],
            &[sd * 1.5],
            a.on_hand as f64,
            &policy(&a.settings),
        )?;
        let near = match a.settings.reorder_point {
            Some(point) => a.on_hand <= point,
            None => a.on_hand as f64 <= loose.reorder_point && loose.reorder_point > 0.0,
        };
        if near {
            near_skus.push(a);
        }
    }
    let skus: Vec<&str> = near_skus.iter().map(|a| a.sku.as_str()).collect();
    let histories =
        store.demand_histories(&skus, ctx.filter.location.as_deref(), first, ctx.last_day)?;
    let candidates: Vec<(&VariantActivity, Vec<f64>)> =
        near_skus.into_iter().zip(histories).collect();
    let screened = candidates.len();
    // The forecasts need no store: spread them over the cores.
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    let chunk = candidates.len().div_ceil(threads).max(1);
    let suggestions: Vec<Result<Suggestion, ReportError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = candidates
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|(a, history)| suggest(history, a.on_hand, &a.settings))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a forecasting thread panicked"))
            .collect()
    });
    let mut rows = Vec::new();
    let mut total_cents = 0.0;
    for ((a, _), s) in candidates.iter().zip(suggestions) {
        let s = s?;
        if s.advice.order_quantity == 0 {
            continue;
        }
        let cost = s.advice.order_quantity as f64 * a.cost_cents as f64;
        total_cents += cost;
        rows.push(vec![
            text(&a.sku),
            text(&a.product_name),
            Cell::Int(a.on_hand),
            text(s.method.name()),
            num(s.advice.lead_time_demand, 1),
            Cell::Int(s.advice.reorder_point.ceil() as i64),
            Cell::Int(s.advice.order_up_to.ceil() as i64),
            Cell::Int(s.advice.order_quantity as i64),
            Cell::Int(s.advice.packs as i64),
            Cell::Int(i64::from(a.settings.pack_size)),
            money(cost),
        ]);
    }
    let notes = vec![
        format!(
            "{} SKUs to order, {} at cost; {screened} of {} SKUs were near their reorder \
             point and forecast.",
            rows.len(),
            money_total(total_cents),
            activity.len()
        ),
        format!(
            "Each forecast learns from the {FORECAST_HISTORY_DAYS} days to {}; its method is \
             the one with the lowest MASE in a rolling-origin backtest (seasonal naive, \
             simple smoothing, Holt-Winters, damped Holt-Winters, Croston, SBA). Orders bring \
             stock up to the demand of lead time plus review period plus safety stock, in \
             whole packs.",
            day_text(ctx.last_day)
        ),
    ];
    Ok((columns, rows, notes))
}

fn sync_status(store: &Store) -> Result<Built, ReportError> {
    let identity = store.identity();
    let status = store.sync_status()?;
    let when = |ms: Option<i64>| {
        ms.map_or(Cell::Null, |ms| {
            text(&vitrine_store::iso8601_utc(ms.div_euclid(1000)))
        })
    };
    let columns = vec![
        col("store", "Store", ColumnKind::Text),
        col("device", "Device", ColumnKind::Text),
        col(
            "pending_events",
            "Events waiting for HQ",
            ColumnKind::Integer,
        ),
        col("last_push", "Last push", ColumnKind::Text),
        col("last_pull", "Last pull", ColumnKind::Text),
        col("events_at_hq", "Events at HQ", ColumnKind::Integer),
        col("last_error", "Last error", ColumnKind::Text),
    ];
    let mut rows = vec![vec![
        text(&identity.store_id),
        text(&identity.device_id),
        Cell::Int(status.pending_events as i64),
        when(status.last_push_unix_ms),
        when(status.last_pull_unix_ms),
        Cell::Null,
        opt_text(&status.last_error),
    ]];
    // Other stores as HQ last described them: when each last pushed, what HQ holds of it.
    for other in &status.stores {
        rows.push(vec![
            text(&other.store_id),
            Cell::Null,
            Cell::Null,
            when(other.last_seen_unix_ms),
            Cell::Null,
            Cell::Int(other.events as i64),
            Cell::Null,
        ]);
    }
    let hq = status
        .hq_url
        .as_deref()
        .map_or("No HQ configured ([sync] hq_url).".to_owned(), |url| {
            format!("HQ: {url}.")
        });
    let pending = if status.pending_events == 0 {
        "Every event recorded here has reached HQ.".to_owned()
    } else {
        format!(
            "{} events recorded here wait for HQ.",
            status.pending_events
        )
    };
    Ok((columns, rows, vec![hq, pending]))
}

#[cfg(test)]
mod tests {
    use vitrine_store::{EventKind, EventOrigin, NewEvent};

    use super::*;
    use crate::to_csv;

    const TEE: &str = "VT-TEE-ORBIT-M-INK";
    const OATS: &str = "GR-OATS-1KG";
    /// 2025-03-10T12:00:00Z
    const T0: i64 = 1_741_608_000_000;

    fn event(kind: EventKind, sku: &str, location: &str, quantity: i64, day: i64) -> NewEvent {
        let origin = EventOrigin {
            store_id: "s".into(),
            device_id: "d".into(),
            actor: "a".into(),
        };
        let mut e = NewEvent::now(&origin, kind, sku, location, quantity);
        e.occurred_at_ms = T0 + day * 86_400_000;
        e
    }

    fn store() -> Store {
        let mut store = Store::open_in_memory().unwrap();
        store.seed_demo_if_empty().unwrap();
        store
    }

    fn query(kind: ReportKind) -> ReportQuery {
        ReportQuery {
            kind,
            ..ReportQuery::default()
        }
    }

    fn column(table: &ReportTable, key: &str) -> usize {
        table.columns.iter().position(|c| c.key == key).unwrap()
    }

    fn row<'t>(table: &'t ReportTable, sku: &str) -> Option<&'t Vec<Cell>> {
        let at = column(table, "sku");
        table.rows.iter().find(|r| r[at] == Cell::Text(sku.into()))
    }

    #[test]
    fn kinds_have_one_name_everywhere() {
        for kind in ReportKind::ALL {
            assert_eq!(kind.name().parse::<ReportKind>().unwrap(), kind);
            assert_eq!(
                serde_json::to_string(&kind).unwrap(),
                format!("\"{}\"", kind.name())
            );
            assert!(!kind.title().is_empty());
        }
        let err = "stocks".parse::<ReportKind>().unwrap_err();
        assert!(err.to_string().contains("low-stock"), "{err}");
        let q: ReportQuery = serde_json::from_str(r#"{"kind":"low-stock"}"#).unwrap();
        assert_eq!((q.kind, q.window_days), (ReportKind::LowStock, 28));
        assert_eq!(
            serde_json::to_string(&Cell::Int(3)).unwrap()
                + &serde_json::to_string(&Cell::Null).unwrap(),
            "3null"
        );
    }

    #[test]
    fn stock_adds_up_to_the_ledger_and_filters() {
        let mut store = store();
        store
            .record_event(&event(EventKind::Sold, TEE, "A1/B1/S1", 2, 0))
            .unwrap();
        let table = run_report(&store, &query(ReportKind::Stock)).unwrap();
        let on_hand = column(&table, "on_hand");
        let total: i64 = table
            .rows
            .iter()
            .map(|r| match r[on_hand] {
                Cell::Int(n) => n,
                _ => panic!(),
            })
            .sum();
        let book: i64 = store
            .stock_by_variant()
            .unwrap()
            .iter()
            .map(|v| v.on_hand)
            .sum();
        assert_eq!(total, book);
        let tee_shelf = table
            .rows
            .iter()
            .find(|r| {
                r[0] == Cell::Text(TEE.into())
                    && r[column(&table, "location")] == Cell::Text("A1/B1/S1".into())
            })
            .unwrap();
        assert_eq!(tee_shelf[on_hand], Cell::Int(4));
        assert_eq!(tee_shelf[column(&table, "value_at_cost")], Cell::Num(25.6));

        let oats = run_report(
            &store,
            &ReportQuery {
                search: Some("rolled oats".into()),
                location: Some("BACKROOM".into()),
                ..query(ReportKind::Stock)
            },
        )
        .unwrap();
        assert_eq!(oats.rows.len(), 1);
        assert_eq!(oats.rows[0][on_hand], Cell::Int(48));
        assert!(oats.notes[0].contains("location \"BACKROOM\""));
        let csv = to_csv(&oats);
        assert!(csv.starts_with(
            "SKU,Product,Category,Size,Colour,Location,On hand,Value at cost,Value at price\r\n"
        ));
        assert!(
            csv.contains(
                "GR-OATS-1KG,Hearth Rolled Oats 1 kg,grocery,,,BACKROOM,48,87.36,167.52\r\n"
            ),
            "{csv}"
        );

        let err = run_report(
            &store,
            &ReportQuery {
                location: Some("NOWHERE".into()),
                ..query(ReportKind::Stock)
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("NOWHERE"), "{err}");
        let err = run_report(
            &store,
            &ReportQuery {
                window_days: 0,
                ..query(ReportKind::SellThrough)
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("window_days"), "{err}");
    }

    #[test]
    fn low_stock_lists_skus_at_or_below_their_reorder_point() {
        let mut store = store();
        // Oats sell 6 a day for four weeks: 168 sold from 72.
        let mut sales = Vec::new();
        for day in 0..28 {
            sales.push(event(EventKind::Received, OATS, "BACKROOM", 6, day));
            sales.push(event(EventKind::Sold, OATS, "A5/B1/S3", 6, day));
        }
        sales.push(event(EventKind::Sold, OATS, "A5/B1/S3", 40, 27));
        store.record_events(&sales).unwrap();
        // 72 − 40 = 32 left at 6/day + 40 on the last day: well under 7 days of lead time.
        let table = run_report(&store, &query(ReportKind::LowStock)).unwrap();
        let oats = row(&table, OATS).expect("oats are low");
        assert_eq!(oats[column(&table, "on_hand")], Cell::Int(32));
        let Cell::Int(point) = oats[column(&table, "reorder_point")] else {
            panic!()
        };
        assert!(point > 32 && point < 150, "{point}");
        assert!(row(&table, TEE).is_none(), "nothing sold: no reorder point");

        // A manager's fixed reorder point wins.
        store
            .set_reorder_settings(
                TEE,
                &ReorderSettings {
                    reorder_point: Some(20),
                    pack_size: 5,
                    ..ReorderSettings::default()
                },
            )
            .unwrap();
        let table = run_report(&store, &query(ReportKind::LowStock)).unwrap();
        let tee = row(&table, TEE).expect("18 ≤ 20");
        assert_eq!(tee[column(&table, "reorder_point")], Cell::Int(20));
        assert_eq!(tee[column(&table, "suggested_order")], Cell::Int(5));

        let reorder = run_report(&store, &query(ReportKind::Reorder)).unwrap();
        let oats = row(&reorder, OATS).expect("oats to reorder");
        let Cell::Int(quantity) = oats[column(&reorder, "order_quantity")] else {
            panic!()
        };
        assert!(quantity > 0);
        assert!(row(&reorder, TEE).is_some());
    }

    #[test]
    fn sell_through_turnover_and_cover_from_the_window() {
        let mut store = store();
        store
            .record_events(&[
                event(EventKind::Received, OATS, "BACKROOM", 28, 1),
                event(EventKind::Sold, OATS, "A5/B1/S3", 30, 2),
                event(EventKind::Returned, OATS, "A5/B1/S3", 2, 3),
            ])
            .unwrap();
        let table = run_report(&store, &query(ReportKind::SellThrough)).unwrap();
        let oats = row(&table, OATS).unwrap();
        // Opening 72, received 28, net sold 28, closing 72.
        assert_eq!(oats[column(&table, "opening")], Cell::Int(72));
        assert_eq!(oats[column(&table, "received")], Cell::Int(28));
        assert_eq!(oats[column(&table, "sold")], Cell::Int(28));
        assert_eq!(oats[column(&table, "closing")], Cell::Int(72));
        assert_eq!(oats[column(&table, "sell_through")], Cell::Num(28.0));
        // 28 sold over 28 days from an average of 72: 365/72 a year; 72 days of cover.
        assert_eq!(oats[column(&table, "turnover")], Cell::Num(5.07));
        assert_eq!(oats[column(&table, "days_of_cover")], Cell::Num(72.0));

        let slow = run_report(&store, &query(ReportKind::SlowMovers)).unwrap();
        assert!(row(&slow, OATS).is_none(), "72 days of cover is not slow");
        let tee = row(&slow, TEE).expect("never sold");
        assert_eq!(tee[column(&slow, "last_sold")], Cell::Null);
    }

    #[test]
    fn discrepancies_value_the_gap_at_cost() {
        let mut store = store();
        store
            .record_events(&[
                event(EventKind::Sold, TEE, "A1/B1/S1", 1, 0),
                event(EventKind::Counted, TEE, "A1/B1/S1", 2, 1),
                event(EventKind::Counted, OATS, "A5/B1/S3", 24, 1),
                event(EventKind::Counted, OATS, "BACKROOM", 50, 1),
            ])
            .unwrap();
        let table = run_report(&store, &query(ReportKind::Discrepancies)).unwrap();
        assert_eq!(table.rows.len(), 2, "the matching count is left out");
        let tee = row(&table, TEE).unwrap();
        assert_eq!(tee[column(&table, "book")], Cell::Int(5));
        assert_eq!(tee[column(&table, "difference")], Cell::Int(-3));
        assert_eq!(tee[column(&table, "value_at_cost")], Cell::Num(-19.2));
        assert!(
            table.notes[0].contains("3 units missing, 19.20 at cost; overage 3.64"),
            "{:?}",
            table.notes
        );

        let aisles = crate::discrepancy_by_aisle(&store).unwrap();
        assert_eq!(
            aisles,
            [
                crate::AisleDiscrepancy {
                    aisle: "A1".into(),
                    units: -3,
                    value_at_cost: -19.2
                },
                // Counted and matching: shown, at zero.
                crate::AisleDiscrepancy {
                    aisle: "A5".into(),
                    units: 0,
                    value_at_cost: 0.0
                },
                crate::AisleDiscrepancy {
                    aisle: "BACKROOM".into(),
                    units: 2,
                    value_at_cost: 3.64
                },
            ]
        );
    }

    #[test]
    fn charts_follow_the_ledger() {
        let mut store = store();
        let mut events = Vec::new();
        for day in 0..56 {
            let units = [3, 3, 4, 4, 6, 9, 1][day as usize % 7];
            events.push(event(EventKind::Received, OATS, "A5/B1/S3", units, day));
            events.push(event(EventKind::Sold, OATS, "A5/B1/S3", units, day));
        }
        events.push(event(EventKind::Sold, OATS, "A5/B1/S3", 4, 55));
        store.record_events(&events).unwrap();
        let stock = crate::stock_history(&store, OATS, Some("A5/B1/S3"), 3).unwrap();
        let values: Vec<f64> = stock.points.iter().map(|p| p.value).collect();
        assert_eq!(values, [24.0, 24.0, 20.0]);
        assert_eq!(stock.points[2].day, "2025-05-04");

        let chart = crate::forecast_chart(&store, OATS, 14).unwrap();
        assert_eq!(chart.history.points.len(), FORECAST_HISTORY_DAYS as usize);
        assert_eq!(chart.forecast.len(), 14);
        assert_eq!(chart.forecast[0].day, "2025-05-05");
        assert!(chart.backtest_mase.is_some());
        for p in &chart.forecast {
            assert!(p.lo <= p.mean && p.mean <= p.hi);
        }
        assert!(crate::forecast_chart(&store, "NOPE", 14).is_err());
        assert!(crate::forecast_chart(&store, OATS, 0).is_err());
    }

    #[test]
    fn sync_status_counts_the_outbox() {
        let store = store();
        let table = run_report(&store, &query(ReportKind::SyncStatus)).unwrap();
        let pending = store.outbox_len().unwrap() as i64;
        assert_eq!(
            table.rows[0][column(&table, "pending_events")],
            Cell::Int(pending)
        );
    }
}

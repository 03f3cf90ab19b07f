//! `vitrine eval recommend`: basket completion on the online-retail invoices, the kiosk's
//! model beside popularity and item-to-item co-occurrence.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde::Serialize;
use vitrine_app::{App, SuggestRequest};
use vitrine_recommend::{evaluate, load_online_retail_baskets, test_from_day, test_questions, EvalOptions, InvoiceBaskets, ModelKind};
use vitrine_store::{Feed, ImportOptions, Location, LocationKind, Product, Store, Variant};

#[derive(clap::Args)]
pub struct EvalRecommendArgs {
    /// The invoices (CSV, optionally gzipped, with InvoiceNo, StockCode, Quantity, InvoiceDate,
    /// UnitPrice).
    #[arg(long, default_value = "../shared/data/online-retail/online_retail.csv.gz")]
    data: PathBuf,
    /// Days in the test month (the month before it tunes the kiosk's model).
    #[arg(long, default_value_t = 30)]
    test_days: i64,
    /// Neighbours the kiosk's model keeps per item (item-kNN, the peer, keeps all).
    #[arg(long, default_value_t = 200)]
    neighbours: usize,
    /// Skip the kiosk's whole request (a store holding the file's catalog and sales, asked
    /// through vitrine-app); only the models are scored.
    #[arg(long)]
    models_only: bool,
}

#[derive(Serialize)]
struct Figures {
    train_baskets: usize,
    train_items: usize,
    test_baskets: usize,
    hidden_unseen: usize,
    lambda: f64,
    hr_at_10: f64,
    ndcg_at_10: f64,
    popularity_hr_at_10: f64,
    item_knn_hr_at_10: f64,
    popularity_ndcg_at_10: f64,
    item_knn_ndcg_at_10: f64,
    vs_popularity: f64,
    vs_item_knn: f64,
    /// The kiosk's whole request (catalog, stock here, ranking) on a store holding the file's
    /// catalog and training sales; the model's scoring alone without it.
    p95_ms: f64,
    p50_ms: f64,
    kiosk_hr_at_10: Option<f64>,
    model_p50_ms: f64,
    model_p95_ms: f64,
    fit_s: f64,
    seconds: f64,
    meets_target: bool,
}

pub fn eval(args: EvalRecommendArgs) -> Result<()> {
    let started = Instant::now();
    let data = load_online_retail_baskets(&args.data)?;
    println!("{}: {} sales invoices", args.data.display(), data.baskets.len());
    let options = EvalOptions { test_days: args.test_days.max(1), neighbours: args.neighbours.max(1), ..EvalOptions::default() };
    let report = evaluate(&data, &options, |step| eprintln!("{step}"))?;
    if report.test_baskets == 0 {
        bail!("no test basket with two or more items in the last {} days", options.test_days);
    }
    println!(
        "fitted on {} invoices ({} items); tested on {} invoices of the last {} days, one item hidden in each ({} of them never sold before)",
        report.train_baskets, report.train_items, report.test_baskets, options.test_days, report.hidden_unseen
    );
    let tuning: Vec<String> = report.tuning.iter().map(|(l, hr)| format!("λ {l}: {hr:.3}")).collect();
    println!("EASE penalty tuned on the month before (HR@10): {} → λ = {}", tuning.join(", "), report.lambda);
    println!("\n{:<12} {:>8} {:>9} {:>8}", "model", "HR@10", "NDCG@10", "fit s");
    for m in &report.models {
        println!("{:<12} {:>8.4} {:>9.4} {:>8.2}", format!("{:?}", m.model), m.hr_at_10, m.ndcg_at_10, m.fit_s);
    }
    let kiosk = if args.models_only { None } else { Some(kiosk_requests(&data, &options)?) };
    let of = |kind| report.models.iter().find(|m| m.model == kind).expect("every model is scored");
    let (ease, popularity, knn) = (of(ModelKind::Ease), of(ModelKind::Popularity), of(ModelKind::ItemKnn));
    let (p50_ms, p95_ms) = kiosk.as_ref().map_or((report.p50_ms, report.p95_ms), |k| (k.p50_ms, k.p95_ms));
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::INFINITY };
    let figures = Figures {
        train_baskets: report.train_baskets,
        train_items: report.train_items,
        test_baskets: report.test_baskets,
        hidden_unseen: report.hidden_unseen,
        lambda: report.lambda,
        hr_at_10: ease.hr_at_10,
        ndcg_at_10: ease.ndcg_at_10,
        popularity_hr_at_10: popularity.hr_at_10,
        item_knn_hr_at_10: knn.hr_at_10,
        popularity_ndcg_at_10: popularity.ndcg_at_10,
        item_knn_ndcg_at_10: knn.ndcg_at_10,
        vs_popularity: ratio(ease.hr_at_10, popularity.hr_at_10),
        vs_item_knn: ratio(ease.hr_at_10, knn.hr_at_10),
        p50_ms,
        p95_ms,
        kiosk_hr_at_10: kiosk.as_ref().map(|k| k.hr_at_10),
        model_p50_ms: report.p50_ms,
        model_p95_ms: report.p95_ms,
        fit_s: ease.fit_s,
        seconds: started.elapsed().as_secs_f64(),
        meets_target: ratio(ease.hr_at_10, popularity.hr_at_10) >= 3.0 && ratio(ease.hr_at_10, knn.hr_at_10) >= 1.1 && p95_ms <= 10.0,
    };
    println!(
        "\nkiosk model vs popularity ×{:.2}, vs item-kNN ×{:.2}; {:.3} ms per request at p95 ({}; the model's scoring alone {:.3} ms)",
        figures.vs_popularity,
        figures.vs_item_knn,
        figures.p95_ms,
        if kiosk.is_some() { "the kiosk's whole request" } else { "the model alone" },
        figures.model_p95_ms
    );
    println!("{}", serde_json::to_string(&figures)?);
    Ok(())
}

struct KioskRequests {
    hr_at_10: f64,
    p50_ms: f64,
    p95_ms: f64,
}

/// The test month asked through the kiosk's own request path: a temporary store holding the
/// file's catalog (one variant per stock code, all on one shelf, stocked) and its sales before
/// the test month as receipts (dates moved so the last is yesterday), a kiosk on it, and each
/// test basket's visible items as the session.
fn kiosk_requests(data: &InvoiceBaskets, options: &EvalOptions) -> Result<KioskRequests> {
    let dir = tempfile::tempdir().context("creating a temporary store")?;
    let database = dir.path().join("retail.db");
    let test_from = test_from_day(data, options);
    let today = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64) / 86_400;
    let shift = today - test_from;
    {
        let mut store = Store::open(&database)?;
        let shelf = "A1/B1/S1";
        store.add_location(&Location { code: shelf.into(), kind: LocationKind::Shelf, name: "Gifts".into() })?;
        let mut codes: Vec<&String> = data.baskets.iter().flat_map(|(_, b)| b).collect();
        codes.sort();
        codes.dedup();
        eprintln!("kiosk path: a store with {} products and the sales before the test month", codes.len());
        let mut deliveries = String::from("delivery_id,line,timestamp,sku,quantity\n");
        for (line, code) in codes.iter().enumerate() {
            let variant = Variant { sku: (*code).clone(), size: None, colour: None, barcode: None, price_cents: 100, cost_cents: 50, home_location: Some(shelf.into()) };
            store.add_product(&Product { code: (*code).clone(), name: (*code).clone(), category: "gift".into(), variants: vec![variant] })?;
            deliveries.push_str(&format!("OPENING,{},{},{code},100000\n", line + 1, vitrine_store::iso8601_utc((test_from - 400 + shift) * 86_400)));
        }
        store.import_feed(Feed::Deliveries, deliveries.as_bytes(), &ImportOptions::default())?;
        let mut sales = String::from("sale_id,line,timestamp,sku,quantity\n");
        for (n, (day, basket)) in data.baskets.iter().enumerate().filter(|(_, (day, _))| *day < test_from) {
            let at = vitrine_store::iso8601_utc((day + shift) * 86_400 + 43_200);
            for (line, code) in basket.iter().enumerate() {
                sales.push_str(&format!("INV-{n},{},{at},{code},1\n", line + 1));
            }
        }
        let report = store.import_feed(Feed::Sales, sales.as_bytes(), &ImportOptions::default())?;
        eprintln!("kiosk path: {} sale lines imported", report.inserted);
    }
    let mut config = vitrine_config::Config::default();
    config.store.database = database;
    config.store.seed_demo = false;
    let app = App::start(config);
    if !app.wait_for_basket_model(std::time::Duration::from_secs(600))? {
        bail!("the kiosk's basket model was not fitted within 10 minutes");
    }
    let questions = test_questions(data, options);
    let mut times = Vec::with_capacity(questions.len());
    let mut hits = 0usize;
    for (hidden, rest) in &questions {
        let request = SuggestRequest { skus: rest.clone(), categories: Vec::new(), limit: 10 };
        let started = Instant::now();
        let got = app.suggestions(&request)?;
        times.push(started.elapsed().as_secs_f64() * 1e3);
        hits += usize::from(got.iter().any(|s| &s.product_code == hidden));
    }
    times.sort_by(f64::total_cmp);
    let at = |p: f64| times.get(((times.len().max(1) - 1) as f64 * p).round() as usize).copied().unwrap_or(0.0);
    Ok(KioskRequests { hr_at_10: hits as f64 / questions.len().max(1) as f64, p50_ms: at(0.5), p95_ms: at(0.95) })
}

#[derive(clap::Args)]
pub struct RecommendArgs {
    /// SKUs the shopper tried or asked about, oldest first (none: the store's best sellers).
    skus: Vec<String>,
    /// Only products of this category (repeatable), e.g. apparel.
    #[arg(long)]
    category: Vec<String>,
    #[arg(long, default_value_t = 5)]
    limit: usize,
    /// Seconds to wait for the basket model's fit before answering from popularity.
    #[arg(long, default_value_t = 120)]
    wait: u64,
}

#[derive(Serialize)]
struct Answer<'a> {
    skus: &'a [String],
    model: &'a str,
    suggestions: &'a [vitrine_app::Suggestion],
    ms: f64,
}

/// `vitrine recommend`: what the kiosk would suggest with these SKUs, headless.
pub fn recommend(config: vitrine_config::Config, args: RecommendArgs) -> Result<()> {
    let app = vitrine_app::App::start(config);
    {
        let store = app.store().map_err(|e| anyhow::anyhow!("the store is unavailable: {e}"))?;
        let store = store.lock().unwrap_or_else(|e| e.into_inner());
        let known: Vec<String> = store.products()?.into_iter().flat_map(|p| p.variants).map(|v| v.sku).collect();
        if let Some(unknown) = args.skus.iter().find(|s| !known.contains(s)) {
            bail!("unknown SKU {unknown:?}: `vitrine store` lists the catalog");
        }
    }
    let fitted = app.wait_for_basket_model(std::time::Duration::from_secs(args.wait))?;
    if !fitted {
        eprintln!("the basket model is still fitting after {} s: answering from popularity", args.wait);
    }
    let request = vitrine_app::SuggestRequest { skus: args.skus.clone(), categories: args.category, limit: args.limit.max(1) };
    let started = Instant::now();
    let suggestions = app.suggestions(&request)?;
    let ms = started.elapsed().as_secs_f64() * 1e3;
    if suggestions.is_empty() {
        println!("nothing in stock to suggest");
    }
    for s in &suggestions {
        let stock: Vec<String> = s.in_stock.iter().map(|x| match &x.size {
            Some(size) => format!("{size} {}", x.stock),
            None => x.stock.to_string(),
        }).collect();
        println!(
            "{:<14} {:<24} {:>8.2}  {:<22} shelf {:<10} in stock {:<20} {}",
            s.sku,
            s.product_name,
            s.price_cents as f64 / 100.0,
            s.reason,
            s.location.as_deref().unwrap_or("-"),
            stock.join(", "),
            s.try_on_sku.as_deref().map_or(String::new(), |t| format!("try on {t}")),
        );
    }
    let answer = Answer { skus: &args.skus, model: if fitted { "ease" } else { "popularity" }, suggestions: &suggestions, ms };
    println!("{}", serde_json::to_string(&answer)?);
    Ok(())
}

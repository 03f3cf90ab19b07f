//! Suggestions that sell what is in stock: "complete the look" at the mirror and "others also
//! bought" in the clerk's lookup. The basket model (vitrine-recommend) learns from the
//! store's own receipts; the session's signals (what was tried, in which size) steer it, and
//! only products with stock here in that size are offered. Nothing about the shopper is kept
//! beyond the session: its signals live in the try-on state and go when the mirror stops.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tracing::{info, warn};
use vitrine_recommend::{Baskets, FitOptions, Model, ModelKind};

use crate::{App, AppError};

/// Receipts older than this are not learned from.
const HISTORY: Duration = Duration::from_secs(365 * 86_400);
/// How long a fitted model serves before the next request refits it (in the background).
const REFIT_AFTER: Duration = Duration::from_secs(3_600);
/// EASE is fitted over at most this many of the best-selling products (its cost grows with
/// the cube): about ten seconds on two cores, off the request path.
const MAX_FITTED_PRODUCTS: usize = 3_000;

/// The basket model: popularity at first (instant), the fitted model once its background fit
/// is done, refitted hourly.
#[derive(Default)]
pub(crate) struct RecommendState {
    model: Option<Arc<Model>>,
    fitted_at: Option<Instant>,
    fitting: bool,
}

/// A product suggested, with what a shopper needs to pick it up or try it on.
#[derive(Debug, Clone, Serialize)]
pub struct Suggestion {
    pub product_code: String,
    pub product_name: String,
    pub category: String,
    /// The variant to show: in the session's size when it has one, the best-stocked otherwise.
    pub sku: String,
    pub size: Option<String>,
    pub colour: Option<String>,
    pub price_cents: i64,
    /// Sizes (or the one-size variant) with stock here, and how many.
    pub in_stock: Vec<SizeStock>,
    /// The variant's home shelf, e.g. "A1/B2/S1", and its name.
    pub location: Option<String>,
    pub location_name: Option<String>,
    /// A variant that can be tried on at the mirror, in the session's size where possible.
    pub try_on_sku: Option<String>,
    /// Why it is suggested, in words for the shopper.
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SizeStock {
    pub size: Option<String>,
    pub stock: i64,
}

/// What a request knows of the session.
#[derive(Debug, Clone, Default)]
pub struct SuggestRequest {
    /// SKUs the session tried or asked about, oldest first (the latest counts most).
    pub skus: Vec<String>,
    /// Only products of these categories (empty: any).
    pub categories: Vec<String>,
    pub limit: usize,
}

impl App {
    /// "Complete the look" for the mirror's session: apparel that goes with what was tried,
    /// with stock here in the size tried. Without a try yet: the store's best sellers.
    pub fn complete_the_look(&self, limit: usize) -> Result<Vec<Suggestion>, AppError> {
        let skus = self.tried_skus();
        self.suggestions(&SuggestRequest { skus, categories: vec!["apparel".into()], limit })
    }

    /// Products that go with the request's items, in stock here, best first.
    pub fn suggestions(&self, request: &SuggestRequest) -> Result<Vec<Suggestion>, AppError> {
        let model = self.basket_model()?;
        self.with_store(|store| {
            let products = store.products()?;
            let stock: HashMap<String, i64> = store.stock_by_variant()?.into_iter().map(|v| (v.sku, v.on_hand)).collect();
            let tryable: Vec<String> = store.garments()?.into_iter().map(|g| g.sku).collect();
            let locations: HashMap<String, String> = store.locations()?.into_iter().map(|l| (l.code, l.name)).collect();
            let product_of = |sku: &str| products.iter().find(|p| p.variants.iter().any(|v| v.sku == sku));
            let asked: Vec<&vitrine_store::Product> = request.skus.iter().filter_map(|s| product_of(s)).collect();
            // The size the shopper chose: the latest one asked about that has a size.
            let size = request.skus.iter().rev().find_map(|sku| asked.iter().flat_map(|p| &p.variants).find(|v| &v.sku == sku)?.size.clone());
            let colour_of_latest = request.skus.last().and_then(|sku| asked.iter().flat_map(|p| &p.variants).find(|v| &v.sku == sku)?.colour.clone());
            let n = asked.len();
            let session: Vec<(u32, f32)> = asked
                .iter()
                .enumerate()
                .filter_map(|(k, p)| Some((model.item(&p.code)?, if k + 1 == n { 2.0 } else { 1.0 })))
                .collect();

            let fits = |p: &vitrine_store::Product| -> Option<Suggestion> {
                if !request.categories.is_empty() && !request.categories.contains(&p.category) {
                    return None;
                }
                if asked.iter().any(|a| a.code == p.code) {
                    return None;
                }
                let stocked: Vec<&vitrine_store::Variant> = p.variants.iter().filter(|v| stock.get(&v.sku).copied().unwrap_or(0) > 0).collect();
                let sized = p.variants.iter().any(|v| v.size.is_some());
                // In the session's size when the product comes in sizes at all.
                let wearable: Vec<&vitrine_store::Variant> = match (&size, sized) {
                    (Some(size), true) => stocked.iter().copied().filter(|v| v.size.as_ref() == Some(size)).collect(),
                    _ => stocked.clone(),
                };
                let best = wearable.iter().copied().max_by_key(|v| (v.colour == colour_of_latest && v.colour.is_some(), stock[&v.sku]))?;
                let mut in_stock: Vec<SizeStock> = Vec::new();
                for v in &stocked {
                    match in_stock.iter_mut().find(|s| s.size == v.size) {
                        Some(s) => s.stock += stock[&v.sku],
                        None => in_stock.push(SizeStock { size: v.size.clone(), stock: stock[&v.sku] }),
                    }
                }
                let try_on_sku = wearable
                    .iter()
                    .find(|v| v.sku == best.sku && tryable.contains(&v.sku))
                    .or_else(|| wearable.iter().find(|v| tryable.contains(&v.sku)))
                    .map(|v| v.sku.clone());
                Some(Suggestion {
                    product_code: p.code.clone(),
                    product_name: p.name.clone(),
                    category: p.category.clone(),
                    sku: best.sku.clone(),
                    size: best.size.clone(),
                    colour: best.colour.clone(),
                    price_cents: best.price_cents,
                    in_stock,
                    location: best.home_location.clone(),
                    location_name: best.home_location.as_ref().and_then(|c| locations.get(c).cloned()),
                    try_on_sku,
                    reason: String::new(),
                })
            };
            let candidates: HashMap<u32, Suggestion> = products.iter().filter_map(|p| Some((model.item(&p.code)?, fits(p)?))).collect();
            let ranked = model.recommend(&session, request.limit, |i| candidates.contains_key(&i));
            let latest = asked.last().map(|p| p.name.clone());
            let mut out: Vec<Suggestion> = ranked
                .into_iter()
                .filter_map(|(item, score)| {
                    let mut s = candidates.get(&item)?.clone();
                    s.reason = match (&latest, score > 0.0) {
                        (Some(name), true) => format!("Often bought with {name}"),
                        _ => "Popular in this store".to_owned(),
                    };
                    Some(s)
                })
                .collect();
            // Products never sold yet are unknown to the model: offered last, still in stock.
            if out.len() < request.limit {
                let unsold = products.iter().filter(|p| model.item(&p.code).is_none()).filter_map(&fits);
                out.extend(unsold.map(|mut s| {
                    s.reason = "New in this store".to_owned();
                    s
                }).take(request.limit - out.len()));
            }
            Ok(out)
        })
    }

    /// The current basket model; fits popularity at once when there is none, and starts a
    /// background fit of the full model when there is none or it is an hour old.
    fn basket_model(&self) -> Result<Arc<Model>, AppError> {
        let mut state = self.recommend.lock().unwrap_or_else(|e| e.into_inner());
        let stale = state.fitted_at.is_none_or(|at| at.elapsed() > REFIT_AFTER);
        if state.model.is_some() && (!stale || state.fitting) {
            return Ok(state.model.clone().expect("checked above"));
        }
        let since_ms = now_ms() - HISTORY.as_millis() as i64;
        let baskets = Baskets::from_codes(self.with_store(|store| Ok(store.sale_baskets(since_ms)?))?);
        if state.model.is_none() {
            let popularity = Model::fit(ModelKind::Popularity, &baskets, &FitOptions::default()).map_err(|e| AppError::Invalid(e.to_string()))?;
            state.model = Some(Arc::new(popularity));
        }
        if !state.fitting {
            state.fitting = true;
            let shared = self.recommend.clone();
            std::thread::Builder::new()
                .name("basket-model".into())
                .spawn(move || {
                    let started = Instant::now();
                    let options = FitOptions { max_items: MAX_FITTED_PRODUCTS, ..FitOptions::default() };
                    let fitted = Model::fit(ModelKind::Ease, &baskets, &options);
                    let mut state = shared.lock().unwrap_or_else(|e| e.into_inner());
                    state.fitting = false;
                    match fitted {
                        Ok(model) => {
                            info!(receipts = baskets.len(), products = baskets.item_count(), seconds = started.elapsed().as_secs_f64(), "basket model fitted");
                            state.model = Some(Arc::new(model));
                            state.fitted_at = Some(Instant::now());
                        }
                        // Popularity keeps serving; the next request tries again.
                        Err(e) => warn!(error = %e, "basket model could not be fitted"),
                    }
                })
                .map_err(|e| AppError::Invalid(format!("cannot start the basket model's fit: {e}")))?;
        }
        Ok(state.model.clone().expect("set above"))
    }

    /// Waits (up to `limit`) until the full basket model serves; for the CLI and tests, which
    /// want the model a running kiosk would use.
    pub fn wait_for_basket_model(&self, limit: Duration) -> Result<bool, AppError> {
        let started = Instant::now();
        loop {
            if self.basket_model()?.kind == ModelKind::Ease {
                return Ok(true);
            }
            if started.elapsed() > limit {
                return Ok(false);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

pub(crate) type SharedRecommendState = Arc<Mutex<RecommendState>>;

#[cfg(test)]
mod tests {
    use std::path::Path;

    use vitrine_config::Config;
    use vitrine_store::{Feed, ImportOptions};

    use super::*;

    fn kiosk(dir: &Path) -> App {
        let mut config = Config::default();
        config.store.database = dir.join("kiosk.db");
        config.inference.models_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models");
        App::start(config)
    }

    /// Sets a variant's book stock to `units` with a delivery or a sale on its home shelf.
    fn set_stock(app: &App, sku: &str, units: i64) {
        app.with_store(|store| {
            let now = store.stock_level_total(sku)?;
            let (feed, header, quantity) = match units - now {
                0 => return Ok(()),
                d if d > 0 => (Feed::Deliveries, "delivery_id", d),
                d => (Feed::Sales, "sale_id", -d),
            };
            let csv = format!("{header},line,timestamp,sku,quantity\nTEST-{sku}-{units},1,2026-01-01T12:00:00Z,{sku},{quantity}\n");
            let report = store.import_feed(feed, csv.as_bytes(), &ImportOptions::default())?;
            assert_eq!(report.inserted, 1, "{report:?}");
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn the_look_is_completed_from_the_stores_receipts_in_the_size_tried_and_in_stock() {
        let dir = tempfile::tempdir().unwrap();
        let app = kiosk(dir.path());
        // No try yet: the best-selling apparel, nothing else.
        let cold = app.complete_the_look(3).unwrap();
        assert!(!cold.is_empty());
        assert!(cold.iter().all(|s| s.category == "apparel" && s.reason == "Popular in this store"), "{cold:?}");

        for sku in ["VT-HOOD-DRIFT-M-COL", "VT-HOOD-DRIFT-M-EMB"] {
            set_stock(&app, sku, 3);
        }
        app.set_garment(Some("VT-TEE-ORBIT-M-INK")).unwrap();
        assert!(app.wait_for_basket_model(Duration::from_secs(30)).unwrap(), "the basket model is fitted in the background");
        let look = app.complete_the_look(3).unwrap();
        let first = &look[0];
        assert_eq!(first.product_code, "VT-HOOD-DRIFT", "the demo's receipts pair tees with hoodies: {look:?}");
        assert_eq!(first.reason, "Often bought with Orbit Crew Tee");
        assert_eq!(first.size.as_deref(), Some("M"), "in the size tried");
        assert_eq!(first.location.as_deref(), Some("A1/B2/S1"));
        assert!(first.in_stock.iter().any(|s| s.size.as_deref() == Some("M") && s.stock == 6), "{:?}", first.in_stock);
        assert!(first.try_on_sku.as_deref().is_some_and(|s| s.starts_with("VT-HOOD-DRIFT-M-")), "{first:?}");
        assert!(look.iter().all(|s| s.product_code != "VT-TEE-ORBIT"), "never what is being tried");

        // Sold out in M: not offered in M, whatever the receipts say.
        for sku in ["VT-HOOD-DRIFT-M-COL", "VT-HOOD-DRIFT-M-EMB"] {
            set_stock(&app, sku, 0);
        }
        let look = app.complete_the_look(3).unwrap();
        assert!(look.iter().all(|s| s.product_code != "VT-HOOD-DRIFT"), "{look:?}");

        // The session ends with the mirror: nothing of it is left to steer the next shopper.
        app.stop_mirror();
        assert!(app.tried_skus().is_empty());
        assert!(app.complete_the_look(3).unwrap().iter().all(|s| s.reason == "Popular in this store"));
    }

    #[test]
    fn others_also_bought_works_for_groceries_and_unknown_skus_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let app = kiosk(dir.path());
        set_stock(&app, "GR-HONEY-350", 5);
        assert!(app.wait_for_basket_model(Duration::from_secs(30)).unwrap());
        let request = SuggestRequest { skus: vec!["NO-SUCH-SKU".into(), "GR-OATS-1KG".into()], categories: Vec::new(), limit: 2 };
        let also = app.suggestions(&request).unwrap();
        assert_eq!(also[0].product_code, "GR-HONEY-350", "{also:?}");
        assert_eq!(also[0].size, None);
        assert_eq!(also[0].in_stock.len(), 1);
        assert_eq!(also.len(), 2);
    }
}

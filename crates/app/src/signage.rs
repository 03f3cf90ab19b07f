//! Generated signage in the kiosk: which products deserve a poster (overstock, slow movers,
//! new arrivals, from the ledger), their facts and photos from the store, every fact on a
//! poster checked against the database before it is shown, the manager's decisions, and the
//! approved posters the start screen plays when nobody touches it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use vitrine_auth::{Permission, SessionSlot};
use vitrine_signage::{ranked_designs, Design, Fact, Format, PosterFacts, PromotionFacts, Reason, Renderer};
use vitrine_store::{PosterDecision, Promotion, ReportFilter};

use crate::{App, AppError};

/// Sales window behind the reasons.
const WINDOW_DAYS: u32 = 28;
/// Days of cover (stock over the window's daily sales) above which a product is overstocked:
/// six weeks and more of stock.
const OVERSTOCK_COVER_DAYS: f64 = 40.0;
/// A product first delivered this recently is new.
const NEW_DAYS: i64 = 21;

/// A rendered attract-loop poster: (sku, design, format).
type PosterKey = (String, String, String);

/// The renderer (fonts loaded once) and the posters already rendered for the attract loop.
#[derive(Default)]
pub(crate) struct SignageState {
    renderer: Option<Arc<Renderer>>,
    /// The facts each was rendered from, and the PNG.
    rendered: HashMap<PosterKey, (String, Arc<Vec<u8>>)>,
}

/// A poster rendered for a product, with what was checked on it.
#[derive(Debug, Clone)]
pub struct RenderedPoster {
    pub sku: String,
    pub design: Design,
    pub format: Format,
    pub bytes: Vec<u8>,
    pub facts_checked: usize,
    /// Facts on the poster the database contradicts (each in words).
    pub facts_wrong: Vec<String>,
    pub overflow: usize,
    pub min_contrast: f64,
    pub render_ms: f64,
    pub reason: Reason,
}

/// A suggested poster for the manager's screen.
#[derive(Debug, Clone, Serialize)]
pub struct PosterSuggestion {
    pub sku: String,
    pub product_name: String,
    pub design: Design,
    pub why: String,
    pub score: f64,
    pub min_contrast: f64,
    pub facts_wrong: Vec<String>,
    /// `approved` / `rejected`, or none yet.
    pub status: Option<String>,
    pub from_ms: Option<i64>,
    pub until_ms: Option<i64>,
    pub preview_png_base64: String,
}

/// A poster for the attract loop.
#[derive(Debug, Clone, Serialize)]
pub struct AttractPoster {
    pub sku: String,
    pub design: Design,
    pub png_base64: String,
}

impl App {
    fn signage_renderer(&self) -> Result<Arc<Renderer>, AppError> {
        let mut state = self.signage.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(r) = &state.renderer {
            return Ok(r.clone());
        }
        let dir = &self.config.signage.font_dir;
        let renderer = Arc::new(Renderer::new((!dir.as_os_str().is_empty()).then_some(dir.as_path())).map_err(|e| AppError::Invalid(e.to_string()))?);
        state.renderer = Some(renderer.clone());
        Ok(renderer)
    }

    /// Products worth a poster, best first: promotions running today, new arrivals, those
    /// that sold nothing in the
    /// window, the most overstocked; when those are fewer than `limit`, the best sellers
    /// fill up. One SKU per product (the best stocked).
    pub fn poster_candidates(&self, limit: usize) -> Result<Vec<(String, Reason)>, AppError> {
        self.with_store(|store| {
            let last_day = store.last_movement_day()?.unwrap_or(0);
            let activity = store.variant_activity(&ReportFilter::default(), last_day - i64::from(WINDOW_DAYS) + 1, last_day)?;
            let first_received = store.first_received_days()?;
            let promotions = store.promotions_on(today())?;
            let products = store.products()?;
            let mut out: Vec<(f64, String, Reason)> = Vec::new();
            for product in &products {
                let rows: Vec<_> = activity.iter().filter(|a| product.variants.iter().any(|v| v.sku == a.sku)).collect();
                let on_hand: i64 = rows.iter().map(|a| a.on_hand.max(0)).sum();
                let Some(best) = rows.iter().max_by_key(|a| a.on_hand) else { continue };
                if on_hand <= 0 {
                    continue;
                }
                let sold: i64 = rows.iter().map(|a| a.sold - a.returned).sum();
                let first = product.variants.iter().filter_map(|v| first_received.get(&v.sku)).min();
                let cover = if sold > 0 { on_hand as f64 / (sold as f64 / f64::from(WINDOW_DAYS)) } else { f64::INFINITY };
                let promotion = promotions.iter().find(|p| p.product_code == product.code);
                let (rank, reason) = if let Some(p) = promotion {
                    (4.0, Reason::Promotion { percent_off: p.percent_off, ends_day: p.ends_day })
                } else if let Some(days_ago) = first.map(|d| last_day - d).filter(|d| *d <= NEW_DAYS) {
                    (3.0, Reason::NewArrival { days_ago })
                } else if sold <= 0 {
                    (2.0, Reason::SlowMover { units_sold: 0, window_days: WINDOW_DAYS })
                } else if cover >= OVERSTOCK_COVER_DAYS {
                    (1.0 + cover / 10_000.0, Reason::Overstock { days_of_cover: cover })
                } else {
                    (sold as f64 / 1e9, Reason::BestSeller { units_sold: sold, window_days: WINDOW_DAYS })
                };
                out.push((rank, best.sku.clone(), reason));
            }
            // Best sellers rank below every other reason (their rank is under 1), so they only
            // fill what the others leave of `limit`.
            out.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            Ok(out.into_iter().take(limit).map(|(_, sku, reason)| (sku, reason)).collect())
        })
    }

    /// The facts a poster of `sku` prints, and the product's cut-out photo when it has one.
    pub fn poster_facts(&self, sku: &str, reason: Reason) -> Result<(PosterFacts, Option<Vec<u8>>), AppError> {
        let assets = self.garment_assets();
        let product_url = self.config.signage.product_url.clone();
        self.with_store(|store| {
            let products = store.products()?;
            let product = products.iter().find(|p| p.variants.iter().any(|v| v.sku == sku)).ok_or_else(|| AppError::Invalid(format!("unknown SKU {sku:?}: `vitrine store` lists the catalog")))?;
            let variant = product.variants.iter().find(|v| v.sku == sku).expect("found above");
            let stock: HashMap<String, i64> = store.stock_by_variant()?.into_iter().map(|v| (v.sku, v.on_hand)).collect();
            let mut sizes: Vec<String> = product.variants.iter().filter(|v| stock.get(&v.sku).copied().unwrap_or(0) > 0).filter_map(|v| v.size.clone()).collect();
            sizes.sort_by_key(|s| size_rank(s));
            sizes.dedup();
            // The photo: this variant's garment, else one of the same colour, else any.
            let garments: Vec<_> = store.garments()?.into_iter().filter(|g| g.product_code == product.code).collect();
            let garment = garments.iter().find(|g| g.sku == sku).or_else(|| garments.iter().find(|g| g.colour == variant.colour)).or(garments.first());
            let photo = match garment {
                Some(g) => Some(store.garment_image(&assets, g)?),
                None => None,
            };
            let qr_payload = if product_url.is_empty() { product.code.clone() } else { product_url.replace("{code}", &product.code) };
            let promotion = store
                .promotions_on(today())?
                .into_iter()
                .find(|p| p.product_code == product.code)
                .map(|p| PromotionFacts { percent_off: p.percent_off, price_cents: p.price(variant.price_cents), ends_day: p.ends_day });
            Ok((
                PosterFacts {
                    sku: sku.to_owned(),
                    product_code: product.code.clone(),
                    product_name: product.name.clone(),
                    price_cents: variant.price_cents,
                    sizes_in_stock: sizes,
                    location: variant.home_location.clone(),
                    reason,
                    qr_payload,
                    promotion,
                },
                photo,
            ))
        })
    }

    /// Each fact on a poster that the database contradicts now, in words.
    pub fn check_poster_facts(&self, facts: &[Fact]) -> Result<Vec<String>, AppError> {
        self.with_store(|store| {
            let products = store.products()?;
            let stock: HashMap<String, i64> = store.stock_by_variant()?.into_iter().map(|v| (v.sku, v.on_hand)).collect();
            let promotions: Vec<Promotion> = store.promotions_on(today())?;
            let variant = |sku: &str| products.iter().flat_map(|p| p.variants.iter().map(move |v| (p, v))).find(|(_, v)| v.sku == sku);
            let mut wrong = Vec::new();
            for fact in facts {
                match fact {
                    Fact::Price { sku, cents } => match variant(sku) {
                        Some((_, v)) if v.price_cents == *cents => {}
                        Some((_, v)) => wrong.push(format!("{sku} costs {}, the poster says {}", vitrine_signage::money(v.price_cents), vitrine_signage::money(*cents))),
                        None => wrong.push(format!("{sku} is no longer in the catalog")),
                    },
                    Fact::Promotion { sku, cents, percent_off, ends_day } => {
                        let running = variant(sku).and_then(|(p, v)| promotions.iter().find(|m| m.product_code == p.code).map(|m| (m, v)));
                        match running {
                            Some((m, v)) if m.percent_off == *percent_off && m.ends_day == *ends_day && m.price(v.price_cents) == *cents => {}
                            Some((m, v)) => wrong.push(format!(
                                "{sku}'s promotion is {} % off ({}) until {}, the poster says {percent_off} % ({}) until {}",
                                m.percent_off,
                                vitrine_signage::money(m.price(v.price_cents)),
                                vitrine_signage::day_text(m.ends_day),
                                vitrine_signage::money(*cents),
                                vitrine_signage::day_text(*ends_day)
                            )),
                            None => wrong.push(format!("{sku} has no promotion running today")),
                        }
                    }
                    Fact::SizeInStock { sku, size } => {
                        let in_stock = variant(sku).is_some_and(|(p, _)| p.variants.iter().any(|v| v.size.as_deref() == Some(size.as_str()) && stock.get(&v.sku).copied().unwrap_or(0) > 0));
                        if !in_stock {
                            wrong.push(format!("size {size} of {sku}'s product is out of stock"));
                        }
                    }
                    Fact::Location { sku, code } => {
                        if variant(sku).and_then(|(_, v)| v.home_location.clone()).as_deref() != Some(code.as_str()) {
                            wrong.push(format!("{sku} is no longer on {code}"));
                        }
                    }
                }
            }
            Ok(wrong)
        })
    }

    /// Renders `sku` in `design` (the best-ranked when `None`) for `format`: PNG for the
    /// screens, PDF for print. `reason` defaults to what the data says (or "featured").
    pub fn render_poster(&self, sku: &str, design: Option<Design>, format: Format, reason: Option<Reason>) -> Result<RenderedPoster, AppError> {
        let started = Instant::now();
        let reason = match reason {
            Some(r) => r,
            // The data's reason for this SKU's product (candidates name one SKU per product).
            None => {
                // SKU → product code, read once for this SKU and every candidate.
                let product_codes: HashMap<String, String> = self.with_store(|store| {
                    Ok(store.products()?.into_iter().flat_map(|p| p.variants.into_iter().map(move |v| (v.sku, p.code.clone()))).collect())
                })?;
                let product = product_codes.get(sku);
                self.poster_candidates(usize::MAX)?
                    .into_iter()
                    .find(|(candidate, _)| product.is_some() && product_codes.get(candidate) == product)
                    .map_or(Reason::Featured, |(_, reason)| reason)
            }
        };
        let (facts, photo) = self.poster_facts(sku, reason.clone())?;
        let renderer = self.signage_renderer()?;
        let copy = reason.template_copy(&facts.product_name);
        let signage = |e: vitrine_signage::SignageError| AppError::Invalid(e.to_string());
        let print = format.page_mm().is_some();
        // Without a design asked for, the best-ranked (print ranked as the upright screen).
        let best = match design {
            Some(_) => None,
            None => Some(ranked_designs(&renderer, &facts, &copy, photo.as_deref(), if print { Format::Portrait } else { format }, 1.0).map_err(signage)?.remove(0)),
        };
        let (poster, rendered) = match best {
            // The ranking already rendered this very poster.
            Some((poster, rendered, _)) if !print => (poster, rendered),
            best => {
                let design = design.or(best.map(|(p, _, _)| p.design)).expect("a design asked for or ranked");
                let photo = photo.as_deref().map(vitrine_signage::Photo::decode).transpose().map_err(signage)?;
                let poster = vitrine_signage::compose(&renderer.fonts, &facts, &copy, photo.as_ref(), design, format).map_err(signage)?;
                // Contrast is measured on the layout that is delivered, print included.
                let rendered = renderer.render_png(&poster, 1.0).map_err(signage)?;
                (poster, rendered)
            }
        };
        let bytes = if print { renderer.render_pdf(&poster).map_err(signage)? } else { rendered.png };
        let facts_wrong = self.check_poster_facts(&poster.facts)?;
        Ok(RenderedPoster {
            sku: sku.to_owned(),
            design: poster.design,
            format,
            bytes,
            facts_checked: poster.facts.len(),
            facts_wrong,
            overflow: poster.overflow(),
            min_contrast: rendered.min_contrast,
            render_ms: started.elapsed().as_secs_f64() * 1e3,
            reason,
        })
    }

    /// The manager's Signage screen: each candidate product in every design (previews at a
    /// third of portrait size), with why, its rank and any decision taken.
    pub fn signage_suggestions(&self, slot: &SessionSlot, limit: usize) -> Result<Vec<PosterSuggestion>, AppError> {
        slot.authorize(Permission::Signage, vitrine_auth::now_ms())?;
        let decisions = self.with_store(|store| Ok(store.poster_decisions()?))?;
        let renderer = self.signage_renderer()?;
        let mut out = Vec::new();
        for (sku, reason) in self.poster_candidates(limit)? {
            let (facts, photo) = self.poster_facts(&sku, reason.clone())?;
            let copy = reason.template_copy(&facts.product_name);
            let ranked = ranked_designs(&renderer, &facts, &copy, photo.as_deref(), Format::Portrait, 1.0 / 3.0).map_err(|e| AppError::Invalid(e.to_string()))?;
            for (poster, rendered, score) in ranked {
                let decision = decisions.iter().find(|d| d.sku == sku && d.design == poster.design.name());
                out.push(PosterSuggestion {
                    sku: sku.clone(),
                    product_name: facts.product_name.clone(),
                    design: poster.design,
                    why: reason.why(),
                    score,
                    min_contrast: rendered.min_contrast,
                    facts_wrong: self.check_poster_facts(&poster.facts)?,
                    status: decision.map(|d| d.status.clone()),
                    from_ms: decision.and_then(|d| d.from_ms),
                    until_ms: decision.and_then(|d| d.until_ms),
                    preview_png_base64: crate::to_base64(&rendered.png),
                });
            }
        }
        Ok(out)
    }

    /// Approves `sku` in `design` to play for `days` starting in `start_in_days` (0: now),
    /// or rejects it; managers only.
    pub fn decide_poster(&self, slot: &SessionSlot, sku: &str, design: &str, approve: bool, start_in_days: u32, days: u32) -> Result<(), AppError> {
        let session = slot.authorize(Permission::Signage, vitrine_auth::now_ms())?;
        Design::parse(design).ok_or_else(|| AppError::Invalid(format!("unknown design {design:?}")))?;
        let now = vitrine_auth::now_ms();
        let from = now + i64::from(start_in_days.min(365)) * 86_400_000;
        let schedule = approve.then(|| (from, from + i64::from(days.clamp(1, 365)) * 86_400_000));
        self.with_store(|store| Ok(store.decide_poster(sku, design, schedule, &session.staff, now)?))
    }

    /// The approved posters whose time has not run out, rendered for `format`, each with its
    /// facts checked again now: a poster the database contradicts (a new price, a size sold
    /// out) is left out until it is rendered anew from the new facts, which happens here.
    pub fn attract_posters(&self, format: Format) -> Result<Vec<AttractPoster>, AppError> {
        let now = vitrine_auth::now_ms();
        let approved: Vec<PosterDecision> = self.with_store(|store| Ok(store.poster_decisions()?))?.into_iter().filter(|d| d.status == "approved" && d.from_ms.is_some_and(|f| f <= now) && d.until_ms.is_some_and(|u| u > now)).collect();
        let mut out = Vec::new();
        for d in approved {
            let Some(design) = Design::parse(&d.design) else { continue };
            let (facts, _) = self.poster_facts(&d.sku, Reason::Featured)?;
            let key = (d.sku.clone(), d.design.clone(), format!("{format:?}"));
            let facts_key = format!("{}|{:?}|{:?}|{:?}", facts.price_cents, facts.sizes_in_stock, facts.location, facts.promotion);
            let cached = self.signage.lock().unwrap_or_else(|e| e.into_inner()).rendered.get(&key).filter(|(k, _)| *k == facts_key).map(|(_, png)| png.clone());
            let png = match cached {
                Some(png) => png,
                None => {
                    let rendered = self.render_poster(&d.sku, Some(design), format, None)?;
                    if !rendered.facts_wrong.is_empty() || rendered.overflow > 0 {
                        tracing::warn!(sku = %d.sku, wrong = ?rendered.facts_wrong, overflow = rendered.overflow, "poster left out of the attract loop");
                        continue;
                    }
                    let png = Arc::new(rendered.bytes);
                    self.signage.lock().unwrap_or_else(|e| e.into_inner()).rendered.insert(key, (facts_key, png.clone()));
                    png
                }
            };
            out.push(AttractPoster { sku: d.sku, design, png_base64: crate::to_base64(&png) });
        }
        Ok(out)
    }
}

/// Today as a UTC day number.
fn today() -> i64 {
    vitrine_auth::now_ms().div_euclid(86_400_000)
}

/// Letter sizes in wearing order; others after them.
fn size_rank(size: &str) -> usize {
    ["XXS", "XS", "S", "M", "L", "XL", "XXL", "3XL"].iter().position(|s| s.eq_ignore_ascii_case(size)).unwrap_or(100)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use vitrine_auth::AuthError;
    use vitrine_config::Config;
    use vitrine_store::{Feed, ImportOptions};

    use super::*;

    fn kiosk(dir: &Path) -> App {
        let mut config = Config::default();
        config.store.database = dir.join("kiosk.db");
        config.inference.models_dir = dir.join("no-models");
        App::start(config)
    }

    #[test]
    fn the_demo_store_gets_posters_whose_facts_hold_and_read_well() {
        let dir = tempfile::tempdir().unwrap();
        let app = kiosk(dir.path());
        let candidates = app.poster_candidates(6).unwrap();
        assert_eq!(candidates.len(), 6, "every demo product, the best sellers filling up: {candidates:?}");
        let (sku, reason) = &candidates[0];
        let poster = app.render_poster(sku, None, Format::Portrait, Some(reason.clone())).unwrap();
        assert!(poster.bytes.starts_with(b"\x89PNG"));
        assert!(poster.facts_wrong.is_empty(), "{:?}", poster.facts_wrong);
        assert_eq!(poster.overflow, 0);
        assert!(poster.min_contrast >= 4.5, "{}", poster.min_contrast);
        assert!(poster.facts_checked >= 2, "price and shelf at least");
        let pdf = app.render_poster(sku, Some(poster.design), Format::A3, None).unwrap();
        assert!(pdf.bytes.starts_with(b"%PDF-"));
        let err = app.render_poster("NO-SUCH-SKU", None, Format::Portrait, None).unwrap_err();
        assert!(err.to_string().contains("unknown SKU"), "{err}");
    }

    #[test]
    fn a_size_sold_out_after_the_poster_was_made_is_a_wrong_fact() {
        let dir = tempfile::tempdir().unwrap();
        let app = kiosk(dir.path());
        let (facts, photo) = app.poster_facts("VT-HOOD-DRIFT-M-COL", Reason::Featured).unwrap();
        assert!(photo.is_some(), "the demo hoodie has a garment photo");
        assert!(facts.sizes_in_stock.contains(&"S".to_owned()), "{facts:?}");
        let shown: Vec<Fact> = facts.sizes_in_stock.iter().map(|s| Fact::SizeInStock { sku: facts.sku.clone(), size: s.clone() }).chain([Fact::Price { sku: facts.sku.clone(), cents: facts.price_cents + 100 }]).collect();
        let wrong = app.check_poster_facts(&shown).unwrap();
        assert_eq!(wrong.len(), 1, "{wrong:?}");
        assert!(wrong[0].contains("costs 54.00"), "{wrong:?}");
        // Sell every small hoodie.
        app.with_store(|store| {
            let mut csv = String::from("sale_id,line,timestamp,sku,quantity\n");
            for sku in ["VT-HOOD-DRIFT-S-COL", "VT-HOOD-DRIFT-S-EMB"] {
                let n = store.stock_level_total(sku)?;
                if n > 0 {
                    csv.push_str(&format!("T-{sku},1,2026-01-01T12:00:00Z,{sku},{n}\n"));
                }
            }
            store.import_feed(Feed::Sales, csv.as_bytes(), &ImportOptions::default())?;
            Ok(())
        })
        .unwrap();
        let wrong = app.check_poster_facts(&shown).unwrap();
        assert!(wrong.iter().any(|w| w.contains("size S")), "{wrong:?}");
    }

    #[test]
    fn a_promotion_comes_first_and_its_poster_is_checked_against_it() {
        let dir = tempfile::tempdir().unwrap();
        let app = kiosk(dir.path());
        let promo = Promotion { product_code: "VT-HOOD-DRIFT".into(), percent_off: 20, starts_day: today() - 1, ends_day: today() + 6 };
        app.with_store(|store| Ok(store.add_promotion(&promo, 0)?)).unwrap();
        // The demo's own espresso promotion and this one come before any other reason.
        let candidates = app.poster_candidates(3).unwrap();
        assert!(candidates[..2].iter().all(|(_, r)| matches!(r, Reason::Promotion { .. })), "{candidates:?}");
        let (sku, reason) = candidates.into_iter().find(|(s, _)| s.starts_with("VT-HOOD-DRIFT")).expect("the hoodie");
        assert_eq!(reason, Reason::Promotion { percent_off: 20, ends_day: today() + 6 });
        let poster = app.render_poster(&sku, Some(Design::Stripes), Format::Portrait, None).unwrap();
        assert!(poster.facts_wrong.is_empty(), "{:?}", poster.facts_wrong);
        let (facts, _) = app.poster_facts(&sku, reason).unwrap();
        assert_eq!(facts.promotion.as_ref().unwrap().price_cents, 4320);
        // A poster that claims a deeper cut, or a promotion that is not running, is wrong.
        let claims = [
            Fact::Promotion { sku: sku.clone(), cents: 3780, percent_off: 30, ends_day: today() + 6 },
            Fact::Promotion { sku: "GR-OATS-1KG".into(), cents: 300, percent_off: 14, ends_day: today() + 6 },
        ];
        let wrong = app.check_poster_facts(&claims).unwrap();
        assert_eq!(wrong.len(), 2, "{wrong:?}");
        assert!(wrong[0].contains("20 % off (43.20)"), "{wrong:?}");
        assert!(wrong[1].contains("no promotion running"), "{wrong:?}");
    }

    #[test]
    fn only_managers_decide_and_the_attract_loop_plays_what_they_approved() {
        let dir = tempfile::tempdir().unwrap();
        let app = kiosk(dir.path());
        let slot = app.session_slot();
        assert!(matches!(app.signage_suggestions(&slot, 1), Err(AppError::Auth(AuthError::NotSignedIn { .. }))));
        app.sign_in(&slot, "Demo Clerk", "1357").unwrap();
        assert!(matches!(app.decide_poster(&slot, "GR-OATS-1KG", "stripes", true, 0, 7), Err(AppError::Auth(AuthError::Forbidden { .. }))));
        assert!(app.attract_posters(Format::Portrait).unwrap().is_empty(), "nothing approved yet");

        app.sign_in(&slot, "Demo Manager", "2468").unwrap();
        let suggested = app.signage_suggestions(&slot, 2).unwrap();
        assert_eq!(suggested.len(), 2 * Design::ALL.len());
        assert!(suggested.iter().all(|s| s.facts_wrong.is_empty() && s.status.is_none() && !s.preview_png_base64.is_empty()));
        let pick = &suggested[0];
        app.decide_poster(&slot, &pick.sku, pick.design.name(), true, 0, 7).unwrap();
        app.decide_poster(&slot, &pick.sku, "confetti", false, 0, 7).unwrap();
        let later = &suggested[Design::ALL.len()];
        app.decide_poster(&slot, &later.sku, later.design.name(), true, 1, 7).unwrap();
        assert!(app.decide_poster(&slot, &pick.sku, "comic-sans", true, 0, 7).is_err());
        let playing = app.attract_posters(Format::Landscape).unwrap();
        assert_eq!(playing.len(), 1, "only the one approved from today (the other starts tomorrow)");
        assert_eq!((playing[0].sku.as_str(), playing[0].design), (pick.sku.as_str(), pick.design));
        let again = app.signage_suggestions(&slot, 2).unwrap();
        assert_eq!(again.iter().find(|s| s.sku == pick.sku && s.design == pick.design).unwrap().status.as_deref(), Some("approved"));
    }
}

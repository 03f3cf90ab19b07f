//! `vitrine signage`: posters from the store's data, headless; `vitrine eval signage`.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use opencv::core::{Mat, Vector};
use opencv::prelude::*;
use serde::Serialize;
use vitrine_app::{App, Design, PosterFormat};
use vitrine_config::Config;

#[derive(Subcommand)]
pub enum Signage {
    /// Render a poster of a SKU (PNG for portrait/landscape screens, PDF for A4/A3); ends with
    /// one line of JSON: render time, facts checked against the database, facts wrong.
    Render {
        #[arg(long)]
        sku: String,
        /// The file to write (.png, or .pdf for a4/a3).
        #[arg(long)]
        out: PathBuf,
        /// portrait (1080×1920), landscape (1920×1080), a4 or a3.
        #[arg(long, default_value = "portrait")]
        format: String,
        /// spotlight, stripes or confetti; default: the best-ranked for this product.
        #[arg(long)]
        design: Option<String>,
    },
    /// The products the data says deserve a poster, and why.
    Suggest {
        #[arg(long, default_value_t = 10)]
        limit: usize,
    },
}

#[derive(Serialize)]
struct RenderFigures<'a> {
    sku: &'a str,
    design: Design,
    format: PosterFormat,
    reason: String,
    render_ms: f64,
    facts_checked: usize,
    facts_wrong: usize,
    wrong: &'a [String],
    overflow: usize,
    min_contrast: f64,
    bytes: usize,
    out: String,
}

fn parse_format(text: &str) -> Result<PosterFormat> {
    PosterFormat::parse(text).with_context(|| format!("unknown format {text:?}: portrait, landscape, a4 or a3"))
}

pub fn run(config: Config, which: Signage) -> Result<()> {
    let app = App::start(config);
    match which {
        Signage::Render { sku, out, format, design } => {
            let format = parse_format(&format)?;
            let design = design.map(|d| Design::parse(&d).with_context(|| format!("unknown design {d:?}: spotlight, stripes or confetti"))).transpose()?;
            let poster = app.render_poster(&sku, design, format, None)?;
            if !poster.facts_wrong.is_empty() {
                bail!("the poster contradicts the database, not written: {}", poster.facts_wrong.join("; "));
            }
            if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            }
            std::fs::write(&out, &poster.bytes).with_context(|| format!("writing {}", out.display()))?;
            println!("{} in {} ({}): {} ({} bytes)", sku, poster.design.name(), poster.reason.why(), out.display(), poster.bytes.len());
            let figures = RenderFigures {
                sku: &sku,
                design: poster.design,
                format,
                reason: poster.reason.why(),
                render_ms: poster.render_ms,
                facts_checked: poster.facts_checked,
                facts_wrong: poster.facts_wrong.len(),
                wrong: &poster.facts_wrong,
                overflow: poster.overflow,
                min_contrast: poster.min_contrast,
                bytes: poster.bytes.len(),
                out: out.display().to_string(),
            };
            println!("{}", serde_json::to_string(&figures)?);
        }
        Signage::Suggest { limit } => {
            let candidates = app.poster_candidates(limit)?;
            if candidates.is_empty() {
                println!("nothing stands out: no new arrival, overstock or slow mover in stock");
            }
            for (sku, reason) in &candidates {
                println!("{sku:<22} {}", reason.why());
            }
        }
    }
    Ok(())
}

#[derive(clap::Args)]
pub struct EvalSignageArgs {
    /// Write a contact sheet of every product's posters (portrait designs, then landscape).
    #[arg(long)]
    sheet: Option<PathBuf>,
}

#[derive(Serialize)]
struct EvalFigures {
    products: usize,
    posters: usize,
    designs_per_product: usize,
    facts_checked: usize,
    facts_wrong: usize,
    overflow: usize,
    min_contrast: f64,
    render_ms_p50: f64,
    render_ms_p95: f64,
    pdf_pages: usize,
    meets_target: bool,
}

/// Every product of the store in every design and format: facts, overflow, contrast, time.
pub fn eval(config: Config, args: EvalSignageArgs) -> Result<()> {
    let app = App::start(config);
    let store = app.store().map_err(|e| anyhow::anyhow!("the store is unavailable: {e}"))?;
    let skus: Vec<String> = {
        let store = store.lock().unwrap_or_else(|e| e.into_inner());
        let stock: std::collections::HashMap<String, i64> = store.stock_by_variant()?.into_iter().map(|v| (v.sku, v.on_hand)).collect();
        store.products()?.into_iter().filter_map(|p| p.variants.into_iter().max_by_key(|v| stock.get(&v.sku).copied().unwrap_or(0)).map(|v| v.sku)).collect()
    };
    if skus.is_empty() {
        bail!("the store has no products");
    }
    let (mut posters, mut checked, mut wrong, mut overflow, mut pdfs) = (0, 0, 0, 0, 0);
    let mut contrast = f64::INFINITY;
    let mut times = Vec::new();
    let mut rows: Vec<Vec<Mat>> = Vec::new();
    for sku in &skus {
        let mut row = Vec::new();
        for format in [PosterFormat::Portrait, PosterFormat::Landscape, PosterFormat::A4] {
            for design in [Design::Spotlight, Design::Stripes, Design::Confetti] {
                let poster = app.render_poster(sku, Some(design), format, None)?;
                posters += 1;
                checked += poster.facts_checked;
                wrong += poster.facts_wrong.len();
                overflow += poster.overflow;
                contrast = contrast.min(poster.min_contrast);
                times.push(poster.render_ms);
                for w in &poster.facts_wrong {
                    eprintln!("{sku} {} {format:?}: {w}", design.name());
                }
                if format == PosterFormat::A4 {
                    pdfs += usize::from(poster.bytes.starts_with(b"%PDF-"));
                } else if args.sheet.is_some() {
                    row.push(opencv::imgcodecs::imdecode(&Vector::<u8>::from_slice(&poster.bytes), opencv::imgcodecs::IMREAD_COLOR)?);
                }
            }
        }
        println!("{sku}: 3 designs × portrait, landscape, A4");
        rows.push(row);
    }
    if let Some(path) = &args.sheet {
        // Portraits and landscapes side by side, one product a row.
        let rows: Vec<Vec<Mat>> = rows.into_iter().map(|r| r.into_iter().filter(|m| !m.empty()).collect()).collect();
        crate::sheet::write_sheet(path, &rows, 300, 300)?;
        println!("contact sheet: {}", path.display());
    }
    times.sort_by(f64::total_cmp);
    let at = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
    let figures = EvalFigures {
        products: skus.len(),
        posters,
        designs_per_product: 3,
        facts_checked: checked,
        facts_wrong: wrong,
        overflow,
        min_contrast: contrast,
        render_ms_p50: at(0.5),
        render_ms_p95: at(0.95),
        pdf_pages: pdfs,
        meets_target: wrong == 0 && overflow == 0 && contrast >= 4.5 && at(0.95) <= 2000.0,
    };
    println!(
        "{} posters of {} products: {} facts checked, {} wrong; {} overflowing; lowest contrast {:.2}; render p95 {:.0} ms",
        posters, figures.products, checked, wrong, overflow, contrast, figures.render_ms_p95
    );
    println!("{}", serde_json::to_string(&figures)?);
    Ok(())
}

#[derive(Subcommand)]
pub enum Promo {
    /// Take a percentage off a product's price from one day to another (UTC, both included);
    /// posters of it show the promotion's price, the usual one and the last day.
    Add {
        /// The product code (e.g. VT-HOOD-DRIFT).
        #[arg(long)]
        product: String,
        #[arg(long)]
        percent: i64,
        /// First day, YYYY-MM-DD (default: today).
        #[arg(long)]
        from: Option<String>,
        /// Last day, YYYY-MM-DD.
        #[arg(long)]
        until: String,
    },
    /// The promotions running today.
    List,
}

fn parse_day(text: &str) -> Result<i64> {
    let parts: Vec<&str> = text.trim().split('-').collect();
    let [y, m, d] = parts.as_slice() else { bail!("{text:?} is not a date (YYYY-MM-DD)") };
    let (y, m, d): (i64, i64, i64) = (y.parse()?, m.parse()?, d.parse()?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        bail!("{text:?} is not a date (YYYY-MM-DD)");
    }
    Ok(vitrine_store::days_from_civil(y, m, d))
}

pub fn promo(config: Config, which: Promo) -> Result<()> {
    let app = App::start(config);
    let store = app.store().map_err(|e| anyhow::anyhow!("the store is unavailable: {e}"))?;
    let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
    let today = now_ms.div_euclid(86_400_000);
    match which {
        Promo::Add { product, percent, from, until } => {
            let starts_day = from.as_deref().map(parse_day).transpose()?.unwrap_or(today);
            let promotion = vitrine_store::Promotion { product_code: product, percent_off: percent, starts_day, ends_day: parse_day(&until)? };
            store.add_promotion(&promotion, now_ms)?;
            println!("{} % off {} from {} to {}", percent, promotion.product_code, vitrine_store::iso8601_utc(starts_day * 86_400)[..10].to_owned(), vitrine_store::iso8601_utc(promotion.ends_day * 86_400)[..10].to_owned());
        }
        Promo::List => {
            let running = store.promotions_on(today)?;
            if running.is_empty() {
                println!("no promotion runs today");
            }
            for p in running {
                println!("{:<16} {:>3} % off until {}", p.product_code, p.percent_off, vitrine_store::iso8601_utc(p.ends_day * 86_400)[..10].to_owned());
            }
        }
    }
    Ok(())
}

//! The store assistant at the kiosk: the Ask screen and `vitrine ask` call [`App::ask`]. Each
//! question reads a fresh snapshot of the catalog, live stock, shelves, promotions and other
//! stores' stock; vitrine-assistant answers from it and the FAQ file and checks every claim.
//! The conversation lives in memory only and is wiped when the shopper leaves or after
//! `[assistant] session_secs` without a question.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Instant, SystemTime};

use serde::Serialize;
use tracing::warn;
use vitrine_assistant::{
    cosine, Assistant, AssistantError, Claim, Conversation, Fact, Faq, Index, Knowledge, Lookup, ProductInfo, PromotionInfo, SentenceEncoder, Semantic,
    VariantInfo, EMBEDDING_MODEL,
};

use crate::recommend::{SizeStock, SuggestRequest};
use crate::{App, AppError};

/// The FAQ as last read, the conversation, and when the shopper last asked.
#[derive(Default)]
pub(crate) struct AssistantState {
    faq: Option<LoadedFaq>,
    conversation: Conversation,
    last_question: Option<Instant>,
    /// The sentence encoder (made on first use), or why retrieval runs on keywords alone.
    encoder: Option<Result<std::sync::Arc<SentenceEncoder>, String>>,
    /// Embeddings of the product names and FAQ questions seen, by text.
    vectors: HashMap<String, Vec<f32>>,
}

/// Cached embeddings kept at most (a catalog of this many names is re-embedded as asked).
const MAX_CACHED_VECTORS: usize = 50_000;

struct LoadedFaq {
    path: PathBuf,
    modified: Option<SystemTime>,
    assistant: std::sync::Arc<Assistant>,
    /// Why the file could not be used (the assistant then answers without it).
    error: Option<String>,
}

/// A product shown with an answer: what a shopper needs to pick it up or try it on.
#[derive(Debug, Clone, Serialize)]
pub struct ProductCard {
    pub product_code: String,
    pub name: String,
    pub category: String,
    /// Today's price (with a running promotion) and the usual one.
    pub price_cents: i64,
    pub usual_price_cents: i64,
    pub in_stock: Vec<SizeStock>,
    pub location: Option<String>,
    pub location_name: Option<String>,
    /// A variant the mirror can put on, in the size and colour asked where possible.
    pub try_on_sku: Option<String>,
    /// The garment's photo (PNG, base64) when the store has one.
    pub photo_png_base64: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AskTimings {
    /// Reading the store's knowledge and finding what the question is about.
    pub retrieval_ms: f64,
    /// Until the answer's first words were ready (the whole answer: it is not streamed).
    pub first_words_ms: f64,
    pub answer_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct AskReply {
    pub question: String,
    pub answer: String,
    pub cards: Vec<ProductCard>,
    pub facts: Vec<Fact>,
    pub unknown: bool,
    pub offer_clerk: bool,
    /// What wrote the answer: "facts" (the store's facts in set sentences; no language model
    /// is installed on this kiosk).
    pub writer: &'static str,
    /// How the question was matched: "keywords+embeddings", or "keywords" when the sentence
    /// model is unavailable.
    pub retrieval: &'static str,
    /// Claims the check could not find in the facts (then the answer lists the facts).
    pub unsupported: Vec<Claim>,
    /// Where the FAQ could not be read, why (the assistant answers without it).
    pub faq_error: Option<String>,
    pub turn: u32,
    pub timings: AskTimings,
}

/// Suggestions for "what goes with …" come from the basket model.
struct BasketLookup<'a> {
    app: &'a App,
    knowledge: &'a Knowledge,
}

impl Lookup for BasketLookup<'_> {
    fn goes_with(&self, product_code: &str, size: Option<&str>, limit: usize) -> Vec<String> {
        let sku = self.knowledge.products.iter().find(|p| p.code == product_code).and_then(|p| {
            // Without a size asked, the best-stocked variant's size stands in for the shopper's.
            p.variants.iter().filter(|v| size.is_none_or(|s| v.size.as_deref() == Some(s))).max_by_key(|v| v.stock_here).map(|v| v.sku.clone())
        });
        // Apparel goes with apparel, groceries with groceries.
        let categories = self.knowledge.products.iter().find(|p| p.code == product_code).map(|p| vec![p.category.clone()]).unwrap_or_default();
        let request = SuggestRequest { skus: sku.into_iter().collect(), categories, limit };
        match self.app.suggestions(&request) {
            Ok(s) => s.into_iter().map(|s| s.product_code).collect(),
            Err(e) => {
                warn!(error = %e, "no suggestions for the assistant");
                Vec::new()
            }
        }
    }
}

impl App {
    /// Answers a shopper's question, following on from the conversation's earlier questions.
    pub fn ask(&self, question: &str) -> Result<AskReply, AppError> {
        let started = Instant::now();
        let (assistant, faq_error) = self.assistant_for_faq();
        let knowledge = self.assistant_knowledge()?;
        let index = Index::new(&knowledge, assistant.faq());
        let semantic = self.semantic_scores(question, &knowledge, assistant.faq());
        let retrieval_ms = started.elapsed().as_secs_f64() * 1e3;

        let mut conversation = {
            let mut state = self.assistant.lock().unwrap_or_else(|e| e.into_inner());
            let idle = std::time::Duration::from_secs(self.config.assistant.session_secs.max(1));
            if state.last_question.is_some_and(|at| at.elapsed() > idle) {
                state.conversation = Conversation::default();
            }
            state.conversation.clone()
        };
        let lookup = BasketLookup { app: self, knowledge: &knowledge };
        let answer = assistant.answer(question, &knowledge, &index, semantic.as_ref(), &mut conversation, &lookup).map_err(|e| match e {
            AssistantError::Question(m) => AppError::Invalid(m),
            other => AppError::Invalid(other.to_string()),
        })?;
        {
            let mut state = self.assistant.lock().unwrap_or_else(|e| e.into_inner());
            state.conversation = conversation.clone();
            state.last_question = Some(Instant::now());
        }
        let cards = self.product_cards(&knowledge, &answer.products, answer.size.as_deref(), answer.colour.as_deref());
        let answer_ms = started.elapsed().as_secs_f64() * 1e3;
        Ok(AskReply {
            question: question.trim().to_owned(),
            answer: answer.text,
            cards,
            facts: answer.facts,
            unknown: answer.unknown,
            offer_clerk: answer.offer_clerk,
            writer: "facts",
            retrieval: if semantic.is_some() { "keywords+embeddings" } else { "keywords" },
            unsupported: answer.unsupported,
            faq_error,
            turn: conversation.turns,
            timings: AskTimings { retrieval_ms, first_words_ms: answer_ms, answer_ms },
        })
    }

    /// Forgets the conversation (the shopper left the Ask screen, or its idle timer ran out).
    pub fn end_assistant_session(&self) {
        let mut state = self.assistant.lock().unwrap_or_else(|e| e.into_inner());
        state.conversation = Conversation::default();
        state.last_question = None;
    }

    /// The assistant with the FAQ file as it is now (re-read when the store edits it), and why
    /// the file could not be used, if so.
    fn assistant_for_faq(&self) -> (std::sync::Arc<Assistant>, Option<String>) {
        let path = self.config.assistant.faq_file.clone();
        let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
        let mut state = self.assistant.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(f) = &state.faq {
            if f.path == path && f.modified == modified {
                return (f.assistant.clone(), f.error.clone());
            }
        }
        let (faq, error) = match std::fs::read_to_string(&path) {
            Ok(text) => match Faq::parse(&text) {
                Ok(faq) => (faq, None),
                Err(e) => (Faq::default(), Some(format!("{}: {e}", path.display()))),
            },
            Err(e) => (Faq::default(), Some(format!("cannot read the FAQ file {}: {e} ([assistant] faq_file)", path.display()))),
        };
        if let Some(e) = &error {
            warn!(error = %e, "the assistant answers without the FAQ");
        }
        let assistant = std::sync::Arc::new(Assistant::new(faq));
        state.faq = Some(LoadedFaq { path, modified, assistant: assistant.clone(), error: error.clone() });
        (assistant, error)
    }

    /// What the assistant runs without, if anything (for the staff status page).
    pub fn assistant_problem(&self) -> Option<String> {
        let mut problems: Vec<String> = self.assistant_for_faq().1.into_iter().collect();
        if let Err(e) = self.sentence_encoder() {
            problems.push(format!("questions are matched by keywords only: {e}"));
        }
        if let Some(e) = self.speech_problem() {
            problems.push(e);
        }
        if let Some(e) = self.speech_synthesis_problem() {
            problems.push(e);
        }
        if !self.feedback_scorer().has_lexicon() {
            let path = crate::sentiment_lexicon_path(&self.config);
            problems.push(format!("feedback comments are not scored, stars only: no sentiment lexicon at {} (scripts/setup.sh fetches it)", path.display()));
        }
        (!problems.is_empty()).then(|| problems.join("; "))
    }

    /// A text's sentence embedding (the assistant's model), or why there is none.
    pub fn embed_text(&self, text: &str) -> Result<Vec<f32>, String> {
        self.sentence_encoder()?.embed(text).map_err(|e| e.to_string())
    }

    fn sentence_encoder(&self) -> Result<std::sync::Arc<SentenceEncoder>, String> {
        let mut state = self.assistant.lock().unwrap_or_else(|e| e.into_inner());
        state
            .encoder
            .get_or_insert_with(|| {
                let model = self.registry().model(EMBEDDING_MODEL).map_err(|e| e.to_string())?;
                SentenceEncoder::new(model).map(std::sync::Arc::new).map_err(|e| e.to_string())
            })
            .clone()
    }

    /// Cosine of the question with each product name and each FAQ entry's best question;
    /// none (keywords alone) when the model is unavailable or fails.
    fn semantic_scores(&self, question: &str, knowledge: &Knowledge, faq: &Faq) -> Option<Semantic> {
        let encoder = self.sentence_encoder().ok()?;
        let (products, entries) = Index::embedding_texts(knowledge, faq);
        let run = || -> Result<Semantic, AssistantError> {
            let q = encoder.embed(question)?;
            let mut state = self.assistant.lock().unwrap_or_else(|e| e.into_inner());
            if state.vectors.len() > MAX_CACHED_VECTORS {
                state.vectors.clear();
            }
            let mut score = |text: &String| -> Result<f32, AssistantError> {
                if !state.vectors.contains_key(text) {
                    let v = encoder.embed(text)?;
                    state.vectors.insert(text.clone(), v);
                }
                Ok(cosine(&q, &state.vectors[text]))
            };
            let products = products.iter().map(&mut score).collect::<Result<Vec<f32>, _>>()?;
            let mut faq = Vec::with_capacity(entries.len());
            for texts in &entries {
                let mut best = f32::MIN;
                for t in texts {
                    best = best.max(score(t)?);
                }
                faq.push(best);
            }
            Ok(Semantic { products, faq })
        };
        match run() {
            Ok(s) => Some(s),
            Err(e) => {
                warn!(error = %e, "sentence embedding failed: matching by keywords");
                None
            }
        }
    }

    /// The store as the assistant may describe it, read now.
    pub fn assistant_knowledge(&self) -> Result<Knowledge, AppError> {
        let today = vitrine_auth::now_ms().div_euclid(86_400_000);
        self.with_store(|store| {
            let stock: HashMap<String, i64> = store.stock_by_variant()?.into_iter().map(|v| (v.sku, v.on_hand)).collect();
            let locations: HashMap<String, String> = store.locations()?.into_iter().map(|l| (l.code, l.name)).collect();
            let tryable: Vec<String> = store.garments()?.into_iter().map(|g| g.sku).collect();
            let promotions: HashMap<String, PromotionInfo> = store
                .promotions_on(today)?
                .into_iter()
                .map(|p| (p.product_code, PromotionInfo { percent_off: p.percent_off, ends_day: p.ends_day }))
                .collect();
            let mut elsewhere = store.remote_stock_all()?;
            let backroom = store.backroom_stock_by_variant()?;
            let products = store
                .products()?
                .into_iter()
                .map(|p| ProductInfo {
                    promotion: promotions.get(&p.code).copied(),
                    variants: p
                        .variants
                        .into_iter()
                        .map(|v| VariantInfo {
                            stock_here: stock.get(&v.sku).copied().unwrap_or(0),
                            in_backroom: backroom.get(&v.sku).copied().unwrap_or(0),
                            location_name: v.home_location.as_ref().and_then(|c| locations.get(c).cloned()),
                            location: v.home_location,
                            elsewhere: elsewhere.remove(&v.sku).unwrap_or_default(),
                            try_on: tryable.contains(&v.sku),
                            sku: v.sku,
                            size: v.size,
                            colour: v.colour,
                            price_cents: v.price_cents,
                        })
                        .collect(),
                    code: p.code,
                    name: p.name,
                    category: p.category,
                })
                .collect();
            Ok(Knowledge { products, today })
        })
    }

    fn product_cards(&self, knowledge: &Knowledge, codes: &[String], size: Option<&str>, colour: Option<&str>) -> Vec<ProductCard> {
        let assets = crate::garment_assets_dir(&self.config);
        codes
            .iter()
            .filter_map(|code| knowledge.products.iter().find(|p| &p.code == code))
            .map(|p| {
                let mut in_stock: Vec<SizeStock> = Vec::new();
                for v in p.variants.iter().filter(|v| v.stock_here > 0) {
                    match in_stock.iter_mut().find(|s| s.size == v.size) {
                        Some(s) => s.stock += v.stock_here,
                        None => in_stock.push(SizeStock { size: v.size.clone(), stock: v.stock_here }),
                    }
                }
                in_stock.sort_by_key(|s| s.size.as_deref().map_or(0, vitrine_assistant::size_rank));
                let matches = |v: &&VariantInfo| {
                    size.is_none_or(|s| v.size.as_deref() == Some(s)) && colour.is_none_or(|c| v.colour.as_deref().is_some_and(|vc| vc.eq_ignore_ascii_case(c)))
                };
                let shown = p.variants.iter().filter(matches).max_by_key(|v| v.stock_here).or(p.variants.first());
                let try_on = p.variants.iter().filter(matches).find(|v| v.try_on).or_else(|| p.variants.iter().find(|v| v.try_on));
                let photo = try_on.and_then(|v| {
                    self.with_store(|store| {
                        let Some(record) = store.garment(&v.sku)? else { return Ok(None) };
                        Ok(store.garment_image(&assets, &record).ok())
                    })
                    .ok()
                    .flatten()
                });
                ProductCard {
                    product_code: p.code.clone(),
                    name: p.name.clone(),
                    category: p.category.clone(),
                    price_cents: shown.map_or(0, |v| p.price_today(v)),
                    usual_price_cents: shown.map_or(0, |v| v.price_cents),
                    in_stock,
                    location: shown.and_then(|v| v.location.clone()),
                    location_name: shown.and_then(|v| v.location_name.clone()),
                    try_on_sku: try_on.map(|v| v.sku.clone()),
                    photo_png_base64: photo.map(|png| crate::to_base64(&png)),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use vitrine_config::Config;
    use vitrine_store::{Feed, ImportOptions};

    use super::*;

    fn kiosk(dir: &Path, faq: &Path) -> App {
        let mut config = Config::default();
        config.store.database = dir.join("kiosk.db");
        config.inference.models_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models");
        config.assistant.faq_file = faq.to_owned();
        App::start(config)
    }

    fn demo_faq() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/demo/faq.toml")
    }

    fn stock_of(app: &App, skus: &[&str]) -> i64 {
        app.with_store(|s| Ok(skus.iter().map(|sku| s.stock_level_total(sku).unwrap()).sum())).unwrap()
    }

    #[test]
    fn a_question_about_a_product_in_a_size_gets_live_stock_and_the_shelf_and_follow_ups_carry_on() {
        let dir = tempfile::tempdir().unwrap();
        let app = kiosk(dir.path(), &demo_faq());
        let reply = app.ask("Do you have the Drift hoodie in M?").unwrap();
        let units = stock_of(&app, &["VT-HOOD-DRIFT-M-COL", "VT-HOOD-DRIFT-M-EMB"]);
        assert!(reply.answer.contains(&format!("we have {units} of the Drift Hoodie in size M")), "{}", reply.answer);
        assert!(reply.answer.contains("A1/B2/S1"), "{}", reply.answer);
        assert!(reply.unsupported.is_empty());
        let card = &reply.cards[0];
        assert_eq!((card.product_code.as_str(), card.location.as_deref(), card.price_cents), ("VT-HOOD-DRIFT", Some("A1/B2/S1"), 5400));
        assert!(card.try_on_sku.as_deref().is_some_and(|s| s.starts_with("VT-HOOD-DRIFT-M-")), "{card:?}");

        // A sale empties M: the next answer says so, and where else it is.
        let csv = format!("sale_id,line,timestamp,sku,quantity\nT-1,1,2026-01-01T12:00:00Z,VT-HOOD-DRIFT-M-COL,{}\nT-1,2,2026-01-01T12:00:00Z,VT-HOOD-DRIFT-M-EMB,{}\n",
            stock_of(&app, &["VT-HOOD-DRIFT-M-COL"]), stock_of(&app, &["VT-HOOD-DRIFT-M-EMB"]));
        app.with_store(|s| Ok(s.import_feed(Feed::Sales, csv.as_bytes(), &ImportOptions::default())?)).unwrap();
        let reply = app.ask("and in M?").unwrap();
        assert!(reply.answer.contains("sold out here"), "{}", reply.answer);
        assert!(reply.answer.contains("Riverside") || reply.answer.contains("Old Town"), "the demo's neighbours: {}", reply.answer);
        let reply = app.ask("how much is it?").unwrap();
        assert_eq!(reply.answer, "The Drift Hoodie in size M is 54.00.");
        assert_eq!(reply.turn, 3);

        // The shopper leaves: nothing of the conversation is left.
        app.end_assistant_session();
        let reply = app.ask("how much is it?").unwrap();
        assert!(reply.unknown && reply.offer_clerk, "{}", reply.answer);
        assert_eq!(reply.turn, 1);
    }

    #[test]
    fn faq_answers_come_from_the_file_and_without_it_the_assistant_still_answers_from_stock() {
        let dir = tempfile::tempdir().unwrap();
        let faq = dir.path().join("faq.toml");
        std::fs::write(&faq, "[[faq]]\ntopic = \"Opening hours\"\nkeywords = [\"open\", \"hours\"]\nanswer = \"Open 8:00 to 22:00 every day.\"\n").unwrap();
        let app = kiosk(dir.path(), &faq);
        assert_eq!(app.ask("When are you open?").unwrap().answer, "Open 8:00 to 22:00 every day.");
        // The store edits the file: the next question reads the new answer.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&faq, "[[faq]]\ntopic = \"Opening hours\"\nkeywords = [\"open\", \"hours\"]\nanswer = \"Open 7:00 to 23:00.\"\n").unwrap();
        let later = std::time::SystemTime::now() + std::time::Duration::from_secs(2);
        std::fs::File::options().write(true).open(&faq).unwrap().set_modified(later).unwrap();
        assert_eq!(app.ask("When are you open?").unwrap().answer, "Open 7:00 to 23:00.");

        std::fs::write(&faq, "[[faq]]\ntopic = 3\n").unwrap();
        std::fs::File::options().write(true).open(&faq).unwrap().set_modified(later + std::time::Duration::from_secs(2)).unwrap();
        let reply = app.ask("How much is the honey?").unwrap();
        assert_eq!(reply.answer, "The Meadow Wildflower Honey 350 g is 7.99.");
        assert!(reply.faq_error.as_deref().is_some_and(|e| e.contains("faq.toml")), "{:?}", reply.faq_error);
        assert!(app.assistant_problem().is_some());
    }

    #[test]
    fn empty_and_overlong_questions_get_a_clear_answer() {
        let dir = tempfile::tempdir().unwrap();
        let app = kiosk(dir.path(), &demo_faq());
        for bad in ["", "   ?! ", &"hoodie ".repeat(300)] {
            match app.ask(bad) {
                Err(AppError::Invalid(message)) => assert!(message.contains("Ask me") || message.contains("shorter"), "{message}"),
                other => panic!("{other:?}"),
            }
        }
    }
}

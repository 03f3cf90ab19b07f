//! What a question asks: which product (keywords, plus sentence embeddings when the caller
//! has them), which size and colour, what about it (stock, price, shelf, …), or which FAQ
//! entry. Rules, not a model: every decision here can be read and tested.

use serde::Serialize;

use crate::faq::Faq;
use crate::knowledge::Knowledge;
use crate::text::{self, has_phrase};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    Stock,
    Price,
    Location,
    Sizes,
    Colours,
    Elsewhere,
    Pairing,
    TryOn,
}

/// Words shoppers use for things the catalog names differently.
const SYNONYMS: &[(&str, &str)] = &[
    ("tshirt", "tee"),
    ("shirt", "tee"),
    ("top", "tee"),
    ("hoody", "hoodie"),
    ("sweatshirt", "hoodie"),
    ("hooded", "hoodie"),
    ("jumper", "hoodie"),
    ("frock", "dress"),
    ("gown", "dress"),
    ("oatmeal", "oat"),
    ("porridge", "oat"),
    ("coffee", "espresso"),
];

/// Colour words a shopper may ask for, beyond the catalog's own colour names.
const COLOUR_WORDS: &[&str] = &[
    "black", "white", "grey", "gray", "blue", "navy", "red", "green", "yellow", "pink", "purple", "orange", "brown", "beige", "cream",
    "khaki", "olive", "teal", "maroon", "burgundy", "gold", "silver",
];

/// Size words and the letter size each means.
const SIZE_WORDS: &[(&str, &str)] = &[
    ("xxs", "XXS"),
    ("xs", "XS"),
    ("s", "S"),
    ("m", "M"),
    ("l", "L"),
    ("xl", "XL"),
    ("xxl", "XXL"),
    ("small", "S"),
    ("medium", "M"),
    ("large", "L"),
];

const INTENT_PHRASES: &[(Intent, &[&str])] = &[
    (Intent::Elsewhere, &["other store", "another store", "other shop", "another shop", "other branch", "another branch", "elsewhere", "different store", "other location", "nearby store", "your other"]),
    (Intent::Pairing, &["go with", "goes with", "wear with", "pair with", "complete the look", "recommend", "suggest", "what else", "match with", "matches"]),
    (Intent::Price, &["price", "cost", "how much", "expensive", "cheap", "on sale", "discount", "offer", "promotion", "deal", "priced"]),
    (Intent::Location, &["where", "aisle", "shelf", "find it", "find them", "located", "which way"]),
    (Intent::Sizes, &["size", "sizes", "fit"]),
    (Intent::Colours, &["colour", "colours", "color", "colors", "shade"]),
    (Intent::Stock, &["have", "stock", "available", "left", "carry", "sell", "got", "sold out", "how many", "in store"]),
    (Intent::TryOn, &["try on", "try it", "try them", "mirror"]),
];

/// Words that say what is asked, never which thing: left out of FAQ and product matching.
const QUESTION_WORDS: &[&str] = &[
    "where", "wheres", "when", "whens", "hows", "whos", "who", "why", "much", "many", "price", "cost", "stock", "available", "size", "colour", "color", "sell", "left",
    "carry", "aisle", "shelf", "find", "located", "other", "another", "elsewhere", "else", "go", "goes", "wear", "come", "came",
];

const CLERK_PHRASES: &[&str] = &["clerk", "staff", "human", "real person", "someone", "employee", "manager", "talk to", "speak to", "call someone"];

#[derive(Debug, Clone, Default, Serialize)]
pub struct Understood {
    /// Index into the knowledge's products.
    pub product: Option<usize>,
    pub size: Option<String>,
    /// The colour asked for, as the catalog spells it when it is one of the product's, else
    /// the shopper's word.
    pub colour: Option<String>,
    pub intents: Vec<Intent>,
    /// Index into the FAQ's entries, when one fits well.
    pub faq: Option<usize>,
    /// The shopper asked for a person.
    pub wants_clerk: bool,
    /// Content words that named no product, FAQ entry, size or colour.
    pub unexplained: usize,
}

/// Products and FAQ entries with their terms, built once per catalog.
#[derive(Debug, Clone, Default)]
pub struct Index {
    product_terms: Vec<Vec<String>>,
    /// The words that say what a product is ("tee", "hoodie", "espresso bean"): the last two
    /// words of its name. A match on a brand word alone ("night") names nothing.
    product_heads: Vec<Vec<String>>,
    product_df: std::collections::HashMap<String, usize>,
    faq_terms: Vec<Vec<String>>,
    faq_df: std::collections::HashMap<String, usize>,
    colours: Vec<String>,
}

/// Semantic scores from the sentence-embedding model: cosine of the question with each
/// product's and each FAQ entry's text, in index order.
#[derive(Debug, Clone, Default)]
pub struct Semantic {
    pub products: Vec<f32>,
    pub faq: Vec<f32>,
}

/// Keyword evidence a match needs (sum of the matched terms' idf)…
const MIN_KEYWORD_SCORE: f32 = 1.0;
/// …with, for an FAQ entry, at least this cosine when the embedding model runs ("can I bring
/// my dog?" shares a word with the returns entry, not its meaning)…
const MIN_FAQ_COSINE_WITH_KEYWORDS: f32 = 0.32;
/// …and the cosine at which the embedding alone is trusted ("do you sell shoes?" reads
/// 0.61 against "do you sell gift cards?").
const MIN_COSINE: f32 = 0.65;

impl Index {
    pub fn new(knowledge: &Knowledge, faq: &Faq) -> Self {
        let product_terms: Vec<Vec<String>> = knowledge.products.iter().map(|p| {
            let mut t = text::terms(&p.name);
            t.push(text::stem(&p.category.to_lowercase()));
            t.sort();
            t.dedup();
            t
        }).collect();
        let product_heads = knowledge
            .products
            .iter()
            .map(|p| {
                let words: Vec<String> = text::terms(&p.name).into_iter().filter(|w| w.chars().all(char::is_alphabetic) && !UNITS.contains(&w.as_str())).collect();
                words.iter().rev().take(2).cloned().collect()
            })
            .collect();
        let faq_terms: Vec<Vec<String>> = faq.entries.iter().map(|e| {
            let mut t: Vec<String> = Faq::entry_terms(e).into_iter().filter(|w| !QUESTION_WORDS.contains(&w.as_str())).collect();
            t.sort();
            t.dedup();
            t
        }).collect();
        let mut colours: Vec<String> = COLOUR_WORDS.iter().map(|c| c.to_string()).collect();
        for p in &knowledge.products {
            for c in p.colours() {
                let c = c.to_lowercase();
                if !colours.contains(&c) {
                    colours.push(c);
                }
            }
        }
        Self { product_df: df(&product_terms), product_terms, product_heads, faq_df: df(&faq_terms), faq_terms, colours }
    }

    /// The texts the embedding model reads: one per product, several per FAQ entry (its
    /// topic and each way shoppers ask it; the entry scores its best).
    pub fn embedding_texts(knowledge: &Knowledge, faq: &Faq) -> (Vec<String>, Vec<Vec<String>>) {
        let products = knowledge.products.iter().map(|p| format!("{} ({})", p.name, p.category)).collect();
        let faq = faq.entries.iter().map(|e| std::iter::once(e.topic.clone()).chain(e.questions.iter().cloned()).collect()).collect();
        (products, faq)
    }

    /// Every colour word the assistant recognises, lower case.
    pub fn colour_words(&self) -> &[String] {
        &self.colours
    }

    pub fn understand(&self, question: &str, knowledge: &Knowledge, semantic: Option<&Semantic>) -> Understood {
        let words = text::words(question);
        let mut out = Understood::default();

        for (intent, phrases) in INTENT_PHRASES {
            if phrases.iter().any(|p| has_phrase(&words, p)) && !out.intents.contains(intent) {
                out.intents.push(*intent);
            }
        }
        // "What does it come in?" asks for both sizes and colours.
        if has_phrase(&words, "come in") && !out.intents.contains(&Intent::Sizes) && !out.intents.contains(&Intent::Colours) {
            out.intents.extend([Intent::Sizes, Intent::Colours]);
        }
        // "Do you have a size M" is a stock question, not a sizes one.
        out.wants_clerk = CLERK_PHRASES.iter().any(|p| has_phrase(&words, p));

        // Size: "extra large" before "large", then single words.
        let mut size_at = None;
        for (i, w) in words.iter().enumerate() {
            let next = words.get(i + 1).map(String::as_str);
            let size = match (w.as_str(), next) {
                ("extra" | "x", Some("large")) => Some("XL"),
                ("extra" | "x", Some("small")) => Some("XS"),
                ("xlarge", _) => Some("XL"),
                _ => SIZE_WORDS.iter().find(|(word, _)| word == w).map(|(_, s)| *s),
            };
            if let Some(s) = size {
                // "small" in "extra small" was taken with "extra".
                if size_at.is_some_and(|at: usize| at + 1 == i) {
                    continue;
                }
                out.size = Some(s.to_owned());
                size_at = Some(i);
            }
        }
        if out.size.is_some() && out.intents == [Intent::Sizes] {
            out.intents = vec![Intent::Stock];
        }

        // Content terms with synonyms folded in.
        let mut terms: Vec<String> = Vec::new();
        for (i, w) in words.iter().enumerate() {
            if text::is_stopword(w) || SIZE_WORDS.iter().any(|(s, _)| s == w) || QUESTION_WORDS.contains(&w.as_str()) {
                continue;
            }
            if w == "t" && words.get(i + 1).is_some_and(|n| text::stem(n) == "shirt") {
                terms.push("tee".into());
                continue;
            }
            let stemmed = text::stem(w);
            if let Some((_, canonical)) = SYNONYMS.iter().find(|(s, _)| *s == stemmed) {
                terms.push((*canonical).to_owned());
            }
            terms.push(stemmed);
        }
        if let Some(c) = words.iter().find(|w| self.colours.contains(w)) {
            out.colour = Some(c.clone());
        }

        let product_scores: Vec<f32> = self.product_terms.iter().map(|doc| idf_score(&terms, doc, &self.product_df, self.product_terms.len())).collect();
        let faq_scores: Vec<f32> = self.faq_terms.iter().map(|doc| idf_score(&terms, doc, &self.faq_df, self.faq_terms.len())).collect();
        out.product = pick(&product_scores, semantic.map(|s| s.products.as_slice()), 0.0)
            .filter(|&p| terms.iter().any(|t| self.product_heads[p].contains(t)) || semantic.is_some_and(|s| s.products[p] >= MIN_COSINE));
        out.faq = pick(&faq_scores, semantic.map(|s| s.faq.as_slice()), MIN_FAQ_COSINE_WITH_KEYWORDS);

        // The catalog's spelling of the colour when the product has it.
        if let (Some(colour), Some(p)) = (&out.colour, out.product) {
            if let Some(c) = knowledge.products[p].colours().into_iter().find(|c| c.eq_ignore_ascii_case(colour)) {
                out.colour = Some(c);
            }
        }
        let explained = |t: &String| {
            self.colours.contains(t)
                || out.product.is_some_and(|p| self.product_terms[p].contains(t))
                || out.faq.is_some_and(|f| self.faq_terms[f].contains(t))
                || SYNONYMS.iter().any(|(s, _)| s == t)
                || t.chars().all(|c| c.is_ascii_digit())
        };
        out.unexplained = terms.iter().filter(|t| !explained(t) && !is_filler(t)).count();
        // An FAQ entry found by fewer words than the question has unplaced ones is a guess
        // ("can I bring my dog?" is not about returns).
        if let Some(f) = out.faq {
            let matched = terms.iter().filter(|t| self.faq_terms[f].contains(t)).count();
            let others = terms.iter().filter(|t| !self.faq_terms[f].contains(t) && !explained_but_faq(t, &out, self) && !is_filler(t)).count();
            if matched < others && semantic.is_none_or(|s| s.faq[f] < MIN_COSINE) {
                out.faq = None;
                out.unexplained = others;
            }
        }
        out
    }
}

/// Whether a term is placed by something other than the FAQ entry (a colour, the product).
fn explained_but_faq(term: &String, out: &Understood, index: &Index) -> bool {
    index.colours.contains(term)
        || out.product.is_some_and(|p| index.product_terms[p].contains(term))
        || SYNONYMS.iter().any(|(s, _)| s == term)
        || term.chars().all(|c| c.is_ascii_digit())
}

const UNITS: &[&str] = &["g", "kg", "ml", "l", "cl", "oz", "lb", "pack", "x"];

/// Words that are neither a thing nor a question ("size", "colour" themselves, verbs).
fn is_filler(term: &str) -> bool {
    const FILLER: &[&str] = &[
        "size", "colour", "color", "shade", "stock", "sale", "offer", "deal", "discount", "promotion", "expensive", "cheap", "try",
        "mirror", "know", "tell", "look", "check", "show", "see", "thing", "item", "anything", "something", "it", "them", "they",
        "buy", "pay", "cost", "price", "much", "many", "again", "same", "now", "today", "only", "too", "very", "more", "big",
        "bigger", "smaller", "extra", "should", "shall", "may", "might", "sure", "ok", "okay", "yes", "no", "not", "dont", "isnt",
        "arent", "complete", "recommend", "suggest", "match", "pair", "fit", "wear", "sold", "out", "instead", "then", "what", "all",
        "there", "around", "nearby", "different", "branch", "location", "way", "which", "up", "please", "would", "need", "person",
        "human", "someone", "talk", "speak", "call", "staff", "clerk", "employee", "manager", "real", "other", "x", "t",
    ];
    FILLER.contains(&term)
}

fn df(docs: &[Vec<String>]) -> std::collections::HashMap<String, usize> {
    let mut df = std::collections::HashMap::new();
    for doc in docs {
        for t in doc {
            *df.entry(t.clone()).or_insert(0) += 1;
        }
    }
    df
}

/// Sum of the idf of the distinct query terms the document has.
fn idf_score(query: &[String], doc: &[String], df: &std::collections::HashMap<String, usize>, n: usize) -> f32 {
    let mut seen: Vec<&String> = Vec::new();
    let mut score = 0.0;
    for t in query {
        if seen.contains(&t) || doc.binary_search(t).is_err() {
            continue;
        }
        seen.push(t);
        let d = df.get(t).copied().unwrap_or(0) as f32;
        // Never below ln 2 (a word every entry has still counts a little): a store's FAQ may
        // have a single entry.
        score += (1.0 + (n as f32 + 1.0) / d.max(1.0)).ln();
    }
    score
}

/// The best candidate: by keywords when they are clear, the embedding breaking ties and
/// answering alone only when it is confident.
fn pick(keyword: &[f32], semantic: Option<&[f32]>, keyword_floor: f32) -> Option<usize> {
    let cosine = |i: usize| semantic.and_then(|s| s.get(i)).copied().unwrap_or(0.0);
    // Keywords scaled to the best match so neither kind of evidence swamps the other.
    let top = keyword.iter().copied().fold(0.0f32, f32::max).max(1e-6);
    let rank = |i: usize| keyword[i] / top + cosine(i);
    let best = (0..keyword.len()).max_by(|&a, &b| rank(a).total_cmp(&rank(b)))?;
    let keywords_agree = keyword[best] >= MIN_KEYWORD_SCORE && semantic.is_none_or(|_| cosine(best) >= keyword_floor);
    if keywords_agree || cosine(best) >= MIN_COSINE {
        Some(best)
    } else {
        None
    }
}

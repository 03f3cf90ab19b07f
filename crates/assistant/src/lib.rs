//! The store assistant. A question is understood against the store's own knowledge (catalog,
//! live stock, shelves, other stores, the FAQ file); the answer is written only from the facts
//! that knowledge gives, and every price, number, size, colour and shelf in it is checked
//! against those facts before it is shown. When the store does not know, it says so and
//! offers a clerk. Pure: the caller (vitrine-app) takes the snapshot and keeps the session.

mod check;
mod compose;
mod embed;
mod faq;
mod knowledge;
mod text;
mod understand;

use serde::Serialize;

pub use check::{claims, unsupported, Claim};
pub use embed::{cosine, SentenceEncoder, WordPiece, MODEL as EMBEDDING_MODEL};
pub use faq::{Faq, FaqEntry};
pub use knowledge::{money, size_rank, Knowledge, ProductInfo, PromotionInfo, VariantInfo};
pub use understand::{Index, Intent, Semantic, Understood};

/// Longest question taken (a shopper's sentence, with room to spare).
pub const MAX_QUESTION_CHARS: usize = 300;

#[derive(Debug, thiserror::Error)]
pub enum AssistantError {
    #[error("the FAQ file is not valid: {0}")]
    Faq(String),
    #[error("{0}")]
    Question(String),
    #[error("sentence embedding: {0}")]
    Model(String),
}

/// Something the store knows, in words; answers say nothing a fact does not.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fact {
    pub kind: FactKind,
    pub product: Option<String>,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FactKind {
    Stock,
    Price,
    Location,
    Sizes,
    Colours,
    Elsewhere,
    Pairing,
    TryOn,
    Faq,
}

/// What the assistant remembers of a conversation: the product, size and colour in play and
/// what was last asked, so "and in L?" or "where is it?" follow on. The caller wipes it when
/// the shopper leaves.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Conversation {
    pub product: Option<String>,
    pub size: Option<String>,
    pub colour: Option<String>,
    pub intents: Vec<Intent>,
    pub turns: u32,
}

/// What else the store can tell, from models outside this crate.
pub trait Lookup {
    /// Products that go with `product_code` (in `size` where it matters), best first.
    fn goes_with(&self, product_code: &str, size: Option<&str>, limit: usize) -> Vec<String>;
}

#[derive(Debug, Clone, Serialize)]
pub struct Answer {
    pub text: String,
    pub facts: Vec<Fact>,
    /// Products to show as cards, in order.
    pub products: Vec<String>,
    /// The size and colour asked about, for the cards.
    pub size: Option<String>,
    pub colour: Option<String>,
    /// The store could not answer.
    pub unknown: bool,
    /// Offer the shopper a clerk.
    pub offer_clerk: bool,
    /// Claims the check found unsupported; when any, `text` lists the facts instead.
    pub unsupported: Vec<Claim>,
    pub understood: Understood,
}

pub struct Assistant {
    faq: Faq,
}

impl Assistant {
    pub fn new(faq: Faq) -> Self {
        Self { faq }
    }

    pub fn faq(&self) -> &Faq {
        &self.faq
    }

    /// Answers `question` from `knowledge`, carrying `conversation` on. `index` must be built
    /// from the same knowledge and this assistant's FAQ.
    pub fn answer(
        &self,
        question: &str,
        knowledge: &Knowledge,
        index: &Index,
        semantic: Option<&Semantic>,
        conversation: &mut Conversation,
        lookup: &dyn Lookup,
    ) -> Result<Answer, AssistantError> {
        let question = question.trim();
        if question.chars().all(|c| !c.is_alphanumeric()) {
            return Err(AssistantError::Question("Ask me about a product, a size, a price or where something is.".into()));
        }
        if question.chars().count() > MAX_QUESTION_CHARS {
            return Err(AssistantError::Question(format!(
                "That is a long question ({} characters). Please ask it in a shorter way, up to {MAX_QUESTION_CHARS}.",
                question.chars().count()
            )));
        }
        let understood = index.understand(question, knowledge, semantic);
        let mut answer = compose::compose(question, &understood, knowledge, &self.faq, conversation, lookup);
        conversation.turns += 1;

        let texts: Vec<&str> = answer.facts.iter().map(|f| f.text.as_str()).collect();
        let unsupported = check::unsupported(&answer.text, &texts, index.colour_words());
        if !unsupported.is_empty() {
            answer.text = texts.join(" ");
            if answer.text.trim().is_empty() {
                answer.text = "Sorry, I can't answer that reliably. A clerk can help you: ask at the till.".into();
                answer.offer_clerk = true;
            }
        }
        answer.unsupported = unsupported;
        answer.understood = understood;
        Ok(answer)
    }
}

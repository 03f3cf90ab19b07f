//! Shoppers' feedback, scored on the device: a sentiment label from the comment (VADER's
//! compound score) or, without words that carry sentiment, from the stars; topic tags (fit,
//! price, stock, staff, store) from the words used. Nothing here knows who gave it.

mod classifier;
mod vader;

use serde::Serialize;

pub use classifier::{features, FeedbackModel};
pub use vader::Vader;

/// VADER's own thresholds for a positive or negative text.
const POSITIVE_AT: f64 = 0.05;

#[derive(Debug, thiserror::Error)]
pub enum FeedbackError {
    #[error("the sentiment lexicon is not valid: {0}")]
    Lexicon(String),
    #[error("{0}")]
    Invalid(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    Negative,
    Neutral,
    Positive,
}

impl Label {
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Positive => "positive",
            Label::Neutral => "neutral",
            Label::Negative => "negative",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Label::Positive, Label::Neutral, Label::Negative].into_iter().find(|l| l.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    Fit,
    Price,
    Stock,
    Staff,
    Store,
}

impl Topic {
    pub const ALL: [Topic; 5] = [Topic::Fit, Topic::Price, Topic::Stock, Topic::Staff, Topic::Store];

    pub fn as_str(self) -> &'static str {
        match self {
            Topic::Fit => "fit",
            Topic::Price => "price",
            Topic::Stock => "stock",
            Topic::Staff => "staff",
            Topic::Store => "store",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Words (or short phrases) that put a comment under the topic.
    fn words(self) -> &'static [&'static str] {
        match self {
            Topic::Fit => &[
                "fit", "fits", "fitted", "size", "sizes", "sizing", "tight", "loose", "small", "big", "large", "huge", "too short",
                "sleeve", "sleeves", "waist", "shoulders", "length", "comfy", "comfortable", "uncomfortable", "itchy", "soft", "shrank", "shrink",
                "shape", "shapeless", "suit", "wash", "washes", "fabric", "quality", "warm", "looks great", "colour", "runs small", "size up",
            ],
            Topic::Price => &[
                "price", "prices", "priced", "pricey", "overpriced", "expensive", "cheap", "cheaper", "cost", "costs", "value", "money", "discount",
                "offer", "deal", "promotion", "penny", "rip off", "worth", "delivery", "sale",
            ],
            Topic::Stock => &[
                "stock", "stocked", "restock", "sold out", "out of", "available", "in my size", "my size", "left", "empty shelves", "could not find",
                "have my", "had the", "more of", "sizes to choose", "no small",
            ],
            Topic::Staff => &[
                "staff", "clerk", "cashier", "assistant", "employee", "manager", "team", "lady", "guy", "someone to help", "nobody came", "service",
                "helpful", "rude", "friendly", "unfriendly", "polite", "patient", "kind",
            ],
            Topic::Store => &[
                "store", "shop", "queue", "till", "tills", "checkout", "music", "lighting", "clean", "dirty", "messy", "crowded", "noisy", "layout",
                "fitting room", "fitting rooms", "mirror", "kiosk", "atmosphere", "freezing", "floor", "shelves", "exit", "welcoming", "bright",
                "spacious",
            ],
        }
    }
}

/// What the kiosk keeps of a piece of feedback besides its text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scored {
    /// VADER's compound score of the comment; none without a comment or a lexicon.
    pub sentiment: Option<f64>,
    pub label: Label,
    pub topics: Vec<Topic>,
}

pub struct Scorer {
    vader: Option<Vader>,
    model: Option<FeedbackModel>,
}

/// Longest comment kept.
pub const MAX_COMMENT_CHARS: usize = 500;

impl Scorer {
    /// With the VADER lexicon's text; without one, labels come from the stars alone.
    pub fn new(lexicon: Option<&str>) -> Result<Self, FeedbackError> {
        let vader = lexicon.map(Vader::parse).transpose().map_err(FeedbackError::Lexicon)?;
        Ok(Self { vader, model: None })
    }

    /// Adds the learned model (`classifier.json`); comments then need their embedding.
    pub fn with_model(mut self, model: FeedbackModel) -> Self {
        self.model = Some(model);
        self
    }

    pub fn has_model(&self) -> bool {
        self.model.is_some()
    }

    /// VADER's compound score of a comment, when the lexicon is there.
    pub fn compound(&self, comment: &str) -> Option<f64> {
        self.vader.as_ref().map(|v| v.compound(comment))
    }

    pub fn has_lexicon(&self) -> bool {
        self.vader.is_some()
    }

    /// Scores a comment and an optional 1–5 star rating. The comment decides when it carries
    /// sentiment; otherwise the stars (4–5 positive, 1–2 negative); otherwise neutral.
    pub fn score(&self, rating: Option<u8>, comment: &str) -> Result<Scored, FeedbackError> {
        self.score_with(rating, comment, None)
    }

    /// As [`Scorer::score`], with the comment's sentence embedding for the learned model
    /// (which then decides the label and adds topics the words alone miss).
    pub fn score_with(&self, rating: Option<u8>, comment: &str, embedding: Option<&[f32]>) -> Result<Scored, FeedbackError> {
        if rating.is_some_and(|r| !(1..=5).contains(&r)) {
            return Err(FeedbackError::Invalid("a rating is 1 to 5 stars".into()));
        }
        if comment.chars().count() > MAX_COMMENT_CHARS {
            return Err(FeedbackError::Invalid(format!("a comment is at most {MAX_COMMENT_CHARS} characters")));
        }
        let comment = comment.trim();
        let sentiment = self.vader.as_ref().filter(|_| !comment.is_empty()).map(|v| v.compound(comment));
        let learned = match (&self.model, embedding) {
            (Some(model), Some(e)) if !comment.is_empty() && model.fits(e.len()) => {
                let x = features(e, sentiment.unwrap_or(0.0));
                Some((model.label(&x), model.topics(&x)))
            }
            _ => None,
        };
        if let Some((label, learned_topics)) = learned {
            let mut all = topics(comment);
            for t in learned_topics {
                if !all.contains(&t) {
                    all.push(t);
                }
            }
            all.sort();
            // A learned "neutral" on a comment with stars leaves the stars to speak.
            let label = match (label, rating) {
                (Label::Neutral, Some(4 | 5)) => Label::Positive,
                (Label::Neutral, Some(1 | 2)) => Label::Negative,
                (l, _) => l,
            };
            return Ok(Scored { sentiment, label, topics: all });
        }
        let from_text = sentiment.and_then(|c| {
            if c >= POSITIVE_AT {
                Some(Label::Positive)
            } else if c <= -POSITIVE_AT {
                Some(Label::Negative)
            } else {
                None
            }
        });
        let from_stars = rating.map(|r| match r {
            4 | 5 => Label::Positive,
            1 | 2 => Label::Negative,
            _ => Label::Neutral,
        });
        Ok(Scored { sentiment, label: from_text.or(from_stars).unwrap_or(Label::Neutral), topics: topics(comment) })
    }
}

/// The topics a comment touches, by the words it uses.
pub fn topics(comment: &str) -> Vec<Topic> {
    let words: Vec<String> = comment
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect();
    let has = |phrase: &str| {
        let parts: Vec<&str> = phrase.split(' ').collect();
        words.windows(parts.len()).any(|w| w.iter().zip(&parts).all(|(a, b)| a == b))
    };
    Topic::ALL.into_iter().filter(|t| t.words().iter().any(|p| has(p))).collect()
}

/// One labelled comment of an evaluation set.
#[derive(Debug, Clone)]
pub struct Labelled {
    pub label: Label,
    pub topics: Vec<Topic>,
    pub comment: String,
}

/// Reads the team's labelled set: `label<TAB>topics<TAB>comment`, `#` comments, a header.
pub fn parse_labelled(text: &str) -> Result<Vec<Labelled>, FeedbackError> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() || line.starts_with("label\t") {
            continue;
        }
        let mut parts = line.splitn(3, '\t');
        let (Some(label), Some(topics), Some(comment)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(FeedbackError::Invalid(format!("line {}: expected label, topics and comment", n + 1)));
        };
        let label = Label::parse(label).ok_or_else(|| FeedbackError::Invalid(format!("line {}: unknown label {label:?}", n + 1)))?;
        let topics = if topics == "-" {
            Vec::new()
        } else {
            topics
                .split(',')
                .map(|t| Topic::parse(t.trim()).ok_or_else(|| FeedbackError::Invalid(format!("line {}: unknown topic {t:?}", n + 1))))
                .collect::<Result<_, _>>()?
        };
        out.push(Labelled { label, topics, comment: comment.to_owned() });
    }
    Ok(out)
}

#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    pub comments: usize,
    /// Three classes (positive, neutral, negative), from the comment alone.
    pub sentiment_accuracy: f64,
    /// Positive against negative only (the neutral comments left out).
    pub polar_accuracy: f64,
    pub topic_precision: f64,
    pub topic_recall: f64,
    /// Rows: the label given; columns: the label scored (negative, neutral, positive).
    pub confusion: [[usize; 3]; 3],
}

/// Scores every comment (with its embedding from `embed`, when given) against its labels.
pub fn evaluate(scorer: &Scorer, set: &[Labelled], embed: Option<&dyn Fn(&str) -> Option<Vec<f32>>>) -> Result<Evaluation, FeedbackError> {
    let mut confusion = [[0usize; 3]; 3];
    let (mut tp, mut fp, mut fn_) = (0usize, 0usize, 0usize);
    for item in set {
        let embedding = embed.and_then(|f| f(&item.comment));
        let scored = scorer.score_with(None, &item.comment, embedding.as_deref())?;
        confusion[item.label as usize][scored.label as usize] += 1;
        tp += scored.topics.iter().filter(|t| item.topics.contains(t)).count();
        fp += scored.topics.iter().filter(|t| !item.topics.contains(t)).count();
        fn_ += item.topics.iter().filter(|t| !scored.topics.contains(t)).count();
    }
    let right: usize = (0..3).map(|i| confusion[i][i]).sum();
    let polar = confusion[0][0] + confusion[0][1] + confusion[0][2] + confusion[2][0] + confusion[2][1] + confusion[2][2];
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    Ok(Evaluation {
        comments: set.len(),
        sentiment_accuracy: ratio(right, set.len()),
        polar_accuracy: ratio(confusion[0][0] + confusion[2][2], polar),
        topic_precision: ratio(tp, tp + fp),
        topic_recall: ratio(tp, tp + fn_),
        confusion,
    })
}

//! Sentence embeddings for retrieval: BERT's WordPiece tokenizer (uncased, as the model was
//! trained) and the all-MiniLM-L6-v2 encoder through ONNX Runtime. The assistant uses the
//! cosine of a question with each FAQ question and product name next to its keywords.

use std::collections::HashMap;
use std::path::Path;

use unicode_normalization::UnicodeNormalization;
use vitrine_infer::tensor::Tensor;
use vitrine_infer::SharedModel;

use crate::AssistantError;

/// The registry's name for the model (its folder under `models/`).
pub const MODEL: &str = "sentence_embedding";
/// Longest input in tokens; questions are far shorter (300 characters at most).
const MAX_TOKENS: usize = 128;
const MAX_WORD_CHARS: usize = 100;

/// BERT's uncased WordPiece tokenizer over the model's `vocab.txt`.
pub struct WordPiece {
    ids: HashMap<String, u32>,
    unk: u32,
    cls: u32,
    sep: u32,
}

impl WordPiece {
    pub fn load(vocab: &Path) -> Result<Self, AssistantError> {
        let text = std::fs::read_to_string(vocab).map_err(|e| AssistantError::Model(format!("cannot read {}: {e}", vocab.display())))?;
        Self::parse(&text)
    }

    pub fn parse(vocab: &str) -> Result<Self, AssistantError> {
        let ids: HashMap<String, u32> = vocab.lines().enumerate().map(|(i, t)| (t.to_owned(), i as u32)).collect();
        let id = |t: &str| ids.get(t).copied().ok_or_else(|| AssistantError::Model(format!("the vocabulary has no {t}")));
        Ok(Self { unk: id("[UNK]")?, cls: id("[CLS]")?, sep: id("[SEP]")?, ids })
    }

    /// Token ids of `text` with [CLS] first and [SEP] last.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let mut out = vec![self.cls];
        'words: for word in basic_tokens(text) {
            if word.chars().count() > MAX_WORD_CHARS {
                out.push(self.unk);
                continue;
            }
            let chars: Vec<char> = word.chars().collect();
            let mut pieces = Vec::new();
            let mut start = 0;
            while start < chars.len() {
                let mut end = chars.len();
                let piece = loop {
                    if end == start {
                        out.push(self.unk);
                        continue 'words;
                    }
                    let sub: String = chars[start..end].iter().collect();
                    let key = if start > 0 { format!("##{sub}") } else { sub };
                    if let Some(&id) = self.ids.get(&key) {
                        break id;
                    }
                    end -= 1;
                };
                pieces.push(piece);
                start = end;
            }
            out.extend(pieces);
        }
        out.truncate(MAX_TOKENS - 1);
        out.push(self.sep);
        out
    }
}

/// BERT's basic tokenizer: control characters dropped, lower case, accents stripped, CJK
/// characters and punctuation as tokens of their own, split on white space.
fn basic_tokens(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    let flush = |word: &mut String, tokens: &mut Vec<String>| {
        if !word.is_empty() {
            tokens.push(std::mem::take(word));
        }
    };
    for c in text.chars().flat_map(char::to_lowercase).collect::<String>().nfd() {
        if unicode_normalization::char::is_combining_mark(c) || c == '\u{0}' || c == '\u{fffd}' || (c.is_control() && !c.is_whitespace()) {
            continue;
        }
        if c.is_whitespace() {
            flush(&mut word, &mut tokens);
        } else if is_punctuation(c) || is_cjk(c) {
            flush(&mut word, &mut tokens);
            tokens.push(c.to_string());
        } else {
            word.push(c);
        }
    }
    flush(&mut word, &mut tokens);
    tokens
}

fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation() || (!c.is_alphanumeric() && !c.is_whitespace() && (c as u32) > 127 && !is_cjk(c))
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x20000..=0x2A6DF | 0x2A700..=0x2B73F | 0x2B740..=0x2B81F | 0x2B820..=0x2CEAF | 0xF900..=0xFAFF | 0x2F800..=0x2FA1F)
}

/// The encoder: text in, a unit-length 384-d vector out.
pub struct SentenceEncoder {
    model: SharedModel,
    tokenizer: WordPiece,
}

impl SentenceEncoder {
    /// The registry's model with the vocabulary beside its file.
    pub fn new(model: SharedModel) -> Result<Self, AssistantError> {
        let vocab = model.lock().unwrap_or_else(|e| e.into_inner()).path().with_file_name("vocab.txt");
        Ok(Self { tokenizer: WordPiece::load(&vocab)?, model })
    }

    pub fn embed(&self, text: &str) -> Result<Vec<f32>, AssistantError> {
        let ids = self.tokenizer.encode(text);
        let n = ids.len() as i64;
        let ids: Vec<f32> = ids.into_iter().map(|i| i as f32).collect();
        let mask = vec![1.0f32; ids.len()];
        let mut model = self.model.lock().unwrap_or_else(|e| e.into_inner());
        let out = model
            .run(&[Tensor::owned(vec![1, n], ids), Tensor::owned(vec![1, n], mask)])
            .map_err(|e| AssistantError::Model(e.to_string()))?;
        Ok(out.into_iter().next().map(|t| t.data.into_owned()).unwrap_or_default())
    }
}

pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wordpiece_splits_as_bert_does() {
        let vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhood\n##ie\ncan\ni\nreturn\n?\ncafe\n";
        let wp = WordPiece::parse(vocab).unwrap();
        assert_eq!(wp.encode("Can I return HOODIE?"), vec![2, 6, 7, 8, 4, 5, 9, 3]);
        assert_eq!(wp.encode("Café xyz"), vec![2, 10, 1, 3], "accents stripped, unknown words [UNK]");
        assert_eq!(basic_tokens("二号 size-M"), ["二", "号", "size", "-", "m"]);
    }
}

#[cfg(test)]
mod model_tests {
    use std::path::Path;

    use vitrine_infer::{Registry, Runtime, RuntimeOptions};

    use super::*;

    /// The real model from `models/` (scripts/setup.sh builds it): paraphrases land close,
    /// unrelated questions far.
    #[test]
    fn paraphrases_are_closer_than_unrelated_questions() {
        let runtime = Runtime::init(&RuntimeOptions::default()).expect("ONNX Runtime (scripts/setup.sh fetches it)");
        let registry = Registry::load(&runtime, &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models"));
        let encoder = SentenceEncoder::new(registry.model(MODEL).expect("models/sentence_embedding (scripts/setup.sh builds it)")).unwrap();
        let question = encoder.embed("I lost my receipt, can I still bring this back?").unwrap();
        assert_eq!(question.len(), 384);
        assert!((cosine(&question, &question) - 1.0).abs() < 1e-4, "unit length");
        let returns = encoder.embed("What is your return policy?").unwrap();
        let toilets = encoder.embed("Where are the toilets?").unwrap();
        let hoodie = encoder.embed("Drift Hoodie (apparel)").unwrap();
        let (r, t) = (cosine(&question, &returns), cosine(&question, &toilets));
        assert!(r > 0.3 && r > t + 0.2, "returns {r}, toilets {t}");
        let sweatshirt = encoder.embed("do you have a sweatshirt with a hood").unwrap();
        assert!(cosine(&sweatshirt, &hoodie) > cosine(&sweatshirt, &returns) + 0.2);
    }
}

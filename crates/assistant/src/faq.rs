//! The store's FAQ: a TOML file the store edits (opening hours, returns, fitting rooms, …).
//! Each entry is answered exactly as written; the assistant only picks which one.

use serde::Deserialize;

use crate::text;
use crate::AssistantError;

/// Limits that keep a hand-edited file sane (and a fuzzed one cheap).
const MAX_ENTRIES: usize = 500;
const MAX_ANSWER_CHARS: usize = 2_000;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FaqEntry {
    pub topic: String,
    /// Ways shoppers ask it.
    #[serde(default)]
    pub questions: Vec<String>,
    /// More words (or short phrases) that point to it.
    #[serde(default)]
    pub keywords: Vec<String>,
    pub answer: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faq {
    pub entries: Vec<FaqEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaqFile {
    #[serde(default)]
    faq: Vec<FaqEntry>,
}

impl Faq {
    /// Parses the FAQ file's text; every problem is named with the entry it is in.
    pub fn parse(text: &str) -> Result<Self, AssistantError> {
        let file: FaqFile = toml::from_str(text).map_err(|e| AssistantError::Faq(e.to_string()))?;
        if file.faq.len() > MAX_ENTRIES {
            return Err(AssistantError::Faq(format!("{} entries; at most {MAX_ENTRIES}", file.faq.len())));
        }
        for (i, e) in file.faq.iter().enumerate() {
            let which = format!("entry {} ({:?})", i + 1, e.topic);
            if e.topic.trim().is_empty() || e.answer.trim().is_empty() {
                return Err(AssistantError::Faq(format!("{which}: topic and answer must not be empty")));
            }
            if e.answer.chars().count() > MAX_ANSWER_CHARS {
                return Err(AssistantError::Faq(format!("{which}: the answer is longer than {MAX_ANSWER_CHARS} characters")));
            }
            if text::terms(&e.topic).is_empty() && e.questions.iter().chain(&e.keywords).all(|q| text::terms(q).is_empty()) {
                return Err(AssistantError::Faq(format!("{which}: give it a topic, questions or keywords with words a shopper would use")));
            }
        }
        Ok(Self { entries: file.faq })
    }

    /// The terms an entry is found by: its topic, questions and keywords.
    pub(crate) fn entry_terms(entry: &FaqEntry) -> Vec<String> {
        let mut terms = text::terms(&entry.topic);
        for q in entry.questions.iter().chain(&entry.keywords) {
            terms.extend(text::terms(q));
        }
        terms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_faq_parses_and_bad_files_are_refused_with_the_entry_named() {
        let demo = Faq::parse(include_str!("../../../assets/demo/faq.toml")).unwrap();
        assert!(demo.entries.len() >= 10);
        assert!(demo.entries.iter().any(|e| e.topic == "Returns"));
        let empty = Faq::parse("[[faq]]\ntopic = \"Hours\"\nanswer = \" \"\n").unwrap_err().to_string();
        assert!(empty.contains("entry 1 (\"Hours\")"), "{empty}");
        assert!(Faq::parse("[[faq]]\ntopic = 3\n").is_err());
        assert!(Faq::parse("[[faq]]\ntopic = \"x\"\nanswer = \"y\"\nsecret = 1\n").is_err(), "unknown keys are refused");
        assert_eq!(Faq::parse("").unwrap().entries.len(), 0);
    }
}

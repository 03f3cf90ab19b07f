//! GPT-2's byte-level BPE, as Whisper's tokenizer uses it: token strings by id to read what
//! was said, and merges to write a prompt (the store's product names) in tokens.

use std::collections::HashMap;

use crate::SpeechError;

pub struct Bpe {
    /// Token string (byte-level alphabet) by id.
    tokens: Vec<String>,
    ids: HashMap<String, u32>,
    ranks: HashMap<(String, String), usize>,
    /// Byte-level alphabet: char → byte.
    byte_of: HashMap<char, u8>,
    char_of: [char; 256],
}

/// GPT-2's printable stand-in for every byte.
fn byte_alphabet() -> [char; 256] {
    let mut printable: Vec<u32> = (u32::from('!')..=u32::from('~')).chain(u32::from('¡')..=u32::from('¬')).chain(u32::from('®')..=u32::from('ÿ')).collect();
    let mut chars: Vec<u32> = printable.clone();
    let mut extra = 0;
    for b in 0..256u32 {
        if !printable.contains(&b) {
            printable.push(b);
            chars.push(256 + extra);
            extra += 1;
        }
    }
    let mut table = ['\0'; 256];
    for (b, c) in printable.iter().zip(chars) {
        table[*b as usize] = char::from_u32(c).expect("valid code point");
    }
    table
}

impl Bpe {
    /// `vocabulary` has one token string per line (line n is id n); `tokenizer_json` is the
    /// Hugging Face tokenizer with the merges.
    pub fn parse(vocabulary: &str, tokenizer_json: &str) -> Result<Self, SpeechError> {
        let tokens: Vec<String> = vocabulary.lines().map(str::to_owned).collect();
        let json: serde_json::Value = serde_json::from_str(tokenizer_json).map_err(|e| SpeechError::Model(format!("tokenizer.json: {e}")))?;
        let merges = json["model"]["merges"].as_array().ok_or_else(|| SpeechError::Model("tokenizer.json has no merges".into()))?;
        let mut ranks = HashMap::with_capacity(merges.len());
        for (rank, m) in merges.iter().enumerate() {
            let (a, b) = match m {
                serde_json::Value::String(s) => s.split_once(' ').ok_or_else(|| SpeechError::Model(format!("merge {s:?}")))?,
                _ => return Err(SpeechError::Model("a merge that is not a string".into())),
            };
            ranks.insert((a.to_owned(), b.to_owned()), rank);
        }
        let ids = tokens.iter().enumerate().map(|(i, t)| (t.clone(), i as u32)).collect();
        let char_of = byte_alphabet();
        let byte_of = char_of.iter().enumerate().map(|(b, c)| (*c, b as u8)).collect();
        Ok(Self { tokens, ids, ranks, byte_of, char_of })
    }

    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    pub fn id(&self, token: &str) -> Option<u32> {
        self.ids.get(token).copied()
    }

    /// The text of ordinary tokens (specials and unknown ids are skipped).
    pub fn decode(&self, ids: &[u32]) -> String {
        let bytes: Vec<u8> = ids
            .iter()
            .filter_map(|&i| self.tokens.get(i as usize))
            .filter(|t| !(t.starts_with("<|") && t.ends_with("|>")))
            .flat_map(|t| t.chars().filter_map(|c| self.byte_of.get(&c).copied()))
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    pub fn encode(&self, text: &str) -> Vec<u32> {
        let mut out = Vec::new();
        for piece in pre_tokens(text) {
            let mut parts: Vec<String> = piece.bytes().map(|b| self.char_of[b as usize].to_string()).collect();
            loop {
                let best = parts.windows(2).enumerate().filter_map(|(i, w)| self.ranks.get(&(w[0].clone(), w[1].clone())).map(|r| (*r, i))).min();
                let Some((_, i)) = best else { break };
                let merged = format!("{}{}", parts[i], parts[i + 1]);
                parts.splice(i..i + 2, [merged]);
            }
            out.extend(parts.iter().filter_map(|p| self.id(p)));
        }
        out
    }
}

/// GPT-2's pre-tokenizer: contractions, a space with a run of letters, of digits, or of other
/// symbols, and white space (the last space of a run goes with the next word).
fn pre_tokens(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            let rest: String = chars[i + 1..chars.len().min(i + 3)].iter().collect();
            if let Some(s) = ["re", "ve", "ll", "s", "t", "m", "d"].iter().find(|s| rest.starts_with(**s)) {
                out.push(format!("'{s}"));
                i += 1 + s.len();
                continue;
            }
        }
        let start = i;
        let lead_space = c == ' ' && chars.get(i + 1).is_some_and(|n| !n.is_whitespace());
        let j = if lead_space { i + 1 } else { i };
        let class = |ch: char| if ch.is_alphabetic() { 0 } else if ch.is_numeric() { 1 } else if ch.is_whitespace() { 3 } else { 2 };
        let kind = class(chars[j]);
        if kind == 3 {
            let mut end = i;
            while end < chars.len() && chars[end].is_whitespace() {
                end += 1;
            }
            // Leave one space for the next word.
            if end < chars.len() && end - i > 1 && chars[end - 1] == ' ' {
                end -= 1;
            }
            out.push(chars[i..end].iter().collect());
            i = end;
            continue;
        }
        let mut end = j;
        while end < chars.len() && class(chars[end]) == kind && !(kind == 2 && chars[end] == '\'') {
            end += 1;
        }
        if end == j {
            end += 1;
        }
        out.push(chars[start..end].iter().collect());
        i = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pre_tokens_split_as_gpt2_does() {
        assert_eq!(pre_tokens("Drift Hoodie, it's 54.00!"), ["Drift", " Hoodie", ",", " it", "'s", " 54", ".", "00", "!"]);
        assert_eq!(pre_tokens("a  b"), ["a", " ", " b"]);
    }
}

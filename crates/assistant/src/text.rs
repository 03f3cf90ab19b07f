//! Words as the assistant compares them: lower case, apostrophes dropped ("what's" → "whats",
//! so no stray "s" reads as a size), plurals folded ("hoodies" → "hoodie"), filler words out.

/// Words that carry no meaning for matching.
const STOPWORDS: &[&str] = &[
    "a", "an", "the", "do", "does", "did", "you", "your", "i", "me", "my", "we", "is", "are", "it", "its", "this", "that", "these",
    "those", "in", "on", "of", "for", "to", "and", "or", "please", "can", "could", "would", "will", "there", "have", "has", "got",
    "any", "some", "what", "which", "whats", "how", "be", "with", "at", "by", "from", "im", "if", "one", "ones", "about", "store",
    "shop", "here", "hi", "hello", "hey", "thanks", "thank", "still", "also", "just", "want", "looking", "need", "like", "get",
];

/// Lower-case words of `text`, apostrophes removed, every other non-alphanumeric a break.
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c == '\'' || c == '’' {
            continue;
        }
        if c.is_alphanumeric() {
            word.push(c);
        } else if !word.is_empty() {
            out.push(std::mem::take(&mut word));
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// A plural folded to its singular, crudely but the same way on both sides of a match.
pub fn stem(word: &str) -> String {
    if word.len() > 4 && (word.ends_with("sses") || word.ends_with("shes") || word.ends_with("ches") || word.ends_with("xes")) {
        return word[..word.len() - 2].to_owned();
    }
    if word.len() > 3 && word.ends_with('s') && !word.ends_with("ss") && !word.ends_with("us") {
        return word[..word.len() - 1].to_owned();
    }
    word.to_owned()
}

pub fn is_stopword(word: &str) -> bool {
    STOPWORDS.contains(&word)
}

/// Content terms of `text`: words, stemmed, without filler, digits kept (a "250 g" matters).
pub fn terms(text: &str) -> Vec<String> {
    words(text).iter().filter(|w| !is_stopword(w)).map(|w| stem(w)).collect()
}

/// Whether `phrase` (already lower case, words separated by one space) occurs in `words` as
/// whole words.
pub fn has_phrase(words: &[String], phrase: &str) -> bool {
    let parts: Vec<&str> = phrase.split(' ').collect();
    words.windows(parts.len()).any(|w| w.iter().zip(&parts).all(|(a, b)| a == b || stem(a) == *b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_drop_apostrophes_and_fold_plurals() {
        assert_eq!(words("What's the price of T-shirts?"), ["whats", "the", "price", "of", "t", "shirts"]);
        assert_eq!(terms("Do you have hoodies in dresses?"), ["hoodie", "dress"]);
        assert_eq!(stem("oats"), "oat");
        assert_eq!(stem("dress"), "dress");
        assert!(has_phrase(&words("how much are the oats"), "how much"));
        assert!(has_phrase(&words("in other stores"), "other store"));
        assert!(!has_phrase(&words("much how"), "how much"));
    }
}

//! The fact check: every price, number, size, colour and shelf an answer states must be
//! stated by one of the facts it was given. Whatever writes the answer (the templates here, a
//! language model), this runs before a shopper sees it.

use serde::Serialize;

/// One checkable claim in a text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Claim {
    Price(String),
    Number(String),
    Time(String),
    Size(String),
    Colour(String),
    Shelf(String),
}

const SIZES: &[&str] = &["XXS", "XS", "S", "M", "L", "XL", "XXL", "3XL"];

/// The claims in `text`. `colours` are the colour words known (lower case).
pub fn claims(text: &str, colours: &[String]) -> Vec<Claim> {
    let mut out = Vec::new();
    // Tokens split on whitespace and punctuation that never belongs to a claim.
    for raw in text.split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '(' | ')' | '!' | '?' | '"' | '—' | '–')) {
        let token = raw.trim_end_matches(['.', ':']).trim_start_matches(['.', ':']);
        if token.is_empty() {
            continue;
        }
        let digits_and = |extra: char| token.chars().all(|c| c.is_ascii_digit() || c == extra);
        if is_shelf(token) {
            out.push(Claim::Shelf(token.to_owned()));
        } else if token.contains('.') && digits_and('.') && token.split('.').nth(1).is_some_and(|d| d.len() == 2) {
            out.push(Claim::Price(token.to_owned()));
        } else if token.contains(':') && digits_and(':') {
            out.push(Claim::Time(token.to_owned()));
        } else if token.chars().any(|c| c.is_ascii_digit()) {
            // "3XL" is a size; any other token with digits states a number ("30", "2-4").
            if SIZES.contains(&token) {
                out.push(Claim::Size(token.to_owned()));
            } else {
                for n in token.split(|c: char| !c.is_ascii_digit()).filter(|n| !n.is_empty()) {
                    out.push(Claim::Number(n.to_owned()));
                }
            }
        } else if SIZES.contains(&token) {
            out.push(Claim::Size(token.to_owned()));
        } else {
            let word = token.to_lowercase();
            if colours.contains(&word) {
                out.push(Claim::Colour(word));
            }
        }
    }
    out
}

/// A shelf code like `A1/B2/S1`, or the backroom.
fn is_shelf(token: &str) -> bool {
    token == "BACKROOM"
        || (token.contains('/')
            && token.split('/').all(|part| {
                let mut chars = part.chars();
                chars.next().is_some_and(|c| c.is_ascii_uppercase()) && chars.clone().count() > 0 && chars.all(|c| c.is_ascii_digit())
            }))
}

/// The claims of `answer` that no fact states.
pub fn unsupported(answer: &str, fact_texts: &[&str], colours: &[String]) -> Vec<Claim> {
    let known: Vec<Claim> = fact_texts.iter().flat_map(|t| claims(t, colours)).collect();
    let mut out: Vec<Claim> = Vec::new();
    for claim in claims(answer, colours) {
        if !known.contains(&claim) && !out.contains(&claim) {
            out.push(claim);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_are_found_and_an_invented_one_is_caught() {
        let colours = vec!["coal".to_owned(), "blue".to_owned()];
        let c = claims("Yes: 6 Drift Hoodie in M (Coal 3), 54.00, at A1/B2/S1. Open 9:00 to 20:00, 2-4 days, in 3XL.", &colours);
        assert!(c.contains(&Claim::Number("6".into())));
        assert!(c.contains(&Claim::Size("M".into())));
        assert!(c.contains(&Claim::Colour("coal".into())));
        assert!(c.contains(&Claim::Price("54.00".into())));
        assert!(c.contains(&Claim::Shelf("A1/B2/S1".into())));
        assert!(c.contains(&Claim::Time("9:00".into())));
        assert!(c.contains(&Claim::Number("4".into())));
        assert!(c.contains(&Claim::Size("3XL".into())));
        let facts = ["Drift Hoodie, size M, Coal: 3 here, price 54.00, shelf A1/B2/S1"];
        let bad = unsupported("We have 5 in M at 49.00, in blue.", &facts, &colours);
        assert_eq!(bad, vec![Claim::Number("5".into()), Claim::Price("49.00".into()), Claim::Colour("blue".into())]);
        assert!(unsupported("3 in M, Coal, 54.00 at A1/B2/S1.", &facts, &colours).is_empty());
        assert!(claims("So sorry.", &colours).is_empty());
    }
}

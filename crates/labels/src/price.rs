//! The printed price among a label's text lines: `4.63`, `€4,63`, `4.63 EUR`, `$ 12.99`.

use crate::{Price, TextLine};

const CURRENCY_SIGNS: [char; 3] = ['€', '$', '£'];
const CURRENCY_CODES: [&str; 4] = ["EUR", "USD", "GBP", "CHF"];

/// A price token found in one line.
#[derive(Debug, Clone, PartialEq)]
struct Token {
    cents: i64,
    text: String,
    currency: bool,
    /// The token is all the line holds (a price line, not a price inside a sentence).
    whole_line: bool,
}

/// The most price-like token of all lines: a number with two decimals; a currency mark, a
/// line of its own and taller text each make it more likely (shelf labels print the price
/// biggest). `None` when no line holds such a number.
pub fn parse_price(lines: &[TextLine]) -> Option<Price> {
    let mut best: Option<(f32, Price)> = None;
    for line in lines {
        let height = line_height(line);
        for token in price_tokens(&line.text) {
            let mut score = height.max(1.0) * line.confidence.max(0.05);
            if token.currency {
                score *= 1.5;
            }
            if token.whole_line {
                score *= 1.5;
            }
            if best.as_ref().is_none_or(|(s, _)| score > *s) {
                best = Some((score, Price { cents: token.cents, text: token.text, confidence: line.confidence }));
            }
        }
    }
    best.map(|(_, price)| price)
}

fn line_height(line: &TextLine) -> f32 {
    let [a, b, c, d] = line.quad;
    let dist = |p: [f32; 2], q: [f32; 2]| ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2)).sqrt();
    dist(a, d).max(dist(b, c))
}

/// Every `D{1,4} [.,] DD` in the text that is not part of a longer number, with any
/// currency sign or code right before or after it. A space the recogniser put around the
/// separator is tolerated.
fn price_tokens(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() || (i > 0 && (chars[i - 1].is_ascii_digit() || is_separator_before_digit(&chars, i))) {
            i += 1;
            continue;
        }
        let int_start = i;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        let int_end = i;
        let mut j = i;
        if j < chars.len() && chars[j] == ' ' {
            j += 1;
        }
        if j >= chars.len() || !matches!(chars[j], '.' | ',') || int_end - int_start > 4 {
            continue;
        }
        j += 1;
        if j < chars.len() && chars[j] == ' ' {
            j += 1;
        }
        let frac_start = j;
        while j < chars.len() && chars[j].is_ascii_digit() {
            j += 1;
        }
        if j - frac_start != 2 {
            continue;
        }
        let whole: String = chars[int_start..int_end].iter().collect();
        let frac: String = chars[frac_start..j].iter().collect();
        let (Ok(units), Ok(cents)) = (whole.parse::<i64>(), frac.parse::<i64>()) else { continue };
        let (mut start, mut end) = (int_start, j);
        let mut currency = false;
        // A sign or code just before ("€4,63", "EUR 4.63") or just after ("4.63 €", "4.63EUR").
        let before: String = chars[..start].iter().collect::<String>();
        let before_trimmed = before.trim_end();
        if before_trimmed.chars().last().is_some_and(|c| CURRENCY_SIGNS.contains(&c)) {
            currency = true;
            start = before_trimmed.chars().count() - 1;
        } else if let Some(code) = CURRENCY_CODES.iter().find(|code| before_trimmed.to_ascii_uppercase().ends_with(*code)) {
            currency = true;
            start = before_trimmed.chars().count() - code.len();
        }
        let after: String = chars[end..].iter().collect();
        let after_trimmed = after.trim_start();
        let skipped = after.chars().count() - after_trimmed.chars().count();
        if after_trimmed.starts_with(CURRENCY_SIGNS) {
            currency = true;
            end += skipped + 1;
        } else if let Some(code) = CURRENCY_CODES.iter().find(|code| after_trimmed.to_ascii_uppercase().starts_with(*code)) {
            currency = true;
            end += skipped + code.len();
        }
        let token_text: String = chars[start..end].iter().collect();
        let rest: String = chars[..start].iter().chain(&chars[end..]).collect();
        tokens.push(Token { cents: units * 100 + cents, text: token_text, currency, whole_line: rest.trim().is_empty() });
        i = j;
    }
    tokens
}

/// `chars[i]` is a digit right after "<digit>." or "<digit>,", i.e. the decimals of a number
/// that started earlier.
fn is_separator_before_digit(chars: &[char], i: usize) -> bool {
    i >= 2 && matches!(chars[i - 1], '.' | ',') && chars[i - 2].is_ascii_digit()
}

/// Parses a price as the synthetic labels' JSON writes it (`"4.63"`) into cents.
pub(crate) fn cents_of(text: &str) -> Option<i64> {
    let tokens = price_tokens(text);
    match tokens.as_slice() {
        [only] if only.whole_line => Some(only.cents),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str, height: f32, confidence: f32) -> TextLine {
        TextLine { text: text.to_owned(), confidence, quad: [[0.0, 0.0], [100.0, 0.0], [100.0, height], [0.0, height]] }
    }

    #[test]
    fn reads_common_price_spellings() {
        for (text, cents, shown) in [
            ("4.63", 463, "4.63"),
            ("€4,63", 463, "€4,63"),
            ("4.63 EUR", 463, "4.63 EUR"),
            ("$ 12.99", 1299, "$ 12.99"),
            ("0.22€", 22, "0.22€"),
            ("1299.00", 129900, "1299.00"),
            ("4 .63", 463, "4 .63"),
        ] {
            let price = parse_price(&[line(text, 40.0, 0.9)]).unwrap_or_else(|| panic!("{text}"));
            assert_eq!((price.cents, price.text.as_str()), (cents, shown), "{text}");
        }
    }

    #[test]
    fn ignores_numbers_that_are_not_prices() {
        for text in ["4332198082749", "ADZES MILK", "12345.67", "4.6", "4.637", "", "1.2.34"] {
            assert_eq!(parse_price(&[line(text, 40.0, 0.9)]), None, "{text}");
        }
    }

    #[test]
    fn prefers_the_biggest_price_like_line() {
        let lines = [line("PASTA 500g 1.99/kg", 14.0, 0.95), line("0.99", 42.0, 0.9), line("4332198082749", 12.0, 0.99)];
        assert_eq!(parse_price(&lines).map(|p| p.cents), Some(99));
        let with_currency = [line("3.49", 20.0, 0.9), line("€2,49", 20.0, 0.9)];
        assert_eq!(parse_price(&with_currency).map(|p| p.cents), Some(249));
    }

    #[test]
    fn synthetic_json_prices_parse() {
        assert_eq!(cents_of("4.63"), Some(463));
        assert_eq!(cents_of("17.40"), Some(1740));
        assert_eq!(cents_of("x"), None);
    }
}

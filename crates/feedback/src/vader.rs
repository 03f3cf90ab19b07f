//! VADER (Hutto & Gilbert, ICWSM 2014; vaderSentiment 3.3.2, MIT) ported rule for rule: the
//! lexicon's valences, boosters and dampeners, negation, "but", "least", capitals and
//! exclamation marks, normalised to a compound score in -1..1. Emoji are not mapped (the
//! kiosk's keyboard has none). The tests compare it with the Python package's own scores.

use std::collections::HashMap;

const B_INCR: f64 = 0.293;
const B_DECR: f64 = -0.293;
const C_INCR: f64 = 0.733;
const N_SCALAR: f64 = -0.74;

const NEGATE: &[&str] = &[
    "aint", "arent", "cannot", "cant", "couldnt", "darent", "didnt", "doesnt", "ain't", "aren't", "can't", "couldn't", "daren't", "didn't",
    "doesn't", "dont", "hadnt", "hasnt", "havent", "isnt", "mightnt", "mustnt", "neither", "don't", "hadn't", "hasn't", "haven't", "isn't",
    "mightn't", "mustn't", "neednt", "needn't", "never", "none", "nope", "nor", "not", "nothing", "nowhere", "oughtnt", "shant", "shouldnt",
    "uhuh", "wasnt", "werent", "oughtn't", "shan't", "shouldn't", "uh-uh", "wasn't", "weren't", "without", "wont", "wouldnt", "won't",
    "wouldn't", "rarely", "seldom", "despite",
];

const BOOSTERS_UP: &[&str] = &[
    "absolutely", "amazingly", "awfully", "completely", "considerable", "considerably", "decidedly", "deeply", "effing", "enormous",
    "enormously", "entirely", "especially", "exceptional", "exceptionally", "extreme", "extremely", "fabulously", "flipping", "flippin",
    "frackin", "fracking", "fricking", "frickin", "frigging", "friggin", "fully", "fuckin", "fucking", "fuggin", "fugging", "greatly",
    "hella", "highly", "hugely", "incredible", "incredibly", "intensely", "major", "majorly", "more", "most", "particularly", "purely",
    "quite", "really", "remarkably", "so", "substantially", "thoroughly", "total", "totally", "tremendous", "tremendously", "uber",
    "unbelievably", "unusually", "utter", "utterly", "very",
];

const BOOSTERS_DOWN: &[&str] = &[
    "almost", "barely", "hardly", "just enough", "kind of", "kinda", "kindof", "kind-of", "less", "little", "marginal", "marginally",
    "occasional", "occasionally", "partly", "scarce", "scarcely", "slight", "slightly", "somewhat", "sort of", "sorta", "sortof", "sort-of",
];

const SPECIAL_CASES: &[(&str, f64)] =
    &[("the shit", 3.0), ("the bomb", 3.0), ("bad ass", 1.5), ("badass", 1.5), ("bus stop", 0.0), ("yeah right", -2.0), ("kiss of death", -1.5), ("to die for", 3.0), ("beating heart", 3.5)];

fn booster(word: &str) -> Option<f64> {
    if BOOSTERS_UP.contains(&word) {
        Some(B_INCR)
    } else if BOOSTERS_DOWN.contains(&word) {
        Some(B_DECR)
    } else {
        None
    }
}

fn special_case(seq: &str) -> Option<f64> {
    SPECIAL_CASES.iter().find(|(s, _)| *s == seq).map(|(_, v)| *v)
}

/// Python's `str.isupper()`: some cased character, and every cased character upper case.
fn is_upper(word: &str) -> bool {
    let mut cased = false;
    for c in word.chars() {
        if c.is_lowercase() {
            return false;
        }
        if c.is_uppercase() {
            cased = true;
        }
    }
    cased
}

fn negated(word: &str) -> bool {
    NEGATE.contains(&word) || word.contains("n't")
}

/// The VADER lexicon: word → mean valence (-4..4).
#[derive(Debug, Clone, Default)]
pub struct Vader {
    lexicon: HashMap<String, f64>,
}

impl Vader {
    /// Parses `vader_lexicon.txt` (token, mean valence, … tab-separated).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut lexicon = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let mut parts = line.trim().split('\t');
            let (Some(word), Some(value)) = (parts.next(), parts.next()) else {
                return Err(format!("line {}: expected a word and a valence", n + 1));
            };
            let value: f64 = value.parse().map_err(|_| format!("line {}: {value:?} is not a number", n + 1))?;
            lexicon.insert(word.to_owned(), value);
        }
        if lexicon.len() < 1000 {
            return Err(format!("only {} words: not the VADER lexicon", lexicon.len()));
        }
        Ok(Self { lexicon })
    }

    fn valence(&self, word: &str) -> Option<f64> {
        self.lexicon.get(word).copied()
    }

    /// The compound score, -1 (most negative) to 1, rounded to 4 places as VADER does.
    pub fn compound(&self, text: &str) -> f64 {
        let words: Vec<String> = text.split_whitespace().map(strip_punctuation).collect();
        let lower: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
        let upper_count = words.iter().filter(|w| is_upper(w)).count();
        let cap_diff = upper_count > 0 && upper_count < words.len();
        let mut sentiments: Vec<f64> = Vec::with_capacity(words.len());
        for i in 0..words.len() {
            if booster(&lower[i]).is_some() || (lower[i] == "kind" && lower.get(i + 1).is_some_and(|n| n == "of")) {
                sentiments.push(0.0);
                continue;
            }
            sentiments.push(self.word_valence(&words, &lower, i, cap_diff));
        }
        but_check(&lower, &mut sentiments);
        if sentiments.is_empty() {
            return 0.0;
        }
        let mut sum: f64 = sentiments.iter().sum();
        let emphasis = punctuation_emphasis(text);
        if sum > 0.0 {
            sum += emphasis;
        } else if sum < 0.0 {
            sum -= emphasis;
        }
        let compound = (sum / (sum * sum + 15.0).sqrt()).clamp(-1.0, 1.0);
        (compound * 10_000.0).round() / 10_000.0
    }

    fn word_valence(&self, words: &[String], lower: &[String], i: usize, cap_diff: bool) -> f64 {
        let Some(base) = self.valence(&lower[i]) else { return 0.0 };
        let mut valence = base;
        if lower[i] == "no" && i + 1 < words.len() && self.valence(&lower[i + 1]).is_some() {
            valence = 0.0;
        }
        if (i > 0 && lower[i - 1] == "no") || (i > 1 && lower[i - 2] == "no") || (i > 2 && lower[i - 3] == "no" && (lower[i - 1] == "or" || lower[i - 1] == "nor")) {
            valence = base * N_SCALAR;
        }
        if is_upper(&words[i]) && cap_diff {
            valence += if valence > 0.0 { C_INCR } else { -C_INCR };
        }
        for start in 0..3 {
            if i > start && self.valence(&lower[i - (start + 1)]).is_none() {
                let before = &words[i - (start + 1)];
                let mut s = booster(&before.to_lowercase()).map_or(0.0, |b| {
                    let mut s = if valence < 0.0 { -b } else { b };
                    if is_upper(before) && cap_diff {
                        s += if valence > 0.0 { C_INCR } else { -C_INCR };
                    }
                    s
                });
                if start == 1 && s != 0.0 {
                    s *= 0.95;
                }
                if start == 2 && s != 0.0 {
                    s *= 0.9;
                }
                valence += s;
                valence = negation_check(valence, lower, start, i);
                if start == 2 {
                    valence = idioms_check(valence, lower, i);
                }
            }
        }
        least_check(valence, lower, i, |w| self.valence(w).is_some())
    }
}

/// Leading and trailing punctuation off, unless that leaves two characters or fewer (an
/// emoticon such as ":)").
fn strip_punctuation(token: &str) -> String {
    let stripped = token.trim_matches(|c: char| c.is_ascii_punctuation());
    if stripped.chars().count() <= 2 { token.to_owned() } else { stripped.to_owned() }
}

fn negation_check(valence: f64, lower: &[String], start: usize, i: usize) -> f64 {
    let w = |k: usize| lower[i - k].as_str();
    match start {
        0 if negated(w(1)) => valence * N_SCALAR,
        1 => {
            if w(2) == "never" && (w(1) == "so" || w(1) == "this") {
                valence * 1.25
            } else if w(2) == "without" && w(1) == "doubt" {
                valence
            } else if negated(w(2)) {
                valence * N_SCALAR
            } else {
                valence
            }
        }
        2 => {
            if (w(3) == "never" && (w(2) == "so" || w(2) == "this")) || (w(1) == "so" || w(1) == "this") {
                valence * 1.25
            } else if w(3) == "without" && (w(2) == "doubt" || w(1) == "doubt") {
                valence
            } else if negated(w(3)) {
                valence * N_SCALAR
            } else {
                valence
            }
        }
        _ => valence,
    }
}

fn idioms_check(mut valence: f64, lower: &[String], i: usize) -> f64 {
    let (w0, w1, w2, w3) = (&lower[i], &lower[i - 1], &lower[i - 2], &lower[i - 3]);
    let onezero = format!("{w1} {w0}");
    let twoonezero = format!("{w2} {w1} {w0}");
    let twoone = format!("{w2} {w1}");
    let threetwoone = format!("{w3} {w2} {w1}");
    let threetwo = format!("{w3} {w2}");
    for seq in [&onezero, &twoonezero, &twoone, &threetwoone, &threetwo] {
        if let Some(v) = special_case(seq) {
            valence = v;
            break;
        }
    }
    if lower.len() - 1 > i {
        if let Some(v) = special_case(&format!("{w0} {}", lower[i + 1])) {
            valence = v;
        }
    }
    if lower.len() - 1 > i + 1 {
        if let Some(v) = special_case(&format!("{w0} {} {}", lower[i + 1], lower[i + 2])) {
            valence = v;
        }
    }
    for gram in [&threetwoone, &threetwo, &twoone] {
        if let Some(b) = booster(gram) {
            valence += b;
        }
    }
    valence
}

fn least_check(valence: f64, lower: &[String], i: usize, in_lexicon: impl Fn(&str) -> bool) -> f64 {
    if i > 1 && !in_lexicon(&lower[i - 1]) && lower[i - 1] == "least" {
        if lower[i - 2] != "at" && lower[i - 2] != "very" {
            return valence * N_SCALAR;
        }
    } else if i > 0 && !in_lexicon(&lower[i - 1]) && lower[i - 1] == "least" {
        return valence * N_SCALAR;
    }
    valence
}

/// After "but" a clause counts 1.5×, before it 0.5×: as the Python original does it, which
/// finds each value by its first occurrence in the list.
fn but_check(lower: &[String], sentiments: &mut [f64]) {
    let Some(bi) = lower.iter().position(|w| w == "but") else { return };
    for k in 0..sentiments.len() {
        let value = sentiments[k];
        let si = sentiments.iter().position(|&v| v == value).unwrap_or(k);
        if si < bi {
            sentiments[si] = value * 0.5;
        } else if si > bi {
            sentiments[si] = value * 1.5;
        }
    }
}

fn punctuation_emphasis(text: &str) -> f64 {
    let ep = text.matches('!').count().min(4) as f64 * 0.292;
    let qm = match text.matches('?').count() {
        0 | 1 => 0.0,
        n @ 2..=3 => n as f64 * 0.18,
        _ => 0.96,
    };
    ep + qm
}

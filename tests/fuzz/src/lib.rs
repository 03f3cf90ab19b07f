//! Inputs for fuzzing the parsers: random bytes, and valid seed files mangled by a few edits
//! (cut, spliced, repeated, sprinkled with values parsers trip on), so most cases get past
//! the first line and reach the deeper checks. Cases per parser: `VITRINE_FUZZ_CASES`
//! (default 400; a long run by hand: 100000).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

/// Fragments that break parsers: numbers at the edges, odd text, structure characters.
const NASTY: &[&str] = &[
    "", "0", "-1", "-0", "1e309", "NaN", "9223372036854775807", "-9223372036854775808",
    "18446744073709551616", "4294967296", "0x10", " ", "\"", "\"\"", ",", ",,,", "\n", "\r\n",
    "\t", "\\", "\\u0000", "\u{0}", "\u{feff}", "é", "🧥", "\u{202e}", "null", "true", "[]", "{}",
    "[[", "]]", "{", "}", "=", "#", "'", "''", "\"\"\"", "2025-02-30T25:61:61Z", "2025-03-01T14:03:22Z",
    "1969-12-31T23:59:59Z", "9999-12-31T23:59:59+14:00", "2025-03-01 14:03:22.5+01:00", "A1/B1/S1",
    "BACKROOM", "VT-TEE-ORBIT-M-INK", "GR-OATS-1KG", "000000000001000-00000-kiosk-a", "sold",
    "received", "transferred", "counted", "adjusted", "protocol", "rows", "row", "sku", "facings",
];

/// One edit of a seed text.
#[derive(Debug, Clone)]
pub enum Edit {
    /// Remove `len` bytes at `at` (a fraction of the length, so edits stay in range).
    Cut { at: f64, len: usize },
    /// Insert a nasty fragment.
    Insert { at: f64, fragment: usize },
    /// Repeat the line around `at` `times` times.
    RepeatLine { at: f64, times: usize },
    /// Overwrite one byte with any value.
    Byte { at: f64, value: u8 },
    /// Keep only the first part.
    Truncate { at: f64 },
}

fn edit() -> impl Strategy<Value = Edit> {
    let at = 0.0..1.0f64;
    prop_oneof![
        (at.clone(), 1..40usize).prop_map(|(at, len)| Edit::Cut { at, len }),
        (at.clone(), 0..NASTY.len()).prop_map(|(at, fragment)| Edit::Insert { at, fragment }),
        (at.clone(), 2..50usize).prop_map(|(at, times)| Edit::RepeatLine { at, times }),
        (at.clone(), any::<u8>()).prop_map(|(at, value)| Edit::Byte { at, value }),
        at.prop_map(|at| Edit::Truncate { at }),
    ]
}

/// Mangled inputs stay under this size: repeated lines would otherwise grow them to
/// gigabytes, and a slow case must mean a slow parser, not a huge input.
pub const MAX_INPUT: usize = 64 << 10;

pub fn apply(seed: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut text = seed.to_vec();
    for edit in edits {
        text.truncate(MAX_INPUT);
        let pos = |at: f64, len: usize| ((at * len as f64) as usize).min(len);
        match *edit {
            Edit::Cut { at, len } => {
                let start = pos(at, text.len());
                let end = (start + len).min(text.len());
                text.drain(start..end);
            }
            Edit::Insert { at, fragment } => {
                let start = pos(at, text.len());
                text.splice(start..start, NASTY[fragment].bytes());
            }
            Edit::RepeatLine { at, times } => {
                let middle = pos(at, text.len());
                let start = text[..middle].iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
                let end = text[middle..].iter().position(|b| *b == b'\n').map_or(text.len(), |i| middle + i + 1);
                let line = text[start..end].to_vec();
                for _ in 1..times {
                    if text.len() + line.len() > MAX_INPUT {
                        break;
                    }
                    text.splice(end..end, line.iter().copied());
                }
            }
            Edit::Byte { at, value } => {
                if !text.is_empty() {
                    let i = pos(at, text.len() - 1);
                    text[i] = value;
                }
            }
            Edit::Truncate { at } => {
                let keep = pos(at, text.len());
                text.truncate(keep);
            }
        }
    }
    text.truncate(MAX_INPUT);
    text
}

/// Random bytes one time in five; otherwise one of `seeds` with one to eight edits.
pub fn input(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let count = seeds.len();
    prop_oneof![
        1 => proptest::collection::vec(any::<u8>(), 0..600),
        4 => (0..count, proptest::collection::vec(edit(), 1..8))
            .prop_map(move |(seed, edits)| apply(&seeds[seed], &edits)),
    ]
}

/// One input, shown as (lossy) text when proptest reports a failing case.
#[derive(Clone)]
pub struct Input(pub Vec<u8>);

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} bytes: {:?}", self.0.len(), String::from_utf8_lossy(&self.0))
    }
}

/// How a parser fared over a run.
#[derive(Debug, Default)]
pub struct Tally {
    pub cases: u64,
    pub accepted: u64,
    pub refused: u64,
    pub slowest: Duration,
}

/// Runs `check` over `cases()` inputs with a fixed seed (so a failure reproduces), failing on
/// a panic, on a refusal without a message, or on a case slower than `limit`.
pub fn fuzz(
    name: &str,
    strategy: impl Strategy<Value = Vec<u8>>,
    limit: Duration,
    check: impl FnMut(&[u8]) -> Result<bool, String>,
) -> Tally {
    let cases = cases();
    let config = Config { cases, failure_persistence: None, ..Config::default() };
    let seed = *b"vitrine-fuzz-seed-issue-18-item7";
    let mut runner = TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
    let tally = std::cell::RefCell::new(Tally::default());
    let check = std::cell::RefCell::new(check);
    let result = runner.run(&strategy.prop_map(Input), |Input(bytes)| {
        let started = Instant::now();
        let outcome = (check.borrow_mut())(&bytes);
        let took = started.elapsed();
        let mut tally = tally.borrow_mut();
        tally.cases += 1;
        tally.slowest = tally.slowest.max(took);
        prop_assert!(took <= limit, "{name}: one input took {took:?} (limit {limit:?})");
        match outcome {
            Ok(true) => tally.accepted += 1,
            Ok(false) => tally.refused += 1,
            Err(problem) => return Err(TestCaseError::fail(format!("{name}: {problem}"))),
        }
        Ok(())
    });
    let tally = tally.into_inner();
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
    eprintln!(
        "fuzz {name}: {} cases, {} accepted, {} refused with a message, slowest {:.1} ms, no panic",
        tally.cases,
        tally.accepted,
        tally.refused,
        tally.slowest.as_secs_f64() * 1000.0
    );
    tally
}

pub fn cases() -> u32 {
    std::env::var("VITRINE_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(400)
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

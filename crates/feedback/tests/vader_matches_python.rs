//! The Rust port against the Python package's own scores (tests/data/feedback/
//! vader_reference.tsv, written by models/sentiment/vader_reference.py), with the lexicon
//! scripts/setup.sh takes from the same wheel.

use std::path::Path;

use vitrine_feedback::{topics, Label, Scorer, Topic, Vader};

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn lexicon() -> String {
    let path = root().join("models/sentiment/vader_lexicon.txt");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e} (scripts/setup.sh fetches it)", path.display()))
}

#[test]
fn every_reference_sentence_scores_as_the_python_package_does() {
    let vader = Vader::parse(&lexicon()).unwrap();
    let reference = std::fs::read_to_string(root().join("tests/data/feedback/vader_reference.tsv")).unwrap();
    let mut compared = 0;
    for line in reference.lines().filter(|l| !l.starts_with('#')) {
        let (want, sentence) = line.split_once('\t').unwrap();
        let want: f64 = want.parse().unwrap();
        let got = vader.compound(sentence);
        assert!((got - want).abs() < 1e-4, "{sentence:?}: Rust {got}, Python {want}");
        compared += 1;
    }
    assert!(compared >= 130, "{compared}");
}

#[test]
fn comments_decide_then_stars_and_topics_come_from_the_words() {
    let scorer = Scorer::new(Some(&lexicon())).unwrap();
    let s = scorer.score(Some(5), "The clerk was rude and the queue was long.").unwrap();
    assert_eq!(s.label, Label::Negative, "the words outweigh the stars: {s:?}");
    assert_eq!(s.topics, vec![Topic::Staff, Topic::Store]);
    assert_eq!(scorer.score(Some(2), "").unwrap().label, Label::Negative);
    assert_eq!(scorer.score(Some(3), "I came for oats.").unwrap().label, Label::Neutral);
    assert_eq!(scorer.score(None, "").unwrap().label, Label::Neutral);
    assert!(scorer.score(Some(6), "").is_err());
    assert!(scorer.score(None, &"x".repeat(501)).is_err());
    // Without the lexicon the stars still count.
    let bare = Scorer::new(None).unwrap();
    assert_eq!(bare.score(Some(5), "meh").unwrap().label, Label::Positive);
    assert_eq!(topics("Too pricey, and sold out in M"), vec![Topic::Price, Topic::Stock]);
}

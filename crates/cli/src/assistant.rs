//! `vitrine ask` (the Ask screen's answers, headless) and `vitrine eval assistant`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;

#[derive(clap::Args)]
pub struct AskArgs {
    /// The question; more than one are asked in turn, as one conversation ("and in L?").
    #[arg(required_unless_present = "wav")]
    questions: Vec<String>,
    /// A spoken question (WAV): recognised on the device, then asked (before any typed ones).
    #[arg(long)]
    wav: Option<PathBuf>,
    /// Seconds to wait for the basket model ("what goes with …") before answering from
    /// popularity.
    #[arg(long, default_value_t = 60)]
    wait: u64,
    /// Write the last answer read aloud (as the kiosk's "Read aloud" speaks it) to this WAV file.
    #[arg(long, value_name = "WAV")]
    speak: Option<PathBuf>,
}

/// `vitrine ask`: each answer with the facts it used; the last line is the last answer as JSON.
pub fn ask(config: vitrine_config::Config, args: AskArgs) -> Result<()> {
    let app = vitrine_app::App::start(config);
    app.wait_for_basket_model(Duration::from_secs(args.wait))?;
    // The last answer as JSON, and its text (what --speak reads).
    let (mut last, mut last_answer) = (None, String::new());
    if let Some(path) = &args.wav {
        let bytes = std::fs::read(path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        let spoken = app.ask_spoken(&bytes)?;
        println!("heard ({:.1} s of audio, recognised in {:.0} ms): {:?}", spoken.seconds, spoken.recognition_ms, spoken.heard);
        match &spoken.reply {
            Some(reply) => println!("A: {}\n", reply.answer),
            None => println!("{}\n", spoken.message.as_deref().unwrap_or("nothing heard")),
        }
        last_answer = spoken.reply.as_ref().map(|r| r.answer.clone()).unwrap_or_default();
        last = Some(serde_json::to_value(&spoken)?);
    }
    for question in &args.questions {
        let reply = match app.ask(question) {
            Ok(reply) => reply,
            // A question the assistant refuses (empty, too long) is answered, not a failure.
            Err(vitrine_app::AppError::Invalid(message)) => {
                println!("Q: {question}\nA: {message}\n");
                last = Some(serde_json::json!({ "question": question, "answer": message, "refused": true }));
                last_answer = message;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        println!("Q: {}\nA: {}", reply.question, reply.answer);
        for card in &reply.cards {
            println!("   [{}] {} {:.2} shelf {}", card.product_code, card.name, card.price_cents as f64 / 100.0, card.location.as_deref().unwrap_or("-"));
        }
        for fact in &reply.facts {
            println!("   fact: {}", fact.text);
        }
        if let Some(e) = &reply.faq_error {
            println!("   note: {e}");
        }
        println!();
        last = Some(serde_json::to_value(&reply)?);
        last_answer = reply.answer;
    }
    if let Some(path) = &args.speak {
        let speech = app.speak(&last_answer)?;
        std::fs::write(path, &speech.wav).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
        println!("read aloud: {:.1} s of speech in {:.0} ms -> {}", speech.seconds, speech.synth_ms, path.display());
    }
    println!("{}", serde_json::to_string(&last)?);
    Ok(())
}

#[derive(clap::Args)]
pub struct EvalAssistantArgs {
    /// The question set.
    #[arg(long, default_value = "tests/data/assistant/questions.toml")]
    questions: std::path::PathBuf,
    /// Print every wrong answer of the tuning part (the held-out part's are counted only).
    #[arg(long)]
    show_wrong: bool,
}

#[derive(serde::Deserialize)]
struct QuestionSet {
    aliases: std::collections::BTreeMap<String, Vec<String>>,
    template: Vec<Template>,
    faq: Vec<FaqQuestions>,
    unknown: UnknownQuestions,
}

#[derive(serde::Deserialize)]
struct Template {
    kind: String,
    turns: Vec<String>,
}

#[derive(serde::Deserialize)]
struct FaqQuestions {
    topic: String,
    questions: Vec<String>,
}

#[derive(serde::Deserialize)]
struct UnknownQuestions {
    questions: Vec<String>,
}

/// One conversation to run and what its last answer must hold.
struct Case {
    turns: Vec<String>,
    kind: String,
    held_out: bool,
    product: Option<String>,
    size: Option<String>,
    colour: Option<String>,
    /// The size or colour asked for that the product does not come in.
    missing: Option<String>,
    faq_topic: Option<String>,
}

const SIZE_WORDS: &[(&str, &str)] = &[("S", "small"), ("M", "medium"), ("L", "large")];
const MISSING_COLOURS: &[&str] = &["blue", "red", "black", "pink"];

fn expand(set: &QuestionSet, knowledge: &vitrine_assistant::Knowledge) -> Vec<Case> {
    let mut cases = Vec::new();
    for (t, template) in set.template.iter().enumerate() {
        let held_out = t % 3 == 2;
        let text = template.turns.join("\n");
        for (code, aliases) in &set.aliases {
            let Some(p) = knowledge.products.iter().find(|p| &p.code == code) else { continue };
            let sizes = p.sizes();
            let colours = p.colours();
            let needs_size = text.contains("{size}") || text.contains("{size_word}") || text.contains("{missing_size}");
            let needs_colour = text.contains("{colour}") || text.contains("{missing_colour}");
            if (needs_size && sizes.is_empty()) || (needs_colour && colours.is_empty()) {
                continue;
            }
            let size_choices: Vec<Option<String>> = if text.contains("{size_word}") {
                sizes.iter().filter(|s| SIZE_WORDS.iter().any(|(l, _)| l == s)).cloned().map(Some).collect()
            } else if text.contains("{size}") {
                sizes.iter().cloned().map(Some).collect()
            } else {
                vec![None]
            };
            let colour_choices: Vec<Option<String>> = if text.contains("{colour}") { colours.iter().cloned().map(Some).collect() } else { vec![None] };
            let missing: Vec<Option<String>> = if text.contains("{missing_size}") {
                ["XS", "S", "M", "L", "XL", "XXL"].iter().filter(|s| !sizes.iter().any(|x| x == *s)).map(|s| Some(s.to_string())).collect()
            } else if text.contains("{missing_colour}") {
                MISSING_COLOURS.iter().map(|c| Some(c.to_string())).collect()
            } else {
                vec![None]
            };
            let mut k = t;
            for size in &size_choices {
                for colour in &colour_choices {
                    for missing in &missing {
                        let alias = &aliases[k % aliases.len()];
                        k += 1;
                        let fill = |turn: &str| {
                            let mut s = turn.replace("{p}", alias);
                            if let Some(size) = size {
                                s = s.replace("{size}", size);
                                if let Some((_, w)) = SIZE_WORDS.iter().find(|(l, _)| l == size) {
                                    s = s.replace("{size_word}", w);
                                }
                            }
                            if let Some(c) = colour {
                                s = s.replace("{colour}", &c.to_lowercase());
                            }
                            if let Some(m) = missing {
                                s = s.replace("{missing_size}", m).replace("{missing_colour}", m);
                            }
                            s
                        };
                        cases.push(Case {
                            turns: template.turns.iter().map(|t| fill(t)).collect(),
                            kind: template.kind.clone(),
                            held_out,
                            product: Some(code.clone()),
                            size: size.clone(),
                            colour: colour.clone(),
                            missing: missing.clone(),
                            faq_topic: None,
                        });
                    }
                }
            }
        }
    }
    for entry in &set.faq {
        for (i, q) in entry.questions.iter().enumerate() {
            cases.push(Case { turns: vec![q.clone()], kind: "faq".into(), held_out: i % 3 == 2, product: None, size: None, colour: None, missing: None, faq_topic: Some(entry.topic.clone()) });
        }
    }
    for (i, q) in set.unknown.questions.iter().enumerate() {
        cases.push(Case { turns: vec![q.clone()], kind: "unknown".into(), held_out: i % 3 == 2, product: None, size: None, colour: None, missing: None, faq_topic: None });
    }
    cases
}

/// Whether the last answer states the store's truth for the case (read from `knowledge`, not
/// from the answer's own facts), and why not.
fn judge(case: &Case, reply: &vitrine_app::AskReply, knowledge: &vitrine_assistant::Knowledge, faq: &vitrine_assistant::Faq, colours: &[String]) -> Result<(), String> {
    use vitrine_assistant::{claims, money, Claim};
    let said = claims(&reply.answer, colours);
    let has = |c: Claim| said.contains(&c);
    let text = reply.answer.as_str();
    if case.kind == "unknown" {
        return if reply.unknown { Ok(()) } else { Err("answered instead of saying it does not know".into()) };
    }
    if case.kind == "faq" {
        let entry = faq.entries.iter().find(|e| Some(&e.topic) == case.faq_topic.as_ref()).ok_or("no such FAQ topic")?;
        return if text.contains(entry.answer.as_str()) { Ok(()) } else { Err(format!("expected the FAQ on {}", entry.topic)) };
    }
    let p = knowledge.products.iter().find(|p| Some(&p.code) == case.product.as_ref()).ok_or("no such product")?;
    let sel: Vec<&vitrine_assistant::VariantInfo> = p
        .variants
        .iter()
        .filter(|v| case.size.as_ref().is_none_or(|s| v.size.as_ref() == Some(s)))
        .filter(|v| case.colour.as_ref().is_none_or(|c| v.colour.as_ref() == Some(c)))
        .collect();
    let wrong = |what: String| Err(what);
    match case.kind.as_str() {
        "stock" => {
            let units: i64 = sel.iter().map(|v| v.stock_here).sum();
            if units > 0 && has(Claim::Number(units.to_string())) && !text.contains("sold out") {
                Ok(())
            } else if units == 0 && text.contains("sold out") {
                Ok(())
            } else {
                wrong(format!("expected {units} in stock"))
            }
        }
        "price" => {
            let low = sel.iter().map(|v| p.price_today(v)).min().unwrap_or(0);
            let usual = sel.iter().map(|v| v.price_cents).max().unwrap_or(0);
            if has(Claim::Price(money(low))) && (p.promotion.is_none() || has(Claim::Price(money(usual)))) {
                Ok(())
            } else {
                wrong(format!("expected {}{}", money(low), if p.promotion.is_some() { format!(" instead of {}", money(usual)) } else { String::new() }))
            }
        }
        "location" => {
            let shelf = p.variants.iter().find_map(|v| v.location.clone()).unwrap_or_default();
            if has(Claim::Shelf(shelf.clone())) { Ok(()) } else { wrong(format!("expected shelf {shelf}")) }
        }
        "sizes" => {
            let sizes = p.sizes();
            if sizes.is_empty() && text.contains("one size") || !sizes.is_empty() && sizes.iter().all(|s| has(Claim::Size(s.clone()))) {
                Ok(())
            } else {
                wrong(format!("expected sizes {sizes:?}"))
            }
        }
        "colours" => {
            let all = p.colours();
            if all.is_empty() && text.contains("one colour") || !all.is_empty() && all.iter().all(|c| has(Claim::Colour(c.to_lowercase()))) {
                Ok(())
            } else {
                wrong(format!("expected colours {all:?}"))
            }
        }
        "elsewhere" => {
            let mut stores: Vec<(String, i64)> = Vec::new();
            for v in &sel {
                for (s, n) in &v.elsewhere {
                    match stores.iter_mut().find(|(x, _)| x == s) {
                        Some(e) => e.1 += n,
                        None => stores.push((s.clone(), *n)),
                    }
                }
            }
            stores.retain(|(_, n)| *n > 0);
            if stores.is_empty() {
                return if text.contains("none") { Ok(()) } else { wrong("expected none at the other stores".into()) };
            }
            let lower = text.to_lowercase();
            if stores.iter().all(|(s, n)| lower.contains(&s.trim_start_matches("demo-").replace('-', " ")) && has(Claim::Number(n.to_string()))) {
                Ok(())
            } else {
                wrong(format!("expected other stores {stores:?}"))
            }
        }
        "pairing" => {
            let others: Vec<&vitrine_app::ProductCard> = reply.cards.iter().filter(|c| c.product_code != p.code).collect();
            let in_stock = |code: &str| knowledge.products.iter().find(|q| q.code == code).is_some_and(|q| q.variants.iter().any(|v| v.stock_here > 0));
            if !others.is_empty() && others.iter().all(|c| in_stock(&c.product_code) && text.contains(&c.name)) {
                Ok(())
            } else {
                wrong("expected products in stock that go with it".into())
            }
        }
        "not_offered_size" => {
            let sizes = p.sizes();
            if text.contains("does not come in") && sizes.iter().all(|s| has(Claim::Size(s.clone()))) && !text.starts_with("Yes") {
                Ok(())
            } else {
                wrong(format!("expected: not in {:?}; sizes {sizes:?}", case.missing))
            }
        }
        "not_offered_colour" => {
            let all = p.colours();
            if (text.contains("not made in") || text.contains("one colour only")) && all.iter().all(|c| has(Claim::Colour(c.to_lowercase()))) {
                Ok(())
            } else {
                wrong(format!("expected: not in {:?}; colours {all:?}", case.missing))
            }
        }
        other => wrong(format!("unknown kind {other}")),
    }
}

struct SpokenFigures {
    questions: usize,
    wer: f64,
    same_answer: f64,
    p95_ms: f64,
    /// Word error rate per speech engine ("espeak-ng", "flite"), over its own questions.
    wer_by_engine: Vec<(&'static str, f64, usize)>,
}

/// The questions said aloud: every fifth one-turn product or FAQ question.
fn spoken_set(cases: &[Case]) -> impl Iterator<Item = &Case> {
    cases.iter().filter(|c| c.turns.len() == 1 && c.kind != "unknown").step_by(5)
}

/// A synthetic voice for the spoken set.
enum Voice {
    Espeak { voice: &'static str, speed: &'static str },
    Flite(vitrine_speech::Synthesizer),
}

impl Voice {
    fn engine(&self) -> &'static str {
        match self {
            Voice::Espeak { .. } => "espeak-ng",
            Voice::Flite(_) => "flite",
        }
    }

    /// WAV bytes in memory, never a file.
    fn say(&self, text: &str) -> Option<Vec<u8>> {
        match self {
            Voice::Espeak { voice, speed } => {
                let out = std::process::Command::new("espeak-ng").args(["-v", voice, "-s", speed, "--stdout", text]).output().ok()?;
                out.status.success().then_some(out.stdout)
            }
            Voice::Flite(synth) => synth.speak(text).ok().map(|s| s.wav),
        }
    }
}

/// The spoken set ([`spoken_set`]), each question said twice: by espeak-ng (three voices in
/// turn) and by Flite (three voices in turn), in memory, never a file; each recognised through
/// the kiosk's own path: word error rate (overall and per engine), and how often the spoken
/// question gets the same answer as the typed one.
fn spoken_figures(app: &vitrine_app::App, cases: &[Case], show: bool) -> Option<SpokenFigures> {
    let mut engines: Vec<Vec<Voice>> = Vec::new();
    if std::process::Command::new("espeak-ng").arg("--version").output().is_ok() {
        engines.push([("en-us", "150"), ("en-gb", "140"), ("en-us+f3", "160")].into_iter().map(|(voice, speed)| Voice::Espeak { voice, speed }).collect());
    } else {
        eprintln!("espeak-ng voices not measured: espeak-ng is not installed (scripts/setup.sh --test-deps installs it)");
    }
    let flite: Vec<Voice> = ["slt", "rms", "awb"].into_iter().filter_map(|v| vitrine_speech::Synthesizer::from_spec(&format!("flite:{v}")).ok()).map(Voice::Flite).collect();
    if flite.first().and_then(|v| v.say("test")).is_some() {
        engines.push(flite);
    } else {
        eprintln!("Flite voices not measured: flite is not installed (scripts/setup.sh installs it)");
    }
    if engines.is_empty() {
        return None;
    }
    let (mut errors, mut words, mut same, mut n) = (0usize, 0usize, 0usize, 0usize);
    let mut per_engine: Vec<(usize, usize, usize)> = vec![(0, 0, 0); engines.len()];
    let mut times = Vec::new();
    for (i, case) in spoken_set(cases).enumerate() {
        let question = &case.turns[0];
        app.end_assistant_session();
        let typed = app.ask(question).ok()?.answer;
        for (e, voices) in engines.iter().enumerate() {
            let voice = &voices[i % voices.len()];
            let Some(wav) = voice.say(question) else { continue };
            app.end_assistant_session();
            let Ok(heard) = app.ask_spoken(&wav) else { continue };
            times.push(heard.recognition_ms);
            let (err, w) = vitrine_speech::word_errors(question, &heard.heard);
            errors += err;
            words += w;
            n += 1;
            per_engine[e] = (per_engine[e].0 + err, per_engine[e].1 + w, per_engine[e].2 + 1);
            if heard.reply.as_ref().is_some_and(|r| r.answer == typed) {
                same += 1;
            } else if show {
                eprintln!("SPOKEN {}: {question:?} heard as {:?}", voice.engine(), heard.heard);
            }
        }
    }
    app.end_assistant_session();
    let wer_by_engine = engines.iter().zip(&per_engine).map(|(voices, &(e, w, q))| (voices[0].engine(), e as f64 / w.max(1) as f64, q)).collect();
    Some(SpokenFigures { questions: n, wer: errors as f64 / words.max(1) as f64, same_answer: same as f64 / n.max(1) as f64, p95_ms: p95(&mut times), wer_by_engine })
}

struct ReadAloudFigures {
    answers: usize,
    wer: f64,
    p95_ms: f64,
}

/// The answers to the same questions as the spoken set, read aloud as the kiosk reads them
/// (Flite) and heard back by the kiosk's recogniser: how much of each answer a listener's
/// ear (standing in: Whisper) gets, and how long the speaking takes.
fn read_aloud_figures(app: &vitrine_app::App, cases: &[Case], show: bool) -> Option<ReadAloudFigures> {
    let (mut errors, mut words, mut n) = (0usize, 0usize, 0usize);
    let mut times = Vec::new();
    for case in spoken_set(cases) {
        app.end_assistant_session();
        let Ok(reply) = app.ask(&case.turns[0]) else { continue };
        let speech = match app.speak(&reply.answer) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("answers read aloud not measured: {e}");
                return None;
            }
        };
        times.push(speech.synth_ms);
        let Ok(heard) = app.transcribe(&speech.wav) else { continue };
        let (e, w) = vitrine_speech::word_errors(&speech.text, &heard.heard);
        if show && e * 4 > w {
            eprintln!("READ ALOUD: {:?} heard as {:?}", speech.text, heard.heard);
        }
        errors += e;
        words += w;
        n += 1;
    }
    app.end_assistant_session();
    Some(ReadAloudFigures { answers: n, wer: errors as f64 / words.max(1) as f64, p95_ms: p95(&mut times) })
}

/// Claims no part of the store supports: a price, shelf, size or colour it does not have.
fn invented(reply: &vitrine_app::AskReply, case: &Case, knowledge: &vitrine_assistant::Knowledge, faq: &vitrine_assistant::Faq, colours: &[String]) -> Vec<vitrine_assistant::Claim> {
    use vitrine_assistant::{claims, money, Claim};
    let faq_claims: Vec<Claim> = faq.entries.iter().flat_map(|e| claims(&e.answer, colours)).collect();
    let mut bad: Vec<Claim> = reply.unsupported.clone();
    for claim in claims(&reply.answer, colours) {
        let ok = match &claim {
            Claim::Price(v) => knowledge.products.iter().any(|p| p.variants.iter().any(|x| money(p.price_today(x)) == *v || money(x.price_cents) == *v)),
            Claim::Shelf(v) => knowledge.products.iter().any(|p| p.variants.iter().any(|x| x.location.as_ref() == Some(v))),
            Claim::Size(v) => case.missing.as_ref() == Some(v) || knowledge.products.iter().any(|p| p.sizes().contains(v)),
            Claim::Colour(v) => case.missing.as_ref() == Some(v) || knowledge.products.iter().any(|p| p.colours().iter().any(|c| c.to_lowercase() == *v)),
            // Counts are judged by fact accuracy; a time only the FAQ gives.
            Claim::Number(_) => true,
            Claim::Time(_) => faq_claims.contains(&claim),
        };
        if !ok && !faq_claims.contains(&claim) {
            bad.push(claim);
        }
    }
    bad
}

fn p95(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    values[((values.len() as f64 * 0.95).ceil() as usize).clamp(1, values.len()) - 1]
}

/// `vitrine eval assistant`: the question set against a fresh demo store.
pub fn eval(mut config: vitrine_config::Config, args: EvalAssistantArgs) -> Result<()> {
    let set: QuestionSet = toml::from_str(&std::fs::read_to_string(&args.questions).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", args.questions.display()))?)?;
    let dir = tempfile::tempdir()?;
    config.store.database = dir.path().join("eval.db");
    config.store.seed_demo = true;
    config.sync.hq_url = None;
    let faq = vitrine_assistant::Faq::parse(&std::fs::read_to_string(&config.assistant.faq_file)?)?;
    let config_for_feedback = config.clone();
    let app = vitrine_app::App::start(config);
    app.wait_for_basket_model(Duration::from_secs(120))?;
    let knowledge = app.assistant_knowledge()?;
    let colours: Vec<String> = vitrine_assistant::Index::new(&knowledge, &faq).colour_words().to_vec();
    let cases = expand(&set, &knowledge);
    eprintln!("{} questions ({} held out), {} turns", cases.len(), cases.iter().filter(|c| c.held_out).count(), cases.iter().map(|c| c.turns.len()).sum::<usize>());

    let (mut right, mut right_tune, mut right_held, mut n_tune, mut n_held) = (0usize, 0usize, 0usize, 0usize, 0usize);
    let (mut unknown_total, mut unknown_ok, mut invented_answers) = (0usize, 0usize, 0usize);
    let (mut retrieval, mut first_words, mut answer) = (Vec::new(), Vec::new(), Vec::new());
    let mut by_kind: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
    for (i, case) in cases.iter().enumerate() {
        app.end_assistant_session();
        let mut last = None;
        for turn in &case.turns {
            let reply = app.ask(turn)?;
            retrieval.push(reply.timings.retrieval_ms);
            first_words.push(reply.timings.first_words_ms);
            answer.push(reply.timings.answer_ms);
            last = Some(reply);
        }
        let reply = last.expect("every case has a turn");
        let verdict = judge(case, &reply, &knowledge, &faq, &colours);
        let bad = invented(&reply, case, &knowledge, &faq, &colours);
        let ok = verdict.is_ok() && bad.is_empty();
        if !bad.is_empty() {
            invented_answers += 1;
        }
        right += ok as usize;
        if case.held_out {
            n_held += 1;
            right_held += ok as usize;
        } else {
            n_tune += 1;
            right_tune += ok as usize;
        }
        if case.kind == "unknown" {
            unknown_total += 1;
            unknown_ok += reply.unknown as usize;
        }
        let e = by_kind.entry(case.kind.clone()).or_default();
        e.0 += 1;
        e.1 += ok as usize;
        if !ok && args.show_wrong && !case.held_out {
            eprintln!("WRONG {}: {:?}\n  → {}\n  {}{}", case.kind, case.turns, reply.answer, verdict.err().unwrap_or_default(), if bad.is_empty() { String::new() } else { format!(" invented {bad:?}") });
        }
        if (i + 1) % 100 == 0 {
            eprintln!("{} / {}", i + 1, cases.len());
        }
    }
    let spoken = spoken_figures(&app, &cases, args.show_wrong);
    let read_aloud = read_aloud_figures(&app, &cases, args.show_wrong);
    let n = cases.len();
    let sentiment = feedback_figures(&config_for_feedback, std::path::Path::new("tests/data/feedback/held_out.tsv"), std::path::Path::new("tests/data/feedback/labelled.tsv"))
        .map_err(|e| eprintln!("sentiment not measured: {e}"))
        .ok();
    for (kind, (total, ok)) in &by_kind {
        println!("{kind:<20} {ok:>4} / {total:<4} {:.3}", *ok as f64 / *total as f64);
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let figures = serde_json::json!({
        "questions": n,
        "turns": retrieval.len(),
        "held_out": n_held,
        "writer": "facts",
        "fact_accuracy": ratio(right, n),
        "fact_accuracy_tuning": ratio(right_tune, n_tune),
        "fact_accuracy_held_out": ratio(right_held, n_held),
        "invented_facts": invented_answers,
        "unknown_handled": ratio(unknown_ok, unknown_total),
        "retrieval_p95_ms": p95(&mut retrieval),
        "first_words_p95_ms": p95(&mut first_words),
        "answer_p95_ms": p95(&mut answer),
        "asr_wer": spoken.as_ref().map(|s| s.wer),
        "asr_questions": spoken.as_ref().map(|s| s.questions),
        "spoken_same_answer": spoken.as_ref().map(|s| s.same_answer),
        "asr_p95_ms": spoken.as_ref().map(|s| s.p95_ms),
        "asr_wer_by_engine": spoken.as_ref().map(|s| s.wer_by_engine.iter().map(|(engine, wer, questions)| serde_json::json!({ "engine": engine, "wer": wer, "questions": questions })).collect::<Vec<_>>()),
        "read_aloud_wer": read_aloud.as_ref().map(|r| r.wer),
        "read_aloud_answers": read_aloud.as_ref().map(|r| r.answers),
        "read_aloud_p95_ms": read_aloud.as_ref().map(|r| r.p95_ms),
        "sentiment_accuracy": sentiment.map(|s| s.kiosk.sentiment_accuracy),
    });
    println!("{figures}");
    Ok(())
}

#[derive(clap::Args)]
pub struct EvalFeedbackArgs {
    /// The held-out labelled comments (never used to train or choose anything).
    #[arg(long, default_value = "tests/data/feedback/held_out.tsv")]
    held_out: PathBuf,
    /// The comments the model was trained on (reported beside, for the gap).
    #[arg(long, default_value = "tests/data/feedback/labelled.tsv")]
    tuning: PathBuf,
}

#[derive(clap::Args)]
pub struct TrainFeedbackArgs {
    /// Labelled comments to learn from.
    #[arg(long, default_value = "tests/data/feedback/labelled.tsv")]
    set: PathBuf,
    /// Where the weights go (default: models/sentiment/classifier.json in the models folder).
    #[arg(long)]
    out: Option<PathBuf>,
}


fn read_set(path: &std::path::Path) -> Result<Vec<vitrine_feedback::Labelled>> {
    let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    Ok(vitrine_feedback::parse_labelled(&text)?)
}

fn lexicon_scorer(config: &vitrine_config::Config) -> Result<vitrine_feedback::Scorer> {
    let lexicon_path = vitrine_app::sentiment_lexicon_path(config);
    let lexicon = std::fs::read_to_string(&lexicon_path).map_err(|e| anyhow::anyhow!("cannot read {}: {e} (scripts/setup.sh fetches it)", lexicon_path.display()))?;
    Ok(vitrine_feedback::Scorer::new(Some(&lexicon))?)
}

/// Held-out figures of the kiosk's scorer (lexicon + learned model) and of VADER alone.
pub struct FeedbackFigures {
    pub kiosk: vitrine_feedback::Evaluation,
    pub kiosk_tuning: vitrine_feedback::Evaluation,
    pub vader_only: vitrine_feedback::Evaluation,
}

fn feedback_figures(config: &vitrine_config::Config, held_out: &std::path::Path, tuning: &std::path::Path) -> Result<FeedbackFigures> {
    let app = vitrine_app::App::start(config.clone());
    let model_path = vitrine_app::feedback_model_path(config);
    let model: vitrine_feedback::FeedbackModel = serde_json::from_str(&std::fs::read_to_string(&model_path).map_err(|e| anyhow::anyhow!("cannot read {}: {e} (`vitrine train feedback` writes it)", model_path.display()))?)?;
    let kiosk = lexicon_scorer(config)?.with_model(model);
    let embed = |t: &str| app.embed_text(t).ok();
    let held = read_set(held_out)?;
    Ok(FeedbackFigures {
        kiosk: vitrine_feedback::evaluate(&kiosk, &held, Some(&embed))?,
        kiosk_tuning: vitrine_feedback::evaluate(&kiosk, &read_set(tuning)?, Some(&embed))?,
        vader_only: vitrine_feedback::evaluate(&lexicon_scorer(config)?, &held, None)?,
    })
}

/// `vitrine eval feedback`: the kiosk's scorer against VADER alone on the held-out comments.
pub fn eval_feedback(config: vitrine_config::Config, args: EvalFeedbackArgs) -> Result<()> {
    let f = feedback_figures(&config, &args.held_out, &args.tuning)?;
    for (name, e) in [("kiosk (lexicon + learned), held out", &f.kiosk), ("VADER alone, held out", &f.vader_only), ("kiosk, on its training comments", &f.kiosk_tuning)] {
        println!("{name}: sentiment {:.3}, topics precision {:.3} recall {:.3}", e.sentiment_accuracy, e.topic_precision, e.topic_recall);
        println!("  given \\ scored   negative  neutral  positive");
        for (label, row) in ["negative", "neutral", "positive"].iter().zip(e.confusion) {
            println!("  {label:<16} {:>8} {:>8} {:>9}", row[0], row[1], row[2]);
        }
    }
    let figures = serde_json::json!({
        "comments_held_out": f.kiosk.comments,
        "sentiment_accuracy": f.kiosk.sentiment_accuracy,
        "sentiment_accuracy_vader_only": f.vader_only.sentiment_accuracy,
        "sentiment_accuracy_training_set": f.kiosk_tuning.sentiment_accuracy,
        "topic_precision": f.kiosk.topic_precision,
        "topic_recall": f.kiosk.topic_recall,
    });
    println!("{figures}");
    Ok(())
}

/// `vitrine train feedback`: the learned feedback model from labelled comments; the L2 weight
/// chosen by 5-fold cross-validation on those comments alone.
pub fn train_feedback(config: vitrine_config::Config, args: TrainFeedbackArgs) -> Result<()> {
    let app = vitrine_app::App::start(config.clone());
    let scorer = lexicon_scorer(&config)?;
    let set = read_set(&args.set)?;
    let mut examples = Vec::with_capacity(set.len());
    for item in &set {
        let embedding = app.embed_text(&item.comment).map_err(|e| anyhow::anyhow!("the sentence model is needed: {e}"))?;
        let x = vitrine_feedback::features(&embedding, scorer.compound(&item.comment).unwrap_or(0.0));
        examples.push((x, item.label, item.topics.clone()));
    }
    let folds = 5;
    let mut best = (0.0f64, 0.0f32);
    for l2 in [0.0003f32, 0.001, 0.003, 0.01, 0.03] {
        let mut right = 0usize;
        for fold in 0..folds {
            let train: Vec<_> = examples.iter().enumerate().filter(|(i, _)| i % folds != fold).map(|(_, e)| e.clone()).collect();
            let model = vitrine_feedback::FeedbackModel::train(&train, l2, "cross-validation");
            right += examples.iter().enumerate().filter(|(i, _)| i % folds == fold).filter(|(_, e)| model.label(&e.0) == e.1).count();
        }
        let accuracy = right as f64 / examples.len() as f64;
        eprintln!("l2 {l2}: cross-validated accuracy {accuracy:.3}");
        if accuracy > best.0 {
            best = (accuracy, l2);
        }
    }
    let source = args.set.display().to_string();
    let model = vitrine_feedback::FeedbackModel::train(&examples, best.1, &source);
    let out = args.out.unwrap_or_else(|| vitrine_app::feedback_model_path(&config));
    std::fs::write(&out, serde_json::to_string(&model)? + "\n").map_err(|e| anyhow::anyhow!("cannot write {}: {e}", out.display()))?;
    println!("{}", serde_json::json!({ "examples": examples.len(), "l2": best.1, "cross_validated_accuracy": best.0, "out": out }));
    Ok(())
}

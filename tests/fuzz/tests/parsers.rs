//! Every parser of outside input, fed random and mangled input: no panic, no hang, every bad
//! input refused with a message, and what is accepted leaves the ledger consistent.

use std::path::Path;
use std::time::Duration;

use vitrine_config::Config;
use vitrine_fuzz::{fuzz, input, repo};
use vitrine_infer::Manifest;
use vitrine_shelf::Planogram;
use vitrine_store::{Feed, ImportOptions, Store};
use vitrine_sync::protocol::{PullResponse, PushRequest, VersionProbe};

const LIMIT: Duration = Duration::from_secs(2);

fn seeded_store() -> Store {
    let mut store = Store::open_in_memory().unwrap();
    store.seed_demo_if_empty().unwrap();
    store
}

/// The ledger and its stock table still agree.
fn ledger_consistent(store: &mut Store) -> Result<(), String> {
    let rebuilt = store.rebuild_stock_from_ledger().map_err(|e| e.to_string())?;
    if rebuilt.corrected != 0 {
        return Err(format!("{} stock rows disagreed with the ledger", rebuilt.corrected));
    }
    Ok(())
}

#[test]
fn sales_and_delivery_csv() {
    let sales = "sale_id,line,timestamp,sku,quantity,location\n\
                 R1,1,2025-03-01T14:03:22Z,VT-TEE-ORBIT-M-INK,2,A1/B1/S1\n\
                 R1,2,2025-03-01T14:03:22Z,GR-OATS-1KG,-1,\n\
                 \"R2\",1,2025-03-01 15:00:00+01:00,GR-OATS-1KG,1,A5/B2/S1\n";
    let deliveries = "delivery_id,line,timestamp,sku,quantity,location\n\
                      D1,1,2025-03-01T08:00:00Z,GR-OATS-1KG,24,BACKROOM\n\
                      D1,2,2025-03-01T08:00:00Z,VT-TEE-ORBIT-M-INK,12,\n";
    let seeds = vec![sales.as_bytes().to_vec(), deliveries.as_bytes().to_vec()];
    let mut store = seeded_store();
    let options = ImportOptions { location: None, ..ImportOptions::default() };
    let mut case = 0u64;
    let tally = fuzz("sales/deliveries CSV", input(seeds), LIMIT, |bytes| {
        case += 1;
        let feed = if case % 2 == 0 { Feed::Sales } else { Feed::Deliveries };
        match store.import_feed(feed, bytes, &options) {
            Ok(report) => {
                if report.rows != report.inserted + report.duplicates + report.rejected {
                    return Err(format!("rows don't add up: {report:?}"));
                }
                if report.problems.iter().any(|p| p.reason.trim().is_empty()) {
                    return Err("a rejected row without a reason".into());
                }
                ledger_consistent(&mut store)?;
                Ok(report.rejected == 0)
            }
            Err(e) if e.to_string().trim().is_empty() => Err("refused without a message".into()),
            Err(_) => Ok(false),
        }
    });
    assert!(tally.accepted > 0, "no case reached an import that recorded something");
}

fn wire_event(id: &str, kind: &str, quantity: i64) -> serde_json::Value {
    serde_json::json!({
        "id": id, "hlc": "000000000001000-00000-kiosk-a", "store_id": "paris", "device_id": "kiosk-a",
        "occurred_at_ms": 1_740_000_000_000i64, "actor": "sam", "kind": kind, "sku": "GR-OATS-1KG",
        "location": "A5/B2/S1", "to_location": null, "quantity": quantity, "reference": null,
        "note": "fuzz", "source_key": null
    })
}

#[test]
fn hq_push_payloads() {
    let push = serde_json::json!({
        "protocol": vitrine_sync::protocol::PROTOCOL_VERSION, "store_id": "paris", "device_id": "kiosk-a",
        "events": [wire_event("e1", "sold", 2), wire_event("e2", "received", 10), wire_event("e3", "adjusted", -1)]
    });
    let seeds = vec![serde_json::to_vec_pretty(&push).unwrap(), serde_json::to_vec(&push).unwrap()];
    let tally = fuzz("HQ push payload", input(seeds), LIMIT, |bytes| {
        // HQ reads the version first, then the request, then checks every event.
        if serde_json::from_slice::<VersionProbe>(bytes).is_err() {
            return Ok(false);
        }
        let request = match serde_json::from_slice::<PushRequest>(bytes) {
            Ok(request) => request,
            Err(e) if e.to_string().is_empty() => return Err("refused without a message".into()),
            Err(_) => return Ok(false),
        };
        let mut all_valid = true;
        for event in &request.events {
            if let Err(reason) = event.validate() {
                if reason.trim().is_empty() {
                    return Err("an event refused without a reason".into());
                }
                all_valid = false;
            }
        }
        Ok(all_valid)
    });
    assert!(tally.accepted > 0 && tally.refused > 0, "{tally:?}");
}

#[test]
fn hq_pull_answers_applied_to_the_store() {
    let pull = serde_json::json!({
        "protocol": vitrine_sync::protocol::PROTOCOL_VERSION,
        "catalog": [{
            "version": 7, "product_code": "HQ-SCARF", "product_name": "Scarf", "category": "accessories",
            "sku": "HQ-SCARF-RED", "size": null, "colour": "red", "barcode": "4000000000017",
            "price_cents": 1500, "cost_cents": 500
        }, {
            "version": 8, "product_code": "GR-OATS-1KG", "product_name": "Rolled oats 1 kg", "category": "grocery",
            "sku": "GR-OATS-1KG", "size": null, "colour": null, "barcode": null,
            "price_cents": 379, "cost_cents": 150
        }],
        "catalog_cursor": 8,
        "stores": [{"store_id": "lyon", "stock_version": 3, "events": 12, "last_seen_unix_ms": 1740000000000i64,
                    "levels": [{"sku": "GR-OATS-1KG", "on_hand": 4}, {"sku": "HQ-SCARF-RED", "on_hand": -2}]}],
        "more": false,
        "hq_hlc": "000000000001000-00000-hq"
    });
    let seeds = vec![serde_json::to_vec_pretty(&pull).unwrap()];
    let mut store = seeded_store();
    let tally = fuzz("HQ pull answer", input(seeds), LIMIT, |bytes| {
        let answer = match serde_json::from_slice::<PullResponse>(bytes) {
            Ok(answer) => answer,
            Err(_) => return Ok(false),
        };
        let hlc = answer.hq_hlc.as_deref().and_then(|t| t.parse().ok());
        match store.apply_pull(&answer.into_changes(), hlc.as_ref(), 1_740_000_000_000) {
            Ok(()) => {
                ledger_consistent(&mut store)?;
                Ok(true)
            }
            Err(e) if e.to_string().trim().is_empty() => Err("refused without a message".into()),
            Err(_) => Ok(false),
        }
    });
    assert!(tally.accepted > 0, "{tally:?}");
}

fn text_fuzz(name: &str, seeds: Vec<Vec<u8>>, mut parse: impl FnMut(&str) -> Result<(), String>) {
    let tally = fuzz(name, input(seeds), LIMIT, |bytes| {
        let Ok(text) = std::str::from_utf8(bytes) else { return Ok(false) };
        match parse(text) {
            Ok(()) => Ok(true),
            Err(message) if message.trim().is_empty() => Err("refused without a message".into()),
            Err(_) => Ok(false),
        }
    });
    assert!(tally.accepted > 0 && tally.refused > 0, "{name}: {tally:?}");
}

#[test]
fn model_manifests() {
    let seeds = ["selfie_segmentation", "pose_landmark_lite", "ocr/rec", "tryon_gan"]
        .iter()
        .map(|m| std::fs::read(repo().join("models").join(m).join("manifest.toml")).unwrap())
        .collect();
    let path = Path::new("models/fuzz/manifest.toml");
    text_fuzz("model manifest", seeds, |text| match Manifest::parse(text, path) {
        Ok(_) => Ok(()),
        Err(e) if !e.to_string().contains("models/fuzz/manifest.toml") => Err(String::new()),
        Err(e) => Err(e.to_string()),
    });
}

#[test]
fn planograms() {
    let toml = std::fs::read_to_string(repo().join("assets/demo/shelf_demo_planogram.toml")).unwrap();
    let planogram = Planogram::parse(&toml, Path::new("p.toml")).unwrap();
    let json = serde_json::to_vec_pretty(&serde_json::to_value(&planogram).unwrap()).unwrap();
    let mut case = 0u64;
    text_fuzz("planogram (TOML and JSON)", vec![toml.into_bytes(), json], |text| {
        case += 1;
        let path = if case % 2 == 0 { Path::new("shelf.json") } else { Path::new("shelf.toml") };
        Planogram::parse(text, path).map(|_| ()).map_err(|e| e.to_string())
    });
}

#[test]
fn config_files() {
    let shipped = std::fs::read(repo().join("vitrine.toml")).unwrap();
    let small = b"[camera]\nsource = \"video:var/demo/clip.mp4\"\n\n[sync]\nhq_url = \"https://hq:8443\"\ninterval_secs = 5\n".to_vec();
    text_fuzz("config file", vec![shipped, small], |text| {
        Config::parse(text, Path::new("vitrine.toml")).map(|_| ()).map_err(|e| e.to_string())
    });
}

#[test]
fn the_assistants_faq_file() {
    let demo = std::fs::read(repo().join("assets/demo/faq.toml")).unwrap();
    let small = b"[[faq]]\ntopic = \"Hours\"\nkeywords = [\"open\"]\nanswer = \"9 to 5.\"\n".to_vec();
    text_fuzz("FAQ file", vec![demo, small], |text| vitrine_assistant::Faq::parse(text).map(|_| ()).map_err(|e| e.to_string()));
}

#[test]
fn feedback_label_sets_and_the_sentiment_lexicon() {
    let set = std::fs::read(repo().join("tests/data/feedback/labelled.tsv")).unwrap();
    text_fuzz("labelled feedback", vec![set], |text| vitrine_feedback::parse_labelled(text).map(|_| ()).map_err(|e| e.to_string()));
    // Comments are shoppers' own words: scoring any text answers, never panics.
    let scorer = vitrine_feedback::Scorer::new(None).unwrap();
    let lexicon = std::fs::read_to_string(repo().join("models/sentiment/vader_lexicon.txt")).expect("models/sentiment/vader_lexicon.txt (scripts/setup.sh fetches it)");
    let vader = vitrine_feedback::Vader::parse(&lexicon).unwrap();
    let seeds = vec![b"The clerk was NOT helpful!!! but the hoodie fits".to_vec(), b"no no no kind of sort of least at least but but".to_vec()];
    let tally = fuzz("feedback comment", input(seeds), LIMIT, |bytes| {
        let text = String::from_utf8_lossy(bytes);
        let c = vader.compound(&text);
        if !(-1.0..=1.0).contains(&c) {
            return Err(format!("compound {c} out of range"));
        }
        Ok(scorer.score(Some(3), &text).is_ok())
    });
    assert!(tally.accepted > 0, "{tally:?}");
}

/// Shoppers type anything: every question gets an answer or a refusal with a message, and an
/// answer never states a claim its facts do not.
#[test]
fn assistant_questions() {
    use vitrine_assistant::{Assistant, Conversation, Faq, Index, Knowledge, Lookup, ProductInfo, VariantInfo};
    struct NoPairs;
    impl Lookup for NoPairs {
        fn goes_with(&self, _: &str, _: Option<&str>, _: usize) -> Vec<String> {
            Vec::new()
        }
    }
    let faq = Faq::parse(&std::fs::read_to_string(repo().join("assets/demo/faq.toml")).unwrap()).unwrap();
    let variant = |sku: &str, size: Option<&str>, colour: Option<&str>, stock: i64| VariantInfo {
        sku: sku.into(),
        size: size.map(Into::into),
        colour: colour.map(Into::into),
        price_cents: 5400,
        stock_here: stock,
        in_backroom: stock / 2,
        location: Some("A1/B2/S1".into()),
        location_name: Some("Aisle 1, bay 2, shelf 1: hoodies".into()),
        elsewhere: vec![("riverside".into(), 3)],
        try_on: true,
    };
    let knowledge = Knowledge {
        products: vec![ProductInfo {
            code: "VT-HOOD-DRIFT".into(),
            name: "Drift Hoodie".into(),
            category: "apparel".into(),
            variants: vec![variant("H-M-COL", Some("M"), Some("Coal"), 4), variant("H-L-EMB", Some("L"), Some("Ember"), 0)],
            promotion: None,
        }],
        today: 20_000,
    };
    let index = Index::new(&knowledge, &faq);
    let assistant = Assistant::new(faq);
    let mut conversation = Conversation::default();
    let seeds = vec![b"Do you have the hoodie in M?".to_vec(), b"and in L? where is it? how much".to_vec(), b"When do you close on Sunday?".to_vec()];
    let tally = fuzz("assistant question", input(seeds), LIMIT, |bytes| {
        let question = String::from_utf8_lossy(bytes);
        match assistant.answer(&question, &knowledge, &index, None, &mut conversation, &NoPairs) {
            Ok(answer) if answer.text.trim().is_empty() => Err(format!("an empty answer: {answer:?}")),
            Ok(answer) if !answer.unsupported.is_empty() => Err(format!("unsupported claims {:?} in {:?}", answer.unsupported, answer.text)),
            Ok(_) => Ok(true),
            Err(e) if e.to_string().trim().is_empty() => Err("refused without a message".into()),
            Err(_) => Ok(false),
        }
    });
    assert!(tally.accepted > 0 && tally.refused > 0, "{tally:?}");
}

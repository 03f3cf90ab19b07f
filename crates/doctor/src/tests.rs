use std::fs;
use std::path::{Path, PathBuf};

use super::*;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A kiosk set up as the README's quick start leaves it: the repo's models and ONNX Runtime,
/// a seeded database with a fresh backup, a video source, sync off.
fn healthy_setup(dir: &Path) -> Config {
    let mut config = Config::default();
    config.inference.models_dir = repo().join("models");
    config.inference.runtime_library = Some(repo().join("vendor/onnxruntime/lib/libonnxruntime.so"));
    config.inference.providers = vec!["cpu".into()];
    let clip = dir.join("clip.mp4");
    fs::write(&clip, b"a clip").unwrap();
    config.camera.source = format!("video:{}", clip.display());
    config.store.database = dir.join("var/vitrine.db");
    let mut store = vitrine_store::Store::open(&config.store.database).unwrap();
    store.seed_demo_if_empty().unwrap();
    drop(store);
    let backup = vitrine_store::new_backup_path(&vitrine_store::default_backup_dir(&config.store.database), "vitrine");
    vitrine_store::backup_database(&config.store.database, &backup, &mut |_, _| {}).unwrap();
    config
}

fn check<'r>(report: &'r Report, name: &str) -> &'r Check {
    report.checks.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no {name} check"))
}

#[test]
fn a_kiosk_set_up_as_the_readme_says_is_healthy() {
    let dir = tempfile::tempdir().unwrap();
    let config = healthy_setup(dir.path());

    let report = diagnose(&config);

    assert!(report.healthy(), "{}", report.table());
    let models = check(&report, "models");
    assert_eq!(models.status, Status::Ok, "{}", report.table());
    assert!(models.detail.contains("every hash matches"), "{}", models.detail);
    let database = check(&report, "database");
    assert!(database.detail.contains(&format!("schema {} of {}", vitrine_store::SCHEMA_VERSION, vitrine_store::SCHEMA_VERSION)), "{}", database.detail);
    assert!(check(&report, "onnxruntime").detail.contains("providers that load: cpu"), "{}", report.table());
    assert_eq!(check(&report, "backup").status, Status::Ok);
    assert_eq!(check(&report, "hq").status, Status::Skip);
    let json: serde_json::Value = serde_json::from_str(&report.json_line()).unwrap();
    assert_eq!(json["doctor"]["healthy"], true);
    assert_eq!(json["checks"].as_array().unwrap().len(), report.checks.len());
    assert!(!report.json_line().contains('\n'));
}

#[test]
fn a_damaged_model_a_corrupt_database_and_a_missing_clip_each_fail_with_their_fix() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = healthy_setup(dir.path());
    // One model folder with one byte of its weights changed.
    let models = dir.path().join("models");
    let folder = models.join("selfie_segmentation");
    fs::create_dir_all(&folder).unwrap();
    let source = repo().join("models/selfie_segmentation");
    fs::copy(source.join("manifest.toml"), folder.join("manifest.toml")).unwrap();
    let mut weights = fs::read(source.join("selfie_segmentation.onnx")).unwrap();
    let middle = weights.len() / 2;
    weights[middle] ^= 0x5a;
    fs::write(folder.join("selfie_segmentation.onnx"), weights).unwrap();
    config.inference.models_dir = models;
    // The database's pages overwritten in the middle (as a bad disk would).
    let mut bytes = fs::read(&config.store.database).unwrap();
    let len = bytes.len();
    for byte in &mut bytes[len / 3..len / 3 + 8192] {
        *byte = 0xee;
    }
    fs::write(&config.store.database, bytes).unwrap();
    config.camera.source = format!("video:{}", dir.path().join("gone.mp4").display());

    let report = diagnose(&config);

    assert!(!report.healthy());
    let models = check(&report, "models");
    assert_eq!(models.status, Status::Fail, "{}", report.table());
    assert!(models.detail.contains("selfie_segmentation") && models.detail.contains("sha256"), "{}", models.detail);
    let database = check(&report, "database");
    assert_eq!(database.status, Status::Fail, "{}", report.table());
    let fix = database.fix.as_deref().unwrap();
    assert!(fix.contains("vitrine restore") && fix.contains("backups"), "{fix}");
    let camera = check(&report, "camera");
    assert_eq!(camera.status, Status::Fail);
    assert!(camera.detail.contains("gone.mp4"), "{}", camera.detail);
    for failed in report.checks.iter().filter(|c| c.status == Status::Fail) {
        assert!(failed.fix.is_some(), "{} has no fix", failed.name);
    }
    let json: serde_json::Value = serde_json::from_str(&report.json_line()).unwrap();
    assert_eq!(json["doctor"]["failures"], 3, "{}", report.table());
    assert!(report.table().contains("fix: "));
}

#[test]
fn a_missing_camera_an_unreachable_hq_and_a_missing_token_fail() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = healthy_setup(dir.path());
    config.camera.source = "camera:7".into();
    config.sync.hq_url = Some("https://127.0.0.1:9".into());
    config.sync.token_file = dir.path().join("hq-token");
    config.sync.timeout_secs = 2;

    let no_token = diagnose(&config);
    fs::write(&config.sync.token_file, "secret-token\n").unwrap();
    let unreachable = diagnose(&config);

    if !vitrine_capture::list_cameras().iter().any(|c| c.starts_with("7: ")) {
        let camera = check(&no_token, "camera");
        assert_eq!(camera.status, Status::Fail);
        assert!(camera.detail.contains("camera:7") || camera.detail.contains("index 7"), "{}", camera.detail);
    }
    let hq = check(&no_token, "hq");
    assert_eq!(hq.status, Status::Fail);
    assert!(hq.detail.contains("hq-token") && hq.fix.as_deref().unwrap().contains("token issue"), "{hq:?}");
    let hq = check(&unreachable, "hq");
    assert_eq!(hq.status, Status::Fail);
    assert!(hq.detail.contains("cannot reach HQ"), "{}", hq.detail);
    assert!(hq.fix.as_deref().unwrap().contains("nothing is lost"));
}

#[test]
fn a_clock_behind_the_ledger_or_far_from_hq_fails() {
    let now = 1_796_600_000_000;
    assert_ne!(clock(now, Some(now - 5_000), Some(2_000)).status, Status::Fail);
    let backwards = clock(now, Some(now + 600_000), None);
    assert_eq!(backwards.status, Status::Fail);
    assert!(backwards.detail.contains("10 min behind the last event"), "{}", backwards.detail);
    let skewed = clock(now, None, Some(-45_000));
    assert_eq!(skewed.status, Status::Fail);
    assert!(skewed.detail.contains("ahead of HQ"), "{}", skewed.detail);
    let unset = clock(86_400_000, None, None);
    assert_eq!(unset.status, Status::Fail);
    assert!(unset.detail.starts_with("1970-01-02"), "{}", unset.detail);
    assert!(unset.fix.as_deref().unwrap().contains("timedatectl"));
}

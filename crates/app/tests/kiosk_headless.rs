//! The kiosk without its window, on real parts: ONNX Runtime, the committed models, a real
//! SQLite file and a real clip from ../shared/data/media/videos.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use vitrine_app::App;
use vitrine_config::{BackgroundMode, Config};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn config(dir: &Path, source: &str) -> Config {
    let mut c = Config::default();
    c.inference.models_dir = root().join("models");
    c.store.database = dir.join("kiosk.db");
    c.camera.source = source.into();
    c
}

#[test]
fn mirror_session_on_a_real_clip() {
    let clip = root().join("../shared/data/media/videos/intel_asl_book.mp4");
    if !clip.is_file() {
        return eprintln!("{} missing; skipped", clip.display());
    }
    let tmp = tempfile::tempdir().unwrap();
    let app = App::start(config(tmp.path(), &format!("video:{}", clip.display())));
    let status = app.status();
    assert!(status.runtime_error.is_none(), "{:?}", status.runtime_error);
    assert!(status.models.iter().all(|m| m.enabled && m.provider.as_deref() == Some("cpu")), "{:?}", status.models);
    let store = status.store.expect("demo catalog seeded");
    assert!(store.products > 0 && store.events > 0);
    assert!(app.frames().is_none(), "no mirror before it is started");

    app.start_mirror().unwrap();
    app.start_mirror().unwrap(); // idempotent
    let board = app.frames().unwrap();
    let (mut seq, mut seen) = (0, 0);
    let deadline = Instant::now() + Duration::from_secs(30);
    while seen < 10 && Instant::now() < deadline {
        if let Some((s, frame)) = board.newer_than(seq, Duration::from_millis(500)) {
            assert!(s > seq);
            assert_eq!(&frame.jpeg[..2], &[0xFF, 0xD8]);
            assert_eq!((frame.width, frame.height), (640, 480));
            assert!(frame.timings.infer_ms > 0.0, "segmentation ran");
            seq = s;
            seen += 1;
        }
    }
    assert_eq!(seen, 10, "frames arrive");
    app.set_background(BackgroundMode::Replace);
    let status = app.status();
    assert_eq!(status.source.state, "running");
    assert!(status.source.description.contains("intel_asl_book.mp4"));
    assert_eq!(status.background_mode, BackgroundMode::Replace);
    assert!(status.mirror.unwrap().processed >= 10);

    app.stop_mirror();
    assert!(app.frames().is_none());
    assert!(board.newer_than(0, Duration::ZERO).is_none(), "the last frame is forgotten");
    assert_eq!(app.status().source.state, "stopped");
}

#[test]
fn a_missing_camera_is_reported_and_the_kiosk_keeps_running() {
    let tmp = tempfile::tempdir().unwrap();
    let app = App::start(config(tmp.path(), "camera:7"));
    app.start_mirror().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        let s = app.status();
        if s.source.state == "error" || Instant::now() > deadline {
            break s;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.source.state, "error");
    let message = status.source.message.unwrap();
    assert!(message.contains("camera") && message.contains("video:PATH"), "{message}");
    assert!(status.models.iter().any(|m| m.enabled), "models still work");
    app.stop_mirror();
}

#[test]
fn a_corrupt_database_disables_the_store_only() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path(), "camera:0");
    std::fs::write(&cfg.store.database, vec![0x5a; 8192]).unwrap();
    let app = App::start(cfg.clone());
    let status = app.status();
    let err = status.store_error.expect("store refused");
    assert!(err.contains("kiosk.db"), "{err}");
    assert!(status.models.iter().any(|m| m.enabled));
    assert_eq!(std::fs::read(&cfg.store.database).unwrap(), vec![0x5a; 8192], "the file is left alone");
}

#[test]
fn a_bad_provider_list_disables_models_with_a_reason() {
    let mut cfg = config(tempfile::tempdir().unwrap().path(), "camera:0");
    cfg.inference.providers = vec!["gpu".into()];
    let app = App::start(cfg);
    let status = app.status();
    assert!(status.runtime_error.unwrap().contains("gpu"));
    assert!(status.models.is_empty());
}

/// Copies `models/` (each folder with a manifest, one or two deep) into `dir`.
fn copy_models(dir: &Path) {
    let copy = |from: &Path, to: &Path| {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap().flatten() {
            if entry.path().is_file() {
                std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
            }
        }
    };
    for entry in std::fs::read_dir(root().join("models")).unwrap().flatten() {
        let path = entry.path();
        if path.join("manifest.toml").is_file() {
            copy(&path, &dir.join(entry.file_name()));
        } else if path.is_dir() {
            for inner in std::fs::read_dir(&path).unwrap().flatten() {
                if inner.path().join("manifest.toml").is_file() {
                    copy(&inner.path(), &dir.join(entry.file_name()).join(inner.file_name()));
                }
            }
        }
    }
}

/// A model file deleted while the kiosk runs (a technician's slip, a failing disk): the
/// mirror keeps going on the model already in memory, and the staff status page names the
/// file and how to put it back.
#[test]
fn a_model_deleted_while_running_keeps_the_mirror_going_and_the_status_page_says_which() {
    let clip = root().join("var/demo/astronaut_720p.mp4");
    if !clip.is_file() {
        return eprintln!("{} missing (scripts/setup.sh renders it); skipped", clip.display());
    }
    let tmp = tempfile::tempdir().unwrap();
    let models = tmp.path().join("models");
    copy_models(&models);
    let mut config = config(tmp.path(), &format!("video:{}", clip.display()));
    config.inference.models_dir = models.clone();
    let app = App::start(config);
    app.start_mirror().unwrap();
    let processed = |app: &App| app.mirror_stats().map_or(0, |s| s.processed);
    let wait_for = |app: &App, n: u64| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while processed(app) < n && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        processed(app)
    };
    assert!(wait_for(&app, 5) >= 5, "the mirror did not start");

    std::fs::remove_file(models.join("selfie_segmentation_landscape/selfie_segmentation_landscape.onnx")).unwrap();
    let before = processed(&app);
    let after = wait_for(&app, before + 20);

    assert!(after >= before + 20, "the mirror stopped after the model file went: {before} → {after}");
    assert_eq!(app.mirror_stats().unwrap().errors, 0);
    let slot = app.session_slot();
    app.sign_in(&slot, "Demo Clerk", "1357").unwrap();
    let report = app.system_checks(&slot).unwrap();
    let models_check = report.checks.iter().find(|c| c.name == "models").unwrap();
    assert_eq!(models_check.status, vitrine_doctor::Status::Fail, "{models_check:?}");
    assert!(models_check.detail.contains("selfie_segmentation_landscape.onnx"), "{}", models_check.detail);
    assert!(models_check.fix.as_deref().unwrap().contains("models/"));
    // Shoppers can't ask for the checks.
    let shopper = app.session_slot();
    assert!(app.system_checks(&shopper).is_err());
    app.stop_mirror();
}

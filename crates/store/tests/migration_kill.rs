//! A power cut during a schema upgrade: a child process upgrades a large version-1 file and is
//! killed with SIGKILL at moments spread over its backup and its migration steps. After each
//! kill the file must be a sound SQLite database at some schema version with every event,
//! and the next start must finish the upgrade with nothing lost.

use std::path::Path;
use std::os::unix::process::ExitStatusExt;
use std::process::Command;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

const CHILD: &str = "VITRINE_MIGRATION_CHILD";
const EVENTS: i64 = 150_000;

/// The child's part: opening the store upgrades the file. Does nothing in a normal test run.
#[test]
fn upgrade_in_a_child_process() {
    if let Ok(path) = std::env::var(CHILD) {
        vitrine_store::Store::open(path).unwrap();
    }
}

/// A file as the first release wrote it: schema 1, a catalog and `EVENTS` ledger events.
fn version_one_file(path: &Path) {
    let mut conn = Connection::open(path).unwrap();
    conn.execute_batch(include_str!("../src/migrations/0001_initial.sql")).unwrap();
    conn.pragma_update(None, "user_version", 1).unwrap();
    let tx = conn.transaction().unwrap();
    tx.execute_batch(
        "INSERT INTO locations (id, code, kind, name) VALUES (1, 'A1/B1/S1', 'shelf', 'tees'), (2, 'BACKROOM', 'backroom', 'Backroom');
         INSERT INTO products (id, code, name, category) VALUES (1, 'TEE', 'Tee', 'apparel');",
    )
    .unwrap();
    for v in 1..=50 {
        tx.execute("INSERT INTO variants (id, product_id, sku, price_cents, cost_cents) VALUES (?1, 1, ?2, 1900, 600)", rusqlite::params![v, format!("TEE-{v}")])
            .unwrap();
    }
    {
        let mut insert = tx
            .prepare(
                "INSERT INTO stock_events (id, store_id, device_id, occurred_at_ms, actor, kind, variant_id, location_id, to_location_id, quantity)
                 VALUES (?1, 's', 'kiosk-a', ?2, 'sam', 'received', ?3, 2, NULL, 1)",
            )
            .unwrap();
        for i in 0..EVENTS {
            insert.execute(rusqlite::params![format!("e{i}"), 1_700_000_000_000 + i * 1000, i % 50 + 1]).unwrap();
        }
    }
    tx.execute_batch("INSERT INTO stock_levels (variant_id, location_id, on_hand) SELECT variant_id, 2, COUNT(*) FROM stock_events GROUP BY variant_id;")
        .unwrap();
    tx.commit().unwrap();
}

/// [`inspect`] on a copy of the file and its journal, so the next start still finds the
/// interrupted write the kill left and has to recover from it itself.
fn inspect_copy(path: &Path) -> (i64, i64) {
    let scratch = tempfile::tempdir().unwrap();
    let copy = scratch.path().join("vitrine.db");
    std::fs::copy(path, &copy).unwrap();
    let journal = path.with_file_name("vitrine.db-journal");
    if journal.is_file() {
        std::fs::copy(&journal, copy.with_file_name("vitrine.db-journal")).unwrap();
    }
    inspect(&copy)
}

/// Schema version and event count of a file after `quick_check` passes. A writable handle,
/// as the next start has: it rolls back what the kill interrupted, as SQLite recovers.
fn inspect(path: &Path) -> (i64, i64) {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE).unwrap();
    let check: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok", "the killed upgrade left a damaged file");
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
    let events: i64 = conn.query_row("SELECT COUNT(*) FROM stock_events", [], |r| r.get(0)).unwrap();
    (version, events)
}

#[test]
fn kill_nine_during_an_upgrade_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vitrine.db");
    version_one_file(&path);
    // How long a whole upgrade takes here, on a copy, so the kills spread over all of it.
    let probe = dir.path().join("probe").join("vitrine.db");
    std::fs::create_dir_all(probe.parent().unwrap()).unwrap();
    std::fs::copy(&path, &probe).unwrap();
    let started = Instant::now();
    vitrine_store::Store::open(&probe).unwrap();
    let whole = started.elapsed();
    eprintln!("a full upgrade of {EVENTS} events takes {whole:?}");

    let mut seen = Vec::new();
    let mut hot_journals = 0;
    for round in 1..=8u32 {
        let (version, _) = inspect_copy(&path);
        if version == vitrine_store::SCHEMA_VERSION {
            break;
        }
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "upgrade_in_a_child_process", "--test-threads=1"])
            .env(CHILD, &path)
            .spawn()
            .unwrap();
        // Process start-up is part of the wait; then a slice of the upgrade, later each round.
        std::thread::sleep(Duration::from_millis(30) + whole.mul_f64(f64::from(round) / 9.0));
        let _ = child.kill();
        let status = child.wait().unwrap();
        // Killed, or finished: a start that fails on what the last kill left would show here.
        assert!(status.success() || status.signal() == Some(9), "the upgrade failed to start: {status}");
        let journal = path.with_file_name("vitrine.db-journal").is_file();
        hot_journals += u32::from(journal);
        let (version, events) = inspect_copy(&path);
        eprintln!("round {round}: killed ({status}) at schema version {version}{}", if journal { ", a write to roll back" } else { "" });
        assert_eq!(events, EVENTS, "events lost at version {version}");
        assert!((1..=vitrine_store::SCHEMA_VERSION).contains(&version));
        seen.push(version);
    }
    assert!(
        seen.iter().any(|v| *v > 1 && *v < vitrine_store::SCHEMA_VERSION) || seen.contains(&1),
        "no kill landed before the upgrade finished: {seen:?}"
    );

    let mut store = vitrine_store::Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), vitrine_store::SCHEMA_VERSION);
    assert_eq!(store.catalog_summary().unwrap().events, EVENTS as u64);
    assert_eq!(store.rebuild_stock_from_ledger().unwrap().corrected, 0);
    // Every finished pre-upgrade backup is a whole file at the version its name says.
    let backups = vitrine_store::list_backups(&dir.path().join("backups"));
    assert!(!backups.is_empty());
    for backup in backups {
        let name = backup.file_name().unwrap().to_string_lossy().into_owned();
        let from: i64 = name.trim_start_matches("pre-migration-v").split('-').next().unwrap().parse().unwrap();
        assert_eq!(inspect(&backup), (from, EVENTS), "{name}");
    }
    eprintln!("versions after each kill: {seen:?}; {hot_journals} kills left a write to roll back");
}

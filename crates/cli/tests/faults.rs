//! Faults a store's PC meets, through the real `vitrine` binary: the database locked by
//! another process, and the disk filling up. Each is refused with a message that says what
//! happened, and nothing that was committed is lost.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn vitrine(database: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vitrine"))
        .env_remove("RUST_LOG")
        .env("RUST_BACKTRACE", "0")
        .arg("--database")
        .arg(database)
        .args(args)
        .output()
        .unwrap()
}

fn ok(database: &Path, args: &[&str]) -> String {
    let out = vitrine(database, args);
    assert!(out.status.success(), "vitrine {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Ledger events, from `vitrine store` ("6 products, 29 variants, 6 locations, 3237 ledger events").
fn events(database: &Path) -> u64 {
    let text = ok(database, &["store"]);
    text.lines()
        .find_map(|l| l.strip_suffix(" ledger events"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no event count in: {text}"))
}

fn sales(path: &Path, prefix: &str, rows: usize) {
    let mut text = String::from("sale_id,line,timestamp,sku,quantity,location\n");
    for i in 0..rows {
        text += &format!("{prefix}-{},{},2026-01-02T10:00:00Z,GR-OATS-1KG,1,A5/B2/S1\n", i / 4, i % 4 + 1);
    }
    std::fs::write(path, text).unwrap();
}

#[test]
fn a_database_locked_by_another_process_is_refused_clearly_and_the_import_works_after() {
    if Command::new("python3").arg("--version").output().is_err() {
        return eprintln!("skipping: python3 (used as the other process) is not installed");
    }
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("vitrine.db");
    let before = events(&database);
    let feed = dir.path().join("sales.csv");
    sales(&feed, "LOCK", 3);
    // Another program takes the write lock and keeps it for 7 s.
    let mut holder = Command::new("python3")
        .args([
            "-c",
            "import sqlite3, sys, time\n\
             c = sqlite3.connect(sys.argv[1], isolation_level=None)\n\
             c.execute('BEGIN EXCLUSIVE')\n\
             print('locked', flush=True)\n\
             time.sleep(7)\n\
             c.execute('ROLLBACK')",
        ])
        .arg(&database)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(holder.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "locked");

    let refused = vitrine(&database, &["import", "sales", feed.to_str().unwrap()]);
    holder.wait().unwrap();
    let after = vitrine(&database, &["import", "sales", feed.to_str().unwrap()]);

    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "the import went through a held lock");
    assert!(stderr.contains("locked by another program") && stderr.contains("nothing was written"), "{stderr}");
    assert!(after.status.success(), "{}", String::from_utf8_lossy(&after.stderr));
    assert!(String::from_utf8_lossy(&after.stdout).contains("3 recorded"));
    assert_eq!(events(&database), before + 3);
}

#[test]
fn a_full_disk_refuses_the_import_and_keeps_the_ledger_sound() {
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("small-disk");
    std::fs::create_dir(&disk).unwrap();
    let mounted = Command::new("mount").args(["-t", "tmpfs", "-o", "size=3m", "tmpfs"]).arg(&disk).output();
    if !mounted.as_ref().is_ok_and(|o| o.status.success()) {
        return eprintln!("skipping: cannot mount a small tmpfs here (needs root): {mounted:?}");
    }
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(self.0).status();
        }
    }
    let _unmount = Unmount(&disk);
    let database = disk.join("vitrine.db");
    let before = events(&database);
    let feed = dir.path().join("sales.csv");
    sales(&feed, "FULL", 60_000);

    let refused = vitrine(&database, &["import", "sales", feed.to_str().unwrap()]);

    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "60k rows fitted in 3 MB?");
    assert!(stderr.contains("disk holding the database is full"), "{stderr}");
    // Whatever committed before the disk filled is whole: the file opens, the book stock
    // agrees with the ledger, and nothing from before the import went missing.
    let after = events(&database);
    assert!(after >= before, "{after} < {before}");
    let report = ok(&database, &["report", "stock", "--format", "csv"]);
    assert!(report.contains("GR-OATS-1KG"));
    let doctor = vitrine(&database, &["--source", "video:/nonexistent.mp4", "doctor", "--json"]);
    let json = String::from_utf8_lossy(&doctor.stdout);
    assert!(json.contains("\"name\":\"disk\",\"status\":\"fail\""), "{json}");
    assert!(json.contains("\"name\":\"database\",\"status\":\"ok\""), "{json}");
}

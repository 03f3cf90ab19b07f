//! The CLI is quiet by default: warnings only on stderr; `-v` shows what each step does.

use std::process::Command;

/// `vitrine store` on a new database (it applies the schema migrations, which log at info),
/// with `extra` flags; returns stderr.
fn store_stderr(extra: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_vitrine"))
        .current_dir(dir.path())
        .env_remove("RUST_LOG")
        .args(extra)
        .args(["--database", "quiet.db", "store"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "vitrine store failed: {stderr}");
    stderr
}

#[test]
fn the_cli_says_only_warnings_unless_asked_for_more() {
    let quiet = store_stderr(&[]);
    assert!(!quiet.contains("INFO"), "info lines without -v:\n{quiet}");
    let verbose = store_stderr(&["-v"]);
    assert!(verbose.contains("applied schema migration"), "-v does not say what it did:\n{verbose}");
    assert!(!verbose.contains("DEBUG"), "debug lines with a single -v:\n{verbose}");
}

//! Backups of the cache file with SQLite's online backup API: taken while the kiosk runs
//! (WAL lets it keep writing), written beside the target under a temporary name, checked, and
//! only then renamed into place, so a file named like a backup is always a whole one.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rusqlite::backup::{Backup, StepResult};
use rusqlite::Connection;
use tracing::{info, warn};

use crate::{Result, StoreError};

/// Pages copied per step; small enough that progress moves and a writer waits only briefly.
const PAGES_PER_STEP: i32 = 1024;
/// A writer on another connection makes the copy start over; after this many restarts the
/// rest is copied in one step (one read snapshot, which WAL never blocks writers for).
const RESTARTS_BEFORE_ONE_STEP: u32 = 3;
const BUSY_PAUSE: Duration = Duration::from_millis(20);
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// What a finished backup or restore did.
#[derive(Debug, Clone)]
pub struct BackupReport {
    pub path: PathBuf,
    pub bytes: u64,
    pub pages: u64,
    pub schema_version: i64,
    pub elapsed: Duration,
}

/// Where backups of `database` go unless told otherwise: `backups/` beside it.
pub fn default_backup_dir(database: &Path) -> PathBuf {
    database
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join("backups")
}

/// A new backup path in `dir` that sorts by time: `{label}-20261207T101500Z.db`, with `-2`,
/// `-3`… when that second has one already.
pub fn new_backup_path(dir: &Path, label: &str) -> PathBuf {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let stamp: String = crate::iso8601_utc(secs)
        .chars()
        .filter(|c| !matches!(c, '-' | ':'))
        .collect();
    let mut path = dir.join(format!("{label}-{stamp}.db"));
    let mut n = 2;
    while path.exists() {
        path = dir.join(format!("{label}-{stamp}-{n}.db"));
        n += 1;
    }
    path
}

/// Copies the database at `database` to `target` (which must not exist) while others may be
/// writing it. `progress(done_pages, total_pages)` is called after every step.
pub fn backup_database(
    database: &Path,
    target: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<BackupReport> {
    let started = Instant::now();
    if target.exists() {
        return Err(StoreError::Backup {
            path: target.to_path_buf(),
            reason: "a file of that name exists already; choose another name".into(),
        });
    }
    if let Some(dir) = target.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    let (source, _) = open_checked(database)?;
    let partial = sibling(target, ".partial");
    let _ = fs::remove_file(&partial);
    // The copy must itself open, pass quick_check and have a schema this build can read.
    let copied = copy_pages(&source, database, &partial, progress)
        .and_then(|pages| Ok((pages, open_checked(&partial)?.1)));
    let (pages, schema_version) = match copied {
        Ok(done) => done,
        Err(err) => {
            let _ = fs::remove_file(&partial);
            return Err(err);
        }
    };
    sync_file(&partial)?;
    fs::rename(&partial, target).map_err(|e| io_backup_error(target, e))?;
    let bytes = fs::metadata(target).map(|m| m.len()).unwrap_or(0);
    let report = BackupReport {
        path: target.to_path_buf(),
        bytes,
        pages,
        schema_version,
        elapsed: started.elapsed(),
    };
    info!(from = %database.display(), to = %target.display(), bytes, "backup written");
    Ok(report)
}

/// Replaces the content of `database` with the backup at `backup`, after checking the backup
/// and saving what `database` holds now as `pre-restore-*.db` in `safety_dir` (returned).
/// Writers on `database` wait (busy timeout) while the pages are copied; processes that keep
/// it open see the restored content on their next transaction.
pub fn restore_database(
    backup: &Path,
    database: &Path,
    safety_dir: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(BackupReport, Option<PathBuf>)> {
    let started = Instant::now();
    let (source, schema_version) = open_checked(backup)?;
    let safety = if database.exists() {
        let target = new_backup_path(safety_dir, "pre-restore");
        let saved = backup_database(database, &target, &mut |_, _| {})?;
        Some(saved.path)
    } else {
        None
    };
    let mut destination = Connection::open(database).map_err(|e| open_err(database, e))?;
    destination
        .busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| open_err(database, e))?;
    let pages = {
        let copy = Backup::new(&source, &mut destination)
            .map_err(|e| sqlite_backup_error(database, e))?;
        run_steps(&copy, database, progress, i32::MAX)?
    };
    drop(destination);
    let report = BackupReport {
        path: database.to_path_buf(),
        bytes: fs::metadata(database).map(|m| m.len()).unwrap_or(0),
        pages,
        schema_version,
        elapsed: started.elapsed(),
    };
    info!(from = %backup.display(), to = %database.display(), "database restored");
    Ok((report, safety))
}

/// What a read-only look at a database file found (for `vitrine doctor`).
#[derive(Debug, Clone)]
pub struct DatabaseHealth {
    pub schema_version: i64,
    /// `PRAGMA integrity_check`'s findings; empty when the file is sound.
    pub problems: Vec<String>,
    pub bytes: u64,
    pub events: i64,
    /// Events recorded here that HQ has not acknowledged yet.
    pub outbox: i64,
    /// The greatest clock reading this device has stamped or seen, in Unix ms.
    pub last_clock_ms: Option<u64>,
}

/// Opens `path` read-only and checks it through (`integrity_check` reads every page and
/// index). Refuses files that are not SQLite or come from a newer Vitrine, as opening would.
pub fn inspect_database(path: &Path) -> Result<DatabaseHealth> {
    require_file(path)?;
    let (conn, schema_version) = crate::store::open_read_only(path)?;
    let problems = crate::store::check_pages(&conn, path, "PRAGMA integrity_check(20)")?;
    let count = |sql: &str| conn.query_row(sql, [], |row| row.get::<_, i64>(0)).unwrap_or(0);
    let (events, outbox) = if schema_version >= 2 {
        (
            count("SELECT COUNT(*) FROM stock_events"),
            count("SELECT COUNT(*) FROM outbox"),
        )
    } else {
        (0, 0)
    };
    let last_clock_ms = conn
        .query_row("SELECT last_hlc FROM node WHERE id = 1", [], |row| {
            row.get::<_, Option<String>>(0)
        })
        .ok()
        .flatten()
        .and_then(|text| text.parse::<crate::Hlc>().ok())
        .map(|hlc| hlc.physical_ms());
    Ok(DatabaseHealth {
        schema_version,
        problems,
        bytes: fs::metadata(path).map(|m| m.len()).unwrap_or(0),
        events,
        outbox,
        last_clock_ms,
    })
}

/// Backup files in `dir`, oldest first.
pub fn list_backups(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<(SystemTime, PathBuf)> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "db"))
        .map(|path| {
            let modified = fs::metadata(&path)
                .and_then(|m| m.modified())
                .unwrap_or(UNIX_EPOCH);
            (modified, path)
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, path)| path).collect()
}

fn copy_pages(
    source: &Connection,
    source_path: &Path,
    partial: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<u64> {
    let mut destination = Connection::open(partial).map_err(|e| open_err(partial, e))?;
    let pages = {
        let copy = Backup::new(source, &mut destination)
            .map_err(|e| sqlite_backup_error(source_path, e))?;
        run_steps(&copy, partial, progress, PAGES_PER_STEP)?
    };
    // The copy inherits WAL mode from a live source; a backup is one self-contained file.
    destination
        .pragma_update_and_check(None, "journal_mode", "delete", |_| Ok(()))
        .map_err(|e| sqlite_backup_error(partial, e))?;
    Ok(pages)
}

/// Steps `copy` to the end; a copy that keeps starting over because of writers finishes in
/// one step.
pub(crate) fn run_steps(
    copy: &Backup<'_, '_>,
    path: &Path,
    progress: &mut dyn FnMut(u64, u64),
    pages_per_step: i32,
) -> Result<u64> {
    let waited_since = Instant::now();
    let mut step = pages_per_step;
    let mut restarts = 0;
    let mut last_remaining = i32::MAX;
    loop {
        let result = copy.step(step).map_err(|e| sqlite_backup_error(path, e))?;
        let now = copy.progress();
        let total = now.pagecount.max(0) as u64;
        progress(total - now.remaining.clamp(0, now.pagecount.max(0)) as u64, total);
        match result {
            StepResult::Done => return Ok(total),
            StepResult::More => {
                if now.remaining > last_remaining {
                    restarts += 1;
                    if restarts >= RESTARTS_BEFORE_ONE_STEP {
                        warn!(path = %path.display(), "writers keep restarting the backup; copying the rest in one step");
                        step = -1;
                    }
                }
                last_remaining = now.remaining;
            }
            _ => {
                if waited_since.elapsed() > BUSY_TIMEOUT * 6 {
                    return Err(StoreError::Backup {
                        path: path.to_path_buf(),
                        reason: "the database stayed locked for 30 s; is a long import running?".into(),
                    });
                }
                std::thread::sleep(BUSY_PAUSE);
            }
        }
    }
}

/// Opens `path` read-only and refuses it when it is missing, not SQLite, fails
/// `quick_check`, or is newer than this build.
fn open_checked(path: &Path) -> Result<(Connection, i64)> {
    require_file(path)?;
    crate::store::open_checked_read_only(path)
}

fn require_file(path: &Path) -> Result<()> {
    if path.is_file() {
        return Ok(());
    }
    Err(StoreError::Backup {
        path: path.to_path_buf(),
        reason: "no such file".into(),
    })
}

fn sync_file(path: &Path) -> Result<()> {
    fs::File::open(path)
        .and_then(|file| file.sync_all())
        .map_err(|e| io_backup_error(path, e))
}

/// `path` with `suffix` appended to its file name (`vitrine.db` → `vitrine.db-wal`).
pub(crate) fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn open_err(path: &Path, source: rusqlite::Error) -> StoreError {
    StoreError::Open {
        path: path.to_path_buf(),
        source,
    }
}

fn sqlite_backup_error(path: &Path, source: rusqlite::Error) -> StoreError {
    StoreError::Backup {
        path: path.to_path_buf(),
        reason: source.to_string(),
    }
}

fn io_backup_error(path: &Path, source: std::io::Error) -> StoreError {
    StoreError::Backup {
        path: path.to_path_buf(),
        reason: source.to_string(),
    }
}

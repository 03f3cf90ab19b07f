//! `vitrine backup` / `vitrine restore`: SQLite's online backup of the store, safe while the
//! kiosk runs.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use vitrine_config::Config;
use vitrine_store::{backup_database, default_backup_dir, list_backups, new_backup_path, restore_database};

#[derive(Args)]
pub struct BackupArgs {
    /// Write the backup to this file (default: backups/vitrine-<UTC time>.db beside the database).
    #[arg(long, value_name = "FILE", conflicts_with = "list")]
    to: Option<PathBuf>,
    /// List the backups beside the database instead of making one.
    #[arg(long)]
    list: bool,
    /// After backing up, delete all but the newest N of these regular backups (those made
    /// before an upgrade or a restore are kept).
    #[arg(long, value_name = "N", conflicts_with_all = ["list", "to"], value_parser = clap::value_parser!(u32).range(1..))]
    keep: Option<u32>,
}

#[derive(Args)]
pub struct RestoreArgs {
    /// The backup to put back (from `vitrine backup`, or one made before a schema upgrade).
    backup: PathBuf,
    /// Don't ask; needed when stdin is not a terminal.
    #[arg(long)]
    yes: bool,
}

pub fn backup(config: Config, args: BackupArgs) -> Result<()> {
    let database = &config.store.database;
    let dir = default_backup_dir(database);
    if args.list {
        let found = list_backups(&dir);
        if found.is_empty() {
            println!("no backups in {}", dir.display());
        }
        for path in found {
            let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            println!("{:>10}  {}", human_bytes(bytes), path.display());
        }
        return Ok(());
    }
    if !database.exists() {
        bail!("there is no database at {} to back up (see [store] database in the config)", database.display());
    }
    let target = args.to.unwrap_or_else(|| new_backup_path(&dir, "vitrine"));
    let report = backup_database(database, &target, &mut progress_bar("backing up"))
        .with_context(|| format!("backing up {}", database.display()))?;
    println!(
        "backup of {} written to {} ({}, schema version {}, {:.1} s)",
        database.display(),
        report.path.display(),
        human_bytes(report.bytes),
        report.schema_version,
        report.elapsed.as_secs_f64()
    );
    if let Some(keep) = args.keep {
        let regular: Vec<PathBuf> = list_backups(&dir)
            .into_iter()
            .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("vitrine-")))
            .collect();
        let excess = regular.len().saturating_sub(keep as usize);
        for old in &regular[..excess] {
            std::fs::remove_file(old).with_context(|| format!("deleting the old backup {}", old.display()))?;
            println!("deleted the old backup {}", old.display());
        }
    }
    Ok(())
}

pub fn restore(config: Config, args: RestoreArgs) -> Result<()> {
    let database = &config.store.database;
    let stdin = std::io::stdin();
    if !args.yes {
        if !stdin.is_terminal() {
            bail!("restoring replaces everything in {} since the backup; pass --yes to do it", database.display());
        }
        eprint!(
            "Replace {} with {}? What it holds now is saved first. [y/N] ",
            database.display(),
            args.backup.display()
        );
        let mut answer = String::new();
        stdin.lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            bail!("nothing restored");
        }
    }
    let safety_dir = default_backup_dir(database);
    let (report, safety) = restore_database(&args.backup, database, &safety_dir, &mut progress_bar("restoring"))
        .with_context(|| format!("restoring {} from {}", database.display(), args.backup.display()))?;
    if let Some(safety) = safety {
        println!("what {} held before is saved in {}", database.display(), safety.display());
    }
    println!(
        "restored {} from {} (schema version {}; {:.1} s). Restart the kiosk so every screen \
         reloads it (systemctl restart vitrine-kiosk); events recorded since the backup and \
         already sent to HQ come back with the next sync.",
        database.display(),
        args.backup.display(),
        report.schema_version,
        report.elapsed.as_secs_f64()
    );
    Ok(())
}

/// Percent on one stderr line while a terminal watches; nothing in logs and pipes.
fn progress_bar(what: &'static str) -> impl FnMut(u64, u64) {
    let terminal = std::io::stderr().is_terminal();
    let mut shown = None;
    move |done, total| {
        if !terminal || total == 0 {
            return;
        }
        let percent = done * 100 / total;
        if shown != Some(percent) {
            shown = Some(percent);
            eprint!("\r{what}: {percent:>3} % of {total} pages");
            if done == total {
                eprintln!();
            }
            let _ = std::io::stderr().flush();
        }
    }
}

fn human_bytes(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

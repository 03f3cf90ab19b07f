//! `vitrine doctor`: everything a technician checks on a kiosk, read-only, each problem with
//! the command that fixes it. The kiosk's staff status page shows the same checks.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use vitrine_capture::SourceSpec;
use vitrine_config::Config;
use vitrine_infer::{sha256_file, Manifest, Provider, Runtime, RuntimeOptions};

/// Below this much free space the ledger may fail to commit: a failure.
const DISK_FAIL_BYTES: u64 = 512 << 20;
/// Below this, a warning: a few days of journal and backups.
const DISK_WARN_BYTES: u64 = 2 << 30;
/// Our clock may differ from HQ's by this much before events sort wrongly across stores.
const MAX_CLOCK_SKEW_MS: i64 = 30_000;
/// A store's last backup older than this is a warning.
const BACKUP_WARN_AGE: Duration = Duration::from_secs(7 * 24 * 3600);
/// 2025-01-01: a clock before this never got the time (no network time, flat RTC battery).
const EARLIEST_PLAUSIBLE_MS: u64 = 1_735_689_600_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    /// Works, but not as well as it could (or will need attention soon).
    Warn,
    /// Something the kiosk needs is broken.
    Fail,
    /// Not set up here, by choice (sync off, no GPU asked for).
    Skip,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
            Status::Skip => "skip",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    pub detail: String,
    /// The command (or step) that fixes it; set on every warning and failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    fn ok(name: &'static str, detail: impl Into<String>) -> Self {
        Check { name, status: Status::Ok, detail: detail.into(), fix: None }
    }
    fn skip(name: &'static str, detail: impl Into<String>) -> Self {
        Check { name, status: Status::Skip, detail: detail.into(), fix: None }
    }
    fn warn(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Check { name, status: Status::Warn, detail: detail.into(), fix: Some(fix.into()) }
    }
    fn fail(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Check { name, status: Status::Fail, detail: detail.into(), fix: Some(fix.into()) }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    /// True when nothing failed (warnings allowed).
    pub fn healthy(&self) -> bool {
        !self.checks.iter().any(|c| c.status == Status::Fail)
    }

    pub fn count(&self, status: Status) -> usize {
        self.checks.iter().filter(|c| c.status == status).count()
    }

    /// The table for people: one line per check, the fix under each problem.
    pub fn table(&self) -> String {
        let width = self.checks.iter().map(|c| c.name.len()).max().unwrap_or(5).max(5);
        let mut out = format!("{:<width$}  {:<6}  detail\n", "check", "status");
        for check in &self.checks {
            out += &format!("{:<width$}  {:<6}  {}\n", check.name, check.status.label(), check.detail);
            if let Some(fix) = &check.fix {
                out += &format!("{:<width$}  {:<6}  fix: {fix}\n", "", "");
            }
        }
        let (failed, warned) = (self.count(Status::Fail), self.count(Status::Warn));
        out += &match (failed, warned) {
            (0, 0) => "all good\n".to_owned(),
            (0, w) => format!("no failures, {w} warning(s)\n"),
            (f, w) => format!("{f} failure(s), {w} warning(s)\n"),
        };
        out
    }

    /// One line of JSON with every check and a summary.
    pub fn json_line(&self) -> String {
        serde_json::json!({
            "doctor": {
                "healthy": self.healthy(),
                "failures": self.count(Status::Fail),
                "warnings": self.count(Status::Warn),
            },
            "checks": self.checks,
        })
        .to_string()
    }
}

/// Runs every check against `config`. Reads only: nothing is created, migrated or fixed.
pub fn diagnose(config: &Config) -> Report {
    let now_ms = wall_ms();
    let database = inspect_database(config);
    let mut checks = vec![camera(config)];
    let (runtime_check, runtime) = onnx_runtime(config);
    checks.push(runtime_check);
    checks.push(models(&config.inference.models_dir));
    checks.push(gpu(config, runtime.is_some()));
    checks.push(database.0);
    checks.push(disk(&config.store.database));
    checks.push(backups(&config.store.database, database.1.is_some()));
    let (hq_check, hq_skew) = hq(config);
    checks.push(clock(now_ms, database.1.as_ref().and_then(|h| h.last_clock_ms), hq_skew));
    checks.push(hq_check);
    Report { checks }
}

fn camera(config: &Config) -> Check {
    const NAME: &str = "camera";
    let spec: SourceSpec = match config.camera.source.parse() {
        Ok(spec) => spec,
        Err(e) => {
            return Check::fail(NAME, e.to_string(), "set [camera] source to camera:0, video:PATH or images:PATH in vitrine.toml")
        }
    };
    match spec {
        SourceSpec::Camera(index) => match vitrine_capture::camera_present(index) {
            Ok(name) => Check::ok(NAME, format!("camera {index}: {name}")),
            Err(e) => Check::fail(
                NAME,
                format!("camera:{index}: {e}"),
                "plug the camera in and check `ls /dev/video*` and `vitrine cameras` (the user running the kiosk needs the video group: `sudo usermod -aG video USER`), or set [camera] source = \"camera:N\" to one that `vitrine cameras` lists",
            ),
        },
        SourceSpec::Video(path) | SourceSpec::Images(path) => {
            if path.exists() {
                Check::ok(NAME, format!("{} (a file, not a camera)", config.camera.source))
            } else {
                Check::fail(
                    NAME,
                    format!("{} does not exist", path.display()),
                    "run scripts/setup.sh (it renders the demo clip), or set [camera] source to a camera",
                )
            }
        }
    }
}

fn onnx_runtime(config: &Config) -> (Check, Option<Runtime>) {
    const NAME: &str = "onnxruntime";
    let setup = "scripts/setup.sh --deps-only fetches it into vendor/onnxruntime (packages ship it); or point [inference] runtime_library / ORT_DYLIB_PATH at libonnxruntime.so";
    let providers = match config.inference.providers.iter().map(|p| p.parse()).collect::<Result<Vec<Provider>, _>>() {
        Ok(list) => list,
        Err(e) => return (Check::fail(NAME, e.to_string(), "[inference] providers may list tensorrt, cuda and cpu"), None),
    };
    let options = RuntimeOptions {
        library: config.inference.runtime_library.clone(),
        providers: providers.clone(),
        ..RuntimeOptions::default()
    };
    let runtime = match Runtime::init(&options) {
        Ok(runtime) => runtime,
        Err(e) => return (Check::fail(NAME, e.to_string(), setup), None),
    };
    let mut usable = Vec::new();
    let mut missing = Vec::new();
    for provider in Provider::with_cpu_fallback(providers) {
        match provider.availability() {
            Ok(()) => usable.push(provider.to_string()),
            Err(why) => missing.push(format!("{provider}: {why}")),
        }
    }
    let detail = format!("{}; providers that load: {}", runtime.library().display(), usable.join(", "));
    let check = if missing.is_empty() {
        Check::ok(NAME, detail)
    } else if gpu_present().is_some() {
        Check::warn(
            NAME,
            format!("{detail}; not: {}", missing.join("; ")),
            "this box has an NVIDIA GPU: install the GPU build (vitrine built with --features cuda,tensorrt and onnxruntime-gpu's libonnxruntime.so) to use it",
        )
    } else {
        // Asking for GPU providers on a box without one is the default config; CPU is the plan.
        Check::ok(NAME, format!("{detail} (no GPU here: {})", missing.join("; ")))
    };
    (check, Some(runtime))
}

fn models(dir: &Path) -> Check {
    const NAME: &str = "models";
    let fix = "put the model files back: `git checkout -- models/` in a checkout, `sudo apt install --reinstall vitrine` for the package";
    // Models sit one or two folders deep (`ocr/det`, `ocr/rec`); a folder's manifests are its
    // `*.toml` files (`manifest.toml`, or one per graph as in `speech/`).
    let manifests_in = |folder: &Path| -> Vec<PathBuf> {
        std::fs::read_dir(folder)
            .map(|read| read.flatten().map(|e| e.path()).filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "toml")).collect())
            .unwrap_or_default()
    };
    let mut manifests = Vec::new();
    let top = match std::fs::read_dir(dir) {
        Ok(read) => read.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect::<Vec<_>>(),
        Err(e) => return Check::fail(NAME, format!("cannot read {}: {e}", dir.display()), fix),
    };
    for folder in top {
        manifests.extend(manifests_in(&folder));
        if let Ok(read) = std::fs::read_dir(&folder) {
            for sub in read.flatten().map(|e| e.path()).filter(|p| p.is_dir()) {
                manifests.extend(manifests_in(&sub));
            }
        }
    }
    manifests.sort();
    if manifests.is_empty() {
        return Check::fail(NAME, format!("no models under {}", dir.display()), fix);
    }
    let mut bad = Vec::new();
    for manifest_path in &manifests {
        let name = manifest_path.strip_prefix(dir).unwrap_or(manifest_path).display().to_string();
        let problem = match Manifest::load(manifest_path) {
            Err(e) => Some(e.to_string()),
            Ok(manifest) => {
                let file = manifest.model_path(manifest_path);
                match sha256_file(&file) {
                    Err(e) => Some(e.to_string()),
                    Ok(hash) if hash != manifest.sha256 => {
                        Some(format!("{} has sha256 {}…, the manifest says {}…", file.display(), &hash[..12], &manifest.sha256[..12.min(manifest.sha256.len())]))
                    }
                    Ok(_) => None,
                }
            }
        };
        if let Some(problem) = problem {
            bad.push(format!("{name}: {problem}"));
        }
    }
    if bad.is_empty() {
        Check::ok(NAME, format!("{} models, every hash matches its manifest", manifests.len()))
    } else {
        Check::fail(NAME, format!("{} of {} models unusable: {}", bad.len(), manifests.len(), bad.join("; ")), fix)
    }
}

/// The NVIDIA driver's own description of itself, when one is loaded.
fn gpu_present() -> Option<String> {
    let version = std::fs::read_to_string("/proc/driver/nvidia/version").ok()?;
    Some(version.lines().next().unwrap_or("NVIDIA driver").trim().to_owned())
}

fn gpu(config: &Config, runtime_loaded: bool) -> Check {
    const NAME: &str = "gpu";
    let wants_gpu = config.inference.providers.iter().any(|p| !p.eq_ignore_ascii_case("cpu"));
    let name = Command::new("nvidia-smi")
        .args(["--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().replace('\n', "; "));
    match (gpu_present(), wants_gpu) {
        (None, false) => Check::skip(NAME, "none; [inference] providers asks for CPU only"),
        (None, true) => Check::skip(NAME, "none found; every model runs on the CPU"),
        (Some(driver), _) => {
            let what = name.unwrap_or(driver);
            let cuda = runtime_loaded && Provider::Cuda.availability().is_ok();
            if cuda {
                Check::ok(NAME, format!("{what}; ONNX Runtime's CUDA provider loads"))
            } else if wants_gpu {
                Check::warn(NAME, format!("{what}, but the models run on the CPU"), "install the GPU build (see the onnxruntime check) to use it")
            } else {
                Check::ok(NAME, format!("{what} (unused: [inference] providers asks for CPU only)"))
            }
        }
    }
}

fn inspect_database(config: &Config) -> (Check, Option<vitrine_store::DatabaseHealth>) {
    const NAME: &str = "database";
    let path = &config.store.database;
    if !path.exists() {
        let check = Check::warn(
            NAME,
            format!("{} does not exist yet", path.display()),
            "start the kiosk or run `vitrine store` once to create it (with the demo catalog when [store] seed_demo is on)",
        );
        return (check, None);
    }
    let latest = vitrine_store::list_backups(&vitrine_store::default_backup_dir(path)).pop();
    let restore = match &latest {
        Some(backup) => format!("stop the kiosk, then `vitrine restore {} --yes`", backup.display()),
        None => "stop the kiosk and move the file aside (with its -wal and -shm files); a fresh one is made at the next start and refilled from HQ".to_owned(),
    };
    match vitrine_store::inspect_database(path) {
        Err(e @ vitrine_store::StoreError::TooNew { .. }) => (Check::fail(NAME, e.to_string(), "install the Vitrine version that wrote it (or newer)"), None),
        Err(e) => (Check::fail(NAME, e.to_string(), restore), None),
        Ok(health) if !health.problems.is_empty() => {
            let detail = format!("{}: integrity check failed: {}", path.display(), health.problems.join("; "));
            (Check::fail(NAME, detail, restore), Some(health))
        }
        Ok(health) => {
            let mut detail = format!(
                "{}: schema {} of {}, {} ledger events ({} waiting for HQ), {}, integrity ok",
                path.display(),
                health.schema_version,
                vitrine_store::SCHEMA_VERSION,
                health.events,
                health.outbox,
                megabytes(health.bytes)
            );
            if health.schema_version < vitrine_store::SCHEMA_VERSION {
                detail += "; upgraded at the next start, after a backup";
            }
            (Check::ok(NAME, detail), Some(health))
        }
    }
}

fn disk(database: &Path) -> Check {
    const NAME: &str = "disk";
    let mut dir = database.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf();
    while !dir.exists() {
        match dir.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => dir = parent.to_path_buf(),
            _ => {
                dir = PathBuf::from(".");
                break;
            }
        }
    }
    let stats = match rustix::fs::statvfs(&dir) {
        Ok(stats) => stats,
        Err(e) => return Check::fail(NAME, format!("cannot read free space of {}: {e}", dir.display()), "check that the data folder is mounted"),
    };
    let free = stats.f_bavail.saturating_mul(stats.f_frsize);
    let detail = format!("{} free where the database lives ({})", megabytes(free), dir.display());
    let fix = "free space: delete old backups (`vitrine backup --list`), `sudo journalctl --vacuum-size=200M`";
    if free < DISK_FAIL_BYTES {
        Check::fail(NAME, detail, fix)
    } else if free < DISK_WARN_BYTES {
        Check::warn(NAME, detail, fix)
    } else {
        Check::ok(NAME, detail)
    }
}

fn backups(database: &Path, database_exists: bool) -> Check {
    const NAME: &str = "backup";
    if !database_exists {
        return Check::skip(NAME, "no database yet");
    }
    let dir = vitrine_store::default_backup_dir(database);
    let latest = vitrine_store::list_backups(&dir).pop();
    let Some(latest) = latest else {
        return Check::warn(NAME, format!("no backup in {}", dir.display()), "vitrine backup");
    };
    let age = std::fs::metadata(&latest).and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok()).unwrap_or_default();
    let detail = format!("latest {} ({} old)", latest.display(), human_age(age));
    if age > BACKUP_WARN_AGE {
        Check::warn(NAME, detail, "vitrine backup (the package's vitrine-backup.timer does it daily)")
    } else {
        Check::ok(NAME, detail)
    }
}

fn clock(now_ms: u64, last_event_ms: Option<u64>, hq_skew_ms: Option<i64>) -> Check {
    const NAME: &str = "clock";
    let fix = "turn on network time: `sudo timedatectl set-ntp true` (and check the box reaches an NTP server)";
    let now = now_ms / 1000;
    let text = iso_time(now);
    if now_ms < EARLIEST_PLAUSIBLE_MS {
        return Check::fail(NAME, format!("{text}: the clock was never set"), fix);
    }
    if let Some(last) = last_event_ms.filter(|last| *last > now_ms + 60_000) {
        return Check::fail(
            NAME,
            format!("{text} is {} behind the last event this kiosk stamped; it went backwards", human_age(Duration::from_millis(last - now_ms))),
            fix,
        );
    }
    if let Some(skew) = hq_skew_ms.filter(|skew| skew.abs() > MAX_CLOCK_SKEW_MS) {
        let side = if skew > 0 { "behind" } else { "ahead of" };
        return Check::fail(NAME, format!("{text} is {} {side} HQ's clock", human_age(Duration::from_millis(skew.unsigned_abs()))), fix);
    }
    let synced = Command::new("timedatectl")
        .args(["show", "-p", "NTPSynchronized", "--value"])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim() == "yes");
    let with_hq = hq_skew_ms.map(|s| format!(", {:+.1} s from HQ", s as f64 / 1000.0)).unwrap_or_default();
    match synced {
        Some(false) => Check::warn(NAME, format!("{text}{with_hq}; not synchronised with network time"), fix),
        Some(true) => Check::ok(NAME, format!("{text}{with_hq}, network time synchronised")),
        None => Check::ok(NAME, format!("{text}{with_hq}")),
    }
}

fn hq(config: &Config) -> (Check, Option<i64>) {
    const NAME: &str = "hq";
    let token_fix = format!(
        "on HQ: `vitrine-hq token issue --store STORE_ID`, and put the token in {} on this kiosk",
        config.sync.token_file.display()
    );
    let settings = match vitrine_sync::SyncSettings::from_config(&config.sync) {
        Ok(Some(settings)) => settings,
        Ok(None) => return (Check::skip(NAME, "sync is off ([sync] hq_url is not set)"), None),
        Err(e) => return (Check::fail(NAME, e.to_string(), token_fix), None),
    };
    let url = settings.hq_url.clone();
    let client = match vitrine_sync::SyncClient::new(settings) {
        Ok(client) => client,
        Err(e) => return (Check::fail(NAME, e.to_string(), "fix [sync] ca_file in vitrine.toml"), None),
    };
    match client.probe() {
        Ok(probe) => (Check::ok(NAME, format!("{url} answers and takes this store's token ({} ms)", probe.round_trip.as_millis())), probe.clock_skew_ms),
        Err(e @ vitrine_sync::SyncError::Refused { code: vitrine_sync::protocol::ErrorCode::Unauthorized, .. }) => {
            (Check::fail(NAME, e.to_string(), token_fix), None)
        }
        Err(e @ (vitrine_sync::SyncError::Transport { .. } | vitrine_sync::SyncError::Unavailable { .. })) => (
            Check::fail(NAME, e.to_string(), "check the network and [sync] hq_url; events wait in the outbox meanwhile, nothing is lost"),
            None,
        ),
        Err(e) => (Check::fail(NAME, e.to_string(), "update Vitrine or HQ so both speak the same protocol"), None),
    }
}

fn wall_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

fn iso_time(unix_s: u64) -> String {
    vitrine_store::iso8601_utc(unix_s as i64)
}

fn megabytes(bytes: u64) -> String {
    if bytes >= 10 << 30 {
        format!("{:.0} GiB", bytes as f64 / (1u64 << 30) as f64)
    } else if bytes >= 1 << 30 {
        format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
    } else {
        format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
    }
}

fn human_age(age: Duration) -> String {
    let s = age.as_secs();
    match s {
        s if s >= 2 * 86_400 => format!("{} days", s / 86_400),
        s if s >= 2 * 3600 => format!("{} h", s / 3600),
        s if s >= 120 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

#[cfg(test)]
mod tests;

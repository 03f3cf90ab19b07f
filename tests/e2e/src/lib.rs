//! Helpers for the end-to-end tests in `tests/kiosk.rs`: they drive the real `vitrine-kiosk`
//! through WebDriver (tauri-driver in front of WebKitWebDriver) on an X display (Xvfb).
//!
//! The tests only run with `VITRINE_E2E=1`; otherwise they print a notice and pass, so a
//! plain `cargo test` works on a machine without a display. With `VITRINE_E2E=1`, anything
//! missing (kiosk binary, tauri-driver, WebKitWebDriver, `DISPLAY`) fails with what to do.
//!
//! ```text
//! cargo build -p vitrine-kiosk
//! VITRINE_E2E=1 xvfb-run -a -s "-screen 0 1280x800x24" cargo test -p vitrine-e2e -- --test-threads=1
//! ```

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The workspace root (where `models/`, `vendor/` and `target/` are).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root")
}

/// Everything a run needs, found on disk.
#[derive(Debug, Clone)]
pub struct Setup {
    pub root: PathBuf,
    pub kiosk: PathBuf,
    pub tauri_driver: PathBuf,
    pub native_driver: PathBuf,
    /// Where screenshots and logs go (`target/e2e`).
    pub out_dir: PathBuf,
}

/// `None` (after printing why) when `VITRINE_E2E` is not `1`; panics with instructions when
/// it is and something is missing.
impl Setup {
    /// The kiosk's command line: windowed, on `source`, with `config` (a missing file means
    /// the defaults, whatever vitrine.toml the developer has), absolute paths for the models
    /// and the ONNX Runtime it loads, and `database` when the config does not name one.
    pub fn kiosk_args(&self, source: &str, config: &Path, database: Option<&Path>) -> Vec<String> {
        let mut args = vec![
            "--windowed".to_string(),
            "--source".into(),
            source.into(),
            "--config".into(),
            config.display().to_string(),
            "--models-dir".into(),
            self.root.join("models").display().to_string(),
        ];
        if let Some(database) = database {
            args.extend(["--database".into(), database.display().to_string()]);
        }
        let ort = self.root.join("vendor/onnxruntime/lib/libonnxruntime.so");
        if ort.is_file() {
            args.extend(["--ort-lib".into(), ort.display().to_string()]);
        }
        args
    }
}

pub fn setup_or_skip(test: &str) -> Option<Setup> {
    if std::env::var("VITRINE_E2E").as_deref() != Ok("1") {
        eprintln!(
            "skipping {test}: end-to-end tests run only with VITRINE_E2E=1 \
             (VITRINE_E2E=1 xvfb-run -a -s \"-screen 0 1280x800x24\" cargo test -p vitrine-e2e -- --test-threads=1)"
        );
        return None;
    }
    match find_setup() {
        Ok(s) => Some(s),
        Err(problems) => panic!("VITRINE_E2E=1 but the end-to-end setup is incomplete:\n  - {}", problems.join("\n  - ")),
    }
}

fn find_setup() -> Result<Setup, Vec<String>> {
    let root = workspace_root();
    let mut problems = Vec::new();
    let mut pick = |var: &str, default: PathBuf, hint: &str| -> PathBuf {
        let path = std::env::var_os(var).map(PathBuf::from).unwrap_or(default);
        let path = if path.is_relative() { root.join(path) } else { path };
        if !path.is_file() {
            problems.push(format!("{} not found (set {var}, or {hint})", path.display()));
        }
        path
    };
    let target = std::env::var_os("CARGO_TARGET_DIR").map(|t| root.join(t)).unwrap_or_else(|| root.join("target"));
    let kiosk = pick("VITRINE_KIOSK_BIN", target.join("debug/vitrine-kiosk"), "run `cargo build -p vitrine-kiosk`");
    let tauri_driver = pick(
        "VITRINE_TAURI_DRIVER",
        root.join(".tools/bin/tauri-driver"),
        "run `cargo install tauri-driver --locked --version 2.1.0 --root .tools` or `scripts/setup.sh --test-deps`",
    );
    let native_driver = pick(
        "VITRINE_NATIVE_DRIVER",
        which("WebKitWebDriver").unwrap_or_else(|| PathBuf::from("/usr/bin/WebKitWebDriver")),
        "install the Debian package webkit2gtk-driver",
    );
    if std::env::var_os("DISPLAY").is_none() {
        problems.push("DISPLAY is not set: run the tests under `xvfb-run -a -s \"-screen 0 1280x800x24\"`".into());
    }
    if which("import").is_none() || which("convert").is_none() {
        problems.push("ImageMagick (`import`, `convert`) is missing: install the Debian package imagemagick".into());
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let out_dir = target.join("e2e");
    std::fs::create_dir_all(&out_dir).map_err(|e| vec![format!("cannot create {}: {e}", out_dir.display())])?;
    Ok(Setup { root, kiosk, tauri_driver, native_driver, out_dir })
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join(name)).find(|p| p.is_file())
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free local port")
}

/// A private `HOME`, `TMPDIR` and XDG dirs for the kiosk, all inside one folder, so the test
/// can see every file the kiosk (and WebKit) writes.
pub fn private_env(home: &Path) -> Vec<(String, PathBuf)> {
    let dirs = [
        ("HOME", ""),
        ("TMPDIR", "tmp"),
        ("XDG_CACHE_HOME", ".cache"),
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_DATA_HOME", ".local/share"),
        ("XDG_STATE_HOME", ".local/state"),
        ("XDG_RUNTIME_DIR", "run"),
    ];
    dirs.iter()
        .map(|(var, sub)| {
            let dir = home.join(sub);
            std::fs::create_dir_all(&dir).expect("private dir");
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
            }
            (var.to_string(), dir)
        })
        .collect()
}

/// tauri-driver (and, below it, WebKitWebDriver and the kiosk) in a process group of its own;
/// the whole group is ended on drop.
pub struct Driver {
    child: Child,
    pub port: u16,
    pub log: PathBuf,
}

impl Driver {
    /// Starts tauri-driver with the kiosk's environment and working directory (both pass
    /// through WebKitWebDriver to the kiosk) and waits until it accepts connections.
    pub fn start(setup: &Setup, env: &[(String, PathBuf)], log: PathBuf) -> Self {
        let (port, native_port) = (free_port(), free_port());
        let log_file = std::fs::File::create(&log).expect("driver log file");
        let mut cmd = Command::new(&setup.tauri_driver);
        cmd.arg("--port")
            .arg(port.to_string())
            .arg("--native-port")
            .arg(native_port.to_string())
            .arg("--native-driver")
            .arg(&setup.native_driver)
            .current_dir(&setup.root)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("log handle"))
            .stderr(log_file)
            .process_group(0);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {}: {e}", setup.tauri_driver.display()));
        let mut driver = Self { child, port, log };
        let deadline = Instant::now() + Duration::from_secs(20);
        // tauri-driver forwards to WebKitWebDriver, which it starts beside itself: a session
        // asked for before both listen fails with a connection error (seen on a loaded machine).
        while TcpStream::connect(("127.0.0.1", port)).is_err() || TcpStream::connect(("127.0.0.1", native_port)).is_err() {
            if let Ok(Some(status)) = driver.child.try_wait() {
                panic!("tauri-driver exited at start ({status}):\n{}", driver.log_tail(4000));
            }
            if Instant::now() > deadline {
                panic!("tauri-driver and WebKitWebDriver did not listen on ports {port}, {native_port} within 20 s:\n{}", driver.log_tail(4000));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        driver
    }

    /// The process group of tauri-driver, WebKitWebDriver and the kiosk.
    pub fn group(&self) -> u32 {
        self.child.id()
    }

    /// Live processes of the group with this command name (e.g. `vitrine-kiosk`).
    pub fn running(&self, name: &str) -> Vec<u32> {
        group_processes(self.group()).into_iter().filter(|(_, comm)| comm == name).map(|(pid, _)| pid).collect()
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The last `max` bytes of what tauri-driver, WebKitWebDriver and the kiosk logged.
    pub fn log_tail(&self, max: usize) -> String {
        let mut text = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log) {
            let _ = f.read_to_string(&mut text);
        }
        let start = text.len().saturating_sub(max);
        let start = (start..text.len()).find(|&i| text.is_char_boundary(i)).unwrap_or(text.len());
        format!("--- {} (tail) ---\n{}", self.log.display(), &text[start..])
    }

    /// Ends the whole process group (SIGTERM, then SIGKILL after 10 s) and waits for it.
    pub fn stop(&mut self) {
        let group = format!("-{}", self.child.id());
        let signal = |sig: &str| {
            Command::new("kill").args([sig, "--", &group]).stdout(Stdio::null()).stderr(Stdio::null()).status().map(|s| s.success()).unwrap_or(false)
        };
        signal("-TERM");
        let _ = self.child.wait();
        let deadline = Instant::now() + Duration::from_secs(10);
        while signal("-0") {
            if Instant::now() > deadline {
                signal("-KILL");
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.stop();
    }
}

/// (pid, command name) of the live (not zombie) processes in process group `pgid`, from /proc.
pub fn group_processes(pgid: u32) -> Vec<(u32, String)> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else { return found };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // "pid (comm) state ppid pgrp ..."; comm may hold spaces and parentheses.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else { continue };
        let comm = stat[open + 1..close].to_string();
        let mut rest = stat[close + 1..].split_whitespace();
        let state = rest.next().unwrap_or("");
        let pgrp = rest.nth(1).and_then(|s| s.parse::<u32>().ok());
        if pgrp == Some(pgid) && state != "Z" && state != "X" {
            found.push((pid, comm));
        }
    }
    found
}

const MEDIA_EXTENSIONS: &[&str] = &["jpg", "jpeg", "png", "bmp", "webp", "mp4", "avi", "gif", "tif", "tiff", "mkv", "webm", "mov"];

/// Every regular file under `dir`, sorted.
pub fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for entry in entries.flatten() {
            match entry.file_type() {
                Ok(kind) if kind.is_dir() => stack.push(entry.path()),
                Ok(kind) if kind.is_file() => found.push(entry.path()),
                _ => {}
            }
        }
    }
    found.sort();
    found
}

/// Image or video files under `dir`: by extension, or by content (JPEG, PNG, BMP, WebP, GIF,
/// MP4 magic bytes) so a cache entry without a name does not slip through.
pub fn media_files(dir: &Path) -> Vec<PathBuf> {
    all_files(dir).into_iter().filter(|p| has_media_extension(p) || has_media_magic(p)).collect()
}

fn has_media_extension(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| MEDIA_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

fn has_media_magic(path: &Path) -> bool {
    let mut head = [0u8; 12];
    let n = std::fs::File::open(path).and_then(|mut f| f.read(&mut head)).unwrap_or(0);
    let head = &head[..n];
    head.starts_with(&[0xFF, 0xD8, 0xFF])
        || head.starts_with(b"\x89PNG")
        || head.starts_with(b"GIF8")
        || (head.starts_with(b"BM") && head.get(6..10) == Some(&[0, 0, 0, 0]))
        || (head.starts_with(b"RIFF") && head.get(8..12) == Some(b"WEBP"))
        || head.get(4..8) == Some(b"ftyp")
}

/// Grabs the whole X display (`import -window root`); WebDriver's own screenshot of a
/// canvas can be stale in WebKitGTK.
pub fn screenshot_display(path: &Path) -> Result<(), String> {
    let out = Command::new("import").args(["-window", "root"]).arg(path).output().map_err(|e| format!("import: {e}"))?;
    if !out.status.success() {
        return Err(format!("import -window root failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(())
}

/// Standard deviation of the image's pixel values, 0..1 (0 = one flat colour).
pub fn image_stddev(path: &Path) -> Result<f64, String> {
    let out = Command::new("convert")
        .arg(path)
        .args(["-colorspace", "Gray", "-format", "%[fx:standard_deviation]", "info:"])
        .output()
        .map_err(|e| format!("convert: {e}"))?;
    if !out.status.success() {
        return Err(format!("convert failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim().parse().map_err(|_| format!("convert printed {text:?}"))
}

/// The first number in a readout like "24.7 fps" or "83 ms".
pub fn leading_number(text: &str) -> Option<f64> {
    let t = text.trim();
    let end = t.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-')).unwrap_or(t.len());
    t[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readouts_parse() {
        assert_eq!(leading_number("24.7 fps"), Some(24.7));
        assert_eq!(leading_number("83 ms"), Some(83.0));
        assert_eq!(leading_number("– ms"), None);
        assert_eq!(leading_number(""), None);
    }

    #[test]
    fn media_files_are_found_by_name_and_by_content() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        std::fs::write(dir.path().join("a/frame.JPG"), b"x").unwrap();
        std::fs::write(dir.path().join("a/b/cache-entry"), [0xFF, 0xD8, 0xFF, 0xE0, 0, 0]).unwrap();
        std::fs::write(dir.path().join("a/b/clip"), b"\0\0\0\x18ftypmp42").unwrap();
        std::fs::write(dir.path().join("a/notes.txt"), b"hello").unwrap();
        std::fs::write(dir.path().join("e2e.db"), b"SQLite format 3\0").unwrap();
        let found = media_files(dir.path());
        let names: Vec<_> = found.iter().map(|p| p.file_name().unwrap().to_str().unwrap()).collect();
        assert_eq!(names, ["cache-entry", "clip", "frame.JPG"]);
    }

    #[test]
    fn our_own_process_group_is_listed() {
        let me = std::process::id();
        let stat = std::fs::read_to_string(format!("/proc/{me}/stat")).unwrap();
        let pgrp: u32 = stat[stat.rfind(')').unwrap() + 1..].split_whitespace().nth(2).unwrap().parse().unwrap();
        assert!(group_processes(pgrp).iter().any(|(pid, _)| *pid == me));
    }

    #[test]
    fn private_env_points_everything_inside_home() {
        let dir = tempfile::tempdir().unwrap();
        let env = private_env(dir.path());
        for (var, path) in &env {
            assert!(path.starts_with(dir.path()) && path.is_dir(), "{var}");
        }
        assert!(env.iter().any(|(k, _)| k == "TMPDIR"));
    }
}

/// WebDriver helpers shared by the end-to-end tests: errors are plain strings that say which
/// element or step failed, so a failing flow reads as a sentence.
pub mod webdriver {
    use std::time::Duration;

    use fantoccini::{elements::Element, Client, ClientBuilder, Locator};
    use serde_json::{json, Map, Value};

    use crate::{Driver, Setup};

    /// How long an element may take to appear (the debug kiosk is slow on a busy box).
    pub const WAIT: Duration = Duration::from_secs(30);

    pub type Res<T = ()> = Result<T, String>;

    /// A WebDriver session on a new kiosk process started with `args`.
    pub async fn connect(driver: &Driver, setup: &Setup, args: &[String]) -> Res<Client> {
        let mut caps = Map::new();
        caps.insert("tauri:options".into(), json!({ "application": setup.kiosk, "args": args }));
        caps.insert("browserName".into(), Value::String("wry".into()));
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&driver.url())
            .await
            .map_err(|e| format!("cannot open a WebDriver session on the kiosk: {e}"))
    }

    pub async fn find(c: &Client, css: &str) -> Res<Element> {
        c.wait().at_most(WAIT).for_element(Locator::Css(css)).await.map_err(|e| format!("{css} did not appear within {WAIT:?}: {e}"))
    }

    pub async fn text(c: &Client, css: &str) -> Res<String> {
        let el = c.find(Locator::Css(css)).await.map_err(|e| format!("{css}: {e}"))?;
        el.text().await.map_err(|e| format!("text of {css}: {e}"))
    }

    /// Clicks an element, first scrolled into view as a person would swipe to it (WebKit's
    /// driver does not scroll inside a scrolling carousel, and neither does `scrollIntoView`
    /// under scroll snapping).
    pub async fn click(c: &Client, css: &str) -> Res {
        let el = find(c, css).await?;
        // Every scrolling ancestor (a carousel) brings the element inside its box.
        let script = "const e = arguments[0];
            for (let p = e.parentElement; p; p = p.parentElement) {
              const s = getComputedStyle(p);
              if (!/(auto|scroll)/.test(s.overflowX + s.overflowY)) continue;
              const er = e.getBoundingClientRect(), pr = p.getBoundingClientRect();
              // To the box's start edge: scroll snapping then settles on the card holding it.
              if (er.right > pr.right || er.left < pr.left) p.scrollLeft += er.left - pr.left - 8;
              if (er.bottom > pr.bottom || er.top < pr.top) p.scrollTop += er.top - pr.top - 8;
            }";
        c.execute(script, vec![serde_json::to_value(&el).map_err(|e| e.to_string())?]).await.map_err(|e| format!("scroll to {css}: {e}"))?;
        match el.click().await {
            Ok(()) => Ok(()),
            // Say what was in the way: the element's box and what the page has at its centre.
            Err(e) => {
                let why = c
                    .execute(
                        "const r = arguments[0].getBoundingClientRect(); const x = r.left + r.width / 2, y = r.top + r.height / 2;
                         const top = document.elementFromPoint(x, y);
                         return `box ${Math.round(r.left)},${Math.round(r.top)} ${Math.round(r.width)}x${Math.round(r.height)}, disabled ${arguments[0].disabled}, at its centre ${top ? top.tagName + '#' + top.id + '.' + top.className : 'nothing'}`;",
                        vec![serde_json::to_value(&el).map_err(|e| e.to_string())?],
                    )
                    .await
                    .map_or_else(|e| e.to_string(), |v| v.as_str().unwrap_or_default().to_owned());
                Err(format!("click {css}: {e} ({why})"))
            }
        }
    }

    /// Presses (`down`) or releases a hold-to-speak button by its id, as a finger does: the
    /// pointer event the page listens for (WebDriver's own actions give no pointerdown here).
    pub async fn hold(c: &Client, id: &str, down: bool) -> Res {
        let event = if down { "pointerdown" } else { "pointerup" };
        c.execute("document.getElementById(arguments[0]).dispatchEvent(new PointerEvent(arguments[1], { bubbles: true }))", vec![id.into(), event.into()])
            .await
            .map(|_| ())
            .map_err(|e| format!("{event} on #{id}: {e}"))
    }

    /// Waits until `css`'s text contains `want`; returns the whole text.
    pub async fn wait_text(c: &Client, css: &str, want: &str) -> Res<String> {
        poll(&format!("{css} to say {want:?}"), WAIT, || async {
            let t = text(c, css).await?;
            if t.contains(want) { Ok(Some(t)) } else { Err(t) }
        })
        .await
    }

    /// Opens a staff screen with `open_button`, picks `name` on the PIN pad, types `pin` and
    /// waits until the screen says who is signed in.
    pub async fn sign_in(c: &Client, open_button: &str, name: &str, pin: &str) -> Res {
        click(c, open_button).await?;
        click(c, &format!(".staff-choice[data-name=\"{name}\"]")).await?;
        for digit in pin.chars() {
            click(c, &format!("#pin-key-{digit}")).await?;
        }
        click(c, "#pin-enter").await?;
        wait_text(c, "#session-name", name).await.map(|_| ())
    }

    /// Polls `check` (Ok(Some) = done) every 250 ms until `timeout`; the last observation goes
    /// into the error.
    pub async fn poll<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> Res<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Res<Option<T>>>,
    {
        let deadline = std::time::Instant::now() + timeout;
        let mut last = String::new();
        loop {
            match check().await {
                Ok(Some(v)) => return Ok(v),
                Ok(None) => {}
                Err(e) => last = e,
            }
            if std::time::Instant::now() > deadline {
                return Err(format!("timed out after {timeout:?} waiting for {what} (last: {last})"));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

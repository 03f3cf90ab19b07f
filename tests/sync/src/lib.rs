//! The harness for the sync fault tests in `tests/faults.rs`: a private PostgreSQL (Debian's
//! `postgresql` 15 binaries on a temporary data directory and socket), the real `vitrine-hq`
//! binary in front of it over TLS with a self-signed certificate, kiosks driven through the
//! real `vitrine` binary, and a loopback TCP proxy that drops or stalls connections.
//!
//! Like the end-to-end tests, they run only with `VITRINE_E2E=1` (what `scripts/test.sh`
//! sets); otherwise they print a notice and pass. With it, a missing PostgreSQL or binary
//! fails with what to do.
//!
//! ```text
//! cargo build -p vitrine-cli -p vitrine-hq
//! VITRINE_E2E=1 cargo test -p vitrine-sync-tests -- --test-threads=1
//! ```

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// Where Debian's `postgresql` package puts the server binaries.
pub const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root")
}

/// The binaries under test.
#[derive(Debug, Clone)]
pub struct Binaries {
    pub vitrine: PathBuf,
    pub hq: PathBuf,
}

/// `None` (after saying why) unless `VITRINE_E2E=1`; then panics with instructions if
/// PostgreSQL or a binary is missing.
pub fn setup_or_skip(test: &str) -> Option<Binaries> {
    if std::env::var("VITRINE_E2E").as_deref() != Ok("1") {
        eprintln!(
            "skipping {test}: the sync fault tests run only with VITRINE_E2E=1 \
             (cargo build -p vitrine-cli -p vitrine-hq && VITRINE_E2E=1 cargo test -p vitrine-sync-tests)"
        );
        return None;
    }
    let root = workspace_root();
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"));
    let pick = |var: &str, name: &str| {
        std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| target.join("debug").join(name))
    };
    let binaries = Binaries { vitrine: pick("VITRINE_BIN", "vitrine"), hq: pick("VITRINE_HQ_BIN", "vitrine-hq") };
    let mut problems = Vec::new();
    for (path, what) in [(&binaries.vitrine, "vitrine-cli"), (&binaries.hq, "vitrine-hq")] {
        if !path.is_file() {
            problems.push(format!("{} not found (cargo build -p {what})", path.display()));
        }
    }
    for tool in ["initdb", "postgres", "pg_isready"] {
        if !Path::new(PG_BIN).join(tool).is_file() {
            problems.push(format!(
                "{PG_BIN}/{tool} not found (apt-get install postgresql, or scripts/setup.sh --test-deps)"
            ));
        }
    }
    if !problems.is_empty() {
        panic!("VITRINE_E2E=1 but the sync test setup is incomplete:\n  - {}", problems.join("\n  - "));
    }
    Some(binaries)
}

fn is_root() -> bool {
    // The server refuses to run as root; as root we run it as the `postgres` user.
    std::env::var("USER").as_deref() == Ok("root")
        || Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

fn pg_command(tool: &str) -> Command {
    let path = Path::new(PG_BIN).join(tool);
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(path);
        command
    } else {
        Command::new(path)
    }
}

/// A private PostgreSQL server: its own data directory and socket directory, no TCP.
pub struct Postgres {
    dir: TempDir,
    child: Option<Child>,
}

impl Postgres {
    pub fn start() -> Postgres {
        let dir = tempfile::Builder::new().prefix("vitrine-pg-").tempdir().expect("temp dir");
        if is_root() {
            let status = Command::new("chown").args(["-R", "postgres:postgres"]).arg(dir.path()).status().unwrap();
            assert!(status.success(), "chown of the PostgreSQL temp dir failed");
        }
        let data = dir.path().join("data");
        let out = pg_command("initdb")
            .args(["-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "-D"])
            .arg(&data)
            .output()
            .expect("initdb runs");
        assert!(out.status.success(), "initdb failed: {}", String::from_utf8_lossy(&out.stderr));
        let mut pg = Postgres { dir, child: None };
        pg.launch();
        pg
    }

    fn socket_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// What `vitrine-hq --database-url` takes.
    pub fn url(&self) -> String {
        format!("host={} port=5432 user=postgres dbname=postgres", self.socket_dir().display())
    }

    fn launch(&mut self) {
        let log = std::fs::File::create(self.dir.path().join("postgres.log")).unwrap();
        let child = pg_command("postgres")
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-c", "listen_addresses=", "-c", "fsync=off", "-c", "max_connections=50"])
            .arg("-k")
            .arg(self.socket_dir())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("postgres starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = Command::new(Path::new(PG_BIN).join("pg_isready"))
                .arg("-h")
                .arg(self.socket_dir())
                .args(["-p", "5432", "-q"])
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return;
            }
            assert!(Instant::now() < deadline, "PostgreSQL did not start: {}", self.log());
            thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("postgres.log")).unwrap_or_default()
    }

    /// Fast shutdown (open transactions roll back), then start again on the same data.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGINT to the postmaster itself (runuser, when root, doesn't pass it on) is
            // PostgreSQL's "fast" shutdown: open transactions roll back, nothing committed is lost.
            let pid_file = self.dir.path().join("data/postmaster.pid");
            let pid = std::fs::read_to_string(&pid_file).ok().and_then(|t| t.lines().next().map(str::to_owned));
            match pid {
                Some(pid) => {
                    let _ = Command::new("kill").args(["-INT", pid.trim()]).status();
                }
                None => {
                    let _ = child.kill();
                }
            }
            let _ = child.wait();
            let deadline = Instant::now() + Duration::from_secs(30);
            while pid_file.exists() && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(50));
            }
        }
    }

    pub fn start_again(&mut self) {
        self.launch();
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The real `vitrine-hq`, serving HTTPS on a fixed loopback port with a self-signed cert.
pub struct Hq {
    bin: PathBuf,
    database_url: String,
    dir: TempDir,
    pub port: u16,
    child: Option<Child>,
}

impl Hq {
    pub fn start(bins: &Binaries, pg: &Postgres) -> Hq {
        let dir = tempfile::Builder::new().prefix("vitrine-hq-").tempdir().unwrap();
        let out = Command::new(&bins.hq)
            .args(["cert", "--out-dir"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "vitrine-hq cert: {}", String::from_utf8_lossy(&out.stderr));
        let mut hq = Hq { bin: bins.hq.clone(), database_url: pg.url(), dir, port: free_port(), child: None };
        hq.launch();
        hq
    }

    fn launch(&mut self) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.dir.path().join("hq.log")).unwrap();
        let mut child = Command::new(&self.bin)
            .args(["--database-url", &self.database_url, "serve", "--listen", &format!("127.0.0.1:{}", self.port)])
            .arg("--cert")
            .arg(self.cert())
            .arg("--key")
            .arg(self.dir.path().join("key.pem"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("vitrine-hq starts");
        let mut line = String::new();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        stdout.read_line(&mut line).unwrap();
        assert!(line.starts_with("listening on"), "vitrine-hq did not start: {line:?}\n{}", self.log());
        self.child = Some(child);
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("hq.log")).unwrap_or_default()
    }

    pub fn cert(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// `vitrine-hq ARGS` against the same database; panics on failure.
    pub fn admin(&self, args: &[&str]) -> String {
        let out = Command::new(&self.bin)
            .args(["--database-url", &self.database_url])
            .args(args)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        assert!(out.status.success(), "vitrine-hq {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    /// A new token for `store`, written to a file in `dir`.
    pub fn issue_token(&self, store: &str, dir: &Path) -> PathBuf {
        let path = dir.join(format!("{store}.token"));
        self.admin(&["token", "issue", "--store", store, "--out", path.to_str().unwrap()]);
        path
    }

    /// HQ's book stock of one store: SKU → on hand (zero levels left out).
    pub fn stock(&self, store: &str) -> BTreeMap<String, i64> {
        self.admin(&["stock", "--store", store])
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .map(|v| (v["sku"].as_str().unwrap().to_owned(), v["on_hand"].as_i64().unwrap()))
            .filter(|(_, on_hand)| *on_hand != 0)
            .collect()
    }

    /// `(id, hlc)` of one store's events at HQ, in HLC order.
    pub fn events(&self, store: Option<&str>) -> Vec<(String, String)> {
        let mut args = vec!["events"];
        if let Some(store) = store {
            args.extend(["--store", store]);
        }
        self.admin(&args)
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .map(|v| (v["id"].as_str().unwrap().to_owned(), v["hlc"].as_str().unwrap().to_owned()))
            .collect()
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }
}

impl Drop for Hq {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A kiosk: its own database and config, driven through the `vitrine` binary.
pub struct Kiosk {
    bin: PathBuf,
    pub dir: TempDir,
}

impl Kiosk {
    /// A kiosk (demo catalog) syncing with `hq_url` using `token_file`, trusting `ca`.
    pub fn new(bins: &Binaries, hq_url: &str, token_file: &Path, ca: &Path, batch_size: usize, timeout_secs: u64) -> Kiosk {
        let dir = tempfile::Builder::new().prefix("vitrine-kiosk-").tempdir().unwrap();
        let config = format!(
            "[store]\ndatabase = {:?}\n\n[sync]\nhq_url = {hq_url:?}\ntoken_file = {:?}\nca_file = {:?}\n\
             interval_secs = 1\nbatch_size = {batch_size}\ntimeout_secs = {timeout_secs}\n",
            dir.path().join("kiosk.db"),
            token_file,
            ca
        );
        std::fs::write(dir.path().join("vitrine.toml"), config).unwrap();
        Kiosk { bin: bins.vitrine.clone(), dir }
    }

    pub fn database(&self) -> PathBuf {
        self.dir.path().join("kiosk.db")
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.bin);
        command.arg("--config").arg(self.dir.path().join("vitrine.toml")).args(args).env("RUST_LOG", "warn");
        command
    }

    /// Runs `vitrine ARGS` to the end.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("vitrine runs")
    }

    /// Runs `vitrine ARGS` and panics unless it succeeds.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "vitrine {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Book stock per SKU summed over locations (zero levels left out).
    pub fn stock(&self) -> BTreeMap<String, i64> {
        let store = vitrine_store::Store::open(self.database()).unwrap();
        store
            .stock_by_variant()
            .unwrap()
            .into_iter()
            .filter(|v| v.on_hand != 0)
            .map(|v| (v.sku, v.on_hand))
            .collect()
    }

    /// How many events the kiosk's ledger holds.
    pub fn event_count(&self) -> usize {
        vitrine_store::Store::open(self.database()).unwrap().catalog_summary().unwrap().events as usize
    }

    /// `(id, hlc)` of every event in the kiosk's ledger, in HLC order.
    pub fn events(&self) -> Vec<(String, String)> {
        vitrine_store::Store::open(self.database()).unwrap().ledger_ids().unwrap()
    }

    pub fn status(&self) -> vitrine_store::SyncStatus {
        vitrine_store::Store::open(self.database()).unwrap().sync_status().unwrap()
    }

    /// Writes a sales feed of `rows` lines over the demo catalog, sale ids from `prefix`.
    pub fn write_sales(&self, name: &str, prefix: &str, rows: usize, rng: &mut Rng) -> PathBuf {
        write_feed(&self.dir.path().join(name), "sale_id", prefix, rows, rng, true)
    }

    pub fn write_deliveries(&self, name: &str, prefix: &str, rows: usize, rng: &mut Rng) -> PathBuf {
        write_feed(&self.dir.path().join(name), "delivery_id", prefix, rows, rng, false)
    }
}

/// SKUs of the demo catalog (`vitrine store` seeds it) that the feeds use.
pub const DEMO_SKUS: [&str; 4] = ["VT-TEE-ORBIT-M-INK", "VT-TEE-ORBIT-L-INK", "GR-OATS-1KG", "GR-HONEY-350"];

fn write_feed(path: &Path, id_column: &str, prefix: &str, rows: usize, rng: &mut Rng, sales: bool) -> PathBuf {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(out, "{id_column},line,timestamp,sku,quantity").unwrap();
    for i in 0..rows {
        let sku = DEMO_SKUS[rng.below(DEMO_SKUS.len() as u64) as usize];
        let quantity = if sales && rng.below(20) == 0 { -1 } else { rng.below(3) as i64 + 1 };
        writeln!(out, "{prefix}-{},{},2025-03-01T10:{:02}:00Z,{sku},{quantity}", i / 4, i % 4 + 1, i % 60).unwrap();
    }
    out.flush().unwrap();
    path.to_path_buf()
}

/// A small deterministic generator (xorshift); the seed is printed so a failure replays.
pub struct Rng(u64);

impl Rng {
    pub fn from_time(test: &str) -> Rng {
        let seed = std::env::var("VITRINE_SYNC_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1
        });
        eprintln!("{test}: random seed {seed} (VITRINE_SYNC_SEED={seed} replays it)");
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// A loopback TCP proxy in front of `target` that, per connection, drops it after a random
/// number of bytes (mid-request or mid-answer), or stalls it; the rest break only after a
/// few MB.
pub struct FlakyProxy {
    pub port: u16,
    stop: Arc<AtomicBool>,
    pub dropped: Arc<AtomicU64>,
    pub stalled: Arc<AtomicU64>,
    pub passed: Arc<AtomicU64>,
}

impl FlakyProxy {
    /// The first three connections fail (drop, stall, drop); after them `drop_percent` and
    /// `stall_percent` of connections do. A stall holds the connection for `stall` and then
    /// closes it.
    pub fn start(target: u16, drop_percent: u64, stall_percent: u64, stall: Duration, seed: u64) -> FlakyProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let [dropped, stalled, passed] = [(); 3].map(|_| Arc::new(AtomicU64::new(0)));
        let proxy = FlakyProxy { port, stop: stop.clone(), dropped: dropped.clone(), stalled: stalled.clone(), passed: passed.clone() };
        thread::spawn(move || {
            let mut rng = Rng(seed | 1);
            let mut accepted = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let client = match listener.accept() {
                    Ok((client, _)) => client,
                    Err(_) => {
                        thread::sleep(Duration::from_millis(5));
                        continue;
                    }
                };
                client.set_nonblocking(false).unwrap();
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else { continue };
                // The first three connections always fail (drop, stall, drop), so every run
                // meets faults however few connections the random draws would have broken.
                let roll = match accepted {
                    0 | 2 => 0,
                    1 => drop_percent,
                    _ => rng.below(100),
                };
                accepted += 1;
                let fault = if roll < drop_percent {
                    dropped.fetch_add(1, Ordering::Relaxed);
                    // Anywhere from the TLS handshake to a few batches in (connections are kept alive).
                    Fault::DropAfter(rng.below(300_000) + 500)
                } else if roll < drop_percent + stall_percent {
                    stalled.fetch_add(1, Ordering::Relaxed);
                    Fault::StallAfter(rng.below(300_000) + 500, stall)
                } else {
                    // Even a good connection breaks in the end: kept alive, it would otherwise
                    // carry the rest of the sync untouched.
                    passed.fetch_add(1, Ordering::Relaxed);
                    Fault::DropAfter(rng.below(2_000_000) + 300_000)
                };
                relay(client, server, fault);
            }
        });
        proxy
    }
}

impl Drop for FlakyProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[derive(Clone, Copy)]
enum Fault {
    /// Close both sides once this many bytes (both directions together) went through.
    DropAfter(u64),
    /// Stop forwarding after this many bytes, hold the connection, then close it.
    StallAfter(u64, Duration),
}

fn relay(client: TcpStream, server: TcpStream, fault: Fault) {
    let budget = Arc::new(AtomicU64::new(match fault {
        Fault::DropAfter(n) | Fault::StallAfter(n, _) => n,
    }));
    let pipe = |mut from: TcpStream, mut to: TcpStream, budget: Arc<AtomicU64>| {
        thread::spawn(move || {
            let mut buf = [0u8; 16 * 1024];
            loop {
                let n = match from.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let left = budget.fetch_sub((n as u64).min(budget.load(Ordering::Relaxed)), Ordering::Relaxed);
                let allowed = (n as u64).min(left) as usize;
                if to.write_all(&buf[..allowed]).is_err() || allowed < n {
                    break;
                }
            }
            if let Fault::StallAfter(_, stall) = fault {
                thread::sleep(stall);
            }
            let _ = to.shutdown(Shutdown::Both);
            let _ = from.shutdown(Shutdown::Both);
        })
    };
    pipe(client.try_clone().unwrap(), server.try_clone().unwrap(), budget.clone());
    pipe(server, client, budget);
}

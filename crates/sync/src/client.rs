//! The kiosk-side client: HTTPS over rustls (ring), push, pull, retries, the background loop.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use serde::Serialize;
use tracing::{debug, info, warn};
use ureq::tls::{Certificate, RootCerts, TlsConfig};
use ureq::Agent;
use vitrine_config::SyncConfig;
use vitrine_store::{CatalogUpdate, Hlc, NodeIdentity, PulledChanges, RecordedEvent, RemoteStock, Store};

use crate::protocol::{
    ErrorBody, PullRequest, PullResponse, PushRequest, PushResponse, WireEvent, MAX_PUSH_EVENTS,
    PROTOCOL_VERSION, PULL_PATH, PUSH_PATH,
};
use crate::{Result, SyncError};

/// Catalog rows asked for per pull.
const PULL_LIMIT: u32 = 5_000;
/// The largest answer read from HQ.
const MAX_RESPONSE_BYTES: u64 = 64 * 1024 * 1024;

/// How long to wait between attempts: exponential from `initial` up to `max`, each wait
/// drawn uniformly from zero to that bound ("full jitter"), so kiosks that lost HQ together
/// don't all come back in the same millisecond.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub initial: Duration,
    pub max: Duration,
    /// Attempts per request before the round gives up (the loop starts another later).
    pub attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { initial: Duration::from_millis(200), max: Duration::from_secs(30), attempts: 8 }
    }
}

impl RetryPolicy {
    /// The pause before attempt `attempt + 1` (attempt counts from 0).
    pub fn delay(&self, attempt: u32) -> Duration {
        let bound = self.initial.saturating_mul(1u32 << attempt.min(20)).min(self.max);
        let mut bytes = [0u8; 8];
        // Without randomness the full bound is still a correct (if synchronised) backoff.
        let jitter = match getrandom::fill(&mut bytes) {
            Ok(()) => u64::from_le_bytes(bytes) as f64 / u64::MAX as f64,
            Err(_) => 1.0,
        };
        bound.mul_f64(jitter)
    }
}

/// Everything a client needs, read from `[sync]` (token and CA file loaded).
#[derive(Clone)]
pub struct SyncSettings {
    pub hq_url: String,
    pub token: String,
    /// PEM bytes of the certificates to trust; `None`: the public web PKI roots.
    pub ca_pem: Option<Vec<u8>>,
    pub interval: Duration,
    pub batch_size: usize,
    pub timeout: Duration,
    pub retry: RetryPolicy,
}

impl std::fmt::Debug for SyncSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncSettings")
            .field("hq_url", &self.hq_url)
            .field("token", &"<secret>")
            .field("interval", &self.interval)
            .field("batch_size", &self.batch_size)
            .finish_non_exhaustive()
    }
}

impl SyncSettings {
    /// `None` when `[sync]` has no `hq_url` (sync is off); an error names the file at fault.
    pub fn from_config(config: &SyncConfig) -> Result<Option<Self>> {
        let Some(hq_url) = config.hq_url.as_deref() else {
            return Ok(None);
        };
        let hq_url = hq_url.trim_end_matches('/').to_owned();
        if !hq_url.starts_with("https://") && !hq_url.starts_with("http://") {
            return Err(SyncError::Config(format!("sync.hq_url {hq_url:?} must start with https://")));
        }
        let token = read_file(&config.token_file, "sync.token_file")?;
        let token = String::from_utf8(token)
            .map_err(|_| SyncError::Config(format!("{} is not text", config.token_file.display())))?
            .trim()
            .to_owned();
        if token.is_empty() {
            return Err(SyncError::Config(format!("{} is empty", config.token_file.display())));
        }
        let ca_pem = config.ca_file.as_deref().map(|p| read_file(p, "sync.ca_file")).transpose()?;
        Ok(Some(SyncSettings {
            hq_url,
            token,
            ca_pem,
            interval: Duration::from_secs(config.interval_secs),
            batch_size: config.batch_size.clamp(1, MAX_PUSH_EVENTS),
            timeout: Duration::from_secs(config.timeout_secs),
            retry: RetryPolicy::default(),
        }))
    }
}

fn read_file(path: &Path, key: &str) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| SyncError::Config(format!("cannot read {key} {}: {e}", path.display())))
}

/// What [`SyncClient::probe`] found.
#[derive(Debug, Clone, Copy)]
pub struct HqProbe {
    pub round_trip: Duration,
    /// HQ's clock minus this device's, to about a second; `None` when HQ sent no `Date`.
    pub clock_skew_ms: Option<i64>,
}

/// What one round did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SyncReport {
    /// Events HQ took in for the first time.
    pub pushed: u64,
    /// Events HQ had already (a push resent after a crash or a lost answer).
    pub duplicates: u64,
    pub push_requests: u64,
    pub catalog_changes: u64,
    pub stores_updated: u64,
    pub pull_requests: u64,
    /// Requests sent again after a transient failure.
    pub retries: u64,
    pub push_ms: u64,
    pub pull_ms: u64,
}

/// Talks to one HQ on behalf of one store.
pub struct SyncClient {
    agent: Agent,
    settings: SyncSettings,
    authorization: String,
    stop: Arc<AtomicBool>,
}

impl SyncClient {
    pub fn new(settings: SyncSettings) -> Result<Self> {
        let mut tls = TlsConfig::builder();
        if let Some(pem) = &settings.ca_pem {
            let certs = ureq::tls::parse_pem(pem)
                .filter_map(|item| match item {
                    Ok(ureq::tls::PemItem::Certificate(cert)) => Some(Ok(cert)),
                    Ok(_) => None,
                    Err(e) => Some(Err(e)),
                })
                .collect::<Result<Vec<Certificate<'static>>, _>>()
                .map_err(|e| SyncError::Config(format!("sync.ca_file is not PEM: {e}")))?;
            if certs.is_empty() {
                return Err(SyncError::Config("sync.ca_file holds no certificate".into()));
            }
            tls = tls.root_certs(RootCerts::new_with_certs(&certs));
        }
        let agent: Agent = Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(settings.timeout))
            .tls_config(tls.build())
            .build()
            .into();
        Ok(SyncClient {
            agent,
            authorization: format!("Bearer {}", settings.token),
            settings,
            stop: Arc::new(AtomicBool::new(false)),
        })
    }

    /// One round: push the whole outbox, then pull until HQ has nothing more. Each request
    /// is retried per the [`RetryPolicy`]; the last failure is kept in the store's sync
    /// status, and every success clears it.
    pub fn sync_once(&self, store: &mut Store) -> Result<SyncReport> {
        store.set_hq_url(Some(&self.settings.hq_url))?;
        let result = self.round(store);
        if let Err(e) = &result {
            if !matches!(e, SyncError::Stopped) {
                store.record_sync_error(&e.to_string(), now_ms())?;
            }
        }
        result
    }

    fn round(&self, store: &mut Store) -> Result<SyncReport> {
        let mut report = SyncReport::default();
        let started = Instant::now();
        let size = self.settings.batch_size;
        let identity = store.identity().clone();
        let mut batch = store.pending_outbox_after(0, size)?;
        let mut body = self.push_body(&identity, &batch)?;
        // The previous batch, held at HQ, still to be taken out of the outbox.
        let mut held: Option<(Vec<i64>, Option<Hlc>)> = None;
        while !batch.is_empty() {
            let last_seq = batch.last().map_or(0, |e| e.seq);
            // Two stages: while HQ takes this batch, the outbox drops the previous one and
            // the next is read and encoded. Only events HQ has answered for leave the outbox.
            let mut retries = 0;
            let (answer, prepared) = std::thread::scope(|scope| {
                let request = scope.spawn(|| self.send::<PushResponse>(PUSH_PATH, &body, &mut retries));
                let prepared = (|| {
                    if let Some((seqs, hq_hlc)) = held.take() {
                        store.record_push(&seqs, hq_hlc.as_ref(), now_ms())?;
                    }
                    let next = store.pending_outbox_after(last_seq, size)?;
                    let next_body = self.push_body(&identity, &next)?;
                    Ok::<_, SyncError>((next, next_body))
                })();
                (request.join().expect("the push thread does not panic"), prepared)
            });
            report.retries += retries;
            let answer = answer?;
            let (next, next_body) = prepared?;
            held = Some((batch.iter().map(|e| e.seq).collect(), parse_hlc(answer.hq_hlc.as_deref())));
            report.pushed += answer.inserted;
            report.duplicates += answer.duplicates;
            report.push_requests += 1;
            debug!(events = batch.len(), inserted = answer.inserted, "pushed a batch");
            (batch, body) = (next, next_body);
        }
        if let Some((seqs, hq_hlc)) = held {
            store.record_push(&seqs, hq_hlc.as_ref(), now_ms())?;
        }
        report.push_ms = started.elapsed().as_millis() as u64;
        let started = Instant::now();
        loop {
            let cursors = store.sync_cursors()?;
            let body = self.pull_body(cursors.catalog, cursors.stock, PULL_LIMIT)?;
            let answer: PullResponse = self.send(PULL_PATH, &body, &mut report.retries)?;
            report.catalog_changes += answer.catalog.len() as u64;
            report.stores_updated += answer.stores.len() as u64;
            report.pull_requests += 1;
            let more = answer.more;
            let hq_hlc = parse_hlc(answer.hq_hlc.as_deref());
            store.apply_pull(&answer.into_changes(), hq_hlc.as_ref(), now_ms())?;
            if !more {
                break;
            }
        }
        report.pull_ms = started.elapsed().as_millis() as u64;
        Ok(report)
    }

    /// One authenticated, read-only request (a pull past every cursor), no retries: says
    /// whether HQ answers and takes this store's token, and how far HQ's clock (its `Date`
    /// header) is from ours.
    pub fn probe(&self) -> Result<HqProbe> {
        let body = self.pull_body(i64::MAX, Default::default(), 1)?;
        let started = Instant::now();
        let (_, date): (PullResponse, _) = self.post_with_date(PULL_PATH, &body)?;
        let round_trip = started.elapsed();
        let clock_skew_ms = date.and_then(|date| {
            let hq = date.duration_since(UNIX_EPOCH).ok()?.as_millis() as i64;
            // The header has whole seconds: compare with our clock half-way through the
            // request, less the half second the truncation costs on average.
            let ours = now_ms() - round_trip.as_millis() as i64 / 2;
            Some(hq + 500 - ours)
        });
        Ok(HqProbe { round_trip, clock_skew_ms })
    }

    /// Posts `body`, retrying transient failures with backoff; counts the retries.
    fn send<T: DeserializeOwned + HasProtocol>(&self, path: &str, body: &[u8], retries: &mut u64) -> Result<T> {
        let policy = self.settings.retry;
        let mut attempt = 0;
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return Err(SyncError::Stopped);
            }
            match self.post(path, body) {
                Ok(answer) => return Ok(answer),
                Err(e) if e.is_transient() && attempt + 1 < policy.attempts => {
                    let pause = policy.delay(attempt);
                    warn!(error = %e, attempt, pause_ms = pause.as_millis() as u64, "sync request failed; retrying");
                    self.pause(pause)?;
                    attempt += 1;
                    *retries += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// A pull request after these cursors, encoded.
    fn pull_body(&self, catalog_cursor: i64, stock_cursors: BTreeMap<String, i64>, limit: u32) -> Result<Vec<u8>> {
        let request = PullRequest { protocol: PROTOCOL_VERSION, catalog_cursor, stock_cursors, limit };
        serde_json::to_vec(&request).map_err(|e| SyncError::BadResponse {
            url: self.settings.hq_url.clone(),
            reason: format!("cannot encode pull: {e}"),
        })
    }

    /// The push request for `batch`, encoded (empty batch: nothing to send).
    fn push_body(&self, identity: &NodeIdentity, batch: &[RecordedEvent]) -> Result<Vec<u8>> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let request = PushRequest {
            protocol: PROTOCOL_VERSION,
            store_id: identity.store_id.clone(),
            device_id: identity.device_id.clone(),
            events: batch.iter().map(WireEvent::from).collect(),
        };
        serde_json::to_vec(&request).map_err(|e| SyncError::BadResponse {
            url: self.settings.hq_url.clone(),
            reason: format!("cannot encode push: {e}"),
        })
    }

    fn post<T: DeserializeOwned + HasProtocol>(&self, path: &str, body: &[u8]) -> Result<T> {
        self.post_with_date(path, body).map(|(answer, _)| answer)
    }

    /// [`Self::post`], also returning the answer's `Date` header when it has a valid one.
    fn post_with_date<T: DeserializeOwned + HasProtocol>(
        &self,
        path: &str,
        body: &[u8],
    ) -> Result<(T, Option<SystemTime>)> {
        let url = format!("{}{path}", self.settings.hq_url);
        let transport = |e: ureq::Error| SyncError::Transport { url: url.clone(), reason: e.to_string() };
        let mut response = self
            .agent
            .post(&url)
            .header("authorization", &self.authorization)
            .header("content-type", "application/json")
            .send(body)
            .map_err(transport)?;
        let status = response.status().as_u16();
        let date = response
            .headers()
            .get("date")
            .and_then(|value| value.to_str().ok())
            .and_then(|text| httpdate::parse_http_date(text).ok());
        let bytes = response
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BYTES)
            .read_to_vec()
            .map_err(transport)?;
        if status != 200 {
            let error = serde_json::from_slice::<ErrorBody>(&bytes).ok();
            let message = error
                .as_ref()
                .map(|e| e.message.clone())
                .unwrap_or_else(|| String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned());
            return Err(match error {
                Some(e) if status < 500 && status != 429 => SyncError::Refused { url, code: e.code, message },
                _ => SyncError::Unavailable { url, status, message },
            });
        }
        let answer: T = serde_json::from_slice(&bytes)
            .map_err(|e| SyncError::BadResponse { url: url.clone(), reason: e.to_string() })?;
        if answer.protocol() != PROTOCOL_VERSION {
            return Err(SyncError::BadResponse {
                url,
                reason: format!("HQ answered in protocol {}, this kiosk speaks {PROTOCOL_VERSION}", answer.protocol()),
            });
        }
        Ok((answer, date))
    }

    /// Sleeps, waking early (with [`SyncError::Stopped`]) when asked to stop.
    fn pause(&self, duration: Duration) -> Result<()> {
        let until = Instant::now() + duration;
        while Instant::now() < until {
            if self.stop.load(Ordering::Relaxed) {
                return Err(SyncError::Stopped);
            }
            std::thread::sleep((until - Instant::now()).min(Duration::from_millis(50)));
        }
        Ok(())
    }
}

/// The protocol version an answer says it speaks.
trait HasProtocol {
    fn protocol(&self) -> u32;
}

impl HasProtocol for PushResponse {
    fn protocol(&self) -> u32 {
        self.protocol
    }
}

impl HasProtocol for PullResponse {
    fn protocol(&self) -> u32 {
        self.protocol
    }
}

fn parse_hlc(text: Option<&str>) -> Option<Hlc> {
    text.and_then(|t| match t.parse() {
        Ok(hlc) => Some(hlc),
        Err(e) => {
            warn!(error = %e, "ignoring HQ's clock");
            None
        }
    })
}

impl PullResponse {
    /// What the store applies from this answer (`Store::apply_pull`).
    pub fn into_changes(self) -> PulledChanges {
        let answer = self;
        PulledChanges {
        catalog_cursor: answer.catalog_cursor,
        catalog: answer
            .catalog
            .into_iter()
            .map(|c| CatalogUpdate {
                product_code: c.product_code,
                product_name: c.product_name,
                category: c.category,
                sku: c.sku,
                size: c.size,
                colour: c.colour,
                barcode: c.barcode,
                price_cents: c.price_cents,
                cost_cents: c.cost_cents,
            })
            .collect(),
        stores: answer
            .stores
            .into_iter()
            .map(|s| RemoteStock {
                store_id: s.store_id,
                stock_version: s.stock_version,
                events: s.events.max(0) as u64,
                last_seen_unix_ms: s.last_seen_unix_ms,
                levels: s.levels.into_iter().map(|l| (l.sku, l.on_hand)).collect(),
            })
            .collect(),
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// Sync rounds on a background thread, every `interval` (sooner after a failure, with
/// backoff), on its own handle to the database file. Dropping it tells the thread to stop.
pub struct SyncLoop {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SyncLoop {
    /// Starts syncing `database` with HQ as `settings` say.
    pub fn spawn(settings: SyncSettings, database: PathBuf) -> Result<Self> {
        let client = SyncClient::new(settings)?;
        let stop = client.stop.clone();
        let thread = std::thread::Builder::new()
            .name("vitrine-sync".into())
            .spawn(move || run_loop(client, &database))
            .map_err(|e| SyncError::Config(format!("cannot start the sync thread: {e}")))?;
        Ok(SyncLoop { stop, thread: Some(thread) })
    }

    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for SyncLoop {
    /// Asks the thread to stop without waiting: a request in flight may take up to the
    /// timeout, and quitting the kiosk should not.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn run_loop(client: SyncClient, database: &Path) {
    let mut failures = 0;
    loop {
        let pause = match Store::open(database).map_err(SyncError::from).and_then(|mut s| client.sync_once(&mut s)) {
            Ok(report) => {
                failures = 0;
                if report.pushed + report.catalog_changes + report.stores_updated > 0 {
                    info!(?report, "synced with HQ");
                }
                client.settings.interval
            }
            Err(SyncError::Stopped) => return,
            Err(e) => {
                warn!(error = %e, "sync round failed");
                failures += 1;
                client.settings.retry.delay(failures).max(Duration::from_secs(1)).min(client.settings.interval)
            }
        };
        if client.pause(pause).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_its_cap_with_jitter_below_the_bound() {
        let policy = RetryPolicy { initial: Duration::from_millis(100), max: Duration::from_secs(2), attempts: 5 };
        for attempt in 0..12 {
            let bound = Duration::from_millis(100 * (1 << attempt.min(10))).min(Duration::from_secs(2));
            let delays: Vec<Duration> = (0..50).map(|_| policy.delay(attempt)).collect();
            assert!(delays.iter().all(|d| *d <= bound), "attempt {attempt}: {delays:?}");
            assert!(delays.windows(2).any(|w| w[0] != w[1]), "jittered");
        }
    }

    #[test]
    fn settings_are_off_without_a_url_and_name_a_missing_token_file() {
        let mut config = SyncConfig::default();
        assert!(SyncSettings::from_config(&config).unwrap().is_none());
        config.hq_url = Some("https://hq.test:8443/".into());
        config.token_file = "/nonexistent/token".into();
        let err = SyncSettings::from_config(&config).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/token"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("t"), "vt_4f2a\n").unwrap();
        config.token_file = dir.path().join("t");
        let settings = SyncSettings::from_config(&config).unwrap().unwrap();
        assert_eq!(settings.hq_url, "https://hq.test:8443");
        assert_eq!(settings.token, "vt_4f2a");
        assert!(!format!("{settings:?}").contains("vt_4f2a"), "the token stays out of logs");
    }

    #[test]
    fn an_unreachable_hq_is_a_transient_error_kept_in_the_status() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let settings = SyncSettings {
            hq_url: format!("http://127.0.0.1:{port}"),
            token: "t".into(),
            ca_pem: None,
            interval: Duration::from_secs(1),
            batch_size: 10,
            timeout: Duration::from_secs(2),
            retry: RetryPolicy { initial: Duration::from_millis(1), max: Duration::from_millis(5), attempts: 3 },
        };
        let client = SyncClient::new(settings).unwrap();
        let mut store = Store::open_in_memory().unwrap();
        store.seed_demo_if_empty().unwrap();
        let err = client.sync_once(&mut store).unwrap_err();
        assert!(err.is_transient(), "{err}");
        let status = store.sync_status().unwrap();
        assert!(status.last_error.unwrap().contains("cannot reach HQ"));
        assert!(status.pending_events > 0, "nothing acknowledged");
    }
}

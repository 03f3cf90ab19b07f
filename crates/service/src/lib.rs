//! The kiosk as a systemd service (`Type=notify`): it says when it is ready, keeps a one-line
//! status, and feeds the watchdog only while its own liveness checks pass, so systemd
//! restarts a kiosk whose pipeline or window hangs, not only one that crashes. The protocol
//! is `sd_notify(3)`: datagrams of `KEY=VALUE` lines to `$NOTIFY_SOCKET`. Outside systemd
//! (no socket) every call does nothing.

use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tracing::{error, info, warn};

/// Talks to systemd's notification socket, when there is one.
pub struct Notifier {
    target: Option<(UnixDatagram, SocketAddr)>,
    watchdog: Option<Duration>,
}

impl Notifier {
    /// From `$NOTIFY_SOCKET` and `$WATCHDOG_USEC`, as systemd sets them.
    pub fn from_env() -> Self {
        let socket = std::env::var_os("NOTIFY_SOCKET").map(PathBuf::from);
        let watchdog = std::env::var("WATCHDOG_USEC")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|us| *us > 0)
            .map(Duration::from_micros);
        Self::new(socket, watchdog)
    }

    /// `socket` as in `$NOTIFY_SOCKET` (a path, or `@name` in the abstract namespace).
    pub fn new(socket: Option<PathBuf>, watchdog: Option<Duration>) -> Self {
        let target = socket.and_then(|path| match connect(&path) {
            Ok(pair) => Some(pair),
            Err(e) => {
                warn!(socket = %path.display(), error = %e, "cannot use systemd's notification socket");
                None
            }
        });
        Notifier { target, watchdog }
    }

    /// Whether systemd is listening.
    pub fn active(&self) -> bool {
        self.target.is_some()
    }

    /// The watchdog timeout systemd set (`WatchdogSec=`), if any.
    pub fn watchdog(&self) -> Option<Duration> {
        self.watchdog
    }

    pub fn ready(&self) {
        self.send("READY=1");
    }

    /// The line `systemctl status` shows.
    pub fn status(&self, text: &str) {
        self.send(&format!("STATUS={}", text.replace('\n', " ")));
    }

    pub fn stopping(&self) {
        self.send("STOPPING=1");
    }

    fn feed(&self) {
        self.send("WATCHDOG=1");
    }

    fn send(&self, message: &str) {
        if let Some((socket, address)) = &self.target {
            if let Err(e) = socket.send_to_addr(message.as_bytes(), address) {
                warn!(error = %e, message, "systemd notification failed");
            }
        }
    }
}

fn connect(path: &std::path::Path) -> std::io::Result<(UnixDatagram, SocketAddr)> {
    let socket = UnixDatagram::unbound()?;
    let text = path.to_string_lossy();
    let address = match text.strip_prefix('@') {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            SocketAddr::from_abstract_name(name.as_bytes())?
        }
        None => SocketAddr::from_pathname(path)?,
    };
    Ok((socket, address))
}

/// Feeds the watchdog every half timeout while `alive` says the kiosk works; on a failed
/// check it logs why and stops feeding, so systemd restarts the kiosk when the timeout runs
/// out (a check that passes again in time resumes feeding). `None` when systemd set no
/// watchdog. Dropping the handle stops the thread.
pub fn spawn_watchdog(
    notifier: Arc<Notifier>,
    alive: impl Fn() -> Result<(), String> + Send + 'static,
) -> Option<WatchdogHandle> {
    let timeout = notifier.watchdog().filter(|_| notifier.active())?;
    let period = timeout / 2;
    let stop = Arc::new(AtomicBool::new(false));
    let thread = {
        let stop = stop.clone();
        std::thread::Builder::new()
            .name("watchdog".into())
            .spawn(move || {
                let mut failing = false;
                while !stop.load(Ordering::Relaxed) {
                    match alive() {
                        Ok(()) => {
                            if failing {
                                info!("liveness checks pass again; feeding the watchdog");
                                failing = false;
                            }
                            notifier.feed();
                        }
                        Err(why) => {
                            if !failing {
                                error!(reason = %why, timeout_s = timeout.as_secs_f64(), "the kiosk is not alive; the watchdog is not fed, systemd will restart it");
                                notifier.status(&format!("not alive: {why}"));
                                failing = true;
                            }
                        }
                    }
                    sleep_unless_stopped(&stop, period);
                }
            })
            .ok()?
    };
    Some(WatchdogHandle { stop, thread: Some(thread) })
}

fn sleep_unless_stopped(stop: &AtomicBool, period: Duration) {
    let step = Duration::from_millis(50).min(period);
    let mut slept = Duration::ZERO;
    while slept < period && !stop.load(Ordering::Relaxed) {
        std::thread::sleep(step);
        slept += step;
    }
}

pub struct WatchdogHandle {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for WatchdogHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU32;

    use super::*;

    fn listen() -> (tempfile::TempDir, PathBuf, UnixDatagram) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify.sock");
        let socket = UnixDatagram::bind(&path).unwrap();
        socket.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        (dir, path, socket)
    }

    fn next(socket: &UnixDatagram) -> Option<String> {
        let mut buf = [0u8; 512];
        socket.recv(&mut buf).ok().map(|n| String::from_utf8_lossy(&buf[..n]).into_owned())
    }

    #[test]
    fn ready_and_status_reach_the_socket() {
        let (_dir, path, socket) = listen();
        let notifier = Notifier::new(Some(path), None);

        notifier.ready();
        notifier.status("mirror on\ncamera:0");

        assert_eq!(next(&socket).as_deref(), Some("READY=1"));
        assert_eq!(next(&socket).as_deref(), Some("STATUS=mirror on camera:0"));
    }

    #[test]
    fn the_watchdog_is_fed_only_while_the_checks_pass() {
        let (_dir, path, socket) = listen();
        let notifier = Arc::new(Notifier::new(Some(path), Some(Duration::from_millis(200))));
        let calls = Arc::new(AtomicU32::new(0));
        let counted = calls.clone();
        // Alive for the first three checks, then hung.
        let handle = spawn_watchdog(notifier, move || {
            if counted.fetch_add(1, Ordering::SeqCst) < 3 {
                Ok(())
            } else {
                Err("the mirror thread has not moved for 20 s".into())
            }
        })
        .unwrap();

        let mut messages = Vec::new();
        socket.set_read_timeout(Some(Duration::from_millis(600))).unwrap();
        while let Some(message) = next(&socket) {
            messages.push(message);
        }
        drop(handle);

        assert_eq!(messages[..3], ["WATCHDOG=1", "WATCHDOG=1", "WATCHDOG=1"], "{messages:?}");
        assert_eq!(messages[3], "STATUS=not alive: the mirror thread has not moved for 20 s");
        assert_eq!(messages.len(), 4, "fed after the check failed: {messages:?}");
        assert!(calls.load(Ordering::SeqCst) >= 5);
    }

    #[test]
    fn without_systemd_nothing_happens() {
        let notifier = Arc::new(Notifier::new(None, Some(Duration::from_secs(1))));
        notifier.ready();
        assert!(!notifier.active());
        assert!(spawn_watchdog(notifier, || Ok(())).is_none());
    }
}

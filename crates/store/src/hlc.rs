//! Hybrid logical clock: timestamps that follow the wall clock when it behaves, never go
//! backwards when it doesn't, and order events across devices consistently with causality.
//!
//! A timestamp is `(physical_ms, logical, node)`. Issuing one takes the wall clock if it is
//! ahead of the last timestamp, and otherwise keeps the last physical time and bumps the
//! logical counter. Receiving a remote timestamp moves the clock past it, so anything this
//! device records afterwards sorts after what it has seen. Ties between devices are broken by
//! the node id, which makes the order total.
//!
//! The text form, stored in the ledger's `hlc` column, is
//! `PPPPPPPPPPPPPPP-LLLLL-NODE`: physical milliseconds since the Unix epoch in 15 decimal
//! digits, the logical counter in 5, then the node id. Plain string comparison of two encoded
//! timestamps gives the same order as comparing the timestamps.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

/// Physical times at or above this (2^48 ms, the year 10889) can't be packed or encoded.
pub const MAX_PHYSICAL_MS: u64 = (1 << 48) - 1;

/// How far ahead of our wall clock a remote timestamp may be before [`HlcClock::receive`]
/// refuses it. Adopting a timestamp from a device whose clock is days off would drag every
/// later local timestamp with it ("clock poisoning"); a few hours of skew is merged normally.
pub const DEFAULT_MAX_DRIFT_MS: u64 = 24 * 60 * 60 * 1000;

/// Why a timestamp was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HlcError {
    #[error("malformed HLC timestamp {text:?}: {reason}")]
    Malformed { text: String, reason: &'static str },

    #[error(
        "remote HLC timestamp {remote} is {ahead_ms} ms ahead of this device's clock \
         (at most {max_drift_ms} ms allowed); check the clocks of both devices"
    )]
    TooFarAhead {
        remote: String,
        ahead_ms: u64,
        max_drift_ms: u64,
    },
}

/// One hybrid logical clock timestamp. Ordered by physical time, then logical counter, then
/// node id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Hlc {
    physical_ms: u64,
    logical: u16,
    node: String,
}

impl Hlc {
    /// A timestamp from its parts; `physical_ms` is clamped to [`MAX_PHYSICAL_MS`].
    pub fn new(physical_ms: u64, logical: u16, node: impl Into<String>) -> Self {
        Hlc {
            physical_ms: physical_ms.min(MAX_PHYSICAL_MS),
            logical,
            node: node.into(),
        }
    }

    pub fn physical_ms(&self) -> u64 {
        self.physical_ms
    }

    pub fn logical(&self) -> u16 {
        self.logical
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    /// `physical_ms << 16 | logical`: a sortable integer for one node's timestamps (the node
    /// id is not in it, so two nodes may share a value).
    pub fn packed(&self) -> u64 {
        (self.physical_ms << 16) | u64::from(self.logical)
    }

    /// The inverse of [`Hlc::packed`].
    pub fn from_packed(packed: u64, node: impl Into<String>) -> Self {
        Hlc::new(packed >> 16, (packed & 0xffff) as u16, node)
    }

    fn time(&self) -> (u64, u16) {
        (self.physical_ms, self.logical)
    }
}

impl Ord for Hlc {
    fn cmp(&self, other: &Self) -> Ordering {
        self.time()
            .cmp(&other.time())
            .then_with(|| self.node.cmp(&other.node))
    }
}

impl PartialOrd for Hlc {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Hlc {
    /// `PPPPPPPPPPPPPPP-LLLLL-NODE`; written digit by digit, as every ledger row needs one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut fixed = *b"000000000000000-00000-";
        let mut write_digits = |mut n: u64, end: usize, width: usize| {
            for slot in fixed[end - width..end].iter_mut().rev() {
                *slot = b'0' + (n % 10) as u8;
                n /= 10;
            }
        };
        write_digits(self.physical_ms, 15, 15);
        write_digits(u64::from(self.logical), 21, 5);
        f.write_str(std::str::from_utf8(&fixed).map_err(|_| fmt::Error)?)?;
        f.write_str(&self.node)
    }
}

impl FromStr for Hlc {
    type Err = HlcError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let malformed = |reason| HlcError::Malformed {
            text: text.to_owned(),
            reason,
        };
        let digits = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_digit());
        let mut parts = text.splitn(3, '-');
        let (Some(physical), Some(logical), Some(node)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed("expected PHYSICAL-LOGICAL-NODE"));
        };
        if !digits(physical, 15) || !digits(logical, 5) {
            return Err(malformed("expected 15 and 5 decimal digits"));
        }
        if node.is_empty() {
            return Err(malformed("empty node id"));
        }
        let physical_ms: u64 = physical
            .parse()
            .map_err(|_| malformed("bad physical time"))?;
        if physical_ms > MAX_PHYSICAL_MS {
            return Err(malformed("physical time out of range"));
        }
        let logical: u16 = logical
            .parse()
            .map_err(|_| malformed("logical counter out of range"))?;
        Ok(Hlc::new(physical_ms, logical, node))
    }
}

/// The current wall-clock time in Unix milliseconds (0 if the clock is before 1970).
pub fn wall_clock_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// One device's clock. Every timestamp it issues is greater than every timestamp it issued
/// or received before, whatever the wall clock does. Persist [`HlcClock::last`] and hand it to
/// [`HlcClock::observe`] after a restart to keep that true across restarts.
#[derive(Debug, Clone)]
pub struct HlcClock {
    node: String,
    physical_ms: u64,
    logical: u16,
    max_drift_ms: u64,
}

impl HlcClock {
    /// A clock that has issued nothing yet.
    pub fn new(node: impl Into<String>) -> Self {
        HlcClock {
            node: node.into(),
            physical_ms: 0,
            logical: 0,
            max_drift_ms: DEFAULT_MAX_DRIFT_MS,
        }
    }

    /// Changes how far ahead a remote timestamp may be (see [`DEFAULT_MAX_DRIFT_MS`]).
    pub fn with_max_drift_ms(mut self, max_drift_ms: u64) -> Self {
        self.max_drift_ms = max_drift_ms;
        self
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    /// The greatest timestamp issued or observed so far, stamped with this node.
    pub fn last(&self) -> Hlc {
        Hlc::new(self.physical_ms, self.logical, self.node.clone())
    }

    /// A new timestamp at the current wall-clock time.
    pub fn now(&mut self) -> Hlc {
        self.tick(wall_clock_ms())
    }

    /// A new timestamp given the wall-clock reading `wall_ms` (for tests and replays).
    pub fn tick(&mut self, wall_ms: u64) -> Hlc {
        let wall_ms = wall_ms.min(MAX_PHYSICAL_MS);
        if wall_ms > self.physical_ms {
            self.physical_ms = wall_ms;
            self.logical = 0;
        } else {
            self.bump();
        }
        self.last()
    }

    /// Merges a timestamp from another device at the current wall-clock time and returns the
    /// local timestamp of receiving it, which is greater than both `remote` and anything
    /// issued before.
    pub fn receive(&mut self, remote: &Hlc) -> Result<Hlc, HlcError> {
        self.receive_at(remote, wall_clock_ms())
    }

    /// [`HlcClock::receive`] with an explicit wall-clock reading.
    pub fn receive_at(&mut self, remote: &Hlc, wall_ms: u64) -> Result<Hlc, HlcError> {
        let wall_ms = wall_ms.min(MAX_PHYSICAL_MS);
        let ahead_ms = remote.physical_ms.saturating_sub(wall_ms);
        if ahead_ms > self.max_drift_ms {
            return Err(HlcError::TooFarAhead {
                remote: remote.to_string(),
                ahead_ms,
                max_drift_ms: self.max_drift_ms,
            });
        }
        let physical = wall_ms.max(self.physical_ms).max(remote.physical_ms);
        if physical == wall_ms && physical > self.physical_ms && physical > remote.physical_ms {
            self.physical_ms = physical;
            self.logical = 0;
        } else {
            // Continue from the greater of the two counters at that physical time.
            let floor = match (physical == self.physical_ms, physical == remote.physical_ms) {
                (true, true) => self.logical.max(remote.logical),
                (true, false) => self.logical,
                _ => remote.logical,
            };
            self.physical_ms = physical;
            self.logical = floor;
            self.bump();
        }
        Ok(self.last())
    }

    /// Raises the clock to at least `seen` without issuing anything: for the persisted last
    /// timestamp after a restart, or another process's stamps on the same device. Unlike
    /// [`HlcClock::receive`] there is no drift check: the value came from this device.
    pub fn observe(&mut self, seen: &Hlc) {
        if seen.time() > (self.physical_ms, self.logical) {
            self.physical_ms = seen.physical_ms;
            self.logical = seen.logical;
        }
    }

    /// The next timestamp at the current physical time; when the counter is used up the
    /// physical time moves one millisecond on, which still never goes backwards.
    fn bump(&mut self) {
        match self.logical.checked_add(1) {
            Some(logical) => self.logical = logical,
            None => {
                self.physical_ms = (self.physical_ms + 1).min(MAX_PHYSICAL_MS);
                self.logical = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_740_000_000_000; // 2025-02-19
    const HOUR: u64 = 60 * 60 * 1000;

    #[test]
    fn follows_the_wall_clock_when_it_moves_forward() {
        let mut clock = HlcClock::new("kiosk-1");
        assert_eq!(clock.tick(T0), Hlc::new(T0, 0, "kiosk-1"));
        assert_eq!(clock.tick(T0 + 5), Hlc::new(T0 + 5, 0, "kiosk-1"));
        assert_eq!(clock.tick(T0 + 5), Hlc::new(T0 + 5, 1, "kiosk-1"));
    }

    #[test]
    fn never_goes_backwards_when_the_wall_clock_does() {
        let mut clock = HlcClock::new("kiosk-1");
        let before = clock.tick(T0 + HOUR);
        let mut previous = before.clone();
        // NTP steps the clock back an hour; a thousand events are stamped meanwhile.
        for i in 0..1000 {
            let next = clock.tick(T0 + i);
            assert!(next > previous, "{next} after {previous}");
            assert_eq!(next.physical_ms(), T0 + HOUR);
            previous = next;
        }
        // Once the wall clock passes the old reading again, it takes over.
        let caught_up = clock.tick(T0 + HOUR + 1);
        assert_eq!(caught_up, Hlc::new(T0 + HOUR + 1, 0, "kiosk-1"));
    }

    #[test]
    fn an_exhausted_counter_moves_physical_time_on() {
        let mut clock = HlcClock::new("n");
        clock.observe(&Hlc::new(T0, u16::MAX - 1, "n"));
        assert_eq!(clock.tick(T0 - 10), Hlc::new(T0, u16::MAX, "n"));
        assert_eq!(clock.tick(T0 - 10), Hlc::new(T0 + 1, 0, "n"));
        assert_eq!(clock.tick(T0 - 10), Hlc::new(T0 + 1, 1, "n"));
    }

    #[test]
    fn merging_a_remote_clock_hours_ahead_orders_later_events_after_it() {
        let mut local = HlcClock::new("kiosk-1");
        let mine = local.tick(T0);
        let remote = Hlc::new(T0 + 3 * HOUR, 7, "hq");

        let received = local.receive_at(&remote, T0 + 1).unwrap();

        assert!(received > remote && received > mine);
        assert_eq!(received, Hlc::new(T0 + 3 * HOUR, 8, "kiosk-1"));
        // Our wall clock is still three hours behind: keep counting from the remote's time.
        let next = local.tick(T0 + 2);
        assert_eq!(next, Hlc::new(T0 + 3 * HOUR, 9, "kiosk-1"));
        // A remote timestamp behind us changes nothing but the counter.
        let old = Hlc::new(T0, 500, "kiosk-9");
        assert_eq!(
            local.receive_at(&old, T0 + 3).unwrap(),
            Hlc::new(T0 + 3 * HOUR, 10, "kiosk-1")
        );
        // And a wall clock past everything wins again.
        assert_eq!(
            local.receive_at(&remote, T0 + 4 * HOUR).unwrap(),
            Hlc::new(T0 + 4 * HOUR, 0, "kiosk-1")
        );
    }

    #[test]
    fn merging_at_the_same_physical_time_takes_the_larger_counter() {
        let mut local = HlcClock::new("a");
        local.observe(&Hlc::new(T0, 3, "a"));
        let received = local.receive_at(&Hlc::new(T0, 9, "b"), T0 - 1).unwrap();
        assert_eq!(received, Hlc::new(T0, 10, "a"));
        let received = local.receive_at(&Hlc::new(T0, 2, "b"), T0).unwrap();
        assert_eq!(received, Hlc::new(T0, 11, "a"));
    }

    #[test]
    fn a_remote_clock_days_ahead_is_refused_and_changes_nothing() {
        let mut local = HlcClock::new("kiosk-1");
        let mine = local.tick(T0);
        let poisoned = Hlc::new(T0 + 72 * HOUR, 0, "broken-device");

        let err = local.receive_at(&poisoned, T0).unwrap_err();

        assert!(matches!(err, HlcError::TooFarAhead { ahead_ms, .. } if ahead_ms == 72 * HOUR));
        assert!(err.to_string().contains("broken-device"), "{err}");
        assert_eq!(local.last(), mine);
        let mut lenient = HlcClock::new("kiosk-1").with_max_drift_ms(100 * HOUR);
        assert!(lenient.receive_at(&poisoned, T0).is_ok());
    }

    #[test]
    fn order_is_total_and_the_text_form_sorts_the_same_way() {
        let mut stamps = vec![
            Hlc::new(T0, 0, "b"),
            Hlc::new(T0, 0, "a"),
            Hlc::new(T0, 0, "a-2"),
            Hlc::new(T0, 1, "a"),
            Hlc::new(T0 - 1, 65535, "z"),
            Hlc::new(T0 + 1, 0, "a"),
            Hlc::new(0, 0, "a"),
            Hlc::new(9, 10, "a"),
            Hlc::new(10, 9, "a"),
            Hlc::new(MAX_PHYSICAL_MS, 65535, "a"),
        ];
        stamps.sort();
        let mut texts: Vec<String> = stamps.iter().map(Hlc::to_string).collect();
        let sorted_texts = {
            let mut t = texts.clone();
            t.sort();
            t
        };
        assert_eq!(texts, sorted_texts);
        for pair in stamps.windows(2) {
            assert!(pair[0] < pair[1], "{} < {}", pair[0], pair[1]);
            assert!(pair[0].packed() <= pair[1].packed());
        }
        // Round trips through text and the packed integer.
        for stamp in &stamps {
            assert_eq!(stamp.to_string().parse::<Hlc>().unwrap(), *stamp);
            assert_eq!(Hlc::from_packed(stamp.packed(), stamp.node()), *stamp);
        }
        texts.dedup();
        assert_eq!(texts.len(), stamps.len());
        assert_eq!(
            Hlc::new(T0, 42, "kiosk-1").to_string(),
            "001740000000000-00042-kiosk-1"
        );
    }

    #[test]
    fn malformed_text_is_refused() {
        for bad in [
            "",
            "1740000000000-00000-a",
            "001740000000000-0-a",
            "001740000000000-00000-",
            "001740000000000-99999-a",
            "999999999999999-00000-a",
            "00174000000000x-00000-a",
        ] {
            assert!(
                matches!(bad.parse::<Hlc>(), Err(HlcError::Malformed { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn issued_timestamps_are_unique_and_increasing_under_a_jittery_clock() {
        let mut clock = HlcClock::new("n");
        let mut last = clock.last();
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for i in 0..20_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Mostly forward, sometimes back by up to 2 s.
            let wall = T0 + i - (x % 2000) * u64::from(x.is_multiple_of(7));
            let next = if x.is_multiple_of(11) {
                let remote = Hlc::new(wall + x % 5000, (x % 100) as u16, "peer");
                let got = clock.receive_at(&remote, wall).unwrap();
                assert!(got > remote);
                got
            } else {
                clock.tick(wall)
            };
            assert!(next > last, "{next} after {last}");
            last = next;
        }
    }
}

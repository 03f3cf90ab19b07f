//! The one-place board the WebView reads finished frames from: the newest frame only, and
//! a way to wait for one newer than the last the page painted (long polling).

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

pub struct FrameBoard<T> {
    latest: Mutex<Option<(u64, Arc<T>)>>,
    changed: Condvar,
}

impl<T> Default for FrameBoard<T> {
    fn default() -> Self {
        Self { latest: Mutex::new(None), changed: Condvar::new() }
    }
}

impl<T> FrameBoard<T> {
    pub fn publish(&self, seq: u64, value: T) {
        *self.latest.lock().unwrap_or_else(|e| e.into_inner()) = Some((seq, Arc::new(value)));
        self.changed.notify_all();
    }

    /// The newest value with a sequence number above `after`, waiting up to `timeout`.
    pub fn newer_than(&self, after: u64, timeout: Duration) -> Option<(u64, Arc<T>)> {
        let guard = self.latest.lock().unwrap_or_else(|e| e.into_inner());
        let (guard, _) = self
            .changed
            .wait_timeout_while(guard, timeout, |v| v.as_ref().is_none_or(|(seq, _)| *seq <= after))
            .unwrap_or_else(|e| e.into_inner());
        guard.as_ref().filter(|(seq, _)| *seq > after).map(|(seq, v)| (*seq, v.clone()))
    }

    /// Forgets the current value (e.g. when the mirror session ends, so no image lingers).
    pub fn clear(&self) {
        *self.latest.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_for_a_newer_value() {
        let board = Arc::new(FrameBoard::default());
        assert!(board.newer_than(0, Duration::from_millis(5)).is_none());
        board.publish(3, "a");
        assert_eq!(*board.newer_than(0, Duration::ZERO).unwrap().1, "a");
        assert!(board.newer_than(3, Duration::from_millis(5)).is_none());
        let b = board.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            b.publish(4, "b");
        });
        assert_eq!(board.newer_than(3, Duration::from_secs(5)).unwrap().0, 4);
        t.join().unwrap();
        board.clear();
        assert!(board.newer_than(0, Duration::ZERO).is_none());
    }
}

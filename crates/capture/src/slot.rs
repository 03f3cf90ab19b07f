//! A one-place mailbox: the producer overwrites, the consumer always gets the newest value.
//! This is what keeps latency flat when the consumer is slower than the camera.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

pub struct LatestSlot<T> {
    state: Mutex<SlotState<T>>,
    ready: Condvar,
}

struct SlotState<T> {
    value: Option<T>,
    /// How many values were put in total.
    produced: u64,
    /// How many were overwritten before anyone took them.
    dropped: u64,
    closed: bool,
}

impl<T> Default for LatestSlot<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> LatestSlot<T> {
    pub fn new() -> Self {
        Self { state: Mutex::new(SlotState { value: None, produced: 0, dropped: 0, closed: false }), ready: Condvar::new() }
    }

    fn lock(&self) -> MutexGuard<'_, SlotState<T>> {
        // A panic while holding this lock cannot leave the slot inconsistent; keep going.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stores `value`, replacing (and counting as dropped) one nobody took yet.
    pub fn put(&self, value: T) {
        let mut state = self.lock();
        if state.value.replace(value).is_some() {
            state.dropped += 1;
        }
        state.produced += 1;
        drop(state);
        self.ready.notify_all();
    }

    /// Takes the newest value, waiting up to `timeout` for one. `None` on timeout or when closed.
    pub fn take(&self, timeout: Duration) -> Option<T> {
        let state = self.lock();
        let (mut state, _) = self
            .ready
            .wait_timeout_while(state, timeout, |s| s.value.is_none() && !s.closed)
            .unwrap_or_else(|e| e.into_inner());
        state.value.take()
    }

    /// Wakes every waiter; later `take`s return what is left, then `None` at once.
    pub fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }

    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// (produced, dropped) so far.
    pub fn counts(&self) -> (u64, u64) {
        let s = self.lock();
        (s.produced, s.dropped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn newest_value_wins_and_overwrites_are_counted() {
        let slot = LatestSlot::new();
        for i in 0..5 {
            slot.put(i);
        }
        assert_eq!(slot.take(Duration::ZERO), Some(4));
        assert_eq!(slot.counts(), (5, 4));
        assert_eq!(slot.take(Duration::from_millis(10)), None);
    }

    #[test]
    fn take_wakes_when_a_value_arrives_or_the_slot_closes() {
        let slot = Arc::new(LatestSlot::new());
        let producer = {
            let slot = slot.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                slot.put("frame");
            })
        };
        assert_eq!(slot.take(Duration::from_secs(5)), Some("frame"));
        producer.join().unwrap();
        slot.close();
        assert_eq!(slot.take(Duration::from_secs(5)), None);
        assert!(slot.is_closed());
    }
}

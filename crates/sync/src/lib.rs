//! Kiosk ↔ HQ sync: the versioned wire protocol ([`protocol`]) that the HQ service
//! (`vitrine-hq`) also uses, and the kiosk-side client.
//!
//! A round ([`SyncClient::sync_once`]) pushes the outbox in batches, oldest first, then
//! pulls catalog and price changes and other stores' stock since the cursors in the store.
//! Every request is idempotent (events travel with their ids; pulls name their cursors), and
//! the store applies each answer in one transaction together with the cursor or outbox
//! change that records it, so a kiosk killed at any point resumes where it stopped and HQ
//! holds each event exactly once. Failed requests are retried with exponential backoff and
//! full jitter; refusals (bad token, other protocol version, an event HQ rejects) are not
//! retried but reported. [`SyncLoop`] runs rounds on a background thread.

mod client;
pub mod protocol;

pub use client::{HqProbe, RetryPolicy, SyncClient, SyncLoop, SyncReport, SyncSettings};

use protocol::ErrorCode;

/// Why a sync request or round failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The `[sync]` settings can't work (no URL, unreadable token or CA file).
    #[error("sync is not set up: {0}")]
    Config(String),

    /// HQ could not be reached or the connection broke; retried.
    #[error("cannot reach HQ at {url}: {reason}")]
    Transport { url: String, reason: String },

    /// HQ answered with an error that may pass (5xx, overloaded); retried.
    #[error("HQ at {url} failed ({status}): {message}")]
    Unavailable {
        url: String,
        status: u16,
        message: String,
    },

    /// HQ refused the request; sending it again would not help.
    #[error("HQ at {url} refused the request ({code:?}): {message}")]
    Refused {
        url: String,
        code: ErrorCode,
        message: String,
    },

    /// HQ's answer was not what this protocol version expects.
    #[error("unexpected answer from HQ at {url}: {reason}")]
    BadResponse { url: String, reason: String },

    #[error(transparent)]
    Store(#[from] vitrine_store::StoreError),

    /// The background loop was asked to stop.
    #[error("sync stopped")]
    Stopped,
}

impl SyncError {
    /// Worth sending again after a pause.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            SyncError::Transport { .. } | SyncError::Unavailable { .. } | SyncError::BadResponse { .. }
        )
    }
}

pub type Result<T, E = SyncError> = std::result::Result<T, E>;

//! The kiosk's local SQLite cache: product catalog, store locations and an append-only
//! stock ledger with a materialised book-stock projection.
//!
//! The ledger is the source of truth; `stock_levels` is only a cache of it, kept in step in
//! the same transaction as each event and recomputable with
//! [`Store::rebuild_stock_from_ledger`]. Events carry globally unique ids so that ledgers from
//! several devices can later be merged idempotently, and a [hybrid logical clock](hlc)
//! timestamp that orders them across devices. Every event made on this device waits in the
//! outbox ([`Store::pending_outbox`]) until HQ acknowledges it ([`Store::ack`]).
//!
//! Sales and deliveries from the store's other systems come in as CSV feeds
//! ([`Store::import_feed`]; the columns are documented on [`Feed`]).

mod backup;
mod feedback;
mod feeds;
mod garments;
pub mod hlc;
mod migrations;
mod model;
mod reporting;
mod seed;
mod shelf;
mod signage;
mod staff;
mod store;
mod sync;

use std::path::PathBuf;

pub use backup::{
    backup_database, default_backup_dir, inspect_database, list_backups, new_backup_path,
    restore_database, BackupReport, DatabaseHealth,
};
pub use feedback::{FeedbackRow, NewFeedback};
pub use garments::{GarmentRecord, NewGarment};
pub use feeds::{days_from_civil, iso8601_utc, Feed, ImportOptions, ImportReport, RowProblem};
pub use hlc::{Hlc, HlcClock, HlcError};
pub use migrations::SCHEMA_VERSION;
pub use model::{
    CatalogSummary, EventKind, EventOrigin, EventOutcome, Location, LocationKind, NewEvent,
    NodeIdentity, Product, RebuildReport, RecordedEvent, Variant, VariantStock,
};
pub use shelf::{NewReferencePhoto, ReferencePhoto};
pub use signage::{PosterDecision, Promotion};
pub use staff::{LockState, StaffRecord};
pub use reporting::{
    day_of_ms, CountDiscrepancy, ReorderSettings, ReportFilter, StockRow, VariantActivity,
};
pub use store::Store;
pub use sync::{
    CatalogUpdate, PulledChanges, RemoteStock, RemoteStoreStatus, SyncCursors, SyncStatus,
};

/// Everything that can go wrong in the store; file-level errors name the file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create directory {}: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("cannot open database {}: {source}", path.display())]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },

    #[error(
        "{} is not a usable SQLite database ({detail}); the file was left untouched; \
         move it aside (with any -wal/-shm files beside it) to start a fresh cache",
        path.display()
    )]
    Corrupt { path: PathBuf, detail: String },

    #[error(
        "{} has schema version {found}, but this build of Vitrine supports up to version \
         {supported}; it was written by a newer Vitrine and was left untouched",
        path.display()
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },

    #[error("migrating {} to schema version {version} failed: {source}", path.display())]
    Migration {
        path: PathBuf,
        version: i64,
        source: rusqlite::Error,
    },

    #[error(
        "migrating {} to schema version {version} failed: {source}; the file was put back as \
         it was before the upgrade from the backup {}",
        path.display(), backup.display()
    )]
    MigrationRestored {
        path: PathBuf,
        version: i64,
        backup: PathBuf,
        source: rusqlite::Error,
    },

    #[error("backup {}: {reason}", path.display())]
    Backup { path: PathBuf, reason: String },

    #[error("unknown variant SKU {0:?}")]
    UnknownVariant(String),

    #[error("unknown location {0:?}")]
    UnknownLocation(String),

    #[error("unknown product {0:?}")]
    UnknownProduct(String),

    #[error("invalid promotion: {0}")]
    InvalidPromotion(String),

    #[error("invalid feedback: {0}")]
    InvalidFeedback(String),

    #[error("a staff member named {0:?} exists already")]
    StaffExists(String),

    #[error("invalid reorder settings: {0}")]
    InvalidSettings(String),

    #[error("unknown stock event kind {0:?}")]
    UnknownEventKind(String),

    #[error("invalid stock event {id:?}: {reason}")]
    InvalidEvent { id: String, reason: String },

    #[error(transparent)]
    Clock(#[from] HlcError),

    #[error("cannot read {}: {source}", path.display())]
    FeedFile {
        path: PathBuf,
        source: std::io::Error,
    },

    /// The feed as a whole is unusable (no header, a required column missing, unreadable
    /// input); single bad rows are reported in [`ImportReport`] instead.
    #[error("{0}")]
    Feed(String),

    #[error("garment image {}: {source}", path.display())]
    Asset {
        path: PathBuf,
        source: std::io::Error,
    },

    /// Another program held the write lock for longer than the busy timeout (5 s).
    #[error(
        "the database is locked by another program (a long import, a restore, or a tool with it \
         open); nothing was written, try again in a moment"
    )]
    Busy,

    /// The disk holding the database (or its journal) is full.
    #[error(
        "the disk holding the database is full; nothing of this change was written; free space \
         (`vitrine doctor` shows how much is left and what to delete)"
    )]
    DiskFull,

    #[error("database error: {0}")]
    Sqlite(rusqlite::Error),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => StoreError::Busy,
            Some(rusqlite::ErrorCode::DiskFull) => StoreError::DiskFull,
            _ => StoreError::Sqlite(e),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

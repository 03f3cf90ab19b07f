//! The plain data the store takes and returns.

use std::fmt;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ValueRef};
use uuid::Uuid;

use crate::hlc::Hlc;
use crate::StoreError;

/// A catalog product (a style, or a grocery line) with its sellable variants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub code: String,
    pub name: String,
    pub category: String,
    pub variants: Vec<Variant>,
}

/// One sellable unit: a size/colour combination with its own SKU and prices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    pub sku: String,
    pub size: Option<String>,
    pub colour: Option<String>,
    pub barcode: Option<String>,
    pub price_cents: i64,
    pub cost_cents: i64,
    /// Where the SKU normally sits (a location code); feed rows without a location go here.
    pub home_location: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LocationKind {
    /// A sales-floor shelf, coded aisle/bay/shelf like `A4/B2/S3`.
    Shelf,
    /// Stock held off the floor.
    Backroom,
}

impl LocationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LocationKind::Shelf => "shelf",
            LocationKind::Backroom => "backroom",
        }
    }
}

impl FromSql for LocationKind {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        match value.as_str()? {
            "shelf" => Ok(LocationKind::Shelf),
            "backroom" => Ok(LocationKind::Backroom),
            other => Err(FromSqlError::Other(
                format!("unknown location kind {other:?}").into(),
            )),
        }
    }
}

/// A place in the store where stock sits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub code: String,
    pub kind: LocationKind,
    pub name: String,
}

/// What a ledger event says happened; the kind decides how it moves book stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// Goods arrived at a location: `+quantity`.
    Received,
    /// Goods left through the till: `-quantity`.
    Sold,
    /// A customer brought goods back: `+quantity`.
    Returned,
    /// Moved from `location` to `to_location`: `-quantity` there, `+quantity` here.
    Transferred,
    /// A correction (damage, shrinkage, found stock): `quantity` is the signed delta.
    Adjusted,
    /// An observation that `quantity` units were on the shelf; never moves book stock, so a
    /// miscount cannot silently rewrite the books.
    Counted,
}

impl EventKind {
    pub const ALL: [EventKind; 6] = [
        EventKind::Received,
        EventKind::Sold,
        EventKind::Returned,
        EventKind::Transferred,
        EventKind::Adjusted,
        EventKind::Counted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Received => "received",
            EventKind::Sold => "sold",
            EventKind::Returned => "returned",
            EventKind::Transferred => "transferred",
            EventKind::Adjusted => "adjusted",
            EventKind::Counted => "counted",
        }
    }

    /// Book-stock change at the event's own location (a transfer also adds `quantity` at its
    /// destination). Must agree with the SQL in `Store::rebuild_stock_from_ledger`.
    pub(crate) fn book_delta(self, quantity: i64) -> i64 {
        match self {
            EventKind::Received | EventKind::Returned | EventKind::Adjusted => quantity,
            EventKind::Sold | EventKind::Transferred => -quantity,
            EventKind::Counted => 0,
        }
    }

    /// The same rule as the table's CHECK, checked first for a readable error.
    fn quantity_problem(self, quantity: i64) -> Option<&'static str> {
        match self {
            EventKind::Adjusted if quantity == 0 => Some("an adjustment must not be zero"),
            EventKind::Adjusted => None,
            EventKind::Counted if quantity < 0 => Some("a count cannot be negative"),
            EventKind::Counted => None,
            _ if quantity <= 0 => Some("quantity must be positive for this kind"),
            _ => None,
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventKind {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| StoreError::UnknownEventKind(s.to_owned()))
    }
}

/// Who records events: one per kiosk (store and device), with the signed-in actor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventOrigin {
    pub store_id: String,
    pub device_id: String,
    pub actor: String,
}

/// A ledger event to record. Events synced from other devices keep their own id, origin and
/// time; [`NewEvent::now`] makes a fresh local one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// Globally unique; recording the same id twice is a no-op.
    pub id: String,
    pub store_id: String,
    pub device_id: String,
    /// When it happened, in Unix milliseconds (UTC).
    pub occurred_at_ms: i64,
    pub actor: String,
    pub kind: EventKind,
    pub variant_sku: String,
    /// Where it happened; the source of a transfer.
    pub location_code: String,
    /// The destination; required for transfers, refused for every other kind.
    pub to_location_code: Option<String>,
    /// See [`EventKind`] for what the number means per kind.
    pub quantity: i64,
    /// An outside reference such as a receipt or delivery-note number.
    pub reference: Option<String>,
    pub note: Option<String>,
    /// For events from an outside feed, the key of the row they came from
    /// (`sales:<sale_id>:<line>`, `deliveries:<delivery_id>:<line>`); a second event with the
    /// same key is a duplicate whatever its id. `None` for events made on a kiosk.
    pub source_key: Option<String>,
}

impl NewEvent {
    /// A fresh event with a new UUIDv7 id, stamped with the id's own time so that id order
    /// and time order agree. Set `to_location_code`, `reference` or `note` afterwards.
    pub fn now(
        origin: &EventOrigin,
        kind: EventKind,
        variant_sku: &str,
        location_code: &str,
        quantity: i64,
    ) -> Self {
        let id = Uuid::now_v7();
        let occurred_at_ms = id
            .get_timestamp()
            .map(|ts| {
                let (secs, nanos) = ts.to_unix();
                (secs * 1000 + u64::from(nanos) / 1_000_000) as i64
            })
            .unwrap_or_else(now_ms);
        NewEvent {
            id: id.to_string(),
            store_id: origin.store_id.clone(),
            device_id: origin.device_id.clone(),
            occurred_at_ms,
            actor: origin.actor.clone(),
            kind,
            variant_sku: variant_sku.to_owned(),
            location_code: location_code.to_owned(),
            to_location_code: None,
            quantity,
            reference: None,
            note: None,
            source_key: None,
        }
    }

    /// Refuses malformed events before touching the database, with a reason a person can act on.
    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        let invalid = |reason: &str| StoreError::InvalidEvent {
            id: self.id.clone(),
            reason: reason.to_owned(),
        };
        let required = [
            ("id", &self.id),
            ("store_id", &self.store_id),
            ("device_id", &self.device_id),
            ("actor", &self.actor),
        ];
        if let Some((field, _)) = required.iter().find(|(_, value)| value.trim().is_empty()) {
            return Err(invalid(&format!("{field} must not be empty")));
        }
        if self
            .source_key
            .as_deref()
            .is_some_and(|key| key.trim().is_empty())
        {
            return Err(invalid("source_key must not be empty when given"));
        }
        if let Some(problem) = self.kind.quantity_problem(self.quantity) {
            return Err(invalid(problem));
        }
        match (&self.kind, &self.to_location_code) {
            (EventKind::Transferred, None) => Err(invalid("a transfer needs a destination")),
            (EventKind::Transferred, Some(to)) if *to == self.location_code => {
                Err(invalid("a transfer needs a different destination"))
            }
            (EventKind::Transferred, Some(_)) | (_, None) => Ok(()),
            (_, Some(_)) => Err(invalid("only transfers have a destination")),
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// This device as the ledger knows it: the store it belongs to and its own id, which is also
/// the node id of its hybrid logical clock.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NodeIdentity {
    pub store_id: String,
    pub device_id: String,
}

/// An event as the ledger holds it: the event, its place in this file and its HLC timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedEvent {
    /// Arrival order in this file (not meaningful on another device).
    pub seq: i64,
    /// When the recording device recorded it, in hybrid logical clock time.
    pub hlc: Hlc,
    pub event: NewEvent,
}

/// Whether [`crate::Store::record_event`] stored the event or had it already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventOutcome {
    Inserted,
    /// The id was already in the ledger; nothing changed.
    Duplicate,
}

/// Book stock of one variant summed over all locations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariantStock {
    pub sku: String,
    pub product_name: String,
    pub size: Option<String>,
    pub colour: Option<String>,
    pub on_hand: i64,
}

/// Row counts for a status line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct CatalogSummary {
    pub products: u64,
    pub variants: u64,
    pub locations: u64,
    pub events: u64,
}

/// What [`crate::Store::rebuild_stock_from_ledger`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RebuildReport {
    /// Variant/location rows in the rebuilt table.
    pub rows: usize,
    /// Rows whose incremental value differed from the ledger (0 when the projection is sound).
    pub corrected: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> EventOrigin {
        EventOrigin {
            store_id: "store-1".into(),
            device_id: "kiosk-1".into(),
            actor: "tester".into(),
        }
    }

    #[test]
    fn kinds_round_trip_through_text() {
        for kind in EventKind::ALL {
            assert_eq!(kind.as_str().parse::<EventKind>().unwrap(), kind);
        }
        assert!(matches!(
            "stolen".parse::<EventKind>(),
            Err(StoreError::UnknownEventKind(s)) if s == "stolen"
        ));
    }

    #[test]
    fn fresh_events_get_distinct_v7_ids_and_their_time() {
        let a = NewEvent::now(&origin(), EventKind::Sold, "SKU", "A1/B1/S1", 1);
        let b = NewEvent::now(&origin(), EventKind::Sold, "SKU", "A1/B1/S1", 1);
        assert_ne!(a.id, b.id);
        let id = Uuid::parse_str(&a.id).unwrap();
        assert_eq!(id.get_version_num(), 7);
        assert!((a.occurred_at_ms - now_ms()).abs() < 60_000);
        assert!(a.id < b.id, "v7 ids sort in creation order");
    }

    #[test]
    fn validation_explains_bad_events() {
        let reason = |event: NewEvent| match event.validate() {
            Err(StoreError::InvalidEvent { reason, .. }) => reason,
            other => panic!("expected InvalidEvent, got {other:?}"),
        };
        let base = |kind, qty| NewEvent::now(&origin(), kind, "SKU", "A1/B1/S1", qty);

        assert!(reason(base(EventKind::Sold, 0)).contains("positive"));
        assert!(reason(base(EventKind::Received, -3)).contains("positive"));
        assert!(reason(base(EventKind::Adjusted, 0)).contains("zero"));
        assert!(reason(base(EventKind::Counted, -1)).contains("negative"));
        assert!(reason(base(EventKind::Transferred, 2)).contains("destination"));
        let mut same = base(EventKind::Transferred, 2);
        same.to_location_code = Some("A1/B1/S1".into());
        assert!(reason(same).contains("different"));
        let mut stray = base(EventKind::Sold, 1);
        stray.to_location_code = Some("BACKROOM".into());
        assert!(reason(stray).contains("only transfers"));
        let mut anonymous = base(EventKind::Sold, 1);
        anonymous.actor = " ".into();
        assert!(reason(anonymous).contains("actor"));

        base(EventKind::Adjusted, -2).validate().unwrap();
        base(EventKind::Counted, 0).validate().unwrap();
        let mut transfer = base(EventKind::Transferred, 2);
        transfer.to_location_code = Some("BACKROOM".into());
        transfer.validate().unwrap();
    }
}

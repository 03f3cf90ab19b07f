//! The wire format between kiosks and HQ, version [`PROTOCOL_VERSION`]: JSON over HTTPS,
//! `POST /v1/push` and `POST /v1/pull`, a bearer token per store.
//!
//! Every request and response carries `protocol`; HQ answers a request of another version
//! with `400` and [`ErrorCode::ProtocolMismatch`] before reading anything else, so an old
//! kiosk gets a clear message instead of a half-understood payload. Both requests are
//! idempotent: a push names its events by their globally unique ids (HQ keeps the first copy
//! and counts the rest as duplicates), and a pull names the cursors the kiosk already has.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use vitrine_store::{EventKind, Hlc, NewEvent, RecordedEvent};

/// The protocol this build speaks; bumped on any incompatible change to the types below.
pub const PROTOCOL_VERSION: u32 = 1;
/// Where the kiosk sends its outbox.
pub const PUSH_PATH: &str = "/v1/push";
/// Where the kiosk asks for catalog changes and other stores' stock.
pub const PULL_PATH: &str = "/v1/pull";
/// The most events one push may carry; HQ refuses a larger batch whole.
pub const MAX_PUSH_EVENTS: usize = 5_000;
/// The largest request body HQ reads (a full push of long events is well under this).
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
/// Longest id, actor, SKU, location, reference or note HQ stores, in bytes.
pub const MAX_FIELD_BYTES: usize = 256;

/// A batch of this device's ledger events, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushRequest {
    pub protocol: u32,
    pub store_id: String,
    pub device_id: String,
    pub events: Vec<WireEvent>,
}

/// What HQ did with a push: every event of the batch is now held at HQ (`inserted` new ones,
/// `duplicates` it had already), so the kiosk may acknowledge them all.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushResponse {
    pub protocol: u32,
    pub inserted: u64,
    pub duplicates: u64,
    /// The greatest HLC timestamp HQ has seen from any store; the kiosk merges it into its
    /// clock so its next events sort after everything it could have known about.
    pub hq_hlc: Option<String>,
}

/// One ledger event on the wire; codes (SKU, location) instead of local row ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireEvent {
    pub id: String,
    pub hlc: String,
    pub store_id: String,
    pub device_id: String,
    pub occurred_at_ms: i64,
    pub actor: String,
    pub kind: String,
    pub sku: String,
    pub location: String,
    pub to_location: Option<String>,
    pub quantity: i64,
    pub reference: Option<String>,
    pub note: Option<String>,
    pub source_key: Option<String>,
}

impl From<&RecordedEvent> for WireEvent {
    fn from(recorded: &RecordedEvent) -> Self {
        let e: &NewEvent = &recorded.event;
        WireEvent {
            id: e.id.clone(),
            hlc: recorded.hlc.to_string(),
            store_id: e.store_id.clone(),
            device_id: e.device_id.clone(),
            occurred_at_ms: e.occurred_at_ms,
            actor: e.actor.clone(),
            kind: e.kind.as_str().to_owned(),
            sku: e.variant_sku.clone(),
            location: e.location_code.clone(),
            to_location: e.to_location_code.clone(),
            quantity: e.quantity,
            reference: e.reference.clone(),
            note: e.note.clone(),
            source_key: e.source_key.clone(),
        }
    }
}

impl WireEvent {
    /// Checks an event HQ received; the reason names the field. Same rules as the kiosk's
    /// ledger, so nothing a kiosk could record is refused. The event's own `store_id` is kept
    /// as written (events recorded before a kiosk was assigned to its store say `local`); HQ
    /// files every event under the store its token belongs to.
    pub fn validate(&self) -> Result<EventKind, String> {
        let texts = [
            ("id", Some(&self.id)),
            ("store_id", Some(&self.store_id)),
            ("device_id", Some(&self.device_id)),
            ("actor", Some(&self.actor)),
            ("sku", Some(&self.sku)),
            ("location", Some(&self.location)),
            ("to_location", self.to_location.as_ref()),
            ("reference", self.reference.as_ref()),
            ("note", self.note.as_ref()),
            ("source_key", self.source_key.as_ref()),
        ];
        for (field, value) in texts {
            match value {
                Some(v) if v.trim().is_empty() && field != "note" && field != "reference" => {
                    return Err(format!("{field} must not be empty"));
                }
                Some(v) if v.len() > MAX_FIELD_BYTES => {
                    return Err(format!("{field} is longer than {MAX_FIELD_BYTES} bytes"));
                }
                _ => {}
            }
        }
        self.hlc.parse::<Hlc>().map_err(|e| format!("hlc: {e}"))?;
        let kind: EventKind = self.kind.parse().map_err(|_| {
            format!("kind {:?} is not one of received, sold, returned, transferred, adjusted, counted", self.kind)
        })?;
        let quantity_ok = match kind {
            EventKind::Adjusted => self.quantity != 0,
            EventKind::Counted => self.quantity >= 0,
            _ => self.quantity > 0,
        };
        if !quantity_ok {
            return Err(format!("quantity {} is not allowed for a {kind} event", self.quantity));
        }
        match (kind, &self.to_location) {
            (EventKind::Transferred, None) => Err("a transfer needs to_location".into()),
            (EventKind::Transferred, Some(to)) if *to == self.location => {
                Err("a transfer needs a to_location other than its location".into())
            }
            (EventKind::Transferred, Some(_)) | (_, None) => Ok(kind),
            (_, Some(_)) => Err("only transfers have a to_location".into()),
        }
    }
}

/// Asks for what changed since the kiosk's cursors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullRequest {
    pub protocol: u32,
    /// The catalog version the kiosk has applied (0: none).
    pub catalog_cursor: i64,
    /// Per other store, the stock version the kiosk has applied.
    pub stock_cursors: BTreeMap<String, i64>,
    /// The most catalog rows to return in one answer.
    pub limit: u32,
}

/// Changes after the request's cursors. Catalog rows come in version order and
/// `catalog_cursor` is the last one returned; `more` says another pull would return more.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullResponse {
    pub protocol: u32,
    pub catalog: Vec<CatalogChange>,
    pub catalog_cursor: i64,
    /// Other stores whose stock moved since the kiosk's cursor for them (or that are new).
    pub stores: Vec<StoreStock>,
    pub more: bool,
    pub hq_hlc: Option<String>,
}

/// A variant as HQ's catalog now has it (with its product); prices are in cents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogChange {
    pub version: i64,
    pub product_code: String,
    pub product_name: String,
    pub category: String,
    pub sku: String,
    pub size: Option<String>,
    pub colour: Option<String>,
    pub barcode: Option<String>,
    pub price_cents: i64,
    pub cost_cents: i64,
}

/// Another store's book stock as HQ derived it from that store's events: the SKUs whose
/// level changed after the kiosk's cursor, and the version to remember.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreStock {
    pub store_id: String,
    pub stock_version: i64,
    /// Events HQ holds from that store.
    pub events: i64,
    /// When that store last pushed, Unix ms.
    pub last_seen_unix_ms: Option<i64>,
    pub levels: Vec<SkuStock>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkuStock {
    pub sku: String,
    pub on_hand: i64,
}

/// Why HQ refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    ProtocolMismatch,
    Unauthorized,
    Malformed,
    TooLarge,
    InvalidEvent,
    Unavailable,
}

/// The body of every refusal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub protocol: u32,
    pub code: ErrorCode,
    pub message: String,
}

/// Just the version of a request, read before the rest so that a request of another
/// version is refused as such rather than as malformed.
#[derive(Debug, Deserialize)]
pub struct VersionProbe {
    pub protocol: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> WireEvent {
        WireEvent {
            id: "0190c0de-0000-7000-8000-000000000001".into(),
            hlc: "001700000000000-00000-dev-1".into(),
            store_id: "s1".into(),
            device_id: "dev-1".into(),
            occurred_at_ms: 1_700_000_000_000,
            actor: "till".into(),
            kind: "sold".into(),
            sku: "SKU-1".into(),
            location: "A1/B1/S1".into(),
            to_location: None,
            quantity: 2,
            reference: None,
            note: None,
            source_key: None,
        }
    }

    #[test]
    fn a_good_event_passes_and_each_rule_names_its_field() {
        assert_eq!(event().validate().unwrap(), EventKind::Sold);
        let reason = |change: fn(&mut WireEvent)| {
            let mut e = event();
            change(&mut e);
            e.validate().unwrap_err()
        };
        assert!(reason(|e| e.kind = "stolen".into()).contains("stolen"));
        assert!(reason(|e| e.quantity = 0).contains("quantity"));
        assert!(reason(|e| e.hlc = "yesterday".into()).starts_with("hlc"));
        assert!(reason(|e| e.actor = " ".into()).contains("actor"));
        assert!(reason(|e| e.sku = "x".repeat(300)).contains("sku"));
        assert!(reason(|e| e.to_location = Some("B".into())).contains("only transfers"));
        assert!(reason(|e| e.kind = "transferred".into()).contains("to_location"));
    }

    #[test]
    fn unknown_fields_are_refused() {
        let mut json = serde_json::to_value(PushRequest {
            protocol: PROTOCOL_VERSION,
            store_id: "s1".into(),
            device_id: "dev-1".into(),
            events: vec![event()],
        })
        .unwrap();
        json["events"][0]["colour"] = "red".into();
        let err = serde_json::from_value::<PushRequest>(json).unwrap_err().to_string();
        assert!(err.contains("colour"), "{err}");
    }
}

//! The demo store a fresh kiosk starts with: invented garments and groceries, a few
//! locations, and an opening delivery so stock is non-zero.
//!
//! Everything is fixed, event ids and times included, so every kiosk seeds the same ledger
//! and merging two demo ledgers deduplicates rather than doubling the stock.

use rusqlite::{params, Connection, TransactionBehavior};
use tracing::info;
use uuid::Builder;

use crate::hlc::Hlc;
use crate::model::{EventKind, LocationKind, NewEvent, Product, Variant};
use crate::store::{insert_event, insert_product, Stamp};
use crate::Result;

/// 2025-01-01T00:00:00Z: the demo's opening delivery, fixed so the seed is deterministic.
const SEED_EPOCH_MS: i64 = 1_735_689_600_000;
const SEED_STORE_ID: &str = "demo-store";
const SEED_DEVICE_ID: &str = "demo-seed";
const SEED_ACTOR: &str = "demo-seed";
const SEED_REFERENCE: &str = "DEMO-DELIVERY-0001";
const BACKROOM: &str = "BACKROOM";

const LOCATIONS: &[(&str, LocationKind, &str)] = &[
    (
        "A1/B1/S1",
        LocationKind::Shelf,
        "Aisle 1, bay 1, shelf 1: tees",
    ),
    (
        "A1/B2/S1",
        LocationKind::Shelf,
        "Aisle 1, bay 2, shelf 1: hoodies",
    ),
    (
        "A2/B1/S2",
        LocationKind::Shelf,
        "Aisle 2, bay 1, shelf 2: dresses",
    ),
    (
        "A5/B1/S3",
        LocationKind::Shelf,
        "Aisle 5, bay 1, shelf 3: breakfast",
    ),
    (
        "A5/B2/S1",
        LocationKind::Shelf,
        "Aisle 5, bay 2, shelf 1: coffee",
    ),
    (BACKROOM, LocationKind::Backroom, "Backroom"),
];

struct DemoProduct {
    code: &'static str,
    name: &'static str,
    category: &'static str,
    /// Empty for one-size goods.
    sizes: &'static [&'static str],
    /// `(colour, SKU suffix)`; empty for goods without a colour.
    colours: &'static [(&'static str, &'static str)],
    price_cents: i64,
    cost_cents: i64,
    /// Unlabelled samples have none, so the demo also shows variants without a barcode.
    barcoded: bool,
    shelf: &'static str,
    /// Opening delivery per variant, to the shelf and to the backroom.
    shelf_qty: i64,
    backroom_qty: i64,
}

const PRODUCTS: &[DemoProduct] = &[
    DemoProduct {
        code: "VT-TEE-ORBIT",
        name: "Orbit Crew Tee",
        category: "apparel",
        sizes: &["S", "M", "L", "XL"],
        colours: &[("Chalk", "CHK"), ("Ink", "INK"), ("Moss", "MOS")],
        price_cents: 1900,
        cost_cents: 640,
        barcoded: true,
        shelf: "A1/B1/S1",
        shelf_qty: 6,
        backroom_qty: 12,
    },
    DemoProduct {
        code: "VT-HOOD-DRIFT",
        name: "Drift Hoodie",
        category: "apparel",
        sizes: &["S", "M", "L"],
        colours: &[("Coal", "COL"), ("Ember", "EMB")],
        price_cents: 5400,
        cost_cents: 2150,
        barcoded: true,
        shelf: "A1/B2/S1",
        shelf_qty: 4,
        backroom_qty: 8,
    },
    DemoProduct {
        code: "VT-DRS-LUMEN",
        name: "Lumen Wrap Dress",
        category: "apparel",
        sizes: &["XS", "S", "M", "L"],
        colours: &[("Sage", "SGE"), ("Midnight", "MID")],
        price_cents: 6900,
        cost_cents: 2780,
        barcoded: false,
        shelf: "A2/B1/S2",
        shelf_qty: 2,
        backroom_qty: 3,
    },
    DemoProduct {
        code: "GR-OATS-1KG",
        name: "Hearth Rolled Oats 1 kg",
        category: "grocery",
        sizes: &[],
        colours: &[],
        price_cents: 349,
        cost_cents: 182,
        barcoded: true,
        shelf: "A5/B1/S3",
        shelf_qty: 24,
        backroom_qty: 48,
    },
    DemoProduct {
        code: "GR-HONEY-350",
        name: "Meadow Wildflower Honey 350 g",
        category: "grocery",
        sizes: &[],
        colours: &[],
        price_cents: 799,
        cost_cents: 415,
        barcoded: true,
        shelf: "A5/B1/S3",
        shelf_qty: 12,
        backroom_qty: 24,
    },
    DemoProduct {
        code: "GR-ESPR-250",
        name: "Night Owl Espresso Beans 250 g",
        category: "grocery",
        sizes: &[],
        colours: &[],
        price_cents: 1099,
        cost_cents: 560,
        barcoded: true,
        shelf: "A5/B2/S1",
        shelf_qty: 10,
        backroom_qty: 30,
    },
];

/// One demo variant, derived from its product.
struct DemoVariant {
    sku: String,
    size: Option<&'static str>,
    colour: Option<&'static str>,
    barcode: Option<String>,
}

impl DemoProduct {
    fn variants(&self, product_no: usize) -> Vec<DemoVariant> {
        let sizes: Vec<Option<&'static str>> = if self.sizes.is_empty() {
            vec![None]
        } else {
            self.sizes.iter().copied().map(Some).collect()
        };
        let colours: Vec<Option<(&'static str, &'static str)>> = if self.colours.is_empty() {
            vec![None]
        } else {
            self.colours.iter().copied().map(Some).collect()
        };
        let combos = colours
            .iter()
            .flat_map(|colour| sizes.iter().map(move |size| (*size, *colour)));
        combos
            .enumerate()
            .map(|(variant_no, (size, colour))| {
                let mut sku = self.code.to_owned();
                for part in [size, colour.map(|(_, suffix)| suffix)]
                    .into_iter()
                    .flatten()
                {
                    sku.push('-');
                    sku.push_str(part);
                }
                DemoVariant {
                    sku,
                    size,
                    colour: colour.map(|(name, _)| name),
                    barcode: self
                        .barcoded
                        .then(|| in_store_ean13(product_no, variant_no + 1)),
                }
            })
            .collect()
    }
}

/// An EAN-13 in the GS1 in-store range (prefix 20), which never clashes with real products.
fn in_store_ean13(product_no: usize, variant_no: usize) -> String {
    let body = format!("20{product_no:03}{variant_no:03}0000");
    format!("{body}{}", ean13_check_digit(&body))
}

fn ean13_check_digit(first_twelve: &str) -> u32 {
    let sum: u32 = first_twelve
        .chars()
        .filter_map(|c| c.to_digit(10))
        .enumerate()
        .map(|(i, d)| if i % 2 == 0 { d } else { 3 * d })
        .sum();
    (10 - sum % 10) % 10
}

/// The opening delivery: shelf then backroom for every variant, in catalog order.
fn demo_events() -> Vec<NewEvent> {
    let deliveries = PRODUCTS.iter().enumerate().flat_map(|(index, product)| {
        product
            .variants(index + 1)
            .into_iter()
            .flat_map(move |variant| {
                [
                    (variant.sku.clone(), product.shelf, product.shelf_qty),
                    (variant.sku, BACKROOM, product.backroom_qty),
                ]
            })
    });
    deliveries
        .enumerate()
        .map(|(n, (sku, location, quantity))| {
            let at_ms = SEED_EPOCH_MS + 1000 * n as i64;
            let mut counter = [0u8; 10];
            counter[2..].copy_from_slice(&(n as u64).to_be_bytes());
            let id = Builder::from_unix_timestamp_millis(at_ms as u64, &counter).into_uuid();
            NewEvent {
                id: id.to_string(),
                store_id: SEED_STORE_ID.to_owned(),
                device_id: SEED_DEVICE_ID.to_owned(),
                occurred_at_ms: at_ms,
                actor: SEED_ACTOR.to_owned(),
                kind: EventKind::Received,
                variant_sku: sku,
                location_code: location.to_owned(),
                to_location_code: None,
                quantity,
                reference: Some(SEED_REFERENCE.to_owned()),
                note: None,
                source_key: None,
            }
        })
        .collect()
}

/// One transaction, with the emptiness check inside it, so two processes starting together
/// seed once.
pub(crate) fn seed_demo_if_empty(conn: &mut Connection) -> Result<bool> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let has_products: bool = tx.query_row("SELECT EXISTS (SELECT 1 FROM products)", [], |row| {
        row.get(0)
    })?;
    if has_products {
        return Ok(false);
    }
    for (code, kind, name) in LOCATIONS {
        tx.execute(
            "INSERT INTO locations (code, kind, name) VALUES (?1, ?2, ?3)
             ON CONFLICT (code) DO NOTHING",
            params![code, kind.as_str(), name],
        )?;
    }
    for (index, product) in PRODUCTS.iter().enumerate() {
        let variants = product
            .variants(index + 1)
            .into_iter()
            .map(|variant| Variant {
                sku: variant.sku,
                size: variant.size.map(str::to_owned),
                colour: variant.colour.map(str::to_owned),
                barcode: variant.barcode,
                price_cents: product.price_cents,
                cost_cents: product.cost_cents,
                home_location: Some(product.shelf.to_owned()),
            })
            .collect();
        insert_product(
            &tx,
            &Product {
                code: product.code.to_owned(),
                name: product.name.to_owned(),
                category: product.category.to_owned(),
                variants,
            },
        )?;
    }
    let events = demo_events();
    for event in &events {
        // Fixed timestamps too, so every kiosk's demo ledger is the same; queued for HQ like
        // any local event (HQ deduplicates the identical ids of other kiosks' seeds).
        let hlc = Hlc::new(event.occurred_at_ms as u64, 0, SEED_DEVICE_ID);
        insert_event(&tx, event, Stamp::Fixed(&hlc))?;
    }
    seed_demo_neighbours(&tx)?;
    crate::staff::seed_demo_staff(&tx, SEED_EPOCH_MS)?;
    tx.commit()?;
    info!(
        products = PRODUCTS.len(),
        locations = LOCATIONS.len(),
        events = events.len(),
        "seeded demo catalog"
    );
    Ok(true)
}

/// Two neighbouring stores' stock, as an HQ pull would bring it, so the assistant can answer
/// "does another store have it?" on a fresh demo kiosk. Their ids start with
/// [`DEMO_NEIGHBOUR_PREFIX`]; the first pull from a real HQ removes them.
const NEIGHBOURS: &[&str] = &["demo-riverside", "demo-old-town"];

/// Remote stores with this id prefix are the demo's, not HQ's.
pub const DEMO_NEIGHBOUR_PREFIX: &str = "demo-";

fn seed_demo_neighbours(tx: &rusqlite::Transaction<'_>) -> Result<()> {
    for (n, store) in NEIGHBOURS.iter().enumerate() {
        tx.execute(
            "INSERT INTO remote_stores (store_id, stock_version, events, last_seen_unix_ms) VALUES (?1, 0, 0, ?2)
             ON CONFLICT (store_id) DO NOTHING",
            params![store, SEED_EPOCH_MS],
        )?;
        let mut level = tx.prepare_cached("INSERT INTO remote_stock (store_id, sku, on_hand) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING")?;
        for (index, product) in PRODUCTS.iter().enumerate() {
            for (v, variant) in product.variants(index + 1).into_iter().enumerate() {
                // Deterministic, uneven, some zero: neighbours never mirror this store.
                let on_hand = ((index * 7 + v * 3 + n * 5) % 6) as i64;
                level.execute(params![store, variant.sku, on_hand])?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::Store;

    #[test]
    fn the_demo_neighbours_go_with_the_first_pull_from_hq() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        store.seed_demo_if_empty().unwrap();
        let before = store.remote_stock("VT-HOOD-DRIFT-M-COL").unwrap();
        assert_eq!(before.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>(), ["demo-old-town", "demo-riverside"]);
        store.apply_pull(&crate::PulledChanges::default(), None, 1).unwrap();
        assert!(store.remote_stock_all().unwrap().is_empty());
        assert!(store.sync_status().unwrap().stores.is_empty());
    }

    #[test]
    fn check_digit_matches_a_known_ean13() {
        assert_eq!(ean13_check_digit("400638133393"), 1);
        assert_eq!(in_store_ean13(1, 2), "2000100200001");
    }

    #[test]
    fn demo_events_are_deterministic_valid_and_unique() {
        let events = demo_events();
        assert_eq!(events, demo_events());
        let ids: HashSet<_> = events.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids.len(), events.len());
        for event in &events {
            event.validate().unwrap();
            assert_eq!(
                uuid::Uuid::parse_str(&event.id).unwrap().get_version_num(),
                7
            );
        }
        assert!(events.windows(2).all(|w| w[0].id < w[1].id));
    }

    #[test]
    fn demo_catalog_has_garments_groceries_and_a_backroom() {
        let mut store = Store::open_in_memory().unwrap();
        assert!(store.seed_demo_if_empty().unwrap());

        let products = store.products().unwrap();
        let tee = products.iter().find(|p| p.code == "VT-TEE-ORBIT").unwrap();
        assert_eq!(tee.variants.len(), 12);
        let medium_ink = tee
            .variants
            .iter()
            .find(|v| v.sku == "VT-TEE-ORBIT-M-INK")
            .unwrap();
        assert_eq!(medium_ink.size.as_deref(), Some("M"));
        assert_eq!(medium_ink.colour.as_deref(), Some("Ink"));
        assert_eq!(medium_ink.price_cents, 1900);
        let barcode = medium_ink.barcode.as_deref().unwrap();
        assert_eq!(
            ean13_check_digit(&barcode[..12]),
            barcode[12..].parse::<u32>().unwrap()
        );
        let dress = products.iter().find(|p| p.code == "VT-DRS-LUMEN").unwrap();
        assert!(dress.variants.iter().all(|v| v.barcode.is_none()));
        let oats = products.iter().find(|p| p.code == "GR-OATS-1KG").unwrap();
        assert_eq!(oats.category, "grocery");
        assert_eq!(oats.variants.len(), 1);
        assert_eq!(oats.variants[0].sku, "GR-OATS-1KG");
        assert_eq!(oats.variants[0].size, None);

        let locations = store.locations().unwrap();
        assert_eq!(locations.len(), LOCATIONS.len());
        assert!(locations
            .iter()
            .any(|l| l.code == BACKROOM && l.kind == LocationKind::Backroom));

        assert_eq!(
            store.stock_level("VT-TEE-ORBIT-M-INK", "A1/B1/S1").unwrap(),
            6
        );
        assert_eq!(
            store.stock_level("VT-TEE-ORBIT-M-INK", BACKROOM).unwrap(),
            12
        );
        assert_eq!(
            store.stock_level("VT-TEE-ORBIT-M-INK", "A5/B2/S1").unwrap(),
            0
        );
        assert!(store
            .stock_by_variant()
            .unwrap()
            .iter()
            .all(|s| s.on_hand > 0));
    }
}

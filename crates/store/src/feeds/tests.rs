use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

use tempfile::TempDir;

use super::*;
use crate::model::{Location, LocationKind, Product, Variant};
use crate::Hlc;

const TEE: &str = "VT-TEE-ORBIT-M-INK"; // home A1/B1/S1: 6 on the shelf, 12 in the backroom
const OATS: &str = "GR-OATS-1KG"; // home A5/B1/S3: 24 on the shelf, 48 in the backroom
const TEE_SHELF: &str = "A1/B1/S1";
const OATS_SHELF: &str = "A5/B1/S3";
const BACKROOM: &str = "BACKROOM";

fn seeded() -> (TempDir, PathBuf, Store) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vitrine.db");
    let mut store = Store::open(&path).unwrap();
    assert!(store.seed_demo_if_empty().unwrap());
    (dir, path, store)
}

fn import(store: &mut Store, feed: Feed, csv: &str) -> ImportReport {
    store
        .import_feed(feed, csv.as_bytes(), &ImportOptions::default())
        .unwrap()
}

fn projection(store: &Store) -> BTreeMap<(i64, i64), i64> {
    let mut stmt = store
        .conn
        .prepare("SELECT variant_id, location_id, on_hand FROM stock_levels")
        .unwrap();
    stmt.query_map([], |row| Ok(((row.get(0)?, row.get(1)?), row.get(2)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

fn events(store: &Store) -> u64 {
    store.catalog_summary().unwrap().events
}

const SALES: &str = "\
sale_id,line,timestamp,sku,quantity,location
S-1001,1,2025-03-01T10:15:00Z,VT-TEE-ORBIT-M-INK,2,A1/B1/S1
S-1001,2,2025-03-01T10:15:00Z,GR-OATS-1KG,3,
S-1002,1,2025-03-01T11:40:12.250+01:00,GR-OATS-1KG,1,A5/B1/S3
S-1003,1,2025-03-02 09:00:00Z,VT-TEE-ORBIT-M-INK,-1,A1/B1/S1
";

const DELIVERIES: &str = "\
delivery_id,line,timestamp,sku,quantity,location
D-77,1,2025-03-01T07:00:00Z,VT-TEE-ORBIT-M-INK,10,BACKROOM
D-77,2,2025-03-01T07:00:00Z,GR-OATS-1KG,20,BACKROOM
D-78,1,2025-03-02T07:00:00Z,GR-OATS-1KG,6,
";

#[test]
fn sales_and_deliveries_move_book_stock() {
    let (_dir, _path, mut store) = seeded();

    let sales = import(&mut store, Feed::Sales, SALES);
    let deliveries = import(&mut store, Feed::Deliveries, DELIVERIES);

    assert_eq!((sales.rows, sales.inserted, sales.rejected), (4, 4, 0));
    assert_eq!((deliveries.rows, deliveries.inserted), (3, 3));
    // Sold 2, returned 1; the return is a negative sales line.
    assert_eq!(store.stock_level(TEE, TEE_SHELF).unwrap(), 6 - 2 + 1);
    assert_eq!(store.stock_level(TEE, BACKROOM).unwrap(), 12 + 10);
    // Rows without a location went to the SKU's home shelf.
    assert_eq!(store.stock_level(OATS, OATS_SHELF).unwrap(), 24 - 3 - 1 + 6);
    assert_eq!(store.stock_level(OATS, BACKROOM).unwrap(), 48 + 20);

    let kinds: Vec<(String, i64, Option<String>, Option<String>)> = store
        .conn
        .prepare(
            "SELECT kind, quantity, reference, source_key FROM stock_events
             WHERE source_key LIKE 'sales:%' ORDER BY seq",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(kinds[3].0, "returned");
    assert_eq!(kinds[3].1, 1);
    assert_eq!(kinds[0].2.as_deref(), Some("S-1001"));
    assert_eq!(kinds[1].3.as_deref(), Some("sales:S-1001:2"));
    let occurred: i64 = store
        .conn
        .query_row(
            "SELECT occurred_at_ms FROM stock_events WHERE source_key = 'sales:S-1002:1'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(occurred, 1_740_825_612_250); // 2025-03-01T10:40:12.250Z
}

#[test]
fn importing_the_same_file_twice_records_nothing_the_second_time() {
    let (dir, path, mut store) = seeded();
    let file = dir.path().join("sales.csv");
    fs::write(&file, SALES).unwrap();
    let options = ImportOptions::default();
    store
        .import_feed_file(Feed::Sales, &file, &options)
        .unwrap();
    import(&mut store, Feed::Deliveries, DELIVERIES);
    let after_first = (
        events(&store),
        projection(&store),
        store.outbox_len().unwrap(),
    );
    drop(store);

    let mut store = Store::open(&path).unwrap();
    let again = store
        .import_feed_file(Feed::Sales, &file, &options)
        .unwrap();
    let deliveries_again = import(&mut store, Feed::Deliveries, DELIVERIES);

    assert_eq!(
        (again.rows, again.inserted, again.duplicates, again.rejected),
        (4, 0, 4, 0)
    );
    assert_eq!(deliveries_again.duplicates, 3);
    assert_eq!(
        (
            events(&store),
            projection(&store),
            store.outbox_len().unwrap()
        ),
        after_first
    );
}

#[test]
fn a_row_repeated_within_one_file_is_recorded_once() {
    let (_dir, _path, mut store) = seeded();
    let csv = "sale_id,line,timestamp,sku,quantity\n\
               S-1,1,2025-03-01T10:00:00Z,GR-OATS-1KG,1\n\
               S-1,1,2025-03-01T10:00:00Z,GR-OATS-1KG,1\n";
    let report = import(&mut store, Feed::Sales, csv);
    assert_eq!((report.inserted, report.duplicates), (1, 1));
    assert_eq!(store.stock_level(OATS, OATS_SHELF).unwrap(), 23);
}

#[test]
fn bad_rows_are_rejected_with_line_numbers_and_good_rows_land() {
    let (_dir, _path, mut store) = seeded();
    let before = events(&store);
    // Line 1 is the header. Line 10's quoted value spans two lines: the next row is line 11.
    let csv = "\
sale_id,line,timestamp,sku,quantity,location
S-1,1,2025-03-01T10:00:00Z,GR-OATS-1KG,1,
S-2,1,2025-03-01T10:00:00Z,NO-SUCH-SKU,1,
S-3,1,2025-03-01T10:00:00Z,GR-OATS-1KG,two,
S-4,1,2025-03-01T10:00:00Z,GR-OATS-1KG,,
S-5,1,2025-02-30T10:00:00Z,GR-OATS-1KG,1,
S-6,1,2025-03-01T10:00:00,GR-OATS-1KG,1,
S-7,1,2025-03-01T10:00:00Z,GR-OATS-1KG,1,A9/B9/S9
\"S-8\",\"1\",\"2025-03-01T10:00:00Z\",\"GR-OATS-1KG\",\"2\",\"A5/B1/S3\"
S-9,1,2025-03-01T10:00:00Z,\"GR-OATS
-1KG\",1,
S-10,1,2025-03-01T10:00:00Z,GR-OATS-1KG,0,
S-11,1,2025-03-01T10:00:00Z,GR-OATS-1KG,1,A5/B1/S3,extra
S-12,x,2025-03-01T10:00:00Z,GR-OATS-1KG,1,

,1,2025-03-01T10:00:00Z,GR-OATS-1KG,1,
S-14,1,2025-03-01T10:00:00Z,GR-OATS-1KG,1.5,
S-15,1,1999-13-01T10:00:00Z,GR-OATS-1KG,1,
S-16,1,2025-03-01T10:00:00Z,GR-OATS-1KG,-3,
";

    let report = import(&mut store, Feed::Sales, csv);

    let problems: Vec<(u64, &str)> = report
        .problems
        .iter()
        .map(|p| (p.line, p.reason.as_str()))
        .collect();
    let expect = [
        (3, "unknown SKU \"NO-SUCH-SKU\""),
        (4, "quantity \"two\" is not a whole number"),
        (5, "missing quantity"),
        (6, "no day 30 in 2025-02"),
        (7, "no UTC offset"),
        (8, "unknown location \"A9/B9/S9\""),
        (10, "unknown SKU \"GR-OATS\\n-1KG\""),
        (12, "quantity is 0"),
        (13, "7 fields but the header has 6"),
        (14, "line \"x\" is not a whole number"),
        (16, "missing sale_id"),
        (17, "quantity \"1.5\" is not a whole number"),
        (18, "no month 13"),
    ];
    assert_eq!(problems.len(), expect.len(), "{problems:#?}");
    for ((line, reason), (want_line, want)) in problems.iter().zip(expect) {
        assert_eq!(*line, want_line, "{reason}");
        assert!(
            reason.contains(want),
            "line {line}: {reason:?} lacks {want:?}"
        );
    }
    // S-1, S-8 and S-16 (a return of 3) landed; the blank line 15 is not a row.
    assert_eq!((report.rows, report.inserted, report.rejected), (16, 3, 13));
    assert_eq!(events(&store), before + 3);
    assert_eq!(store.stock_level(OATS, OATS_SHELF).unwrap(), 24 - 1 - 2 + 3);
}

#[test]
fn line_numbers_hold_with_crlf_blank_lines_and_no_final_newline() {
    let (_dir, _path, mut store) = seeded();
    for ending in ["\n", "\r\n"] {
        let csv = [
            "sale_id,line,timestamp,sku,quantity",
            "",
            "S-1,1,2025-03-01T10:00:00Z,NOPE,1",
            "",
            "",
            "S-2,1,2025-03-01T10:00:00Z,\"NO",
            "PE\",1",
            "S-3,1,2025-03-01T10:00:00Z,GR-OATS-1KG,x",
            "   ",
            "S-4,1,2025-03-01T10:00:00Z,NOPE,1",
        ]
        .join(ending);
        for text in [csv.clone(), csv.clone() + ending] {
            let report = import(&mut store, Feed::Sales, &text);
            let lines: Vec<u64> = report.problems.iter().map(|p| p.line).collect();
            assert_eq!(lines, [3, 6, 8, 10], "{ending:?} {report:?}");
        }
    }
}

#[test]
fn a_delivery_line_must_be_positive() {
    let (_dir, _path, mut store) = seeded();
    let csv = "delivery_id,line,timestamp,sku,quantity\n\
               D-1,1,2025-03-01T07:00:00Z,GR-OATS-1KG,-4\n\
               D-1,2,2025-03-01T07:00:00Z,GR-OATS-1KG,4\n";
    let report = import(&mut store, Feed::Deliveries, csv);
    assert_eq!(report.inserted, 1);
    assert_eq!(report.problems[0].line, 2);
    assert!(
        report.problems[0].reason.contains("negative"),
        "{:?}",
        report.problems
    );
}

#[test]
fn a_row_changed_since_its_import_is_rejected_and_the_first_version_kept() {
    let (_dir, _path, mut store) = seeded();
    import(&mut store, Feed::Sales, SALES);
    let before = projection(&store);
    // The till re-exported S-1001 line 1 with another quantity and a shifted time zone.
    let changed = "\
sale_id,line,timestamp,sku,quantity,location
S-1001,1,2025-03-01T11:15:00+02:00,VT-TEE-ORBIT-M-INK,5,A1/B1/S1
S-1001,2,2025-03-01T10:15:00Z,GR-OATS-1KG,3,
";
    let report = import(&mut store, Feed::Sales, changed);

    assert_eq!(
        (report.inserted, report.duplicates, report.rejected),
        (0, 1, 1)
    );
    let reason = &report.problems[0].reason;
    assert_eq!(report.problems[0].line, 2);
    assert!(reason.contains("sale_id \"S-1001\" line 1"), "{reason}");
    assert!(reason.contains("quantity, timestamp"), "{reason}");
    assert_eq!(projection(&store), before);
}

#[test]
fn rows_without_a_location_go_to_the_given_default_then_the_home_location() {
    let (_dir, _path, mut store) = seeded();
    store
        .add_product(&Product {
            code: "GR-TEA".into(),
            name: "Loose Tea".into(),
            category: "grocery".into(),
            variants: vec![Variant {
                sku: "GR-TEA-100".into(),
                size: None,
                colour: None,
                barcode: None,
                price_cents: 450,
                cost_cents: 200,
                home_location: None,
            }],
        })
        .unwrap();
    let csv = "delivery_id,line,timestamp,sku,quantity,location\n\
               D-1,1,2025-03-01T07:00:00Z,GR-TEA-100,5,\n\
               D-1,2,2025-03-01T07:00:00Z,GR-OATS-1KG,4,\n";

    let report = import(&mut store, Feed::Deliveries, csv);
    assert_eq!(report.inserted, 1);
    assert_eq!(report.problems[0].line, 2);
    assert!(
        report.problems[0].reason.contains("no home location"),
        "{report:?}"
    );
    assert_eq!(store.stock_level(OATS, OATS_SHELF).unwrap(), 28);

    let to_backroom = ImportOptions {
        location: Some(BACKROOM.into()),
        ..ImportOptions::default()
    };
    let report = store
        .import_feed(Feed::Deliveries, csv.as_bytes(), &to_backroom)
        .unwrap();
    assert_eq!(
        (report.inserted, report.duplicates, report.rejected),
        (1, 1, 0)
    );
    assert_eq!(store.stock_level("GR-TEA-100", BACKROOM).unwrap(), 5);

    let nowhere = ImportOptions {
        location: Some("A9/B9/S9".into()),
        ..ImportOptions::default()
    };
    assert!(matches!(
        store.import_feed(Feed::Deliveries, csv.as_bytes(), &nowhere),
        Err(StoreError::UnknownLocation(code)) if code == "A9/B9/S9"
    ));
}

#[test]
fn columns_are_found_by_name_in_any_order() {
    let (_dir, _path, mut store) = seeded();
    let csv = "\u{feff}Quantity , SKU,Timestamp,note,Line,Sale_ID\n\
               2,GR-OATS-1KG,2025-03-01T10:00:00Z,a note,1,S-1\n";
    let report = import(&mut store, Feed::Sales, csv);
    assert_eq!(report.inserted, 1, "{report:?}");
    assert_eq!(store.stock_level(OATS, OATS_SHELF).unwrap(), 22);
}

#[test]
fn an_unusable_file_fails_as_a_whole() {
    let (dir, _path, mut store) = seeded();
    let before = events(&store);
    let fail = |store: &mut Store, csv: &str| {
        store
            .import_feed(Feed::Sales, csv.as_bytes(), &ImportOptions::default())
            .unwrap_err()
            .to_string()
    };

    let err = fail(&mut store, "");
    assert!(err.contains("no header line"), "{err}");
    let err = fail(&mut store, "sale_id,line,when,sku,qty\nS-1,1,x,y,1\n");
    assert!(err.contains("lacks column(s) timestamp, quantity"), "{err}");
    let err = fail(&mut store, "sale_id,line,timestamp,sku,quantity,sku\n");
    assert!(err.contains("\"sku\" twice"), "{err}");
    let missing = dir.path().join("nope.csv");
    let err = store
        .import_feed_file(Feed::Sales, &missing, &ImportOptions::default())
        .unwrap_err();
    assert!(matches!(err, StoreError::FeedFile { .. }), "{err}");
    assert!(err.to_string().contains("nope.csv"), "{err}");

    // A header and no rows is a clean, empty import.
    let report = import(
        &mut store,
        Feed::Sales,
        "sale_id,line,timestamp,sku,quantity\n",
    );
    assert_eq!((report.rows, report.inserted), (0, 0));
    assert_eq!(events(&store), before);
}

#[test]
fn large_files_are_written_in_batches_and_rebuild_to_the_same_stock() {
    let (_dir, path, mut store) = seeded();
    let skus: Vec<String> = store
        .products()
        .unwrap()
        .into_iter()
        .flat_map(|p| p.variants.into_iter().map(|v| v.sku))
        .collect();
    let locations = [TEE_SHELF, "A1/B2/S1", OATS_SHELF, BACKROOM];
    let mut deliveries = String::from("delivery_id,line,timestamp,sku,quantity,location\n");
    let mut sales = String::from("sale_id,line,timestamp,sku,quantity,location\n");
    for i in 0..1_000usize {
        let sku = &skus[i * 7 % skus.len()];
        let at = 1_740_000_000 + i * 60;
        let location = locations[i % locations.len()];
        deliveries.push_str(&format!(
            "D-{},{},{},{sku},{},{location}\n",
            i / 10,
            i % 10 + 1,
            iso(at),
            i % 9 + 1
        ));
        // Some returns, some rows to the home location.
        let quantity = if i % 13 == 0 { -1 } else { (i % 3 + 1) as i64 };
        let location = if i % 5 == 0 { "" } else { location };
        sales.push_str(&format!(
            "S-{},{},{},{sku},{quantity},{location}\n",
            i / 4,
            i % 4 + 1,
            iso(at + 30)
        ));
    }
    let small_batches = ImportOptions {
        batch_size: 64,
        ..ImportOptions::default()
    };

    let d = store
        .import_feed(Feed::Deliveries, deliveries.as_bytes(), &small_batches)
        .unwrap();
    let s = store
        .import_feed(Feed::Sales, sales.as_bytes(), &small_batches)
        .unwrap();

    assert_eq!(
        (d.inserted, s.inserted, d.rejected + s.rejected),
        (1000, 1000, 0)
    );
    let incremental = projection(&store);
    drop(store);
    let mut store = Store::open(&path).unwrap();
    let rebuilt = store.rebuild_stock_from_ledger().unwrap();
    assert_eq!(rebuilt.corrected, 0);
    assert_eq!(projection(&store), incremental);

    // Every imported event waits in the outbox with a fresh, increasing HLC timestamp.
    let pending = store.pending_outbox(usize::MAX).unwrap();
    let imported: Vec<_> = pending
        .iter()
        .filter(|e| e.event.source_key.is_some())
        .collect();
    assert_eq!(imported.len(), 2000);
    assert!(imported.windows(2).all(|w| w[0].hlc < w[1].hlc));
    let node = &store.identity().device_id;
    assert!(imported
        .iter()
        .all(|e| e.hlc.node() == node && e.event.device_id == *node));
    assert!(imported.iter().all(|e| e.event.actor == "import"));
}

#[test]
fn imported_ids_are_deterministic_v7_and_carry_the_row_time() {
    let ids = |store_id: &str| {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path().join("v.db")).unwrap();
        store.seed_demo_if_empty().unwrap();
        store.set_store_id(store_id).unwrap();
        import(&mut store, Feed::Sales, SALES);
        let mut stmt = store
            .conn
            .prepare("SELECT id FROM stock_events WHERE source_key IS NOT NULL ORDER BY seq")
            .unwrap();
        stmt.query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .collect::<rusqlite::Result<Vec<_>>>()
            .unwrap()
    };
    let first = ids("store-7");
    // Another kiosk of the same store importing the same file makes the same ids, so HQ
    // sees one event per row; another store's would differ.
    assert_eq!(ids("store-7"), first);
    assert!(ids("store-8").iter().zip(&first).all(|(a, b)| a != b));
    let id = uuid::Uuid::parse_str(&first[0]).unwrap();
    assert_eq!(id.get_version_num(), 7);
    let (secs, _) = id.get_timestamp().unwrap().to_unix();
    assert_eq!(secs, 1_740_824_100); // 2025-03-01T10:15:00Z
}

#[test]
fn imports_stamp_hlcs_after_what_the_device_issued_before() {
    let (_dir, _path, mut store) = seeded();
    // Another process on this device pushed the clock an hour ahead of the wall clock.
    let ahead = Hlc::new(crate::hlc::wall_clock_ms() + 3_600_000, 5, "x");
    store
        .conn
        .execute("UPDATE node SET last_hlc = ?1", [ahead.to_string()])
        .unwrap();
    import(&mut store, Feed::Sales, SALES);
    let pending = store.pending_outbox(usize::MAX).unwrap();
    let first = pending
        .iter()
        .find(|e| e.event.source_key.as_deref() == Some("sales:S-1001:1"))
        .unwrap();
    assert!(first.hlc > ahead, "{} > {ahead}", first.hlc);
    assert!(store.last_hlc() > first.hlc);
}

#[test]
fn timestamps_parse_with_offsets_and_fractions() {
    let utc = |text| parse_timestamp(text, None);
    assert_eq!(utc("1970-01-01T00:00:00Z"), Ok(0));
    assert_eq!(utc("2025-03-01T10:15:00Z"), Ok(1_740_824_100_000));
    assert_eq!(utc("2025-03-01t10:15:00z"), Ok(1_740_824_100_000));
    assert_eq!(utc("2025-03-01 11:15:00+01:00"), Ok(1_740_824_100_000));
    assert_eq!(utc("2025-03-01T05:15:00-0500"), Ok(1_740_824_100_000));
    assert_eq!(utc("2025-03-01T12:15:00+02"), Ok(1_740_824_100_000));
    assert_eq!(utc("2025-03-01T10:15:00.5Z"), Ok(1_740_824_100_500));
    assert_eq!(utc("2025-03-01T10:15:00,123456789Z"), Ok(1_740_824_100_123));
    assert_eq!(utc("2024-02-29T00:00:00Z"), Ok(1_709_164_800_000));
    assert_eq!(utc("2016-12-31T23:59:60Z"), Ok(1_483_228_799_999));
    assert_eq!(
        parse_timestamp("2025-03-01T11:15:00", Some(60)),
        Ok(1_740_824_100_000)
    );
    assert_eq!(utc("1969-12-31T23:59:59Z"), Ok(-1000));
    for bad in [
        "",
        "2025-03-01",
        "2025-03-01T10:15Z",
        "2025-3-01T10:15:00Z",
        "2025-03-01T10:15:00",
        "2025-03-01T10:15:00ZZ",
        "2025-03-01T10:15:00.Z",
        "2025-03-01T10:15:00+1",
        "2025-03-01T10:15:00+01:0",
        "2025-03-01T10:15:00+24:00",
        "2025-03-01T24:00:00Z",
        "2023-02-29T00:00:00Z",
        "2025-04-31T00:00:00Z",
        "1740824100000",
        "２025-03-01T10:15:00Z",
    ] {
        assert!(utc(bad).is_err(), "{bad:?} parsed as {:?}", utc(bad));
    }
}

#[test]
fn future_and_ancient_timestamps_are_refused() {
    let (_dir, _path, mut store) = seeded();
    let csv = "sale_id,line,timestamp,sku,quantity\n\
               S-1,1,2999-01-01T00:00:00Z,GR-OATS-1KG,1\n\
               S-2,1,1969-07-20T20:17:00Z,GR-OATS-1KG,1\n";
    let report = import(&mut store, Feed::Sales, csv);
    assert_eq!(report.rejected, 2);
    assert!(report.problems[0].reason.contains("future"));
    assert!(report.problems[1].reason.contains("before 1970"));
}

#[test]
fn the_report_keeps_the_earliest_problems_and_counts_the_rest() {
    let (_dir, _path, mut store) = seeded();
    let mut csv = String::from("sale_id,line,timestamp,sku,quantity\n");
    for i in 0..50 {
        // Unknown SKUs are found per batch, after the bad numbers of the same batch.
        let (sku, qty) = if i % 2 == 0 {
            ("NOPE", "1")
        } else {
            (OATS, "x")
        };
        csv.push_str(&format!("S-{i},1,2025-03-01T10:00:00Z,{sku},{qty}\n"));
    }
    let options = ImportOptions {
        max_problems: 5,
        batch_size: 1000,
        ..ImportOptions::default()
    };
    let report = store
        .import_feed(Feed::Sales, csv.as_bytes(), &options)
        .unwrap();
    assert_eq!(report.rejected, 50);
    let lines: Vec<u64> = report.problems.iter().map(|p| p.line).collect();
    assert_eq!(lines, [2, 3, 4, 5, 6]);
}

#[test]
fn locations_added_through_the_api_are_usable_by_feeds() {
    let (_dir, _path, mut store) = seeded();
    assert!(store
        .add_location(&Location {
            code: "A7/B1/S1".into(),
            kind: LocationKind::Shelf,
            name: "Aisle 7".into(),
        })
        .unwrap());
    assert!(!store
        .add_location(&Location {
            code: "A7/B1/S1".into(),
            kind: LocationKind::Shelf,
            name: "again".into(),
        })
        .unwrap());
    let csv = "delivery_id,line,timestamp,sku,quantity,location\n\
               D-1,1,2025-03-01T07:00:00Z,GR-OATS-1KG,4,A7/B1/S1\n";
    assert_eq!(import(&mut store, Feed::Deliveries, csv).inserted, 1);
    assert_eq!(store.stock_level(OATS, "A7/B1/S1").unwrap(), 4);
}

fn iso(unix_secs: usize) -> String {
    super::iso8601_utc(unix_secs as i64)
}

#[test]
fn the_test_date_helper_agrees_with_the_parser() {
    for secs in [0, 86_399, 951_782_400, 1_740_824_100, 4_102_444_800] {
        assert_eq!(
            parse_timestamp(&iso(secs), None),
            Ok(secs as i64 * 1000),
            "{}",
            iso(secs)
        );
    }
}

fn guard_exists(store: &Store) -> bool {
    store
        .conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_schema
                            WHERE type = 'trigger' AND name = 'stock_events_no_replace')",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

fn pragmas(store: &Store) -> [i64; 5] {
    [
        "synchronous",
        "foreign_keys",
        "cache_size",
        "temp_store",
        "wal_autocheckpoint",
    ]
    .map(|name| {
        store
            .conn
            .pragma_query_value(None, name, |r| r.get(0))
            .unwrap()
    })
}

#[test]
fn an_import_leaves_the_ledger_guarded_and_the_connection_as_it_was() {
    let (_dir, _path, mut store) = seeded();
    let before = pragmas(&store);
    assert_eq!(before[..2], [2, 1], "FULL sync and foreign keys by default");

    import(&mut store, Feed::Sales, SALES);

    assert_eq!(pragmas(&store), before);
    assert!(guard_exists(&store));
    let err = store
        .conn
        .execute(
            "INSERT OR REPLACE INTO stock_events
                 (id, hlc, store_id, device_id, occurred_at_ms, actor, kind, variant_id,
                  location_id, quantity, source_key)
             SELECT 'new-id', hlc, store_id, device_id, occurred_at_ms, actor, 'adjusted',
                    variant_id, location_id, -99, source_key
             FROM stock_events WHERE source_key = 'sales:S-1001:1'",
            [],
        )
        .unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
}

#[test]
fn a_failing_batch_rolls_back_whole_with_the_guard_in_place() {
    let (_dir, _path, mut store) = seeded();
    let before = (
        events(&store),
        projection(&store),
        store.outbox_len().unwrap(),
    );
    let settings = pragmas(&store);
    store
        .conn
        .execute_batch(
            "CREATE TRIGGER test_outbox_fails BEFORE INSERT ON outbox
             BEGIN SELECT RAISE(ABORT, 'disk on fire'); END;",
        )
        .unwrap();

    let err = store
        .import_feed(Feed::Sales, SALES.as_bytes(), &ImportOptions::default())
        .unwrap_err();

    assert!(err.to_string().contains("disk on fire"), "{err}");
    assert!(guard_exists(&store));
    assert_eq!(pragmas(&store), settings);
    assert_eq!(
        (
            events(&store),
            projection(&store),
            store.outbox_len().unwrap()
        ),
        before
    );
    store
        .conn
        .execute_batch("DROP TRIGGER test_outbox_fails")
        .unwrap();
    assert_eq!(import(&mut store, Feed::Sales, SALES).inserted, 4);
}

#[test]
fn a_row_the_database_silently_skips_is_an_error_not_a_duplicate() {
    let (_dir, _path, mut store) = seeded();
    let before = events(&store);
    store
        .conn
        .execute_batch(
            "CREATE TRIGGER test_swallow BEFORE INSERT ON stock_events
             WHEN NEW.source_key = 'sales:S-1002:1' BEGIN SELECT RAISE(IGNORE); END;",
        )
        .unwrap();

    let err = store
        .import_feed(Feed::Sales, SALES.as_bytes(), &ImportOptions::default())
        .unwrap_err()
        .to_string();

    assert!(
        err.contains("line 4") && err.contains("\"S-1002\" line 1"),
        "{err}"
    );
    assert_eq!(events(&store), before, "the batch rolled back whole");
}

#[test]
fn imported_sales_come_back_as_receipts_of_product_codes() {
    let (_dir, _path, mut store) = seeded();
    import(&mut store, Feed::Sales, SALES);
    let mut baskets = store.sale_baskets(0).unwrap();
    // The seed sells nothing; S-1003 is a return, not a sale.
    baskets.sort();
    assert_eq!(baskets, vec![vec!["GR-OATS-1KG".to_owned()], vec!["VT-TEE-ORBIT".to_owned(), "GR-OATS-1KG".to_owned()]]);
    const AFTER_S_1001_MS: i64 = 1_740_825_000_000; // 2025-03-01T10:30:00Z
    assert_eq!(store.sale_baskets(AFTER_S_1001_MS).unwrap(), vec![vec!["GR-OATS-1KG".to_owned()]]);
}

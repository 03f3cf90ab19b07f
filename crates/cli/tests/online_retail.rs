//! End to end on real trade: a week of the UCI Online Retail history (CC BY 4.0, in
//! `../shared/data/online-retail`) goes through the sales-feed import into the ledger, and
//! the sell-through and stock reports must agree with totals summed straight from the raw
//! file. Without `../shared` the test says so and passes.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufReader, Write};
use std::path::PathBuf;

use vitrine_reports::{run_report, Cell, ReportKind, ReportQuery, ReportTable};
use vitrine_store::{Feed, ImportOptions, Location, LocationKind, Product, Store, Variant};

const SHELF: &str = "A1/B1/S1";
/// The slice: the first week of the history.
const FIRST: &str = "2010-12-01";
const LAST: &str = "2010-12-07";

fn data_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/online-retail/online_retail.csv.gz")
}

/// One raw invoice line of the slice.
struct Line {
    invoice: String,
    code: String,
    quantity: i64,
    when: String,
    price_cents: i64,
}

/// The slice's product lines, read with nothing from the store or report crates.
fn raw_lines() -> Vec<Line> {
    let file = File::open(data_file()).unwrap();
    let mut reader = csv::Reader::from_reader(flate2::read::GzDecoder::new(BufReader::new(file)));
    let mut lines = Vec::new();
    for record in reader.records() {
        let r = record.unwrap();
        let (invoice, code, quantity, when, price) = (&r[0], &r[1], &r[3], &r[4], &r[5]);
        let day = &when[..10];
        if day < FIRST || day > LAST {
            continue;
        }
        let price: f64 = price.parse().unwrap_or(0.0);
        let quantity: i64 = quantity.parse().unwrap();
        if !code.starts_with(|c: char| c.is_ascii_digit()) || price <= 0.0 || quantity == 0 {
            continue;
        }
        lines.push(Line {
            invoice: invoice.to_owned(),
            code: code.to_owned(),
            quantity,
            when: when.to_owned(),
            price_cents: (price * 100.0).round() as i64,
        });
    }
    lines
}

fn ints(table: &ReportTable, key: &str) -> BTreeMap<String, i64> {
    let sku = table.columns.iter().position(|c| c.key == "sku").unwrap();
    let at = table.columns.iter().position(|c| c.key == key).unwrap();
    let mut out = BTreeMap::new();
    for row in &table.rows {
        let (Cell::Text(code), Cell::Int(n)) = (&row[sku], &row[at]) else {
            panic!("unexpected cells {row:?}");
        };
        *out.entry(code.clone()).or_default() += n;
    }
    out
}

#[test]
fn a_week_of_real_sales_imported_through_the_feed_matches_the_raw_file() {
    if !data_file().is_file() {
        eprintln!("skipped: {} not found", data_file().display());
        return;
    }
    let lines = raw_lines();
    assert!(lines.len() > 10_000, "{} lines", lines.len());

    // Totals straight from the file: net units per item (cancellations are negative).
    let mut net: BTreeMap<String, i64> = BTreeMap::new();
    for line in &lines {
        *net.entry(line.code.clone()).or_default() += line.quantity;
    }

    // A catalog of the slice's items, and the slice as a sales feed.
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path().join("retail.db")).unwrap();
    store
        .add_location(&Location {
            code: SHELF.into(),
            kind: LocationKind::Shelf,
            name: "gift ware".into(),
        })
        .unwrap();
    let mut price: HashMap<&str, i64> = HashMap::new();
    for line in &lines {
        price.entry(&line.code).or_insert(line.price_cents);
    }
    for (code, cents) in &price {
        store
            .add_product(&Product {
                code: format!("P-{code}"),
                name: format!("item {code}"),
                category: "gifts".into(),
                variants: vec![Variant {
                    sku: (*code).to_owned(),
                    size: None,
                    colour: None,
                    barcode: None,
                    price_cents: *cents,
                    cost_cents: cents * 6 / 10,
                    home_location: Some(SHELF.into()),
                }],
            })
            .unwrap();
    }
    let feed = dir.path().join("sales.csv");
    let mut out = std::io::BufWriter::new(File::create(&feed).unwrap());
    writeln!(out, "sale_id,line,timestamp,sku,quantity").unwrap();
    let mut line_no: HashMap<&str, u32> = HashMap::new();
    for line in &lines {
        let n = line_no.entry(&line.invoice).or_default();
        *n += 1;
        writeln!(
            out,
            "{},{},{},{},{}",
            line.invoice, n, line.when, line.code, line.quantity
        )
        .unwrap();
    }
    drop(out);
    let options = ImportOptions {
        utc_offset_minutes: Some(0),
        ..ImportOptions::default()
    };
    let report = store
        .import_feed_file(Feed::Sales, &feed, &options)
        .unwrap();
    assert_eq!(
        (report.inserted, report.rejected),
        (lines.len() as u64, 0),
        "{:?}",
        report.problems
    );

    // Sell-through over the week: net units sold per SKU equal the file's.
    let sell = run_report(
        &store,
        &ReportQuery {
            kind: ReportKind::SellThrough,
            window_days: 7,
            ..ReportQuery::default()
        },
    )
    .unwrap();
    assert!(
        sell.notes
            .iter()
            .any(|n| n.contains("2010-12-01 to 2010-12-07")),
        "{:?}",
        sell.notes
    );
    // (An item whose sales and cancellations cancel out has no movement to show.)
    let moved: BTreeMap<String, i64> = net
        .iter()
        .filter(|(_, v)| **v != 0)
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    let sold: BTreeMap<String, i64> = ints(&sell, "sold")
        .into_iter()
        .filter(|(_, v)| *v != 0)
        .collect();
    assert_eq!(sold, moved);
    // With no deliveries recorded, book stock is minus the net units sold, SKU by SKU.
    let stock = run_report(&store, &ReportQuery::default()).unwrap();
    let minus: BTreeMap<String, i64> = net.iter().map(|(k, v)| (k.clone(), -v)).collect();
    let on_hand: BTreeMap<String, i64> = ints(&stock, "on_hand");
    assert_eq!(on_hand, minus);
    // A search narrows to what matches, and the numbers stay the same.
    let heart = run_report(
        &store,
        &ReportQuery {
            kind: ReportKind::SellThrough,
            window_days: 7,
            search: Some("85123a".into()),
            ..ReportQuery::default()
        },
    )
    .unwrap();
    // Case-insensitive: the file has both 85123A and 85123a.
    let wanted: BTreeMap<String, i64> = net
        .iter()
        .filter(|(k, _)| k.to_lowercase().contains("85123a"))
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    assert_eq!(wanted.len(), 2);
    assert_eq!(ints(&heart, "sold"), wanted);
}

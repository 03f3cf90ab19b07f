//! The manager's screens on the real kiosk, driven through WebDriver on an X display: a wrong
//! PIN is refused with the tries left, the demo manager signs in, opens low stock, sees the
//! charts drawn and exports CSV that matches the table on screen; back on the shopper screen a
//! direct `invoke('run_report')` is refused by the backend. Runs only with `VITRINE_E2E=1`:
//!
//! ```text
//! cargo build -p vitrine-kiosk
//! VITRINE_E2E=1 xvfb-run -a -s "-screen 0 1280x800x24" cargo test -p vitrine-e2e --test manager -- --test-threads=1
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use fantoccini::{Client, Locator};
use serde_json::{json, Value};
use tokio::sync::Mutex;
use vitrine_e2e::webdriver::{click, connect, find, poll, text, wait_text, Res, WAIT};
use vitrine_e2e::{private_env, screenshot_display, setup_or_skip, Driver, Setup};

/// One kiosk at a time: they would share the display and fight over the window.
static SERIAL: Mutex<()> = Mutex::const_new(());

/// The demo manager's published PIN (README: demo only).
const DEMO_MANAGER_PIN: &str = "2468";


async fn type_pin(c: &Client, pin: &str) -> Res {
    for digit in pin.chars() {
        click(c, &format!("#pin-key-{digit}")).await?;
    }
    let shown = text(c, "#pin-display").await?;
    if shown.trim() != "•".repeat(pin.len()) {
        return Err(format!("the PIN display shows {shown:?}, not {} masked digits", pin.len()));
    }
    click(c, "#pin-enter").await
}

/// A kiosk config that keeps everything in the test's own folders, plus `extra` TOML.
fn write_config(home: &Path, data: &Path, extra: &str) -> PathBuf {
    let path = home.join("vitrine.toml");
    let text = format!(
        "[store]\ndatabase = {:?}\n\n[reports]\nexports_dir = {:?}\n\n{extra}",
        data.join("e2e.db").display().to_string(),
        data.join("exports").display().to_string()
    );
    std::fs::write(&path, text).expect("test config");
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manager_signs_in_reads_low_stock_with_charts_and_exports_csv() {
    let Some(setup) = setup_or_skip("manager_signs_in_reads_low_stock_with_charts_and_exports_csv") else { return };
    let _serial = SERIAL.lock().await;
    let home = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let exports = data.path().join("exports");
    with_kiosk(&setup, "manager", home.path(), data.path(), "", |c, setup| async move { manager_flow(&c, &setup, &exports).await }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_manager_is_signed_out() {
    let Some(setup) = setup_or_skip("an_idle_manager_is_signed_out") else { return };
    let _serial = SERIAL.lock().await;
    let home = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    with_kiosk(&setup, "manager-idle", home.path(), data.path(), "[staff]\nidle_timeout_secs = 3\n", |client, _| async move {
        let c = &client;
        find(c, "#screen-start").await?;
        click(c, "#role-manager").await?;
        click(c, ".staff-choice[data-name=\"Demo Manager\"]").await?;
        type_pin(c, DEMO_MANAGER_PIN).await?;
        find(c, "#reports").await?;
        // Nobody touches the screen: the backend ends the session and the screen follows.
        let said = wait_text(c, "#pin-message", "Signed out after inactivity").await?;
        eprintln!("idle: {said}");
        let answer = invoke(c, "run_report", json!({ "query": { "kind": "low-stock" } })).await?;
        if answer.get("err").is_none() {
            return Err(format!("a report ran after the idle sign-out: {answer}"));
        }
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manager_approves_a_poster_that_plays_when_the_kiosk_is_idle() {
    let Some(setup) = setup_or_skip("manager_approves_a_poster_that_plays_when_the_kiosk_is_idle") else { return };
    let _serial = SERIAL.lock().await;
    let home = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    with_kiosk(&setup, "signage", home.path(), data.path(), "[signage]\nattract_after_secs = 4\nposter_secs = 30\n", |client, setup| async move {
        let c = &client;
        find(c, "#screen-start").await?;
        click(c, "#role-manager").await?;
        click(c, ".staff-choice[data-name=\"Demo Manager\"]").await?;
        type_pin(c, DEMO_MANAGER_PIN).await?;
        click(c, "#tab-signage").await?;
        // Posters are generated from the demo store's stock and sales.
        let cards = poll("suggested posters", WAIT * 4, || async {
            let v = c
                .execute("return [...document.querySelectorAll('.signage-product')].map((p) => [p.dataset.sku, p.querySelectorAll('.signage-design img').length, p.querySelector('h3').textContent])", vec![])
                .await
                .map_err(|e| e.to_string())?;
            if v.as_array().is_some_and(|a| !a.is_empty()) { Ok(Some(v)) } else { Err(text(c, "#signage-message").await.unwrap_or_default()) }
        })
        .await?;
        eprintln!("suggested: {cards}");
        if cards.as_array().into_iter().flatten().any(|p| p[1] != json!(3)) {
            return Err(format!("every product should come in 3 designs: {cards}"));
        }
        let sku = cards[0][0].as_str().unwrap_or_default().to_owned();
        let card = format!(".signage-product[data-sku=\"{sku}\"] .signage-design");
        let design = c.execute(&format!("return document.querySelector('{card}').dataset.design"), vec![]).await.map_err(|e| e.to_string())?;
        let design = design.as_str().unwrap_or_default().to_owned();
        click(c, &format!("{card}[data-design=\"{design}\"] .signage-approve")).await?;
        let status = wait_text(c, &format!("{card}[data-design=\"{design}\"] .signage-status"), "Approved until").await?;
        eprintln!("{sku} in {design}: {status}");
        tokio::time::sleep(Duration::from_secs(1)).await;
        screenshot_display(&setup.out_dir.join("manager-signage.png"))?;

        // Back to the start screen (signs out); nobody touches it: the approved poster plays.
        click(c, "#back").await?;
        find(c, "#screen-start").await?;
        let playing = poll("the attract loop", WAIT * 2, || async {
            let v = c
                .execute("const a = document.querySelector('#attract'); return a && !a.hidden && document.querySelector('#attract-poster').complete ? [a.dataset.sku, a.dataset.design, document.querySelector('#attract-poster').naturalWidth] : null", vec![])
                .await
                .map_err(|e| e.to_string())?;
            if v.is_null() { Err("not playing".into()) } else { Ok(Some(v)) }
        })
        .await?;
        eprintln!("attract loop: {playing}");
        if playing[0] != json!(sku) || playing[1] != json!(design) || playing[2].as_u64().unwrap_or(0) < 1000 {
            return Err(format!("the loop plays {playing}, not {sku} in {design} at full size"));
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        screenshot_display(&setup.out_dir.join("attract.png"))?;

        // A touch ends it and leaves the start screen as it was.
        click(c, "#attract").await?;
        poll("the start screen back", WAIT, || async {
            let v = c.execute("return [document.querySelector('#attract').hidden, !!document.querySelector('#screen-start'), location.hash]", vec![]).await.map_err(|e| e.to_string())?;
            if v[0] == json!(true) && v[1] == json!(true) { Ok(Some(())) } else { Err(v.to_string()) }
        })
        .await?;
        Ok(())
    })
    .await;
}

/// A fresh kiosk on its own config and folders; `flow` runs against it, the processes end
/// whatever happens, and a failure carries the kiosk's log.
async fn with_kiosk<F, Fut>(setup: &Setup, name: &str, home: &Path, data: &Path, extra_toml: &str, flow: F)
where
    F: FnOnce(Client, Setup) -> Fut,
    Fut: std::future::Future<Output = Res>,
{
    let env = private_env(home);
    let config = write_config(home, data, extra_toml);
    // No camera: the shopper screen still loads, and nothing here needs frames.
    let args = setup.kiosk_args("camera:7", &config, None);
    let mut driver = Driver::start(setup, &env, setup.out_dir.join(format!("{name}.log")));
    let client = match connect(&driver, setup, &args).await {
        Ok(c) => c,
        Err(e) => panic!("{e}\n{}", driver.log_tail(6000)),
    };
    let result = flow(client.clone(), setup.clone()).await;
    let _ = client.close().await;
    driver.stop();
    if let Err(e) = result {
        panic!("{name}: {e}\n{}", driver.log_tail(8000));
    }
}

async fn manager_flow(c: &Client, setup: &Setup, exports: &Path) -> Res {
    find(c, "#screen-start").await?;
    click(c, "#role-manager").await?;
    find(c, "#screen-manager").await?;
    // The one manager is chosen already; a wrong PIN is refused with the tries left.
    poll("the demo manager to be chosen", WAIT, || async {
        let el = c.find(Locator::Css(".staff-choice[data-name=\"Demo Manager\"]")).await.map_err(|e| e.to_string())?;
        Ok(el.attr("aria-pressed").await.map_err(|e| e.to_string())?.filter(|v| v == "true"))
    })
    .await?;
    type_pin(c, "1111").await?;
    let refused = wait_text(c, "#pin-message", "Wrong PIN, 4 tries left").await?;
    eprintln!("wrong PIN: {refused}");
    if c.find(Locator::Css("#reports")).await.is_ok() {
        return Err("the reports opened after a wrong PIN".into());
    }

    type_pin(c, DEMO_MANAGER_PIN).await?;
    find(c, "#reports").await?;
    let who = wait_text(c, "#session-name", "Demo Manager").await?;
    eprintln!("signed in: {who}");

    // Low stock is the first report a manager sees; open it anyway, as a manager would.
    click(c, "#report-low-stock").await?;
    let title = wait_text(c, "#report-title", "ow stock").await?;
    let rows = poll("rows in the low-stock table", WAIT, || async {
        let rows = c.find_all(Locator::Css("#report-table tbody tr")).await.map_err(|e| e.to_string())?;
        let first = match rows.first() {
            Some(r) => r.text().await.map_err(|e| e.to_string())?,
            None => String::new(),
        };
        if rows.is_empty() || first == "Nothing to show" { Err(format!("{} rows: {first:?}", rows.len())) } else { Ok(Some(rows.len())) }
    })
    .await?;
    eprintln!("{title}: {rows} rows");

    // The charts of the first SKU are drawn: painted (non-transparent) pixels on both canvases.
    for canvas in ["#report-chart", "#forecast-chart"] {
        let (painted, total) = painted_pixels(c, canvas).await?;
        eprintln!("{canvas}: {painted} of {total} pixels painted");
    }
    eprintln!("chart: {}", text(c, "#chart-title").await?);
    eprintln!("forecast: {}", text(c, "#forecast-title").await?);
    // Give the compositor a moment: the display grab shows what reached the screen.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let shot = setup.out_dir.join("manager.png");
    screenshot_display(&shot)?;
    eprintln!("screenshot {}", shot.display());

    // Export CSV; the file lands in the configured folder and matches the table on screen.
    let screen = screen_table(c).await?;
    click(c, "#export-csv").await?;
    let said = wait_text(c, "#export-result", "Saved").await?;
    eprintln!("export: {said}");
    let path = find(c, "#export-result").await?.attr("data-path").await.map_err(|e| e.to_string())?.ok_or("no data-path on #export-result")?;
    let path = PathBuf::from(path);
    let exports = exports.canonicalize().map_err(|e| format!("{}: {e}", exports.display()))?;
    if !path.starts_with(&exports) || path.extension().and_then(|e| e.to_str()) != Some("csv") {
        return Err(format!("the export went to {}, not a .csv in {}", path.display(), exports.display()));
    }
    let csv = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let file = parse_csv(&csv);
    if file.first() != Some(&screen.0) {
        return Err(format!("CSV header {:?} differs from the table's {:?}", file.first(), screen.0));
    }
    if file.len() - 1 != screen.1.len() {
        return Err(format!("CSV has {} rows, the screen {}", file.len() - 1, screen.1.len()));
    }
    for (i, (on_file, on_screen)) in file[1..].iter().zip(&screen.1).enumerate() {
        if on_file.len() != on_screen.len() || !on_file.iter().zip(on_screen).all(|(f, s)| same_value(f, s)) {
            return Err(format!("row {i}: CSV {on_file:?} vs screen {on_screen:?}"));
        }
    }
    let _ = std::fs::copy(&path, setup.out_dir.join("manager-low-stock.csv"));
    eprintln!("CSV {} matches the screen: {} columns, {} rows", path.display(), screen.0.len(), screen.1.len());

    // PDF too: a real PDF file beside the CSV.
    click(c, "#export-pdf").await?;
    let pdf = poll("a PDF export", WAIT, || async {
        let el = c.find(Locator::Css("#export-result")).await.map_err(|e| e.to_string())?;
        let path = el.attr("data-path").await.map_err(|e| e.to_string())?.unwrap_or_default();
        if path.ends_with(".pdf") { Ok(Some(PathBuf::from(path))) } else { Err(path) }
    })
    .await?;
    let head = std::fs::read(&pdf).map_err(|e| format!("{}: {e}", pdf.display()))?;
    if !head.starts_with(b"%PDF-") || !pdf.starts_with(&exports) {
        return Err(format!("{} is not a PDF in {}", pdf.display(), exports.display()));
    }
    eprintln!("PDF {} ({} bytes)", pdf.display(), head.len());

    // Discrepancies: the chart shows what is missing by aisle.
    click(c, "#report-discrepancies").await?;
    let title = wait_text(c, "#chart-title", "by aisle").await?;
    let (painted, total) = painted_pixels(c, "#report-chart").await?;
    eprintln!("{title}: {painted} of {total} pixels painted");
    c.execute("document.querySelector('#charts').scrollIntoView()", vec![]).await.map_err(|e| e.to_string())?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    screenshot_display(&setup.out_dir.join("manager-aisles.png"))?;

    // Back to the start (signs out), then the shopper's screen calls the backend directly.
    click(c, "#back").await?;
    find(c, "#screen-start").await?;
    click(c, "#role-shopper").await?;
    find(c, "#screen-mirror").await?;
    let session = invoke(c, "session", json!({})).await?;
    if session != json!({ "ok": null }) {
        return Err(format!("still signed in on the shopper screen: {session}"));
    }
    let answer = invoke(c, "run_report", json!({ "query": { "kind": "low-stock" } })).await?;
    eprintln!("shopper invoke('run_report'): {answer}");
    if answer.get("err").and_then(|e| e.get("code")).and_then(Value::as_str) != Some("not-signed-in") {
        return Err(format!("the backend did not refuse run_report from the shopper screen: {answer}"));
    }
    let export = invoke(c, "export_report", json!({ "query": { "kind": "stock" }, "format": "csv" })).await?;
    if export.get("err").is_none() {
        return Err(format!("the backend exported for a shopper: {export}"));
    }

    // A clerk signs in for the stock lookup; the backend refuses them a manager report.
    click(c, "#back").await?;
    click(c, "#role-clerk").await?;
    click(c, ".staff-choice[data-name=\"Demo Clerk\"]").await?;
    type_pin(c, "1357").await?;
    wait_text(c, "#session-name", "Demo Clerk").await?;
    let offered = c.find_all(Locator::Css(".report-choice")).await.map_err(|e| e.to_string())?.len();
    let answer = invoke(c, "run_report", json!({ "query": { "kind": "low-stock" } })).await?;
    eprintln!("clerk: {offered} report(s) offered; invoke('run_report', low-stock): {answer}");
    if offered != 1 || answer.get("err").and_then(|e| e.get("code")).and_then(Value::as_str) != Some("forbidden") {
        return Err(format!("a clerk got {offered} reports offered and low stock answered {answer}"));
    }
    others_also_bought(c, setup).await
}

/// The clerk looks up the oats: "Others also bought" lists what the kiosk suggests for them,
/// in its order, with its stock; honey first when there is honey (the demo receipts pair them).
async fn others_also_bought(c: &Client, setup: &Setup) -> Res {
    click(c, "#tab-stock").await?;
    c.execute(
        "const s = document.querySelector('#report-search'); s.value = arguments[0]; s.dispatchEvent(new Event('input'));",
        vec![json!("GR-OATS-1KG")],
    )
    .await
    .map_err(|e| e.to_string())?;
    let shown = poll("#also-bought for the oats", WAIT, || async {
        let v = c
            .execute(
                "const s = document.querySelector('#also-bought'); const t = document.querySelector('#also-bought-title');
                 return s && !s.hidden && t.textContent.includes('GR-OATS-1KG')
                   ? [...s.querySelectorAll('.also-item')].map((e) => [e.dataset.product, e.querySelector('.also-stock').textContent]) : null;",
                vec![],
            )
            .await
            .map_err(|e| e.to_string())?;
        if v.is_null() { Err("not shown".into()) } else { Ok(Some(v)) }
    })
    .await?;
    let asked = invoke(c, "others_also_bought", json!({ "sku": "GR-OATS-1KG", "limit": 4 })).await?;
    let suggested = asked["ok"].as_array().ok_or(format!("others_also_bought failed: {asked}"))?;
    eprintln!("others also bought with the oats: {shown}");
    let products: Vec<&Value> = shown.as_array().into_iter().flatten().map(|x| &x[0]).collect();
    let expected: Vec<&Value> = suggested.iter().map(|s| &s["product_code"]).collect();
    if products != expected {
        return Err(format!("the lookup shows {products:?}, the kiosk suggests {expected:?}"));
    }
    // One-size goods: the line is the one count.
    for (x, s) in shown.as_array().into_iter().flatten().zip(suggested) {
        if s["in_stock"].as_array().is_some_and(|a| a.len() == 1 && a[0]["size"].is_null()) && x[1] != json!(format!("In stock here: {}", s["in_stock"][0]["stock"])) {
            return Err(format!("{} shows {:?}, the kiosk has {}", x[0], x[1], s["in_stock"]));
        }
    }
    let honey = asked["ok"].as_array().into_iter().flatten().find(|s| s["product_code"] == "GR-HONEY-350");
    if honey.is_some() && shown[0][0] != "GR-HONEY-350" {
        return Err(format!("honey is in stock but {} comes first", shown[0][0]));
    }
    if shown.as_array().is_some_and(|a| a.iter().any(|x| x[0] == "GR-OATS-1KG")) {
        return Err("the oats suggested with themselves".into());
    }
    // Nothing widens the screen past the window (a wide table scrolls in its own box).
    let width = c.execute("return document.querySelector('#screen-clerk').scrollWidth - innerWidth", vec![]).await.map_err(|e| e.to_string())?;
    if width.as_i64().unwrap_or(0) > 1 {
        return Err(format!("the clerk's screen is {width} px wider than the window"));
    }
    c.execute("document.querySelector('#also-bought').scrollIntoView()", vec![]).await.map_err(|e| e.to_string())?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    screenshot_display(&setup.out_dir.join("clerk-also-bought.png"))?;
    Ok(())
}

/// Waits until the canvas has a chart on it: (painted, total) pixels, painted = not transparent.
async fn painted_pixels(c: &Client, canvas: &str) -> Res<(u64, u64)> {
    poll(&format!("{canvas} to be drawn"), WAIT, || async {
        let script = "const c = document.querySelector(arguments[0]);
            if (!c || c.width === 0 || c.height === 0) return null;
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let n = 0;
            for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) n++;
            return [n, c.width * c.height];";
        let v = c.execute(script, vec![json!(canvas)]).await.map_err(|e| e.to_string())?;
        match v.as_array().map(|a| (a[0].as_u64().unwrap_or(0), a[1].as_u64().unwrap_or(0))) {
            Some((n, total)) if n > 500 => Ok(Some((n, total))),
            other => Err(format!("{other:?}")),
        }
    })
    .await
}

/// `window.__TAURI_INTERNALS__.invoke` from the page: `{"ok": result}` or `{"err": rejection}`.
async fn invoke(c: &Client, command: &str, args: Value) -> Res<Value> {
    let script = "const done = arguments[arguments.length - 1];
        window.__TAURI_INTERNALS__.invoke(arguments[0], arguments[1])
            .then((r) => done({ ok: r === undefined ? null : r }), (e) => done({ err: e }));";
    c.execute_async(script, vec![json!(command), args]).await.map_err(|e| format!("invoke {command}: {e}"))
}

/// The header labels and every row's cell texts, as shown.
async fn screen_table(c: &Client) -> Res<(Vec<String>, Vec<Vec<String>>)> {
    let script = "const t = document.querySelector('#report-table');
        const cells = (tr, sel) => [...tr.querySelectorAll(sel)].map((x) => x.textContent);
        return [cells(t.tHead.rows[0], 'th'), [...t.tBodies[0].rows].map((r) => cells(r, 'td'))];";
    let v = c.execute(script, vec![]).await.map_err(|e| e.to_string())?;
    serde_json::from_value(v).map_err(|e| format!("table on screen: {e}"))
}

/// A CSV field and the screen's text of the same cell agree: equal text, an empty field for
/// "–", or the same number to the screen's precision ("12.50", "42.5 %", "3.0 d").
fn same_value(field: &str, shown: &str) -> bool {
    if field == shown || (field.is_empty() && shown == "–") {
        return true;
    }
    let number = shown.trim_end_matches(" %").trim_end_matches(" d");
    let (Ok(on_file), Ok(on_screen)) = (field.parse::<f64>(), number.parse::<f64>()) else { return false };
    let decimals = number.split_once('.').map_or(0, |(_, d)| d.len()) as i32;
    (on_file - on_screen).abs() <= 0.5 * 10f64.powi(-decimals) + 1e-9
}

/// RFC 4180: quoted fields with doubled quotes, CRLF or LF line ends.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let (mut record, mut field) = (Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(ch) = chars.next() {
        match (quoted, ch) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, _) => field.push(ch),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, _) => field.push(ch),
        }
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    records
}

#[test]
fn csv_and_screen_values_compare_as_the_screen_rounds() {
    assert_eq!(parse_csv("a,\"b, c\"\r\n1,\"say \"\"hi\"\"\"\r\n"), [vec!["a", "b, c"], vec!["1", "say \"hi\""]]);
    assert!(same_value("12.5", "12.50"));
    assert!(same_value("42.456", "42.5 %"));
    assert!(same_value("", "–"));
    assert!(same_value("TEE-1", "TEE-1"));
    assert!(!same_value("12.6", "12.50"));
    assert!(!same_value("TEE-1", "TEE-2"));
}

//! The clerk's shelf scan on the real kiosk, driven through WebDriver on an X display. There
//! is no camera (`camera:7`), so the screen says so and shows the demo shelf; the demo clerk
//! signs in, sees the detector's boxes over the live picture, scans the shelf at A5/B1/S3
//! against the demo planogram, reads the result (facings, the gap, tasks) and confirms; the
//! manager's discrepancy report then holds the counted numbers. Back on the shopper screen the
//! backend refuses the scan and preview commands. Runs only with `VITRINE_E2E=1`:
//!
//! ```text
//! cargo build -p vitrine-kiosk
//! VITRINE_E2E=1 xvfb-run -a -s "-screen 0 1280x800x24" cargo test -p vitrine-e2e --test clerk -- --test-threads=1
//! ```


use fantoccini::{Client, Locator};
use serde_json::{json, Value};
use vitrine_e2e::webdriver::{click, connect, find, poll, sign_in, text, wait_text, Res, WAIT};
use vitrine_e2e::{private_env, screenshot_display, setup_or_skip, Driver, Setup};

/// The demo accounts' published PINs (README: demo only).
const DEMO_CLERK_PIN: &str = "1357";
const DEMO_MANAGER_PIN: &str = "2468";
const SHELF: &str = "A5/B1/S3";

/// `window.__TAURI_INTERNALS__.invoke` from the page: `{"ok": result}` or `{"err": rejection}`.
async fn invoke(c: &Client, command: &str, args: Value) -> Res<Value> {
    let script = "const done = arguments[arguments.length - 1];
        window.__TAURI_INTERNALS__.invoke(arguments[0], arguments[1])
            .then((r) => done({ ok: r === undefined ? null : r }), (e) => done({ err: e }));";
    c.execute_async(script, vec![json!(command), args]).await.map_err(|e| format!("invoke {command}: {e}"))
}

async fn attr(c: &Client, css: &str, name: &str) -> Res<Option<String>> {
    let el = c.find(Locator::Css(css)).await.map_err(|e| format!("{css}: {e}"))?;
    el.attr(name).await.map_err(|e| format!("{css}[{name}]: {e}"))
}

/// Pixels of the canvas that are not black: the picture was drawn.
async fn lit_pixels(c: &Client, canvas: &str) -> Res<u64> {
    let script = "const c = document.querySelector(arguments[0]);
        if (!c || c.width === 0 || c.height === 0) return 0;
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i + 3] !== 0 && d[i] + d[i + 1] + d[i + 2] > 60) n++;
        return n;";
    let v = c.execute(script, vec![json!(canvas)]).await.map_err(|e| e.to_string())?;
    Ok(v.as_u64().unwrap_or(0))
}

/// "7 × GR-OATS-1KG at A5/B1/S3" items → (sku, facings). By words, not lines: WebKit may
/// return the list's items on one line, depending on how the list is laid out.
fn parse_counts(text: &str) -> Vec<(String, i64)> {
    let words: Vec<&str> = text.split_whitespace().collect();
    words
        .windows(3)
        .filter(|w| w[1] == "×")
        .filter_map(|w| Some((w[2].to_owned(), w[0].parse().ok()?)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clerk_scans_the_demo_shelf_confirms_and_the_manager_sees_the_counts() {
    let Some(setup) = setup_or_skip("clerk_scans_the_demo_shelf_confirms_and_the_manager_sees_the_counts") else { return };
    // No camera: the clerk screen falls back to the demo shelf and says so.
    let setup = &setup;
    with_clerk_kiosk(setup, "clerk", "camera:7", |c| async move {
        let result = clerk_flow(&c, setup).await;
        (c, result)
    })
    .await;
}

/// Runs `flow` against a fresh kiosk on `source`, with its own HOME and database; always
/// closes the session and ends the processes, and puts the kiosk's log into any failure.
async fn with_clerk_kiosk<F, Fut>(setup: &Setup, name: &str, source: &str, flow: F)
where
    F: FnOnce(Client) -> Fut,
    Fut: std::future::Future<Output = (Client, Res)>,
{
    let home = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let env = private_env(home.path());
    let config = home.path().join("vitrine.toml");
    std::fs::write(&config, format!("[store]\ndatabase = {:?}\n", data.path().join("e2e.db").display().to_string())).unwrap();
    let args = setup.kiosk_args(source, &config, None);
    let mut driver = Driver::start(setup, &env, setup.out_dir.join(format!("{name}.log")));
    let client = match connect(&driver, setup, &args).await {
        Ok(c) => c,
        Err(e) => panic!("{e}\n{}", driver.log_tail(6000)),
    };
    let (client, result) = flow(client).await;
    let _ = client.close().await;
    driver.stop();
    if let Err(e) = result {
        panic!("{name}: {e}\n{}", driver.log_tail(8000));
    }
}

/// Pointed at a person instead of a shelf (a real clip: a woman squatting in front of
/// scaffolding), the live preview draws no boxes and tells the clerk to point it at a shelf.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_instead_of_a_shelf_draws_no_boxes() {
    let Some(setup) = setup_or_skip("a_person_instead_of_a_shelf_draws_no_boxes") else { return };
    let Ok(clip) = setup.root.join("../shared/data/media/videos/tfjs_pose_squats_pexels-4838220.mp4").canonicalize() else {
        return eprintln!("skipping: the shared squats clip is missing");
    };
    let setup = &setup;
    with_clerk_kiosk(setup, "clerk-person", &format!("video:{}", clip.display()), |c| async move {
        let result = person_flow(&c, setup).await;
        (c, result)
    })
    .await;
}

async fn person_flow(c: &Client, setup: &Setup) -> Res {
    find(c, "#screen-start").await?;
    sign_in(c, "#role-clerk", "Demo Clerk", DEMO_CLERK_PIN).await?;
    find(c, "#shelf-scan-view").await?;
    // The clip's frames are drawn (not the demo shelf) and the detector has run on them.
    let said = poll("the clip's frames with a detector readout", WAIT * 4, || async {
        let lit = lit_pixels(c, "#shelf-live").await?;
        let found = text(c, "#shelf-found").await?;
        let source = text(c, "#shelf-source").await?;
        if lit > 10_000 && found.contains(" ms") && !source.contains("demo shelf") { Ok(Some(found)) } else { Err(format!("{lit} lit pixels; {found:?}; {source:?}")) }
    })
    .await?;
    // Several frames in a row: none draws a box.
    for _ in 0..8 {
        let n: u64 = attr(c, "#shelf-live", "data-boxes").await?.and_then(|v| v.parse().ok()).unwrap_or(0);
        let found = text(c, "#shelf-found").await?;
        if n != 0 || !found.contains("No shelf in view") {
            screenshot_display(&setup.out_dir.join("clerk-person.png"))?;
            return Err(format!("{n} boxes drawn over a person; the screen says {found:?}"));
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    eprintln!("live over a person: {said}");
    screenshot_display(&setup.out_dir.join("clerk-person.png"))?;
    Ok(())
}

async fn clerk_flow(c: &Client, setup: &Setup) -> Res {
    find(c, "#screen-start").await?;
    sign_in(c, "#role-clerk", "Demo Clerk", DEMO_CLERK_PIN).await?;
    find(c, "#shelf-scan-view").await?;

    // No camera: the screen says so and shows the demo shelf, with the detector's boxes.
    let said = wait_text(c, "#shelf-source", "demo shelf").await?;
    eprintln!("source: {said}");
    let boxes = poll("boxes over the live picture", WAIT * 4, || async {
        let n: u64 = attr(c, "#shelf-live", "data-boxes").await?.and_then(|v| v.parse().ok()).unwrap_or(0);
        let lit = lit_pixels(c, "#shelf-live").await?;
        if n >= 10 && lit > 10_000 { Ok(Some((n, lit))) } else { Err(format!("{n} boxes, {lit} lit pixels; {}", text(c, "#shelf-found").await.unwrap_or_default())) }
    })
    .await?;
    eprintln!("live: {} boxes, {} lit pixels; {}", boxes.0, boxes.1, text(c, "#shelf-found").await?);
    screenshot_display(&setup.out_dir.join("clerk-live.png"))?;

    // Scan at the demo shelf's location, against its planogram.
    c.execute(
        "const s = document.querySelector('#shelf-location'); s.value = arguments[0]; s.dispatchEvent(new Event('change'));
         document.querySelector('#shelf-planogram').checked = true; return s.value;",
        vec![json!(SHELF)],
    )
    .await
    .map_err(|e| e.to_string())?;
    poll("the location picker to offer A5/B1/S3", WAIT, || async {
        let v = c.execute("const s = document.querySelector('#shelf-location'); s.value = arguments[0]; return s.value;", vec![json!(SHELF)]).await.map_err(|e| e.to_string())?;
        if v == json!(SHELF) { Ok(Some(())) } else { Err(format!("{v}")) }
    })
    .await?;
    click(c, "#shelf-scan").await?;
    let headline = poll("the scan result", WAIT * 4, || async {
        match c.find(Locator::Css("#shelf-headline")).await {
            Ok(el) => Ok(Some(el.text().await.map_err(|e| e.to_string())?)),
            // The message's own text (WebDriver's is empty when it is hidden) and the screen.
            Err(_) => Err(c
                .execute(
                    "const m = document.querySelector('#shelf-message'); const s = document.querySelector('.screen');
                     return `message ${m ? JSON.stringify(m.textContent) : 'gone'}, screen ${s ? s.id : 'none'}`;",
                    vec![],
                )
                .await
                .map(|v| v.as_str().unwrap_or_default().to_owned())
                .unwrap_or_else(|e| e.to_string())),
        }
    })
    .await?;
    eprintln!("result: {headline}");
    let facings = text(c, "#shelf-facings").await?;
    for sku in ["GR-OATS-1KG", "GR-HONEY-350", "GR-ESPR-250"] {
        if !facings.contains(sku) {
            return Err(format!("{sku} not among the facings:\n{facings}"));
        }
    }
    let gaps = text(c, "#shelf-gaps").await?;
    let prices = text(c, "#shelf-prices").await?;
    let plan = text(c, "#shelf-planogram-diff").await?;
    let tasks = text(c, "#shelf-tasks").await?;
    eprintln!("gaps:\n{gaps}\nprices:\n{prices}\nplanogram:\n{plan}\ntasks:\n{tasks}");
    // Every item's own text: WebDriver's text of the list gives only what is on screen.
    let items = c
        .execute("return [...document.querySelectorAll('#shelf-counts li')].map((li) => li.textContent).join('\\n');", vec![])
        .await
        .map_err(|e| e.to_string())?;
    let counts = parse_counts(items.as_str().unwrap_or_default());
    if counts.is_empty() {
        return Err("the result offers no counts to write".into());
    }
    poll("the annotated picture", WAIT, || async {
        let lit = lit_pixels(c, "#shelf-annotated").await?;
        if lit > 10_000 { Ok(Some(())) } else { Err(format!("{lit} lit pixels")) }
    })
    .await?;
    screenshot_display(&setup.out_dir.join("clerk-result.png"))?;

    // Confirm: the counts go to the ledger as observations.
    click(c, "#shelf-confirm").await?;
    let written = wait_text(c, "#shelf-written", "written to the inventory").await?;
    eprintln!("confirmed: {written}");
    if attr(c, "#shelf-written", "data-recorded").await?.as_deref() != Some(&counts.len().to_string()) {
        return Err(format!("{} counts offered, confirmation says {written:?}", counts.len()));
    }

    // The manager's discrepancy report holds what the clerk counted.
    click(c, "#back").await?;
    sign_in(c, "#role-manager", "Demo Manager", DEMO_MANAGER_PIN).await?;
    click(c, "#report-discrepancies").await?;
    wait_text(c, "#report-table", "GR-ESPR-250").await?;
    let answer = invoke(c, "run_report", json!({ "query": { "kind": "discrepancies", "location": SHELF } })).await?;
    let table = answer.get("ok").ok_or_else(|| format!("discrepancies refused: {answer}"))?;
    let col = |key: &str| table["columns"].as_array().and_then(|cols| cols.iter().position(|c| c["key"] == key));
    let (sku_at, counted_at) = (col("sku").ok_or("no sku column")?, col("counted").ok_or("no counted column")?);
    let rows = table["rows"].as_array().cloned().unwrap_or_default();
    for (sku, n) in &counts {
        let row = rows.iter().find(|r| r[sku_at] == json!(sku));
        // A count equal to book stock is no discrepancy and has no row.
        if let Some(row) = row {
            if row[counted_at] != json!(n) {
                return Err(format!("{sku}: counted {n} on the shelf, the report says {}", row[counted_at]));
            }
        }
    }
    if !rows.iter().any(|r| r[sku_at] == json!("GR-ESPR-250")) {
        return Err(format!("espresso (none booked at {SHELF}) counted but not reported: {rows:?}"));
    }
    eprintln!("discrepancies at {SHELF}: {} rows, counts {counts:?}", rows.len());

    // A shopper cannot scan or see the shelf camera.
    click(c, "#back").await?;
    click(c, "#role-shopper").await?;
    find(c, "#screen-mirror").await?;
    for (command, args) in [
        ("shelf_scan", json!({ "location": SHELF, "demoPlanogram": false })),
        ("shelf_preview_frame", json!({ "after": 0 })),
        ("shelf_preview_start", json!({})),
        ("shelf_confirm", json!({ "scanId": "x" })),
    ] {
        let answer = invoke(c, command, args).await?;
        eprintln!("shopper invoke('{command}'): {answer}");
        if answer.get("err").and_then(|e| e.get("code")).and_then(Value::as_str) != Some("not-signed-in") {
            return Err(format!("the backend did not refuse {command} from the shopper screen: {answer}"));
        }
    }
    Ok(())
}

#[test]
fn count_lines_parse() {
    assert_eq!(parse_counts("7 × GR-OATS-1KG at A5/B1/S3\n5 × GR-ESPR-250 at A5/B1/S3"), [("GR-OATS-1KG".to_owned(), 7), ("GR-ESPR-250".to_owned(), 5)]);
    assert!(parse_counts("Nothing to write").is_empty());
    assert_eq!(parse_counts("1 × GR-OATS-1KG at A5/B1/S3 5 × GR-ESPR-250 at A5/B1/S3").len(), 2, "items on one line");
}

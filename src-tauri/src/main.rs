//! `vitrine-kiosk`: the Tauri shell around [`vitrine_app::App`]. It only adapts — commands,
//! state, the window and the `vitrine://` frame protocol; everything else lives in
//! `vitrine-app`, which the headless `vitrine` CLI shares.

// No console window behind the kiosk on Windows release builds.
#![cfg_attr(all(not(debug_assertions), target_os = "windows"), windows_subsystem = "windows")]

mod commands;
mod frames;

use std::sync::{Arc, Mutex};
use std::time::Instant;

use clap::Parser;
use tauri::{Manager, RunEvent, WebviewUrl, WebviewWindowBuilder};
use tracing::{error, info, warn};
use vitrine_app::{App, Overrides};

/// The label of the one window; capabilities/default.json grants it `core:default`.
const MAIN_WINDOW: &str = "main";

/// Staff quit shortcut, Ctrl+Shift+Q, installed into the page before its own scripts run.
const QUIT_SHORTCUT_JS: &str = r#"
window.addEventListener("keydown", function (e) {
  if (e.ctrlKey && e.shiftKey && !e.altKey && !e.metaKey && (e.code === "KeyQ" || e.key === "Q" || e.key === "q")) {
    e.preventDefault();
    e.stopPropagation();
    var t = window.__TAURI_INTERNALS__;
    if (t && t.invoke) t.invoke("quit");
  }
}, true);
"#;

#[derive(Debug, Parser)]
#[command(name = "vitrine-kiosk", version, about = "Vitrine kiosk: smart mirror, shelf scan and stock reports on one screen.")]
struct Cli {
    #[command(flatten)]
    overrides: Overrides,
    /// A normal window with decorations instead of full-screen (development).
    #[arg(long)]
    windowed: bool,
    /// Added by WebKitWebDriver when it launches the kiosk for end-to-end tests; ignored.
    #[arg(long, hide = true)]
    automation: bool,
}

fn main() {
    // The kiosk runs as a service: what it does goes to the journal.
    vitrine_app::init_logging("info");
    let cli = Cli::parse();
    let mut config = match cli.overrides.load() {
        Ok(config) => config,
        Err(e) => {
            error!(error = %e, "cannot load the configuration");
            eprintln!("vitrine-kiosk: {e}");
            std::process::exit(2);
        }
    };
    if cli.windowed {
        config.window.fullscreen = false;
        config.window.decorations = true;
    }
    let window = config.window.clone();
    info!(source = %config.camera.source, fullscreen = window.fullscreen, "starting the kiosk");
    let app = Arc::new(App::start(config));

    let notifier = Arc::new(vitrine_service::Notifier::from_env());
    // Only this process speaks for the service; the WebView's helper processes must not.
    std::env::remove_var("NOTIFY_SOCKET");
    let watchdog_slot: Arc<Mutex<Option<vitrine_service::WatchdogHandle>>> = Arc::default();
    let watchdog_app = app.clone();
    let exit_notifier = notifier.clone();
    let exit_watchdog = watchdog_slot.clone();
    let protocol_app = app.clone();
    let tauri_app = tauri::Builder::default()
        .manage(app.clone())
        // The kiosk's one staff session; commands check its role, the page never says it.
        .manage(Arc::new(app.session_slot()))
        .manage(Arc::new(commands::ShelfPreview::default()))
        // The shopper's captured look, in memory until they answer "Save this look?".
        .manage(Arc::new(commands::LookSlot::default()))
        .register_asynchronous_uri_scheme_protocol("vitrine", move |_ctx, request, responder| {
            // The long poll blocks for up to a second: never on the main (UI) thread.
            let app = protocol_app.clone();
            tauri::async_runtime::spawn_blocking(move || {
                responder.respond(frames::respond(&app, &request, frames::LONG_POLL));
            });
        })
        .invoke_handler(tauri::generate_handler![
            commands::get_status,
            commands::start_mirror,
            commands::stop_mirror,
            commands::set_background_mode,
            commands::quit,
            commands::staff_for_sign_in,
            commands::sign_in,
            commands::sign_out,
            commands::system_checks,
            commands::session,
            commands::run_report,
            commands::export_report,
            commands::stock_history,
            commands::forecast_chart,
            commands::discrepancy_by_aisle,
            commands::shelf_preview_start,
            commands::shelf_preview_stop,
            commands::shelf_preview_source,
            commands::shelf_preview_frame,
            commands::shelf_locations,
            commands::shelf_scan,
            commands::shelf_scan_image,
            commands::shelf_confirm,
            commands::shelf_discard,
            commands::list_garments,
            commands::select_garment,
            commands::capture_look,
            commands::save_look,
            commands::reset_tryon,
            commands::complete_the_look,
            commands::others_also_bought,
            commands::signage_suggestions,
            commands::decide_poster,
            commands::signage_settings,
            commands::attract_posters,
            commands::ask,
            commands::end_assistant_session,
            commands::submit_feedback,
            commands::feedback_trend,
            commands::listen_start,
            commands::listen_stop,
            commands::speak,
        ])
        .setup(move |handle| {
            let mut builder = WebviewWindowBuilder::new(handle, MAIN_WINDOW, WebviewUrl::default())
                .title("Vitrine")
                .fullscreen(window.fullscreen)
                .decorations(window.decorations)
                .focused(true)
                .initialization_script(QUIT_SHORTCUT_JS);
            if !window.fullscreen {
                builder = builder.inner_size(f64::from(window.width), f64::from(window.height));
            } else if let Ok(Some(monitor)) = handle.primary_monitor() {
                // Without a window manager (a bare X session) nobody honours the full-screen
                // request: start out covering the whole monitor anyway.
                let scale = monitor.scale_factor();
                let (size, pos) = (monitor.size(), monitor.position());
                builder = builder
                    .inner_size(f64::from(size.width) / scale, f64::from(size.height) / scale)
                    .position(f64::from(pos.x) / scale, f64::from(pos.y) / scale);
            }
            builder.build()?;
            notifier.ready();
            notifier.status("the kiosk window is up");
            *watchdog_slot.lock().unwrap_or_else(|e| e.into_inner()) = start_watchdog(notifier.clone(), watchdog_app.clone(), handle.handle().clone());
            Ok(())
        })
        .build(tauri::generate_context!());

    let tauri_app = match tauri_app {
        Ok(a) => a,
        Err(e) => {
            error!(error = %e, "cannot start the kiosk window");
            eprintln!("vitrine-kiosk: {e}");
            std::process::exit(1);
        }
    };
    tauri_app.run(move |handle, event| {
        if let RunEvent::Exit = event {
            exit_notifier.stopping();
            drop(exit_watchdog.lock().unwrap_or_else(|e| e.into_inner()).take());
            // Stop capture and forget the last frame before the process goes.
            match handle.try_state::<Arc<App>>() {
                Some(app) => app.stop_mirror(),
                None => warn!("no app state at exit"),
            }
            if let Some(preview) = handle.try_state::<Arc<commands::ShelfPreview>>() {
                preview.stop();
            }
            if let Some(looks) = handle.try_state::<Arc<commands::LookSlot>>() {
                drop(looks.take());
            }
            info!("kiosk closed");
        }
    });
}

/// Under systemd with `WatchdogSec=`: feeds the watchdog while the mirror pipeline moves and
/// the window's main loop answers, so a hang restarts the kiosk like a crash does.
fn start_watchdog(
    notifier: Arc<vitrine_service::Notifier>,
    app: Arc<App>,
    handle: tauri::AppHandle,
) -> Option<vitrine_service::WatchdogHandle> {
    let limit = notifier.watchdog()?.max(std::time::Duration::from_secs(4)) / 2;
    // A task posted to the main loop and not yet run, since when.
    let posted: Arc<Mutex<Option<Instant>>> = Arc::default();
    let started = vitrine_service::spawn_watchdog(notifier, move || {
        app.pipeline_alive(limit)?;
        let mut pending = posted.lock().unwrap_or_else(|e| e.into_inner());
        match *pending {
            Some(since) if since.elapsed() > limit => {
                return Err(format!("the window's main loop has not answered for {:.0} s", since.elapsed().as_secs_f64()));
            }
            Some(_) => {}
            None => {
                *pending = Some(Instant::now());
                let answered = posted.clone();
                let _ = handle.run_on_main_thread(move || *answered.lock().unwrap_or_else(|e| e.into_inner()) = None);
            }
        }
        Ok(())
    });
    if started.is_some() {
        info!(limit_s = limit.as_secs_f64(), "systemd watchdog fed while the pipeline and window are alive");
    }
    started
}

//! The page's commands. Each runs on a blocking worker, never on the main thread: starting
//! and stopping the mirror joins threads, and status reads the store.

use std::sync::Arc;

use tauri::{AppHandle, State};
use tracing::info;
use vitrine_app::{App, KioskStatus};
use vitrine_config::BackgroundMode;

type Shared<'a> = State<'a, Arc<App>>;

async fn blocking<T: Send + 'static>(job: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
    tauri::async_runtime::spawn_blocking(job).await.map_err(|e| format!("internal error: {e}"))
}

#[tauri::command]
pub async fn get_status(app: Shared<'_>) -> Result<KioskStatus, String> {
    let app = app.inner().clone();
    blocking(move || app.status()).await
}

#[tauri::command]
pub async fn start_mirror(app: Shared<'_>) -> Result<(), String> {
    let app = app.inner().clone();
    blocking(move || app.start_mirror().map_err(|e| e.to_string())).await?
}

#[tauri::command]
pub async fn stop_mirror(app: Shared<'_>) -> Result<(), String> {
    let app = app.inner().clone();
    blocking(move || app.stop_mirror()).await
}

#[tauri::command]
pub async fn set_background_mode(app: Shared<'_>, mode: String) -> Result<(), String> {
    let mode: BackgroundMode = mode.parse()?;
    let app = app.inner().clone();
    blocking(move || app.set_background(mode)).await
}

/// Staff quit (Ctrl+Shift+Q): stops the mirror, then closes the kiosk.
#[tauri::command]
pub async fn quit(handle: AppHandle, app: Shared<'_>) -> Result<(), String> {
    info!("quit requested from the page");
    let app = app.inner().clone();
    blocking(move || app.stop_mirror()).await?;
    handle.exit(0);
    Ok(())
}

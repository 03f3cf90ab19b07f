//! The page's commands. Each runs on a blocking worker, never on the main thread: starting
//! and stopping the mirror joins threads, and status, sign-in and reports read the store.
//!
//! Staff commands only adapt: the session is the [`SessionSlot`] in the shell's state, and
//! `vitrine-app` checks its role on every call. Nothing the page sends says who is signed in.

use std::sync::{Arc, Mutex};

use serde::Serialize;
use tauri::{AppHandle, State};
use tracing::info;
use vitrine_app::{
    AisleDiscrepancy, App, AskReply, AttractPoster, FeedbackInput, FeedbackReceipt, SpokenReply, CommandError, PosterFormat, PosterSuggestion, GarmentChoice, Look, TryOnPrompt, ConfirmedScan, Detection, ExportFormat, ExportedFile, ForecastChart, KioskStatus, LiveSource, LiveView,
    ReportQuery, ReportTable, Role, Series, Session, SessionSlot, ShelfLive, ShelfLocation, ShelfReport, StaffMember, SuggestRequest, Suggestion,
};
use vitrine_config::BackgroundMode;

type Shared<'a> = State<'a, Arc<App>>;
type Slot<'a> = State<'a, Arc<SessionSlot>>;
/// The clerk screen's live shelf preview (one per kiosk).
pub type ShelfPreview = ShelfLive<Detection>;
type Preview<'a> = State<'a, Arc<ShelfPreview>>;

async fn blocking<T: Send + 'static>(job: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
    tauri::async_runtime::spawn_blocking(job).await.map_err(|e| format!("internal error: {e}"))
}

/// A staff command on a blocking worker, with the app and the session slot.
async fn staff_job<T: Send + 'static>(
    app: &Shared<'_>,
    slot: &Slot<'_>,
    job: impl FnOnce(&App, &SessionSlot) -> Result<T, vitrine_app::AppError> + Send + 'static,
) -> Result<T, CommandError> {
    let (app, slot) = (app.inner().clone(), slot.inner().clone());
    let joined = tauri::async_runtime::spawn_blocking(move || job(&app, &slot).map_err(CommandError::from)).await;
    joined.unwrap_or_else(|e| Err(CommandError { code: "error", message: format!("internal error: {e}"), tries_left: None, locked_ms: None }))
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

/// Who may sign in on the clerk's or the manager's screen (names for the PIN pad).
#[tauri::command]
pub async fn staff_for_sign_in(app: Shared<'_>, slot: Slot<'_>, role: String) -> Result<Vec<StaffMember>, CommandError> {
    staff_job(&app, &slot, move |app, _| app.staff_for_sign_in(role.parse::<Role>()?)).await
}

#[tauri::command]
pub async fn sign_in(app: Shared<'_>, slot: Slot<'_>, name: String, pin: String) -> Result<Session, CommandError> {
    staff_job(&app, &slot, move |app, slot| app.sign_in(slot, &name, &pin)).await
}

/// The staff status page's checks (signed-in staff only).
#[tauri::command]
pub async fn system_checks(app: Shared<'_>, slot: Slot<'_>) -> Result<vitrine_doctor::Report, CommandError> {
    staff_job(&app, &slot, |app, slot| app.system_checks(slot)).await
}

#[tauri::command]
pub async fn sign_out(app: Shared<'_>, slot: Slot<'_>) -> Result<(), CommandError> {
    staff_job(&app, &slot, |app, slot| {
        if let Some(session) = app.sign_out(slot) {
            info!(staff = %session.staff, "signed out");
        }
        Ok(())
    })
    .await
}

#[tauri::command]
pub async fn session(app: Shared<'_>, slot: Slot<'_>) -> Result<Option<Session>, CommandError> {
    staff_job(&app, &slot, |app, slot| Ok(app.session(slot))).await
}

#[tauri::command]
pub async fn run_report(app: Shared<'_>, slot: Slot<'_>, query: ReportQuery) -> Result<ReportTable, CommandError> {
    staff_job(&app, &slot, move |app, slot| app.run_report(slot, &query)).await
}

#[tauri::command]
pub async fn export_report(app: Shared<'_>, slot: Slot<'_>, query: ReportQuery, format: String) -> Result<ExportedFile, CommandError> {
    staff_job(&app, &slot, move |app, slot| app.export_report(slot, &query, format.parse::<ExportFormat>()?)).await
}

#[tauri::command]
pub async fn stock_history(app: Shared<'_>, slot: Slot<'_>, sku: String, location: Option<String>, days: u32) -> Result<Series, CommandError> {
    staff_job(&app, &slot, move |app, slot| app.stock_history(slot, &sku, location.as_deref(), days)).await
}

#[tauri::command]
pub async fn forecast_chart(app: Shared<'_>, slot: Slot<'_>, sku: String, horizon_days: u32) -> Result<ForecastChart, CommandError> {
    staff_job(&app, &slot, move |app, slot| app.forecast_chart(slot, &sku, horizon_days)).await
}

#[tauri::command]
pub async fn discrepancy_by_aisle(app: Shared<'_>, slot: Slot<'_>) -> Result<Vec<AisleDiscrepancy>, CommandError> {
    staff_job(&app, &slot, |app, slot| app.discrepancy_by_aisle(slot)).await
}

// ───────────── clerk: shelf scan (vitrine-app checks the role on each call) ─────────────

/// How long one preview request waits for a newer frame.
const PREVIEW_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

#[tauri::command]
pub async fn shelf_preview_start(app: Shared<'_>, slot: Slot<'_>, preview: Preview<'_>) -> Result<LiveSource, CommandError> {
    let (detector, preview) = (app.inner().clone(), preview.inner().clone());
    staff_job(&app, &slot, move |app, slot| {
        app.start_shelf_preview(slot, &preview, move |frame| detector.detect_shelf(frame).map_err(|e| e.to_string()))
    })
    .await
}

/// Stops the preview and forgets its picture (anyone may: leaving the screen does).
#[tauri::command]
pub async fn shelf_preview_stop(preview: Preview<'_>) -> Result<(), String> {
    let preview = preview.inner().clone();
    blocking(move || preview.stop()).await
}

#[tauri::command]
pub async fn shelf_preview_source(preview: Preview<'_>) -> Result<LiveSource, String> {
    Ok(preview.source())
}

#[tauri::command]
pub async fn shelf_preview_frame(app: Shared<'_>, slot: Slot<'_>, preview: Preview<'_>, after: u64) -> Result<Option<LiveView<Detection>>, CommandError> {
    let preview = preview.inner().clone();
    staff_job(&app, &slot, move |app, slot| app.shelf_preview_view(slot, &preview, after, PREVIEW_WAIT)).await
}

#[tauri::command]
pub async fn shelf_locations(app: Shared<'_>, slot: Slot<'_>) -> Result<Vec<ShelfLocation>, CommandError> {
    staff_job(&app, &slot, |app, slot| app.shelf_locations(slot)).await
}

#[tauri::command]
pub async fn shelf_scan(app: Shared<'_>, slot: Slot<'_>, preview: Preview<'_>, location: Option<String>, demo_planogram: bool) -> Result<ShelfReport, CommandError> {
    let preview = preview.inner().clone();
    staff_job(&app, &slot, move |app, slot| app.scan_live_frame(slot, &preview, location.as_deref(), demo_planogram)).await
}

/// The scan's annotated picture, as base64 JPEG for an `<img>` data URL.
#[tauri::command]
pub async fn shelf_scan_image(app: Shared<'_>, slot: Slot<'_>, scan_id: String) -> Result<String, CommandError> {
    staff_job(&app, &slot, move |app, slot| Ok(vitrine_app::to_base64(&app.shelf_scan_jpeg(slot, &scan_id, 0)?))).await
}

#[tauri::command]
pub async fn shelf_confirm(app: Shared<'_>, slot: Slot<'_>, scan_id: String) -> Result<ConfirmedScan, CommandError> {
    staff_job(&app, &slot, move |app, slot| app.confirm_shelf_scan(slot, &scan_id)).await
}

#[tauri::command]
pub async fn shelf_discard(app: Shared<'_>, slot: Slot<'_>, scan_id: String) -> Result<bool, CommandError> {
    staff_job(&app, &slot, move |app, slot| app.discard_shelf_scan(slot, &scan_id)).await
}

// ───────────── shopper: try-on (no staff role: these are the shopper's own) ─────────────

/// The look on screen, only in memory: kept until the shopper answers "Save this look?",
/// captures again, or the try-on is reset (button, idle time-out, leaving the mirror).
#[derive(Default)]
pub struct LookSlot(Mutex<Option<(String, Look)>>);

impl LookSlot {
    fn put(&self, sku: String, look: Look) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some((sku, look));
    }

    pub fn take(&self) -> Option<(String, Look)> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

type Looks<'a> = State<'a, Arc<LookSlot>>;

/// The capture for the page: JPEGs as base64 for `<img>` data URLs.
#[derive(Debug, Serialize)]
pub struct CapturedLook {
    sku: String,
    plain_jpeg_base64: String,
    refined_jpeg_base64: Option<String>,
    prompt: Option<TryOnPrompt>,
    prompt_message: Option<&'static str>,
    plain_ms: f64,
    refined_ms: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct SavedLook {
    file_name: String,
    path: String,
    bytes: u64,
}

#[tauri::command]
pub async fn list_garments(app: Shared<'_>) -> Result<Vec<GarmentChoice>, String> {
    let app = app.inner().clone();
    blocking(move || app.garments().map_err(|e| e.to_string())).await?
}

/// Shows `sku`'s garment in the mirror (`null`: none).
#[tauri::command]
pub async fn select_garment(app: Shared<'_>, sku: Option<String>) -> Result<(), String> {
    let app = app.inner().clone();
    blocking(move || app.set_garment(sku.as_deref()).map_err(|e| e.to_string())).await?
}

/// A full-quality still of the shopper in the selected garment (plain composite and GAN
/// refinement), kept in memory for the save question; a new capture replaces the last.
#[tauri::command]
pub async fn capture_look(app: Shared<'_>, looks: Looks<'_>) -> Result<CapturedLook, String> {
    let (app, looks) = (app.inner().clone(), looks.inner().clone());
    blocking(move || {
        let sku = app.selected_garment().ok_or("no garment selected")?;
        let look = app.capture_look().map_err(|e| e.to_string())?;
        let view = CapturedLook {
            sku: sku.clone(),
            plain_jpeg_base64: vitrine_app::to_base64(&look.plain_jpeg),
            refined_jpeg_base64: look.refined_jpeg.as_deref().map(vitrine_app::to_base64),
            prompt: look.prompt,
            prompt_message: look.prompt.map(TryOnPrompt::message),
            plain_ms: look.plain_ms,
            refined_ms: look.refined_ms,
        };
        info!(sku = %sku, plain_ms = look.plain_ms, refined_ms = ?look.refined_ms, "look captured (in memory)");
        looks.put(sku, look);
        Ok(view)
    })
    .await?
}

/// The shopper's answer to "Save this look?": only `consent: true` writes the look (to the
/// looks folder); either answer forgets it here. `null` when no look is waiting.
#[tauri::command]
pub async fn save_look(app: Shared<'_>, looks: Looks<'_>, consent: bool) -> Result<Option<SavedLook>, String> {
    let (app, looks) = (app.inner().clone(), looks.inner().clone());
    blocking(move || {
        let Some((sku, look)) = looks.take() else { return Ok(None) };
        if !consent {
            info!("look not saved: the shopper said no");
            return Ok(None);
        }
        let path = app.save_look(&sku, &look).map_err(|e| e.to_string())?;
        let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        Ok(Some(SavedLook { file_name, path: path.display().to_string(), bytes }))
    })
    .await?
}

/// Ends the shopper's try-on: no garment, the captured look and what was tried forgotten.
#[tauri::command]
pub async fn reset_tryon(app: Shared<'_>, looks: Looks<'_>) -> Result<(), String> {
    let (app, looks) = (app.inner().clone(), looks.inner().clone());
    blocking(move || {
        drop(looks.take());
        app.end_tryon_session().map_err(|e| e.to_string())
    })
    .await?
}

/// "Others also bought": what the store's receipts pair with `sku`, in stock here.
#[tauri::command]
pub async fn others_also_bought(app: Shared<'_>, sku: String, limit: usize) -> Result<Vec<Suggestion>, String> {
    let app = app.inner().clone();
    blocking(move || app.suggestions(&SuggestRequest { skus: vec![sku], categories: Vec::new(), limit: limit.clamp(1, 12) }).map_err(|e| e.to_string())).await?
}

/// "Complete the look": products that go with what the session tried, in stock here.
#[tauri::command]
pub async fn complete_the_look(app: Shared<'_>, limit: usize) -> Result<Vec<Suggestion>, String> {
    let app = app.inner().clone();
    blocking(move || app.complete_the_look(limit.clamp(1, 12)).map_err(|e| e.to_string())).await?
}

/// The manager's Signage screen: suggested posters in every design, with why and previews.
#[tauri::command]
pub async fn signage_suggestions(app: Shared<'_>, slot: Slot<'_>, limit: usize) -> Result<Vec<PosterSuggestion>, CommandError> {
    staff_job(&app, &slot, move |app, slot| app.signage_suggestions(slot, limit.clamp(1, 12))).await
}

/// Approves a poster to play for `days` from `start_in_days` on, or rejects it.
#[tauri::command]
pub async fn decide_poster(app: Shared<'_>, slot: Slot<'_>, sku: String, design: String, approve: bool, start_in_days: u32, days: u32) -> Result<(), CommandError> {
    staff_job(&app, &slot, move |app, slot| app.decide_poster(slot, &sku, &design, approve, start_in_days, days)).await
}

#[derive(Debug, Serialize)]
pub struct SignageSettings {
    attract_after_secs: u64,
    poster_secs: u64,
}

/// When the start screen starts its attract loop, and how long each poster shows.
#[tauri::command]
pub fn signage_settings(app: Shared<'_>) -> SignageSettings {
    let s = &app.config.signage;
    SignageSettings { attract_after_secs: s.attract_after_secs, poster_secs: s.poster_secs.max(1) }
}

/// The approved posters for the attract loop, in the screen's orientation (`landscape` or
/// `portrait`), each with its facts checked against the database now.
#[tauri::command]
pub async fn attract_posters(app: Shared<'_>, orientation: String) -> Result<Vec<AttractPoster>, String> {
    let app = app.inner().clone();
    let format = if orientation == "landscape" { PosterFormat::Landscape } else { PosterFormat::Portrait };
    blocking(move || app.attract_posters(format).map_err(|e| e.to_string())).await?
}

/// The Ask screen: the store assistant's answer to a shopper's question (no sign-in), following
/// on from the conversation's earlier questions. An empty or overlong question is answered
/// with why.
#[tauri::command]
pub async fn ask(app: Shared<'_>, question: String) -> Result<AskReply, String> {
    let app = app.inner().clone();
    blocking(move || app.ask(&question).map_err(|e| e.to_string())).await?
}

/// The shopper left the Ask screen (or a minute passed): the conversation is forgotten.
#[tauri::command]
pub async fn end_assistant_session(app: Shared<'_>) -> Result<(), String> {
    let app = app.inner().clone();
    blocking(move || app.end_assistant_session()).await
}

/// A shopper's rating and/or comment at the end of an assistant or mirror session; answers how
/// it was read (sentiment, topics). Nothing about who gave it is sent or kept.
#[tauri::command]
pub async fn submit_feedback(app: Shared<'_>, feedback: FeedbackInput) -> Result<FeedbackReceipt, String> {
    let app = app.inner().clone();
    blocking(move || app.submit_feedback(&feedback).map_err(|e| e.to_string())).await?
}

/// Net positive feedback day by day (managers).
#[tauri::command]
pub async fn feedback_trend(app: Shared<'_>, slot: Slot<'_>, days: u32) -> Result<Series, CommandError> {
    staff_job(&app, &slot, move |app, slot| app.feedback_trend(slot, days)).await
}

/// "Read aloud": the answer's text spoken on the kiosk (Flite), as WAV bytes for the page to
/// play; made in memory, never written.
#[tauri::command]
pub async fn speak(app: Shared<'_>, text: String) -> Result<tauri::ipc::Response, String> {
    let app = app.inner().clone();
    let speech = blocking(move || app.speak(&text).map_err(|e| e.to_string())).await??;
    Ok(tauri::ipc::Response::new(speech.wav))
}

/// "Hold to speak" pressed: the kiosk starts listening (the microphone, or `[assistant]
/// microphone = "wav:PATH"`).
#[tauri::command]
pub async fn listen_start(app: Shared<'_>) -> Result<(), String> {
    let app = app.inner().clone();
    blocking(move || app.listen_start().map_err(|e| e.to_string())).await?
}

/// Released: what was heard and, for a question (`answer`, the default), the answer; a spoken
/// comment is only written down. The audio never leaves memory.
#[tauri::command]
pub async fn listen_stop(app: Shared<'_>, answer: Option<bool>) -> Result<SpokenReply, String> {
    let app = app.inner().clone();
    blocking(move || app.listen_stop(answer.unwrap_or(true)).map_err(|e| e.to_string())).await?
}

//! Manager reports behind the kiosk's role checks. `vitrine-reports` is a pure library that
//! checks no roles; every method here first asks the session slot whether the signed-in role
//! may do this (clerks: the stock lookup only; managers: everything; shoppers: nothing).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tracing::info;
use vitrine_auth::{Permission, SessionSlot};
use vitrine_reports::{AisleDiscrepancy, ForecastChart, ReportKind, ReportQuery, ReportTable, Series};

use crate::{App, AppError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    Csv,
    Pdf,
}

impl ExportFormat {
    fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Pdf => "pdf",
        }
    }
}

impl std::str::FromStr for ExportFormat {
    type Err = AppError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "csv" => Ok(Self::Csv),
            "pdf" => Ok(Self::Pdf),
            other => Err(AppError::Invalid(format!("unknown export format {other:?} (csv or pdf)"))),
        }
    }
}

/// Where an export went, for the screen to say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportedFile {
    pub path: PathBuf,
    pub bytes: u64,
    pub rows: usize,
    pub format: ExportFormat,
}

/// Longest look-back and forecast horizon a chart may ask for (two years).
const MAX_DAYS: u32 = 730;

fn permission_for(kind: ReportKind) -> Permission {
    match kind {
        ReportKind::Stock => Permission::StockLookup,
        _ => Permission::Reports,
    }
}

fn check_days(what: &str, days: u32) -> Result<(), AppError> {
    if (1..=MAX_DAYS).contains(&days) {
        Ok(())
    } else {
        Err(AppError::Invalid(format!("{what} must be 1 to {MAX_DAYS} days, not {days}")))
    }
}

impl App {
    /// One report, if the session's role may see it.
    pub fn run_report(&self, slot: &SessionSlot, query: &ReportQuery) -> Result<ReportTable, AppError> {
        slot.authorize(permission_for(query.kind), vitrine_auth::now_ms())?;
        self.report_table(query)
    }

    fn report_table(&self, query: &ReportQuery) -> Result<ReportTable, AppError> {
        self.with_store(|store| Ok(vitrine_reports::run_report(store, query)?))
    }

    /// Runs the report and saves it as CSV or PDF in the configured exports folder (managers
    /// only). A new file each time; nothing is overwritten.
    pub fn export_report(&self, slot: &SessionSlot, query: &ReportQuery, format: ExportFormat) -> Result<ExportedFile, AppError> {
        let session = slot.authorize(Permission::Export, vitrine_auth::now_ms())?;
        let table = self.report_table(query)?;
        let bytes = match format {
            ExportFormat::Csv => vitrine_reports::to_csv(&table).into_bytes(),
            ExportFormat::Pdf => vitrine_reports::to_pdf(std::slice::from_ref(&table))?,
        };
        let dir = &self.config.reports.exports_dir;
        let io_error = |path: &PathBuf, e: std::io::Error| AppError::Invalid(format!("cannot save the export to {}: {e}", path.display()));
        fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
        // "2026-03-01T09:30:00Z" → "20260301T093000Z": sortable, and valid on every filesystem.
        let stamp: String = table.generated_at.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
        let stem = format!("{}-{stamp}", query.kind);
        let mut attempt = 1;
        let (path, mut file) = loop {
            let name = if attempt == 1 { stem.clone() } else { format!("{stem}-{attempt}") };
            let path = dir.join(format!("{name}.{}", format.extension()));
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(file) => break (path, file),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => attempt += 1,
                Err(e) => return Err(io_error(&path, e)),
            }
        };
        if let Err(e) = file.write_all(&bytes).and_then(|()| file.sync_all()) {
            let _ = fs::remove_file(&path);
            return Err(io_error(&path, e));
        }
        let path = fs::canonicalize(&path).unwrap_or(path);
        info!(staff = %session.staff, report = %query.kind, path = %path.display(), "report exported");
        Ok(ExportedFile { path, bytes: bytes.len() as u64, rows: table.rows.len(), format })
    }

    /// Book stock of one SKU, day by day (managers).
    pub fn stock_history(&self, slot: &SessionSlot, sku: &str, location: Option<&str>, days: u32) -> Result<Series, AppError> {
        slot.authorize(Permission::Reports, vitrine_auth::now_ms())?;
        check_days("the history", days)?;
        self.with_store(|store| Ok(vitrine_reports::stock_history(store, sku, location, days)?))
    }

    /// Demand history and forecast with its 80 % band (managers).
    pub fn forecast_chart(&self, slot: &SessionSlot, sku: &str, horizon_days: u32) -> Result<ForecastChart, AppError> {
        slot.authorize(Permission::Reports, vitrine_auth::now_ms())?;
        check_days("the horizon", horizon_days)?;
        self.with_store(|store| Ok(vitrine_reports::forecast_chart(store, sku, horizon_days)?))
    }

    /// Units and value at cost missing by aisle, from shelf counts (managers).
    pub fn discrepancy_by_aisle(&self, slot: &SessionSlot) -> Result<Vec<AisleDiscrepancy>, AppError> {
        slot.authorize(Permission::Reports, vitrine_auth::now_ms())?;
        self.with_store(|store| Ok(vitrine_reports::discrepancy_by_aisle(store)?))
    }
}

#[cfg(test)]
mod tests {
    use vitrine_auth::{AuthError, Role};
    use vitrine_config::Config;

    use super::*;

    /// A kiosk on a real demo database in a temp folder; no models, no camera.
    fn kiosk(dir: &std::path::Path) -> App {
        let mut config = Config::default();
        config.store.database = dir.join("kiosk.db");
        config.reports.exports_dir = dir.join("exports");
        config.inference.models_dir = dir.join("no-models");
        App::start(config)
    }

    fn low_stock() -> ReportQuery {
        ReportQuery { kind: ReportKind::LowStock, ..ReportQuery::default() }
    }

    #[test]
    fn shoppers_and_clerks_cannot_run_manager_reports() {
        let dir = tempfile::tempdir().unwrap();
        let app = kiosk(dir.path());
        let slot = app.session_slot();

        // No session: the shopper screen.
        for result in [
            app.run_report(&slot, &low_stock()).map(|_| ()),
            app.run_report(&slot, &ReportQuery::default()).map(|_| ()),
            app.export_report(&slot, &low_stock(), ExportFormat::Csv).map(|_| ()),
            app.discrepancy_by_aisle(&slot).map(|_| ()),
            app.stock_history(&slot, "x", None, 28).map(|_| ()),
        ] {
            assert!(matches!(result, Err(AppError::Auth(AuthError::NotSignedIn { .. }))), "{result:?}");
        }

        // A clerk may look up stock, nothing else.
        let clerk = app.sign_in(&slot, "Demo Clerk", "1357").unwrap();
        assert_eq!(clerk.role, Role::Clerk);
        assert!(app.run_report(&slot, &ReportQuery::default()).is_ok());
        let err = app.run_report(&slot, &low_stock()).unwrap_err();
        assert_eq!(err.to_string(), "a clerk may not open manager reports");
        assert_eq!(crate::CommandError::from(err).code, "forbidden");
        assert!(matches!(app.export_report(&slot, &ReportQuery::default(), ExportFormat::Csv), Err(AppError::Auth(AuthError::Forbidden { .. }))));
        assert!(matches!(app.forecast_chart(&slot, "x", 14), Err(AppError::Auth(AuthError::Forbidden { .. }))));
        assert!(!dir.path().join("exports").exists(), "nothing was written");

        // Signing out is back to the shopper.
        app.sign_out(&slot);
        assert!(matches!(app.run_report(&slot, &ReportQuery::default()), Err(AppError::Auth(AuthError::NotSignedIn { .. }))));
    }

    #[test]
    fn a_manager_runs_and_exports_reports() {
        let dir = tempfile::tempdir().unwrap();
        let app = kiosk(dir.path());
        let slot = app.session_slot();
        app.sign_in(&slot, "demo manager", "2468").unwrap();
        let table = app.run_report(&slot, &low_stock()).unwrap();
        assert_eq!(table.kind, ReportKind::LowStock);

        let csv = app.export_report(&slot, &low_stock(), ExportFormat::Csv).unwrap();
        let again = app.export_report(&slot, &low_stock(), ExportFormat::Csv).unwrap();
        assert_ne!(csv.path, again.path, "a second export is a new file");
        let text = fs::read_to_string(&csv.path).unwrap();
        assert!(csv.path.starts_with(fs::canonicalize(dir.path()).unwrap().join("exports")));
        assert_eq!(text, vitrine_reports::to_csv(&vitrine_reports::run_report(&app.store().unwrap().lock().unwrap(), &low_stock()).unwrap()));
        assert_eq!(csv.rows, table.rows.len());

        let pdf = app.export_report(&slot, &low_stock(), ExportFormat::Pdf).unwrap();
        assert!(fs::read(&pdf.path).unwrap().starts_with(b"%PDF-"));
        assert!(app.discrepancy_by_aisle(&slot).is_ok());
        let bad = ReportQuery { window_days: 0, ..low_stock() };
        assert!(app.run_report(&slot, &bad).is_err());
    }

    #[test]
    fn a_lock_out_holds_even_for_the_right_pin_and_a_new_kiosk() {
        let dir = tempfile::tempdir().unwrap();
        let app = kiosk(dir.path());
        let slot = app.session_slot();
        for left in (1..=4).rev() {
            let err = refusal(app.sign_in(&slot, "Demo Manager", "0000"));
            assert_eq!((err.code, err.tries_left), ("wrong-pin", Some(left)), "{err:?}");
        }
        let err = refusal(app.sign_in(&slot, "Demo Manager", "0000"));
        assert_eq!(err.code, "locked");
        assert_eq!(err.message, "locked for 5 min after too many wrong PINs");
        assert!(err.locked_ms.is_some_and(|ms| ms > 4 * 60_000));
        assert!(app.session(&slot).is_none());
        drop(app);

        // The kiosk restarts: still locked, even with the right PIN.
        let app = kiosk(dir.path());
        let slot = app.session_slot();
        let err = refusal(app.sign_in(&slot, "Demo Manager", "2468"));
        assert_eq!(err.code, "locked");
        assert!(matches!(app.run_report(&slot, &low_stock()), Err(AppError::Auth(AuthError::NotSignedIn { .. }))));
        // Other staff are not locked.
        assert!(app.sign_in(&slot, "Demo Clerk", "1357").is_ok());
    }

    fn refusal<T: std::fmt::Debug>(result: Result<T, AppError>) -> crate::CommandError {
        crate::CommandError::from(result.unwrap_err())
    }
}

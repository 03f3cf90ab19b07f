//! Staff sign-in for the kiosk. The session lives in the backend (a [`SessionSlot`] the shell
//! keeps in its state); the page only sends a name and a PIN, and every staff command checks
//! the slot's role here, never what the page claims.

use serde::Serialize;
use tracing::warn;
use vitrine_auth::{AuthError, Policy, Role, Session, SessionSlot, StaffMember};
use vitrine_config::Config;
use vitrine_store::Store;

use crate::{App, AppError};

/// The sign-in rules the config sets.
pub fn policy(config: &Config) -> Policy {
    let staff = &config.staff;
    Policy {
        max_failures: staff.max_failed_pins,
        first_lock_ms: i64::from(staff.first_lock_minutes) * 60_000,
        idle_timeout_ms: i64::try_from(staff.idle_timeout_secs.saturating_mul(1000)).unwrap_or(i64::MAX),
    }
}

/// Logs a warning for each demo account: their PINs are in the README.
pub(crate) fn warn_about_demo_staff(store: &Store) {
    match vitrine_auth::demo_staff(store) {
        Ok(demo) => {
            for member in demo {
                warn!(
                    staff = %member.name,
                    role = %member.role,
                    "demo account with a published PIN; remove it (`vitrine staff remove`) before real use"
                );
            }
        }
        Err(e) => warn!(error = %e, "cannot list staff"),
    }
}

/// What a refused or failed command tells the page: a stable code to act on, the message to
/// show, and for sign-in the tries left or the time locked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandError {
    pub code: &'static str,
    pub message: String,
    pub tries_left: Option<u32>,
    pub locked_ms: Option<i64>,
}

impl From<AppError> for CommandError {
    fn from(error: AppError) -> Self {
        let (code, tries_left, locked_ms) = match &error {
            AppError::Auth(auth) => (
                auth.code(),
                match auth {
                    AuthError::WrongPin { tries_left } => Some(*tries_left),
                    _ => None,
                },
                match auth {
                    AuthError::Locked { remaining_ms } => Some(*remaining_ms),
                    _ => None,
                },
            ),
            AppError::StoreUnavailable(_) => ("store-unavailable", None, None),
            _ => ("error", None, None),
        };
        Self { code, message: error.to_string(), tries_left, locked_ms }
    }
}

impl App {
    /// The doctor's checks (camera, models, runtime, database, disk, backups, clock, HQ, GPU)
    /// for the staff status page; signed-in staff only. Reads only; may take a few seconds
    /// (model hashes, HQ's answer).
    pub fn system_checks(&self, slot: &SessionSlot) -> Result<vitrine_doctor::Report, AppError> {
        slot.authorize(vitrine_auth::Permission::SystemStatus, vitrine_auth::now_ms())?;
        Ok(vitrine_doctor::diagnose(&self.config))
    }

    /// A session slot with this kiosk's idle time-out, for the shell to keep.
    pub fn session_slot(&self) -> SessionSlot {
        SessionSlot::new(policy(&self.config).idle_timeout_ms)
    }

    pub(crate) fn with_store<T>(&self, job: impl FnOnce(&mut Store) -> Result<T, AppError>) -> Result<T, AppError> {
        let store = self.store().map_err(|e| AppError::StoreUnavailable(e.to_owned()))?;
        let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
        job(&mut store)
    }

    /// Names of the staff who may sign in for `role`'s screen (managers may also use the
    /// clerk's), for the PIN pad to offer.
    pub fn staff_for_sign_in(&self, role: Role) -> Result<Vec<StaffMember>, AppError> {
        let staff = self.with_store(|store| Ok(vitrine_auth::list_staff(store)?))?;
        Ok(staff.into_iter().filter(|m| m.role == role || (role == Role::Clerk && m.role == Role::Manager)).collect())
    }

    /// Checks the PIN and makes `name` the kiosk's session, replacing whoever was signed in.
    pub fn sign_in(&self, slot: &SessionSlot, name: &str, pin: &str) -> Result<Session, AppError> {
        let policy = policy(&self.config);
        let session = self.with_store(|store| Ok(vitrine_auth::sign_in(store, &policy, name, pin, vitrine_auth::now_ms())?))?;
        slot.begin(session.clone());
        Ok(session)
    }

    pub fn sign_out(&self, slot: &SessionSlot) -> Option<Session> {
        slot.end()
    }

    /// Who is signed in now (none after the idle time-out).
    pub fn session(&self, slot: &SessionSlot) -> Option<Session> {
        slot.current(vitrine_auth::now_ms())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kiosk(database: std::path::PathBuf) -> App {
        let mut config = Config::default();
        config.store.database = database;
        config.inference.models_dir = "no-models".into();
        App::start(config)
    }

    #[test]
    fn the_pin_pad_offers_managers_to_managers_and_all_staff_to_the_clerk_screen() {
        let dir = tempfile::tempdir().unwrap();
        let app = kiosk(dir.path().join("kiosk.db"));
        let names = |role| app.staff_for_sign_in(role).unwrap().into_iter().map(|m| m.name).collect::<Vec<_>>();
        assert_eq!(names(Role::Manager), ["Demo Manager"]);
        assert_eq!(names(Role::Clerk), ["Demo Clerk", "Demo Manager"]);
        assert!(names(Role::Shopper).is_empty());
    }

    #[test]
    fn an_unusable_database_refuses_sign_in_with_a_reason_and_the_kiosk_stays_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kiosk.db");
        std::fs::write(&path, b"this is not a database").unwrap();
        let app = kiosk(path.clone());
        let slot = app.session_slot();
        let err = CommandError::from(app.sign_in(&slot, "Demo Manager", "2468").unwrap_err());
        assert_eq!(err.code, "store-unavailable");
        assert!(err.message.contains("kiosk.db"), "{}", err.message);
        assert!(app.session(&slot).is_none());
        assert_eq!(std::fs::read(&path).unwrap(), b"this is not a database", "the file is untouched");
        assert!(app.status().store_error.is_some());
    }
}

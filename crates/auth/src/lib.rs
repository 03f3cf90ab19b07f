//! Who may do what on the kiosk: roles, staff PINs and the one signed-in session.
//!
//! Shoppers never sign in; clerks and managers do, with a 4–8 digit PIN stored as an
//! argon2id hash with a salt of its own. Wrong PINs are counted per staff member in the
//! store; after [`Policy::max_failures`] in a row sign-in is locked, first for
//! [`Policy::first_lock_ms`], each further lock twice as long. The count and the lock live in
//! the database, so restarting the kiosk does not lift a lock. A session ends after
//! [`Policy::idle_timeout_ms`] without activity.
//!
//! Time is passed in (Unix ms) so the rules are tested without waiting; the kiosk passes
//! [`now_ms`].

use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use serde::{Deserialize, Serialize};
use tracing::{info, warn};
use vitrine_store::{LockState, Store, StoreError};

/// Longest lock, however many locks came before (a day: the manager can reset a PIN).
const MAX_LOCK_MS: i64 = 24 * 3_600_000;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("a PIN is 4 to 8 digits")]
    PinFormat,
    #[error("staff name must not be empty")]
    EmptyName,
    #[error("unknown role {0:?} (clerk or manager)")]
    UnknownRole(String),
    #[error("no staff member named {0:?}")]
    UnknownStaff(String),
    #[error("wrong PIN, {tries_left} {} left", if *.tries_left == 1 { "try" } else { "tries" })]
    WrongPin { tries_left: u32 },
    #[error("locked for {} min after too many wrong PINs", minutes_left(*.remaining_ms))]
    Locked { remaining_ms: i64 },
    #[error("sign in as staff to {action}")]
    NotSignedIn { action: &'static str },
    #[error("signed out after {} without activity", duration_text(*.idle_ms))]
    SessionExpired { idle_ms: i64 },
    #[error("a {role} may not {action}")]
    Forbidden { role: Role, action: &'static str },
    #[error("cannot hash the PIN: {0}")]
    Hash(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// "2 min" or, below a minute, "45 s".
fn duration_text(ms: i64) -> String {
    if ms >= 60_000 {
        format!("{} min", ms / 60_000)
    } else {
        format!("{} s", ms.max(0) / 1000)
    }
}

/// Minutes shown to a locked-out user: rounded up, so "0 min" never appears.
fn minutes_left(ms: i64) -> i64 {
    (ms.max(1) + 59_999) / 60_000
}

impl AuthError {
    /// A stable name for the kind of refusal, for the screens to act on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::PinFormat => "pin-format",
            Self::EmptyName => "empty-name",
            Self::UnknownRole(_) => "unknown-role",
            Self::UnknownStaff(_) => "unknown-staff",
            Self::WrongPin { .. } => "wrong-pin",
            Self::Locked { .. } => "locked",
            Self::NotSignedIn { .. } => "not-signed-in",
            Self::SessionExpired { .. } => "session-expired",
            Self::Forbidden { .. } => "forbidden",
            Self::Hash(_) | Self::Store(_) => "internal",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Shopper,
    Clerk,
    Manager,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Shopper => "shopper",
            Self::Clerk => "clerk",
            Self::Manager => "manager",
        }
    }

    pub fn allows(self, permission: Permission) -> bool {
        match self {
            Self::Shopper => false,
            Self::Clerk => matches!(permission, Permission::StockLookup | Permission::SystemStatus),
            Self::Manager => true,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = AuthError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "shopper" => Ok(Self::Shopper),
            "clerk" => Ok(Self::Clerk),
            "manager" => Ok(Self::Manager),
            _ => Err(AuthError::UnknownRole(s.to_owned())),
        }
    }
}

/// What a backend command needs the session's role to allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Looking up stock of a SKU (the stock report).
    StockLookup,
    /// Every other report and chart.
    Reports,
    /// Saving reports as CSV or PDF.
    Export,
    /// The staff status page: devices, models, store, sync and the doctor's checks.
    SystemStatus,
    /// Approving, rejecting and scheduling generated posters.
    Signage,
}

impl Permission {
    fn action(self) -> &'static str {
        match self {
            Self::StockLookup => "look up stock",
            Self::Reports => "open manager reports",
            Self::Export => "export reports",
            Self::SystemStatus => "see the system status",
            Self::Signage => "manage signage",
        }
    }
}

/// Sign-in and session rules (the `[staff]` config section).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Wrong PINs in a row before sign-in locks.
    pub max_failures: u32,
    /// The first lock; each further one lasts twice as long (at most a day).
    pub first_lock_ms: i64,
    /// A session without activity for this long is over.
    pub idle_timeout_ms: i64,
}

impl Default for Policy {
    fn default() -> Self {
        Self { max_failures: 5, first_lock_ms: 5 * 60_000, idle_timeout_ms: 2 * 60_000 }
    }
}

impl Policy {
    fn lock_ms(&self, lockouts: u32) -> i64 {
        let doublings = lockouts.saturating_sub(1).min(20);
        self.first_lock_ms.saturating_mul(1 << doublings).min(MAX_LOCK_MS)
    }
}

pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// 4 to 8 ASCII digits, nothing else.
pub fn validate_pin(pin: &str) -> Result<(), AuthError> {
    if (4..=8).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(AuthError::PinFormat)
    }
}

/// argon2id (the crate's defaults: m=19456 KiB, t=2, p=1) with a fresh random salt.
pub fn hash_pin(pin: &str) -> Result<String, AuthError> {
    validate_pin(pin)?;
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default().hash_password(pin.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| AuthError::Hash(e.to_string()))
}

/// Whether `pin` matches `hash`; parameters and salt come from the hash string itself.
pub fn verify_pin(pin: &str, hash: &str) -> Result<bool, AuthError> {
    let parsed = PasswordHash::new(hash).map_err(|e| AuthError::Hash(format!("stored PIN hash unreadable: {e}")))?;
    Ok(Argon2::default().verify_password(pin.as_bytes(), &parsed).is_ok())
}

/// A staff member as the screens and the CLI see them (no hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaffMember {
    pub name: String,
    pub role: Role,
    pub demo: bool,
    /// Unix ms until which sign-in is locked, if it is.
    pub locked_until_ms: Option<i64>,
}

fn member(record: vitrine_store::StaffRecord) -> Result<StaffMember, AuthError> {
    Ok(StaffMember { role: record.role.parse()?, name: record.name, demo: record.demo, locked_until_ms: record.lock.locked_until_ms })
}

/// Adds a clerk or manager with `pin` (hashed here; the PIN itself is never stored).
pub fn add_staff(store: &mut Store, name: &str, role: Role, pin: &str, now_ms: i64) -> Result<StaffMember, AuthError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(AuthError::EmptyName);
    }
    if role == Role::Shopper {
        return Err(AuthError::UnknownRole(role.to_string()));
    }
    let hash = hash_pin(pin)?;
    store.add_staff(name, role.as_str(), &hash, now_ms)?;
    info!(staff = name, %role, "staff member added");
    Ok(StaffMember { name: name.to_owned(), role, demo: false, locked_until_ms: None })
}

/// Everyone who may sign in, by name.
pub fn list_staff(store: &Store) -> Result<Vec<StaffMember>, AuthError> {
    store.staff()?.into_iter().map(member).collect()
}

/// The demo accounts (documented PINs) still present; the kiosk warns while there are any.
pub fn demo_staff(store: &Store) -> Result<Vec<StaffMember>, AuthError> {
    Ok(list_staff(store)?.into_iter().filter(|s| s.demo).collect())
}

/// Gives a staff member a new PIN; any lock is lifted and a demo account stops being one.
pub fn set_pin(store: &mut Store, name: &str, pin: &str) -> Result<(), AuthError> {
    let name = name.trim();
    let hash = hash_pin(pin)?;
    if !store.set_staff_pin(name, &hash)? {
        return Err(AuthError::UnknownStaff(name.to_owned()));
    }
    info!(staff = name, "PIN changed");
    Ok(())
}

/// Removes a staff member; `false` if there was none by that name.
pub fn remove_staff(store: &mut Store, name: &str) -> Result<bool, AuthError> {
    Ok(store.remove_staff(name.trim())?)
}

/// A signed-in clerk or manager.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Session {
    pub staff: String,
    pub role: Role,
    pub signed_in_at_ms: i64,
    pub last_active_ms: i64,
}

/// Checks `pin` for `name` and opens a session, counting wrong PINs and locking as the
/// policy says. The outcome of every attempt is written before the answer is given.
pub fn sign_in(store: &mut Store, policy: &Policy, name: &str, pin: &str, now_ms: i64) -> Result<Session, AuthError> {
    let name = name.trim();
    let record = store.staff_member(name)?.ok_or_else(|| AuthError::UnknownStaff(name.to_owned()))?;
    if let Some(until) = record.lock.locked_until_ms.filter(|&until| until > now_ms) {
        return Err(AuthError::Locked { remaining_ms: until - now_ms });
    }
    validate_pin(pin)?;
    let role: Role = record.role.parse()?;
    if verify_pin(pin, &record.pin_hash)? {
        if record.lock != LockState::default() {
            store.set_staff_lock(&record.name, &LockState::default())?;
        }
        info!(staff = %record.name, %role, "signed in");
        return Ok(Session { staff: record.name, role, signed_in_at_ms: now_ms, last_active_ms: now_ms });
    }
    let failed = record.lock.failed_attempts + 1;
    if failed < policy.max_failures {
        let lock = LockState { failed_attempts: failed, ..record.lock };
        store.set_staff_lock(&record.name, &lock)?;
        warn!(staff = %record.name, failed, "wrong PIN");
        return Err(AuthError::WrongPin { tries_left: policy.max_failures - failed });
    }
    let lockouts = record.lock.lockouts + 1;
    let remaining_ms = policy.lock_ms(lockouts);
    let lock = LockState { failed_attempts: 0, lockouts, locked_until_ms: Some(now_ms + remaining_ms) };
    store.set_staff_lock(&record.name, &lock)?;
    warn!(staff = %record.name, lockouts, lock_s = remaining_ms / 1000, "too many wrong PINs: sign-in locked");
    Err(AuthError::Locked { remaining_ms })
}

/// The kiosk's one session (one screen, one person at a time). It lives in the backend; the
/// page only ever learns what [`SessionSlot::current`] says.
#[derive(Debug)]
pub struct SessionSlot {
    current: Mutex<Option<Session>>,
    idle_timeout_ms: i64,
}

impl SessionSlot {
    pub fn new(idle_timeout_ms: i64) -> Self {
        Self { current: Mutex::new(None), idle_timeout_ms }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Session>> {
        self.current.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Replaces whoever was signed in.
    pub fn begin(&self, session: Session) {
        *self.lock() = Some(session);
    }

    /// Signs out; returns who was signed in.
    pub fn end(&self) -> Option<Session> {
        self.lock().take()
    }

    /// The session, unless it has been idle too long (then it ends here).
    pub fn current(&self, now_ms: i64) -> Option<Session> {
        let mut slot = self.lock();
        match slot.as_ref() {
            Some(s) if now_ms - s.last_active_ms > self.idle_timeout_ms => {
                info!(staff = %s.staff, "signed out after idle time-out");
                *slot = None;
                None
            }
            other => other.cloned(),
        }
    }

    /// The session if its role allows `permission`, marking it active; otherwise why not.
    pub fn authorize(&self, permission: Permission, now_ms: i64) -> Result<Session, AuthError> {
        let mut slot = self.lock();
        let Some(session) = slot.as_mut() else {
            return Err(refuse(Role::Shopper, permission));
        };
        let idle_ms = now_ms - session.last_active_ms;
        if idle_ms > self.idle_timeout_ms {
            info!(staff = %session.staff, "signed out after idle time-out");
            *slot = None;
            return Err(AuthError::SessionExpired { idle_ms: self.idle_timeout_ms });
        }
        if !session.role.allows(permission) {
            return Err(refuse(session.role, permission));
        }
        session.last_active_ms = now_ms;
        Ok(session.clone())
    }
}

/// A refusal, logged: a shopper screen calling a staff command is worth a line in the log.
fn refuse(role: Role, permission: Permission) -> AuthError {
    warn!(%role, action = permission.action(), "refused");
    if role == Role::Shopper {
        AuthError::NotSignedIn { action: permission.action() }
    } else {
        AuthError::Forbidden { role, action: permission.action() }
    }
}

#[cfg(test)]
mod tests;

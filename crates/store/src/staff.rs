//! Staff who may sign in on this kiosk: name, role, PIN hash and lock-out state.
//!
//! The store only keeps these rows; hashing, checking PINs and deciding when to lock is
//! `vitrine-auth`'s job. Lock state is kept here so that restarting the kiosk keeps a lock.

use rusqlite::{params, Connection, ErrorCode, OptionalExtension, Row};

use crate::store::Store;
use crate::{Result, StoreError};

/// The demo accounts a fresh demo store gets: (name, role, PIN hash). The PINs (manager
/// 2468, clerk 1357) are documented in the README as demo-only; `vitrine-auth` checks in
/// its tests that these hashes match them. argon2id, m=19456 KiB, t=2, p=1, own salt each.
const DEMO_STAFF: &[(&str, &str, &str)] = &[
    (
        "Demo Manager",
        "manager",
        "$argon2id$v=19$m=19456,t=2,p=1$SkfMafcBYZMiET4TVjXVTQ$4KVqOIUmx8nmFse+CgOgeQiHFhfR2L9PuZpFSH25/Rc",
    ),
    (
        "Demo Clerk",
        "clerk",
        "$argon2id$v=19$m=19456,t=2,p=1$0WJSORbhTkhHyep4yNgQgA$ktArJd56lm5R3iRQ7v5J3cs/PUfwQnsNMvlPljrRMaY",
    ),
];

/// One staff member as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffRecord {
    pub name: String,
    /// `clerk` or `manager` (the schema refuses anything else).
    pub role: String,
    /// argon2id PHC string.
    pub pin_hash: String,
    /// A demo account with a documented PIN.
    pub demo: bool,
    pub created_at_ms: i64,
    pub lock: LockState,
}

/// Failed sign-ins and the current lock of one staff member.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LockState {
    /// Wrong PINs since the last good one or the last lock.
    pub failed_attempts: u32,
    /// Locks so far without a good PIN in between.
    pub lockouts: u32,
    /// Unix ms until which sign-in is refused.
    pub locked_until_ms: Option<i64>,
}

const SELECT_STAFF: &str = "SELECT name, role, pin_hash, demo, created_at_ms, failed_attempts,
                                   lockouts, locked_until_ms
                            FROM staff";

fn staff_row(row: &Row<'_>) -> rusqlite::Result<StaffRecord> {
    Ok(StaffRecord {
        name: row.get(0)?,
        role: row.get(1)?,
        pin_hash: row.get(2)?,
        demo: row.get(3)?,
        created_at_ms: row.get(4)?,
        lock: LockState {
            failed_attempts: row.get(5)?,
            lockouts: row.get(6)?,
            locked_until_ms: row.get(7)?,
        },
    })
}

impl Store {
    /// Adds a staff member; a name already taken (case-insensitively) is
    /// [`StoreError::StaffExists`] and changes nothing.
    pub fn add_staff(
        &mut self,
        name: &str,
        role: &str,
        pin_hash: &str,
        created_at_ms: i64,
    ) -> Result<()> {
        insert_staff(&self.conn, name, role, pin_hash, false, created_at_ms)
    }

    /// Everyone who may sign in, by name.
    pub fn staff(&self) -> Result<Vec<StaffRecord>> {
        let mut stmt = self
            .conn
            .prepare(&format!("{SELECT_STAFF} ORDER BY name"))?;
        let staff = stmt
            .query_map([], staff_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(staff)
    }

    /// One staff member by name (case-insensitive).
    pub fn staff_member(&self, name: &str) -> Result<Option<StaffRecord>> {
        Ok(self
            .conn
            .query_row(&format!("{SELECT_STAFF} WHERE name = ?1"), [name], staff_row)
            .optional()?)
    }

    /// Removes a staff member; `false` if there was none by that name.
    pub fn remove_staff(&mut self, name: &str) -> Result<bool> {
        Ok(self
            .conn
            .execute("DELETE FROM staff WHERE name = ?1", [name])?
            == 1)
    }

    /// Replaces a staff member's PIN hash and clears any lock (a new PIN starts afresh).
    pub fn set_staff_pin(&mut self, name: &str, pin_hash: &str) -> Result<bool> {
        Ok(self.conn.execute(
            "UPDATE staff SET pin_hash = ?2, demo = 0, failed_attempts = 0, lockouts = 0,
                              locked_until_ms = NULL
             WHERE name = ?1",
            params![name, pin_hash],
        )? == 1)
    }

    /// Stores the outcome of a sign-in attempt; `false` if there is no such staff member.
    pub fn set_staff_lock(&mut self, name: &str, lock: &LockState) -> Result<bool> {
        Ok(self.conn.execute(
            "UPDATE staff SET failed_attempts = ?2, lockouts = ?3, locked_until_ms = ?4
             WHERE name = ?1",
            params![name, lock.failed_attempts, lock.lockouts, lock.locked_until_ms],
        )? == 1)
    }
}

fn insert_staff(
    conn: &Connection,
    name: &str,
    role: &str,
    pin_hash: &str,
    demo: bool,
    created_at_ms: i64,
) -> Result<()> {
    let inserted = conn.execute(
        "INSERT INTO staff (name, role, pin_hash, demo, created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![name, role, pin_hash, demo, created_at_ms],
    );
    match inserted {
        Ok(_) => Ok(()),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == ErrorCode::ConstraintViolation
                && e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
        {
            Err(StoreError::StaffExists(name.to_owned()))
        }
        Err(e) => Err(e.into()),
    }
}

/// The demo manager and clerk, inside the demo seed's transaction.
pub(crate) fn seed_demo_staff(conn: &Connection, created_at_ms: i64) -> Result<()> {
    for (name, role, hash) in DEMO_STAFF {
        conn.execute(
            "INSERT INTO staff (name, role, pin_hash, demo, created_at_ms) VALUES (?1, ?2, ?3, 1, ?4)
             ON CONFLICT (name) DO NOTHING",
            params![name, role, hash, created_at_ms],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g";

    #[test]
    fn staff_are_added_listed_locked_and_removed_in_a_real_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("staff.db");
        let mut store = Store::open(&path).unwrap();
        store.add_staff("Ana", "manager", HASH, 1).unwrap();
        store.add_staff("bo", "clerk", HASH, 2).unwrap();
        let err = store.add_staff("ANA", "clerk", HASH, 3).unwrap_err();
        assert!(matches!(err, StoreError::StaffExists(ref n) if n == "ANA"), "{err}");
        assert!(store.add_staff("cy", "owner", HASH, 3).is_err(), "unknown role");
        assert!(store.add_staff("cy", "clerk", "plain-1234", 3).is_err(), "not a hash");

        let lock = LockState { failed_attempts: 0, lockouts: 1, locked_until_ms: Some(99) };
        assert!(store.set_staff_lock("ana", &lock).unwrap());
        assert!(!store.set_staff_lock("nobody", &lock).unwrap());
        drop(store);

        // The lock survives reopening (a restart of the kiosk).
        let mut store = Store::open(&path).unwrap();
        let names: Vec<_> = store.staff().unwrap().into_iter().map(|s| s.name).collect();
        assert_eq!(names, ["Ana", "bo"]);
        let ana = store.staff_member("ANA").unwrap().unwrap();
        assert_eq!((ana.role.as_str(), ana.lock, ana.demo), ("manager", lock, false));
        assert!(store.set_staff_pin("ana", HASH).unwrap());
        assert_eq!(store.staff_member("ana").unwrap().unwrap().lock, LockState::default());
        assert!(store.remove_staff("BO").unwrap());
        assert!(!store.remove_staff("bo").unwrap());
        assert!(store.staff_member("bo").unwrap().is_none());
    }

    #[test]
    fn a_demo_store_has_a_demo_manager_and_clerk_once() {
        let mut store = Store::open_in_memory().unwrap();
        assert!(store.staff().unwrap().is_empty());
        assert!(store.seed_demo_if_empty().unwrap());
        assert!(!store.seed_demo_if_empty().unwrap());
        let staff = store.staff().unwrap();
        let roles: Vec<_> = staff.iter().map(|s| (s.role.as_str(), s.demo)).collect();
        assert_eq!(roles, [("clerk", true), ("manager", true)]);
        assert_ne!(staff[0].pin_hash, staff[1].pin_hash);
    }
}

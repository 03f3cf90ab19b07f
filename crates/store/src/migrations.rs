//! Versioned schema migrations. The applied version lives in `PRAGMA user_version`, so a
//! file says by itself which schema it has; each step commits in its own transaction.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};
use tracing::info;

use crate::{Result, StoreError};

/// Ordered schema steps: entry `i` takes the file from version `i` to `i + 1`.
/// Append only; never edit a step that has shipped.
pub(crate) const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_initial.sql"),
    include_str!("migrations/0002_hlc_outbox.sql"),
    include_str!("migrations/0003_sync.sql"),
    include_str!("migrations/0004_reports.sql"),
    include_str!("migrations/0005_staff.sql"),
    include_str!("migrations/0006_totals.sql"),
    include_str!("migrations/0007_shelf.sql"),
    include_str!("migrations/0008_garments.sql"),
    include_str!("migrations/0009_signage.sql"),
    include_str!("migrations/0010_feedback.sql"),
];

/// The newest schema version this build knows; files above it are refused, not touched.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

pub(crate) fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
}

/// Refuses a file written by a newer build: its schema may mean things we can't know.
pub(crate) fn check_version(path: &Path, found: i64, supported: i64) -> Result<()> {
    if found > supported {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found,
            supported,
        });
    }
    Ok(())
}

/// Brings the file up to `migrations.len()`. Each step re-reads the version under a write
/// lock, so two processes opening the same fresh file don't apply a step twice.
pub(crate) fn migrate(conn: &mut Connection, path: &Path, migrations: &[&str]) -> Result<()> {
    let supported = migrations.len() as i64;
    let open_err = |source| StoreError::Open {
        path: path.to_path_buf(),
        source,
    };
    let current = user_version(conn).map_err(open_err)?;
    check_version(path, current, supported)?;
    if current == supported {
        return Ok(());
    }
    for (index, sql) in migrations.iter().enumerate() {
        let version = index as i64 + 1;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(open_err)?;
        let current = user_version(&tx).map_err(open_err)?;
        check_version(path, current, supported)?;
        if current >= version {
            continue;
        }
        let migration_err = |source| StoreError::Migration {
            path: path.to_path_buf(),
            version,
            source,
        };
        tx.execute_batch(sql).map_err(migration_err)?;
        tx.pragma_update(None, "user_version", version)
            .map_err(migration_err)?;
        tx.commit().map_err(migration_err)?;
        info!(path = %path.display(), version, "applied schema migration");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table_exists(conn: &Connection, name: &str) -> bool {
        conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1)",
            [name],
            |row| row.get(0),
        )
        .unwrap()
    }

    #[test]
    fn a_failing_step_rolls_back_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.db");
        let mut conn = Connection::open(&path).unwrap();
        let steps = [
            "CREATE TABLE one (x INTEGER);",
            "CREATE TABLE two (x INTEGER); INSERT INTO nowhere VALUES (1);",
        ];

        let err = migrate(&mut conn, &path, &steps).unwrap_err();

        assert!(
            matches!(err, StoreError::Migration { version: 2, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("m.db"), "{err}");
        assert_eq!(user_version(&conn).unwrap(), 1);
        assert!(table_exists(&conn, "one"));
        assert!(!table_exists(&conn, "two"), "step 2 must roll back whole");
    }

    #[test]
    fn steps_already_applied_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.db");
        let mut conn = Connection::open(&path).unwrap();

        migrate(&mut conn, &path, &["CREATE TABLE one (x INTEGER);"]).unwrap();
        // Re-running step 1 would fail ("table one already exists").
        migrate(
            &mut conn,
            &path,
            &[
                "CREATE TABLE one (x INTEGER);",
                "CREATE TABLE two (x INTEGER);",
            ],
        )
        .unwrap();

        assert_eq!(user_version(&conn).unwrap(), 2);
        assert!(table_exists(&conn, "two"));
    }
}

-- Staff sign-in (issue 6): who may sign in, their PIN hash, and the lock-out state, which
-- lives here so that restarting the kiosk does not reset a lock.
CREATE TABLE staff (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE COLLATE NOCASE,
    role            TEXT NOT NULL CHECK (role IN ('clerk', 'manager')),
    -- argon2id in PHC string form (algorithm, parameters and per-PIN salt included).
    pin_hash        TEXT NOT NULL CHECK (pin_hash LIKE '$argon2id$%'),
    -- Demo accounts have documented PINs; the kiosk warns while any exists.
    demo            INTEGER NOT NULL DEFAULT 0 CHECK (demo IN (0, 1)),
    created_at_ms   INTEGER NOT NULL,
    -- Wrong PINs since the last good one or the last lock.
    failed_attempts INTEGER NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
    -- Locks so far without a good PIN in between; each lock lasts twice the one before.
    lockouts        INTEGER NOT NULL DEFAULT 0 CHECK (lockouts >= 0),
    locked_until_ms INTEGER
);

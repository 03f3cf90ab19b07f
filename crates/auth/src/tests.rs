use super::*;

const MIN: i64 = 60_000;

fn store_with(name: &str, role: Role, pin: &str) -> (tempfile::TempDir, std::path::PathBuf, Store) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.db");
    let mut store = Store::open(&path).unwrap();
    add_staff(&mut store, name, role, pin, 0).unwrap();
    (dir, path, store)
}

#[test]
fn pins_are_4_to_8_digits() {
    for good in ["0000", "1234", "12345678"] {
        validate_pin(good).unwrap();
    }
    for bad in ["", "123", "123456789", "12a4", " 1234", "１２３４", "12.4"] {
        assert!(matches!(validate_pin(bad), Err(AuthError::PinFormat)), "{bad:?}");
    }
}

#[test]
fn pins_are_hashed_with_argon2id_and_a_salt_each() {
    let (a, b) = (hash_pin("2468").unwrap(), hash_pin("2468").unwrap());
    assert!(a.starts_with("$argon2id$v=19$"), "{a}");
    assert_ne!(a, b, "each hash has its own salt");
    assert!(!a.contains("2468"));
    assert!(verify_pin("2468", &a).unwrap() && verify_pin("2468", &b).unwrap());
    assert!(!verify_pin("2469", &a).unwrap());
    assert!(matches!(verify_pin("2468", "not a hash"), Err(AuthError::Hash(_))));
}

#[test]
fn roles_allow_what_they_should() {
    use Permission::*;
    assert!(!Role::Shopper.allows(StockLookup) && !Role::Shopper.allows(Reports) && !Role::Shopper.allows(Export));
    assert!(Role::Clerk.allows(StockLookup) && !Role::Clerk.allows(Reports) && !Role::Clerk.allows(Export));
    assert!(Role::Manager.allows(StockLookup) && Role::Manager.allows(Reports) && Role::Manager.allows(Export));
    assert_eq!("Manager".parse::<Role>().unwrap(), Role::Manager);
    assert!(matches!("owner".parse::<Role>(), Err(AuthError::UnknownRole(_))));
}

#[test]
fn the_demo_accounts_take_the_documented_pins() {
    let mut store = Store::open_in_memory().unwrap();
    store.seed_demo_if_empty().unwrap();
    let policy = Policy::default();
    let manager = sign_in(&mut store, &policy, "Demo Manager", "2468", 0).unwrap();
    assert_eq!(manager.role, Role::Manager);
    let clerk = sign_in(&mut store, &policy, "demo clerk", "1357", 0).unwrap();
    assert_eq!((clerk.staff.as_str(), clerk.role), ("Demo Clerk", Role::Clerk));
    assert_eq!(demo_staff(&store).unwrap().len(), 2);
}

#[test]
fn unknown_staff_bad_pins_and_bad_names_get_clear_errors() {
    let (_dir, _path, mut store) = store_with("Ana", Role::Manager, "2468");
    let policy = Policy::default();
    let err = sign_in(&mut store, &policy, "Bob", "2468", 0).unwrap_err();
    assert_eq!(err.to_string(), "no staff member named \"Bob\"");
    assert!(matches!(sign_in(&mut store, &policy, "Ana", "24", 0), Err(AuthError::PinFormat)));
    assert!(matches!(add_staff(&mut store, "  ", Role::Clerk, "1234", 0), Err(AuthError::EmptyName)));
    assert!(matches!(add_staff(&mut store, "Cy", Role::Shopper, "1234", 0), Err(AuthError::UnknownRole(_))));
    assert!(matches!(add_staff(&mut store, "Cy", Role::Clerk, "12", 0), Err(AuthError::PinFormat)));
    assert!(matches!(add_staff(&mut store, "ana", Role::Clerk, "1234", 0), Err(AuthError::Store(StoreError::StaffExists(_)))));
    // A malformed PIN is not counted as a try.
    let err = sign_in(&mut store, &policy, "Ana", "1111", 0).unwrap_err();
    assert_eq!(err.to_string(), "wrong PIN, 4 tries left");
    assert_eq!(err.code(), "wrong-pin");
}

#[test]
fn five_wrong_pins_lock_and_the_lock_survives_a_restart_and_doubles() {
    let (_dir, path, mut store) = store_with("Ana", Role::Manager, "2468");
    let policy = Policy::default();
    let mut t = 1_000_000;
    for left in [4, 3, 2, 1] {
        match sign_in(&mut store, &policy, "Ana", "0000", t) {
            Err(AuthError::WrongPin { tries_left }) => assert_eq!(tries_left, left),
            other => panic!("{other:?}"),
        }
        t += 1000;
    }
    let err = sign_in(&mut store, &policy, "Ana", "0000", t).unwrap_err();
    assert!(matches!(err, AuthError::Locked { remaining_ms } if remaining_ms == 5 * MIN), "{err:?}");
    assert_eq!(err.to_string(), "locked for 5 min after too many wrong PINs");
    let locked_at = t;
    drop(store);

    // A restart changes nothing: even the right PIN is refused until the lock ends.
    let mut store = Store::open(&path).unwrap();
    let err = sign_in(&mut store, &policy, "Ana", "2468", locked_at + 2 * MIN + 1).unwrap_err();
    assert_eq!(err.to_string(), "locked for 3 min after too many wrong PINs");
    assert_eq!(list_staff(&store).unwrap()[0].locked_until_ms, Some(locked_at + 5 * MIN));

    // After the lock, five more wrong PINs lock for twice as long.
    let mut t = locked_at + 5 * MIN;
    for _ in 0..4 {
        assert!(matches!(sign_in(&mut store, &policy, "Ana", "0000", t), Err(AuthError::WrongPin { .. })));
        t += 1;
    }
    assert!(matches!(sign_in(&mut store, &policy, "Ana", "0000", t), Err(AuthError::Locked { remaining_ms }) if remaining_ms == 10 * MIN));

    // The right PIN after the lock works and clears the count.
    let session = sign_in(&mut store, &policy, "Ana", "2468", t + 10 * MIN).unwrap();
    assert_eq!(session.role, Role::Manager);
    assert_eq!(store.staff_member("Ana").unwrap().unwrap().lock, LockState::default());

    // A new PIN lifts a lock at once.
    for _ in 0..5 {
        let _ = sign_in(&mut store, &policy, "Ana", "0000", t + 10 * MIN);
    }
    assert!(matches!(sign_in(&mut store, &policy, "Ana", "2468", t + 10 * MIN), Err(AuthError::Locked { .. })));
    set_pin(&mut store, "ana", "97531").unwrap();
    assert!(matches!(set_pin(&mut store, "nobody", "97531"), Err(AuthError::UnknownStaff(_))));
    assert!(matches!(sign_in(&mut store, &policy, "Ana", "2468", t + 10 * MIN), Err(AuthError::WrongPin { tries_left: 4 })));
    assert!(sign_in(&mut store, &policy, "Ana", "97531", t + 10 * MIN).is_ok());
}

#[test]
fn locks_double_up_to_a_day() {
    let policy = Policy::default();
    assert_eq!(policy.lock_ms(1), 5 * MIN);
    assert_eq!(policy.lock_ms(2), 10 * MIN);
    assert_eq!(policy.lock_ms(3), 20 * MIN);
    assert_eq!(policy.lock_ms(60), MAX_LOCK_MS);
}

#[test]
fn a_session_allows_its_role_and_ends_when_idle() {
    let (_dir, _path, mut store) = store_with("Bo", Role::Clerk, "1357");
    let policy = Policy::default();
    let slot = SessionSlot::new(policy.idle_timeout_ms);
    let err = slot.authorize(Permission::Reports, 0).unwrap_err();
    assert_eq!(err.to_string(), "sign in as staff to open manager reports");

    slot.begin(sign_in(&mut store, &policy, "Bo", "1357", 0).unwrap());
    assert!(slot.authorize(Permission::StockLookup, MIN).is_ok());
    let err = slot.authorize(Permission::Reports, MIN).unwrap_err();
    assert_eq!(err.to_string(), "a clerk may not open manager reports");
    assert!(matches!(slot.authorize(Permission::Export, MIN), Err(AuthError::Forbidden { .. })));
    // Activity keeps it alive; idleness past the time-out ends it.
    assert!(slot.current(MIN + policy.idle_timeout_ms).is_some());
    let err = slot.authorize(Permission::StockLookup, MIN + policy.idle_timeout_ms + 1).unwrap_err();
    assert_eq!(err.code(), "session-expired");
    assert_eq!(err.to_string(), "signed out after 2 min without activity");
    assert_eq!(AuthError::SessionExpired { idle_ms: 30_000 }.to_string(), "signed out after 30 s without activity");
    assert!(slot.current(MIN + policy.idle_timeout_ms + 2).is_none());

    slot.begin(sign_in(&mut store, &policy, "Bo", "1357", 10 * MIN).unwrap());
    assert_eq!(slot.end().unwrap().staff, "Bo");
    assert!(matches!(slot.authorize(Permission::StockLookup, 10 * MIN), Err(AuthError::NotSignedIn { .. })));
}

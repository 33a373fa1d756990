//! Named failpoints for crash tests: `VANE_FAILPOINT=<name>` makes vane abort at that point, as a
//! `kill -9` would stop it, so tests can check that the next run recovers from exactly there.

/// Every failpoint, in the order a task passes them.
pub const FAILPOINTS: &[&str] = &[
    "after_claim",
    "after_publish",
    "after_agent",
    "after_finish",
    "before_gates",
    "after_ref_intent",
    "after_ref_move",
    "after_checkout_advance",
    "after_landing",
    "after_checkpoint_ref",
];

/// Aborts the process when `VANE_FAILPOINT` names this point.
pub fn hit(name: &str) {
    debug_assert!(FAILPOINTS.contains(&name), "unknown failpoint {name}");
    if std::env::var("VANE_FAILPOINT").is_ok_and(|v| v == name) {
        eprintln!("vane: failpoint {name}: aborting");
        std::process::abort();
    }
}

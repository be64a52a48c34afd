//! The receiver's default clock, chosen per target at this module boundary.

/// Unix seconds now, or `None` on a target without a clock the core can read.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn system_now() -> Option<i64> {
    use std::time::{SystemTime, UNIX_EPOCH};
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(i64::try_from(secs).unwrap_or(i64::MAX))
}

/// `std::time::SystemTime::now()` traps on wasm32-unknown-unknown, and the core has no
/// JavaScript host to ask (the npm package reads `Date.now()` in JavaScript): on wasm32
/// the receiver must be given a clock.
#[cfg(target_arch = "wasm32")]
pub(crate) fn system_now() -> Option<i64> {
    None
}

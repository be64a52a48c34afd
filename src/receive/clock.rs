//! The receiver's default clock, chosen per target at this module boundary.

/// Unix seconds now, or `None` on a target without a clock the core can read.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn system_now() -> Option<i64> {
    use std::time::{SystemTime, UNIX_EPOCH};
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(i64::try_from(secs).unwrap_or(i64::MAX))
}

/// Unix seconds now, from the JavaScript host's `Date.now()`.
#[cfg(all(target_arch = "wasm32", feature = "wasm"))]
pub(crate) fn system_now() -> Option<i64> {
    Some((js_sys::Date::now() / 1000.0).floor() as i64)
}

/// `std::time::SystemTime::now()` traps on wasm32-unknown-unknown, and without the `wasm`
/// feature there is no JavaScript host to ask: the receiver must be given a clock.
#[cfg(all(target_arch = "wasm32", not(feature = "wasm")))]
pub(crate) fn system_now() -> Option<i64> {
    None
}

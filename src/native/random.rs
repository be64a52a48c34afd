//! Randomness without a dependency: 64 bits from the standard library's per-process
//! hash keys (for jitter seeds, instance ids and event ids; not for secrets).

use std::time::SystemTime;

/// 64 random bits from the standard library's per-process hash keys.
pub(crate) fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

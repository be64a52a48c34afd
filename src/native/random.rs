//! Randomness for ids and seeds: the operating system's random source (`getrandom`), so
//! two processes never draw the same values (not for secrets; nothing secret is drawn).

use std::time::SystemTime;

/// 64 random bits from the operating system's random source (`getrandom`): the
/// per-dispatcher part of in-memory `webhook-id`s, durable event ids, jitter seeds and
/// lease owners, so two processes never draw the same values. Should the OS source fail
/// (it does not on the platforms tokio supports), falls back to the standard library's
/// per-process random hash keys mixed with the clock.
pub(crate) fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut bytes = [0u8; 8];
    if getrandom::getrandom(&mut bytes).is_ok() {
        return u64::from_le_bytes(bytes);
    }
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

#[cfg(test)]
mod tests {
    #[test]
    fn random_u64_values_differ() {
        let mut seen: Vec<u64> = (0..1000).map(|_| super::random_u64()).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 1000);
        // Not a constant bit pattern: every bit position takes both values.
        let (or, and) = seen
            .iter()
            .fold((0u64, u64::MAX), |(o, a), x| (o | x, a & x));
        assert_eq!((or, and), (u64::MAX, 0));
    }
}

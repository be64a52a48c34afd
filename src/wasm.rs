//! The npm package's WebAssembly module: raw exports over numbers only, no wasm-bindgen.
//!
//! Measured reason (issue 14): the wasm-bindgen bindings (one export per JavaScript
//! function, each converting `JsValue`s through `catch` imports) made up about 40 % of
//! the package's .wasm (71,191 B raw / 32,356 B gzip -9 with them). Every JavaScript value
//! is now read by the package's JavaScript entry (js/verify.js, js/full.js: type checks,
//! the `TypeError`s that name the fix, getters and proxies that throw), which writes bytes
//! into one scratch region of this module's memory and calls these exports. Nothing here
//! calls JavaScript: the module has no imports, so no JavaScript exception can unwind
//! through its frames, and no input makes it panic (every index is checked; the answers
//! are codes).
//!
//! The hot path (verifySignature with a cached keyed state) measured two thirds of a
//! 256-byte call in per-call work that does not depend on the body: keyed HMAC states live
//! in slots here, the header is written with `TextEncoder.encodeInto` at the start of the
//! scratch region and the body at [`HEADER_AREA`]. Every answer is the core's: the header
//! is parsed by [`Signature`]'s `FromStr` and each key checked by
//! [`Signer::verify_parsed`], all keys tried as in [`crate::verify_any`].
//!
//! Feature `wasm-verify` alone builds the verify-only module (`foreman-webhook/verify`):
//! the `fw_slot_*` / `fw_verify` exports; feature `wasm` adds Standard Webhooks, signing
//! and artifacts.

use std::cell::RefCell;

// SHA-256 for the HMACs, faster in WebAssembly engines than sha2's (measured reason there),
// in the main module only: with simd128 (as scripts/build-wasm builds) and one thread. The
// verify-only module keeps sha2's (+8 KB of unrolled code would take its one-import
// weight over its 12 KiB budget).
#[cfg(all(
    feature = "wasm",
    target_feature = "simd128",
    not(target_feature = "atomics")
))]
pub(crate) mod sha256;

use crate::signature::{Signature, Signer, VerifyError};
#[cfg(feature = "wasm")]
use crate::standard::{Headers, StandardError, StandardWebhook, DEFAULT_TOLERANCE_SECS};
#[cfg(feature = "wasm")]
use crate::{
    artifacts::{Artifact, InlineLimits},
    SecretError,
};
use crate::{Secret, MAX_SECRETS};

/// The global allocator: lol_alloc's free list (coalescing, first fit), about 8 KB smaller
/// than the default dlmalloc. A call allocates a few buffers and frees them before
/// returning; the keyed slots and the scratch region live until freed or regrown.
// SAFETY: without the `atomics` target feature a wasm32 module runs on one thread.
#[cfg(not(target_feature = "atomics"))]
#[global_allocator]
static ALLOCATOR: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };

/// Bytes reserved for the header at the start of the scratch region (128 UTF-16 units of
/// UTF-8); the body starts here.
pub const HEADER_AREA: usize = 1024;

/// A length that says "this header is absent" (`-1` from JavaScript).
#[cfg(feature = "wasm")]
const ABSENT: usize = usize::MAX;

/// The answer codes of [`fw_verify`], in the order the entry maps them to reason strings.
const OK: u32 = 0;
/// An answer the entry never asks for: an unknown slot, lengths past the scratch region,
/// a header that is not UTF-8 (the entry writes UTF-8 with `TextEncoder`).
const FALLBACK: u32 = 255;

struct Fast {
    scratch: Vec<u8>,
    /// The text answer of the last `fw_sign`, `fw_std_sign` or `fw_artifacts` call.
    #[cfg(feature = "wasm")]
    out: Vec<u8>,
    slots: Vec<Option<Vec<Signer>>>,
    #[cfg(feature = "wasm")]
    std_slots: Vec<Option<StdSlot>>,
}

/// Standard Webhooks keys (the full package only): collected by [`fw_std_slot_add`], keyed on first use.
#[cfg(feature = "wasm")]
struct StdSlot {
    secrets: Vec<Secret>,
    keyed: Option<StandardWebhook>,
}

thread_local! {
    static FAST: RefCell<Fast> = const {
        RefCell::new(Fast {
            scratch: Vec::new(),
            #[cfg(feature = "wasm")]
            out: Vec::new(),
            slots: Vec::new(),
            #[cfg(feature = "wasm")]
            std_slots: Vec::new(),
        })
    };
}

/// The scratch region, grown to at least `len` bytes: its address, or 0 when memory could
/// not grow. Valid until the next call of this function.
#[no_mangle]
pub extern "C" fn fw_scratch(len: usize) -> usize {
    FAST.with(|fast| {
        let Ok(mut fast) = fast.try_borrow_mut() else {
            return 0;
        };
        let have = fast.scratch.len();
        if len > have {
            if fast.scratch.try_reserve_exact(len - have).is_err() {
                return 0;
            }
            fast.scratch.resize(len, 0);
        }
        fast.scratch.as_mut_ptr() as usize
    })
}

/// The answer of [`fw_verify`] for MACs the caller computed (see [`check_macs`]): the
/// header in `scratch[..header_len]`, `count` MACs of 32 bytes at `scratch[HEADER_AREA +
/// macs_at..]`. [`FALLBACK`] for a count of 0 or over [`MAX_SECRETS`], or ranges past the
/// scratch region. The main module only (the verify-only module's entry has no such path).
#[cfg(feature = "wasm")]
#[no_mangle]
pub extern "C" fn fw_verify_macs(header_len: usize, macs_at: usize, count: usize) -> u32 {
    FAST.with(|fast| {
        let Ok(fast) = fast.try_borrow() else {
            return FALLBACK;
        };
        if count == 0 || count > MAX_SECRETS {
            return FALLBACK;
        }
        let start = HEADER_AREA.saturating_add(macs_at);
        let (Some(header), Some(macs)) = (
            fast.scratch.get(..header_len.min(HEADER_AREA)),
            fast.scratch.get(start..start.saturating_add(32 * count)),
        ) else {
            return FALLBACK;
        };
        let Ok(header) = core::str::from_utf8(header) else {
            return FALLBACK;
        };
        code(check_macs(macs, header))
    })
}

/// Selects the SHA-256 compression of every HMAC: `1` sha2's, `0` the unrolled one (the
/// default). The JavaScript entry passes 1 under JavaScriptCore, where sha2's is faster
/// (measured in src/wasm/sha256.rs); the answers are the same either way.
#[cfg(all(
    feature = "wasm",
    target_feature = "simd128",
    not(target_feature = "atomics")
))]
#[no_mangle]
pub extern "C" fn fw_sha256_sha2(on: u32) {
    sha256::use_sha2_compress(on != 0);
}

/// A new, empty slot of keyed states: its number (from 1), or 0 on failure.
#[no_mangle]
pub extern "C" fn fw_slot_new() -> u32 {
    FAST.with(|fast| {
        let Ok(mut fast) = fast.try_borrow_mut() else {
            return 0;
        };
        let index = match fast.slots.iter().position(Option::is_none) {
            Some(free) => free,
            None => {
                fast.slots.push(None);
                fast.slots.len() - 1
            }
        };
        if let Some(entry) = fast.slots.get_mut(index) {
            *entry = Some(Vec::new());
        }
        u32::try_from(index + 1).unwrap_or(0)
    })
}

/// Adds the key in `scratch[..key_len]` to `slot`: 1, or 0 for an empty key, an unknown
/// slot or a slot already holding [`MAX_SECRETS`] keys.
#[no_mangle]
pub extern "C" fn fw_slot_add(slot: u32, key_len: usize) -> u32 {
    FAST.with(|fast| {
        let Ok(mut fast) = fast.try_borrow_mut() else {
            return 0;
        };
        let Fast { scratch, slots, .. } = &mut *fast;
        let Some(key) = scratch.get(..key_len) else {
            return 0;
        };
        let Ok(secret) = Secret::new(key) else {
            return 0;
        };
        match slot_mut(slots, slot) {
            Some(signers) if signers.len() < MAX_SECRETS => {
                signers.push(Signer::new(&secret));
                1
            }
            _ => 0,
        }
    })
}

/// Frees `slot` (its number may be handed out again).
#[no_mangle]
pub extern "C" fn fw_slot_free(slot: u32) {
    FAST.with(|fast| {
        if let Ok(mut fast) = fast.try_borrow_mut() {
            let index = (slot as usize).wrapping_sub(1);
            if let Some(entry) = fast.slots.get_mut(index) {
                *entry = None;
            }
        }
    });
}

/// Verifies the header in `scratch[..header_len]` against the body in
/// `scratch[HEADER_AREA..HEADER_AREA + body_len]` under every key of `slot`: 0 for a
/// match, otherwise 1 `missing_prefix`, 2 `wrong_length`, 3 `malformed_hex`, 4
/// `mismatch`, 5 `empty_secret`; 255 (`FALLBACK`) for input the entry never writes.
#[no_mangle]
pub extern "C" fn fw_verify(slot: u32, header_len: usize, body_len: usize) -> u32 {
    FAST.with(|fast| {
        let Ok(mut fast) = fast.try_borrow_mut() else {
            return FALLBACK;
        };
        let Fast { scratch, slots, .. } = &mut *fast;
        let (Some(header), Some(body)) = (
            scratch.get(..header_len.min(HEADER_AREA)),
            scratch.get(HEADER_AREA..HEADER_AREA.saturating_add(body_len)),
        ) else {
            return FALLBACK;
        };
        let Ok(header) = core::str::from_utf8(header) else {
            return FALLBACK;
        };
        let Some(signers) = slot_mut(slots, slot) else {
            return FALLBACK;
        };
        code(check(signers, body, header))
    })
}

/// A new, empty slot of Standard Webhooks keys: its number (from 1), or 0 on failure.
#[cfg(feature = "wasm")]
#[no_mangle]
pub extern "C" fn fw_std_slot_new() -> u32 {
    FAST.with(|fast| {
        let Ok(mut fast) = fast.try_borrow_mut() else {
            return 0;
        };
        let index = match fast.std_slots.iter().position(Option::is_none) {
            Some(free) => free,
            None => {
                fast.std_slots.push(None);
                fast.std_slots.len() - 1
            }
        };
        if let Some(entry) = fast.std_slots.get_mut(index) {
            *entry = Some(StdSlot {
                secrets: Vec::new(),
                keyed: None,
            });
        }
        u32::try_from(index + 1).unwrap_or(0)
    })
}

/// Adds the `whsec_...` secret in `scratch[..len]` (UTF-8) to a Standard Webhooks slot:
/// 1; 2 when it is not `whsec_` + base64 and 3 when its key is empty
/// ([`Secret::from_standard`]); 0 when the slot is unknown or already keyed, or holds
/// [`MAX_SECRETS`] secrets.
#[cfg(feature = "wasm")]
#[no_mangle]
pub extern "C" fn fw_std_slot_add(slot: u32, len: usize) -> u32 {
    FAST.with(|fast| {
        let Ok(mut fast) = fast.try_borrow_mut() else {
            return 0;
        };
        let Fast {
            scratch, std_slots, ..
        } = &mut *fast;
        let Some(Ok(text)) = scratch.get(..len).map(core::str::from_utf8) else {
            return 0;
        };
        let secret = match Secret::from_standard(text) {
            Ok(secret) => secret,
            Err(SecretError::Empty) => return 3,
            Err(_) => return 2,
        };
        match std_slots
            .get_mut((slot as usize).wrapping_sub(1))
            .and_then(Option::as_mut)
        {
            Some(entry) if entry.keyed.is_none() && entry.secrets.len() < MAX_SECRETS => {
                entry.secrets.push(secret);
                1
            }
            _ => 0,
        }
    })
}

/// Frees a Standard Webhooks slot.
#[cfg(feature = "wasm")]
#[no_mangle]
pub extern "C" fn fw_std_slot_free(slot: u32) {
    FAST.with(|fast| {
        if let Ok(mut fast) = fast.try_borrow_mut() {
            if let Some(entry) = fast.std_slots.get_mut((slot as usize).wrapping_sub(1)) {
                *entry = None;
            }
        }
    });
}

/// Verifies a Standard Webhooks request: `webhook-id`, `webhook-timestamp`,
/// `webhook-signature` and the body one after the other from the start of the scratch
/// region (a header length of `usize::MAX`, `-1` from JavaScript, is an absent header,
/// which takes no room); `now` in Unix seconds (an integer), `tolerance` in seconds or
/// negative for the default. 0 for a match, otherwise 1 `missing_header`,
/// 2 `malformed_timestamp`, 3 `too_old`, 4 `too_new`, 5 `malformed_signature`,
/// 6 `no_matching_signature`, 7 `empty_secret` (also for an unknown slot); 255 for
/// lengths past the scratch region or a header that is not UTF-8.
#[cfg(feature = "wasm")]
#[no_mangle]
pub extern "C" fn fw_std_verify(
    slot: u32,
    id_len: usize,
    ts_len: usize,
    sig_len: usize,
    body_len: usize,
    now: f64,
    tolerance: f64,
) -> u32 {
    FAST.with(|fast| {
        let Ok(mut fast) = fast.try_borrow_mut() else {
            return FALLBACK;
        };
        let Fast {
            scratch, std_slots, ..
        } = &mut *fast;
        let mut at = 0;
        let mut header = |len: usize| -> Result<Option<&str>, ()> {
            if len == ABSENT {
                return Ok(None);
            }
            let bytes = take(scratch, &mut at, len).ok_or(())?;
            core::str::from_utf8(bytes).map(Some).map_err(|_| ())
        };
        let (Ok(id), Ok(timestamp), Ok(signature)) =
            (header(id_len), header(ts_len), header(sig_len))
        else {
            return FALLBACK;
        };
        let Some(body) = take(scratch, &mut at, body_len) else {
            return FALLBACK;
        };
        let Some(wh) = keyed_std(std_slots, slot) else {
            return 7;
        };
        // `now` and `tolerance` were checked by the entry (finite, |now| < 1e11, tolerance
        // a non-negative integer below 1e11, or -1), so the casts are exact.
        wh.set_tolerance_secs(if tolerance < 0.0 {
            DEFAULT_TOLERANCE_SECS
        } else {
            tolerance as u64
        });
        let headers = Headers {
            id,
            timestamp,
            signature,
        };
        match wh.verify(&headers, body, now as i64) {
            Ok(()) => OK,
            Err(StandardError::MissingHeader(_)) => 1,
            Err(StandardError::MalformedTimestamp) => 2,
            Err(StandardError::TooOld) => 3,
            Err(StandardError::TooNew) => 4,
            Err(StandardError::MalformedSignature) => 5,
            Err(StandardError::NoMatchingSignature) => 6,
            Err(StandardError::EmptySecret) => 7,
        }
    })
}

/// `scratch[*at..*at + len]`, moving `at` past it; `None` past the end.
#[cfg(feature = "wasm")]
fn take<'a>(scratch: &'a [u8], at: &mut usize, len: usize) -> Option<&'a [u8]> {
    let end = at.checked_add(len)?;
    let bytes = scratch.get(*at..end)?;
    *at = end;
    Some(bytes)
}

/// The keyed value of a Standard Webhooks slot (keyed on first use); `None` for an
/// unknown slot or one without secrets.
#[cfg(feature = "wasm")]
fn keyed_std(std_slots: &mut [Option<StdSlot>], slot: u32) -> Option<&mut StandardWebhook> {
    let entry = std_slots
        .get_mut((slot as usize).wrapping_sub(1))?
        .as_mut()?;
    if entry.keyed.is_none() {
        entry.keyed = StandardWebhook::new(&entry.secrets).ok();
    }
    entry.keyed.as_mut()
}

/// The address of the last text answer (`fw_sign`, `fw_std_sign`, `fw_artifacts`).
#[cfg(feature = "wasm")]
#[no_mangle]
pub extern "C" fn fw_out() -> usize {
    FAST.with(|fast| fast.try_borrow().map_or(0, |f| f.out.as_ptr() as usize))
}

/// Stores `text` as the answer: its length, or -1 when it cannot be stored.
#[cfg(feature = "wasm")]
fn answer(out: &mut Vec<u8>, text: &[u8]) -> i32 {
    out.clear();
    if out.try_reserve_exact(text.len()).is_err() {
        return -1;
    }
    out.extend_from_slice(text);
    i32::try_from(text.len()).unwrap_or(-1)
}

/// Signs the body at `scratch[HEADER_AREA..HEADER_AREA + body_len]` with the first key of
/// `slot`: the `X-Foreman-Signature` value (`sha256=<hex>`) as the answer ([`fw_out`]),
/// its length; -1 for an unknown or empty slot.
#[cfg(feature = "wasm")]
#[no_mangle]
pub extern "C" fn fw_sign(slot: u32, body_len: usize) -> i32 {
    FAST.with(|fast| {
        let Ok(mut fast) = fast.try_borrow_mut() else {
            return -1;
        };
        let Fast {
            scratch,
            slots,
            out,
            ..
        } = &mut *fast;
        let Some(body) = scratch.get(HEADER_AREA..HEADER_AREA.saturating_add(body_len)) else {
            return -1;
        };
        match slot_mut(slots, slot).and_then(|s| s.first()) {
            Some(signer) => answer(out, signer.sign(body).header_value().as_bytes()),
            None => -1,
        }
    })
}

/// The `webhook-signature` value for message `id` (`scratch[..id_len]`, UTF-8) sent at
/// `timestamp` (an integer, checked by the entry) with the body that follows it, under
/// every secret of the Standard Webhooks `slot`: its length as the answer ([`fw_out`]);
/// -1 for an unknown or empty slot.
#[cfg(feature = "wasm")]
#[no_mangle]
pub extern "C" fn fw_std_sign(slot: u32, id_len: usize, timestamp: f64, body_len: usize) -> i32 {
    FAST.with(|fast| {
        let Ok(mut fast) = fast.try_borrow_mut() else {
            return -1;
        };
        let Fast {
            scratch,
            std_slots,
            out,
            ..
        } = &mut *fast;
        let mut at = 0;
        let Some(Ok(id)) = take(scratch, &mut at, id_len).map(core::str::from_utf8) else {
            return -1;
        };
        let Some(body) = take(scratch, &mut at, body_len) else {
            return -1;
        };
        match keyed_std(std_slots, slot) {
            Some(wh) => answer(out, wh.sign(id, timestamp as i64, body).as_bytes()),
            None => -1,
        }
    })
}

/// `formatArtifacts` (`plan` = 0: the artifacts JSON, `null` for none) or `planArtifacts`
/// (`plan` = 1: the placement codes, comma-separated) of the list encoded in
/// `scratch[..len]` by the entry (js/full.js, `encodeArtifacts`): all numbers
/// little-endian, `u32` job id length + UTF-8; `u32` count; per artifact `u32` name
/// length + UTF-8, `u32` content type length + UTF-8, `f64` size, `u32` data length
/// (`u32::MAX`: no data) + bytes. The answer's length ([`fw_out`]), or -1 for an encoding
/// that does not parse.
#[cfg(feature = "wasm")]
#[no_mangle]
pub extern "C" fn fw_artifacts(plan: u32, len: usize, per_artifact: f64, budget: f64) -> i32 {
    FAST.with(|fast| {
        let Ok(mut fast) = fast.try_borrow_mut() else {
            return -1;
        };
        let Fast { scratch, out, .. } = &mut *fast;
        let Some(input) = scratch.get(..len) else {
            return -1;
        };
        let Some((job_id, list)) = decode_artifacts(input) else {
            return -1;
        };
        // Sizes and limits were checked by the entry: safe integers, so the casts are exact.
        let limits = InlineLimits {
            per_artifact: per_artifact as u64,
            budget: budget as u64,
        };
        if plan == 0 {
            let json = crate::artifacts_json(job_id, &list, &limits);
            answer(out, json.as_deref().unwrap_or("null").as_bytes())
        } else {
            let mut codes = String::new();
            for (i, p) in crate::plan_artifacts(&list, &limits).iter().enumerate() {
                if i > 0 {
                    codes.push(',');
                }
                codes.push_str(p.code());
            }
            answer(out, codes.as_bytes())
        }
    })
}

/// The job id and artifacts of [`fw_artifacts`]' encoding; `None` if it does not parse.
#[cfg(feature = "wasm")]
fn decode_artifacts(input: &[u8]) -> Option<(&str, Vec<Artifact<'_>>)> {
    let mut at = 0;
    let word = |at: &mut usize| -> Option<u32> {
        let b = take(input, at, 4)?;
        Some(u32::from_le_bytes(b.try_into().ok()?))
    };
    let text = |at: &mut usize, len: u32| -> Option<&str> {
        core::str::from_utf8(take(input, at, len as usize)?).ok()
    };
    let n = word(&mut at)?;
    let job_id = text(&mut at, n)?;
    let count = word(&mut at)?;
    let mut list = Vec::new();
    for _ in 0..count {
        let n = word(&mut at)?;
        let name = text(&mut at, n)?;
        let n = word(&mut at)?;
        let content_type = text(&mut at, n)?;
        let size = f64::from_le_bytes(take(input, &mut at, 8)?.try_into().ok()?) as u64;
        let n = word(&mut at)?;
        let data = if n == u32::MAX {
            None
        } else {
            Some(take(input, &mut at, n as usize)?)
        };
        list.push(Artifact {
            name,
            content_type,
            size,
            data,
        });
    }
    Some((job_id, list))
}

fn slot_mut(slots: &mut [Option<Vec<Signer>>], slot: u32) -> Option<&mut Vec<Signer>> {
    slots.get_mut((slot as usize).wrapping_sub(1))?.as_mut()
}

/// [`check`] with the MACs already computed by the runtime's own HMAC (the main entries
/// do so under Bun, whose BoringSSL computes them faster than this module in JavaScriptCore:
/// see js/full.js `nativeHmac`): the header parsed by the core, then every MAC compared
/// with it in constant time, all of them tried.
#[cfg(feature = "wasm")]
fn check_macs(macs: &[u8], header: &str) -> Result<(), VerifyError> {
    if macs.is_empty() {
        return Err(VerifyError::EmptySecret);
    }
    let sig: Signature = header.parse()?;
    let mut ok = subtle::Choice::from(0u8);
    for mac in macs.chunks(32) {
        ok |= subtle::ConstantTimeEq::ct_eq(&sig.as_bytes()[..], mac);
    }
    if bool::from(ok) {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}

/// [`crate::verify_any`] with keys already keyed: every key is tried.
fn check(signers: &[Signer], body: &[u8], header: &str) -> Result<(), VerifyError> {
    if signers.is_empty() {
        return Err(VerifyError::EmptySecret);
    }
    let sig: Signature = header.parse()?;
    let mut ok = subtle::Choice::from(0u8);
    for signer in signers {
        let matched = signer.verify_parsed(body, &sig).is_ok();
        ok |= subtle::Choice::from(u8::from(matched));
    }
    if bool::from(ok) {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}

fn code(answer: Result<(), VerifyError>) -> u32 {
    match answer {
        Ok(()) => OK,
        Err(VerifyError::MissingPrefix) => 1,
        Err(VerifyError::WrongLength) => 2,
        Err(VerifyError::MalformedHex) => 3,
        Err(VerifyError::Mismatch) => 4,
        Err(VerifyError::EmptySecret) => 5,
    }
}

#[cfg(test)]
mod tests {
    //! The raw exports as the package's JavaScript calls them, under wasm-bindgen-test
    //! (Node and Chromium). Expected values are published examples (GitHub's
    //! X-Hub-Signature-256 example, the Standard Webhooks specification's), not computed
    //! here; every JavaScript entry is tested over the same exports by tests/js.

    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;

    // https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
    const BODY: &[u8] = b"Hello, World!";
    const KEY: &[u8] = b"It's a Secret to Everybody";
    const GOOD: &str = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    // https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
    const STD_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const STD_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const STD_TS: &str = "1614265330";
    const STD_BODY: &[u8] = br#"{"test": 2432232314}"#;
    const STD_SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    /// Writes `parts` one after the other from `at` in the scratch region.
    fn put(at: usize, parts: &[&[u8]]) {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        assert_ne!(fw_scratch(HEADER_AREA + at + len), 0);
        FAST.with(|f| {
            let mut f = f.borrow_mut();
            let mut i = at;
            for p in parts {
                f.scratch[i..i + p.len()].copy_from_slice(p);
                i += p.len();
            }
        });
    }

    fn out(len: i32) -> String {
        let len = usize::try_from(len).expect("an answer");
        FAST.with(|f| String::from_utf8(f.borrow().out[..len].to_vec()).unwrap())
    }

    fn slot(keys: &[&[u8]]) -> u32 {
        let slot = fw_slot_new();
        for k in keys {
            put(0, &[k]);
            assert_eq!(fw_slot_add(slot, k.len()), 1);
        }
        slot
    }

    fn std_slot(secrets: &[&str]) -> Result<u32, u32> {
        let slot = fw_std_slot_new();
        for s in secrets {
            put(0, &[s.as_bytes()]);
            match fw_std_slot_add(slot, s.len()) {
                1 => {}
                code => {
                    fw_std_slot_free(slot);
                    return Err(code);
                }
            }
        }
        Ok(slot)
    }

    #[wasm_bindgen_test]
    fn verify_answers_every_reason_and_tries_every_key() {
        let s = slot(&[b"old", KEY]);
        for (header, code) in [
            (GOOD, 0),
            ("", 1),
            ("sha256=zz", 2),
            (&GOOD.replace('7', "g")[..], 3),
            (&GOOD.replace('7', "8")[..], 4),
        ] {
            put(0, &[header.as_bytes()]);
            put(HEADER_AREA, &[BODY]);
            assert_eq!(fw_verify(s, header.len(), BODY.len()), code, "{header}");
        }
        fw_slot_free(s);
        let empty = fw_slot_new();
        assert_eq!(fw_verify(empty, 0, 0), 5);
        assert_eq!(fw_slot_add(empty, 0), 0, "an empty key is refused");
        assert_eq!(fw_verify(9999, 0, 0), FALLBACK, "an unknown slot");
        assert_eq!(
            fw_verify(empty, usize::MAX, usize::MAX),
            FALLBACK,
            "lengths past the region"
        );
    }

    // The MACs a runtime computed (the Bun path of the main entries): the published
    // example's MAC bytes, decoded from its hex here, not computed.
    #[wasm_bindgen_test]
    fn verify_macs_answers_every_reason_and_tries_every_mac() {
        let good: Vec<u8> = (7..GOOD.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&GOOD[i..i + 2], 16).unwrap())
            .collect();
        let other = [0x55u8; 32];
        for (header, macs, count, code) in [
            (GOOD, &[&good[..]][..], 1, 0),
            (GOOD, &[&other[..], &good[..]][..], 2, 0),
            (GOOD, &[&other[..]][..], 1, 4),
            ("", &[&good[..]][..], 1, 1),
            ("sha256=zz", &[&good[..]][..], 1, 2),
            (&GOOD.replace('7', "g")[..], &[&good[..]][..], 1, 3),
            (GOOD, &[][..], 0, FALLBACK),
        ] {
            put(0, &[header.as_bytes()]);
            put(HEADER_AREA + 5, macs);
            assert_eq!(
                fw_verify_macs(header.len(), 5, count),
                code,
                "{header}, {count} MACs"
            );
        }
        assert_eq!(
            fw_verify_macs(0, usize::MAX, 1),
            FALLBACK,
            "past the region"
        );
        assert_eq!(fw_verify_macs(0, 0, MAX_SECRETS + 1), FALLBACK, "too many");
    }

    #[wasm_bindgen_test]
    fn sign_gives_the_published_header() {
        let s = slot(&[KEY]);
        put(HEADER_AREA, &[BODY]);
        assert_eq!(out(fw_sign(s, BODY.len())), GOOD);
        assert_eq!(fw_sign(s, usize::MAX), -1);
        fw_slot_free(s);
        assert_eq!(fw_sign(s, 0), -1, "a freed slot");
    }

    #[wasm_bindgen_test]
    fn standard_webhooks_verify_and_sign_the_spec_example() {
        let s = std_slot(&[STD_SECRET]).unwrap();
        let now = 1_614_265_330.0;
        let verify = |sig: &str, now: f64, tol: f64| {
            put(
                0,
                &[
                    STD_ID.as_bytes(),
                    STD_TS.as_bytes(),
                    sig.as_bytes(),
                    STD_BODY,
                ],
            );
            fw_std_verify(
                s,
                STD_ID.len(),
                STD_TS.len(),
                sig.len(),
                STD_BODY.len(),
                now,
                tol,
            )
        };
        assert_eq!(verify(STD_SIG, now, -1.0), 0);
        assert_eq!(verify("v1,AAAA", now, -1.0), 6);
        assert_eq!(verify("junk", now, -1.0), 5);
        assert_eq!(verify(STD_SIG, now + 301.0, -1.0), 3);
        assert_eq!(verify(STD_SIG, now + 301.0, 400.0), 0);
        assert_eq!(verify(STD_SIG, now - 301.0, -1.0), 4);
        put(0, &[STD_ID.as_bytes(), STD_BODY]);
        let absent = usize::MAX;
        assert_eq!(
            fw_std_verify(s, STD_ID.len(), absent, absent, 0, now, -1.0),
            1
        );
        put(0, &[STD_ID.as_bytes(), STD_BODY]);
        let len = fw_std_sign(s, STD_ID.len(), now, STD_BODY.len());
        assert_eq!(out(len), STD_SIG);
        fw_std_slot_free(s);
        assert_eq!(std_slot(&["whsec_!!"]), Err(2));
        assert_eq!(std_slot(&[""]), Err(3));
        let none = std_slot(&[]).unwrap();
        assert_eq!(fw_std_verify(none, 0, 0, 0, 0, now, -1.0), 7);
        assert_eq!(fw_std_sign(none, 0, now, 0), -1);
    }

    /// The encoding of js/full.js `artifactsIn`.
    fn artifacts(job: &str, list: &[(&str, &str, f64, Option<&[u8]>)]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&(job.len() as u32).to_le_bytes());
        v.extend_from_slice(job.as_bytes());
        v.extend_from_slice(&(list.len() as u32).to_le_bytes());
        for (name, ct, size, data) in list {
            v.extend_from_slice(&(name.len() as u32).to_le_bytes());
            v.extend_from_slice(name.as_bytes());
            v.extend_from_slice(&(ct.len() as u32).to_le_bytes());
            v.extend_from_slice(ct.as_bytes());
            v.extend_from_slice(&size.to_le_bytes());
            match data {
                Some(d) => {
                    v.extend_from_slice(&(d.len() as u32).to_le_bytes());
                    v.extend_from_slice(d);
                }
                None => v.extend_from_slice(&u32::MAX.to_le_bytes()),
            }
        }
        v
    }

    #[wasm_bindgen_test]
    fn artifacts_json_and_plan() {
        let input = artifacts(
            "job 7",
            &[
                ("out.txt", "text/plain", 5.0, Some(b"hello")),
                ("model.bin", "application/octet-stream", 10_485_760.0, None),
            ],
        );
        put(0, &[&input]);
        let limit = 262_144.0;
        assert_eq!(
            out(fw_artifacts(0, input.len(), limit, limit)),
            concat!(
                r#"[{"name":"out.txt","content_type":"text/plain","size":5,"data":"hello"},"#,
                r#"{"name":"model.bin","content_type":"application/octet-stream","size":10485760,"#,
                r#""url":"/jobs/job%207/artifacts/model.bin"}]"#
            )
        );
        put(0, &[&input]);
        assert_eq!(
            out(fw_artifacts(1, input.len(), limit, limit)),
            "inline_text,url_no_data"
        );
        let none = artifacts("j", &[]);
        put(0, &[&none]);
        assert_eq!(out(fw_artifacts(0, none.len(), limit, limit)), "null");
        put(0, &[&none]);
        assert_eq!(out(fw_artifacts(1, none.len(), limit, limit)), "");
        // A truncated encoding is refused, never read past.
        put(0, &[&input]);
        assert_eq!(fw_artifacts(0, input.len() - 1, limit, limit), -1);
    }
}

//! The hot path of `verifySignature`, `verifySignatureReason` and `createVerifier`: raw
//! exports over numbers only (no wasm-bindgen conversion, no allocation per call).
//!
//! Measured reason (perf/node-verify.mjs, issue 14): two thirds of a 256-byte call through
//! the wasm-bindgen exports was per-call work that does not depend on the body (the header
//! and the secret converted into wasm memory, HMAC keyed from the secret). Here the
//! JavaScript entry (scripts/assemble-pkg.mjs) keeps one scratch region of this module's
//! memory: it writes the header (`TextEncoder.encodeInto`, at most [`HEADER_AREA`] bytes)
//! at its start and the body (`encodeInto` or `Uint8Array#set`) at [`HEADER_AREA`], then
//! calls [`fw_verify`] with a slot of HMAC states keyed once per secret set.
//!
//! Every answer is the core's: the header is parsed by [`Signature`]'s `FromStr` and each
//! key checked by [`Signer::verify_parsed`], all keys tried as in [`crate::verify_any`].
//! Anything unusual (a non-string header, another body type, a large body) never reaches
//! this module: the entry takes the general, wasm-bindgen path for it.

use std::cell::RefCell;

use crate::signature::{Signature, Signer, VerifyError};
#[cfg(feature = "wasm")]
use crate::standard::{Headers, StandardError, StandardWebhook, DEFAULT_TOLERANCE_SECS};
use crate::{Secret, MAX_SECRETS};

/// The global allocator of the verify-only module (with `wasm`, src/wasm.rs sets it).
// SAFETY: without the `atomics` target feature a wasm32 module runs on one thread.
#[cfg(all(not(feature = "wasm"), not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };

/// Bytes reserved for the header at the start of the scratch region (128 UTF-16 units of
/// UTF-8); the body starts here.
pub const HEADER_AREA: usize = 1024;

/// Where the Standard Webhooks headers go in the header area: `webhook-id` at 0 (at most
/// 256 bytes), `webhook-timestamp` at [`STD_TS_AT`] (64), `webhook-signature` at
/// [`STD_SIG_AT`] (704).
#[cfg(feature = "wasm")]
pub const STD_TS_AT: usize = 256;
/// See [`STD_TS_AT`].
#[cfg(feature = "wasm")]
pub const STD_SIG_AT: usize = 320;

/// The answer codes of [`fw_verify`], in the order the entry maps them to reason strings.
const OK: u32 = 0;
/// The entry must take the general path (the header was not valid UTF-8).
const FALLBACK: u32 = 255;

struct Fast {
    scratch: Vec<u8>,
    slots: Vec<Option<Vec<Signer>>>,
    #[cfg(feature = "wasm")]
    std_slots: Vec<Option<StdSlot>>,
}

#[cfg(feature = "wasm")]
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
/// `mismatch`, 5 `empty_secret`; 255 when the entry must take the general path.
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
/// 1, or 0 when it does not parse ([`Secret::from_standard`]), the slot is unknown or
/// already keyed, or holds [`MAX_SECRETS`] secrets.
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
        let Ok(secret) = Secret::from_standard(text) else {
            return 0;
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

/// Verifies a Standard Webhooks request: `webhook-id` in `scratch[..id_len]`,
/// `webhook-timestamp` at [`STD_TS_AT`], `webhook-signature` at [`STD_SIG_AT`], the body
/// at [`HEADER_AREA`]; `now` in Unix seconds (an integer), `tolerance` in seconds or
/// negative for the default. 0 for a match, otherwise 1 `missing_header`,
/// 2 `malformed_timestamp`, 3 `too_old`, 4 `too_new`, 5 `malformed_signature`,
/// 6 `no_matching_signature`, 7 `empty_secret`; 255 when the entry must take the general
/// path.
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
        let text = |at: usize, len: usize, room: usize| {
            scratch
                .get(at..at + len.min(room))
                .and_then(|b| core::str::from_utf8(b).ok())
        };
        let (Some(id), Some(ts), Some(sig), Some(body)) = (
            text(0, id_len, STD_TS_AT),
            text(STD_TS_AT, ts_len, STD_SIG_AT - STD_TS_AT),
            text(STD_SIG_AT, sig_len, HEADER_AREA - STD_SIG_AT),
            scratch.get(HEADER_AREA..HEADER_AREA.saturating_add(body_len)),
        ) else {
            return FALLBACK;
        };
        let Some(entry) = std_slots
            .get_mut((slot as usize).wrapping_sub(1))
            .and_then(Option::as_mut)
        else {
            return FALLBACK;
        };
        if entry.keyed.is_none() {
            match StandardWebhook::new(&entry.secrets) {
                Ok(wh) => entry.keyed = Some(wh),
                Err(_) => return 7,
            }
        }
        let Some(wh) = entry.keyed.as_mut() else {
            return FALLBACK;
        };
        // `now` and `tolerance` were checked by the entry (finite, |now| < 1e11, tolerance
        // a non-negative integer below 1e11, or -1), so the casts are exact.
        wh.set_tolerance_secs(if tolerance < 0.0 {
            DEFAULT_TOLERANCE_SECS
        } else {
            tolerance as u64
        });
        let headers = Headers {
            id: Some(id),
            timestamp: Some(ts),
            signature: Some(sig),
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

fn slot_mut(slots: &mut [Option<Vec<Signer>>], slot: u32) -> Option<&mut Vec<Signer>> {
    slots.get_mut((slot as usize).wrapping_sub(1))?.as_mut()
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

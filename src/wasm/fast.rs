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
use crate::{Secret, MAX_SECRETS};

/// Bytes reserved for the header at the start of the scratch region (128 UTF-16 units of
/// UTF-8); the body starts here.
pub const HEADER_AREA: usize = 384;

/// The answer codes of [`fw_verify`], in the order the entry maps them to reason strings.
const OK: u32 = 0;
/// The entry must take the general path (the header was not valid UTF-8).
const FALLBACK: u32 = 255;

struct Fast {
    scratch: Vec<u8>,
    slots: Vec<Option<Vec<Signer>>>,
}

thread_local! {
    static FAST: RefCell<Fast> = const {
        RefCell::new(Fast { scratch: Vec::new(), slots: Vec::new() })
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
        let Fast { scratch, slots } = &mut *fast;
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
        let Fast { scratch, slots } = &mut *fast;
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

//! Standard Webhooks for JavaScript: `verifyStandardWebhook`,
//! `verifyStandardWebhookReason` and `signStandardWebhook`, converters over
//! [`crate::standard`]. Synchronous in every runtime (Web Crypto's HMAC is async-only).

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::js::{self, is_array, Dynamic};
use super::{body_bytes, describe, type_error, MAX_HEADER_LINES};
use crate::standard::{Headers, StandardWebhook, ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use crate::{Secret, SecretError};

const HEADERS_FIX: &str = "headers must be a Headers instance or a plain object of header \
    names to values (e.g. Node's req.headers)";
const STD_SECRET_FIX: &str =
    "secret must be a `whsec_...` string or an array of them (key rotation)";
const OPTIONS_FIX: &str = "options must be { toleranceSeconds?: number, now?: number | Date } \
    with `now` in Unix seconds (Date.now() / 1000) or a Date";

/// `true` iff the request carries a valid Standard Webhooks signature (`webhook-id`,
/// `webhook-timestamp`, `webhook-signature`) of `body` under any of `secret`, with a
/// timestamp within the tolerance (300 s by default) of `options.now` (default: the
/// current time). Missing or malformed headers give `false`, never an exception.
///
/// # Errors
/// `TypeError` for a caller's mistake: wrong `headers`, `body`, `secret` or `options` type.
#[wasm_bindgen(js_name = verifyStandardWebhook)]
pub fn verify_standard_webhook(
    headers: &JsValue,
    body: &JsValue,
    secret: &JsValue,
    options: &JsValue,
) -> Result<bool, JsValue> {
    Ok(reason(headers, body, secret, options)? == crate::reason::OK)
}

/// Like `verifyStandardWebhook`, but says why: `"ok"`, `"missing_header"`,
/// `"malformed_timestamp"`, `"too_old"`, `"too_new"`, `"malformed_signature"`,
/// `"no_matching_signature"`, `"empty_secret"` or `"malformed_secret"`. Safe to log.
///
/// # Errors
/// As `verifyStandardWebhook`.
#[wasm_bindgen(js_name = verifyStandardWebhookReason)]
pub fn verify_standard_webhook_reason(
    headers: &JsValue,
    body: &JsValue,
    secret: &JsValue,
    options: &JsValue,
) -> Result<String, JsValue> {
    reason(headers, body, secret, options).map(str::to_owned)
}

/// The `webhook-signature` value for `body` sent as message `id` at `timestamp` (Unix
/// seconds): one `v1,<base64>` entry per secret, space-separated.
///
/// # Errors
/// `TypeError` when an argument has the wrong type, a secret is not `whsec_` + base64 of
/// a non-empty key, or `timestamp` is not a non-negative integer number of seconds.
#[wasm_bindgen(js_name = signStandardWebhook)]
pub fn sign_standard_webhook(
    id: &JsValue,
    timestamp: &JsValue,
    body: &JsValue,
    secret: &JsValue,
) -> Result<String, JsValue> {
    let id = id.as_string().ok_or_else(|| {
        type_error(&["id must be a string (the webhook-id), got ", &describe(id)])
    })?;
    let ts = timestamp
        .as_f64()
        .filter(|t| t.fract() == 0.0 && (0.0..1e11).contains(t))
        .ok_or_else(|| {
            type_error(&[
                "timestamp must be an integer number of Unix seconds (Math.floor(Date.now() / 1000))",
            ])
        })? as i64;
    let secrets = secrets(secret)?;
    let body = body_bytes(body)?;
    let secrets = secrets.map_err(|e| type_error(&[e.message()]))?;
    let wh = StandardWebhook::new(&secrets)
        .map_err(|_| type_error(&["at least one secret is needed to sign"]))?;
    Ok(wh.sign(&id, ts, &body))
}

fn reason(
    headers: &JsValue,
    body: &JsValue,
    secret: &JsValue,
    options: &JsValue,
) -> Result<&'static str, JsValue> {
    // Every JavaScript input is read before the body is copied in (a getter cannot
    // detach the body's buffer after it was measured).
    let id = header(headers, ID_HEADER)?;
    let ts = header(headers, TIMESTAMP_HEADER)?;
    let sig = header(headers, SIGNATURE_HEADER)?;
    let (tolerance, now) = read_options(options)?;
    let secrets = secrets(secret)?;
    let body = body_bytes(body)?;
    let secrets = match secrets {
        Ok(s) => s,
        Err(e) => return Ok(e.code()),
    };
    let Ok(mut wh) = StandardWebhook::new(&secrets) else {
        return Ok(crate::reason::EMPTY_SECRET);
    };
    if let Some(t) = tolerance {
        wh = wh.with_tolerance_secs(t);
    }
    let headers = Headers {
        id: id.as_deref(),
        timestamp: ts.as_deref(),
        signature: sig.as_deref(),
    };
    Ok(match wh.verify(&headers, &body, now) {
        Ok(()) => crate::reason::OK,
        Err(e) => e.code(),
    })
}

/// `secret` as parsed Standard Webhooks keys; the outer error is a thrown TypeError.
fn secrets(secret: &JsValue) -> Result<Result<Vec<Secret>, SecretError>, JsValue> {
    let strings: Vec<String> = if let Some(s) = secret.as_string() {
        vec![s]
    } else if is_array(secret).map_err(|_| type_error(&[STD_SECRET_FIX]))? {
        let len = js::length(secret).map_err(|_| type_error(&[STD_SECRET_FIX]))?;
        if len as usize > crate::MAX_SECRETS {
            return Err(type_error(&[crate::reason::TOO_MANY_SECRETS_MESSAGE]));
        }
        let mut out = Vec::new();
        for i in 0..len {
            let item = js::get_index(secret, i).map_err(|_| type_error(&[STD_SECRET_FIX]))?;
            out.push(
                item.as_string()
                    .ok_or_else(|| type_error(&[STD_SECRET_FIX, ", got ", &describe(&item)]))?,
            );
        }
        out
    } else {
        return Err(type_error(&[STD_SECRET_FIX, ", got ", &describe(secret)]));
    };
    Ok(strings.iter().map(|s| Secret::from_standard(s)).collect())
}

/// One header's value from a `Headers`-like object (anything with a `get` method) or a
/// plain object (name matched case-insensitively; an array value is several lines of one
/// header, joined by the core's `receive::join_lines` rule). Absent or non-string: `None`.
fn header(headers: &JsValue, name: &str) -> Result<Option<String>, JsValue> {
    if !headers.is_object() || headers.is_function() {
        return Err(type_error(&[HEADERS_FIX, ", got ", &describe(headers)]));
    }
    let bad = |_| type_error(&[HEADERS_FIX, " (reading it threw)"]);
    let get = js::get(headers, "get").map_err(bad)?;
    // `typeof`, not `instanceof Function`: a Headers object from another realm (Next.js's
    // edge sandbox) has a `get` that is not an instance of this realm's Function.
    let value = if get.is_function() {
        get.unchecked_ref::<Dynamic>()
            .call1(headers, &JsValue::from_str(name))
            .map_err(bad)?
    } else {
        let mut found = JsValue::UNDEFINED;
        for key in js::keys(headers).map_err(bad)? {
            if key
                .as_string()
                .is_some_and(|k| k.eq_ignore_ascii_case(name))
            {
                found = js::get_value(headers, &key).map_err(bad)?;
                break;
            }
        }
        found
    };
    if let Some(s) = value.as_string() {
        return Ok(Some(s));
    }
    // An array value (repeated lines, e.g. `req.headersDistinct`) is joined by the core's
    // rule; an entry that cannot be read is attacker-controlled junk, left out.
    if is_array(&value).unwrap_or(false) {
        let len = js::length(&value).unwrap_or(0).min(MAX_HEADER_LINES);
        let lines = (0..len).filter_map(|i| js::get_index(&value, i).ok()?.as_string());
        return Ok(crate::receive::join_lines(name, lines));
    }
    Ok(None)
}

/// `(tolerance, now)` from `{ toleranceSeconds?, now? }`; `now` defaults to the clock.
fn read_options(options: &JsValue) -> Result<(Option<u64>, i64), JsValue> {
    let clock = || {
        js::date_now()
            .map(|ms| (ms / 1000.0).floor() as i64)
            .map_err(|_| type_error(&["Date.now() threw: pass options.now (Unix seconds)"]))
    };
    if options.is_undefined() || options.is_null() {
        return Ok((None, clock()?));
    }
    if !options.is_object() {
        return Err(type_error(&[OPTIONS_FIX, ", got ", &describe(options)]));
    }
    let bad = |_| type_error(&[OPTIONS_FIX]);
    let tol = js::get(options, "toleranceSeconds").map_err(bad)?;
    let tolerance = if tol.is_undefined() {
        None
    } else {
        Some(
            tol.as_f64()
                .filter(|t| t.fract() == 0.0 && (0.0..1e11).contains(t))
                .ok_or_else(|| {
                    type_error(&[
                        OPTIONS_FIX,
                        ": toleranceSeconds must be a non-negative integer",
                    ])
                })? as u64,
        )
    };
    let now = js::get(options, "now").map_err(bad)?;
    let now = if now.is_undefined() {
        clock()?
    } else if now.is_object() {
        // A Date, of any realm; getTime() throws for anything else (a proxy of a Date,
        // Object.create(Date.prototype), a plain object).
        let ms = now
            .unchecked_ref::<Dynamic>()
            .get_time()
            .ok()
            .and_then(|t| t.as_f64())
            .ok_or_else(|| type_error(&[OPTIONS_FIX, ": `now` is not a real Date"]))?;
        if ms.is_nan() {
            return Err(type_error(&[OPTIONS_FIX, ": `now` is an invalid Date"]));
        }
        (ms / 1000.0).floor() as i64
    } else {
        match now.as_f64() {
            // Seconds since 1970 stay below 1e11 until the year 5138; a larger number is
            // almost certainly Date.now() in milliseconds.
            Some(n) if n.is_finite() && n.abs() < 1e11 => n.floor() as i64,
            Some(n) if n.is_finite() => {
                return Err(type_error(&[
                    OPTIONS_FIX,
                    ": `now` looks like milliseconds; divide Date.now() by 1000",
                ]))
            }
            _ => return Err(type_error(&[OPTIONS_FIX])),
        }
    };
    Ok((tolerance, now))
}

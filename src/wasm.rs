//! JavaScript bindings (feature `wasm`, `wasm32` only): thin converters over the core.
//!
//! Every export takes `&JsValue` and converts it here, so that a wrong type becomes a
//! `TypeError` that names the fix instead of a silent coercion, and no JavaScript value
//! can make the module panic or trap:
//!
//! * input an attacker controls (the signature header, the body's content) only ever
//!   gives `false` or a reason code;
//! * a caller's mistake (a parsed object where the raw body belongs, a number as secret,
//!   an artifact without a name) throws a `TypeError`; an input over [`MAX_INPUT_BYTES`]
//!   throws a `RangeError` before anything is copied into wasm memory;
//! * every call into JavaScript goes through [`js`] (`catch` imports), so a JavaScript
//!   exception (a getter, a proxy, a detached buffer) never unwinds through wasm frames.
//!
//! Messages are built by concatenation, not `format!` (each `format!` call site costs
//! code in the `.wasm`, which has a size budget).
//!
//! The npm package (`js/`, assembled by `scripts/build-wasm`) re-exports every function
//! exported here from one entry per runtime; `js/index.d.ts` declares their types.

use js_sys::ArrayBuffer;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use self::js::{is_array, Dynamic};

use crate::artifacts::{INLINE_BUDGET, INLINE_MAX};
use crate::{
    artifacts_json, sign, verify_any, Artifact, InlineLimits, Secret, SecretError, VerifyError,
};

/// Largest body, secret or artifact `data` accepted: 64 MiB (for a string, of UTF-8).
/// Webhook bodies are kilobytes; the limit turns a runaway input into a `RangeError`
/// instead of an out-of-memory trap.
pub const MAX_INPUT_BYTES: usize = 64 << 20;

pub use crate::MAX_SECRETS;

/// Most lines read from an array-valued signature header (repeated header lines); the
/// rest of an attacker's 10^5-line array is ignored.
const MAX_HEADER_LINES: u32 = 64;

/// The hot path's raw exports (`fw_verify`, ...), in src/wasm/fast.rs.
mod fast;
/// The only way the bindings call JavaScript: `catch` imports.
mod js;
/// Standard Webhooks exports (`verifyStandardWebhook`, ...), in src/wasm/standard.rs.
mod standard;

const BODY_FIX: &str = "pass the raw request body (string or Uint8Array), not the parsed JSON \
     (Express: express.raw({ type: \"application/json\" }); fetch, Workers, Deno: \
     new Uint8Array(await request.arrayBuffer()))";
const SECRET_FIX: &str =
    "secret must be a string, a Uint8Array, or an array of them (key rotation)";
const ARTIFACTS_FIX: &str =
    "artifacts must be an array of { name, contentType, size, data? } objects";
const LIMITS_FIX: &str = "limits must be an object { perArtifact?, budget? } of byte counts";

// ---------------------------------------------------------------------------------------
// Exports: signatures
// ---------------------------------------------------------------------------------------

/// `true` iff `signature` (the `X-Foreman-Signature` header value, `sha256=<hex>`) is the
/// HMAC-SHA256 of `body` under `secret`, or under any of the secrets in an array.
///
/// `body` is the raw request body: a string (hashed as UTF-8), a `Uint8Array` (any
/// `ArrayBufferView`: the bytes it views) or an `ArrayBuffer`. A missing or malformed
/// signature (including a non-string) gives `false`, never an exception.
///
/// # Errors
/// `TypeError` when `body` or `secret` has the wrong type; `RangeError` when an input is
/// larger than [`MAX_INPUT_BYTES`].
#[wasm_bindgen(js_name = verifySignature)]
pub fn verify_signature(
    body: &JsValue,
    signature: &JsValue,
    secret: &JsValue,
) -> Result<bool, JsValue> {
    check(body, signature, secret).map(|r| r.is_ok())
}

/// Like [`verify_signature`], but says why: `"ok"`, `"missing_prefix"`, `"wrong_length"`,
/// `"malformed_hex"`, `"mismatch"` or `"empty_secret"` (the core's `VerifyError::code`).
/// Safe to log: it never contains the secret, the body or the signature.
///
/// # Errors
/// As [`verify_signature`].
#[wasm_bindgen(js_name = verifySignatureReason)]
pub fn verify_signature_reason(
    body: &JsValue,
    signature: &JsValue,
    secret: &JsValue,
) -> Result<String, JsValue> {
    let code = match check(body, signature, secret)? {
        Ok(()) => crate::reason::OK,
        Err(e) => e.code(),
    };
    Ok(code.to_owned())
}

/// The `X-Foreman-Signature` header value (`sha256=<64 lowercase hex>`) for `body` under
/// `secret`: what a sender puts on the request, and what tests use to sign fixtures.
///
/// # Errors
/// `TypeError` when an argument has the wrong type or the secret is empty; `RangeError`
/// when an input is larger than [`MAX_INPUT_BYTES`].
#[wasm_bindgen(js_name = signPayload)]
pub fn sign_payload(body: &JsValue, secret: &JsValue) -> Result<String, JsValue> {
    let body = body_bytes(body)?;
    let key = bytes_of(secret)?.ok_or_else(|| {
        type_error(&[
            "secret must be a string or a Uint8Array, got ",
            &describe(secret),
        ])
    })?;
    let secret =
        Secret::new(key).map_err(|_| type_error(&[crate::reason::EMPTY_SECRET_MESSAGE]))?;
    Ok(sign(&body, &secret).header_value())
}

/// The shared conversion of `verifySignature` and `verifySignatureReason`: the outer
/// `Result` is the caller's mistake (thrown), the inner one the verification answer.
fn check(
    body: &JsValue,
    signature: &JsValue,
    secret: &JsValue,
) -> Result<Result<(), VerifyError>, JsValue> {
    let keys = secret_list(secret)?;
    let header = signature_value(signature);
    let body = body_bytes(body)?;
    let secrets: Result<Vec<Secret>, SecretError> = keys.iter().map(Secret::new).collect();
    Ok(match secrets {
        Ok(secrets) => verify_any(&body, &header, &secrets),
        Err(_) => Err(VerifyError::EmptySecret),
    })
}

/// The signature header value: a string, or an array of strings (the header's lines,
/// e.g. `req.headersDistinct`), joined by the core's rule for repeated lines (so one line
/// verifies, and two lines of a header that holds one value do not). A missing header
/// (`undefined`, `null`), any other type and an entry that cannot be read are
/// attacker-controlled input: they count as empty, which the core refuses. At most
/// [`MAX_HEADER_LINES`] lines are read.
fn signature_value(signature: &JsValue) -> String {
    if let Some(s) = signature.as_string() {
        return s;
    }
    if !is_array(signature).unwrap_or(false) {
        return String::new();
    }
    let len = js::length(signature).unwrap_or(0).min(MAX_HEADER_LINES);
    let lines = (0..len).filter_map(|i| js::get_index(signature, i).ok()?.as_string());
    crate::receive::join_lines(crate::SIGNATURE_HEADER, lines).unwrap_or_default()
}

/// `secret` as a list of keys: one string or byte array, or an array of them (rotation).
fn secret_list(secret: &JsValue) -> Result<Vec<Vec<u8>>, JsValue> {
    if !is_array(secret).map_err(|_| type_error(&[SECRET_FIX]))? {
        return match bytes_of(secret)? {
            Some(key) => Ok(vec![key]),
            None => Err(type_error(&[SECRET_FIX, ", got ", &describe(secret)])),
        };
    }
    let len = array_length(secret, SECRET_FIX)?;
    if len as usize > MAX_SECRETS {
        return Err(type_error(&[crate::reason::TOO_MANY_SECRETS_MESSAGE]));
    }
    let mut keys = Vec::new();
    for i in 0..len {
        let item = js::get_index(secret, i).map_err(|_| type_error(&[SECRET_FIX]))?;
        match bytes_of(&item)? {
            Some(key) => keys.push(key),
            None => {
                return Err(type_error(&[
                    SECRET_FIX,
                    ", got ",
                    &describe(&item),
                    " at index ",
                    itoa::Buffer::new().format(i),
                ]))
            }
        }
    }
    Ok(keys)
}

// ---------------------------------------------------------------------------------------
// Exports: artifacts
// ---------------------------------------------------------------------------------------

/// The `artifacts` JSON text of a webhook payload, byte-identical to the Rust core's
/// `format_artifacts` (`"null"` for an empty array, as Go writes it).
///
/// `artifacts` is an array of `{ name, contentType, size?, data? }` (`content_type` is
/// accepted too); `data` is a string (UTF-8) or bytes; `size` defaults to the data's byte
/// length. `limits` is optional: `{ perArtifact?, budget? }` in bytes, 256 KiB each by
/// default.
///
/// # Errors
/// `TypeError` naming the artifact and the field when an input has the wrong type or a
/// size is not a non-negative integer; `RangeError` for data over [`MAX_INPUT_BYTES`].
#[wasm_bindgen(js_name = formatArtifacts)]
pub fn format_artifacts(
    job_id: &JsValue,
    artifacts: &JsValue,
    limits: &JsValue,
) -> Result<String, JsValue> {
    let job_id = job_id
        .as_string()
        .ok_or_else(|| type_error(&["jobId must be a string, got ", &describe(job_id)]))?;
    let owned = read_artifacts(artifacts)?;
    let limits = read_limits(limits)?;
    let borrowed: Vec<Artifact<'_>> = owned.iter().map(OwnedArtifact::borrow).collect();
    Ok(artifacts_json(&job_id, &borrowed, &limits).unwrap_or_else(|| "null".to_owned()))
}

/// Where `formatArtifacts` puts each artifact, and why: one of `"inline_text"`,
/// `"inline_base64"`, `"url_no_data"`, `"url_too_large"`, `"url_over_budget"` per artifact
/// (the core's `plan_artifacts`), for tools that explain the output.
///
/// # Errors
/// As `formatArtifacts`.
#[wasm_bindgen(js_name = planArtifacts)]
pub fn plan_artifacts(artifacts: &JsValue, limits: &JsValue) -> Result<js_sys::Array, JsValue> {
    let owned = read_artifacts(artifacts)?;
    let limits = read_limits(limits)?;
    let borrowed: Vec<Artifact<'_>> = owned.iter().map(OwnedArtifact::borrow).collect();
    let out = js_sys::Array::new();
    for p in crate::plan_artifacts(&borrowed, &limits) {
        js::push(&out, &JsValue::from_str(p.code()))
            .map_err(|_| type_error(&["Array.prototype.push threw (was it replaced?)"]))?;
    }
    Ok(out)
}

/// The JS array of artifacts, read into owned Rust values.
fn read_artifacts(artifacts: &JsValue) -> Result<Vec<OwnedArtifact>, JsValue> {
    if !is_array(artifacts).map_err(|_| type_error(&[ARTIFACTS_FIX]))? {
        return Err(type_error(&[ARTIFACTS_FIX, ", got ", &describe(artifacts)]));
    }
    let len = array_length(artifacts, ARTIFACTS_FIX)?;
    let mut owned = Vec::new();
    for i in 0..len {
        let item = js::get_index(artifacts, i).map_err(|_| type_error(&[ARTIFACTS_FIX]))?;
        owned.push(read_artifact(&item, itoa::Buffer::new().format(i))?);
    }
    Ok(owned)
}

/// An artifact read out of a JavaScript object.
struct OwnedArtifact {
    name: String,
    content_type: String,
    size: u64,
    data: Option<Vec<u8>>,
}

impl OwnedArtifact {
    fn borrow(&self) -> Artifact<'_> {
        Artifact {
            name: &self.name,
            content_type: &self.content_type,
            size: self.size,
            data: self.data.as_deref(),
        }
    }
}

/// Reads `artifacts[at]`: `{ name, contentType | content_type, size?, data? }`.
fn read_artifact(item: &JsValue, at: &str) -> Result<OwnedArtifact, JsValue> {
    if !item.is_object() || is_array(item).unwrap_or(true) {
        return Err(type_error(&[
            "artifacts[",
            at,
            "] must be an object { name, contentType, size, data? }, got ",
            &describe(item),
        ]));
    }
    let field = |key: &str| {
        js::get(item, key)
            .map_err(|_| type_error(&["artifacts[", at, "].", key, " could not be read"]))
    };
    let name = field("name")?.as_string().ok_or_else(|| {
        type_error(&[
            "artifacts[",
            at,
            "].name must be a string (the file name, e.g. \"report.json\")",
        ])
    })?;
    let mut content_type = field("contentType")?;
    if content_type.is_undefined() {
        content_type = field("content_type")?;
    }
    let content_type = content_type.as_string().ok_or_else(|| {
        type_error(&[
            "artifacts[",
            at,
            "].contentType must be a string (a MIME type, e.g. \"text/plain\")",
        ])
    })?;
    let data = field("data")?;
    let data = if data.is_null_or_undefined() {
        None
    } else {
        Some(bytes_of(&data)?.ok_or_else(|| {
            type_error(&[
                "artifacts[",
                at,
                "].data must be a string or a Uint8Array (or left out for a URL reference), got ",
                &describe(&data),
            ])
        })?)
    };
    let size = field("size")?;
    let size = match (non_negative_integer(&size), &data) {
        (Some(size), _) => size,
        (None, Some(data)) if size.is_undefined() => data.len() as u64,
        _ => {
            return Err(type_error(&[
                "artifacts[",
                at,
                "].size must be a non-negative integer number of bytes (it may be left out \
                 when data is given), got ",
                &describe(&size),
            ]))
        }
    };
    Ok(OwnedArtifact {
        name,
        content_type,
        size,
        data,
    })
}

/// `{ perArtifact?, budget? }`, each defaulting to 256 KiB; `undefined`/`null` for both.
fn read_limits(limits: &JsValue) -> Result<InlineLimits, JsValue> {
    let mut out = InlineLimits {
        per_artifact: INLINE_MAX,
        budget: INLINE_BUDGET,
    };
    if limits.is_null_or_undefined() {
        return Ok(out);
    }
    if !limits.is_object() {
        return Err(type_error(&[LIMITS_FIX, ", got ", &describe(limits)]));
    }
    for (key, slot) in [
        ("perArtifact", &mut out.per_artifact),
        ("budget", &mut out.budget),
    ] {
        let value = get(limits, key, LIMITS_FIX)?;
        if !value.is_undefined() {
            *slot = non_negative_integer(&value).ok_or_else(|| {
                type_error(&[
                    "limits.",
                    key,
                    " must be a non-negative integer number of bytes, got ",
                    &describe(&value),
                ])
            })?;
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Conversions
// ---------------------------------------------------------------------------------------

/// The request body's bytes, or a `TypeError` saying what to pass instead.
fn body_bytes(body: &JsValue) -> Result<Vec<u8>, JsValue> {
    bytes_of(body)?.ok_or_else(|| {
        type_error(&[
            "body must be a string, Uint8Array or ArrayBuffer, got ",
            &describe(body),
            ": ",
            BODY_FIX,
        ])
    })
}

/// The bytes of a string (UTF-8; lone surrogates become U+FFFD), of an `ArrayBuffer`, or
/// of any `ArrayBufferView` (`Uint8Array`, `Buffer`, `DataView`, ...: the bytes it views).
/// `Ok(None)` for any other type.
fn bytes_of(value: &JsValue) -> Result<Option<Vec<u8>>, JsValue> {
    if value.is_string() {
        // UTF-8 takes at least one byte per UTF-16 unit: a longer string is refused
        // before it is encoded. Otherwise it is encoded on the JavaScript side and its
        // bytes are counted before anything is copied into wasm memory.
        let units =
            js::length(value).map_err(|_| type_error(&["a string's length could not be read"]))?;
        if units as usize > MAX_INPUT_BYTES {
            return Err(too_large());
        }
        let utf8 = js::encode_utf8(value)
            .map_err(|_| type_error(&["a string could not be encoded as UTF-8"]))?;
        let len = js::length(&utf8)
            .map_err(|_| type_error(&["a string could not be encoded as UTF-8"]))?;
        if len as usize > MAX_INPUT_BYTES {
            return Err(too_large());
        }
        return js::to_vec(&utf8)
            .map(Some)
            .map_err(|_| type_error(&["a string could not be copied"]));
    }
    const VIEW_FIX: &str = "the bytes of a typed array or ArrayBuffer could not be read";
    let props = value.unchecked_ref::<Dynamic>();
    let read = |r: Result<JsValue, JsValue>| r.map_err(|_| type_error(&[VIEW_FIX]));
    let (buffer, offset, len) = if ArrayBuffer::is_view(value) {
        (
            read(props.buffer())?,
            read(props.byte_offset())?,
            read(props.byte_length())?,
        )
    } else if let Some(len) = js::array_buffer_len(value) {
        (value.clone(), JsValue::from_f64(0.0), len)
    } else if value.is_instance_of::<ArrayBuffer>() {
        // An ArrayBuffer of this realm that `new DataView` refused: detached.
        return Err(type_error(&[
            VIEW_FIX,
            ": is its ArrayBuffer detached (transferred)?",
        ]));
    } else {
        return Ok(None);
    };
    let (Some(offset), Some(len)) = (non_negative_integer(&offset), non_negative_integer(&len))
    else {
        return Err(type_error(&[VIEW_FIX]));
    };
    if len > MAX_INPUT_BYTES as u64 {
        return Err(too_large());
    }
    // Built even for a length of 0: the constructor throws for a detached buffer (whose
    // views report a length of 0), which must not pass for an empty body.
    let view = js::byte_view(&buffer, offset as f64, len as f64)
        .map_err(|_| type_error(&[VIEW_FIX, ": is its ArrayBuffer detached (transferred)?"]))?;
    js::to_vec(&view)
        .map(Some)
        .map_err(|_| type_error(&[VIEW_FIX]))
}

/// `target[key]`, with a thrown exception turned into a `TypeError(fix)`.
fn get(target: &JsValue, key: &str, fix: &str) -> Result<JsValue, JsValue> {
    js::get(target, key).map_err(|_| type_error(&[fix]))
}

/// The `length` of an array (as reported; a proxy may lie, within `u32`).
fn array_length(array: &JsValue, fix: &str) -> Result<u32, JsValue> {
    js::length(array).map_err(|_| type_error(&[fix]))
}

/// A JavaScript number that is a safe non-negative integer (at most 2^53 - 1).
fn non_negative_integer(value: &JsValue) -> Option<u64> {
    const MAX_SAFE: f64 = 9_007_199_254_740_991.0;
    let n = value.as_f64()?;
    ((0.0..=MAX_SAFE).contains(&n) && n.fract() == 0.0).then_some(n as u64)
}

/// A value's type for error messages (`typeof`, or `null` / `an array`); never its
/// content, which may be a secret.
fn describe(value: &JsValue) -> String {
    if value.is_null() {
        "null".into()
    } else if value.is_undefined() {
        "undefined".into()
    } else if is_array(value).unwrap_or(false) {
        "an array".into()
    } else {
        let mut out = String::from("a value of type ");
        out.push_str(&value.js_typeof().as_string().unwrap_or_default());
        out
    }
}

fn too_large() -> JsValue {
    js_sys::RangeError::new(
        "input is larger than 64 MiB: limit the request body size before verifying \
         (webhook bodies are small)",
    )
    .into()
}

/// A `TypeError` whose message is `parts` joined.
fn type_error(parts: &[&str]) -> JsValue {
    let mut message = String::new();
    for part in parts {
        message.push_str(part);
    }
    js_sys::TypeError::new(&message).into()
}

/// The global allocator of the npm package's module: lol_alloc's free list (coalescing,
/// first fit), about 8 KB smaller than the default dlmalloc. Each call allocates a few
/// buffers and frees them all before returning, so a simple free list is enough.
// SAFETY: without the `atomics` target feature a wasm32 module runs on one thread.
#[cfg(not(target_feature = "atomics"))]
#[global_allocator]
static ALLOCATOR: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };

#[cfg(test)]
mod tests {
    //! The exports called with JavaScript values, under wasm-bindgen-test (Node and
    //! Chromium). The vector files are covered by tests/vectors.rs and tests/js.

    use js_sys::{Array, DataView, Object, Reflect, Uint8Array};
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;

    const BODY: &str = "Hello, World!";
    const KEY: &str = "It's a Secret to Everybody";
    const GOOD: &str = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    fn s(v: &str) -> JsValue {
        JsValue::from_str(v)
    }

    fn message(err: JsValue) -> (bool, String) {
        let is_type_error = err.is_instance_of::<js_sys::TypeError>();
        let msg = err.unchecked_into::<js_sys::Error>().message();
        (is_type_error, msg.into())
    }

    #[wasm_bindgen_test]
    fn every_body_type_gives_the_same_answer() {
        let bytes = BODY.as_bytes();
        let u8a = Uint8Array::from(bytes);
        // A view with an offset into a larger buffer.
        let big = Uint8Array::new_with_length(bytes.len() as u32 + 7);
        big.subarray(3, 3 + bytes.len() as u32).copy_from(bytes);
        let offset_view: JsValue = big.subarray(3, 3 + bytes.len() as u32).into();
        let data_view: JsValue = DataView::new(&big.buffer(), 3, bytes.len()).into();
        for body in [
            s(BODY),
            u8a.clone().into(),
            u8a.buffer().into(),
            offset_view,
            data_view,
        ] {
            assert_eq!(verify_signature(&body, &s(GOOD), &s(KEY)), Ok(true));
            assert_eq!(sign_payload(&body, &s(KEY)).ok().as_deref(), Some(GOOD));
        }
    }

    #[wasm_bindgen_test]
    fn junk_signatures_are_false_with_a_reason() {
        let body = s(BODY);
        for (header, reason) in [
            (JsValue::UNDEFINED, "missing_prefix"),
            (JsValue::NULL, "missing_prefix"),
            (JsValue::from_f64(1.0), "missing_prefix"),
            (s("sha256=zz"), "wrong_length"),
            (s(&GOOD.replace('7', "g")), "malformed_hex"),
            (s(&GOOD.replace('7', "8")), "mismatch"),
        ] {
            assert_eq!(verify_signature(&body, &header, &s(KEY)), Ok(false));
            assert_eq!(
                verify_signature_reason(&body, &header, &s(KEY))
                    .ok()
                    .as_deref(),
                Some(reason)
            );
        }
        let empty = verify_signature_reason(&body, &s(GOOD), &s(""));
        assert_eq!(empty.ok().as_deref(), Some("empty_secret"));
        let none = verify_signature_reason(&body, &s(GOOD), &Array::new());
        assert_eq!(none.ok().as_deref(), Some("empty_secret"));
    }

    #[wasm_bindgen_test]
    fn rotation_lists_try_every_secret() {
        let list: JsValue = Array::of2(&s("old"), &s(KEY)).into();
        assert_eq!(verify_signature(&s(BODY), &s(GOOD), &list), Ok(true));
        let list: JsValue = Array::of2(&s("old"), &s("older")).into();
        assert_eq!(verify_signature(&s(BODY), &s(GOOD), &list), Ok(false));
    }

    #[wasm_bindgen_test]
    fn caller_mistakes_throw_type_errors_that_name_the_fix() {
        let parsed: JsValue = Object::new().into();
        let (is_type, msg) = message(verify_signature(&parsed, &s(GOOD), &s(KEY)).unwrap_err());
        assert!(is_type && msg.contains("raw request body"), "{msg}");
        let (is_type, msg) =
            message(verify_signature(&s(BODY), &s(GOOD), &JsValue::from_f64(7.0)).unwrap_err());
        assert!(is_type && msg.contains("secret must be"), "{msg}");
        let (is_type, msg) = message(sign_payload(&s(BODY), &s("")).unwrap_err());
        assert!(is_type && msg.contains("must not be empty"), "{msg}");
        let (is_type, msg) =
            message(format_artifacts(&s("j"), &parsed, &JsValue::UNDEFINED).unwrap_err());
        assert!(is_type && msg.contains("array"), "{msg}");
    }

    fn artifact(pairs: &[(&str, JsValue)]) -> JsValue {
        let o = Object::new();
        for (k, v) in pairs {
            Reflect::set(&o, &s(k), v).unwrap();
        }
        o.into()
    }

    #[wasm_bindgen_test]
    fn format_artifacts_reads_both_spellings_and_checks_fields() {
        let none = format_artifacts(&s("j"), &Array::new(), &JsValue::UNDEFINED);
        assert_eq!(none.ok().as_deref(), Some("null"));
        let list = Array::of2(
            &artifact(&[
                ("name", s("out.txt")),
                ("contentType", s("text/plain")),
                ("data", s("hello")),
            ]),
            &artifact(&[
                ("name", s("model.bin")),
                ("content_type", s("application/octet-stream")),
                ("size", JsValue::from_f64(10_485_760.0)),
            ]),
        );
        let json = format_artifacts(&s("job 7"), &list, &JsValue::UNDEFINED).unwrap();
        assert_eq!(
            json,
            concat!(
                r#"[{"name":"out.txt","content_type":"text/plain","size":5,"data":"hello"},"#,
                r#"{"name":"model.bin","content_type":"application/octet-stream","size":10485760,"#,
                r#""url":"/jobs/job%207/artifacts/model.bin"}]"#
            )
        );
        for (bad, field) in [
            (
                artifact(&[("contentType", s("t")), ("size", 1.into())]),
                ".name",
            ),
            (
                artifact(&[("name", s("a")), ("size", 1.into())]),
                ".contentType",
            ),
            (
                artifact(&[
                    ("name", s("a")),
                    ("contentType", s("t")),
                    ("size", (-1).into()),
                ]),
                ".size",
            ),
            (
                artifact(&[
                    ("name", s("a")),
                    ("contentType", s("t")),
                    ("size", 1.5.into()),
                ]),
                ".size",
            ),
            (
                artifact(&[
                    ("name", s("a")),
                    ("contentType", s("t")),
                    ("data", 5.into()),
                ]),
                ".data",
            ),
        ] {
            let list = Array::of1(&bad);
            let (is_type, msg) =
                message(format_artifacts(&s("j"), &list, &JsValue::UNDEFINED).unwrap_err());
            assert!(is_type && msg.contains(field), "{msg}");
        }
        let limits = artifact(&[("perArtifact", (-3).into())]);
        let (is_type, msg) = message(format_artifacts(&s("j"), &list, &limits).unwrap_err());
        assert!(is_type && msg.contains("limits.perArtifact"), "{msg}");
    }

    #[wasm_bindgen_test]
    fn oversized_input_is_a_range_error() {
        let big = Uint8Array::new_with_length(MAX_INPUT_BYTES as u32 + 1);
        let err = verify_signature(&big.into(), &s(GOOD), &s(KEY)).unwrap_err();
        assert!(err.is_instance_of::<js_sys::RangeError>());
    }
}

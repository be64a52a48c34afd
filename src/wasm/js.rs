//! The one way the bindings call JavaScript.
//!
//! A JavaScript exception must never unwind through wasm frames: the unwinding skips the
//! Rust destructors (leaking every buffer already copied in) and the wasm-bindgen
//! bookkeeping (the shadow stack and the externref table slots of the arguments), and
//! after a few hundred such calls the instance is broken for good. Any JavaScript
//! operation can throw when the caller hands us a proxy, a getter, a revoked proxy, an
//! object that only pretends to be a `Date`, or has patched a built-in prototype.
//!
//! So every call into JavaScript that the bindings make is declared here as a `catch`
//! import (the exception comes back as `Err`), and `src/wasm.rs` and
//! `src/wasm/standard.rs` call nothing else of `js_sys` that runs JavaScript code.
//! `scripts/build-wasm` checks the generated glue: each import not wrapped in the
//! exception handler must be on its short list of operations that cannot throw (`typeof`
//! tests, `instanceof` (which the glue itself wraps in `try`), built-in error
//! constructors).

use js_sys::{Array, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen]
extern "C" {
    /// `Array.isArray(value)`; throws for a revoked proxy.
    #[wasm_bindgen(catch, js_namespace = Array, js_name = isArray)]
    pub fn is_array(value: &JsValue) -> Result<bool, JsValue>;

    /// `Reflect.get(target, key)`; throws for a getter or proxy trap that throws, and for
    /// a non-object target.
    #[wasm_bindgen(catch, js_namespace = Reflect, js_name = get)]
    fn reflect_get(target: &JsValue, key: &JsValue) -> Result<JsValue, JsValue>;

    /// `Reflect.get(target, index)`.
    #[wasm_bindgen(catch, js_namespace = Reflect, js_name = get)]
    fn reflect_get_index(target: &JsValue, index: u32) -> Result<JsValue, JsValue>;

    /// `Object.keys(value)`; throws for a proxy whose `ownKeys` trap throws.
    #[wasm_bindgen(catch, js_namespace = Object, js_name = keys)]
    fn object_keys(value: &JsValue) -> Result<Array, JsValue>;

    /// `Date.now()`; throws only if a caller replaced it.
    #[wasm_bindgen(catch, js_namespace = Date, js_name = now)]
    pub fn date_now() -> Result<f64, JsValue>;

    /// A value whose methods are looked up and called dynamically (each may throw).
    #[wasm_bindgen(js_name = Object)]
    pub type Dynamic;

    /// `value.getTime()`; throws for anything that is not a real `Date` (a proxy of one,
    /// `Object.create(Date.prototype)`).
    #[wasm_bindgen(method, catch, js_name = getTime)]
    pub fn get_time(this: &Dynamic) -> Result<JsValue, JsValue>;

    /// `fn.call(this_arg, arg)`, for `headers.get(name)`.
    #[wasm_bindgen(method, catch, js_name = call)]
    pub fn call1(this: &Dynamic, this_arg: &JsValue, arg: &JsValue) -> Result<JsValue, JsValue>;

    /// `value.buffer`
    #[wasm_bindgen(method, getter, catch)]
    pub fn buffer(this: &Dynamic) -> Result<JsValue, JsValue>;

    /// `value.byteOffset`
    #[wasm_bindgen(method, getter, catch, js_name = byteOffset)]
    pub fn byte_offset(this: &Dynamic) -> Result<JsValue, JsValue>;

    /// `value.length` (of a string, an array, a typed array)
    #[wasm_bindgen(method, getter, catch, js_name = length)]
    fn length_of(this: &Dynamic) -> Result<JsValue, JsValue>;

    /// `value.byteLength`
    #[wasm_bindgen(method, getter, catch, js_name = byteLength)]
    pub fn byte_length(this: &Dynamic) -> Result<JsValue, JsValue>;

    /// `view.set(source)`: copies `source` into `view`.
    #[wasm_bindgen(method, catch, js_name = set)]
    fn set_from(this: &Dynamic, source: &JsValue) -> Result<(), JsValue>;

    /// `view.subarray(begin, end)`
    #[wasm_bindgen(method, catch, js_name = subarray)]
    fn sub(this: &Dynamic, begin: f64, end: f64) -> Result<Uint8Array, JsValue>;

    /// `array.push(value)`
    #[wasm_bindgen(method, catch, js_name = push)]
    fn push_to(this: &Dynamic, value: &JsValue) -> Result<JsValue, JsValue>;

    /// `new Uint8Array(buffer, byteOffset, length)`; throws for a detached or fake buffer.
    #[wasm_bindgen(js_name = Uint8Array)]
    type ByteView;

    #[wasm_bindgen(constructor, catch)]
    fn new(buffer: &JsValue, byte_offset: f64, length: f64) -> Result<ByteView, JsValue>;

    /// The global `TextEncoder` (every runtime has it).
    type TextEncoder;

    #[wasm_bindgen(constructor, catch)]
    fn new() -> Result<TextEncoder, JsValue>;

    /// `encoder.encode(string)`: UTF-8, lone surrogates as U+FFFD, at native speed (a
    /// `&str`/`as_string()` conversion walks the string in a JavaScript loop).
    #[wasm_bindgen(method, catch)]
    fn encode(this: &TextEncoder, string: &JsValue) -> Result<Uint8Array, JsValue>;
}

/// `target[key]`.
pub fn get(target: &JsValue, key: &str) -> Result<JsValue, JsValue> {
    reflect_get(target, &JsValue::from_str(key))
}

/// `target[key]` for a key that is already a JavaScript value.
pub fn get_value(target: &JsValue, key: &JsValue) -> Result<JsValue, JsValue> {
    reflect_get(target, key)
}

/// `target[index]`.
pub fn get_index(target: &JsValue, index: u32) -> Result<JsValue, JsValue> {
    reflect_get_index(target, index)
}

/// `Object.keys(value)` as a Rust list of the keys' JavaScript values.
pub fn keys(value: &JsValue) -> Result<Vec<JsValue>, JsValue> {
    let keys: JsValue = object_keys(value)?.into();
    let len = length(&keys)?;
    (0..len).map(|i| get_index(&keys, i)).collect()
}

/// The `length` of an array-like (as reported: a proxy may lie, within `u32`); a length
/// that is not an integer in `0..2^32` is an `Err(undefined)`.
pub fn length(array: &JsValue) -> Result<u32, JsValue> {
    array
        .unchecked_ref::<Dynamic>()
        .length_of()?
        .as_f64()
        .filter(|n| *n >= 0.0 && *n <= f64::from(u32::MAX) && n.fract() == 0.0)
        .map(|n| n as u32)
        .ok_or(JsValue::UNDEFINED)
}

/// `array.push(value)`.
pub fn push(array: &Array, value: &JsValue) -> Result<(), JsValue> {
    array.unchecked_ref::<Dynamic>().push_to(value).map(|_| ())
}

/// A fresh `Uint8Array` over `length` bytes of `buffer` from `byte_offset`.
pub fn byte_view(buffer: &JsValue, byte_offset: f64, length: f64) -> Result<Uint8Array, JsValue> {
    Ok(ByteView::new(buffer, byte_offset, length)?.unchecked_into())
}

/// The UTF-8 bytes of a JavaScript string, still on the JavaScript side.
pub fn encode_utf8(string: &JsValue) -> Result<Uint8Array, JsValue> {
    TextEncoder::new()?.encode(string)
}

/// Copies `source[from..from + dst.len()]` into `dst` (wasm memory).
pub fn copy_into(source: &Uint8Array, from: usize, dst: &mut [u8]) -> Result<(), JsValue> {
    let memory = wasm_bindgen::memory()
        .unchecked_into::<Dynamic>()
        .buffer()?;
    // No allocation happens between building this view of wasm memory and the copy, so
    // the memory cannot grow (and detach the view) in between.
    let target = byte_view(&memory, dst.as_mut_ptr() as usize as f64, dst.len() as f64)?;
    let part = source
        .unchecked_ref::<Dynamic>()
        .sub(from as f64, (from + dst.len()) as f64)?;
    target.unchecked_ref::<Dynamic>().set_from(&part)
}

/// The whole of `source`, copied into a new `Vec`.
pub fn to_vec(source: &Uint8Array) -> Result<Vec<u8>, JsValue> {
    let len = length(source)? as usize;
    let mut out = vec![0u8; len];
    copy_into(source, 0, &mut out)?;
    Ok(out)
}

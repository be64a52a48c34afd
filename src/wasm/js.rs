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
    fn reflect_get(target: &JsValue, key: &JsValue) -> Result<Option<JsValue>, JsValue>;

    /// `Reflect.get(target, index)`.
    #[wasm_bindgen(catch, js_namespace = Reflect, js_name = get)]
    fn reflect_get_index(target: &JsValue, index: u32) -> Result<Option<JsValue>, JsValue>;

    /// `Object.keys(value)`; throws for a proxy whose `ownKeys` trap throws.
    #[wasm_bindgen(catch, js_namespace = Object, js_name = keys)]
    fn object_keys(value: &JsValue) -> Result<Option<Array>, JsValue>;

    /// `Date.now()`; throws only if a caller replaced it.
    #[wasm_bindgen(catch, js_namespace = Date, js_name = now)]
    pub fn date_now() -> Result<f64, JsValue>;

    /// A value whose methods are looked up and called dynamically (each may throw).
    #[wasm_bindgen(js_name = Object)]
    pub type Dynamic;

    /// `value.getTime()`; throws for anything that is not a real `Date` (a proxy of one,
    /// `Object.create(Date.prototype)`).
    #[wasm_bindgen(method, catch, js_name = getTime)]
    fn raw_get_time(this: &Dynamic) -> Result<Option<JsValue>, JsValue>;

    /// `fn.call(this_arg, arg)`, for `headers.get(name)`.
    #[wasm_bindgen(method, catch, js_name = call)]
    fn raw_call1(
        this: &Dynamic,
        this_arg: &JsValue,
        arg: &JsValue,
    ) -> Result<Option<JsValue>, JsValue>;

    /// `value.buffer`
    #[wasm_bindgen(method, getter = buffer, catch)]
    fn raw_buffer(this: &Dynamic) -> Result<Option<JsValue>, JsValue>;

    /// `value.byteOffset`
    #[wasm_bindgen(method, getter = byteOffset, catch)]
    fn raw_byte_offset(this: &Dynamic) -> Result<Option<JsValue>, JsValue>;

    /// `value.length` (of a string, an array, a typed array)
    #[wasm_bindgen(method, getter = length, catch)]
    fn length_of(this: &Dynamic) -> Result<Option<JsValue>, JsValue>;

    /// `value.byteLength`
    #[wasm_bindgen(method, getter = byteLength, catch)]
    fn raw_byte_length(this: &Dynamic) -> Result<Option<JsValue>, JsValue>;

    /// `view.set(source)`: copies `source` into `view`.
    #[wasm_bindgen(method, catch, js_name = set)]
    fn set_from(this: &Dynamic, source: &JsValue) -> Result<(), JsValue>;

    /// `view.subarray(begin, end)`
    #[wasm_bindgen(method, catch, js_name = subarray)]
    fn sub(this: &Dynamic, begin: f64, end: f64) -> Result<Option<Uint8Array>, JsValue>;

    /// `array.push(value)`
    #[wasm_bindgen(method, catch, js_name = push)]
    fn push_to(this: &Dynamic, value: &JsValue) -> Result<Option<JsValue>, JsValue>;

    /// `Reflect.construct(ctor, args)`: `new ctor(...args)` (a `catch` constructor
    /// import cannot return an `Option`, see below).
    #[wasm_bindgen(catch, js_namespace = Reflect, js_name = construct)]
    fn reflect_construct(ctor: &JsValue, args: &JsValue) -> Result<Option<JsValue>, JsValue>;

    /// The global `Uint8Array` constructor.
    #[wasm_bindgen(thread_local_v2, js_name = Uint8Array)]
    static UINT8_ARRAY: JsValue;

    /// The global `DataView` constructor: `new DataView(x)` succeeds exactly for a live
    /// `ArrayBuffer` or `SharedArrayBuffer` of any realm (unlike `instanceof ArrayBuffer`,
    /// false for a buffer made in another realm, e.g. Next.js's edge sandbox).
    #[wasm_bindgen(thread_local_v2, js_name = DataView)]
    static DATA_VIEW: JsValue;

    /// The global `TextEncoder` constructor (every runtime has it).
    #[wasm_bindgen(thread_local_v2, js_name = TextEncoder)]
    static TEXT_ENCODER: JsValue;

    /// `encoder.encode(string)`: UTF-8, lone surrogates as U+FFFD, at native speed (a
    /// `&str`/`as_string()` conversion walks the string in a JavaScript loop).
    #[wasm_bindgen(method, catch, js_name = encode)]
    fn raw_encode(this: &Dynamic, string: &JsValue) -> Result<Option<Uint8Array>, JsValue>;
}

// Every `catch` import above returns an `Option`: wasm-bindgen (0.2.130) leaks one
// externref table slot per call when a `catch` import that returns a plain JS value throws
// (the slot of the `undefined` it gets back is never freed); an `Option` return is
// converted on the JavaScript side, where `undefined` takes no slot. Measured: 300,000
// throwing `Reflect.get` calls grew wasm memory from 1.1 to 5.1 MiB before, 0 after.

/// `Ok(None)` (the call returned `undefined` or `null`) as `Ok(undefined)`.
fn value(r: Result<Option<JsValue>, JsValue>) -> Result<JsValue, JsValue> {
    r.map(|v| v.unwrap_or(JsValue::UNDEFINED))
}

/// `Ok(None)` where an object was expected, as an error.
fn object<T>(r: Result<Option<T>, JsValue>) -> Result<T, JsValue> {
    r?.ok_or(JsValue::UNDEFINED)
}

impl Dynamic {
    /// `value.getTime()`; throws for anything that is not a real `Date`.
    pub fn get_time(&self) -> Result<JsValue, JsValue> {
        value(self.raw_get_time())
    }

    /// `fn.call(this_arg, arg)`, for `headers.get(name)`.
    pub fn call1(&self, this_arg: &JsValue, arg: &JsValue) -> Result<JsValue, JsValue> {
        value(self.raw_call1(this_arg, arg))
    }

    /// `value.buffer`
    pub fn buffer(&self) -> Result<JsValue, JsValue> {
        value(self.raw_buffer())
    }

    /// `value.byteOffset`
    pub fn byte_offset(&self) -> Result<JsValue, JsValue> {
        value(self.raw_byte_offset())
    }

    /// `value.byteLength`
    pub fn byte_length(&self) -> Result<JsValue, JsValue> {
        value(self.raw_byte_length())
    }
}

/// The byte length of `value` if it is a live `ArrayBuffer` (of any realm), else `None`.
pub fn array_buffer_len(value: &JsValue) -> Option<JsValue> {
    let view = DATA_VIEW.with(|ctor| construct(ctor, &[value])).ok()?;
    view.unchecked_ref::<Dynamic>().byte_length().ok()
}

/// `new ctor(...args)`.
fn construct(ctor: &JsValue, args: &[&JsValue]) -> Result<JsValue, JsValue> {
    let list = Array::new();
    for arg in args {
        push(&list, arg)?;
    }
    object(reflect_construct(ctor, &list))
}

/// `target[key]`.
pub fn get(target: &JsValue, key: &str) -> Result<JsValue, JsValue> {
    value(reflect_get(target, &JsValue::from_str(key)))
}

/// `target[key]` for a key that is already a JavaScript value.
pub fn get_value(target: &JsValue, key: &JsValue) -> Result<JsValue, JsValue> {
    value(reflect_get(target, key))
}

/// `target[index]`.
pub fn get_index(target: &JsValue, index: u32) -> Result<JsValue, JsValue> {
    value(reflect_get_index(target, index))
}

/// `Object.keys(value)` as a Rust list of the keys' JavaScript values.
pub fn keys(value: &JsValue) -> Result<Vec<JsValue>, JsValue> {
    let keys: JsValue = object(object_keys(value))?.into();
    let len = length(&keys)?;
    (0..len).map(|i| get_index(&keys, i)).collect()
}

/// The `length` of an array-like (as reported: a proxy may lie, within `u32`); a length
/// that is not an integer in `0..2^32` is an `Err(undefined)`.
pub fn length(array: &JsValue) -> Result<u32, JsValue> {
    array
        .unchecked_ref::<Dynamic>()
        .length_of()?
        .unwrap_or(JsValue::UNDEFINED)
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
    let (offset, length) = (JsValue::from_f64(byte_offset), JsValue::from_f64(length));
    Ok(UINT8_ARRAY
        .with(|ctor| construct(ctor, &[buffer, &offset, &length]))?
        .unchecked_into())
}

/// The UTF-8 bytes of a JavaScript string, still on the JavaScript side.
pub fn encode_utf8(string: &JsValue) -> Result<Uint8Array, JsValue> {
    let encoder = TEXT_ENCODER.with(|ctor| construct(ctor, &[]))?;
    object(encoder.unchecked_ref::<Dynamic>().raw_encode(string))
}

/// Copies `source[from..from + dst.len()]` into `dst` (wasm memory).
pub fn copy_into(source: &Uint8Array, from: usize, dst: &mut [u8]) -> Result<(), JsValue> {
    let memory = wasm_bindgen::memory()
        .unchecked_into::<Dynamic>()
        .buffer()?;
    // No allocation happens between building this view of wasm memory and the copy, so
    // the memory cannot grow (and detach the view) in between.
    let target = byte_view(&memory, dst.as_mut_ptr() as usize as f64, dst.len() as f64)?;
    let part = object(
        source
            .unchecked_ref::<Dynamic>()
            .sub(from as f64, (from + dst.len()) as f64),
    )?;
    target.unchecked_ref::<Dynamic>().set_from(&part)
}

/// The whole of `source`, copied into a new `Vec`.
pub fn to_vec(source: &Uint8Array) -> Result<Vec<u8>, JsValue> {
    let len = length(source)? as usize;
    let mut out = vec![0u8; len];
    copy_into(source, 0, &mut out)?;
    Ok(out)
}

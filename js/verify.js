// verifySignature, verifySignatureReason and createVerifier over the crate's raw wasm
// exports (src/wasm.rs), with no wasm-bindgen glue. foreman-webhook/verify is this file
// over a small module of its own (feature `wasm-verify`: HMAC-SHA256, hex, the header
// rules); the whole package is this file + js/full.js over the `wasm` module. CI runs the
// same vectors, bad inputs and hostile calls on both. Template: scripts/assemble-pkg.mjs
// prepends how `__fw_module` is obtained and appends the exports. Never calls caller code from inside wasm: every JavaScript value is read
// here, and the module only ever sees numbers.
const MAX_INPUT_BYTES = 64 * 1024 * 1024;
const RETAIN_BYTES = 8 * 1024 * 1024;
const HEADER_AREA = 1024; // src/wasm.rs HEADER_AREA
const MAX_SECRETS = 64;
const MAX_HEADER_LINES = 64;
const REASONS = ["ok", "missing_prefix", "wrong_length", "malformed_hex", "mismatch", "empty_secret"];
const BODY_FIX = 'pass the raw request body (string or Uint8Array), not the parsed JSON (Express: express.raw({ type: "application/json" }); fetch, Workers, Deno: new Uint8Array(await request.arrayBuffer()))';
const SECRET_FIX = "secret must be a string, a Uint8Array, or an array of them (key rotation)";
const EMPTY_SECRET = "secret must not be empty: an empty HMAC key lets anyone forge signatures";
const VIEW_FIX = "the bytes of a typed array or ArrayBuffer could not be read";
const DETACHED = VIEW_FIX + ": is its ArrayBuffer detached (transferred)?";
const encoder = new TextEncoder();
let wasm;
let head = null;
let scratch = null;
let whole = null; // head and scratch together: the whole scratch region
// Set by anything that may have grown wasm memory (a larger scratch region, a new keyed
// slot, a text answer): settle() then checks the size (the hot path skips the check).
let grew = false;
let epoch = 0;
let resets = 0;
// JavaScriptCore (Bun, Safari; its errors carry a numeric `line`): the main module then
// hashes with sha2's SHA-256 compression, faster there than the unrolled one that is
// faster in V8 (measured: src/wasm/sha256.rs). Same answers either way.
const JSC = typeof new Error().line === "number";
// The runtime's own HMAC-SHA256 (key, data) => its 32 bytes, or null: set by js/full.js under Bun
// (the main entries only; see nativeHmac there). The header is still parsed and every MAC
// compared in constant time by the module (fw_verify_macs).
let NATIVE = null;
function instantiate() {
  // No instanceof check on the module: Next.js's edge sandbox hands over a module
  // compiled in another realm, which WebAssembly.Instance accepts.
  wasm = new WebAssembly.Instance(__fw_module, {}).exports;
  if (JSC && typeof wasm.fw_sha256_sha2 === "function") wasm.fw_sha256_sha2(1);
  head = null;
  scratch = null;
  whole = null;
  epoch++;
}
instantiate();

function tooLarge() {
  return new RangeError("input is larger than 64 MiB: limit the request body size before verifying (webhook bodies are small)");
}
function bodyError(body) {
  return new TypeError("body must be a string, Uint8Array or ArrayBuffer, got " + describe(body) + ": " + BODY_FIX);
}
function isArray(value) {
  try {
    return Array.isArray(value);
  } catch (_) {
    return false;
  }
}
function describe(value) {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  return isArray(value) ? "an array" : "a value of type " + typeof value;
}
const getters = (proto) => ["buffer", "byteOffset", "byteLength"].map((k) => Object.getOwnPropertyDescriptor(proto, k).get);
const TYPED_ARRAY = getters(Object.getPrototypeOf(Uint8Array.prototype));
// The intrinsic getters and `set`: a Uint8Array (of any realm, subclasses included) is copied
// into wasm memory without calling anything a caller can override. The tag getter
// returns undefined for anything that is not a typed array, and never throws.
const TAG = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), Symbol.toStringTag).get;
const U8_SET = Uint8Array.prototype.set;
/** The byte length of a live, non-empty Uint8Array, else 0 (the general path decides). */
function u8Length(value) {
  return Reflect.apply(TAG, value, []) === "Uint8Array" ? Reflect.apply(TYPED_ARRAY[2], value, []) : 0;
}
const DATA_VIEW = getters(DataView.prototype);
/** The built-in getters that work on `view` (a typed array or a DataView), or null. */
function viewGetters(view) {
  for (const g of [TYPED_ARRAY, DATA_VIEW]) {
    try {
      Reflect.apply(g[0], view, []);
      return g;
    } catch (_) {}
  }
  return null;
}
/** The bytes of a string (UTF-8), an ArrayBufferView or an ArrayBuffer; null for another type. */
function bytesOf(value) {
  if (typeof value === "string") {
    if (value.length > MAX_INPUT_BYTES) throw tooLarge();
    const bytes = encoder.encode(value);
    if (bytes.length > MAX_INPUT_BYTES) throw tooLarge();
    return bytes;
  }
  let buffer, offset, length;
  if (ArrayBuffer.isView(value)) {
    // The built-in getters (a subclass cannot make a view lie about the bytes it holds).
    const g = viewGetters(value);
    if (g === null) throw new TypeError(VIEW_FIX);
    buffer = Reflect.apply(g[0], value, []);
    offset = Reflect.apply(g[1], value, []);
    length = Reflect.apply(g[2], value, []);
  } else {
    let view;
    try {
      view = new DataView(value); // the ArrayBuffer brand check, realm-independent
    } catch (_) {
      let buf = false;
      try {
        buf = value instanceof ArrayBuffer;
      } catch (_) {}
      if (buf) throw new TypeError(DETACHED);
      return null;
    }
    buffer = value;
    offset = 0;
    length = view.byteLength;
  }
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) throw new TypeError(VIEW_FIX);
  if (length > MAX_INPUT_BYTES) throw tooLarge();
  try {
    return new Uint8Array(buffer, offset, length);
  } catch (_) {
    throw new TypeError(DETACHED);
  }
}
/** `secret` as a list of keys (copies). */
function keysOf(secret) {
  let array;
  try {
    array = Array.isArray(secret);
  } catch (_) {
    throw new TypeError(SECRET_FIX);
  }
  if (!array) {
    const key = bytesOf(secret);
    if (key === null) throw new TypeError(SECRET_FIX + ", got " + describe(secret));
    return [key.slice()];
  }
  let n;
  try {
    n = secret.length;
  } catch (_) {
    throw new TypeError(SECRET_FIX);
  }
  if (n > MAX_SECRETS) throw new TypeError("at most 64 secrets are accepted");
  const keys = [];
  for (let i = 0; i < n; i++) {
    let item;
    try {
      item = secret[i];
    } catch (_) {
      throw new TypeError(SECRET_FIX);
    }
    const key = bytesOf(item);
    if (key === null) throw new TypeError(SECRET_FIX + ", got " + describe(item) + " at index " + i);
    keys.push(key.slice());
  }
  return keys;
}
/** The signature header: a string, or an array of lines joined as HTTP joins them. */
function headerOf(signature) {
  if (typeof signature === "string") return signature;
  if (!isArray(signature)) return "";
  let n = 0;
  try {
    n = Math.min(signature.length >>> 0, MAX_HEADER_LINES);
  } catch (_) {
    return "";
  }
  let out = null;
  for (let i = 0; i < n; i++) {
    let line;
    try {
      line = signature[i];
    } catch (_) {
      continue;
    }
    if (typeof line === "string") out = out === null ? line : out + ", " + line;
  }
  return out === null ? "" : out;
}
function reserve(bodyBytes) {
  if (scratch !== null && scratch.buffer === wasm.memory.buffer && scratch.length >= bodyBytes) return;
  const want = HEADER_AREA + Math.max(bodyBytes, scratch === null ? 4096 : scratch.length * 2);
  grew = true;
  const ptr = wasm.fw_scratch(want);
  if (!ptr) throw tooLarge();
  head = new Uint8Array(wasm.memory.buffer, ptr, HEADER_AREA);
  scratch = new Uint8Array(wasm.memory.buffer, ptr + HEADER_AREA, want - HEADER_AREA);
  whole = new Uint8Array(wasm.memory.buffer, ptr, want);
}
/** A slot keyed with `keys` (non-empty Uint8Arrays), or 0. */
function key(keys) {
  grew = true;
  const slot = wasm.fw_slot_new();
  for (let i = 0; slot && i < keys.length; i++) {
    reserve(keys[i].length);
    new Uint8Array(wasm.memory.buffer, head.byteOffset, keys[i].length).set(keys[i]);
    if (!wasm.fw_slot_add(slot, keys[i].length)) {
      wasm.fw_slot_free(slot);
      return 0;
    }
  }
  return slot;
}
/**
 * The answer code for `body` (any accepted type) and the header text under `slot`, keyed
 * with `keys` (the same keys, for the runtime's own HMAC: see NATIVE).
 */
function answer(slot, body, header, keys) {
  // Room after the body for the MACs when the runtime computes them.
  const macs = NATIVE !== null && slot > 0 ? 32 * keys.length : 0;
  let n;
  if (typeof body === "string" && body.length <= MAX_INPUT_BYTES / 3) {
    reserve(body.length * 3 + macs);
    n = encoder.encodeInto(body, scratch).written;
  } else if ((n = typeof body === "object" && body !== null ? u8Length(body) : 0) > 0 && n <= MAX_INPUT_BYTES) {
    reserve(n + macs);
    Reflect.apply(U8_SET, scratch, [body]);
  } else {
    const bytes = bytesOf(body);
    if (bytes === null) throw bodyError(body);
    n = bytes.length;
    reserve(n + macs);
    scratch.set(bytes);
  }
  if (header.length > 341) {
    // Over the header area: the core trims spaces and tabs, then checks the prefix and
    // the length (no such header can verify).
    header = header.replace(/^[ \t]+|[ \t]+$/g, "");
    if (header.length > 341) return header.startsWith("sha256=") ? 2 : 1;
  }
  const h = encoder.encodeInto(header, head).written;
  let code = -1;
  if (macs > 0) {
    try {
      const data = scratch.subarray(0, n);
      for (let i = 0; i < keys.length; i++) scratch.set(NATIVE(keys[i], data), n + 32 * i);
      code = wasm.fw_verify_macs(h, n, keys.length);
    } catch (_) {
      code = -1; // the module's own HMAC below
    }
  }
  if (code === -1) code = wasm.fw_verify(slot, h, n);
  if (code >= REASONS.length) throw new TypeError("foreman-webhook/verify: unexpected answer " + code);
  return code;
}
/** After a call: replaces the instance after a trap or a call that left it large. */
function settle(error) {
  if (error !== null || grew) {
    grew = false;
    if (error instanceof WebAssembly.RuntimeError || wasm.memory.buffer.byteLength > RETAIN_BYTES) {
      resets++;
      instantiate();
    }
  }
}
// Keyed slots of the last 16 string secrets.
const cache = new Map();
/** The keyed slot of a string secret ({ slot, keys }; slot 0 when it could not be made). */
function cachedSlot(secret) {
  const hit = cache.get(secret);
  if (hit !== undefined && hit.epoch === epoch) return hit;
  cache.delete(secret);
  if (cache.size >= 16) {
    const [oldest, entry] = cache.entries().next().value;
    cache.delete(oldest);
    if (entry.epoch === epoch) wasm.fw_slot_free(entry.slot);
  }
  const keys = [encoder.encode(secret)];
  const entry = { slot: key(keys), epoch, keys };
  if (entry.slot) cache.set(secret, entry);
  return entry;
}
function codeFor(body, signature, secret) {
  let error = null;
  try {
    const header = typeof signature === "string" ? signature : null;
    if (typeof secret === "string" && secret.length > 0 && secret.length <= 4096) {
      const entry = cachedSlot(secret);
      return answer(entry.slot || -1, body, header === null ? headerOf(signature) : header, entry.keys);
    }
    const keys = keysOf(secret);
    const text = header === null ? headerOf(signature) : header;
    if (keys.length === 0 || keys.some((k) => k.length === 0)) {
      if (bytesOf(body) === null) throw bodyError(body); // the body's type is still checked
      return 5;
    }
    const slot = key(keys);
    try {
      return answer(slot, body, text, keys);
    } finally {
      wasm.fw_slot_free(slot);
    }
  } catch (e) {
    error = e;
    throw e;
  } finally {
    settle(error);
  }
}
function verifySignature(body, signature, secret) {
  return codeFor(body, signature, secret) === 0;
}
function verifySignatureReason(body, signature, secret) {
  return REASONS[codeFor(body, signature, secret)];
}
const freeSlots = typeof FinalizationRegistry === "function"
  ? new FinalizationRegistry(function (held) {
      if (held.epoch === epoch) wasm.fw_slot_free(held.slot);
    })
  : null;
function createVerifier(secret) {
  const keys = keysOf(secret);
  if (keys.length === 0 || keys.some((k) => k.length === 0)) throw new TypeError(EMPTY_SECRET);
  const held = { slot: 0, epoch: -1 };
  const code = function (body, signature) {
    let error = null;
    try {
      const header = headerOf(signature);
      if (held.epoch !== epoch) {
        held.slot = key(keys);
        held.epoch = epoch;
      }
      return answer(held.slot || -1, body, header, keys);
    } catch (e) {
      error = e;
      throw e;
    } finally {
      settle(error);
    }
  };
  const verifier = Object.freeze({
    verify: function verify(body, signature) {
      return code(body, signature) === 0;
    },
    verifyReason: function verifyReason(body, signature) {
      return REASONS[code(body, signature)];
    },
  });
  if (freeSlots !== null) freeSlots.register(verifier, held);
  return verifier;
}
function wasmMemory() {
  return { bytes: wasm.memory.buffer.byteLength, resets };
}

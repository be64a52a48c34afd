// ---- the whole package (js/full.js, appended to js/verify.js for the main entries) ------
// Standard Webhooks, signing and artifacts over the same module (feature `wasm`, raw
// exports of src/wasm.rs). As in js/verify.js, every JavaScript value is read here, in the
// order the Rust bindings read them before (each error is the same TypeError / RangeError,
// checked by CI's vectors, bad inputs and hostile calls); the module only sees bytes.
const decoder = new TextDecoder();
// Bun: each HMAC of verifySignature / createVerifier computed by Bun.CryptoHasher
// (BoringSSL, SHA-NI where the CPU has it); the header is still parsed and every MAC
// compared in constant time by the module (fw_verify_macs; js/verify.js answer()).
// Measured (BENCHMARKS.md, issue 14): JavaScriptCore runs this module's SHA-256 at
// ~310 MB/s, BoringSSL at ~1.7 GB/s. Used only after it reproduces two RFC 4231
// HMAC-SHA-256 test vectors (a short key, and one longer than a block); null elsewhere,
// and any error in a call falls back to the module's own HMAC.
NATIVE = nativeHmac();
function nativeHmac() {
  try {
    const Hasher = typeof Bun === "object" && Bun !== null ? Bun.CryptoHasher : undefined;
    if (typeof Hasher !== "function") return null;
    const out = new Uint8Array(64); // digest(into) wants room for any algorithm's output
    const mac32 = out.subarray(0, 32);
    const mac = (key, data) => {
      new Hasher("sha256", key).update(data).digest(out);
      return mac32;
    };
    const hex = (bytes) => Array.from(bytes, (b) => (b < 16 ? "0" : "") + b.toString(16)).join("");
    const rfc4231 = [
      [encoder.encode("Jefe"), "what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"],
      [new Uint8Array(131).fill(0xaa), "Test Using Larger Than Block-Size Key - Hash Key First", "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"],
    ];
    for (const [key, data, want] of rfc4231) if (hex(mac(key, encoder.encode(data))) !== want) return null;
    return mac;
  } catch (_) {
    return null;
  }
}
const STD_REASONS = ["ok", "missing_header", "malformed_timestamp", "too_old", "too_new", "malformed_signature", "no_matching_signature", "empty_secret"];
const HEADERS_FIX = "headers must be a Headers instance or a plain object of header names to values (e.g. Node's req.headers)";
const STD_SECRET_FIX = "secret must be a `whsec_...` string or an array of them (key rotation)";
const OPTIONS_FIX = "options must be { toleranceSeconds?: number, now?: number | Date } with `now` in Unix seconds (Date.now() / 1000) or a Date";
const MALFORMED_SECRET = "standard webhooks secret must be `whsec_` followed by the base64 of a non-empty key";
const NO_SIGNING_SECRET = "at least one secret is needed to sign";
const ARTIFACTS_FIX = "artifacts must be an array of { name, contentType, size, data? } objects";
const LIMITS_FIX = "limits must be an object { perArtifact?, budget? } of byte counts";
const INLINE_MAX = 256 * 1024; // src/artifacts.rs INLINE_MAX, INLINE_BUDGET
const MAX_SAFE = 9007199254740991;
// The wasm-bindgen bindings before read every property as an `Option`, so a property set to
// `null` counted as absent (options.now, options.toleranceSeconds, limits.*, an artifact's
// contentType and size): kept, so no caller's working call starts to throw.
const orAbsent = (v) => (v === null ? undefined : v);

function nonNegativeInteger(value) {
  return typeof value === "number" && value >= 0 && value <= MAX_SAFE && Math.floor(value) === value;
}
/** An array's `length` (as reported: a proxy may lie, within u32), or a TypeError(fix). */
function arrayLength(array, fix) {
  let n;
  try {
    n = array.length;
  } catch (_) {
    throw new TypeError(fix);
  }
  if (typeof n !== "number" || !(n >= 0 && n <= 4294967295) || Math.floor(n) !== n) throw new TypeError(fix);
  return n;
}
/** A failure of the module itself (its memory could not grow). */
function internal(what) {
  return new RangeError("foreman-webhook: " + what + " failed (out of WebAssembly memory)");
}
/** The module's last text answer, `len` bytes of UTF-8 (a negative length: failure). */
function text(len, what) {
  grew = true;
  if (len < 0) throw internal(what);
  return decoder.decode(new Uint8Array(wasm.memory.buffer, wasm.fw_out(), len));
}
/** Lays `parts` (Uint8Arrays) one after the other from the start of the scratch region. */
function place(parts) {
  let total = 0;
  for (let i = 0; i < parts.length; i++) total += parts[i].length;
  reserve(total);
  const region = new Uint8Array(wasm.memory.buffer, head.byteOffset, total);
  let at = 0;
  for (let i = 0; i < parts.length; i++) {
    region.set(parts[i], at);
    at += parts[i].length;
  }
}
/** Writes `s` as UTF-8 at `at` of the reserved region: its length, or -1 for null (absent).
 * ASCII (every real header) without allocating. */
function put(s, at) {
  if (s === null) return -1;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 127) return encoder.encodeInto(s, whole.subarray(at)).written;
    whole[at + i] = c;
  }
  return n;
}
/** Wraps an export: the instance is replaced after a trap or a call that left it large. */
function guarded(f) {
  return function () {
    let error = null;
    try {
      return f.apply(undefined, arguments);
    } catch (e) {
      error = e;
      throw e;
    } finally {
      settle(error);
    }
  };
}

// ---- signatures ---------------------------------------------------------------------------
function signPayloadRaw(body, secret) {
  const bytes = bytesOf(body);
  if (bytes === null) throw bodyError(body);
  const n = bytes.length;
  const k = bytesOf(secret);
  if (k === null) throw new TypeError("secret must be a string or a Uint8Array, got " + describe(secret));
  if (k.length === 0) throw new TypeError(EMPTY_SECRET);
  // Reading the secret may have run caller code (a proxy) that detached the body's buffer.
  if (bytes.length !== n) throw new TypeError(DETACHED);
  const slot = key([k.slice()]);
  if (!slot) throw internal("keying");
  try {
    reserve(n);
    scratch.set(bytes);
    return text(wasm.fw_sign(slot, n), "signing");
  } finally {
    wasm.fw_slot_free(slot);
  }
}

// ---- Standard Webhooks --------------------------------------------------------------------
/** `secret` as a list of strings (not parsed yet); TypeErrors as the bindings threw them. */
function stdSecrets(secret) {
  if (typeof secret === "string") return [secret];
  let array;
  try {
    array = Array.isArray(secret);
  } catch (_) {
    throw new TypeError(STD_SECRET_FIX);
  }
  if (!array) throw new TypeError(STD_SECRET_FIX + ", got " + describe(secret));
  const n = arrayLength(secret, STD_SECRET_FIX);
  if (n > MAX_SECRETS) throw new TypeError("at most 64 secrets are accepted");
  const out = [];
  for (let i = 0; i < n; i++) {
    let item;
    try {
      item = secret[i];
    } catch (_) {
      throw new TypeError(STD_SECRET_FIX);
    }
    if (typeof item !== "string") throw new TypeError(STD_SECRET_FIX + ", got " + describe(item));
    out.push(item);
  }
  return out;
}
/** A Standard Webhooks slot holding `secrets` (parsed by the module): its number, or the
 * reason code of the first secret that does not parse. */
function stdKey(secrets) {
  grew = true;
  const slot = wasm.fw_std_slot_new();
  if (!slot) throw internal("keying");
  for (let i = 0; i < secrets.length; i++) {
    const bytes = encoder.encode(secrets[i]);
    reserve(bytes.length);
    new Uint8Array(wasm.memory.buffer, head.byteOffset, bytes.length).set(bytes);
    const r = wasm.fw_std_slot_add(slot, bytes.length);
    if (r !== 1) {
      wasm.fw_std_slot_free(slot);
      if (r === 2) return "malformed_secret";
      if (r === 3) return "empty_secret";
      throw internal("keying");
    }
  }
  return slot;
}
function stdSecretError(reason) {
  return new TypeError(reason === "empty_secret" ? EMPTY_SECRET : MALFORMED_SECRET);
}
// Keyed slots of the last 16 string secrets (parsing and keying once per secret).
const stdCache = new Map();
function stdCachedSlot(secret) {
  if (secret.length === 0 || secret.length > 4096) return 0;
  const hit = stdCache.get(secret);
  if (hit !== undefined && hit.epoch === epoch) return hit.slot;
  stdCache.delete(secret);
  const slot = stdKey([secret]);
  if (typeof slot === "string") return slot;
  if (stdCache.size >= 16) {
    const [oldest, entry] = stdCache.entries().next().value;
    stdCache.delete(oldest);
    if (entry.epoch === epoch) wasm.fw_std_slot_free(entry.slot);
  }
  stdCache.set(secret, { slot, epoch });
  return slot;
}
function asciiLower(s) {
  return s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}
const ID = "webhook-id", TS = "webhook-timestamp", SIG = "webhook-signature";
/** The three Standard Webhooks headers [id, timestamp, signature] from a Headers-like object
 * (anything with a `get` method) or a plain object (names matched ignoring ASCII case, the
 * first own enumerable key for each); an array value is several lines, joined by the
 * core's rule (`receive::join_lines`). An absent header: null. One pass over the keys
 * (the bindings before looked each name up separately: only a proxy that counts its traps
 * can tell the difference). Sets hId, hTs, hSig. */
let hId = null, hTs = null, hSig = null; // stdHeaders' answer (no array per call)
function stdHeaders(headers) {
  if (typeof headers !== "object" || headers === null) throw new TypeError(HEADERS_FIX + ", got " + describe(headers));
  let id, ts, sig;
  try {
    const get = headers.get;
    // `typeof`, not `instanceof Function`: a Headers object from another realm (Next.js's
    // edge sandbox) has a `get` that is not an instance of this realm's Function.
    if (typeof get === "function") {
      id = Reflect.apply(get, headers, [ID]);
      ts = Reflect.apply(get, headers, [TS]);
      sig = Reflect.apply(get, headers, [SIG]);
    } else {
      const keys = Object.keys(headers);
      let found = 0;
      for (let i = 0; i < keys.length && found !== 7; i++) {
        const k = keys[i];
        if (typeof k !== "string") continue;
        if (k.length === 10) {
          if (!(found & 1) && (k === ID || asciiLower(k) === ID)) {
            found |= 1;
            id = headers[k];
          }
        } else if (k.length === 17) {
          const l = k === TS || k === SIG ? k : asciiLower(k);
          if (!(found & 2) && l === TS) {
            found |= 2;
            ts = headers[k];
          } else if (!(found & 4) && l === SIG) {
            found |= 4;
            sig = headers[k];
          }
        }
      }
    }
  } catch (_) {
    throw new TypeError(HEADERS_FIX + " (reading it threw)");
  }
  hId = lines(id, ", ");
  hTs = lines(ts, ", ");
  hSig = lines(sig, " ");
}
/** A header value: a string, or an array of lines joined by `sep`; anything else: null. */
function lines(value, sep) {
  if (typeof value === "string") return value;
  if (!isArray(value)) return null;
  // Repeated lines (e.g. req.headersDistinct); an entry that cannot be read is
  // attacker-controlled junk, left out.
  let n = 0;
  try {
    n = value.length;
  } catch (_) {}
  if (typeof n !== "number" || !(n >= 0 && n <= 4294967295) || Math.floor(n) !== n) n = 0;
  n = Math.min(n, MAX_HEADER_LINES);
  let out = null;
  for (let i = 0; i < n; i++) {
    let line;
    try {
      line = value[i];
    } catch (_) {
      continue;
    }
    if (typeof line === "string") out = out === null ? line : out + sep + line;
  }
  return out;
}
function clock() {
  let ms;
  try {
    ms = Date.now();
  } catch (_) {
    throw new TypeError("Date.now() threw: pass options.now (Unix seconds)");
  }
  return Math.floor((typeof ms === "number" ? ms : NaN) / 1000);
}
let optTolerance = -1, optNow = 0; // readOptions' answer (no array per call)
/** Sets optTolerance (-1: the default) and optNow from `{ toleranceSeconds?, now? }`. */
function readOptions(options) {
  optTolerance = -1;
  if (options === undefined || options === null) {
    optNow = clock();
    return;
  }
  if (typeof options !== "object") throw new TypeError(OPTIONS_FIX + ", got " + describe(options));
  let t, n;
  try {
    t = orAbsent(options.toleranceSeconds);
  } catch (_) {
    throw new TypeError(OPTIONS_FIX);
  }
  if (t !== undefined) {
    if (typeof t !== "number" || !(t >= 0 && t < 1e11) || Math.floor(t) !== t) {
      throw new TypeError(OPTIONS_FIX + ": toleranceSeconds must be a non-negative integer");
    }
    optTolerance = t;
  }
  try {
    n = orAbsent(options.now);
  } catch (_) {
    throw new TypeError(OPTIONS_FIX);
  }
  if (n === undefined) {
    optNow = clock();
    return;
  }
  if (typeof n === "object" && n !== null) {
    // A Date, of any realm; getTime() throws for anything else (a proxy of a Date,
    // Object.create(Date.prototype)).
    let ms;
    try {
      ms = n.getTime();
    } catch (_) {}
    if (typeof ms !== "number") throw new TypeError(OPTIONS_FIX + ": `now` is not a real Date");
    if (ms !== ms) throw new TypeError(OPTIONS_FIX + ": `now` is an invalid Date");
    optNow = Math.floor(ms / 1000);
    return;
  }
  if (typeof n === "number" && Number.isFinite(n)) {
    // Seconds since 1970 stay below 1e11 until the year 5138; a larger number is almost
    // certainly Date.now() in milliseconds.
    if (Math.abs(n) < 1e11) {
      optNow = Math.floor(n);
      return;
    }
    throw new TypeError(OPTIONS_FIX + ": `now` looks like milliseconds; divide Date.now() by 1000");
  }
  throw new TypeError(OPTIONS_FIX);
}
/** The body as bytes for the module, checked before any secret is parsed; a string body is
 * kept as a string (written with encodeInto) when its UTF-8 cannot pass the 64 MiB limit. */
function stdBody(body) {
  if (typeof body === "string" && body.length <= MAX_INPUT_BYTES / 3) return body;
  const n = typeof body === "object" && body !== null ? u8Length(body) : 0;
  if (n > 0 && n <= MAX_INPUT_BYTES) return body;
  const bytes = bytesOf(body);
  if (bytes === null) throw bodyError(body);
  return bytes;
}
/** The reason for a Standard Webhooks request; `held` is a verifier's { slot, epoch, secrets }. */
function stdReason(headers, body, secret, options, held) {
  // Every JavaScript input is read before the body is copied in (a getter cannot detach
  // the body's buffer after it was measured).
  stdHeaders(headers);
  const id = hId, ts = hTs, sig = hSig;
  readOptions(options);
  const tolerance = optTolerance, now = optNow;
  let secrets = null;
  if (held === null && !(typeof secret === "string" && secret.length > 0 && secret.length <= 4096)) {
    secrets = stdSecrets(secret);
  }
  const b = stdBody(body);
  let slot;
  if (held !== null) {
    if (held.epoch !== epoch) {
      held.slot = stdKey(held.secrets);
      held.epoch = epoch;
    }
    slot = held.slot;
  } else if (secrets === null) {
    slot = stdCachedSlot(secret);
  } else {
    slot = stdKey(secrets);
  }
  if (typeof slot === "string") return slot;
  try {
    const room = 3 * ((id === null ? 0 : id.length) + (ts === null ? 0 : ts.length) + (sig === null ? 0 : sig.length));
    // A Uint8Array's length through the intrinsic getter (a subclass cannot lie about it).
    const bodyLength = typeof b === "string" ? b.length * 3 : Reflect.apply(TYPED_ARRAY[2], b, []);
    reserve(room + bodyLength);
    const a = put(id, 0);
    const c = put(ts, Math.max(a, 0));
    const d = put(sig, Math.max(a, 0) + Math.max(c, 0));
    const at = Math.max(a, 0) + Math.max(c, 0) + Math.max(d, 0);
    let n;
    if (typeof b === "string") {
      n = encoder.encodeInto(b, whole.subarray(at)).written;
    } else {
      Reflect.apply(U8_SET, whole, [b, at]);
      n = bodyLength;
    }
    const code = wasm.fw_std_verify(slot, a, c, d, n, now, tolerance);
    if (code >= STD_REASONS.length) throw new TypeError("foreman-webhook: unexpected answer " + code);
    return STD_REASONS[code];
  } finally {
    if (secrets !== null) wasm.fw_std_slot_free(slot);
  }
}
function signStandardWebhookRaw(id, timestamp, body, secret) {
  if (typeof id !== "string") throw new TypeError("id must be a string (the webhook-id), got " + describe(id));
  if (typeof timestamp !== "number" || !(timestamp >= 0 && timestamp < 1e11) || Math.floor(timestamp) !== timestamp) {
    throw new TypeError("timestamp must be an integer number of Unix seconds (Math.floor(Date.now() / 1000))");
  }
  const secrets = stdSecrets(secret);
  const bytes = bytesOf(body);
  if (bytes === null) throw bodyError(body);
  const slot = stdKey(secrets);
  if (typeof slot === "string") throw stdSecretError(slot);
  try {
    if (secrets.length === 0) throw new TypeError(NO_SIGNING_SECRET);
    const idBytes = encoder.encode(id);
    place([idBytes, bytes]);
    return text(wasm.fw_std_sign(slot, idBytes.length, timestamp, bytes.length), "signing");
  } finally {
    wasm.fw_std_slot_free(slot);
  }
}
const freeStdSlots = typeof FinalizationRegistry === "function"
  ? new FinalizationRegistry(function (held) {
      if (held.epoch === epoch && typeof held.slot === "number") wasm.fw_std_slot_free(held.slot);
    })
  : null;
function createStandardVerifierRaw(secret) {
  const secrets = stdSecrets(secret);
  const slot = stdKey(secrets);
  if (typeof slot === "string") throw stdSecretError(slot);
  if (secrets.length === 0) {
    wasm.fw_std_slot_free(slot);
    throw new TypeError(NO_SIGNING_SECRET);
  }
  const held = { slot, epoch, secrets };
  const reasonOf = guarded((headers, body, options) => stdReason(headers, body, null, options, held));
  const verifier = Object.freeze({
    verify: function verify(headers, body, options) {
      return reasonOf(headers, body, options) === "ok";
    },
    verifyReason: function verifyReason(headers, body, options) {
      return reasonOf(headers, body, options);
    },
  });
  if (freeStdSlots !== null) freeStdSlots.register(verifier, held);
  return verifier;
}

// ---- artifacts ----------------------------------------------------------------------------
function readArtifacts(artifacts) {
  let array;
  try {
    array = Array.isArray(artifacts);
  } catch (_) {
    throw new TypeError(ARTIFACTS_FIX);
  }
  if (!array) throw new TypeError(ARTIFACTS_FIX + ", got " + describe(artifacts));
  const n = arrayLength(artifacts, ARTIFACTS_FIX);
  const out = [];
  for (let i = 0; i < n; i++) {
    let item;
    try {
      item = artifacts[i];
    } catch (_) {
      throw new TypeError(ARTIFACTS_FIX);
    }
    out.push(readArtifact(item, String(i)));
  }
  return out;
}
/** `{ name, contentType | content_type, size?, data? }`, its data copied. */
function readArtifact(item, at) {
  let bad = typeof item !== "object" || item === null;
  if (!bad) {
    try {
      bad = Array.isArray(item);
    } catch (_) {
      bad = true;
    }
  }
  if (bad) throw new TypeError("artifacts[" + at + "] must be an object { name, contentType, size, data? }, got " + describe(item));
  const field = (k) => {
    try {
      return item[k];
    } catch (_) {
      throw new TypeError("artifacts[" + at + "]." + k + " could not be read");
    }
  };
  const name = field("name");
  if (typeof name !== "string") throw new TypeError("artifacts[" + at + '].name must be a string (the file name, e.g. "report.json")');
  let contentType = orAbsent(field("contentType"));
  if (contentType === undefined) contentType = field("content_type");
  if (typeof contentType !== "string") {
    throw new TypeError("artifacts[" + at + '].contentType must be a string (a MIME type, e.g. "text/plain")');
  }
  let data = field("data");
  if (data === null || data === undefined) {
    data = null;
  } else {
    const bytes = bytesOf(data);
    if (bytes === null) {
      throw new TypeError("artifacts[" + at + "].data must be a string or a Uint8Array (or left out for a URL reference), got " + describe(data));
    }
    // A copy: a later getter cannot change or detach what was read.
    data = typeof data === "string" ? bytes : bytes.slice();
  }
  const size = orAbsent(field("size"));
  let bytesSize;
  if (nonNegativeInteger(size)) bytesSize = size;
  else if (data !== null && size === undefined) bytesSize = data.length;
  else {
    throw new TypeError("artifacts[" + at + "].size must be a non-negative integer number of bytes (it may be left out when data is given), got " + describe(size));
  }
  return { name: encoder.encode(name), contentType: encoder.encode(contentType), size: bytesSize, data };
}
/** [perArtifact, budget] from `{ perArtifact?, budget? }` (256 KiB each by default). */
function readLimits(limits) {
  const out = [INLINE_MAX, INLINE_MAX];
  if (limits === undefined || limits === null) return out;
  if (typeof limits !== "object") throw new TypeError(LIMITS_FIX + ", got " + describe(limits));
  const keys = ["perArtifact", "budget"];
  for (let i = 0; i < 2; i++) {
    let value;
    try {
      value = orAbsent(limits[keys[i]]);
    } catch (_) {
      throw new TypeError(LIMITS_FIX);
    }
    if (value === undefined) continue;
    if (!nonNegativeInteger(value)) {
      throw new TypeError("limits." + keys[i] + " must be a non-negative integer number of bytes, got " + describe(value));
    }
    out[i] = value;
  }
  return out;
}
/** formatArtifacts (plan 0) or planArtifacts (plan 1) in the module: the list encoded as
 * src/wasm.rs `fw_artifacts` reads it. */
function artifactsIn(plan, jobId, list, limits) {
  const job = encoder.encode(jobId);
  let total = 8 + job.length;
  for (let i = 0; i < list.length; i++) {
    const a = list[i];
    total += 20 + a.name.length + a.contentType.length + (a.data === null ? 0 : a.data.length);
  }
  reserve(total);
  const buf = wasm.memory.buffer;
  const bytes = new Uint8Array(buf, head.byteOffset, total);
  const view = new DataView(buf, head.byteOffset, total);
  let at = 0;
  const word = (n) => {
    view.setUint32(at, n, true);
    at += 4;
  };
  const put = (b) => {
    bytes.set(b, at);
    at += b.length;
  };
  word(job.length);
  put(job);
  word(list.length);
  for (let i = 0; i < list.length; i++) {
    const a = list[i];
    word(a.name.length);
    put(a.name);
    word(a.contentType.length);
    put(a.contentType);
    view.setFloat64(at, a.size, true);
    at += 8;
    if (a.data === null) word(0xffffffff);
    else {
      word(a.data.length);
      put(a.data);
    }
  }
  return text(wasm.fw_artifacts(plan, total, limits[0], limits[1]), "artifacts");
}
function formatArtifactsRaw(jobId, artifacts, limits) {
  if (typeof jobId !== "string") throw new TypeError("jobId must be a string, got " + describe(jobId));
  const list = readArtifacts(artifacts);
  return artifactsIn(0, jobId, list, readLimits(limits));
}
function planArtifactsRaw(artifacts, limits) {
  const list = readArtifacts(artifacts);
  const codes = artifactsIn(1, "", list, readLimits(limits));
  return codes === "" ? [] : codes.split(",");
}

const signPayload = guarded(signPayloadRaw);
function verifyStandardWebhookReason(headers, body, secret, options) {
  let error = null;
  try {
    return stdReason(headers, body, secret, options, null);
  } catch (e) {
    error = e;
    throw e;
  } finally {
    settle(error);
  }
}
function verifyStandardWebhook(headers, body, secret, options) {
  return verifyStandardWebhookReason(headers, body, secret, options) === "ok";
}
const signStandardWebhook = guarded(signStandardWebhookRaw);
const createStandardVerifier = guarded(createStandardVerifierRaw);
const formatArtifacts = guarded(formatArtifactsRaw);
const planArtifacts = guarded(planArtifactsRaw);

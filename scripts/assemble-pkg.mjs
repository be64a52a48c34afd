// Assembles the npm package's entry files from wasm-bindgen's `--target bundler` output
// (called by scripts/build-wasm; pkg/ is generated, never edited by hand).
//
//   node scripts/assemble-pkg.mjs <wasm-bindgen out dir> <optimised .wasm> <pkg dir>
//
// Each entry is ONE self-contained module: the wasm-bindgen glue, the code that
// instantiates the module, and the exported functions, which reference that instance.
// No entry relies on a side effect of another module, so `"sideEffects": false` is true
// and no bundler can tree-shake the initialisation away from the functions that need it.
//
//   index.mjs / index.cjs  the .wasm inlined as base64, compiled synchronously when the
//                          module loads: a plain JavaScript module that every bundler
//                          (webpack, Rollup, Vite, esbuild, Turbopack, bun build) and every
//                          runtime (Node, Deno, Bun, browsers) loads with no asset to emit,
//                          no `import.meta.url`, no top-level await.
//   workerd.mjs            `import m from "./foreman_webhook_bg.wasm"` (Cloudflare Workers:
//                          wrangler and workerd hand over a compiled WebAssembly.Module;
//                          compiling wasm from bytes at run time is forbidden there).
//   edge-light.mjs         `import m from "./foreman_webhook_bg.wasm?module"` (Vercel and
//                          Next.js edge functions, which forbid it too).
//
// Every exported function is wrapped: after a call that left the instance's memory above
// RETAIN_BYTES (wasm memory never shrinks), or after a wasm trap, the instance is replaced
// by a fresh one from the same compiled module, so one huge input cannot pin its memory.
//
// It also audits the glue: every wasm import that calls JavaScript must go through
// wasm-bindgen's `handleError` (a `catch` import, src/wasm/js.rs), except the few on
// NO_THROW below, which cannot run caller code. A new unwrapped import fails the build.
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [outDir, wasmPath, pkgDir, verifyWasmPath] = process.argv.slice(2);
if (!pkgDir) {
  console.error("usage: assemble-pkg.mjs <wasm-bindgen out dir> <optimised .wasm> <pkg dir>");
  process.exit(2);
}
const fail = (msg) => {
  console.error(`assemble-pkg: ${msg}`);
  process.exit(1);
};

const RETAIN_BYTES = 8 * 1024 * 1024;
const NAME = "foreman_webhook";

// Imports that are not `catch` imports must do exactly one of these, none of which can
// throw or run caller code (matched on the glue function's text, so a new import, or an
// import whose generated body changes, fails the build until reviewed).
const NO_THROW = [
  [/const ret = typeof\(arg0\) === '(function|string)';/, "typeof test"],
  [/const ret = typeof\(val\) === 'object' && val !== null;/, "typeof test"],
  [/const ret = typeof arg0;/, "typeof"],
  [/const ret = arg0 (===? (null|undefined)|== null);/, "comparison"],
  [/const ret = typeof\(obj\) === '(number|string)' \? obj : undefined;/, "typeof test, then a copy"],
  [/const ret = wasm\.memory;/, "the module's own memory"],
  [/try \{\s*result = arg0 instanceof (ArrayBuffer|Date|Function);\s*\} catch \(_\) \{\s*result = false;/, "instanceof, wrapped in try by the glue"],
  [/const ret = ArrayBuffer\.isView\(arg0\);/, "reads an internal slot, no trap"],
  [/const ret = new (TypeError|RangeError)\(getStringFromWasm0\(arg0, arg1\)\);/, "a built-in error"],
  [/const ret = new Array\(\);/, "an empty array"],
  [/const ret = (Uint8Array|DataView|TextEncoder);/, "reads a global constructor"],
  [/\/\/ Cast intrinsic for /, "wasm-bindgen's cast of a number or Rust string"],
  [/throw new Error\(getStringFromWasm0\(arg0, arg1\)\);/, "__wbindgen_throw: linked only by js_sys's Closure shims; the bindings create no Closure and never call throw_str (checked below)"],
  [/^function __wbindgen_init_externref_table\(\)/, "wasm-bindgen's table setup"],
];

const glue = readFileSync(join(outDir, `${NAME}_bg.js`), "utf8");
const start = readFileSync(join(outDir, `${NAME}.js`), "utf8");
const wasmBytes = readFileSync(wasmPath);
const wasmModule = new WebAssembly.Module(wasmBytes);

// The public exports, as the bundler start file lists them.
const list = start.match(/export\s*\{([^}]*)\}\s*from\s*["']\.\/[\w]+_bg\.js["']/);
if (!list) fail(`no export list in ${NAME}.js`);
const publicNames = list[1].split(",").map((s) => s.trim()).filter(Boolean);
if (publicNames.length < 5) fail(`only ${publicNames.length} exports found`);
const needsStart = /wasm\.__wbindgen_start\(\)/.test(start);

// The glue without its `export` keywords (the entries export wrappers instead).
let body = glue;
if (!/^let wasm;$/m.test(body) || !/^export function __wbg_set_wasm\(val\)/m.test(body)) {
  fail("the glue lacks `let wasm;` / `__wbg_set_wasm`: wasm-bindgen's bundler output changed");
}
body = body.replace(/^export (function|const|let|class) /gm, "$1 ");
body = body.replace(/^export\s*\{[^}]*\};?\s*$/gm, "");
if (/^\s*(export|import)\b/m.test(body)) fail("the glue still has import/export statements");
if (/import\.meta|require\(/.test(body)) fail("the glue refers to import.meta or require");
const caches = [...body.matchAll(/^let (cached\w+) = null;$/gm)].map((m) => m[1]);

// The wasm module's imports, each of which must be a glue function.
const imports = WebAssembly.Module.imports(wasmModule);
const byModule = new Map();
const functionBody = (name) => {
  const at = body.search(new RegExp(`^function ${name}\\(`, "m"));
  if (at < 0) return undefined;
  const end = body.indexOf("\n}\n", at);
  return body.slice(at, end < 0 ? undefined : end + 2);
};
const unwrapped = [];
for (const { module, name, kind } of imports) {
  if (kind !== "function") fail(`unexpected ${kind} import ${module}.${name}`);
  const fn = functionBody(name);
  if (!fn) fail(`import ${module}.${name} has no glue function`);
  if (!byModule.has(module)) byModule.set(module, []);
  byModule.get(module).push(name);
  if (!/handleError\(function/.test(fn)) unwrapped.push(name);
}
const unknown = unwrapped.filter((name) => !NO_THROW.some(([re]) => re.test(functionBody(name))));
if (unknown.length) {
  fail(`imports that are not \`catch\` imports and not on the NO_THROW list (src/wasm/js.rs is the one way to call JavaScript):\n  ${unknown.map((n) => `${n}:\n${functionBody(n)}`).join("\n  ")}`);
}

// The bindings never throw from Rust (an exception thrown from wasm unwinds its frames):
// errors travel as Result. `__wbindgen_throw` stays linked for js_sys's closure shims.
for (const file of ["src/wasm.rs", ...readdirSync("src/wasm").map((f) => `src/wasm/${f}`)]) {
  const text = readFileSync(file, "utf8");
  const bad = text.match(/\b(Closure|throw_str|throw_val|unwrap_throw|expect_throw)\b/);
  if (bad) fail(`${file} uses ${bad[1]}: return a Result instead (an exception must not unwind through wasm)`);
}

const importObject = `{\n${[...byModule]
  .map(([m, names]) => `  ${JSON.stringify(m)}: { ${names.map((n) => `${n}: ${n}`).join(", ")} },`)
  .join("\n")}\n}`;

const header = (what) => `// foreman-webhook ${what}
// Generated by scripts/assemble-pkg.mjs from wasm-bindgen's output: do not edit.
/* eslint-disable */
`;

const runtime = `
// ---- instance management (scripts/assemble-pkg.mjs) -----------------------------------
const __fw_imports = ${importObject};
let __fw_resets = 0;
let __fw_epoch = 0; // instances so far: a keyed slot belongs to one instance
let __fw_head = null; // views of the hot path's scratch region (header, body)
let __fw_body = null;
let __fw_stdTs = null;
let __fw_stdSig = null;
function __fw_instantiate() {
  // No instanceof check on the module: Next.js's edge sandbox hands over a module
  // compiled in another realm, which WebAssembly.Instance accepts.
  const exports = new WebAssembly.Instance(__fw_module, __fw_imports).exports;
  __wbg_set_wasm(exports);
  __fw_epoch++;
  __fw_head = null;
  __fw_body = null;
  __fw_stdTs = null;
  __fw_stdSig = null;
${caches.map((c) => `  ${c} = null;`).join("\n")}
${needsStart ? "  exports.__wbindgen_start();\n" : ""}}
__fw_instantiate();
const __fw_RETAIN_BYTES = ${RETAIN_BYTES};
/** Wraps an export: replaces the instance after a trap or a call that left it large. */
function __fw_guard(f) {
  return function () {
    let trapped = false;
    try {
      return f.apply(undefined, arguments);
    } catch (e) {
      trapped = e instanceof WebAssembly.RuntimeError;
      throw e;
    } finally {
      if (trapped || wasm.memory.buffer.byteLength > __fw_RETAIN_BYTES) {
        __fw_resets++;
        __fw_instantiate();
      }
    }
  };
}
// ---- the hot path (src/wasm/fast.rs) ---------------------------------------------------
// verifySignature / verifySignatureReason with a string secret (keyed states cached per
// secret) and createVerifier(...).verify: the header and the body are written into one
// reused scratch region of wasm memory and verified by raw exports that take numbers only.
// Any other input (a non-string header, another body type, a body over FAST_MAX, a throw)
// takes the general wasm-bindgen path, which holds every rule and error message.
const __fw_HEADER_AREA = 1024; // src/wasm/fast.rs: HEADER_AREA, STD_TS_AT = 256, STD_SIG_AT = 320
const __fw_FAST_MAX = 2 * 1024 * 1024;
const __fw_REASONS = ["ok", "missing_prefix", "wrong_length", "malformed_hex", "mismatch", "empty_secret"];
const __fw_encoder = new TextEncoder();
const __fw_u8len = (function () {
  const get = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), "byteLength").get;
  return function (view) { return Reflect.apply(get, view, []); };
})();
const __fw_u8set = Uint8Array.prototype.set;
/** Makes the scratch region at least HEADER_AREA + bodyBytes long; false if it cannot. */
function __fw_reserve(bodyBytes) {
  if (__fw_body !== null && __fw_body.buffer === wasm.memory.buffer && __fw_body.length >= bodyBytes) return true;
  const want = __fw_HEADER_AREA + Math.max(bodyBytes, __fw_body === null ? 4096 : __fw_body.length * 2);
  const ptr = wasm.fw_scratch(want);
  if (!ptr) return false;
  __fw_head = new Uint8Array(wasm.memory.buffer, ptr, 256);
  __fw_stdTs = new Uint8Array(wasm.memory.buffer, ptr + 256, 64);
  __fw_stdSig = new Uint8Array(wasm.memory.buffer, ptr + 320, __fw_HEADER_AREA - 320);
  __fw_body = new Uint8Array(wasm.memory.buffer, ptr + __fw_HEADER_AREA, want - __fw_HEADER_AREA);
  return true;
}
/** A slot keyed with every key (Uint8Arrays, non-empty), or 0. */
function __fw_key(keys) {
  const slot = wasm.fw_slot_new();
  if (!slot) return 0;
  for (let i = 0; i < keys.length; i++) {
    if (!__fw_reserve(keys[i].length)) { wasm.fw_slot_free(slot); return 0; }
    // The key goes at the start of the region: header area and body area are contiguous.
    new Uint8Array(wasm.memory.buffer, __fw_head.byteOffset, keys[i].length).set(keys[i]);
    if (!wasm.fw_slot_add(slot, keys[i].length)) { wasm.fw_slot_free(slot); return 0; }
  }
  return slot;
}
/** The answer code (index into __fw_REASONS) for body and header under slot, or -1. */
function __fw_fast(slot, body, header) {
  if (typeof header !== "string" || header.length > 85) return -1;
  try {
    let n;
    if (typeof body === "string") {
      if (body.length > __fw_FAST_MAX / 3 || !__fw_reserve(body.length * 3)) return -1;
      n = __fw_encoder.encodeInto(body, __fw_body).written;
    } else if (body instanceof Uint8Array) {
      n = __fw_u8len(body);
      if (n > __fw_FAST_MAX || !__fw_reserve(n)) return -1;
      Reflect.apply(__fw_u8set, __fw_body, [body]);
    } else {
      return -1;
    }
    const h = __fw_encoder.encodeInto(header, __fw_head).written;
    const code = wasm.fw_verify(slot, h, n);
    return code < __fw_REASONS.length ? code : -1;
  } catch (e) {
    if (e instanceof WebAssembly.RuntimeError) { __fw_resets++; __fw_instantiate(); }
    return -1;
  }
}
// Keyed states for string secrets, most recently keyed last; at most 16 per scheme.
// key(secret) keys a new slot (0 on failure); free(slot) releases one of the current instance.
function __fw_slotCache(key, free) {
  const cache = new Map();
  return (secret) => {
    const hit = cache.get(secret);
    if (hit !== undefined && hit.epoch === __fw_epoch) return hit.slot;
    if (hit !== undefined) cache.delete(secret);
    if (secret.length === 0 || secret.length > 4096) return 0;
    if (cache.size >= 16) {
      const [oldest, entry] = cache.entries().next().value;
      cache.delete(oldest);
      if (entry.epoch === __fw_epoch) free(entry.slot);
    }
    let slot = 0;
    try { slot = key(secret); } catch (_) { slot = 0; }
    if (slot) cache.set(secret, { slot, epoch: __fw_epoch });
    return slot;
  };
}
const __fw_cachedSlot = __fw_slotCache(
  (secret) => __fw_key([__fw_encoder.encode(secret)]),
  (slot) => wasm.fw_slot_free(slot),
);
function __fw_fastCached(body, signature, secret) {
  if (typeof secret !== "string" || typeof signature !== "string") return -1;
  const slot = __fw_cachedSlot(secret);
  return slot ? __fw_fast(slot, body, signature) : -1;
}
const __fw_freeSlots = typeof FinalizationRegistry === "function"
  ? new FinalizationRegistry(function (held) { if (held.epoch === __fw_epoch) { try { wasm.fw_slot_free(held.slot); } catch (_) {} } })
  : null;
/** A copy of a key (string, ArrayBufferView or ArrayBuffer, already validated). */
function __fw_keyBytes(k) {
  if (typeof k === "string") return __fw_encoder.encode(k);
  if (ArrayBuffer.isView(k)) return new Uint8Array(k.buffer, k.byteOffset, k.byteLength).slice();
  return new Uint8Array(k).slice();
}
function __fw_createVerifier(secret) {
  // The general path validates the secret (TypeError naming the fix, as verifySignature).
  if (__fw_verifySignatureReason("", "", secret) === "empty_secret") {
    throw new TypeError("secret must not be empty: an empty HMAC key lets anyone forge signatures");
  }
  const keys = (Array.isArray(secret) ? Array.from(secret) : [secret]).map(__fw_keyBytes);
  const held = { slot: 0, epoch: -1 };
  const verifier = {};
  const codeOf = function (body, signature) {
    if (held.epoch !== __fw_epoch) {
      held.slot = __fw_key(keys);
      held.epoch = __fw_epoch;
    }
    return held.slot ? __fw_fast(held.slot, body, signature) : -1;
  };
  verifier.verify = function verify(body, signature) {
    const code = codeOf(body, signature);
    return code >= 0 ? code === 0 : __fw_verifySignature(body, signature, keys);
  };
  verifier.verifyReason = function verifyReason(body, signature) {
    const code = codeOf(body, signature);
    return code >= 0 ? __fw_REASONS[code] : __fw_verifySignatureReason(body, signature, keys);
  };
  if (__fw_freeSlots !== null) __fw_freeSlots.register(verifier, held);
  return Object.freeze(verifier);
}
function __fw_fastVerifySignature(body, signature, secret) {
  const code = __fw_fastCached(body, signature, secret);
  return code >= 0 ? code === 0 : __fw_verifySignature(body, signature, secret);
}
function __fw_fastVerifySignatureReason(body, signature, secret) {
  const code = __fw_fastCached(body, signature, secret);
  return code >= 0 ? __fw_REASONS[code] : __fw_verifySignatureReason(body, signature, secret);
}
// Standard Webhooks: the same scratch region; headers from a Headers-like get() or a
// plain object with exactly-lowercase names (any other spelling: the general path).
const __fw_STD_REASONS = ["ok", "missing_header", "malformed_timestamp", "too_old", "too_new", "malformed_signature", "no_matching_signature", "empty_secret"];
function __fw_stdKey(secrets) {
  const slot = wasm.fw_std_slot_new();
  if (!slot) return 0;
  for (let i = 0; i < secrets.length; i++) {
    const bytes = __fw_encoder.encode(secrets[i]);
    if (!__fw_reserve(bytes.length)) { wasm.fw_std_slot_free(slot); return 0; }
    new Uint8Array(wasm.memory.buffer, __fw_head.byteOffset, bytes.length).set(bytes);
    if (!wasm.fw_std_slot_add(slot, bytes.length)) { wasm.fw_std_slot_free(slot); return 0; }
  }
  return slot;
}
const __fw_ID = "webhook-id", __fw_TS = "webhook-timestamp", __fw_SIG = "webhook-signature";
/** The answer code (index into __fw_STD_REASONS), or -1 for the general path. */
function __fw_stdFast(slot, headers, body, options) {
  try {
    if (typeof headers !== "object" || headers === null) return -1;
    let id, ts, sig;
    if (typeof headers.get === "function") {
      id = headers.get(__fw_ID);
      ts = headers.get(__fw_TS);
      sig = headers.get(__fw_SIG);
    } else {
      // The general path takes the first own enumerable key equal ignoring ASCII case.
      const keys = Object.keys(headers);
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i];
        if (k.length !== 10 && k.length !== 17) continue;
        if (k === __fw_ID) { if (id === undefined) id = headers[k]; }
        else if (k === __fw_TS) { if (ts === undefined) ts = headers[k]; }
        else if (k === __fw_SIG) { if (sig === undefined) sig = headers[k]; }
        else {
          const l = k.toLowerCase();
          if (l === __fw_ID || l === __fw_TS || l === __fw_SIG) return -1;
        }
      }
    }
    if (typeof id !== "string" || typeof ts !== "string" || typeof sig !== "string") return -1;
    if (id.length > 85 || ts.length > 21 || sig.length > 234) return -1;
    let now, tol = -1;
    if (options === undefined || options === null) {
      now = Math.floor(Date.now() / 1000);
    } else if (typeof options === "object") {
      const t = options.toleranceSeconds;
      const n = options.now;
      if (t !== undefined) {
        if (typeof t !== "number" || !(t >= 0 && t < 1e11) || Math.floor(t) !== t) return -1;
        tol = t;
      }
      if (n === undefined) now = Math.floor(Date.now() / 1000);
      else if (typeof n === "number" && Number.isFinite(n) && Math.abs(n) < 1e11) now = Math.floor(n);
      else return -1;
    } else {
      return -1;
    }
    if (typeof now !== "number" || !Number.isFinite(now)) return -1;
    let n;
    if (typeof body === "string") {
      if (body.length > __fw_FAST_MAX / 3 || !__fw_reserve(body.length * 3)) return -1;
      n = __fw_encoder.encodeInto(body, __fw_body).written;
    } else if (body instanceof Uint8Array) {
      n = __fw_u8len(body);
      if (n > __fw_FAST_MAX || !__fw_reserve(n)) return -1;
      Reflect.apply(__fw_u8set, __fw_body, [body]);
    } else {
      return -1;
    }
    const a = __fw_encoder.encodeInto(id, __fw_head).written;
    const b = __fw_encoder.encodeInto(ts, __fw_stdTs).written;
    const c = __fw_encoder.encodeInto(sig, __fw_stdSig).written;
    const code = wasm.fw_std_verify(slot, a, b, c, n, now, tol);
    return code < __fw_STD_REASONS.length ? code : -1;
  } catch (e) {
    if (e instanceof WebAssembly.RuntimeError) { __fw_resets++; __fw_instantiate(); }
    return -1;
  }
}
const __fw_stdCachedSlot = __fw_slotCache(
  (secret) => __fw_stdKey([secret]),
  (slot) => wasm.fw_std_slot_free(slot),
);
function __fw_stdFastCached(headers, body, secret, options) {
  if (typeof secret !== "string") return -1;
  const slot = __fw_stdCachedSlot(secret);
  return slot ? __fw_stdFast(slot, headers, body, options) : -1;
}
function __fw_fastVerifyStandardWebhook(headers, body, secret, options) {
  const code = __fw_stdFastCached(headers, body, secret, options);
  return code >= 0 ? code === 0 : __fw_verifyStandardWebhook(headers, body, secret, options);
}
function __fw_fastVerifyStandardWebhookReason(headers, body, secret, options) {
  const code = __fw_stdFastCached(headers, body, secret, options);
  return code >= 0 ? __fw_STD_REASONS[code] : __fw_verifyStandardWebhookReason(headers, body, secret, options);
}
const __fw_freeStdSlots = typeof FinalizationRegistry === "function"
  ? new FinalizationRegistry(function (held) { if (held.epoch === __fw_epoch) { try { wasm.fw_std_slot_free(held.slot); } catch (_) {} } })
  : null;
function __fw_createStandardVerifier(secret) {
  // The general path validates the secret: a TypeError naming the fix, as signStandardWebhook.
  __fw_signStandardWebhook("validate", 0, "", secret);
  const secrets = Array.isArray(secret) ? Array.from(secret) : [secret];
  const held = { slot: 0, epoch: -1 };
  const verifier = {};
  const codeOf = function (headers, body, options) {
    if (held.epoch !== __fw_epoch) {
      held.slot = __fw_stdKey(secrets);
      held.epoch = __fw_epoch;
    }
    return held.slot ? __fw_stdFast(held.slot, headers, body, options) : -1;
  };
  verifier.verify = function verify(headers, body, options) {
    const code = codeOf(headers, body, options);
    return code >= 0 ? code === 0 : __fw_verifyStandardWebhook(headers, body, secrets, options);
  };
  verifier.verifyReason = function verifyReason(headers, body, options) {
    const code = codeOf(headers, body, options);
    return code >= 0 ? __fw_STD_REASONS[code] : __fw_verifyStandardWebhookReason(headers, body, secrets, options);
  };
  if (__fw_freeStdSlots !== null) __fw_freeStdSlots.register(verifier, held);
  return Object.freeze(verifier);
}
function __fw_wasmMemory() {
  return { bytes: wasm.memory.buffer.byteLength, resets: __fw_resets };
}
`;

const b64 = wasmBytes.toString("base64");
const inlineLoader = `
// ---- the .wasm, inlined (${wasmBytes.length} bytes) ---------------------------------------
const __fw_module = (function () {
  const text = atob(${JSON.stringify(b64)});
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return new WebAssembly.Module(bytes);
})();
`;

// The glue defines the functions under their public names; the exports are the guarded
// wrappers, so in ESM the glue's names are renamed to avoid a clash with `export const`.
let esmBody = body;
for (const n of publicNames) {
  esmBody = esmBody.replace(new RegExp(`^function ${n}\\(`, "m"), `function __fw_raw_${n}(`);
  if (!esmBody.includes(`function __fw_raw_${n}(`)) fail(`export ${n} has no glue function`);
}
for (const n of ["verifySignature", "verifySignatureReason", "verifyStandardWebhook", "verifyStandardWebhookReason", "signStandardWebhook"]) {
  if (!publicNames.includes(n)) fail(`export ${n} missing: the hot path wraps it`);
}
// Every export's guarded function is __fw_<name>; the two signature verifiers are exported
// through the hot path, which falls back to them; createVerifier is the keyed form.
const FAST = {
  verifySignature: "__fw_fastVerifySignature",
  verifySignatureReason: "__fw_fastVerifySignatureReason",
  verifyStandardWebhook: "__fw_fastVerifyStandardWebhook",
  verifyStandardWebhookReason: "__fw_fastVerifyStandardWebhookReason",
};
const exportTable = [
  ...publicNames.map((n) => [n, FAST[n] ?? `__fw_${n}`]),
  ["createVerifier", "__fw_createVerifier"],
  ["createStandardVerifier", "__fw_createStandardVerifier"],
  ["wasmMemory", "__fw_wasmMemory"],
];
const guardedDecls = publicNames.map((n) => `const __fw_${n} = __fw_guard(__fw_raw_${n});`).join("\n") + "\n";
const esmExportsRenamed = guardedDecls + exportTable.map(([n, f]) => `export const ${n} = ${f};`).join("\n") + "\n";

const write = (file, text) => writeFileSync(join(pkgDir, file), text);
write("index.mjs", header("(ES module; Node, Deno, Bun, browsers and bundlers)") + esmBody + inlineLoader + runtime + esmExportsRenamed);
write("index.cjs", header("(CommonJS; Node, Bun and bundlers)") + '"use strict";\n' + esmBody + inlineLoader + runtime +
  guardedDecls + exportTable.map(([n, f]) => `exports.${n} = ${f};`).join("\n") + "\n");
write("workerd.mjs", header("(Cloudflare Workers / workerd: the .wasm arrives as a compiled module)") +
  `import __fw_module from "./${NAME}_bg.wasm";\n` + esmBody + runtime + esmExportsRenamed);
write("edge-light.mjs", header("(Vercel / Next.js edge functions: the .wasm arrives as a compiled module)") +
  `import __fw_module from "./${NAME}_bg.wasm?module";\n` + esmBody + runtime + esmExportsRenamed);
console.log(`assemble-pkg: exports ${exportTable.map(([n]) => n).join(", ")}; ${imports.length} imports, ${imports.length - unwrapped.length} of them catch imports, ${unwrapped.length} on the no-throw list`);

// ---- foreman-webhook/verify: js/verify.js over its own small .wasm (feature wasm-verify) --
if (verifyWasmPath) {
  const VNAME = "foreman_webhook_verify";
  const vBytes = readFileSync(verifyWasmPath);
  const vModule = new WebAssembly.Module(vBytes);
  const vImports = WebAssembly.Module.imports(vModule);
  if (vImports.length) fail(`the verify module must import nothing, it imports ${vImports.map((i) => i.name).join(", ")}`);
  const vExports = WebAssembly.Module.exports(vModule).map((e) => e.name);
  for (const need of ["memory", "fw_scratch", "fw_slot_new", "fw_slot_add", "fw_slot_free", "fw_verify"]) {
    if (!vExports.includes(need)) fail(`the verify module does not export ${need}`);
  }
  const template = readFileSync(new URL("../js/verify.js", import.meta.url), "utf8");
  const names = ["verifySignature", "verifySignatureReason", "createVerifier", "wasmMemory"];
  const vInline = `
const __fw_module = (function () {
  const text = atob(${JSON.stringify(vBytes.toString("base64"))});
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return new WebAssembly.Module(bytes);
})();
`;
  const esm = template + `export { ${names.join(", ")} };\n`;
  write("verify.mjs", header("verify-only entry (ES module; the .wasm inlined)") + vInline + esm);
  write("verify.cjs", header("verify-only entry (CommonJS; the .wasm inlined)") + '"use strict";\n' + vInline + template +
    names.map((n) => `exports.${n} = ${n};`).join("\n") + "\n");
  write("verify-workerd.mjs", header("verify-only entry (workerd: the .wasm as a module)") +
    `import __fw_module from "./${VNAME}.wasm";\n` + esm);
  write("verify-edge-light.mjs", header("verify-only entry (Vercel / Next.js edge: the .wasm as a module)") +
    `import __fw_module from "./${VNAME}.wasm?module";\n` + esm);
  console.log(`assemble-pkg: verify entries export ${names.join(", ")}; .wasm ${vBytes.length} bytes, no imports`);
}

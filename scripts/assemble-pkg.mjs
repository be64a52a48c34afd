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

const [outDir, wasmPath, pkgDir] = process.argv.slice(2);
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
function __fw_instantiate() {
  // No instanceof check on the module: Next.js's edge sandbox hands over a module
  // compiled in another realm, which WebAssembly.Instance accepts.
  const exports = new WebAssembly.Instance(__fw_module, __fw_imports).exports;
  __wbg_set_wasm(exports);
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
const esmExportsRenamed = publicNames
  .map((n) => `export const ${n} = /* @__PURE__ */ __fw_guard(__fw_raw_${n});`)
  .join("\n") + "\nexport const wasmMemory = __fw_wasmMemory;\n";

const write = (file, text) => writeFileSync(join(pkgDir, file), text);
write("index.mjs", header("(ES module; Node, Deno, Bun, browsers and bundlers)") + esmBody + inlineLoader + runtime + esmExportsRenamed);
write("index.cjs", header("(CommonJS; Node, Bun and bundlers)") + '"use strict";\n' + esmBody + inlineLoader + runtime +
  publicNames.map((n) => `exports.${n} = __fw_guard(__fw_raw_${n});`).join("\n") + "\nexports.wasmMemory = __fw_wasmMemory;\n");
write("workerd.mjs", header("(Cloudflare Workers / workerd: the .wasm arrives as a compiled module)") +
  `import __fw_module from "./${NAME}_bg.wasm";\n` + esmBody + runtime + esmExportsRenamed);
write("edge-light.mjs", header("(Vercel / Next.js edge functions: the .wasm arrives as a compiled module)") +
  `import __fw_module from "./${NAME}_bg.wasm?module";\n` + esmBody + runtime + esmExportsRenamed);
console.log(`assemble-pkg: exports ${publicNames.join(", ")}, wasmMemory; ${imports.length} imports, ${imports.length - unwrapped.length} of them catch imports, ${unwrapped.length} on the no-throw list`);

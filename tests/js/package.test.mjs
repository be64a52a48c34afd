// The shape of the packed package: files, exports conditions, types, entries; the wasm
// memory bound.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { createHmac } from "node:crypto";
import * as fw from "foreman-webhook";

const require = createRequire(import.meta.url);
const dir = dirname(require.resolve("foreman-webhook/package.json"));
const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));

test("package.json: name, sideEffects, license, exports conditions in order, types per condition", () => {
  assert.equal(pkg.name, "foreman-webhook");
  assert.equal(pkg.sideEffects, false, "every entry is self-contained: nothing relies on a module side effect");
  assert.equal(pkg.type, "module");
  assert.equal(pkg.license, "MIT OR Apache-2.0");
  const root = pkg.exports["."];
  assert.deepEqual(Object.keys(root), ["workerd", "edge-light", "import", "require", "default"]);
  for (const [cond, target] of Object.entries(root)) {
    assert.deepEqual(Object.keys(target), ["types", "default"], `${cond}: types first`);
  }
  for (const file of pkg.files) assert.ok(readdirSync(dir).includes(file), `${file} is packed`);
  for (const file of ["LICENSE-MIT", "LICENSE-APACHE", "README.md"]) assert.ok(readdirSync(dir).includes(file), `${file} is packed`);
});

test("entries: the .wasm inlined in index.mjs / index.cjs (no asset, no import.meta.url, no top-level await); a module import only in workerd / edge-light", () => {
  const files = readdirSync(dir);
  assert.deepEqual(files.filter((f) => f.endsWith(".wasm")), ["foreman_webhook_bg.wasm", "foreman_webhook_verify.wasm"]);
  for (const f of ["index.mjs", "index.cjs", "verify.mjs", "verify.cjs"]) {
    const text = readFileSync(join(dir, f), "utf8");
    assert.match(text, /[A-Za-z0-9+/]{10000,}/, `${f}: inlined .wasm`);
    assert.doesNotMatch(text, /import\.meta|\.wasm["'?]|^\s*await /m, `${f}: refers to an asset or awaits`);
  }
  assert.match(readFileSync(join(dir, "workerd.mjs"), "utf8"), /^import __fw_module from "\.\/foreman_webhook_bg\.wasm";$/m);
  assert.match(readFileSync(join(dir, "edge-light.mjs"), "utf8"), /^import __fw_module from "\.\/foreman_webhook_bg\.wasm\?module";$/m);
  assert.match(readFileSync(join(dir, "verify-workerd.mjs"), "utf8"), /^import __fw_module from "\.\/foreman_webhook_verify\.wasm";$/m);
  assert.match(readFileSync(join(dir, "verify-edge-light.mjs"), "utf8"), /^import __fw_module from "\.\/foreman_webhook_verify\.wasm\?module";$/m);
  for (const f of files.filter((f) => /\.(m?c?js)$/.test(f))) {
    const text = readFileSync(join(dir, f), "utf8");
    assert.doesNotMatch(text, /node:|require\(['"]|\bBuffer\b|\bprocess\./, `${f}: Node-only API`);
    assert.doesNotMatch(text, /WebAssembly\.(compile|instantiate)\b/, `${f}: async or dynamic wasm compilation`);
  }
});

test("index.d.ts declares exactly the exported functions, with no `any`", () => {
  const dts = readFileSync(join(dir, "index.d.ts"), "utf8");
  const declared = [...dts.matchAll(/^export declare function (\w+)/gm)].map((m) => m[1]).sort();
  assert.deepEqual(declared, Object.keys(fw).sort());
  assert.doesNotMatch(dts, /(:|<|\||=)\s*any\b/, "a type is `any`");
  assert.equal(readFileSync(join(dir, "index.d.cts"), "utf8"), dts);
});

test("no WebAssembly memory growth across 10^4 rounds of mixed calls, throwing ones included", () => {
  const bodies = [256, 4096, 65536, 1000, 70000, 3].map((n) => new Uint8Array(n).fill(97));
  const headers = bodies.map((b) => fw.signPayload(b, "k"));
  const bad = [{}, null, 42, Symbol("x"), new Proxy({}, { get() { throw new Error("boom"); } })];
  const round = (i) => {
    const j = i % bodies.length;
    assert.equal(fw.verifySignature(bodies[j], headers[j], ["other", "k"]), true);
    fw.verifySignatureReason("x".repeat(i % 500), "sha256=zz", "k");
    assert.throws(() => fw.verifySignature(bad[i % bad.length], headers[j], "k"), TypeError);
    assert.throws(() => fw.formatArtifacts("j", [{ name: "a", contentType: "t", data: bodies[j] }, { name: "b", contentType: "t", size: -1 }]), TypeError);
    fw.formatArtifacts("j", [{ name: "a", contentType: "t", data: bodies[j] }, { name: "b", contentType: "t", size: 5 }]);
  };
  for (let i = 0; i < 1000; i++) round(i);
  const before = fw.wasmMemory();
  for (let i = 0; i < 10_000; i++) round(i);
  assert.deepEqual(fw.wasmMemory(), before, "wasm memory grew or the instance was reset");
  console.log(`# wasm memory: ${before.bytes} bytes, unchanged over 10^4 rounds (5 calls each)`);
});

test("one huge call leaves at most 8 MiB of wasm memory behind (measured)", () => {
  const MiB = 1024 * 1024;
  const start = fw.wasmMemory();
  const report = [];
  for (const [name, body] of [
    ["64 MiB Uint8Array", new Uint8Array(64 * MiB).fill(97)],
    ["64 MiB ASCII string", "a".repeat(64 * MiB)],
    ["21 Mi x \u20ac string (63 MiB of UTF-8)", "\u20ac".repeat(21 * MiB)],
  ]) {
    const sig = "sha256=" + createHmac("sha256", "k").update(body).digest("hex");
    assert.equal(fw.verifySignature(body, sig, "k"), true, name);
    const after = fw.wasmMemory();
    assert.ok(after.bytes <= 8 * MiB, `${name}: ${after.bytes} bytes left behind`);
    report.push(`${name}: ${(after.bytes / MiB).toFixed(2)} MiB after`);
  }
  // The byte limit counts UTF-8 bytes: 22 Mi x U+20AC is 66 MiB of UTF-8 (22 Mi units).
  assert.throws(() => fw.verifySignature("\u20ac".repeat(22 * MiB), "sha256=00", "k"), RangeError);
  assert.throws(() => fw.verifySignature(new Uint8Array(64 * MiB + 1), "sha256=00", "k"), RangeError);
  const end = fw.wasmMemory();
  console.log(`# huge inputs: memory ${(start.bytes / MiB).toFixed(2)} MiB before; ${report.join("; ")}; ${end.resets - start.resets} instance resets`);
});

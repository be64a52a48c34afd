// The shape of the packed package: files, exports conditions, types, no inlined wasm.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import * as fw from "foreman-webhook";

const require = createRequire(import.meta.url);
const dir = dirname(require.resolve("foreman-webhook/package.json"));
const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));

test("package.json: name, sideEffects, types, exports conditions in order", () => {
  assert.equal(pkg.name, "foreman-webhook");
  assert.equal(pkg.sideEffects, false);
  assert.equal(pkg.type, "module");
  const root = pkg.exports["."];
  assert.deepEqual(Object.keys(root), ["types", "workerd", "edge-light", "deno", "node", "browser", "default"]);
  assert.deepEqual(Object.keys(root.node), ["import", "require"]);
  for (const file of pkg.files) assert.ok(readdirSync(dir).includes(file), `${file} is packed`);
});

test("one .wasm, no wasm inlined as base64, no node:crypto or Buffer in the browser/edge entries", () => {
  const files = readdirSync(dir);
  assert.deepEqual(files.filter((f) => f.endsWith(".wasm")), ["foreman_webhook_bg.wasm"]);
  for (const f of files.filter((f) => /\.(m?c?js)$/.test(f))) {
    const text = readFileSync(join(dir, f), "utf8");
    assert.doesNotMatch(text, /[A-Za-z0-9+/]{200,}/, `${f}: long base64 run`);
    assert.doesNotMatch(text, /node:crypto|require\(['"]crypto['"]\)/, `${f}: uses crypto`);
    if (!f.startsWith("node.")) assert.doesNotMatch(text, /\bBuffer\b|node:fs/, `${f}: Node-only API`);
  }
});

test("index.d.ts declares exactly the exported functions, with no `any`", () => {
  const dts = readFileSync(join(dir, "index.d.ts"), "utf8");
  const declared = [...dts.matchAll(/^export declare function (\w+)/gm)].map((m) => m[1]).sort();
  assert.deepEqual(declared, Object.keys(fw).sort());
  assert.doesNotMatch(dts, /(:|<|\||=)\s*any\b/, "a type is `any`");
  assert.equal(readFileSync(join(dir, "index.d.cts"), "utf8"), dts);
});

test("no WebAssembly memory growth across 10^4 rounds of mixed calls, throwing ones included", async () => {
  // The glue behind the node entry (already instantiated by it): its exports include the memory.
  const { initSync } = await import(pathToFileURL(join(dir, "foreman_webhook.js")).href);
  const memory = initSync({ module: readFileSync(join(dir, "foreman_webhook_bg.wasm")) }).memory;
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
  const before = memory.buffer.byteLength;
  for (let i = 0; i < 10_000; i++) round(i);
  assert.equal(memory.buffer.byteLength, before, "wasm memory grew");
  console.log(`# wasm memory: ${before} bytes, unchanged over 10^4 rounds (5 calls each)`);
});

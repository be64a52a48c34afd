// node --test over the CommonJS entry of the packed package (exports condition
// node → require → node.cjs), with the same shared cases as the ESM test.
const { test } = require("node:test");
const assert = require("node:assert/strict");
const { readFileSync } = require("node:fs");
const { join } = require("node:path");
const fw = require("foreman-webhook");

const repo = process.env.FOREMAN_REPO;
const vectors = (name) => JSON.parse(readFileSync(join(repo, "tests", "vectors", name), "utf8"));

test("CJS entry: require() works with no init call", () => {
  assert.equal(typeof fw.verifySignature, "function");
  assert.ok(require.resolve("foreman-webhook").endsWith("index.cjs"));
});

test("CJS entry: every signature vector, artifact vector and bad input", async () => {
  const v = await import("./vectors.mjs");
  assert.equal(v.runSignatureVectors(fw, vectors("signatures.json")), v.SIGNATURE_CASES);
  assert.equal(await v.runArtifactVectors(fw, vectors("artifacts.json")), v.ARTIFACT_CASES);
  assert.ok(v.runBadInputs(fw) >= 30);
});

test("CJS and ESM entries export the same functions", async () => {
  const esm = await import("foreman-webhook");
  assert.deepEqual(Object.keys(fw).sort(), Object.keys(esm).sort());
});

test("CJS entry: every Standard Webhooks vector and its bad inputs", async () => {
  const s = await import("./standard-vectors.mjs");
  assert.equal(s.runStandardVectors(fw, vectors("standard.json")), s.STANDARD_CASES);
  assert.ok(s.runStandardBadInputs(fw) >= 20);
});

test("CJS entry: every hostile trigger 1,000 times, then every export still answers and wasm memory did not grow", async () => {
  const t = await import("./triggers.mjs");
  const r = t.runTriggers(fw);
  assert.equal(r.calls, r.triggers * t.REPEAT * (1 + t.LEAK_ROUNDS));
});

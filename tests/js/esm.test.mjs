// node --test, run by scripts/test.d/30-npm-package inside a scratch project where the
// `npm pack` tarball of pkg/ is installed: `import "foreman-webhook"` resolves as for a user
// (exports condition node → import → node.mjs). FOREMAN_REPO points at the repository.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as fw from "foreman-webhook";
import { runArtifactVectors, runBadInputs, runSignatureVectors, SIGNATURE_CASES, ARTIFACT_CASES } from "./vectors.mjs";

const repo = process.env.FOREMAN_REPO;
const vectors = (name) => JSON.parse(readFileSync(join(repo, "tests", "vectors", name), "utf8"));

test("ESM entry: every signature vector, with every body type", () => {
  assert.equal(runSignatureVectors(fw, vectors("signatures.json")), SIGNATURE_CASES);
});

test("ESM entry: formatArtifacts byte-equal to every artifact vector", async () => {
  assert.equal(await runArtifactVectors(fw, vectors("artifacts.json")), ARTIFACT_CASES);
});

test("ESM entry: the bad-input matrix (at least 30 inputs)", () => {
  const n = runBadInputs(fw);
  assert.ok(n >= 30, `only ${n} bad inputs`);
  console.log(`# bad-input matrix: ${n} inputs`);
});

test("ESM entry: synchronous, no init call, Node Buffer accepted", () => {
  const body = Buffer.from("Hello, World!");
  const header = fw.signPayload(body, "k");
  assert.match(header, /^sha256=[0-9a-f]{64}$/);
  assert.equal(fw.verifySignature(body, header, "k"), true);
  assert.equal(fw.verifySignature(body.toString("utf8"), header, ["old", "k"]), true);
});

test("ESM entry: every hostile trigger 1,000 times, then every export still answers and wasm memory did not grow", async () => {
  const t = await import("./triggers.mjs");
  const r = t.runTriggers(fw);
  assert.equal(r.calls, r.triggers * t.REPEAT * (1 + t.LEAK_ROUNDS));
  console.log(`# hostile triggers: ${r.triggers} x ${t.REPEAT} calls (then ${t.LEAK_ROUNDS} more rounds), wasm memory ${r.memoryBytes} bytes before and after; ${r.repeated} repeated-header cases`);
});

test("ESM entry: every Standard Webhooks vector (object, Mixed-Case, Headers) and its bad inputs", async () => {
  const s = await import("./standard-vectors.mjs");
  assert.equal(s.runStandardVectors(fw, vectors("standard.json")), s.STANDARD_CASES);
  const n = s.runStandardBadInputs(fw);
  assert.ok(n >= 20, `only ${n} bad inputs`);
});

test("ESM entry: values from another realm (node:vm, like Next.js's edge sandbox): Headers-like get, Date, ArrayBuffer", async () => {
  const { runInNewContext } = await import("node:vm");
  // The Standard Webhooks specification's example.
  const values = {
    "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
    "webhook-timestamp": "1614265330",
    "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
  };
  const body = '{"test": 2432232314}';
  const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const other = runInNewContext(
    `({ headers: { get: (name) => values[name] ?? null }, now: new Date(1614265330000),
        buffer: new Uint8Array(Array.from(body, (c) => c.charCodeAt(0))).buffer })`,
    { values, body },
  );
  assert.equal(other.buffer instanceof ArrayBuffer, false, "the buffer is from another realm");
  assert.equal(fw.verifyStandardWebhook(other.headers, body, secret, { now: 1614265330 }), true, "Headers-like from another realm");
  assert.equal(fw.verifyStandardWebhook(values, body, secret, { now: other.now }), true, "Date from another realm");
  assert.equal(fw.verifyStandardWebhook(values, other.buffer, secret, { now: 1614265330 }), true, "ArrayBuffer from another realm");
  assert.throws(() => fw.verifyStandardWebhook(values, body, secret, { now: { getTime: () => "soon" } }), TypeError);
});

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
  assert.equal(r.calls, r.triggers * t.REPEAT);
  console.log(`# hostile triggers: ${r.triggers} x ${t.REPEAT} calls, wasm memory ${r.memoryBytes} bytes before and after; ${r.repeated} repeated-header cases`);
});

test("ESM entry: every Standard Webhooks vector (object, Mixed-Case, Headers) and its bad inputs", async () => {
  const s = await import("./standard-vectors.mjs");
  assert.equal(s.runStandardVectors(fw, vectors("standard.json")), s.STANDARD_CASES);
  const n = s.runStandardBadInputs(fw);
  assert.ok(n >= 20, `only ${n} bad inputs`);
});

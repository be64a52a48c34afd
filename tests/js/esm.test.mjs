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

// The hot path (verifySignature / verifyStandardWebhook with a string secret, and the keyed
// verifiers) against expected values computed by node:crypto, at the sizes where the
// hashing changes shape (SHA-256 padding at 55/56/64 bytes), across the scratch region's
// growth, past the 2 MiB fast-path limit, and with every body type.
test("ESM entry: hot path and keyed verifiers agree with node:crypto at every size", async () => {
  const { createHmac, randomBytes } = await import("node:crypto");
  const sizes = [0, 1, 55, 56, 63, 64, 65, 255, 256, 4096, 65536, 1 << 20, (2 << 20) + 7];
  const secrets = ["k", "ключ-€", "x".repeat(200)];
  for (const size of sizes) {
    const bytes = randomBytes(size);
    const text = "é".repeat(size >> 1) + (size & 1 ? "a" : "");
    for (const secret of secrets) {
      const v = fw.createVerifier(["other", Buffer.from(secret)]);
      for (const body of [bytes, new Uint8Array(bytes), text]) {
        const good = "sha256=" + createHmac("sha256", secret).update(body).digest("hex");
        const bad = good.slice(0, -1) + (good.endsWith("0") ? "1" : "0");
        const what = `${size} B, ${typeof body}, key ${secret.length}`;
        assert.equal(fw.verifySignature(body, good, secret), true, what);
        assert.equal(fw.verifySignature(body, bad, secret), false, what);
        assert.equal(fw.verifySignatureReason(body, bad, secret), "mismatch", what);
        assert.equal(fw.verifySignature(body, ` ${good.toUpperCase().replace("SHA256", "sha256")}\t`, secret), true, what);
        assert.equal(v.verify(body, good), true, what);
        assert.equal(v.verifyReason(body, bad), "mismatch", what);
        assert.equal(v.verifyReason(body, good.slice(1)), "missing_prefix", what);
      }
    }
  }
  // Standard Webhooks: base64(HMAC(key, `${id}.${ts}.${body}`)) by node:crypto.
  const key = randomBytes(24);
  const whsec = "whsec_" + key.toString("base64");
  const sv = fw.createStandardVerifier(["whsec_" + randomBytes(24).toString("base64"), whsec]);
  for (const size of [0, 100, 256, 70000]) {
    const body = randomBytes(size);
    const ts = 1700000000;
    const id = "msg_" + size;
    const mac = createHmac("sha256", key).update(`${id}.${ts}.`).update(body).digest("base64");
    const headers = { "webhook-id": id, "webhook-timestamp": String(ts), "webhook-signature": `v1,${"A".repeat(43)}= v1,${mac}` };
    for (const options of [{ now: ts }, { now: ts + 299 }, { now: ts - 10, toleranceSeconds: 10 }]) {
      assert.equal(fw.verifyStandardWebhook(headers, body, whsec, options), true, `${size} B ${JSON.stringify(options)}`);
      assert.equal(sv.verify(new Headers(headers), body, options), true);
    }
    assert.equal(fw.verifyStandardWebhookReason(headers, body, whsec, { now: ts + 301 }), "too_old");
    assert.equal(sv.verifyReason(headers, body, { now: ts - 11, toleranceSeconds: 10 }), "too_new");
    assert.equal(sv.verifyReason({ ...headers, "webhook-signature": `v1,${mac}`.replace(/^v1,./, (p) => (p.endsWith("A") ? "v1,B" : "v1,A")) }, body, { now: ts }), "no_matching_signature");
    assert.equal(sv.verifyReason({ ...headers, "webhook-signature": "v1" }, body, { now: ts }), "malformed_signature");
    assert.equal(sv.verifyReason({ ...headers, "webhook-timestamp": "17e8" }, body, { now: ts }), "malformed_timestamp");
  }
  assert.throws(() => fw.createVerifier(""), TypeError);
  assert.throws(() => fw.createVerifier(["k", new Uint8Array(0)]), TypeError);
  assert.throws(() => fw.createStandardVerifier("whsec_!!"), TypeError);
  // The keys are copied: changing the caller's bytes later changes nothing.
  const mutable = Buffer.from("key");
  const v = fw.createVerifier(mutable);
  const good = "sha256=" + createHmac("sha256", "key").update("b").digest("hex");
  mutable.fill(0);
  assert.equal(v.verify("b", good), true);
  const m = fw.wasmMemory();
  assert.ok(m.bytes < 8 << 20, `wasm memory ${m.bytes}`);
});

// foreman-webhook/verify: its own small .wasm; the same vectors, bad inputs (those of its
// exports) and hostile calls as the main entry. signPayload (for the bad inputs that sign
// a fixture) comes from the main entry, itself checked against the vectors above.
export const isVerifyCase = (name) => /^(verifySignature|createVerifier|Verifier\.verify|body|secret|signature)/.test(name);
test("verify entry (foreman-webhook/verify): every signature vector, the bad-input matrix, hostile triggers, node:crypto at every size", async () => {
  const fv = await import("foreman-webhook/verify");
  assert.deepEqual(Object.keys(fv).sort(), ["createVerifier", "verifySignature", "verifySignatureReason", "wasmMemory"]);
  const withSigner = { ...fv, signPayload: fw.signPayload };
  assert.equal(runSignatureVectors(withSigner, vectors("signatures.json")), SIGNATURE_CASES);
  const n = runBadInputs(withSigner, isVerifyCase);
  assert.ok(n >= 30, `only ${n} bad inputs`);
  const t = await import("./triggers.mjs");
  const r = t.runTriggers(fv, isVerifyCase);
  assert.ok(r.triggers >= 8, `only ${r.triggers} triggers`);
  const { createHmac, randomBytes } = await import("node:crypto");
  for (const size of [0, 55, 56, 64, 256, 65536, (2 << 20) + 7]) {
    const body = randomBytes(size);
    const good = "sha256=" + createHmac("sha256", "k€").update(body).digest("hex");
    assert.equal(fv.verifySignature(body, good, "k€"), true);
    assert.equal(fv.verifySignature(body.toString("latin1"), good, "k€"), size === 0);
    assert.equal(fv.createVerifier(["x", "k€"]).verifyReason(body, good.replace("sha256=", "sha256= ")), "wrong_length");
    assert.equal(fv.verifySignature(body, " ".repeat(400) + good + "\t".repeat(300), new TextEncoder().encode("k€")), true);
  }
  console.log(`# verify entry: ${SIGNATURE_CASES} vectors, ${n} bad inputs, ${r.triggers} hostile triggers x ${t.REPEAT}; wasm memory ${r.memoryBytes} bytes`);
});

// The shared vector files (tests/vectors/*.json, computed by Python's hmac/json) and the
// bad-input matrix, as checks over any loaded copy of the package. Used by the Node tests
// (ESM and CJS entries) and by the runtime checks (Deno, Bun, edge-runtime, workerd,
// Chromium), so every runtime runs the same cases. No Node-only API in this file.

export const SIGNATURE_CASES = 46;
export const ARTIFACT_CASES = 22;

const utf8 = new TextEncoder();

export function hexToBytes(hex) {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function utf8OrNull(bytes) {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}

function check(cond, message) {
  if (!cond) throw new Error(message);
}

function eq(got, want, message) {
  if (got !== want) {
    throw new Error(`${message}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  }
}

/** Every case of signatures.json through every body type; returns the number of cases. */
export function runSignatureVectors(fw, file) {
  eq(file.count, SIGNATURE_CASES, "signatures.json count changed: update SIGNATURE_CASES");
  eq(file.cases.length, SIGNATURE_CASES, "signatures.json truncated?");
  let oks = 0;
  for (const c of file.cases) {
    const bytes = hexToBytes(c.body_hex);
    const keys = c.secrets.map((s) => (s.text !== null && s.text !== undefined ? s.text : hexToBytes(s.hex)));
    const secret = keys.length === 1 ? keys[0] : keys;
    const bodies = [bytes, bytes.buffer.slice(0), new DataView(bytes.buffer)];
    const text = utf8OrNull(bytes);
    if (text !== null) bodies.push(text);
    for (const body of bodies) {
      const kind = typeof body === "string" ? "string" : body.constructor.name;
      eq(fw.verifySignatureReason(body, c.header, secret), c.expect, `${c.name} (${kind})`);
      eq(fw.verifySignature(body, c.header, secret), c.expect === "ok", `${c.name} (${kind}) bool`);
    }
    if (keys.length === 1) {
      eq(fw.verifySignatureReason(bytes, c.header, [secret]), c.expect, `${c.name} (as a list)`);
    }
    // The keyed verifier answers exactly as verifySignatureReason (an empty key: TypeError).
    let verifier = null;
    try {
      verifier = fw.createVerifier(secret);
    } catch (e) {
      check(e instanceof TypeError && c.expect === "empty_secret", `${c.name}: createVerifier threw ${e}`);
    }
    if (verifier !== null) {
      for (const body of bodies) {
        const kind = typeof body === "string" ? "string" : body.constructor.name;
        eq(verifier.verifyReason(body, c.header), c.expect, `${c.name} (${kind}, createVerifier)`);
        eq(verifier.verify(body, c.header), c.expect === "ok", `${c.name} (${kind}, createVerifier) bool`);
      }
    }
    if (c.expect === "ok" && keys.length === 1 && c.header === c.header.trim().toLowerCase()) {
      eq(fw.signPayload(bytes, secret), c.header, `${c.name}: signPayload`);
      oks++;
    }
  }
  check(oks >= 10, `expected many positive cases, got ${oks}`);
  return file.cases.length;
}

function dataOf(spec, asBytes) {
  if (spec === null || spec === undefined) return undefined;
  if (spec.hex !== undefined && spec.hex !== null) return hexToBytes(spec.hex);
  const text = spec.text !== undefined && spec.text !== null ? spec.text : spec.repeat.repeat(Math.ceil(spec.len / spec.repeat.length)).slice(0, spec.len);
  return asBytes ? utf8.encode(text) : text;
}

async function sha256Hex(text) {
  const digest = await crypto.subtle.digest("SHA-256", utf8.encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Every case of artifacts.json, byte-equal to the expected JSON text (or its SHA-256 and
 * length for the large cases), with data as strings and as bytes, both key spellings.
 */
export async function runArtifactVectors(fw, file) {
  eq(file.count, ARTIFACT_CASES, "artifacts.json count changed: update ARTIFACT_CASES");
  eq(file.cases.length, ARTIFACT_CASES, "artifacts.json truncated?");
  for (const c of file.cases) {
    const limits = c.limits ? { perArtifact: c.limits.per_artifact, budget: c.limits.budget } : undefined;
    for (const [variant, asBytes] of [["camelCase, string data", false], ["snake_case, byte data", true]]) {
      const artifacts = c.artifacts.map((a) => {
        const out = { name: a.name, size: a.size };
        if (asBytes) out.content_type = a.content_type;
        else out.contentType = a.content_type;
        const data = dataOf(a.data, asBytes);
        if (data !== undefined) out.data = data;
        return out;
      });
      const got = fw.formatArtifacts(c.job_id, artifacts, limits);
      eq(typeof got, "string", `${c.name}: returns a string`);
      if ("expected" in c) {
        eq(got, c.expected === null ? "null" : c.expected, `${c.name} (${variant})`);
      } else {
        eq(got.length, c.expected_len, `${c.name} (${variant}) length`);
        eq(await sha256Hex(got), c.expected_sha256, `${c.name} (${variant}) sha256`);
      }
      eq(fw.planArtifacts(artifacts, limits).join(","), c.placements.join(","), `${c.name} (${variant}) planArtifacts`);
    }
  }
  return file.cases.length;
}

// ---------------------------------------------------------------------------------------
// The bad-input matrix: each entry gives `false`, a reason, or throws the named error with
// a message matching; after each, a known-good call must still answer `true` (no state
// left behind by a throw).
// ---------------------------------------------------------------------------------------

const BODY = "Hello, World!";
const KEY = "It's a Secret to Everybody";
const GOOD = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

function detachedBuffer() {
  const buf = new ArrayBuffer(8);
  structuredClone(buf, { transfer: [buf] });
  return buf;
}

function revokedProxy() {
  const { proxy, revoke } = Proxy.revocable([], {});
  revoke();
  return proxy;
}

const throwing = new Proxy({}, { get() { throw new Error("boom"); } });

export function badInputs(fw) {
  const v = (body, sig, secret) => () => fw.verifySignature(body, sig, secret);
  const r = (body, sig, secret) => () => fw.verifySignatureReason(body, sig, secret);
  const art = (jobId, artifacts, limits) => () => fw.formatArtifacts(jobId, artifacts, limits);
  const one = (a) => art("job", [a]);
  const BIG = 64 * 1024 * 1024;
  const T = (pattern) => ({ throws: "TypeError", pattern });
  return [
    // body: caller mistakes
    ["body: parsed JSON object", v({ job_id: "j" }, GOOD, KEY), T(/raw request body.*not the parsed JSON/)],
    ["body: null", v(null, GOOD, KEY), T(/body must be .* got null/)],
    ["body: undefined", v(undefined, GOOD, KEY), T(/got undefined/)],
    ["body: number", v(42, GOOD, KEY), T(/got a value of type number/)],
    ["body: boolean", v(true, GOOD, KEY), T(/body must be/)],
    ["body: symbol", v(Symbol("x"), GOOD, KEY), T(/body must be/)],
    ["body: bigint", v(10n, GOOD, KEY), T(/body must be/)],
    ["body: array of numbers", v([72, 101], GOOD, KEY), T(/got an array/)],
    ["body: String object", v(new String(BODY), GOOD, KEY), T(/body must be/)],
    ["body: function", v(() => BODY, GOOD, KEY), T(/got a value of type function/)],
    ["body: Map", v(new Map(), GOOD, KEY), T(/body must be/)],
    ["body: proxy that throws", v(throwing, GOOD, KEY), T(/body must be/)],
    ["body: revoked proxy", v(revokedProxy(), GOOD, KEY), T(/body must be|could not be read/)],
    ["body: detached ArrayBuffer", v(detachedBuffer(), GOOD, KEY), T(/detached/)],
    ["body: view of a detached ArrayBuffer", () => { const b = new ArrayBuffer(8); const u = new Uint8Array(b); structuredClone(b, { transfer: [b] }); return fw.verifySignature(u, GOOD, KEY); }, T(/detached/)],
    ["body: over 64 MiB", v(new Uint8Array(BIG + 1), GOOD, KEY), { throws: "RangeError", pattern: /larger than 64 MiB/ }],
    ["body: string over 64 Mi units", v("a".repeat(BIG + 1), GOOD, KEY), { throws: "RangeError", pattern: /larger than 64 MiB/ }],
    ["body: string of 22 Mi x U+20AC (66 MiB of UTF-8)", v("\u20ac".repeat(22 << 20), GOOD, KEY), { throws: "RangeError", pattern: /larger than 64 MiB/ }],
    // body: valid but unusual
    ["body: empty string", r("", GOOD, KEY), { returns: "mismatch" }],
    ["body: empty Uint8Array", r(new Uint8Array(0), GOOD, KEY), { returns: "mismatch" }],
    ["body: 8 MiB", () => { const b = new Uint8Array(8 << 20).fill(97); return fw.verifySignature(b, fw.signPayload(b, KEY), KEY); }, { returns: true }],
    ["body: Uint8Array view with an offset", () => { const u = new Uint8Array(20); u.set(new TextEncoder().encode(BODY), 5); return fw.verifySignature(u.subarray(5, 5 + BODY.length), GOOD, KEY); }, { returns: true }],
    ["body: Int16Array (its bytes)", () => { const b = new Int16Array([1, -1]); return fw.verifySignature(b, fw.signPayload(new Uint8Array([1, 0, 255, 255]), KEY), KEY); }, { returns: true }],
    ["body: lone surrogate is hashed as U+FFFD", () => fw.verifySignature("\uD800", fw.signPayload(new Uint8Array([0xef, 0xbf, 0xbd]), KEY), KEY), { returns: true }],
    ["body: unicode string is UTF-8", () => fw.verifySignature("clé 🔑", fw.signPayload(new TextEncoder().encode("clé 🔑"), KEY), KEY), { returns: true }],
    // signature: attacker-controlled junk is false, never a throw
    ["signature: undefined (header missing)", r(BODY, undefined, KEY), { returns: "missing_prefix" }],
    ["signature: null", r(BODY, null, KEY), { returns: "missing_prefix" }],
    ["signature: number", v(BODY, 12345, KEY), { returns: false }],
    ["signature: object", v(BODY, { toString: () => GOOD }, KEY), { returns: false }],
    ["signature: array of one header line", v(BODY, [GOOD], KEY), { returns: true }],
    ["signature: array of two header lines (one value expected)", r(BODY, ["sha256=zz", GOOD], KEY), { returns: "wrong_length" }],
    ["signature: array of junk", r(BODY, ["sha256=zz", 5, null], KEY), { returns: "wrong_length" }],
    ["signature: array of 10^5 lines (first 64 read)", r(BODY, Array(100000).fill("sha256=zz"), KEY), { returns: "wrong_length" }],
    ["signature: proxy that throws", v(BODY, throwing, KEY), { returns: false }],
    ["signature: empty", r(BODY, "", KEY), { returns: "missing_prefix" }],
    ["signature: 1 MiB of hex", r(BODY, "sha256=" + "a".repeat(1 << 20), KEY), { returns: "wrong_length" }],
    ["signature: 64 non-ASCII bytes", r(BODY, "sha256=" + "é".repeat(32), KEY), { returns: "malformed_hex" }],
    ["signature: lone surrogates", r(BODY, "sha256=" + "\uD800".repeat(64), KEY), { returns: "wrong_length" }],
    ["signature: NUL bytes", r(BODY, "sha256=" + "\0".repeat(64), KEY), { returns: "malformed_hex" }],
    ["signature: trailing newline", r(BODY, GOOD + "\n", KEY), { returns: "wrong_length" }],
    ["signature: uppercase hex", r(BODY, GOOD.toUpperCase().replace("SHA256", "sha256"), KEY), { returns: "ok" }],
    // secret
    ["secret: number", v(BODY, GOOD, 42), T(/secret must be a string, a Uint8Array, or an array/)],
    ["secret: null", v(BODY, GOOD, null), T(/secret must be/)],
    ["secret: undefined (unset env var)", v(BODY, GOOD, undefined), T(/got undefined/)],
    ["secret: object", v(BODY, GOOD, { key: KEY }), T(/secret must be/)],
    ["secret: array with a number", v(BODY, GOOD, [KEY, 5]), T(/at index 1/)],
    ["secret: 65 secrets", v(BODY, GOOD, Array(65).fill(KEY)), T(/at most 64/)],
    ["secret: revoked proxy", v(BODY, GOOD, revokedProxy()), T(/secret must be/)],
    ["secret: empty string", r(BODY, GOOD, ""), { returns: "empty_secret" }],
    ["secret: empty list", r(BODY, GOOD, []), { returns: "empty_secret" }],
    ["secret: list with an empty key", r(BODY, GOOD, [KEY, ""]), { returns: "empty_secret" }],
    ["secret: bytes", v(BODY, GOOD, new TextEncoder().encode(KEY)), { returns: true }],
    ["secret: trailing space is another key", r(BODY, GOOD, KEY + " "), { returns: "mismatch" }],
    // signPayload
    ["signPayload: empty secret", () => fw.signPayload(BODY, ""), T(/must not be empty/)],
    ["signPayload: list of secrets", () => fw.signPayload(BODY, [KEY]), T(/secret must be a string or a Uint8Array/)],
    ["signPayload: parsed body", () => fw.signPayload({}, KEY), T(/raw request body/)],
    // formatArtifacts
    ["formatArtifacts: jobId number", art(7, []), T(/jobId must be a string/)],
    ["formatArtifacts: artifacts object", art("job", { name: "a" }), T(/artifacts must be an array/)],
    ["formatArtifacts: artifacts null", art("job", null), T(/artifacts must be an array/)],
    ["formatArtifacts: artifacts string", art("job", "a.txt"), T(/artifacts must be an array/)],
    ["formatArtifacts: element null", one(null), T(/artifacts\[0\] must be an object/)],
    ["formatArtifacts: element array", one(["a"]), T(/artifacts\[0\] must be an object/)],
    ["formatArtifacts: sparse array", art("job", [, { name: "a", contentType: "t", size: 1 }]), T(/artifacts\[0\] must be an object/)],
    ["formatArtifacts: missing name", one({ contentType: "t", size: 1 }), T(/artifacts\[0\]\.name must be a string/)],
    ["formatArtifacts: name number", one({ name: 1, contentType: "t", size: 1 }), T(/\.name must be a string/)],
    ["formatArtifacts: missing contentType", one({ name: "a", size: 1 }), T(/\.contentType must be a string/)],
    ["formatArtifacts: negative size", one({ name: "a", contentType: "t", size: -1 }), T(/\.size must be a non-negative integer/)],
    ["formatArtifacts: fractional size", one({ name: "a", contentType: "t", size: 1.5 }), T(/\.size must be/)],
    ["formatArtifacts: NaN size", one({ name: "a", contentType: "t", size: NaN }), T(/\.size must be/)],
    ["formatArtifacts: Infinity size", one({ name: "a", contentType: "t", size: Infinity }), T(/\.size must be/)],
    ["formatArtifacts: string size", one({ name: "a", contentType: "t", size: "5" }), T(/\.size must be/)],
    ["formatArtifacts: size above 2^53", one({ name: "a", contentType: "t", size: 2 ** 53 }), T(/\.size must be/)],
    ["formatArtifacts: no size and no data", one({ name: "a", contentType: "t" }), T(/\.size must be .*left out/)],
    ["formatArtifacts: data number", one({ name: "a", contentType: "t", data: 5 }), T(/\.data must be a string or a Uint8Array/)],
    ["formatArtifacts: data object", one({ name: "a", contentType: "t", data: { text: "x" } }), T(/\.data must be/)],
    ["formatArtifacts: getter that throws", one({ get name() { throw new Error("boom"); }, contentType: "t", size: 1 }), T(/artifacts\[0\]\.name could not be read/)],
    ["formatArtifacts: proxy that throws", one(throwing), T(/could not be read/)],
    ["formatArtifacts: second element bad", art("job", [{ name: "a", contentType: "t", size: 1 }, { name: "b", contentType: "t", size: -2 }]), T(/artifacts\[1\]\.size/)],
    ["formatArtifacts: limits string", art("job", [], "big"), T(/limits must be an object/)],
    ["formatArtifacts: negative budget", art("job", [], { budget: -1 }), T(/limits\.budget must be/)],
    ["formatArtifacts: size from binary data", one({ name: "a", contentType: "t", data: new Uint8Array([0xff, 0xfe, 0]) }), { returns: '[{"name":"a","content_type":"t","size":3,"data":"//4A","encoding":"base64"}]' }],
    ["formatArtifacts: data null is a URL", one({ name: "a b", contentType: "t", size: 2, data: null }), { returns: '[{"name":"a b","content_type":"t","size":2,"url":"/jobs/job/artifacts/a%20b"}]' }],
  ];
}

/** Runs the matrix; returns the number of inputs. Throws on the first wrong answer. */
export function runBadInputs(fw, only = () => true) {
  const cases = badInputs(fw).filter(([name]) => only(name));
  for (const [name, call, want] of cases) {
    let got;
    let error;
    try {
      got = call();
    } catch (e) {
      error = e;
    }
    if (want.throws) {
      check(error !== undefined, `${name}: expected a ${want.throws}, got ${JSON.stringify(got)}`);
      eq(error.constructor.name, want.throws, `${name}: error type (${error.message})`);
      check(want.pattern.test(error.message), `${name}: message ${JSON.stringify(error.message)} does not match ${want.pattern}`);
    } else {
      check(error === undefined, `${name}: threw ${error && error.constructor.name}: ${error && error.message}`);
      eq(got, want.returns, name);
    }
    eq(fw.verifySignature(BODY, GOOD, KEY), true, `after ${name}: a good call still verifies`);
  }
  return cases.length;
}

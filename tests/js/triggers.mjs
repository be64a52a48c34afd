// Hostile callers: every input that once made a JavaScript exception unwind through the
// wasm frames (after 256 of them the instance was broken for good, and each leaked its
// copied body). Each trigger runs 1,000 times in a row; then a good call of every export
// must still answer, and the module's WebAssembly memory must be exactly the size it was
// before (no leak, no instance reset). Used by the Node tests and every runtime check.
// No Node-only API in this file. Expected signatures are published vectors (GitHub's
// X-Hub-Signature-256 example, the Standard Webhooks specification's example), not
// values computed by the package.

export const REPEAT = 1000;
// A leak of a few bytes per call (one externref slot) hides below a 64 KiB page in 1,000
// calls: the whole list then runs LEAK_ROUNDS more times before memory is compared.
export const LEAK_ROUNDS = 3;

const BODY = "Hello, World!";
const KEY = "It's a Secret to Everybody";
const GOOD = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
const STD_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const STD_BODY = '{"test": 2432232314}';
const STD_SIG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
const STD_OTHER = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
const STD_HEADERS = { "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-timestamp": "1614265330", "webhook-signature": STD_SIG };
const STD_NOW = { now: 1614265330 };

function revoked(target = {}) {
  const { proxy, revoke } = Proxy.revocable(target, {});
  revoke();
  return proxy;
}

const boom = () => {
  throw new Error("boom");
};

/** [name, call, expected] where expected is "TypeError" (thrown) or a returned value. */
export function triggers(fw) {
  const std = (headers, secret, options = STD_NOW, body = STD_BODY) => () => fw.verifyStandardWebhook(headers, body, secret, options);
  const lengthThrows = new Proxy([STD_SECRET], { get: (t, k) => (k === "length" ? boom() : Reflect.get(t, k)) });
  const indexThrows = [STD_SECRET];
  Object.defineProperty(indexThrows, 0, { get: boom });
  const keyIndexThrows = [KEY];
  Object.defineProperty(keyIndexThrows, 0, { get: boom });
  const ownKeysThrow = new Proxy({}, { ownKeys: boom });
  const getThrows = new Proxy({}, { get: boom });
  const headersGetThrows = { get: boom };
  const sigArrayThrows = [GOOD];
  Object.defineProperty(sigArrayThrows, 0, { get: boom });
  const verifier = fw.createVerifier(KEY);
  const stdVerifier = typeof fw.createStandardVerifier === "function" ? fw.createStandardVerifier([STD_SECRET]) : null;
  // A Uint8Array subclass whose byteLength getter lies: the bytes it holds are what count.
  class Lying extends Uint8Array {
    get byteLength() {
      return 3;
    }
  }
  const lying = new Lying(new TextEncoder().encode(BODY));
  return [
    // Standard Webhooks: options.now
    ["std: now = Object.create(Date.prototype)", std(STD_HEADERS, STD_SECRET, { now: Object.create(Date.prototype) }), "TypeError"],
    ["std: now = Proxy of a Date", std(STD_HEADERS, STD_SECRET, { now: new Proxy(new Date(), {}) }), "TypeError"],
    ["std: now = revoked proxy", std(STD_HEADERS, STD_SECRET, { now: revoked(new Date()) }), "TypeError"],
    ["std: options = revoked proxy", std(STD_HEADERS, STD_SECRET, revoked()), "TypeError"],
    ["std: options getter throws", std(STD_HEADERS, STD_SECRET, getThrows), "TypeError"],
    ["std: options.toleranceSeconds getter throws", std(STD_HEADERS, STD_SECRET, { get toleranceSeconds() { return boom(); } }), "TypeError"],
    ["std: body = plain object", std(STD_HEADERS, STD_SECRET, STD_NOW, { parsed: true }), "TypeError"],
    // Standard Webhooks: secret
    ["std: secret = revoked proxy", std(STD_HEADERS, revoked([])), "TypeError"],
    ["std: secret = array proxy whose length throws", std(STD_HEADERS, lengthThrows), "TypeError"],
    ["std: secret = array with a throwing index getter", std(STD_HEADERS, indexThrows), "TypeError"],
    // Standard Webhooks: headers
    ["std: a header value is a revoked proxy", std({ ...STD_HEADERS, "webhook-id": revoked() }, STD_SECRET), false],
    ["std: the signature value is a revoked proxy array", std({ ...STD_HEADERS, "webhook-signature": revoked([]) }, STD_SECRET), false],
    ["std: headers proxy whose ownKeys throws", std(ownKeysThrow, STD_SECRET), "TypeError"],
    ["std: headers = revoked proxy", std(revoked(), STD_SECRET), "TypeError"],
    ["std: headers.get throws", std(headersGetThrows, STD_SECRET), "TypeError"],
    // Standard Webhooks: signing
    ["signStandardWebhook: secret = revoked proxy", () => fw.signStandardWebhook("msg", 1614265330, STD_BODY, revoked([])), "TypeError"],
    ["signStandardWebhook: secret with a throwing index getter", () => fw.signStandardWebhook("msg", 1614265330, STD_BODY, indexThrows), "TypeError"],
    // X-Foreman-Signature
    ["verifySignature: secret = revoked proxy", () => fw.verifySignature(BODY, GOOD, revoked([])), "TypeError"],
    ["verifySignature: secret with a throwing index getter", () => fw.verifySignature(BODY, GOOD, keyIndexThrows), "TypeError"],
    ["verifySignature: secret array proxy whose length throws", () => fw.verifySignature(BODY, GOOD, new Proxy([KEY], { get: (t, k) => (k === "length" ? boom() : Reflect.get(t, k)) })), "TypeError"],
    ["verifySignature: signature = revoked proxy", () => fw.verifySignature(BODY, revoked([]), KEY), false],
    ["verifySignature: signature array with a throwing getter", () => fw.verifySignature(BODY, sigArrayThrows, KEY), false],
    ["verifySignature: body = revoked proxy", () => fw.verifySignature(revoked(), GOOD, KEY), "TypeError"],
    ["signPayload: secret = revoked proxy", () => fw.signPayload(BODY, revoked()), "TypeError"],
    ["formatArtifacts: artifacts = revoked proxy", () => fw.formatArtifacts("j", revoked([])), "TypeError"],
    ["formatArtifacts: artifact getter throws", () => fw.formatArtifacts("j", [getThrows]), "TypeError"],
    ["planArtifacts: limits getter throws", () => fw.planArtifacts([], getThrows), "TypeError"],
    // The keyed verifiers (and their hot path)
    ["createVerifier: secret = revoked proxy", () => fw.createVerifier(revoked([])), "TypeError"],
    ["createVerifier: secret with a throwing index getter", () => fw.createVerifier(keyIndexThrows), "TypeError"],
    ["Verifier.verify: body = revoked proxy", () => verifier.verify(revoked(), GOOD), "TypeError"],
    ["Verifier.verify: signature = revoked proxy", () => verifier.verify(BODY, revoked([])), false],
    ["Verifier.verify: signature array with a throwing getter", () => verifier.verify(BODY, sigArrayThrows), false],
    ["Verifier.verify: body Uint8Array whose byteLength lies", () => verifier.verify(lying, GOOD), true],
    ["createStandardVerifier: secret = revoked proxy", () => fw.createStandardVerifier(revoked([])), "TypeError"],
    ["StandardVerifier.verify: headers proxy whose ownKeys throws", () => stdVerifier.verify(ownKeysThrow, STD_BODY, STD_NOW), "TypeError"],
    ["StandardVerifier.verify: headers.get throws", () => stdVerifier.verify(headersGetThrows, STD_BODY, STD_NOW), "TypeError"],
    ["StandardVerifier.verify: now = revoked proxy", () => stdVerifier.verify(STD_HEADERS, STD_BODY, { now: revoked(new Date()) }), "TypeError"],
    ["StandardVerifier.verify: header getter throws", () => stdVerifier.verify({ ...STD_HEADERS, get "webhook-id"() { return boom(); } }, STD_BODY, STD_NOW), "TypeError"],
    ["verifyStandardWebhook: Webhook-Id before webhook-id (first key wins)", std({ "Webhook-Id": "other", ...STD_HEADERS }, STD_SECRET), false],
  ];
}

/** Repeated header lines: any valid entry passes, in any order (published vectors). */
export function repeatedHeaderCases(fw) {
  const h = (sig) => ({ ...STD_HEADERS, "webhook-signature": sig });
  const cases = [
    ["webhook-signature joined with \", \" (good last)", () => fw.verifyStandardWebhook(h(`${STD_OTHER}, ${STD_SIG}`), STD_BODY, STD_SECRET, STD_NOW), true],
    ["webhook-signature joined with \", \" (good first)", () => fw.verifyStandardWebhook(h(`${STD_SIG}, ${STD_OTHER}`), STD_BODY, STD_SECRET, STD_NOW), true],
    ["webhook-signature joined with \", \", none valid", () => fw.verifyStandardWebhookReason(h(`${STD_OTHER}, ${STD_OTHER}`), STD_BODY, STD_SECRET, STD_NOW), "no_matching_signature"],
    ["webhook-signature as an array value", () => fw.verifyStandardWebhook(h([STD_OTHER, STD_SIG]), STD_BODY, STD_SECRET, STD_NOW), true],
    ["signature as an array [GOOD] (one header line)", () => fw.verifySignature(BODY, [GOOD], KEY), true],
    ["signature as an array, one line, not matching", () => fw.verifySignatureReason(BODY, [GOOD.replace("7", "8")], KEY), "mismatch"],
    // X-Foreman-Signature holds one value: two lines are joined with ", " (the core's rule,
    // as Node joins them) and refused, as the Rust receiver refuses them.
    ["signature as an array of two lines [GOOD, GOOD]", () => fw.verifySignatureReason(BODY, [GOOD, GOOD], KEY), "wrong_length"],
    ["signature joined by Node: \"GOOD, GOOD\"", () => fw.verifySignatureReason(BODY, `${GOOD}, ${GOOD}`, KEY), "wrong_length"],
    ["signature as an empty array", () => fw.verifySignatureReason(BODY, [], KEY), "missing_prefix"],
  ];
  if (typeof Headers === "function") {
    const hs = new Headers({ "webhook-id": STD_HEADERS["webhook-id"], "webhook-timestamp": STD_HEADERS["webhook-timestamp"] });
    hs.append("webhook-signature", STD_OTHER);
    hs.append("webhook-signature", STD_SIG);
    cases.push(["Headers with two webhook-signature lines (Headers.get joins them)", () => fw.verifyStandardWebhook(hs, STD_BODY, STD_SECRET, STD_NOW), true]);
  }
  for (const [name, call, want] of cases) {
    const got = call();
    if (got !== want) throw new Error(`${name}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  }
  return cases.length;
}

/** A good call of every export, with answers from published vectors. */
function goodCalls(fw) {
  // Thunks: the verify-only entry (foreman-webhook/verify) has a subset of the exports.
  const checks = [
    ["verifySignature", () => fw.verifySignature(BODY, GOOD, KEY), true],
    ["verifySignatureReason", () => fw.verifySignatureReason(BODY, GOOD, [KEY]), "ok"],
    ["signPayload", () => fw.signPayload(BODY, KEY), GOOD],
    ["verifyStandardWebhook", () => fw.verifyStandardWebhook(STD_HEADERS, STD_BODY, STD_SECRET, STD_NOW), true],
    ["verifyStandardWebhookReason", () => fw.verifyStandardWebhookReason(STD_HEADERS, STD_BODY, [STD_SECRET], { now: new Date(1614265330 * 1000) }), "ok"],
    ["signStandardWebhook", () => fw.signStandardWebhook(STD_HEADERS["webhook-id"], 1614265330, STD_BODY, STD_SECRET), STD_SIG],
    ["formatArtifacts", () => fw.formatArtifacts("j", [{ name: "a", contentType: "text/plain", data: "hi" }]), '[{"name":"a","content_type":"text/plain","size":2,"data":"hi"}]'],
    ["planArtifacts", () => fw.planArtifacts([{ name: "a", contentType: "text/plain", data: "hi" }]).join(), "inline_text"],
    ["createVerifier", () => fw.createVerifier(["old", KEY]).verify(BODY, GOOD), true],
    ["createStandardVerifier", () => fw.createStandardVerifier(STD_SECRET).verifyReason(STD_HEADERS, STD_BODY, STD_NOW), "ok"],
  ];
  for (const [name, call, want] of checks) {
    if (typeof fw[name] !== "function") continue;
    const got = call();
    if (got !== want) throw new Error(`${name} after the triggers: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  }
  const names = Object.keys(fw).filter((k) => typeof fw[k] === "function" && k !== "wasmMemory" && k !== "default");
  const covered = new Set(checks.map((c) => c[0]));
  const missing = names.filter((n) => !covered.has(n));
  if (missing.length) throw new Error(`exports without a good call here: ${missing.join(", ")}`);
}

/**
 * Every trigger REPEAT times in a row; returns { triggers, calls, memoryBytes }. Throws on
 * a wrong answer, on growth of the wasm memory, or on an instance reset.
 */
export function runTriggers(fw, only = () => true) {
  goodCalls(fw);
  const before = fw.wasmMemory();
  let calls = 0;
  const list = triggers(fw).filter(([name]) => only(name));
  for (const [name, call, want] of list) {
    for (let i = 0; i < REPEAT; i++) {
      let got;
      let error;
      try {
        got = call();
      } catch (e) {
        error = e;
      }
      if (want === "TypeError") {
        if (!(error instanceof TypeError)) throw new Error(`${name} (#${i + 1}): want a TypeError, got ${error ? `${error.name}: ${error.message}` : JSON.stringify(got)}`);
      } else if (error !== undefined || got !== want) {
        throw new Error(`${name} (#${i + 1}): want ${JSON.stringify(want)}, got ${error ? `${error.name}: ${error.message}` : JSON.stringify(got)}`);
      }
      calls++;
    }
    goodCalls(fw);
  }
  for (let round = 0; round < LEAK_ROUNDS; round++) {
    for (const [, call] of list) {
      for (let i = 0; i < REPEAT; i++) {
        try {
          call();
        } catch {}
        calls++;
      }
    }
  }
  goodCalls(fw);
  const after = fw.wasmMemory();
  if (after.bytes !== before.bytes) throw new Error(`wasm memory grew from ${before.bytes} to ${after.bytes} bytes over ${calls} hostile calls`);
  if (after.resets !== before.resets) throw new Error(`the instance was reset ${after.resets - before.resets} times during the hostile calls`);
  return { triggers: list.length, calls, memoryBytes: after.bytes, repeated: typeof fw.verifyStandardWebhook === "function" ? repeatedHeaderCases(fw) : 0 };
}

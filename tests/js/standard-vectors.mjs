// tests/vectors/standard.json (computed by Python's hmac/base64) through the package's
// Standard Webhooks exports, in every header shape a receiver meets: a plain object
// (Node's req.headers), a Headers instance (fetch / edge runtimes), mixed-case keys.
// Used by the Node tests and the runtime checks. No Node-only API in this file.
import { hexToBytes } from "./vectors.mjs";

export const STANDARD_CASES = 46;

function eq(got, want, message) {
  if (got !== want) throw new Error(`${message}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}

function headerShapes(c) {
  const plain = {};
  if (c.id !== null) plain["webhook-id"] = c.id;
  if (c.timestamp !== null) plain["webhook-timestamp"] = c.timestamp;
  if (c.signature !== null) plain["webhook-signature"] = c.signature;
  const shapes = [["object", plain]];
  const mixed = {};
  for (const [k, v] of Object.entries(plain)) mixed[k.replace(/(^|-)w/g, (m) => m.toUpperCase())] = v;
  shapes.push(["Mixed-Case object", mixed]);
  if (typeof Headers === "function") {
    // Headers normalises values (trims spaces): only use it where that changes nothing.
    const trimmed = Object.values(plain).every((v) => v === v.trim());
    if (trimmed) shapes.push(["Headers", new Headers(plain)]);
  }
  return shapes;
}

/** Every case of standard.json; returns the number of cases. */
export function runStandardVectors(fw, file) {
  eq(file.count, STANDARD_CASES, "standard.json count changed: update STANDARD_CASES");
  eq(file.cases.length, STANDARD_CASES, "standard.json truncated?");
  let oks = 0;
  for (const c of file.cases) {
    const body = hexToBytes(c.body_hex);
    const secret = c.secrets.length === 1 ? c.secrets[0] : c.secrets;
    const options = { now: c.now };
    if (c.tolerance !== null) options.toleranceSeconds = c.tolerance;
    const want = c.expect.startsWith("missing_header") ? "missing_header" : c.expect;
    for (const [shape, headers] of headerShapes(c)) {
      eq(fw.verifyStandardWebhookReason(headers, body, secret, options), want, `${c.name} (${shape})`);
      eq(fw.verifyStandardWebhook(headers, body, secret, options), want === "ok", `${c.name} (${shape}) bool`);
    }
    if (c.body_text !== null) {
      eq(fw.verifyStandardWebhookReason(headerShapes(c)[0][1], c.body_text, secret, options), want, `${c.name} (string body)`);
    }
    // The keyed verifier answers exactly as verifyStandardWebhookReason; a secret that
    // does not decode is a TypeError when it is created.
    let verifier = null;
    try {
      verifier = fw.createStandardVerifier(secret);
    } catch (e) {
      if (!(e instanceof TypeError) || !/secret/.test(want + e.message)) throw new Error(`${c.name}: createStandardVerifier threw ${e}`);
    }
    if (verifier !== null) {
      for (const [shape, headers] of headerShapes(c)) {
        eq(verifier.verifyReason(headers, body, options), want, `${c.name} (${shape}, createStandardVerifier)`);
        eq(verifier.verify(headers, body, options), want === "ok", `${c.name} (${shape}, createStandardVerifier) bool`);
      }
    }
    if (c.sign) {
      eq(fw.signStandardWebhook(c.id, Number(c.timestamp), body, secret), c.sign, `${c.name}: signStandardWebhook`);
    }
    if (want === "ok") oks++;
  }
  if (oks < 10) throw new Error(`expected many positive cases, got ${oks}`);
  return file.cases.length;
}

/** Caller mistakes throw TypeError with a useful message; attacker junk gives false. */
export function runStandardBadInputs(fw) {
  const secret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
  const h = { "webhook-id": "msg_1", "webhook-timestamp": "1649367553", "webhook-signature": "v1,AAAA" };
  let n = 0;
  const throws = (fn, re, what) => {
    try {
      fn();
    } catch (e) {
      if (!(e instanceof TypeError)) throw new Error(`${what}: threw ${e}, want TypeError`);
      if (!re.test(e.message)) throw new Error(`${what}: message ${JSON.stringify(e.message)} !~ ${re}`);
      n++;
      return;
    }
    throw new Error(`${what}: did not throw`);
  };
  const no = (fn, what) => {
    const r = fn();
    if (r !== false) throw new Error(`${what}: got ${r}, want false`);
    n++;
  };
  throws(() => fw.verifyStandardWebhook(null, "{}", secret), /headers must be/, "null headers");
  throws(() => fw.verifyStandardWebhook("webhook-id: x", "{}", secret), /headers must be/, "string headers");
  throws(() => fw.verifyStandardWebhook(h, { parsed: true }, secret), /raw request body/, "parsed body");
  throws(() => fw.verifyStandardWebhook(h, "{}", 42), /whsec_/, "numeric secret");
  throws(() => fw.verifyStandardWebhook(h, "{}", [secret, null]), /whsec_/, "null in secret list");
  throws(() => fw.verifyStandardWebhook(h, "{}", secret, { now: Date.now() }), /milliseconds/, "now in ms");
  throws(() => fw.verifyStandardWebhook(h, "{}", secret, { now: "soon" }), /Unix seconds/, "now string");
  throws(() => fw.verifyStandardWebhook(h, "{}", secret, { toleranceSeconds: -1 }), /toleranceSeconds/, "negative tolerance");
  throws(() => fw.verifyStandardWebhook(h, "{}", secret, 5), /options must be/, "numeric options");
  throws(() => fw.signStandardWebhook("msg", Date.now(), "{}", secret), /Unix seconds/, "sign ts in ms");
  throws(() => fw.signStandardWebhook(1, 1, "{}", secret), /id must be a string/, "sign numeric id");
  throws(() => fw.signStandardWebhook("msg", 1, "{}", "whsec_"), /must not be empty/, "sign empty key");
  const getterThrows = new Proxy({}, { get() { throw new Error("boom"); }, ownKeys() { throw new Error("boom"); } });
  throws(() => fw.verifyStandardWebhook(getterThrows, "{}", secret), /headers must be/, "throwing proxy");
  no(() => fw.verifyStandardWebhook({}, "{}", secret), "no headers");
  no(() => fw.verifyStandardWebhook({ ...h, "webhook-timestamp": "x".repeat(100000) }, "{}", secret), "huge timestamp");
  no(() => fw.verifyStandardWebhook({ ...h, "webhook-signature": "v1,".repeat(100000) }, "{}", secret, { now: 1649367553 }), "huge signature");
  no(() => fw.verifyStandardWebhook({ ...h, "webhook-signature": "v1,\ud800" }, "{}", secret, { now: 1649367553 }), "lone surrogate");
  no(() => fw.verifyStandardWebhook({ ...h, "webhook-id": 7 }, "{}", secret), "numeric id header");
  no(() => fw.verifyStandardWebhook(h, "{}", "whsec_"), "empty secret");
  no(() => fw.verifyStandardWebhook(h, "{}", "whsec_!!!"), "undecodable secret");
  no(() => fw.verifyStandardWebhook(h, "{}", []), "no secrets");
  // The answer for a good request is unchanged after all of the above.
  const sig = fw.signStandardWebhook("msg_1", 1649367553, "{}", secret);
  const good = { ...h, "webhook-signature": sig };
  if (fw.verifyStandardWebhook(good, "{}", secret, { now: 1649367553 }) !== true) throw new Error("good request refused");
  if (fw.verifyStandardWebhook(good, "{}", secret, { now: new Date(1649367553 * 1000) }) !== true) throw new Error("Date now refused");
  return n;
}

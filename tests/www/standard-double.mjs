// TEST DOUBLE, used only by tests/www/e2e.mjs while pkg/ has no Standard Webhooks API:
// served in place of pkg/browser.mjs (through playwright's request routing) so that the
// page's Standard Webhooks panel can be exercised — fields to arguments, verdict, reason,
// hints, timestamp age, the signature it needs — against the shared vectors.
//
// It re-exports the real package and adds the three planned functions, written after
// src/standard.rs (same order of checks), with the HMAC computed by the real package's
// signPayload. It says nothing about the real wasm API: once pkg/ exports
// verifyStandardWebhook, the test uses the package itself and never loads this file.

import init from "./foreman_webhook.js";
import { signPayload } from "./foreman_webhook.js";

await init({ module_or_path: new URL("./foreman_webhook_bg.wasm", import.meta.url) });

export * from "./foreman_webhook.js";

const utf8 = new TextEncoder();

function b64decode(text) {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.replace(/=+$/, "").length % 4 === 1) return null;
  const unpadded = text.replace(/=+$/, "");
  const binary = atob(unpadded + "=".repeat((4 - (unpadded.length % 4)) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

function keys(secret) {
  const list = Array.isArray(secret) ? secret : [secret];
  if (list.length === 0) return { error: "empty_secret" };
  const out = [];
  for (const s of list) {
    const key = b64decode(s.startsWith("whsec_") ? s.slice(6) : s);
    if (key === null) return { error: "malformed_secret" };
    if (key.length === 0) return { error: "empty_secret" };
    out.push(key);
  }
  return { keys: out };
}

function mac(key, id, ts, body) {
  const head = utf8.encode(`${id}.${ts}.`);
  const bytes = typeof body === "string" ? utf8.encode(body) : new Uint8Array(body);
  const content = new Uint8Array(head.length + bytes.length);
  content.set(head);
  content.set(bytes, head.length);
  const hex = signPayload(content, key).slice("sha256=".length);
  return btoa(String.fromCharCode(...hex.match(/../g).map((h) => parseInt(h, 16))));
}

export function verifyStandardWebhookReason(headers, body, secret, { toleranceSeconds = 300, now } = {}) {
  const k = keys(secret);
  if (k.error) return k.error;
  const id = headers["webhook-id"];
  const tsText = headers["webhook-timestamp"];
  const sigs = headers["webhook-signature"];
  if (id === undefined) return "missing_header";
  if (tsText === undefined) return "missing_header";
  if (sigs === undefined) return "missing_header";
  const t = tsText.replace(/^[ \t]+|[ \t]+$/g, "");
  if (t === "" || t.length > 18 || !/^\d+$/.test(t)) return "malformed_timestamp";
  const ts = Number(t);
  const age = now - ts;
  if (age > toleranceSeconds) return "too_old";
  if (-age > toleranceSeconds) return "too_new";
  const expected = k.keys.map((key) => mac(key, id, ts, body));
  let wellFormed = false;
  let matched = false;
  for (const entry of sigs.split(/[ \t]/).filter((e) => e !== "")) {
    const comma = entry.indexOf(",");
    if (comma < 0) continue;
    const got = b64decode(entry.slice(comma + 1));
    if (got === null) continue;
    wellFormed = true;
    if (got.length !== 32 || entry.slice(0, comma) !== "v1") continue;
    const b64 = btoa(String.fromCharCode(...got));
    if (expected.includes(b64)) matched = true;
  }
  if (matched) return "ok";
  return wellFormed ? "no_matching_signature" : "malformed_signature";
}

export function verifyStandardWebhook(headers, body, secret, options) {
  return verifyStandardWebhookReason(headers, body, secret, options) === "ok";
}

export function signStandardWebhook(id, timestamp, body, secret) {
  const k = keys(secret);
  if (k.error) throw new TypeError(`secret: ${k.error}`);
  return k.keys.map((key) => `v1,${mac(key, id, timestamp, body)}`).join(" ");
}

// The Standard Webhooks panel (webhook-id / webhook-timestamp / webhook-signature). Shown
// only when the package exports the Standard Webhooks API; every verdict and signature
// comes from it.

import { formatDuration } from "./bytes.mjs";
import {
  readSecrets, bodyVariants, el, code, hint, renderHints, showVerdict,
} from "./common.mjs";

const $ = (id) => document.getElementById(id);

const NAMES = ["verifyStandardWebhook", "verifyStandardWebhookReason", "signStandardWebhook"];

/** `true` when the loaded package has the Standard Webhooks functions. */
export function hasStandardApi(fw) {
  return NAMES.every((name) => typeof fw[name] === "function");
}

const REASONS = {
  ok: "The signature matches, and the timestamp is within the tolerance.",
  missing_header: "A webhook-* header is missing.",
  malformed_timestamp: "webhook-timestamp must be Unix seconds, digits only.",
  too_old: "The timestamp is older than the tolerance allows.",
  too_new: "The timestamp is further in the future than the tolerance allows.",
  malformed_signature: "webhook-signature has no well-formed version,base64 entry.",
  no_matching_signature: "No v1 entry is the signature of this id, timestamp and body under any secret.",
  empty_secret: "No usable secret: empty secrets are refused.",
  malformed_secret: "A secret is not whsec_ + base64.",
};

export function setupStandard(fw, refresh) {
  $("standard-form").addEventListener("submit", (event) => {
    event.preventDefault();
    refresh();
  });
  for (const id of ["std-id", "std-timestamp", "std-signature", "std-secrets", "std-now", "std-tolerance"]) {
    $(id).addEventListener("input", refresh);
  }
  // A ready-to-check example: the timestamp is now, and the signature is the package's.
  const now = Math.floor(Date.now() / 1000);
  $("std-timestamp").value = String(now);
  try {
    $("std-signature").value = fw.signStandardWebhook($("std-id").value, now, $("body").value,
      readSecrets($("std-secrets").value).values);
  } catch {
    // Left empty: the panel then explains the missing header.
  }
  return { update: (body) => update(fw, body) };
}

/** The form as the package's arguments, or `{ error }`. */
function readForm() {
  const headers = {};
  for (const [name, id] of [["webhook-id", "std-id"], ["webhook-timestamp", "std-timestamp"], ["webhook-signature", "std-signature"]]) {
    const value = $(id).value;
    if (value !== "") headers[name] = value;
  }
  const secrets = readSecrets($("std-secrets").value);
  const nowText = $("std-now").value.trim();
  if (nowText !== "" && !/^\d+$/.test(nowText)) return { error: "the receiver's clock must be Unix seconds" };
  const now = nowText === "" ? Math.floor(Date.now() / 1000) : Number(nowText);
  const options = { now };
  const tolerance = $("std-tolerance").value.trim();
  if (tolerance !== "") {
    if (!/^\d+$/.test(tolerance)) return { error: "the tolerance must be a whole number of seconds" };
    options.toleranceSeconds = Number(tolerance);
  }
  return { headers, secrets, options, now };
}

function update(fw, body) {
  const result = $("standard-result");
  const verdict = $("standard-verdict");
  const form = readForm();
  if (body.error || form.error) {
    showVerdict(result, verdict, "input-error", `Cannot check: ${body.error ? `the body: ${body.error}` : form.error}.`);
    $("standard-reason").textContent = "—";
    $("standard-reason-text").textContent = "";
    renderHints($("standard-hints"), []);
    $("standard-needed").replaceChildren();
    $("standard-age").textContent = "";
    return;
  }
  const { headers, secrets, options } = form;
  let valid;
  let reason;
  try {
    valid = fw.verifyStandardWebhook(headers, body.value, secrets.values, options);
    reason = fw.verifyStandardWebhookReason(headers, body.value, secrets.values, options);
  } catch (e) {
    showVerdict(result, verdict, "input-error", `Cannot check: ${e.message}`);
    $("standard-reason").textContent = "—";
    $("standard-reason-text").textContent = "";
    return;
  }
  const code0 = reason.split(":")[0];
  showVerdict(result, verdict, valid ? "valid" : "invalid", valid ? "Valid signature" : "Invalid signature");
  $("standard-reason").textContent = reason;
  $("standard-reason-text").textContent = REASONS[code0] ?? "";
  result.dataset.reason = reason;
  showAge(form);
  renderHints($("standard-hints"), explain(fw, body, form, code0));
  renderNeeded(fw, body, form);
}

function showAge({ headers, now, options }) {
  const ts = (headers["webhook-timestamp"] ?? "").trim();
  const age = $("standard-age");
  if (!/^\d{1,15}$/.test(ts)) {
    age.textContent = "";
    return;
  }
  const delta = now - Number(ts);
  const tolerance = options.toleranceSeconds ?? 300;
  const when = delta === 0 ? "sent now" : delta > 0 ? `${formatDuration(delta)} old` : `${formatDuration(delta)} in the future`;
  age.textContent = `Timestamp ${new Date(Number(ts) * 1000).toISOString()}: ${when} (tolerance ±${tolerance} s).`;
}

function renderNeeded(fw, body, { headers, secrets }) {
  const needed = $("standard-needed");
  needed.replaceChildren();
  const id = headers["webhook-id"];
  const ts = (headers["webhook-timestamp"] ?? "").trim();
  if (id === undefined || !/^\d{1,15}$/.test(ts)) {
    needed.append(el("li", {}, "Fill in webhook-id and webhook-timestamp (Unix seconds) to see it."));
    return;
  }
  if (secrets.lines.length === 0) {
    needed.append(el("li", {}, "Enter a secret to see it."));
    return;
  }
  for (const s of secrets.lines) {
    let value;
    try {
      value = fw.signStandardWebhook(id, Number(ts), body.value, s.value);
    } catch (e) {
      needed.append(el("li", {}, `secret on line ${s.line}: ${e.message}`));
      continue;
    }
    needed.append(el("li", { dataset: { line: String(s.line) } },
      secrets.lines.length > 1 ? el("span", { class: "line-label" }, `secret line ${s.line}`) : null,
      el("code", { class: "header-value" }, value)));
  }
}

function explain(fw, body, form, reason) {
  const { headers, secrets, options } = form;
  const verifies = (h, b, s) => fw.verifyStandardWebhook(h, b, s, options);
  const hints = [];
  const ts = (headers["webhook-timestamp"] ?? "").trim();
  const sig = headers["webhook-signature"] ?? "";
  switch (reason) {
    case "ok":
      return hints;
    case "missing_header": {
      const missing = ["webhook-id", "webhook-timestamp", "webhook-signature"].filter((n) => !(n in headers));
      hints.push(hint("missing-header", "warn", "Missing: ", ...missing.flatMap((n, i) => [i ? ", " : "", code(n)]),
        ". Header names are case-insensitive; check that a proxy forwards them."));
      return hints;
    }
    case "malformed_timestamp":
      hints.push(/^\d{13}$/.test(ts)
        ? hint("timestamp-ms", "warn", "This looks like milliseconds (JavaScript's ", code("Date.now()"), "): the header is whole Unix seconds.")
        : hint("timestamp-digits", "warn", "webhook-timestamp is whole Unix seconds, digits only (no sign, decimals or exponent)."));
      return hints;
    case "too_old":
      hints.push(hint("too-old", "warn", "A replayed or delayed request, a retry that reused its first attempt's timestamp and signature, or a wrong clock on the receiver. Senders sign every attempt afresh."));
      return hints;
    case "too_new":
      if (/^\d{13}$/.test(ts)) {
        hints.push(hint("timestamp-ms", "warn", "This looks like milliseconds (JavaScript's ", code("Date.now()"), "): the header is whole Unix seconds."));
        return hints;
      }
      hints.push(hint("too-new", "warn", "The sender's clock is ahead of the receiver's (or the receiver's is behind): check NTP on both."));
      return hints;
    case "malformed_signature":
      hints.push(/^\s*sha256=/i.test(sig)
        ? hint("foreman-value", "warn", "This is an ", code("X-Foreman-Signature"), " value (", code("sha256=<hex>"), "); check it in the X-Foreman-Signature panel.")
        : hint("signature-format", "warn", "Entries are ", code("v1,<base64>"), ", separated by spaces."));
      return hints;
    case "empty_secret":
      hints.push(hint("empty-secret", "warn", "Enter the endpoint's secret. An empty key is refused: it would let anyone forge a signature."));
      return hints;
    case "malformed_secret":
      hints.push(hint("malformed-secret", "warn", "A secret is ", code("whsec_"), " followed by the base64 of the key bytes, exactly as the provider shows it."));
      return hints;
    default:
      break;
  }
  // no_matching_signature
  if (!/(^|\s)v1,/.test(sig)) {
    hints.push(hint("no-v1", "warn", "There is no ", code("v1,"), " entry: unknown versions (", code("v1a"), ", ", code("v2"), ") are ignored."));
  }
  for (const s of secrets.lines) {
    if (s.raw === s.raw.trim()) continue;
    const others = secrets.values.filter((v) => v !== s.value);
    const fixed = verifies(headers, body.value, [...others, s.raw.trim()]);
    hints.push(hint("secret-whitespace", fixed ? "fix" : "warn",
      `The secret on line ${s.line} has whitespace around it; secrets are never trimmed.`,
      fixed ? " Without it, the signature verifies." : ""));
  }
  const id = headers["webhook-id"];
  if (id !== undefined && id !== id.trim() && verifies({ ...headers, "webhook-id": id.trim() }, body.value, secrets.values)) {
    hints.push(hint("id-whitespace", "fix", "webhook-id has whitespace around it; without it, the signature verifies."));
  }
  for (const variant of bodyVariants(body.text)) {
    if (verifies(headers, variant.body, secrets.values)) {
      hints.push(hint(variant.kind === "json" ? "body-reserialized" : "body-newline", "fix",
        "The signature matches this body written as ", el("strong", {}, variant.label),
        ", not the bytes pasted here: verify the raw request body, before any JSON parsing."));
      break;
    }
  }
  if (!hints.some((h) => h.kind === "fix")) {
    hints.push(hint("mismatch-generic", "warn", "Usual causes: another endpoint's secret, a body that is not byte-identical, or a webhook-id / webhook-timestamp taken from another delivery (all three are signed)."));
  }
  return hints;
}

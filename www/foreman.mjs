// The X-Foreman-Signature panel: the verdict and reason from the package, the header the
// body needs (signPayload), and explanations of the usual mistakes. Every explanation that
// says "this would verify" was checked by calling the package on the corrected input.

import {
  readSecrets, bodyVariants, isJson, el, code, hint, renderHints, showVerdict,
} from "./common.mjs";

const $ = (id) => document.getElementById(id);

const REASONS = {
  ok: "The signature matches the body.",
  missing_prefix: "The header does not start with sha256=.",
  wrong_length: "sha256= must be followed by exactly 64 hex digits.",
  malformed_hex: "The signature contains characters that are not hex digits.",
  mismatch: "The header is well-formed, but it is not the HMAC of this body under any of the secrets.",
  empty_secret: "No usable secret: empty secrets are refused.",
};

export function setupForeman(fw, refresh) {
  const form = $("foreman-form");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    refresh();
  });
  for (const id of ["secrets", "signature"]) $(id).addEventListener("input", refresh);
  $("secret-encoding").addEventListener("change", refresh);
  return { update: (body) => update(fw, body) };
}

function update(fw, body) {
  const result = $("foreman-result");
  const verdict = $("foreman-verdict");
  const reasonEl = $("foreman-reason");
  const hintsEl = $("foreman-hints");
  const needed = $("foreman-needed");
  const encoding = $("secret-encoding").value;
  const secrets = readSecrets($("secrets").value, encoding);
  const header = $("signature").value;

  if (body.error || secrets.error) {
    showVerdict(result, verdict, "input-error", `Cannot check: ${body.error ? `the body: ${body.error}` : secrets.error}.`);
    reasonEl.textContent = "—";
    $("foreman-reason-text").textContent = "";
    renderHints(hintsEl, []);
    needed.replaceChildren();
    return;
  }

  const valid = fw.verifySignature(body.value, header, secrets.values);
  const reason = fw.verifySignatureReason(body.value, header, secrets.values);
  showVerdict(result, verdict, valid ? "valid" : "invalid", valid ? "Valid signature" : "Invalid signature");
  reasonEl.textContent = reason;
  $("foreman-reason-text").textContent = REASONS[reason] ?? "";
  result.dataset.reason = reason;
  renderHints(hintsEl, explain(fw, body, header, secrets, reason, encoding));
  renderNeeded(fw, body, secrets, header);
}

/** The header each secret gives this body, marking the one that matches. */
function renderNeeded(fw, body, secrets, header) {
  const needed = $("foreman-needed");
  needed.replaceChildren();
  if (secrets.lines.length === 0) {
    needed.append(el("li", {}, "Enter a secret to see the header this body needs."));
    return;
  }
  for (const s of secrets.lines) {
    let value;
    try {
      value = fw.signPayload(body.value, s.value);
    } catch (e) {
      needed.append(el("li", {}, `secret on line ${s.line}: ${e.message}`));
      continue;
    }
    const matches = fw.verifySignature(body.value, header, [s.value]);
    needed.append(el("li", { dataset: { line: String(s.line) } },
      secrets.lines.length > 1 ? el("span", { class: "line-label" }, `secret line ${s.line}`) : null,
      el("code", { class: "header-value" }, value),
      matches ? el("span", { class: "badge" }, "matches") : null));
  }
}

/** The hints for this answer, most specific first. */
function explain(fw, body, header, secrets, reason, encoding) {
  const verifies = (b, h, s) => fw.verifySignature(b, h, s);
  const hints = [];
  const trimmed = header.trim();

  if (reason === "ok") {
    if (header !== trimmed) hints.push(hint("header-trimmed", "info", "Spaces or tabs around the header value were ignored (HTTP servers strip them too)."));
    if (/[A-F]/.test(trimmed.slice(7))) hints.push(hint("hex-case", "info", "Uppercase hex digits were accepted; Go's ", code("VerifySignature"), " would refuse them — senders write lowercase."));
    if (secrets.lines.length > 1) {
      const match = secrets.lines.find((s) => verifies(body.value, header, [s.value]));
      if (match) hints.push(hint("matched-line", "info", `Matched the secret on line ${match.line}.`));
    }
    return hints;
  }

  if (reason === "empty_secret") {
    hints.push(hint("empty-secret", "warn", "Enter the webhook secret. An empty secret is refused: it would let anyone forge a signature."));
    return hints;
  }

  // Whitespace the core does not strip (line breaks, no-break spaces) around the header.
  if (header !== trimmed && /[^ \t]/.test(header.replace(trimmed, ""))) {
    const fixed = verifies(body.value, trimmed, secrets.values);
    hints.push(hint("header-whitespace", fixed ? "fix" : "warn",
      "The header value has a line break or other whitespace around it (only spaces and tabs are ignored).",
      fixed ? " Without it, the signature verifies." : ""));
  }

  if (reason === "missing_prefix") hints.push(...explainPrefix(fw, body, trimmed, secrets));
  if (reason === "wrong_length" || reason === "malformed_hex") hints.push(...explainDigits(trimmed, reason));

  if (reason === "mismatch") {
    hints.push(...explainSecrets(fw, body, header, secrets, encoding));
    hints.push(...explainBody(fw, body, header, secrets));
    if (body.length > 0 && verifies("", header, secrets.values)) {
      hints.push(hint("empty-body-signature", "fix",
        "This is the signature of an empty body: the body was read twice (a consumed stream) or signed before it was written."));
    }
    if (!hints.some((h) => h.kind === "fix")) {
      hints.push(hint("mismatch-generic", "warn",
        "Usual causes: a different secret (test vs. live, or a rotated key: add both, one per line), " +
        "or a body that is not byte-identical to what was sent (decoded, re-encoded, trimmed, or copied from a log)."));
    }
  }
  return hints;
}

function explainPrefix(fw, body, trimmed, secrets) {
  if (trimmed === "") {
    return [hint("empty-header", "warn", "The header is empty. Read ", code("X-Foreman-Signature"),
      " (header names are case-insensitive) and check that a proxy did not drop it.")];
  }
  if (/(^|[\s])v\d+[a-z]*,/.test(trimmed)) {
    const panel = document.getElementById("standard").hidden
      ? "This version of the package has no Standard Webhooks verifier."
      : "Check it in the Standard Webhooks panel, with webhook-id and webhook-timestamp.";
    return [hint("standard-value", "warn", "This is a Standard Webhooks ", code("webhook-signature"),
      " value (", code("v1,<base64>"), "), not an ", code("X-Foreman-Signature"), ". ", panel)];
  }
  let id;
  let rest = null;
  let text;
  if (/^sha1=/i.test(trimmed)) {
    [id, rest] = ["sha1-prefix", trimmed.slice(5)];
    text = ["sha1= is GitHub's legacy ", code("X-Hub-Signature"), " format. Foreman signs with HMAC-SHA256: the header is ", code("sha256=<64 hex>"), "."];
  } else if (/^sha256=/i.test(trimmed)) {
    [id, rest] = ["prefix-case", trimmed.slice(7)];
    text = ["The prefix must be lowercase: ", code("sha256="), "."];
  } else if (/^sha256/i.test(trimmed)) {
    [id, rest] = ["prefix-no-equals", trimmed.slice(6)];
    text = ["The prefix is ", code("sha256="), ", with an equals sign."];
  } else if (/^[0-9a-f]+$/i.test(trimmed)) {
    [id, rest] = ["no-prefix", trimmed];
    text = ["The value is bare hex: it needs the ", code("sha256="), " prefix."];
  } else if (/^[\w-]+=/.test(trimmed)) {
    [id, rest] = ["other-prefix", trimmed.slice(trimmed.indexOf("=") + 1)];
    text = ["Unknown prefix: the header is ", code("sha256="), " followed by 64 hex digits."];
  } else {
    return [hint("not-a-signature", "warn", "This does not look like an ", code("X-Foreman-Signature"),
      " value (", code("sha256=<64 hex>"), "). Is it the right header?")];
  }
  const fixed = rest !== null && fw.verifySignature(body.value, `sha256=${rest}`, secrets.values);
  const confirmed = fixed ? [" With the prefix written ", code("sha256="), ", this signature verifies: only the prefix is wrong."] : [];
  return [hint(id, fixed ? "fix" : "warn", ...text, ...confirmed)];
}

function explainDigits(trimmed, reason) {
  const value = /^sha256=/.test(trimmed) ? trimmed.slice(7) : trimmed;
  if (/^\s/.test(value)) {
    return [hint("space-after-prefix", "warn", "There is whitespace after ", code("sha256="), ": the hex digits must follow it directly.")];
  }
  if (/^0x/i.test(value)) {
    return [hint("hex-0x", "warn", "Remove the ", code("0x"), ": the 64 hex digits follow ", code("sha256="), " directly.")];
  }
  if (reason === "wrong_length" && value.length >= 40 && /^[A-Za-z0-9+/]+={0,2}$/.test(value) && /[g-zG-Z+/=]/.test(value)) {
    return [hint("base64-signature", "warn", "This looks like base64. ", code("X-Foreman-Signature"),
      " carries the HMAC in hex (64 characters 0-9 a-f); base64 is the Standard Webhooks spelling.")];
  }
  if (reason === "wrong_length") {
    const n = [...value].length;
    return [hint("length", "warn", `Expected 64 hex digits after sha256=, found ${n} character${n === 1 ? "" : "s"}.`,
      n > 64 && n % 64 === 0 ? " Two signatures pasted together?" : "",
      n === 40 ? " 40 hex digits is a SHA-1 HMAC." : "")];
  }
  const bad = [...value].find((c) => !/[0-9a-fA-F]/.test(c));
  return [hint("non-hex", "warn", "Only 0-9 and a-f are hex digits; found ", code(bad ?? "?"), ".")];
}

function explainSecrets(fw, body, header, secrets, encoding) {
  if (encoding !== "text") return [];
  const hints = [];
  for (const s of secrets.lines) {
    if (s.raw === s.raw.trim()) continue;
    const others = secrets.values.filter((v) => v !== s.value);
    const fixed = fw.verifySignature(body.value, header, [...others, s.raw.trim()]);
    hints.push(hint("secret-whitespace", fixed ? "fix" : "warn",
      `The secret on line ${s.line} has whitespace at its ${/^\s/.test(s.raw) ? "start" : "end"}. Secrets are used byte for byte, never trimmed.`,
      fixed ? " Without the whitespace, the signature verifies: fix it where the secret is configured (an .env file, a secret manager)." : ""));
  }
  return hints;
}

function explainBody(fw, body, header, secrets) {
  for (const variant of bodyVariants(body.text)) {
    if (fw.verifySignature(variant.body, header, secrets.values)) {
      const why = variant.kind === "json"
        ? "Something parsed the JSON and serialized it again (a body parser, a logger, a tool that pretty-prints). "
        : "The line endings or the final newline changed on the way (copying, an editor, a proxy). ";
      return [hint(variant.kind === "json" ? "body-reserialized" : "body-newline", "fix",
        "The signature matches this body written as ", el("strong", {}, variant.label),
        ", not the bytes pasted here. ", why, "Verify the raw body as received: Express ",
        code('express.raw({ type: "application/json" })'), ", fetch / Workers / Deno ", code("await request.arrayBuffer()"), ".")];
    }
  }
  if (isJson(body.text)) {
    return [hint("body-json", "info", "The body is valid JSON. If it was copied from a log or a tool, it may not be the exact bytes that were signed: key order, spaces, escapes and line endings all change the signature.")];
  }
  return [];
}

// Helpers shared by the two signature panels: reading the secrets field, the alternative
// spellings of a body worth trying, and rendering verdicts and hints.

import { hexToBytes, InputError } from "./bytes.mjs";

/**
 * The secrets typed one per line: `{ values, lines }` where `lines[i]` is
 * `{ line, raw, value }` (`line` is 1-based); or `{ error }`. Empty lines are skipped;
 * text secrets are kept byte for byte (never trimmed, so a line of spaces is a secret).
 */
export function readSecrets(raw, encoding = "text") {
  const lines = [];
  const split = raw.split("\n");
  for (let i = 0; i < split.length; i++) {
    const text = split[i];
    if (text === "") continue;
    if (encoding === "hex") {
      try {
        lines.push({ line: i + 1, raw: text, value: hexToBytes(text) });
      } catch (e) {
        if (e instanceof InputError) return { error: `secret on line ${i + 1}: ${e.message}` };
        throw e;
      }
    } else {
      lines.push({ line: i + 1, raw: text, value: text });
    }
  }
  return { values: lines.map((l) => l.value), lines };
}

/**
 * Other spellings of the same body a sender or a framework may have signed: re-serialized
 * JSON (compact, pretty-printed) and line-ending variants. Each is `{ label, body }`; the
 * caller asks the package whether the signature matches one of them.
 */
export function bodyVariants(text) {
  if (text === null) return [];
  const out = [];
  const seen = new Set([text]);
  const add = (label, body, kind) => {
    if (!seen.has(body)) {
      seen.add(body);
      out.push({ label, body, kind });
    }
  };
  let parsed;
  let isJson = false;
  try {
    parsed = JSON.parse(text);
    isJson = true;
  } catch {
    // Not JSON: only the line-ending variants apply.
  }
  // Line-ending changes first: they are the more specific explanation.
  if (/\r?\n$/.test(text)) add("the same body without its trailing newline", text.replace(/\r?\n$/, ""), "newline");
  else add("the same body with a trailing newline", `${text}\n`, "newline");
  if (text.includes("\r\n")) add("the same body with LF line endings", text.replace(/\r\n/g, "\n"), "newline");
  else if (text.includes("\n")) add("the same body with CRLF line endings", text.replace(/\n/g, "\r\n"), "newline");
  if (isJson) {
    const forms = [
      ["compact JSON, as JSON.stringify(JSON.parse(body)) writes it", JSON.stringify(parsed)],
      ["JSON pretty-printed with 2 spaces", JSON.stringify(parsed, null, 2)],
      ["JSON pretty-printed with 4 spaces", JSON.stringify(parsed, null, 4)],
      ["JSON pretty-printed with tabs", JSON.stringify(parsed, null, "\t")],
    ];
    for (const [label, body] of forms) {
      add(label, body, "json");
      add(`${label}, plus a trailing newline`, `${body}\n`, "json");
    }
  }
  return out;
}

/** `true` when `text` parses as JSON. */
export function isJson(text) {
  if (text === null) return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * Builds an element: `el("li", { class: "x", dataset: { hint: "y" } }, "text", child)`.
 * Text is always set as text, never parsed as HTML.
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "class") node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

/** `<code>` with text. */
export const code = (text) => el("code", {}, text);

/**
 * A hint: `{ id, kind: "fix" | "warn" | "info", parts: [string | Node] }`; `fix` hints
 * are the ones the package confirmed (the corrected input verifies).
 */
export function hint(id, kind, ...parts) {
  return { id, kind, parts };
}

/** Replaces the hints shown in `container`. */
export function renderHints(container, hints) {
  container.replaceChildren();
  if (hints.length === 0) return;
  const heading = el("h3", {}, hints.some((h) => h.kind !== "info") ? "What to check" : "Notes");
  const list = el("ul", { class: "hint-list" });
  for (const h of hints) {
    const label = { fix: "Found it", warn: "Check", info: "Note" }[h.kind];
    list.append(el("li", { class: `hint hint-${h.kind}`, dataset: { hint: h.id } },
      el("span", { class: "hint-label" }, label), " ", ...h.parts));
  }
  container.append(heading, list);
}

/**
 * Sets a result block's state and verdict: `state` is "valid", "invalid" or "input-error"
 * (also on `data-state`, which the tests read).
 */
export function showVerdict(result, verdict, state, text) {
  result.dataset.state = state;
  const icon = { valid: "✓", invalid: "✗", "input-error": "!" }[state] ?? "";
  verdict.replaceChildren(el("span", { class: "verdict-icon", "aria-hidden": "true" }, icon), ` ${text}`);
}

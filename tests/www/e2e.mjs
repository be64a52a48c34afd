// End-to-end test of the signature debugger page (www/) in Debian's headless Chromium,
// driven by playwright-core. Run by scripts/test.d/60-www, which builds the page and
// serves it on 127.0.0.1; WWW_URL is that server's address.
//
// Fills the page's fields with the shared vectors (tests/vectors/*.json) and asserts the
// verdicts, reasons, hints and artifacts output; checks labels, keyboard use, a 390 px
// viewport, and that the page makes no request outside its own origin. Expected values
// come from the vector files (Python's hmac) and node:crypto, never from the package.
// Prints `N passed, M failed` last; exits non-zero on any failure.
//
// Screenshots go to test-output/www/; to refresh www/README.md's, run
// `WWW_README_SCREENSHOT=www/screenshot.png scripts/test.d/60-www`.

import { createRequire } from "node:module";
import { createHmac, createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = new URL("../../", import.meta.url);
const require = createRequire(new URL("tools/package.json", root));
const { chromium } = require("playwright-core");

const BASE = process.env.WWW_URL;
if (!BASE) {
  console.error("WWW_URL is not set: run scripts/test.d/60-www");
  process.exit(2);
}
const ORIGIN = new URL(BASE).origin;
const OUT = new URL("test-output/www/", root).pathname;
const README_SHOT = process.env.WWW_README_SCREENSHOT; // e.g. www/screenshot.png
mkdirSync(OUT, { recursive: true });

const vectors = (name) => JSON.parse(readFileSync(new URL(`tests/vectors/${name}`, root), "utf8"));
const SIGNATURE_CASES = 46;
const ARTIFACT_CASES = 22;
const STANDARD_CASES = 46;

// ---------------------------------------------------------------------------- reporting
let passed = 0;
let failed = 0;
const skipped = [];
function check(name, ok, detail = "") {
  if (ok) {
    passed++;
    console.log(`ok   ${name}`);
  } else {
    failed++;
    console.log(`FAIL ${name}${detail ? `: ${detail}` : ""}`);
  }
}
function checkEq(name, actual, expected) {
  const ok = JSON.stringify(actual) === JSON.stringify(expected);
  const show = (v) => {
    const s = JSON.stringify(v);
    return s.length > 300 ? `${s.slice(0, 300)}… (${s.length} chars)` : s;
  };
  check(name, ok, ok ? "" : `got ${show(actual)}, expected ${show(expected)}`);
}

const hmacHex = (key, body) => createHmac("sha256", key).update(body).digest("hex");
const sha256 = (s) => createHash("sha256").update(s).digest("hex");

// ---------------------------------------------------------------------------- browser
const userDataDir = mkdtempSync(join(tmpdir(), "www-e2e-chromium-"));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--no-first-run",
  ],
  viewport: { width: 1200, height: 900 },
  deviceScaleFactor: 1,
  colorScheme: "light",
  offline: false,
});

const requests = [];
const consoleErrors = [];
context.on("request", (r) => requests.push(r.url()));
context.on("page", (p) => watch(p));
function watch(p) {
  p.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text()); });
  p.on("pageerror", (e) => consoleErrors.push(`pageerror: ${e.message}`));
  p.on("websocket", (ws) => requests.push(ws.url()));
}

let page = context.pages()[0] ?? (await context.newPage());
watch(page);

async function open() {
  await page.goto(new URL("index.html", BASE).href);
  await page.waitForSelector("body[data-ready=true]", { timeout: 20000 });
}

try {
  await open();
  check("page loads the package and says it is ready",
    (await page.textContent("#load-status")).startsWith("Ready"));

  await accessibility();
  await signatureVectors();
  await mistakeHints();
  await bodyFile();
  await keyboard();
  await artifactVectors();
  await standardWebhooks();
  await phoneWidth();
  await screenshots();
  await noRequestsElsewhere();
} catch (e) {
  check("test run completed without an exception", false, e.stack ?? String(e));
} finally {
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
}

if (skipped.length) console.log(`(not representable in the page, not run: ${skipped.join("; ")})`);
console.log(`screenshots in ${OUT}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);

// ---------------------------------------------------------------------------- helpers
/** Fills the body field: text when the vector has one a textarea keeps, hex otherwise. */
async function fillBody(c) {
  const text = c.body_text;
  if (text !== null && !text.includes("\r")) {
    await page.selectOption("#body-encoding", "text");
    await page.getByLabel("Raw body").fill(text);
  } else {
    await page.selectOption("#body-encoding", "hex");
    await page.getByLabel("Raw body").fill(c.body_hex);
  }
}

async function foremanState() {
  return page.$eval("#foreman-result", (r) => ({
    state: r.dataset.state,
    reason: r.dataset.reason,
    hints: [...r.querySelectorAll("[data-hint]")].map((h) => `${h.dataset.hint}:${h.className.match(/hint-(\w+)/)[1]}`),
    needed: [...r.querySelectorAll("#foreman-needed code")].map((c) => c.textContent),
  }));
}

async function fillForeman({ body, bodyEncoding = "text", secrets, secretEncoding = "text", header }) {
  await page.selectOption("#body-encoding", bodyEncoding);
  await page.getByLabel("Raw body").fill(body);
  await page.selectOption("#secret-encoding", secretEncoding);
  await page.getByLabel("Secret(s), one per line").first().fill(secrets);
  await page.getByLabel("Signature header value").fill(header);
  return foremanState();
}

// ---------------------------------------------------------------------------- sections
async function accessibility() {
  const unlabeled = await page.$$eval("input, textarea, select, button", (els) => els
    .filter((e) => !e.closest("template"))
    .filter((e) => !(e.labels?.length || e.getAttribute("aria-label") || e.getAttribute("aria-labelledby") ||
      (e.tagName === "BUTTON" && e.textContent.trim())))
    .map((e) => e.id || e.outerHTML.slice(0, 60)));
  checkEq("every form control has an accessible name", unlabeled, []);
  const live = await page.$$eval("[aria-live]", (els) => els.map((e) => e.id || e.className));
  check("verdicts and summaries are in aria-live regions (not the long outputs)",
    ["foreman-summary", "standard-summary", "artifacts-summary", "body-info"].every((id) => live.includes(id)) &&
    !live.includes("artifacts-json"), live.join(","));
  checkEq("document language is set", await page.getAttribute("html", "lang"), "en");
}

async function signatureVectors() {
  const file = vectors("signatures.json");
  checkEq("signatures.json: declared count", file.count, SIGNATURE_CASES);
  checkEq("signatures.json: case count", file.cases.length, SIGNATURE_CASES);
  // Extra expectations: the hint the page must show for a case (":fix" = confirmed by the
  // package on the corrected input).
  const hints = {
    "leading space trimmed": "header-trimmed:info",
    "uppercase hex accepted": "hex-case:info",
    "empty header": "empty-header:warn",
    "bare hex, no prefix": "no-prefix:fix",
    "uppercase prefix": "prefix-case:fix",
    "sha1 prefix": "sha1-prefix:warn",
    "prefix without equals": "prefix-no-equals:fix",
    "v1 standard-webhooks entry": "standard-value:warn",
    "space after prefix": "space-after-prefix:warn",
    "0x inside": "hex-0x:warn",
    "base64 of the right mac": "base64-signature:warn",
    "63 hex digits": "length:warn",
    "non-hex letter": "non-hex:warn",
    "wrong secret": "mismatch-generic:warn",
    "body with trailing newline": "body-newline:fix",
    "secret with trailing space is another key": "secret-whitespace:fix",
    "signature of empty body": "empty-body-signature:fix",
    "empty secret refused": "empty-secret:warn",
    "no secrets refused": "empty-secret:warn",
    "rotation: old key matches": "matched-line:info",
  };
  let run = 0;
  for (const c of file.cases) {
    if (/[\r\n]/.test(c.header)) {
      // An <input> drops line breaks, as an HTTP header value cannot hold one.
      skipped.push(`signature "${c.name}" (line break in the header)`);
      continue;
    }
    const textSecrets = c.secrets.every((s) => s.text !== null && !/[\r\n]/.test(s.text) && s.text !== "");
    const secretField = textSecrets
      ? c.secrets.map((s) => s.text).join("\n")
      : c.secrets.map((s) => s.hex).join("\n");
    await fillBody(c);
    await page.selectOption("#secret-encoding", textSecrets ? "text" : "hex");
    await page.getByLabel("Secret(s), one per line").first().fill(secretField);
    await page.getByLabel("Signature header value").fill(c.header);
    const got = await foremanState();
    const wantState = c.expect === "ok" ? "valid" : "invalid";
    const problems = [];
    if (got.state !== wantState) problems.push(`state ${got.state}, expected ${wantState}`);
    if (got.reason !== c.expect) problems.push(`reason ${got.reason}, expected ${c.expect}`);
    if (c.expect === "ok") {
      const want = c.header.trim().toLowerCase();
      if (!got.needed.includes(want)) problems.push(`needed headers ${JSON.stringify(got.needed)} lack ${want}`);
    }
    if (c.expect !== "empty_secret" && got.needed.length !== c.secrets.length) {
      problems.push(`${got.needed.length} needed headers for ${c.secrets.length} secrets`);
    }
    if (hints[c.name] && !got.hints.includes(hints[c.name])) {
      problems.push(`hints ${JSON.stringify(got.hints)} lack ${hints[c.name]}`);
    }
    check(`signature vector "${c.name}" → ${c.expect}${hints[c.name] ? ` + ${hints[c.name]}` : ""}`,
      problems.length === 0, problems.join("; "));
    run++;
  }
  check(`signature vectors run through the page: ${run} of ${SIGNATURE_CASES}`, run >= SIGNATURE_CASES - 1);
  // The needed header (signPayload) against Python's value for a case with one secret.
  const event = file.cases.find((c) => c.name === "event body");
  await fillBody(event);
  await page.getByLabel("Secret(s), one per line").first().fill(event.secrets[0].text);
  await page.getByLabel("Signature header value").fill("sha256=");
  checkEq("the header the body needs is signPayload's, equal to the vector", (await foremanState()).needed, [event.header]);
}

async function mistakeHints() {
  const secret = "foreman-test-secret";
  const value = { job_id: "j-1", state: "running", previous_state: "queued", attempt: 2, artifacts: null };
  const compact = JSON.stringify(value);
  const pretty2 = JSON.stringify(value, null, 2);
  const pretty4 = JSON.stringify(value, null, 4);
  const sig = (body, key = secret) => `sha256=${hmacHex(key, body)}`;
  const cases = [
    {
      name: "pretty-printed body, header signed over the compact JSON",
      input: { body: pretty2, secrets: secret, header: sig(compact) },
      expect: ["mismatch", "body-reserialized:fix", "compact JSON"],
    },
    {
      name: "compact body, header signed over 2-space pretty JSON",
      input: { body: compact, secrets: secret, header: sig(pretty2) },
      expect: ["mismatch", "body-reserialized:fix", "2 spaces"],
    },
    {
      name: "compact body, header signed over 4-space pretty JSON with a trailing newline",
      input: { body: compact, secrets: secret, header: sig(`${pretty4}\n`) },
      expect: ["mismatch", "body-reserialized:fix", "4 spaces, plus a trailing newline"],
    },
    {
      name: "body with CRLF line endings, signed with LF",
      input: { body: Buffer.from("line one\r\nline two\r\n").toString("hex"), bodyEncoding: "hex", secrets: secret, header: sig("line one\nline two\n") },
      expect: ["mismatch", "body-newline:fix", "LF line endings"],
    },
    {
      name: "secret with a leading space among several secrets",
      input: { body: compact, secrets: `old-secret\n ${secret}`, header: sig(compact) },
      expect: ["mismatch", "secret-whitespace:fix", "line 2 has whitespace at its start"],
    },
    {
      name: "no-break space around the header",
      input: { body: compact, secrets: secret, header: `\u00a0${sig(compact)}\u00a0` },
      expect: ["missing_prefix", "header-whitespace:fix", "line break or other whitespace"],
    },
    {
      name: "spaces around the header are fine",
      input: { body: compact, secrets: secret, header: `  ${sig(compact)}\t` },
      expect: ["ok", "header-trimmed:info", "were ignored"],
    },
    {
      name: "a 40-digit SHA-1 HMAC under sha256=",
      input: { body: compact, secrets: secret, header: `sha256=${createHmac("sha1", secret).update(compact).digest("hex")}` },
      expect: ["wrong_length", "length:warn", "SHA-1"],
    },
    {
      name: "key rotation: the second of three secrets matches",
      input: { body: compact, secrets: `a-old-key\n${secret}\nc-next-key`, header: sig(compact) },
      expect: ["ok", "matched-line:info", "line 2"],
    },
    {
      name: "hex secret (raw key bytes)",
      input: { body: compact, secrets: "00ff10", secretEncoding: "hex", header: sig(compact, Buffer.from([0, 255, 16])) },
      expect: ["ok", null, null],
    },
  ];
  for (const c of cases) {
    const got = await fillForeman(c.input);
    const [reason, hintId, text] = c.expect;
    const hintsText = await page.textContent("#foreman-hints");
    const problems = [];
    if (got.reason !== reason) problems.push(`reason ${got.reason}, expected ${reason}`);
    if (hintId && !got.hints.includes(hintId)) problems.push(`hints ${JSON.stringify(got.hints)} lack ${hintId}`);
    if (text && !hintsText.includes(text)) problems.push(`hint text lacks "${text}": ${hintsText}`);
    check(`mistake: ${c.name} → ${reason}${hintId ? ` + ${hintId}` : ""}`, problems.length === 0, problems.join("; "));
  }
  // A screenshot of the most common support case, used by www/README.md.
  await fillForeman(cases[0].input);
  await page.evaluate(() => { document.activeElement.blur(); window.scrollTo(0, 0); });
  const box = await page.locator("#foreman").boundingBox();
  const clip = { x: 0, y: 0, width: 1200, height: Math.ceil(box.y + box.height + 16) };
  await page.screenshot({ path: join(OUT, "hint-reserialized.png"), fullPage: true, clip });
  if (README_SHOT) await page.screenshot({ path: README_SHOT, fullPage: true, clip });
}

async function bodyFile() {
  // A binary body loaded from a file keeps its exact bytes (shown as base64).
  const c = vectors("signatures.json").cases.find((v) => v.name === "4 KiB binary body");
  await page.setInputFiles("#body-file", { name: "body.bin", mimeType: "application/octet-stream", buffer: Buffer.from(c.body_hex, "hex") });
  await page.waitForFunction(() => !document.body.dataset.pending);
  await page.selectOption("#secret-encoding", "text");
  await page.getByLabel("Secret(s), one per line").first().fill(c.secrets[0].text);
  await page.getByLabel("Signature header value").fill(c.header);
  const got = await foremanState();
  checkEq("a binary body loaded from a file verifies (vector \"4 KiB binary body\")",
    [got.reason, await page.inputValue("#body-encoding")], ["ok", "base64"]);
  check("the body info gives the byte count", (await page.textContent("#body-info")).includes("4,096 bytes"),
    await page.textContent("#body-info"));
}

async function keyboard() {
  await open();
  const secret = "keyboard-secret";
  const body = '{"job_id":"k-1","state":"failed"}';
  await page.keyboard.press("Tab");
  checkEq("keyboard: the first Tab reaches the skip link", await page.evaluate(() => document.activeElement.className), "skip");
  const order = [];
  await page.focus("#body");
  await page.keyboard.press("ControlOrMeta+a");
  await page.keyboard.type(body);
  for (let i = 0; i < 6; i++) {
    await page.keyboard.press("Tab");
    order.push(await page.evaluate(() => document.activeElement.id || document.activeElement.textContent.trim()));
    if (order.at(-1) === "secrets") {
      await page.keyboard.press("ControlOrMeta+a");
      await page.keyboard.type(secret);
    }
    if (order.at(-1) === "signature") {
      await page.keyboard.press("ControlOrMeta+a");
      await page.keyboard.type(`sha256=${hmacHex(secret, body)}`);
    }
  }
  checkEq("keyboard: Tab order through the first two panels", order,
    ["body-encoding", "body-file", "secrets", "secret-encoding", "signature", "Check signature"]);
  await page.keyboard.press("Enter");
  checkEq("keyboard: typed body, secret and header verify", (await foremanState()).reason, "ok");

  // The artifacts playground: add, fill and remove an artifact with the keyboard only.
  await page.focus("#clear-artifacts");
  await page.keyboard.press("Enter");
  await page.focus("#add-artifact");
  await page.keyboard.press("Enter");
  const focused = await page.evaluate(() => document.activeElement.closest("li")?.querySelector("legend")?.textContent.trim()
    + "/" + document.activeElement.dataset.field);
  checkEq("keyboard: Add artifact focuses the new artifact's name", focused, "Artifact 1/name");
  await page.keyboard.type("notes.txt");
  await page.keyboard.press("Tab");
  await page.keyboard.type("text/plain");
  await page.keyboard.press("Tab"); // size: left empty (data length)
  await page.keyboard.press("Tab"); // data source: text
  await page.keyboard.press("Tab"); // text (the file field is hidden)
  await page.keyboard.type("hi");
  checkEq("keyboard: the typed artifact is formatted", await page.inputValue("#artifacts-json"),
    '[{"name":"notes.txt","content_type":"text/plain","size":2,"data":"hi"}]');
  await page.keyboard.press("Tab");
  checkEq("keyboard: Tab then reaches the artifact's Remove button",
    await page.evaluate(() => document.activeElement.dataset.field), "remove");
  await page.keyboard.press("Enter");
  checkEq("keyboard: Remove deletes it and focus moves to Add artifact",
    [await page.inputValue("#artifacts-json"), await page.evaluate(() => document.activeElement.id)], ["null", "add-artifact"]);
}

async function fillArtifact(row, a) {
  await page.click("#add-artifact");
  const li = page.locator("#artifact-list > li").nth(row);
  await li.getByLabel("Name").fill(a.name);
  await li.getByLabel("Content type").fill(a.content_type);
  await li.getByLabel("Size (bytes)").fill(String(a.size));
  const data = a.data;
  if (data === null) {
    await li.getByLabel("Data", { exact: true }).selectOption("none");
  } else if ("hex" in data) {
    await li.getByLabel("Data", { exact: true }).selectOption("file");
    await li.getByLabel("File").setInputFiles({ name: "data.bin", mimeType: "application/octet-stream", buffer: Buffer.from(data.hex, "hex") });
    await page.waitForFunction(() => document.getElementById("artifacts").dataset.pending === "0");
  } else {
    const text = "text" in data ? data.text : data.repeat.repeat(Math.ceil(data.len / data.repeat.length) + 1).slice(0, data.len);
    await li.getByLabel("Data", { exact: true }).selectOption("text");
    await li.getByLabel("Text").fill(text);
  }
}

async function artifactVectors() {
  await open();
  const file = vectors("artifacts.json");
  checkEq("artifacts.json: declared count", file.count, ARTIFACT_CASES);
  checkEq("artifacts.json: case count", file.cases.length, ARTIFACT_CASES);
  for (const c of file.cases) {
    await page.click("#clear-artifacts");
    await page.getByLabel("Job id").fill(c.job_id);
    await page.getByLabel("Per-artifact limit (bytes)").fill(c.limits ? String(c.limits.per_artifact) : "");
    await page.getByLabel("Inline budget per payload (bytes)").fill(c.limits ? String(c.limits.budget) : "");
    for (const [i, a] of c.artifacts.entries()) await fillArtifact(i, a);
    const json = await page.inputValue("#artifacts-json");
    const placements = await page.$$eval("#plan-body tr[data-placement]", (rows) => rows.map((r) => r.dataset.placement));
    const problems = [];
    if ("expected_sha256" in c) {
      if (sha256(json) !== c.expected_sha256 || Buffer.byteLength(json) !== c.expected_len) {
        problems.push(`sha256/len ${sha256(json)}/${Buffer.byteLength(json)}, expected ${c.expected_sha256}/${c.expected_len}`);
      }
    } else if (json !== (c.expected ?? "null")) {
      problems.push(`json ${json.slice(0, 200)}, expected ${(c.expected ?? "null").slice(0, 200)}`);
    }
    // Without planArtifacts in the package the page only knows inline vs. URL for
    // artifacts with data (it reads the package's JSON); the URL's reason is then untested.
    const planned = (await page.getAttribute("#artifacts", "data-plan")) === "package";
    const want = planned ? c.placements : c.placements.map((p) => (p === "url_too_large" || p === "url_over_budget" ? "url" : p));
    if (JSON.stringify(placements) !== JSON.stringify(want)) problems.push(`placements ${placements}, expected ${want}`);
    const whyCount = await page.$$eval("#plan-body tr[data-placement] td:last-child", (tds) => tds.filter((t) => t.textContent.length > 10).length);
    if (whyCount !== c.placements.length) problems.push(`${whyCount} explanations for ${c.placements.length} artifacts`);
    check(`artifacts vector "${c.name}": JSON byte-equal, placements ${want.join(",") || "none"}${planned ? "" : " (from the JSON)"}`,
      problems.length === 0, problems.join("; "));
    if (c.name === "budget: first fit in order") {
      await page.locator("#artifacts").screenshot({ path: join(OUT, "artifacts.png") });
    }
  }
  const planned = (await page.getAttribute("#artifacts", "data-plan")) === "package";
  const exported = /\bplanArtifacts\b/.test(readFileSync(new URL("pkg/index.mjs", root), "utf8"));
  checkEq(`placements come from planArtifacts iff the package exports it (exported: ${exported})`, planned, exported);
  if (!exported) skipped.push("the reason of URL placements (url_too_large vs url_over_budget): pkg/ has no planArtifacts");
  // A caller mistake is the package's TypeError, shown in the page.
  await page.click("#clear-artifacts");
  await fillArtifact(0, { name: "x", content_type: "text/plain", size: 1.5, data: { text: "x" } });
  const error = await page.textContent("#artifacts-error");
  check("a non-integer size shows the package's TypeError", error.includes("size must be a non-negative integer"), error);
}

async function standardWebhooks() {
  const exported = /verifyStandardWebhook\b/.test(readFileSync(new URL("pkg/index.mjs", root), "utf8"));
  const shown = await page.isVisible("#standard");
  checkEq(`Standard Webhooks panel shown iff the package exports it (exported: ${exported})`, shown, exported);
  if (!exported) {
    skipped.push(`all ${STANDARD_CASES} Standard Webhooks vectors (pkg/ has no verifyStandardWebhook)`);
    return;
  }
  await open();
  const file = vectors("standard.json");
  checkEq("standard.json: case count", [file.count, file.cases.length], [STANDARD_CASES, STANDARD_CASES]);
  const hints = {
    "published vector, 301 s later": "too-old:warn",
    "foreman scheme header in the standard slot": "foreman-value:warn",
    "unknown version v1a ignored": "no-v1:warn",
    "missing webhook-id": "missing-header:warn",
    "undecodable secret refused": "malformed-secret:warn",
  };
  let run = 0;
  for (const c of file.cases) {
    if (c.id === "" || c.timestamp === "" || c.signature === "") {
      skipped.push(`standard "${c.name}" (an empty field is a missing header in the page)`);
      continue;
    }
    await fillBody(c);
    await page.getByLabel("webhook-id").fill(c.id ?? "");
    await page.getByLabel("webhook-timestamp").fill(c.timestamp ?? "");
    await page.getByLabel("webhook-signature").fill(c.signature ?? "");
    await page.locator("#std-secrets").fill(c.secrets.join("\n"));
    await page.getByLabel("Receiver's clock (Unix seconds)").fill(String(c.now));
    await page.getByLabel("Tolerance (seconds)").fill(c.tolerance === null ? "" : String(c.tolerance));
    const got = await page.$eval("#standard-result", (r) => ({
      state: r.dataset.state,
      reason: r.dataset.reason,
      hints: [...r.querySelectorAll("[data-hint]")].map((h) => `${h.dataset.hint}:${h.className.match(/hint-(\w+)/)[1]}`),
      needed: [...r.querySelectorAll("#standard-needed code")].map((x) => x.textContent),
    }));
    const problems = [];
    const wantState = c.expect === "ok" ? "valid" : "invalid";
    if (got.state !== wantState) problems.push(`state ${got.state}, expected ${wantState}`);
    if (got.reason !== c.expect && got.reason !== c.expect.split(":")[0]) problems.push(`reason ${got.reason}, expected ${c.expect}`);
    if (c.sign && c.secrets.length === 1 && JSON.stringify(got.needed) !== JSON.stringify([c.sign])) {
      problems.push(`needed ${JSON.stringify(got.needed)}, expected ${c.sign}`);
    }
    if (hints[c.name] && !got.hints.includes(hints[c.name])) problems.push(`hints ${JSON.stringify(got.hints)} lack ${hints[c.name]}`);
    check(`standard vector "${c.name}" → ${c.expect}`, problems.length === 0, problems.join("; "));
    run++;
    if (c.name === "published vector, 301 s later") {
      await page.locator("#standard").screenshot({ path: join(OUT, "standard-too-old.png") });
    }
  }
  check(`standard vectors run through the page: ${run} of ${STANDARD_CASES}`, run >= STANDARD_CASES - 2);
  // The default example signs itself with the current time, and shows its age.
  await open();
  checkEq("the Standard Webhooks example verifies at load", await page.getAttribute("#standard-result", "data-reason"), "ok");
  await page.getByLabel("webhook-timestamp").fill(String(Math.floor(Date.now() / 1000) * 1000));
  const hintIds = await page.$$eval("#standard-hints [data-hint]", (h) => h.map((x) => x.dataset.hint));
  check("a timestamp in milliseconds is pointed out", hintIds.includes("timestamp-ms"), JSON.stringify(hintIds));
}

async function phoneWidth() {
  await open();
  await page.setViewportSize({ width: 390, height: 844 });
  const c = vectors("signatures.json").cases.find((v) => v.name === "uppercase prefix");
  await fillBody(c);
  await page.getByLabel("Secret(s), one per line").first().fill(c.secrets[0].text);
  await page.getByLabel("Signature header value").fill(c.header);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  check("390 px viewport: no horizontal scrolling", width <= 390, `scrollWidth ${width}`);
  const narrow = await page.$$eval("input, textarea, select, button", (els) => els
    .filter((e) => e.offsetParent !== null)
    .filter((e) => e.getBoundingClientRect().right > 390 + 0.5)
    .map((e) => e.id || e.textContent));
  checkEq("390 px viewport: every visible control fits the width", narrow, []);
  await page.screenshot({ path: join(OUT, "phone-390.png"), fullPage: true });
  await page.evaluate(() => { document.activeElement.blur(); document.getElementById("foreman").scrollIntoView(); });
  await page.screenshot({ path: join(OUT, "phone-390-signature.png") });
  await page.setViewportSize({ width: 1200, height: 900 });
}

async function screenshots() {
  await open();
  await page.screenshot({ path: join(OUT, "desktop.png"), fullPage: true });
  await page.emulateMedia({ colorScheme: "dark" });
  await page.screenshot({ path: join(OUT, "desktop-dark.png") });
  await page.emulateMedia({ colorScheme: "light" });
  check("screenshots saved", true);
}

async function noRequestsElsewhere() {
  // The page's Content-Security-Policy stops a request to another origin before it is sent
  // (a loopback address on another origin, so nothing leaves the machine if it did not).
  const errorsBefore = consoleErrors.length;
  const blocked = await page.evaluate(async () => {
    const violations = [];
    document.addEventListener("securitypolicyviolation", (e) => violations.push(e.effectiveDirective));
    try {
      await fetch("http://127.0.0.2:9/leak", { method: "POST", body: "secret" });
      return "sent";
    } catch {
      await new Promise((r) => setTimeout(r, 100));
      return violations.join(",");
    }
  });
  checkEq("the CSP blocks a fetch to another origin", blocked, "connect-src");
  consoleErrors.splice(errorsBefore); // the violation report itself
  const foreign = requests.filter((u) => !u.startsWith(`${ORIGIN}/`));
  checkEq("no request leaves the page's origin (recorded every request)", foreign, []);
  check("the page's own files were requested (recording works)",
    requests.some((u) => u.endsWith("/pkg/index.mjs")) && requests.some((u) => u.endsWith("/app.mjs")),
    `${requests.length} requests`);
  checkEq("no console errors (CSP violations included)", consoleErrors, []);
  checkEq("nothing stored: no cookies, localStorage or sessionStorage",
    [(await context.cookies()).length, await page.evaluate(() => localStorage.length + sessionStorage.length)], [0, 0]);
}

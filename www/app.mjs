// The signature debugger page: loads the foreman-webhook package (the browser ESM entry,
// copied to ./pkg/ by scripts/build-www) and wires the panels. The page only converts
// input and explains answers; every verdict, signature and JSON text comes from the package.

import { decodeField, bytesToBase64, bytesToText, formatBytes, InputError } from "./bytes.mjs";
import { setupForeman } from "./foreman.mjs";
import { setupStandard, hasStandardApi } from "./standard.mjs";
import { setupArtifacts } from "./artifacts.mjs";

const $ = (id) => document.getElementById(id);

/** The request body as typed: `{ value, text, length }` or `{ error }`. */
function readBody() {
  try {
    return decodeField($("body").value, $("body-encoding").value);
  } catch (e) {
    if (e instanceof InputError) return { error: e.message };
    throw e;
  }
}

function showBodyInfo(body) {
  const info = $("body-info");
  info.classList.toggle("info-bad", Boolean(body.error));
  if (body.error) {
    info.textContent = `The body cannot be read: ${body.error}.`;
    return;
  }
  const parts = [formatBytes(body.length)];
  if (body.text === null) parts.push("binary (not UTF-8)");
  else if (body.length > 0) {
    try {
      JSON.parse(body.text);
      parts.push("valid JSON");
    } catch {
      parts.push("not JSON");
    }
  }
  if (body.text !== null && body.text.includes("\r\n")) parts.push("CRLF line endings");
  info.textContent = parts.join(" · ");
}

async function loadBodyFile(file) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const text = bytesToText(bytes);
  // Text without carriage returns survives a textarea unchanged; anything else goes in as
  // base64 so that the exact bytes are kept.
  if (text !== null && !text.includes("\r")) {
    $("body-encoding").value = "text";
    $("body").value = text;
  } else {
    $("body-encoding").value = "base64";
    $("body").value = bytesToBase64(bytes);
  }
}

async function main() {
  const status = $("load-status");
  let fw;
  try {
    fw = await import("./pkg/index.mjs");
  } catch (e) {
    status.classList.add("status-bad");
    status.textContent =
      location.protocol === "file:"
        ? "The WebAssembly package cannot load from file://. Serve this folder over HTTP, e.g. `python3 -m http.server`."
        : `The WebAssembly package failed to load: ${e.message}`;
    return;
  }

  const panels = [];
  const refresh = () => {
    const body = readBody();
    showBodyInfo(body);
    for (const panel of panels) panel.update(body);
  };

  panels.push(setupForeman(fw, refresh));
  if (hasStandardApi(fw)) {
    $("standard").hidden = false;
    $("artifacts-number").textContent = "4";
    panels.push(setupStandard(fw, refresh));
  }
  setupArtifacts(fw);

  $("body").addEventListener("input", refresh);
  $("body-encoding").addEventListener("change", refresh);
  $("body-file").addEventListener("change", async (event) => {
    const [file] = event.target.files;
    if (!file) return;
    document.body.dataset.pending = "body";
    try {
      await loadBodyFile(file);
    } finally {
      delete document.body.dataset.pending;
      refresh();
    }
  });

  refresh();
  const api = hasStandardApi(fw) ? "X-Foreman-Signature and Standard Webhooks" : "X-Foreman-Signature";
  status.textContent = `Ready: ${api}, running locally in WebAssembly.`;
  status.classList.add("status-ok");
  document.body.dataset.ready = "true";
}

main();

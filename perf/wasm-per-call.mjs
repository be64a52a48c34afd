// Per-call time of the npm package's verifySignature (the Rust core in WebAssembly) against
// node:crypto (createHmac + timingSafeEqual) in the same process, for 256 B and 64 KiB
// bodies; and the .wasm size. Not a test: numbers for BENCHMARKS.md ("WebAssembly package").
//
// Run: scripts/build-wasm && node perf/wasm-per-call.mjs
// Each round times every candidate on the same body in shuffled order; medians of ROUNDS
// of process CPU time per call.
import { createHmac, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { verifySignature, signPayload } from "../pkg/index.mjs";

const ROUNDS = 21;
const SECRET = "whsec-bench-secret";
const wasm = readFileSync(new URL("../pkg/foreman_webhook_bg.wasm", import.meta.url));

function nodeVerify(body, header, secret) {
  if (typeof header !== "string" || !header.startsWith("sha256=") || header.length !== 71) return false;
  const given = Buffer.from(header.slice(7), "hex");
  if (given.length !== 32) return false;
  const mac = createHmac("sha256", secret).update(body).digest();
  return timingSafeEqual(mac, given);
}

// Process CPU time (user + system), not wall time: on a shared, loaded machine wall time
// also counts the waits for a CPU. Batches double until one takes targetMs of CPU.
function timePerCall(fn, targetMs) {
  let n = 1;
  for (;;) {
    const t0 = process.cpuUsage();
    for (let i = 0; i < n; i++) if (!fn()) throw new Error("verification failed");
    const used = process.cpuUsage(t0);
    const ns = (used.user + used.system) * 1e3;
    if (ns > targetMs * 1e6) return ns / n;
    n *= 2;
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const fmt = (ns) => (ns >= 1e3 ? `${(ns / 1e3).toFixed(2)} µs` : `${ns.toFixed(0)} ns`);

console.log(`node ${process.version}, ${ROUNDS} rounds, medians of CPU time per call`);
console.log(`pkg/foreman_webhook_bg.wasm: ${wasm.length} B raw, ${gzipSync(wasm, { level: 9 }).length} B gzip -9`);
for (const size of [256, 64 * 1024]) {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = 32 + ((i * 7) % 95);
  const text = bytes.toString("latin1");
  const header = signPayload(bytes, SECRET);
  if (!nodeVerify(bytes, header, SECRET)) throw new Error("node:crypto disagrees");
  const candidates = {
    "foreman-webhook (Uint8Array body)": () => verifySignature(bytes, header, SECRET),
    "foreman-webhook (string body)": () => verifySignature(text, header, SECRET),
    "node:crypto createHmac + timingSafeEqual": () => nodeVerify(bytes, header, SECRET),
  };
  const times = Object.fromEntries(Object.keys(candidates).map((k) => [k, []]));
  for (let r = 0; r < ROUNDS; r++) {
    const order = Object.keys(candidates).sort(() => Math.random() - 0.5);
    for (const k of order) times[k].push(timePerCall(candidates[k], 40));
  }
  const base = median(times["node:crypto createHmac + timingSafeEqual"]);
  console.log(`\nbody ${size >= 1024 ? `${size / 1024} KiB` : `${size} B`}:`);
  for (const [k, xs] of Object.entries(times)) {
    const m = median(xs);
    console.log(`  ${k.padEnd(42)} ${fmt(m).padStart(10)}/call  (${(m / base).toFixed(2)}x node:crypto)`);
  }
}

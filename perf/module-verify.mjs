// The module's own cost: fw_verify of the verify-only module on a body already in wasm
// memory (no JavaScript glue), to split a call's time into hashing and glue per runtime
// (issue 14: the Bun gap). Best of 5 timed loops.
//   node perf/module-verify.mjs; tools/node_modules/.bin/bun perf/module-verify.mjs;
//   tools/node_modules/.bin/deno run -A perf/module-verify.mjs
import { readFileSync } from "node:fs";
import { createHmac } from "node:crypto";
const bytes = readFileSync(new URL("../pkg/foreman_webhook_verify.wasm", import.meta.url));
const w = new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports;
const SECRET = new TextEncoder().encode("It's a Secret to Everybody");
for (const size of [256, 65536]) {
  const body = new Uint8Array(size).fill(120);
  const header = new TextEncoder().encode("sha256=" + createHmac("sha256", SECRET).update(body).digest("hex"));
  const ptr = w.fw_scratch(1024 + size);
  new Uint8Array(w.memory.buffer, ptr, SECRET.length).set(SECRET);
  const slot = w.fw_slot_new();
  w.fw_slot_add(slot, SECRET.length);
  new Uint8Array(w.memory.buffer, ptr, header.length).set(header);
  new Uint8Array(w.memory.buffer, ptr + 1024, size).set(body);
  if (w.fw_verify(slot, header.length, size) !== 0) throw new Error("no match");
  const n = size === 256 ? 200000 : 3000;
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) w.fw_verify(slot, header.length, size);
    best = Math.min(best, (performance.now() - t0) * 1e6 / n);
  }
  console.log(`fw_verify ${size} B: ${best.toFixed(0)} ns (${(size / best * 1e3).toFixed(0)} MB/s)`);
}

// SHA-256 compression shapes in a WebAssembly engine (issue 14), CPU time per shape over
// 1,024 blocks (64 KiB), shuffled rounds, medians; every shape's state is first checked
// against sha2's, and the shipped digest against sha2's digest at several lengths.
//   cd perf/sha256-shapes
//   RUSTFLAGS="-C target-feature=+simd128" cargo build --release --target wasm32-unknown-unknown
//   node bench.mjs            (V8)       ../../tools/node_modules/.bin/bun bench.mjs   (JavaScriptCore)
// (CARGO_TARGET_DIR, if set, is where the .wasm is.)
import { readFileSync } from "node:fs";
const dir = process.env.CARGO_TARGET_DIR ?? new URL("target", import.meta.url).pathname;
const w = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(dir + "/wasm32-unknown-unknown/release/sha256_shapes.wasm")), {}).exports;
const mem = () => new Uint8Array(w.memory.buffer);
mem().set(Uint8Array.from({ length: 65536 }, (_, i) => (i * 131 + 7) & 255), w.buf());
const state = () => Array.from({ length: 8 }, (_, i) => w.st(i) >>> 0).join(",");
const digest = () => Array.from(mem().subarray(w.out(), w.out() + 32)).join(",");
w.sha2_compress(1024);
const want = state();
const shapes = ["memory_unrolled", "lanes_unrolled", "lanes_unrolled_maj_and", "memory_unrolled_nested_sigmas", "memory_loop16", "memory_unrolled_kmem", "memory_unrolled_saved_in_memory", "memory_unrolled_sigmas_factored", "memory_unrolled_s0_factored", "memory_unrolled_s1_factored", "memory_unrolled_maj_and"];
for (const s of shapes) {
  w[s](1024);
  if (state() !== want) throw new Error(`${s}: wrong state`);
}
for (const n of [0, 1, 55, 56, 63, 64, 65, 511, 512, 513, 4096, 65535, 65536]) {
  w.sha2_digest(n);
  const d = digest();
  for (const mode of [0, 1]) {
    w.shipped_digest(n, mode);
    if (digest() !== d) throw new Error(`shipped digest, ${n} B, sha2 mode ${mode}: wrong`);
  }
}
const runs = {
  "sha2 0.11.1 compress256": () => w.sha2_compress(1024),
  "shipped digest (64 KiB)": () => w.shipped_digest(65536, 0),
  "shipped digest, sha2 setting (JavaScriptCore)": () => w.shipped_digest(65536, 1),
  ...Object.fromEntries(shapes.map((s) => [s, () => w[s](1024)])),
};
const rates = Object.fromEntries(Object.keys(runs).map((k) => [k, []]));
const R = Number(process.env.ROUNDS ?? 15);
for (let r = 0; r < R; r++) {
  for (const k of Object.keys(runs).sort(() => Math.random() - 0.5)) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    let n = 0;
    while (performance.now() - t0 < 100) { runs[k](); n++; }
    const c = process.cpuUsage(c0);
    rates[k].push((n * 65536) / ((c.user + c.system) / 1e6) / 1e6);
  }
}
const engine = typeof Bun !== "undefined" ? `Bun ${Bun.version}` : `Node ${process.version}`;
console.log(`${engine}: MB/s of CPU time, median (max) of ${R} shuffled rounds; load ${(await import("node:os")).loadavg()[0].toFixed(2)}`);
for (const k in rates) {
  const v = rates[k].sort((a, b) => a - b);
  console.log(`| ${k} | ${v[R >> 1].toFixed(0)} (${v[R - 1].toFixed(0)}) |`);
}

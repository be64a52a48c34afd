// Bun (or any runtime): verifySignature of one or more builds of the package against
// node:crypto (createHmac + timingSafeEqual), CPU time per call (process.cpuUsage, all
// threads), shuffled rounds, medians. Complements perf/runtime-verify.mjs (wall time),
// whose numbers move with the machine's load.
//   tools/node_modules/.bin/bun perf/bun-cpu.mjs [pkg dir ...]     (default pkg/)
import { createHmac, timingSafeEqual } from "node:crypto";
import { loadavg } from "node:os";
import { pathToFileURL } from "node:url";

const dirs = process.argv.slice(2);
if (dirs.length === 0) dirs.push(new URL("../pkg", import.meta.url).pathname);
const mods = await Promise.all(dirs.map((d) => import(pathToFileURL(d + "/index.mjs").href)));
const SECRET = "It's a Secret to Everybody";
const runtime = typeof Bun !== "undefined" ? `Bun ${Bun.version}` : typeof Deno !== "undefined" ? `Deno ${Deno.version.deno}` : `Node ${process.version}`;
console.log(`${runtime}; load average ${loadavg()[0].toFixed(2)}; ns of CPU time per call, median of 11 shuffled rounds; ratio: node:crypto's time / ours`);
for (const size of [256, 64 * 1024]) {
  const body = new TextEncoder().encode('{"log":"' + "x".repeat(size - 10) + '"}');
  const header = "sha256=" + createHmac("sha256", SECRET).update(body).digest("hex");
  const cands = Object.fromEntries(dirs.map((d, i) => [d, () => mods[i].verifySignature(body, header, SECRET)]));
  cands["node:crypto"] = () => {
    const expected = Buffer.from(header.slice(7), "hex");
    const mac = createHmac("sha256", SECRET).update(body).digest();
    return expected.length === mac.length && timingSafeEqual(mac, expected);
  };
  for (const [k, f] of Object.entries(cands)) if (f() !== true) throw new Error(`${k} refused a valid signature`);
  const ns = Object.fromEntries(Object.keys(cands).map((k) => [k, []]));
  for (let r = 0; r < 11; r++) {
    for (const k of Object.keys(cands).sort(() => Math.random() - 0.5)) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      let n = 0;
      while (performance.now() - t0 < 80) {
        cands[k]();
        n++;
      }
      const c = process.cpuUsage(c0);
      ns[k].push(((c.user + c.system) * 1e3) / n);
    }
  }
  const med = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
  const base = med(ns["node:crypto"]);
  for (const k of Object.keys(cands)) console.log(`| ${size} B | ${k} | ${med(ns[k]).toFixed(0)} ns | ${(base / med(ns[k])).toFixed(2)}× |`);
}

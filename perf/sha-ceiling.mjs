// Issue 14's ≥ 64 KiB row, paired: our verifySignature against `openssl speed -evp sha256`
// with SHA-NI masked (OPENSSL_ia32cap=":~0x20000000", as perf/node-verify.mjs), run one
// after the other PAIRS times per size (about 1 s each, CPU time: ours process.cpuUsage,
// OpenSSL its user time), and the median of the per-pair ratios. On a shared machine the
// load changes within a node-verify run; a ratio of two measurements taken back to back
// moves less than a ratio of medians taken minutes apart.
//   node perf/sha-ceiling.mjs [pkg dir ...]     (default pkg/; PAIRS=7)
import { createHmac } from "node:crypto";
import { execFileSync } from "node:child_process";
import { loadavg } from "node:os";
import { pathToFileURL } from "node:url";

const dirs = process.argv.slice(2);
if (dirs.length === 0) dirs.push(new URL("../pkg", import.meta.url).pathname);
const mods = await Promise.all(dirs.map((d) => import(pathToFileURL(d + "/index.mjs").href)));
const SECRET = "It's a Secret to Everybody";
const PAIRS = Number(process.env.PAIRS ?? 7);
const load = () => loadavg().map((x) => x.toFixed(2)).join(" ");
const openssl = (size) =>
  Number(
    execFileSync("openssl", ["speed", "-evp", "sha256", "-seconds", "1", "-mr", "-bytes", String(size)], {
      env: { ...process.env, OPENSSL_ia32cap: ":~0x20000000" },
      stdio: ["ignore", "pipe", "ignore"],
    })
      .toString()
      .split("\n")
      .find((l) => l.startsWith("+F:"))
      .split(":")
      .at(-1),
  );
const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
console.log(`load average ${load()}; ${process.version}; pairs ${PAIRS}`);
for (const size of [64 * 1024, 1024 * 1024]) {
  const body = Buffer.alloc(size, "x");
  const header = "sha256=" + createHmac("sha256", SECRET).update(body).digest("hex");
  for (const m of mods) if (m.verifySignature(body, header, SECRET) !== true) throw new Error("no match");
  const ours = mods.map(() => []);
  const ssl = [];
  const ratios = mods.map(() => []);
  for (let p = 0; p < PAIRS; p++) {
    const o = openssl(size) / 1e6;
    ssl.push(o);
    mods.forEach((m, i) => {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      let n = 0;
      while (performance.now() - t0 < 1000) {
        m.verifySignature(body, header, SECRET);
        n++;
      }
      const c = process.cpuUsage(c0);
      const r = (n * size) / ((c.user + c.system) / 1e6) / 1e6;
      ours[i].push(r);
      ratios[i].push(r / o);
    });
  }
  console.log(`${size >> 10} KiB: openssl masked median ${median(ssl).toFixed(0)} MB/s (${ssl.map((x) => x.toFixed(0)).join(", ")})`);
  dirs.forEach((d, i) =>
    console.log(`  ${d}: ${median(ours[i]).toFixed(0)} MB/s; per-pair ratios ${ratios[i].map((x) => x.toFixed(2)).join(", ")}; median ratio ${median(ratios[i]).toFixed(2)}×`),
  );
}
console.log(`load average after: ${load()}`);

// A profiling target: our package's verifySignature in a loop for SECS seconds on a SIZE-byte
// body; prints CPU time per call. Profile with
//   node --cpu-prof --cpu-prof-dir=/tmp/prof bench/wasm-verify-loop.mjs
//   python3 bench/cpuprofile-summary.py /tmp/prof/*.cpuprofile
import { createHmac } from "node:crypto";
import { verifySignature } from "../pkg/node.mjs";

const SECRET = "It's a Secret to Everybody";
const size = Number(process.env.SIZE ?? 256);
const secs = Number(process.env.SECS ?? 3);
const body = Buffer.from("x".repeat(size));
const header = "sha256=" + createHmac("sha256", SECRET).update(body).digest("hex");
const t0 = process.hrtime.bigint();
const cpu0 = process.cpuUsage();
let n = 0;
while (process.hrtime.bigint() - t0 < BigInt(secs * 1e9)) {
  for (let i = 0; i < 100; i++) if (!verifySignature(body, header, SECRET)) throw new Error("rejected");
  n += 100;
}
const cpu = process.cpuUsage(cpu0);
console.log(`${size} B: ${(((cpu.user + cpu.system) * 1000) / n).toFixed(0)} ns of CPU per verifySignature`);

// A profiling target: our package's verifier in a loop for SECS seconds on a SIZE-byte body
// (FN=foreman: verifySignature, the default; FN=standard: verifyStandardWebhook); prints
// the CPU time per call. Profile with
//   node --cpu-prof --cpu-prof-dir=/tmp/prof perf/wasm-verify-loop.mjs
//   python3 perf/cpuprofile-summary.py /tmp/prof/*.cpuprofile
import { createHmac } from "node:crypto";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const pkg = await import(
  pathToFileURL(join(process.env.PKG_DIR ?? new URL("../pkg", import.meta.url).pathname, "index.mjs")).href
);
const { signStandardWebhook, verifySignature, verifyStandardWebhook } = pkg;

const SECRET = "It's a Secret to Everybody";
const STD_SECRET = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const size = Number(process.env.SIZE ?? 256);
const secs = Number(process.env.SECS ?? 3);
const standard = process.env.FN === "standard";
const body = Buffer.from("x".repeat(size));
const header = "sha256=" + createHmac("sha256", SECRET).update(body).digest("hex");
const now = Math.floor(Date.now() / 1000);
const headers = {
  "webhook-id": "msg_2bX1benchmark",
  "webhook-timestamp": String(now),
  "webhook-signature": standard ? signStandardWebhook("msg_2bX1benchmark", now, body, STD_SECRET) : "",
};
const once = standard
  ? () => verifyStandardWebhook(headers, body, STD_SECRET, { now })
  : () => verifySignature(body, header, SECRET);
const t0 = process.hrtime.bigint();
const cpu0 = process.cpuUsage();
let n = 0;
while (process.hrtime.bigint() - t0 < BigInt(secs * 1e9)) {
  for (let i = 0; i < 100; i++) if (!once()) throw new Error("rejected");
  n += 100;
}
const cpu = process.cpuUsage(cpu0);
console.log(
  `${standard ? "verifyStandardWebhook" : "verifySignature"}, ${size} B: ` +
    `${(((cpu.user + cpu.system) * 1000) / n).toFixed(0)} ns of CPU per call`,
);

// Two builds of the npm package side by side in one process (e.g. main's pkg/ and a
// branch's): every export on webhook-sized inputs, the two packages interleaved in
// alternating rounds, CPU time per call (process.cpuUsage), medians. Ratios are B / A
// rates (> 1: B is faster).
//
// Run:   node perf/ab.mjs <pkg dir A> <pkg dir B>      (ROUNDS=n, BUDGET_MS=n)
import { createHmac } from "node:crypto";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [dirA, dirB] = process.argv.slice(2);
if (!dirB) {
  console.error("usage: node perf/ab.mjs <pkg dir A> <pkg dir B>");
  process.exit(2);
}
const A = await import(pathToFileURL(join(dirA, "index.mjs")).href);
const B = await import(pathToFileURL(join(dirB, "index.mjs")).href);
const ROUNDS = Number(process.env.ROUNDS ?? 9);
const BUDGET_MS = Number(process.env.BUDGET_MS ?? 60);

const KEY = "It's a Secret to Everybody";
const WH = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const body = (n) => Buffer.from("x".repeat(n));
const sig = (b) => "sha256=" + createHmac("sha256", KEY).update(b).digest("hex");
const b256 = body(256), b64k = body(65536);
const s256 = sig(b256), s64k = sig(b64k);
const now = 1614265330;
const stdHeaders = (fw, b) => ({ "webhook-id": "msg_1", "webhook-timestamp": String(now), "webhook-signature": fw.signStandardWebhook("msg_1", now, b, WH) });
const artifacts = [{ name: "out.txt", contentType: "text/plain", data: "hello ".repeat(40) }, { name: "model.bin", contentType: "application/octet-stream", size: 1e7 }];

const cases = (fw) => {
  const v = fw.createVerifier(KEY);
  const sv = fw.createStandardVerifier(WH);
  const h256 = stdHeaders(fw, b256), h64k = stdHeaders(fw, b64k);
  const str256 = b256.toString();
  return {
    "verifySignature 256 B (Buffer)": () => fw.verifySignature(b256, s256, KEY),
    "verifySignature 256 B (string body)": () => fw.verifySignature(str256, s256, KEY),
    "createVerifier().verify 256 B": () => v.verify(b256, s256),
    "verifySignature 64 KiB": () => fw.verifySignature(b64k, s64k, KEY),
    "verifyStandardWebhook 256 B": () => fw.verifyStandardWebhook(h256, b256, WH, { now }),
    "createStandardVerifier().verify 256 B": () => sv.verify(h256, b256, { now }),
    "verifyStandardWebhook 64 KiB": () => fw.verifyStandardWebhook(h64k, b64k, WH, { now }),
    "signPayload 256 B": () => fw.signPayload(b256, KEY),
    "signStandardWebhook 256 B": () => fw.signStandardWebhook("msg_1", now, b256, WH),
    "formatArtifacts (2 artifacts)": () => fw.formatArtifacts("job 7", artifacts),
    "verifySignature 256 B, array secret": () => fw.verifySignature(b256, s256, ["old", KEY]),
  };
};
const ca = cases(A), cb = cases(B);
for (const [name, f] of Object.entries(ca)) {
  const g = cb[name];
  if (JSON.stringify(f()) !== JSON.stringify(g())) throw new Error(`${name}: the packages answer differently`);
}
function rate(f) {
  for (let i = 0; i < 200; i++) f();
  let n = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  while (performance.now() - t0 < BUDGET_MS) {
    for (let i = 0; i < 50; i++) f();
    n += 50;
  }
  const c = process.cpuUsage(c0);
  return n / ((c.user + c.system) / 1e6);
}
const median = (xs) => xs.slice().sort((x, y) => x - y)[xs.length >> 1];
console.log(`A = ${dirA}\nB = ${dirB}\n${ROUNDS} rounds of ${BUDGET_MS} ms each, CPU time\n`);
console.log("| case | A µs/call | B µs/call | B/A speed |\n|---|---:|---:|---:|");
for (const name of Object.keys(ca)) {
  const ra = [], rb = [];
  for (let r = 0; r < ROUNDS; r++) {
    if (r % 2) { rb.push(rate(cb[name])); ra.push(rate(ca[name])); }
    else { ra.push(rate(ca[name])); rb.push(rate(cb[name])); }
  }
  const a = median(ra), b = median(rb);
  console.log(`| ${name} | ${(1e6 / a).toFixed(2)} | ${(1e6 / b).toFixed(2)} | ${(b / a).toFixed(2)}× |`);
}

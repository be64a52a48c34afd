// The per-call table of perf/node-verify.mjs for Node, Bun and Deno (issue 14): ours (main
// entry, keyed verifier, verify-only entry, Standard Webhooks) against node:crypto
// (createHmac + timingSafeEqual; Bun and Deno implement it natively) and standardwebhooks,
// same process, shuffled rounds, medians. Wall time (performance.now): Deno and Bun do not
// all report process CPU time the same way, so run it on a quiet machine or read the
// ratios, which compare candidates of the same run.
//
//   node perf/runtime-verify.mjs
//   tools/node_modules/.bin/bun perf/runtime-verify.mjs
//   tools/node_modules/.bin/deno run -A perf/runtime-verify.mjs
// Needs pkg/ (scripts/build-wasm) and `npm ci --prefix perf` (standardwebhooks).
import { createHmac, timingSafeEqual } from "node:crypto";

const root = new URL("../", import.meta.url);
const fw = await import(new URL("pkg/index.mjs", root).href);
const fv = await import(new URL("pkg/verify.mjs", root).href);
const { Webhook } = await import(new URL("perf/node_modules/standardwebhooks/dist/index.js", root).href);
const runtime = typeof Bun !== "undefined" ? `Bun ${Bun.version}` : typeof Deno !== "undefined" ? `Deno ${Deno.version.deno}` : `Node ${process.version}`;
const SECRET = "It's a Secret to Everybody";
const STD_SECRET = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const ROUNDS = 11;
const BUDGET_MS = 60;

const rows = [];
for (const size of [256, 64 * 1024]) {
  const text = '{"log":"' + "x".repeat(size - 10) + '"}';
  const body = new TextEncoder().encode(text);
  const header = "sha256=" + createHmac("sha256", SECRET).update(body).digest("hex");
  const std = new Webhook(STD_SECRET);
  const ts = Math.floor(Date.now() / 1000);
  const stdHeaders = { "webhook-id": "msg_1", "webhook-timestamp": String(ts), "webhook-signature": std.sign("msg_1", new Date(ts * 1000), text) };
  const keyed = fw.createVerifier(SECRET);
  const cands = [
    ["verifySignature", () => fw.verifySignature(body, header, SECRET)],
    ["createVerifier().verify", () => keyed.verify(body, header)],
    ["foreman-webhook/verify verifySignature", () => fv.verifySignature(body, header, SECRET)],
    ["node:crypto createHmac + timingSafeEqual", () => {
      const expected = Buffer.from(header.slice(7), "hex");
      const mac = createHmac("sha256", SECRET).update(body).digest();
      return expected.length === mac.length && timingSafeEqual(mac, expected);
    }],
    ["verifyStandardWebhook", () => fw.verifyStandardWebhook(stdHeaders, body, STD_SECRET)],
    ["standardwebhooks 1.1.1 verify", () => (std.verify(text, stdHeaders, { jsonParse: false }), true)],
  ];
  for (const [, f] of cands) if (f() !== true) throw new Error("a candidate does not verify");
  const rates = new Map(cands.map(([n]) => [n, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, f] of [...cands].sort(() => Math.random() - 0.5)) {
      let n = 0;
      const t0 = performance.now();
      let t;
      do {
        for (let i = 0; i < 64; i++) f();
        n += 64;
        t = performance.now();
      } while (t - t0 < BUDGET_MS);
      rates.get(name).push((n * 1000) / (t - t0));
    }
  }
  const med = (a) => a.sort((x, y) => x - y)[a.length >> 1];
  rows.push([size, new Map([...rates].map(([k, v]) => [k, med(v)]))]);
}
console.log(`${runtime}: verifications per second (wall time, median of ${ROUNDS} shuffled rounds); ratio to node:crypto, and for Standard Webhooks to standardwebhooks`);
console.log("| verifier | 256 B | 64 KiB |\n|---|---|---|");
for (const name of rows[0][1].keys()) {
  const base = name.includes("tandard") ? "standardwebhooks 1.1.1 verify" : "node:crypto createHmac + timingSafeEqual";
  console.log(`| ${name} | ${rows.map(([, m]) => `${Math.round(m.get(name)).toLocaleString("en")} ${(m.get(name) / m.get(base)).toFixed(2)}×`).join(" | ")} |`);
}

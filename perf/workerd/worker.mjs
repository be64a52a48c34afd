// The worker of perf/workerd-verify.mjs: GET /run?c=<candidate>&size=<bytes>&n=<count> runs
// `count` verifications of one valid signature and answers how many passed. workerd
// freezes its clocks during a request (Spectre mitigation), so the driver times requests
// from outside and subtracts the time of c=none (the same loop, no work).
import * as fw from "../../pkg/workerd.mjs";
import * as fv from "../../pkg/verify-workerd.mjs";
import { createHmac, timingSafeEqual } from "node:crypto";
import { Buffer } from "node:buffer";

const SECRET = "It's a Secret to Everybody";
const STD_SECRET = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const NOW = 1700000000;
const sets = new Map();
async function set(size) {
  if (sets.has(size)) return sets.get(size);
  const body = new TextEncoder().encode('{"log":"' + "x".repeat(size - 10) + '"}');
  const header = fw.signPayload(body, SECRET);
  const stdHeaders = { "webhook-id": "msg_1", "webhook-timestamp": String(NOW), "webhook-signature": fw.signStandardWebhook("msg_1", NOW, body, STD_SECRET) };
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(SECRET), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
  const mac = Uint8Array.from(header.slice(7).match(/../g), (h) => parseInt(h, 16));
  const keyed = fw.createVerifier(SECRET);
  const s = {
    none: () => true,
    verifySignature: () => fw.verifySignature(body, header, SECRET),
    "createVerifier().verify": () => keyed.verify(body, header),
    "foreman-webhook/verify verifySignature": () => fv.verifySignature(body, header, SECRET),
    "node:crypto createHmac + timingSafeEqual": () => {
      const expected = Buffer.from(header.slice(7), "hex");
      const m = createHmac("sha256", SECRET).update(body).digest();
      return expected.length === m.length && timingSafeEqual(m, expected);
    },
    "Web Crypto subtle.verify (awaited)": () => crypto.subtle.verify("HMAC", key, mac, body),
    verifyStandardWebhook: () => fw.verifyStandardWebhook(stdHeaders, body, STD_SECRET, { now: NOW }),
  };
  sets.set(size, s);
  return s;
}
export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname !== "/run") return new Response("ok");
    const s = await set(Number(url.searchParams.get("size")));
    const f = s[url.searchParams.get("c")];
    const n = Number(url.searchParams.get("n"));
    if (!f) return new Response("unknown candidate", { status: 404 });
    let ok = 0;
    for (let i = 0; i < n; i++) if (await f()) ok++;
    return new Response(String(ok));
  },
};

// Differential check of two builds of the npm package (issue 14: main's wasm-bindgen
// bindings against the raw exports + js/full.js): every export on the same inputs — normal
// values, every wrong type, hostile values (revoked proxies, throwing getters, detached
// buffers, lying proxies) — must give the same value or the same error (constructor +
// message). About 520,000 calls, a minute or two.
//
//   node perf/diff-packages.mjs <old pkg dir> <new pkg dir>
import { createHmac } from "node:crypto";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [oldDir, newDir] = process.argv.slice(2);
if (!newDir) {
  console.error("usage: node perf/diff-packages.mjs <old pkg dir> <new pkg dir>");
  process.exit(2);
}
const oldp = await import(pathToFileURL(join(oldDir, "index.mjs")).href);
const newp = await import(pathToFileURL(join(newDir, "index.mjs")).href);

const KEY = "It's a Secret to Everybody";
const BODY = "Hello, World!";
const GOOD = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
const WH = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const ID = "msg_p5jXN8AQM9LWM0D4loKWxJek", TS = "1614265330", SIG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
const SBODY = '{"test": 2432232314}';
const revoked = () => { const p = Proxy.revocable({}, {}); p.revoke(); return p.proxy; };
const revokedArr = () => { const p = Proxy.revocable([], {}); p.revoke(); return p.proxy; };
const throwing = (o = {}) => new Proxy(o, { get() { throw new Error("boom"); }, ownKeys() { throw new Error("keys"); } });
const getter = (k) => Object.defineProperty({}, k, { get() { throw new Error("g"); }, enumerable: true });
const detached = () => { const b = new ArrayBuffer(8); structuredClone(b, { transfer: [b] }); return b; };
const detachedView = () => { const b = new ArrayBuffer(8); const v = new Uint8Array(b); structuredClone(b, { transfer: [b] }); return v; };
const bodies = () => [BODY, "", "é€😀", "\ud800x", new TextEncoder().encode(BODY), Buffer.from(BODY), new TextEncoder().encode(BODY).buffer,
  new DataView(new TextEncoder().encode("xx" + BODY).buffer, 2), new Uint16Array([1, 2, 3]), new Uint8Array(new TextEncoder().encode("ab" + BODY).buffer, 2),
  undefined, null, 5, {}, [], [1], true, Symbol.iterator, () => 1, revoked(), throwing(), detached(), detachedView(), new Proxy(new Uint8Array(3), {}),
  "x".repeat(70000), new Uint8Array(300000).fill(7), JSON.parse(SBODY), SBODY];
const secrets = () => [KEY, "", "k", new TextEncoder().encode(KEY), new Uint8Array(0), [KEY], ["old", KEY], [], ["", KEY], [KEY, 5], [new Uint8Array(0)],
  Array(65).fill("k"), undefined, null, 7, {}, revoked(), revokedArr(), throwing([]), new Proxy([KEY], { get(t, k) { if (k === "length") throw 1; return t[k]; } }),
  new Proxy(["a"], { get(t, k) { if (k === "0") throw 1; return t[k]; } }), detached(), new TextEncoder().encode(KEY).buffer,
  WH, [WH], ["whsec_!!!", WH], "whsec_", "whsec_AAAA", "not base64 at all", [WH, WH], Array(65).fill(WH), [WH, null]];
const headersList = () => [GOOD, "", "sha256=", GOOD.toUpperCase(), " " + GOOD + "\t", [GOOD], [GOOD, GOOD], ["x", GOOD], [], [5, GOOD], undefined, null, 3, {}, revoked(), revokedArr(),
  new Proxy([GOOD], { get(t, k) { if (k === "0") throw 1; return t[k]; } }), "sha256=" + "a".repeat(400), " ".repeat(500) + GOOD, "sha256=" + "g".repeat(64), "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1"];
const stdHeaders = () => {
  const h = { "webhook-id": ID, "webhook-timestamp": TS, "webhook-signature": SIG };
  const H = new Headers(h);
  return [h, H, { "Webhook-Id": ID, "WEBHOOK-TIMESTAMP": TS, "webhook-signature": SIG }, { "webhook-id": ID, "webhook-timestamp": TS, "webhook-signature": [SIG, "v1,AAAA"] },
    { "webhook-id": [ID], "webhook-timestamp": [TS], "webhook-signature": ["v1,AAAA", SIG] }, { "webhook-id": [ID, ID], "webhook-timestamp": TS, "webhook-signature": SIG },
    { "webhook-id": ID, "webhook-timestamp": TS }, { "webhook-id": ID, "webhook-timestamp": "abc", "webhook-signature": SIG }, { "webhook-id": ID, "webhook-timestamp": TS, "webhook-signature": "junk" },
    { "webhook-id": 5, "webhook-timestamp": TS, "webhook-signature": SIG }, { "Webhook-Id": "other", "webhook-id": ID, "webhook-timestamp": TS, "webhook-signature": SIG },
    { "webhoo\u212A-id": ID, "webhook-timestamp": TS, "webhook-signature": SIG }, { get: () => null }, { get: 5, "webhook-id": ID, "webhook-timestamp": TS, "webhook-signature": SIG },
    { get(n) { return h[n]; } }, { get() { throw 1; } }, getter("get"), throwing(), revoked(), undefined, null, "x", () => 1, [], new Map(Object.entries(h)),
    { "webhook-id": ID, "webhook-timestamp": TS, "webhook-signature": SIG + " " + "v1," + "A".repeat(2000) }, { "webhook-id": "i".repeat(5000), "webhook-timestamp": TS, "webhook-signature": SIG }];
};
const optionsList = () => [undefined, null, { now: 1614265330 }, { now: 1614265330 + 301 }, { now: 1614265330 - 301 }, { now: 1614265330 + 301, toleranceSeconds: 400 }, { now: new Date(1614265330000) },
  { now: Object.create(Date.prototype) }, { now: new Proxy(new Date(), {}) }, { now: new Date(NaN) }, { now: 1614265330000 }, { now: NaN }, { now: Infinity }, { now: "1614265330" }, { now: null },
  { toleranceSeconds: -1, now: 1614265330 }, { toleranceSeconds: 1.5, now: 1614265330 }, { toleranceSeconds: "5", now: 1614265330 }, { toleranceSeconds: 1e12, now: 1614265330 },
  getter("now"), getter("toleranceSeconds"), revoked(), 5, "x", () => 1, { now: { getTime() { return 1614265330000; } } }, { now: { getTime() { return "x"; } } }, { now: -5 }, { now: 1614265330.7 }, { now: null, toleranceSeconds: null }, { now: 1614265330, toleranceSeconds: null }];
const artifactsList = () => [[], [{ name: "out.txt", contentType: "text/plain", data: "hello" }], [{ name: "m.bin", content_type: "application/octet-stream", size: 10485760 }],
  [{ name: "a", contentType: "t", data: new Uint8Array([0xff, 0, 1]) }], [{ name: "a", contentType: "t", data: new Uint8Array(300000) }],
  [{ name: "a", contentType: "t", data: "x".repeat(200000) }, { name: "b", contentType: "t", data: "y".repeat(200000) }], [{ name: "../x y", contentType: "t\"\n\u0001", size: 0 }],
  [{ contentType: "t", size: 1 }], [{ name: "a", size: 1 }], [{ name: "a", contentType: "t", size: -1 }], [{ name: "a", contentType: "t", size: 1.5 }], [{ name: "a", contentType: "t", data: 5 }],
  [{ name: "a", contentType: "t" }], [{ name: "a", contentType: "t", size: 2 ** 53 }], [{ name: "a", contentType: "t", size: 2 ** 53 - 1 }], [5], [null], [[]], [revoked()], [getter("name")],
  [{ name: "a", contentType: undefined, content_type: "x", size: 3 }], [{ name: "a", contentType: "t", data: detached() }], [{ name: "a", contentType: "t", data: null, size: 4 }],
  {}, undefined, null, "x", revokedArr(), throwing([]), new Proxy([{ name: "a", contentType: "t", size: 1 }], { get(t, k) { if (k === "0") throw 1; return t[k]; } }),
  [{ name: "é😀", contentType: "t", data: "\ud800" }], [{ name: "a", contentType: null, content_type: "x", size: null, data: "abc" }], [{ name: "a", contentType: "t", size: null }], [{ name: null, contentType: "t", size: 1 }]];
const limitsList = () => [undefined, null, {}, { perArtifact: 10 }, { budget: 0 }, { perArtifact: -1 }, { budget: 1.5 }, { perArtifact: "1" }, 5, "x", getter("perArtifact"), revoked(), () => 1, { perArtifact: 2 ** 53 }, { perArtifact: null, budget: null }];

function run(f) {
  try { const v = f(); return { v: JSON.stringify(v) }; } catch (e) { return { e: (e && e.constructor && e.constructor.name) + ": " + (e && e.message) }; }
}
let n = 0, bad = 0, nullmsg = 0; const seen = new Map();
function cmp(label, fo, fn) {
  n++;
  const a = run(fo), b = run(fn);
  if (b.e && a.e && b.e !== a.e && b.e.replace(/got null/g, "got undefined") === a.e) { nullmsg++; return; }
  if (JSON.stringify(a) !== JSON.stringify(b)) {
    bad++;
    { const key = JSON.stringify(a).slice(0, 200) + " || " + JSON.stringify(b).slice(0, 200); if (!seen.has(key)) { seen.set(key, label); } }
  }
}
const N = (xs) => xs.length;
for (let i = 0; i < N(bodies()); i++) for (let j = 0; j < N(headersList()); j++) for (let k = 0; k < N(secrets()); k++) {
  for (const f of ["verifySignature", "verifySignatureReason"]) cmp(`${f} b${i} h${j} s${k}`, () => oldp[f](bodies()[i], headersList()[j], secrets()[k]), () => newp[f](bodies()[i], headersList()[j], secrets()[k]));
}
for (let i = 0; i < N(bodies()); i++) for (let k = 0; k < N(secrets()); k++) {
  cmp(`signPayload b${i} s${k}`, () => oldp.signPayload(bodies()[i], secrets()[k]), () => newp.signPayload(bodies()[i], secrets()[k]));
  for (const id of [ID, 5, undefined, "", "i".repeat(3000)]) for (const ts of [1614265330, 0, -1, 1.5, "1", 1e11, NaN]) {
    cmp(`signStandardWebhook b${i} s${k} ${typeof id} ${ts}`, () => oldp.signStandardWebhook(id, ts, bodies()[i], secrets()[k]), () => newp.signStandardWebhook(id, ts, bodies()[i], secrets()[k]));
  }
  cmp(`createVerifier s${k}`, () => { const v = oldp.createVerifier(secrets()[k]); return [v.verifyReason(bodies()[i], GOOD), v.verify(bodies()[i], headersList()[i % 20])]; },
    () => { const v = newp.createVerifier(secrets()[k]); return [v.verifyReason(bodies()[i], GOOD), v.verify(bodies()[i], headersList()[i % 20])]; });
  cmp(`createStandardVerifier s${k} b${i}`, () => { const v = oldp.createStandardVerifier(secrets()[k]); return [v.verifyReason(stdHeaders()[0], bodies()[i], { now: 1614265330 }), v.verifyReason(stdHeaders()[i % 20], SBODY, { now: 1614265330 })]; },
    () => { const v = newp.createStandardVerifier(secrets()[k]); return [v.verifyReason(stdHeaders()[0], bodies()[i], { now: 1614265330 }), v.verifyReason(stdHeaders()[i % 20], SBODY, { now: 1614265330 })]; });
}
for (let h = 0; h < N(stdHeaders()); h++) for (let i = 0; i < N(bodies()); i++) for (let k = 0; k < N(secrets()); k += (i % 3 ? 5 : 1)) for (let o = 0; o < N(optionsList()); o += (k % 2 ? 7 : 1)) {
  for (const f of ["verifyStandardWebhook", "verifyStandardWebhookReason"]) cmp(`${f} h${h} b${i} s${k} o${o}`, () => oldp[f](stdHeaders()[h], bodies()[i], secrets()[k], optionsList()[o]), () => newp[f](stdHeaders()[h], bodies()[i], secrets()[k], optionsList()[o]));
}
for (let a = 0; a < N(artifactsList()); a++) for (let l = 0; l < N(limitsList()); l++) {
  for (const job of ["job 7", 5, "é/x?#", ""]) cmp(`formatArtifacts a${a} l${l} ${job}`, () => oldp.formatArtifacts(job, artifactsList()[a], limitsList()[l]), () => newp.formatArtifacts(job, artifactsList()[a], limitsList()[l]));
  cmp(`planArtifacts a${a} l${l}`, () => oldp.planArtifacts(artifactsList()[a], limitsList()[l]), () => newp.planArtifacts(artifactsList()[a], limitsList()[l]));
}
// Random bodies and keys vs node:crypto, both packages.
for (let i = 0; i < 300; i++) {
  const len = [0, 1, 55, 56, 63, 64, 65, 1000, 4096, 70000][i % 10] + (i % 7);
  const body = new Uint8Array(len).map((_, j) => (j * 31 + i) & 255);
  const key = "k" + i;
  const want = "sha256=" + createHmac("sha256", key).update(body).digest("hex");
  cmp(`sign len ${len}`, () => oldp.signPayload(body, key), () => newp.signPayload(body, key));
  if (newp.signPayload(body, key) !== want) { bad++; console.log("node:crypto mismatch", len); }
}
console.log(`${n} comparisons, ${bad} differences (+${nullmsg} where old said "got undefined" for null); memory old ${JSON.stringify(oldp.wasmMemory())} new ${JSON.stringify(newp.wasmMemory())}`);
for (const [k, l] of seen) console.log("DIFF", l, "\n   ", k);
if (bad) process.exitCode = 1;

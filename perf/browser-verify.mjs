// Headless Chromium (Debian's, via playwright-core from tools/): our synchronous verifiers
// against Web Crypto's HMAC (crypto.subtle.verify, async: each call awaited, key imported
// once), 256 B and 64 KiB, shuffled rounds, medians, wall time (performance.now in the page).
//
//   scripts/build-wasm && node perf/browser-verify.mjs
import { createRequire } from "node:module";
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
const toolRequire = createRequire(root + "tools/package.json");
const { chromium } = toolRequire("playwright-core");
const esbuild = toolRequire("esbuild");

const SECRET = "It's a Secret to Everybody";
const cases = [256, 64 * 1024].map((size) => {
  const body = "x".repeat(size);
  return { size, body, header: "sha256=" + createHmac("sha256", SECRET).update(body).digest("hex") };
});
const page = `
import * as fw from "${root}pkg/index.mjs";
import * as fv from "${root}pkg/verify.mjs";
window.__bench = async function (cases, secret) {
  const out = [];
  for (const c of cases) {
    const body = new TextEncoder().encode(c.body);
    const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
    const mac = new Uint8Array(c.header.slice(7).match(/../g).map((h) => parseInt(h, 16)));
    const keyed = fw.createVerifier(secret);
    const cands = [
      ["verifySignature", () => fw.verifySignature(body, c.header, secret), false],
      ["createVerifier().verify", () => keyed.verify(body, c.header), false],
      ["foreman-webhook/verify verifySignature", () => fv.verifySignature(body, c.header, secret), false],
      ["Web Crypto subtle.verify (key imported once; awaited)", () => crypto.subtle.verify("HMAC", key, mac, body), true],
    ];
    const rates = Object.fromEntries(cands.map(([n]) => [n, []]));
    for (let r = 0; r < 9; r++) {
      for (const [name, f, isAsync] of cands.sort(() => Math.random() - 0.5)) {
        let n = 0;
        const t0 = performance.now();
        let t;
        do {
          for (let i = 0; i < 16; i++) {
            const ok = isAsync ? await f() : f();
            if (ok !== true) throw new Error(name + " did not verify");
          }
          n += 16;
          t = performance.now();
        } while (t - t0 < 60);
        rates[name].push((n * 1000) / (t - t0));
      }
    }
    const med = (a) => a.sort((x, y) => x - y)[a.length >> 1];
    out.push({ size: c.size, rates: Object.fromEntries(Object.entries(rates).map(([k, v]) => [k, med(v)])) });
  }
  return out;
};
`;
const built = await esbuild.build({ stdin: { contents: page, resolveDir: root, loader: "js" }, bundle: true, format: "esm", write: false });
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
try {
  const p = await browser.newPage();
  // A 127.0.0.1 origin (a secure context, where crypto.subtle exists), served by the route
  // handler itself: nothing listens, nothing leaves the machine.
  await p.route("http://127.0.0.1:9/", (route) => route.fulfill({ contentType: "text/html", body: "<!doctype html><title>bench</title>" }));
  await p.goto("http://127.0.0.1:9/");
  await p.addScriptTag({ content: built.outputFiles[0].text, type: "module" });
  await p.waitForFunction(() => typeof window.__bench === "function");
  const res = await p.evaluate(([c, s]) => window.__bench(c, s), [cases, SECRET]);
  const version = browser.version();
  console.log(`Chromium ${version} (headless): verifications per second (wall time, median of 9 shuffled rounds); ratio to Web Crypto`);
  console.log("| verifier | 256 B | 64 KiB |\n|---|---|---|");
  const WC = "Web Crypto subtle.verify (key imported once; awaited)";
  for (const name of Object.keys(res[0].rates)) {
    console.log(`| ${name} | ${res.map((r) => `${Math.round(r.rates[name]).toLocaleString("en")} ${(r.rates[name] / r.rates[WC]).toFixed(2)}×`).join(" | ")} |`);
  }
} finally {
  await browser.close();
}

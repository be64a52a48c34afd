// Signature verification in Node: our npm package (pkg/, the Rust core in WebAssembly)
// against node:crypto and the peers' verifiers, interleaved in one process (issue 9, §2).
//
// Run:   npm ci --prefix perf && node perf/node-verify.mjs      (QUICK=1 for a smoke run)
// Needs: pkg/ built by scripts/build-wasm (or PKG_DIR=<a copy>); the peers from
// perf/package-lock.json.
//
// For each body size, every candidate verifies the same valid signature in rounds of
// about BUDGET ms; the order of the candidates is shuffled in every round. Rates are
// verifications per second of *process CPU time* (process.cpuUsage: user + system, all
// threads, so Web Crypto's worker thread counts too): on a shared, loaded machine wall
// time would count the waits for a CPU. Wall-time rates are printed too. Medians of the
// rounds; ratios are to node:crypto's rate.
//
// Each candidate gets the input its API documents: bytes (a Buffer) for ours and
// node:crypto, a string for @octokit/webhooks-methods (it refuses anything else),
// standardwebhooks and svix (`Webhook.verify(payload, headers)`; standardwebhooks is
// called with { jsonParse: false }, its fastest path, as svix itself does).
//
// The no-SHA-NI ceiling: WebAssembly has no SHA instructions, so for large bodies the
// limit is SHA-256 in plain code. `openssl speed -evp sha256` with SHA-NI masked by
// OPENSSL_ia32cap (":~0x20000000", CPUID.7:EBX bit 29) measures it on this CPU, three
// times per size during the rounds, in bytes per second of user CPU time.

import { createHmac, timingSafeEqual } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
// PKG_DIR: a copy of pkg/ (e.g. a snapshot taken while someone else rebuilds pkg/).
const pkgDir = process.env.PKG_DIR ?? join(root, "pkg");
const nm = join(here, "node_modules");
const QUICK = !!process.env.QUICK;
const SIZES = [256, 4096, 64 * 1024, 1024 * 1024];
const ROUNDS = QUICK ? 3 : 15;
const BUDGET_MS = QUICK ? 30 : 100;

if (!existsSync(join(pkgDir, "index.mjs"))) {
  console.error("pkg/ is not built: run scripts/build-wasm first");
  process.exit(2);
}
if (!existsSync(join(nm, "standardwebhooks"))) {
  console.error("the peers are not installed: run `npm ci --prefix perf` first");
  process.exit(2);
}

const ours = await import(pathToFileURL(join(pkgDir, "index.mjs")).href);
// The verify-only entry (its own small .wasm), when the build has it.
const oursVerify = existsSync(join(pkgDir, "verify.mjs")) ? await import(pathToFileURL(join(pkgDir, "verify.mjs")).href) : null;
const octokitNode = await import("@octokit/webhooks-methods");
let octokitWeb = null;
try {
  // Not exported for Node (the `node` condition wins): import the file itself.
  octokitWeb = await import(
    pathToFileURL(join(nm, "@octokit/webhooks-methods/dist-web/index.js")).href
  );
} catch (e) {
  console.error(`octokit web build not importable: ${e.message}`);
}
const { Webhook: StdWebhook } = (await import("standardwebhooks")).default ?? (await import("standardwebhooks"));
let SvixWebhook = null;
try {
  SvixWebhook = (await import("svix")).Webhook;
} catch (e) {
  console.error(`svix not importable on Node ${process.version}: ${e.message}`);
}

// ---------------------------------------------------------------- machine and sizes
const cpuModel = cpus()[0]?.model ?? "unknown CPU";
const flags = readFileSync("/proc/cpuinfo", "utf8").match(/^flags\s*:(.*)$/m)?.[1] ?? "";
const nproc = execFileSync("nproc").toString().trim();
const load = () => loadavg().map((x) => x.toFixed(2)).join(" ");
console.log(
  `machine: nproc ${nproc}; ${cpuModel}; sha_ni ${/\bsha_ni\b/.test(flags) ? "yes" : "no"}; ` +
    `load average ${load()}; Node ${process.version}`,
);

const du = (dirs) => {
  const out = execFileSync("du", ["-skc", ...dirs]).toString().trim().split("\n");
  return Number(out.at(-1).split(/\s+/)[0]);
};
const closure = (name, seen = new Set()) => {
  if (seen.has(name)) return seen;
  seen.add(name);
  const pj = JSON.parse(readFileSync(join(nm, name, "package.json"), "utf8"));
  for (const dep of Object.keys(pj.dependencies ?? {})) closure(dep, seen);
  return seen;
};
const version = (name) => JSON.parse(readFileSync(join(nm, name, "package.json"), "utf8")).version;

// Sizes first: pkg/ may be rebuilt by someone else while the rounds run.
const { createHash } = await import("node:crypto");
const sizeLines = ["", "| package | version | installed size (du -sk of its node_modules dir) | with its dependencies |", "|---|---|---|---|"];
for (const name of ["@octokit/webhooks-methods", "standardwebhooks", "svix"]) {
  const deps = [...closure(name)];
  sizeLines.push(
    `| ${name} | ${version(name)} | ${du([join(nm, name)])} KiB | ${du(deps.map((d) => join(nm, d)))} KiB (${deps.length} packages) |`,
  );
}
const wasmBytes = readFileSync(join(pkgDir, "foreman_webhook_bg.wasm"));
sizeLines.push(
  `| foreman-webhook (pkg/) | ${JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")).version} | ${du([pkgDir])} KiB | no dependencies; .wasm ${wasmBytes.length} B raw, ${gzipSync(wasmBytes, { level: 9 }).length} B gzip -9 |`,
);
let head = "unknown";
try {
  head = execFileSync("git", ["-C", root, "rev-parse", "--short", "HEAD"]).toString().trim();
} catch {}
console.log(
  `pkg/: .wasm sha256 ${createHash("sha256").update(wasmBytes).digest("hex").slice(0, 12)}, built ${readFileSync(join(pkgDir, "package.json")) && new Date(execFileSync("stat", ["-c", "%Y", join(pkgDir, "foreman_webhook_bg.wasm")]).toString() * 1000).toISOString()}; repository HEAD ${head}`,
);

// ---------------------------------------------------------------- inputs and candidates
const SECRET = "It's a Secret to Everybody";
const STD_SECRET = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const MSG_ID = "msg_2bX1benchmark";

function jsonBody(size) {
  const head = '{"job_id":"job-42","state":"succeeded","log":"';
  const tail = '"}';
  const s = head + "x".repeat(size - head.length - tail.length) + tail;
  if (s.length !== size) throw new Error("body size");
  return s;
}

function candidates(size) {
  const str = jsonBody(size);
  const buf = Buffer.from(str);
  const header = "sha256=" + createHmac("sha256", SECRET).update(buf).digest("hex");
  const std = new StdWebhook(STD_SECRET);
  const ts = new Date();
  const stdHeaders = {
    "webhook-id": MSG_ID,
    "webhook-timestamp": String(Math.floor(ts.getTime() / 1000)),
    "webhook-signature": std.sign(MSG_ID, ts, str),
  };
  const list = [
    {
      name: "foreman-webhook verifySignature (wasm)",
      key: "ours",
      run: () => ours.verifySignature(buf, header, SECRET),
    },
    ...(typeof ours.createVerifier === "function"
      ? [{
          name: "foreman-webhook createVerifier(secret).verify (wasm)",
          key: "ours-keyed",
          run: ((v) => () => v.verify(buf, header))(ours.createVerifier(SECRET)),
        }]
      : []),
    ...(oursVerify
      ? [{
          name: "foreman-webhook/verify verifySignature (small wasm)",
          key: "ours-verify",
          run: () => oursVerify.verifySignature(buf, header, SECRET),
        }]
      : []),
    {
      name: "node:crypto createHmac + timingSafeEqual",
      key: "node",
      run: () => {
        const expected = Buffer.from(header.slice(7), "hex");
        const mac = createHmac("sha256", SECRET).update(buf).digest();
        return expected.length === mac.length && timingSafeEqual(mac, expected);
      },
    },
    {
      name: `@octokit/webhooks-methods ${version("@octokit/webhooks-methods")} verify (Node build)`,
      key: "octokit",
      async: true,
      run: () => octokitNode.verify(SECRET, str, header),
    },
  ];
  if (octokitWeb) {
    list.push({
      name: "@octokit/webhooks-methods verify (Web Crypto build)",
      key: "octokit-web",
      async: true,
      run: () => octokitWeb.verify(SECRET, str, header),
    });
  }
  list.push({
    name: `standardwebhooks ${version("standardwebhooks")} Webhook.verify`,
    key: "std",
    run: () => (std.verify(str, stdHeaders, { jsonParse: false }), true),
  });
  if (SvixWebhook) {
    const svix = new SvixWebhook(STD_SECRET);
    list.push({
      name: `svix ${version("svix")} Webhook.verify`,
      key: "svix",
      run: () => (svix.verify(str, stdHeaders), true),
    });
  }
  if (typeof ours.verifyStandardWebhook === "function") {
    list.push({
      name: "foreman-webhook verifyStandardWebhook (wasm)",
      key: "ours-std",
      run: () => {
        const r = ours.verifyStandardWebhook(stdHeaders, buf, STD_SECRET, { now: Math.floor(Date.now() / 1000) });
        return r === undefined || r === true || r?.ok === true || r === "ok";
      },
    });
  }
  if (typeof ours.createStandardVerifier === "function") {
    const v = ours.createStandardVerifier(STD_SECRET);
    list.push({
      name: "foreman-webhook createStandardVerifier(secret).verify (wasm)",
      key: "ours-std-keyed",
      run: () => v.verify(stdHeaders, buf, { now: Math.floor(Date.now() / 1000) }),
    });
  }
  return list;
}

// ---------------------------------------------------------------- timing
const nowNs = () => process.hrtime.bigint();
const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

async function timeLoop(c, n) {
  const cpu0 = cpuUs();
  const t0 = nowNs();
  if (c.async) {
    for (let i = 0; i < n; i++) await c.run();
  } else {
    for (let i = 0; i < n; i++) c.run();
  }
  const wallNs = Number(nowNs() - t0);
  const cpuNs = (cpuUs() - cpu0) * 1000;
  return { wallNs, cpuNs };
}

async function calibrate(c) {
  let n = 1;
  for (;;) {
    const { wallNs } = await timeLoop(c, n);
    if (wallNs >= (BUDGET_MS * 1e6) / 8) return Math.max(1, Math.round((n * BUDGET_MS * 1e6) / wallNs));
    n *= 2;
  }
}

let seed = 0x9e3779b9;
const rand = () => {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 2 ** 32;
};
const shuffle = (a) => {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
};
const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

function opensslSha256(size, maskShaNi) {
  try {
    const env = { ...process.env };
    if (maskShaNi) env.OPENSSL_ia32cap = ":~0x20000000";
    else delete env.OPENSSL_ia32cap;
    const out = execFileSync(
      "openssl",
      ["speed", "-evp", "sha256", "-seconds", "1", "-mr", "-bytes", String(size)],
      { env, stdio: ["ignore", "pipe", "ignore"] },
    ).toString();
    const line = out.split("\n").find((l) => l.startsWith("+F:"));
    return line ? Number(line.split(":").at(-1)) : null;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------- run
const fmtRate = (r) => (r >= 100 ? Math.round(r).toLocaleString("en-US") : r.toFixed(1));
const sizeName = (s) => (s >= 1 << 20 ? `${s >> 20} MiB` : s >= 1024 ? `${s >> 10} KiB` : `${s} B`);
const results = {};
for (const size of SIZES) {
  const list = candidates(size);
  for (const c of list) {
    const ok = c.async ? await c.run() : c.run();
    if (ok !== true) throw new Error(`${c.name} did not accept a valid signature at ${size} B: ${ok}`);
    c.n = await calibrate(c);
    c.cpu = [];
    c.wall = [];
  }
  const ceil = { masked: [], native: [] };
  const opensslAt = new Set([0, Math.floor(ROUNDS / 2), ROUNDS - 1]);
  for (let r = 0; r < ROUNDS; r++) {
    if (size >= 64 * 1024 && opensslAt.has(r)) {
      const m = opensslSha256(size, true);
      const u = opensslSha256(size, false);
      if (m) ceil.masked.push(m);
      if (u) ceil.native.push(u);
    }
    for (const c of shuffle([...list])) {
      const { wallNs, cpuNs } = await timeLoop(c, c.n);
      c.cpu.push((c.n * 1e9) / Math.max(cpuNs, 1));
      c.wall.push((c.n * 1e9) / wallNs);
    }
  }
  results[size] = {
    list: list.map((c) => ({ key: c.key, name: c.name, cpu: median(c.cpu), wall: median(c.wall) })),
    masked: ceil.masked.length ? median(ceil.masked) : null,
    native: ceil.native.length ? median(ceil.native) : null,
  };
  console.error(`done ${sizeName(size)} (load ${load()})`);
}

// ---------------------------------------------------------------- report
console.log();
console.log(`Verifications per CPU-second (median of ${ROUNDS} shuffled rounds of ~${BUDGET_MS} ms; wall-time rate in brackets); ratio to node:crypto.`);
console.log();
const names = results[SIZES[0]].list.map((c) => c.name);
console.log(`| verifier | ${SIZES.map(sizeName).join(" | ")} |`);
console.log(`|---|${SIZES.map(() => "---|").join("")}`);
for (const name of names) {
  const cells = SIZES.map((s) => {
    const row = results[s].list.find((c) => c.name === name);
    const node = results[s].list.find((c) => c.key === "node");
    return `${fmtRate(row.cpu)} (${fmtRate(row.wall)}) ${(row.cpu / node.cpu).toFixed(2)}×`;
  });
  console.log(`| ${name} | ${cells.join(" | ")} |`);
}
const big = SIZES.filter((s) => s >= 64 * 1024);
console.log(
  `| SHA-256 ceiling without SHA-NI (openssl speed -evp sha256, masked): verifications/s | ${SIZES.map((s) =>
    results[s].masked ? `${fmtRate(results[s].masked / s)} (${(results[s].masked / 1e6).toFixed(0)} MB/s)` : "–",
  ).join(" | ")} |`,
);
console.log(
  `| same with SHA-NI (for reference) | ${SIZES.map((s) =>
    results[s].native ? `${fmtRate(results[s].native / s)} (${(results[s].native / 1e6).toFixed(0)} MB/s)` : "–",
  ).join(" | ")} |`,
);

for (const line of sizeLines) console.log(line);
console.log();
console.log("| target | measured | verdict |");
console.log("|---|---|---|");
const rate = (s, key) => results[s].list.find((c) => c.key === key)?.cpu;
const verdict = (ok) => (ok ? "met" : "NOT met");
const target = (label, ratio, need) =>
  console.log(`| ${label} | ${ratio == null ? "n/a" : ratio.toFixed(2) + "×"} | ${ratio == null ? "not measured" : verdict(ratio >= need)} |`);
target("256 B: ours ≥ 1.5× node:crypto", rate(256, "ours") / rate(256, "node"), 1.5);
target("256 B: ours ≥ 7× standardwebhooks", rate(256, "ours") / rate(256, "std"), 7);
if (rate(256, "ours-keyed")) target("256 B: createVerifier().verify ≥ 1.5× node:crypto", rate(256, "ours-keyed") / rate(256, "node"), 1.5);
if (rate(256, "ours-std")) target("256 B: our Standard Webhooks verify ≥ 4× standardwebhooks", rate(256, "ours-std") / rate(256, "std"), 4);
if (rate(256, "ours-std-keyed")) target("256 B: createStandardVerifier().verify ≥ 4× standardwebhooks", rate(256, "ours-std-keyed") / rate(256, "std"), 4);
for (const s of big) {
  target(`${sizeName(s)}: ours ≥ 3× standardwebhooks`, rate(s, "ours") / rate(s, "std"), 3);
  if (rate(s, "ours-std")) target(`${sizeName(s)}: our Standard Webhooks verify ≥ 3× standardwebhooks`, rate(s, "ours-std") / rate(s, "std"), 3);
  target(
    `${sizeName(s)}: ours ≥ 0.9× SHA-256 without SHA-NI (openssl, masked)`,
    results[s].masked ? rate(s, "ours") / (results[s].masked / s) : null,
    0.9,
  );
}
console.log();
console.log(`load average after the run: ${load()}`);

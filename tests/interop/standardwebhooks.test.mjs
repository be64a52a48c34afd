// Our dispatcher (through the CLI's `send`) delivering to a receiver built with the
// official `standardwebhooks` npm package: every request must pass `Webhook.verify`, a
// retry keeps its webhook-id and gets a fresh timestamp and signature, and a sender
// signing with two keys during a rotation is accepted by a receiver that knows only one.
// Run by scripts/test.d/70-interop with FOREMAN_WEBHOOK_BIN set to the built binary.
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { spawnSync } from "node:child_process";
import { Webhook } from "standardwebhooks";

const BIN = process.env.FOREMAN_WEBHOOK_BIN;
const NEW = "whsec_" + Buffer.from("interop-new-key-0123456789").toString("base64");
const OLD = "whsec_" + Buffer.from("interop-old-key-9876543210").toString("base64");

/** Starts an official-library receiver; the first request of each id gets `firstStatus`. */
function receiver(secret, firstStatus) {
  const wh = new Webhook(secret);
  const seen = new Map();
  const log = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const h = {
        "webhook-id": req.headers["webhook-id"],
        "webhook-timestamp": req.headers["webhook-timestamp"],
        "webhook-signature": req.headers["webhook-signature"],
      };
      let verified = false, error = null;
      try { wh.verify(body, h); verified = true; } catch (e) { error = String(e?.message); }
      const n = (seen.get(h["webhook-id"]) ?? 0) + 1;
      seen.set(h["webhook-id"], n);
      const status = !verified ? 401 : n === 1 ? firstStatus : 204;
      log.push({ ...h, verified, error, status, foreman: req.headers["x-foreman-signature"], body });
      res.writeHead(status).end();
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () =>
    resolve({ url: `http://127.0.0.1:${server.address().port}/hook`, log, close: () => server.close() })));
}

function cleanEnv() {
  const env = { ...process.env };
  delete env.FOREMAN_WEBHOOK_SECRET;
  delete env.FOREMAN_WEBHOOK_STANDARD_SECRET;
  return env;
}

function send(url, args, event) {
  // spawnSync would block the event loop that serves the receiver: run it async instead.
  return new Promise((resolve) => {
    import("node:child_process").then(({ spawn }) => {
      const p = spawn(BIN, ["send", "--url", url, "--allow-private", "--json", ...args], {
        stdio: ["pipe", "pipe", "pipe"],
        env: cleanEnv(),
      });
      let out = "", err = "";
      p.stdout.on("data", (d) => (out += d));
      p.stderr.on("data", (d) => (err += d));
      p.on("close", (code) => resolve({ code, out, err }));
      p.stdin.end(JSON.stringify(event));
    });
  });
}

const event = (job) => ({ job_id: job, state: "succeeded", previous_state: "running",
  timestamp: new Date().toISOString(), model: "m", attempt: 1, result: { ok: true },
  artifacts: null, error: null });

test("the binary is there", () => {
  assert.ok(BIN, "FOREMAN_WEBHOOK_BIN must point at the built foreman-webhook binary");
  assert.equal(spawnSync(BIN, ["--version"]).status, 0);
});

test("official verifier accepts every attempt; a retry keeps its id, refreshes timestamp and signature", async () => {
  const r = await receiver(NEW, 500);
  // 1.1 s base delay: the retry lands in a later second, so its timestamp must differ.
  const res = await send(r.url, ["--standard-secret", NEW, "--secret", "legacy-secret", "--base-delay-ms", "1100"], event("job-interop"));
  r.close();
  assert.equal(res.code, 0, res.err);
  assert.equal(JSON.parse(res.out).attempts, 2);
  assert.equal(r.log.length, 2);
  const [a, b] = r.log;
  assert.ok(a.verified && b.verified, `${a.error} / ${b.error}`);
  assert.deepEqual([a.status, b.status], [500, 204]);
  assert.equal(a["webhook-id"], b["webhook-id"], "webhook-id is stable across retries");
  assert.match(a["webhook-id"], /^msg_[0-9a-f]+$/);
  assert.ok(Number(b["webhook-timestamp"]) > Number(a["webhook-timestamp"]), "fresh timestamp per attempt");
  assert.notEqual(a["webhook-signature"], b["webhook-signature"], "fresh signature per attempt");
  assert.equal(a.body, b.body, "the same bytes on every attempt");
  assert.match(a.foreman, /^sha256=[0-9a-f]{64}$/, "X-Foreman-Signature still sent beside");
});

test("rotation: sender signs with old and new keys, receiver knows only the new one", async () => {
  const r = await receiver(NEW, 204);
  const res = await send(r.url, ["--standard-secret", OLD, "--standard-secret", NEW], event("job-rotate"));
  r.close();
  assert.equal(res.code, 0, res.err);
  assert.equal(r.log.length, 1);
  assert.ok(r.log[0].verified, r.log[0].error);
  assert.equal(r.log[0]["webhook-signature"].split(" ").length, 2);
});

test("a receiver with a different key refuses (the check can fail)", async () => {
  const r = await receiver(OLD, 204);
  const res = await send(r.url, ["--standard-secret", NEW, "--max-retries", "0"], event("job-wrong"));
  r.close();
  assert.equal(res.code, 1);
  assert.equal(r.log.length, 1);
  assert.equal(r.log[0].verified, false);
  assert.equal(r.log[0].status, 401);
});

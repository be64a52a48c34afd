// What every bundled build runs: the package through NAMED imports (the path a tree-shaking
// bundler prunes), checked against published vectors (the Standard Webhooks
// specification's example, GitHub's X-Hub-Signature-256 example), plus a burst of hostile
// calls. No Node-only API: the same file is bundled for Node and for browsers.
import {
  signPayload,
  signStandardWebhook,
  verifySignature,
  verifyStandardWebhook,
  verifyStandardWebhookReason,
  wasmMemory,
  createVerifier,
  createStandardVerifier,
} from "foreman-webhook";
// The verify-only entry, with its own small .wasm (inlined in verify.mjs / verify.cjs).
import { verifySignature as verifyOnly, createVerifier as keyedOnly, wasmMemory as verifyOnlyMemory } from "foreman-webhook/verify";

const STD_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const STD_HEADERS = {
  "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
  "webhook-timestamp": "1614265330",
  "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
};
const STD_BODY = '{"test": 2432232314}';
const NOW = { now: 1614265330 };
const BODY = "Hello, World!";
const KEY = "It's a Secret to Everybody";
const GOOD = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

export function probe() {
  const checks = {};
  const check = (name, fn, want) => {
    try {
      checks[name] = fn() === want;
    } catch (e) {
      checks[name] = `threw ${e && e.name}: ${e && e.message}`;
    }
  };
  check("standard", () => verifyStandardWebhook(STD_HEADERS, STD_BODY, STD_SECRET, NOW), true);
  check("standard tampered", () => verifyStandardWebhookReason(STD_HEADERS, STD_BODY + " ", STD_SECRET, NOW), "no_matching_signature");
  check("signStandardWebhook", () => signStandardWebhook(STD_HEADERS["webhook-id"], 1614265330, STD_BODY, STD_SECRET), STD_HEADERS["webhook-signature"]);
  check("verifySignature", () => verifySignature(BODY, GOOD, KEY), true);
  check("signPayload", () => signPayload(BODY, KEY), GOOD);
  check("createVerifier", () => createVerifier(["old", KEY]).verify(BODY, GOOD), true);
  check("createStandardVerifier", () => createStandardVerifier(STD_SECRET).verifyReason(STD_HEADERS, STD_BODY, NOW), "ok");
  check("foreman-webhook/verify verifySignature", () => verifyOnly(BODY, GOOD, KEY), true);
  check("foreman-webhook/verify createVerifier", () => keyedOnly(["old", KEY]).verifyReason(BODY, GOOD.slice(0, -1) + "0"), "mismatch");
  check("foreman-webhook/verify memory", () => verifyOnlyMemory().resets, 0);
  const before = wasmMemory().bytes;
  let typeErrors = 0;
  for (let i = 0; i < 300; i++) {
    const { proxy, revoke } = Proxy.revocable([], {});
    revoke();
    try {
      verifyStandardWebhook(STD_HEADERS, STD_BODY, proxy, NOW);
    } catch (e) {
      if (e instanceof TypeError) typeErrors++;
    }
  }
  checks["300 hostile calls: TypeError each"] = typeErrors === 300;
  check("standard after them", () => verifyStandardWebhook(STD_HEADERS, STD_BODY, STD_SECRET, NOW), true);
  checks["wasm memory unchanged"] = wasmMemory().bytes === before;
  const ok = Object.values(checks).every((v) => v === true);
  return { ok, checks };
}

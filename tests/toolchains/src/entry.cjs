// A CommonJS user: `require("foreman-webhook")` (the `require` condition, index.cjs).
const { verifySignature, verifyStandardWebhook } = require("foreman-webhook");

const GOOD = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
const headers = {
  "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
  "webhook-timestamp": "1614265330",
  "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
};
const checks = {
  verifySignature: verifySignature("Hello, World!", GOOD, "It's a Secret to Everybody") === true,
  standard: verifyStandardWebhook(headers, '{"test": 2432232314}', "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", { now: 1614265330 }) === true,
};
console.log(JSON.stringify({ ok: Object.values(checks).every(Boolean), checks }));

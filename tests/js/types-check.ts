// Compiled with tsc --noEmit (strict, module nodenext) against the installed package by
// scripts/test.d/30-npm-package: the declared union types accept what the docs say and
// reject the usual mistakes.
import {
  formatArtifacts,
  signPayload,
  verifySignature,
  verifySignatureReason,
  type ArtifactInput,
  type VerifyReason,
} from "foreman-webhook";

declare const headers: Record<string, string | string[] | undefined>;
const body = new TextEncoder().encode("{}");

const ok: boolean = verifySignature(body, headers["x-foreman-signature"], "secret");
const rotated: boolean = verifySignature("{}", "sha256=00", ["old", "new"]);
const fromBuffer: boolean = verifySignature(body.buffer, null, new Uint8Array([1]));
const reason: VerifyReason = verifySignatureReason(body, undefined, "s");
if (reason === "mismatch" || reason === "empty_secret") console.log(reason);
const header: string = signPayload(body, "secret");
const artifacts: ArtifactInput[] = [
  { name: "a.txt", contentType: "text/plain", data: "hi" },
  { name: "b.bin", content_type: "application/octet-stream", size: 10 },
];
const json: string = formatArtifacts("job-1", artifacts, { perArtifact: 1024 });

// @ts-expect-error a parsed JSON object is not a body
verifySignature({ job_id: "j" }, header, "s");
// @ts-expect-error a number is not a secret
verifySignature(body, header, 42);
// @ts-expect-error reasons are a closed set
const wrong: VerifyReason = "bad_signature";
// @ts-expect-error an artifact needs a content type
formatArtifacts("job", [{ name: "a", size: 1 }]);
// @ts-expect-error sizes are numbers
formatArtifacts("job", [{ name: "a", contentType: "t", size: "1" }]);

console.log(ok, rotated, fromBuffer, json, wrong);

// Standard Webhooks: Node's IncomingHttpHeaders, a fetch Headers, options.
import {
  signStandardWebhook,
  verifyStandardWebhook,
  verifyStandardWebhookReason,
  type StandardVerifyReason,
} from "foreman-webhook";
const whsec = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const stdOk: boolean = verifyStandardWebhook(headers, body, whsec);
const stdFetch: boolean = verifyStandardWebhook(new Headers(), "{}", [whsec, whsec], { now: new Date() });
const stdWhy: StandardVerifyReason = verifyStandardWebhookReason(headers, body, whsec, { toleranceSeconds: 60, now: 1_700_000_000 });
if (stdWhy === "too_old" || stdWhy === "no_matching_signature") console.log(stdWhy);
const stdSig: string = signStandardWebhook("msg_1", 1_700_000_000, body, whsec);
// @ts-expect-error headers are not a string
verifyStandardWebhook("webhook-id: x", body, whsec);
// @ts-expect-error options.now is a number or a Date, not a string
verifyStandardWebhook(headers, body, whsec, { now: "now" });
console.log(stdOk, stdFetch, stdSig);
import { planArtifacts, type Placement } from "foreman-webhook";
const places: Placement[] = planArtifacts(artifacts, { budget: 10 });
if (places[0] === "url_over_budget") console.log(places);
import { createVerifier, createStandardVerifier, type Verifier, type StandardVerifier } from "foreman-webhook";
const keyed: Verifier = createVerifier(["old", new Uint8Array([1])]);
const keyedOk: boolean = keyed.verify(body, "sha256=00");
const keyedWhy: VerifyReason = keyed.verifyReason(body, undefined);
const stdKeyed: StandardVerifier = createStandardVerifier(whsec);
const stdKeyedWhy: StandardVerifyReason = stdKeyed.verifyReason(headers, body, { now: 1_700_000_000 });
// @ts-expect-error a verifier verifies a body and a header, not a secret
keyed.verify(body, "sha256=00", "secret");
console.log(keyedOk, keyedWhy, stdKeyed.verify(new Headers(), body), stdKeyedWhy);
import { verifySignature as verifyOnly, createVerifier as keyedOnly } from "foreman-webhook/verify";
const verifyOnlyOk: boolean = verifyOnly(body, "sha256=00", ["k", new Uint8Array([1])]);
console.log(verifyOnlyOk, keyedOnly("k").verifyReason(body, null));

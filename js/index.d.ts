// Types of the npm package `foreman-webhook` (one declaration file for every entry).
// Hand-written: keep in step with src/wasm.rs (tests/js checks the exported names match).

/**
 * Bytes as JavaScript holds them. A string is used as its UTF-8 encoding; an
 * `ArrayBufferView` (`Uint8Array`, Node's `Buffer`, `DataView`, ...) as the bytes it views.
 */
export type BytesInput = string | Uint8Array | ArrayBuffer | ArrayBufferView;

/**
 * An HMAC key: a string (its UTF-8 bytes, never trimmed) or raw key bytes. Empty keys are
 * refused: they would let anyone forge signatures.
 */
export type SecretInput = string | Uint8Array | ArrayBuffer | ArrayBufferView;

/** Why a signature did or did not verify (stable codes, safe to log). */
export type VerifyReason =
  | "ok"
  | "missing_prefix"
  | "wrong_length"
  | "malformed_hex"
  | "mismatch"
  | "empty_secret";

interface ArtifactFields {
  /** File name, e.g. `"report.json"` (percent-encoded in URLs). */
  name: string;
  /** Declared size in bytes, written as is; defaults to the byte length of `data`. */
  size?: number;
  /** The content, if in memory: a string (UTF-8) or bytes. Absent: a URL reference. */
  data?: BytesInput | null;
}

/** One artifact: `{ name, contentType, size?, data? }`; `content_type` is accepted too. */
export type ArtifactInput =
  | (ArtifactFields & { contentType: string; content_type?: string })
  | (ArtifactFields & { content_type: string; contentType?: undefined });

/** Inline limits in bytes; both default to 256 KiB (Go's threshold). */
export interface InlineLimits {
  /** Largest artifact inlined (declared size and data length). */
  perArtifact?: number;
  /** Total data bytes inlined in one payload (first fit, in order). */
  budget?: number;
}

/**
 * `true` iff `signature` (the `X-Foreman-Signature` header value, `sha256=<64 hex>`) is the
 * HMAC-SHA256 of `body` under `secret`, or under any secret of an array (key rotation;
 * every secret is tried). Synchronous in every runtime.
 *
 * `body` must be the raw request body exactly as received, not re-serialized JSON.
 * `signature` may be an array of the header's lines (Node's `req.headersDistinct`): they
 * are joined as HTTP joins repeated lines, so one line verifies and two lines (the header
 * holds one value) do not. A missing or malformed `signature` gives `false`; it never
 * throws for it.
 *
 * @throws TypeError when `body` is not a string / bytes (e.g. a parsed JSON object) or
 *   `secret` has the wrong type.
 * @throws RangeError when an input is larger than 64 MiB (UTF-8 bytes for a string).
 */
export declare function verifySignature(
  body: BytesInput,
  signature: string | readonly string[] | null | undefined,
  secret: SecretInput | readonly SecretInput[],
): boolean;

/**
 * Like {@link verifySignature}, but returns why: `"ok"` or the reason for refusing. The
 * code never contains the secret, the body or the signature.
 *
 * @throws TypeError / RangeError as {@link verifySignature}.
 */
export declare function verifySignatureReason(
  body: BytesInput,
  signature: string | readonly string[] | null | undefined,
  secret: SecretInput | readonly SecretInput[],
): VerifyReason;

/**
 * The `X-Foreman-Signature` header value for `body`: `"sha256=" + 64 lowercase hex`.
 *
 * @throws TypeError when an argument has the wrong type or `secret` is empty.
 * @throws RangeError when an input is larger than 64 MiB (UTF-8 bytes for a string).
 */
export declare function signPayload(body: BytesInput, secret: SecretInput): string;

/**
 * The `artifacts` JSON text of a webhook payload, byte-identical to the Rust core:
 * small artifacts inline (binary data as base64 with `"encoding":"base64"`), others as
 * `/jobs/{jobId}/artifacts/{name}` URLs. `"null"` for an empty array, as Go writes it.
 *
 * @throws TypeError naming the artifact and field for a wrong type, a missing name or
 *   content type, or a size that is not a non-negative integer.
 * @throws RangeError when some `data` is larger than 64 MiB.
 */
export declare function formatArtifacts(
  jobId: string,
  artifacts: readonly ArtifactInput[],
  limits?: InlineLimits,
): string;

/** Where `formatArtifacts` puts an artifact, and why. */
export type Placement =
  | "inline_text"
  | "inline_base64"
  | "url_no_data"
  | "url_too_large"
  | "url_over_budget";

/**
 * Where {@link formatArtifacts} puts each artifact (same inputs): inlined as text or
 * base64, or a URL because there is no data, it is over the per-artifact limit, or it
 * would overrun the payload's inline budget (first fit, in order).
 *
 * @throws TypeError / RangeError as {@link formatArtifacts}.
 */
export declare function planArtifacts(
  artifacts: readonly ArtifactInput[],
  limits?: InlineLimits,
): Placement[];

/** Why a Standard Webhooks request did or did not verify (stable codes, safe to log). */
export type StandardVerifyReason =
  | "ok"
  | "missing_header"
  | "malformed_timestamp"
  | "too_old"
  | "too_new"
  | "malformed_signature"
  | "no_matching_signature"
  | "empty_secret"
  | "malformed_secret";

/** A header value as Node's `IncomingHttpHeaders` holds it. */
export type HeaderValue = string | readonly string[] | undefined;

/**
 * Request headers: a `Headers` instance (fetch, Workers, Deno, Bun, edge), anything with a
 * `get(name)` method, or a plain object such as Node's `req.headers` (names matched
 * case-insensitively; an array value is joined with spaces). Repeated `webhook-signature`
 * lines joined with `", "` (as Node and `Headers.get` join them) are split again; one
 * valid entry is enough.
 */
export type HeadersInput =
  | { get(name: string): string | null | undefined }
  | { readonly [name: string]: HeaderValue };

/** Standard Webhooks secret: `whsec_` + base64 of the key (the prefix is optional). */
export type StandardSecret = string;

/** Options of the Standard Webhooks verifiers. */
export interface StandardVerifyOptions {
  /** Allowed distance between `webhook-timestamp` and `now`, both directions; default 300. */
  toleranceSeconds?: number;
  /**
   * The receiver's clock: Unix **seconds** (`Date.now() / 1000`) or a `Date`; default the
   * current time. A number that looks like milliseconds is refused with a TypeError.
   */
  now?: number | Date;
}

/**
 * `true` iff the request's Standard Webhooks headers (`webhook-id`, `webhook-timestamp`,
 * `webhook-signature`) carry a `v1` signature of `body` under any of `secret`, with a
 * timestamp within the tolerance of `now`. Synchronous in every runtime. Missing or
 * malformed headers give `false`; it never throws for them.
 *
 * @throws TypeError for a caller's mistake: `headers` not an object, a parsed-JSON `body`,
 *   a non-string secret, bad `options` (e.g. `now` in milliseconds).
 * @throws RangeError when the body is larger than 64 MiB.
 */
export declare function verifyStandardWebhook(
  headers: HeadersInput,
  body: BytesInput,
  secret: StandardSecret | readonly StandardSecret[],
  options?: StandardVerifyOptions,
): boolean;

/**
 * Like {@link verifyStandardWebhook}, but says why. Never contains a secret or signature.
 *
 * @throws TypeError / RangeError as {@link verifyStandardWebhook}.
 */
export declare function verifyStandardWebhookReason(
  headers: HeadersInput,
  body: BytesInput,
  secret: StandardSecret | readonly StandardSecret[],
  options?: StandardVerifyOptions,
): StandardVerifyReason;

/**
 * The `webhook-signature` value for `body` sent as message `id` at `timestamp` (integer
 * Unix seconds): one `v1,<base64>` entry per secret, space-separated.
 *
 * @throws TypeError when an argument has the wrong type, a secret is malformed or empty,
 *   or `timestamp` is not integer seconds.
 */
export declare function signStandardWebhook(
  id: string,
  timestamp: number,
  body: BytesInput,
  secret: StandardSecret | readonly StandardSecret[],
): string;

/** The module's WebAssembly memory, for monitoring. */
export interface WasmMemory {
  /** Current size of the instance's linear memory in bytes. */
  bytes: number;
  /**
   * How many times the instance was replaced by a fresh one: after a call that left its
   * memory above 8 MiB (WebAssembly memory never shrinks, so one huge input would
   * otherwise stay allocated) or after a WebAssembly trap.
   */
  resets: number;
}

/** The size of the module's WebAssembly memory and how often the instance was replaced. */
export declare function wasmMemory(): WasmMemory;

/**
 * A verifier keyed once for `secret` (one key, or several for a rotation): the fast form
 * of {@link verifySignature} when the same secrets verify many requests. The keys are
 * copied when it is created (changing the caller's bytes later changes nothing).
 * Answers are exactly those of `verifySignature` / `verifySignatureReason`.
 */
export interface Verifier {
  /** `true` iff `signature` is a valid `X-Foreman-Signature` of `body` under any key. */
  verify(body: BytesInput, signature: string | readonly string[] | null | undefined): boolean;
  /** Why: as {@link verifySignatureReason}. */
  verifyReason(body: BytesInput, signature: string | readonly string[] | null | undefined): VerifyReason;
}

/**
 * Keys HMAC-SHA256 once for `secret` and returns a {@link Verifier}. Synchronous, no init.
 *
 * @throws TypeError when `secret` has the wrong type or a key is empty (as
 *   {@link verifySignature}).
 */
export declare function createVerifier(secret: SecretInput | readonly SecretInput[]): Verifier;

/**
 * A Standard Webhooks verifier keyed once for `secret` (`whsec_...`, or several for a
 * rotation). Answers are exactly those of `verifyStandardWebhook` /
 * `verifyStandardWebhookReason`.
 */
export interface StandardVerifier {
  /** As {@link verifyStandardWebhook} with this verifier's secrets. */
  verify(headers: HeadersInput, body: BytesInput, options?: StandardVerifyOptions): boolean;
  /** As {@link verifyStandardWebhookReason} with this verifier's secrets. */
  verifyReason(headers: HeadersInput, body: BytesInput, options?: StandardVerifyOptions): StandardVerifyReason;
}

/**
 * Keys HMAC-SHA256 once for `secret` and returns a {@link StandardVerifier}.
 *
 * @throws TypeError when `secret` is not a `whsec_...` string (or an array of them) or
 *   does not decode (as {@link signStandardWebhook}).
 */
export declare function createStandardVerifier(
  secret: StandardSecret | readonly StandardSecret[],
): StandardVerifier;

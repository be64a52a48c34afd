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
 * A missing or malformed `signature` gives `false`; it never throws for it.
 *
 * @throws TypeError when `body` is not a string / bytes (e.g. a parsed JSON object) or
 *   `secret` has the wrong type.
 * @throws RangeError when an input is larger than 64 MiB.
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
 * @throws RangeError when an input is larger than 64 MiB.
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

//! The reason codes: every stable snake_case string that says why a request, a signature
//! or a secret was refused, defined once. Every error type's `code()` returns one of these;
//! the JS bindings, the CLI, the axum integration and the test vectors use the same strings.
//!
//! | code                     | from                                                       |
//! |--------------------------|------------------------------------------------------------|
//! | `ok`                     | verified (the JS `...Reason` functions and the CLI's JSON) |
//! | `missing_prefix`         | `X-Foreman-Signature` absent, empty, or not `sha256=...`   |
//! | `wrong_length`           | hex part not 64 characters                                 |
//! | `malformed_hex`          | 64 characters, not all hex                                 |
//! | `mismatch`               | well formed, no configured key matches                     |
//! | `missing_header`         | a Standard Webhooks header is absent                       |
//! | `malformed_timestamp`    | `webhook-timestamp` is not integer seconds                 |
//! | `too_old` / `too_new`    | timestamp outside the tolerance                            |
//! | `malformed_signature`    | no well-formed `version,base64` entry                      |
//! | `no_matching_signature`  | no `v1` entry matches                                      |
//! | `empty_secret`           | no key, or an empty key                                    |
//! | `malformed_secret`       | a `whsec_` secret that is not base64                       |
//! | `too_many_secrets`       | more than [`MAX_SECRETS`](crate::MAX_SECRETS) keys          |
//! | `replayed`               | a `webhook-id` already accepted inside the window          |
//! | `malformed_event`        | verified, but the body is not an `Event`                   |
//! | `body_too_large`         | the body is over the receiver's limit                      |
//! | `no_clock`               | no clock on this target: give one to the receiver          |
//!
//! The sender (feature `native`) uses the same vocabulary for its own errors:
//!
//! | code                     | from                                                       |
//! |--------------------------|------------------------------------------------------------|
//! | `invalid_url`            | `fire`: not an absolute http(s) URL the client can send    |
//! | `unsupported_scheme`     | `fire`: a scheme other than `http`/`https`                 |
//! | `forbidden_address`      | `fire`: a destination the address policy refuses           |
//! | `invalid_allowlist`      | `build`: an allowlist entry that is not a CIDR or address  |
//! | `http_client`            | `build`: the HTTP client could not be built                |
//! | `runtime`                | `build`: the dispatcher's runtime could not start          |
//! | `database`               | a durable store failed (unreachable, locked, corrupt)      |
//! | `not_durable`            | `fire_durable` on the in-memory store                      |
//! | `shutting_down`          | the dispatcher is shutting down                            |
//! | `usage`                  | a caller's mistake in an outbox call (unknown state, ...)  |

/// Verified.
pub const OK: &str = "ok";
/// `X-Foreman-Signature` is absent, empty, or does not start with `sha256=`.
pub const MISSING_PREFIX: &str = "missing_prefix";
/// The part after `sha256=` is not 64 characters long.
pub const WRONG_LENGTH: &str = "wrong_length";
/// The part after `sha256=` has 64 characters but not all are hex digits.
pub const MALFORMED_HEX: &str = "malformed_hex";
/// Well formed, but no configured key produces this MAC.
pub const MISMATCH: &str = "mismatch";
/// A Standard Webhooks header is absent.
pub const MISSING_HEADER: &str = "missing_header";
/// `webhook-timestamp` is not an integer number of seconds.
pub const MALFORMED_TIMESTAMP: &str = "malformed_timestamp";
/// The timestamp is older than the tolerance allows.
pub const TOO_OLD: &str = "too_old";
/// The timestamp is further in the future than the tolerance allows.
pub const TOO_NEW: &str = "too_new";
/// `webhook-signature` holds no well-formed `version,base64` entry.
pub const MALFORMED_SIGNATURE: &str = "malformed_signature";
/// No `v1` entry matches under any configured key.
pub const NO_MATCHING_SIGNATURE: &str = "no_matching_signature";
/// No key was configured, or a key was empty.
pub const EMPTY_SECRET: &str = "empty_secret";
/// A Standard Webhooks secret is not `whsec_` + base64.
pub const MALFORMED_SECRET: &str = "malformed_secret";
/// More keys than [`MAX_SECRETS`](crate::MAX_SECRETS).
pub const TOO_MANY_SECRETS: &str = "too_many_secrets";
/// The `webhook-id` was already accepted inside the tolerance window.
pub const REPLAYED: &str = "replayed";
/// The signature verified but the body is not an `Event`.
pub const MALFORMED_EVENT: &str = "malformed_event";
/// The body is larger than the receiver's limit.
pub const BODY_TOO_LARGE: &str = "body_too_large";
/// No clock on this target (wasm32 without the `wasm` feature): give the receiver one.
pub const NO_CLOCK: &str = "no_clock";

/// `fire`: not an absolute http(s) URL with a host that the HTTP client can send.
pub const INVALID_URL: &str = "invalid_url";
/// `fire`: the URL's scheme is not `http` or `https`.
pub const UNSUPPORTED_SCHEME: &str = "unsupported_scheme";
/// `fire`: the destination is an address the address policy refuses.
pub const FORBIDDEN_ADDRESS: &str = "forbidden_address";
/// `build`: an allowlist entry is not a CIDR range or an address.
pub const INVALID_ALLOWLIST: &str = "invalid_allowlist";
/// `build`: the HTTP client could not be built.
pub const HTTP_CLIENT: &str = "http_client";
/// `build`: the dispatcher's runtime or its thread could not start.
pub const RUNTIME: &str = "runtime";
/// A durable store failed: unreachable, locked, corrupt, or its migrations failed.
pub const DATABASE: &str = "database";
/// `fire_durable` on a dispatcher without a durable store.
pub const NOT_DURABLE: &str = "not_durable";
/// The dispatcher is shutting down.
pub const SHUTTING_DOWN: &str = "shutting_down";
/// A caller's mistake in an outbox call (an unknown state, a malformed store spec).
pub const USAGE: &str = "usage";

/// Every code above, for checking a vocabulary (vectors, bindings) against this one.
pub const ALL: [&str; 28] = [
    OK,
    MISSING_PREFIX,
    WRONG_LENGTH,
    MALFORMED_HEX,
    MISMATCH,
    MISSING_HEADER,
    MALFORMED_TIMESTAMP,
    TOO_OLD,
    TOO_NEW,
    MALFORMED_SIGNATURE,
    NO_MATCHING_SIGNATURE,
    EMPTY_SECRET,
    MALFORMED_SECRET,
    TOO_MANY_SECRETS,
    REPLAYED,
    MALFORMED_EVENT,
    BODY_TOO_LARGE,
    NO_CLOCK,
    INVALID_URL,
    UNSUPPORTED_SCHEME,
    FORBIDDEN_ADDRESS,
    INVALID_ALLOWLIST,
    HTTP_CLIENT,
    RUNTIME,
    DATABASE,
    NOT_DURABLE,
    SHUTTING_DOWN,
    USAGE,
];

/// The message of an empty key, shared by [`SecretError`](crate::SecretError),
/// [`VerifyError`](crate::VerifyError), [`StandardError`](crate::StandardError) and the
/// JS `TypeError`s.
pub const EMPTY_SECRET_MESSAGE: &str =
    "secret must not be empty: an empty HMAC key lets anyone forge signatures";

/// The message of a key list over [`MAX_SECRETS`](crate::MAX_SECRETS).
pub const TOO_MANY_SECRETS_MESSAGE: &str = "at most 64 secrets are accepted";

/// The message of a missing key (no secret configured at all).
pub const NO_SECRET_MESSAGE: &str =
    "no secret configured: an empty secret would let anyone forge signatures";

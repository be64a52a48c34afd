//! Artifact metadata for webhook payloads: small artifacts inline, large ones as URLs.
//!
//! For text artifacts the output is the JSON value Go's `FormatArtifacts` writes:
//! `[{"name":..,"content_type":..,"size":..,"data":".."}]` when inlined,
//! `{..,"url":"/jobs/{job_id}/artifacts/{name}"}` otherwise. The same value, not always
//! the same bytes: Go escapes `<`, `>`, `&`, U+2028 and U+2029 inside strings
//! (`<`…) and this does not; an event carrying the artifacts and written with
//! [`Event::to_go_json`](crate::Event::to_go_json) has Go's exact bytes (checked against
//! the seed's code in tests/vectors/go_artifacts.json). Differences in value, each a fix
//! of a Go defect:
//!
//! * **Binary data round-trips.** Go's `string(data)` turns invalid UTF-8 into U+FFFD.
//!   Data that is not UTF-8 is written as base64 with `"encoding":"base64"` after `data`;
//!   UTF-8 text is written as Go writes it, with no `encoding` key.
//! * **URLs are escaped.** `job_id` and `name` are each percent-encoded as one path
//!   segment (everything but `A-Z a-z 0-9 - . _ ~`; a name of `.` or `..` is written
//!   `%2E` / `%2E%2E` so it cannot climb the path).
//! * **The body is bounded.** Besides the per-artifact limit (256 KiB, as Go), the
//!   inlined data of one payload shares a budget (256 KiB by default, counted in data
//!   bytes). Artifacts are considered in order; one that fits the remaining budget is
//!   inlined, one that does not becomes a URL reference, and later smaller ones may still
//!   be inlined (first fit, deterministic).
//! * **Declared size vs data.** `size` is written as declared (as Go). An artifact is
//!   inlined only when both its declared size and its actual data length are within the
//!   per-artifact limit, so neither a lying `size` nor oversized data can blow the body up.
//! * **Empty data is kept.** Go's `omitempty` drops `"data":""`, making an empty inlined
//!   artifact look like one with neither data nor URL; we write `"data":""`.
//! * Zero artifacts gives `None` (JSON `null`), as Go.

use base64::Engine as _;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::event::RawJson;

/// Go's per-artifact inline threshold: 256 KiB.
pub const INLINE_MAX: u64 = 256 * 1024;

/// Default total of inlined data bytes per payload: 256 KiB.
pub const INLINE_BUDGET: u64 = 256 * 1024;

/// Bytes left unescaped in a path segment: RFC 3986 unreserved characters.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// One artifact to describe (Go's `ArtifactMeta`), borrowing its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Artifact<'a> {
    /// File name, e.g. `report.json`.
    pub name: &'a str,
    /// MIME type, e.g. `application/json`.
    pub content_type: &'a str,
    /// Declared size in bytes (written to the payload as is).
    pub size: u64,
    /// The content, when the worker has it in memory; `None` always gives a URL reference.
    pub data: Option<&'a [u8]>,
}

impl<'a> Artifact<'a> {
    /// An artifact whose content is in memory; `size` is `data.len()`.
    pub fn inline(name: &'a str, content_type: &'a str, data: &'a [u8]) -> Self {
        Self {
            name,
            content_type,
            size: data.len() as u64,
            data: Some(data),
        }
    }

    /// An artifact known only by its metadata; always a URL reference.
    pub fn reference(name: &'a str, content_type: &'a str, size: u64) -> Self {
        Self {
            name,
            content_type,
            size,
            data: None,
        }
    }
}

/// Inline limits for [`format_artifacts_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InlineLimits {
    /// Largest artifact inlined (declared size and data length), bytes.
    pub per_artifact: u64,
    /// Total data bytes inlined in one payload.
    pub budget: u64,
}

impl Default for InlineLimits {
    /// 256 KiB each: Go's threshold, and one threshold's worth per payload.
    fn default() -> Self {
        Self {
            per_artifact: INLINE_MAX,
            budget: INLINE_BUDGET,
        }
    }
}

/// Why each artifact was placed as it was (see [`plan_artifacts`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Placement {
    /// Inlined as UTF-8 text.
    InlineText,
    /// Inlined as base64 (`"encoding":"base64"`), the data not being UTF-8.
    InlineBase64,
    /// A URL: no data was given.
    UrlNoData,
    /// A URL: declared size or data length above the per-artifact limit.
    UrlTooLarge,
    /// A URL: it would have overrun the payload's inline budget.
    UrlOverBudget,
}

impl Placement {
    /// A stable identifier: `inline_text`, `inline_base64`, `url_no_data`, `url_too_large`,
    /// `url_over_budget`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InlineText => "inline_text",
            Self::InlineBase64 => "inline_base64",
            Self::UrlNoData => "url_no_data",
            Self::UrlTooLarge => "url_too_large",
            Self::UrlOverBudget => "url_over_budget",
        }
    }

    /// Whether the data is in the payload.
    pub fn is_inline(&self) -> bool {
        matches!(self, Self::InlineText | Self::InlineBase64)
    }
}

/// Decides where each artifact goes under `limits`, without formatting anything.
pub fn plan_artifacts(artifacts: &[Artifact<'_>], limits: &InlineLimits) -> Vec<Placement> {
    let mut remaining = limits.budget;
    artifacts
        .iter()
        .map(|a| {
            let Some(data) = a.data else {
                return Placement::UrlNoData;
            };
            let len = data.len() as u64;
            if a.size > limits.per_artifact || len > limits.per_artifact {
                Placement::UrlTooLarge
            } else if len > remaining {
                Placement::UrlOverBudget
            } else {
                remaining -= len;
                if core::str::from_utf8(data).is_ok() {
                    Placement::InlineText
                } else {
                    Placement::InlineBase64
                }
            }
        })
        .collect()
}

/// The `artifacts` JSON for an [`Event`](crate::Event), with the default
/// [`InlineLimits`]. `None` (JSON `null`) for zero artifacts, as Go.
///
/// ```
/// use foreman_webhook::{format_artifacts, Artifact};
/// let json = format_artifacts("job 7", &[
///     Artifact::inline("out.txt", "text/plain", b"hello"),
///     Artifact::reference("model.bin", "application/octet-stream", 10 << 20),
/// ]).unwrap();
/// assert_eq!(json.get(), concat!(
///     r#"[{"name":"out.txt","content_type":"text/plain","size":5,"data":"hello"},"#,
///     r#"{"name":"model.bin","content_type":"application/octet-stream","size":10485760,"#,
///     r#""url":"/jobs/job%207/artifacts/model.bin"}]"#));
/// ```
pub fn format_artifacts(job_id: &str, artifacts: &[Artifact<'_>]) -> Option<RawJson> {
    format_artifacts_with(job_id, artifacts, &InlineLimits::default())
}

/// [`format_artifacts`] with explicit limits.
pub fn format_artifacts_with(
    job_id: &str,
    artifacts: &[Artifact<'_>],
    limits: &InlineLimits,
) -> Option<RawJson> {
    let text = artifacts_json(job_id, artifacts, limits)?;
    // The writer below emits valid JSON (tests/vectors, tests/properties and the fuzz
    // target check it against independent parsers); `new` validates once more.
    RawJson::new(text).ok()
}

/// The `artifacts` JSON text itself (`None` for zero artifacts): what
/// [`format_artifacts_with`] wraps. Written directly rather than through serde, which
/// keeps the WebAssembly build small; the bytes are serde_json's (same key order, same
/// escapes: `\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, other controls as `\u00xx`).
pub fn artifacts_json(
    job_id: &str,
    artifacts: &[Artifact<'_>],
    limits: &InlineLimits,
) -> Option<String> {
    if artifacts.is_empty() {
        return None;
    }
    let plan = plan_artifacts(artifacts, limits);
    let job_segment = path_segment(job_id);
    let mut out = String::with_capacity(
        artifacts
            .iter()
            .zip(&plan)
            .map(|(a, p)| {
                96 + a.name.len()
                    + a.content_type.len()
                    + if p.is_inline() {
                        a.data.map_or(0, |d| d.len() * 4 / 3 + 8)
                    } else {
                        job_segment.len() + 3 * a.name.len()
                    }
            })
            .sum(),
    );
    out.push('[');
    for (i, (a, place)) in artifacts.iter().zip(&plan).enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"name\":");
        json_string(&mut out, a.name);
        out.push_str(",\"content_type\":");
        json_string(&mut out, a.content_type);
        out.push_str(",\"size\":");
        out.push_str(itoa::Buffer::new().format(a.size));
        match (place, a.data) {
            (Placement::InlineText, Some(d)) => {
                out.push_str(",\"data\":");
                // Placement::InlineText was decided on `from_utf8(d).is_ok()`.
                json_string(&mut out, core::str::from_utf8(d).unwrap_or_default());
            }
            (Placement::InlineBase64, Some(d)) => {
                out.push_str(",\"data\":\"");
                base64::engine::general_purpose::STANDARD.encode_string(d, &mut out);
                out.push_str("\",\"encoding\":\"base64\"");
            }
            _ => {
                // Percent-encoded segments hold no character JSON escapes.
                out.push_str(",\"url\":\"/jobs/");
                out.push_str(&job_segment);
                out.push_str("/artifacts/");
                out.push_str(&path_segment(a.name));
                out.push('"');
            }
        }
        out.push('}');
    }
    out.push(']');
    Some(out)
}

/// Appends `s` as a JSON string literal, escaped exactly as serde_json escapes.
#[inline(never)]
fn json_string(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let short = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        // `i` is at an ASCII byte, so a char boundary: `get` always succeeds (and, unlike
        // indexing, brings no panic-formatting code into the WebAssembly build).
        out.push_str(s.get(start..i).unwrap_or_default());
        start = i + 1;
        if short.is_empty() {
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        } else {
            out.push_str(short);
        }
    }
    out.push_str(s.get(start..).unwrap_or_default());
    out.push('"');
}

/// Percent-encodes `s` as a single path segment; dot segments are escaped too.
fn path_segment(s: &str) -> String {
    match s {
        "." => "%2E".into(),
        ".." => "%2E%2E".into(),
        _ => utf8_percent_encode(s, SEGMENT).collect(),
    }
}

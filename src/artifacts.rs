//! Artifact metadata for webhook payloads: small artifacts inline, large ones as URLs.
//!
//! For text artifacts the output is the JSON value Go's `FormatArtifacts` writes:
//! `[{"name":..,"content_type":..,"size":..,"data":".."}]` when inlined,
//! `{..,"url":"/jobs/{job_id}/artifacts/{name}"}` otherwise. Differences, each a fix of a
//! Go defect:
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
use serde::Serialize;

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

#[derive(Serialize)]
struct Out<'a> {
    name: &'a str,
    content_type: &'a str,
    size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<std::borrow::Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    encoding: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
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
    if artifacts.is_empty() {
        return None;
    }
    let plan = plan_artifacts(artifacts, limits);
    let job_segment = path_segment(job_id);
    let out: Vec<Out<'_>> = artifacts
        .iter()
        .zip(&plan)
        .map(|(a, place)| {
            let mut o = Out {
                name: a.name,
                content_type: a.content_type,
                size: a.size,
                data: None,
                encoding: None,
                url: None,
            };
            match (place, a.data) {
                (Placement::InlineText, Some(d)) => {
                    o.data = core::str::from_utf8(d).ok().map(Into::into);
                }
                (Placement::InlineBase64, Some(d)) => {
                    o.data = Some(base64::engine::general_purpose::STANDARD.encode(d).into());
                    o.encoding = Some("base64");
                }
                _ => {
                    o.url = Some(format!(
                        "/jobs/{job_segment}/artifacts/{}",
                        path_segment(a.name)
                    ));
                }
            }
            o
        })
        .collect();
    // Strings and integers only: serialization cannot fail.
    RawJson::from_value(&out).ok()
}

/// Percent-encodes `s` as a single path segment; dot segments are escaped too.
fn path_segment(s: &str) -> String {
    match s {
        "." => "%2E".into(),
        ".." => "%2E%2E".into(),
        _ => utf8_percent_encode(s, SEGMENT).to_string(),
    }
}

//! Correlation: the per-delivery `tracing` span every dispatcher log line is emitted in
//! (`delivery_id`, `webhook_id`), what an [`Outcome`](super::Outcome) carries about its
//! attempts (redacted URL, last status or error class, timings), and the hooks the
//! optional OpenTelemetry layer (`otel` feature, [`super::otel`]) plugs into. Kept apart
//! from the dispatcher so the dispatcher only calls a handful of small functions.

use core::fmt;
use std::time::{Duration, SystemTime};

use url::Url;

/// Why an attempt failed without an HTTP status (the OpenTelemetry `error.type` of an
/// attempt that got no response).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorClass {
    /// The request timeout passed before the response head arrived.
    Timeout,
    /// The connection failed or broke (DNS, TCP, TLS, HTTP protocol error).
    Transport,
    /// The destination resolved only to addresses the address policy refuses.
    Refused,
}

impl ErrorClass {
    /// `timeout`, `transport` or `refused` (the value used in logs, span attributes and
    /// metric labels).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::Transport => "transport",
            Self::Refused => "refused",
        }
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// When one attempt started and how long it took (until the response head and the
/// drained body, or the error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct AttemptTiming {
    /// Wall-clock start.
    pub started: SystemTime,
    /// Duration of the attempt.
    pub duration: Duration,
}

/// What a job remembers of its attempts for its outcome (allocated at the first attempt,
/// so a queued job stays small).
#[derive(Default)]
pub(crate) struct Trail {
    pub(crate) timings: Vec<AttemptTiming>,
    pub(crate) last_status: Option<u16>,
    pub(crate) last_error: Option<ErrorClass>,
    /// The delivery span and its context (`otel` feature).
    #[cfg(feature = "otel")]
    pub(crate) otel: Option<super::otel::DeliveryTrace>,
}

impl Trail {
    pub(crate) fn record(
        &mut self,
        started: SystemTime,
        duration: Duration,
        status: Option<u16>,
        error: Option<ErrorClass>,
    ) {
        self.timings.push(AttemptTiming { started, duration });
        self.last_status = status;
        self.last_error = error;
    }
}

/// Settings for what the outcome, the spans and the metrics record.
#[derive(Clone, Default)]
pub(crate) struct TelemetryConfig {
    /// Keep the query string in recorded URLs (sensitive parameter values still masked).
    pub(crate) keep_query: bool,
    /// The OpenTelemetry instruments and tracer (`otel` feature).
    #[cfg(feature = "otel")]
    pub(crate) otel: Option<super::otel::Otel>,
}

impl fmt::Debug for TelemetryConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Telemetry");
        d.field("keep_query", &self.keep_query);
        #[cfg(feature = "otel")]
        d.field("otel", &self.otel.is_some());
        d.finish()
    }
}

/// Query parameters whose values are masked even when the query is kept (the
/// OpenTelemetry semantic conventions' list for `url.full`, plus common token names).
const SENSITIVE_QUERY: &[&str] = &[
    "awsaccesskeyid",
    "signature",
    "sig",
    "x-goog-signature",
    "token",
    "access_token",
    "api_key",
    "apikey",
    "key",
    "secret",
    "password",
];

/// The URL as outcomes, span attributes and the relay report it: user name and password
/// replaced by `REDACTED` (the OpenTelemetry `url.full` rule), the fragment dropped, and
/// the query dropped unless `keep_query` (then sensitive parameter values are
/// `REDACTED`). At most [`LOG_URL_MAX`](super::http::LOG_URL_MAX) bytes, like log lines.
pub(crate) fn redact_url(url: &str, keep_query: bool) -> String {
    let Ok(mut u) = Url::parse(url) else {
        return "<invalid url>".to_owned();
    };
    if !u.username().is_empty() || u.password().is_some() {
        let _ = u.set_username("REDACTED");
        let _ = u.set_password(Some("REDACTED"));
    }
    u.set_fragment(None);
    if keep_query && u.query().is_some() {
        let pairs: Vec<(String, String)> = u
            .query_pairs()
            .map(|(k, v)| {
                let masked = SENSITIVE_QUERY.contains(&k.to_ascii_lowercase().as_str());
                (
                    k.into_owned(),
                    if masked {
                        "REDACTED".to_owned()
                    } else {
                        v.into_owned()
                    },
                )
            })
            .collect();
        u.query_pairs_mut().clear().extend_pairs(pairs);
    } else {
        u.set_query(None);
    }
    super::http::loggable(u.as_str()).into_owned()
}

/// The span every log line about one delivery is emitted in. At ERROR level so that any
/// subscriber that shows a dispatcher line also shows these fields.
pub(crate) fn log_span(delivery_id: u64, webhook_id: Option<&str>) -> tracing::Span {
    tracing::error_span!(
        "webhook",
        delivery_id,
        webhook_id = %webhook_id.unwrap_or("")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_query_and_fragment_are_redacted() {
        let u = "https://alice:pa55@hooks.example.com:8443/p/a?token=abc&x=1#frag";
        assert_eq!(
            redact_url(u, false),
            "https://REDACTED:REDACTED@hooks.example.com:8443/p/a"
        );
        assert_eq!(
            redact_url(u, true),
            "https://REDACTED:REDACTED@hooks.example.com:8443/p/a?token=REDACTED&x=1"
        );
        assert_eq!(
            redact_url("http://127.0.0.1:9/x", false),
            "http://127.0.0.1:9/x"
        );
        assert_eq!(redact_url("not a url", false), "<invalid url>");
    }
}

//! One HTTP attempt: the request (body, content type, signature headers), the response
//! (status, `Retry-After`, a capped body read) and the URL checks done inside `fire`.

use core::fmt;
use std::borrow::Cow;
use std::error::Error as StdError;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::SystemTime;

use reqwest::header::{HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use url::{Host, Position, Url};

use super::address::AddressPolicy;
use super::config::Config;
use super::error::{BuildError, BuildErrorKind};
use super::job::{clip, Job};
use super::outcome::RejectReason;
use super::random::random_u64;
use super::resolve::{ForbiddenDestination, GuardedResolver, SystemResolver};
use super::retry::{parse_retry_after, AttemptOutcome};
use crate::standard::StandardWebhook;
use crate::{Signer, SIGNATURE_HEADER};

/// The pooled client and what goes on every request.
pub(super) struct Http {
    client: reqwest::Client,
    signing: Signing,
    body_cap: usize,
}

impl fmt::Debug for Http {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Http")
            .field("signed", &self.signing.foreman.is_some())
            .field("standard_webhooks", &self.signing.standard.is_some())
            .field("body_cap", &self.body_cap)
            .finish_non_exhaustive()
    }
}

impl Http {
    /// One client for the dispatcher's life: no redirects, no proxies, the guarded
    /// resolver, the request timeout.
    pub(super) fn new(b: &Config, addresses: Arc<AddressPolicy>) -> Result<Self, BuildError> {
        let resolver = GuardedResolver {
            inner: b
                .resolver
                .clone()
                .unwrap_or_else(|| Arc::new(SystemResolver)),
            policy: addresses,
        };
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(b.timeout)
            .connect_timeout(b.timeout)
            .user_agent(b.user_agent.as_str())
            .dns_resolver(Arc::new(resolver))
            .build()
            .map_err(|e| BuildError::new(BuildErrorKind::Client, e))?;
        Ok(Self {
            client,
            signing: Signing {
                foreman: b.secret.clone(),
                standard: b.standard.clone(),
                instance: random_u64(),
            },
            body_cap: b.body_cap,
        })
    }

    /// Sends the request; returns as soon as the response head arrives, with the status
    /// and `Retry-After` (the status decides the outcome) and the response, whose body
    /// [`drain`](Self::drain) reads.
    /// `webhook_id` is the stored event id with a durable store; `None` derives it from
    /// the dispatcher instance and the job.
    pub(super) async fn send(
        &self,
        job: &Job,
        webhook_id: Option<&str>,
    ) -> Result<Sent, (AttemptOutcome, reqwest::Error)> {
        let req = self
            .client
            .post(job.parsed_url().clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let body = job.body_bytes();
        let req = self.signing.apply(req, job, &body, webhook_id).body(body);
        match req.send().await {
            Ok(resp) => {
                let code = resp.status().as_u16();
                let retry_after = match code {
                    429 | 503 => resp
                        .headers()
                        .get(RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| parse_retry_after(v, SystemTime::now())),
                    _ => None,
                };
                Ok(Sent {
                    outcome: AttemptOutcome::Status { code, retry_after },
                    response: resp,
                })
            }
            Err(e) => {
                let outcome = if is_forbidden(&e) {
                    AttemptOutcome::Refused
                } else if e.is_timeout() {
                    AttemptOutcome::Timeout
                } else {
                    AttemptOutcome::Transport
                };
                Err((outcome, e.without_url()))
            }
        }
    }

    /// The `webhook-id` an in-memory delivery is sent with (the same on every retry).
    pub(super) fn memory_webhook_id(&self, id: u64) -> String {
        self.signing.memory_webhook_id(id)
    }

    /// The same id, formatted only when displayed.
    pub(super) fn memory_id(&self, id: u64) -> MemoryId {
        MemoryId {
            instance: self.signing.instance,
            id,
        }
    }

    /// Reads at most `body_cap` bytes of the body (lets a small response's connection be
    /// reused), then drops the rest unread. Ends early on an error or the request timeout.
    /// Keeps the first `keep` bytes (for the attempt history).
    pub(super) async fn drain(&self, mut resp: reqwest::Response, keep: usize) -> Vec<u8> {
        let mut read = 0usize;
        let mut head = Vec::new();
        while read < self.body_cap {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if head.len() < keep {
                        let take = (keep - head.len()).min(chunk.len());
                        head.extend_from_slice(&chunk[..take]);
                    }
                    read += chunk.len();
                }
                _ => break,
            }
        }
        head
    }
}

/// A response head: how the attempt ended, and the response to drain.
pub(super) struct Sent {
    pub(super) outcome: AttemptOutcome,
    pub(super) response: reqwest::Response,
}

/// The signature headers put on each attempt.
struct Signing {
    foreman: Option<Signer>,
    standard: Option<StandardWebhook>,
    /// 64 bits from the OS random source, drawn once per dispatcher: the in-memory
    /// store's `webhook-id` is `msg_` + this + the event's number (16 hex digits each),
    /// so ids never repeat within a dispatcher and differ across dispatchers, restarts
    /// and processes (a durable store keeps each event's stored id instead).
    instance: u64,
}

/// The `webhook-id` of an in-memory delivery: `msg_` + 16 hex of the dispatcher's random
/// instance + 16 hex of the delivery number.
#[derive(Clone, Copy)]
pub(super) struct MemoryId {
    instance: u64,
    id: u64,
}

impl fmt::Display for MemoryId {
    /// `msg_` and both numbers as 16 lowercase hex digits each. Written by hand into one
    /// buffer: `write!` with `{:016x}` padding cost about 1 900 instructions per id
    /// (counted with perf/otel-instructions.sh, which formats one per delivery for the
    /// span attribute `webhook.id`), this about a tenth.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut buf = *b"msg_00000000000000000000000000000000";
        for (i, n) in [self.instance, self.id].into_iter().enumerate() {
            for (j, b) in buf[4 + 16 * i..20 + 16 * i].iter_mut().enumerate() {
                *b = HEX[((n >> (60 - 4 * j)) & 0xf) as usize];
            }
        }
        // Only ASCII was written.
        f.write_str(core::str::from_utf8(&buf).map_err(|_| fmt::Error)?)
    }
}

impl Signing {
    fn memory_webhook_id(&self, id: u64) -> String {
        MemoryId {
            instance: self.instance,
            id,
        }
        .to_string()
    }

    fn apply(
        &self,
        mut req: reqwest::RequestBuilder,
        job: &Job,
        body: &[u8],
        webhook_id: Option<&str>,
    ) -> reqwest::RequestBuilder {
        #[cfg(feature = "otel")]
        if let Some((parent, state)) = job.trail.as_ref().and_then(|t| t.trace_headers.as_ref()) {
            req = req.header("traceparent", parent.as_str());
            if !state.is_empty() {
                req = req.header("tracestate", state.as_str());
            }
        }
        if let Some(signer) = &self.foreman {
            if let Some(v) = sensitive(&signer.sign(body).header_value()) {
                req = req.header(SIGNATURE_HEADER, v);
            }
        }
        if let Some(standard) = &self.standard {
            // Stable per event (the same on every retry), fresh timestamp and signature.
            let id = match webhook_id {
                Some(id) => id.to_owned(),
                None => self.memory_webhook_id(job.id),
            };
            let now = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
            let sig = standard.sign(&id, now, body);
            req = req
                .header(crate::standard::ID_HEADER, id)
                .header(crate::standard::TIMESTAMP_HEADER, now.to_string());
            if let Some(v) = sensitive(&sig) {
                req = req.header(crate::standard::SIGNATURE_HEADER, v);
            }
        }
        req
    }
}

/// A header value marked sensitive (hyper and reqwest then keep it out of their logs).
fn sensitive(s: &str) -> Option<HeaderValue> {
    let mut v = HeaderValue::from_str(s).ok()?;
    v.set_sensitive(true);
    Some(v)
}

/// The longest URL `fire` accepts, in bytes, as given and once normalized: 8 KiB.
/// RFC 9110 §4.1 asks every implementation to support URIs of at least 8,000 octets;
/// longer ones are refused by many servers, and reqwest's URI type stops at 64 KiB.
pub(super) const MAX_URL_LEN: usize = 8 * 1024;

/// The most of a URL a log line carries, in bytes: a longer URL is cut at a character
/// boundary (after any password is redacted) and marked `…(N bytes)`.
pub(super) const LOG_URL_MAX: usize = 256;

/// Parses and vets a URL: http(s), a host, at most [`MAX_URL_LEN`] bytes, a form the HTTP
/// client can send (`http::Uri`, which reqwest converts every URL to: it refuses some
/// hosts the URL standard accepts, such as ones containing `{`, `"` or a backtick), and
/// an IP-literal host the policy permits (IP literals never reach the resolver, where
/// names are checked). Returns the URL and the span of `host[:port]` in its
/// serialization.
pub(super) fn vet_url(
    url: &str,
    policy: &AddressPolicy,
) -> Result<(Url, (usize, usize)), RejectReason> {
    if url.len() > MAX_URL_LEN {
        return Err(RejectReason::InvalidUrl);
    }
    let parsed = Url::parse(url).map_err(|_| RejectReason::InvalidUrl)?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(RejectReason::UnsupportedScheme);
    }
    let literal = match parsed.host() {
        None => return Err(RejectReason::InvalidUrl),
        Some(Host::Domain("")) => return Err(RejectReason::InvalidUrl),
        Some(Host::Domain(_)) => None,
        Some(Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
        Some(Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
    };
    if parsed.as_str().len() > MAX_URL_LEN || parsed.as_str().parse::<http::Uri>().is_err() {
        return Err(RejectReason::InvalidUrl);
    }
    if literal.is_some_and(|ip| !policy.permits(ip)) {
        return Err(RejectReason::ForbiddenAddress);
    }
    let start = parsed[..Position::BeforeHost].len();
    let end = parsed[..Position::AfterPort].len();
    Ok((parsed, (start, end)))
}

/// `true` if the error chain holds the resolver's SSRF refusal.
pub(super) fn is_forbidden(e: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn StdError + 'static)> = e.source();
    while let Some(s) = source {
        if s.is::<ForbiddenDestination>() {
            return true;
        }
        source = s.source();
    }
    false
}

/// The URL for logs: a password in it is replaced, and at most [`LOG_URL_MAX`] bytes of
/// it are kept.
pub(super) fn loggable(url: &str) -> Cow<'_, str> {
    let redacted = if url.contains('@') {
        match Url::parse(url) {
            Ok(mut u) if u.password().is_some() => {
                let _ = u.set_password(Some("REDACTED"));
                Cow::Owned(u.to_string())
            }
            Ok(_) => Cow::Borrowed(url),
            Err(_) => return Cow::Borrowed("<invalid url>"),
        }
    } else {
        Cow::Borrowed(url)
    };
    if redacted.len() <= LOG_URL_MAX {
        return redacted;
    }
    Cow::Owned(format!(
        "{}…({} bytes)",
        clip(&redacted, LOG_URL_MAX),
        redacted.len()
    ))
}

/// An error and its sources, `a: b: c`.
pub(super) struct Chain<'a>(pub(super) &'a (dyn StdError + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(s) = source {
            write!(f, ": {s}")?;
            source = s.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn memory_ids_format_as_std_hex_padding_does() {
        for (instance, id) in [
            (0, 0),
            (1, 2),
            (u64::MAX, u64::MAX),
            (0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210),
        ] {
            assert_eq!(
                super::MemoryId { instance, id }.to_string(),
                format!("msg_{instance:016x}{id:016x}")
            );
        }
    }

    use super::*;

    #[test]
    fn vet_url_rules() {
        let strict = AddressPolicy::default();
        let ok = vet_url("https://hooks.example.com:8443/a?b=c", &strict).unwrap();
        assert_eq!(&ok.0.as_str()[ok.1 .0..ok.1 .1], "hooks.example.com:8443");
        for (url, why) in [
            ("not a url", RejectReason::InvalidUrl),
            ("/relative", RejectReason::InvalidUrl),
            ("ftp://example.com/", RejectReason::UnsupportedScheme),
            ("file:///etc/passwd", RejectReason::UnsupportedScheme),
            ("http://127.0.0.1:9/", RejectReason::ForbiddenAddress),
            ("http://2130706433/", RejectReason::ForbiddenAddress),
            ("http://0x7f.1/", RejectReason::ForbiddenAddress),
            ("http://0177.0.0.1/", RejectReason::ForbiddenAddress),
            (
                "http://169.254.169.254/latest",
                RejectReason::ForbiddenAddress,
            ),
            ("http://[::1]/", RejectReason::ForbiddenAddress),
            ("http://[::ffff:127.0.0.1]/", RejectReason::ForbiddenAddress),
            ("http://[::ffff:7f00:1]/", RejectReason::ForbiddenAddress),
            ("http://[fe80::1]/", RejectReason::ForbiddenAddress),
            ("http://10.0.0.1/", RejectReason::ForbiddenAddress),
            // The URL standard accepts these hosts; `http::Uri` (what reqwest sends) does not.
            ("http://a{b.example/", RejectReason::InvalidUrl),
            ("http://a}b.example/", RejectReason::InvalidUrl),
            ("http://a\"b.example/", RejectReason::InvalidUrl),
            ("http://a`b.example/", RejectReason::InvalidUrl),
        ] {
            assert_eq!(vet_url(url, &strict).err(), Some(why), "{url}");
        }
        // The URL standard's parser really accepts them (so the check above is what
        // refuses them), and http::Uri really refuses them.
        for url in [
            "http://a{b.example/",
            "http://a\"b.example/",
            "http://a`b.example/",
        ] {
            let parsed = Url::parse(url).unwrap();
            assert!(parsed.as_str().parse::<http::Uri>().is_err(), "{url}");
        }
        // The length bound, as given and once normalized (`é` becomes `%C3%A9`).
        let base = "https://hooks.example.com/";
        let at_max = format!("{base}{}", "a".repeat(MAX_URL_LEN - base.len()));
        assert!(vet_url(&at_max, &strict).is_ok());
        let over = format!("{at_max}a");
        assert_eq!(
            vet_url(&over, &strict).err(),
            Some(RejectReason::InvalidUrl)
        );
        let grows = format!("{base}{}", "é".repeat(MAX_URL_LEN / 3));
        assert!(grows.len() < MAX_URL_LEN);
        assert_eq!(
            vet_url(&grows, &strict).err(),
            Some(RejectReason::InvalidUrl)
        );
        let huge = format!("{base}{}", "a".repeat(70_000));
        assert_eq!(
            vet_url(&huge, &strict).err(),
            Some(RejectReason::InvalidUrl)
        );
    }

    #[test]
    fn logged_urls_are_clipped_after_redaction() {
        let long = format!("https://user:hunter2@example.com/{}", "é".repeat(10_000));
        let logged = loggable(&long);
        assert!(!logged.contains("hunter2"));
        assert!(logged.starts_with("https://user:REDACTED@example.com/"));
        let (kept, tail) = logged.split_once('…').unwrap();
        assert!(kept.len() <= LOG_URL_MAX && kept.len() > LOG_URL_MAX - 4);
        // The length of the redacted, re-serialized URL (`é` became `%C3%A9`).
        assert_eq!(tail, format!("({} bytes)", long.len() + 1 + 4 * 10_000));
        let plain = format!("https://example.com/{}", "x".repeat(1_000_000));
        assert!(loggable(&plain).len() < LOG_URL_MAX + 32);
        let short = "https://example.com/x";
        assert!(matches!(loggable(short), Cow::Borrowed(s) if s == short));
    }

    #[test]
    fn passwords_stay_out_of_logs() {
        assert_eq!(
            loggable("https://user:hunter2@example.com/x"),
            "https://user:REDACTED@example.com/x"
        );
        assert_eq!(loggable("https://example.com/x"), "https://example.com/x");
    }
}

//! One HTTP attempt: the request (body, content type, signature headers), the response
//! (status, `Retry-After`, a capped body read) and the URL checks done inside `fire`.
//!
//! The client is hyper-util's pooled client over hyper 1 (not reqwest, which is built on
//! it): measured in `benches/delivery.rs` (`ONLY=hyper` vs `ONLY=reqwest`, the same 64
//! tasks posting signed bodies), reqwest's layer cost ≈ 7.5 µs of CPU per request on
//! top of hyper-util's 12.8–13.9 µs. What reqwest was configured to do is done here:
//! the guarded resolver (SSRF), rustls with the Mozilla roots offering h2 and
//! http/1.1, no redirects (hyper never follows them), no proxies, the connect and
//! whole-request timeouts, the `user-agent`, `accept: */*`, and `Authorization: Basic`
//! from a URL's `user:password@`.

use core::fmt;
use std::borrow::Cow;
use std::error::Error as StdError;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER, USER_AGENT};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, Uri};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper_rustls::{ConfigBuilderExt as _, HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tokio::time::Instant;
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
use crate::Signer;
#[cfg(test)]
use crate::SIGNATURE_HEADER;

type Connector = HttpsConnector<HttpConnector<GuardedResolver>>;

/// [`crate::SIGNATURE_HEADER`] as a header name (lowercase, as HTTP/2 requires; checked in the
/// tests below).
const FOREMAN_SIGNATURE: HeaderName = HeaderName::from_static("x-foreman-signature");
const WEBHOOK_ID: HeaderName = HeaderName::from_static(crate::standard::ID_HEADER);
const WEBHOOK_TIMESTAMP: HeaderName = HeaderName::from_static(crate::standard::TIMESTAMP_HEADER);
const WEBHOOK_SIGNATURE: HeaderName = HeaderName::from_static(crate::standard::SIGNATURE_HEADER);

/// The pooled client and what goes on every request.
pub(super) struct Http {
    client: Client<Connector, Full<Bytes>>,
    user_agent: HeaderValue,
    /// The whole attempt: connect, send, response head and the capped body read.
    timeout: Duration,
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

/// Why an attempt got no response head.
#[derive(Debug)]
pub(super) enum Failure {
    /// The request timeout passed (connect included).
    TimedOut(Duration),
    /// The client's error: connect (the SSRF refusal among them), TLS, I/O, protocol.
    Client(hyper_util::client::legacy::Error),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TimedOut(t) => write!(f, "request timed out after {t:?}"),
            Self::Client(_) => f.write_str("error sending request"),
        }
    }
}

impl StdError for Failure {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Self::TimedOut(_) => None,
            Self::Client(e) => Some(e),
        }
    }
}

impl Http {
    /// One client for the dispatcher's life: no redirects, no proxies, the guarded
    /// resolver, rustls, the connect and request timeouts.
    pub(super) fn new(b: &Config, addresses: Arc<AddressPolicy>) -> Result<Self, BuildError> {
        let resolver = GuardedResolver {
            inner: b
                .resolver
                .clone()
                .unwrap_or_else(|| Arc::new(SystemResolver)),
            policy: addresses,
        };
        let user_agent = HeaderValue::from_str(b.user_agent.as_str())
            .map_err(|e| BuildError::new(BuildErrorKind::Client, e))?;
        let mut tcp = HttpConnector::new_with_resolver(resolver);
        // https URLs go through it too (under the TLS layer).
        tcp.enforce_http(false);
        tcp.set_connect_timeout(Some(b.timeout));
        tcp.set_nodelay(true);
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| BuildError::new(BuildErrorKind::Client, e))?
            .with_webpki_roots()
            .with_no_client_auth();
        let connector = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(tcp);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .build(connector);
        Ok(Self {
            client,
            user_agent,
            timeout: b.timeout,
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
    /// [`drain`](Self::drain) reads within the same deadline.
    /// `body` is `job`'s body ([`Job::request_body`]).
    /// `webhook_id` is the stored event id with a durable store; `None` derives it from
    /// the dispatcher instance and the job.
    pub(super) async fn send(
        &self,
        job: &Job,
        body: Bytes,
        webhook_id: Option<&str>,
    ) -> Result<Sent, (AttemptOutcome, Failure)> {
        let deadline = deadline_after(self.timeout);
        let dest = job.dest();
        let mut headers = HeaderMap::with_capacity(8);
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(ACCEPT, HeaderValue::from_static("*/*"));
        headers.insert(USER_AGENT, self.user_agent.clone());
        if let Some(auth) = &dest.auth {
            headers.insert(AUTHORIZATION, auth.clone());
        }
        self.signing.apply(&mut headers, job, &body, webhook_id);
        let mut req = Request::new(Full::new(body));
        *req.method_mut() = Method::POST;
        *req.uri_mut() = dest.uri.clone();
        *req.headers_mut() = headers;
        match tokio::time::timeout_at(deadline, self.client.request(req)).await {
            Ok(Ok(resp)) => {
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
                    deadline,
                })
            }
            Ok(Err(e)) => {
                let outcome = if is_forbidden(&e) {
                    AttemptOutcome::Refused
                } else if is_timed_out(&e) {
                    AttemptOutcome::Timeout
                } else {
                    AttemptOutcome::Transport
                };
                Err((outcome, Failure::Client(e)))
            }
            Err(_) => Err((AttemptOutcome::Timeout, Failure::TimedOut(self.timeout))),
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
    pub(super) async fn drain(
        &self,
        response: Response<Incoming>,
        deadline: Instant,
        keep: usize,
    ) -> Vec<u8> {
        let mut body = response.into_body();
        let mut read = 0usize;
        let mut head = Vec::new();
        while read < self.body_cap {
            match tokio::time::timeout_at(deadline, body.frame()).await {
                Ok(Some(Ok(frame))) => {
                    let Ok(chunk) = frame.into_data() else {
                        continue; // trailers
                    };
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

/// `timeout` from now, or far in the future when that overflows (`Duration::MAX`).
fn deadline_after(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout)
        .unwrap_or_else(|| now + Duration::from_secs(86_400 * 365 * 30))
}

/// A response head: how the attempt ended, and the response to drain before `deadline`.
pub(super) struct Sent {
    pub(super) outcome: AttemptOutcome,
    pub(super) response: Response<Incoming>,
    pub(super) deadline: Instant,
}

/// The request URI of a vetted URL (without its user and password) and the
/// `Authorization: Basic` header they make (percent-decoded, as reqwest sent them).
/// `None` if `http::Uri` refuses the URL.
pub(super) fn request_uri(url: &Url) -> Option<(Uri, Option<HeaderValue>)> {
    if url.username().is_empty() && url.password().is_none() {
        return Some((url.as_str().parse().ok()?, None));
    }
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .map(Cow::into_owned)
    };
    let mut creds = decode(url.username()).ok()?;
    creds.push(':');
    if let Some(p) = url.password() {
        creds.push_str(&decode(p).ok()?);
    }
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(creds);
    let mut auth = HeaderValue::try_from(format!("Basic {encoded}")).ok()?;
    auth.set_sensitive(true);
    let mut bare = url.clone();
    bare.set_username("").ok()?;
    bare.set_password(None).ok()?;
    Some((bare.as_str().parse().ok()?, Some(auth)))
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

    fn apply(&self, headers: &mut HeaderMap, job: &Job, body: &[u8], webhook_id: Option<&str>) {
        #[cfg(feature = "otel")]
        if let Some((parent, state)) = job.trail.as_ref().and_then(|t| t.trace_headers.as_ref()) {
            if let Ok(v) = HeaderValue::from_str(parent) {
                headers.insert(HeaderName::from_static("traceparent"), v);
            }
            if !state.is_empty() {
                if let Ok(v) = HeaderValue::from_str(state) {
                    headers.insert(HeaderName::from_static("tracestate"), v);
                }
            }
        }
        if let Some(signer) = &self.foreman {
            if let Some(v) = sensitive(signer.sign(body).header_value()) {
                headers.insert(FOREMAN_SIGNATURE, v);
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
            if let Ok(v) = HeaderValue::try_from(id) {
                headers.insert(WEBHOOK_ID, v);
            }
            headers.insert(WEBHOOK_TIMESTAMP, HeaderValue::from(now));
            if let Some(v) = sensitive(sig) {
                headers.insert(WEBHOOK_SIGNATURE, v);
            }
        }
    }
}

/// A header value marked sensitive (hyper then keeps it out of its logs); made from the
/// `String` without copying it.
fn sensitive(s: String) -> Option<HeaderValue> {
    let mut v = HeaderValue::try_from(s).ok()?;
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
pub(super) fn is_forbidden(e: &(dyn StdError + 'static)) -> bool {
    chain_has(e, |s| s.is::<ForbiddenDestination>())
}

/// `true` if the error chain holds an I/O timeout (the connector's connect timeout).
fn is_timed_out(e: &(dyn StdError + 'static)) -> bool {
    chain_has(e, |s| {
        s.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
    })
}

fn chain_has(
    e: &(dyn StdError + 'static),
    test: impl Fn(&(dyn StdError + 'static)) -> bool,
) -> bool {
    let mut source = Some(e);
    while let Some(s) = source {
        if test(s) {
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
    fn header_names_match_the_published_constants() {
        assert!(FOREMAN_SIGNATURE
            .as_str()
            .eq_ignore_ascii_case(SIGNATURE_HEADER));
        assert_eq!(WEBHOOK_ID.as_str(), crate::standard::ID_HEADER);
        assert_eq!(
            WEBHOOK_TIMESTAMP.as_str(),
            crate::standard::TIMESTAMP_HEADER
        );
        assert_eq!(
            WEBHOOK_SIGNATURE.as_str(),
            crate::standard::SIGNATURE_HEADER
        );
    }

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

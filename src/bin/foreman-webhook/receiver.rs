//! A small verifying HTTP receiver (hyper, HTTP/1.1) shared by `listen` and `demo`.
//! It only converts: verification is the core's `Signer::verify` / `StandardWebhook::verify`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use foreman_webhook::standard::{Headers, StandardWebhook};
use foreman_webhook::{verify_any, Event, Secret, SIGNATURE_HEADER};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// Largest body the receiver reads.
pub const MAX_BODY: usize = 16 * 1024 * 1024;

/// What the receiver checks requests with.
pub struct Keys {
    /// Keys for `X-Foreman-Signature` (any may match).
    pub foreman: Vec<Secret>,
    /// Keys for the Standard Webhooks headers, when configured.
    pub standard: Option<StandardWebhook>,
}

/// The verdict on one scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Header absent and no key configured for it.
    NotUsed,
    /// Verified.
    Valid,
    /// Refused, with the core's reason code.
    Invalid(&'static str),
}

impl Check {
    pub fn is_invalid(self) -> bool {
        matches!(self, Self::Invalid(_))
    }
    pub fn label(self) -> &'static str {
        match self {
            Self::NotUsed => "-",
            Self::Valid => "valid",
            Self::Invalid(code) => code,
        }
    }
}

/// One received request, as seen by the receiver.
#[derive(Debug, Clone)]
pub struct Received {
    pub at: Instant,
    pub body: Bytes,
    pub event: Option<Event>,
    pub webhook_id: Option<String>,
    pub foreman: Check,
    pub standard: Check,
}

impl Received {
    /// Accepted when nothing configured was refused and at least one scheme verified.
    pub fn accepted(&self) -> bool {
        !self.foreman.is_invalid()
            && !self.standard.is_invalid()
            && (self.foreman == Check::Valid || self.standard == Check::Valid)
    }
}

/// The answer to give: status and optional `Retry-After` seconds.
#[derive(Debug, Clone, Copy)]
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<u64>,
}

/// Decides the answer and reports the request (printing, counting): called once per request.
pub type Handler = dyn Fn(&Received) -> Answer + Send + Sync;

/// Verifies one request's headers and body.
pub fn check(
    keys: &Keys,
    headers: &hyper::HeaderMap,
    body: &[u8],
    now_unix: i64,
) -> (Check, Check) {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let foreman = match header(SIGNATURE_HEADER) {
        None if keys.foreman.is_empty() => Check::NotUsed,
        None => Check::Invalid("missing_header"),
        Some(_) if keys.foreman.is_empty() => Check::NotUsed,
        Some(h) => match verify_any(body, h, &keys.foreman) {
            Ok(()) => Check::Valid,
            Err(e) => Check::Invalid(e.code()),
        },
    };
    let standard = match &keys.standard {
        None => Check::NotUsed,
        Some(wh) => match wh.verify(&Headers::from_fn(header), body, now_unix) {
            Ok(()) => Check::Valid,
            Err(e) => Check::Invalid(e.code()),
        },
    };
    (foreman, standard)
}

/// Unix seconds now (native only: the CLI is never built for wasm).
pub fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Serves until the task is dropped: one task per connection.
pub async fn serve(listener: TcpListener, keys: Arc<Keys>, handler: Arc<Handler>) {
    loop {
        let Ok((stream, _peer)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let keys = keys.clone();
        let handler = handler.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| handle(req, keys.clone(), handler.clone()));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

async fn handle(
    req: Request<Incoming>,
    keys: Arc<Keys>,
    handler: Arc<Handler>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let at = Instant::now();
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return Ok(reply(413, None, "body too large or unreadable\n")),
    };
    let (foreman, standard) = check(&keys, &parts.headers, &body, now_unix());
    let received = Received {
        at,
        event: Event::from_json(&body).ok(),
        webhook_id: parts
            .headers
            .get("webhook-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body,
        foreman,
        standard,
    };
    let answer = handler(&received);
    let text = if (200..300).contains(&answer.status) {
        "ok\n"
    } else if answer.status == 401 {
        "invalid signature\n"
    } else {
        "rehearsed failure\n"
    };
    Ok(reply(answer.status, answer.retry_after, text))
}

fn reply(status: u16, retry_after: Option<u64>, text: &'static str) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Some(secs) = retry_after {
        if let Ok(v) = hyper::header::HeaderValue::from_str(&secs.to_string()) {
            resp.headers_mut().insert(hyper::header::RETRY_AFTER, v);
        }
    }
    resp
}

/// Binds a loopback listener (port 0 = ephemeral).
pub async fn bind(addr: SocketAddr) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

//! A small HTTP/1.1 receiver (hyper) shared by `listen` and `demo`. It only converts:
//! every verdict is the core's `Receiver::check`.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use foreman_webhook::{Event, Receiver, Verdict};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{HeaderMap, Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// The verdict on one scheme, as printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// No key configured for it.
    NotUsed,
    /// Verified.
    Valid,
    /// Refused, with the core's reason code.
    Invalid(&'static str),
}

impl Check {
    fn of<E>(r: Option<Result<(), E>>, code: impl Fn(&E) -> &'static str) -> Self {
        match r {
            None => Self::NotUsed,
            Some(Ok(())) => Self::Valid,
            Some(Err(e)) => Self::Invalid(code(&e)),
        }
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
    pub method: Method,
    /// Path and query, as requested.
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub event: Option<Event>,
    pub verdict: Verdict,
}

impl Received {
    pub fn accepted(&self) -> bool {
        self.verdict.accepted()
    }
    /// The reason code when refused.
    pub fn refusal(&self) -> Option<&'static str> {
        self.verdict.result().err().map(|e| e.code())
    }
    pub fn foreman(&self) -> Check {
        Check::of(self.verdict.foreman, |e| e.code())
    }
    pub fn standard(&self) -> Check {
        Check::of(self.verdict.standard, |e| e.code())
    }
    pub fn webhook_id(&self) -> Option<&str> {
        self.verdict.webhook_id.as_deref()
    }
}

/// The answer to give: status, optional `Retry-After` seconds, optional body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<u64>,
    pub body: Option<Bytes>,
}

impl Answer {
    pub fn status(status: u16) -> Self {
        Self {
            status,
            retry_after: None,
            body: None,
        }
    }
}

/// A future answer.
pub type Reply = Pin<Box<dyn Future<Output = Answer> + Send>>;

/// Decides the answer and reports the request: called once per request.
pub type Handler = dyn Fn(Received) -> Reply + Send + Sync;

/// A [`Handler`] from a synchronous decision.
pub fn sync_handler(f: impl Fn(&Received) -> Answer + Send + Sync + 'static) -> Arc<Handler> {
    Arc::new(move |r: Received| {
        let answer = f(&r);
        Box::pin(async move { answer }) as Reply
    })
}

/// Serves until the task is dropped: one task per connection.
pub async fn serve(listener: TcpListener, receiver: Receiver, handler: Arc<Handler>) {
    loop {
        let Ok((stream, _peer)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let receiver = receiver.clone();
        let handler = handler.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| handle(req, receiver.clone(), handler.clone()));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

async fn handle(
    req: Request<Incoming>,
    receiver: Receiver,
    handler: Arc<Handler>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let at = Instant::now();
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, receiver.body_limit()).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return Ok(reply(413, None, Bytes::from_static(b"body_too_large\n"))),
    };
    let verdict = receiver.check(&parts.headers, &body);
    let received = Received {
        at,
        method: parts.method,
        path: parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned()),
        headers: parts.headers,
        event: Event::from_json(&body).ok(),
        body,
        verdict,
    };
    let refusal = received.refusal();
    let answer = handler(received).await;
    let text = match (answer.body, refusal) {
        (Some(b), _) => b,
        (None, Some(code)) if answer.status == 401 => Bytes::from(format!("{code}\n")),
        (None, _) if (200..300).contains(&answer.status) => Bytes::from_static(b"ok\n"),
        (None, _) => Bytes::from_static(b"rehearsed failure\n"),
    };
    Ok(reply(answer.status, answer.retry_after, text))
}

fn reply(status: u16, retry_after: Option<u64>, body: Bytes) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(body));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Some(secs) = retry_after {
        if let Ok(v) = hyper::header::HeaderValue::from_str(&secs.to_string()) {
            resp.headers_mut().insert(hyper::header::RETRY_AFTER, v);
        }
    }
    resp
}

/// Binds a listener (port 0 = ephemeral).
pub async fn bind(addr: SocketAddr) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

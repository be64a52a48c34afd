//! axum integration (feature `axum`): extractors that hand a handler a verified request.
//!
//! ```no_run
//! use axum::{http::StatusCode, routing::post, Router};
//! use foreman_webhook::{axum::Verified, Receiver, Secret};
//!
//! async fn hook(Verified(event): Verified) -> StatusCode {
//!     println!("{} is {}", event.job_id, event.state);
//!     StatusCode::NO_CONTENT
//! }
//!
//! # fn app() -> Result<Router, Box<dyn std::error::Error>> {
//! let receiver = Receiver::builder().foreman_secret(Secret::new("s3cret")?).build()?;
//! let app = Router::new().route("/hooks/foreman", post(hook)).with_state(receiver);
//! # Ok(app) }
//! ```
//!
//! The [`Receiver`] is read from the router state (`Receiver: FromRef<S>`: the state
//! itself, or a field of yours with `#[derive(FromRef)]`). The body is read up to
//! [`Receiver::body_limit`] (default 1 MiB, set with
//! [`ReceiverBuilder::body_limit`](crate::ReceiverBuilder::body_limit)), whatever axum's
//! own `DefaultBodyLimit` is. A refused request never reaches the handler; it is answered
//! with the reason code as a `text/plain` body (see [`Rejection`]).

use axum::body::{Body, Bytes};
use axum::extract::{FromRef, FromRequest, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::{Event, ReceiveError, Receiver};

/// Extracts the verified, decoded [`Event`] of a request (consumes the body: put it last
/// among a handler's arguments).
#[derive(Debug, Clone)]
pub struct Verified(pub Event);

/// Extracts the verified raw body, for handlers that decode it themselves.
#[derive(Debug, Clone)]
pub struct VerifiedBody(pub Bytes);

/// Why an extractor refused a request; its response is the status below with the reason
/// code ([`ReceiveError::code`]) and a newline as a `text/plain` body:
///
/// | refusal                                   | status |
/// |-------------------------------------------|--------|
/// | a signature did not verify, or `replayed` | 401    |
/// | `body_too_large`                          | 413    |
/// | `malformed_event` (verified, not an event) | 400    |
#[derive(Debug)]
pub struct Rejection(pub ReceiveError);

impl Rejection {
    /// The HTTP status this refusal is answered with.
    pub fn status(&self) -> StatusCode {
        match &self.0 {
            e if e.is_unverified() => StatusCode::UNAUTHORIZED,
            ReceiveError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let mut body = String::from(self.0.code());
        body.push('\n');
        let mut resp = Response::new(Body::from(body));
        *resp.status_mut() = self.status();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        resp
    }
}

/// Reads the body under the receiver's limit and verifies it.
async fn verified(req: Request, receiver: &Receiver) -> Result<Bytes, Rejection> {
    let limit = receiver.body_limit();
    let too_large = || Rejection(ReceiveError::BodyTooLarge { limit });
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let (parts, body) = req.into_parts();
    // An error here is the limit or a broken connection; either way nothing was verified.
    let body = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large())?;
    receiver.verify(&parts.headers, &body).map_err(Rejection)?;
    Ok(body)
}

impl<S> FromRequest<S> for VerifiedBody
where
    Receiver: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Rejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let receiver = Receiver::from_ref(state);
        verified(req, &receiver).await.map(VerifiedBody)
    }
}

impl<S> FromRequest<S> for Verified
where
    Receiver: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Rejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let receiver = Receiver::from_ref(state);
        let body = verified(req, &receiver).await?;
        Event::from_json(&body)
            .map(Verified)
            .map_err(|e| Rejection(ReceiveError::MalformedEvent(e)))
    }
}

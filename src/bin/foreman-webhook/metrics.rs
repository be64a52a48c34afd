//! `relay --metrics-addr`: the dispatcher's OpenTelemetry metrics (feature `otel`) served
//! in Prometheus text format at `GET /metrics`, through the SDK's Prometheus exporter.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use foreman_webhook::native::otel::Otel;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use opentelemetry::trace::noop::NoopTracerProvider;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use prometheus::{Encoder, Registry, TextEncoder};

use crate::shared::Failure;

/// The meter provider behind the endpoint; keep it alive while the relay runs.
pub struct Metrics {
    _provider: SdkMeterProvider,
}

/// Binds `addr`, starts serving `/metrics`, and returns the instruments for the
/// dispatcher.
pub async fn serve(addr: SocketAddr) -> Result<(Otel, Metrics), Failure> {
    let registry = Registry::new();
    let exporter = opentelemetry_prometheus::exporter()
        .with_registry(registry.clone())
        .build()
        .map_err(|e| Failure::usage(format!("metrics exporter: {e}")))?;
    let provider = SdkMeterProvider::builder().with_reader(exporter).build();
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Failure::usage(format!("--metrics-addr {addr}: {e}")))?;
    let local = listener.local_addr().unwrap_or(addr);
    eprintln!("relay: metrics at http://{local}/metrics");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let registry = registry.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: Request<Incoming>| {
                    let registry = registry.clone();
                    async move { Ok::<_, Infallible>(answer(&req, &registry)) }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    let otel = Otel::new(&NoopTracerProvider::new(), &provider);
    Ok((
        otel,
        Metrics {
            _provider: provider,
        },
    ))
}

fn answer(req: &Request<Incoming>, registry: &Registry) -> Response<Full<Bytes>> {
    let reply = |status: StatusCode, ctype: &str, body: Vec<u8>| {
        let mut r = Response::new(Full::new(Bytes::from(body)));
        *r.status_mut() = status;
        if let Ok(v) = ctype.parse() {
            r.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
        }
        r
    };
    if req.method() != Method::GET || req.uri().path() != "/metrics" {
        return reply(
            StatusCode::NOT_FOUND,
            "text/plain",
            b"GET /metrics\n".to_vec(),
        );
    }
    let encoder = TextEncoder::new();
    let mut body = Vec::new();
    match encoder.encode(&registry.gather(), &mut body) {
        Ok(()) => reply(StatusCode::OK, encoder.format_type(), body),
        Err(e) => reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            "text/plain",
            e.to_string().into_bytes(),
        ),
    }
}

//! `relay --metrics-addr`: the dispatcher's OpenTelemetry metrics (feature `otel`) served
//! in Prometheus text format at `GET /metrics`, through the SDK's Prometheus exporter.
//! With `--otlp-endpoint` too, the reader joins the OTLP meter provider: one set of
//! instruments, two exporters.

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
use opentelemetry_prometheus::PrometheusExporter;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use prometheus::{Encoder, Registry, TextEncoder};

use crate::shared::Failure;

/// The meter provider behind the endpoint (when the endpoint has its own); keep it alive
/// while the relay runs.
pub struct Metrics {
    _provider: Option<SdkMeterProvider>,
}

/// The bound endpoint and its Prometheus reader, before serving.
pub struct Prometheus {
    registry: Registry,
    listener: std::net::TcpListener,
    reader: Option<PrometheusExporter>,
}

impl Prometheus {
    /// Binds `addr` (outside the runtime, so a busy port is a usage error at once) and
    /// makes the exporter.
    pub fn bind(addr: SocketAddr) -> Result<Self, Failure> {
        let registry = Registry::new();
        let reader = opentelemetry_prometheus::exporter()
            .with_registry(registry.clone())
            .build()
            .map_err(|e| Failure::usage(format!("metrics exporter: {e}")))?;
        let listener = std::net::TcpListener::bind(addr)
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|e| Failure::usage(format!("--metrics-addr {addr}: {e}")))?;
        Ok(Self {
            registry,
            listener,
            reader: Some(reader),
        })
    }

    /// Hands the reader to another meter provider (the OTLP one), so one set of
    /// instruments feeds both exporters.
    pub fn take_reader(&mut self) -> Option<PrometheusExporter> {
        self.reader.take()
    }

    /// Starts serving `/metrics` (inside the runtime). Returns the instruments for the
    /// dispatcher when the reader is still here (no OTLP provider took it).
    pub fn serve(self) -> Result<(Option<Otel>, Metrics), Failure> {
        let addr = self.listener.local_addr().ok();
        let listener = tokio::net::TcpListener::from_std(self.listener)
            .map_err(|e| Failure::usage(format!("--metrics-addr: {e}")))?;
        if let Some(local) = addr {
            eprintln!("relay: metrics at http://{local}/metrics");
        }
        let registry = self.registry;
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
        Ok(match self.reader {
            Some(reader) => {
                let provider = SdkMeterProvider::builder().with_reader(reader).build();
                let otel = Otel::metrics_only(&provider);
                (
                    Some(otel),
                    Metrics {
                        _provider: Some(provider),
                    },
                )
            }
            None => (None, Metrics { _provider: None }),
        })
    }
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

//! `relay --otlp-endpoint URL`: the dispatcher's spans and metrics (feature `otel`)
//! exported over OTLP/HTTP (protobuf) by opentelemetry-otlp, to `URL/v1/traces` and
//! `URL/v1/metrics` (the `OTEL_EXPORTER_OTLP_ENDPOINT` convention).

use std::time::Duration;

use foreman_webhook::native::otel::Otel;
use opentelemetry_otlp::{MetricExporter, Protocol, SpanExporter, WithExportConfig};
use opentelemetry_sdk::metrics::{MeterProviderBuilder, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;

use crate::shared::Failure;

/// The providers behind the exporters; [`shutdown`](Self::shutdown) flushes them.
pub struct Otlp {
    pub otel: Otel,
    tracer: SdkTracerProvider,
    meter: SdkMeterProvider,
}

impl Otlp {
    /// Builds the exporters. Call outside the async runtime: the blocking HTTP client
    /// they use runs its own. `more` adds readers to the meter provider (the Prometheus
    /// endpoint's, when both are asked for).
    pub fn start(
        endpoint: &str,
        interval: Duration,
        more: impl FnOnce(MeterProviderBuilder) -> MeterProviderBuilder,
    ) -> Result<Self, Failure> {
        let base = endpoint.trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Failure::usage(format!(
                "--otlp-endpoint {endpoint}: give an http:// or https:// URL"
            )));
        }
        let failed = |e: &dyn std::fmt::Display| Failure::usage(format!("--otlp-endpoint: {e}"));
        let spans = SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(format!("{base}/v1/traces"))
            .build()
            .map_err(|e| failed(&e))?;
        let metrics = MetricExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(format!("{base}/v1/metrics"))
            .build()
            .map_err(|e| failed(&e))?;
        let resource = Resource::builder()
            .with_service_name("foreman-webhook-relay")
            .build();
        let tracer = SdkTracerProvider::builder()
            .with_batch_exporter(spans)
            .with_resource(resource.clone())
            .build();
        let meter = more(
            SdkMeterProvider::builder()
                .with_reader(
                    PeriodicReader::builder(metrics)
                        .with_interval(interval)
                        .build(),
                )
                .with_resource(resource),
        )
        .build();
        let otel = Otel::new(&tracer, &meter);
        Ok(Self {
            otel,
            tracer,
            meter,
        })
    }

    /// Exports what is left and stops the exporters (call outside the async runtime).
    pub fn shutdown(self) {
        if let Err(e) = self.tracer.shutdown() {
            eprintln!("relay: OTLP span export at shutdown failed: {e}");
        }
        if let Err(e) = self.meter.shutdown() {
            eprintln!("relay: OTLP metric export at shutdown failed: {e}");
        }
    }
}

//! OpenTelemetry: agentkit's spans exported over OTLP (feature `otel`).
//!
//! Every agent call is a span named `chat {model}` carrying the GenAI
//! semantic-convention attributes (`gen_ai.operation.name`,
//! `gen_ai.system`, `gen_ai.request.model`, `gen_ai.request.temperature`,
//! `gen_ai.request.max_tokens`, `gen_ai.usage.input_tokens`,
//! `gen_ai.usage.output_tokens`, `gen_ai.usage.cache_read.input_tokens`,
//! `gen_ai.usage.reasoning.output_tokens`, `gen_ai.response.finish_reasons`,
//! `error.type`), under one `chain` span per chain run. Jaeger, Grafana
//! Tempo, Langfuse and Phoenix read them.
//!
//! ```no_run
//! # fn main() -> Result<(), agentkit::otel::OtelError> {
//! // Sends to an OpenTelemetry collector on this machine (OTLP over HTTP,
//! // `http://localhost:4318/v1/traces`, or `$OTEL_EXPORTER_OTLP_ENDPOINT`).
//! let _traces = agentkit::otel::Otel::new("forum-pipeline").install()?;
//! // ... run the pipeline; the spans are flushed when `_traces` is dropped.
//! # Ok(())
//! # }
//! ```
//!
//! Prompts and answers go on the spans (`gen_ai.input.messages`,
//! `gen_ai.output.messages`) only after [`Otel::record_content`]: they may
//! hold what users wrote.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use tracing_opentelemetry::OpenTelemetryLayer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

/// What can go wrong setting up the export.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OtelError {
    /// The OTLP exporter could not be built (a malformed endpoint, say).
    #[error("could not build the OTLP exporter: {0}; check the endpoint URL (e.g. `http://localhost:4318/v1/traces`)")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    /// Another global `tracing` subscriber is already installed.
    #[error("a global tracing subscriber is already set: {0}; add `agentkit::otel::layer(&provider)` to that subscriber instead of calling `install`")]
    Subscriber(#[from] tracing_subscriber::util::TryInitError),
}

/// The one-call setup: an OTLP exporter, a tracer provider naming the
/// service, and a global `tracing` subscriber that sends agentkit's spans
/// to it.
#[derive(Debug, Clone)]
pub struct Otel {
    service: String,
    endpoint: Option<String>,
    content: bool,
}

impl Otel {
    /// Traces of the service `service` (`service.name` in the collector).
    pub fn new(service: impl Into<String>) -> Otel {
        Otel {
            service: service.into(),
            endpoint: None,
            content: false,
        }
    }

    /// Sends to `url`, the collector's OTLP/HTTP traces URL
    /// (`http://collector:4318/v1/traces`). Without it: the standard
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT`
    /// variables, else `http://localhost:4318/v1/traces`.
    pub fn endpoint(mut self, url: impl Into<String>) -> Otel {
        self.endpoint = Some(url.into());
        self
    }

    /// Records prompts and answers on the spans (`false` by default: they
    /// may hold what users wrote). Applies to the whole process.
    pub fn record_content(mut self, on: bool) -> Otel {
        self.content = on;
        self
    }

    /// Builds the exporter and installs the global subscriber. Keep the
    /// guard for as long as spans should be sent: dropping it sends what is
    /// left and shuts the export down.
    pub fn install(self) -> Result<OtelGuard, OtelError> {
        let mut exporter = opentelemetry_otlp::SpanExporter::builder().with_http();
        if let Some(url) = &self.endpoint {
            exporter = exporter.with_endpoint(url.clone());
        }
        let provider = self.provider(exporter.build()?);
        tracing_subscriber::registry()
            .with(layer(&provider))
            .try_init()?;
        Ok(OtelGuard { provider })
    }

    /// A tracer provider for this service sending to `exporter` in batches,
    /// with content recorded as [`Otel::record_content`] says: for a
    /// subscriber of one's own (with [`layer`]), or another exporter (the
    /// SDK's in-memory one in tests).
    pub fn provider(
        &self,
        exporter: impl opentelemetry_sdk::trace::SpanExporter + 'static,
    ) -> SdkTracerProvider {
        crate::genai::set_record_content(self.content);
        SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(
                Resource::builder()
                    .with_service_name(self.service.clone())
                    .build(),
            )
            .build()
    }
}

/// A `tracing` layer that turns spans into OpenTelemetry spans of
/// `provider`: to add to a subscriber of one's own.
pub fn layer<S>(provider: &SdkTracerProvider) -> OpenTelemetryLayer<S, SdkTracer>
where
    S: tracing::Subscriber + for<'span> LookupSpan<'span>,
{
    tracing_opentelemetry::layer().with_tracer(provider.tracer("agentkit"))
}

/// Keeps the export running; dropping it flushes and shuts it down.
#[derive(Debug)]
pub struct OtelGuard {
    provider: SdkTracerProvider,
}

impl OtelGuard {
    /// The tracer provider, to flush by hand (`force_flush`).
    pub fn provider(&self) -> &SdkTracerProvider {
        &self.provider
    }
}

impl Drop for OtelGuard {
    fn drop(&mut self) {
        if let Err(e) = self.provider.shutdown() {
            tracing::warn!(error = %e, "the OpenTelemetry export did not shut down cleanly");
        }
    }
}

//! A tracing layer that keeps every closed span with its fields, for the
//! tests that check what spans a run leaves.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::Subscriber;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// A span as it was when it closed: its name and every field recorded.
#[derive(Debug, Clone)]
pub struct ClosedSpan {
    pub name: &'static str,
    pub fields: BTreeMap<&'static str, String>,
}

/// A layer that keeps every closed span.
#[derive(Clone, Default)]
pub struct Capture {
    closed: Arc<Mutex<Vec<ClosedSpan>>>,
}

impl Capture {
    pub fn closed(&self) -> Vec<ClosedSpan> {
        self.closed.lock().unwrap().clone()
    }
}

#[derive(Default)]
struct Fields(BTreeMap<&'static str, String>);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name(), value.to_string());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name(), format!("{value:?}"));
    }
}

impl<S> Layer<S> for Capture
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(fields);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            if let Some(fields) = span.extensions_mut().get_mut::<Fields>() {
                values.record(fields);
            }
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(&id) {
            let fields = span
                .extensions()
                .get::<Fields>()
                .map(|f| f.0.clone())
                .unwrap_or_default();
            self.closed.lock().unwrap().push(ClosedSpan {
                name: span.name(),
                fields,
            });
        }
    }
}

/// The value of `field` on `span`, or a panic that shows the span.
pub fn field<'a>(span: &'a ClosedSpan, field: &str) -> &'a str {
    span.fields
        .get(field)
        .unwrap_or_else(|| panic!("`{field}` was recorded on {span:?}"))
}

/// Runs `future` to its end on a current-thread runtime (which polls
/// everything on this thread, where the capturing subscriber is the
/// default), and returns its output with every span that closed meanwhile.
pub fn run_captured<F: std::future::Future>(future: F) -> (F::Output, Vec<ClosedSpan>) {
    use tracing_subscriber::layer::SubscriberExt;
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let out = tracing::subscriber::with_default(subscriber, || runtime.block_on(future));
    (out, capture.closed())
}

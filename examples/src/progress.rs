//! A progress line on stderr, driven by the `agent` tracing spans agentkit
//! opens for every model call: no prints inside the pipeline.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::Subscriber;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;
use tracing_subscriber::registry::LookupSpan;

/// Counts finished agent calls per agent and redraws one status line.
#[derive(Default)]
pub struct Progress {
    done: Mutex<BTreeMap<String, usize>>,
}

struct AgentName(String);

struct NameVisitor(Option<String>);

impl Visit for NameVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "agent" {
            self.0 = Some(value.to_string());
        }
    }
    fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
}

impl<S> Layer<S> for Progress
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if attrs.metadata().name() != "agent" {
            return;
        }
        let mut visitor = NameVisitor(None);
        attrs.record(&mut visitor);
        if let (Some(name), Some(span)) = (visitor.0, ctx.span(id)) {
            span.extensions_mut().insert(AgentName(name));
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(name) = span.extensions().get::<AgentName>().map(|n| n.0.clone()) else {
            return;
        };
        let mut done = self.done.lock().unwrap_or_else(|p| p.into_inner());
        *done.entry(name).or_default() += 1;
        let line: Vec<String> = done.iter().map(|(a, n)| format!("{a} {n}")).collect();
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r  model calls done: {}   ", line.join(" · "));
        let _ = err.flush();
    }
}

/// Installs the progress line for the rest of the process.
pub fn install() {
    let _ = tracing_subscriber::registry()
        .with(Progress::default())
        .try_init();
}

/// Ends the progress line so the next output starts on a fresh one.
pub fn finish() {
    eprintln!();
}

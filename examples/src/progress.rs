//! Progress bars on stderr, one per pipeline stage, drawn by `indicatif` and
//! driven by tracing spans: no prints inside the pipeline.
//!
//! A stage is a [`stage`] span wrapped around the part of a pipeline that
//! fans out (its number of model calls is known by then); agentkit opens an
//! `agent` span for every model call, and each one that closes inside a stage
//! moves that stage's bar on by one. Bars show the count, the rate and an
//! estimate of the time left.
//!
//! When stderr is not a terminal (a pipe, a log file, `TERM=dumb`) nothing is
//! redrawn: each stage prints one plain line when it ends instead.
//!
//! ```no_run
//! use tracing::Instrument;
//!
//! # async fn demo() {
//! agentkit_examples::progress::install();
//! let threads = vec!["a", "b"];
//! async { /* one model call per thread */ }
//!     .instrument(agentkit_examples::progress::stage("find", threads.len()))
//!     .await;
//! # }
//! ```

use std::fmt::Write as _;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressState, ProgressStyle};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::Subscriber;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;
use tracing_subscriber::registry::LookupSpan;

/// The name of the spans [`stage`] opens.
const STAGE: &str = "stage";

/// A span for one pipeline stage named `name` that makes `calls` model calls:
/// run the stage inside it (`future.instrument(stage(..))`) and its bar counts
/// the `agent` spans that close within it.
pub fn stage(name: &str, calls: usize) -> tracing::Span {
    tracing::info_span!(STAGE, stage = name, calls = calls as u64)
}

/// A tracing layer that draws a bar per [`stage`] span. [`install`] sets it
/// up on its own; add it to your own subscriber to combine it with others.
pub struct Progress {
    bars: MultiProgress,
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress {
    /// Bars on stderr, hidden when stderr is not a terminal.
    pub fn new() -> Self {
        Self {
            bars: MultiProgress::new(),
        }
    }
}

/// The bar of one stage, kept in its span's extensions.
struct StageBar {
    name: String,
    bar: ProgressBar,
}

/// Reads a stage span's `stage` and `calls` fields.
#[derive(Default)]
struct StageFields {
    name: Option<String>,
    calls: u64,
}

impl Visit for StageFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "stage" {
            self.name = Some(value.to_string());
        }
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "calls" {
            self.calls = value;
        }
    }
    fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
}

/// Model calls per second, or seconds per call when calls are slower than
/// one a second (as they are on a small CPU).
fn rate(state: &ProgressState, w: &mut dyn std::fmt::Write) {
    // While running, indicatif's recent-weighted estimate; once done, the
    // plain average over the whole stage.
    let per_sec = if state.is_finished() {
        state.pos() as f64 / state.elapsed().as_secs_f64()
    } else {
        state.per_sec()
    };
    let _ = if state.pos() == 0 || !per_sec.is_finite() || per_sec <= 0.0 {
        write!(w, "-- s/call")
    } else if per_sec < 1.0 {
        write!(w, "{:.1} s/call", 1.0 / per_sec)
    } else {
        write!(w, "{per_sec:.1} calls/s")
    };
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .with_key("rate", rate)
        .progress_chars("=> ")
}

fn running() -> ProgressStyle {
    style("{prefix:>6} [{bar:30}] {pos}/{len} calls · {rate} · {elapsed} · ETA {eta}")
}

fn done() -> ProgressStyle {
    style("{prefix:>6} [{bar:30}] {pos}/{len} calls · {rate} · {elapsed}")
}

impl<S> Layer<S> for Progress
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if attrs.metadata().name() != STAGE {
            return;
        }
        let mut fields = StageFields::default();
        attrs.record(&mut fields);
        let (Some(name), Some(span)) = (fields.name, ctx.span(id)) else {
            return;
        };
        let bar = self.bars.add(ProgressBar::new(fields.calls));
        bar.set_style(running());
        bar.set_prefix(name.clone());
        if !self.bars.is_hidden() {
            // Calls take seconds each: tick so the elapsed time and ETA move.
            bar.enable_steady_tick(Duration::from_millis(500));
        }
        span.extensions_mut().insert(StageBar { name, bar });
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        match span.name() {
            "agent" => {
                // The nearest enclosing stage, if any, counts this call.
                for ancestor in span.scope().skip(1) {
                    if let Some(stage) = ancestor.extensions().get::<StageBar>() {
                        stage.bar.inc(1);
                        return;
                    }
                }
            }
            STAGE => {
                let extensions = span.extensions();
                let Some(StageBar { name, bar }) = extensions.get::<StageBar>() else {
                    return;
                };
                bar.set_style(done());
                if bar.length().is_some_and(|len| bar.position() < len) {
                    // Stopped early (an error): leave the bar where it stopped.
                    bar.abandon();
                } else {
                    bar.finish();
                }
                if self.bars.is_hidden() {
                    let mut line = format!(
                        "{name}: {}/{} model calls in {:.1} s",
                        bar.position(),
                        bar.length().unwrap_or(0),
                        bar.elapsed().as_secs_f64()
                    );
                    if bar.position() > 0 {
                        let _ = write!(
                            line,
                            " ({:.1} s/call)",
                            bar.elapsed().as_secs_f64() / bar.position() as f64
                        );
                    }
                    eprintln!("{line}");
                }
            }
            _ => {}
        }
    }
}

/// Installs the progress bars as the process's tracing subscriber (does
/// nothing if one is already installed) and returns the bars' handle, for
/// live lines of your own beside them ([`Progress::drafts`]).
pub fn install() -> Progress {
    let progress = Progress::new();
    let handle = Progress {
        bars: progress.bars.clone(),
    };
    let _ = tracing_subscriber::registry().with(progress).try_init();
    handle
}

impl Progress {
    /// Whether the bars are drawn (stderr is a terminal).
    pub fn is_live(&self) -> bool {
        !self.bars.is_hidden()
    }

    /// Live lines for replies being written: one per reply in progress,
    /// showing its end as it grows, printed whole above the bars when done.
    pub fn drafts(&self) -> LiveDrafts {
        LiveDrafts {
            bars: self.bars.clone(),
            lines: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }
}

/// The live lines of [`Progress::drafts`].
pub struct LiveDrafts {
    bars: MultiProgress,
    lines: std::sync::Mutex<std::collections::HashMap<String, ProgressBar>>,
}

/// How many characters of a reply being written a live line shows.
const TAIL: usize = 72;

impl LiveDrafts {
    /// The reply to `title` so far is `reply`.
    pub fn writing(&self, title: &str, reply: &str) {
        let mut lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        let line = lines.entry(title.to_string()).or_insert_with(|| {
            let line = self.bars.add(ProgressBar::new_spinner());
            line.set_style(
                ProgressStyle::with_template("  ✎ {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            line
        });
        let chars: Vec<char> = reply.chars().collect();
        let tail: String = chars[chars.len().saturating_sub(TAIL)..].iter().collect();
        let ellipsis = if chars.len() > TAIL { "…" } else { "" };
        line.set_message(format!(
            "{}: {ellipsis}{}",
            short(title),
            tail.replace('\n', " ")
        ));
    }

    /// The reply to `title` is done: its line goes, the whole reply is printed.
    pub fn done(&self, title: &str, reply: &str) {
        if let Some(line) = self
            .lines
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(title)
        {
            line.finish_and_clear();
        }
        let _ = self
            .bars
            .println(format!("  draft for \"{title}\":\n    {reply}"));
    }
}

/// A title cut to fit a line.
fn short(title: &str) -> String {
    let chars: Vec<char> = title.chars().collect();
    if chars.len() <= 32 {
        title.to_string()
    } else {
        format!("{}…", chars[..31].iter().collect::<String>())
    }
}

//! OpenTelemetry (feature `otel`): a chain's spans through the SDK's
//! in-memory exporter carry the GenAI semantic-convention attributes, the
//! agents' spans are children of the chain's, their token counts add up to
//! the runtime's `Usage`, a failure names its error type, and prompts are
//! recorded only once the user opts in.
//!
//! One test in its own binary: `tracing` caches per call site whether a
//! subscriber is interested, and the subscriber here is thread-local.

use agentkit::otel::{layer, Otel};
use agentkit::prelude::*;
use agentkit_test::ScriptedBackend;
use opentelemetry::Value;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use serde_json::json;
use tracing_subscriber::layer::SubscriberExt;

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
struct Post {
    text: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
struct Summary {
    summary: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
struct Tags {
    tags: Vec<String>,
}

/// Summarise the post in one sentence.
#[agent(model = "smollm2-135m", temperature = 0.2, max_tokens = 64, input = Post, output = Summary)]
struct Summarise;

/// Tag the summary.
#[agent(model = "smollm2-135m", temperature = 0.0, max_tokens = 32, input = Summary, output = Tags)]
struct Tag;

/// The value of attribute `key` on `span`.
fn attr(span: &SpanData, key: &str) -> Option<Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.clone())
}

fn int(span: &SpanData, key: &str) -> i64 {
    match attr(span, key) {
        Some(Value::I64(n)) => n,
        other => panic!("`{key}` on {}: {other:?}", span.name),
    }
}

fn text(span: &SpanData, key: &str) -> String {
    match attr(span, key) {
        Some(v) => v.as_str().into_owned(),
        None => panic!("`{key}` is not on {}: {:?}", span.name, span.attributes),
    }
}

/// Runs `work` on a current-thread runtime with `provider`'s layer as the
/// default subscriber, then the spans it exported.
fn traced<T>(
    provider: &SdkTracerProvider,
    exporter: &InMemorySpanExporter,
    work: impl std::future::Future<Output = T>,
) -> (T, Vec<SpanData>) {
    let subscriber = tracing_subscriber::registry().with(layer(provider));
    let out = tracing::subscriber::with_default(subscriber, || {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
            .block_on(work)
    });
    provider.force_flush().unwrap();
    let spans = exporter.get_finished_spans().unwrap();
    exporter.reset();
    (out, spans)
}

#[test]
fn a_chains_spans_carry_the_genai_attributes() {
    let exporter = InMemorySpanExporter::default();
    let provider = Otel::new("otel-test").provider(exporter.clone());
    let script = ScriptedBackend::new()
        .reply::<Summarise>(json!({ "summary": "A Pi 5 runs a small model." }))
        .reply::<Tag>(json!({ "tags": ["pi", "llama.cpp"] }));
    let runtime = Runtime::builder().backend(script.clone()).build();
    let post = Post {
        text: "Which quantisation keeps a 135M model fast on a Pi 5?".into(),
    };

    let (tags, spans) = traced(
        &provider,
        &exporter,
        Summarise.then(Tag).run(&runtime, post.clone()),
    );
    assert_eq!(tags.unwrap().tags, ["pi", "llama.cpp"]);

    let chain: Vec<&SpanData> = spans.iter().filter(|s| s.name == "chain").collect();
    assert_eq!(chain.len(), 1, "one span for the chain, however it nests");
    let chain = chain[0];
    let agents: Vec<&SpanData> = spans
        .iter()
        .filter(|s| s.name.starts_with("chat "))
        .collect();
    assert_eq!(agents.len(), 2, "{spans:?}");
    for span in &agents {
        assert_eq!(span.name, "chat smollm2-135m");
        assert_eq!(
            span.parent_span_id,
            chain.span_context.span_id(),
            "nested under the chain"
        );
        assert_eq!(text(span, "gen_ai.operation.name"), "chat");
        assert_eq!(text(span, "gen_ai.request.model"), "smollm2-135m");
        assert_eq!(text(span, "gen_ai.response.finish_reasons"), "stop");
        // Content is off by default.
        assert!(attr(span, "gen_ai.input.messages").is_none());
        assert!(attr(span, "gen_ai.output.messages").is_none());
        assert!(attr(span, "error.type").is_none());
    }
    let by_agent = |name: &str| {
        *agents
            .iter()
            .find(|s| text(s, "gen_ai.agent.name") == name)
            .unwrap()
    };
    let (summarise, tag) = (by_agent("Summarise"), by_agent("Tag"));
    assert_eq!(
        attr(summarise, "gen_ai.request.temperature"),
        Some(Value::F64(0.2f32 as f64))
    );
    assert_eq!(int(summarise, "gen_ai.request.max_tokens"), 64);
    assert_eq!(int(tag, "gen_ai.request.max_tokens"), 32);
    // The spans' tokens add up to what the runtime counted.
    let usage = runtime.usage();
    let sum = |key: &str| agents.iter().map(|s| int(s, key)).sum::<i64>();
    assert_eq!(sum("gen_ai.usage.input_tokens"), usage.prompt_tokens as i64);
    assert_eq!(
        sum("gen_ai.usage.cache_read.input_tokens"),
        usage.cached_prompt_tokens as i64
    );
    assert_eq!(
        sum("gen_ai.usage.output_tokens"),
        (usage.generated_tokens + usage.reasoning_tokens) as i64
    );
    assert!(usage.generated_tokens > 0);
    assert_eq!(
        sum("gen_ai.usage.reasoning.output_tokens"),
        usage.reasoning_tokens as i64
    );

    // A failure: its variant as `error.type`, the span's status an error.
    let failing = ScriptedBackend::new().reply_raw::<Summarise>("not json at all");
    let runtime = Runtime::builder().backend(failing).build();
    let (result, spans) = traced(&provider, &exporter, Summarise.run(&runtime, post.clone()));
    assert!(result.is_err());
    let span = spans.iter().find(|s| s.name.starts_with("chat ")).unwrap();
    assert_eq!(text(span, "error.type"), "Parse");
    assert!(
        matches!(span.status, opentelemetry::trace::Status::Error { .. }),
        "{:?}",
        span.status
    );

    // Opted in: the prompt and the answer are on the span.
    let provider = Otel::new("otel-test")
        .record_content(true)
        .provider(exporter.clone());
    let script = ScriptedBackend::new().reply::<Summarise>(json!({ "summary": "short" }));
    let runtime = Runtime::builder().backend(script).build();
    let (_, spans) = traced(&provider, &exporter, Summarise.run(&runtime, post.clone()));
    let span = spans.iter().find(|s| s.name.starts_with("chat ")).unwrap();
    assert!(text(span, "gen_ai.input.messages").contains("135M model fast"));
    assert!(text(span, "gen_ai.output.messages").contains("short"));
}

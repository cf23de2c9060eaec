//! Tools: a Rust function as a step, chained on either side of an agent or
//! mapped into its input, whose own error is kept as the source when it fails.

mod common;

use std::sync::{Arc, Mutex};

use agentkit::prelude::*;
use agentkit_test::ScriptedBackend;
use common::{numbers, runtime_for, sent_input, Score, Summary, Tag, Tags, Thread, Verdict};
use serde_json::json;

#[tokio::test]
async fn a_tool_chains_like_an_agent_on_both_sides() {
    let script = ScriptedBackend::new()
        .reply::<Score>(json!({ "relevant": true, "reason": "asks about llama.cpp" }));
    let runtime = runtime_for(&script);
    let stored = Arc::new(Mutex::new(Vec::new()));
    let store = Arc::clone(&stored);

    let fetch = tool("fetch", |url: String| async move {
        Ok::<_, std::io::Error>(Thread {
            title: format!("page at {url}"),
            body: "how do I run a gguf?".into(),
        })
    });
    let save = tool("save", move |v: Verdict| {
        let store = Arc::clone(&store);
        async move {
            store.lock().unwrap().push(v.reason.clone());
            Ok::<_, std::io::Error>(v.relevant)
        }
    });
    let pipeline = fetch.then(Score).then(save);
    let relevant: bool = pipeline
        .run(&runtime, "https://forum.invalid/1".to_string())
        .await
        .unwrap();

    assert!(relevant);
    assert_eq!(*stored.lock().unwrap(), ["asks about llama.cpp"]);
    assert_eq!(
        sent_input(&script.calls()[0]),
        json!({ "title": "page at https://forum.invalid/1", "body": "how do I run a gguf?" })
    );
}

#[tokio::test]
async fn map_adapts_between_a_tool_and_an_agent() {
    let script =
        ScriptedBackend::new().reply::<Tag>(json!({ "tags": ["gguf", "pi", "quantisation"] }));
    let runtime = runtime_for(&script);
    let pipeline = numbers()
        .map(|ns: Vec<usize>| Summary {
            text: format!("{} numbers", ns.len()),
        })
        .then(Tag)
        .map(|t: Tags| t.tags.join("+"));
    assert_eq!(
        pipeline.run(&runtime, 4).await.unwrap(),
        "gguf+pi+quantisation"
    );
    assert_eq!(
        sent_input(&script.calls()[0]),
        json!({ "text": "4 numbers" })
    );
}

#[tokio::test]
async fn a_failing_tool_is_an_error_naming_the_tool_with_its_source() {
    let script =
        ScriptedBackend::new().reply::<Score>(json!({ "relevant": true, "reason": "never used" }));
    let runtime = runtime_for(&script);
    let fetch = tool("fetch page", |url: String| async move {
        Err::<Thread, _>(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("no page at {url}"),
        ))
    });

    let err = fetch
        .then(Score)
        .run(&runtime, "https://forum.invalid/404".to_string())
        .await
        .unwrap_err();

    let message = err.to_string();
    let Error::Tool { tool: name, source } = &err else {
        panic!("expected Error::Tool, got {err:?}");
    };
    assert_eq!(name, "fetch page");
    let io = source
        .downcast_ref::<std::io::Error>()
        .expect("the tool's own error is kept");
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
    assert_eq!(io.to_string(), "no page at https://forum.invalid/404");
    // The error chain reaches the tool's error too.
    let chained = std::error::Error::source(&err).expect("a source");
    assert_eq!(chained.to_string(), "no page at https://forum.invalid/404");
    assert_eq!(
        message,
        "tool `fetch page` failed: no page at https://forum.invalid/404"
    );
    assert!(script.calls().is_empty(), "the agent after it never ran");
}

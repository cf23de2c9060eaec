//! The tool loop on the scripted backend: turns, parallel calls, errors fed
//! back, the turn limit, cancellation, and what each request carried.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use agentkit::prelude::*;
use agentkit::tools::{run_with_transcript, ToolOutcome};
use agentkit::{tool, Role};
use agentkit_test::ScriptedBackend;
use serde_json::json;

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
struct Question {
    question: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Reply {
    text: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
struct PriceOf {
    product: String,
}

#[derive(Debug, Serialize)]
struct Price {
    euros: u32,
}

/// Look up the price of one product in the catalogue.
#[tool]
async fn price_of(args: PriceOf) -> Result<Price, String> {
    match args.product.as_str() {
        "keyboard" => Ok(Price { euros: 45 }),
        "mouse" => Ok(Price { euros: 20 }),
        other => Err(format!(
            "no product called {other:?}; try keyboard or mouse"
        )),
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
struct Sum {
    a: u32,
    b: u32,
}

/// Add two whole numbers.
#[tool]
async fn add(args: Sum) -> u32 {
    args.a + args.b
}

/// Answer the question, looking up prices and adding them as needed.
#[agent(model = "smollm2-135m", input = Question, output = Reply, tools = [price_of, add], max_turns = 4)]
struct Shop;

fn runtime(script: &ScriptedBackend) -> Runtime {
    Runtime::builder().backend(script.clone()).build()
}

fn question() -> Question {
    Question {
        question: "What do a keyboard and a mouse cost together?".into(),
    }
}

#[tokio::test]
async fn a_task_that_needs_two_tools_takes_several_turns() {
    let script = ScriptedBackend::new()
        .reply::<Shop>(json!({"calls": [{"tool": "price_of", "args": {"product": "keyboard"}}, {"tool": "price_of", "args": {"product": "mouse"}}]}))
        .reply::<Shop>(json!({"calls": [{"tool": "add", "args": {"a": 45, "b": 20}}]}))
        .reply::<Shop>(json!({"answer": {"text": "65 euros"}}));
    let rt = runtime(&script);
    let (reply, transcript) = run_with_transcript(&Shop, &rt, question()).await.unwrap();
    assert_eq!(reply.text, "65 euros");
    assert_eq!(transcript.turns.len(), 3);
    let outcomes: Vec<&ToolOutcome> = transcript.calls().map(|(_, o)| o).collect();
    assert_eq!(
        outcomes,
        vec![
            &ToolOutcome::Result(json!({"euros": 45})),
            &ToolOutcome::Result(json!({"euros": 20})),
            &ToolOutcome::Result(json!(65)),
        ]
    );
    assert_eq!(rt.usage().tool_calls, 3);
    assert_eq!(rt.usage().calls, 3);

    // Each turn's request is the last one grown by the model's turn and one
    // tool message per call.
    let calls = script.calls_for::<Shop>();
    let roles =
        |i: usize| -> Vec<Role> { calls[i].prompt.messages.iter().map(|m| m.role).collect() };
    assert_eq!(roles(0), vec![Role::System, Role::User]);
    assert_eq!(
        roles(1),
        vec![
            Role::System,
            Role::User,
            Role::Assistant,
            Role::Tool,
            Role::Tool
        ]
    );
    assert_eq!(roles(2).len(), 7);
    let results = &calls[1].prompt.messages[3..5];
    assert_eq!(
        results[0].content,
        r#"{"tool":"price_of","result":{"euros":45}}"#
    );
    assert_eq!(
        results[1].content,
        r#"{"tool":"price_of","result":{"euros":20}}"#
    );
    let system = &calls[0].prompt.messages[0].content;
    assert!(
        system.contains("- price_of: Look up the price of one product in the catalogue."),
        "{system}"
    );
    assert!(system.contains("- add: Add two whole numbers."), "{system}");
    assert!(system.contains("\"answer\""), "{system}");
}

#[tokio::test]
async fn a_failing_tool_is_fed_back_and_the_model_can_recover() {
    let script = ScriptedBackend::new()
        .reply::<Shop>(json!({"calls": [{"tool": "price_of", "args": {"product": "trackball"}}]}))
        .reply::<Shop>(json!({"calls": [{"tool": "price_of", "args": {"product": "mouse"}}]}))
        .reply::<Shop>(json!({"answer": {"text": "20 euros"}}));
    let rt = runtime(&script);
    let (reply, transcript) = run_with_transcript(&Shop, &rt, question()).await.unwrap();
    assert_eq!(reply.text, "20 euros");
    let first = &transcript.turns[0].calls[0].1;
    assert!(
        matches!(first, ToolOutcome::Error(e) if e.contains("no product called \"trackball\""))
    );
    let fed_back = &script.calls_for::<Shop>()[1].prompt.messages[3];
    assert_eq!(fed_back.role, Role::Tool);
    assert!(
        fed_back.content.contains(r#""error":"no product called"#),
        "{}",
        fed_back.content
    );
}

#[tokio::test]
async fn the_turn_limit_ends_in_a_typed_error_holding_the_transcript() {
    let call = json!({"calls": [{"tool": "add", "args": {"a": 1, "b": 1}}]});
    let script = (0..4).fold(ScriptedBackend::new(), |s, _| s.reply::<Shop>(call.clone()));
    let rt = runtime(&script);
    match Shop.run(&rt, question()).await {
        Err(Error::ToolTurns {
            agent,
            turns,
            transcript,
        }) => {
            assert_eq!(agent, "Shop");
            assert_eq!(turns, 4);
            assert_eq!(transcript.turns.len(), 4);
            assert_eq!(transcript.calls().count(), 4);
        }
        other => panic!("expected ToolTurns, got {other:?}"),
    }
    assert_eq!(script.pending(), 0);
}

#[derive(Debug, Deserialize, JsonSchema)]
struct Wait {
    /// which caller this is
    who: String,
}

static BARRIER: std::sync::OnceLock<tokio::sync::Barrier> = std::sync::OnceLock::new();

/// Wait until the other call has started too.
#[tool(timeout_ms = 2000)]
async fn meet(args: Wait) -> String {
    BARRIER
        .get_or_init(|| tokio::sync::Barrier::new(2))
        .wait()
        .await;
    format!("{} met", args.who)
}

/// Call `meet` twice at once, then answer.
#[agent(model = "smollm2-135m", input = Question, output = Reply, tools = [meet], parallel = 2)]
struct Meet;

#[tokio::test]
async fn two_calls_in_one_turn_run_at_once() {
    // Each call waits for the other: run one after the other, both would
    // time out.
    let script = ScriptedBackend::new()
        .reply::<Meet>(json!({"calls": [{"tool": "meet", "args": {"who": "a"}}, {"tool": "meet", "args": {"who": "b"}}]}))
        .reply::<Meet>(json!({"answer": {"text": "done"}}));
    let rt = runtime(&script);
    let (_, transcript) = run_with_transcript(&Meet, &rt, question()).await.unwrap();
    let outcomes: Vec<&ToolOutcome> = transcript.calls().map(|(_, o)| o).collect();
    assert_eq!(
        outcomes,
        vec![
            &ToolOutcome::Result(json!("a met")),
            &ToolOutcome::Result(json!("b met"))
        ]
    );
}

#[tokio::test]
async fn more_calls_than_parallel_allows_break_the_turn_grammar() {
    let three = json!({"calls": [
        {"tool": "meet", "args": {"who": "a"}},
        {"tool": "meet", "args": {"who": "b"}},
        {"tool": "meet", "args": {"who": "c"}}]});
    let script = ScriptedBackend::new().reply::<Meet>(three);
    let rt = runtime(&script);
    let err = Meet.run(&rt, question()).await.unwrap_err();
    assert!(err.to_string().contains("calls"), "{err}");
}

static STARTED: AtomicUsize = AtomicUsize::new(0);
static DROPPED: AtomicUsize = AtomicUsize::new(0);

struct Guard;
impl Drop for Guard {
    fn drop(&mut self) {
        DROPPED.fetch_add(1, Ordering::SeqCst);
    }
}

/// Take a long time.
#[tool]
async fn slow(_args: Wait) -> String {
    STARTED.fetch_add(1, Ordering::SeqCst);
    let _guard = Guard;
    tokio::time::sleep(Duration::from_secs(60)).await;
    "late".into()
}

/// Call slow.
#[agent(model = "smollm2-135m", input = Question, output = Reply, tools = [slow])]
struct Slow;

#[tokio::test]
async fn dropping_the_run_mid_turn_cancels_the_tool() {
    let script = ScriptedBackend::new()
        .reply::<Slow>(json!({"calls": [{"tool": "slow", "args": {"who": "x"}}]}))
        .reply::<Slow>(json!({"answer": {"text": "never asked"}}));
    let rt = Arc::new(runtime(&script));
    let run = Slow.run(&rt, question());
    let cut = tokio::time::timeout(Duration::from_millis(200), run).await;
    assert!(cut.is_err(), "the run should still be waiting on the tool");
    assert_eq!(STARTED.load(Ordering::SeqCst), 1);
    assert_eq!(
        DROPPED.load(Ordering::SeqCst),
        1,
        "the tool's future was dropped"
    );
    // The second turn was never asked.
    assert_eq!(script.calls_for::<Slow>().len(), 1);
    assert_eq!(script.pending(), 1);
}

/// Answers with a tool that always times out.
#[tool(timeout_ms = 50)]
async fn stuck(_args: Wait) -> String {
    tokio::time::sleep(Duration::from_secs(60)).await;
    "never".into()
}

/// Try stuck.
#[agent(model = "smollm2-135m", input = Question, output = Reply, tools = [stuck])]
struct Stuck;

#[tokio::test]
async fn a_tool_past_its_timeout_fails_as_an_outcome_the_model_reads() {
    let script = ScriptedBackend::new()
        .reply::<Stuck>(json!({"calls": [{"tool": "stuck", "args": {"who": "x"}}]}))
        .reply::<Stuck>(json!({"answer": {"text": "gave up"}}));
    let rt = runtime(&script);
    let (reply, transcript) = run_with_transcript(&Stuck, &rt, question()).await.unwrap();
    assert_eq!(reply.text, "gave up");
    let outcome = &transcript.turns[0].calls[0].1;
    assert!(
        matches!(outcome, ToolOutcome::Error(e) if e.contains("timeout of 50 ms")),
        "{outcome:?}"
    );
}

/// Uses a source that is not registered.
#[agent(model = "smollm2-135m", input = Question, output = Reply, tool_sources = ["files"])]
struct Unsourced;

#[tokio::test]
async fn an_unregistered_tool_source_fails_pre_flight_naming_it() {
    let script = ScriptedBackend::new();
    let rt = runtime(&script);
    let err = Unsourced.run(&rt, question()).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("tool source `files`"), "{text}");
    assert!(text.contains(".tool_source(\"files\""), "{text}");
    assert!(script.calls().is_empty());
}

#[tokio::test]
async fn a_tool_step_and_a_tool_function_share_the_name_tool() {
    // `tool(..)` the step and `#[tool]` the attribute live side by side.
    let double = tool(
        "double",
        |x: u32| async move { Ok::<_, std::io::Error>(x * 2) },
    );
    let rt = runtime(&ScriptedBackend::new());
    assert_eq!(double.run(&rt, 21).await.unwrap(), 42);
}

#[tokio::test]
async fn a_streamed_tool_agent_shows_each_turn_the_results_and_the_answer() {
    use agentkit::stream::{Event, Restart, StreamExt};
    let script = ScriptedBackend::new()
        .chunk_size(6)
        .reply::<Shop>(json!({"calls": [{"tool": "price_of", "args": {"product": "mouse"}}]}))
        .reply::<Shop>(json!({"answer": {"text": "20 euros"}}));
    let rt = runtime(&script);
    let events: Vec<Event<Reply>> = Shop
        .stream(&rt, question())
        .map(|e| e.unwrap())
        .collect()
        .await;
    // The first turn's text, as written, is the call.
    let restart = events
        .iter()
        .position(|e| matches!(e, Event::Restart(Restart::Turn { turn: 2 })))
        .expect("a restart for the second turn");
    let first: String = events[..restart]
        .iter()
        .filter_map(|e| match e {
            Event::Delta(t) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        first,
        r#"{"calls":[{"tool":"price_of","args":{"product":"mouse"}}]}"#
    );
    // No partial answer while the turn writes calls.
    assert!(!events[..restart]
        .iter()
        .any(|e| matches!(e, Event::Partial(_))));
    // The call's result, before the next turn starts.
    let tool = events[..restart].iter().find_map(|e| match e {
        Event::Tool { call, outcome } => Some((call.tool.clone(), outcome.clone())),
        _ => None,
    });
    assert_eq!(
        tool,
        Some(("price_of".into(), ToolOutcome::Result(json!({"euros": 20}))))
    );
    // The answer's partial values are read under `answer`, in the output's shape.
    let partials: Vec<&Reply> = events[restart..]
        .iter()
        .filter_map(|e| match e {
            Event::Partial(p) => p.output.as_ref(),
            _ => None,
        })
        .collect();
    assert!(!partials.is_empty());
    assert_eq!(partials.last().unwrap().text, "20 euros");
    assert!(matches!(events.last(), Some(Event::Done(r)) if r.text == "20 euros"));
}

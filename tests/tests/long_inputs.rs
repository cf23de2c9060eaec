//! Long inputs on the scripted backend, behind a backend that counts one
//! token per four bytes and has a small context: fitting policies shorten
//! the longest fields to fit with room for the answer, an input without
//! policies fails naming its fields, a misdeclared policy fails pre-flight,
//! and pre-flight warns of inputs that could overflow.

use agentkit::backend::{
    async_trait, output_room, Backend, Completion, ModelSpec, Request, TokenCount,
};
use agentkit::prelude::*;
use agentkit::{Error, ErrorKind, Role};
use agentkit_test::ScriptedBackend;
use serde_json::json;

/// The scripted backend with a context of `context` tokens, counted as the
/// estimate counts them.
#[derive(Clone)]
struct Small {
    script: ScriptedBackend,
    context: usize,
}

#[async_trait]
impl Backend for Small {
    async fn generate(&self, request: Request) -> Result<Completion, Error> {
        self.script.generate(request).await
    }

    fn model(&self, alias: &str) -> Option<ModelSpec> {
        self.script.model(alias)
    }

    async fn count_tokens(&self, request: &Request) -> Result<TokenCount, Error> {
        Ok(TokenCount::exact(
            TokenCount::estimate(request).prompt,
            Some(self.context),
        ))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
struct Thread {
    #[schemars(extend("x-agentkit-fit" = "head"))]
    title: String,
    #[schemars(extend("x-agentkit-fit" = "head"))]
    body: String,
    #[schemars(extend("x-agentkit-fit" = "ends"))]
    replies: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
struct Bare {
    title: String,
    body: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
struct Typo {
    #[schemars(extend("x-agentkit-fit" = "middle"))]
    body: String,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
struct Verdict {
    relevant: bool,
}

/// Decide whether the thread is about local models.
#[agent(model = "smollm2-135m", max_tokens = 16, input = Thread, output = Verdict)]
struct Screen;

/// Decide whether the thread is about local models.
#[agent(model = "smollm2-135m", max_tokens = 16, input = Bare, output = Verdict)]
struct ScreenBare;

/// Decide whether the thread is about local models.
#[agent(model = "smollm2-135m", max_tokens = 16, input = Typo, output = Verdict)]
struct ScreenTypo;

fn words(n: usize, tag: &str) -> String {
    (0..n)
        .map(|i| format!("{tag}{i}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn small(script: &ScriptedBackend, context: usize) -> Runtime {
    let backend = Small {
        script: script.clone(),
        context,
    };
    Runtime::builder().backend(backend).build()
}

#[tokio::test]
async fn the_longest_fields_are_cut_to_fit_with_room_for_the_answer() {
    let script = ScriptedBackend::new().reply::<Screen>(json!({ "relevant": true }));
    let runtime = small(&script, 600);
    let thread = Thread {
        title: "Q4 on a Pi?".into(),
        body: words(800, "body"),
        replies: (0..40)
            .map(|i| format!("reply {i}: {}", words(20, "r")))
            .collect(),
    };
    Screen.run(&runtime, thread.clone()).await.unwrap();

    let sent = &script.calls()[0];
    let count = runtime.backend().unwrap().count_tokens(sent).await.unwrap();
    let room = output_room(&<Screen as Agent>::SAMPLING);
    assert!(count.prompt + room <= 600, "{} tokens", count.prompt);
    assert!(
        count.prompt + room > 600 * 9 / 10,
        "as long as fits: {} tokens",
        count.prompt
    );
    let user = sent.prompt.messages.last().unwrap();
    assert_eq!(user.role, Role::User);
    // The short title is whole; the body keeps its head; the replies their ends.
    assert!(
        user.content.contains("\"title\": \"Q4 on a Pi?\""),
        "{}",
        user.content
    );
    assert!(user.content.contains("body0 body1 body2"));
    assert!(!user.content.contains("body799"));
    assert!(user.content.contains("characters cut …]"));
    assert!(user.content.contains("reply 0:") && user.content.contains("reply 39:"));
    assert!(!user.content.contains("reply 20:"));
    assert!(user.content.contains("items cut …]"));
}

#[tokio::test]
async fn without_policies_the_error_names_the_fields_and_sizes() {
    let script = ScriptedBackend::new();
    let runtime = small(&script, 300);
    let bare = Bare {
        title: "Q4 on a Pi?".into(),
        body: words(400, "w"),
    };
    let err = ScreenBare.run(&runtime, bare).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Input);
    let Error::ContextOverflow {
        prompt_tokens,
        context,
        fields,
        shortest,
        ..
    } = &err
    else {
        panic!("expected ContextOverflow, got {err:?}");
    };
    assert_eq!(*context, 300);
    assert!(*prompt_tokens > 450, "{prompt_tokens}");
    assert_eq!(fields[0].field, "body");
    assert!(fields[0].tokens > 400 && fields[0].tokens < *prompt_tokens);
    assert_eq!(fields[1].field, "title");
    assert_eq!(*shortest, None);
    let message = err.to_string();
    assert!(
        message.contains(&format!("field `body`: {} tokens", fields[0].tokens)),
        "{message}"
    );
    assert!(message.contains("holds 300 tokens"), "{message}");
    assert!(script.calls().is_empty(), "nothing reached the model");
}

#[tokio::test]
async fn policies_that_are_not_enough_still_fail_and_say_so() {
    let script = ScriptedBackend::new();
    // The system message alone nearly fills the context.
    let runtime = small(&script, 40);
    let thread = Thread {
        title: "t".into(),
        body: words(400, "w"),
        replies: Vec::new(),
    };
    let err = Screen.run(&runtime, thread).await.unwrap_err();
    let Error::ContextOverflow {
        shortest, fields, ..
    } = &err
    else {
        panic!("expected ContextOverflow, got {err:?}");
    };
    assert!(shortest.is_some(), "{err}");
    assert!(fields[0].fitted);
    assert!(err.to_string().contains("cut to nothing"), "{err}");
}

#[tokio::test]
async fn preflight_fails_on_a_misdeclared_policy_and_warns_of_unbounded_inputs() {
    let script = ScriptedBackend::new();
    let runtime = Runtime::builder().backend(script).build();

    let err = runtime.check(&ScreenTypo).await.unwrap_err();
    let message = err.to_string();
    assert!(message.contains("field `body`"), "{message}");
    assert!(message.contains("\"middle\""), "{message}");

    // Unbounded text without a policy: a warning, which does not fail the check.
    runtime.check(&ScreenBare).await.unwrap();
    let report = runtime.check_report(&ScreenBare).await;
    assert_eq!(report.problems.len(), 1, "{report}");
    assert!(report.problems[0].warning);
    assert!(
        report.problems[0].message.contains("`title`, `body`"),
        "{report}"
    );
    // Every field declares a policy: nothing to warn of.
    assert!(runtime.check_report(&Screen).await.problems.is_empty());
}

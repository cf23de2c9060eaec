//! What the scripted-backend tests share: the forum-thread types, the agents
//! most pipelines are built from, sample inputs, and helpers that read a
//! request back or watch how many calls overlap. Each test file is a crate of
//! its own and uses only part of this, hence the `allow`.
#![allow(dead_code)]

pub mod capture;

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentkit::backend::Request;
use agentkit::prelude::*;
use agentkit::{tool, Prompt, Role};
use agentkit_test::ScriptedBackend;
use serde_json::Value;

// The types carry `//` comments, not `///`: a doc comment would become part
// of the type's JSON schema, which every request carries to the model.

// A forum thread: what `Score` and `Summarise` read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Thread {
    pub title: String,
    pub body: String,
}

// `Score`'s answer: is the thread about local models, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Verdict {
    /// true when the thread asks about running models locally
    pub relevant: bool,
    pub reason: String,
}

// `Summarise`'s answer and `Tag`'s input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    pub text: String,
}

// `Tag`'s answer and `Title`'s input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Tags {
    pub tags: Vec<String>,
}

// `Title`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Headline {
    pub headline: String,
}

// The agents. An agent's doc comment is its instructions and its Rust name is
// the `NAME` the assertions check, so neither may change. A file that needs
// other attributes defines its own agent rather than editing these.

/// Decide whether a forum thread is about running language models locally.
#[agent(model = "smollm2-135m", input = Thread, output = Verdict)]
pub struct Score;

/// Summarise the thread in one sentence.
#[agent(model = "smollm2-135m", input = Thread, output = Summary)]
pub struct Summarise;

/// Tag the summary with up to three topics.
#[agent(model = "smollm2-135m", input = Summary, output = Tags)]
pub struct Tag;

/// Write a headline from the tags.
#[agent(model = "smollm2-135m", input = Tags, output = Headline)]
pub struct Title;

/// The thread most tests send.
pub fn thread() -> Thread {
    Thread {
        title: "llama.cpp on a Pi 5".into(),
        body: "Which quantisation keeps a 135M model fast?".into(),
    }
}

/// A thread told apart from others by its title, for lists of inputs.
pub fn thread_titled(title: &str) -> Thread {
    Thread {
        title: title.into(),
        body: format!("body of {title}"),
    }
}

/// A runtime on `script`; the test keeps its own handle to read the calls.
pub fn runtime_for(script: &ScriptedBackend) -> Runtime {
    Runtime::builder().backend(script.clone()).build()
}

/// The input a request carried, read back from its last user message.
pub fn sent_input(request: &Request) -> Value {
    let user = last(request, Role::User);
    serde_json::from_str(user).expect("the user message is the input as JSON")
}

/// The content of the last message with `role`.
pub fn last(request: &Request, role: Role) -> &str {
    request
        .prompt
        .messages
        .iter()
        .rev()
        .find(|m| m.role == role)
        .map(|m| m.content.as_str())
        .unwrap_or_else(|| panic!("no {role:?} message in {}", request.prompt))
}

/// The role of each message of `prompt`, in order.
pub fn roles(prompt: &Prompt) -> Vec<Role> {
    prompt.messages.iter().map(|m| m.role).collect()
}

/// A step that yields `0..n`.
pub fn numbers() -> impl Step<usize, Output = Vec<usize>> {
    tool("numbers", |n: usize| async move {
        Ok::<_, Infallible>((0..n).collect::<Vec<usize>>())
    })
}

/// Counts how many calls of a tool are in flight at once.
#[derive(Default)]
pub struct Probe {
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    started: Mutex<Vec<usize>>,
    finished: Mutex<Vec<usize>>,
}

impl Probe {
    /// The most calls that were in flight at the same time.
    pub fn max(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }
    /// The items, in the order their calls started.
    pub fn started(&self) -> Vec<usize> {
        self.started.lock().unwrap().clone()
    }
    /// The items, in the order their calls finished.
    pub fn finished(&self) -> Vec<usize> {
        self.finished.lock().unwrap().clone()
    }
}

/// A tool that sleeps (earlier items longer, so they finish out of order)
/// and records how many calls overlap. Yields `item * 10`.
pub fn slow_tenfold(probe: &Arc<Probe>, items: usize) -> impl Step<usize, Output = usize> {
    let probe = Arc::clone(probe);
    tool("slow tenfold", move |i: usize| {
        let probe = Arc::clone(&probe);
        async move {
            probe.started.lock().unwrap().push(i);
            let now = probe.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            probe.max_in_flight.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(10 * (items - i) as u64)).await;
            probe.in_flight.fetch_sub(1, Ordering::SeqCst);
            probe.finished.lock().unwrap().push(i);
            Ok::<_, Infallible>(i * 10)
        }
    })
}

/// Natural-log scores for a scored `bool` answer: `[true, false]`.
pub fn bool_scores(p_true: f64) -> Vec<Vec<f64>> {
    vec![vec![p_true.ln(), (1.0 - p_true).ln()]]
}

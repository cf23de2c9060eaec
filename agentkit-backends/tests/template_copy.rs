//! The real default model, SmolLM2-135M-Instruct, copied with a chat template
//! llama.cpp's built-in list does not know: the case of a community
//! fine-tune with its own markers, on weights that really answer.

mod common;

use std::path::PathBuf;

use agentkit::backend::{ModelSpec, OutputSchema, Request, TemplateSource};
use agentkit::prelude::*;
use agentkit::{Message, Prompt, Role, Sampling};
use agentkit_test::gguf_copy::copy_with_chat_template;
use common::{Thread, Verdict};

/// Turns framed by text markers no built-in format uses (no `<|im_start|>`,
/// which would make llama.cpp guess ChatML), each closed by SmolLM2's real
/// end-of-turn token, `<|im_end|>`.
const TEMPLATE: &str = "{% for message in messages %}[[turn:{{ message['role'] }}]]\n{{ message['content'] }}[[/turn]]<|im_end|>\n{% endfor %}{% if add_generation_prompt %}[[turn:assistant]]\n{% endif %}";

/// A scratch directory, removed when dropped, even by a failing test: the
/// copy is about 98 MB.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Decide whether a forum thread is about running language models locally.
#[agent(model = "custom", temperature = 0.0, max_tokens = 80, input = Thread, output = Verdict)]
struct Score;

#[tokio::test]
async fn smollm2_under_a_template_no_builtin_list_knows_answers_typed() {
    let scratch = Scratch(
        std::env::temp_dir().join(format!("agentkit-template-copy-{}", std::process::id())),
    );
    std::fs::create_dir_all(&scratch.0).unwrap();
    let copy = scratch.0.join("smollm2-custom-template.gguf");
    let original = agentkit_backends::llama::default_model_path();
    copy_with_chat_template(&original, &copy, TEMPLATE).unwrap();
    let llama = common::llama_with_threads(2).clone();

    // llama.cpp's built-in list cannot render it; the GGUF's own Jinja can.
    let messages = vec![
        Message {
            role: Role::System,
            content: "Answer with JSON.".into(),
        },
        Message {
            role: Role::User,
            content: "{\"title\": \"Q4 or Q5?\"}".into(),
        },
    ];
    let request = Request::new(
        "Probe",
        ModelSpec::new("custom", &copy),
        Prompt { messages },
        OutputSchema::from_full(serde_json::json!({"type": "object"})),
        Sampling::DEFAULT,
    );
    let (jinja, builtin) = llama.rendered_prompts(request).await.unwrap();
    assert!(
        matches!(builtin, Some(Err(_))),
        "llama.cpp knows the template: {builtin:?}"
    );
    assert!(jinja.starts_with("[[turn:system]]\nAnswer with JSON.[[/turn]]<|im_end|>\n"));
    assert!(jinja.ends_with("[[turn:assistant]]\n"), "{jinja}");

    let runtime = Runtime::builder()
        .backend(llama)
        .model("custom", &copy)
        .build();
    let reports = runtime.report().await.unwrap();
    let report = reports.iter().find(|r| r.alias == "custom").unwrap();
    println!("{report}");
    assert_eq!(report.template, TemplateSource::Jinja, "{report}");
    assert_eq!(report.template_reason, "the GGUF's own", "{report}");

    let thread = Thread {
        title: "Which quant for a 1B model on 8 GB RAM?".into(),
        body: "Q4_K_M or Q8? And does llama.cpp use all cores?".into(),
    };
    let verdict: Verdict = Score.run(&runtime, thread).await.unwrap();
    println!("{verdict:?}");
    assert!(verdict.reason.chars().count() <= 120, "{verdict:?}");
}

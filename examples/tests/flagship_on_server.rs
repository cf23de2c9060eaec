//! The flagship moved to a real llama-server by its manifest alone: the same
//! agents, the same `research`, a manifest whose aliases have endpoints.
//! `scripts/test.sh` builds llama-server (`scripts/fetch-llama-server.sh`)
//! and names it in `AGENTKIT_LLAMA_SERVER`.

use agentkit_examples::forum::{self, LabelledThread, Split};
use agentkit_test::llama_server::{self as servers, LlamaServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_flagship_runs_on_llama_server_by_its_manifest_alone() {
    let Some(binary) = servers::binary() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "{} is not set; scripts/test.sh sets it",
            servers::BINARY_VAR
        );
        eprintln!("skipped: no llama-server ({} unset)", servers::BINARY_VAR);
        return;
    };
    let model = agentkit_backends::llama::default_model_path();
    let server = LlamaServer::start(&binary, &model, "smollm2", 2)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let dir = std::env::temp_dir().join(format!("agentkit-flagship-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let manifest = dir.join("agentkit.toml");
    // The shipped server manifest, pointed at this test's port.
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("agentkit.server.toml"),
    )
    .unwrap()
    .replace("http://127.0.0.1:8080", &server.url);
    std::fs::write(&manifest, text).unwrap();

    let llama = agentkit_examples::llama().unwrap();
    let runtime = forum::runtime_from(llama.clone(), &manifest).unwrap();
    assert!(runtime.model("screen").unwrap().is_served());
    assert!(runtime.model("draft").unwrap().is_served());

    // A thread labelled relevant and worth answering reaches every stage
    // (when the model agrees), plus one that is not.
    let corpus = forum::load(Split::Test).unwrap();
    let mut picked: Vec<&LabelledThread> = corpus
        .iter()
        .filter(|t| t.relevant && t.worth_answering)
        .take(1)
        .collect();
    picked.extend(corpus.iter().filter(|t| !t.relevant).take(1));
    let threads = picked.iter().map(|t| t.thread()).collect();
    let outcomes = forum::research(&runtime, threads).await.unwrap();

    assert_eq!(outcomes.len(), 2);
    for o in &outcomes {
        assert!((0.0..=1.0).contains(&o.relevance), "{o:?}");
        assert_eq!(o.worth_answering.is_some(), o.relevant, "{o:?}");
        assert_eq!(o.reply.is_some(), o.worth_answering == Some(true), "{o:?}");
        if let Some(reply) = &o.reply {
            assert!(reply.chars().count() <= forum::REPLY_CHARS, "{reply}");
        }
    }
    // Nothing ran in-process: the llama.cpp backend never loaded a model.
    assert_eq!(llama.load_count(), 0);
    assert!(runtime.usage().calls >= 2);
    std::fs::remove_dir_all(&dir).unwrap();
}

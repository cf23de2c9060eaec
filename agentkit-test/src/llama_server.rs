//! A real llama-server for tests and benchmarks: started on a free port of
//! 127.0.0.1, waited for until `/health` answers, killed when dropped.
//!
//! Needs the feature `llama-server`. In agentkit's repository,
//! `scripts/fetch-llama-server.sh` builds the binary once into the cache and
//! `scripts/test.sh` exports its path as `AGENTKIT_LLAMA_SERVER`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The environment variable that names the llama-server binary.
pub const BINARY_VAR: &str = "AGENTKIT_LLAMA_SERVER";

/// The llama-server binary: `$AGENTKIT_LLAMA_SERVER`, else `None`.
pub fn binary() -> Option<PathBuf> {
    std::env::var_os(BINARY_VAR)
        .map(PathBuf::from)
        .filter(|p| !p.as_os_str().is_empty())
}

/// A running llama-server. Dropping it kills the process and waits for it.
#[derive(Debug)]
pub struct LlamaServer {
    child: Option<Child>,
    /// Its base URL, `http://127.0.0.1:<port>`.
    pub url: String,
    /// The model name it serves (`--alias`).
    pub alias: String,
    /// Its log file.
    pub log: PathBuf,
}

impl LlamaServer {
    /// Starts `binary` serving `model` as `alias` with `parallel` slots and
    /// 2 threads, and waits (up to two minutes) until it is ready.
    pub async fn start(
        binary: &Path,
        model: &Path,
        alias: &str,
        parallel: u32,
    ) -> Result<LlamaServer, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let log = std::env::temp_dir().join(format!(
            "agentkit-llama-server-{}-{port}.log",
            std::process::id()
        ));
        let file = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = file
            .try_clone()
            .map_err(|e| format!("{}: {e}", log.display()))?;
        let parallel = parallel.max(1);
        let child = Command::new(binary)
            .arg("--model")
            .arg(model)
            .args(["--alias", alias, "--host", "127.0.0.1", "--port"])
            .arg(port.to_string())
            .args(["--parallel", &parallel.to_string()])
            // Each slot gets the 2048 tokens agentkit uses in-process.
            .args(["--ctx-size", &(2048 * parallel).to_string()])
            .args(["--threads", "2", "--threads-batch", "2", "--seed", "42"])
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let mut server = LlamaServer {
            child: Some(child),
            url: format!("http://127.0.0.1:{port}"),
            alias: alias.to_string(),
            log,
        };
        server.wait_ready(Duration::from_secs(120)).await?;
        Ok(server)
    }

    async fn wait_ready(&mut self, limit: Duration) -> Result<(), String> {
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                    return Err(format!(
                        "llama-server exited with {status}; its log:\n{log}"
                    ));
                }
            }
            let health = client
                .get(format!("{}/health", self.url))
                .timeout(Duration::from_secs(2))
                .send()
                .await;
            if health.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            if started.elapsed() > limit {
                return Err(format!(
                    "llama-server at {} was not ready after {limit:?}; log: {}",
                    self.url,
                    self.log.display()
                ));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Kills the server now (as a crash would) and waits for it to exit.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_file(&self.log);
    }
}

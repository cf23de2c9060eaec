//! How the llama.cpp backend is set up: [`LlamaConfig`].

/// Settings for the llama.cpp backend.
#[derive(Debug, Clone)]
pub struct LlamaConfig {
    /// Threads for decoding and prompt evaluation. `None`: the number of
    /// available cores. llama.cpp's own default (4) crawls on a 2-core machine.
    pub threads: Option<usize>,
    /// Context size in tokens for each call (capped at what the model was trained on).
    pub context_size: u32,
    /// A chat template to use instead of the one stored in the GGUF (a Jinja
    /// template string, or a name llama.cpp knows such as `"chatml"`).
    pub chat_template: Option<String>,
    /// Whether llama.cpp's own log lines are forwarded to `tracing` (at their
    /// level) instead of being dropped.
    pub llama_logs: bool,
    /// Keep a context per model between calls and re-evaluate only the part
    /// of a prompt that differs from the previous one (on by default; off
    /// only to measure what it saves).
    pub reuse_prefix: bool,
    /// How many of a model's layers to offload to the GPU. `None`: all of
    /// them when a GPU backend is compiled in (cargo features `cuda`, `metal`,
    /// `vulkan`), none on a CPU-only build. `Some(0)` keeps everything on the CPU.
    pub gpu_layers: Option<u32>,
    /// Decode concurrent requests for one model together, in one batch per
    /// step (continuous batching; on by default). Off, each call runs on a
    /// context of its own, as before batching: only for comparisons.
    pub batching: bool,
    /// With batching, how many requests to one model decode together at
    /// most; the next ones wait for a slot.
    pub parallel: usize,
    /// With batching, the KV cache of each model in tokens. With a stream
    /// per sequence (the default) each sequence gets `kv_size / parallel`
    /// cells (rounded up to a multiple of 256), and a request whose prompt
    /// plus `max_tokens` does not fit one stream fails with an error naming
    /// both settings; the default, 16384 over 8, gives each stream the
    /// default `context_size`. Unified, the cells are shared by all
    /// sequences (a shared prompt prefix counts once) and a request waits
    /// until it fits beside the running ones. At least `context_size`.
    pub kv_size: u32,
    /// With batching, whether a model's sequences share one KV cache
    /// (`true`) or each gets a stream of its own (`false`, the default).
    /// Unified, a sequence's attention spans the cells of every sequence in
    /// the cache (masked, but the kernels' summation order changes with the
    /// cache's layout and with who else is running, so greedy output can
    /// differ from the same call alone); with a stream each, it spans only
    /// its own cells, as in a context of its own, and a shared prompt prefix
    /// is copied from stream to stream. Unified needs fewer cells when many
    /// calls share a long prefix.
    pub unified_kv: bool,
    /// Whether llama.cpp computes attention with its fused flash-attention
    /// kernel (`Some(false)` by default; `None`: llama.cpp decides, which is
    /// on for the CPU). Its CPU kernel sums in a different order (split over
    /// the cache, or tiled) depending on how many tokens and sequences a
    /// batch holds, so a batched sequence can round differently from the
    /// same call alone. Off, attention is plain matrix products whose sums
    /// do not depend on the batch: with a stream per sequence, batched
    /// greedy output equals the output of the call alone.
    pub flash_attention: Option<bool>,
    /// Whether the engines of all models of this backend share one budget of
    /// [`threads`](LlamaConfig::threads) (off by default): a pass over one
    /// model's weights then waits until the threads are free, so several
    /// models take turns on the cores instead of decoding at once. Measured
    /// on 2 cores with two models busy at once, taking turns was 12% slower
    /// than letting both run (BENCHMARKS.md, "Two models in one process"):
    /// while one engine samples and computes its grammar mask on one thread,
    /// the other's threads use the idle core. Worth measuring where many
    /// models run at once on few cores.
    pub share_threads: bool,
    /// The memory the loaded models may take together, in bytes (weights
    /// plus KV cache, as the model report counts them), or `None` for no
    /// cap. When a model loads past the cap, idle models (no request running
    /// or waiting) are unloaded, least recently used first, until the rest
    /// fit; a busy model is never unloaded, so the cap can be exceeded while
    /// every other model is busy (with a warning). An unloaded model loads
    /// again on its next call.
    pub memory_limit: Option<u64>,
    /// Whether the tokens the output's grammar forces (a key, a brace, the
    /// rest of an enum value once its first token is chosen) are written
    /// without sampling and evaluated in one pass with the token before
    /// them (fast-forward; off by default). It halves the passes of a
    /// ten-field extraction, 1.42x faster one call at a time (1.08x batched
    /// on a CPU). The forced text is fed as the tokenizer splits it, which
    /// can differ from the split the model would have sampled, so greedy
    /// outputs change: better on the extraction benchmark (176 of 320 fields
    /// right against 113), but in one of eight answers of a SmolLM2 fan-out
    /// the changed context led into a loop to the token budget. Off by
    /// default so outputs stay what they were; turn it on and measure your
    /// own agents (BENCHMARKS.md, "Forced tokens").
    pub fast_forward: bool,
}

impl Default for LlamaConfig {
    fn default() -> Self {
        LlamaConfig {
            threads: None,
            context_size: 2048,
            chat_template: None,
            llama_logs: false,
            reuse_prefix: true,
            gpu_layers: None,
            batching: true,
            parallel: 8,
            kv_size: 16384,
            unified_kv: false,
            flash_attention: Some(false),
            share_threads: false,
            memory_limit: None,
            fast_forward: false,
        }
    }
}

impl LlamaConfig {
    /// Sets the thread count.
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = Some(threads);
        self
    }

    /// Sets the context size.
    pub fn context_size(mut self, tokens: u32) -> Self {
        self.context_size = tokens;
        self
    }

    /// Sets a chat template that overrides the GGUF's own.
    pub fn chat_template(mut self, template: impl Into<String>) -> Self {
        self.chat_template = Some(template.into());
        self
    }

    /// Forwards llama.cpp's log lines to `tracing`.
    pub fn llama_logs(mut self, on: bool) -> Self {
        self.llama_logs = on;
        self
    }

    /// Turns KV prefix reuse on or off.
    pub fn reuse_prefix(mut self, on: bool) -> Self {
        self.reuse_prefix = on;
        self
    }

    /// Offloads `layers` layers of each model to the GPU (`0`: none; a number
    /// above the model's layer count: all of them). Without a GPU backend
    /// compiled in, llama.cpp runs everything on the CPU whatever this says.
    pub fn gpu_layers(mut self, layers: u32) -> Self {
        self.gpu_layers = Some(layers);
        self
    }

    /// Turns continuous batching on or off.
    pub fn batching(mut self, on: bool) -> Self {
        self.batching = on;
        self
    }

    /// Sets how many requests to one model decode together at most.
    pub fn parallel(mut self, sequences: usize) -> Self {
        self.parallel = sequences;
        self
    }

    /// Sets the KV cache size of each model in tokens (with batching).
    pub fn kv_size(mut self, tokens: u32) -> Self {
        self.kv_size = tokens;
        self
    }

    /// Shares one KV cache among a model's sequences (`true`) or gives each
    /// a stream of its own (`false`); see [`LlamaConfig::unified_kv`].
    pub fn unified_kv(mut self, on: bool) -> Self {
        self.unified_kv = on;
        self
    }

    /// Turns llama.cpp's flash attention on or off; see
    /// [`LlamaConfig::flash_attention`].
    pub fn flash_attention(mut self, on: bool) -> Self {
        self.flash_attention = Some(on);
        self
    }

    /// Shares one thread budget between all models' engines (`true`) or
    /// lets each run its own threads (`false`, the default); see
    /// [`LlamaConfig::share_threads`].
    pub fn share_threads(mut self, on: bool) -> Self {
        self.share_threads = on;
        self
    }

    /// Caps the memory of the loaded models at `bytes`; see
    /// [`LlamaConfig::memory_limit`].
    pub fn memory_limit(mut self, bytes: u64) -> Self {
        self.memory_limit = Some(bytes);
        self
    }

    /// Writes the tokens the grammar forces without sampling (`true`) or
    /// samples every token (`false`, the default); see
    /// [`LlamaConfig::fast_forward`].
    pub fn fast_forward(mut self, on: bool) -> Self {
        self.fast_forward = on;
        self
    }

    /// The layer count handed to llama.cpp: the configured one, else all
    /// layers where the build can offload and none where it cannot.
    pub(super) fn gpu_layer_count(&self, can_offload: bool) -> u32 {
        match self.gpu_layers {
            Some(n) => n,
            None if can_offload => u32::MAX,
            None => 0,
        }
    }

    pub(super) fn thread_count(&self) -> i32 {
        let n = self.threads.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(usize::from)
                .unwrap_or(2)
        });
        i32::try_from(n.max(1)).unwrap_or(i32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::LlamaConfig;

    #[test]
    fn gpu_layers_default_to_all_only_where_the_build_can_offload() {
        let config = LlamaConfig::default();
        assert_eq!(config.gpu_layer_count(false), 0);
        assert_eq!(config.gpu_layer_count(true), u32::MAX);
    }

    #[test]
    fn configured_gpu_layers_win_either_way() {
        let config = LlamaConfig::default().gpu_layers(12);
        assert_eq!(config.gpu_layer_count(false), 12);
        assert_eq!(config.gpu_layer_count(true), 12);
        assert_eq!(
            LlamaConfig::default().gpu_layers(0).gpu_layer_count(true),
            0
        );
    }
}

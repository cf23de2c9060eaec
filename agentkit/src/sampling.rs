//! Sampling settings an agent carries to the backend.

/// How a backend picks tokens for one agent.
///
/// Built at compile time by `#[agent(temperature = .., top_p = .., ..)]`;
/// anything not given keeps the value of [`Sampling::DEFAULT`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampling {
    /// Softmax temperature, `0.0..=2.0`. `0.0` means greedy.
    pub temperature: f32,
    /// Nucleus sampling: keep the smallest set of tokens whose probability sums to this.
    pub top_p: Option<f32>,
    /// Keep only the `k` most likely tokens.
    pub top_k: Option<u32>,
    /// The most tokens the agent may generate.
    pub max_tokens: u32,
    /// The random seed; the same seed, model and prompt give the same output.
    pub seed: u32,
}

impl Sampling {
    /// The settings of an agent that names none: low temperature for steady
    /// answers, a fixed seed so runs repeat, and a budget that fits short
    /// structured outputs.
    pub const DEFAULT: Sampling = Sampling {
        temperature: 0.2,
        top_p: None,
        top_k: None,
        max_tokens: 256,
        seed: 42,
    };
}

impl Default for Sampling {
    fn default() -> Self {
        Self::DEFAULT
    }
}

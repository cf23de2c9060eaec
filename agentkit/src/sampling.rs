//! Sampling settings an agent carries to the backend.

/// How a backend picks tokens for one agent.
///
/// Built at compile time by `#[agent(temperature = .., top_p = .., ..)]`;
/// anything not given keeps the value of [`Sampling::DEFAULT`]. By hand,
/// start from [`Sampling::DEFAULT`] and change what you need with the `with_`
/// methods (they are `const`, so the result can be an agent's `SAMPLING`):
///
/// ```
/// use agentkit::Sampling;
///
/// const CREATIVE: Sampling = Sampling::DEFAULT.with_temperature(0.8).with_max_tokens(120);
/// assert_eq!(CREATIVE.seed, Sampling::DEFAULT.seed);
/// ```
///
/// `#[non_exhaustive]`: new settings can be added without breaking callers.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
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

impl Sampling {
    /// With softmax temperature `temperature` (`0.0` is greedy).
    pub const fn with_temperature(mut self, temperature: f32) -> Self {
        self.temperature = temperature;
        self
    }

    /// With nucleus sampling at `top_p`.
    pub const fn with_top_p(mut self, top_p: f32) -> Self {
        self.top_p = Some(top_p);
        self
    }

    /// Keeping only the `top_k` likeliest tokens.
    pub const fn with_top_k(mut self, top_k: u32) -> Self {
        self.top_k = Some(top_k);
        self
    }

    /// With a budget of `max_tokens` generated tokens.
    pub const fn with_max_tokens(mut self, max_tokens: u32) -> Self {
        self.max_tokens = max_tokens;
        self
    }

    /// With the random seed `seed`.
    pub const fn with_seed(mut self, seed: u32) -> Self {
        self.seed = seed;
        self
    }
}

impl Default for Sampling {
    fn default() -> Self {
        Self::DEFAULT
    }
}

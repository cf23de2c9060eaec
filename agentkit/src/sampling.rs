//! Sampling settings an agent carries to the backend.
//!
//! The range each setting allows lives in one table,
//! [`agentkit_manifest::settings`], which the `#[agent]` macro reads at
//! compile time and [`Sampling::problem`] reads at pre-flight: a value the
//! macro refuses is refused set by hand too, in the same words.

use agentkit_manifest::settings;

mod reasoning;

pub use reasoning::Reasoning;

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
    ///
    /// Every field's range is in [`agentkit_manifest::settings`].
    pub temperature: f32,
    /// Nucleus sampling: keep the smallest set of tokens whose probability sums to this.
    pub top_p: Option<f32>,
    /// Keep only the `k` most likely tokens.
    pub top_k: Option<u32>,
    /// The most tokens the agent may generate.
    pub max_tokens: u32,
    /// The random seed; the same seed, model and prompt give the same output.
    pub seed: u32,
    /// Keep only tokens at least this likely relative to the likeliest one
    /// (`0.05`: drop tokens under 5% of the top token's probability).
    pub min_p: Option<f32>,
    /// Repetition control over the last [`Repetition::window`]
    /// generated tokens; `None` leaves decoding untouched. See [`Repetition`].
    pub repetition: Option<Repetition>,
    /// DRY ("don't repeat yourself"): penalises continuing any run of tokens
    /// that already occurs in the prompt or the output; `None` is off. See
    /// [`Dry`].
    pub dry: Option<Dry>,
    /// Thinking before the answer: `None` (the default) answers at once,
    /// under the grammar from the first token. See [`Reasoning`].
    pub reasoning: Option<Reasoning>,
    /// Close the answer within `max_tokens` (off by default): when the
    /// tokens left are just enough to close the open JSON into the output's
    /// shape (end the string, fill the required fields not written yet with
    /// their smallest values, close the brackets), a backend that can
    /// (llama.cpp) writes that closing instead of letting the model run out,
    /// and marks the answer as cut ([`Completion::cut`](crate::backend::Completion::cut),
    /// [`Usage::cut_answers`](crate::Usage::cut_answers)). Off, running out
    /// is [`Error::Truncated`](crate::Error::Truncated) with the partial text.
    /// Opt-in because a closed answer is a shorter one: a summary cut
    /// mid-sentence, a list missing its last items.
    pub close_at_budget: bool,
}

/// DRY ("don't repeat yourself", llama.cpp's `dry` sampler): when the last
/// few tokens written repeat a run that already occurs earlier, in the
/// prompt (the input included) or in the output, the token that would
/// extend the repeat is penalised, more the longer the repeat. Where
/// [`Repetition`] discourages single tokens the agent wrote, DRY
/// discourages copying runs, also from the input: a small model asked to
/// reply to a post tends to copy the post. Runs do not cross the breakers
/// `\n`, `:`, `"` and `*`, so JSON punctuation does not count. Applied only
/// among the tokens the grammar allows.
///
/// ```
/// use agentkit::{Dry, Sampling};
///
/// const REPLY: Sampling = Sampling::DEFAULT.with_dry(Dry::DEFAULT.with_multiplier(0.8));
/// assert_eq!(REPLY.dry.map(|d| d.allowed_length), Some(2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Dry {
    /// Strength: the penalty for extending a repeat just past
    /// `allowed_length`. `0.8` is llama.cpp's suggested start.
    pub multiplier: f32,
    /// How fast the penalty grows with each further repeated token
    /// (`multiplier * base^(length - allowed_length)`); at least `1.0`.
    pub base: f32,
    /// Repeats of up to this many tokens go unpenalised (names, numbers).
    pub allowed_length: u32,
}

impl Dry {
    /// llama.cpp's suggested settings: multiplier 0.8, base 1.75, repeats of
    /// up to 2 tokens free.
    pub const DEFAULT: Dry = Dry {
        multiplier: 0.8,
        base: 1.75,
        allowed_length: 2,
    };

    /// With strength `multiplier`.
    pub const fn with_multiplier(mut self, multiplier: f32) -> Self {
        self.multiplier = multiplier;
        self
    }

    /// With growth `base` per further repeated token.
    pub const fn with_base(mut self, base: f32) -> Self {
        self.base = base;
        self
    }

    /// Leaving repeats of up to `allowed_length` tokens alone.
    pub const fn with_allowed_length(mut self, allowed_length: u32) -> Self {
        self.allowed_length = allowed_length;
        self
    }

    /// What is wrong with these settings, if anything: each must be in the
    /// range [`agentkit_manifest::settings`] gives for it (the multiplier
    /// above 0 and at most 5, the base from 1 to 4, the allowed length from
    /// 1 to 64 tokens).
    pub fn problem(&self) -> Option<String> {
        first([
            settings::DRY_MULTIPLIER.problem(self.multiplier),
            settings::DRY_BASE.problem(self.base),
            settings::DRY_ALLOWED_LENGTH.problem(self.allowed_length),
        ])
    }
}

/// Repetition control: how a backend discourages tokens the agent has
/// already generated. Small models under a length bound loop ("128GB RAM,
/// 128GB RAM, ..."); these push them to move on. Applied only among the
/// tokens the grammar allows, so they can never let a disallowed token
/// through.
///
/// ```
/// use agentkit::{Repetition, Sampling};
///
/// const DRAFT: Sampling = Sampling::DEFAULT
///     .with_temperature(0.7)
///     .with_repetition(Repetition::DEFAULT.with_repeat_penalty(1.1));
/// assert_eq!(DRAFT.repetition.map(|r| r.window), Some(64));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Repetition {
    /// How many of the most recent generated tokens count.
    pub window: u32,
    /// Divides a positive logit (multiplies a negative one) of every token
    /// seen in the window: `1.0` is off, `1.1` a safe start; a
    /// small model's JSON punctuation repeats by nature, so stay low.
    pub repeat_penalty: f32,
    /// Subtracted from a token's logit once per time it occurs in the
    /// window: `0.0` is off. Grows with repetition, so it breaks loops.
    pub frequency_penalty: f32,
    /// Subtracted once from the logit of any token that occurs in the
    /// window: `0.0` is off. Nudges towards new words.
    pub presence_penalty: f32,
}

impl Repetition {
    /// Every penalty off, over a window of 64 tokens: start here and set what
    /// you need.
    pub const DEFAULT: Repetition = Repetition {
        window: 64,
        repeat_penalty: 1.0,
        frequency_penalty: 0.0,
        presence_penalty: 0.0,
    };

    /// Over the last `window` generated tokens.
    pub const fn with_window(mut self, window: u32) -> Self {
        self.window = window;
        self
    }

    /// With repeat penalty `penalty` (`1.0` is off).
    pub const fn with_repeat_penalty(mut self, penalty: f32) -> Self {
        self.repeat_penalty = penalty;
        self
    }

    /// With frequency penalty `penalty` (`0.0` is off).
    pub const fn with_frequency_penalty(mut self, penalty: f32) -> Self {
        self.frequency_penalty = penalty;
        self
    }

    /// With presence penalty `penalty` (`0.0` is off).
    pub const fn with_presence_penalty(mut self, penalty: f32) -> Self {
        self.presence_penalty = penalty;
        self
    }

    /// What is wrong with these settings, if anything: each must be in the
    /// range [`agentkit_manifest::settings`] gives for it (a window of at
    /// least 1 token, a repeat penalty above 0 and at most 2, the other two
    /// from -2 to 2).
    pub fn problem(&self) -> Option<String> {
        first([
            settings::REPEAT_WINDOW.problem(self.window),
            settings::REPEAT_PENALTY.problem(self.repeat_penalty),
            settings::FREQUENCY_PENALTY.problem(self.frequency_penalty),
            settings::PRESENCE_PENALTY.problem(self.presence_penalty),
        ])
    }
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
        min_p: None,
        repetition: None,
        dry: None,
        reasoning: None,
        close_at_budget: false,
    };
}

impl Sampling {
    /// Closes the answer within `max_tokens` when `on`; see
    /// [`Sampling::close_at_budget`].
    pub const fn with_close_at_budget(mut self, on: bool) -> Self {
        self.close_at_budget = on;
        self
    }
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

    /// Keeping only tokens at least `min_p` times as likely as the likeliest.
    pub const fn with_min_p(mut self, min_p: f32) -> Self {
        self.min_p = Some(min_p);
        self
    }

    /// With no repetition control.
    pub const fn without_repetition(mut self) -> Self {
        self.repetition = None;
        self
    }

    /// With repetition control `repetition`.
    pub const fn with_repetition(mut self, repetition: Repetition) -> Self {
        self.repetition = Some(repetition);
        self
    }

    /// With DRY `dry` (see [`Dry`]).
    pub const fn with_dry(mut self, dry: Dry) -> Self {
        self.dry = Some(dry);
        self
    }

    /// Without DRY.
    pub const fn without_dry(mut self) -> Self {
        self.dry = None;
        self
    }

    /// Thinking first, as `reasoning` says (see [`Reasoning`]).
    pub const fn with_reasoning(mut self, reasoning: Reasoning) -> Self {
        self.reasoning = Some(reasoning);
        self
    }

    /// Answering at once, without thinking.
    pub const fn without_reasoning(mut self) -> Self {
        self.reasoning = None;
        self
    }

    /// What is wrong with these settings, if anything: the first value out
    /// of the range [`agentkit_manifest::settings`] gives for it, in the
    /// words the `#[agent]` macro uses for the same mistake
    /// (`` `temperature` must be between 0.0 and 2.0, got 7.0 ``). Pre-flight
    /// refuses an agent whose settings have a problem.
    pub fn problem(&self) -> Option<String> {
        first([
            settings::TEMPERATURE.problem(self.temperature),
            self.top_p.and_then(|v| settings::TOP_P.problem(v)),
            self.top_k.and_then(|v| settings::TOP_K.problem(v)),
            settings::MAX_TOKENS.problem(self.max_tokens),
            settings::SEED.problem(self.seed),
            self.min_p.and_then(|v| settings::MIN_P.problem(v)),
            self.repetition.and_then(|r| r.problem()),
            self.dry.and_then(|d| d.problem()),
            self.reasoning.and_then(|r| r.problem()),
        ])
    }
}

/// The first of `problems` there is.
fn first<const N: usize>(problems: [Option<String>; N]) -> Option<String> {
    problems.into_iter().flatten().next()
}

impl Default for Sampling {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repetition_settings_are_checked() {
        assert_eq!(Repetition::DEFAULT.problem(), None);
        assert_eq!(
            Repetition::DEFAULT
                .with_repeat_penalty(1.2)
                .with_frequency_penalty(0.5)
                .problem(),
            None
        );
        let zero = Repetition::DEFAULT.with_repeat_penalty(0.0).problem();
        assert!(zero.is_some_and(|p| p.contains("repeat_penalty")));
        let nan = Repetition::DEFAULT
            .with_presence_penalty(f32::NAN)
            .problem();
        assert!(nan.is_some_and(|p| p.contains("presence_penalty") && p.ends_with("got NaN")));
    }

    #[test]
    fn dry_settings_are_checked() {
        assert_eq!(Sampling::DEFAULT.with_dry(Dry::DEFAULT).problem(), None);
        let off = Sampling::DEFAULT.with_dry(Dry::DEFAULT.with_multiplier(0.0));
        assert!(off.problem().is_some_and(|p| p.contains("dry_multiplier")));
        let base = Sampling::DEFAULT.with_dry(Dry::DEFAULT.with_base(0.5));
        assert!(base.problem().is_some_and(|p| p.contains("dry_base")));
        let both = Sampling::DEFAULT
            .with_repetition(Repetition::DEFAULT.with_repeat_penalty(-1.0))
            .with_dry(Dry::DEFAULT.with_base(0.5));
        assert!(both.problem().is_some_and(|p| p.contains("repeat_penalty")));
    }

    #[test]
    fn every_range_the_macro_checks_is_checked_by_hand_too() {
        let hot = Sampling::DEFAULT.with_temperature(7.0).problem();
        assert_eq!(
            hot.as_deref(),
            Some("`temperature` must be between 0.0 and 2.0, got 7.0")
        );
        for wrong in [
            Sampling::DEFAULT.with_temperature(-0.1),
            Sampling::DEFAULT.with_top_p(1.5),
            Sampling::DEFAULT.with_top_k(0),
            Sampling::DEFAULT.with_max_tokens(0),
            Sampling::DEFAULT.with_min_p(f32::INFINITY),
            Sampling::DEFAULT.with_repetition(Repetition::DEFAULT.with_window(0)),
            Sampling::DEFAULT.with_repetition(Repetition::DEFAULT.with_repeat_penalty(2.5)),
            Sampling::DEFAULT.with_repetition(Repetition::DEFAULT.with_frequency_penalty(-3.0)),
            Sampling::DEFAULT.with_dry(Dry::DEFAULT.with_multiplier(6.0)),
            Sampling::DEFAULT.with_dry(Dry::DEFAULT.with_base(5.0)),
            Sampling::DEFAULT.with_dry(Dry::DEFAULT.with_allowed_length(0)),
        ] {
            assert!(wrong.problem().is_some(), "{wrong:?}");
        }
        let edges = Sampling::DEFAULT
            .with_temperature(2.0)
            .with_top_p(1.0)
            .with_top_k(1)
            .with_max_tokens(1)
            .with_min_p(0.0)
            .with_seed(u32::MAX)
            .with_repetition(Repetition::DEFAULT.with_window(1).with_repeat_penalty(2.0))
            .with_dry(Dry::DEFAULT.with_multiplier(5.0).with_allowed_length(64));
        assert_eq!(edges.problem(), None);
        assert_eq!(Sampling::DEFAULT.problem(), None);
    }
}

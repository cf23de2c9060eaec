//! The sampling settings an agent may set, with the values each allows.
//!
//! One table, read twice: the `#[agent]` macro refuses a value out of range
//! at compile time (`#[agent(temperature = 7.0)]`), and the runtime's
//! pre-flight refuses the same value set by hand
//! (`Sampling::DEFAULT.with_temperature(7.0)`), in the same words. A new
//! setting gets its range here, once.
//!
//! ```
//! use agentkit_manifest::settings::{self, TEMPERATURE};
//!
//! assert_eq!(TEMPERATURE.problem(0.7), None);
//! assert_eq!(
//!     TEMPERATURE.problem(7.0).as_deref(),
//!     Some("`temperature` must be between 0.0 and 2.0, got 7.0")
//! );
//! assert_eq!(settings::find("top_k").map(|s| s.kind), Some(settings::Kind::Whole));
//! ```

use std::fmt::{self, Debug};
use std::ops::Bound::{self, Excluded, Included, Unbounded};

/// What kind of number a setting takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// Any number in range, `0.7` or `1` (an `f32` on agentkit's `Sampling`).
    Float,
    /// A whole number in range, `64` (a `u32` on `Sampling`).
    Whole,
}

/// One sampling setting: its name, the numbers it takes and what it means.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Setting {
    /// The name, as the `#[agent]` key and as the field of `Sampling`,
    /// `Repetition` or `Dry` (where the `repeat_`/`dry_` prefix is dropped).
    pub name: &'static str,
    /// Whole number or not.
    pub kind: Kind,
    /// The smallest value allowed, or the value everything allowed is above.
    pub low: Bound<f64>,
    /// The largest value allowed, or the value everything allowed is below.
    pub high: Bound<f64>,
    /// What is counted, in the singular (`"token"`), shown after the range;
    /// empty when the name says it.
    pub unit: &'static str,
    /// Advice shown right after the range when a value is refused, with its
    /// own leading punctuation (`" (1.0 is off)"`); may be empty.
    pub advice: &'static str,
    /// What the setting does, in one sentence.
    pub means: &'static str,
}

impl Setting {
    /// Whether `value` is allowed: a finite number in range (and whole, for
    /// a [`Kind::Whole`] setting).
    pub fn allows(&self, value: f64) -> bool {
        let low = match self.low {
            Included(low) => value >= low,
            Excluded(low) => value > low,
            Unbounded => true,
        };
        let high = match self.high {
            Included(high) => value <= high,
            Excluded(high) => value < high,
            Unbounded => true,
        };
        let whole = self.kind == Kind::Float || value.fract() == 0.0;
        value.is_finite() && low && high && whole
    }

    /// What a value out of range is told, if `value` is one:
    /// `` `temperature` must be between 0.0 and 2.0, got 7.0 ``.
    ///
    /// `value` is shown as its type prints it (`Debug`), so an `f32` reads
    /// `2.1` rather than its `f64` widening `2.0999999046325684`.
    pub fn problem<T: Into<f64> + Debug + Copy>(&self, value: T) -> Option<String> {
        if self.allows(value.into()) {
            return None;
        }
        let requirement = self.requirement();
        // When 0 is the only whole number refused, "got 0" adds nothing.
        let only_zero = self.kind == Kind::Whole
            && self.low == Included(1.0)
            && self.high == Unbounded
            && value.into() == 0.0;
        Some(if only_zero {
            format!("`{}` must be {requirement}", self.name)
        } else {
            format!("`{}` must be {requirement}, got {value:?}", self.name)
        })
    }

    /// The range in words, with the unit and the advice:
    /// `between 1 and 64 tokens (2 is usual)`.
    pub fn requirement(&self) -> String {
        let (low, high) = (
            self.low.map(|v| self.number(v)),
            self.high.map(|v| self.number(v)),
        );
        let last = match self.high {
            Included(v) | Excluded(v) => Some(v),
            Unbounded => match self.low {
                Included(v) | Excluded(v) => Some(v),
                Unbounded => None,
            },
        };
        let range = match (low, high) {
            (Included(a), Included(b)) => format!("between {a} and {b}"),
            (Unbounded, Unbounded) => "a finite number".to_string(),
            (low, high) => {
                let low = match low {
                    Included(a) => Some(format!("at least {a}")),
                    Excluded(a) => Some(format!("above {a}")),
                    Unbounded => None,
                };
                let high = match high {
                    Included(b) => Some(format!("at most {b}")),
                    Excluded(b) => Some(format!("below {b}")),
                    Unbounded => None,
                };
                low.into_iter()
                    .chain(high)
                    .collect::<Vec<_>>()
                    .join(" and ")
            }
        };
        let unit = match (self.unit, last) {
            ("", _) => String::new(),
            (unit, Some(1.0)) => format!(" {unit}"),
            (unit, _) => format!(" {unit}s"),
        };
        format!("{range}{unit}{}", self.advice)
    }

    /// A bound as the user would write it: `2.0` for a float, `64` for a
    /// whole number.
    fn number(&self, v: f64) -> Shown {
        Shown(v, self.kind)
    }
}

/// A bound written for its kind.
struct Shown(f64, Kind);

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            Kind::Float => write!(f, "{:?}", self.0),
            Kind::Whole => write!(f, "{}", self.0),
        }
    }
}

/// `temperature`: softmax temperature.
pub const TEMPERATURE: Setting = Setting {
    name: "temperature",
    kind: Kind::Float,
    low: Included(0.0),
    high: Included(2.0),
    unit: "",
    advice: "",
    means: "Softmax temperature: how far sampling strays from the likeliest token; 0.0 is greedy.",
};

/// `top_p`: nucleus sampling.
pub const TOP_P: Setting = Setting {
    name: "top_p",
    kind: Kind::Float,
    low: Included(0.0),
    high: Included(1.0),
    unit: "",
    advice: "",
    means: "Nucleus sampling: keep the smallest set of tokens whose probability sums to this.",
};

/// `top_k`: keep the likeliest tokens only.
pub const TOP_K: Setting = Setting {
    name: "top_k",
    kind: Kind::Whole,
    low: Included(1.0),
    high: Unbounded,
    unit: "",
    advice: "; leave it out to sample from every token",
    means: "Keep only the `k` most likely tokens.",
};

/// `max_tokens`: the generation budget.
pub const MAX_TOKENS: Setting = Setting {
    name: "max_tokens",
    kind: Kind::Whole,
    low: Included(1.0),
    high: Unbounded,
    unit: "",
    advice: ": an agent that may not generate cannot answer",
    means: "The most tokens the agent may generate.",
};

/// `seed`: the random seed.
pub const SEED: Setting = Setting {
    name: "seed",
    kind: Kind::Whole,
    low: Unbounded,
    high: Unbounded,
    unit: "",
    advice: "",
    means: "The random seed; the same seed, model and prompt give the same output.",
};

/// `min_p`: drop tokens far less likely than the likeliest.
pub const MIN_P: Setting = Setting {
    name: "min_p",
    kind: Kind::Float,
    low: Included(0.0),
    high: Included(1.0),
    unit: "",
    advice: "",
    means: "Keep only tokens at least this likely relative to the likeliest one.",
};

/// `repeat_penalty`: discourage tokens seen in the window.
pub const REPEAT_PENALTY: Setting = Setting {
    name: "repeat_penalty",
    kind: Kind::Float,
    low: Excluded(0.0),
    high: Included(2.0),
    unit: "",
    advice: " (1.0 is off; 1.1 is a safe start)",
    means:
        "Divides a positive logit (multiplies a negative one) of every token seen in the window.",
};

/// `frequency_penalty`: discourage tokens by how often they occur.
pub const FREQUENCY_PENALTY: Setting = Setting {
    name: "frequency_penalty",
    kind: Kind::Float,
    low: Included(-2.0),
    high: Included(2.0),
    unit: "",
    advice: " (0.0 is off)",
    means: "Subtracted from a token's logit once per time it occurs in the window.",
};

/// `presence_penalty`: discourage any token seen at all.
pub const PRESENCE_PENALTY: Setting = Setting {
    name: "presence_penalty",
    kind: Kind::Float,
    low: Included(-2.0),
    high: Included(2.0),
    unit: "",
    advice: " (0.0 is off)",
    means: "Subtracted once from the logit of any token that occurs in the window.",
};

/// `repeat_window`: how far back the repetition penalties look.
pub const REPEAT_WINDOW: Setting = Setting {
    name: "repeat_window",
    kind: Kind::Whole,
    low: Included(1.0),
    high: Unbounded,
    unit: "token",
    advice: "",
    means: "How many of the most recent generated tokens the repetition penalties count.",
};

/// `dry_multiplier`: the strength of DRY.
pub const DRY_MULTIPLIER: Setting = Setting {
    name: "dry_multiplier",
    kind: Kind::Float,
    low: Excluded(0.0),
    high: Included(5.0),
    unit: "",
    advice: " (0.8 is a safe start; leave it out to turn DRY off)",
    means: "DRY's strength: the penalty for extending a repeat just past the allowed length.",
};

/// `dry_base`: how fast DRY's penalty grows.
pub const DRY_BASE: Setting = Setting {
    name: "dry_base",
    kind: Kind::Float,
    low: Included(1.0),
    high: Included(4.0),
    unit: "",
    advice: " (1.75 is usual)",
    means: "How fast DRY's penalty grows with each further repeated token.",
};

/// `dry_allowed_length`: repeats DRY leaves alone.
pub const DRY_ALLOWED_LENGTH: Setting = Setting {
    name: "dry_allowed_length",
    kind: Kind::Whole,
    low: Included(1.0),
    high: Included(64.0),
    unit: "token",
    advice: " (2 is usual)",
    means: "Repeats of up to this many tokens go unpenalised by DRY.",
};

/// `think_budget`: thinking before the answer, and how long it may be.
pub const THINK_BUDGET: Setting = Setting {
    name: "think_budget",
    kind: Kind::Whole,
    low: Included(1.0),
    high: Included(8192.0),
    unit: "token",
    advice: " (leave it out for no thinking; 32 to 256 for a small model)",
    means: "The model thinks in a think block of at most this many tokens before it answers under the grammar.",
};

/// Every sampling setting, in the order the `#[agent]` keys list them.
pub const SAMPLING: &[Setting] = &[
    TEMPERATURE,
    TOP_P,
    TOP_K,
    MAX_TOKENS,
    SEED,
    MIN_P,
    REPEAT_PENALTY,
    FREQUENCY_PENALTY,
    PRESENCE_PENALTY,
    REPEAT_WINDOW,
    DRY_MULTIPLIER,
    DRY_BASE,
    DRY_ALLOWED_LENGTH,
    THINK_BUDGET,
];

/// The setting called `name`, if there is one.
pub fn find(name: &str) -> Option<&'static Setting> {
    SAMPLING.iter().find(|s| s.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_as_the_macro_has_always_written_them() {
        let cases: [(Option<String>, &str); 10] = [
            (TEMPERATURE.problem(-0.5), "`temperature` must be between 0.0 and 2.0, got -0.5"),
            (TOP_P.problem(1.5f32), "`top_p` must be between 0.0 and 1.0, got 1.5"),
            (TOP_K.problem(0u32), "`top_k` must be at least 1; leave it out to sample from every token"),
            (
                MAX_TOKENS.problem(0u32),
                "`max_tokens` must be at least 1: an agent that may not generate cannot answer",
            ),
            (
                REPEAT_PENALTY.problem(0.0),
                "`repeat_penalty` must be above 0.0 and at most 2.0 (1.0 is off; 1.1 is a safe start), got 0.0",
            ),
            (
                PRESENCE_PENALTY.problem(3.5),
                "`presence_penalty` must be between -2.0 and 2.0 (0.0 is off), got 3.5",
            ),
            (REPEAT_WINDOW.problem(0u32), "`repeat_window` must be at least 1 token"),
            (
                DRY_MULTIPLIER.problem(0.0),
                "`dry_multiplier` must be above 0.0 and at most 5.0 (0.8 is a safe start; leave it out to turn DRY off), got 0.0",
            ),
            (DRY_BASE.problem(0.5), "`dry_base` must be between 1.0 and 4.0 (1.75 is usual), got 0.5"),
            (
                DRY_ALLOWED_LENGTH.problem(0u32),
                "`dry_allowed_length` must be between 1 and 64 tokens (2 is usual), got 0",
            ),
        ];
        for (got, want) in cases {
            assert_eq!(got.as_deref(), Some(want));
        }
    }

    #[test]
    fn bounds_are_kept_and_nothing_else_passes() {
        assert_eq!(TEMPERATURE.problem(0.0), None);
        assert_eq!(TEMPERATURE.problem(2.0), None);
        assert!(TEMPERATURE.problem(f32::NAN).is_some());
        assert!(FREQUENCY_PENALTY.problem(f64::INFINITY).is_some());
        assert_eq!(REPEAT_PENALTY.problem(2.0), None);
        assert!(REPEAT_PENALTY.problem(1e-9).is_none());
        assert!(DRY_ALLOWED_LENGTH.problem(65u32).is_some());
        assert!(!TOP_K.allows(1.5));
        assert_eq!(SEED.problem(u32::MAX), None);
        assert_eq!(SEED.requirement(), "a finite number");
    }

    #[test]
    fn an_f32_is_shown_as_written() {
        assert_eq!(
            TEMPERATURE.problem(2.1f32).as_deref(),
            Some("`temperature` must be between 0.0 and 2.0, got 2.1")
        );
    }

    #[test]
    fn every_setting_is_found_by_its_name_once() {
        for s in SAMPLING {
            assert_eq!(find(s.name), Some(s));
            assert!(s.means.ends_with('.'), "{}", s.name);
        }
        assert_eq!(find("temprature"), None);
    }
}

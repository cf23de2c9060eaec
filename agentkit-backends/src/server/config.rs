//! How a [`Server`](super::Server) behaves: how it constrains output, picks
//! endpoints, and how long it keeps trying.

use std::time::Duration;

/// How a request asks the server to constrain its output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Constraint {
    /// A compact grammar where the server takes one (found out by
    /// pre-flight), else `response_format` with the JSON schema.
    #[default]
    Auto,
    /// Always `response_format: {type: "json_schema", ...}`, even where a
    /// grammar would be taken (to compare the two).
    JsonSchema,
}

/// How the endpoint for an attempt is picked among those of a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Selection {
    /// The one with the fewest requests in flight from this backend; ties
    /// go round robin.
    #[default]
    LeastBusy,
    /// Each in turn.
    RoundRobin,
}

/// Settings for the [`Server`](super::Server) backend.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    /// How the output is constrained.
    pub constraint: Constraint,
    /// How endpoints are picked.
    pub selection: Selection,
    /// How many times the whole list of endpoints is tried before a request
    /// fails (a pause of `pause` between rounds).
    pub rounds: u32,
    /// The pause between rounds over the endpoints.
    pub pause: Duration,
    /// How long an endpoint that could not be reached is tried only after
    /// the others.
    pub down_for: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            constraint: Constraint::Auto,
            selection: Selection::LeastBusy,
            rounds: 2,
            pause: Duration::from_millis(500),
            down_for: Duration::from_secs(10),
        }
    }
}

impl ServerConfig {
    /// With the constraint `constraint`.
    pub fn constraint(mut self, constraint: Constraint) -> Self {
        self.constraint = constraint;
        self
    }

    /// With the endpoint selection `selection`.
    pub fn selection(mut self, selection: Selection) -> Self {
        self.selection = selection;
        self
    }

    /// Trying every endpoint `rounds` times (at least once) before failing.
    pub fn rounds(mut self, rounds: u32) -> Self {
        self.rounds = rounds.max(1);
        self
    }
}

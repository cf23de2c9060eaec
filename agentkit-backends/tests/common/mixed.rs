//! A mix of requests to the fixture model for the batching tests: two
//! schemas, two agents, greedy and seeded sampling, inputs of different
//! lengths.

use agentkit::prelude::{Deserialize, JsonSchema};
use agentkit::Sampling;

use super::fixture_request;

#[derive(Deserialize, JsonSchema)]
#[allow(dead_code)]
pub struct Flat {
    #[schemars(length(max = 12))]
    name: String,
    count: u8,
    ok: bool,
}

/// The i-th of a mix of requests: two schemas, two agents, greedy and
/// seeded sampling, inputs of different lengths.
pub fn mixed(i: usize) -> agentkit::backend::Request {
    let (schema, agent) = if i.is_multiple_of(2) {
        (agentkit::output_schema::<Flat>(), "Flat")
    } else {
        (agentkit::output_schema::<Vec<bool>>(), "Bools")
    };
    let sampling = if i.is_multiple_of(3) {
        Sampling::DEFAULT.with_temperature(0.0)
    } else {
        Sampling::DEFAULT.with_temperature(0.8).with_seed(i as u32)
    }
    .with_max_tokens(120);
    let mut request = fixture_request(schema, sampling);
    request.agent = agent;
    request.prompt.messages[1].content = format!("{{\"question\": \"{}\"}}", "why ".repeat(i));
    request
}

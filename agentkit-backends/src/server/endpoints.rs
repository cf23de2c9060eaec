//! What this backend knows about each endpoint (requests in flight, down
//! until when, what it supports) and the order to try a model's endpoints
//! in: those not known to be down first, least busy (or next in turn) first.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agentkit::backend::Endpoint;

use super::caps::{self, Caps, ProbeError};
use super::config::Selection;

/// What this backend knows about one endpoint (by URL).
#[derive(Debug, Default)]
pub(super) struct State {
    busy: AtomicUsize,
    down_until: Mutex<Option<Instant>>,
    caps: tokio::sync::OnceCell<Caps>,
    /// It refused `stream_options`: stream without asking for token counts.
    plain_stream: AtomicBool,
}

impl State {
    /// Whether the endpoint failed lately (within `down_for` before `now`).
    fn is_down(&self, now: Instant) -> bool {
        self.down_until
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some_and(|until| until > now)
    }

    /// The endpoint failed: try it only after the others for `down_for`.
    pub fn mark_down(&self, down_for: Duration) {
        *self.down_until.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(Instant::now() + down_for);
    }

    /// The endpoint answered: it is up again.
    pub fn mark_up(&self) {
        *self.down_until.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Counts a request in flight until the guard is dropped, so a request
    /// cancelled mid-answer is not counted forever.
    pub fn busy(&self) -> Busy<'_> {
        self.busy.fetch_add(1, Ordering::Relaxed);
        Busy(&self.busy)
    }

    /// What the endpoint supports, probed on first use; a failed probe is
    /// tried again next time.
    pub async fn caps(
        &self,
        client: &reqwest::Client,
        endpoint: &Endpoint,
    ) -> Result<Caps, ProbeError> {
        self.caps
            .get_or_try_init(|| caps::probe(client, endpoint))
            .await
            .copied()
    }

    /// Whether to ask for token counts in a stream (`stream_options`):
    /// until the endpoint refused them once.
    pub fn stream_usage(&self) -> bool {
        !self.plain_stream.load(Ordering::Relaxed)
    }

    /// The endpoint refused `stream_options`: do not ask it again.
    pub fn refuse_stream_usage(&self) {
        self.plain_stream.store(true, Ordering::Relaxed);
    }
}

/// A request in flight on an endpoint (see [`State::busy`]).
pub(super) struct Busy<'a>(&'a AtomicUsize);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What is known about every endpoint this backend has used, and whose
/// turn it is.
#[derive(Debug, Default)]
pub(super) struct Endpoints {
    states: Mutex<HashMap<String, Arc<State>>>,
    turn: AtomicUsize,
}

impl Endpoints {
    /// What is known about `endpoint` (nothing yet, the first time).
    pub fn state(&self, endpoint: &Endpoint) -> Arc<State> {
        let mut map = self.states.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(endpoint.url.clone()).or_default().clone()
    }

    /// The endpoints of a model in the order to try them: those not known
    /// to be down first, least busy (or next in turn) first.
    pub fn order<'a>(
        &self,
        endpoints: &'a [Endpoint],
        selection: Selection,
    ) -> Vec<(&'a Endpoint, Arc<State>)> {
        let n = endpoints.len().max(1);
        let start = self.turn.fetch_add(1, Ordering::Relaxed) % n;
        let now = Instant::now();
        let mut list: Vec<(usize, &Endpoint, Arc<State>)> = endpoints
            .iter()
            .enumerate()
            .map(|(i, e)| ((i + n - start) % n, e, self.state(e)))
            .collect();
        list.sort_by_key(|(turn, _, state)| {
            let busy = match selection {
                Selection::LeastBusy => state.busy.load(Ordering::Relaxed),
                Selection::RoundRobin => 0,
            };
            (state.is_down(now), busy, *turn)
        });
        list.into_iter().map(|(_, e, s)| (e, s)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(order: &[(&Endpoint, Arc<State>)]) -> Vec<String> {
        order.iter().map(|(e, _)| e.url.clone()).collect()
    }

    fn three() -> Vec<Endpoint> {
        ["http://a", "http://b", "http://c"]
            .into_iter()
            .map(|u| Endpoint::new(u, "m"))
            .collect()
    }

    #[test]
    fn round_robin_starts_one_further_each_time() {
        let known = Endpoints::default();
        let list = three();
        let firsts: Vec<String> = (0..4)
            .map(|_| urls(&known.order(&list, Selection::RoundRobin))[0].clone())
            .collect();
        assert_eq!(firsts, ["http://a", "http://b", "http://c", "http://a"]);
    }

    #[test]
    fn an_endpoint_marked_down_goes_last_until_it_answers_or_its_time_is_up() {
        let known = Endpoints::default();
        let list = three();
        known.state(&list[0]).mark_down(Duration::from_secs(60));
        for _ in 0..3 {
            let order = known.order(&list, Selection::RoundRobin);
            assert_eq!(urls(&order)[2], "http://a", "tried, but last");
        }
        known.state(&list[0]).mark_up();
        let order = known.order(&list, Selection::RoundRobin);
        assert_eq!(urls(&order)[0], "http://a", "its turn again");
        // Down for no time at all: not down.
        known.state(&list[1]).mark_down(Duration::ZERO);
        let order = known.order(&list, Selection::RoundRobin);
        assert_eq!(urls(&order)[0], "http://b");
    }

    #[test]
    fn least_busy_goes_first_and_a_dropped_request_is_no_longer_counted() {
        let known = Endpoints::default();
        let all = three();
        let list = &all[..2];
        let a = known.state(&list[0]);
        let busy = a.busy();
        // Turn 0 would start at `a`, but it has a request in flight.
        let order = known.order(list, Selection::LeastBusy);
        assert_eq!(urls(&order), ["http://b", "http://a"]);
        known.order(list, Selection::LeastBusy);
        // Turn 2 starts at `a`: round robin does not look at the load.
        let order = known.order(list, Selection::RoundRobin);
        assert_eq!(urls(&order), ["http://a", "http://b"]);
        known.order(list, Selection::LeastBusy);
        drop(busy);
        // Turn 4 starts at `a`, which has nothing in flight any more.
        let order = known.order(list, Selection::LeastBusy);
        assert_eq!(urls(&order), ["http://a", "http://b"]);
    }
}

//! The metrics of the publishing worker (`publish --worker --metrics-address`),
//! which the upstream does not have: what became of each candidate, how long
//! publishing took, and whether the worker is still looking at its queue. Served
//! at `/metrics` like the registry's, with the same `process_*` metrics.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use epr_storage::bucket::BucketError;
use epr_storage::queue::{CandidateOutcome, QueueObserver, Round};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::process_metrics::ProcessCollector;

/// Publishing one candidate takes from tens of milliseconds (a small package into
/// a folder) to minutes (a large one into a remote bucket under contention).
const PUBLISH_BUCKETS: [f64; 12] = [
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn publish_histogram() -> Histogram {
    Histogram::new(PUBLISH_BUCKETS)
}

/// Every metric of the worker, and the registry that prints them.
#[derive(Debug)]
pub struct PublishMetrics {
    registry: Registry,
    candidates: Family<OutcomeLabel, Counter>,
    duration: HistogramFamily<OutcomeLabel>,
    rounds: Family<ResultLabel, Counter>,
    waiting: Gauge,
    last_round: Gauge,
}

impl PublishMetrics {
    pub fn new() -> Arc<PublishMetrics> {
        let mut m = PublishMetrics {
            registry: Registry::default(),
            candidates: Family::default(),
            duration: Family::new_with_constructor(publish_histogram),
            rounds: Family::default(),
            waiting: Gauge::default(),
            last_round: Gauge::default(),
        };
        // Every outcome and result is printed from the start, at zero, so that a
        // rate or an alert on `refused` or `error` works before the first one.
        for outcome in [
            CandidateOutcome::Published,
            CandidateOutcome::AlreadyPublished,
            CandidateOutcome::Refused,
            CandidateOutcome::Failed,
        ] {
            let _ = m.candidates.get_or_create(&OutcomeLabel {
                outcome: outcome.as_str(),
            });
        }
        for result in ["ok", "error"] {
            let _ = m.rounds.get_or_create(&ResultLabel { result });
        }
        let r = &mut m.registry;
        r.register(
            "epr_publish_candidates",
            "Candidates the publishing worker processed, by outcome: published, already_published, refused, failed (retried on the next round)",
            m.candidates.clone(),
        );
        r.register(
            "epr_publish_duration_seconds",
            "A histogram of the time taken to publish one candidate, by outcome",
            m.duration.clone(),
        );
        r.register(
            "epr_publish_queue_rounds",
            "Looks at the queue, by result: ok, or error when the queue could not be read",
            m.rounds.clone(),
        );
        r.register(
            "epr_publish_queue_waiting",
            "Candidates left in the queue by the last round for a later one (a signature not there yet, a bucket failure)",
            m.waiting.clone(),
        );
        r.register(
            "epr_publish_queue_last_round_timestamp_seconds",
            "When the last look at the queue ended, in seconds since the Unix epoch: a worker that stopped looking shows here",
            m.last_round.clone(),
        );
        r.register_collector(Box::new(ProcessCollector::new()));
        Arc::new(m)
    }

    /// The OpenMetrics text of every metric.
    pub fn render(&self) -> String {
        crate::metrics::render(&self.registry)
    }
}

impl QueueObserver for PublishMetrics {
    fn candidate(&self, outcome: CandidateOutcome, took: Duration) {
        let label = OutcomeLabel {
            outcome: outcome.as_str(),
        };
        self.candidates.get_or_create(&label).inc();
        self.duration
            .get_or_create(&label)
            .observe(took.as_secs_f64());
    }

    fn round(&self, result: Result<&Round, &BucketError>) {
        let result = match result {
            Ok(round) => {
                self.waiting.set(round.deferred.len() as i64);
                "ok"
            }
            Err(_) => "error",
        };
        self.rounds.get_or_create(&ResultLabel { result }).inc();
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        self.last_round.set(now.as_secs() as i64);
    }
}

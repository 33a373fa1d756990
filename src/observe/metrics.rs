//! The Prometheus registry behind `vane metrics`: built afresh from a `MetricsSnapshot` on each
//! call, so that every scrape shows the database as it is, and encoded in the Prometheus text
//! exposition format (version 0.0.4).
//!
//! docs/metrics.md lists every metric; a change here is a change there.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::model::AttemptOutcome;
use crate::store::{rejection_cause, MetricsSnapshot, Verdict};

/// The `Content-Type` of what `encode` returns.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// Buckets of an agent's run, in seconds: a scripted agent takes a second, a real one minutes
/// to hours.
const AGENT_BUCKETS: [f64; 12] = [
    1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 7200.0,
];
/// Buckets of a gate run, in seconds, up to the default gate timeout (600 s).
const GATE_BUCKETS: [f64; 11] = [
    0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];
/// Buckets of a candidate's wait for its verdict, in seconds: gates, the queue ahead of it, and
/// for a protected change a person's approval (hours, a day).
const QUEUE_BUCKETS: [f64; 11] = [
    1.0,
    5.0,
    15.0,
    60.0,
    300.0,
    900.0,
    1800.0,
    3600.0,
    4.0 * 3600.0,
    12.0 * 3600.0,
    86_400.0,
];

/// The causes `vane_rejections_total` always shows, zero or not.
const REJECTION_CAUSES: [&str; 3] = ["gate", "conflict", "person"];

type Labels = Vec<(String, String)>;
type FloatCounter = Counter<f64, AtomicU64>;
type FloatGauge = Gauge<f64, AtomicU64>;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn histograms(buckets: &'static [f64]) -> Family<Labels, Histogram, impl Fn() -> Histogram> {
    Family::new_with_constructor(move || Histogram::new(buckets.iter().copied()))
}

/// The registry of every metric, holding the snapshot's values.
pub fn registry(s: &MetricsSnapshot) -> Registry {
    let mut registry = Registry::with_prefix("vane");

    let attempts = Family::<Labels, Counter>::default();
    // Every outcome an attempt can end with, at zero when none did, charged as it normally is.
    for outcome in AttemptOutcome::ALL {
        if *outcome != AttemptOutcome::Changed {
            let charged = if outcome.is_charged() {
                "true"
            } else {
                "false"
            };
            attempts
                .get_or_create(&labels(&[
                    ("outcome", outcome.as_str()),
                    ("charged", charged),
                ]))
                .inc_by(0);
        }
    }
    for a in &s.attempts {
        let charged = if a.charged { "true" } else { "false" };
        attempts
            .get_or_create(&labels(&[("outcome", &a.outcome), ("charged", charged)]))
            .inc_by(a.count);
    }
    registry.register(
        "attempts",
        "Attempts that ended, by outcome and whether they were charged to their task (false: vane's own fault, an interrupt or a crash)",
        attempts,
    );

    let running = Gauge::<i64>::default();
    running.set(to_i64(s.attempts_running));
    registry.register(
        "attempts_running",
        "Attempts whose agent runs now (or whose run died, until the next vane work recovers it)",
        running,
    );
    let awaiting = Gauge::<i64>::default();
    awaiting.set(to_i64(s.attempts_awaiting_verdict));
    registry.register(
        "attempts_awaiting_verdict",
        "Attempts whose change waits for the merge queue or a person's approval",
        awaiting,
    );

    let landings = Counter::<u64>::default();
    landings.inc_by(s.landings);
    registry.register(
        "landings",
        "Tasks landed on the base branch (by the merge queue, vane land or vane approve)",
        landings,
    );
    if let Some(at) = s.last_landing_at {
        let last = FloatGauge::default();
        last.set(at as f64 / 1000.0);
        registry.register_with_unit(
            "last_landing_timestamp",
            "When the latest landing happened, in seconds since the Unix epoch",
            Unit::Seconds,
            last,
        );
    }

    let rejections = Family::<Labels, Counter>::default();
    for cause in REJECTION_CAUSES {
        rejections
            .get_or_create(&labels(&[("cause", cause)]))
            .inc_by(0);
    }
    let mut conflicts = 0;
    for a in &s.attempts {
        if let Some(cause) = rejection_cause(&a.outcome) {
            rejections
                .get_or_create(&labels(&[("cause", cause)]))
                .inc_by(a.count);
            if cause == "conflict" {
                conflicts += a.count;
            }
        }
    }
    registry.register(
        "rejections",
        "Candidates sent back: by a failed gate (gate), a conflict with the base branch (conflict), or a person's vane reject (person)",
        rejections,
    );
    let conflict_counter = Counter::<u64>::default();
    conflict_counter.inc_by(conflicts);
    registry.register(
        "conflicts",
        "Candidates the merge queue found conflicting with the base branch (also counted in vane_rejections_total{cause=\"conflict\"})",
        conflict_counter,
    );

    let recoveries = Family::<Labels, Counter>::default();
    for (kind, count) in [
        ("abandoned_attempt", s.abandoned_attempts),
        ("landing_completed", s.landings_completed_by_recovery),
        ("rollback_completed", s.rollbacks_completed_by_recovery),
    ] {
        recoveries
            .get_or_create(&labels(&[("kind", kind)]))
            .inc_by(count);
    }
    registry.register(
        "recoveries",
        "What recovery after a dead run did: attempts it ended (abandoned_attempt), landings and rollbacks it completed",
        recoveries,
    );
    let rollbacks = Counter::<u64>::default();
    rollbacks.inc_by(s.rollbacks);
    registry.register("rollbacks", "Rollbacks run with vane rollback", rollbacks);

    let batches = Family::<Labels, Counter>::default();
    for (outcome, count) in &s.batches {
        batches
            .get_or_create(&labels(&[("outcome", outcome)]))
            .inc_by(*count);
    }
    registry.register(
        "batches",
        "Batches (vane work runs) that ended: finished, interrupted (by a signal) or crashed (the process died)",
        batches,
    );
    if let Some(latest) = &s.latest_batch {
        let open = Gauge::<i64>::default();
        open.set(i64::from(latest.open));
        registry.register(
            "batch_open",
            "1 while the latest batch has not ended (it runs, or it died and was not recovered yet)",
            open,
        );
        let id = Gauge::<i64>::default();
        id.set(latest.id);
        registry.register(
            "batch_latest",
            "The id of the latest batch, which vane_batch_cost_usd is about",
            id,
        );
        let cost = FloatGauge::default();
        cost.set(latest.cost_usd);
        registry.register_with_unit(
            "batch_cost",
            "What the latest batch spent (its attempts and planner runs)",
            Unit::Other("usd".into()),
            cost,
        );
        if let Some(budget) = latest.budget_usd {
            let gauge = FloatGauge::default();
            gauge.set(budget);
            registry.register_with_unit(
                "batch_budget",
                "The latest batch's budget",
                Unit::Other("usd".into()),
                gauge,
            );
        }
    }

    let interventions = Counter::<u64>::default();
    interventions.inc_by(s.interventions);
    registry.register(
        "interventions",
        "A person's commands that changed the graph or the base branch (vane task retry, vane approve, vane land, vane rollback, ...)",
        interventions,
    );
    let coordinator = Counter::<u64>::default();
    coordinator.inc_by(s.coordinator_actions);
    registry.register(
        "coordinator_actions",
        "Commands of an agent coordinating through vane mcp",
        coordinator,
    );

    let cost = Family::<Labels, FloatCounter>::default();
    for kind in ["attempt", "plan", "extension"] {
        cost.get_or_create(&labels(&[("kind", kind)])).inc_by(0.0);
    }
    for (kind, usd) in &s.cost_usd {
        cost.get_or_create(&labels(&[("kind", kind)])).inc_by(*usd);
    }
    registry.register_with_unit(
        "cost",
        "Spending recorded in the cost ledger: attempts, vane plan runs (plan), roadmap extensions (extension)",
        Unit::Other("usd".into()),
        cost,
    );
    let tokens = Family::<Labels, Counter>::default();
    for (kind, count) in [
        ("input", s.input_tokens),
        ("cached_input", s.cached_input_tokens),
        ("output", s.output_tokens),
    ] {
        tokens
            .get_or_create(&labels(&[("kind", kind)]))
            .inc_by(count);
    }
    registry.register(
        "tokens",
        "Tokens agents and planners reported: input (cached_input is the part of it read from a cache) and output",
        tokens,
    );
    let planned = Family::<Labels, Counter>::default();
    for (source, count) in [("plan", s.planned_tasks), ("extension", s.extended_tasks)] {
        planned
            .get_or_create(&labels(&[("source", source)]))
            .inc_by(count);
    }
    registry.register(
        "planned_tasks",
        "Tasks a planner added: with vane plan (plan) or by extending the roadmap (extension)",
        planned,
    );

    let tasks = Family::<Labels, Gauge<i64>>::default();
    for (status, count) in &s.tasks {
        tasks
            .get_or_create(&labels(&[("status", status.as_str())]))
            .set(to_i64(*count));
    }
    registry.register("tasks", "Tasks (not epics) by status", tasks);

    let verdicts = Family::<Labels, Counter>::default();
    for v in &s.gate_verdicts {
        let flag = |b: bool| if b { "true" } else { "false" };
        verdicts
            .get_or_create(&labels(&[
                ("gate", &v.gate),
                ("passed", flag(v.passed)),
                ("cached", flag(v.cached)),
            ]))
            .inc_by(v.count);
    }
    registry.register(
        "gate_verdicts",
        "Gate results, by gate, whether it passed, and whether the verdict was taken from the cache (the same tree gated before)",
        verdicts,
    );

    let agent = histograms(&AGENT_BUCKETS);
    for (profile, seconds) in &s.agent_durations {
        agent
            .get_or_create(&labels(&[("profile", profile)]))
            .observe(*seconds);
    }
    registry.register_with_unit(
        "agent_duration",
        "How long agents ran, by profile",
        Unit::Seconds,
        agent,
    );
    let gate = histograms(&GATE_BUCKETS);
    for (name, seconds) in &s.gate_durations {
        gate.get_or_create(&labels(&[("gate", name)]))
            .observe(*seconds);
    }
    registry.register_with_unit(
        "gate_duration",
        "How long gate runs took, by gate (verdicts taken from the cache did not run)",
        Unit::Seconds,
        gate,
    );
    let queue = histograms(&QUEUE_BUCKETS);
    for verdict in [Verdict::Landed, Verdict::SentBack] {
        // Made, so that a verdict no candidate has had yet shows as an empty histogram.
        drop(queue.get_or_create(&labels(&[("verdict", verdict.as_str())])));
    }
    for (verdict, seconds) in &s.queue_waits {
        queue
            .get_or_create(&labels(&[("verdict", verdict.as_str())]))
            .observe(*seconds);
    }
    registry.register_with_unit(
        "queue_wait",
        "How long a candidate waited from its agent's end to its verdict: landed, or sent_back (a failed gate, a conflict, a person's rejection)",
        Unit::Seconds,
        queue,
    );

    registry
}

/// The snapshot in the Prometheus text exposition format.
pub fn encode(snapshot: &MetricsSnapshot) -> String {
    let mut text = String::new();
    prometheus_text::encode(&mut text, &registry(snapshot))
        .expect("writing to a String cannot fail");
    text
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TaskStatus;
    use crate::store::AttemptCount;

    #[test]
    fn the_snapshot_is_encoded_with_its_labels_and_every_known_cause_at_zero() {
        let snapshot = MetricsSnapshot {
            tasks: [(TaskStatus::Done, 3), (TaskStatus::Blocked, 1)].into(),
            attempts: vec![
                AttemptCount {
                    outcome: "landed".into(),
                    charged: true,
                    count: 3,
                },
                AttemptCount {
                    outcome: "gate_failed".into(),
                    charged: true,
                    count: 1,
                },
            ],
            landings: 3,
            gate_durations: vec![("tests".into(), 0.2), ("tests".into(), 4.0)],
            queue_waits: vec![(Verdict::Landed, 2.0)],
            ..MetricsSnapshot::default()
        };
        let text = encode(&snapshot);
        for line in [
            "# TYPE vane_attempts_total counter",
            "vane_attempts_total{outcome=\"landed\",charged=\"true\"} 3",
            "vane_attempts_total{outcome=\"vane_error\",charged=\"false\"} 0",
            "vane_landings_total 3",
            "vane_rejections_total{cause=\"gate\"} 1",
            "vane_rejections_total{cause=\"person\"} 0",
            "vane_conflicts_total 0",
            "vane_tasks{status=\"done\"} 3",
            "# TYPE vane_gate_duration_seconds histogram",
            "vane_gate_duration_seconds_bucket{gate=\"tests\",le=\"0.5\"} 1",
            "vane_gate_duration_seconds_bucket{gate=\"tests\",le=\"+Inf\"} 2",
            "vane_gate_duration_seconds_count{gate=\"tests\"} 2",
            "vane_queue_wait_seconds_count{verdict=\"sent_back\"} 0",
            "vane_cost_usd_total{kind=\"plan\"} 0.0",
        ] {
            assert!(text.lines().any(|l| l == line), "no `{line}` in:\n{text}");
        }
        assert!(
            !text.contains("vane_attempts_total{outcome=\"changed\""),
            "{text}"
        );
        assert!(
            !text.contains("vane_batch_open"),
            "no batch, no batch gauges:\n{text}"
        );
    }
}

//! The success report as text for a person: one paragraph per seed metric with its target and
//! whether it was met, then the batches of the window.

use crate::model::format_time;
use crate::store::SuccessReport;

/// How many batches the text lists (the JSON has them all).
const BATCHES_SHOWN: usize = 10;

/// The report as text.
pub fn render(r: &SuccessReport) -> String {
    let mut out = String::new();
    let mut line = |text: String| {
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(format!(
        "vane report: {} to {} ({:.1} days)",
        format_time(r.from),
        format_time(r.until),
        r.days
    ));
    line(String::new());

    let v = &r.velocity;
    line(heading("Velocity", v.met));
    line(format!(
        "  {} landed, {:.2} a day (target {})",
        v.landed, v.per_day, v.target_per_day
    ));
    line(format!(
        "  {} landed by batches in {} of batch time: {} per batch hour",
        v.landed_in_batches,
        span(v.batch_hours * 3600.0),
        number(v.per_batch_hour)
    ));

    let q = &r.quality;
    line(heading("Quality", q.met));
    if q.dimensions.is_empty() {
        line("  no gate scores in the window".to_string());
    }
    for d in &q.dimensions {
        line(format!(
            "  {:<14} mean {:.2} over {} scores, latest {:.2}, lowest {:.2}: {} {:.2}",
            d.dimension,
            d.mean,
            d.scores,
            d.latest_average,
            d.min,
            if d.met { "meets" } else { "below" },
            q.threshold
        ));
    }
    line(format!(
        "  {} of {} landed tasks met the threshold{}",
        q.landed_meeting_threshold,
        q.landed_scored,
        q.share_meeting_threshold
            .map(|s| format!(" ({:.0}%)", s * 100.0))
            .unwrap_or_default()
    ));

    let a = &r.autonomy;
    line(heading("Autonomy", a.met));
    line(format!(
        "  longest stretch of batch work without a person: {} (target {} h){}",
        a.longest_unattended
            .as_ref()
            .map_or_else(|| "none".to_string(), |s| span(s.seconds)),
        a.target_hours,
        a.longest_unattended
            .as_ref()
            .map(|s| format!(", {} to {}", format_time(s.from), format_time(s.to)))
            .unwrap_or_default()
    ));
    let by_actor: Vec<String> = a.by_actor.iter().map(|(k, n)| format!("{k} {n}")).collect();
    line(format!(
        "  {}{}; {} coordinator actions",
        count(a.interventions, "intervention", "interventions"),
        if by_actor.is_empty() {
            String::new()
        } else {
            format!(" ({})", by_actor.join(", "))
        },
        a.coordinator_actions
    ));
    line(format!(
        "  {} ran without one{}",
        count(a.unattended_batches, "batch", "batches"),
        a.longest_unattended_batch
            .as_ref()
            .map(|b| format!(", the longest batch {} for {}", b.batch, span(b.seconds)))
            .unwrap_or_default()
    ));

    let e = &r.efficiency;
    line(heading("Efficiency", e.met));
    line(format!(
        "  {} workers per coordinator (target {}): {} of agent time in {} of batch time",
        number(e.workers_per_coordinator),
        e.target_workers_per_coordinator,
        span(e.agent_seconds),
        span(e.batch_seconds)
    ));
    line(format!(
        "  ${:.2} spent (workers ${:.2}, coordinator ${:.2}), {} per landed task",
        e.cost_usd,
        e.worker_cost_usd,
        e.coordinator_cost_usd,
        e.cost_per_landed_usd
            .map_or_else(|| "-".to_string(), |c| format!("${c:.2}"))
    ));
    let causes: Vec<String> = e
        .wasted_by_cause
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    line(format!(
        "  {}: {} landed, {} wasted{}{}",
        count(e.attempts, "attempt", "attempts"),
        e.landed_attempts,
        e.wasted_attempts,
        if causes.is_empty() {
            String::new()
        } else {
            format!(" ({})", causes.join(", "))
        },
        if e.wasted_uncharged > 0 {
            format!(", {} of them vane's own fault", e.wasted_uncharged)
        } else {
            String::new()
        }
    ));

    let i = &r.intelligence;
    line(heading("Intelligence", i.met));
    line(format!(
        "  {} roadmap extensions added {} tasks, {} landed ({} failed to extend)",
        i.extensions, i.extended_tasks, i.extended_landed, i.extension_failures
    ));
    line(format!(
        "  {} plans added {} tasks, {} landed",
        i.plans, i.planned_tasks, i.planned_landed
    ));

    let l = &r.reliability;
    line(heading("Reliability", l.met));
    line(format!(
        "  {}: {} finished, {} interrupted, {} crashed ({} recovered){}",
        count(l.batches, "batch", "batches"),
        l.finished,
        l.interrupted,
        l.crashed,
        l.crashes_survived,
        if l.open {
            ", the latest still open"
        } else {
            ""
        }
    ));
    line(format!(
        "  recovery ended {} attempts and completed {} landings and {} rollbacks; {} rollbacks by hand; {} checkpoints",
        l.recovered_attempts,
        l.landings_completed_by_recovery,
        l.rollbacks_completed_by_recovery,
        l.rollbacks,
        l.checkpoints
    ));
    line(format!("  database: {}", l.database));

    if !r.batches.is_empty() {
        line(String::new());
        let shown = r.batches.len().min(BATCHES_SHOWN);
        line(if shown < r.batches.len() {
            format!("Batches (the latest {shown} of {}):", r.batches.len())
        } else {
            "Batches:".to_string()
        });
        let row = |cells: [&str; 8]| {
            format!(
                "  {:>5}  {:<20}  {:>7}  {:<11}  {:>6}  {:>8}  {:>7}  {:>13}",
                cells[0], cells[1], cells[2], cells[3], cells[4], cells[5], cells[6], cells[7]
            )
        };
        line(row([
            "batch",
            "started",
            "time",
            "outcome",
            "landed",
            "attempts",
            "cost",
            "interventions",
        ]));
        for b in &r.batches[r.batches.len() - shown..] {
            line(row([
                &b.id.to_string(),
                &format_time(b.started_at),
                &span(b.seconds),
                &b.outcome,
                &b.landed.to_string(),
                &b.attempts.to_string(),
                &format!("${:.2}", b.cost_usd),
                &b.interventions.to_string(),
            ]));
        }
    }
    out
}

fn heading(name: &str, met: bool) -> String {
    format!("{name}: {}", if met { "met" } else { "not met" })
}

fn number(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_string(), |v| format!("{v:.2}"))
}

/// Seconds as a person reads them: `40 s`, `12 min`, `3.5 h`.
fn span(seconds: f64) -> String {
    if seconds < 120.0 {
        format!("{seconds:.0} s")
    } else if seconds < 2.0 * 3600.0 {
        format!("{:.0} min", seconds / 60.0)
    } else {
        format!("{:.1} h", seconds / 3600.0)
    }
}

/// `n` and the noun, in the singular for one.
fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_in_the_unit_that_fits() {
        assert_eq!(span(40.0), "40 s");
        assert_eq!(span(720.0), "12 min");
        assert_eq!(span(3.5 * 3600.0), "3.5 h");
    }
}

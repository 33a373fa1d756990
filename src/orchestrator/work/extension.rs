//! Roadmap extension, the seed's rule: every `every` landings (and once more when the batch runs
//! dry), the coordinator looks at the roadmap's health, and when few tasks are pending or most
//! are done, a planner is asked for the next phase on a thread of its own. Its tasks join the
//! running batch under a new epic. A planner that fails is reported and the batch goes on.

use std::path::PathBuf;
use std::sync::mpsc;
use std::thread::JoinHandle;

use serde_json::json;

use crate::config::{Config, ExtendConfig};
use crate::model::{TaskId, TaskStatus, TaskType};
use crate::orchestrator::planner::{self, PlanOptions, Proposal};
use crate::orchestrator::{OrchestratorError, Result};
use crate::plan::prompt::{EpicBrief, Progress as PlanProgress};
use crate::store::{NewEvent, PlanEpic, Store, TaskFilter};
use crate::workspace::Workspace;

/// How many recent scores per dimension the planner is told the average of.
const RECENT_SCORES: usize = 10;

/// How the roadmap stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Health {
    pub(super) pending: usize,
    pub(super) done: usize,
    /// Tasks that are not epics.
    pub(super) total: usize,
}

impl Health {
    pub(super) fn of(store: &Store) -> Result<Health> {
        let tasks = store.tasks(&TaskFilter::default())?;
        let work: Vec<_> = tasks.iter().filter(|t| t.kind != TaskType::Epic).collect();
        Ok(Health {
            pending: work
                .iter()
                .filter(|t| t.status == TaskStatus::Pending)
                .count(),
            done: work.iter().filter(|t| t.status == TaskStatus::Done).count(),
            total: work.len(),
        })
    }

    /// Whether the roadmap runs low: fewer than `pending_below` pending, or more than
    /// `done_above` of the tasks done.
    pub(super) fn runs_low(&self, settings: &ExtendConfig) -> bool {
        let done_share = if self.total == 0 {
            1.0
        } else {
            self.done as f64 / self.total as f64
        };
        self.pending < settings.pending_below || done_share > settings.done_above
    }
}

/// The result of one extension's planner, from its thread.
type Planned = (TaskId, Result<Proposal>);

/// The extension of one batch.
pub(super) struct Extension {
    settings: ExtendConfig,
    profile: String,
    workdir: PathBuf,
    config: Config,
    /// Landings counted at the last health check.
    checked_at: usize,
    /// New tasks added by this batch's extensions.
    added: usize,
    /// The planner at work, if any.
    running: Option<(JoinHandle<()>, mpsc::Receiver<Planned>)>,
}

/// What an extension did, for the person watching.
#[derive(Debug, Clone)]
pub enum Extended {
    /// The planner is asked for the next phase.
    Planning {
        profile: String,
        pending: usize,
        done: usize,
        total: usize,
    },
    /// Its tasks joined the batch.
    Added {
        epic: TaskId,
        tasks: Vec<TaskId>,
        rationale: Option<String>,
        /// What the planner said it cost, if it did.
        cost_usd: Option<f64>,
    },
    /// It failed; the batch goes on.
    Failed { why: String },
}

impl Extension {
    /// The batch's extension: None without `[extend]`, with `--no-extend`, or for a batch of
    /// chosen tasks (`--task`), whose selection new tasks are not part of.
    pub(super) fn new(config: &Config, workdir: PathBuf, wanted: bool) -> Option<Extension> {
        let settings = config.extend.clone().filter(|_| wanted)?;
        let profile = config.extend_agent()?.to_string();
        Some(Extension {
            settings,
            profile,
            workdir,
            config: config.clone(),
            checked_at: 0,
            added: 0,
            running: None,
        })
    }

    /// Whether a planner is at work.
    pub(super) fn running(&self) -> bool {
        self.running.is_some()
    }

    /// Starts a planner when a check is due and the roadmap runs low: every `every` landings,
    /// or, with `dry`, when the batch has nothing left to do and landed something since the last
    /// check. Returns what to report when one started.
    pub(super) fn check(
        &mut self,
        store: &Store,
        landings: usize,
        dry: bool,
    ) -> Result<Option<Extended>> {
        let since = landings.saturating_sub(self.checked_at);
        let due = since >= self.settings.every as usize || (dry && since > 0);
        if self.running.is_some() || !due {
            return Ok(None);
        }
        self.checked_at = landings;
        let room = self
            .settings
            .max_new_tasks
            .min(self.settings.max_total.saturating_sub(self.added));
        let health = Health::of(store)?;
        if room == 0 || !health.runs_low(&self.settings) {
            return Ok(None);
        }
        let epic = next_epic_id(store)?;
        let progress = progress(store, &health)?;
        let (tx, rx) = mpsc::channel();
        let workdir = self.workdir.clone();
        let config = self.config.clone();
        let profile = self.profile.clone();
        let id = epic.clone();
        let handle = std::thread::spawn(move || {
            let result = (|| {
                let workspace = Workspace::open_to_read(&workdir)?;
                let title = epic_title(&id);
                planner::propose(
                    &workspace,
                    &config,
                    &EpicBrief {
                        id: id.as_str(),
                        title: &title,
                        description: "",
                    },
                    &PlanOptions {
                        profile: &profile,
                        max_tasks: room,
                        replace: false,
                        progress: Some(&progress),
                    },
                )
            })();
            let _ = tx.send((id, result));
        });
        self.running = Some((handle, rx));
        Ok(Some(Extended::Planning {
            profile: self.profile.clone(),
            pending: health.pending,
            done: health.done,
            total: health.total,
        }))
    }

    /// Takes in the planner's answer when it has come: writes its tasks under a new epic, or
    /// records why it failed. None while it is still at work.
    pub(super) fn collect(&mut self, store: &mut Store, batch: i64) -> Result<Option<Extended>> {
        let Some((_, rx)) = &self.running else {
            return Ok(None);
        };
        let (epic, result) = match rx.try_recv() {
            Ok(planned) => planned,
            Err(mpsc::TryRecvError::Empty) => return Ok(None),
            Err(mpsc::TryRecvError::Disconnected) => (
                TaskId::new("extension").map_err(crate::store::StoreError::from)?,
                Err(OrchestratorError::WorkerGone(0)),
            ),
        };
        self.join();
        let written = result.and_then(|proposal| {
            let epic = PlanEpic::New {
                id: epic.clone(),
                title: epic_title(&epic),
                description: proposal.plan.rationale.clone().unwrap_or_default(),
            };
            proposal.apply(
                store,
                epic,
                false,
                "roadmap_extended",
                crate::store::WORK_LOOP,
                Some(batch),
            )?;
            Ok(proposal)
        });
        match written {
            Ok(proposal) => {
                let tasks: Vec<TaskId> = proposal.plan.tasks.iter().map(|t| t.id.clone()).collect();
                self.added += tasks.len();
                Ok(Some(Extended::Added {
                    epic,
                    tasks,
                    rationale: proposal.plan.rationale.clone(),
                    cost_usd: proposal.cost_usd(),
                }))
            }
            // The database failing is vane's failure, and ends the batch as it would elsewhere.
            Err(OrchestratorError::Store(e)) if !is_the_plans_fault(&e) => {
                Err(OrchestratorError::Store(e))
            }
            // The planner failed or answered nothing acceptable, or the graph changed while it
            // thought (a task added by hand with one of its ids): this extension is dropped, and
            // the batch goes on.
            Err(e) => {
                let why = e.to_string();
                store.append_event(&NewEvent {
                    kind: "roadmap_extension_failed",
                    task: None,
                    actor: crate::store::WORK_LOOP,
                    correlation: None,
                    data: json!({ "batch": batch, "planner": self.profile, "error": why }),
                })?;
                Ok(Some(Extended::Failed { why }))
            }
        }
    }

    /// Waits for the planner's thread, if any (it has answered, or is being stopped).
    pub(super) fn join(&mut self) {
        if let Some((handle, _)) = self.running.take() {
            let _ = handle.join();
        }
    }
}

/// `extension-<n>`, the first not taken.
fn next_epic_id(store: &Store) -> Result<TaskId> {
    let mut n = 1;
    loop {
        let id = TaskId::new(format!("extension-{n}")).map_err(crate::store::StoreError::from)?;
        if store.task(&id).is_err() {
            return Ok(id);
        }
        n += 1;
    }
}

fn epic_title(id: &TaskId) -> String {
    format!(
        "Roadmap extension {}",
        id.as_str().trim_start_matches("extension-")
    )
}

/// What the planner is told of the batch: the roadmap's health, the recent average score per
/// quality dimension, and what landed lately.
fn progress(store: &Store, health: &Health) -> Result<PlanProgress> {
    let mut by_dimension: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
    for row in store.quality_rows(None, None)? {
        by_dimension
            .entry(row.dimension)
            .or_default()
            .push(row.score);
    }
    let quality = by_dimension
        .into_iter()
        .map(|(dimension, scores)| {
            let recent = &scores[scores.len().saturating_sub(RECENT_SCORES)..];
            let average = recent.iter().sum::<f64>() / recent.len().max(1) as f64;
            (dimension, average, scores.len())
        })
        .collect();
    let mut done = store.tasks(&TaskFilter {
        statuses: vec![TaskStatus::Done],
        ..Default::default()
    })?;
    done.retain(|t| t.kind != TaskType::Epic);
    done.sort_by_key(|t| std::cmp::Reverse(t.updated_at));
    let landed = done
        .into_iter()
        .take(15)
        .map(|t| (t.id.to_string(), t.title))
        .collect();
    Ok(PlanProgress {
        done: health.done,
        pending: health.pending,
        total: health.total,
        quality,
        landed,
    })
}

/// Whether the store refused the plan for what it holds (an id taken, a cycle through tasks
/// added meanwhile), rather than failing itself.
fn is_the_plans_fault(e: &crate::store::StoreError) -> bool {
    use crate::store::StoreError as E;
    matches!(
        e,
        E::Plan(_)
            | E::TaskExists(_)
            | E::Cycle(_)
            | E::UnknownReference { .. }
            | E::Illegal { .. }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The defaults: fewer than 5 pending, or more than 75% done.
    fn settings() -> ExtendConfig {
        ExtendConfig::default()
    }

    #[test]
    fn the_roadmap_runs_low_with_few_pending_or_most_done() {
        let health = |pending, done, total| Health {
            pending,
            done,
            total,
        };
        assert!(health(4, 0, 10).runs_low(&settings()), "few pending");
        assert!(!health(6, 2, 10).runs_low(&settings()), "healthy");
        assert!(health(5, 16, 21).runs_low(&settings()), "most done");
        assert!(
            !health(5, 15, 21).runs_low(&settings()),
            "71% done, 5 pending"
        );
        assert!(health(0, 0, 0).runs_low(&settings()), "an empty roadmap");
    }
}

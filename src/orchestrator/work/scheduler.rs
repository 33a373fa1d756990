//! Which task runs next: the ready tasks and those to retry in the order a batch starts them, the
//! claim of one for a worker, and the prompt its agent gets.

use std::collections::HashSet;

use super::worker_pool::Job;
use super::{Batch, Progress, Result};
use crate::model::{Task, TaskId, TaskStatus};
use crate::orchestrator::{failpoint, profiles};
use crate::prompt::{self, EarlierAttempt, LandedDependency, PromptInput};
use crate::store::{Attempt, Claim, Store, TaskFilter};

impl Batch<'_> {
    /// Ready tasks and tasks to retry, highest priority first, within the selection.
    pub(super) fn candidates(
        &mut self,
        selection: Option<&HashSet<TaskId>>,
        running: &HashSet<TaskId>,
    ) -> Result<Vec<Task>> {
        let mut tasks = self.store.ready_task_rows()?;
        tasks.extend(self.store.tasks(&TaskFilter {
            statuses: vec![TaskStatus::NeedsImprovement],
            parent: None,
        })?);
        tasks.retain(|t| {
            !running.contains(&t.id)
                && selection.is_none_or(|s| s.contains(&t.id))
                && !self.faults.iter().any(|(id, _)| *id == t.id)
        });
        tasks.sort_by(|a, b| {
            b.priority
                .cmp(&a.priority)
                .then(b.complexity.cmp(&a.complexity))
                .then(a.created_at.cmp(&b.created_at))
        });
        Ok(tasks)
    }

    /// Claims a task for a worker and prepares its job; None when the task cannot run (it is
    /// blocked with the reason instead).
    pub(super) fn start(&mut self, batch: i64, worker: usize, task: &Task) -> Result<Option<Job>> {
        let attempts = self.store.attempts(&task.id)?;
        // Only what the agents did counts: attempts vane cut short, and those before a
        // `vane task retry`, do not.
        let charged = self.store.charged_attempts(&task.id)?;
        if charged >= self.config.max_attempts {
            let reason = format!(
                "gave up after {charged} attempts; the last: {}",
                attempts
                    .iter()
                    .rev()
                    .find(|a| a.charged)
                    .and_then(|a| a.feedback.clone())
                    .unwrap_or_else(|| "no details".to_string())
            );
            self.block(&task.id, &reason)?;
            return Ok(None);
        }
        let (chosen, agent_reason) = match (self.config.escalate_after, &self.config.escalate_to) {
            (Some(after), Some(stronger)) if charged >= after => (
                profiles::resolve(self.config, stronger),
                Some(format!(
                    "escalated to `{stronger}`: {charged} earlier attempt{} fell short (escalate_after = {after})",
                    if charged == 1 { "" } else { "s" }
                )),
            ),
            _ => (profiles::for_task(self.config, task), None),
        };
        let profile = match chosen {
            Ok(profile) => profile,
            Err(e) => {
                self.block(&task.id, &e.to_string())?;
                return Ok(None);
            }
        };
        if profile.name == "shell" && task.run.is_none() {
            self.block(
                &task.id,
                "the shell agent runs a task's `run` command, and this task has none",
            )?;
            return Ok(None);
        }
        let Some(base_sha) = self.base_tip()? else {
            return Ok(None);
        };
        // The event of the claim says why this attempt, and why its agent (so `vane task show`
        // and `vane events` show an escalation).
        let note = match (&agent_reason, attempts.is_empty()) {
            (Some(reason), _) => Some(format!(
                "retrying with the feedback of the last attempt; {reason}"
            )),
            (None, false) => Some("retrying with the feedback of the last attempt".to_string()),
            (None, true) => None,
        };
        let worker_name = format!("w{}", worker + 1);
        let attempt = self.store.claim(
            &task.id,
            &Claim {
                batch,
                worker: &worker_name,
                profile: &profile.name,
                base_sha: &base_sha,
                note: note.as_deref(),
                agent_reason: agent_reason.as_deref(),
            },
        )?;
        failpoint::hit("after_claim");
        let run_dir = self
            .state_dir
            .join("runs")
            .join(task.id.as_str())
            .join(attempt.number.to_string());
        // The worker writes the prompt into the run directory: files made here would cost the
        // merge queue's thread, which every landing waits for.
        let prompt = self.prompt(task, &attempts, attempt.number)?;
        let prompt_file = run_dir.join("prompt.md");
        (self.progress)(Progress::Started {
            worker: worker + 1,
            task: task.id.clone(),
            title: task.title.clone(),
            profile: profile.name.clone(),
            attempt: attempt.number,
        });
        Ok(Some(Job {
            guarded: std::sync::Arc::clone(&self.guarded),
            attempt,
            task: task.clone(),
            profile,
            base_sha,
            run_dir,
            prompt_file,
            prompt,
            log_limit: self.config.log_limit(),
        }))
    }

    fn prompt(&self, task: &Task, earlier: &[Attempt], number: u32) -> Result<String> {
        let epic = match &task.parent {
            Some(parent) => Some(self.store.task(parent)?),
            None => None,
        };
        let detail = self.store.task_detail(&task.id)?;
        let mut dependencies = Vec::new();
        for dep in detail
            .dependencies
            .iter()
            .filter(|d| d.status == TaskStatus::Done)
        {
            let landed = self.store.task(&dep.id)?.landed_sha;
            let subjects = match landed {
                Some(sha) => self
                    .git
                    .commit_subjects(&format!("{sha}^1..{sha}^2"))
                    .unwrap_or_default(),
                None => Vec::new(),
            };
            dependencies.push(LandedDependency {
                id: dep.id.clone(),
                title: dep.title.clone(),
                subjects,
            });
        }
        let context = self.store.context_entries(None, None, None)?;
        let earlier: Vec<EarlierAttempt> = earlier
            .iter()
            .map(|a| EarlierAttempt {
                number: a.number,
                outcome: a
                    .outcome
                    .clone()
                    .unwrap_or_else(|| "unfinished".to_string()),
                feedback: a.feedback.clone(),
            })
            .collect();
        Ok(prompt::build(&PromptInput {
            task,
            epic: epic.as_ref(),
            dependencies: &dependencies,
            context: &context,
            earlier: &earlier,
            attempt: number,
        }))
    }
}

/// The tasks `--task` selects, with everything they wait for; None for all.
pub(super) fn select(store: &Store, wanted: &[TaskId]) -> Result<Option<HashSet<TaskId>>> {
    if wanted.is_empty() {
        return Ok(None);
    }
    let mut selected = HashSet::new();
    let mut stack: Vec<TaskId> = wanted.to_vec();
    while let Some(id) = stack.pop() {
        if !selected.insert(id.clone()) {
            continue;
        }
        let detail = store.task_detail(&id)?;
        for dep in &detail.dependencies {
            if dep.kind == crate::model::DepKind::Blocks {
                stack.push(dep.id.clone());
            }
        }
        stack.extend(detail.children.iter().map(|c| c.id.clone()));
        if let Some(parent) = &detail.task.parent {
            // The epic's own dependencies are inherited by its tasks.
            for dep in store.task_detail(parent)?.dependencies {
                if dep.kind == crate::model::DepKind::Blocks {
                    stack.push(dep.id);
                }
            }
        }
    }
    Ok(Some(selected))
}

/// Whether a batch would have anything to do: a ready task, one to retry, or one to land.
pub(super) fn has_work(store: &Store, selection: Option<&HashSet<TaskId>>) -> Result<bool> {
    let selected = |id: &TaskId| selection.is_none_or(|s| s.contains(id));
    if store.ready_tasks()?.iter().any(selected) {
        return Ok(true);
    }
    let waiting = store.tasks(&TaskFilter {
        statuses: vec![TaskStatus::NeedsImprovement, TaskStatus::NeedsReview],
        parent: None,
    })?;
    Ok(waiting.iter().any(|t| selected(&t.id)))
}

/// The ready tasks in the order a batch would start them.
pub(super) fn schedule(store: &Store, selection: Option<&HashSet<TaskId>>) -> Result<Vec<TaskId>> {
    Ok(store
        .ready_tasks()?
        .into_iter()
        .filter(|id| selection.is_none_or(|s| s.contains(id)))
        .collect())
}

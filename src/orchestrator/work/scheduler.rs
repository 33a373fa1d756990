//! Which task runs next: the ready tasks and those to retry in the order a batch starts them, the
//! claim of one for a worker, and the prompt its agent gets.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::overlap::{self, Footprint, Held};
use super::worker_pool::{Job, JobTask, Resume, Work};
use super::{Batch, Progress, Result};
use crate::graph::{Graph, Node};
use crate::model::{AttemptOutcome, Task, TaskId, TaskStatus};
use crate::orchestrator::{approval, failpoint, profiles};
use crate::prompt::{self, EarlierAttempt, PromptInput};
use crate::store::{Attempt, Claim, RemoteClaim, Store, StoreError, TaskFilter};

impl Batch<'_> {
    /// The tasks to start on `slots` free workers: ready tasks and tasks to retry, highest priority
    /// first, within the selection, leaving out those whose paths (declared, or touched by their
    /// earlier attempts) overlap those of a task that runs or waits to land (`busy`), or of one
    /// started before them: they wait until it landed, as a conflict would cost a run and another
    /// to resolve it. Those held back are reported once each.
    pub(super) fn candidates(
        &mut self,
        selection: Option<&HashSet<TaskId>>,
        busy: &[TaskId],
        slots: usize,
    ) -> Result<Vec<Task>> {
        let mut tasks = self.store.ready_task_rows()?;
        tasks.extend(self.store.tasks(&TaskFilter {
            statuses: vec![TaskStatus::NeedsImprovement],
            parent: None,
        })?);
        tasks.retain(|t| {
            !busy.contains(&t.id)
                && selection.is_none_or(|s| s.contains(&t.id))
                && !self.faults.iter().any(|(id, _)| *id == t.id)
        });
        sort_for_start(&mut tasks);
        let mut ready = Vec::with_capacity(tasks.len());
        for task in &tasks {
            ready.push(footprint(self.store, task)?);
        }
        let mut running = Vec::with_capacity(busy.len());
        for id in busy {
            running.push(footprint(self.store, &self.store.task(id)?)?);
        }
        let plan = overlap::plan_starts(&ready, &running, slots);
        for held in plan.held {
            if self.held.insert(held.task.clone()) {
                (self.progress)(Progress::HeldBack {
                    task: held.task,
                    behind: held.behind,
                    paths: held.paths,
                });
            }
        }
        tasks.retain(|t| plan.start.contains(&t.id));
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
        if let Some(budget) = self.config.budget.task_usd {
            let spent = self.store.task_spent(&task.id)?.usd;
            if spent >= budget {
                let reason = format!(
                    "spent ${spent:.2} of its ${budget:.2} budget (`task_usd` in [budget]); \
                     `vane task retry {}` gives it a fresh one",
                    task.id
                );
                self.block(&task.id, &reason)?;
                return Ok(None);
            }
        }
        // The task's own profile, a route's, the default, or `escalate_to`; the attempt keeps
        // why when a route or an escalation chose it.
        let next = profiles::next_agent(self.config, task, charged);
        let agent_reason = next.agent_reason();
        let profile = match profiles::resolve(self.config, next.profile) {
            Ok(profile) => profile,
            Err(e) => {
                self.block(&task.id, &e.to_string())?;
                return Ok(None);
            }
        };
        // An agent that takes a cap on its own spending is given what is left of the budgets.
        let profile = match self.budget_left(&task.id)? {
            Some(left) => profile.capped(left).unwrap_or(profile),
            None => profile,
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
        let fresh = self.store.fresh_start(&task.id)?;
        let resume = if fresh {
            None
        } else {
            self.resume_point(task, &attempts)?
        };
        // The event of the claim says why this attempt, where it starts, and why its agent (so
        // `vane task show` and `vane events` show an escalation or a route).
        let retry = (!attempts.is_empty()).then(|| {
            let start = match (&resume, fresh) {
                (Some(resume), _) => format!(
                    ", from the merge of attempt {}'s work with the new base, its conflict markers \
                     in place",
                    resume.attempt
                ),
                (None, true) => {
                    ", from the base branch as asked (`vane task retry --fresh`)".into()
                }
                (None, false) => String::new(),
            };
            let agent = agent_reason
                .as_ref()
                .map(|reason| format!("; {reason}"))
                .unwrap_or_default();
            format!("retrying with the feedback of the last attempt{start}{agent}")
        });
        let note = retry.or_else(|| agent_reason.clone());
        // A remote worker's job is recorded with its claim: a run that dies after this collects
        // its result instead of running the attempt again.
        let executor = self.slot_executor(worker).cloned();
        let executor = executor.as_ref();
        let worker_name = match executor {
            Some(executor) => format!("{}#{}", executor.name, worker + 1),
            None => format!("w{}", worker + 1),
        };
        let remote = executor.map(|executor| RemoteClaim {
            executor: &executor.name,
            remote: &executor.remote,
            deadline: crate::model::now_millis().saturating_add(executor.time_limit_ms()),
        });
        let attempt = self.store.claim(
            &task.id,
            &Claim {
                batch,
                worker: &worker_name,
                profile: &profile.name,
                base_sha: &base_sha,
                note: note.as_deref(),
                agent_reason: agent_reason.as_deref(),
                remote,
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
            work: Work {
                guarded: std::sync::Arc::clone(&self.guarded),
                task: JobTask::of(task),
                number: attempt.number,
                profile,
                base_sha,
                run_dir,
                prompt_file,
                prompt,
                log_limit: self.config.log_limit(),
                resume,
            },
            attempt,
        }))
    }

    /// Where the next attempt at `task` resumes: the work of its last attempt, when the merge
    /// queue found that conflicting with base and the task's branch still holds it. Attempts vane
    /// cut short (an interrupt, a crash, its own failure) are passed over: they say nothing about
    /// the work. None to start from the base branch, as every other retry does.
    fn resume_point(&self, task: &Task, attempts: &[Attempt]) -> Result<Option<Resume>> {
        let Some(last) = attempts.iter().rev().find(|a| a.charged) else {
            return Ok(None);
        };
        let (Some(AttemptOutcome::Conflict), Some(head), Some(since)) =
            (last.outcome, &last.head_sha, &last.base_sha)
        else {
            return Ok(None);
        };
        if self.git.branch_tip(&task.id.branch())?.is_none() {
            // The branch was deleted (by hand, or by `vane gc`): nothing to resume.
            return Ok(None);
        }
        Ok(Some(Resume {
            attempt: last.number,
            head: head.clone(),
            since: since.clone(),
        }))
    }

    fn prompt(&self, task: &Task, earlier: &[Attempt], number: u32) -> Result<String> {
        let epic = match &task.parent {
            Some(parent) => Some(self.store.task(parent)?),
            None => None,
        };
        let dependencies =
            crate::orchestrator::landed_dependencies(self.store, self.git, &task.id)?;
        let context = self.store.context_entries(None, None, None)?;
        let earlier: Vec<EarlierAttempt> = earlier
            .iter()
            .map(|a| EarlierAttempt {
                number: a.number,
                outcome: a.outcome,
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

/// Whether a batch would have anything to do: a ready task, one to retry, or one to land. A
/// candidate that waits for a person's `vane approve` is not the batch's to do: a batch for it
/// alone would only record a checkpoint.
pub(super) fn has_work(store: &Store, selection: Option<&HashSet<TaskId>>) -> Result<bool> {
    let selected = |id: &TaskId| selection.is_none_or(|s| s.contains(id));
    if store.ready_tasks()?.iter().any(selected) {
        return Ok(true);
    }
    // Results of remote workers an earlier run started are to be collected.
    if store
        .open_remote_jobs()?
        .iter()
        .any(|(attempt, _)| selected(&attempt.task))
    {
        return Ok(true);
    }
    let waiting = store.tasks(&TaskFilter {
        statuses: vec![TaskStatus::NeedsImprovement, TaskStatus::NeedsReview],
        parent: None,
    })?;
    for task in waiting.iter().filter(|t| selected(&t.id)) {
        let for_a_person = task.status == TaskStatus::NeedsReview
            && store.approval(&task.id)?.as_deref() == Some(approval::WAITING);
        if !for_a_person {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The order a batch starts tasks in: highest priority first (the longest chain of tasks waiting
/// on it), then the most complex, then the oldest.
fn sort_for_start(tasks: &mut [Task]) {
    tasks.sort_by(|a, b| {
        b.priority
            .cmp(&a.priority)
            .then(b.complexity.cmp(&a.complexity))
            .then(a.created_at.cmp(&b.created_at))
    });
}

/// One wave of a dry run's forecast: the tasks that start together on the batch's workers, and
/// those held back in it because their paths overlap a task's that runs, waits to land or starts
/// first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Wave {
    pub tasks: Vec<TaskId>,
    pub held: Vec<Held>,
}

/// What a batch of `workers` would do, wave by wave, if every attempt landed at its first try:
/// wave 1 is what starts now; each later wave is what starts once the one before it has landed
/// (the tasks that became ready, and those that waited for a worker or for an overlapping task),
/// at most `workers` at a time and `max_tasks` in all. Tasks running or waiting to land when it is
/// asked are counted as landing during wave 1. A real batch does not wait for a whole wave: a task
/// starts as soon as a worker is free and what it waits for has landed; the order is the same.
pub(super) fn forecast(
    store: &Store,
    selection: Option<&HashSet<TaskId>>,
    workers: usize,
    max_tasks: Option<usize>,
) -> Result<Vec<Wave>> {
    let mut tasks = store.tasks(&TaskFilter::default())?;
    sort_for_start(&mut tasks);
    let edges = store.blocks_edges()?;
    let mut footprints: HashMap<TaskId, Footprint> = HashMap::new();
    let mut busy = Vec::new();
    for task in &tasks {
        if matches!(
            task.status,
            TaskStatus::InProgress | TaskStatus::NeedsReview
        ) {
            busy.push(footprint(store, task)?);
        }
    }
    let mut landed: HashSet<TaskId> = HashSet::new();
    let mut waves = Vec::new();
    let mut budget = max_tasks.unwrap_or(usize::MAX);
    while budget > 0 {
        // The graph as it would be: what the waves so far started, and what was busy, landed.
        let nodes = tasks
            .iter()
            .map(|t| Node {
                id: t.id.clone(),
                kind: t.kind,
                status: if landed.contains(&t.id) {
                    TaskStatus::Done
                } else {
                    t.status
                },
                complexity: t.complexity,
                parent: t.parent.clone(),
                age: t.created_at,
            })
            .collect();
        let graph = Graph::new(nodes, edges.clone()).map_err(StoreError::from)?;
        let mut ready = Vec::new();
        for task in &tasks {
            let startable = !landed.contains(&task.id)
                && selection.is_none_or(|s| s.contains(&task.id))
                && (graph.is_ready(&task.id) || task.status == TaskStatus::NeedsImprovement);
            if startable {
                if !footprints.contains_key(&task.id) {
                    footprints.insert(task.id.clone(), footprint(store, task)?);
                }
                ready.extend(footprints.get(&task.id).cloned());
            }
        }
        if ready.is_empty() {
            break;
        }
        let plan = overlap::plan_starts(&ready, &busy, workers.min(budget));
        if plan.start.is_empty() && busy.is_empty() {
            // Nothing holds them back but each other, which `plan_starts` never does to the first.
            break;
        }
        budget -= plan.start.len();
        landed.extend(plan.start.iter().cloned());
        landed.extend(busy.drain(..).map(|f| f.task));
        waves.push(Wave {
            tasks: plan.start,
            held: plan.held,
        });
    }
    Ok(waves)
}

/// The ready tasks in the order a batch of `workers` would start them, and those it would hold
/// back: a task whose paths overlap those of a task running, waiting to land (in progress or in
/// review), or starting before it waits for that one (see `overlap::plan_starts`).
pub(super) fn schedule(
    store: &Store,
    selection: Option<&HashSet<TaskId>>,
    workers: usize,
) -> Result<(Vec<TaskId>, Vec<Held>)> {
    let mut ready = Vec::new();
    for task in store.ready_task_rows()? {
        if selection.is_none_or(|s| s.contains(&task.id)) {
            ready.push(footprint(store, &task)?);
        }
    }
    let mut busy = Vec::new();
    for task in store.tasks(&TaskFilter {
        statuses: vec![TaskStatus::InProgress, TaskStatus::NeedsReview],
        parent: None,
    })? {
        busy.push(footprint(store, &task)?);
    }
    let plan = overlap::plan_starts(&ready, &busy, workers);
    let order = ready
        .into_iter()
        .map(|f| f.task)
        .filter(|id| !plan.held.iter().any(|h| h.task == *id))
        .collect();
    Ok((order, plan.held))
}

/// What `task` is expected to touch: the paths it declared, then those its attempts touched.
pub(super) fn footprint(store: &Store, task: &Task) -> Result<Footprint> {
    let mut paths = task.paths.clone();
    for path in store.learned_paths(&task.id)? {
        if !paths.contains(&path) {
            paths.push(path);
        }
    }
    Ok(Footprint {
        task: task.id.clone(),
        paths,
    })
}

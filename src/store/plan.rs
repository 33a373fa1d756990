//! Writing a planner's plan into the graph: the epic (made from a goal, or one that exists), its
//! new tasks and their dependencies, the pending tasks a `--replace` sets aside, and one event
//! that says who planned it and why. All of it in one transaction, or nothing.

use rusqlite::Connection;
use serde::Serialize;
use serde_json::json;

use super::events::{append, NewEvent};
use super::import::{apply_tasks, TaskChange};
use super::tasks::{get_task, insert_task, task_exists, transition};
use super::{NewCost, NewTask, Result, Store, StoreError};
use crate::lifecycle::Mover;
use crate::model::{TaskId, TaskStatus, TaskType};
use crate::roadmap::RoadmapTask;

/// The epic a plan is for.
#[derive(Debug, Clone)]
pub enum PlanEpic {
    /// One in the graph already.
    Existing(TaskId),
    /// One made from a goal, in the same transaction as its tasks.
    New {
        id: TaskId,
        title: String,
        description: String,
    },
}

impl PlanEpic {
    pub fn id(&self) -> &TaskId {
        match self {
            PlanEpic::Existing(id) | PlanEpic::New { id, .. } => id,
        }
    }
}

/// A validated plan, ready to be written.
#[derive(Debug, Clone)]
pub struct PlanToApply<'a> {
    pub epic: PlanEpic,
    /// The plan's tasks, children of the epic, in the planner's order.
    pub tasks: &'a [RoadmapTask],
    /// Set aside the epic's pending tasks that the plan does not name again (`--replace`): they
    /// are blocked and leave the epic, so that it completes with the new plan.
    pub replace: bool,
    /// The event's type: `planned` for `vane plan`, `roadmap_extended` for an extension.
    pub event: &'static str,
    /// What the event records besides the tasks: the planner, its session, cost and rationale.
    pub details: serde_json::Value,
    pub actor: &'a str,
    /// What the planner's runs cost, for the ledger (`costs`), written with the plan.
    pub costs: &'a [NewCost],
}

/// What writing a plan did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PlanApplied {
    pub changes: Vec<TaskChange>,
    /// Pending tasks of the epic that `--replace` set aside.
    pub replaced: Vec<TaskId>,
    /// The event that records the plan.
    pub event: i64,
}

/// Why the store refuses a plan that validated against an older view of the graph (a task added
/// or started meanwhile).
#[derive(Debug, thiserror::Error)]
pub enum PlanConflict {
    #[error("`{0}` is no epic")]
    NotAnEpic(TaskId),
    #[error("`{task}` waits for `{replaced}`, which the new plan replaces; keep `{replaced}` in the plan, or remove the dependency first")]
    StillNeeded { task: TaskId, replaced: TaskId },
    /// A task of the plan has an id that a task took while the planner thought (one added by
    /// hand, or by another plan): the plan is not written over it.
    #[error(
        "a task `{0}` was added while the planner worked; plan again to get a plan that knows it"
    )]
    Taken(TaskId),
}

impl Store {
    /// Writes a plan in one transaction: nothing when any part fails (a cycle through tasks
    /// stored meanwhile, an id taken meanwhile).
    pub fn apply_plan(&mut self, plan: &PlanToApply<'_>) -> Result<PlanApplied> {
        self.write(|tx| apply_plan(tx, plan))
    }
}

fn apply_plan(tx: &Connection, plan: &PlanToApply<'_>) -> Result<PlanApplied> {
    let correlation = super::new_correlation_id("plan");
    let epic = plan.epic.id();
    match &plan.epic {
        PlanEpic::New {
            id,
            title,
            description,
        } => {
            if task_exists(tx, id)? {
                return Err(StoreError::TaskExists(id.clone()));
            }
            let new = NewTask {
                id: Some(id.clone()),
                title: title.clone(),
                description: description.clone(),
                kind: TaskType::Epic,
                complexity: None,
                parent: None,
                deps: Vec::new(),
                run: None,
                agent: None,
                paths: Vec::new(),
            };
            insert_task(tx, id, &new, plan.actor, Some(&correlation))?;
        }
        PlanEpic::Existing(id) => {
            if get_task(tx, id)?.kind != TaskType::Epic {
                return Err(PlanConflict::NotAnEpic(id.clone()).into());
            }
        }
    }
    // Only the epic's pending tasks, under `--replace`, may be planned again; any other id the
    // plan holds must still be free.
    let replaceable: std::collections::HashSet<TaskId> = if plan.replace {
        pending_children(tx, epic)?.into_iter().collect()
    } else {
        Default::default()
    };
    for task in plan.tasks {
        if task_exists(tx, &task.id)? && !replaceable.contains(&task.id) {
            return Err(PlanConflict::Taken(task.id.clone()).into());
        }
    }
    let mut replaced = Vec::new();
    if plan.replace {
        let named: std::collections::HashSet<&TaskId> = plan.tasks.iter().map(|t| &t.id).collect();
        for child in pending_children(tx, epic)? {
            if !named.contains(&child) {
                replaced.push(child);
            }
        }
        for id in &replaced {
            transition(
                tx,
                id,
                TaskStatus::Blocked,
                Mover::Person,
                Some(&format!("replaced by a new plan of `{epic}`")),
                plan.actor,
                Some(&correlation),
            )?;
            tx.prepare_cached("UPDATE tasks SET parent_id = NULL WHERE id = ?1")?
                .execute([id.as_str()])?;
        }
    }
    let changes = apply_tasks(tx, plan.tasks, plan.actor, &correlation)?;
    // Checked once the plan's own dependencies are in: none may wait for a task set aside.
    for id in &replaced {
        if let Some(task) = waiting_for(tx, id, &replaced)? {
            return Err(PlanConflict::StillNeeded {
                task,
                replaced: id.clone(),
            }
            .into());
        }
    }
    let mut details = plan.details.clone();
    if let Some(map) = details.as_object_mut() {
        map.insert("epic".into(), json!(epic));
        map.insert(
            "tasks".into(),
            json!(plan.tasks.iter().map(|t| &t.id).collect::<Vec<_>>()),
        );
        map.insert("replaced".into(), json!(replaced));
    }
    let event = append(
        tx,
        &NewEvent {
            kind: plan.event,
            task: Some(epic),
            actor: plan.actor,
            correlation: Some(&correlation),
            data: details,
        },
    )?;
    for cost in plan.costs {
        super::costs::record(tx, cost, Some(epic))?;
    }
    Ok(PlanApplied {
        changes,
        replaced,
        event,
    })
}

/// The epic's children that are pending, oldest first.
fn pending_children(tx: &Connection, epic: &TaskId) -> Result<Vec<TaskId>> {
    let mut stmt = tx.prepare_cached(
        "SELECT id FROM tasks WHERE parent_id = ?1 AND status = 'pending' ORDER BY rowid",
    )?;
    let rows = stmt.query_map([epic.as_str()], |r| r.get::<_, String>(0))?;
    let mut ids = Vec::new();
    for row in rows {
        ids.push(TaskId::new(row?)?);
    }
    Ok(ids)
}

/// A task outside `replaced` that waits for `id`, if any.
fn waiting_for(tx: &Connection, id: &TaskId, replaced: &[TaskId]) -> Result<Option<TaskId>> {
    let mut stmt = tx.prepare_cached(
        "SELECT task_id FROM task_dependencies WHERE depends_on_task_id = ?1 AND dependency_type = 'blocks'
         ORDER BY task_id",
    )?;
    let rows = stmt.query_map([id.as_str()], |r| r.get::<_, String>(0))?;
    for row in rows {
        let task = TaskId::new(row?)?;
        if !replaced.contains(&task) {
            return Ok(Some(task));
        }
    }
    Ok(None)
}

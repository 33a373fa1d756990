//! Changing a task before anyone works on it: its title, description, complexity, paths, agent,
//! shell command and dependencies, or removing it. Once an attempt has started, what its agent was
//! given is part of the record, so only a pending task changes (and `vane task edit` and `rm` want
//! one never attempted); the change and its events are one transaction.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use serde_json::json;

use super::events::{append, NewEvent};
use super::tasks::{
    delete_dependency, get_task, insert_dependency, load_graph, refresh_priorities, task_exists,
    write_paths,
};
use super::{Result, Store, StoreError};
use crate::model::{now_millis, Complexity, DepKind, Task, TaskId, TaskStatus};

/// What to change in a pending task; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskUpdate {
    pub title: Option<String>,
    pub description: Option<String>,
    pub complexity: Option<Complexity>,
    /// In place of the task's paths; an empty list declares none.
    pub paths: Option<Vec<String>>,
    /// `Some(None)` clears it: the configured default works on the task.
    pub agent: Option<Option<String>>,
}

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error("task `{id}` is {status}; only a pending task can be changed")]
    NotPending { id: TaskId, status: TaskStatus },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Store {
    /// Changes a pending task, with a `task_updated` event naming the fields that changed and
    /// their new values; a field given as it already is does not count. Nothing is written for a
    /// task that is not pending, nor when nothing changes.
    #[tracing::instrument(skip(self, update, actor))]
    pub fn update_pending_task(
        &mut self,
        id: &TaskId,
        update: &TaskUpdate,
        actor: &str,
    ) -> std::result::Result<(Task, Vec<&'static str>), UpdateError> {
        let outcome = self.write(|tx| {
            let stored = get_task(tx, id)?;
            if stored.status != TaskStatus::Pending {
                return Ok(Err(stored.status));
            }
            let (task, fields) = write_fields(tx, &stored, update, None, actor)?;
            Ok(Ok((task, fields)))
        })?;
        outcome.map_err(|status| UpdateError::NotPending {
            id: id.clone(),
            status,
        })
    }

    /// `vane task edit`: changes a task that has not started (pending, and never attempted: once
    /// an agent was given the task, what it was given is part of the record), its fields as
    /// `update_pending_task` does, its shell command, and its dependencies (each with its
    /// `dependency_added` or `dependency_removed` event). All of it or nothing: an unknown task, a
    /// missing dependency or a cycle writes nothing. Returns the task and what changed
    /// (`dependencies` among the fields when any did).
    #[tracing::instrument(skip(self, edit, actor))]
    pub fn edit_unstarted_task(
        &mut self,
        id: &TaskId,
        edit: &TaskEdit,
        actor: &str,
    ) -> std::result::Result<(Task, Vec<&'static str>), EditError> {
        let outcome = self.write(|tx| {
            let stored = get_task(tx, id)?;
            if let Some(refusal) = unstarted(tx, &stored)? {
                return Ok(Err(refusal));
            }
            let (_, mut fields) = write_fields(tx, &stored, &edit.update, Some(&edit.run), actor)?;
            let mut deps_changed = false;
            for depends_on in &edit.remove_deps {
                delete_dependency(tx, id, depends_on, actor)?;
                deps_changed = true;
            }
            for (depends_on, kind) in &edit.add_deps {
                if !task_exists(tx, depends_on)? {
                    return Err(StoreError::UnknownReference {
                        task: id.clone(),
                        role: "dependency",
                        missing: depends_on.clone(),
                    });
                }
                if depends_on == id {
                    return Err(StoreError::Cycle(crate::graph::Cycle(vec![
                        id.clone(),
                        id.clone(),
                    ])));
                }
                let existing: Option<String> = tx
                    .query_row(
                        "SELECT dependency_type FROM task_dependencies
                         WHERE task_id = ?1 AND depends_on_task_id = ?2",
                        [id.as_str(), depends_on.as_str()],
                        |r| r.get(0),
                    )
                    .optional()?;
                match existing.map(|k| k.parse::<DepKind>()).transpose()? {
                    // Given as it already is: no change.
                    Some(existing) if existing == *kind => continue,
                    Some(existing) => {
                        return Err(StoreError::DependencyExists {
                            task: id.clone(),
                            depends_on: depends_on.clone(),
                            kind: existing,
                        })
                    }
                    None => {}
                }
                insert_dependency(tx, id, depends_on, *kind, actor, None)?;
                deps_changed = true;
            }
            if deps_changed {
                let graph = load_graph(tx)?;
                if let Some(cycle) = graph.find_cycle() {
                    return Err(StoreError::Cycle(cycle));
                }
                refresh_priorities(tx, &graph)?;
                fields.push("dependencies");
            }
            Ok(Ok((get_task(tx, id)?, fields)))
        })?;
        outcome.map_err(EditError::from)
    }

    /// `vane task rm`: removes a task that has not started (as `edit_unstarted_task` says) and
    /// that no task depends on nor belongs to; with `force`, one that others depend on or belong to
    /// too, whose dependency edges are removed and whose tasks leave it (each with its event). A
    /// task that started is never removed: its attempts, gate runs and landings are history.
    ///
    /// The event log keeps everything it said of the task and gains a `task_removed` event with
    /// what the task was. Since the log is append-only and its rows name their task, those rows
    /// outlive the task they name: foreign keys are enforced on this connection, so the removal
    /// runs with them off, in one transaction, and turns them back on after, whatever happened.
    /// A task added later with the same id inherits that history in `vane events --task`.
    #[tracing::instrument(skip(self, actor))]
    pub fn remove_unstarted_task(
        &mut self,
        id: &TaskId,
        force: bool,
        actor: &str,
    ) -> std::result::Result<Removal, RemoveError> {
        if self.read_only {
            return Err(StoreError::ReadOnly {
                path: self.path.clone(),
            }
            .into());
        }
        // A no-op inside a transaction, so set around it.
        self.conn
            .pragma_update(None, "foreign_keys", false)
            .map_err(StoreError::from)?;
        let outcome = self.write(|tx| remove_task(tx, id, force, actor));
        let restored = self.conn.pragma_update(None, "foreign_keys", true);
        let outcome = outcome?;
        restored.map_err(StoreError::from)?;
        outcome
    }
}

/// What `vane task rm` did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Removal {
    pub task: Task,
    /// The tasks that depended on it, no longer (with the kind each was).
    pub detached: Vec<(TaskId, DepKind)>,
    /// The tasks that belonged to it (an epic's), now of no epic.
    pub orphaned: Vec<TaskId>,
}

/// What `edit_unstarted_task` changes besides `TaskUpdate`'s fields.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskEdit {
    pub update: TaskUpdate,
    /// The command of the built-in shell agent; `Some(None)` clears it.
    pub run: Option<Option<String>>,
    /// Dependencies to add; one there already with the same kind is no change.
    pub add_deps: Vec<(TaskId, DepKind)>,
    /// Dependencies to remove, whatever their kind; one that is not there is refused.
    pub remove_deps: Vec<TaskId>,
}

/// Why a task cannot be changed or removed: it has started.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Started {
    #[error("task `{id}` is {status}; only a task that has not started can be changed or removed")]
    NotPending { id: TaskId, status: TaskStatus },
    #[error(
        "task `{id}` has started: it had {attempts} attempt{}, and what its agent was given is \
         part of the record; only a task that has not started can be changed or removed",
        if *.attempts == 1 { "" } else { "s" }
    )]
    Attempted { id: TaskId, attempts: u32 },
}

#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error(transparent)]
    Started(#[from] Started),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, thiserror::Error)]
pub enum RemoveError {
    #[error(transparent)]
    Started(#[from] Started),
    /// Others depend on it or belong to it, and removing it was not forced.
    #[error(
        "task `{id}` is needed by {}",
        needed_by(.dependents, .children)
    )]
    Needed {
        id: TaskId,
        dependents: Vec<(TaskId, DepKind)>,
        children: Vec<TaskId>,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn needed_by(dependents: &[(TaskId, DepKind)], children: &[TaskId]) -> String {
    let mut parts = Vec::new();
    if !dependents.is_empty() {
        parts.push(format!(
            "{} that depend{} on it ({})",
            if dependents.len() == 1 {
                "a task"
            } else {
                "tasks"
            },
            if dependents.len() == 1 { "s" } else { "" },
            dependents
                .iter()
                .map(|(t, k)| format!("{t}: {k}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !children.is_empty() {
        parts.push(format!(
            "{} that belong{} to it ({})",
            if children.len() == 1 {
                "a task"
            } else {
                "tasks"
            },
            if children.len() == 1 { "s" } else { "" },
            children
                .iter()
                .map(TaskId::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    parts.join(" and ")
}

/// Why `task` has started, if it has: not pending, or attempted (or gated, or landed) before.
fn unstarted(conn: &Connection, task: &Task) -> Result<Option<Started>> {
    if task.status != TaskStatus::Pending {
        return Ok(Some(Started::NotPending {
            id: task.id.clone(),
            status: task.status,
        }));
    }
    let attempts: u32 = conn
        .prepare_cached("SELECT count(*) FROM attempts WHERE task_id = ?1")?
        .query_row([task.id.as_str()], |r| r.get(0))?;
    if attempts > 0 {
        return Ok(Some(Started::Attempted {
            id: task.id.clone(),
            attempts,
        }));
    }
    Ok(None)
}

/// The fields of `update` (and `run`, when given) that differ from `stored`, written with one
/// `task_updated` event; nothing when none differ. Returns the task as it is now and the fields.
fn write_fields(
    tx: &Connection,
    stored: &Task,
    update: &TaskUpdate,
    run: Option<&Option<Option<String>>>,
    actor: &str,
) -> Result<(Task, Vec<&'static str>)> {
    let id = &stored.id;
    let mut task = stored.clone();
    let mut changes = serde_json::Map::new();
    let mut fields = Vec::new();
    let mut change = |field: &'static str, value: serde_json::Value| {
        fields.push(field);
        changes.insert(field.to_string(), value);
    };
    if let Some(title) = update.title.as_ref().filter(|t| **t != stored.title) {
        task.title = title.clone();
        change("title", json!(title));
    }
    if let Some(description) = update
        .description
        .as_ref()
        .filter(|d| **d != stored.description)
    {
        task.description = description.clone();
        change("description", json!(description));
    }
    if let Some(complexity) = update.complexity.filter(|c| Some(*c) != stored.complexity) {
        task.complexity = Some(complexity);
        change("complexity", json!(complexity.get()));
    }
    if let Some(paths) = update.paths.as_ref().filter(|p| **p != stored.paths) {
        task.paths = paths.clone();
        change("paths", json!(paths));
    }
    if let Some(agent) = update.agent.as_ref().filter(|a| **a != stored.agent) {
        task.agent = agent.clone();
        change("agent", json!(agent));
    }
    if let Some(run) = run.and_then(Option::as_ref).filter(|r| **r != stored.run) {
        task.run = run.clone();
        change("run", json!(run));
    }
    if fields.is_empty() {
        return Ok((task, fields));
    }
    tx.prepare_cached(
        "UPDATE tasks SET title = ?2, description = ?3, estimated_complexity = ?4,
                          paths = ?5, agent = ?6, run = ?7, updated_at = ?8
         WHERE id = ?1",
    )?
    .execute(params![
        id.as_str(),
        task.title,
        task.description,
        task.complexity.map(Complexity::get),
        write_paths(&task.paths),
        task.agent,
        task.run,
        now_millis(),
    ])?;
    append(
        tx,
        &NewEvent {
            kind: "task_updated",
            task: Some(id),
            actor,
            correlation: None,
            data: json!({ "fields": fields, "changes": changes }),
        },
    )?;
    Ok((get_task(tx, id)?, fields))
}

fn remove_task(
    tx: &Connection,
    id: &TaskId,
    force: bool,
    actor: &str,
) -> Result<std::result::Result<Removal, RemoveError>> {
    let task = get_task(tx, id)?;
    if let Some(refusal) = unstarted(tx, &task)? {
        return Ok(Err(refusal.into()));
    }
    let mut dependents = Vec::new();
    {
        let mut stmt = tx.prepare_cached(
            "SELECT d.task_id, d.dependency_type FROM task_dependencies d
             JOIN tasks t ON t.id = d.task_id WHERE d.depends_on_task_id = ?1 ORDER BY t.rowid",
        )?;
        let mut rows = stmt.query([id.as_str()])?;
        while let Some(row) = rows.next()? {
            dependents.push((
                TaskId::new(row.get::<_, String>(0)?)?,
                row.get::<_, String>(1)?.parse::<DepKind>()?,
            ));
        }
    }
    let mut children = Vec::new();
    {
        let mut stmt =
            tx.prepare_cached("SELECT id FROM tasks WHERE parent_id = ?1 ORDER BY rowid")?;
        let mut rows = stmt.query([id.as_str()])?;
        while let Some(row) = rows.next()? {
            children.push(TaskId::new(row.get::<_, String>(0)?)?);
        }
    }
    let needed = !dependents.is_empty() || !children.is_empty();
    if needed && !force {
        return Ok(Err(RemoveError::Needed {
            id: id.clone(),
            dependents,
            children,
        }));
    }
    let why = format!("task `{id}` was removed");
    for (dependent, kind) in &dependents {
        tx.execute(
            "DELETE FROM task_dependencies WHERE task_id = ?1 AND depends_on_task_id = ?2",
            [dependent.as_str(), id.as_str()],
        )?;
        append(
            tx,
            &NewEvent {
                kind: "dependency_removed",
                task: Some(dependent),
                actor,
                correlation: None,
                data: json!({ "depends_on": id, "kind": kind, "reason": why }),
            },
        )?;
    }
    for child in &children {
        tx.execute(
            "UPDATE tasks SET parent_id = NULL, updated_at = ?2 WHERE id = ?1",
            params![child.as_str(), now_millis()],
        )?;
        append(
            tx,
            &NewEvent {
                kind: "task_updated",
                task: Some(child),
                actor,
                correlation: None,
                data: json!({
                    "fields": ["parent"],
                    "changes": { "parent": null },
                    "reason": why,
                }),
            },
        )?;
    }
    let own_deps: Vec<(String, String)> = {
        let mut stmt = tx.prepare_cached(
            "SELECT depends_on_task_id, dependency_type FROM task_dependencies WHERE task_id = ?1",
        )?;
        let rows = stmt.query_map([id.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    tx.execute(
        "DELETE FROM task_dependencies WHERE task_id = ?1",
        [id.as_str()],
    )?;
    append(
        tx,
        &NewEvent {
            kind: "task_removed",
            task: Some(id),
            actor,
            correlation: None,
            data: json!({
                "title": task.title,
                "type": task.kind,
                "parent": task.parent,
                "depends_on": own_deps
                    .iter()
                    .map(|(on, kind)| json!({ "task": on, "kind": kind }))
                    .collect::<Vec<_>>(),
                "detached": dependents.iter().map(|(t, _)| t).collect::<Vec<_>>(),
                "orphaned": children,
                "forced": force,
            }),
        },
    )?;
    tx.execute("DELETE FROM tasks WHERE id = ?1", [id.as_str()])?;
    refresh_priorities(tx, &load_graph(tx)?)?;
    Ok(Ok(Removal {
        task,
        detached: dependents,
        orphaned: children,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::Mover;
    use crate::model::{DepKind, TaskType};
    use crate::store::{EventFilter, NewTask};

    fn store_with(id: &str) -> (tempfile::TempDir, Store, TaskId) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("vane.db"), true).unwrap();
        let id = TaskId::new(id).unwrap();
        store
            .add_task(
                &NewTask {
                    id: Some(id.clone()),
                    title: "Old title".to_string(),
                    description: String::new(),
                    kind: TaskType::Task,
                    complexity: None,
                    parent: None,
                    deps: Vec::new(),
                    run: None,
                    agent: Some("shell".to_string()),
                    paths: Vec::new(),
                },
                "test",
            )
            .unwrap();
        (dir, store, id)
    }

    #[test]
    fn a_pending_task_takes_the_fields_given_and_one_event_names_what_changed() {
        let (_dir, mut store, id) = store_with("a");
        let (task, fields) = store
            .update_pending_task(
                &id,
                &TaskUpdate {
                    title: Some("New title".to_string()),
                    description: Some(String::new()),
                    complexity: Some(Complexity::new(3).unwrap()),
                    paths: Some(vec!["src/**".to_string()]),
                    agent: Some(None),
                },
                "test",
            )
            .unwrap();
        assert_eq!(fields, ["title", "complexity", "paths", "agent"]);
        assert_eq!(task.title, "New title");
        assert_eq!(task.complexity.map(Complexity::get), Some(3));
        assert_eq!(task.paths, ["src/**"]);
        assert_eq!(task.agent, None);
        assert_eq!(store.task(&id).unwrap().title, "New title");
        let events = store.events(&EventFilter::default()).unwrap();
        let last = events.last().unwrap();
        assert_eq!(last.kind, "task_updated");
        assert_eq!(last.data["changes"]["title"], "New title");
        assert_eq!(last.data["changes"]["agent"], serde_json::Value::Null);
    }

    #[test]
    fn nothing_is_written_when_nothing_changes_or_the_task_has_started() {
        let (_dir, mut store, id) = store_with("a");
        let before = store.last_event_id().unwrap();
        let same = TaskUpdate {
            title: Some("Old title".to_string()),
            ..TaskUpdate::default()
        };
        let (_, fields) = store.update_pending_task(&id, &same, "test").unwrap();
        assert!(fields.is_empty());
        assert_eq!(store.last_event_id().unwrap(), before);

        store
            .transition(
                &id,
                TaskStatus::Blocked,
                Mover::Person,
                Some("wait"),
                "test",
            )
            .unwrap();
        let before = store.last_event_id().unwrap();
        let change = TaskUpdate {
            title: Some("Other".to_string()),
            ..TaskUpdate::default()
        };
        let refused = store.update_pending_task(&id, &change, "test").unwrap_err();
        assert_eq!(
            refused.to_string(),
            "task `a` is blocked; only a pending task can be changed"
        );
        assert_eq!(store.task(&id).unwrap().title, "Old title");
        assert_eq!(store.last_event_id().unwrap(), before);
        assert!(matches!(
            store.update_pending_task(&TaskId::new("nope").unwrap(), &change, "test"),
            Err(UpdateError::Store(StoreError::TaskNotFound(_)))
        ));
    }

    fn add(store: &mut Store, id: &str, deps: &[&str]) -> TaskId {
        let id = TaskId::new(id).unwrap();
        store
            .add_task(
                &NewTask {
                    id: Some(id.clone()),
                    title: format!("Task {id}"),
                    description: String::new(),
                    kind: TaskType::Task,
                    complexity: None,
                    parent: None,
                    deps: deps
                        .iter()
                        .map(|d| (TaskId::new(*d).unwrap(), DepKind::Blocks))
                        .collect(),
                    run: None,
                    agent: None,
                    paths: Vec::new(),
                },
                "test",
            )
            .unwrap();
        id
    }

    #[test]
    fn an_edit_that_closes_a_cycle_writes_nothing_of_itself() {
        let (_dir, mut store, a) = store_with("a");
        let b = add(&mut store, "b", &["a"]);
        let before = store.last_event_id().unwrap();
        let edit = TaskEdit {
            update: TaskUpdate {
                title: Some("Changed".to_string()),
                ..TaskUpdate::default()
            },
            run: Some(Some("true".to_string())),
            add_deps: vec![(b.clone(), DepKind::Blocks)],
            remove_deps: Vec::new(),
        };
        let refused = store.edit_unstarted_task(&a, &edit, "test").unwrap_err();
        assert!(
            matches!(refused, EditError::Store(StoreError::Cycle(_))),
            "{refused}"
        );
        assert_eq!(store.task(&a).unwrap().title, "Old title");
        assert_eq!(store.task(&a).unwrap().run, None);
        assert_eq!(store.last_event_id().unwrap(), before);
    }

    #[test]
    fn removing_a_task_keeps_its_events_and_the_foreign_keys_on() {
        let (_dir, mut store, a) = store_with("a");
        let b = add(&mut store, "b", &["a"]);
        assert!(matches!(
            store.remove_unstarted_task(&a, false, "test"),
            Err(RemoveError::Needed { .. })
        ));
        let removal = store.remove_unstarted_task(&a, true, "test").unwrap();
        assert_eq!(removal.detached, [(b.clone(), DepKind::Blocks)]);
        assert!(matches!(store.task(&a), Err(StoreError::TaskNotFound(_))));
        let kept = store
            .events(&EventFilter {
                task: Some(a.clone()),
                ..EventFilter::default()
            })
            .unwrap();
        let kinds: Vec<&str> = kept.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["task_created", "task_removed"]);
        let on: bool = store
            .raw_connection()
            .pragma_query_value(None, "foreign_keys", |r| r.get(0))
            .unwrap();
        assert!(on, "foreign keys are on again");
        // And enforced: nothing can name the task that is gone.
        assert!(store
            .add_dependency(&b, &a, DepKind::Blocks, "test")
            .is_err());
        assert!(store
            .raw_connection()
            .execute(
                "INSERT INTO attempts (task_id, number, started_at) VALUES ('a', 1, 0)",
                [],
            )
            .is_err());
        // The id is free again.
        add(&mut store, "a", &[]);
    }
}

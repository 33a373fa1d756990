//! Changing a task before anyone works on it: its title, description, complexity, paths and agent.
//! Once an attempt has started, what its agent was given is part of the record, so only a pending
//! task changes; the change and its event are one transaction.

use rusqlite::params;
use serde_json::json;

use super::events::{append, NewEvent};
use super::tasks::{get_task, write_paths};
use super::{Store, StoreError};
use crate::model::{now_millis, Complexity, Task, TaskId, TaskStatus};

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
            if fields.is_empty() {
                return Ok(Ok((stored, fields)));
            }
            tx.prepare_cached(
                "UPDATE tasks SET title = ?2, description = ?3, estimated_complexity = ?4,
                                  paths = ?5, agent = ?6, updated_at = ?7
                 WHERE id = ?1",
            )?
            .execute(params![
                id.as_str(),
                task.title,
                task.description,
                task.complexity.map(Complexity::get),
                write_paths(&task.paths),
                task.agent,
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
            Ok(Ok((get_task(tx, id)?, fields)))
        })?;
        outcome.map_err(|status| UpdateError::NotPending {
            id: id.clone(),
            status,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::Mover;
    use crate::model::TaskType;
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
}

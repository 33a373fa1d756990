//! Applying a validated roadmap to the graph: new tasks are added, pending tasks whose text changed
//! are updated, and tasks that have started are never touched. All of it in one transaction.

use std::collections::BTreeSet;

use rusqlite::{params, Connection};
use serde::Serialize;
use serde_json::json;

use super::events::{append, NewEvent};
use super::tasks::{get_task, insert_dependency, insert_task, load_graph, refresh_priorities};
use super::{Result, Store, StoreError};
use crate::model::{now_millis, Complexity, DepKind, TaskId, TaskStatus};
use crate::roadmap::{Roadmap, RoadmapTask};

/// What happened to one task of the roadmap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum TaskChange {
    Added {
        id: TaskId,
    },
    Updated {
        id: TaskId,
        fields: Vec<&'static str>,
    },
    Unchanged {
        id: TaskId,
    },
    /// Its text changed, but the task has started, so the roadmap does not rewrite it.
    Kept {
        id: TaskId,
        status: TaskStatus,
        fields: Vec<&'static str>,
    },
}

/// The outcome of an import, one entry per roadmap task in file order.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    pub changes: Vec<TaskChange>,
}

impl ImportReport {
    pub fn count(&self, f: impl Fn(&TaskChange) -> bool) -> usize {
        self.changes.iter().filter(|c| f(c)).count()
    }
}

fn stored_deps(conn: &Connection, id: &TaskId) -> Result<BTreeSet<(String, String)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT depends_on_task_id, dependency_type FROM task_dependencies WHERE task_id = ?1",
    )?;
    let rows = stmt.query_map([id.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn wanted_deps(task: &RoadmapTask) -> BTreeSet<(String, String)> {
    task.deps
        .iter()
        .map(|(id, kind)| (id.to_string(), kind.as_str().to_string()))
        .collect()
}

fn changed_fields(
    conn: &Connection,
    task: &RoadmapTask,
) -> Result<(TaskStatus, Vec<&'static str>)> {
    let stored = get_task(conn, &task.id)?;
    let mut fields = Vec::new();
    if stored.title != task.title {
        fields.push("title");
    }
    if stored.description != task.description {
        fields.push("description");
    }
    if stored.kind != task.kind {
        fields.push("type");
    }
    if stored.complexity != task.complexity {
        fields.push("complexity");
    }
    if stored.parent != task.parent {
        fields.push("parent");
    }
    if stored.run != task.run {
        fields.push("run");
    }
    if stored.agent != task.agent {
        fields.push("agent");
    }
    if stored.paths != task.paths {
        fields.push("paths");
    }
    if stored_deps(conn, &task.id)? != wanted_deps(task) {
        fields.push("deps");
    }
    Ok((stored.status, fields))
}

impl Store {
    /// Applies a roadmap. On any error (a cycle through tasks already stored, say) nothing is written.
    /// With `dry_run`, everything is checked and reported, then rolled back.
    #[tracing::instrument(skip(self, roadmap, actor), fields(tasks = roadmap.tasks.len()))]
    pub fn import_roadmap(
        &mut self,
        roadmap: &Roadmap,
        file: &str,
        actor: &str,
        dry_run: bool,
    ) -> Result<ImportReport> {
        let correlation = super::new_correlation_id("import");
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let report = apply(&tx, roadmap, file, actor, &correlation)?;
        if !dry_run {
            tx.commit()?;
        }
        Ok(report)
    }

    /// The whole graph as a roadmap, tasks in the order they were created.
    pub fn export_roadmap(&self) -> Result<Roadmap> {
        let mut deps: std::collections::HashMap<String, Vec<(TaskId, DepKind)>> =
            std::collections::HashMap::new();
        {
            let mut stmt = self.conn.prepare(
                "SELECT d.task_id, d.depends_on_task_id, d.dependency_type
                 FROM task_dependencies d JOIN tasks t ON t.id = d.depends_on_task_id
                 ORDER BY t.rowid",
            )?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                deps.entry(row.get(0)?).or_default().push((
                    TaskId::new(row.get::<_, String>(1)?)?,
                    row.get::<_, String>(2)?.parse()?,
                ));
            }
        }
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {} FROM tasks ORDER BY rowid",
            super::tasks::TASK_COLUMNS
        ))?;
        let rows = stmt.query_map([], super::tasks::task_from_row)?;
        let mut tasks = Vec::new();
        for row in rows {
            let task = row??;
            tasks.push(RoadmapTask {
                deps: deps.remove(task.id.as_str()).unwrap_or_default(),
                id: task.id,
                title: task.title,
                description: task.description,
                kind: task.kind,
                complexity: task.complexity,
                parent: task.parent,
                run: task.run,
                agent: task.agent,
                paths: task.paths,
            });
        }
        Ok(Roadmap { tasks })
    }
}

fn apply(
    tx: &Connection,
    roadmap: &Roadmap,
    file: &str,
    actor: &str,
    correlation: &str,
) -> Result<ImportReport> {
    let report = ImportReport {
        changes: apply_tasks(tx, &roadmap.tasks, actor, correlation)?,
    };
    append(
        tx,
        &NewEvent {
            kind: "roadmap_imported",
            task: None,
            actor,
            correlation: Some(correlation),
            data: json!({
                "file": file,
                "added": report.count(|c| matches!(c, TaskChange::Added { .. })),
                "updated": report.count(|c| matches!(c, TaskChange::Updated { .. })),
                "unchanged": report.count(|c| matches!(c, TaskChange::Unchanged { .. })),
                "kept": report.count(|c| matches!(c, TaskChange::Kept { .. })),
            }),
        },
    )?;
    Ok(report)
}

/// Adds the tasks that are new, updates the pending ones whose text changed, and leaves the rest;
/// then checks the graph for cycles and refreshes priorities. The caller records the event.
pub(super) fn apply_tasks(
    tx: &Connection,
    tasks: &[RoadmapTask],
    actor: &str,
    correlation: &str,
) -> Result<Vec<TaskChange>> {
    let mut report = ImportReport::default();
    let mut new_tasks = Vec::new();
    // Rows first, dependencies after, so that a task may depend on one later in the file.
    for task in tasks {
        if !super::tasks::task_exists(tx, &task.id)? {
            let new = super::NewTask {
                id: Some(task.id.clone()),
                title: task.title.clone(),
                description: task.description.clone(),
                kind: task.kind,
                complexity: task.complexity,
                parent: None,
                deps: Vec::new(),
                run: task.run.clone(),
                agent: task.agent.clone(),
                paths: task.paths.clone(),
            };
            insert_task(tx, &task.id, &new, actor, Some(correlation))?;
            new_tasks.push(task);
            report.changes.push(TaskChange::Added {
                id: task.id.clone(),
            });
            continue;
        }
        let (status, fields) = changed_fields(tx, task)?;
        let change = if fields.is_empty() {
            TaskChange::Unchanged {
                id: task.id.clone(),
            }
        } else if status != TaskStatus::Pending {
            TaskChange::Kept {
                id: task.id.clone(),
                status,
                fields,
            }
        } else {
            update_task(tx, task, &fields, actor, correlation)?;
            TaskChange::Updated {
                id: task.id.clone(),
                fields,
            }
        };
        report.changes.push(change);
    }
    let mut set_parent = tx.prepare_cached("UPDATE tasks SET parent_id = ?2 WHERE id = ?1")?;
    let mut add_dep = tx.prepare_cached(
        "INSERT INTO task_dependencies (task_id, depends_on_task_id, dependency_type)
                 VALUES (?1, ?2, ?3)",
    )?;
    for task in new_tasks {
        if let Some(parent) = &task.parent {
            set_parent.execute([task.id.as_str(), parent.as_str()])?;
        }
        for (dep, kind) in &task.deps {
            add_dep.execute([task.id.as_str(), dep.as_str(), kind.as_str()])?;
        }
    }
    let graph = load_graph(tx)?;
    if let Some(cycle) = graph.find_cycle() {
        return Err(StoreError::Cycle(cycle));
    }
    refresh_priorities(tx, &graph)?;
    Ok(report.changes)
}

fn update_task(
    conn: &Connection,
    task: &RoadmapTask,
    fields: &[&'static str],
    actor: &str,
    correlation: &str,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE tasks SET title = ?2, description = ?3, type = ?4, estimated_complexity = ?5,
                          parent_id = ?6, run = ?7, agent = ?8, updated_at = ?9, paths = ?10
         WHERE id = ?1",
    )?
    .execute(params![
        task.id.as_str(),
        task.title,
        task.description,
        task.kind.as_str(),
        task.complexity.map(Complexity::get),
        task.parent.as_ref().map(TaskId::as_str),
        task.run,
        task.agent,
        now_millis(),
        super::tasks::write_paths(&task.paths),
    ])?;
    if fields.contains(&"deps") {
        conn.prepare_cached("DELETE FROM task_dependencies WHERE task_id = ?1")?
            .execute([task.id.as_str()])?;
        for (dep, kind) in &task.deps {
            insert_dependency(conn, &task.id, dep, *kind, actor, Some(correlation))?;
        }
    }
    append(
        conn,
        &NewEvent {
            kind: "task_updated",
            task: Some(&task.id),
            actor,
            correlation: Some(correlation),
            data: json!({ "fields": fields, "source": "roadmap" }),
        },
    )?;
    Ok(())
}

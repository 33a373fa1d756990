//! Tasks and their dependencies: creating, reading, the ready set, and the one function that moves a
//! task from one status to another.

use std::collections::HashMap;

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;
use serde_json::json;

use super::events::{append, NewEvent};
use super::{Result, Store, StoreError};
use crate::graph::{Graph, Node};
use crate::lifecycle::{self, Mover};
use crate::model::{now_millis, Complexity, DepKind, Event, Task, TaskId, TaskStatus, TaskType};

/// A task about to be created.
#[derive(Debug, Clone)]
pub struct NewTask {
    /// Generated (`T<n>`) when absent.
    pub id: Option<TaskId>,
    pub title: String,
    pub description: String,
    pub kind: TaskType,
    pub complexity: Option<Complexity>,
    pub parent: Option<TaskId>,
    pub deps: Vec<(TaskId, DepKind)>,
    pub run: Option<String>,
    pub agent: Option<String>,
    /// The paths it expects to touch, each checked with `check_path_pattern`; none when empty.
    pub paths: Vec<String>,
}

/// Which tasks to list.
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    /// Any of these statuses; all when empty.
    pub statuses: Vec<TaskStatus>,
    pub parent: Option<TaskId>,
}

/// One side of a dependency as `vane task show` presents it.
#[derive(Debug, Clone, Serialize)]
pub struct DependencyView {
    pub id: TaskId,
    pub title: String,
    pub status: TaskStatus,
    pub kind: DepKind,
}

/// Everything `vane task show` needs.
#[derive(Debug, Clone, Serialize)]
pub struct TaskDetail {
    #[serde(flatten)]
    pub task: Task,
    pub dependencies: Vec<DependencyView>,
    pub dependents: Vec<DependencyView>,
    pub children: Vec<DependencyView>,
    pub ready: bool,
    /// The paths its earlier attempts touched (see `Store::learned_paths`).
    pub learned_paths: Vec<String>,
    /// Its next attempt starts from the base branch even after a conflict (see
    /// `Store::fresh_start`).
    pub fresh_start: bool,
    pub events: Vec<Event>,
}

pub(super) const TASK_COLUMNS: &str =
    "id, title, description, type, status, estimated_complexity, \
     parent_id, run, agent, priority, block_reason, branch, base_sha, head_sha, landed_sha, \
     created_at, updated_at, paths";

pub(super) fn task_from_row(row: &Row<'_>) -> rusqlite::Result<Result<Task>> {
    let id: String = row.get(0)?;
    let kind: String = row.get(3)?;
    let status: String = row.get(4)?;
    let complexity: Option<i64> = row.get(5)?;
    let parent: Option<String> = row.get(6)?;
    let priority: i64 = row.get(9)?;
    let paths: Option<String> = row.get(17)?;
    let build = || -> Result<Task> {
        let paths = read_paths(paths.as_deref(), || format!("the paths of task `{id}`"))?;
        Ok(Task {
            id: TaskId::new(id)?,
            title: row.get(1)?,
            description: row.get(2)?,
            kind: kind.parse()?,
            status: status.parse()?,
            complexity: complexity.map(Complexity::new).transpose()?,
            parent: parent.map(TaskId::new).transpose()?,
            run: row.get(7)?,
            agent: row.get(8)?,
            paths,
            priority: u32::try_from(priority).unwrap_or(0),
            block_reason: row.get(10)?,
            branch: row.get(11)?,
            base_sha: row.get(12)?,
            head_sha: row.get(13)?,
            landed_sha: row.get(14)?,
            created_at: row.get(15)?,
            updated_at: row.get(16)?,
        })
    };
    Ok(build())
}

/// A JSON array of paths as stored in `tasks.paths` and `attempts.touched`; NULL is none. `what`
/// names the column's owner for the error.
pub(super) fn read_paths(text: Option<&str>, what: impl Fn() -> String) -> Result<Vec<String>> {
    match text {
        None => Ok(Vec::new()),
        Some(text) => {
            serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{}: {e}", what())))
        }
    }
}

/// Paths as `tasks.paths` and `attempts.touched` store them: a JSON array, NULL when there are none.
pub(super) fn write_paths(paths: &[String]) -> Option<String> {
    (!paths.is_empty()).then(|| serde_json::Value::from(paths).to_string())
}

/// `tasks.fresh_start` of `id` (see `Store::fresh_start`).
pub(super) fn fresh_start(conn: &Connection, id: &TaskId) -> Result<bool> {
    conn.prepare_cached("SELECT fresh_start FROM tasks WHERE id = ?1")?
        .query_row([id.as_str()], |row| row.get(0))
        .optional()?
        .ok_or_else(|| StoreError::TaskNotFound(id.clone()))
}

pub(super) fn get_task(conn: &Connection, id: &TaskId) -> Result<Task> {
    conn.prepare_cached(&format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = ?1"))?
        .query_row([id.as_str()], task_from_row)
        .optional()?
        .ok_or_else(|| StoreError::TaskNotFound(id.clone()))?
}

pub(super) fn task_exists(conn: &Connection, id: &TaskId) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM tasks WHERE id = ?1")?
        .exists([id.as_str()])?)
}

/// Loads the scheduling graph: every task and every `blocks` edge.
pub(super) fn load_graph(conn: &Connection) -> Result<Graph> {
    let mut nodes = Vec::new();
    let mut stmt = conn.prepare_cached(
        "SELECT id, type, status, estimated_complexity, parent_id, rowid FROM tasks",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let complexity: Option<i64> = row.get(3)?;
        let parent: Option<String> = row.get(4)?;
        nodes.push(Node {
            id: TaskId::new(row.get::<_, String>(0)?)?,
            kind: row.get::<_, String>(1)?.parse()?,
            status: row.get::<_, String>(2)?.parse()?,
            complexity: complexity.map(Complexity::new).transpose()?,
            parent: parent.map(TaskId::new).transpose()?,
            age: row.get(5)?,
        });
    }
    Ok(Graph::new(nodes, blocks_edges(conn)?)?)
}

/// Every `blocks` dependency, as (task, depends_on).
pub(super) fn blocks_edges(conn: &Connection) -> Result<Vec<(TaskId, TaskId)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT task_id, depends_on_task_id FROM task_dependencies WHERE dependency_type = 'blocks'",
    )?;
    let mut rows = stmt.query([])?;
    let mut edges = Vec::new();
    while let Some(row) = rows.next()? {
        edges.push((
            TaskId::new(row.get::<_, String>(0)?)?,
            TaskId::new(row.get::<_, String>(1)?)?,
        ));
    }
    Ok(edges)
}

/// Rewrites every task's priority from the graph; called after the graph's shape changed.
pub(super) fn refresh_priorities(conn: &Connection, graph: &Graph) -> Result<usize> {
    let mut current = HashMap::new();
    {
        let mut stmt = conn.prepare_cached("SELECT id, priority FROM tasks")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            current.insert(row.get::<_, String>(0)?, row.get::<_, i64>(1)?);
        }
    }
    let mut update = conn.prepare_cached("UPDATE tasks SET priority = ?2 WHERE id = ?1")?;
    let mut changed = 0;
    for (id, priority) in graph.priorities() {
        if current.get(id.as_str()) != Some(&i64::from(priority)) {
            update.execute(params![id.as_str(), priority])?;
            changed += 1;
        }
    }
    Ok(changed)
}

/// The next generated id: `T<n>` with n one more than the largest in use.
fn next_generated_id(conn: &Connection) -> Result<TaskId> {
    let highest: Option<i64> = conn.query_row(
        "SELECT max(CAST(substr(id, 2) AS INTEGER)) FROM tasks
         WHERE id GLOB 'T[0-9]*' AND substr(id, 2) NOT GLOB '*[^0-9]*'",
        [],
        |r| r.get(0),
    )?;
    Ok(TaskId::new(format!("T{}", highest.unwrap_or(0) + 1))?)
}

/// Inserts one task row (status pending) and its creation event; checks nothing about the graph.
pub(super) fn insert_task(
    conn: &Connection,
    id: &TaskId,
    task: &NewTask,
    actor: &str,
    correlation: Option<&str>,
) -> Result<()> {
    let now = now_millis();
    conn.prepare_cached(
        "INSERT INTO tasks (id, title, description, type, status, parent_id, created_at, updated_at,
                            estimated_complexity, run, agent, paths)
         VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?6, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        id.as_str(),
        task.title,
        task.description,
        task.kind.as_str(),
        task.parent.as_ref().map(TaskId::as_str),
        now,
        task.complexity.map(Complexity::get),
        task.run,
        task.agent,
        write_paths(&task.paths),
    ])?;
    append(
        conn,
        &NewEvent {
            kind: "task_created",
            task: Some(id),
            actor,
            correlation,
            data: json!({
                "title": task.title,
                "type": task.kind,
                "parent": task.parent,
            }),
        },
    )?;
    Ok(())
}

pub(super) fn insert_dependency(
    conn: &Connection,
    task: &TaskId,
    depends_on: &TaskId,
    kind: DepKind,
    actor: &str,
    correlation: Option<&str>,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO task_dependencies (task_id, depends_on_task_id, dependency_type) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![task.as_str(), depends_on.as_str(), kind.as_str()])?;
    append(
        conn,
        &NewEvent {
            kind: "dependency_added",
            task: Some(task),
            actor,
            correlation,
            data: json!({ "depends_on": depends_on, "kind": kind }),
        },
    )?;
    Ok(())
}

impl Store {
    /// Creates a task with its dependencies; refuses unknown ids and cycles, writing nothing then.
    #[tracing::instrument(skip_all, fields(id = ?task.id))]
    pub fn add_task(&mut self, task: &NewTask, actor: &str) -> Result<Task> {
        self.write(|tx| {
            let id = match &task.id {
                Some(id) => {
                    if task_exists(tx, id)? {
                        return Err(StoreError::TaskExists(id.clone()));
                    }
                    id.clone()
                }
                None => next_generated_id(tx)?,
            };
            if let Some(parent) = &task.parent {
                if !task_exists(tx, parent)? {
                    return Err(StoreError::UnknownReference {
                        task: id,
                        role: "parent",
                        missing: parent.clone(),
                    });
                }
            }
            for (dep, _) in &task.deps {
                if !task_exists(tx, dep)? {
                    return Err(StoreError::UnknownReference {
                        task: id,
                        role: "dependency",
                        missing: dep.clone(),
                    });
                }
            }
            insert_task(tx, &id, task, actor, None)?;
            let mut seen = std::collections::HashSet::new();
            for (dep, kind) in &task.deps {
                if !seen.insert(dep) {
                    continue;
                }
                insert_dependency(tx, &id, dep, *kind, actor, None)?;
            }
            // A new task with a parent or dependencies changes others' priorities, and its
            // dependencies may close a cycle through its epic.
            if task.parent.is_some() || !task.deps.is_empty() {
                let graph = load_graph(tx)?;
                if let Some(cycle) = graph.find_cycle() {
                    return Err(StoreError::Cycle(cycle));
                }
                refresh_priorities(tx, &graph)?;
            }
            get_task(tx, &id)
        })
    }

    /// Every `blocks` dependency, as (task, depends_on).
    pub fn blocks_edges(&self) -> Result<Vec<(TaskId, TaskId)>> {
        blocks_edges(&self.conn)
    }

    pub fn task(&self, id: &TaskId) -> Result<Task> {
        get_task(&self.conn, id)
    }

    /// Tasks in scheduling order: priority, then complexity, then age.
    pub fn tasks(&self, filter: &TaskFilter) -> Result<Vec<Task>> {
        let mut sql = format!("SELECT {TASK_COLUMNS} FROM tasks WHERE 1 = 1");
        let mut args: Vec<String> = Vec::new();
        if !filter.statuses.is_empty() {
            let marks: Vec<String> = filter
                .statuses
                .iter()
                .map(|s| {
                    args.push(s.as_str().to_string());
                    format!("?{}", args.len())
                })
                .collect();
            sql.push_str(&format!(" AND status IN ({})", marks.join(", ")));
        }
        if let Some(parent) = &filter.parent {
            args.push(parent.as_str().to_string());
            sql.push_str(&format!(" AND parent_id = ?{}", args.len()));
        }
        sql.push_str(" ORDER BY priority DESC, estimated_complexity DESC, rowid ASC");
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), task_from_row)?;
        let mut tasks = Vec::new();
        for row in rows {
            tasks.push(row??);
        }
        Ok(tasks)
    }

    /// The ready tasks themselves, highest priority first.
    pub fn ready_task_rows(&self) -> Result<Vec<Task>> {
        self.ready_tasks()?
            .iter()
            .map(|id| get_task(&self.conn, id))
            .collect()
    }

    /// The ready set, highest priority first: pending tasks (not epics) whose `blocks` dependencies,
    /// and those of their epics, are complete. An epic is complete when all its children are.
    pub fn ready_tasks(&self) -> Result<Vec<TaskId>> {
        ReadySet::new(&self.conn).compute()
    }

    /// The task with its dependencies, dependents, children and events.
    pub fn task_detail(&self, id: &TaskId) -> Result<TaskDetail> {
        let task = get_task(&self.conn, id)?;
        let view = |sql: &str| -> Result<Vec<DependencyView>> {
            let mut stmt = self.conn.prepare_cached(sql)?;
            let mut rows = stmt.query([id.as_str()])?;
            let mut out = Vec::new();
            while let Some(row) = rows.next()? {
                out.push(DependencyView {
                    id: TaskId::new(row.get::<_, String>(0)?)?,
                    title: row.get(1)?,
                    status: row.get::<_, String>(2)?.parse()?,
                    kind: row.get::<_, String>(3)?.parse()?,
                });
            }
            Ok(out)
        };
        let dependencies = view(
            "SELECT t.id, t.title, t.status, d.dependency_type FROM task_dependencies d
             JOIN tasks t ON t.id = d.depends_on_task_id WHERE d.task_id = ?1 ORDER BY t.rowid",
        )?;
        let dependents = view(
            "SELECT t.id, t.title, t.status, d.dependency_type FROM task_dependencies d
             JOIN tasks t ON t.id = d.task_id WHERE d.depends_on_task_id = ?1 ORDER BY t.rowid",
        )?;
        let children = view(
            "SELECT id, title, status, 'blocks' FROM tasks WHERE parent_id = ?1 ORDER BY rowid",
        )?;
        let ready = task.status == TaskStatus::Pending
            && task.kind != TaskType::Epic
            && ReadySet::new(&self.conn).is_satisfied(id)?;
        let events = self.events(&super::EventFilter {
            task: Some(id.clone()),
            ..Default::default()
        })?;
        let learned_paths = self.learned_paths(id)?;
        let fresh_start = fresh_start(&self.conn, id)?;
        Ok(TaskDetail {
            task,
            dependencies,
            dependents,
            children,
            ready,
            learned_paths,
            fresh_start,
            events,
        })
    }

    /// The paths the task's attempts so far touched (recorded with their results), sorted, each
    /// once: what the scheduler expects it to touch again, besides the paths it declared.
    pub fn learned_paths(&self, task: &TaskId) -> Result<Vec<String>> {
        if !task_exists(&self.conn, task)? {
            return Err(StoreError::TaskNotFound(task.clone()));
        }
        let mut stmt = self.conn.prepare_cached(
            "SELECT number, touched FROM attempts WHERE task_id = ?1 AND touched IS NOT NULL",
        )?;
        let mut rows = stmt.query([task.as_str()])?;
        let mut learned = std::collections::BTreeSet::new();
        while let Some(row) = rows.next()? {
            let number: i64 = row.get(0)?;
            let touched: String = row.get(1)?;
            learned.extend(read_paths(Some(&touched), || {
                format!("the paths attempt {number} of task `{task}` touched")
            })?);
        }
        Ok(learned.into_iter().collect())
    }

    /// Adds a dependency `task -> depends_on`; refuses unknown ids, duplicates and cycles.
    #[tracing::instrument(skip(self, actor))]
    pub fn add_dependency(
        &mut self,
        task: &TaskId,
        depends_on: &TaskId,
        kind: DepKind,
        actor: &str,
    ) -> Result<()> {
        self.write(|tx| {
            get_task(tx, task)?;
            if !task_exists(tx, depends_on)? {
                return Err(StoreError::UnknownReference {
                    task: task.clone(),
                    role: "dependency",
                    missing: depends_on.clone(),
                });
            }
            let existing: Option<String> = tx
                .query_row(
                    "SELECT dependency_type FROM task_dependencies
                     WHERE task_id = ?1 AND depends_on_task_id = ?2",
                    [task.as_str(), depends_on.as_str()],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(existing) = existing {
                return Err(StoreError::DependencyExists {
                    task: task.clone(),
                    depends_on: depends_on.clone(),
                    kind: existing.parse()?,
                });
            }
            if task == depends_on {
                return Err(StoreError::Cycle(crate::graph::Cycle(vec![
                    task.clone(),
                    task.clone(),
                ])));
            }
            if kind == DepKind::Blocks {
                let graph = load_graph(tx)?;
                if let Some(cycle) = graph.cycle_if_added(task, depends_on) {
                    return Err(StoreError::Cycle(cycle));
                }
                insert_dependency(tx, task, depends_on, kind, actor, None)?;
                refresh_priorities(tx, &load_graph(tx)?)?;
            } else {
                insert_dependency(tx, task, depends_on, kind, actor, None)?;
            }
            Ok(())
        })
    }

    /// Removes the dependency `task -> depends_on`, whatever its kind.
    pub fn remove_dependency(
        &mut self,
        task: &TaskId,
        depends_on: &TaskId,
        actor: &str,
    ) -> Result<DepKind> {
        self.write(|tx| {
            get_task(tx, task)?;
            let kind = delete_dependency(tx, task, depends_on, actor)?;
            if kind == DepKind::Blocks {
                refresh_priorities(tx, &load_graph(tx)?)?;
            }
            Ok(kind)
        })
    }

    /// Moves a task to another status: checks the move against the state machine, updates the row
    /// and appends the `status_changed` event, in one transaction. Nothing else writes a status.
    #[tracing::instrument(skip(self, actor))]
    pub fn transition(
        &mut self,
        id: &TaskId,
        to: TaskStatus,
        mover: Mover,
        reason: Option<&str>,
        actor: &str,
    ) -> Result<Task> {
        self.write(|tx| transition(tx, id, to, mover, reason, actor, None))
    }
}

pub(super) fn transition(
    conn: &Connection,
    id: &TaskId,
    to: TaskStatus,
    mover: Mover,
    reason: Option<&str>,
    actor: &str,
    correlation: Option<&str>,
) -> Result<Task> {
    let from = get_task(conn, id)?.status;
    lifecycle::check(from, to, mover).map_err(|source| StoreError::Illegal {
        task: id.clone(),
        source,
    })?;
    let now = now_millis();
    let block_reason = if to == TaskStatus::Blocked {
        reason
    } else {
        None
    };
    conn.prepare_cached(
        "UPDATE tasks SET status = ?2, block_reason = ?3, updated_at = ?4,
            started_at = CASE WHEN ?2 = 'in_progress' THEN ?4 ELSE started_at END,
            completed_at = CASE WHEN ?2 = 'done' THEN ?4 ELSE completed_at END
         WHERE id = ?1",
    )?
    .execute(params![id.as_str(), to.as_str(), block_reason, now])?;
    if mover == Mover::Person && from == TaskStatus::Blocked && to == TaskStatus::Pending {
        // `vane task retry` gives the task a fresh budget of attempts.
        conn.prepare_cached(
            "UPDATE tasks SET budget_from = (SELECT coalesce(max(number), 0) FROM attempts WHERE task_id = ?1)
             WHERE id = ?1",
        )?
        .execute([id.as_str()])?;
    }
    append(
        conn,
        &NewEvent {
            kind: "status_changed",
            task: Some(id),
            actor,
            correlation,
            data: json!({
                "from": from,
                "to": to,
                "by": mover.as_str(),
                "reason": reason,
            }),
        },
    )?;
    get_task(conn, id)
}

/// Computes the ready set from SQL for the common case and walks epics only where they matter, so
/// that a database of 100,000 tasks answers in milliseconds without loading the whole graph.
struct ReadySet<'c> {
    conn: &'c Connection,
    complete: HashMap<String, bool>,
    satisfied: HashMap<String, bool>,
}

impl<'c> ReadySet<'c> {
    fn new(conn: &'c Connection) -> Self {
        ReadySet {
            conn,
            complete: HashMap::new(),
            satisfied: HashMap::new(),
        }
    }

    fn compute(mut self) -> Result<Vec<TaskId>> {
        // Candidates: pending non-epics none of whose direct non-epic blocking dependencies is open.
        let mut stmt = self.conn.prepare_cached(
            "SELECT t.id, t.parent_id,
                    EXISTS (SELECT 1 FROM task_dependencies d JOIN tasks u INDEXED BY idx_tasks_state ON u.id = d.depends_on_task_id
                            WHERE d.task_id = t.id AND d.dependency_type = 'blocks'
                              AND u.type = 'epic' AND u.status != 'done')
             FROM tasks t INDEXED BY idx_tasks_schedule
             WHERE t.status = 'pending' AND t.type != 'epic'
               AND NOT EXISTS (SELECT 1 FROM task_dependencies d
                               JOIN tasks u INDEXED BY idx_tasks_state ON u.id = d.depends_on_task_id
                               WHERE d.task_id = t.id AND d.dependency_type = 'blocks'
                                 AND u.status != 'done' AND u.type != 'epic')
             ORDER BY t.priority DESC, t.estimated_complexity DESC, t.rowid ASC",
        )?;
        let mut rows = stmt.query([])?;
        let mut candidates = Vec::new();
        while let Some(row) = rows.next()? {
            candidates.push((
                row.get::<_, String>(0)?,
                row.get::<_, Option<String>>(1)?,
                row.get::<_, bool>(2)?,
            ));
        }
        drop(rows);
        drop(stmt);
        let mut ready = Vec::new();
        for (id, parent, has_open_epic_dep) in candidates {
            if has_open_epic_dep && !self.deps_complete(&id)? {
                continue;
            }
            if let Some(parent) = parent {
                if !self.satisfied(&parent)? {
                    continue;
                }
            }
            ready.push(TaskId::new(id)?);
        }
        Ok(ready)
    }

    fn is_satisfied(&mut self, id: &TaskId) -> Result<bool> {
        self.satisfied(id.as_str())
    }

    /// Every blocking dependency of `id` complete, and the same for each of its ancestors.
    fn satisfied(&mut self, id: &str) -> Result<bool> {
        if let Some(&known) = self.satisfied.get(id) {
            return Ok(known);
        }
        let mut value = self.deps_complete(id)?;
        if value {
            let parent: Option<String> = self
                .conn
                .prepare_cached("SELECT parent_id FROM tasks WHERE id = ?1")?
                .query_row([id], |r| r.get(0))
                .optional()?
                .flatten();
            if let Some(parent) = parent {
                value = self.satisfied(&parent)?;
            }
        }
        self.satisfied.insert(id.to_string(), value);
        Ok(value)
    }

    fn deps_complete(&mut self, id: &str) -> Result<bool> {
        let deps: Vec<String> = self
            .conn
            .prepare_cached(
                "SELECT depends_on_task_id FROM task_dependencies
                 WHERE task_id = ?1 AND dependency_type = 'blocks'",
            )?
            .query_map([id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for dep in deps {
            if !self.complete(&dep)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Done, or an epic with children that are all complete.
    fn complete(&mut self, id: &str) -> Result<bool> {
        if let Some(&known) = self.complete.get(id) {
            return Ok(known);
        }
        let (kind, status): (String, String) = self
            .conn
            .prepare_cached("SELECT type, status FROM tasks WHERE id = ?1")?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let value = if status == TaskStatus::Done.as_str() {
            true
        } else if kind == TaskType::Epic.as_str() {
            let children: Vec<String> = self
                .conn
                .prepare_cached("SELECT id FROM tasks WHERE parent_id = ?1")?
                .query_map([id], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            let mut all = !children.is_empty();
            for child in children {
                if !self.complete(&child)? {
                    all = false;
                    break;
                }
            }
            all
        } else {
            false
        };
        self.complete.insert(id.to_string(), value);
        Ok(value)
    }
}

/// Deletes the dependency `task -> depends_on`, whatever its kind, with its
/// `dependency_removed` event; the kind it had. Priorities are the caller's to refresh.
pub(super) fn delete_dependency(
    tx: &Connection,
    task: &TaskId,
    depends_on: &TaskId,
    actor: &str,
) -> Result<DepKind> {
    let kind: Option<String> = tx
        .query_row(
            "DELETE FROM task_dependencies WHERE task_id = ?1 AND depends_on_task_id = ?2
             RETURNING dependency_type",
            [task.as_str(), depends_on.as_str()],
            |r| r.get(0),
        )
        .optional()?;
    let kind: DepKind = kind
        .ok_or_else(|| StoreError::DependencyNotFound {
            task: task.clone(),
            depends_on: depends_on.clone(),
        })?
        .parse()?;
    append(
        tx,
        &NewEvent {
            kind: "dependency_removed",
            task: Some(task),
            actor,
            correlation: None,
            data: json!({ "depends_on": depends_on, "kind": kind }),
        },
    )?;
    Ok(kind)
}

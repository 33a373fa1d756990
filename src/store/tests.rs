//! Tests of the store against real SQLite files.

use proptest::prelude::*;
use tempfile::TempDir;

use super::*;
use crate::graph::{Graph, Node};
use crate::lifecycle::Mover;
use crate::model::{AttemptOutcome, Complexity, DepKind, TaskStatus, TaskType};

fn temp_store() -> (TempDir, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("vane.db"), true).expect("open store");
    (dir, store)
}

fn id(s: &str) -> TaskId {
    TaskId::new(s).expect("valid id")
}

fn new_task(name: &str, kind: TaskType, parent: Option<&str>, deps: &[&str]) -> NewTask {
    NewTask {
        id: Some(id(name)),
        title: format!("Task {name}"),
        description: String::new(),
        kind,
        complexity: None,
        parent: parent.map(id),
        deps: deps.iter().map(|d| (id(d), DepKind::Blocks)).collect(),
        run: None,
        agent: None,
        paths: Vec::new(),
    }
}

fn schema_dump(store: &Store) -> Vec<(String, String)> {
    let mut stmt = store
        .raw_connection()
        .prepare("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

fn count(store: &Store, table: &str) -> i64 {
    store
        .raw_connection()
        .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

#[test]
fn migrating_twice_changes_nothing_the_second_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vane.db");
    let mut store = Store::open(&path, true).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    store
        .add_task(&new_task("a", TaskType::Task, None, &[]), "test")
        .unwrap();
    let schema = schema_dump(&store);
    drop(store);
    let store = Store::open(&path, false).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(schema_dump(&store), schema);
    assert_eq!(count(&store, "tasks"), 1);
    assert_eq!(count(&store, "events"), 1);
    assert_eq!(store.integrity_check().unwrap(), ["ok"]);
}

#[test]
fn a_database_from_a_newer_vane_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vane.db");
    drop(Store::open(&path, true).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    drop(conn);
    let err = Store::open(&path, false).err().expect("must refuse");
    assert!(
        matches!(err, StoreError::NewerSchema { found, known, .. } if found == SCHEMA_VERSION + 1 && known == SCHEMA_VERSION),
        "{err}"
    );
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION + 1);
}

#[test]
fn opening_without_create_does_not_make_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vane.db");
    assert!(matches!(
        Store::open(&path, false),
        Err(StoreError::Missing(_))
    ));
    assert!(!path.exists());
}

#[test]
fn the_database_itself_refuses_to_change_or_delete_events() {
    let (_dir, mut store) = temp_store();
    store
        .add_task(&new_task("a", TaskType::Task, None, &[]), "test")
        .unwrap();
    let conn = store.raw_connection();
    let update = conn
        .execute("UPDATE events SET event_type = 'forged'", [])
        .unwrap_err();
    assert!(update.to_string().contains("append-only"), "{update}");
    let delete = conn.execute("DELETE FROM events", []).unwrap_err();
    assert!(delete.to_string().contains("append-only"), "{delete}");
    assert_eq!(count(&store, "events"), 1);
}

#[test]
fn the_connection_uses_wal_and_foreign_keys() {
    let (_dir, store) = temp_store();
    let conn = store.raw_connection();
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let fk: i64 = conn
        .pragma_query_value(None, "foreign_keys", |r| r.get(0))
        .unwrap();
    assert_eq!(fk, 1);
    let err = conn
        .execute(
            "INSERT INTO task_dependencies (task_id, depends_on_task_id) VALUES ('x', 'y')",
            [],
        )
        .unwrap_err();
    assert!(err.to_string().contains("FOREIGN KEY"), "{err}");
}

#[test]
fn a_transition_writes_the_status_and_its_event_together() {
    let (_dir, mut store) = temp_store();
    store
        .add_task(&new_task("a", TaskType::Task, None, &[]), "test")
        .unwrap();
    let task = store
        .transition(
            &id("a"),
            TaskStatus::Blocked,
            Mover::Person,
            Some("waiting"),
            "me",
        )
        .unwrap();
    assert_eq!(task.status, TaskStatus::Blocked);
    assert_eq!(task.block_reason.as_deref(), Some("waiting"));
    let events = store.events(&EventFilter::default()).unwrap();
    let last = events.last().unwrap();
    assert_eq!(last.kind, "status_changed");
    assert_eq!(last.data["from"], "pending");
    assert_eq!(last.data["to"], "blocked");
    assert_eq!(last.data["reason"], "waiting");
    assert_eq!(last.actor.as_deref(), Some("me"));

    // A refused move changes neither the row nor the log.
    let before = count(&store, "events");
    let err = store
        .transition(&id("a"), TaskStatus::Done, Mover::Person, None, "me")
        .unwrap_err();
    assert!(matches!(err, StoreError::Illegal { .. }), "{err}");
    assert_eq!(store.task(&id("a")).unwrap().status, TaskStatus::Blocked);
    assert_eq!(count(&store, "events"), before);

    let task = store
        .transition(&id("a"), TaskStatus::Pending, Mover::Person, None, "me")
        .unwrap();
    assert_eq!(task.block_reason, None, "leaving blocked clears the reason");
}

#[test]
fn a_refused_dependency_writes_nothing() {
    let (_dir, mut store) = temp_store();
    for (name, deps) in [("T3", vec![]), ("T4", vec!["T3"]), ("T5", vec!["T4"])] {
        store
            .add_task(&new_task(name, TaskType::Task, None, &deps), "test")
            .unwrap();
    }
    let events = count(&store, "events");
    let edges = count(&store, "task_dependencies");
    let err = store
        .add_dependency(&id("T3"), &id("T5"), DepKind::Blocks, "test")
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "this dependency would close a cycle: T3 -> T5 -> T4 -> T3"
    );
    let err = store
        .add_dependency(&id("T3"), &id("nope"), DepKind::Blocks, "test")
        .unwrap_err();
    assert!(matches!(err, StoreError::UnknownReference { .. }), "{err}");
    let err = store
        .add_task(
            &new_task("T6", TaskType::Task, None, &["T5", "ghost"]),
            "test",
        )
        .unwrap_err();
    assert!(err.to_string().contains("ghost"), "{err}");
    assert!(store.task(&id("T6")).is_err());
    assert_eq!(count(&store, "events"), events);
    assert_eq!(count(&store, "task_dependencies"), edges);
    // A related edge does not make the scheduler wait, so it may point either way.
    store
        .add_dependency(&id("T3"), &id("T5"), DepKind::Related, "test")
        .unwrap();
}

#[test]
fn a_task_cannot_depend_on_its_own_epic() {
    let (_dir, mut store) = temp_store();
    store
        .add_task(&new_task("E", TaskType::Epic, None, &[]), "test")
        .unwrap();
    store
        .add_task(&new_task("T", TaskType::Task, Some("E"), &[]), "test")
        .unwrap();
    let err = store
        .add_dependency(&id("T"), &id("E"), DepKind::Blocks, "test")
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "this dependency would close a cycle: T -> E -> T"
    );
    let err = store
        .add_task(&new_task("U", TaskType::Task, Some("E"), &["E"]), "test")
        .unwrap_err();
    assert!(matches!(err, StoreError::Cycle(_)), "{err}");
    assert!(store.task(&id("U")).is_err(), "nothing written on refusal");
}

#[test]
fn generated_ids_count_up_past_the_highest() {
    let (_dir, mut store) = temp_store();
    let mut task = new_task("x", TaskType::Task, None, &[]);
    task.id = None;
    assert_eq!(store.add_task(&task, "t").unwrap().id.as_str(), "T1");
    store
        .add_task(&new_task("T9", TaskType::Task, None, &[]), "t")
        .unwrap();
    store
        .add_task(&new_task("T10x", TaskType::Task, None, &[]), "t")
        .unwrap();
    assert_eq!(store.add_task(&task, "t").unwrap().id.as_str(), "T10");
}

/// A random graph for the property test: kinds, epic parents, edges, statuses.
#[derive(Debug, Clone)]
struct RandomGraph {
    kinds: Vec<TaskType>,
    parents: Vec<Option<usize>>,
    edges: Vec<(usize, usize)>,
    statuses: Vec<TaskStatus>,
    complexities: Vec<Option<u8>>,
}

fn random_graph() -> impl Strategy<Value = RandomGraph> {
    (2usize..18).prop_flat_map(|n| {
        (
            proptest::collection::vec(
                prop_oneof![
                    Just(TaskType::Epic),
                    Just(TaskType::Task),
                    Just(TaskType::Bug)
                ],
                n,
            ),
            proptest::collection::vec(proptest::option::of(0usize..n), n),
            proptest::collection::vec((0usize..n, 0usize..n), 0..n * 2),
            proptest::collection::vec(proptest::sample::select(TaskStatus::ALL.to_vec()), n),
            proptest::collection::vec(proptest::option::of(1u8..=10), n),
        )
            .prop_map(|(kinds, parents, edges, statuses, complexities)| {
                // Parents must be earlier epics, so that parent chains never loop.
                let parents = parents
                    .iter()
                    .enumerate()
                    .map(|(i, p)| p.filter(|&p| p < i && kinds[p] == TaskType::Epic))
                    .collect();
                RandomGraph {
                    kinds,
                    parents,
                    edges,
                    statuses,
                    complexities,
                }
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The store's ready set (SQL plus a walk over epics) is the graph module's, in the same order,
    /// and the stored priorities are the graph's.
    #[test]
    fn the_stored_ready_set_matches_the_pure_graph(g in random_graph()) {
        let (_dir, mut store) = temp_store();
        let name = |i: usize| id(&format!("t{i}"));
        for i in 0..g.kinds.len() {
            let mut task = new_task(&format!("t{i}"), g.kinds[i], None, &[]);
            task.parent = g.parents[i].map(name);
            task.complexity = g.complexities[i].map(|c| Complexity::new(i64::from(c)).unwrap());
            store.add_task(&task, "test").unwrap();
        }
        for &(a, b) in &g.edges {
            // Refusals (cycles, duplicates, self edges) are fine; they leave the graph acyclic.
            let _ = store.add_dependency(&name(a), &name(b), DepKind::Blocks, "test");
        }
        for (i, status) in g.statuses.iter().enumerate() {
            if *status != TaskStatus::Pending {
                store.transition(&name(i), *status, Mover::Rollback, None, "test").unwrap();
            }
        }
        let tasks = store.tasks(&TaskFilter::default()).unwrap();
        let stored_edges: Vec<(TaskId, TaskId)> = {
            let conn = store.raw_connection();
            let mut stmt = conn.prepare("SELECT task_id, depends_on_task_id FROM task_dependencies").unwrap();
            stmt.query_map([], |r| Ok((id(&r.get::<_, String>(0)?), id(&r.get::<_, String>(1)?))))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap()
        };
        let nodes = (0..g.kinds.len())
            .map(|i| {
                let t = tasks.iter().find(|t| t.id == name(i)).unwrap();
                Node {
                    id: t.id.clone(),
                    kind: t.kind,
                    status: t.status,
                    complexity: t.complexity,
                    parent: t.parent.clone(),
                    age: i as i64,
                }
            })
            .collect();
        let graph = Graph::new(nodes, stored_edges).unwrap();
        prop_assert!(graph.find_cycle().is_none());
        prop_assert_eq!(store.ready_tasks().unwrap(), graph.ready());
        for (task_id, priority) in graph.priorities() {
            prop_assert_eq!(store.task(&task_id).unwrap().priority, priority, "priority of {}", task_id);
        }
    }
}

#[test]
fn a_database_of_an_older_schema_is_migrated_and_keeps_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vane.db");
    {
        // A database as the first release left it: only the first migration applied.
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(MIGRATIONS[0].1).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute(
            "INSERT INTO tasks (id, title, type, created_at, updated_at) VALUES ('old', 'Old', 'task', 1, 1)",
            [],
        )
        .unwrap();
    }
    let store = Store::open(&path, false).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(store.task(&id("old")).unwrap().title, "Old");
    assert_eq!(
        count(&store, "batches"),
        0,
        "the second migration's tables exist"
    );
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn declared_paths_round_trip_through_the_database_and_the_roadmap() {
    let (_dir, mut store) = temp_store();
    let task = store
        .add_task(
            &NewTask {
                paths: strings(&["src/auth/**", "docs/auth.md"]),
                ..new_task("a", TaskType::Task, None, &[])
            },
            "test",
        )
        .unwrap();
    assert_eq!(task.paths, strings(&["src/auth/**", "docs/auth.md"]));
    let plain = store
        .add_task(&new_task("b", TaskType::Task, None, &[]), "test")
        .unwrap();
    assert!(plain.paths.is_empty());
    let stored: Option<String> = store
        .raw_connection()
        .query_row("SELECT paths FROM tasks WHERE id = 'b'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, None, "no paths declared is NULL, not `[]`");
    let listed = store.tasks(&TaskFilter::default()).unwrap();
    assert_eq!(listed[0].paths, task.paths);
    let json = serde_json::to_value(store.task_detail(&id("a")).unwrap()).unwrap();
    assert_eq!(
        json["paths"],
        serde_json::json!(["src/auth/**", "docs/auth.md"])
    );
    assert_eq!(json["learned_paths"], serde_json::json!([]));

    // Export, change the paths, import again: the pending task takes the new ones.
    let mut roadmap = store.export_roadmap().unwrap();
    assert_eq!(roadmap.tasks[0].paths, task.paths);
    roadmap.tasks[0].paths = strings(&["src/login/"]);
    let report = store
        .import_roadmap(&roadmap, "roadmap.yaml", "test", false)
        .unwrap();
    assert_eq!(
        report.changes[0],
        TaskChange::Updated {
            id: id("a"),
            fields: vec!["paths"]
        }
    );
    assert_eq!(
        store.task(&id("a")).unwrap().paths,
        strings(&["src/login/"])
    );
    roadmap.tasks[0].paths.clear();
    store
        .import_roadmap(&roadmap, "roadmap.yaml", "test", false)
        .unwrap();
    assert!(store.task(&id("a")).unwrap().paths.is_empty());
}

#[test]
fn learned_paths_are_the_sorted_union_of_what_the_attempts_touched() {
    let (_dir, mut store) = temp_store();
    store
        .add_task(&new_task("a", TaskType::Task, None, &[]), "test")
        .unwrap();
    store
        .add_task(&new_task("other", TaskType::Task, None, &[]), "test")
        .unwrap();
    assert!(store.learned_paths(&id("a")).unwrap().is_empty());
    let batch = store.start_batch("main", None).unwrap();
    let claim = Claim {
        batch,
        worker: "w1",
        profile: "shell",
        base_sha: "base",
        note: None,
        agent_reason: None,
        remote: None,
    };
    // The first attempt changes two files and is sent back at the merge queue.
    let first = store.claim(&id("a"), &claim).unwrap();
    store
        .finish_attempt(
            &first,
            &AttemptResult {
                head_sha: Some("head1".to_string()),
                touched: Some(strings(&["src/b.rs", "src/a.rs"])),
                ..AttemptResult::new(AttemptOutcome::Changed)
            },
            TaskStatus::NeedsReview,
            None,
        )
        .unwrap();
    // A later write of its result that knows no paths keeps those recorded.
    store
        .record_attempt_only(&first, &AttemptResult::new(AttemptOutcome::Changed))
        .unwrap();
    store
        .reject(&first, AttemptOutcome::Conflict, "it conflicts")
        .unwrap();
    // The second is cut short by vane, having touched one more.
    let second = store.claim(&id("a"), &claim).unwrap();
    store
        .release_attempt(
            &second,
            &AttemptResult {
                touched: Some(strings(&["src/a.rs", "docs/x.md"])),
                ..AttemptResult::new(AttemptOutcome::VaneError)
            },
            "the disk is full",
        )
        .unwrap();
    // The third touched nothing.
    let third = store.claim(&id("a"), &claim).unwrap();
    store
        .finish_attempt(
            &third,
            &AttemptResult {
                touched: Some(Vec::new()),
                ..AttemptResult::new(AttemptOutcome::Unchanged)
            },
            TaskStatus::NeedsImprovement,
            None,
        )
        .unwrap();
    assert_eq!(
        store.learned_paths(&id("a")).unwrap(),
        strings(&["docs/x.md", "src/a.rs", "src/b.rs"])
    );
    assert_eq!(
        store.task_detail(&id("a")).unwrap().learned_paths,
        strings(&["docs/x.md", "src/a.rs", "src/b.rs"])
    );
    assert!(store.learned_paths(&id("other")).unwrap().is_empty());
    assert!(matches!(
        store.learned_paths(&id("nope")),
        Err(StoreError::TaskNotFound(_))
    ));
}

#[test]
fn attempt_outcomes_are_stored_as_their_words_and_an_unknown_word_is_corruption() {
    let (_dir, mut store) = temp_store();
    store
        .add_task(&new_task("a", TaskType::Task, None, &[]), "test")
        .unwrap();
    let batch = store.start_batch("main", None).unwrap();
    let claim = Claim {
        batch,
        worker: "w1",
        profile: "shell",
        base_sha: "base",
        note: None,
        agent_reason: None,
        remote: None,
    };
    let attempt = store.claim(&id("a"), &claim).unwrap();
    assert_eq!(attempt.outcome, None);
    store
        .finish_attempt(
            &attempt,
            &AttemptResult::new(AttemptOutcome::TimedOut),
            TaskStatus::NeedsImprovement,
            None,
        )
        .unwrap();
    let stored: String = store
        .conn
        .query_row(
            "SELECT outcome FROM attempts WHERE id = ?1",
            [attempt.id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stored, "timed_out");
    assert_eq!(
        store.attempts(&id("a")).unwrap()[0].outcome,
        Some(AttemptOutcome::TimedOut)
    );

    store
        .conn
        .execute(
            "UPDATE attempts SET outcome = 'exploded' WHERE id = ?1",
            [attempt.id],
        )
        .unwrap();
    match store.attempts(&id("a")) {
        Err(StoreError::Corrupt(message)) => assert_eq!(
            message,
            format!(
                "the outcome of attempt {} at `a`: invalid attempt outcome `exploded`: expected one of \
                 changed, unchanged, failed, timed_out, conflict, gate_failed, landed, rejected, \
                 abandoned, interrupted, vane_error, lost",
                attempt.id
            )
        ),
        other => panic!("expected a corrupt database, got {other:?}"),
    }
}

#[test]
fn a_result_vane_or_an_interrupt_cut_short_is_not_charged() {
    for outcome in [
        AttemptOutcome::VaneError,
        AttemptOutcome::Interrupted,
        AttemptOutcome::Lost,
    ] {
        assert!(!AttemptResult::new(outcome).charged, "{outcome}");
    }
    for outcome in [AttemptOutcome::Failed, AttemptOutcome::TimedOut] {
        assert!(AttemptResult::new(outcome).charged, "{outcome}");
    }
}

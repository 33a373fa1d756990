//! A task whose branch conflicts with base resumes from the merge, its conflict markers in place:
//! shell agents that append to one file at once, see the markers (or not), and resolve them.

use crate::common::TestEnv;

/// Appends `line` to `same.txt` on a start from base; on a start from the merge, writes down that
/// it saw the markers and resolves them by keeping both sides' lines. Each attempt also writes
/// what it saw to `seen-<task>.txt`, which lands with the task.
fn resolving_agent(line: &str) -> String {
    format!(
        "if grep -q '^<<<<<<<' same.txt; then \
           echo \"attempt $VANE_ATTEMPT saw markers\" >> seen-$VANE_TASK_ID.txt; \
           grep -v -e '^<<<<<<< ' -e '^=======$' -e '^>>>>>>> ' same.txt > same.tmp; \
           mv same.tmp same.txt; \
         else \
           echo \"attempt $VANE_ATTEMPT saw no markers\" >> seen-$VANE_TASK_ID.txt; \
           echo '{line}' >> same.txt; \
         fi"
    )
}

/// A repository with `same.txt` on base and two tasks, `one` and `two`, whose agents run `run`
/// with their own line; `config` as for `TestEnv::configured` (two workers).
fn two_appending_tasks(config: &str, run: impl Fn(&str) -> String) -> TestEnv {
    let env = TestEnv::configured(config);
    env.write("same.txt", "base\n");
    env.git(&env.repo, &["add", "same.txt"]);
    env.git(&env.repo, &["commit", "-q", "-m", "Add same.txt"]);
    for id in ["one", "two"] {
        let run = run(&format!("line {id}"));
        env.vane(&["task", "add", id, "--id", id, "--run", &run])
            .success();
    }
    env
}

fn task_json(env: &TestEnv, id: &str) -> serde_json::Value {
    env.vane(&["task", "show", id, "--json"]).success().json()
}

fn prompt(env: &TestEnv, id: &str, attempt: u32) -> String {
    let path = env
        .state_dir()
        .join(format!("runs/{id}/{attempt}/prompt.md"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The task whose first attempt conflicted (the one with a second attempt), and the other.
fn conflicted(env: &TestEnv) -> (&'static str, &'static str) {
    let retried = |id: &str| env.state_dir().join(format!("runs/{id}/2")).exists();
    match (retried("one"), retried("two")) {
        (false, true) => ("two", "one"),
        (true, false) => ("one", "two"),
        other => panic!("exactly one task should have been retried: {other:?}"),
    }
}

fn base_file(env: &TestEnv, name: &str) -> String {
    env.git(&env.repo, &["show", &format!("main:{name}")])
}

#[test]
fn a_conflicting_task_resumes_from_the_merge_with_its_markers_and_lands_both_lines() {
    let env = two_appending_tasks("", resolving_agent);
    let run = env.vane(&["work"]).success();
    assert!(
        run.stderr.contains("conflicts in: same.txt"),
        "{}",
        run.stderr
    );
    let (second, first) = conflicted(&env);
    for id in [first, second] {
        assert_eq!(task_json(&env, id)["status"], "done", "{id}");
    }
    // Both lines are on base: the conflict was resolved, not redone.
    let same = base_file(&env, "same.txt");
    let mut lines: Vec<&str> = same.lines().collect();
    assert_eq!(lines.remove(0), "base", "{same}");
    lines.sort_unstable();
    assert_eq!(lines, ["line one", "line two"], "{same}");
    // Its second attempt started with the markers in the file, its first without.
    assert_eq!(
        base_file(&env, &format!("seen-{second}.txt")),
        "attempt 1 saw no markers\nattempt 2 saw markers\n"
    );
    assert_eq!(
        base_file(&env, &format!("seen-{first}.txt")),
        "attempt 1 saw no markers\n"
    );
    // The prompt said what conflicts and what each side did.
    let prompt = prompt(&env, second, 2);
    for needle in [
        "## This attempt starts from a merge: resolve it, do not start over",
        "The work of attempt 1 conflicted",
        "- same.txt\n",
        "Do not start over",
        &format!("- commit: {second}\n"),
        "2 files changed, 2 insertions(+)",
        &format!(" (task {first})\n"),
    ] {
        assert!(prompt.contains(needle), "missing {needle:?} in:\n{prompt}");
    }
    assert!(
        !self::prompt(&env, first, 1).contains("starts from a merge"),
        "a first attempt starts from base"
    );
    // What landed is the merge of its first attempt's work with the base it conflicted with.
    let head = task_json(&env, second)["head_sha"]
        .as_str()
        .expect("a head")
        .to_string();
    let parents = env.git(&env.repo, &["log", "-1", "--format=%P", &head]);
    let parents: Vec<&str> = parents.split_whitespace().collect();
    assert_eq!(parents.len(), 2, "a merge commit: {parents:?}");
    let first_landed = task_json(&env, first)["landed_sha"]
        .as_str()
        .expect("landed")
        .to_string();
    assert_eq!(
        parents[1], first_landed,
        "base as it was after {first} landed"
    );
    assert_eq!(
        env.git(&env.repo, &["log", "-1", "--format=%s", parents[0]])
            .trim(),
        second,
        "its own first attempt"
    );
}

#[test]
fn a_resolution_that_leaves_the_markers_is_refused_and_kept() {
    // A resolving agent that does nothing: the markers stay. A start from base appends the line.
    let env = two_appending_tasks("max_attempts = 3\n", |line| {
        format!("grep -q '^<<<<<<<' same.txt || echo '{line}' >> same.txt")
    });
    env.vane(&["work"]).success();
    let (second, _) = conflicted(&env);
    assert_eq!(task_json(&env, second)["status"], "done");
    // Its second attempt was refused, naming the file and the markers' lines.
    let third = prompt(&env, second, 3);
    assert!(
        third.contains(
            "- Attempt 2 (failed): the conflict markers the merge left are still in same.txt \
             (lines 2, 4, 6)"
        ),
        "{third}"
    );
    // The refused attempt's work was kept; the third started from base, without markers.
    assert!(!third.contains("starts from a merge"), "{third}");
    let kept = env.git(
        &env.repo,
        &[
            "for-each-ref",
            "--format=%(objectname)",
            &format!("refs/vane/attempts/{second}/"),
        ],
    );
    let with_markers = kept.lines().any(|sha| {
        env.git(&env.repo, &["show", &format!("{sha}:same.txt")])
            .contains("\n<<<<<<< ")
    });
    assert!(with_markers, "the refused merge is kept: {kept}");
    let same = base_file(&env, "same.txt");
    assert!(!same.contains("<<<<<<<"), "{same}");
    assert_eq!(same.lines().count(), 3, "{same}");
}

#[test]
fn retry_fresh_starts_the_next_attempt_from_base_without_markers() {
    // One attempt each: the conflicting task is blocked at once, for a person to decide.
    let env = two_appending_tasks("max_attempts = 1\n", resolving_agent);
    env.vane(&["work"]).failure(1);
    let blocked: Vec<&str> = ["one", "two"]
        .into_iter()
        .filter(|id| task_json(&env, id)["status"] == "blocked")
        .collect();
    let [second] = blocked[..] else {
        panic!("one task conflicts and is blocked: {blocked:?}");
    };
    let first = if second == "one" { "two" } else { "one" };

    env.vane(&["task", "retry", second, "--fresh"]).success();
    assert_eq!(task_json(&env, second)["fresh_start"], true);
    let shown = env.vane(&["task", "show", second]).success();
    assert!(
        shown.stdout.contains("next start:  from the base branch"),
        "{}",
        shown.stdout
    );

    env.vane(&["work"]).success();
    let task = task_json(&env, second);
    assert_eq!(task["status"], "done");
    assert_eq!(task["fresh_start"], false, "cleared by the claim");
    assert!(!prompt(&env, second, 2).contains("starts from a merge"));
    assert_eq!(
        base_file(&env, &format!("seen-{second}.txt")),
        "attempt 2 saw no markers\n",
        "a fresh start from base, the first attempt's work not in it"
    );
    let same = base_file(&env, "same.txt");
    assert_eq!(
        same,
        format!("base\nline {first}\nline {second}\n"),
        "{same}"
    );

    // Nothing to start afresh once done.
    let refused = env.vane(&["task", "retry", second, "--fresh"]).failure(1);
    assert!(refused.stderr.contains("done"), "{}", refused.stderr);
}

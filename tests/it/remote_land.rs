//! Landing to a remote (`land_to`, `--land-to`): base pushed once per drained queue under a lease,
//! never over a push someone else made; and `pr_command`, a pull request per landed task. Real
//! git only: bare remotes on disk, and clones of them standing in for other people.

use std::path::{Path, PathBuf};

use crate::common::TestEnv;

fn add(env: &TestEnv, id: &str, run: &str) {
    env.vane(&["task", "add", id, "--id", id, "--run", run])
        .success();
}

/// A bare repository beside the test's, holding the test repository's `main`.
fn bare_remote(env: &TestEnv) -> PathBuf {
    let bare = env.root.join("remote.git");
    env.git(
        &env.root,
        &["init", "-q", "--bare", "-b", "main", bare.to_str().unwrap()],
    );
    env.git(&env.repo, &["push", "-q", bare.to_str().unwrap(), "main"]);
    bare
}

fn tip(env: &TestEnv, repo: &Path, rev: &str) -> String {
    env.git(repo, &["rev-parse", rev]).trim().to_string()
}

/// The events of `kind` in `vane events --json`, oldest first.
fn events_of(env: &TestEnv, kind: &str) -> Vec<serde_json::Value> {
    let events = env
        .vane(&["events", "--json", "--limit", "0"])
        .success()
        .json();
    events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .cloned()
        .collect()
}

/// Another person's clone of `bare`, with one commit of theirs on `main`, not pushed yet.
fn other_person(env: &TestEnv, bare: &Path) -> (PathBuf, String) {
    let other = env.root.join("other");
    env.git(
        &env.root,
        &[
            "clone",
            "-q",
            bare.to_str().unwrap(),
            other.to_str().unwrap(),
        ],
    );
    std::fs::write(other.join("theirs.txt"), "theirs\n").unwrap();
    env.git(&other, &["add", "theirs.txt"]);
    env.git(&other, &["commit", "-q", "-m", "Their commit"]);
    let theirs = tip(env, &other, "HEAD");
    (other, theirs)
}

#[test]
fn land_to_pushes_base_once_per_drained_queue() {
    let env = TestEnv::configured("workers = 3\n");
    let bare = bare_remote(&env);
    for id in ["a", "b", "c"] {
        add(&env, id, &format!("echo {id} > {id}.txt"));
    }
    let summary = env
        .vane(&["work", "--land-to", bare.to_str().unwrap(), "--json"])
        .success()
        .json();
    assert_eq!(summary["landed"].as_array().unwrap().len(), 3, "{summary}");
    let main = tip(&env, &env.repo, "main");
    assert_eq!(
        tip(&env, &bare, "main"),
        main,
        "the remote's main is local main"
    );
    assert_eq!(summary["pushed"], main.as_str());
    assert!(summary["push_refused"].is_null(), "{summary}");
    let pushes = events_of(&env, "base_pushed");
    assert!(
        !pushes.is_empty() && pushes.len() <= 3,
        "one push per drained queue, never more than the landings: {pushes:?}"
    );
    let last = pushes.last().unwrap();
    assert_eq!(last["data"]["tip"], main.as_str());
    assert_eq!(last["actor"], "vane");
    let carried: u64 = pushes
        .iter()
        .map(|p| p["data"]["landed"].as_u64().unwrap())
        .sum();
    assert_eq!(carried, 3, "every landing went out once: {pushes:?}");

    // Nothing landed: nothing is pushed again.
    add(&env, "d", "true");
    env.vane(&["work", "--land-to", bare.to_str().unwrap()])
        .failure(1);
    assert_eq!(events_of(&env, "base_pushed").len(), pushes.len());
}

#[test]
fn land_to_never_overwrites_a_push_made_by_someone_else() {
    // The agent of `b` is the moment someone else pushes: after the batch started, before the
    // landing is pushed.
    let env = TestEnv::configured("confine = false\n");
    let bare = bare_remote(&env);
    let land_to = bare.to_str().unwrap();
    add(&env, "a", "echo a > a.txt");
    let first = env.vane(&["work", "--land-to", land_to]).success();
    assert!(first.stderr.contains("pushed main to"), "{}", first.stderr);
    let pushed = tip(&env, &env.repo, "main");
    assert_eq!(tip(&env, &bare, "main"), pushed);

    let (other, theirs) = other_person(&env, &bare);
    add(
        &env,
        "b",
        &format!(
            "echo b > b.txt && git -C {} push -q origin main",
            other.display()
        ),
    );
    let run = env
        .vane(&["work", "--land-to", land_to, "--json"])
        .success();
    let summary = run.json();
    assert_eq!(summary["landed"].as_array().unwrap().len(), 1, "{summary}");
    let reason = summary["push_refused"].as_str().expect("refused");
    assert!(reason.contains("someone else pushed"), "{reason}");
    assert!(reason.contains("git pull --no-rebase"), "{reason}");
    assert!(summary["pushed"].is_null(), "{summary}");
    // Theirs stands; the landing stays here.
    assert_eq!(tip(&env, &bare, "main"), theirs);
    let main = tip(&env, &env.repo, "main");
    assert_ne!(main, pushed, "b landed here");
    assert!(env.repo.join("b.txt").is_file());
    assert!(
        !env.repo.join("theirs.txt").exists(),
        "base here was not moved"
    );
    let refused = events_of(&env, "push_refused");
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["data"]["found"], theirs.as_str());
    assert_eq!(refused[0]["data"]["lease"], pushed.as_str());
    assert!(run.stderr.contains("not pushed"), "{}", run.stderr);

    // The next batch finds that the remote and base here each moved on: nothing is pushed, and
    // base here is not moved.
    add(&env, "c", "echo c > c.txt");
    let run = env.vane(&["work", "--land-to", land_to]).success();
    assert!(
        run.stderr
            .contains("has commits that are not here: merge them first (`git pull --no-rebase"),
        "{}",
        run.stderr
    );
    assert!(
        !env.repo.join("theirs.txt").exists(),
        "base here was not moved"
    );
    assert_eq!(tip(&env, &bare, "main"), theirs);
    assert_eq!(events_of(&env, "push_refused").len(), 2);
    assert_eq!(events_of(&env, "base_pushed").len(), 1);

    // Once the person merged theirs, the next landing pushes everything left here.
    env.git(
        &env.repo,
        &["pull", "-q", "--no-rebase", "--no-edit", land_to, "main"],
    );
    add(&env, "d", "echo d > d.txt");
    let summary = env
        .vane(&["work", "--land-to", land_to, "--json"])
        .success()
        .json();
    assert!(summary["push_refused"].is_null(), "{summary}");
    let main = tip(&env, &env.repo, "main");
    assert_eq!(tip(&env, &bare, "main"), main);
    env.git(&env.repo, &["merge-base", "--is-ancestor", &theirs, "main"]);
    for file in ["b.txt", "c.txt", "d.txt"] {
        let listed = env.git(&bare, &["ls-tree", "--name-only", "main"]);
        assert!(listed.lines().any(|l| l == file), "{file} on the remote");
    }
}

#[test]
fn pr_command_pushes_each_landed_branch_and_leaves_the_remote_base_alone() {
    let env = TestEnv::configured("");
    let bare = bare_remote(&env);
    let before = tip(&env, &bare, "main");
    let prs = env.root.join("prs.txt");
    let config = std::fs::read_to_string(env.repo.join("vane.toml")).unwrap();
    env.write(
        "vane.toml",
        &format!(
            "{config}land_to = \"{}\"\npr_command = \"test {{task}} != bad && echo PR {{task}} \
             {{branch}} {{base}} >> {} && echo https://example.com/pr/{{task}}\"\n",
            bare.display(),
            prs.display()
        ),
    );
    env.git(&env.repo, &["commit", "-q", "-am", "Land to a remote"]);
    for id in ["a", "b", "bad"] {
        add(&env, id, &format!("echo {id} > {id}.txt"));
    }
    let run = env.vane(&["work"]).success();
    assert!(
        run.stderr.contains("https://example.com/pr/a"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("its pull request was not opened"),
        "{}",
        run.stderr
    );
    let mut lines: Vec<String> = std::fs::read_to_string(&prs)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    assert_eq!(lines, ["PR a vane/a main", "PR b vane/b main"]);
    for id in ["a", "b", "bad"] {
        let branch = format!("refs/heads/vane/{id}");
        let there = env.git(&bare, &["rev-parse", &branch]);
        assert_eq!(there.trim(), tip(&env, &env.repo, &branch), "{id} pushed");
    }
    assert_eq!(
        tip(&env, &bare, "main"),
        before,
        "the remote's main did not move"
    );
    assert!(events_of(&env, "base_pushed").is_empty());
    let requests = events_of(&env, "pull_request");
    assert_eq!(requests.len(), 3, "{requests:?}");
    for request in &requests {
        let task = request["task"].as_str().unwrap();
        if task == "bad" {
            assert_eq!(request["data"]["ok"], false, "{request}");
        } else {
            assert_eq!(request["data"]["ok"], true, "{request}");
            assert_eq!(
                request["data"]["output"],
                format!("https://example.com/pr/{task}")
            );
        }
    }
}

#[test]
fn land_to_names_a_remote_of_the_repository() {
    let env = TestEnv::configured("");
    let bare = bare_remote(&env);
    env.git(
        &env.repo,
        &["remote", "add", "origin", bare.to_str().unwrap()],
    );
    add(&env, "a", "echo a > a.txt");
    let run = env.vane(&["work", "--land-to", "origin"]).success();
    assert!(
        run.stderr.contains("pushed main to origin"),
        "{}",
        run.stderr
    );
    let main = tip(&env, &env.repo, "main");
    assert_eq!(tip(&env, &bare, "main"), main);
    // Pushed by name: the remote's tracking branch here follows.
    assert_eq!(tip(&env, &env.repo, "refs/remotes/origin/main"), main);
    let pushes = events_of(&env, "base_pushed");
    assert_eq!(pushes.len(), 1, "{pushes:?}");
    assert_eq!(pushes[0]["data"]["remote"], "origin");
    assert_eq!(pushes[0]["data"]["url"], bare.to_str().unwrap());
}

#[test]
fn an_unreachable_land_to_is_refused_before_the_batch_starts() {
    let env = TestEnv::configured("");
    add(&env, "a", "echo a > a.txt");
    let missing = env.root.join("nowhere.git");
    let run = env
        .vane(&["work", "--land-to", missing.to_str().unwrap()])
        .failure(3);
    assert!(run.stderr.contains("cannot read `main`"), "{}", run.stderr);
    let task = env.vane(&["task", "show", "a", "--json"]).success().json();
    assert_eq!(task["status"], "pending", "nothing started");
}

#[test]
fn land_to_does_not_push_when_the_remote_is_ahead_at_the_batch_start() {
    let env = TestEnv::configured("");
    let bare = bare_remote(&env);
    let land_to = bare.to_str().unwrap();
    let (other, theirs) = other_person(&env, &bare);
    env.git(&other, &["push", "-q", "origin", "main"]);
    let before = tip(&env, &env.repo, "main");
    add(&env, "a", "echo a > a.txt");
    let summary = env
        .vane(&["work", "--land-to", land_to, "--json"])
        .success()
        .json();
    let reason = summary["push_refused"].as_str().expect("refused");
    assert!(
        reason.contains(&format!(
            "{land_to}'s main has commits that are not here: pull them first (`git pull \
             --ff-only {land_to} main`)"
        )),
        "{reason}"
    );
    assert!(summary["pushed"].is_null(), "{summary}");
    // The task landed here, on base as it was: theirs is neither pushed over nor pulled in.
    assert_eq!(summary["landed"].as_array().unwrap().len(), 1, "{summary}");
    assert_eq!(tip(&env, &bare, "main"), theirs);
    env.git(&env.repo, &["merge-base", "--is-ancestor", &before, "main"]);
    assert!(!env.repo.join("theirs.txt").exists());
    let refused = events_of(&env, "push_refused");
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["data"]["found"], theirs.as_str());
    assert!(events_of(&env, "base_pushed").is_empty());
}

#[test]
fn land_to_makes_the_base_branch_on_an_empty_remote() {
    let env = TestEnv::configured("");
    let bare = env.root.join("empty.git");
    env.git(
        &env.root,
        &["init", "-q", "--bare", "-b", "main", bare.to_str().unwrap()],
    );
    add(&env, "a", "echo a > a.txt");
    let summary = env
        .vane(&["work", "--land-to", bare.to_str().unwrap(), "--json"])
        .success()
        .json();
    let main = tip(&env, &env.repo, "main");
    assert_eq!(tip(&env, &bare, "main"), main);
    assert_eq!(summary["pushed"], main.as_str());
    let pushes = events_of(&env, "base_pushed");
    assert!(pushes[0]["data"]["from"].is_null(), "{pushes:?}");
}

//! Building the prompt an agent gets for one attempt at a task (`prompt.md`): the task, its epic,
//! what its dependencies landed, the context entries that concern it (with where those agents and
//! critics left came from), the feedback of earlier attempts, and how to leave what it learns for
//! the tasks after it (see `learnings`); and, for an attempt that starts from the merge of its
//! conflicting branch with the new base, what conflicts and what both sides did. Pure: the work
//! loop gathers the pieces, this lays them out.

use std::fmt::Write;

use crate::model::{AttemptOutcome, ContextEntry, Task, TaskId};

/// A dependency that has landed, with the subjects of the commits it brought.
#[derive(Debug, Clone, PartialEq)]
pub struct LandedDependency {
    pub id: TaskId,
    pub title: String,
    pub subjects: Vec<String>,
}

/// What an earlier attempt at the same task ended with.
#[derive(Debug, Clone, PartialEq)]
pub struct EarlierAttempt {
    pub number: u32,
    /// None when it never finished.
    pub outcome: Option<AttemptOutcome>,
    pub feedback: Option<String>,
}

pub struct PromptInput<'a> {
    pub task: &'a Task,
    pub epic: Option<&'a Task>,
    pub dependencies: &'a [LandedDependency],
    /// All context entries; the ones that concern this task are picked here.
    pub context: &'a [ContextEntry],
    pub earlier: &'a [EarlierAttempt],
    pub attempt: u32,
}

/// An attempt that starts from the merge of the task's branch with the new base, its conflict
/// markers in place: what conflicts, and what each side did.
#[derive(Debug, Clone, PartialEq)]
pub struct MergeToResolve<'a> {
    /// The attempt whose branch conflicted with base.
    pub conflicted_attempt: u32,
    /// The paths the merge left conflict markers in; empty when it merged cleanly this time.
    pub paths: &'a [String],
    /// The subjects of the task's own commits on its branch, newest first.
    pub own_subjects: &'a [String],
    /// `git diff --stat` of the task's own work.
    pub own_stat: &'a str,
    /// What landed on base meanwhile that touched `paths`, newest first.
    pub landed: &'a [LandedChange],
}

/// A commit that landed on base, with the tasks its `Vane-Task:` trailers name.
#[derive(Debug, Clone, PartialEq)]
pub struct LandedChange {
    pub subject: String,
    pub tasks: Vec<String>,
}

/// At most this many of the entries agents and critics left (see `learnings`) that concern a task
/// reach its prompt, the most recent ones, so that prompts do not grow with every attempt. What
/// people recorded (`vane context add`) is never left out.
pub const MAX_LEFT_ENTRIES: usize = 20;

/// Whether a context entry concerns the task: it names the task or its epic, or it names no task
/// (a project-wide decision or constraint).
pub fn concerns(entry: &ContextEntry, task: &TaskId, epic: Option<&TaskId>) -> bool {
    entry.related_tasks.is_empty()
        || entry.related_tasks.contains(task)
        || epic.is_some_and(|e| entry.related_tasks.contains(e))
}

pub fn build(input: &PromptInput<'_>) -> String {
    let task = input.task;
    let mut out = String::new();
    let _ = writeln!(out, "# Task {}: {}\n", task.id, task.title);
    if !task.description.trim().is_empty() {
        let _ = writeln!(out, "{}\n", task.description.trim_end());
    }
    let _ = writeln!(
        out,
        "You are working in a git worktree of the repository, on branch `{}`. Make the change this task \
         asks for in the files here. Commit it if you can; anything you leave uncommitted is committed \
         for you when you finish. Before it lands, the change is merged with the latest base branch and \
         checked by the project's gates.\n",
        task.id.branch()
    );
    if let Some(epic) = input.epic {
        let _ = writeln!(out, "## Part of: {} ({})\n", epic.title, epic.id);
        if !epic.description.trim().is_empty() {
            let _ = writeln!(out, "{}\n", epic.description.trim_end());
        }
    }
    if !input.dependencies.is_empty() {
        let _ = writeln!(out, "## Already landed, which this task builds on\n");
        for dep in input.dependencies {
            let _ = writeln!(out, "- {} ({})", dep.title, dep.id);
            for subject in &dep.subjects {
                let _ = writeln!(out, "  - commit: {subject}");
            }
        }
        out.push('\n');
    }
    let context = concerning(input.context, task);
    if !context.is_empty() {
        let _ = writeln!(out, "## Context\n");
        for entry in context {
            let notes: Vec<String> = entry
                .origin
                .iter()
                .map(|origin| format!("from {origin}"))
                .chain(entry.confidence.map(|c| format!("confidence {c:.2}")))
                .collect();
            let notes = if notes.is_empty() {
                String::new()
            } else {
                format!(" ({})", notes.join(", "))
            };
            let _ = writeln!(
                out,
                "- {} on {}{notes}: {}",
                entry.kind,
                entry.topic,
                entry.content.trim().replace('\n', "\n  ")
            );
        }
        out.push('\n');
    }
    if !input.earlier.is_empty() {
        let _ = writeln!(
            out,
            "## Earlier attempts\n\nThis is attempt {}. What the earlier ones ran into:\n",
            input.attempt
        );
        for earlier in input.earlier {
            let feedback = earlier.feedback.as_deref().unwrap_or("no details recorded");
            let _ = writeln!(
                out,
                "- Attempt {} ({}): {}",
                earlier.number,
                earlier
                    .outcome
                    .map_or("unfinished", AttemptOutcome::as_str)
                    .replace('_', " "),
                feedback.trim().replace('\n', "\n  ")
            );
        }
        out.push('\n');
    }
    out.push_str(LEAVE_CONTEXT);
    out
}

/// How an agent leaves what it learns for the tasks after it (see `learnings`); in every prompt,
/// so short.
const LEAVE_CONTEXT: &str = "## What you learn\n\n\
    If you find something a later task in this repository should know (a convention, a pitfall, \
    a command that works or one to avoid), append it to the file `$VANE_CONTEXT_FILE` names, one \
    JSON object a line:\n\n\
    ```sh\n\
    echo '{\"type\": \"learning\", \"topic\": \"tests\", \"content\": \"Run `make check`: it sets up the \
    fixtures\", \"confidence\": 0.8}' >> \"$VANE_CONTEXT_FILE\"\n\
    ```\n\n\
    `type` is learning, decision, constraint or hypothesis; `confidence` (0 to 1) and `tasks` (the \
    ids of tasks it is about) are optional. Only what outlasts this task, not your progress: later \
    prompts carry it.\n\n";

/// The context entries that concern `task`, oldest first: all that people recorded, and the most
/// recent `MAX_LEFT_ENTRIES` of those agents and critics left.
fn concerning<'a>(context: &'a [ContextEntry], task: &Task) -> Vec<&'a ContextEntry> {
    let mut entries: Vec<&ContextEntry> = context
        .iter()
        .filter(|e| concerns(e, &task.id, task.parent.as_ref()))
        .collect();
    let left = entries.iter().filter(|e| e.origin.is_some()).count();
    let mut too_old = left.saturating_sub(MAX_LEFT_ENTRIES);
    entries.retain(|e| {
        if e.origin.is_some() && too_old > 0 {
            too_old -= 1;
            return false;
        }
        true
    });
    entries
}

/// The section of the prompt for an attempt that starts from a merge (see `MergeToResolve`),
/// appended after the rest: the worker writes it once the merge is made, when the conflicting
/// paths are known.
pub fn merge_section(merge: &MergeToResolve<'_>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## This attempt starts from a merge: resolve it, do not start over\n\n\
         The work of attempt {} conflicted with what landed on the base branch meanwhile. This \
         worktree holds that work, on its branch, with the current base branch merged into it and \
         not committed yet.\n",
        merge.conflicted_attempt
    );
    if merge.paths.is_empty() {
        let _ = writeln!(
            out,
            "The merge went through without conflicts this time: check that the result still does \
             what the task asks, and finish it.\n"
        );
    } else {
        let _ = writeln!(
            out,
            "The merge left conflict markers (`<<<<<<<`, `=======`, `>>>>>>>`) in:\n"
        );
        for path in merge.paths {
            let _ = writeln!(out, "- {path}");
        }
        let _ = writeln!(
            out,
            "\nResolve every conflict: keep the intent of both sides (this task's change and what \
             landed), and remove the markers. Do not start over, and do not undo the merge (no \
             `git merge --abort`, `git reset` or `git checkout` of another commit): what you leave \
             is committed as the merge. An attempt that leaves conflict markers in these files \
             fails.\n"
        );
    }
    let _ = writeln!(out, "### This task's earlier work\n");
    if merge.own_subjects.is_empty() {
        let _ = writeln!(out, "(no commits of its own on the branch)");
    }
    for subject in merge.own_subjects {
        let _ = writeln!(out, "- commit: {subject}");
    }
    if !merge.own_stat.trim().is_empty() {
        let _ = writeln!(out, "\n```\n{}\n```", merge.own_stat.trim_end());
    }
    out.push('\n');
    if !merge.paths.is_empty() {
        let _ = writeln!(
            out,
            "### What landed on the base branch meanwhile, in these files\n"
        );
        if merge.landed.is_empty() {
            let _ = writeln!(out, "(no commit on the base branch's own line names them)");
        }
        for landed in merge.landed {
            let tasks = if landed.tasks.is_empty() {
                String::new()
            } else {
                format!(" (task {})", landed.tasks.join(", "))
            };
            let _ = writeln!(out, "- {}{tasks}", landed.subject);
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ContextKind, ContextOrigin, ContextSource, TaskStatus};

    fn task(id: &str, title: &str, parent: Option<&str>) -> Task {
        Task {
            title: title.to_string(),
            status: TaskStatus::InProgress,
            parent: parent.map(|p| TaskId::new(p).unwrap()),
            ..Task::example(id)
        }
    }

    fn entry(topic: &str, related: &[&str]) -> ContextEntry {
        ContextEntry {
            id: 1,
            at: 0,
            kind: ContextKind::Decision,
            topic: topic.to_string(),
            content: format!("about {topic}"),
            confidence: Some(0.9),
            related_tasks: related.iter().map(|r| TaskId::new(*r).unwrap()).collect(),
            origin: None,
        }
    }

    /// A learning an agent left at `task`'s attempt 2, about `related`.
    fn left(id: i64, topic: &str, related: &[&str], source: ContextSource) -> ContextEntry {
        ContextEntry {
            id,
            kind: ContextKind::Learning,
            content: format!("{topic} #{id}"),
            origin: Some(ContextOrigin {
                source,
                task: TaskId::new("api").unwrap(),
                attempt: 2,
                profile: Some("claude".to_string()),
                gate: (source == ContextSource::Critic).then(|| "review".to_string()),
            }),
            ..entry(topic, related)
        }
    }

    #[test]
    fn a_prompt_holds_task_epic_dependencies_context_and_feedback() {
        let mut t = task("form", "Add the login form", Some("auth"));
        t.description = "Email and password.".to_string();
        let mut epic = task("auth", "Authentication", None);
        epic.description = "Sign-in for the web app.".to_string();
        let deps = [LandedDependency {
            id: TaskId::new("api").unwrap(),
            title: "Add the login endpoint".to_string(),
            subjects: vec!["Add POST /login".to_string()],
        }];
        let context = [
            entry("sessions", &["auth"]),
            entry("style", &[]),
            entry("billing", &["invoice"]),
        ];
        let earlier = [EarlierAttempt {
            number: 1,
            outcome: Some(AttemptOutcome::GateFailed),
            feedback: Some("gate `tests` failed:\nexpected 200".to_string()),
        }];
        let prompt = build(&PromptInput {
            task: &t,
            epic: Some(&epic),
            dependencies: &deps,
            context: &context,
            earlier: &earlier,
            attempt: 2,
        });
        for needle in [
            "# Task form: Add the login form",
            "Email and password.",
            "branch `vane/form`",
            "## Part of: Authentication (auth)",
            "Sign-in for the web app.",
            "- Add the login endpoint (api)\n  - commit: Add POST /login",
            "- decision on sessions (confidence 0.90): about sessions",
            "- decision on style",
            "This is attempt 2.",
            "- Attempt 1 (gate failed): gate `tests` failed:\n  expected 200",
        ] {
            assert!(prompt.contains(needle), "missing {needle:?} in:\n{prompt}");
        }
        assert!(
            !prompt.contains("billing"),
            "context of other tasks stays out"
        );
    }

    #[test]
    fn a_merge_to_resolve_names_the_conflicts_and_both_sides() {
        let paths = ["same.txt".to_string(), "src/lib.rs".to_string()];
        let own = ["Add the second line".to_string()];
        let landed = [
            LandedChange {
                subject: "Land one: Add the first line".to_string(),
                tasks: vec!["one".to_string()],
            },
            LandedChange {
                subject: "Fix a typo by hand".to_string(),
                tasks: Vec::new(),
            },
        ];
        let section = merge_section(&MergeToResolve {
            conflicted_attempt: 1,
            paths: &paths,
            own_subjects: &own,
            own_stat: " same.txt | 1 +\n 1 file changed, 1 insertion(+)",
            landed: &landed,
        });
        for needle in [
            "## This attempt starts from a merge: resolve it, do not start over",
            "The work of attempt 1 conflicted",
            "- same.txt\n- src/lib.rs\n",
            "keep the intent of both sides",
            "Do not start over",
            "- commit: Add the second line",
            "```\n same.txt | 1 +\n 1 file changed, 1 insertion(+)\n```",
            "- Land one: Add the first line (task one)\n- Fix a typo by hand\n",
        ] {
            assert!(
                section.contains(needle),
                "missing {needle:?} in:\n{section}"
            );
        }

        let clean = merge_section(&MergeToResolve {
            conflicted_attempt: 2,
            paths: &[],
            own_subjects: &own,
            own_stat: "",
            landed: &[],
        });
        assert!(clean.contains("without conflicts this time"), "{clean}");
        assert!(!clean.contains("What landed"), "{clean}");
    }

    #[test]
    fn a_first_attempt_without_extras_is_short() {
        let t = task("T1", "Do it", None);
        let prompt = build(&PromptInput {
            task: &t,
            epic: None,
            dependencies: &[],
            context: &[],
            earlier: &[],
            attempt: 1,
        });
        let sections: Vec<&str> = prompt.lines().filter(|l| l.starts_with("## ")).collect();
        assert_eq!(sections, ["## What you learn"], "{prompt}");
        assert!(prompt.len() < 1800, "{} bytes:\n{prompt}", prompt.len());
    }

    #[test]
    fn every_prompt_says_how_to_leave_what_it_learns() {
        let t = task("T1", "Do it", None);
        let prompt = build(&PromptInput {
            task: &t,
            epic: None,
            dependencies: &[],
            context: &[],
            earlier: &[],
            attempt: 1,
        });
        let example = prompt
            .lines()
            .find(|l| l.starts_with("echo '"))
            .expect("an example line");
        let json = example
            .strip_prefix("echo '")
            .and_then(|l| l.strip_suffix("' >> \"$VANE_CONTEXT_FILE\""))
            .expect("an echo into the file");
        // The example is itself a good entry.
        let (entries, problems) = crate::learnings::read_entries(json);
        assert_eq!((entries.len(), problems.len()), (1, 0), "{json}");
        for needle in ["`$VANE_CONTEXT_FILE`", "decision, constraint or hypothesis"] {
            assert!(prompt.contains(needle), "missing {needle:?} in:\n{prompt}");
        }
    }

    #[test]
    fn learnings_say_where_they_came_from_and_only_the_recent_ones_are_carried() {
        let t = task("form", "Add the login form", Some("auth"));
        let mut context = vec![entry("style", &[])];
        context[0].content = "Two spaces,\nnever tabs".to_string();
        context.push(left(2, "cookies", &["auth"], ContextSource::Agent));
        context.push(left(3, "naming", &[], ContextSource::Critic));
        for id in 4..(4 + MAX_LEFT_ENTRIES as i64) {
            context.push(left(id, "more", &["auth"], ContextSource::Agent));
        }
        context.push(left(99, "billing", &["invoice"], ContextSource::Agent));
        context.push(ContextEntry {
            id: 100,
            kind: ContextKind::Constraint,
            ..entry("late", &[])
        });
        let build_with = |context: &[ContextEntry]| {
            build(&PromptInput {
                task: &t,
                epic: None,
                dependencies: &[],
                context,
                earlier: &[],
                attempt: 1,
            })
        };
        let prompt = build_with(&context);
        let lines: Vec<&str> = prompt.lines().filter(|l| l.starts_with("- ")).collect();
        // People's entries all; of the 22 left ones that concern it, the 20 most recent.
        assert_eq!(lines.len(), 2 + MAX_LEFT_ENTRIES, "{prompt}");
        assert!(
            prompt.contains("- decision on style (confidence 0.90): Two spaces,\n  never tabs"),
            "{prompt}"
        );
        assert!(
            !prompt.contains("cookies #2"),
            "the oldest left out:\n{prompt}"
        );
        assert!(!prompt.contains("naming #3"), "{prompt}");
        assert!(!prompt.contains("billing"), "{prompt}");
        assert!(
            prompt.contains(
                "- learning on more (from task api, attempt 2, confidence 0.90): more #4\n"
            ),
            "{prompt}"
        );
        assert!(
            prompt.contains("- constraint on late (confidence 0.90)"),
            "{prompt}"
        );

        let few = [
            left(2, "cookies", &["auth"], ContextSource::Agent),
            left(3, "naming", &[], ContextSource::Critic),
        ];
        let prompt = build_with(&few);
        for needle in [
            "- learning on cookies (from task api, attempt 2, confidence 0.90): cookies #2",
            "- learning on naming (from the critic `review` of task api, attempt 2, confidence \
             0.90): naming #3",
        ] {
            assert!(prompt.contains(needle), "missing {needle:?} in:\n{prompt}");
        }
    }
}

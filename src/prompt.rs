//! Building the prompt an agent gets for one attempt at a task (`prompt.md`): the task, its epic,
//! what its dependencies landed, the context entries that concern it, and the feedback of earlier
//! attempts; and, for an attempt that starts from the merge of its conflicting branch with the new
//! base, what conflicts and what both sides did. Pure: the work loop gathers the pieces, this lays
//! them out.

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
    let context: Vec<&ContextEntry> = input
        .context
        .iter()
        .filter(|e| concerns(e, &task.id, task.parent.as_ref()))
        .collect();
    if !context.is_empty() {
        let _ = writeln!(out, "## Context\n");
        for entry in context {
            let confidence = entry
                .confidence
                .map(|c| format!(" (confidence {c:.2})"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "- {} on {}{confidence}: {}",
                entry.kind,
                entry.topic,
                entry.content.trim()
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
    out
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
    use crate::model::{ContextKind, TaskStatus, TaskType};

    fn task(id: &str, title: &str, parent: Option<&str>) -> Task {
        Task {
            id: TaskId::new(id).unwrap(),
            title: title.to_string(),
            description: String::new(),
            kind: TaskType::Task,
            status: TaskStatus::InProgress,
            complexity: None,
            parent: parent.map(|p| TaskId::new(p).unwrap()),
            run: None,
            agent: None,
            paths: Vec::new(),
            priority: 0,
            block_reason: None,
            branch: None,
            base_sha: None,
            head_sha: None,
            landed_sha: None,
            created_at: 0,
            updated_at: 0,
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
        assert!(!prompt.contains("##"), "{prompt}");
    }
}

//! What a planner is asked: the epic, what it builds on, the project's context entries, the
//! repository's layout, the graph as it stands, and the one answer vane reads (a JSON object in
//! the shape of `schema`); for a roadmap extension also how the batch went. And what it is told
//! when its answer was refused. Pure: the caller gathers the pieces.

use std::fmt::Write;

use crate::model::{ContextEntry, ContextKind, Task};
use crate::prompt::LandedDependency;

/// The longest a planner prompt gets, in bytes: Claude Code and Gemini CLI take the prompt as one
/// argument, which may be at most 128 KiB.
const PROMPT_LIMIT: usize = 100 * 1024;

/// How many tasks of the graph the prompt lists, at most (the newest are kept).
const GRAPH_LIMIT: usize = 200;

/// The epic being planned.
#[derive(Debug, Clone)]
pub struct EpicBrief<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub description: &'a str,
}

/// The repository as the planner sees it at the base tip.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    /// Tracked paths, at most a few hundred.
    pub files: Vec<String>,
    /// How many paths are tracked in all.
    pub total: usize,
    /// The README's name and its first lines.
    pub readme: Option<(String, String)>,
}

/// How the batch is going, for a roadmap extension.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    pub done: usize,
    pub pending: usize,
    pub total: usize,
    /// Per quality dimension: its name, recent average and how many scores it has.
    pub quality: Vec<(String, f64, usize)>,
    /// What landed lately, newest first: id and title.
    pub landed: Vec<(String, String)>,
}

/// Everything a planner prompt is made of.
pub struct Brief<'a> {
    pub epic: EpicBrief<'a>,
    /// The epic's own dependencies that landed, and what they brought.
    pub dependencies: &'a [LandedDependency],
    pub context: &'a [ContextEntry],
    pub layout: &'a Layout,
    /// The tasks in the graph, oldest first.
    pub graph: &'a [Task],
    pub max_tasks: usize,
    /// The JSON Schema of the answer.
    pub schema: &'a str,
    /// Set for a roadmap extension: the next phase, given how the batch went.
    pub progress: Option<&'a Progress>,
}

/// The first prompt a planner gets.
pub fn planner_prompt(brief: &Brief<'_>) -> String {
    let mut out = String::new();
    match brief.progress {
        None => {
            let _ = writeln!(
                out,
                "# Plan the epic {}: {}\n\nBreak this epic into tasks that AI coding agents can \
                 each finish alone in a git worktree, with the dependencies between them. Do not \
                 edit any file: read what you need, then answer with the plan.\n",
                brief.epic.id, brief.epic.title
            );
        }
        Some(_) => {
            let _ = writeln!(
                out,
                "# Extend the roadmap: {}\n\nThe batch of work is running low on tasks. Plan the \
                 next phase: the tasks that should come next given what landed, how its quality \
                 went and what was learned. Do not edit any file: read what you need, then answer \
                 with the plan.\n",
                brief.epic.title
            );
        }
    }
    if !brief.epic.description.trim().is_empty() {
        let _ = writeln!(out, "{}\n", brief.epic.description.trim_end());
    }
    if !brief.dependencies.is_empty() {
        let _ = writeln!(out, "## Already landed, which this epic builds on\n");
        for dep in brief.dependencies {
            let _ = writeln!(out, "- {} ({})", dep.title, dep.id);
            for subject in &dep.subjects {
                let _ = writeln!(out, "  - commit: {subject}");
            }
        }
        out.push('\n');
    }
    if let Some(progress) = brief.progress {
        progress_section(&mut out, progress);
    }
    context_section(&mut out, brief.context);
    layout_section(&mut out, brief.layout);
    graph_section(&mut out, brief.graph);
    let _ = writeln!(
        out,
        "## Your answer\n\nAnswer with one JSON object and nothing after it, in this JSON Schema:\n\n\
         ```json\n{}\n```\n\n\
         - At most {} tasks, each small enough for one agent (complexity 1 to 10; split what is \
         bigger than 8).\n\
         - `id`: short, lowercase, with `-` (like `auth-form`); new ids, not ones in the graph above.\n\
         - `deps`: ids of tasks in your plan or in the graph above; kind `blocks` (waits for it to \
         land), `related` or `suggested` (no waiting). No cycles.\n\
         - `paths`: the files or globs each task expects to touch, so that tasks that touch the \
         same files are not run at once.\n\
         - `agent`: null, unless a task needs a particular agent profile.\n\
         - `rationale`: why the plan is cut this way, and per task why it is there.\n\n\
         vane checks the whole answer and tells you every problem it finds.",
        brief.schema, brief.max_tasks
    );
    bounded(out)
}

/// What a planner is told when its answer was refused, when it goes on in the same session.
pub fn retry_prompt(problems: &str) -> String {
    format!(
        "Your plan was not accepted. vane found these problems in it:\n\n{problems}\n\n\
         Answer again with the whole plan, corrected, as one JSON object in the same schema, and \
         nothing after it."
    )
}

/// The first prompt again with the problems of the refused answer, for a planner that cannot go
/// on in a session.
pub fn retry_prompt_afresh(first: &str, problems: &str) -> String {
    bounded(format!(
        "{first}\n\n## Your last answer was refused\n\n{}\n",
        retry_prompt(problems)
    ))
}

fn progress_section(out: &mut String, progress: &Progress) {
    let _ = writeln!(
        out,
        "## How the batch went\n\n{} of {} tasks are done, {} pending.\n",
        progress.done, progress.total, progress.pending
    );
    if !progress.quality.is_empty() {
        let _ = writeln!(
            out,
            "Quality by dimension (recent average of the gates' scores, 0 to 1):\n"
        );
        for (dimension, average, count) in &progress.quality {
            let _ = writeln!(out, "- {dimension}: {average:.2} over {count} scores");
        }
        out.push('\n');
    }
    if !progress.landed.is_empty() {
        let _ = writeln!(out, "Landed lately:\n");
        for (id, title) in &progress.landed {
            let _ = writeln!(out, "- {title} ({id})");
        }
        out.push('\n');
    }
}

fn context_section(out: &mut String, context: &[ContextEntry]) {
    if context.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "## Context: decisions, constraints and what was learned\n"
    );
    // Every decision and constraint; of the rest, the latest.
    let (standing, learned): (Vec<&ContextEntry>, Vec<&ContextEntry>) = context
        .iter()
        .partition(|e| matches!(e.kind, ContextKind::Decision | ContextKind::Constraint));
    let skip = learned.len().saturating_sub(30);
    for entry in standing.into_iter().chain(learned.into_iter().skip(skip)) {
        let confidence = entry
            .confidence
            .map(|c| format!(" (confidence {c:.2})"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "- {} on {}{confidence}: {}",
            entry.kind,
            entry.topic,
            clipped(entry.content.trim(), 1000)
        );
    }
    out.push('\n');
}

/// At most `max` characters of `text`, with `…` when cut.
fn clipped(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

fn layout_section(out: &mut String, layout: &Layout) {
    let _ = writeln!(out, "## The repository\n");
    if layout.files.is_empty() {
        let _ = writeln!(out, "It tracks no files yet.\n");
    } else {
        let _ = writeln!(out, "Tracked files ({} in all):\n\n```", layout.total);
        for file in &layout.files {
            let _ = writeln!(out, "{file}");
        }
        if layout.total > layout.files.len() {
            let _ = writeln!(out, "... ({} more)", layout.total - layout.files.len());
        }
        let _ = writeln!(out, "```\n");
    }
    if let Some((name, head)) = &layout.readme {
        let _ = writeln!(
            out,
            "The head of {name}:\n\n```\n{}\n```\n",
            head.trim_end()
        );
    }
}

fn graph_section(out: &mut String, graph: &[Task]) {
    if graph.is_empty() {
        let _ = writeln!(out, "## The task graph\n\nIt holds no tasks yet.\n");
        return;
    }
    let _ = writeln!(out, "## The task graph as it stands\n");
    let skip = graph.len().saturating_sub(GRAPH_LIMIT);
    if skip > 0 {
        let _ = writeln!(out, "({skip} older tasks not shown)");
    }
    for task in &graph[skip..] {
        let parent = task
            .parent
            .as_ref()
            .map(|p| format!(", in {p}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "- {} [{} {}{parent}]: {}",
            task.id,
            task.status,
            task.kind,
            clipped(&task.title, 160)
        );
    }
    out.push('\n');
}

/// The prompt cut to `PROMPT_LIMIT` bytes, at a character boundary, saying so.
fn bounded(mut out: String) -> String {
    if out.len() <= PROMPT_LIMIT {
        return out;
    }
    let mut cut = PROMPT_LIMIT;
    while !out.is_char_boundary(cut) {
        cut -= 1;
    }
    let dropped = out.len() - cut;
    out.truncate(cut);
    let _ = write!(out, "\n... ({dropped} bytes of this prompt were cut)\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TaskStatus;

    fn task(id: &str, status: TaskStatus) -> Task {
        Task {
            title: format!("the {id} task"),
            status,
            ..Task::example(id)
        }
    }

    fn brief<'a>(
        layout: &'a Layout,
        graph: &'a [Task],
        progress: Option<&'a Progress>,
    ) -> Brief<'a> {
        Brief {
            epic: EpicBrief {
                id: "auth",
                title: "Sign-in",
                description: "Email and password.",
            },
            dependencies: &[],
            context: &[],
            layout,
            graph,
            max_tasks: 7,
            schema: "{\"type\": \"object\"}",
            progress,
        }
    }

    #[test]
    fn the_prompt_names_the_epic_the_graph_the_files_the_limit_and_the_schema() {
        let layout = Layout {
            files: vec!["src/main.rs".into(), "README.md".into()],
            total: 3,
            readme: Some(("README.md".into(), "# Demo\nA demo.".into())),
        };
        let graph = [task("setup", TaskStatus::Done)];
        let prompt = planner_prompt(&brief(&layout, &graph, None));
        for part in [
            "# Plan the epic auth: Sign-in",
            "Email and password.",
            "- setup [done task]: the setup task",
            "src/main.rs",
            "... (1 more)",
            "# Demo",
            "At most 7 tasks",
            "{\"type\": \"object\"}",
        ] {
            assert!(prompt.contains(part), "{part:?} missing from:\n{prompt}");
        }
    }

    #[test]
    fn an_extension_prompt_says_how_the_batch_went() {
        let layout = Layout::default();
        let progress = Progress {
            done: 4,
            pending: 1,
            total: 5,
            quality: vec![("correctness".into(), 0.9, 4)],
            landed: vec![("a".into(), "Add a".into())],
        };
        let prompt = planner_prompt(&brief(&layout, &[], Some(&progress)));
        assert!(prompt.starts_with("# Extend the roadmap"), "{prompt}");
        assert!(
            prompt.contains("4 of 5 tasks are done, 1 pending"),
            "{prompt}"
        );
        assert!(
            prompt.contains("- correctness: 0.90 over 4 scores"),
            "{prompt}"
        );
        assert!(prompt.contains("- Add a (a)"), "{prompt}");
    }

    #[test]
    fn a_huge_graph_is_cut_to_fit_one_argument() {
        let layout = Layout::default();
        let graph: Vec<Task> = (0..5000)
            .map(|i| {
                let mut t = task(&format!("t{i}"), TaskStatus::Pending);
                t.title = "x".repeat(2000);
                t
            })
            .collect();
        let prompt = planner_prompt(&brief(&layout, &graph, None));
        assert!(prompt.len() <= PROMPT_LIMIT, "{}", prompt.len());
        assert!(prompt.contains("(4800 older tasks not shown)"));
        assert!(
            prompt.contains("At most 7 tasks"),
            "the answer's rules are kept"
        );
    }
}

use std::path::Path;

use serde_json::json;

use crate::cli::CommandEnv;
use crate::config::Config;
use crate::error::CliError;
use crate::git::{DiffView, Git};
use crate::model::{short_commit, TaskId, TaskStatus};

/// Show a task's change: its branch against its base, or what it landed
///
/// For a task that has not landed, the task branch (`vane/<task>`) against the point where it
/// left the base branch, as `git diff base...vane/<task>` shows it: only what the task did, not
/// what landed on base since. For a task that landed, the change its landing brought to base
/// (the landing commit against its first parent). Paths after the task (or after `--`) limit the
/// diff to them, as git's pathspecs do. In color on a terminal.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  vane diff version                 what the task changed
  vane diff version --stat          the files it changed, with counts
  vane diff version -- src/ docs/   only under src/ and docs/")]
pub struct Args {
    /// The task's id
    task: TaskId,
    /// Show a diffstat instead of the patch (`git diff --stat`)
    #[arg(long)]
    stat: bool,
    /// Only these paths (git pathspecs, from where vane runs)
    #[arg(value_name = "PATH")]
    paths: Vec<String>,
}

pub fn run(env: &CommandEnv<'_>, args: Args) -> Result<(), CliError> {
    let workspace = env.workspace_to_read()?;
    let task = workspace.store.task(&args.task)?;
    let git = Git::open(&workspace.location.workdir)?;
    let landed = task
        .landed_sha
        .as_deref()
        .filter(|_| task.status == TaskStatus::Done);
    let (from, to, base) = match landed {
        Some(landed) => {
            let parent = git.rev_parse(&format!("{landed}^1"))?.ok_or_else(|| {
                CliError::internal(format!(
                    "task `{}` landed as {}, which is not in the repository (or has no parent)",
                    task.id,
                    short_commit(landed)
                ))
                .with_hint("`vane doctor` checks that every landing is on base")
            })?;
            (parent, landed.to_string(), None)
        }
        None => {
            let branch = task.id.branch();
            let head = git.branch_tip(&branch)?.ok_or_else(|| {
                if task.branch.is_none() {
                    CliError::refused(format!(
                        "task `{}` has no branch yet: it has not started (it is {})",
                        task.id, task.status
                    ))
                    .with_hint("`vane work` starts the tasks that are ready")
                } else {
                    CliError::refused(format!(
                        "task `{}` has no branch `{branch}` any more (it is {})",
                        task.id, task.status
                    ))
                    .with_hint("`vane log` lists its attempts, whose commits are kept under refs/vane/attempts/")
                }
            })?;
            let config = Config::load(&workspace.location.workdir)?;
            let base = crate::orchestrator::base_branch(&workspace, &config)?;
            let tip = git.branch_tip(&base)?.ok_or_else(|| {
                CliError::refused(format!("the base branch `{base}` does not exist"))
                    .with_hint("set `base_branch` in vane.toml to the branch work lands on")
            })?;
            let from = git.merge_base(&tip, &head)?.ok_or_else(|| {
                CliError::refused(format!(
                    "the branch `{branch}` shares no history with the base branch `{base}`"
                ))
            })?;
            (from, head, Some(base))
        }
    };
    let pathspecs = pathspecs(&env.cwd, &workspace.location.workdir, &args.paths);
    let color = env.ui.color_stdout() && !env.ui.json();
    let stat = args.stat.then(|| {
        if env.ui.stdout_is_terminal() {
            usize::from(console::Term::stdout().size().1)
        } else {
            0
        }
    });
    let diff = git.diff_to_read(
        &from,
        &to,
        &DiffView {
            stat,
            color,
            pathspecs: &pathspecs,
        },
    )?;
    let diff = String::from_utf8_lossy(&diff);
    if env.ui.json() {
        env.ui.json_value(&json!({
            "task": task.id,
            "landed": landed.is_some(),
            "base": base,
            "from": from,
            "to": to,
            "diff": diff,
        }))?;
        return Ok(());
    }
    if diff.is_empty() {
        env.ui.status(&match landed {
            Some(_) => format!("The landing of `{}` changed nothing there.", task.id),
            None => format!(
                "The branch of `{}` changes nothing there over where it left `{}`.",
                task.id,
                base.as_deref().unwrap_or("base")
            ),
        });
        return Ok(());
    }
    env.ui.data(&diff)?;
    Ok(())
}

/// The paths as given, made relative to the top of the working tree when vane runs below it, as
/// git takes paths from where it runs; magic pathspecs (`:(glob)...`) and absolute paths as they are.
fn pathspecs(cwd: &Path, workdir: &Path, paths: &[String]) -> Vec<String> {
    let cwd = cwd.canonicalize().unwrap_or_else(|_| cwd.to_path_buf());
    let prefix = cwd
        .strip_prefix(workdir)
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
        .filter(|p| !p.is_empty());
    paths
        .iter()
        .map(|path| match &prefix {
            Some(prefix) if !path.starts_with(':') && !Path::new(path).is_absolute() => {
                format!("{prefix}/{path}")
            }
            _ => path.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_taken_from_where_vane_runs() {
        let top = std::env::temp_dir().canonicalize().unwrap();
        let paths = vec![
            "a.txt".to_string(),
            ":(glob)**/*.rs".to_string(),
            "/abs/b".to_string(),
        ];
        assert_eq!(pathspecs(&top, &top, &paths), paths);
        let below = top.join("no-such-dir-of-vane");
        assert_eq!(
            pathspecs(&below, &top, &paths),
            ["no-such-dir-of-vane/a.txt", ":(glob)**/*.rs", "/abs/b"]
        );
    }
}

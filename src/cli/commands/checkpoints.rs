use crate::cli::{render, CommandEnv};
use crate::error::CliError;
use crate::ui::printable;

/// List checkpoints: the base branch after every landing, at every batch start, before every rollback
///
/// Oldest first; `-n` shows only the newest N. `vane rollback <id>` returns the base branch and
/// the task states to one; `vane gc --keep-checkpoints N` prunes old ones nobody needs.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  vane checkpoints\n  vane checkpoints -n 5          the newest five\n  vane checkpoints --json"
)]
pub struct Args {
    /// Show only the newest N checkpoints
    #[arg(short = 'n', long = "limit", value_name = "N")]
    limit: Option<usize>,
}

pub fn run(env: &CommandEnv<'_>, args: Args) -> Result<(), CliError> {
    let workspace = env.workspace_to_read()?;
    let mut checkpoints = workspace.store.checkpoints()?;
    let none = checkpoints.is_empty();
    if let Some(limit) = args.limit {
        checkpoints.drain(..checkpoints.len().saturating_sub(limit));
    }
    if env.ui.json() {
        env.ui.json_value(&checkpoints)?;
        return Ok(());
    }
    if none {
        env.ui.status(
            "No checkpoints yet: `vane work` records one at every batch start and landing.",
        );
        return Ok(());
    }
    let mut rows = vec![vec![
        "ID".to_string(),
        "TIME".to_string(),
        "KIND".to_string(),
        "COMMIT".to_string(),
        "TASK".to_string(),
    ]];
    for c in &checkpoints {
        rows.push(vec![
            c.id.to_string(),
            render::time(c.at),
            c.kind.to_string(),
            c.sha.short().to_string(),
            c.task
                .as_ref()
                .map(|t| t.to_string())
                .or_else(|| c.notes.as_deref().map(|n| printable(n).into_owned()))
                .unwrap_or_default(),
        ]);
    }
    env.ui.data(&render::table(&rows))?;
    Ok(())
}

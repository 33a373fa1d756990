use crate::cli::{render, CommandEnv};
use crate::error::CliError;
use crate::ui::printable;

/// List checkpoints: the base branch after every landing, at every batch start, before every rollback
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  vane checkpoints\n  vane checkpoints --json")]
pub struct Args {}

pub fn run(env: &CommandEnv<'_>, _args: Args) -> Result<(), CliError> {
    let workspace = env.workspace_to_read()?;
    let checkpoints = workspace.store.checkpoints()?;
    if env.ui.json() {
        env.ui.json_value(&checkpoints)?;
        return Ok(());
    }
    if checkpoints.is_empty() {
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

use std::path::PathBuf;

use crate::cli::CommandEnv;
use crate::config::Config;
use crate::error::CliError;
use crate::orchestrator::profiles;
use crate::roadmap::Roadmap;
use crate::store::TaskChange;

/// Add or update tasks from a roadmap file
///
/// The whole file is checked before anything is written: every problem is reported with the entry
/// it is in, and then nothing is imported. Importing again adds new tasks, updates pending tasks
/// whose text changed, and never touches a task that has started or landed. The format is described
/// in docs/roadmap.md; `vane export` writes it.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  vane import roadmap.yaml
  vane import roadmap.yaml --dry-run      show what would change, change nothing
  vane export > roadmap.yaml && vane import roadmap.yaml")]
pub struct Args {
    /// The roadmap (YAML, or JSON as `vane export --format json` writes it); `-` reads stdin
    file: PathBuf,

    /// Check the roadmap and report what would change, without changing anything
    #[arg(long)]
    dry_run: bool,
}

pub fn run(env: &CommandEnv<'_>, args: Args) -> Result<(), CliError> {
    let (name, text) = if args.file.as_os_str() == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)?;
        ("<stdin>".to_string(), text)
    } else {
        let path = env.cwd.join(&args.file);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| CliError::refused(format!("cannot read {}: {e}", args.file.display())))?;
        (args.file.display().to_string(), text)
    };
    let mut workspace = env.workspace()?;
    // An `agent` must name a profile that exists, so the configuration is read first.
    let config = Config::load(&workspace.location.workdir)?;
    let store = &mut workspace.store;
    let known = |id: &crate::model::TaskId| store.task(id).is_ok();
    let roadmap = Roadmap::parse(&name, &text, &known, &profiles::known(&config))?;
    let report = store
        .import_roadmap(&roadmap, &name, &super::task::person(), args.dry_run)
        .map_err(|e| {
            let e = CliError::from(e);
            CliError {
                message: format!("{name}: {}; nothing was imported", e.message),
                ..e
            }
        })?;
    if env.ui.json() {
        env.ui.json_value(&serde_json::json!({
            "file": name,
            "dry_run": args.dry_run,
            "changes": report.changes,
        }))?;
        return Ok(());
    }
    let count = |f: fn(&TaskChange) -> bool| report.count(f);
    let added = count(|c| matches!(c, TaskChange::Added { .. }));
    let updated = count(|c| matches!(c, TaskChange::Updated { .. }));
    let unchanged = count(|c| matches!(c, TaskChange::Unchanged { .. }));
    let kept = count(|c| matches!(c, TaskChange::Kept { .. }));
    let verb = if args.dry_run {
        "Would import"
    } else {
        "Imported"
    };
    let mut summary =
        format!("{verb} {name}: {added} added, {updated} updated, {unchanged} unchanged");
    if kept > 0 {
        summary.push_str(&format!(", {kept} left alone (no longer pending)"));
    }
    env.ui.status(&summary);
    let listed = env.ui.verbose() > 0 || report.changes.len() <= 50;
    for change in &report.changes {
        let line = match change {
            TaskChange::Added { id } if listed => format!("  + {id}"),
            TaskChange::Updated { id, fields } => format!("  ~ {id} ({})", fields.join(", ")),
            TaskChange::Kept { id, status, fields } => format!(
                "  ! {id} is {status}: its {} changed in the roadmap, but only pending tasks are rewritten",
                fields.join(", ")
            ),
            _ => continue,
        };
        env.ui.status(&line);
    }
    Ok(())
}

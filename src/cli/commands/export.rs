use std::path::PathBuf;

use crate::cli::CommandEnv;
use crate::error::CliError;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Format {
    Yaml,
    Json,
}

/// Write the task graph as a roadmap
///
/// The output is the format `vane import` reads (docs/roadmap.md): importing it into an empty
/// repository rebuilds the same graph. Statuses are not part of a roadmap.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  vane export > roadmap.yaml
  vane export --format json -o roadmap.json")]
pub struct Args {
    /// The format to write
    #[arg(long, value_enum, default_value = "yaml")]
    format: Format,

    /// Write to this file instead of stdout
    #[arg(long, short)]
    output: Option<PathBuf>,
}

pub fn run(env: &CommandEnv<'_>, args: Args) -> Result<(), CliError> {
    let workspace = env.workspace_to_read()?;
    let roadmap = workspace.store.export_roadmap()?;
    // `--json` asks for JSON as everywhere else.
    let text = match (args.format, env.ui.json()) {
        (Format::Json, _) | (_, true) => {
            serde_json::to_string_pretty(&roadmap.to_json()).map_err(std::io::Error::other)?
        }
        (Format::Yaml, false) => roadmap.to_yaml(),
    };
    match args.output {
        Some(path) => {
            let path = env.cwd.join(path);
            std::fs::write(&path, format!("{}\n", text.trim_end()))
                .map_err(|e| CliError::internal(format!("cannot write {}: {e}", path.display())))?;
            env.ui.status(&format!(
                "Exported {} tasks to {}",
                roadmap.tasks.len(),
                path.display()
            ));
        }
        None => env.ui.data_verbatim(&text)?,
    }
    Ok(())
}

//! `vane context`: structured context for agents and people (decisions, constraints, hypotheses,
//! learnings), given to the agents of related tasks in their prompts. Agents and critics leave
//! entries too (see `learnings`); those name where they came from.

use crate::cli::{render, CommandEnv};
use crate::error::CliError;
use crate::model::{ContextKind, TaskId};
use crate::store::NewContextEntry;

/// Record and read structured context
#[derive(Debug, clap::Subcommand)]
pub enum ContextCommand {
    Add(AddArgs),
    List(ListArgs),
}

/// Record a decision, constraint, hypothesis or learning
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  vane context add --type decision --topic auth \"Sessions live in signed cookies\" --task T3,T4
  vane context add --type hypothesis --topic perf \"The N+1 query is the slow part\" --confidence 0.6")]
pub struct AddArgs {
    /// What it says
    content: String,
    /// What kind of entry it is
    #[arg(long = "type", value_name = "TYPE", value_parser = parse_kind)]
    kind: ContextKind,
    /// What it is about, one word or a few
    #[arg(long)]
    topic: String,
    /// How sure it is, from 0 to 1
    #[arg(long, value_parser = parse_confidence)]
    confidence: Option<f64>,
    /// Tasks it concerns, comma-separated
    #[arg(long = "task", value_delimiter = ',', value_name = "IDS")]
    tasks: Vec<TaskId>,
}

/// List context entries, oldest first
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  vane context list\n  vane context list --type decision --topic auth\n  vane context list --task T3 --json"
)]
pub struct ListArgs {
    /// Only entries of this kind
    #[arg(long = "type", value_name = "TYPE", value_parser = parse_kind)]
    kind: Option<ContextKind>,
    /// Only entries on this topic
    #[arg(long)]
    topic: Option<String>,
    /// Only entries that concern this task
    #[arg(long)]
    task: Option<TaskId>,
}

fn parse_kind(s: &str) -> Result<ContextKind, String> {
    s.parse()
        .map_err(|e: crate::model::ParseError| e.to_string())
}

fn parse_confidence(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("`{s}` is not a number from 0 to 1")),
    }
}

pub fn run(env: &CommandEnv<'_>, command: ContextCommand) -> Result<(), CliError> {
    let mut workspace = env.workspace()?;
    match command {
        ContextCommand::Add(args) => {
            let entry = NewContextEntry {
                kind: args.kind,
                topic: args.topic.trim().to_string(),
                content: args.content.trim().to_string(),
                confidence: args.confidence,
                related_tasks: args.tasks,
                origin: None,
            };
            entry.check().map_err(|problem| {
                CliError::refused(format!("cannot record the {}: {problem}", entry.kind))
            })?;
            let entry = workspace
                .store
                .add_context(&entry, &super::task::person())?;
            if env.ui.json() {
                env.ui.json_value(&entry)?;
            } else {
                env.ui.status(&format!(
                    "Recorded {} #{} on {}",
                    entry.kind, entry.id, entry.topic
                ));
            }
        }
        ContextCommand::List(args) => {
            let entries = workspace.store.context_entries(
                args.kind,
                args.topic.as_deref(),
                args.task.as_ref(),
            )?;
            if env.ui.json() {
                env.ui.json_value(&entries)?;
                return Ok(());
            }
            if entries.is_empty() {
                env.ui.status("No context entries match.");
                return Ok(());
            }
            let mut out = String::new();
            for e in &entries {
                let confidence = e
                    .confidence
                    .map(|c| format!("  confidence {c:.2}"))
                    .unwrap_or_default();
                let tasks = if e.related_tasks.is_empty() {
                    String::new()
                } else {
                    let ids: Vec<&str> = e.related_tasks.iter().map(TaskId::as_str).collect();
                    format!("  tasks {}", ids.join(","))
                };
                let origin = e
                    .origin
                    .as_ref()
                    .map(|o| match &o.profile {
                        Some(profile) => format!("  from {o} ({profile})"),
                        None => format!("  from {o}"),
                    })
                    .unwrap_or_default();
                out.push_str(&format!(
                    "#{}  {}  {}  {}{confidence}{tasks}{origin}\n    {}\n",
                    e.id,
                    render::time(e.at),
                    e.kind,
                    e.topic,
                    e.content.replace('\n', "\n    ")
                ));
            }
            env.ui.data(&out)?;
        }
    }
    Ok(())
}

//! vane: run a batch of coding work through agents in parallel git worktrees, landing only what
//! passes its gates.
//!
//! Layers, top to bottom (a module only uses those below it):
//! - `cli`: the command line, one file per subcommand; `ui` and `error` present results and failures.
//! - `dash`: the live terminal dashboard (`vane dash`, ratatui), beside `cli`, which starts it.
//! - `orchestrator`: the work loop, recovery and rollback.
//! - `workspace`, `demo`: the operations on a repository vane is set up in.
//! - `roadmap`: reading and writing roadmap files.
//! - `observe`: metrics and the success report, computed from the store.
//! - `store` (SQLite), `git`, `agent` (processes), `config`: the parts that touch the outside world.
//! - `logs`: the file of JSON lines each batch's log goes to.
//! - `graph`, `lifecycle`, `prompt`, `model`, `prices`, `suggest`: pure logic and the words of vane,
//!   no I/O.

pub mod agent;
pub mod cli;
pub mod config;
pub mod dash;
pub mod demo;
pub mod error;
pub mod git;
pub mod graph;
pub mod learnings;
pub mod lifecycle;
pub mod logs;
pub mod mcp;
pub mod model;
pub mod observe;
pub mod orchestrator;
pub mod paths;
pub mod plan;
pub mod prices;
pub mod prompt;
pub mod quality;
pub mod roadmap;
pub mod routing;
pub mod store;
pub mod suggest;
pub mod ui;
pub mod workspace;

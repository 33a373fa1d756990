//! One file per subcommand: its `Args` (whose doc comment is its help) and one `run` function.

pub mod approve;
pub mod checkpoints;
pub mod completions;
pub mod config;
pub mod context;
pub mod demo;
pub mod doctor;
pub mod events;
pub mod export;
pub mod gate;
pub mod gc;
pub mod hooks;
pub mod import;
pub mod init;
pub mod land;
pub mod mcp;
pub mod plan;
pub mod quality;
pub mod reject;
pub mod rollback;
pub mod status;
pub mod task;
pub mod work;

//! One file per subcommand: its `Args` (whose doc comment is its help) and one `run` function.

pub mod completions;
pub mod context;
pub mod demo;
pub mod events;
pub mod export;
pub mod import;
pub mod init;
pub mod status;
pub mod task;

//! Quality scores, pure: reading a gate's score line or a critic's verdict, the weighted decision,
//! and the trends `vane quality` shows. Running gates is `orchestrator::gates`.

pub mod report;
pub mod score;

//! End-to-end tests: the real `vane` binary against real git repositories and real SQLite files.

mod bootstrap;
mod chaos;
mod claude;
mod codex;
mod common;
mod config;
mod confine;
mod conflicts;
mod daily;
mod demo;
mod faults;
mod generated;
mod hooks;
mod init;
mod integrity;
mod output;
mod preflight;
mod quality;
mod queue;
mod real_cli;
mod roadmap;
mod state;
mod tasks;
mod work;
mod zoo;

//! End-to-end tests: the real `vane` binary against real git repositories and real SQLite files.

mod bootstrap;
mod claude;
mod common;
mod config;
mod demo;
mod generated;
mod init;
mod quality;
mod roadmap;
mod state;
mod tasks;
mod work;

//! Observability from the database: the Prometheus metrics `vane metrics` exposes (and the small
//! HTTP responder that serves them), the text of `vane report`, and the `--since` both read.
//!
//! Everything is computed from what the store recorded, on demand: vane keeps no counters in
//! memory, so a metric means the same whichever process reads it, during a batch or after.

pub mod http;
pub mod metrics;
pub mod report;
pub mod since;

use crate::cli::CommandEnv;
use crate::error::{CliError, ErrorKind};
use crate::observe::{http, metrics};

/// Print metrics in the Prometheus text format, computed from the database, or serve them
///
/// Counters: attempts by outcome and charge, landings, rejections by cause, conflicts,
/// recoveries, rollbacks, batches by outcome, interventions, cost, tokens, planned tasks and gate
/// verdicts. Gauges: tasks by status, attempts running and awaiting their verdict, the latest
/// batch (open, cost, budget). Histograms: agent durations, gate durations and the wait from an
/// agent's end to its verdict. docs/metrics.md describes each one.
///
/// With --listen, serves them at http://ADDRESS/metrics until stopped, computed afresh for each
/// scrape, and prints the URL on stderr. Only a loopback address is accepted: nothing
/// authenticates a client, and the metrics name tasks and gates.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  vane metrics                            print them once
  vane metrics --listen 127.0.0.1:9464    serve them to a Prometheus on this machine
  vane metrics --listen 127.0.0.1:0       on a free port; the URL says which")]
pub struct Args {
    /// Serve the metrics over HTTP on this loopback address (HOST:PORT) until stopped
    #[arg(long, value_name = "ADDRESS")]
    listen: Option<String>,
}

pub fn run(env: &CommandEnv<'_>, args: Args) -> Result<(), CliError> {
    let workspace = env.workspace_to_read()?;
    let Some(address) = args.listen else {
        let snapshot = workspace.store.metrics_snapshot()?;
        if env.ui.json() {
            env.ui.json_value(&snapshot)?;
        } else {
            env.ui.data_verbatim(&metrics::encode(&snapshot))?;
        }
        return Ok(());
    };
    let listener = http::bind_loopback(&address).map_err(|e| {
        let error = CliError::new(ErrorKind::Usage, format!("--listen {e}"));
        match e {
            http::ListenError::NotLoopback { .. } => error.with_hint(
                "listen on 127.0.0.1 (or [::1]) and let a reverse proxy with authentication expose it",
            ),
            _ => error,
        }
    })?;
    let url = format!("http://{}{}", listener.local_addr()?, http::METRICS_PATH);
    if env.ui.json() {
        env.ui.json_value(&serde_json::json!({ "url": url }))?;
    }
    env.ui
        .status(&format!("Serving metrics at {url} (Ctrl-C stops)"));
    http::serve(&listener, || {
        let snapshot = workspace
            .store
            .metrics_snapshot()
            .map_err(|e| format!("vane cannot read its database: {e}"))?;
        Ok(http::Response {
            status: 200,
            content_type: metrics::CONTENT_TYPE.to_string(),
            body: metrics::encode(&snapshot),
        })
    });
    Ok(())
}

//! The stdio wire in front of rmcp: every line a client sends is looked at first, and one that is
//! not JSON, or not a JSON-RPC message, is answered with JSON-RPC's own error (-32700 parse error,
//! -32600 invalid request) instead of being dropped; the rest goes on to rmcp. What rmcp answers
//! and those errors share stdout one whole line at a time, and nothing else is written there.

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, DuplexStream};
use tokio::sync::mpsc;

/// The longest line read from a client; a longer one is answered as an invalid request.
const MAX_LINE: usize = 16 * 1024 * 1024;

/// What a client's line is.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    /// A JSON-RPC message: for rmcp.
    Message,
    /// Blank: nothing to answer.
    Blank,
    /// Wrong: this error goes back to the client.
    Refused(Value),
}

/// Looks at one line from the client.
pub fn classify(line: &str) -> Line {
    if line.trim().is_empty() {
        return Line::Blank;
    }
    let value: Value = match serde_json::from_str(line) {
        Ok(value) => value,
        Err(e) => return Line::Refused(error(Value::Null, -32700, &format!("parse error: {e}"))),
    };
    let Some(object) = value.as_object() else {
        return Line::Refused(error(
            Value::Null,
            -32600,
            "invalid request: a JSON-RPC message is one JSON object (batches are not supported)",
        ));
    };
    let id = object.get("id").cloned().unwrap_or(Value::Null);
    if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Line::Refused(error(
            id,
            -32600,
            "invalid request: `jsonrpc` must be \"2.0\"",
        ));
    }
    let is_request = object.get("method").is_some_and(Value::is_string);
    let is_response = object.contains_key("result") || object.contains_key("error");
    if !is_request && !is_response {
        return Line::Refused(error(
            id,
            -32600,
            "invalid request: a message needs a `method` (or is a response with `result` or `error`)",
        ));
    }
    Line::Message
}

fn error(id: Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

/// Runs the wire until stdin closes: `server` is the end rmcp serves on.
pub async fn run(server: DuplexStream) -> std::io::Result<()> {
    let (from_rmcp, mut to_rmcp) = tokio::io::split(server);
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<String>();
    // rmcp's answers, line by line, to stdout.
    let answers = {
        let out_tx = out_tx.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(from_rmcp).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if out_tx.send(line).is_err() {
                    break;
                }
            }
        })
    };
    // stdout has one writer.
    let writer = tokio::spawn(async move {
        let mut stdout = tokio::io::stdout();
        while let Some(line) = out_rx.recv().await {
            stdout.write_all(line.as_bytes()).await?;
            stdout.write_all(b"\n").await?;
            stdout.flush().await?;
        }
        Ok::<(), std::io::Error>(())
    });
    let mut stdin = BufReader::new(tokio::io::stdin());
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = (&mut stdin)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut line)
            .await?;
        if read == 0 {
            break;
        }
        if line.len() > MAX_LINE && !line.ends_with(b"\n") {
            // The rest of the line is skipped.
            let mut rest = Vec::new();
            stdin.read_until(b'\n', &mut rest).await?;
            let _ = out_tx.send(
                error(Value::Null, -32600, "invalid request: the line is too long").to_string(),
            );
            continue;
        }
        let text = String::from_utf8_lossy(&line);
        match classify(&text) {
            Line::Message => {
                to_rmcp.write_all(text.trim_end().as_bytes()).await?;
                to_rmcp.write_all(b"\n").await?;
                to_rmcp.flush().await?;
            }
            Line::Blank => {}
            Line::Refused(answer) => {
                let _ = out_tx.send(answer.to_string());
            }
        }
    }
    // The client is gone: rmcp sees its input end, finishes, and the answers drain.
    to_rmcp.shutdown().await?;
    drop(out_tx);
    let _ = answers.await;
    writer.await.map_err(std::io::Error::other)?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(line: &str) -> Option<i64> {
        match classify(line) {
            Line::Refused(answer) => answer["error"]["code"].as_i64(),
            _ => None,
        }
    }

    #[test]
    fn only_json_rpc_messages_reach_rmcp() {
        assert_eq!(
            classify(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#),
            Line::Message
        );
        assert_eq!(
            classify(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#),
            Line::Message
        );
        assert_eq!(
            classify(r#"{"jsonrpc":"2.0","id":1,"result":{}}"#),
            Line::Message
        );
        assert_eq!(classify("   "), Line::Blank);
        assert_eq!(code("this is not json"), Some(-32700));
        assert_eq!(code(r#"{"jsonrpc":"2.0","id":1,"method":"#), Some(-32700));
        assert_eq!(code("[1, 2]"), Some(-32600));
        assert_eq!(code(r#"{"id":3,"method":"tools/list"}"#), Some(-32600));
        assert_eq!(code(r#"{"jsonrpc":"2.0","id":4}"#), Some(-32600));
        match classify(r#"{"jsonrpc":"1.0","id":7,"method":"x"}"#) {
            Line::Refused(answer) => assert_eq!(answer["id"], 7, "the id is kept: {answer}"),
            other => panic!("{other:?}"),
        }
    }
}

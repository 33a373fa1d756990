//! `vane mcp` over stdio, spoken to as an MCP client does: newline-delimited JSON-RPC, the
//! initialize handshake, `tools/list`, `tools/call`; tool errors for what the model can fix,
//! protocol errors for unknown tools and arguments that do not fit.

use std::io::{BufRead, BufReader, Write};
use std::process::{ChildStdin, ChildStdout, Stdio};

use serde_json::{json, Value};

use crate::common::TestEnv;

/// A raw JSON-RPC client of `vane mcp`, shared by the MCP tests.
pub(crate) struct Client {
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    child: std::process::Child,
    next: u64,
}

impl Client {
    pub(crate) fn start(env: &TestEnv) -> Client {
        let mut child = env
            .vane_command(&["mcp"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut client = Client {
            stdin: child.stdin.take().unwrap(),
            stdout: BufReader::new(child.stdout.take().unwrap()),
            child,
            next: 1,
        };
        let init = client.request(
            "initialize",
            json!({"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "vane-test", "version": "1"}}),
        );
        assert_eq!(init["result"]["serverInfo"]["name"], "vane", "{init}");
        client.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        client
    }

    pub(crate) fn send(&mut self, message: &Value) {
        writeln!(self.stdin, "{message}").unwrap();
        self.stdin.flush().unwrap();
    }

    pub(crate) fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next;
        self.next += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        let reply = self.read();
        assert_eq!(reply["id"], id, "{reply}");
        reply
    }

    /// The next line on stdout, which must be one JSON-RPC message.
    pub(crate) fn read(&mut self) -> Value {
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("stdout holds only JSON-RPC ({e}): {line:?}"))
    }

    pub(crate) fn call(&mut self, tool: &str, arguments: Value) -> Value {
        self.request("tools/call", json!({"name": tool, "arguments": arguments}))
    }

    /// The structured answer of a call that must succeed.
    #[track_caller]
    pub(crate) fn ok(&mut self, tool: &str, arguments: Value) -> Value {
        let reply = self.call(tool, arguments);
        assert_ne!(reply["result"]["isError"], true, "{tool}: {reply}");
        assert!(reply["error"].is_null(), "{tool}: {reply}");
        reply["result"]["structuredContent"].clone()
    }

    /// The message of a call that must be a tool error.
    #[track_caller]
    pub(crate) fn refused(&mut self, tool: &str, arguments: Value) -> String {
        let reply = self.call(tool, arguments);
        assert_eq!(reply["result"]["isError"], true, "{tool}: {reply}");
        reply["result"]["content"][0]["text"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The code of a call that must be a protocol error.
    #[track_caller]
    pub(crate) fn protocol_error(&mut self, tool: &str, arguments: Value) -> i64 {
        let reply = self.call(tool, arguments);
        reply["error"]["code"]
            .as_i64()
            .unwrap_or_else(|| panic!("{tool}: not a protocol error: {reply}"))
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn an_mcp_client_lists_vanes_tools_and_changes_the_graph_through_them() {
    let env = TestEnv::initialised();
    let mut client = Client::start(&env);
    let listed = client.request("tools/list", json!({}));
    let tools = listed["result"]["tools"].as_array().unwrap();
    let names: Vec<&str> = tools.iter().filter_map(|t| t["name"].as_str()).collect();
    for wanted in ["status", "task_list", "task_show", "task_add"] {
        assert!(names.contains(&wanted), "{names:?}");
    }
    for tool in tools {
        assert_eq!(tool["inputSchema"]["type"], "object", "{tool}");
    }

    let added = client.call("task_add", json!({"title": "Write the docs", "id": "docs"}));
    assert_eq!(
        added["result"]["structuredContent"]["id"], "docs",
        "{added}"
    );
    // The CLI sees what MCP wrote, through the same store.
    let shown = env
        .vane(&["task", "show", "docs", "--json"])
        .success()
        .json();
    assert_eq!(shown["title"], "Write the docs");

    let listed = client.call("task_list", json!({"ready": true}));
    let ids: Vec<&str> = listed["result"]["structuredContent"]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["id"].as_str())
        .collect();
    assert_eq!(ids, ["docs"]);

    // What the model can fix is a tool error it reads.
    let missing = client.call("task_show", json!({"id": "T9"}));
    assert_eq!(missing["result"]["isError"], true, "{missing}");
    assert!(missing["result"]["content"][0]["text"]
        .as_str()
        .unwrap()
        .contains("task `T9` does not exist; `task_list` shows the ids"));
    let taken = client.call("task_add", json!({"title": "Again", "id": "docs"}));
    assert_eq!(taken["result"]["isError"], true, "{taken}");

    // An unknown tool and arguments that do not fit are protocol errors; the server lives on.
    let unknown = client.call("task_destroy", json!({}));
    assert_eq!(unknown["error"]["code"], -32602, "{unknown}");
    let wrong = client.call("task_list", json!({"ready": "yes"}));
    assert_eq!(wrong["error"]["code"], -32602, "{wrong}");
    let extra = client.call("status", json!({"verbose": true}));
    assert_eq!(extra["error"]["code"], -32602, "{extra}");
    let status = client.call("status", json!({}));
    assert_eq!(
        status["result"]["structuredContent"]["total"], 1,
        "{status}"
    );
}

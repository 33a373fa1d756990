//! `vane metrics` and `vane report` against real batches: scripted agents that report a cost as
//! Claude Code does, a gate that fails a bad output, a person's retry and approval, and a crash.
//! The metrics are read with a strict parser of the Prometheus text format, over stdout and over
//! a real TCP connection.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};

use crate::common::TestEnv;

/// An agent that writes `<task>.out` (`ci/<task>.out` for task `p`, a protected path): `bad` on
/// the attempts named below, else `good`; and prints a Claude Code result costing $0.25.
const AGENT: &str = r#"task="$1"
out=good
case "$task:$VANE_ATTEMPT" in
  b:1|x:1|x:2) out=bad ;;
esac
case "$task" in
  p) mkdir -p ci && echo "$out" > ci/p.out ;;
  *) echo "$out" > "$task.out" ;;
esac
printf '%s\n' '{"type":"result","subtype":"success","is_error":false,"result":"wrote it","session_id":"s-1","total_cost_usd":0.25,"usage":{"input_tokens":100,"cache_creation_input_tokens":0,"cache_read_input_tokens":40,"output_tokens":10}}'
"#;

/// A repository whose tasks run the scripted agent, gated by a check that fails a bad output.
fn scripted(extra: &str) -> TestEnv {
    let env = TestEnv::configured(&format!(
        "max_attempts = 2\nprotected = [\"ci/**\"]\n{extra}\
         [agents.scripted]\ncommand = [\"sh\", \"agent.sh\", \"{{task_id}}\"]\nparser = \"claude\"\n\
         [[gate]]\nname = \"check\"\n\
         command = \"if cat *.out ci/*.out 2>/dev/null | grep -q bad; then echo 'an output is bad'; exit 1; fi\"\n"
    ));
    env.write("agent.sh", AGENT);
    env.git(&env.repo, &["add", "agent.sh"]);
    env.git(&env.repo, &["commit", "-q", "-m", "The scripted agent"]);
    env
}

fn add(env: &TestEnv, id: &str) {
    env.vane(&["task", "add", id, "--id", id, "--agent", "scripted"])
        .success();
}

fn count(env: &TestEnv, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(env.state_dir().join("vane.db")).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// One sample of an exposition.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A metrics page, read strictly: every line is a `# HELP`, a `# TYPE`, or a sample of the family
/// the last `# TYPE` declared (for a histogram its `_bucket`, `_sum` and `_count`); names and
/// labels are well formed, values are numbers, no series appears twice, and each histogram's
/// buckets are cumulative and end with `+Inf` at its count.
#[derive(Debug, Default)]
struct Exposition {
    types: BTreeMap<String, String>,
    samples: Vec<Sample>,
}

fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn parse_labels(text: &str, line: usize) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (key, after) = rest
            .split_once("=\"")
            .unwrap_or_else(|| panic!("line {line}: a label without =\": {text}"));
        assert!(is_name(key), "line {line}: label name `{key}`");
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, 'n')) => value.push('\n'),
                    other => panic!("line {line}: bad escape {other:?}"),
                },
                Some((i, '"')) => break i,
                Some((_, c)) => value.push(c),
                None => panic!("line {line}: unterminated label value"),
            }
        };
        assert!(
            labels.insert(key.to_string(), value).is_none(),
            "line {line}: label {key} twice"
        );
        rest = &after[end + 1..];
        if let Some(next) = rest.strip_prefix(',') {
            assert!(!next.is_empty(), "line {line}: trailing comma");
            rest = next;
        } else {
            assert!(rest.is_empty(), "line {line}: junk after a label: {rest}");
        }
    }
    labels
}

fn parse_value(text: &str, line: usize) -> f64 {
    match text {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        _ => text
            .parse()
            .unwrap_or_else(|_| panic!("line {line}: `{text}` is no value")),
    }
}

fn parse(text: &str) -> Exposition {
    assert!(text.ends_with('\n'), "the page ends with a newline");
    let mut exposition = Exposition::default();
    let mut helped: Option<String> = None;
    let mut family: Option<(String, String)> = None;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest
                .split_once(' ')
                .unwrap_or_else(|| panic!("line {n}: HELP without text"));
            assert!(is_name(name) && !help.is_empty(), "line {n}: {line}");
            helped = Some(name.to_string());
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest
                .split_once(' ')
                .unwrap_or_else(|| panic!("line {n}: TYPE without kind"));
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "line {n}: {kind}"
            );
            assert_eq!(
                helped.as_deref(),
                Some(name),
                "line {n}: TYPE without its HELP"
            );
            assert!(
                exposition
                    .types
                    .insert(name.to_string(), kind.to_string())
                    .is_none(),
                "line {n}: {name} declared twice"
            );
            family = Some((name.to_string(), kind.to_string()));
        } else {
            assert!(
                !line.starts_with('#') && !line.is_empty(),
                "line {n}: `{line}`"
            );
            let (series, value) = line
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("line {n}: no value: {line}"));
            let (name, labels) = match series.split_once('{') {
                Some((name, labels)) => {
                    let labels = labels
                        .strip_suffix('}')
                        .unwrap_or_else(|| panic!("line {n}: unclosed labels"));
                    (name, parse_labels(labels, n))
                }
                None => (series, BTreeMap::new()),
            };
            assert!(is_name(name), "line {n}: name `{name}`");
            let (family_name, kind) = family
                .as_ref()
                .unwrap_or_else(|| panic!("line {n}: a sample before any TYPE"));
            let belongs = match kind.as_str() {
                "histogram" => ["_bucket", "_sum", "_count"]
                    .iter()
                    .any(|s| name == format!("{family_name}{s}")),
                _ => name == family_name,
            };
            assert!(belongs, "line {n}: {name} is not of family {family_name}");
            assert_eq!(
                name.ends_with("_bucket"),
                labels.contains_key("le"),
                "line {n}: le belongs to buckets"
            );
            let sample = Sample {
                name: name.to_string(),
                labels,
                value: parse_value(value, n),
            };
            assert!(
                !exposition
                    .samples
                    .iter()
                    .any(|s| s.name == sample.name && s.labels == sample.labels),
                "line {n}: {line} twice"
            );
            exposition.samples.push(sample);
        }
    }
    exposition.check_histograms();
    exposition
}

impl Exposition {
    fn check_histograms(&self) {
        for (name, kind) in &self.types {
            if kind != "histogram" {
                continue;
            }
            let counts: Vec<&Sample> = self
                .samples
                .iter()
                .filter(|s| s.name == format!("{name}_count"))
                .collect();
            for count in counts {
                let buckets: Vec<&Sample> = self
                    .samples
                    .iter()
                    .filter(|s| {
                        s.name == format!("{name}_bucket") && {
                            let mut labels = s.labels.clone();
                            labels.remove("le");
                            labels == count.labels
                        }
                    })
                    .collect();
                assert!(
                    !buckets.is_empty(),
                    "{name} {:?} has no buckets",
                    count.labels
                );
                for pair in buckets.windows(2) {
                    assert!(pair[0].value <= pair[1].value, "{name}: not cumulative");
                    let bound = |s: &Sample| parse_value(&s.labels["le"], 0);
                    assert!(bound(pair[0]) < bound(pair[1]), "{name}: bounds not rising");
                }
                let last = buckets.last().unwrap();
                assert_eq!(last.labels["le"], "+Inf", "{name}: the last bucket");
                assert_eq!(last.value, count.value, "{name}: +Inf holds the count");
                assert!(
                    self.samples
                        .iter()
                        .any(|s| s.name == format!("{name}_sum") && s.labels == count.labels),
                    "{name}: no sum"
                );
            }
        }
    }

    /// The value of the series `name` with exactly these labels.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let wanted: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.samples
            .iter()
            .find(|s| s.name == name && s.labels == wanted)
            .unwrap_or_else(|| panic!("no {name} {labels:?} in {:#?}", self.samples))
            .value
    }

    /// The sum of every series `name` whose labels include these.
    fn total(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|s| {
                s.name == name
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|s| s.value)
            .sum()
    }
}

fn metrics(env: &TestEnv) -> Exposition {
    parse(&env.vane(&["metrics"]).success().stdout)
}

#[test]
fn the_strict_parser_refuses_what_prometheus_would() {
    let good = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\"} 2\n";
    assert_eq!(parse(good).value("a_total", &[("x", "1")]), 2.0);
    for bad in [
        "a_total 2\n",
        "# HELP a_total A.\n# TYPE a_total counter\nb_total 2\n",
        "# HELP a_total A.\n# TYPE a_total counter\na_total{x=1} 2\n",
        "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\",} 2\n",
        "# HELP a_total A.\n# TYPE a_total counter\na_total two\n",
        "# HELP a_total A.\n# TYPE a_total counter\na_total 1\na_total 2\n",
        "# HELP h A.\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
    ] {
        assert!(
            std::panic::catch_unwind(|| parse(bad)).is_err(),
            "accepted:\n{bad}"
        );
    }
}

#[test]
fn metrics_count_what_a_scripted_batch_did() {
    let env = scripted("");
    for id in ["a", "b", "c"] {
        add(&env, id);
    }
    let run = env.vane(&["work"]).success();
    assert!(run.stderr.contains("3 landed, 0 blocked"), "{}", run.stderr);

    let page = metrics(&env);
    let landed = [("outcome", "landed"), ("charged", "true")];
    assert_eq!(page.value("vane_attempts_total", &landed), 3.0);
    let failed_gate = [("outcome", "gate_failed"), ("charged", "true")];
    assert_eq!(page.value("vane_attempts_total", &failed_gate), 1.0);
    assert_eq!(page.total("vane_attempts_total", &[]), 4.0);
    assert_eq!(page.value("vane_landings_total", &[]), 3.0);
    assert_eq!(
        page.value("vane_rejections_total", &[("cause", "gate")]),
        1.0
    );
    assert_eq!(
        page.value("vane_rejections_total", &[("cause", "conflict")]),
        0.0
    );
    assert_eq!(page.value("vane_conflicts_total", &[]), 0.0);
    assert_eq!(page.value("vane_tasks", &[("status", "done")]), 3.0);
    assert_eq!(page.value("vane_tasks", &[("status", "pending")]), 0.0);
    assert_eq!(
        page.value("vane_batches_total", &[("outcome", "finished")]),
        1.0
    );
    assert_eq!(page.value("vane_batch_open", &[]), 0.0);
    // Three `vane task add`s.
    assert_eq!(page.value("vane_interventions_total", &[]), 3.0);

    // Each gate run is one observation; the cache and the database agree.
    let gate_runs = count(
        &env,
        "SELECT count(*) FROM quality_metrics WHERE cached_from IS NULL",
    );
    assert!(gate_runs >= 4, "{gate_runs}");
    assert_eq!(
        page.value("vane_gate_duration_seconds_count", &[("gate", "check")]),
        gate_runs as f64
    );
    assert_eq!(
        page.total(
            "vane_gate_verdicts_total",
            &[("gate", "check"), ("passed", "false"), ("cached", "false")]
        ),
        count(
            &env,
            "SELECT count(*) FROM quality_metrics WHERE passed = 0 AND cached_from IS NULL"
        ) as f64
    );
    assert_eq!(
        page.value(
            "vane_agent_duration_seconds_count",
            &[("profile", "scripted")]
        ),
        4.0
    );
    assert_eq!(
        page.value("vane_queue_wait_seconds_count", &[("verdict", "landed")]),
        3.0
    );
    assert_eq!(
        page.value("vane_queue_wait_seconds_count", &[("verdict", "sent_back")]),
        1.0
    );

    // The agent reported $0.25 and its tokens on each of the four attempts.
    assert_eq!(
        page.value("vane_cost_usd_total", &[("kind", "attempt")]),
        1.0
    );
    assert_eq!(page.value("vane_cost_usd_total", &[("kind", "plan")]), 0.0);
    assert_eq!(page.value("vane_batch_cost_usd", &[]), 1.0);
    assert_eq!(page.value("vane_tokens_total", &[("kind", "input")]), 560.0);
    assert_eq!(
        page.value("vane_tokens_total", &[("kind", "cached_input")]),
        160.0
    );
    assert_eq!(page.value("vane_tokens_total", &[("kind", "output")]), 40.0);
    assert_eq!(page.types["vane_agent_duration_seconds"], "histogram");
    assert_eq!(page.types["vane_tasks"], "gauge");
}

/// Reads one HTTP response from a fresh connection to `address`: its status line, headers and body.
fn http_get(address: &str, request: &str) -> (String, String, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("a head and a body");
    let (status, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    (status.to_string(), headers.to_string(), body.to_string())
}

/// Stops the server this test started when the test ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn listen_serves_fresh_metrics_over_http_on_a_port_it_chose() {
    let env = scripted("");
    add(&env, "a");
    env.vane(&["work"]).success();
    let mut server = Server(
        env.vane_command(&["metrics", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut stderr = BufReader::new(server.0.stderr.take().unwrap());
    let mut said = String::new();
    let url = loop {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "no URL in {said:?}"
        );
        said.push_str(&line);
        if let Some(url) = line.split_whitespace().find(|w| w.starts_with("http://")) {
            break url.to_string();
        }
    };
    let address = url
        .strip_prefix("http://")
        .and_then(|rest| rest.strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("{url}"));
    assert!(address.starts_with("127.0.0.1:"), "{address}");
    assert_ne!(address, "127.0.0.1:0", "the port chosen is named");

    let get = "GET /metrics HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n";
    let (status, headers, body) = http_get(address, get);
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(
        headers.contains("Content-Type: text/plain; version=0.0.4"),
        "{headers}"
    );
    assert!(
        headers.contains(&format!("Content-Length: {}", body.len())),
        "{headers}"
    );
    let page = parse(&body);
    assert_eq!(page.value("vane_landings_total", &[]), 1.0);
    assert_eq!(page.value("vane_tasks", &[("status", "pending")]), 0.0);

    // Each scrape reads the database afresh.
    add(&env, "later");
    let (_, _, body) = http_get(address, get);
    assert_eq!(
        parse(&body).value("vane_tasks", &[("status", "pending")]),
        1.0
    );

    let (status, _, body) = http_get(address, "GET /other HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(status, "HTTP/1.1 404 Not Found");
    assert!(body.contains("GET /metrics"), "{body}");
    let (status, headers, _) = http_get(address, "POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(status, "HTTP/1.1 405 Method Not Allowed");
    assert!(headers.contains("Allow: GET"), "{headers}");
    // A query string is no other page.
    let (status, _, _) = http_get(address, "GET /metrics?x=1 HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(server.0.try_wait().unwrap().is_none(), "still serving");
}

#[test]
fn listen_refuses_an_address_other_machines_reach() {
    let env = TestEnv::initialised();
    for address in ["0.0.0.0:0", "[::]:0"] {
        let run = env.vane(&["metrics", "--listen", address]).failure(2);
        assert!(
            run.stderr.contains("not a loopback address"),
            "{}",
            run.stderr
        );
        assert!(run.stderr.contains("hint:"), "{}", run.stderr);
    }
    let run = env.vane(&["metrics", "--listen", "9464"]).failure(2);
    assert!(run.stderr.contains("HOST:PORT"), "{}", run.stderr);
}

#[test]
fn the_report_counts_landings_waste_and_a_persons_interventions_from_the_events() {
    let env = scripted("");
    for id in ["x", "p", "y"] {
        add(&env, id);
    }
    // x fails its gate twice and is blocked; p changes a protected path and waits; y lands.
    env.vane(&["work"]).failure(1);
    env.vane(&["task", "retry", "x"]).success();
    env.vane(&["approve", "p"]).success();
    let run = env.vane(&["work"]).success();
    assert!(run.stderr.contains("1 landed"), "{}", run.stderr);

    let report = env
        .vane(&["report", "--since", "1d", "--json"])
        .success()
        .json();
    let events = env.vane(&["events", "--json"]).success().json();
    let events = events.as_array().unwrap();
    let landings = events
        .iter()
        .filter(|e| {
            e["kind"] == "status_changed"
                && e["data"]["to"] == "done"
                && e["data"]["by"] != "rollback"
        })
        .count();
    assert_eq!(landings, 3);
    let velocity = &report["velocity"];
    assert_eq!(velocity["landed"], landings);
    // p landed by a person's approval, not by a batch.
    assert_eq!(velocity["landed_in_batches"], 2);
    assert_eq!(velocity["per_day"], 3.0);
    assert_eq!(velocity["met"], false);

    let efficiency = &report["efficiency"];
    assert_eq!(efficiency["attempts"], 5);
    assert_eq!(efficiency["landed_attempts"], 3);
    assert_eq!(efficiency["wasted_attempts"], 2);
    assert_eq!(
        efficiency["wasted_by_cause"],
        serde_json::json!({"gate_failed": 2})
    );
    assert_eq!(efficiency["wasted_uncharged"], 0);
    assert_eq!(efficiency["cost_usd"], 1.25);
    assert_eq!(efficiency["wasted_cost_usd"], 0.5);
    let per_landed = efficiency["cost_per_landed_usd"].as_f64().unwrap();
    assert!((per_landed - 1.25 / 3.0).abs() < 1e-9, "{per_landed}");

    // Three adds, a retry and an approval; the events written by a person are all in them.
    let autonomy = &report["autonomy"];
    assert_eq!(autonomy["interventions"], 5);
    assert_eq!(
        autonomy["by_actor"],
        serde_json::json!({"person:tester": 5})
    );
    assert_eq!(autonomy["coordinator_actions"], 0);
    let person_events = events
        .iter()
        .filter(|e| e["actor"] == "person:tester")
        .count();
    assert!(
        person_events > 5,
        "an approval writes several: {person_events}"
    );
    let recent = autonomy["recent"].as_array().unwrap();
    let (retry, approve) = (&recent[recent.len() - 2], &recent[recent.len() - 1]);
    assert_eq!(retry["task"], "x");
    assert_eq!(retry["events"], serde_json::json!(["status_changed"]));
    assert_eq!(approve["task"], "p");
    assert_eq!(approve["events"][0], "approval");
    assert!(
        approve["events"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("checkpoint_recorded")),
        "the landing `vane approve` made is part of it: {approve}"
    );
    // Both came between the batches.
    assert_eq!(autonomy["unattended_batches"], 2);
    assert!(autonomy["longest_unattended"]["seconds"].as_f64().unwrap() > 0.0);

    let batches = report["batches"].as_array().unwrap();
    assert_eq!(batches.len(), 2);
    assert_eq!(batches[0]["landed"], 1);
    assert_eq!(batches[0]["attempts"], 4);
    assert_eq!(batches[0]["cost_usd"], 1.0);
    assert_eq!(batches[1]["landed"], 1);
    assert_eq!(batches[1]["interventions"], 0);

    let quality = &report["quality"];
    assert_eq!(quality["threshold"], 0.85);
    assert_eq!(quality["dimensions"][0]["dimension"], "correctness");
    // Two of the gate runs failed, so the mean is below the threshold.
    assert_eq!(quality["dimensions"][0]["met"], false);
    assert_eq!(quality["landed_meeting_threshold"], 3);

    let reliability = &report["reliability"];
    assert_eq!(reliability["batches"], 2);
    assert_eq!(reliability["finished"], 2);
    assert_eq!(reliability["crashed"], 0);
    assert_eq!(reliability["database"], "ok");
    assert_eq!(reliability["met"], true);

    // A window that starts after everything holds nothing.
    let empty = env
        .vane(&["report", "--since", "2999-01-01", "--json"])
        .success()
        .json();
    assert_eq!(empty["velocity"]["landed"], 0);
    assert_eq!(empty["autonomy"]["interventions"], 0);

    let text = env.vane(&["report"]).success().stdout;
    for part in [
        "Velocity: not met",
        "3 landed",
        "5 interventions (person:tester 5)",
        "wasted (gate_failed 2)",
        "Reliability: met",
    ] {
        assert!(text.contains(part), "no `{part}` in:\n{text}");
    }
    let run = env.vane(&["report", "--since", "soon"]).failure(2);
    assert!(run.stderr.contains("--since soon"), "{}", run.stderr);
}

#[test]
fn a_crash_and_its_recovery_show_in_the_report_and_the_metrics() {
    let env = scripted("");
    add(&env, "a");
    env.vane(&[
        "task", "add", "d", "--id", "d", "--agent", "scripted", "--deps", "a",
    ])
    .success();
    // Killed right after claiming a: its attempt never ends. Then, run again, killed after base
    // moved for a but before its landing was recorded. The third run recovers and lands d.
    for failpoint in ["after_claim", "after_ref_move"] {
        let crashed = env
            .vane_command(&["work"])
            .env("VANE_FAILPOINT", failpoint)
            .output()
            .unwrap();
        assert!(!crashed.status.success(), "{failpoint}");
    }
    env.vane(&["work"]).success();

    let report = env.vane(&["report", "--json"]).success().json();
    let reliability = &report["reliability"];
    assert_eq!(reliability["batches"], 3, "{reliability}");
    assert_eq!(reliability["crashed"], 2);
    assert_eq!(reliability["crashes_survived"], 2);
    assert_eq!(reliability["finished"], 1);
    assert_eq!(reliability["recovered_attempts"], 1);
    assert_eq!(reliability["landings_completed_by_recovery"], 1);
    assert_eq!(reliability["open"], false);
    assert_eq!(reliability["met"], true);
    let outcomes: Vec<&str> = report["batches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["crashed", "crashed", "finished"]);
    // The abandoned attempt is vane's, not the task's.
    assert_eq!(
        report["efficiency"]["wasted_by_cause"],
        serde_json::json!({"abandoned": 1})
    );
    assert_eq!(report["efficiency"]["wasted_uncharged"], 1);

    let page = metrics(&env);
    assert_eq!(
        page.value("vane_batches_total", &[("outcome", "crashed")]),
        2.0
    );
    assert_eq!(
        page.value("vane_recoveries_total", &[("kind", "abandoned_attempt")]),
        1.0
    );
    assert_eq!(
        page.value("vane_recoveries_total", &[("kind", "landing_completed")]),
        1.0
    );
    let abandoned = [("outcome", "abandoned"), ("charged", "false")];
    assert_eq!(page.value("vane_attempts_total", &abandoned), 1.0);
    assert_eq!(page.value("vane_landings_total", &[]), 2.0);
}

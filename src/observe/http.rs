//! A minimal HTTP/1.1 responder for `vane metrics --listen`: one connection at a time on a
//! loopback address, `GET /metrics` answered with a body made afresh for each request, anything
//! else a 404 (or a 405 for another method on /metrics). No server stack and no async: a scrape
//! every few seconds needs neither.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::time::Duration;

/// The path that serves the metrics.
pub const METRICS_PATH: &str = "/metrics";

/// How long a client may take to send its request or read the answer.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);

/// The most of a request that is read: its line and headers (a scrape's are a few hundred bytes).
const REQUEST_LIMIT: usize = 16 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error("`{0}` is no address to listen on: expected HOST:PORT, such as 127.0.0.1:9464")]
    Unparsable(String),
    #[error("`{text}` is not a loopback address ({address}): vane serves its metrics only to this machine")]
    NotLoopback { text: String, address: SocketAddr },
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: SocketAddr,
        source: io::Error,
    },
}

/// Binds `text` (`127.0.0.1:9464`, `[::1]:0`, `localhost:9464`), refusing any address that is not
/// a loopback one: the metrics name tasks and gates, and nothing here authenticates a client.
pub fn bind_loopback(text: &str) -> Result<TcpListener, ListenError> {
    let addresses: Vec<SocketAddr> = match text.parse::<SocketAddr>() {
        Ok(address) => vec![address],
        Err(_) => text
            .to_socket_addrs()
            .map_err(|_| ListenError::Unparsable(text.to_string()))?
            .collect(),
    };
    let Some(first) = addresses.first().copied() else {
        return Err(ListenError::Unparsable(text.to_string()));
    };
    if let Some(address) = addresses.iter().find(|a| !a.ip().is_loopback()) {
        return Err(ListenError::NotLoopback {
            text: text.to_string(),
            address: *address,
        });
    }
    TcpListener::bind(first).map_err(|source| ListenError::Bind {
        address: first,
        source,
    })
}

/// What a request gets: a status, a content type, a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

impl Response {
    fn text(status: u16, body: &str) -> Response {
        Response {
            status,
            content_type: "text/plain; charset=utf-8".to_string(),
            body: format!("{body}\n"),
        }
    }
}

/// Answers connections on `listener` until the process ends, one at a time: `render` makes the
/// metrics for each `GET /metrics` (an `Err` is answered with a 500 and its text). A client that
/// misbehaves or goes away only loses its own answer.
pub fn serve(listener: &TcpListener, mut render: impl FnMut() -> Result<Response, String>) {
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                if let Err(e) = answer(stream, &mut render) {
                    tracing::debug!(error = %e, "a metrics client went away");
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot accept a metrics connection");
                // Out of file descriptors, say: give the system a moment.
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// Reads one request from `stream` and writes its answer.
pub fn answer(
    mut stream: TcpStream,
    render: &mut impl FnMut() -> Result<Response, String>,
) -> io::Result<()> {
    stream.set_read_timeout(Some(CLIENT_TIMEOUT))?;
    stream.set_write_timeout(Some(CLIENT_TIMEOUT))?;
    let head = read_head(&mut stream)?;
    let (response, with_body) = match request_line(&head) {
        Some((method, path)) if path == METRICS_PATH => match method {
            "GET" | "HEAD" => {
                let response = render().unwrap_or_else(|e| Response::text(500, &e));
                (response, method == "GET")
            }
            _ => (Response::text(405, "only GET /metrics is served"), true),
        },
        Some((method, _)) => (
            Response::text(404, "not found: vane serves GET /metrics"),
            method != "HEAD",
        ),
        None => (Response::text(400, "bad request"), true),
    };
    write_response(&mut stream, &response, with_body)
}

/// The request line and headers: up to the empty line, the end of the stream, or the limit.
fn read_head(stream: &mut TcpStream) -> io::Result<String> {
    let mut head = Vec::new();
    let mut buffer = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < REQUEST_LIMIT {
        let n = stream.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buffer[..n]);
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

/// The method and path (without its query) of an HTTP/1.x request line.
fn request_line(head: &str) -> Option<(&str, &str)> {
    let line = head.lines().next()?;
    let mut parts = line.split(' ');
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || !version.starts_with("HTTP/1.") || method.is_empty() {
        return None;
    }
    let path = target.split(['?', '#']).next().unwrap_or(target);
    Some((method, path))
}

fn write_response(stream: &mut TcpStream, response: &Response, with_body: bool) -> io::Result<()> {
    let reason = match response.status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Internal Server Error",
    };
    let mut head = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        response.status,
        response.content_type,
        response.body.len()
    );
    if response.status == 405 {
        head.push_str("Allow: GET, HEAD\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    if with_body {
        stream.write_all(response.body.as_bytes())?;
    }
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_line_gives_the_method_and_the_path_without_its_query() {
        assert_eq!(
            request_line("GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\n"),
            Some(("GET", "/metrics"))
        );
        assert_eq!(request_line("POST / HTTP/1.0\r\n\r\n"), Some(("POST", "/")));
        for bad in [
            "",
            "GET /metrics",
            "GET /metrics SPDY/3",
            "GET  /metrics HTTP/1.1",
        ] {
            assert_eq!(request_line(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn only_loopback_addresses_are_bound() {
        for refused in ["0.0.0.0:0", "[::]:0", "192.0.2.1:9464"] {
            assert!(
                matches!(bind_loopback(refused), Err(ListenError::NotLoopback { .. })),
                "{refused}"
            );
        }
        for bad in ["9464", "127.0.0.1", "nowhere:port"] {
            assert!(
                matches!(bind_loopback(bad), Err(ListenError::Unparsable(_))),
                "{bad}"
            );
        }
        let listener = bind_loopback("127.0.0.1:0").unwrap();
        assert!(listener.local_addr().unwrap().ip().is_loopback());
    }
}

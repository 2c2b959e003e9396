//! `health`: asks a running daemon's web server whether it is ready (or alive), for container
//! health checks, where no HTTP client may be installed. One GET over a plain connection to
//! the daemon's own address; what it asks is fixed, so a few lines of HTTP/1.1 do.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

/// How long the daemon may take to connect and answer.
const TIMEOUT: Duration = Duration::from_secs(10);
/// The most of an answer read.
const MAX_ANSWER: u64 = 64 << 10;

/// GETs `path` at `addr`: 0 on a 2xx answer, 1 otherwise; the answer's body is printed.
pub fn health(addr: SocketAddr, path: &str) -> anyhow::Result<ExitCode> {
    match ask(addr, path) {
        Ok((status, body)) => {
            print!("{body}");
            if (200..300).contains(&status) {
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!("http://{addr}{path} answered {status}");
                Ok(ExitCode::FAILURE)
            }
        }
        Err(error) => {
            eprintln!("cannot ask http://{addr}{path}: {error}");
            Ok(ExitCode::FAILURE)
        }
    }
}

fn ask(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = Vec::new();
    stream.take(MAX_ANSWER).read_to_end(&mut answer)?;
    let answer = String::from_utf8_lossy(&answer);
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("the answer is not HTTP"))?;
    Ok((status, body.to_string()))
}

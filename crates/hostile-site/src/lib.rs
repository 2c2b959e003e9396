//! Test support: a news site on 127.0.0.1 that answers with every fault a crawler meets
//! (drips, stalls, resets, bombs, endless bodies, huge pages and headers, redirect loops,
//! lying Content-Types and charsets, invalid bytes, deep nesting, XML entity attacks, a
//! 50,000-URL sitemap, a 5 MB robots.txt, every form of Retry-After, a flapping page, a
//! feed that names other sites' addresses) beside ordinary articles, and records every
//! request it gets.
//!
//! It is written over a bare TCP listener, not an HTTP server library, so that it can answer
//! as no well-behaved server would: half a body and a reset, a header of a megabyte, a body
//! that never ends. It is not a general HTTP server: one request per connection, GET only.
//!
//! [`FAULTS`] lists each fault page with what a sturdy crawler should make of it; tests
//! (`crates/nichiro/tests/hostile.rs`) check each, and the soak benchmark runs a daemon
//! against the whole site.

mod faults;
mod pages;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub use faults::{FAULTS, Fault, Outcome, SPOOFED_LINKS};
pub use pages::article_text;

/// What the site holds besides its faults.
#[derive(Debug, Clone)]
pub struct SiteSpec {
    /// Ordinary articles, `/article/0` … listed in `/sitemap-articles.xml`.
    pub articles: usize,
    /// URLs in `/sitemap-bulk.xml`, all with a 2001 `lastmod` (too old for any crawl window).
    pub bulk_sitemap_urls: usize,
}

impl Default for SiteSpec {
    fn default() -> Self {
        SiteSpec {
            articles: 20,
            bulk_sitemap_urls: 50_000,
        }
    }
}

/// A running hostile site. It serves until the runtime that started it ends.
#[derive(Clone)]
pub struct HostileSite {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    state: Arc<State>,
}

pub(crate) struct State {
    pub(crate) spec: SiteSpec,
    pub(crate) base: String,
    requests: Mutex<Vec<String>>,
    /// Requests per path, for answers that change from one request to the next.
    pub(crate) hits: Mutex<std::collections::HashMap<String, usize>>,
    pub(crate) open_connections: AtomicUsize,
}

impl HostileSite {
    /// Starts the site on a free port of 127.0.0.1.
    pub async fn start(spec: SiteSpec) -> std::io::Result<HostileSite> {
        // The bombs are made before the first request, off the async threads.
        tokio::task::spawn_blocking(|| {
            for kind in ["gzip", "deflate", "br"] {
                faults::bomb(kind);
            }
        })
        .await
        .map_err(std::io::Error::other)?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let state = Arc::new(State {
            spec,
            base: base.clone(),
            requests: Mutex::new(Vec::new()),
            hits: Mutex::new(Default::default()),
            open_connections: AtomicUsize::new(0),
        });
        let serving = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = serving.clone();
                tokio::spawn(async move {
                    state.open_connections.fetch_add(1, Ordering::Relaxed);
                    // A client that hangs up mid-answer is what faults are for: ignored.
                    let _ = answer(stream, &state).await;
                    state.open_connections.fetch_sub(1, Ordering::Relaxed);
                });
            }
        });
        Ok(HostileSite { base, state })
    }

    /// Every request path so far, in order of arrival (`/article/3`, `/fault/drip` …).
    pub fn requests(&self) -> Vec<String> {
        self.state.requests.lock().expect("request log").clone()
    }

    /// How many requests asked for a path starting with `prefix`.
    pub fn count(&self, prefix: &str) -> usize {
        let requests = self.state.requests.lock().expect("request log");
        requests.iter().filter(|p| p.starts_with(prefix)).count()
    }

    /// Connections open now (a drip or an endless body the client has not hung up on).
    pub fn open_connections(&self) -> usize {
        self.state.open_connections.load(Ordering::Relaxed)
    }

    /// The URL of a path on this site.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// The request's path, read from a head of at most 16 KiB; `None` for anything else.
async fn read_request(stream: &mut TcpStream) -> std::io::Result<Option<String>> {
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        head.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(&head) {
            Ok(httparse::Status::Complete(_)) => return Ok(request.path.map(str::to_string)),
            Ok(httparse::Status::Partial) if head.len() < 16 * 1024 => continue,
            _ => return Ok(None),
        }
    }
}

async fn answer(mut stream: TcpStream, state: &State) -> std::io::Result<()> {
    let Some(path) = read_request(&mut stream).await? else {
        return Ok(());
    };
    state
        .requests
        .lock()
        .expect("request log")
        .push(path.clone());
    let hit = {
        let mut hits = state.hits.lock().expect("hit counts");
        let n = hits.entry(path.clone()).or_default();
        *n += 1;
        *n
    };
    if let Some(handled) = faults::answer(&path, hit, state, &mut stream).await {
        return handled;
    }
    let reply = pages::answer(&path, state);
    stream.write_all(&reply).await?;
    stream.shutdown().await
}

/// A whole response with `Content-Length` and `Connection: close`.
pub(crate) fn response(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

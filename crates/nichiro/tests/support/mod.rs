//! A news site on 127.0.0.1 for the integration tests, and helpers to run the real binary.

#![allow(dead_code)] // each test file uses its own part of this module

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::sync::{Notify, mpsc};

pub mod pg;

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// A sample page's bytes, as stored (in its own encoding).
pub fn sample_page(name: &str) -> Vec<u8> {
    std::fs::read(repo().join("config/samples/pages").join(name)).unwrap()
}

/// One article the site serves.
#[derive(Clone)]
pub struct Page {
    /// Path under `/articles/`.
    pub slug: String,
    /// Content-Type header sent.
    pub content_type: String,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Page {
    pub fn new(slug: &str, content_type: &str, body: Vec<u8>) -> Self {
        Page {
            slug: slug.into(),
            content_type: content_type.into(),
            body,
        }
    }
}

/// A plain English article about Russia–Japan relations, numbered so each text differs.
pub fn generated_article(n: usize) -> Page {
    let topics = [
        "the peace treaty and the 1956 Joint Declaration",
        "visa-free exchanges for former residents of the Kuril Islands",
        "joint economic activities on Iturup and Kunashir",
        "fishing quotas for Japanese boats near the Habomai islets",
        "the Aegis Ashore missile defence system in Japan",
        "Sakhalin LNG supplies to Japanese utilities",
        "a visit to Tokyo by a Russian deputy foreign minister",
        "consultations between the foreign ministries in Moscow",
    ];
    let topic = topics[n % topics.len()];
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Report {n}: Russia and Japan discuss {topic} | Test Wire</title>\
         <meta property=\"article:published_time\" content=\"2019-06-{day:02}T10:00:00+09:00\"></head><body>\
         <nav><a href=\"/\">Home</a> <a href=\"/world\">World</a></nav>\
         <div class=\"share\">Share on Facebook Twitter</div>\
         <article><h1>Report {n}: Russia and Japan discuss {topic}</h1>\
         <p>Officials of Russia and Japan met in Tokyo on day {n} of the round to discuss {topic}, \
         the foreign ministries of the two countries said in a joint statement on Friday.</p>\
         <p>The Russian side said report number {n} showed progress, while Japanese officials said \
         differences remained and that talks with Moscow would continue next month in Moscow.</p>\
         <p>Both delegations agreed that the dialogue on {topic} served the interests of the two \
         neighbours, and that the next round would prepare a meeting of the foreign ministers.</p>\
         </article><footer>Test Wire {n}</footer></body></html>",
        day = 1 + n % 28,
    );
    Page::new(
        &format!("report-{n}"),
        "text/html; charset=utf-8",
        body.into_bytes(),
    )
}

/// The articles of the varied site: three encodings, boilerplate, a non-article.
pub fn varied_pages() -> Vec<Page> {
    vec![
        Page::new(
            "en-talks",
            "text/html; charset=utf-8",
            sample_page("en-lavrov-kono-talks.html"),
        ),
        // windows-1251 declared in the header only.
        Page::new(
            "ru-kurils",
            "text/html; charset=windows-1251",
            sample_page("ru-kurils-former-residents.html"),
        ),
        // Shift_JIS declared in the page's <meta> only.
        Page::new(
            "ja-ministers",
            "text/html",
            sample_page("ja-foreign-ministers.html"),
        ),
        Page::new(
            "markets",
            "text/html; charset=utf-8",
            sample_page("en-asian-markets.html"),
        ),
        Page::new(
            "index",
            "text/html; charset=utf-8",
            sample_page("en-world-index.html"),
        ),
    ]
}

#[derive(Default)]
struct SiteState {
    pages: Mutex<Vec<Page>>,
    extra_feed_links: Vec<String>,
    requests: Mutex<HashMap<String, usize>>,
    /// Requests for these slugs wait for `gate` before answering.
    gated: Vec<String>,
    gate: Notify,
    gate_open: Mutex<bool>,
    arrivals: Option<mpsc::UnboundedSender<String>>,
}

impl SiteState {
    /// The slugs of the articles published so far.
    fn slugs(&self) -> Vec<String> {
        self.pages
            .lock()
            .unwrap()
            .iter()
            .map(|p| p.slug.clone())
            .collect()
    }
}

/// A running test site; clones share it.
#[derive(Clone)]
pub struct Site {
    pub base: String,
    state: Arc<SiteState>,
}

/// What the site should do.
#[derive(Default)]
pub struct SiteSpec {
    pub pages: Vec<Page>,
    /// Links listed in the feed that lead nowhere good (`/private/…` is disallowed by
    /// robots.txt, `/broken` answers 500, `/image.png` is an image).
    pub extra_feed_links: Vec<String>,
    /// Slugs whose requests are held until [`Site::open_gate`].
    pub gated: Vec<String>,
}

impl Site {
    /// Starts the site on 127.0.0.1 with a free port. Returns the site and, when some slugs
    /// are gated, a receiver of the slugs as their requests arrive.
    pub async fn start(spec: SiteSpec) -> (Site, mpsc::UnboundedReceiver<String>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let state = Arc::new(SiteState {
            pages: Mutex::new(spec.pages),
            extra_feed_links: spec.extra_feed_links,
            gated: spec.gated,
            arrivals: Some(tx),
            ..SiteState::default()
        });
        let app = Router::new()
            .route("/robots.txt", get(robots))
            .route("/home", get(home))
            .route("/feed.xml", get(feed))
            .route("/sitemap.xml", get(sitemap))
            .route("/articles/{slug}", get(article))
            .route("/broken", get(broken))
            .route("/private/{slug}", get(article))
            .route(
                "/image.png",
                get(|State(state): State<Arc<SiteState>>| async move {
                    count(&state, "/image.png");
                    ([(header::CONTENT_TYPE, "image/png")], vec![0u8; 64])
                }),
            )
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        (Site { base, state }, rx)
    }

    /// How many times a path was requested.
    pub fn requests(&self, path: &str) -> usize {
        self.state
            .requests
            .lock()
            .unwrap()
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    /// Publishes one more article: the feed lists it (with a new ETag) from now on.
    pub fn add_page(&self, page: Page) {
        self.state.pages.lock().unwrap().push(page);
    }

    /// Lets held requests, and all later ones, through.
    pub fn open_gate(&self) {
        *self.state.gate_open.lock().unwrap() = true;
        self.state.gate.notify_waiters();
    }
}

/// The Host header the client sent (the site's own address, port included).
fn host_of(headers: &axum::http::HeaderMap) -> String {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_string()
}

fn count(state: &SiteState, path: &str) {
    *state
        .requests
        .lock()
        .unwrap()
        .entry(path.to_string())
        .or_default() += 1;
}

async fn broken(State(state): State<Arc<SiteState>>) -> StatusCode {
    count(&state, "/broken");
    StatusCode::INTERNAL_SERVER_ERROR
}

/// A home page that announces the feed, as news sites' front pages do.
async fn home(State(state): State<Arc<SiteState>>) -> Response {
    count(&state, "/home");
    let html = "<!DOCTYPE html><html><head><title>The Site</title>\
                <link rel=\"alternate\" type=\"application/rss+xml\" href=\"/feed.xml\"></head>\
                <body><h1>The Site</h1></body></html>";
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

async fn robots(State(state): State<Arc<SiteState>>) -> &'static str {
    count(&state, "/robots.txt");
    "User-agent: *\nDisallow: /private/\n"
}

/// The site's feed of every article, or with `?part=I&parts=N`, of every Nth article from
/// the Ith (a site with N section feeds).
async fn feed(
    State(state): State<Arc<SiteState>>,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
) -> Response {
    count(&state, "/feed.xml");
    let query: HashMap<&str, usize> = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .filter_map(|(k, v)| Some((k, v.parse().ok()?)))
        .collect();
    let parts = query.get("parts").copied().unwrap_or(1).max(1);
    let part = query.get("part").copied().unwrap_or(0);
    let slugs: Vec<String> = state
        .slugs()
        .into_iter()
        .enumerate()
        .filter(|(i, _)| i % parts == part)
        .map(|(_, slug)| slug)
        .collect();
    // The ETag changes when an article is added.
    let etag = format!("\"feed-{part}-{parts}-v{}\"", slugs.len());
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str())
    {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let mut items = String::new();
    let links = slugs
        .iter()
        .map(|slug| format!("/articles/{slug}"))
        .chain(state.extra_feed_links.iter().cloned());
    for (i, link) in links.enumerate() {
        items.push_str(&format!(
            "<item><title>Item {i}</title><link>{{BASE}}{link}?utm_source=rss</link>\
             <pubDate>Mon, 03 Jun 2019 10:00:00 +0000</pubDate></item>"
        ));
    }
    let body = format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Test</title>\
         <link>{{BASE}}/</link><description>t</description>{items}</channel></rss>"
    );
    let host = host_of(&headers);
    let body = body.replace("{BASE}", &format!("http://{host}"));
    (
        [
            (header::CONTENT_TYPE, "application/rss+xml"),
            (header::ETAG, etag.as_str()),
        ],
        body,
    )
        .into_response()
}

/// A Google News sitemap of the articles, each dated 2019-06-01 plus its position in days.
async fn sitemap(State(state): State<Arc<SiteState>>, headers: axum::http::HeaderMap) -> Response {
    count(&state, "/sitemap.xml");
    let host = host_of(&headers);
    let slugs = state.slugs();
    let mut urls = String::new();
    for (i, slug) in slugs.iter().enumerate() {
        urls.push_str(&format!(
            "<url><loc>http://{host}/articles/{slug}</loc><news:news>\
             <news:publication_date>2019-06-{:02}T00:00:00Z</news:publication_date>\
             <news:title>Item {i}</news:title></news:news></url>",
            i + 1
        ));
    }
    let body = format!(
        "<?xml version=\"1.0\"?><urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\" \
         xmlns:news=\"http://www.google.com/schemas/sitemap-news/0.9\">{urls}</urlset>"
    );
    ([(header::CONTENT_TYPE, "application/xml")], body).into_response()
}

async fn article(State(state): State<Arc<SiteState>>, UrlPath(slug): UrlPath<String>) -> Response {
    count(&state, &format!("/articles/{slug}"));
    if state.gated.contains(&slug) {
        if let Some(tx) = &state.arrivals {
            let _ = tx.send(slug.clone());
        }
        loop {
            let notified = state.gate.notified();
            if *state.gate_open.lock().unwrap() {
                break;
            }
            notified.await;
        }
    }
    let page = state
        .pages
        .lock()
        .unwrap()
        .iter()
        .find(|p| p.slug == slug)
        .cloned();
    match page {
        Some(page) => (
            [(header::CONTENT_TYPE, page.content_type.clone())],
            page.body.clone(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// A config for a test run: the repo's taxonomy and corpus, a store in `dir`, the given
/// sources, and settings for a local server (private addresses allowed, no pacing).
pub fn write_config(dir: &Path, sources: &str, concurrency: usize) -> PathBuf {
    let repo = repo();
    let text = format!(
        "[store]\npath = {store:?}\n\n[tag]\ntopics = {topics:?}\ncorpus = {corpus:?}\n\n\
         [fetch]\nallow_private_networks = true\nper_host_delay_ms = 0\nconcurrency = {concurrency}\n\
         request_timeout_secs = 30\nretry_base_ms = 10\n\n[pipeline]\ngrace_period_secs = 30\nclean_workers = 2\n\n{sources}",
        store = dir.join("store.sqlite").display().to_string(),
        topics = repo.join("config/topics.toml").display().to_string(),
        corpus = repo.join("corpus").display().to_string(),
    );
    let path = dir.join("test.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A `[[source]]` for the site's feed.
pub fn feed_source(site: &Site) -> String {
    format!(
        "[[source]]\nname = \"site\"\nkind = \"feed\"\nurl = \"{}/feed.xml\"\n",
        site.base
    )
}

/// The binary under test.
pub fn nichiro() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_nichiro"));
    command
        .env_remove("RUST_LOG")
        .env_remove("NICHIRO_CONFIG")
        .current_dir(repo());
    command
}

/// Runs the binary to completion off the async threads.
pub async fn run(args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || nichiro().args(&args).output().unwrap())
        .await
        .unwrap()
}

/// Stored articles, read straight from the SQLite file: (url, title, relevant, text).
pub fn stored(dir: &Path) -> Vec<(String, Option<String>, bool, String)> {
    let conn = rusqlite::Connection::open(dir.join("store.sqlite")).unwrap();
    let mut stmt = conn
        .prepare("SELECT url, title, relevant, text FROM articles ORDER BY url")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The seed of a crash test's kill points: `NICHIRO_CRASH_SEED`, else the clock; printed either way.
pub fn crash_seed() -> u64 {
    let seed = std::env::var("NICHIRO_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        })
        | 1;
    eprintln!("kill points from seed {seed} (NICHIRO_CRASH_SEED={seed} replays them)");
    seed
}

/// A GET of `path` from the daemon's web server at `addr`, read synchronously: the whole
/// answer, head and body ("" while it cannot be reached).
pub fn http_get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else {
        return String::new();
    };
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(5)));
    let _ = write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    );
    let mut text = String::new();
    let _ = stream.read_to_string(&mut text);
    text
}

/// A `nichiro run` started on a config, its web server on a free port, its log collected.
pub struct RunningDaemon {
    child: std::process::Child,
    /// The web server's address (`127.0.0.1:PORT`), as the log names it.
    pub addr: String,
    log: Arc<Mutex<String>>,
    reader: std::thread::JoinHandle<()>,
}

/// How long a test waits for what a daemon should do before it fails.
pub const DAEMON_PATIENCE: std::time::Duration = std::time::Duration::from_secs(120);

impl RunningDaemon {
    /// Starts the daemon on `config` (with `args` after it) and waits until its log names its
    /// web server's address.
    pub async fn start(config: &Path, args: &[&str]) -> RunningDaemon {
        use std::io::BufRead;
        let mut child = nichiro()
            .args(["run", "--config", config.to_str().unwrap()])
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (addr_tx, addr_rx) = tokio::sync::oneshot::channel();
        let reader = {
            let log = log.clone();
            std::thread::spawn(move || {
                let mut addr_tx = Some(addr_tx);
                for line in std::io::BufReader::new(stderr)
                    .lines()
                    .map_while(Result::ok)
                {
                    if let Some(rest) = line.split("http://").nth(1)
                        && let Some(tx) = addr_tx.take()
                    {
                        let _ = tx.send(rest.split('/').next().unwrap_or("").to_string());
                    }
                    let mut log = log.lock().unwrap();
                    log.push_str(&line);
                    log.push('\n');
                }
            })
        };
        let addr = tokio::time::timeout(DAEMON_PATIENCE, addr_rx)
            .await
            .expect("the daemon names its address")
            .expect("the daemon names its address before it ends");
        RunningDaemon {
            child,
            addr,
            log,
            reader,
        }
    }

    /// The log so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits until a line of the log is `wanted`.
    pub async fn wait_for_line(&self, wanted: impl Fn(&str) -> bool) {
        let found = tokio::time::timeout(DAEMON_PATIENCE, async {
            while !self.log().lines().any(&wanted) {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        })
        .await;
        assert!(found.is_ok(), "the log never said it:\n{}", self.log());
    }

    /// Stops it with SIGTERM and waits for it; returns its exit status and whole log.
    pub async fn stop(mut self) -> (std::process::ExitStatus, String) {
        std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        let status = tokio::task::spawn_blocking(move || {
            let status = self.child.wait().unwrap();
            self.reader.join().unwrap();
            status
        })
        .await
        .unwrap();
        let log = self.log.lock().unwrap().clone();
        (status, log)
    }
}

/// Waits for an event a test expects, failing (instead of hanging) if it never comes.
pub async fn within<F: std::future::Future>(event: F) -> F::Output {
    tokio::time::timeout(DAEMON_PATIENCE, event)
        .await
        .expect("the expected event did not come within two minutes")
}

/// A page of the daemon's web server, which must answer 200.
pub async fn get_ok(addr: &str, path: &str) -> String {
    let (addr, path) = (addr.to_string(), path.to_string());
    let response = tokio::task::spawn_blocking(move || http_get(&addr, &path))
        .await
        .unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    response
}

/// config/offline.toml with its store moved into `dir` and its other paths made absolute.
pub fn offline_config(dir: &std::path::Path) -> String {
    let repo = repo();
    let config_dir = repo.join("config");
    let text = std::fs::read_to_string(config_dir.join("offline.toml")).unwrap();
    let text = text
        .replace(
            "\"../data/offline.sqlite\"",
            &format!("{:?}", dir.join("store.sqlite").display().to_string()),
        )
        .replace(
            "\"../corpus\"",
            &format!("{:?}", repo.join("corpus").display().to_string()),
        )
        .replace(
            "\"topics.toml\"",
            &format!("{:?}", config_dir.join("topics.toml").display().to_string()),
        )
        .replace(
            "\"samples/",
            &format!("\"{}/samples/", config_dir.display()),
        );
    let path = dir.join("offline.toml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

//! The fetcher against real servers on 127.0.0.1 (each port its own host): feed discovery,
//! sitemaps from robots.txt, conditional GETs,
//! Retry-After, hung hosts, hostile answers, private addresses, and a 2,000-page crawl of 20
//! hosts with per-host pacing. The servers record every request, so counts and gaps are
//! measured where the requests arrive.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use nichiro_fetch::http::{Purpose, Validators};
use nichiro_fetch::{
    FetchConfig, FetchStats, HttpFetcher, PollContext, PollMode, PrivateNetworks, SeenUrls, Source,
    SourceConfig, SourceFailure, SourceKind, run_fetch, run_sources,
};
use nichiro_model::{FetchJob, RawPage};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Requests a host received: (path, arrival time).
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<(String, Instant)>>>);

impl Log {
    fn record(&self, path: &str) {
        self.0
            .lock()
            .unwrap()
            .push((path.to_string(), Instant::now()));
    }
    fn count(&self, path: &str) -> usize {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p == path)
            .count()
    }
    fn times(&self, path: &str) -> Vec<Instant> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, t)| *t)
            .collect()
    }
    fn all(&self) -> Vec<(String, Instant)> {
        self.0.lock().unwrap().clone()
    }
}

#[derive(Clone)]
struct Host {
    log: Log,
    /// Article slugs the feed lists.
    pages: usize,
    /// Articles answer only when this fires (a hung host); `None` answers at once.
    hang: Option<Arc<tokio::sync::Notify>>,
}

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    base
}

fn article_html(n: usize) -> String {
    format!(
        "<html><head><title>Article {n}</title></head><body><article><p>Text of article {n}.</p></article></body></html>"
    )
}

async fn feed(State(host): State<Host>, headers: HeaderMap) -> Response {
    host.log.record("/feed.xml");
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v == "\"v1\"")
    {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let base = format!("http://{}", headers[header::HOST].to_str().unwrap());
    let items: String = (0..host.pages)
        .map(|n| format!("<item><title>{n}</title><link>{base}/a/{n}</link></item>"))
        .collect();
    let body = format!(
        "<rss version=\"2.0\"><channel><title>t</title><link>{base}</link><description>d</description>{items}</channel></rss>"
    );
    (
        [
            (header::ETAG, "\"v1\""),
            (header::CONTENT_TYPE, "application/rss+xml"),
        ],
        body,
    )
        .into_response()
}

async fn article(State(host): State<Host>, Path(n): Path<usize>) -> Response {
    host.log.record(&format!("/a/{n}"));
    if let Some(hang) = &host.hang {
        hang.notified().await;
    }
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        article_html(n),
    )
        .into_response()
}

async fn robots(State(host): State<Host>) -> &'static str {
    host.log.record("/robots.txt");
    "User-agent: *\nDisallow: /private/\n"
}

/// A news host with a feed of `pages` articles.
async fn news_host(pages: usize, hang: Option<Arc<tokio::sync::Notify>>) -> (String, Log) {
    let host = Host {
        log: Log::default(),
        pages,
        hang,
    };
    let router = Router::new()
        .route("/feed.xml", get(feed))
        .route("/a/{n}", get(article))
        .route("/robots.txt", get(robots))
        .with_state(host.clone());
    (serve(router).await, host.log)
}

fn config() -> FetchConfig {
    FetchConfig {
        allow_private_networks: PrivateNetworks::All,
        per_host_delay_ms: 0,
        retry_base_ms: 10,
        request_timeout_secs: 10,
        ..FetchConfig::default()
    }
}

fn context(config: FetchConfig) -> PollContext {
    PollContext {
        fetcher: Arc::new(HttpFetcher::new(config).unwrap()),
        seen: SeenUrls::default(),
        stats: FetchStats::default(),
        since: None,
        stop: CancellationToken::new(),
        abort: CancellationToken::new(),
        coordinator: None,
        journal: None,
        archive_ledger: None,
        page_filter: None,
    }
}

fn feed_source(name: &str, base: &str) -> SourceConfig {
    source(name, SourceKind::Feed, &format!("{base}/feed.xml"))
}

fn source(name: &str, kind: SourceKind, url: &str) -> SourceConfig {
    SourceConfig {
        name: name.into(),
        kind,
        url: Some(url.into()),
        path: None,
        paths: vec![],
        prefilter: true,
        language: None,
        poll_interval_secs: 900,
        min_poll_interval_secs: None,
        max_poll_interval_secs: None,
        include: vec![],
        exclude: vec![],
        max_age_days: None,
        link_selector: None,
        allowed_domains: vec![],
        follow_links: true,
        enabled: true,
    }
}

struct Run {
    pages: Vec<RawPage>,
    failures: Vec<SourceFailure>,
    sources: Vec<Source>,
}

/// Polls the sources once and fetches everything, like a backfill's first two stages.
async fn run_once(ctx: &PollContext, sources: Vec<Source>) -> Run {
    let (jobs_tx, jobs_rx) = mpsc::channel::<FetchJob>(64);
    let (pages_tx, mut pages_rx) = mpsc::channel(64);
    let listing = tokio::spawn(run_sources(sources, ctx.clone(), jobs_tx, PollMode::Once));
    let fetching = tokio::spawn(run_fetch(ctx.clone(), jobs_rx, pages_tx));
    let mut pages = Vec::new();
    while let Some(page) = pages_rx.recv().await {
        pages.push(page);
    }
    let (sources, failures) = listing.await.unwrap();
    fetching.await.unwrap();
    Run {
        pages,
        failures,
        sources,
    }
}

fn compile(configs: Vec<SourceConfig>) -> Vec<Source> {
    configs
        .into_iter()
        .map(|c| Source::new(c).unwrap())
        .collect()
}

/// Runs the fetch stage alone on `urls` (claimed, as a source would) and returns its output.
async fn fetch_only(ctx: &PollContext, urls: Vec<String>) -> mpsc::Receiver<RawPage> {
    let (jobs_tx, jobs_rx) = mpsc::channel(urls.len().max(1));
    let (pages_tx, pages_rx) = mpsc::channel(urls.len().max(1));
    for url in urls {
        ctx.seen.claim(&url);
        let job = nichiro_model::RemoteJob {
            url,
            source: "s".into(),
            hints: Default::default(),
        };
        jobs_tx.send(FetchJob::Remote(job)).await.unwrap();
    }
    tokio::spawn(run_fetch(ctx.clone(), jobs_rx, pages_tx));
    pages_rx
}

/// The run had no failing source, and fetched exactly the pages `/a/N` of `base` for `pages`.
fn assert_no_failure_and_pages(run: &Run, base: &str, pages: std::ops::RangeInclusive<usize>) {
    assert!(run.failures.is_empty(), "{:?}", run.failures);
    let mut urls: Vec<String> = run.pages.iter().map(|p| p.requested_url.clone()).collect();
    urls.sort();
    let expected: Vec<String> = pages.map(|n| format!("{base}/a/{n}")).collect();
    assert_eq!(urls, expected);
}

/// Fails instead of hanging if a test's event never comes.
async fn within<F: std::future::Future>(event: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(120), event)
        .await
        .expect("timed out")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unchanged_feed_costs_a_304() {
    let (base, log) = news_host(3, None).await;
    let ctx = context(config());
    let first = run_once(&ctx, compile(vec![feed_source("s", &base)])).await;
    assert_eq!(first.pages.len(), 3);
    let validators: Validators = first.sources[0]
        .validators()
        .cloned()
        .expect("the feed sent an ETag");
    // A later run starts from the saved validators.
    let ctx = context(config());
    let source = Source::new(feed_source("s", &base))
        .unwrap()
        .with_validators(validators);
    let second = run_once(&ctx, vec![source]).await;
    assert!(second.pages.is_empty());
    assert_eq!(ctx.stats.snapshot()["s"].not_modified, 1);
    assert_eq!(log.count("/feed.xml"), 2);
    assert_eq!(log.count("/a/0"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_left_to_another_daemon_makes_the_next_poll_unconditional() {
    let (base, _log) = news_host(3, None).await;
    let ctx = context(config());
    let first = run_once(&ctx, compile(vec![feed_source("s", &base)])).await;
    let validators: Validators = first.sources[0].validators().cloned().unwrap();
    let source = Source::new(feed_source("s", &base))
        .unwrap()
        .with_validators(validators);
    // Another daemon held one of the pages (and may die before storing it): the listing
    // must be read in full again, not answered by a 304.
    let ctx = context(config());
    ctx.stats.update("s", |c| c.claimed_elsewhere += 1);
    let second = run_once(&ctx, vec![source]).await;
    assert_eq!(ctx.stats.snapshot()["s"].not_modified, 0);
    assert_eq!(second.pages.len(), 3, "the full listing is offered again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_obeyed() {
    #[derive(Clone, Default)]
    struct Flaky {
        log: Log,
        calls: Arc<Mutex<usize>>,
    }
    async fn page(State(flaky): State<Flaky>) -> Response {
        flaky.log.record("/page");
        let mut calls = flaky.calls.lock().unwrap();
        *calls += 1;
        if *calls == 1 {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "2")],
                "busy",
            )
                .into_response();
        }
        ([(header::CONTENT_TYPE, "text/html")], article_html(1)).into_response()
    }
    let flaky = Flaky::default();
    let base = serve(
        Router::new()
            .route("/page", get(page))
            .with_state(flaky.clone()),
    )
    .await;
    let ctx = context(FetchConfig {
        obey_robots: false,
        ..config()
    });
    let mut pages_rx = fetch_only(&ctx, vec![format!("{base}/page")]).await;
    let page = within(pages_rx.recv())
        .await
        .expect("the page arrives after the retry");
    assert_eq!(page.status, 200);
    let times = flaky.log.times("/page");
    assert_eq!(times.len(), 2);
    let waited = times[1] - times[0];
    assert!(
        waited >= Duration::from_secs(2),
        "the retry came {waited:?} after the 503"
    );
    assert_eq!(ctx.stats.snapshot()["s"].retries, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_past_any_clock_gives_up_its_page_and_not_its_host() {
    // `Retry-After: 9223372036854775807` panicked the fetch stage (an Instant overflow);
    // `999999999` and a date in year 9999 held the host's other pages back for ever.
    async fn page(State(log): State<Log>, Path(n): Path<usize>) -> Response {
        log.record(&format!("/p/{n}"));
        let wait = match n {
            0 => "9223372036854775807",
            1 => "999999999",
            2 => "Fri, 31 Dec 9999 23:59:59 GMT",
            _ => return ([(header::CONTENT_TYPE, "text/html")], article_html(n)).into_response(),
        };
        (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, wait)],
            "later",
        )
            .into_response()
    }
    let log = Log::default();
    let base = serve(
        Router::new()
            .route("/p/{n}", get(page))
            .with_state(log.clone()),
    )
    .await;
    let ctx = context(FetchConfig {
        obey_robots: false,
        max_retry_after_secs: 1,
        ..config()
    });
    let urls = (0..5).map(|n| format!("{base}/p/{n}")).collect();
    let mut pages_rx = fetch_only(&ctx, urls).await;
    let mut fetched = Vec::new();
    while let Some(page) = within(pages_rx.recv()).await {
        fetched.push(page.requested_url);
    }
    fetched.sort();
    assert_eq!(fetched, vec![format!("{base}/p/3"), format!("{base}/p/4")]);
    for n in 0..3 {
        assert_eq!(
            log.count(&format!("/p/{n}")),
            1,
            "/p/{n} was given up, not retried"
        );
    }
    let counts = &ctx.stats.snapshot()["s"];
    assert_eq!((counts.fetched, counts.failed), (2, 3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_cannot_write_articles_under_addresses_off_its_site() {
    // With follow_links = false the feed's own text was stored under whatever link an item
    // named: another site, a file: URL (the real corpus document was then skipped as seen),
    // javascript:, data:, mailto:, a database port on the feed's host.
    async fn spoofing_feed(headers: HeaderMap) -> Response {
        let base = format!("http://{}", headers[header::HOST].to_str().unwrap());
        let links = [
            format!("{base}/a/0"),
            "https://elsewhere.example/a/1".to_string(),
            "file:///app/corpus/000_kurils.txt".to_string(),
            "javascript:alert(1)".to_string(),
            "data:text/html,&lt;p&gt;x&lt;/p&gt;".to_string(),
            "mailto:desk@example.org".to_string(),
            base.rsplit_once(':').unwrap().0.to_string() + ":5432/",
        ];
        let items: String = links
            .iter()
            .map(|l| format!("<item><title>t</title><link>{l}</link><description>Text of the item.</description></item>"))
            .collect();
        (
            [(header::CONTENT_TYPE, "application/rss+xml")],
            format!("<rss version=\"2.0\"><channel><title>t</title><link>{base}</link><description>d</description>{items}</channel></rss>"),
        )
            .into_response()
    }
    let base = serve(Router::new().route("/feed.xml", get(spoofing_feed))).await;
    let ctx = context(FetchConfig {
        obey_robots: false,
        ..config()
    });
    let mut source = feed_source("s", &base);
    source.follow_links = false;
    let run = run_once(&ctx, compile(vec![source])).await;
    let urls: Vec<&str> = run.pages.iter().map(|p| p.final_url.as_str()).collect();
    assert_eq!(urls, [format!("{base}/a/0")]);
    assert_eq!(ctx.stats.snapshot()["s"].filtered, 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_host_does_not_hold_back_another() {
    let hang = Arc::new(tokio::sync::Notify::new());
    let (slow, slow_log) = news_host(5, Some(hang.clone())).await;
    let (fast, _) = news_host(30, None).await;
    let ctx = context(FetchConfig {
        concurrency: 2,
        ..config()
    });
    let (jobs_tx, jobs_rx) = mpsc::channel(64);
    let (pages_tx, mut pages_rx) = mpsc::channel(64);
    // The hung host is listed first, so its pages are queued first.
    let sources = compile(vec![feed_source("slow", &slow), feed_source("fast", &fast)]);
    tokio::spawn(run_sources(sources, ctx.clone(), jobs_tx, PollMode::Once));
    tokio::spawn(run_fetch(ctx.clone(), jobs_rx, pages_tx));
    let mut fast_pages = 0;
    while fast_pages < 30 {
        let page = within(pages_rx.recv()).await.expect("pages keep coming");
        assert_eq!(page.source, "fast", "nothing comes from the hung host");
        fast_pages += 1;
    }
    assert_eq!(
        slow_log.count("/a/0"),
        1,
        "the hung host holds one request, not every worker"
    );
    assert_eq!(slow_log.count("/a/1"), 0);
    ctx.stop.cancel();
    ctx.abort.cancel();
    hang.notify_waiters();
}

/// Regression: a page queued while a listing request held its host waited for the next job
/// to arrive, and in a daemon whose jobs had stopped coming, waited for ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_queued_while_a_listing_holds_its_host_is_fetched_when_it_ends() {
    let hang = Arc::new(tokio::sync::Notify::new());
    let (base, log) = news_host(2, Some(hang.clone())).await;
    let ctx = context(config());
    // A listing request (here of an article, which hangs) takes the host's one slot.
    let listing = {
        let ctx = ctx.clone();
        let url = format!("{base}/a/0");
        tokio::spawn(async move {
            ctx.fetcher
                .get(&url, Purpose::Listing, None, &ctx.stop, &ctx.abort)
                .await
        })
    };
    within(async {
        while log.count("/a/0") == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    // A page of the same host is queued meanwhile, and then no job comes.
    let (jobs_tx, jobs_rx) = mpsc::channel(4);
    let (pages_tx, _pages_rx) = mpsc::channel(4);
    let job = nichiro_model::RemoteJob {
        url: format!("{base}/a/1"),
        source: "s".into(),
        hints: Default::default(),
    };
    jobs_tx.send(FetchJob::Remote(job)).await.unwrap();
    tokio::spawn(run_fetch(ctx.clone(), jobs_rx, pages_tx));
    // Once the listing ends, the page is requested.
    within(async {
        while log.count("/a/1") == 0 {
            hang.notify_waiters();
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(listing.await.unwrap().is_ok());
    ctx.stop.cancel();
    ctx.abort.cancel();
    hang.notify_waiters();
    drop(jobs_tx);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_answers_are_handled_with_a_reason() {
    async fn looping(Path(n): Path<u32>) -> Response {
        (
            StatusCode::FOUND,
            [(header::LOCATION, format!("/loop/{}", (n + 1) % 2))],
        )
            .into_response()
    }
    async fn huge() -> Response {
        ([(header::CONTENT_TYPE, "text/html")], vec![b'x'; 2 << 20]).into_response()
    }
    async fn bomb() -> Response {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&vec![b' '; 64 << 20]).unwrap();
        let body = gz.finish().unwrap();
        (
            [
                (header::CONTENT_TYPE, "text/html"),
                (header::CONTENT_ENCODING, "gzip"),
            ],
            body,
        )
            .into_response()
    }
    async fn broken_feed() -> &'static str {
        "<rss><channel><item><title>unclosed"
    }
    async fn index(headers: HeaderMap) -> String {
        let base = format!("http://{}", headers[header::HOST].to_str().unwrap());
        format!(
            "<sitemapindex><sitemap><loc>{base}/missing.xml</loc></sitemap><sitemap><loc>{base}/s1.xml</loc></sitemap></sitemapindex>"
        )
    }
    async fn child(headers: HeaderMap) -> String {
        let base = format!("http://{}", headers[header::HOST].to_str().unwrap());
        format!(
            "<urlset><url><loc>{base}/loop/0</loc></url><url><loc>{base}/huge</loc></url><url><loc>{base}/bomb</loc></url><url><loc>{base}/ok</loc></url></urlset>"
        )
    }
    async fn ok() -> Response {
        ([(header::CONTENT_TYPE, "text/html")], article_html(7)).into_response()
    }
    let router = Router::new()
        .route("/loop/{n}", get(looping))
        .route("/huge", get(huge))
        .route("/bomb", get(bomb))
        .route("/broken-feed.xml", get(broken_feed))
        .route("/index.xml", get(index))
        .route("/s1.xml", get(child))
        .route("/ok", get(ok));
    let base = serve(router).await;
    let ctx = context(FetchConfig {
        obey_robots: false,
        max_body_bytes: 1 << 20,
        ..config()
    });
    let sources = compile(vec![
        source("feed", SourceKind::Feed, &format!("{base}/broken-feed.xml")),
        source("map", SourceKind::Sitemap, &format!("{base}/index.xml")),
    ]);
    let run = within(run_once(&ctx, sources)).await;
    // The one good page of the sitemap arrives; the broken feed is a failure with a reason.
    assert_eq!(run.pages.len(), 1);
    assert!(run.pages[0].final_url.ends_with("/ok"));
    assert_eq!(run.failures.len(), 1);
    assert!(
        run.failures[0].error.contains("cannot parse"),
        "{}",
        run.failures[0].error
    );
    let map = &ctx.stats.snapshot()["map"];
    // The missing child sitemap, the redirect loop, the oversize body and the gzip bomb.
    assert_eq!(map.failed, 4, "{map:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_loops_and_long_chains_are_given_up_not_retried() {
    // They were retried as if transient: 18 requests for one 30-hop chain.
    async fn hop(State(log): State<Log>, Path((kind, n)): Path<(String, u32)>) -> Response {
        log.record(&format!("/{kind}"));
        let next = match kind.as_str() {
            "loop" => (n + 1) % 2,
            _ if n < 30 => n + 1,
            _ => return ([(header::CONTENT_TYPE, "text/html")], article_html(1)).into_response(),
        };
        (
            StatusCode::FOUND,
            [(header::LOCATION, format!("/{kind}/{next}"))],
        )
            .into_response()
    }
    let log = Log::default();
    let base = serve(
        Router::new()
            .route("/{kind}/{n}", get(hop))
            .with_state(log.clone()),
    )
    .await;
    let ctx = context(FetchConfig {
        obey_robots: false,
        max_redirects: 5,
        ..config()
    });
    let urls = vec![format!("{base}/loop/0"), format!("{base}/chain/0")];
    let mut pages_rx = fetch_only(&ctx, urls).await;
    assert!(within(pages_rx.recv()).await.is_none(), "neither arrives");
    let counts = &ctx.stats.snapshot()["s"];
    assert_eq!((counts.failed, counts.retries), (2, 0));
    assert!(
        log.count("/loop") <= 6,
        "{} loop requests",
        log.count("/loop")
    );
    assert_eq!(log.count("/chain"), 6, "the first request and five hops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_redirect_hop_waits_its_hosts_turn_and_asks_its_robots_txt() {
    // Hops were followed inside one request: two 302s on one host went out 1 ms apart, and
    // a hop to a path robots.txt disallows was fetched.
    async fn hop(State(host): State<Host>, Path(n): Path<u32>) -> Response {
        host.log.record(&format!("/r/{n}"));
        let to = if n == 0 { "/r/1" } else { "/a/1" };
        (StatusCode::FOUND, [(header::LOCATION, to)]).into_response()
    }
    let (other, other_log) = news_host(1, None).await;
    let log = Log::default();
    let base = serve(
        Router::new()
            .route("/r/{n}", get(hop))
            .route("/a/{n}", get(article))
            .route("/robots.txt", get(robots))
            .with_state(Host {
                log: log.clone(),
                pages: 1,
                hang: None,
            }),
    )
    .await;
    let delay = Duration::from_millis(300);
    let fetcher = HttpFetcher::new(FetchConfig {
        per_host_delay_ms: delay.as_millis() as u64,
        ..config()
    })
    .unwrap();
    let (stop, abort) = (CancellationToken::new(), CancellationToken::new());
    for _ in 0..2 {
        let page = fetcher
            .get(&format!("{base}/r/0"), Purpose::Page, None, &stop, &abort)
            .await
            .unwrap();
        assert_eq!(page.final_url, format!("{base}/a/1"));
    }
    // Every request to the host, hops included, came at least the delay after the last.
    let times: Vec<Instant> = log
        .all()
        .into_iter()
        .filter(|(path, _)| path != "/robots.txt")
        .map(|(_, t)| t)
        .collect();
    assert_eq!(times.len(), 6, "two chains of three requests");
    for pair in times.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(gap >= delay, "two requests {gap:?} apart");
    }
    // A hop to another host asks that host's robots.txt, which bars it.
    let other_addr = other.trim_start_matches("http://").to_string();
    let error = {
        let router_base = serve(Router::new().route(
            "/go",
            get(move || {
                let to = format!("http://{other_addr}/private/1");
                async move { (StatusCode::FOUND, [(header::LOCATION, to)]).into_response() }
            }),
        ))
        .await;
        fetcher
            .get(
                &format!("{router_base}/go"),
                Purpose::Page,
                None,
                &stop,
                &abort,
            )
            .await
            .unwrap_err()
    };
    assert!(
        matches!(error, nichiro_fetch::FetchError::Robots { .. }),
        "{error}"
    );
    assert_eq!(other_log.count("/robots.txt"), 1);
    assert_eq!(
        other_log.count("/private/1"),
        0,
        "the barred hop was not fetched"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_request_goes_to_a_private_address_unless_allowed() {
    let (base, log) = news_host(2, None).await;
    let ctx = context(FetchConfig {
        allow_private_networks: PrivateNetworks::None,
        ..config()
    });
    let run = run_once(&ctx, compile(vec![feed_source("s", &base)])).await;
    assert!(run.pages.is_empty());
    assert!(
        run.failures[0].error.contains("private address"),
        "{}",
        run.failures[0].error
    );
    assert!(log.all().is_empty(), "the server saw no request");
    // A local name is refused too.
    let localhost = base.replace("127.0.0.1", "localhost");
    let run = run_once(&ctx, compile(vec![feed_source("l", &localhost)])).await;
    assert!(
        run.failures[0].error.contains("local name"),
        "{}",
        run.failures[0].error
    );
    assert!(log.all().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_index_and_its_children_are_polled_conditionally_and_a_changed_child_is_read() {
    // Only the configured sitemap kept validators, and an index's 304 skipped its children.
    #[derive(Clone)]
    struct Site {
        log: Log,
        /// The second child's version: 2 adds an article.
        version: Arc<std::sync::atomic::AtomicUsize>,
    }
    async fn sitemap(
        State(site): State<Site>,
        headers: HeaderMap,
        Path(name): Path<String>,
    ) -> Response {
        let base = format!("http://{}", headers[header::HOST].to_str().unwrap());
        let version = site.version.load(std::sync::atomic::Ordering::SeqCst);
        let (etag, body) = match name.as_str() {
            "index.xml" => (
                "\"i1\"".to_string(),
                format!(
                    "<sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\
                     <sitemap><loc>{base}/sitemaps/s1.xml</loc></sitemap>\
                     <sitemap><loc>{base}/sitemaps/s2.xml</loc></sitemap></sitemapindex>"
                ),
            ),
            "s1.xml" => ("\"a1\"".to_string(), urlset(&base, &[1])),
            _ => {
                let pages = if version == 1 { vec![2] } else { vec![2, 3] };
                (format!("\"b{version}\""), urlset(&base, &pages))
            }
        };
        let unchanged = headers
            .get(header::IF_NONE_MATCH)
            .is_some_and(|v| v.to_str().unwrap() == etag);
        site.log
            .record(&format!("/{name} {}", if unchanged { 304 } else { 200 }));
        if unchanged {
            return StatusCode::NOT_MODIFIED.into_response();
        }
        ([(header::ETAG, etag)], body).into_response()
    }
    fn urlset(base: &str, pages: &[usize]) -> String {
        let urls: String = pages
            .iter()
            .map(|n| format!("<url><loc>{base}/a/{n}</loc></url>"))
            .collect();
        format!("<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">{urls}</urlset>")
    }
    async fn page(Path(n): Path<usize>) -> Response {
        ([(header::CONTENT_TYPE, "text/html")], article_html(n)).into_response()
    }
    let site = Site {
        log: Log::default(),
        version: Arc::new(std::sync::atomic::AtomicUsize::new(1)),
    };
    let base = serve(
        Router::new()
            .route("/sitemaps/{name}", get(sitemap))
            .route("/a/{n}", get(page))
            .with_state(site.clone()),
    )
    .await;
    let ctx = context(FetchConfig {
        obey_robots: false,
        ..config()
    });
    let sitemap_source = source(
        "s",
        SourceKind::Sitemap,
        &format!("{base}/sitemaps/index.xml"),
    );
    let answers = |from: usize| -> Vec<String> {
        site.log.all()[from..]
            .iter()
            .map(|(p, _)| p.clone())
            .collect()
    };
    let run = run_once(&ctx, compile(vec![sitemap_source])).await;
    assert_eq!(run.pages.len(), 2, "{:?}", run.failures);
    assert_eq!(answers(0), ["/index.xml 200", "/s1.xml 200", "/s2.xml 200"]);
    // Unchanged: three 304s, nothing listed.
    let run = run_once(&ctx, run.sources).await;
    assert!(run.pages.is_empty());
    assert_eq!(answers(3), ["/index.xml 304", "/s1.xml 304", "/s2.xml 304"]);
    // A child changed under an unchanged index: it alone is read, its new article fetched.
    site.version.store(2, std::sync::atomic::Ordering::SeqCst);
    let run = run_once(&ctx, run.sources).await;
    assert_eq!(answers(6), ["/index.xml 304", "/s1.xml 304", "/s2.xml 200"]);
    let fetched: Vec<&str> = run.pages.iter().map(|p| p.requested_url.as_str()).collect();
    assert_eq!(fetched, [format!("{base}/a/3")]);
    // What a backfill saves for the next run holds every sitemap's validators.
    let saved = run.sources[0].sitemaps();
    assert_eq!(saved.len(), 3);
    assert_eq!(
        saved[&format!("{base}/sitemaps/s2.xml")].etag.as_deref(),
        Some("\"b2\"")
    );
    assert_eq!(
        saved[&format!("{base}/sitemaps/index.xml")].children.len(),
        2
    );
    // The root's validators saved by a release that did not remember children: the index is
    // asked in full, or its 304 would hide them.
    let upgraded = Source::new(source(
        "s",
        SourceKind::Sitemap,
        &format!("{base}/sitemaps/index.xml"),
    ))
    .unwrap()
    .with_validators(Validators {
        etag: Some("\"i1\"".into()),
        last_modified: None,
    });
    let from = site.log.all().len();
    let fresh = context(FetchConfig {
        obey_robots: false,
        ..config()
    });
    run_once(&fresh, vec![upgraded]).await;
    assert_eq!(
        answers(from),
        ["/index.xml 200", "/s1.xml 200", "/s2.xml 200"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_that_keeps_failing_in_passing_is_given_up_after_so_many_fetches() {
    // A page that always answered 500 was fetched again on every poll, for ever.
    async fn feed(headers: HeaderMap) -> Response {
        let base = format!("http://{}", headers[header::HOST].to_str().unwrap());
        let body = format!(
            "<rss version=\"2.0\"><channel><title>t</title><link>{base}</link>\
             <item><title>bad</title><link>{base}/bad</link></item></channel></rss>"
        );
        ([(header::CONTENT_TYPE, "application/rss+xml")], body).into_response()
    }
    async fn bad(State(log): State<Log>) -> Response {
        log.record("/bad");
        StatusCode::INTERNAL_SERVER_ERROR.into_response()
    }
    let log = Log::default();
    let base = serve(
        Router::new()
            .route("/feed.xml", get(feed))
            .route("/bad", get(bad))
            .with_state(log.clone()),
    )
    .await;
    let ctx = context(FetchConfig {
        obey_robots: false,
        max_retries: 0,
        max_failed_fetches: 3,
        ..config()
    });
    let mut sources = compile(vec![feed_source("s", &base)]);
    for _ in 0..5 {
        sources = run_once(&ctx, sources).await.sources;
    }
    assert_eq!(log.count("/bad"), 3, "three fetches, then given up");
    let given_up = ctx.stats.take_given_up();
    assert_eq!(given_up.len(), 1);
    assert!(
        given_up[0].reason.starts_with("failed 3 times"),
        "{}",
        given_up[0].reason
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allowed_private_host_cannot_lead_to_another_private_address() {
    // With `allow_private_networks = true` (all or nothing), a 302 to 10.0.0.1 was followed.
    let base = serve(Router::new().route(
        "/jump",
        get(|| async { (StatusCode::FOUND, [(header::LOCATION, "http://10.0.0.1/x")]) }),
    ))
    .await;
    let config: FetchConfig =
        toml::from_str("allow_private_networks = [\"127.0.0.1\"]\nobey_robots = false").unwrap();
    let fetcher = HttpFetcher::new(config).unwrap();
    let (stop, abort) = (CancellationToken::new(), CancellationToken::new());
    let error = fetcher
        .get(&format!("{base}/jump"), Purpose::Page, None, &stop, &abort)
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("10.0.0.1 is a private address"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_pages_on_twenty_hosts_are_fetched_once_each_at_the_hosts_pace() {
    const HOSTS: usize = 20;
    const PAGES: usize = 100;
    const DELAY: Duration = Duration::from_millis(20);
    let mut hosts = Vec::new();
    for _ in 0..HOSTS {
        hosts.push(news_host(PAGES, None).await);
    }
    let ctx = context(FetchConfig {
        concurrency: 8,
        per_host_delay_ms: DELAY.as_millis() as u64,
        ..config()
    });
    let sources = compile(
        hosts
            .iter()
            .enumerate()
            .map(|(i, (base, _))| feed_source(&format!("h{i}"), base))
            .collect(),
    );
    let run = within(run_once(&ctx, sources)).await;
    assert_eq!(run.pages.len(), HOSTS * PAGES);
    for (_, log) in &hosts {
        for n in 0..PAGES {
            assert_eq!(
                log.count(&format!("/a/{n}")),
                1,
                "each page is fetched exactly once"
            );
        }
        // Requests to one host never come closer together than the delay (robots.txt is
        // fetched right before the host's first request, as one visit).
        let times: Vec<Instant> = log
            .all()
            .into_iter()
            .filter(|(p, _)| p != "/robots.txt")
            .map(|(_, t)| t)
            .collect();
        let closest = times.windows(2).map(|w| w[1] - w[0]).min().unwrap();
        assert!(
            closest >= DELAY,
            "two requests to one host came {closest:?} apart"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_home_page_leads_to_its_json_feed_and_robots_txt_to_its_sitemaps() {
    async fn home() -> Response {
        let html = "<!DOCTYPE html><html><head><title>Home</title>\
                    <link rel=\"alternate\" type=\"application/feed+json\" href=\"/feed.json\"></head><body>Hi</body></html>";
        ([(header::CONTENT_TYPE, "text/html")], html).into_response()
    }
    async fn json_feed(headers: HeaderMap) -> Response {
        let base = format!("http://{}", headers[header::HOST].to_str().unwrap());
        let body = format!(
            r#"{{"version": "https://jsonfeed.org/version/1.1", "title": "t",
               "items": [{{"id": "1", "url": "{base}/a/1", "title": "One", "date_published": "2019-05-31T10:00:00+09:00"}},
                         {{"id": "2", "url": "{base}/a/2", "title": "Two"}}]}}"#
        );
        ([(header::CONTENT_TYPE, "application/feed+json")], body).into_response()
    }
    static ROBOTS_REQUESTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    async fn robots_with_sitemap(headers: HeaderMap) -> String {
        ROBOTS_REQUESTS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        format!(
            "User-agent: *\nAllow: /\nSitemap: http://{}/sitemap.xml\n",
            headers[header::HOST].to_str().unwrap()
        )
    }
    async fn sitemap(headers: HeaderMap) -> String {
        let base = format!("http://{}", headers[header::HOST].to_str().unwrap());
        format!("<urlset><url><loc>{base}/a/3</loc></url><url><loc>{base}/a/4</loc></url></urlset>")
    }
    async fn page(Path(n): Path<usize>) -> Response {
        ([(header::CONTENT_TYPE, "text/html")], article_html(n)).into_response()
    }
    let router = Router::new()
        .route("/", get(home))
        .route("/feed.json", get(json_feed))
        .route("/robots.txt", get(robots_with_sitemap))
        .route("/sitemap.xml", get(sitemap))
        .route("/a/{n}", get(page));
    let base = serve(router).await;
    let ctx = context(config());
    let sources = compile(vec![
        source("home", SourceKind::Feed, &format!("{base}/")),
        source("robots", SourceKind::Sitemap, &format!("{base}/robots.txt")),
    ]);
    let run = within(run_once(&ctx, sources)).await;
    assert_no_failure_and_pages(&run, &base, 1..=4);
    let one = run
        .pages
        .iter()
        .find(|p| p.requested_url.ends_with("/a/1"))
        .unwrap();
    assert_eq!(one.hints.title.as_deref(), Some("One"));
    assert_eq!(
        one.hints.published.unwrap().to_rfc3339(),
        "2019-05-31T01:00:00+00:00"
    );
    // The sitemap source read the robots.txt the page fetches had read: one request.
    assert_eq!(
        ROBOTS_REQUESTS.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "robots.txt fetched once for the host"
    );
    // The discovered feed is remembered: the next poll goes straight to it.
    let home = run.sources.iter().find(|s| s.name() == "home").unwrap();
    assert_eq!(
        home.discovered_feed(),
        Some(format!("{base}/feed.json").as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sitemap_robots_txt_names_is_read_whatever_its_form() {
    // A plain-text sitemap was "empty document" and its failure stopped the next sitemap
    // robots.txt names from being read; feeds named as sitemaps were ignored; an index inside
    // an index was not followed.
    fn base(headers: &HeaderMap) -> String {
        format!("http://{}", headers[header::HOST].to_str().unwrap())
    }
    async fn robots(headers: HeaderMap) -> String {
        let b = base(&headers);
        format!(
            "User-agent: *\nAllow: /\nSitemap: {b}/missing.xml\nSitemap: {b}/plain.txt\n\
             Sitemap: {b}/news.rss\nSitemap: {b}/index.xml\n"
        )
    }
    async fn plain(headers: HeaderMap) -> String {
        let b = base(&headers);
        format!("{b}/a/1\n{b}/a/2\n")
    }
    async fn news(headers: HeaderMap) -> String {
        let b = base(&headers);
        format!(
            "<rss version=\"2.0\"><channel><title>t</title><item><title>Three</title>\
             <link>{b}/a/3</link></item></channel></rss>"
        )
    }
    async fn index(headers: HeaderMap, Path(level): Path<usize>) -> String {
        let b = base(&headers);
        // Two indexes, the second naming the first again (a loop, read once), then a leaf.
        let children = match level {
            1 => format!("<sitemap><loc>{b}/index/2</loc></sitemap>"),
            _ => format!(
                "<sitemap><loc>{b}/index/1</loc></sitemap><sitemap><loc>{b}/leaf.xml</loc></sitemap>"
            ),
        };
        format!("<sitemapindex>{children}</sitemapindex>")
    }
    async fn index_root(headers: HeaderMap) -> String {
        format!(
            "<sitemapindex><sitemap><loc>{}/index/1</loc></sitemap></sitemapindex>",
            base(&headers)
        )
    }
    async fn leaf(headers: HeaderMap) -> String {
        format!(
            "<urlset><url><loc>{}/a/4</loc></url></urlset>",
            base(&headers)
        )
    }
    async fn page(Path(n): Path<usize>) -> Response {
        ([(header::CONTENT_TYPE, "text/html")], article_html(n)).into_response()
    }
    let router = Router::new()
        .route("/robots.txt", get(robots))
        .route("/plain.txt", get(plain))
        .route("/news.rss", get(news))
        .route("/index.xml", get(index_root))
        .route("/index/{level}", get(index))
        .route("/leaf.xml", get(leaf))
        .route("/a/{n}", get(page));
    let base = serve(router).await;
    let ctx = context(config());
    let sources = compile(vec![source(
        "robots",
        SourceKind::Sitemap,
        &format!("{base}/robots.txt"),
    )]);
    let run = within(run_once(&ctx, sources)).await;
    assert_no_failure_and_pages(&run, &base, 1..=4);
    let three = run.pages.iter().find(|p| p.requested_url.ends_with("/a/3"));
    assert_eq!(three.unwrap().hints.title.as_deref(), Some("Three"));
    // The missing sitemap is one failure, counted, not the end of the poll.
    assert_eq!(ctx.stats.snapshot()["robots"].failed, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_section_page_yields_the_links_its_patterns_pick() {
    async fn section() -> Response {
        let html = r#"<html><body><nav><a href="/">Home</a><a href="/world/">World</a></nav>
            <ul class="list"><li><a href="/world/2019/05/31/a.html">A</a></li>
            <li><a href="/world/2019/06/01/b.html">B</a></li>
            <li><a href="https://elsewhere.example/world/2019/06/02/c.html">C</a></li></ul>
            <a href="/about">About</a></body></html>"#;
        ([(header::CONTENT_TYPE, "text/html")], html).into_response()
    }
    async fn page(Path((_y, _m, _d, slug)): Path<(String, String, String, String)>) -> Response {
        (
            [(header::CONTENT_TYPE, "text/html")],
            article_html(slug.len()),
        )
            .into_response()
    }
    let router = Router::new()
        .route("/world/", get(section))
        .route("/world/{y}/{m}/{d}/{slug}", get(page));
    let base = serve(router).await;
    let ctx = context(FetchConfig {
        obey_robots: false,
        ..config()
    });
    let mut page_source = source("world", SourceKind::Page, &format!("{base}/world/"));
    page_source.include = vec![r"/world/\d{4}/\d{2}/\d{2}/".into()];
    let run = within(run_once(&ctx, compile(vec![page_source]))).await;
    let mut urls: Vec<&str> = run.pages.iter().map(|p| p.requested_url.as_str()).collect();
    urls.sort();
    assert_eq!(
        urls,
        [
            format!("{base}/world/2019/05/31/a.html"),
            format!("{base}/world/2019/06/01/b.html")
        ]
    );
    // Home, World and About fail the pattern; the off-site link is never considered.
    assert_eq!(ctx.stats.snapshot()["world"].filtered, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_keeps_failing_is_backed_off() {
    #[derive(Clone, Default)]
    struct Failing {
        log: Log,
    }
    async fn fail(State(failing): State<Failing>, Path(n): Path<usize>) -> StatusCode {
        failing.log.record(&format!("/a/{n}"));
        StatusCode::INTERNAL_SERVER_ERROR
    }
    async fn feed_of_ten(headers: HeaderMap) -> String {
        let base = format!("http://{}", headers[header::HOST].to_str().unwrap());
        let items: String = (0..10)
            .map(|n| format!("<item><link>{base}/a/{n}</link></item>"))
            .collect();
        format!(
            "<rss version=\"2.0\"><channel><title>t</title><link>{base}</link><description>d</description>{items}</channel></rss>"
        )
    }
    let failing = Failing::default();
    let router = Router::new()
        .route("/feed.xml", get(feed_of_ten))
        .route("/a/{n}", get(fail))
        .with_state(failing.clone());
    let base = serve(router).await;
    let ctx = context(FetchConfig {
        obey_robots: false,
        max_retries: 0,
        host_failure_threshold: 3,
        host_cooldown_secs: 300,
        ..config()
    });
    let run = within(run_once(&ctx, compile(vec![feed_source("s", &base)]))).await;
    assert!(run.pages.is_empty());
    let requests = failing.log.all().len();
    assert_eq!(
        requests, 3,
        "after three failures in a row the host is left alone"
    );
    assert_eq!(
        ctx.stats.snapshot()["s"].failed,
        10,
        "every page is accounted for"
    );
    let backed_off = ctx.stats.hosts_backed_off();
    assert_eq!(backed_off.len(), 1, "and the backoff is reported");
    assert_eq!(backed_off[0].origin, base);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crawl_delay_spaces_the_requests() {
    #[derive(Clone, Default)]
    struct Slow {
        log: Log,
    }
    async fn robots_with_delay() -> &'static str {
        "User-agent: *\nCrawl-delay: 1\n"
    }
    async fn page(State(slow): State<Slow>, Path(n): Path<usize>) -> Response {
        slow.log.record("/a");
        ([(header::CONTENT_TYPE, "text/html")], article_html(n)).into_response()
    }
    let slow = Slow::default();
    let router = Router::new()
        .route("/robots.txt", get(robots_with_delay))
        .route("/a/{n}", get(page))
        .with_state(slow.clone());
    let base = serve(router).await;
    let ctx = context(config());
    let mut pages_rx = fetch_only(&ctx, (0..3).map(|n| format!("{base}/a/{n}")).collect()).await;
    for _ in 0..3 {
        within(pages_rx.recv()).await.expect("a page");
    }
    let times = slow.log.times("/a");
    for pair in times.windows(2) {
        assert!(
            pair[1] - pair[0] >= Duration::from_secs(1),
            "{:?} apart",
            pair[1] - pair[0]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_server_is_given_up_after_the_read_timeout() {
    let hang = Arc::new(tokio::sync::Notify::new());
    let (base, log) = news_host(1, Some(hang.clone())).await;
    let ctx = context(FetchConfig {
        read_timeout_secs: 1,
        max_retries: 0,
        ..config()
    });
    let run = within(run_once(&ctx, compile(vec![feed_source("s", &base)]))).await;
    assert!(run.pages.is_empty());
    assert_eq!(log.count("/a/0"), 1);
    assert_eq!(ctx.stats.snapshot()["s"].failed, 1);
    hang.notify_waiters();
}

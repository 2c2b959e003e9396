use std::collections::HashMap;
use std::path::Path;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use nichiro_model::{Article, DuplicateOf, TaggedArticle, Tags, TopicTag};
use nichiro_store::SqliteStore;

use super::*;

/// A webhook on 127.0.0.1 that answers 500 to the first try of each alert whose URL ends in
/// `-flaky`, 400 to URLs ending in `-refused`, and 200 otherwise, counting what it took.
#[derive(Clone, Default)]
struct Receiver {
    /// Idempotency key → the bodies taken (answered 200).
    taken: Arc<Mutex<HashMap<String, Vec<serde_json::Value>>>>,
    /// Tries answered 500.
    failed: Arc<Mutex<usize>>,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: String) -> StatusCode {
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    let key = headers["idempotency-key"].to_str().unwrap().to_string();
    assert_eq!(body["idempotency_key"], key);
    let url = body["url"].as_str().unwrap().to_string();
    if url.ends_with("-refused") {
        return StatusCode::BAD_REQUEST;
    }
    if url.ends_with("-flaky") {
        let mut failed = r.failed.lock().unwrap();
        if *failed == 0 {
            *failed += 1;
            return StatusCode::INTERNAL_SERVER_ERROR;
        }
    }
    r.taken.lock().unwrap().entry(key).or_default().push(body);
    StatusCode::OK
}

impl Receiver {
    async fn start() -> (Receiver, String) {
        let receiver = Receiver::default();
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (receiver, format!("http://{addr}/hook"))
    }

    fn urls(&self) -> Vec<(String, usize)> {
        let mut urls: Vec<(String, usize)> = self
            .taken
            .lock()
            .unwrap()
            .values()
            .map(|bodies| (bodies[0]["url"].as_str().unwrap().to_string(), bodies.len()))
            .collect();
        urls.sort();
        urls
    }
}

fn article(slug: &str, topic: &str, copies: Option<&str>) -> TaggedArticle {
    let mut article = Article::empty(format!("https://news.example.org/{slug}"));
    article.title = Some(format!("Story {slug}"));
    article.language = Some("ru".into());
    TaggedArticle {
        article,
        tags: Tags {
            relevant: true,
            relevance: 0.9,
            topics: vec![TopicTag {
                topic: topic.into(),
                score: 0.8,
                evidence: vec![],
            }],
            duplicate_of: copies.map(|id| DuplicateOf {
                id: format!("https://news.example.org/{id}"),
                shared: 0.9,
            }),
            ..Tags::default()
        },
        source: "tass".into(),
        requested_url: format!("https://news.example.org/{slug}"),
        fetched_at: chrono::Utc::now(),
        raw_page: None,
    }
}

fn alert(webhook: Option<String>, file: Option<&Path>) -> AlertConfig {
    AlertConfig {
        name: "islands".into(),
        min_relevance: 0.5,
        topics: vec!["territorial-dispute".into()],
        languages: vec![],
        sources: vec![],
        skip_copies: true,
        webhook,
        file: file.map(Path::to_path_buf),
        max_attempts: 3,
        retry_base_ms: 1,
    }
}

/// The alerter over the store at `path`, until stopped.
fn start(
    alerts: Vec<AlertConfig>,
    path: &Path,
) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let store = SqliteStore::open(path).unwrap();
    let stop = CancellationToken::new();
    let until = stop.clone();
    let task = tokio::spawn(async move {
        let alerter = Alerter::new(alerts, Box::new(store), "test".into(), Duration::ZERO)
            .await
            .unwrap();
        alerter.run(Duration::from_millis(20), until).await.unwrap()
    });
    (stop, task)
}

fn insert(path: &Path, articles: &[TaggedArticle]) {
    SqliteStore::open(path)
        .unwrap()
        .insert_batch(articles)
        .unwrap();
}

/// Waits (two minutes at most) until `done` holds.
async fn until(done: impl Fn() -> bool) {
    tokio::time::timeout(Duration::from_secs(120), async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("it came to pass");
}

/// Waits until the alert "islands" has taken its starting point in the store at `path`.
async fn started(path: &Path) {
    until(|| {
        SqliteStore::open(path)
            .unwrap()
            .alert_cursor("islands")
            .unwrap()
            .is_some()
    })
    .await;
}

#[tokio::test]
async fn each_qualifying_article_is_posted_once_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.sqlite");
    let (receiver, hook) = Receiver::start().await;
    // Stored before the alert first ran: not alerted.
    insert(&path, &[article("old", "territorial-dispute", None)]);
    let (stop, task) = start(vec![alert(Some(hook.clone()), None)], &path);
    // Wait for the alerter to take its starting point, then store: one qualifying, one of
    // another topic, one copying the first, and one the webhook fails once.
    started(&path).await;
    insert(
        &path,
        &[
            article("a", "territorial-dispute", None),
            article("b", "economy-energy-trade", None),
            article("a-copy", "territorial-dispute", Some("a")),
            article("c-flaky", "territorial-dispute", None),
            article("d-refused", "territorial-dispute", None),
        ],
    );
    until(|| receiver.urls().len() == 2).await;
    stop.cancel();
    task.await.unwrap();
    // Restarted: nothing sent again; a new article is.
    let (stop, task) = start(vec![alert(Some(hook), None)], &path);
    insert(&path, &[article("e", "territorial-dispute", None)]);
    until(|| receiver.urls().len() == 3).await;
    // What was stored by the end of the first run was looked at once.
    until(|| {
        let store = SqliteStore::open(&path).unwrap();
        store.alert_cursor("islands").unwrap() == Some(store.last_article_number().unwrap())
    })
    .await;
    stop.cancel();
    task.await.unwrap();
    assert_eq!(
        receiver.urls(),
        [
            ("https://news.example.org/a".to_string(), 1),
            ("https://news.example.org/c-flaky".to_string(), 1),
            ("https://news.example.org/e".to_string(), 1),
        ]
    );
    assert_eq!(
        *receiver.failed.lock().unwrap(),
        1,
        "the flaky one was tried again"
    );
    let store = SqliteStore::open(&path).unwrap();
    let outcome = |slug: &str| {
        store
            .alert_outcome("islands", &format!("https://news.example.org/{slug}"))
            .unwrap()
    };
    assert_eq!(outcome("a").as_deref(), Some("sent"));
    assert!(outcome("a-copy").unwrap().starts_with("not sent: copies"));
    assert!(
        outcome("d-refused").unwrap().contains("HTTP 400"),
        "{:?}",
        outcome("d-refused")
    );
    assert_eq!(outcome("b"), None);
    assert_eq!(outcome("old"), None);
    let taken = receiver.taken.lock().unwrap();
    let body = &taken[&idempotency_key("islands", "https://news.example.org/a")][0];
    assert_eq!(body["title"], "Story a");
    assert_eq!(body["topics"][0][0], "territorial-dispute");
    assert!(body["id"].as_i64().unwrap() > 0);
}

#[tokio::test]
async fn a_file_alert_appends_one_line_per_article() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.sqlite");
    let file = dir.path().join("alerts.jsonl");
    insert(&path, &[]);
    let (stop, task) = start(vec![alert(None, Some(&file))], &path);
    started(&path).await;
    insert(
        &path,
        &[
            article("x", "territorial-dispute", None),
            article("y", "territorial-dispute", None),
        ],
    );
    let lines = || {
        std::fs::read_to_string(&file)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["url"].to_string())
            .collect::<Vec<_>>()
    };
    until(|| lines().len() == 2).await;
    stop.cancel();
    task.await.unwrap();
    assert_eq!(
        lines(),
        [
            "\"https://news.example.org/x\"",
            "\"https://news.example.org/y\""
        ]
    );
}

#[tokio::test]
async fn an_alert_another_daemon_holds_is_sent_once_its_claim_runs_out_not_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.sqlite");
    let (receiver, hook) = Receiver::start().await;
    insert(&path, &[]);
    let (stop, task) = start(vec![alert(Some(hook), None)], &path);
    started(&path).await;
    // Another daemon claimed the article's alert (and died): its claim runs out in 2 s.
    let url = "https://news.example.org/held";
    SqliteStore::open(&path)
        .unwrap()
        .claim(
            &format!("alert:islands:{url}"),
            "other",
            Duration::from_secs(2),
        )
        .unwrap();
    insert(&path, &[article("held", "territorial-dispute", None)]);
    until(|| receiver.urls().len() == 1).await;
    stop.cancel();
    task.await.unwrap();
    assert_eq!(receiver.urls(), [(url.to_string(), 1)]);
}

#[test]
fn a_claim_outlasts_every_try_of_its_alert() {
    let mut slow = alert(Some("http://127.0.0.1:9/hook".into()), None);
    slow.max_attempts = 100;
    slow.retry_base_ms = 300_000;
    // 100 tries of 10 s, 99 waits of 5 min.
    assert_eq!(
        deliver::longest_send(&slow),
        Duration::from_secs(100 * 10 + 99 * 300)
    );
}

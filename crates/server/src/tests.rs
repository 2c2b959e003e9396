use std::sync::atomic::{AtomicBool, Ordering};

use axum::body::Body;
use axum::http::Request;
use chrono::DateTime;
use nichiro_model::{Article, SourcePoll, TaggedArticle, Tags, TopicTag};
use nichiro_store::SqliteStore;
use tower::ServiceExt;

use super::*;

/// A daemon whose readiness a test sets.
pub(crate) struct FakeLive {
    ready: AtomicBool,
}

impl Live for FakeLive {
    fn not_ready(&self) -> Option<String> {
        (!self.ready.load(Ordering::SeqCst)).then(|| "still starting".to_string())
    }

    fn record_metrics(&self) {
        metrics::counter!("nichiro_pages_fetched_total").absolute(7);
        metrics::gauge!("nichiro_queue_depth", "queue" => "pages").set(3.0);
    }
}

pub(crate) fn article(n: usize, day: u32, topics: &[&str], text: &str) -> TaggedArticle {
    let mut a = Article::empty(format!("https://news.example.org/{n}"));
    a.title = Some(format!("Article {n}"));
    a.text = text.to_string();
    a.language = Some("ru".into());
    a.published = DateTime::parse_from_rfc3339(&format!("2026-11-{day:02}T10:00:00+03:00")).ok();
    TaggedArticle {
        article: a,
        tags: Tags {
            relevant: !topics.is_empty(),
            relevance: if topics.is_empty() { 0.05 } else { 0.9 },
            topics: topics
                .iter()
                .map(|t| TopicTag {
                    topic: t.to_string(),
                    score: 0.7,
                    evidence: vec!["Курильские острова".into()],
                })
                .collect(),
            ..Tags::default()
        },
        source: "tass".into(),
        requested_url: format!("https://news.example.org/{n}?utm_source=rss"),
        fetched_at: chrono::Utc::now(),
        raw_page: None,
    }
}

/// A server over a store of five articles (2 and 4 relevant, about the islands), with
/// sources `tass` (polled, failing twice) and `nhk` (never polled).
pub(crate) fn server(ready: bool) -> (Router, Arc<FakeLive>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(&dir.path().join("s.sqlite")).unwrap();
    let islands = "Курильские острова и мирный договор.";
    let batch: Vec<TaggedArticle> = (1..=5)
        .map(|n| match n {
            2 | 4 => article(n, n as u32, &["territorial-dispute"], islands),
            _ => article(n, n as u32, &[], "Биржи выросли."),
        })
        .collect();
    store.insert_batch(&batch).unwrap();
    store
        .record_poll(
            "tass",
            &SourcePoll {
                polled_at: chrono::Utc::now(),
                next_poll_at: None,
                failures: 2,
                last_error: Some("HTTP 503".into()),
                failing_since: Some(chrono::Utc::now() - chrono::Duration::minutes(30)),
            },
        )
        .unwrap();
    let live = Arc::new(FakeLive {
        ready: AtomicBool::new(ready),
    });
    let sources = ["tass", "nhk"]
        .map(|name| SourceInfo {
            name: name.into(),
            kind: "feed".into(),
            enabled: true,
            monitored: true,
        })
        .to_vec();
    let state = ServerState::new(
        ServerConfig::default(),
        Box::new(store),
        live.clone(),
        sources,
        "1.2.3",
    );
    (router(Arc::new(state)), live, dir)
}

/// The routes over `store`, with a ready daemon and one source, `tass`.
pub(crate) fn router_over(store: SqliteStore) -> Router {
    let live = Arc::new(FakeLive {
        ready: AtomicBool::new(true),
    });
    let sources = vec![SourceInfo {
        name: "tass".into(),
        kind: "feed".into(),
        enabled: true,
        monitored: true,
    }];
    let state = ServerState::new(ServerConfig::default(), Box::new(store), live, sources, "1");
    router(Arc::new(state))
}

pub(crate) async fn get(app: &Router, uri: &str) -> (StatusCode, String) {
    let response = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 10 << 20)
        .await
        .unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

async fn get_json(app: &Router, uri: &str) -> (StatusCode, serde_json::Value) {
    let (status, body) = get(app, uri).await;
    (status, serde_json::from_str(&body).unwrap())
}

#[tokio::test]
async fn health_is_always_and_readiness_only_once_started() {
    let (app, live, _dir) = server(false);
    assert_eq!(get(&app, "/healthz").await.0, StatusCode::OK);
    let (status, body) = get(&app, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("still starting"), "{body}");
    live.ready.store(true, Ordering::SeqCst);
    assert_eq!(
        get(&app, "/readyz").await,
        (StatusCode::OK, "ready\n".into())
    );
    let (status, body) = get_json(&app, "/nowhere").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["error"].as_str().unwrap().contains("/healthz"));
}

#[tokio::test]
async fn metrics_come_from_the_daemon_the_store_and_the_build() {
    let (app, _live, _dir) = server(true);
    let (status, text) = get(&app, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    for line in [
        "nichiro_pages_fetched_total 7",
        "nichiro_queue_depth{queue=\"pages\"} 3",
        "nichiro_build_info{version=\"1.2.3\"} 1",
        "nichiro_source_failures_in_a_row{source=\"tass\"} 2",
        "nichiro_source_stale{source=\"tass\"} 0",
        "# TYPE nichiro_pages_fetched_total counter",
    ] {
        assert!(text.contains(line), "{line} missing from:\n{text}");
    }
    assert!(text.contains("nichiro_source_last_poll_timestamp_seconds{source=\"tass\"} "));
    assert!(
        !text.contains("nichiro_source_failures_in_a_row{source=\"nhk\"}"),
        "never polled: no poll figures\n{text}"
    );
}

#[tokio::test]
async fn articles_are_listed_newest_first_filtered_and_paged() {
    let (app, _live, _dir) = server(true);
    let (status, page) = get_json(&app, "/api/articles?limit=2").await;
    assert_eq!(status, StatusCode::OK);
    let titles = |page: &serde_json::Value| -> Vec<String> {
        page["articles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["title"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(titles(&page), ["Article 5", "Article 4"]);
    let cursor = page["next_cursor"].as_i64().unwrap();
    let (_, second) = get_json(&app, &format!("/api/articles?limit=2&cursor={cursor}")).await;
    assert_eq!(titles(&second), ["Article 3", "Article 2"]);
    let cursor = second["next_cursor"].as_i64().unwrap();
    let (_, last) = get_json(&app, &format!("/api/articles?limit=2&cursor={cursor}")).await;
    assert_eq!(titles(&last), ["Article 1"]);
    assert!(last.get("next_cursor").is_none(), "{last}");
    // Filters as `list`, and words.
    let (_, relevant) = get_json(&app, "/api/articles?relevant=true").await;
    assert_eq!(titles(&relevant), ["Article 4", "Article 2"]);
    assert_eq!(
        relevant["articles"][0]["topics"][0]["topic"],
        "territorial-dispute"
    );
    let (_, topic) = get_json(
        &app,
        "/api/articles?topic=territorial-dispute&until=2026-11-03",
    )
    .await;
    assert_eq!(titles(&topic), ["Article 2"]);
    let q = "/api/articles?q=%D0%BA%D1%83%D1%80%D0%B8%D0%BB%D1%8C%D1%81%D0%BA%D0%B8%D1%85";
    let (_, words) = get_json(&app, q).await;
    assert_eq!(titles(&words), ["Article 4", "Article 2"]);
    let (_, none) = get_json(&app, "/api/articles?language=ja").await;
    assert_eq!(titles(&none), Vec::<String>::new());
    // Bad requests say what is wrong.
    for (uri, says) in [
        ("/api/articles?since=yesterday", "since"),
        ("/api/articles?limit=0", "limit"),
        ("/api/articles?relevant=maybe", "relevant"),
        ("/api/articles?colour=red", "colour"),
    ] {
        let (status, body) = get_json(&app, uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(
            body["error"].as_str().unwrap().contains(says),
            "{uri}: {body}"
        );
    }
}

#[tokio::test]
async fn one_article_is_given_whole_by_its_id() {
    let (app, _live, _dir) = server(true);
    let (_, page) = get_json(&app, "/api/articles?relevant=true&limit=1").await;
    let id = page["articles"][0]["id"].as_i64().unwrap();
    let (status, whole) = get_json(&app, &format!("/api/articles/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(whole["id"], id);
    assert_eq!(whole["url"], "https://news.example.org/4");
    assert_eq!(whole["text"], "Курильские острова и мирный договор.");
    assert_eq!(whole["topics"][0]["evidence"][0], "Курильские острова");
    let (status, _) = get_json(&app, "/api/articles/999999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = get_json(&app, "/api/articles/abc").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap().contains("abc"));
}

#[tokio::test]
async fn sources_show_their_last_poll_and_health() {
    let (app, _live, _dir) = server(true);
    let (status, sources) = get_json(&app, "/api/sources").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(sources[0]["name"], "tass");
    assert_eq!(sources[0]["status"], "failing");
    assert_eq!(sources[0]["failures"], 2);
    assert_eq!(sources[0]["last_error"], "HTTP 503");
    assert!(sources[0]["failing_since"].is_string());
    assert_eq!(
        sources[0]["freshness"]["state"], "learning",
        "5 articles teach no rhythm"
    );
    assert_eq!(sources[1]["name"], "nhk");
    assert_eq!(sources[1]["status"], "never polled");
    assert!(sources[1]["last_poll"].is_null());
}

#[test]
fn a_source_whose_poll_is_long_overdue_is_slow() {
    let now = chrono::Utc::now();
    let poll = |next_in_minutes: i64, failures: u64| SourcePoll {
        polled_at: now - chrono::Duration::hours(1),
        next_poll_at: Some(now + chrono::Duration::minutes(next_in_minutes)),
        failures,
        last_error: None,
        failing_since: None,
    };
    let judged = |poll: SourcePoll| Judged {
        source: SourceInfo {
            name: "tass".into(),
            kind: "feed".into(),
            enabled: true,
            monitored: true,
        },
        poll: Some(poll),
        freshness: freshness::assess(&[], None, &ServerConfig::default(), now),
    };
    assert_eq!(judged(poll(-30, 0)).health(now), "slow");
    assert_eq!(
        judged(poll(-5, 0)).health(now),
        "learning",
        "a little late is not slow"
    );
    assert_eq!(
        judged(poll(-30, 2)).health(now),
        "failing",
        "failing says more"
    );
}

#[tokio::test]
async fn topics_are_counted_per_day() {
    let (app, _live, _dir) = server(true);
    let (status, days) = get_json(&app, "/api/topics?relevant=true").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        days,
        serde_json::json!([
            {"day": "2026-11-02", "topic": "territorial-dispute", "articles": 1},
            {"day": "2026-11-04", "topic": "territorial-dispute", "articles": 1}
        ])
    );
    let (_, later) = get_json(&app, "/api/topics?since=2026-11-03").await;
    assert_eq!(later.as_array().unwrap().len(), 1);
    let (status, _) = get_json(&app, "/api/topics?topic=x").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_openapi_document_describes_what_the_handlers_take_and_give() {
    let (app, _live, _dir) = server(true);
    let (status, doc) = get_json(&app, "/api/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/api/articles",
        "/api/articles/{id}",
        "/api/sources",
        "/api/topics",
    ] {
        assert!(paths.contains_key(path), "{path} in {paths:?}");
    }
    // Every parameter documented is one the handler takes (it refuses unknown ones).
    let params: Vec<&str> = doc["paths"]["/api/articles"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(params.len(), 9, "{params:?}");
    for name in params {
        let value = match name {
            "relevant" => "true",
            "since" | "until" => "2026-01-01",
            "limit" | "cursor" => "5",
            _ => "x",
        };
        let (status, body) = get_json(&app, &format!("/api/articles?{name}={value}")).await;
        assert_eq!(status, StatusCode::OK, "{name}: {body}");
    }
    // The documented shapes are the ones served.
    let schemas = &doc["components"]["schemas"];
    let keys = |schema: &serde_json::Value| -> Vec<String> {
        let mut keys: Vec<String> = schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        keys.sort();
        keys
    };
    let served_keys = |value: &serde_json::Value| -> Vec<String> {
        let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    };
    let (_, days) = get_json(&app, "/api/topics").await;
    assert_eq!(keys(&schemas["TopicDay"]), served_keys(&days[0]));
    let (_, page) = get_json(&app, "/api/articles?limit=1").await;
    assert_eq!(keys(&schemas["ArticlesPage"]), served_keys(&page));
    assert_eq!(
        keys(&schemas["ArticleSummary"]),
        served_keys(&page["articles"][0])
    );
}

#[test]
fn a_source_that_stops_publishing_is_stale_then_fresh_again_once_it_publishes() {
    // Eight articles of `tass` stored now, one after another: its usual gap is short, so the
    // floor of 10 minutes is what it may stay silent.
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(&dir.path().join("s.sqlite")).unwrap();
    for n in 1..=8 {
        store.insert_batch(&[article(n, 1, &[], "Текст.")]).unwrap();
    }
    let config = ServerConfig {
        min_stale_silence_secs: 600,
        // Stored together here, but counted as arrivals of their own.
        burst_secs: 0,
        ..ServerConfig::default()
    };
    let sources = vec![
        SourceInfo {
            name: "tass".into(),
            kind: "feed".into(),
            enabled: true,
            monitored: true,
        },
        SourceInfo {
            name: "corpus".into(),
            kind: "dir".into(),
            enabled: true,
            monitored: false,
        },
    ];
    let now = chrono::Utc::now();
    let judge = |store: &SqliteStore, at| judge_sources(store, &sources, &config, at).unwrap();
    let mut watch = freshness::StaleWatch::default();
    let judged = judge(&store, now);
    assert_eq!(judged[0].freshness.state, "fresh");
    assert_eq!(judged[0].freshness.allowed_silence_secs, Some(600));
    assert_eq!(judged[1].freshness.state, "not monitored");
    assert_eq!(watch.observe("tass", &judged[0].freshness), None);
    // Silent for 11 minutes: stale, said once.
    let later = now + chrono::Duration::minutes(11);
    let judged = judge(&store, later);
    assert!(judged[0].freshness.is_stale(), "{:?}", judged[0].freshness);
    assert_eq!(
        watch.observe("tass", &judged[0].freshness),
        Some(freshness::Turn::Stale)
    );
    assert_eq!(
        watch.observe("tass", &judge(&store, later).remove(0).freshness),
        None
    );
    // It publishes again: fresh.
    store.insert_batch(&[article(9, 2, &[], "Текст.")]).unwrap();
    let judged = judge(&store, chrono::Utc::now());
    assert_eq!(judged[0].freshness.state, "fresh");
    assert_eq!(
        watch.observe("tass", &judged[0].freshness),
        Some(freshness::Turn::Recovered)
    );
}

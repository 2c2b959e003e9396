//! The daemon's face over a local news site: completeness monitoring and alerts.

mod support;

use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_that_stops_publishing_is_marked_stale_once_then_fresh_again() {
    // Seven articles at once teach the source a rhythm of short gaps (each counted as an
    // arrival: burst_secs = 0), so the floor of 2 s is the silence it is allowed; then it
    // publishes nothing, then one more article.
    let (site, _) = Site::start(SiteSpec {
        pages: (0..7).map(generated_article).collect(),
        ..SiteSpec::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let source = format!(
        "[server]\nmin_stale_silence_secs = 2\nstale_check_secs = 1\nburst_secs = 0\n\n\
         {}poll_interval_secs = 1\n",
        feed_source(&site)
    );
    let config = write_config(dir.path(), &source, 2);
    let daemon = RunningDaemon::start(&config, &[]).await;
    let addr = daemon.addr.clone();
    let status_is = |wanted: &'static str| {
        let addr = addr.clone();
        async move {
            loop {
                let response = get_ok(&addr, "/api/sources").await;
                let body = response.split_once("\r\n\r\n").unwrap().1.to_string();
                let sources: serde_json::Value = serde_json::from_str(&body).unwrap();
                if sources[0]["status"] == wanted {
                    break sources;
                }
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        }
    };
    let stale = within(status_is("stale")).await;
    assert_eq!(stale[0]["freshness"]["state"], "stale");
    assert_eq!(stale[0]["freshness"]["allowed_silence_secs"], 2);
    let metrics = get_ok(&addr, "/metrics").await;
    assert!(
        metrics.contains("nichiro_source_stale{source=\"site\"} 1"),
        "{metrics}"
    );
    // The log says so (once: counted at the end, after more checks have passed).
    daemon
        .wait_for_line(|l| l.contains("source is stale"))
        .await;
    // It publishes again.
    site.add_page(generated_article(7));
    let fresh = within(status_is("ok")).await;
    assert_eq!(fresh[0]["freshness"]["state"], "fresh", "{fresh}");
    daemon
        .wait_for_line(|l| l.contains("source is fresh again"))
        .await;
    let (status, log) = daemon.stop().await;
    assert!(status.success(), "{status:?}\n{log}");
    assert_eq!(
        log.matches("source is stale").count(),
        1,
        "said once:\n{log}"
    );
}

/// A webhook on 127.0.0.1 that counts the alerts it takes, by idempotency key.
async fn webhook() -> (
    std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, usize>>>,
    String,
) {
    use axum::extract::State;
    type Counts = std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, usize>>>;
    async fn take(State(counts): State<Counts>, headers: axum::http::HeaderMap) -> &'static str {
        let key = headers["idempotency-key"].to_str().unwrap().to_string();
        *counts.lock().unwrap().entry(key).or_default() += 1;
        "ok"
    }
    let counts = Counts::default();
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(take))
        .with_state(counts.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (counts, format!("http://{addr}/hook"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_relevant_article_is_alerted_once_across_a_restart() {
    // The generated reports share most of their text, so each copies the one before: copies
    // are alerted too here (`skip_copies = false`), to count one alert per relevant article.
    let (site, _) = Site::start(SiteSpec {
        pages: (0..2).map(generated_article).collect(),
        ..SiteSpec::default()
    })
    .await;
    let (counts, hook) = webhook().await;
    let dir = tempfile::tempdir().unwrap();
    let source = format!(
        "[[alert]]\nname = \"all\"\nwebhook = \"{hook}\"\nmin_relevance = 0.0\n\
         skip_copies = false\n\n{}poll_interval_secs = 1\n",
        feed_source(&site)
    );
    let config = write_config(dir.path(), &source, 2);
    let relevant = |dir: &std::path::Path| stored(dir).iter().filter(|a| a.2).count();
    let alerted = || counts.lock().unwrap().len();
    let first = RunningDaemon::start(&config, &[]).await;
    within(async {
        while stored(dir.path()).len() < 2 || alerted() < relevant(dir.path()) {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(
        relevant(dir.path()) >= 1,
        "the generated reports are relevant"
    );
    let (status, log) = first.stop().await;
    assert!(status.success(), "{log}");
    // Restarted, with one more article: it alone is alerted.
    site.add_page(generated_article(2));
    let second = RunningDaemon::start(&config, &[]).await;
    within(async {
        while stored(dir.path()).len() < 3 || alerted() < relevant(dir.path()) {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
    .await;
    let (status, log) = second.stop().await;
    assert!(status.success(), "{log}");
    let counts = counts.lock().unwrap();
    assert_eq!(counts.len(), relevant(dir.path()), "{counts:?}");
    assert!(counts.values().all(|n| *n == 1), "each once: {counts:?}");
}

/// Headless Chromium with `args` (Debian's `chromium`; `.ci/run` installs it when missing).
/// Fails, never skips, without it.
fn chromium(profile: &std::path::Path, args: &[&str]) -> String {
    let binary = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            std::process::Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .expect("the browser test needs Chromium: apt-get install chromium (.ci/run does)");
    let out = std::process::Command::new(binary)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
        ])
        .args(["--no-first-run", "--hide-scrollbars", "--lang=en"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chromium {args:?}: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// The first `href` in `html` that starts with `prefix`, its entities undone.
fn first_href(html: &str, prefix: &str) -> String {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .find(|href| href.starts_with(prefix))
        .unwrap_or_else(|| panic!("no link to {prefix}… in {html}"))
        .replace("&amp;", "&")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readers_page_in_a_browser_filters_by_topic_and_opens_an_article() {
    // The offline corpus and sample archive (English, Russian, Japanese), stored, then served.
    let dir = tempfile::tempdir().unwrap();
    let config = offline_config(dir.path());
    let backfill = run(&["backfill", "--config", &config]).await;
    assert!(backfill.status.success(), "{}", text(&backfill.stderr));
    let daemon = RunningDaemon::start(std::path::Path::new(&config), &[]).await;
    let base = format!("http://{}", daemon.addr);
    let profile = dir.path().join("chromium");
    let browse = |path: &str| {
        let (profile, url) = (profile.clone(), format!("{base}{path}"));
        async move {
            tokio::task::spawn_blocking(move || chromium(&profile, &["--dump-dom", &url]))
                .await
                .unwrap()
        }
    };
    let home = browse("/").await;
    assert!(home.contains("Latest relevant articles"), "{home}");
    let items = home.matches("<li>").count();
    assert!(items >= 5, "{items} articles listed:\n{home}");
    // Filter by the first article's first topic: each article listed carries it.
    let topic_link = first_href(&home, "/?topic=");
    let topic = topic_link.trim_start_matches("/?topic=").to_string();
    let filtered = browse(&topic_link).await;
    let listed = filtered.matches("<li>").count();
    assert!(listed >= 1 && listed <= items, "{listed} of {items}");
    assert_eq!(
        filtered.matches(&format!(">{topic}</a>")).count(),
        listed,
        "every article listed has the chip {topic}:\n{filtered}"
    );
    assert!(
        filtered.contains(&format!("<option value=\"{topic}\" selected=\"\">")),
        "{filtered}"
    );
    // Open the first: its verdict, topics and evidence marked in its text.
    let article = browse(&first_href(&filtered, "/articles/")).await;
    assert!(article.contains("<strong>Relevant</strong>"), "{article}");
    assert!(article.contains(&format!(">{topic}</a></td>")), "{article}");
    assert!(article.contains("<mark>"), "evidence marked: {article}");
    // The sources page draws its timeline.
    let sources = browse("/sources").await;
    assert!(
        sources.contains("<svg") && sources.contains("sample-archive"),
        "{sources}"
    );
    // A screenshot of the page for the README (NICHIRO_SCREENSHOT names where to keep it).
    let shot = dir.path().join("reader.png");
    let screenshot = format!("--screenshot={}", shot.display());
    let url = format!("{base}/");
    let profile = profile.clone();
    tokio::task::spawn_blocking(move || {
        chromium(&profile, &[&screenshot, "--window-size=1200,900", &url])
    })
    .await
    .unwrap();
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );
    if let Ok(keep) = std::env::var("NICHIRO_SCREENSHOT") {
        std::fs::write(keep, &png).unwrap();
    }
    let (status, log) = daemon.stop().await;
    assert!(status.success(), "{log}");
}

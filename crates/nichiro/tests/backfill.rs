//! The backfill command against a local news site: ingest, politeness, encodings, idempotence,
//! shutdown, and errors.

mod support;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_ingests_three_encodings_obeys_robots_and_stores_once() {
    let (site, _) = Site::start(SiteSpec {
        pages: varied_pages(),
        extra_feed_links: vec![
            "/private/secret".into(),
            "/broken".into(),
            "/image.png".into(),
        ],
        ..SiteSpec::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &feed_source(&site), 2);
    let config = config.to_str().unwrap();

    let first = run(&["backfill", "--config", config]).await;
    assert!(first.status.success(), "stderr: {}", text(&first.stderr));
    let summary = text(&first.stdout);
    assert!(summary.contains("new 4,"), "{summary}");
    assert!(summary.contains("not articles 1"), "{summary}");
    assert!(summary.contains("robots 1"), "{summary}");

    let articles = stored(dir.path());
    let find = |slug: &str| {
        articles
            .iter()
            .find(|a| a.0.ends_with(slug))
            .unwrap_or_else(|| panic!("{slug} not stored: {articles:?}"))
    };
    // Tracking parameters are gone from the stored URLs.
    assert!(
        articles.iter().all(|a| !a.0.contains("utm_")),
        "{articles:?}"
    );
    let ru = find("/articles/ru-kurils");
    assert_eq!(
        ru.1.as_deref(),
        Some("Бывшие жители Курил посетят могилы родственников")
    );
    assert!(ru.2, "the Russian article is relevant");
    let ja = find("/articles/ja-ministers");
    assert_eq!(
        ja.1.as_deref(),
        Some("日ロ外相会談、平和条約交渉を加速で一致")
    );
    assert!(ja.3.contains("北方領土問題"), "{}", ja.3);
    assert!(ja.2, "the Japanese article is relevant");
    let en = find("lavrov-kono-peace-treaty");
    assert!(en.2);
    for boilerplate in [
        "cookies",
        "Facebook",
        "Comments",
        "All rights reserved",
        "Related",
    ] {
        assert!(
            !en.3.contains(boilerplate),
            "{boilerplate:?} left in {}",
            en.3
        );
    }
    let markets = find("/articles/markets");
    assert!(
        !markets.2,
        "a market report naming both countries is not relevant"
    );
    assert_eq!(
        site.requests("/private/secret"),
        0,
        "robots.txt disallows /private/"
    );

    // Twice: the feed answers 304 and nothing is fetched or stored again.
    let second = run(&["backfill", "--config", config]).await;
    assert!(second.status.success(), "stderr: {}", text(&second.stderr));
    assert!(
        text(&second.stdout).contains("new 0,"),
        "{}",
        text(&second.stdout)
    );
    assert_eq!(stored(dir.path()).len(), articles.len());
    // A third run lists the feed in full (its validators forgotten): still nothing is fetched
    // again, the index page included, which the first run recorded as not an article.
    rusqlite::Connection::open(dir.path().join("store.sqlite"))
        .unwrap()
        .execute(
            "UPDATE source_state SET etag = NULL, last_modified = NULL",
            [],
        )
        .unwrap();
    let third = run(&["backfill", "--config", config]).await;
    assert!(third.status.success(), "stderr: {}", text(&third.stderr));
    assert!(
        text(&third.stdout).contains("not modified 0"),
        "{}",
        text(&third.stdout)
    );
    for page in varied_pages() {
        let path = format!("/articles/{}", page.slug);
        assert_eq!(site.requests(&path), 1, "{path}");
    }
    assert_eq!(
        site.requests("/robots.txt"),
        3,
        "one robots.txt per run and host"
    );
    // A 500 is retried three times per run (max_retries), then given up and released, so the
    // next run tries again.
    assert_eq!(site.requests("/broken"), 12);
    // Not HTML is a permanent answer: recorded, and not asked for again by later runs.
    assert_eq!(site.requests("/image.png"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_backfill_then_a_second_run_completes_the_rest() {
    let pages: Vec<Page> = (0..8).map(generated_article).collect();
    let (site, mut arrivals) = Site::start(SiteSpec {
        gated: vec!["report-2".into()],
        pages: pages.clone(),
        ..SiteSpec::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    // One fetch at a time, so the order of requests is the feed's.
    let config = write_config(dir.path(), &feed_source(&site), 1);

    let mut child = nichiro()
        .args(["backfill", "--config", config.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert_eq!(
        within(arrivals.recv()).await.as_deref(),
        Some("report-2"),
        "the third page is requested"
    );
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // Let the held page through only once the binary logs that it is stopping (it cancels
    // before it logs), so the stop is known to come while the page is in flight.
    let stderr = child.stderr.take().unwrap();
    let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel();
    let log = tokio::task::spawn_blocking(move || {
        let mut stopping_tx = Some(stopping_tx);
        let mut log = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("stopping")
                && let Some(tx) = stopping_tx.take()
            {
                let _ = tx.send(());
            }
            log.push_str(&line);
            log.push('\n');
        }
        log
    });
    within(stopping_rx)
        .await
        .expect("the binary logs that it is stopping");
    site.open_gate();
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let log = log.await.unwrap();
    assert!(
        output.status.success(),
        "exit after SIGTERM: {:?}\n{log}",
        output.status
    );
    assert!(
        text(&output.stdout).contains("new 3,"),
        "{}",
        text(&output.stdout)
    );

    let after_stop = stored(dir.path());
    assert_eq!(
        after_stop.len(),
        3,
        "pages 0, 1 and the in-flight 2 are stored: {after_stop:?}"
    );
    assert_eq!(
        site.requests("/articles/report-3"),
        0,
        "no new fetch after the stop"
    );

    let second = run(&["backfill", "--config", config.to_str().unwrap()]).await;
    assert!(second.status.success(), "stderr: {}", text(&second.stderr));
    let all = stored(dir.path());
    assert_eq!(all.len(), 8, "{all:?}");
    for n in 0..8 {
        assert_eq!(
            site.requests(&format!("/articles/report-{n}")),
            1,
            "report-{n} fetched once"
        );
        assert_eq!(
            all.iter()
                .filter(|a| a.0.ends_with(&format!("/report-{n}")))
                .count(),
            1
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_polls_again_and_picks_up_new_items_until_stopped() {
    let (site, mut arrivals) = Site::start(SiteSpec {
        pages: vec![generated_article(0)],
        // Both are announced on arrival; neither is held back (the gate opens at once).
        gated: vec!["report-0".into(), "report-1".into()],
        ..SiteSpec::default()
    })
    .await;
    site.open_gate();
    let dir = tempfile::tempdir().unwrap();
    let source = format!("{}poll_interval_secs = 1\n", feed_source(&site));
    let config = write_config(dir.path(), &source, 1);
    let daemon = RunningDaemon::start(&config, &[]).await;
    let metrics_addr = daemon.addr.clone();
    assert_eq!(within(arrivals.recv()).await.as_deref(), Some("report-0"));
    // A new item appears after the first poll; a later poll must find it.
    site.add_page(generated_article(1));
    assert_eq!(within(arrivals.recv()).await.as_deref(), Some("report-1"));
    let polls_before_stop = site.requests("/feed.xml");
    assert!(polls_before_stop >= 2);
    // The counters reach the metrics endpoint once both pages are stored.
    let metrics = within(async {
        loop {
            let text = get_ok(&metrics_addr, "/metrics").await;
            if text.contains("nichiro_articles_new_total 2") {
                break text;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(
        metrics.contains("nichiro_source_fetched_total{source=\"site\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("# TYPE nichiro_source_polls_total counter"),
        "{metrics}"
    );
    // Gauges: every channel between stages (idle now) and the async tasks alive.
    for queue in ["jobs", "claimed", "pages", "articles", "tagged"] {
        assert!(
            metrics.contains(&format!("nichiro_queue_depth{{queue=\"{queue}\"}} 0")),
            "{metrics}"
        );
    }
    assert!(metrics.contains("\nnichiro_async_tasks "), "{metrics}");
    assert!(metrics.contains("nichiro_build_info{version="), "{metrics}");
    // Recorded as it happens: times per stage and fetch, bytes, articles stored by language.
    for stage in ["clean", "tag", "store"] {
        assert!(
            metrics.contains(&format!(
                "nichiro_stage_seconds_bucket{{stage=\"{stage}\",le=\""
            )),
            "{stage}: {metrics}"
        );
    }
    assert!(
        metrics.contains("# TYPE nichiro_fetch_seconds histogram"),
        "{metrics}"
    );
    assert!(
        metrics.contains("nichiro_fetched_bytes_total{source=\"site\"} "),
        "{metrics}"
    );
    let stored_count: u64 = metrics
        .lines()
        .filter(|l| l.starts_with("nichiro_articles_stored_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert_eq!(stored_count, 2, "{metrics}");
    // Health, readiness (`nichiro health` asks it as a container would) and the API.
    get_ok(&metrics_addr, "/healthz").await;
    assert!(get_ok(&metrics_addr, "/readyz").await.ends_with("ready\n"));
    let health = nichiro().args(["health", &metrics_addr]).output().unwrap();
    assert!(health.status.success(), "{health:?}");
    let body = |response: String| -> serde_json::Value {
        serde_json::from_str(response.split_once("\r\n\r\n").unwrap().1).unwrap()
    };
    let sources = body(get_ok(&metrics_addr, "/api/sources").await);
    assert_eq!(sources[0]["name"], "site");
    // Polled without failing; two articles are too few to know its rhythm.
    assert_eq!(sources[0]["status"], "learning", "{sources}");
    let listed = body(get_ok(&metrics_addr, "/api/articles?limit=1").await);
    let first = &listed["articles"][0];
    assert!(
        listed["next_cursor"].is_i64(),
        "two stored, one shown: {listed}"
    );
    let id = first["id"].as_i64().unwrap();
    let whole = body(get_ok(&metrics_addr, &format!("/api/articles/{id}")).await);
    assert_eq!(whole["url"], first["url"]);
    assert!(whole["text"].as_str().unwrap().len() > 100, "{whole}");
    let (status, log) = daemon.stop().await;
    assert!(status.success(), "{status:?}\n{log}");
    // Stopped, it answers no more.
    let health = nichiro().args(["health", &metrics_addr]).output().unwrap();
    assert_eq!(health.status.code(), Some(1), "{health:?}");
    let stored = stored(dir.path());
    assert_eq!(stored.len(), 2, "{stored:?}");
    assert_eq!(
        site.requests("/articles/report-0"),
        1,
        "an unchanged feed does not lead to a re-fetch"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sitemap_source_with_since_takes_only_newer_items() {
    let (site, _) = Site::start(SiteSpec {
        pages: (0..6).map(generated_article).collect(),
        ..SiteSpec::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let source = format!(
        "[[source]]\nname = \"map\"\nkind = \"sitemap\"\nurl = \"{}/sitemap.xml\"\n",
        site.base
    );
    let config = write_config(dir.path(), &source, 2);
    // The sitemap dates report-n on 2019-06-(n+1): --since 2019-06-04 keeps reports 3, 4, 5.
    let out = run(&[
        "backfill",
        "--config",
        config.to_str().unwrap(),
        "--since",
        "2019-06-04",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("filtered 3"),
        "{}",
        text(&out.stdout)
    );
    let stored = stored(dir.path());
    let slugs: Vec<&str> = stored
        .iter()
        .map(|a| a.0.rsplit('/').next().unwrap())
        .collect();
    assert_eq!(slugs, ["report-3", "report-4", "report-5"]);
    assert_eq!(
        site.requests("/articles/report-0"),
        0,
        "old items are not fetched"
    );
}

/// Runs the daemon until a line of its log is `ready`, then stops it with SIGTERM; returns
/// the whole log. Fails if it exits other than cleanly.
async fn daemon_until(config: &str, ready: fn(&str) -> bool) -> String {
    let daemon = RunningDaemon::start(std::path::Path::new(config), &[]).await;
    daemon.wait_for_line(ready).await;
    let (status, log) = daemon.stop().await;
    assert!(status.success(), "{status:?}\n{log}");
    log
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_daemon_keeps_to_each_sources_schedule_and_sources_shows_it() {
    let (site, _) = Site::start(SiteSpec {
        pages: vec![generated_article(0)],
        ..SiteSpec::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let sources = format!(
        "{}poll_interval_secs = 3600\n\n[[source]]\nname = \"down\"\nkind = \"feed\"\n\
         url = \"{}/broken\"\npoll_interval_secs = 3600\n",
        feed_source(&site),
        site.base
    );
    let config = write_config(dir.path(), &sources, 1);
    let config = config.to_str().unwrap();

    // A first daemon polls both sources at once (nothing was scheduled), stores the article,
    // and records each poll.
    let db = dir.path().join("store.sqlite");
    let polls_recorded = move || {
        rusqlite::Connection::open(&db)
            .and_then(|c| {
                c.query_row(
                    "SELECT count(*) FROM source_state WHERE next_poll_at IS NOT NULL",
                    [],
                    |r| r.get::<_, i64>(0),
                )
            })
            .unwrap_or(0)
    };
    let mut child = nichiro()
        .args(["run", "--config", config, "--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    within(async {
        while polls_recorded() < 2 || stored(dir.path()).is_empty() {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
    .await;
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success());
    let (feed_polls, down_polls) = (site.requests("/feed.xml"), site.requests("/broken"));
    assert_eq!(feed_polls, 1);
    assert!(down_polls >= 1);

    let out = run(&["sources", "--config", config]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listing = text(&out.stdout);
    let line = |name: &str| {
        listing
            .lines()
            .find(|l| l.starts_with(&format!("{name}\t")))
            .unwrap_or_else(|| panic!("no line for {name} in {listing}"))
            .to_string()
    };
    let site_line = line("site");
    assert!(
        site_line.starts_with("site\tfeed\tenabled\tpolled 20"),
        "{site_line}"
    );
    assert!(
        site_line.contains("\tnext 20") && site_line.ends_with("\tok"),
        "{site_line}"
    );
    let down_line = line("down");
    assert!(down_line.contains("failing (1 in a row): "), "{down_line}");
    assert!(down_line.contains("500"), "{down_line}");

    // Restarted, the daemon waits for the polls the first one scheduled: half an hour ahead
    // for the feed that had news, an hour and a half for the one that failed.
    let log = daemon_until(config, |line| {
        line.contains("waiting for the poll an earlier run scheduled") && line.contains("down")
    })
    .await;
    let waits: Vec<u64> = log
        .lines()
        .filter(|l| l.contains("waiting for the poll an earlier run scheduled"))
        .filter_map(|l| l.split("wait_secs=").nth(1))
        .filter_map(|rest| rest.split_whitespace().next()?.parse().ok())
        .collect();
    assert_eq!(waits.len(), 2, "{log}");
    assert!(waits.iter().all(|&w| w > 1700), "{waits:?}");
    assert_eq!(
        site.requests("/feed.xml"),
        feed_polls,
        "no poll before its time"
    );
    assert_eq!(site.requests("/broken"), down_polls);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_while_the_only_listing_waits_is_a_stop_not_a_failed_source() {
    // It printed `error: every source failed` and exited 1.
    let (arrived_tx, mut arrived) = tokio::sync::mpsc::unbounded_channel::<()>();
    let app = axum::Router::new().route(
        "/feed.xml",
        axum::routing::get(move || {
            let _ = arrived_tx.send(());
            std::future::pending::<String>()
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!("[[source]]\nname = \"slow\"\nkind = \"feed\"\nurl = \"{base}/feed.xml\"\n"),
        1,
    );
    let text_config = std::fs::read_to_string(&config)
        .unwrap()
        .replacen("grace_period_secs = 30", "grace_period_secs = 1", 1)
        .replacen("[fetch]\n", "[fetch]\nobey_robots = false\n", 1);
    std::fs::write(&config, text_config).unwrap();
    let child = nichiro()
        .args(["backfill", "--config", config.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    within(arrived.recv()).await.expect("the feed is requested");
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{:?}\n{stderr}", output.status);
    assert!(!stderr.contains("every source failed"), "{stderr}");
    assert!(stderr.contains("stopped by signal"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moved_install_finds_the_folder_documents_it_stored() {
    // `dir` documents were keyed on absolute file:// paths, so a copied install (or the
    // Docker image's /app/corpus) stored every corpus text a second time.
    let dir = tempfile::tempdir().unwrap();
    let place = |name: &str| dir.path().join(name).join("corpus");
    std::fs::create_dir_all(place("a")).unwrap();
    std::fs::create_dir_all(dir.path().join("b")).unwrap();
    for entry in std::fs::read_dir(repo().join("corpus")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, place("a").join(path.file_name().unwrap())).unwrap();
    }
    let source = |root: &std::path::Path| {
        format!(
            "[[source]]\nname = \"corpus\"\nkind = \"dir\"\npath = {:?}\n",
            root.display().to_string()
        )
    };
    let config = write_config(dir.path(), &source(&place("a")), 1);
    let first = run(&["backfill", "--config", config.to_str().unwrap()]).await;
    assert!(first.status.success(), "{}", text(&first.stderr));
    let before = stored(dir.path());
    assert_eq!(before.len(), 5, "{}", text(&first.stdout));
    assert!(
        before.iter().all(|a| a.0.starts_with("dir:/corpus/")),
        "{before:?}"
    );

    // What an earlier version stored: the same documents under their absolute file:// paths.
    let old_prefix = format!("file://{}", place("a").display());
    let conn = rusqlite::Connection::open(dir.path().join("store.sqlite")).unwrap();
    for sql in [
        "UPDATE articles SET url = replace(url, 'dir:/corpus', ?1), requested_url = replace(requested_url, 'dir:/corpus', ?1)",
        "UPDATE seen_urls SET url = replace(url, 'dir:/corpus', ?1)",
    ] {
        conn.execute(sql, [&old_prefix]).unwrap();
    }
    drop(conn);
    assert!(
        stored(dir.path())
            .iter()
            .all(|a| a.0.starts_with("file://"))
    );

    // The install moves: the folder sits elsewhere and the config says so.
    std::fs::rename(place("a"), place("b")).unwrap();
    let config = write_config(dir.path(), &source(&place("b")), 1);
    let second = run(&["backfill", "--config", config.to_str().unwrap()]).await;
    assert!(second.status.success(), "{}", text(&second.stderr));
    let after = stored(dir.path());
    assert_eq!(
        after.iter().map(|a| &a.0).collect::<Vec<_>>(),
        before.iter().map(|a| &a.0).collect::<Vec<_>>(),
        "{}",
        text(&second.stdout)
    );
    assert!(
        text(&second.stdout).contains("new 0,"),
        "{}",
        text(&second.stdout)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_given_up_for_good_does_not_cost_the_feed_its_304() {
    // One failed item dropped the listing's validators even when it was given up for good
    // (a 404): every later run listed the feed in full. Only failures that may pass on a
    // later poll (a 500 here) hold them back.
    let (site, _arrivals) = Site::start(SiteSpec {
        pages: (0..2).map(generated_article).collect(),
        extra_feed_links: vec!["/articles/gone".into()],
        ..SiteSpec::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &feed_source(&site), 1);
    let config = config.to_str().unwrap();
    let first = run(&["backfill", "--config", config]).await;
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert!(
        text(&first.stdout).contains("new 2,"),
        "{}",
        text(&first.stdout)
    );
    let second = run(&["backfill", "--config", config]).await;
    let summary = text(&second.stdout);
    assert!(summary.contains("not modified 1,"), "{summary}");
    assert_eq!(site.requests("/articles/gone"), 1, "given up for good");

    // A page that may pass next time (HTTP 500) keeps the feed unconditional.
    let (flaky, _arrivals) = Site::start(SiteSpec {
        pages: (0..2).map(generated_article).collect(),
        extra_feed_links: vec!["/broken".into()],
        ..SiteSpec::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &feed_source(&flaky), 1);
    let config = config.to_str().unwrap();
    run(&["backfill", "--config", config]).await;
    let again = text(&run(&["backfill", "--config", config]).await.stdout);
    assert!(again.contains("not modified 0,"), "{again}");
    assert!(flaky.requests("/broken") >= 2, "listed and tried again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_found_through_a_home_page_gets_its_304_on_the_next_run() {
    // The next run sent the feed's ETag to the home page, then asked the feed itself with no
    // validators: no 304, ever.
    let (site, _arrivals) = Site::start(SiteSpec {
        pages: (0..2).map(generated_article).collect(),
        ..SiteSpec::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let source = format!(
        "[[source]]\nname = \"site\"\nkind = \"feed\"\nurl = \"{}/home\"\n",
        site.base
    );
    let config = write_config(dir.path(), &source, 1);
    let config = config.to_str().unwrap();
    let first = run(&["backfill", "--config", config]).await;
    assert!(
        text(&first.stdout).contains("new 2,"),
        "{}",
        text(&first.stdout)
    );
    let second = run(&["backfill", "--config", config]).await;
    let summary = text(&second.stdout);
    assert!(summary.contains("not modified 1,"), "{summary}");
    assert_eq!(
        site.requests("/home"),
        1,
        "the next run went straight to the feed"
    );
}

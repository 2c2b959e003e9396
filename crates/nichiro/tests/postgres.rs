//! The binary against a real PostgreSQL server: a backfill into `[store] url`, read back by
//! `list`, `search` and `export`, and a second run that stores nothing again. They run against
//! `NICHIRO_TEST_POSTGRES_URL`, else the local server, and fail (never skip) when it cannot be
//! reached; each test works in a database of its own.

mod support;

use support::pg::*;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_into_postgres_then_read_it_back() {
    let db = test_database().await;
    let pages: Vec<Page> = (0..12).map(generated_article).collect();
    let (site, _arrivals) = Site::start(SiteSpec {
        pages,
        ..SiteSpec::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = postgres_config(dir.path(), &feed_source(&site), 4, &db.url);
    let config = config.as_str();

    let out = run(&["backfill", "--config", config]).await;
    assert!(out.status.success(), "{}", text_of(&out.stderr));
    assert!(
        text_of(&out.stdout).contains("new 12,"),
        "{}",
        text_of(&out.stdout)
    );
    assert!(
        !dir.path().join("store.sqlite").exists(),
        "nothing is written to SQLite"
    );

    let listed = run(&["list", "--config", config, "--json"]).await;
    assert!(listed.status.success(), "{}", text_of(&listed.stderr));
    assert_eq!(text_of(&listed.stdout).lines().count(), 12);
    let found = run(&["search", "--config", config, "Kuril", "Islands"]).await;
    assert!(found.status.success(), "{}", text_of(&found.stderr));
    assert!(
        text_of(&found.stdout).contains("report-"),
        "{}",
        text_of(&found.stdout)
    );
    let exported = run(&["export", "--config", config]).await;
    assert_eq!(text_of(&exported.stdout).lines().count(), 12);

    let again = run(&["backfill", "--config", config]).await;
    assert!(again.status.success());
    assert!(
        text_of(&again.stdout).contains("new 0,"),
        "{}",
        text_of(&again.stdout)
    );
    for n in 0..12 {
        assert_eq!(site.requests(&format!("/articles/report-{n}")), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_backfills_sharing_one_database_fetch_each_page_once() {
    let db = test_database().await;
    const PAGES: usize = 150;
    let pages: Vec<Page> = (0..PAGES).map(generated_article).collect();
    let (site, _arrivals) = Site::start(SiteSpec {
        pages,
        ..SiteSpec::default()
    })
    .await;
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let configs: Vec<String> = dirs
        .iter()
        .map(|dir| postgres_config(dir.path(), &feed_source(&site), 2, &db.url))
        .collect();
    // Three at once on an empty database: they migrate it once (an advisory lock) and claim
    // pages, so that each page is fetched by one of them and stored once.
    let runs = backfills_at_once(configs.clone()).await;
    let mut new = 0;
    for out in &runs {
        assert!(out.status.success(), "{}", text_of(&out.stderr));
        let summary = text_of(&out.stdout);
        let stored: usize = summary
            .split("new ")
            .nth(1)
            .and_then(|rest| rest.split(',').next())
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no count in {summary}"));
        new += stored;
    }
    assert_eq!(new, PAGES, "every page stored once in all");
    let fetched_twice: Vec<usize> = (0..PAGES)
        .filter(|n| site.requests(&format!("/articles/report-{n}")) != 1)
        .collect();
    assert!(
        fetched_twice.is_empty(),
        "fetched other than once: {fetched_twice:?}"
    );
    let listed = run(&["list", "--config", &configs[0], "--json"]).await;
    assert_eq!(text_of(&listed.stdout).lines().count(), PAGES);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_daemons_one_killed_halfway_store_each_article_once() {
    let db = test_database().await;
    const PAGES: usize = 1000;
    const SECTIONS: usize = 10;
    let pages: Vec<Page> = (0..PAGES).map(generated_article).collect();
    let (site, _arrivals) = Site::start(SiteSpec {
        pages,
        ..SiteSpec::default()
    })
    .await;
    // Ten section feeds of a hundred articles each, polled every second or two.
    let sources: String = (0..SECTIONS)
        .map(|i| {
            format!(
                "[[source]]\nname = \"section-{i}\"\nkind = \"feed\"\n\
                 url = \"{}/feed.xml?part={i}&parts={SECTIONS}\"\n\
                 poll_interval_secs = 1\nmax_poll_interval_secs = 2\n",
                site.base
            )
        })
        .collect();
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut daemons = Daemons(Vec::new());
    for (i, dir) in dirs.iter().enumerate() {
        // Each daemon's connections carry its name, to tell when the killed one's are gone.
        let url = format!("{}?application_name=daemon{i}", db.url);
        let config = postgres_config(dir.path(), &sources, 2, &url);
        let text = std::fs::read_to_string(&config)
            .unwrap()
            .replacen(
                "[pipeline]\n",
                "[pipeline]\nlease_secs = 3\nmax_claimed_pages = 150\n",
                1,
            )
            // Paced, a daemon's claimed pages wait in its queue for longer than a lease: the
            // heartbeat must keep them.
            .replacen("per_host_delay_ms = 0", "per_host_delay_ms = 20", 1);
        std::fs::write(&config, text).unwrap();
        let log = std::fs::File::create(dir.path().join("log")).unwrap();
        let child = nichiro()
            .args(["run", "--config", &config, "--listen", "127.0.0.1:0"])
            .env("HOSTNAME", format!("daemon{i}"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        daemons.0.push(Some(child));
    }

    let url = db.url.clone();
    let (daemons, victim, lost, stored, distinct) = tokio::task::spawn_blocking(move || {
        let mut daemons = daemons;
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        let limit = std::time::Duration::from_secs(300);
        let stored = |client: &mut postgres::Client| {
            // The tables appear once the first daemon has migrated the database.
            client
                .query_one("SELECT count(*) FROM articles", &[])
                .map_or(0, |row| row.get::<_, i64>(0))
        };
        wait_until("half the articles", limit, || {
            stored(&mut client) >= (PAGES / 2) as i64
        });
        // Half-way: kill the daemon with the most pages in hand.
        let holder: String = client
            .query_one(
                "SELECT holder FROM leases WHERE key NOT LIKE 'source:%' \
                 GROUP BY holder ORDER BY count(*) DESC LIMIT 1",
                &[],
            )
            .expect("some daemon holds pages half-way")
            .get(0);
        let victim: usize = holder
            .strip_prefix("daemon")
            .and_then(|rest| rest.split('-').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("holder {holder}"));
        let mut child = daemons.0[victim].take().unwrap();
        assert_eq!(holder, format!("daemon{victim}-{}", child.id()));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // Once the server has closed its connections, its claims are what it left behind.
        wait_until("the killed daemon's connections to close", limit, || {
            count(
                &mut client,
                &format!(
                    "SELECT count(*) FROM pg_stat_activity \
                     WHERE application_name = 'daemon{victim}'"
                ),
            ) == 0
        });
        let lost: std::collections::HashSet<String> = client
            .query(
                "SELECT key FROM leases WHERE holder = $1 AND key NOT LIKE 'source:%'",
                &[&holder],
            )
            .unwrap()
            .into_iter()
            .map(|row| row.get(0))
            .collect();
        wait_until("every article", limit, || {
            stored(&mut client) >= PAGES as i64
        });
        let distinct = count(&mut client, "SELECT count(DISTINCT url) FROM articles");
        (daemons, holder, lost, stored(&mut client), distinct)
    })
    .await
    .unwrap();

    // The two left stop cleanly on SIGTERM.
    let mut daemons = daemons;
    for (child, dir) in daemons.0.iter_mut().zip(&dirs) {
        let Some(child) = child.take() else {
            continue;
        };
        let status = stop(child).await;
        assert!(
            status.success(),
            "a daemon exited with {status}:\n{}",
            std::fs::read_to_string(dir.path().join("log")).unwrap_or_default()
        );
    }

    assert_eq!(stored, PAGES as i64, "every article stored");
    assert_eq!(distinct, stored, "and each once");
    assert!(!lost.is_empty(), "{victim} held no page when killed");
    assert!(
        lost.len() <= 150,
        "{victim} held {} pages, more than max_claimed_pages",
        lost.len()
    );
    let mut refetched = Vec::new();
    for n in 0..PAGES {
        let path = format!("/articles/report-{n}");
        match site.requests(&path) {
            1 => {}
            2 if lost.contains(&format!("{}{path}", site.base)) => refetched.push(n),
            times => panic!("{path} fetched {times} times, and {victim} did not hold it"),
        }
    }
    eprintln!(
        "killed {victim} half-way, holding {} pages; {} of them fetched again by the others, \
         no other page fetched twice",
        lost.len(),
        refetched.len()
    );
}

/// A site of `pages` generated articles, a folder for configs, and the store's tables made at
/// `url` by a backfill with no source (so that a test can add triggers to them).
async fn site_and_tables(
    url: &str,
    pages: usize,
) -> (
    Site,
    tokio::sync::mpsc::UnboundedReceiver<String>,
    tempfile::TempDir,
) {
    let (site, arrivals) = Site::start(SiteSpec {
        pages: (0..pages).map(generated_article).collect(),
        ..SiteSpec::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let empty = postgres_config(dir.path(), "", 2, url);
    let out = run(&["backfill", "--config", &empty]).await;
    assert!(out.status.success(), "{}", text_of(&out.stderr));
    (site, arrivals, dir)
}

/// Sets `[pipeline] store_batch` in the config file at `config`.
fn set_store_batch(config: &str, batch: usize) {
    let text = std::fs::read_to_string(config).unwrap().replacen(
        "[pipeline]\n",
        &format!("[pipeline]\nstore_batch = {batch}\n"),
        1,
    );
    std::fs::write(config, text).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_refuses_writes_stops_the_run_with_its_summary() {
    // A full disk ended the run with an error line and no summary of what was stored.
    let db = test_database().await;
    let (site, _arrivals, dir) = site_and_tables(&db.url, 20).await;
    // The server refuses a fifth article as a full disk does (SQLSTATE 53100).
    execute(
        &db.url,
        "CREATE FUNCTION refuse_when_full() RETURNS trigger AS $$ BEGIN \
                 IF (SELECT count(*) FROM articles) >= 4 THEN \
                 RAISE EXCEPTION 'could not extend file: No space left on device' \
                 USING ERRCODE = '53100'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql; \
                 CREATE TRIGGER full_disk BEFORE INSERT ON articles \
                 FOR EACH ROW EXECUTE FUNCTION refuse_when_full();",
    )
    .await;
    let config = postgres_config(dir.path(), &feed_source(&site), 1, &db.url);
    set_store_batch(&config, 2);
    let out = run(&["backfill", "--config", &config]).await;
    let (stdout, stderr) = (text_of(&out.stdout), text_of(&out.stderr));
    assert!(!out.status.success(), "{stdout}{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    // The summary says what was stored: the batches before the refused one.
    let url = db.url.clone();
    let stored = tokio::task::spawn_blocking(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        count(&mut client, "SELECT count(*) FROM articles")
    })
    .await
    .unwrap();
    assert!((1..=4).contains(&stored), "{stored}");
    assert!(
        stdout.contains(&format!("new {stored},")),
        "{stored} stored; the summary: {stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_article_the_store_refuses_is_given_up_and_the_run_goes_on() {
    // A value the database rejected (a NUL byte, a trigger's veto) ended the run, a daemon's
    // too, for the sake of one article.
    let db = test_database().await;
    let (site, _arrivals, dir) = site_and_tables(&db.url, 6).await;
    execute(
        &db.url,
        "CREATE FUNCTION reject_report_3() RETURNS trigger AS $$ BEGIN \
                 IF NEW.title LIKE 'Report 3:%' THEN \
                 RAISE EXCEPTION 'invalid byte sequence for encoding \"UTF8\": 0x00' \
                 USING ERRCODE = '22021'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql; \
                 CREATE TRIGGER reject_report_3 BEFORE INSERT ON articles \
                 FOR EACH ROW EXECUTE FUNCTION reject_report_3();",
    )
    .await;
    let config = postgres_config(dir.path(), &feed_source(&site), 1, &db.url);
    set_store_batch(&config, 3);
    let out = run(&["backfill", "--config", &config]).await;
    let (stdout, stderr) = (text_of(&out.stdout), text_of(&out.stderr));
    assert!(out.status.success(), "{stdout}{stderr}");
    let url = db.url.clone();
    let (stored, given_up) = tokio::task::spawn_blocking(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        (
            count(&mut client, "SELECT count(*) FROM articles"),
            count(
                &mut client,
                "SELECT count(*) FROM given_up_urls WHERE reason LIKE 'the store refused it%0x00%'",
            ),
        )
    })
    .await
    .unwrap();
    assert_eq!((stored, given_up), (5, 1), "{stdout}{stderr}");
    // The next run neither fetches nor tries it again.
    let out = run(&["backfill", "--config", &config]).await;
    let stdout = text_of(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("new 0,"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_rides_out_the_loss_of_its_database_connections() {
    let db = test_database().await;
    let (site, _arrivals) = Site::start(SiteSpec {
        pages: (0..2).map(generated_article).collect(),
        ..SiteSpec::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let source = format!("{}poll_interval_secs = 1\n", feed_source(&site));
    let name = format!("nichiro_rides_out_{}", std::process::id());
    let url = format!("{}?application_name={name}", db.url);
    let config = postgres_config(dir.path(), &source, 2, &url);
    let log = std::fs::File::create(dir.path().join("log")).unwrap();
    let child = nichiro()
        .args(["run", "--config", &config, "--listen", "127.0.0.1:0"])
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let daemons = Daemons(vec![Some(child)]);

    let db_url = db.url.clone();
    let daemons = tokio::task::spawn_blocking({
        let site_pages = site.clone();
        move || {
            let mut client = postgres::Client::connect(&db_url, postgres::NoTls).unwrap();
            let limit = std::time::Duration::from_secs(120);
            let stored = |client: &mut postgres::Client| {
                client
                    .query_one("SELECT count(*) FROM articles", &[])
                    .map_or(0, |row| row.get::<_, i64>(0))
            };
            wait_until("the first two articles", limit, || stored(&mut client) == 2);
            // Every connection of the daemon is cut, as when the server restarts.
            let cut = count(
                &mut client,
                &format!(
                    "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) \
                     FROM pg_stat_activity WHERE application_name = '{name}') AS t"
                ),
            );
            assert!(cut >= 2, "cut {cut} connections");
            site_pages.add_page(generated_article(2));
            wait_until("the article published after the cut", limit, || {
                stored(&mut client) == 3
            });
            daemons
        }
    })
    .await
    .unwrap();

    let mut daemons = daemons;
    let status = stop(daemons.0[0].take().unwrap()).await;
    assert!(
        status.success(),
        "{status}:\n{}",
        std::fs::read_to_string(dir.path().join("log")).unwrap_or_default()
    );
    let log = std::fs::read_to_string(dir.path().join("log")).unwrap();
    assert!(log.contains("connecting again"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_tags_against_what_another_stored_after_it_started() {
    let db = test_database().await;
    // Report 0 is in the first of two section feeds; report 1, published later, in the second.
    let (site, _arrivals) = Site::start(SiteSpec {
        pages: vec![generated_article(0)],
        ..SiteSpec::default()
    })
    .await;
    let section = |part: usize| {
        format!(
            "[[source]]\nname = \"section-{part}\"\nkind = \"feed\"\n\
             url = \"{}/feed.xml?part={part}&parts=2\"\npoll_interval_secs = 1\n",
            site.base
        )
    };
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let config_a = postgres_config(dir_a.path(), &section(0), 2, &db.url);
    let config_b = postgres_config(dir_b.path(), &section(1), 2, &db.url);

    // Daemon B starts first, with nothing stored; then a backfill stores report 0.
    let log = std::fs::File::create(dir_b.path().join("log")).unwrap();
    let child = nichiro()
        .args(["run", "--config", &config_b, "--listen", "127.0.0.1:0"])
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut daemons = Daemons(vec![Some(child)]);
    let db_url = db.url.clone();
    tokio::task::spawn_blocking(move || {
        let mut client = postgres::Client::connect(&db_url, postgres::NoTls).unwrap();
        wait_until(
            "daemon B to create the tables",
            std::time::Duration::from_secs(60),
            || {
                client
                    .query_one("SELECT count(*) FROM articles", &[])
                    .is_ok()
            },
        );
    })
    .await
    .unwrap();
    let out = run(&["backfill", "--config", &config_a]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("new 1,"),
        "{}",
        text(&out.stdout)
    );

    // Report 1 appears in B's section: B relates it to report 0, which it never saw itself.
    site.add_page(generated_article(1));
    let db_url = db.url.clone();
    let related: String = tokio::task::spawn_blocking(move || {
        let mut client = postgres::Client::connect(&db_url, postgres::NoTls).unwrap();
        let mut related = String::new();
        wait_until(
            "report 1 to be stored",
            std::time::Duration::from_secs(60),
            || match client.query_opt(
                "SELECT related FROM articles WHERE url LIKE '%/report-1'",
                &[],
            ) {
                Ok(Some(row)) => {
                    related = row.get(0);
                    true
                }
                _ => false,
            },
        );
        related
    })
    .await
    .unwrap();
    let status = stop(daemons.0[0].take().unwrap()).await;
    assert!(status.success());
    assert!(related.contains("/articles/report-0"), "{related}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_whose_store_refuses_writes_waits_unready_and_resumes() {
    // A daemon with a read-only store kept running with only WARN lines; then it ended. It
    // now waits, unready (`nichiro_store_writable 0`, one ERROR line), and stores what it
    // held once the store takes writes again.
    let db = test_database().await;
    let (site, _arrivals, dir) = site_and_tables(&db.url, 3).await;
    let db_url = db.url.clone();
    let refuse = "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN \
                  RAISE EXCEPTION 'cannot execute INSERT in a read-only transaction' \
                  USING ERRCODE = '25006'; END $$ LANGUAGE plpgsql; \
                  CREATE TRIGGER read_only BEFORE INSERT ON articles \
                  FOR EACH ROW EXECUTE FUNCTION refuse();";
    tokio::task::spawn_blocking(move || {
        let mut client = postgres::Client::connect(&db_url, postgres::NoTls).unwrap();
        client.batch_execute(refuse).unwrap();
    })
    .await
    .unwrap();
    let config = postgres_config(
        dir.path(),
        &format!("{}poll_interval_secs = 1\n", feed_source(&site)),
        2,
        &db.url,
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let metrics = format!("127.0.0.1:{port}");
    let log = std::fs::File::create(dir.path().join("log")).unwrap();
    let child = nichiro()
        .args(["run", "--config", &config, "--metrics", &metrics])
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let daemons = Daemons(vec![Some(child)]);
    let db_url = db.url.clone();
    let log_path = dir.path().join("log");
    let mut daemons = tokio::task::spawn_blocking(move || {
        let mut daemons = daemons;
        let limit = std::time::Duration::from_secs(60);
        wait_until("the daemon to say it is unready", limit, || {
            http_get(&metrics, "/metrics").contains("\nnichiro_store_writable 0")
        });
        let log = std::fs::read_to_string(&log_path).unwrap();
        assert_eq!(
            log.matches("the store refuses writes").count(),
            1,
            "said once: {log}"
        );
        assert!(log.contains("read-only transaction"), "{log}");
        let alive = daemons.0[0].as_mut().unwrap().try_wait().unwrap();
        assert!(alive.is_none(), "the daemon ended: {alive:?}\n{log}");
        let mut client = postgres::Client::connect(&db_url, postgres::NoTls).unwrap();
        client
            .batch_execute("DROP TRIGGER read_only ON articles")
            .unwrap();
        wait_until("the held articles to be stored", limit, || {
            count(&mut client, "SELECT count(*) FROM articles") == 3
        });
        wait_until("the daemon to say it is ready", limit, || {
            http_get(&metrics, "/metrics").contains("\nnichiro_store_writable 1")
        });
        daemons
    })
    .await
    .unwrap();
    let status = stop(daemons.0[0].take().unwrap()).await;
    let log = std::fs::read_to_string(dir.path().join("log")).unwrap();
    assert!(status.success(), "{status}:\n{log}");
    assert!(log.contains("the store takes writes again"), "{log}");
}

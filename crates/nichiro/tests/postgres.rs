//! The binary against a real PostgreSQL server: a backfill into `[store] url`, read back by
//! `list`, `search` and `export`, and a second run that stores nothing again. They run against
//! `NICHIRO_TEST_POSTGRES_URL`, else the local server, and fail (never skip) when it cannot be
//! reached; each test works in a database of its own.

mod support;

use support::*;

/// A fresh database on the test server, dropped when this is dropped.
struct TestDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl TestDatabase {
    fn create() -> TestDatabase {
        // Never skipped: without the variable, the local server; a server that cannot be
        // reached fails the test, saying so.
        let admin_url = std::env::var("NICHIRO_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let name = format!(
            "nichiro_e2e_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        );
        let mut client =
            postgres::Client::connect(&admin_url, postgres::NoTls).unwrap_or_else(|e| {
                panic!(
                    "the PostgreSQL tests need a server they may create databases on, and \
                     {admin_url} cannot be used: {e}. Start PostgreSQL (the README says how) \
                     or point NICHIRO_TEST_POSTGRES_URL at one"
                )
            });
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let base = admin_url
            .rsplit_once('/')
            .map_or(admin_url.as_str(), |(base, _)| base);
        let url = format!("{base}/{name}");
        TestDatabase {
            admin_url,
            name,
            url,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // On a thread of its own: the synchronous client cannot run inside the test's runtime.
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            if let Ok(mut client) = postgres::Client::connect(&admin_url, postgres::NoTls) {
                let _ =
                    client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        })
        .join();
    }
}

/// A fresh database, made off the async threads.
async fn test_database() -> TestDatabase {
    tokio::task::spawn_blocking(TestDatabase::create)
        .await
        .unwrap()
}

/// A test config in `dir` (as `write_config` writes it) storing into the database at `url`;
/// returns its path.
fn postgres_config(dir: &std::path::Path, sources: &str, concurrency: usize, url: &str) -> String {
    let config = write_config(dir, sources, concurrency);
    let text = std::fs::read_to_string(&config).unwrap().replacen(
        "[store]\n",
        &format!("[store]\nurl = {url:?}\n"),
        1,
    );
    std::fs::write(&config, text).unwrap();
    config.to_str().unwrap().to_string()
}

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
    let runs = futures_join(configs.clone()).await;
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

/// Runs a backfill with each config at the same time.
async fn futures_join(configs: Vec<String>) -> Vec<std::process::Output> {
    let handles: Vec<_> = configs
        .into_iter()
        .map(|config| {
            tokio::task::spawn_blocking(move || {
                nichiro()
                    .args(["backfill", "--config", &config])
                    .output()
                    .unwrap()
            })
        })
        .collect();
    let mut outputs = Vec::new();
    for handle in handles {
        outputs.push(handle.await.unwrap());
    }
    outputs
}

fn text_of(bytes: &[u8]) -> String {
    text(bytes)
}

/// Daemons started by a test, killed if the test ends early so none outlives it.
struct Daemons(Vec<Option<std::process::Child>>);

impl Drop for Daemons {
    fn drop(&mut self) {
        for child in self.0.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Stops a daemon with SIGTERM and waits for it to exit.
async fn stop(mut child: std::process::Child) -> std::process::ExitStatus {
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap()
}

/// Asks `check` again every tenth of a second until it holds; fails after `limit`.
fn wait_until(what: &str, limit: std::time::Duration, mut check: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !check() {
        assert!(start.elapsed() < limit, "gave up waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// A site of `pages` generated articles listed by `sections` feeds with ETags
/// (`section-N`), and a config in a new folder storing into `url` with `concurrency`; gives
/// the site, the folder and the config's path.
async fn sectioned_site(
    pages: usize,
    sections: usize,
    concurrency: usize,
    url: &str,
) -> (Site, tempfile::TempDir, String) {
    let (site, _arrivals) = Site::start(SiteSpec {
        pages: (0..pages).map(generated_article).collect(),
        ..SiteSpec::default()
    })
    .await;
    let sources: String = (0..sections)
        .map(|i| {
            format!(
                "[[source]]\nname = \"section-{i}\"\nkind = \"feed\"\n\
                 url = \"{}/feed.xml?part={i}&parts={sections}\"\n",
                site.base
            )
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let config = postgres_config(dir.path(), &sources, concurrency, url);
    (site, dir, config)
}

/// A backfill's summary in which each of `sections` feeds (`section-N`) answered its
/// conditional poll with a 304, and nothing new was stored.
fn assert_every_feed_answered_304(summary: &str, sections: usize) {
    assert!(summary.contains("new 0,"), "{summary}");
    for i in 0..sections {
        let line = summary
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("section-{i}:")))
            .unwrap_or_else(|| panic!("no line for section-{i}: {summary}"));
        assert!(line.contains("not modified 1,"), "{line}");
    }
}

fn count(client: &mut postgres::Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).unwrap().get(0)
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
            .args(["run", "--config", &config])
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_after_a_sigkill_stores_what_the_dead_one_still_held() {
    // Regression: the backfill after a SIGKILL left the dead one's claimed pages "to other
    // daemons", exited 0 and saved the feeds' ETags, so every later run got 304s and the
    // pages were never stored.
    let db = test_database().await;
    const PAGES: usize = 200;
    const SECTIONS: usize = 4;
    let (site, _dir, config) = sectioned_site(PAGES, SECTIONS, 2, &db.url).await;
    let text = std::fs::read_to_string(&config)
        .unwrap()
        // Paced, so that the kill finds pages claimed and not yet stored.
        .replacen("per_host_delay_ms = 0", "per_host_delay_ms = 10", 1);
    std::fs::write(&config, text).unwrap();

    let killed = nichiro()
        .args(["backfill", "--config", &config])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let url = db.url.clone();
    let held = tokio::task::spawn_blocking(move || {
        let mut killed = killed;
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        let limit = std::time::Duration::from_secs(120);
        let held = |client: &mut postgres::Client| {
            client
                .query_one(
                    "SELECT count(*) FROM leases WHERE key NOT LIKE 'source:%'",
                    &[],
                )
                .map_or(0, |row| row.get::<_, i64>(0))
        };
        wait_until("pages claimed", limit, || held(&mut client) >= 40);
        killed.kill().unwrap(); // SIGKILL
        killed.wait().unwrap();
        held(&mut client)
    })
    .await
    .unwrap();

    // At once, while the dead one's leases still run.
    let out = run(&["backfill", "--config", &config]).await;
    let stdout = text_of(&out.stdout);
    assert!(out.status.success(), "{}", text_of(&out.stderr));
    let url = db.url.clone();
    let (stored, distinct) = tokio::task::spawn_blocking(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        (
            count(&mut client, "SELECT count(*) FROM articles"),
            count(&mut client, "SELECT count(DISTINCT url) FROM articles"),
        )
    })
    .await
    .unwrap();
    assert_eq!(
        (stored, distinct),
        (PAGES as i64, PAGES as i64),
        "the dead one held {held} pages; the next run printed:\n{stdout}"
    );
    // The feeds' validators were saved only now that every item is stored: a third run
    // costs a 304 per feed and fetches nothing.
    let again = run(&["backfill", "--config", &config]).await;
    assert!(again.status.success(), "{}", text_of(&again.stderr));
    assert_every_feed_answered_304(&text_of(&again.stdout), SECTIONS);
    for n in 0..PAGES {
        let times = site.requests(&format!("/articles/report-{n}"));
        assert!((1..=2).contains(&times), "report-{n} fetched {times} times");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_twenty_points_on_postgres_loses_and_duplicates_nothing() {
    // Each run after a kill starts at once, while the killed run's claims still hold: it
    // must wait for them to run out and store those pages, not leave them and save the
    // feeds' validators (which lost most of the articles for good).
    let db = test_database().await;
    const PAGES: usize = 400;
    const SECTIONS: usize = 4;
    const KILLS: usize = 20;
    let (site, _dir, config) = sectioned_site(PAGES, SECTIONS, 4, &db.url).await;
    let text_config = std::fs::read_to_string(&config).unwrap().replacen(
        "[pipeline]\n",
        "[pipeline]\nlease_secs = 3\n",
        1,
    );
    std::fs::write(&config, text_config).unwrap();
    let mut seed = crash_seed();
    let url = db.url.clone();
    let config_for_kills = config.clone();
    let (kills, finished_early) = tokio::task::spawn_blocking(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        let stored = |client: &mut postgres::Client| -> (i64, i64) {
            client
                .query_one("SELECT count(*), count(DISTINCT url) FROM articles", &[])
                .map_or((0, 0), |row| (row.get(0), row.get(1)))
        };
        let mut before = 0i64;
        let mut kills = 0;
        for _ in 0..KILLS {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let target = before + 1 + (seed % 25) as i64;
            let mut child = nichiro()
                .args(["backfill", "--config", &config_for_kills])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
            let finished = loop {
                if let Some(status) = child.try_wait().unwrap() {
                    assert!(status.success(), "a backfill failed on its own: {status}");
                    break true;
                }
                if stored(&mut client).0 >= target || std::time::Instant::now() > deadline {
                    child.kill().unwrap(); // SIGKILL
                    child.wait().unwrap();
                    break false;
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            };
            if finished {
                return (kills, true);
            }
            kills += 1;
            let (articles, distinct) = stored(&mut client);
            assert_eq!(
                articles, distinct,
                "after kill {kills}: an article stored twice"
            );
            assert!(
                articles >= before,
                "after kill {kills}: {articles} < {before}"
            );
            before = articles;
        }
        (kills, false)
    })
    .await
    .unwrap();
    assert!(kills >= 15 || finished_early, "only {kills} kills landed");

    // One more run, at once: it waits out the last killed run's claims and stores the rest.
    let out = run(&["backfill", "--config", &config]).await;
    assert!(out.status.success(), "{}", text_of(&out.stderr));
    let url = db.url.clone();
    let (articles, distinct) = tokio::task::spawn_blocking(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        (
            count(
                &mut client,
                "SELECT count(*) FROM articles WHERE url LIKE '%/articles/report-%'",
            ),
            count(&mut client, "SELECT count(DISTINCT url) FROM articles"),
        )
    })
    .await
    .unwrap();
    assert_eq!(articles, PAGES as i64, "every article, after {kills} kills");
    assert_eq!(distinct, articles, "each once");
    // The feeds' validators were saved by that complete run only: the next costs a 304 each.
    let again = run(&["backfill", "--config", &config]).await;
    assert!(again.status.success(), "{}", text_of(&again.stderr));
    assert_every_feed_answered_304(&text_of(&again.stdout), SECTIONS);
    let refetched: usize = (0..PAGES)
        .map(|n| {
            site.requests(&format!("/articles/report-{n}"))
                .saturating_sub(1)
        })
        .sum();
    eprintln!("{kills} kills on PostgreSQL; {refetched} pages fetched again after a kill");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_refuses_writes_stops_the_run_with_its_summary() {
    // A full disk ended the run with an error line and no summary of what was stored.
    let db = test_database().await;
    let pages: Vec<Page> = (0..20).map(generated_article).collect();
    let (site, _arrivals) = Site::start(SiteSpec {
        pages,
        ..SiteSpec::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    // First a run with no source, which makes the tables.
    let empty = postgres_config(dir.path(), "", 2, &db.url);
    let out = run(&["backfill", "--config", &empty]).await;
    assert!(out.status.success(), "{}", text_of(&out.stderr));
    // The server refuses a fifth article as a full disk does (SQLSTATE 53100).
    let url = db.url.clone();
    tokio::task::spawn_blocking(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        client
            .batch_execute(
                "CREATE FUNCTION refuse_when_full() RETURNS trigger AS $$ BEGIN \
                 IF (SELECT count(*) FROM articles) >= 4 THEN \
                 RAISE EXCEPTION 'could not extend file: No space left on device' \
                 USING ERRCODE = '53100'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql; \
                 CREATE TRIGGER full_disk BEFORE INSERT ON articles \
                 FOR EACH ROW EXECUTE FUNCTION refuse_when_full();",
            )
            .unwrap();
    })
    .await
    .unwrap();
    let config = postgres_config(dir.path(), &feed_source(&site), 1, &db.url);
    let text_config = std::fs::read_to_string(&config).unwrap().replacen(
        "[pipeline]\n",
        "[pipeline]\nstore_batch = 2\n",
        1,
    );
    std::fs::write(&config, text_config).unwrap();
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
        .args(["run", "--config", &config])
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
        .args(["run", "--config", &config_b])
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

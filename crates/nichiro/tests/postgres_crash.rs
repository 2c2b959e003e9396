//! Crashes on PostgreSQL: backfills and daemons SIGKILLed at random moments (the seed is
//! printed; `NICHIRO_CRASH_SEED` replays it) end with every article stored exactly once.

mod support;

use support::pg::*;
use support::*;

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
    assert_each_report_stored_once(&db.url, PAGES, kills).await;
    // The feeds' validators were saved by that complete run only: the next costs a 304 each.
    let again = run(&["backfill", "--config", &config]).await;
    assert!(again.status.success(), "{}", text_of(&again.stderr));
    assert_every_feed_answered_304(&text_of(&again.stdout), SECTIONS);
    let refetched = fetched_again(&site, PAGES);
    eprintln!("{kills} kills on PostgreSQL; {refetched} pages fetched again after a kill");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_daemons_sigkilled_at_twenty_points_store_each_article_once() {
    // Two daemons share the database, as `docker compose up --scale nichiro=2` runs them; at
    // each of twenty moments one of them (which, by the seed) is SIGKILLed and started again
    // at once, while its claims still hold. The other must not store its pages twice, and
    // what the dead one held must come back to one of them when its leases run out.
    let db = test_database().await;
    const PAGES: usize = 600;
    const SECTIONS: usize = 4;
    const KILLS: usize = 20;
    let (site, dir, config) = sectioned_site(PAGES, SECTIONS, 2, &db.url).await;
    let text = std::fs::read_to_string(&config)
        .unwrap()
        // Small batches, so that the kills fall between few articles.
        .replacen(
            "[pipeline]\n",
            "[pipeline]\nlease_secs = 3\nstore_batch = 8\n",
            1,
        )
        // Each feed is polled every second or two, so held pages come back soon.
        .replace(
            "kind = \"feed\"\n",
            "kind = \"feed\"\npoll_interval_secs = 1\nmax_poll_interval_secs = 2\n",
        );
    std::fs::write(&config, text).unwrap();
    let log_dir = dir.path().to_path_buf();
    let daemon_config = config.clone();
    let spawn = move |i: usize| {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_dir.join(format!("daemon{i}.log")))
            .unwrap();
        nichiro()
            .args(["run", "--config", &daemon_config, "--listen", "127.0.0.1:0"])
            .env("HOSTNAME", format!("daemon{i}"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap()
    };
    let mut seed = crash_seed();
    let url = db.url.clone();
    let daemons = tokio::task::spawn_blocking(move || {
        let mut daemons = Daemons(vec![Some(spawn(0)), Some(spawn(1))]);
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        let mut stored = || -> (i64, i64) {
            client
                .query_one("SELECT count(*), count(DISTINCT url) FROM articles", &[])
                .map_or((0, 0), |row| (row.get(0), row.get(1)))
        };
        let mut before = 0i64;
        let mut kills = 0;
        while kills < KILLS && before < PAGES as i64 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let target = (before + 1 + (seed % 15) as i64).min(PAGES as i64 - 1);
            let victim = (seed >> 8) as usize % 2;
            wait_until(
                &format!("{target} articles before kill {}", kills + 1),
                std::time::Duration::from_secs(120),
                || {
                    for daemon in daemons.0.iter_mut().flatten() {
                        let exited = daemon.try_wait().unwrap();
                        assert!(exited.is_none(), "a daemon ended on its own: {exited:?}");
                    }
                    stored().0 >= target
                },
            );
            let mut child = daemons.0[victim].take().unwrap();
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            kills += 1;
            let (articles, distinct) = stored();
            assert_eq!(
                articles, distinct,
                "after kill {kills}: an article stored twice"
            );
            before = articles;
            daemons.0[victim] = Some(spawn(victim));
        }
        // Then the two, left alone, store the rest: each page held by a killed daemon comes
        // back when its lease runs out.
        wait_until(
            &format!("all {PAGES} articles after {kills} kills"),
            std::time::Duration::from_secs(180),
            || stored().0 >= PAGES as i64,
        );
        (daemons, kills)
    })
    .await
    .unwrap();
    let (mut daemons, kills) = daemons;
    for child in daemons.0.iter_mut() {
        let status = stop(child.take().unwrap()).await;
        assert!(status.success(), "a daemon's SIGTERM exit: {status}");
    }
    assert_each_report_stored_once(&db.url, PAGES, kills).await;
    // On a fast machine the two may store the last articles before the twentieth kill.
    assert!(
        kills >= 15,
        "only {kills} kills landed before every article was stored"
    );
    let refetched = fetched_again(&site, PAGES);
    eprintln!("{kills} kills of two daemons on PostgreSQL; {refetched} pages fetched again");
}

/// Every one of the site's `pages` generated reports is stored, and no URL twice.
async fn assert_each_report_stored_once(url: &str, pages: usize, kills: usize) {
    let url = url.to_string();
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
    assert_eq!(articles, pages as i64, "every article, after {kills} kills");
    assert_eq!(distinct, articles, "each once");
}

/// How many requests for the site's reports came after each one's first.
fn fetched_again(site: &Site, pages: usize) -> usize {
    (0..pages)
        .map(|n| {
            site.requests(&format!("/articles/report-{n}"))
                .saturating_sub(1)
        })
        .sum()
}

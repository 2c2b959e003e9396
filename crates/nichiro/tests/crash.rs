//! A backfill killed with SIGKILL at twenty points while it writes leaves a SQLite store that
//! opens cleanly, holds only whole batches, and loses nothing; the run after the last kill
//! stores the rest, each article once. The kill points come from a seed, printed, taken from
//! `NICHIRO_CRASH_SEED` when set (to replay a failure), else from the clock.

mod support;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use support::*;

const ARTICLES: usize = 400;
const KILLS: usize = 20;

/// What a store file holds, read with a fresh connection as a restarted process would.
struct Snapshot {
    articles: usize,
    distinct_urls: usize,
    search_rows: usize,
    orphan_topics: usize,
    integrity: String,
}

fn snapshot(dir: &Path) -> Option<Snapshot> {
    let path = dir.join("store.sqlite");
    if !path.exists() {
        return None;
    }
    let conn = rusqlite::Connection::open(&path).unwrap();
    // The writer may hold the file a moment (a checkpoint, WAL recovery after a kill): wait.
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    let one = |sql: &str| -> usize {
        conn.query_row(sql, [], |r| r.get::<_, i64>(0))
            .map(|n| n as usize)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    };
    // A kill can land before the first batch creates the tables.
    let tables = one("SELECT COUNT(*) FROM sqlite_master WHERE name = 'articles'");
    if tables == 0 {
        return None;
    }
    Some(Snapshot {
        articles: one("SELECT COUNT(*) FROM articles"),
        distinct_urls: one("SELECT COUNT(DISTINCT url) FROM articles"),
        search_rows: one("SELECT COUNT(*) FROM articles_fts"),
        orphan_topics: one(
            "SELECT COUNT(*) FROM article_topics WHERE article_id NOT IN (SELECT id FROM articles)",
        ),
        integrity: conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap(),
    })
}

/// Counts stored articles without disturbing the writer (WAL lets a reader in), while it
/// runs: a store being created (a file not yet a database, tables not yet there) counts 0.
fn stored_count(dir: &Path) -> usize {
    let path = dir.join("store.sqlite");
    if !path.exists() {
        return 0;
    }
    let Ok(conn) = rusqlite::Connection::open(path) else {
        return 0;
    };
    let _ = conn.busy_timeout(Duration::from_secs(10));
    conn.query_row("SELECT COUNT(*) FROM articles", [], |r| r.get::<_, i64>(0))
        .map_or(0, |n| n as usize)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_twenty_points_loses_and_duplicates_nothing() {
    let pages: Vec<Page> = (0..ARTICLES).map(generated_article).collect();
    let (site, _arrivals) = Site::start(SiteSpec {
        pages,
        ..SiteSpec::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &feed_source(&site), 4);
    // Kill points: after a pseudo-random number (1–25) of further articles is stored, so
    // every kill lands while the pipeline is fetching, cleaning and writing.
    let mut seed = crash_seed();
    let mut step = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        1 + (seed % 25) as usize
    };
    let mut before = 0usize;
    let mut kills = 0usize;
    let mut finished_early = false;
    for _ in 0..KILLS {
        let target = before + step();
        let dir_path = dir.path().to_path_buf();
        let config = config.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            let log = std::fs::File::create(dir_path.join("last-run.log")).unwrap();
            let mut child = nichiro()
                .args(["backfill", "--config", config.to_str().unwrap()])
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap();
            let deadline = Instant::now() + Duration::from_secs(120);
            loop {
                if let Some(status) = child.try_wait().unwrap() {
                    return Err(status);
                }
                if stored_count(&dir_path) >= target || Instant::now() > deadline {
                    child.kill().unwrap(); // SIGKILL
                    child.wait().unwrap();
                    return Ok(());
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        })
        .await
        .unwrap();
        if let Err(status) = outcome {
            // The run finished before the kill point: nothing left to interrupt.
            assert!(
                status.success(),
                "backfill failed on its own: {status:?}\n{}",
                std::fs::read_to_string(dir.path().join("last-run.log")).unwrap_or_default()
            );
            finished_early = true;
            break;
        }
        kills += 1;
        let snap = snapshot(dir.path()).expect("the store exists after articles were stored");
        assert_eq!(snap.integrity, "ok", "after kill {kills}");
        assert_eq!(snap.articles, snap.distinct_urls, "after kill {kills}");
        assert_eq!(
            snap.search_rows, snap.articles,
            "after kill {kills}: an article without its search row (a half-written batch)"
        );
        assert_eq!(snap.orphan_topics, 0, "after kill {kills}");
        assert!(
            snap.articles >= before,
            "after kill {kills}: {} articles, {before} before: something was lost",
            snap.articles
        );
        before = snap.articles;
    }
    assert!(
        kills >= KILLS || finished_early,
        "only {kills} kills landed"
    );
    assert!(
        kills >= 15 || finished_early,
        "too few kills landed mid-run: {kills}"
    );

    let out = run(&["backfill", "--config", config.to_str().unwrap()]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let done = snapshot(dir.path()).unwrap();
    assert_eq!(done.integrity, "ok");
    assert_eq!(done.search_rows, done.articles);
    let urls: Vec<String> = stored(dir.path()).into_iter().map(|s| s.0).collect();
    let mut distinct = urls.clone();
    distinct.dedup();
    assert_eq!(distinct.len(), urls.len(), "an article stored twice");
    let generated = urls
        .iter()
        .filter(|u| u.contains("/articles/report-"))
        .count();
    assert_eq!(generated, ARTICLES, "every article of the site, once");
    // Pages fetched again: those in flight (fetched, not yet stored) at each kill.
    let refetched: usize = (0..ARTICLES)
        .map(|n| {
            site.requests(&format!("/articles/report-{n}"))
                .saturating_sub(1)
        })
        .sum();
    println!("{kills} kills; {refetched} pages fetched again after a kill");
}

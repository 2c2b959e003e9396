//! Helpers for the tests against a real PostgreSQL server: a database of each test's own
//! (never skipped: a server that cannot be reached fails the test), configs storing into it,
//! and daemons that do not outlive their test.

use super::*;

/// A fresh database on the test server, dropped when this is dropped.
pub struct TestDatabase {
    admin_url: String,
    name: String,
    /// The database's URL.
    pub url: String,
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
pub async fn test_database() -> TestDatabase {
    tokio::task::spawn_blocking(TestDatabase::create)
        .await
        .unwrap()
}

/// A test config in `dir` (as `write_config` writes it) storing into the database at `url`;
/// returns its path.
pub fn postgres_config(
    dir: &std::path::Path,
    sources: &str,
    concurrency: usize,
    url: &str,
) -> String {
    let config = write_config(dir, sources, concurrency);
    let text = std::fs::read_to_string(&config).unwrap().replacen(
        "[store]\n",
        &format!("[store]\nurl = {url:?}\n"),
        1,
    );
    std::fs::write(&config, text).unwrap();
    config.to_str().unwrap().to_string()
}

pub fn text_of(bytes: &[u8]) -> String {
    text(bytes)
}

/// Daemons started by a test, killed if the test ends early so none outlives it.
pub struct Daemons(pub Vec<Option<std::process::Child>>);

impl Drop for Daemons {
    fn drop(&mut self) {
        for child in self.0.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Stops a daemon with SIGTERM and waits for it to exit.
pub async fn stop(mut child: std::process::Child) -> std::process::ExitStatus {
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
pub fn wait_until(what: &str, limit: std::time::Duration, mut check: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !check() {
        assert!(start.elapsed() < limit, "gave up waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// A site of `pages` generated articles listed by `sections` feeds with ETags
/// (`section-N`), and a config in a new folder storing into `url` with `concurrency`; gives
/// the site, the folder and the config's path.
pub async fn sectioned_site(
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
pub fn assert_every_feed_answered_304(summary: &str, sections: usize) {
    assert!(summary.contains("new 0,"), "{summary}");
    for i in 0..sections {
        let line = summary
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("section-{i}:")))
            .unwrap_or_else(|| panic!("no line for section-{i}: {summary}"));
        assert!(line.contains("not modified 1,"), "{line}");
    }
}

pub fn count(client: &mut postgres::Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).unwrap().get(0)
}

/// Runs `sql` on the database at `url` (off the async threads).
pub async fn execute(url: &str, sql: impl Into<String>) {
    let (url, sql) = (url.to_string(), sql.into());
    tokio::task::spawn_blocking(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        client.batch_execute(&sql).unwrap();
    })
    .await
    .unwrap();
}

/// Runs a backfill with each config at the same time.
pub async fn backfills_at_once(configs: Vec<String>) -> Vec<std::process::Output> {
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

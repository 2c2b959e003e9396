//! The binary against a real PostgreSQL server: a backfill into `[store] url`, read back by
//! `list`, `search` and `export`, and a second run that stores nothing again. Skipped, with a
//! note, when `NICHIRO_TEST_POSTGRES_URL` is not set; each test works in a database of its own.

mod support;

use support::*;

/// A fresh database on the test server, dropped when this is dropped.
struct TestDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl TestDatabase {
    fn create() -> Option<TestDatabase> {
        let Ok(admin_url) = std::env::var("NICHIRO_TEST_POSTGRES_URL") else {
            eprintln!(
                "skipped: NICHIRO_TEST_POSTGRES_URL is not set (the README says how to run these)"
            );
            return None;
        };
        let name = format!(
            "nichiro_e2e_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        );
        let mut client = postgres::Client::connect(&admin_url, postgres::NoTls)
            .unwrap_or_else(|e| panic!("NICHIRO_TEST_POSTGRES_URL is set but unusable: {e}"));
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let base = admin_url
            .rsplit_once('/')
            .map_or(admin_url.as_str(), |(base, _)| base);
        let url = format!("{base}/{name}");
        Some(TestDatabase {
            admin_url,
            name,
            url,
        })
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_into_postgres_then_read_it_back() {
    let Some(db) = tokio::task::spawn_blocking(TestDatabase::create)
        .await
        .unwrap()
    else {
        return;
    };
    let pages: Vec<Page> = (0..12).map(generated_article).collect();
    let (site, _arrivals) = Site::start(SiteSpec {
        pages,
        ..SiteSpec::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &feed_source(&site), 4);
    let text = std::fs::read_to_string(&config).unwrap().replacen(
        "[store]\n",
        &format!("[store]\nurl = {:?}\n", db.url),
        1,
    );
    std::fs::write(&config, text).unwrap();
    let config = config.to_str().unwrap();

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
    let Some(db) = tokio::task::spawn_blocking(TestDatabase::create)
        .await
        .unwrap()
    else {
        return;
    };
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
        .map(|dir| {
            let config = write_config(dir.path(), &feed_source(&site), 2);
            let text = std::fs::read_to_string(&config).unwrap().replacen(
                "[store]\n",
                &format!("[store]\nurl = {:?}\n", db.url),
                1,
            );
            std::fs::write(&config, text).unwrap();
            config.to_str().unwrap().to_string()
        })
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

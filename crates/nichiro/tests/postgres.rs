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

fn text_of(bytes: &[u8]) -> String {
    text(bytes)
}

//! Backfills from many WARC files: listed by glob, folder and listing, filtered before they
//! are parsed, recorded as done (not read again), resumed where the store says, and shared
//! between processes on one PostgreSQL database.

mod support;

use std::io::Write;
use std::path::Path;

use support::pg::*;
use support::*;

/// One gzip member holding a WARC `response` record of `url` with `html`.
fn warc_record(url: &str, html: &str) -> Vec<u8> {
    let http = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\r\n{html}",
        html.len()
    );
    let record = format!(
        "WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: {url}\r\n\
         WARC-Date: 2024-03-01T10:00:00Z\r\nContent-Type: application/http; msgtype=response\r\n\
         Content-Length: {}\r\n\r\n{http}\r\n\r\n",
        http.len()
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(record.as_bytes()).unwrap();
    gz.finish().unwrap()
}

/// A news page without any term of either side, the relation or the gazetteer.
fn unrelated_page(n: usize) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Markets {n}: \
         stocks rise in Frankfurt</title></head><body><article><h1>Markets {n}: stocks rise in \
         Frankfurt</h1><p>Shares in Frankfurt and Paris rose on day {n} as investors weighed \
         the outlook for interest rates, traders said on Friday afternoon.</p><p>Carmakers led \
         the gains while utilities slipped, and the euro was little changed against the dollar \
         in late trading, according to figures from the exchanges.</p></article></body></html>"
    )
}

/// Writes `files` WARC files of `per_file` records each into `dir`: every third record an
/// article on the relation, the rest unrelated market reports. Returns the URLs of the
/// relation's articles.
fn write_archives(dir: &Path, files: usize, per_file: usize) -> Vec<String> {
    write_archives_with(dir, files, per_file, 3)
}

/// As [`write_archives`], with every `every`-th record on the relation.
fn write_archives_with(dir: &Path, files: usize, per_file: usize, every: usize) -> Vec<String> {
    let mut relevant = Vec::new();
    for f in 0..files {
        let mut bytes = Vec::new();
        for r in 0..per_file {
            let n = f * per_file + r;
            let url = format!("https://news.example/{f}/{r}");
            let html = if r % every == 0 {
                relevant.push(url.clone());
                String::from_utf8(generated_article(n).body).unwrap()
            } else {
                unrelated_page(n)
            };
            bytes.extend(warc_record(&url, &html));
        }
        std::fs::write(dir.join(format!("CC-NEWS-{f:03}.warc.gz")), bytes).unwrap();
    }
    relevant
}

fn archive_source(paths: &str, prefilter: bool) -> String {
    format!(
        "[[source]]\nname = \"cc\"\nkind = \"warc\"\npaths = [{paths}]\nprefilter = {prefilter}\n"
    )
}

/// The archive files recorded in the SQLite store: (file name, resume_at, done).
fn recorded_files(dir: &Path) -> Vec<(String, i64, bool)> {
    let conn = rusqlite::Connection::open(dir.join("store.sqlite")).unwrap();
    let mut stmt = conn
        .prepare("SELECT file, resume_at, done FROM archive_files ORDER BY file")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(|row| {
            let (file, resume, done) = row.unwrap();
            let name = Path::new(&file)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (name, resume, done)
        })
        .collect()
}

/// The `archive files …` line of a summary.
fn archive_line(summary: &str) -> &str {
    summary
        .lines()
        .find(|l| l.contains("archive files"))
        .unwrap_or_else(|| panic!("no archive line in {summary}"))
        .trim()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_files_are_filtered_recorded_and_not_read_again() {
    let dir = tempfile::tempdir().unwrap();
    let month = dir.path().join("month");
    std::fs::create_dir(&month).unwrap();
    let relevant = write_archives(&month, 3, 9);
    let config = write_config(dir.path(), &archive_source("\"month/*.warc.gz\"", true), 2);
    let config = config.to_str().unwrap();

    let first = run(&["backfill", "--config", config]).await;
    assert!(first.status.success(), "stderr: {}", text(&first.stderr));
    let summary = text(&first.stdout);
    assert_eq!(
        archive_line(&summary),
        "cc: archive files 3 of 3 done, records read 27, pages skipped by the prefilter 18"
    );
    // A progress line per file read, the last with nothing left.
    let log = text(&first.stderr);
    assert_eq!(log.matches("archive file read").count(), 3, "{log}");
    assert!(log.contains("files_done=3 files_left=0"), "{log}");
    // Only the articles on the relation were cleaned and stored; every one of them was.
    let urls: Vec<String> = stored(dir.path()).into_iter().map(|a| a.0).collect();
    assert_eq!(urls.len(), relevant.len(), "{urls:?}");
    assert!(relevant.iter().all(|url| urls.contains(url)), "{urls:?}");
    assert_eq!(
        recorded_files(dir.path()),
        [
            ("CC-NEWS-000.warc.gz".to_string(), 9, true),
            ("CC-NEWS-001.warc.gz".to_string(), 9, true),
            ("CC-NEWS-002.warc.gz".to_string(), 9, true),
        ]
    );

    // Done files are not read again.
    let second = run(&["backfill", "--config", config]).await;
    assert!(second.status.success(), "stderr: {}", text(&second.stderr));
    assert_eq!(
        archive_line(&text(&second.stdout)),
        "cc: archive files 3 of 3 done, records read 0, pages skipped by the prefilter 0"
    );

    // A file half-read by a killed run resumes where the store says: the records before it
    // are read past, not stored again.
    let extra = dir.path().join("extra");
    std::fs::create_dir(&extra).unwrap();
    let mut bytes = Vec::new();
    for r in 0..6 {
        let html = String::from_utf8(generated_article(100 + r).body).unwrap();
        bytes.extend(warc_record(
            &format!("https://news.example/extra/{r}"),
            &html,
        ));
    }
    let extra_file = extra.join("CC-NEWS-100.warc.gz");
    std::fs::write(&extra_file, bytes).unwrap();
    {
        let conn = rusqlite::Connection::open(dir.path().join("store.sqlite")).unwrap();
        conn.execute(
            "INSERT INTO archive_files (source, file, resume_at, done, updated_at) \
             VALUES ('cc', ?1, 4, 0, '2024-03-01T00:00:00Z')",
            [extra_file.display().to_string()],
        )
        .unwrap();
    }
    let config = write_config(
        dir.path(),
        &archive_source("\"month/*.warc.gz\", \"extra\"", true),
        2,
    );
    let third = run(&["backfill", "--config", config.to_str().unwrap()]).await;
    assert!(third.status.success(), "stderr: {}", text(&third.stderr));
    assert_eq!(
        archive_line(&text(&third.stdout)),
        "cc: archive files 4 of 4 done, records read 2, pages skipped by the prefilter 0"
    );
    let urls: Vec<String> = stored(dir.path()).into_iter().map(|a| a.0).collect();
    assert!(urls.contains(&"https://news.example/extra/4".to_string()));
    assert!(urls.contains(&"https://news.example/extra/5".to_string()));
    assert!(
        !urls.contains(&"https://news.example/extra/3".to_string()),
        "read past"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_prefilter_every_page_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let relevant = write_archives(dir.path(), 1, 6);
    let config = write_config(dir.path(), &archive_source("\".\"", false), 2);
    let out = run(&["backfill", "--config", config.to_str().unwrap()]).await;
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    let stored = stored(dir.path());
    assert_eq!(stored.len(), 6);
    // The tagger calls the unrelated ones irrelevant, as the prefilter would have.
    for (url, _, is_relevant, _) in &stored {
        assert_eq!(*is_relevant, relevant.contains(url), "{url}");
    }
}

/// The number after `label` in the archive line of a summary.
fn archive_count(summary: &str, label: &str) -> usize {
    archive_line(summary)
        .split(label)
        .nth(1)
        .and_then(|rest| rest.trim().split([',', ' ']).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {label:?} in {summary}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_backfills_on_one_database_read_each_file_once() {
    let db = test_database().await;
    let archives = tempfile::tempdir().unwrap();
    let relevant = write_archives(archives.path(), 6, 30);
    let source = archive_source(
        &format!("{:?}", archives.path().display().to_string()),
        true,
    );
    let dirs: Vec<tempfile::TempDir> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    let configs: Vec<String> = dirs
        .iter()
        .map(|dir| postgres_config(dir.path(), &source, 2, &db.url))
        .collect();
    let runs = backfills_at_once(configs).await;
    let (mut records, mut new) = (0, 0);
    for out in runs {
        assert!(out.status.success(), "{}", text(&out.stderr));
        let summary = text(&out.stdout);
        assert!(summary.contains("archive files 6 of 6 done"), "{summary}");
        records += archive_count(&summary, "records read");
        new += summary
            .split("new ")
            .nth(1)
            .and_then(|rest| rest.split(',').next())
            .and_then(|n| n.trim().parse::<usize>().ok())
            .unwrap();
    }
    assert_eq!(records, 180, "every record read by one of them, once");
    assert_eq!(new, relevant.len(), "every article stored once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_a_dead_worker_held_is_read_once_its_claim_runs_out() {
    let db = test_database().await;
    let dir = tempfile::tempdir().unwrap();
    // The store's tables, made by a run with nothing to read.
    let empty = postgres_config(dir.path(), "", 2, &db.url);
    let out = run(&["backfill", "--config", &empty]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let archives = tempfile::tempdir().unwrap();
    let relevant = write_archives(archives.path(), 2, 6);
    let held = archives.path().join("CC-NEWS-000.warc.gz");
    // A worker killed while reading the first file: its claim runs for two more seconds.
    execute(
        &db.url,
        format!(
            "INSERT INTO leases (key, holder, expires_at) VALUES \
             ('archive:cc:{}', 'dead-worker-1', now() + interval '2 seconds')",
            held.display()
        ),
    )
    .await;
    let source = archive_source(
        &format!("{:?}", archives.path().display().to_string()),
        true,
    );
    let config = postgres_config(dir.path(), &source, 2, &db.url);
    let out = run(&["backfill", "--config", &config]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let summary = text(&out.stdout);
    assert_eq!(
        archive_line(&summary),
        "cc: archive files 2 of 2 done, records read 12, pages skipped by the prefilter 8"
    );
    assert!(
        text(&out.stderr).contains("read by another process"),
        "{}",
        text(&out.stderr)
    );
    let listed = run(&["list", "--config", &config, "--json"]).await;
    assert_eq!(text(&listed.stdout).lines().count(), relevant.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_workers_file_is_finished_by_the_next_from_its_checkpoint() {
    let db = test_database().await;
    let archives = tempfile::tempdir().unwrap();
    const FILES: usize = 3;
    const PER_FILE: usize = 3000;
    // Every page an article on the relation: each is cleaned, tagged and stored, so reading
    // takes long enough to be killed part-way.
    write_archives_with(archives.path(), FILES, PER_FILE, 1);
    let source = archive_source(
        &format!("{:?}", archives.path().display().to_string()),
        true,
    );
    let dirs: Vec<tempfile::TempDir> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    let configs: Vec<String> = dirs
        .iter()
        .map(|dir| {
            let config = postgres_config(dir.path(), &source, 2, &db.url);
            // Leases of 3 s: the second worker takes the dead one's file up soon.
            let text = std::fs::read_to_string(&config).unwrap().replacen(
                "[pipeline]\n",
                "[pipeline]\nlease_secs = 3\n",
                1,
            );
            std::fs::write(&config, text).unwrap();
            config
        })
        .collect();
    let mut first = nichiro()
        .args(["backfill", "--config", &configs[0]])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until it has recorded a checkpoint inside a file it has not finished, then kill it.
    let url = db.url.clone();
    let checkpoint = tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        loop {
            if let Ok(mut client) = postgres::Client::connect(&url, postgres::NoTls)
                && let Ok(rows) = client.query(
                    "SELECT resume_at FROM archive_files WHERE NOT done AND resume_at > 0",
                    &[],
                )
                && let Some(row) = rows.first()
            {
                return Some(row.get::<_, i64>(0));
            }
            if started.elapsed() > std::time::Duration::from_secs(120) {
                return None;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    })
    .await
    .unwrap();
    first.kill().unwrap();
    first.wait().unwrap();
    let checkpoint = checkpoint.expect("the first worker recorded no checkpoint in 120 s");
    assert!(
        checkpoint >= 1000,
        "checkpoints come every 1,000 records: {checkpoint}"
    );

    let second = run(&["backfill", "--config", &configs[1]]).await;
    assert!(second.status.success(), "{}", text(&second.stderr));
    let summary = text(&second.stdout);
    assert!(
        archive_line(&summary).starts_with("cc: archive files 3 of 3 done"),
        "{summary}"
    );
    // It read on from the checkpoint, not the dead worker's file from its start.
    let read = archive_count(&summary, "records read");
    assert!(
        read <= FILES * PER_FILE - checkpoint as usize,
        "read {read} records: {summary}"
    );
    let url = db.url.clone();
    let stored: i64 = tokio::task::spawn_blocking(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        client
            .query_one("SELECT count(*) FROM articles", &[])
            .unwrap()
            .get(0)
    })
    .await
    .unwrap();
    assert_eq!(stored as usize, FILES * PER_FILE, "every page stored, once");
}

//! Backfill throughput: 2,000 article pages on 20 local hosts (ports of 127.0.0.1), through
//! the whole pipeline (fetch, clean, tag, store into SQLite), with politeness off (no per-host
//! delay, no robots.txt). Prints pages per second (median of the runs, with the spread) and
//! the process's peak resident memory (servers included).
//!
//!     cargo bench -p nichiro-pipeline --bench backfill

use std::time::Instant;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use axum::routing::get;
use nichiro_fetch::PollMode;
use nichiro_pipeline::{Config, Pipeline, Shutdown};

const HOSTS: usize = 20;
const PAGES: usize = 100;
const RUNS: usize = 3;

const WORDS: &[&str] = &[
    "Moscow",
    "Tokyo",
    "talks",
    "islands",
    "treaty",
    "ministers",
    "fishing",
    "quota",
    "energy",
    "visit",
    "delegation",
    "security",
    "exercise",
    "statement",
    "agreement",
    "economic",
    "border",
    "embassy",
    "protest",
    "summit",
    "Sakhalin",
    "Hokkaido",
    "LNG",
    "sanctions",
    "dialogue",
];

/// An article page of about 12 KB: navigation, text that differs from page to page, footer.
fn article(host: usize, n: usize) -> String {
    let mut seed = (host * 7919 + n * 104_729) as u64 | 1;
    let mut word = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        WORDS[(seed % WORDS.len() as u64) as usize]
    };
    let mut paragraphs = String::new();
    for _ in 0..8 {
        let sentence: Vec<&str> = (0..60).map(|_| word()).collect();
        paragraphs.push_str(&format!(
            "<p>Russia and Japan {}.</p>\n",
            sentence.join(" ")
        ));
    }
    let nav: String = (0..40)
        .map(|i| format!("<li><a href=\"/section/{i}\">Section {i}</a></li>"))
        .collect();
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Report {host}-{n} | Bench News</title>\
         <meta property=\"article:published_time\" content=\"2024-05-01T10:00:00Z\"></head><body>\
         <nav><ul>{nav}</ul></nav><article><h1>Report {host}-{n}</h1>{paragraphs}</article>\
         <div class=\"related\">{nav}</div><footer>Bench News</footer></body></html>"
    )
}

async fn feed(headers: HeaderMap) -> impl IntoResponse {
    let base = format!("http://{}", headers[header::HOST].to_str().unwrap());
    let items: String = (0..PAGES)
        .map(|n| format!("<item><title>{n}</title><link>{base}/a/{n}</link></item>"))
        .collect();
    (
        [(header::CONTENT_TYPE, "application/rss+xml")],
        format!(
            "<rss version=\"2.0\"><channel><title>b</title><link>{base}</link><description>d</description>{items}</channel></rss>"
        ),
    )
}

fn start_hosts() -> Vec<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let mut bases = Vec::new();
            for host in 0..HOSTS {
                let router = Router::new().route("/feed.xml", get(feed)).route(
                    "/a/{n}",
                    get(move |Path(n): Path<usize>| async move {
                        (
                            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                            article(host, n),
                        )
                    }),
                );
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                bases.push(format!("http://{}", listener.local_addr().unwrap()));
                tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
            }
            tx.send(bases).unwrap();
            std::future::pending::<()>().await;
        });
    });
    rx.recv().unwrap()
}

fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn main() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let bases = start_hosts();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut rates = Vec::new();
    for run in 0..RUNS {
        let dir = tempfile::tempdir().unwrap();
        let sources: String = bases
            .iter()
            .enumerate()
            .map(|(i, base)| {
                format!(
                    "[[source]]\nname = \"h{i}\"\nkind = \"feed\"\nurl = \"{base}/feed.xml\"\n\n"
                )
            })
            .collect();
        let text = format!(
            "[store]\npath = {store:?}\n[tag]\ntopics = {topics:?}\ncorpus = {corpus:?}\n\
             [fetch]\nallow_private_networks = true\nobey_robots = false\nper_host_delay_ms = 0\nconcurrency = 16\n\n{sources}",
            store = dir.path().join("bench.sqlite").display().to_string(),
            topics = repo.join("config/topics.toml").display().to_string(),
            corpus = repo.join("corpus").display().to_string(),
        );
        let path = dir.path().join("bench.toml");
        std::fs::write(&path, text).unwrap();
        let config = Config::load(&path).unwrap();
        let started = Instant::now();
        let summary = runtime.block_on(async {
            Pipeline::new(config)
                .unwrap()
                .run(PollMode::Once, None, Shutdown::default())
                .await
                .unwrap()
        });
        let elapsed = started.elapsed();
        assert_eq!(summary.fetched as usize, HOSTS * PAGES, "{summary}");
        assert_eq!(summary.new as usize, HOSTS * PAGES, "{summary}");
        let rate = summary.fetched as f64 / elapsed.as_secs_f64();
        println!(
            "run {}: {} pages in {:.2} s = {:.0} pages/s",
            run + 1,
            summary.fetched,
            elapsed.as_secs_f64(),
            rate
        );
        rates.push(rate);
    }
    rates.sort_by(f64::total_cmp);
    let median = rates[rates.len() / 2];
    println!(
        "backfill, {} pages on {HOSTS} hosts, politeness off: median {median:.0} pages/s (min {:.0}, max {:.0}, {RUNS} runs); peak RSS {:.0} MB",
        HOSTS * PAGES,
        rates[0],
        rates[rates.len() - 1],
        peak_rss_mb().unwrap_or(f64::NAN)
    );
}

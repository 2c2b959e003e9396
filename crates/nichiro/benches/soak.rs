//! Soak: the daemon (`nichiro run`, the release binary) over the hostile site — every fault
//! it serves, polled again and again — plus 10,000 ordinary articles, for a fixed time.
//! Prints, at intervals, the daemon's resident memory, open file descriptors, threads, async
//! tasks, the items waiting in each channel between stages and its counters; then whether
//! memory and descriptors stayed flat once warm. A benchmark, not a test: read its figures.
//!
//!     cargo bench -p nichiro --bench soak                 # 300 s, a sample every 15 s
//!     cargo bench -p nichiro --bench soak -- 1800 30      # 30 minutes, a sample every 30 s

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nichiro_hostile_site::{HostileSite, SiteSpec};

const ARTICLES: usize = 10_000;

struct Sample {
    at: Duration,
    rss_kb: u64,
    fds: usize,
    threads: u64,
    metrics: String,
}

fn status_field(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn metrics(addr: &str) -> String {
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else {
        return String::new();
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let mut text = String::new();
    let _ = stream.read_to_string(&mut text);
    text
}

/// A metric's value (the first sample whose name and labels start with `name`).
fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| l.starts_with(name))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn config(dir: &std::path::Path, base: &str) -> std::path::PathBuf {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let text = format!(
        r#"[store]
path = {store:?}

[tag]
topics = {topics:?}
corpus = {corpus:?}

[fetch]
allow_private_networks = true
per_host_delay_ms = 0
concurrency = 8
per_host_concurrency = 8
request_timeout_secs = 4
read_timeout_secs = 1
max_body_bytes = 2097152
max_retries = 1
retry_base_ms = 10
max_retry_after_secs = 5
host_failure_threshold = 1000
host_cooldown_secs = 1

[clean]
max_millis = 2000

[[source]]
name = "feed"
kind = "feed"
url = "{base}/feed.xml"
poll_interval_secs = 60

[[source]]
name = "sitemap"
kind = "sitemap"
url = "{base}/sitemap.xml"
max_age_days = 30
poll_interval_secs = 60

[[source]]
name = "laughs"
kind = "feed"
url = "{base}/laughs.xml"
poll_interval_secs = 60
"#,
        store = dir.join("soak.sqlite").display().to_string(),
        topics = repo.join("config/topics.toml").display().to_string(),
        corpus = repo.join("corpus").display().to_string(),
    );
    let path = dir.join("soak.toml");
    std::fs::write(&path, text).expect("write the config");
    path
}

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let seconds = args.first().copied().unwrap_or(300);
    let every = args.get(1).copied().unwrap_or(15).max(1);
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let site = runtime
        .block_on(HostileSite::start(SiteSpec {
            articles: ARTICLES,
            ..SiteSpec::default()
        }))
        .expect("the hostile site starts");
    let dir = tempfile::tempdir().expect("a temporary folder");
    let config = config(dir.path(), &site.base);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let metrics_addr = format!("127.0.0.1:{port}");
    let mut daemon = Command::new(env!("CARGO_BIN_EXE_nichiro"))
        .args(["run", "--config", config.to_str().expect("a UTF-8 path")])
        .args(["--metrics", &metrics_addr, "--log", "error"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the daemon starts");
    let pid = daemon.id();
    println!(
        "soak: nichiro run over the hostile site ({} faults) and {ARTICLES} articles, {seconds} s, a sample every {every} s",
        nichiro_hostile_site::FAULTS.len()
    );
    println!(
        "{:>6} {:>8} {:>5} {:>7} {:>6} {:>8} {:>7} {:>7} {:>30}",
        "secs",
        "RSS MB",
        "fds",
        "threads",
        "tasks",
        "fetched",
        "new",
        "failed",
        "queues jobs/claimed/pages/articles/tagged"
    );
    let started = Instant::now();
    let mut samples = Vec::new();
    while started.elapsed() < Duration::from_secs(seconds) {
        std::thread::sleep(Duration::from_secs(every));
        let Some(rss_kb) = status_field(pid, "VmRSS:") else {
            println!("the daemon is gone");
            break;
        };
        let sample = Sample {
            at: started.elapsed(),
            rss_kb,
            fds: std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count()),
            threads: status_field(pid, "Threads:").unwrap_or(0),
            metrics: metrics(&metrics_addr),
        };
        let m = &sample.metrics;
        let queues: Vec<String> = ["jobs", "claimed", "pages", "articles", "tagged"]
            .iter()
            .map(|q| metric(m, &format!("nichiro_queue_depth{{queue=\"{q}\"}}")).to_string())
            .collect();
        println!(
            "{:>6} {:>8.1} {:>5} {:>7} {:>6} {:>8} {:>7} {:>7} {:>30}",
            sample.at.as_secs(),
            sample.rss_kb as f64 / 1024.0,
            sample.fds,
            sample.threads,
            metric(m, "nichiro_async_tasks"),
            metric(m, "nichiro_pages_fetched_total"),
            metric(m, "nichiro_articles_new_total"),
            metric(m, "nichiro_pages_failed_total"),
            queues.join("/")
        );
        samples.push(sample);
    }
    let peak_kb = status_field(pid, "VmHWM:").unwrap_or(0);
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let status = daemon.wait().expect("the daemon ends");
    println!(
        "daemon stopped on SIGTERM: {status}; hostile site saw {} requests",
        site.requests().len()
    );
    // Warm: the second half of the run, once the backlog of articles is through.
    let warm: Vec<&Sample> = samples.iter().skip(samples.len() / 2).collect();
    if let (Some(first), Some(last)) = (warm.first(), warm.last()) {
        let rss: Vec<u64> = warm.iter().map(|s| s.rss_kb).collect();
        let fds: Vec<usize> = warm.iter().map(|s| s.fds).collect();
        println!(
            "warm ({} s to {} s): RSS {:.1} to {:.1} MB (min {:.1}, max {:.1}), fds {} to {} (max {}), peak RSS of the run {:.1} MB",
            first.at.as_secs(),
            last.at.as_secs(),
            first.rss_kb as f64 / 1024.0,
            last.rss_kb as f64 / 1024.0,
            *rss.iter().min().unwrap_or(&0) as f64 / 1024.0,
            *rss.iter().max().unwrap_or(&0) as f64 / 1024.0,
            first.fds,
            last.fds,
            fds.iter().max().unwrap_or(&0),
            peak_kb as f64 / 1024.0
        );
    }
}

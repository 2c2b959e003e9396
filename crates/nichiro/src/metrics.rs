//! `--metrics ADDR`: the live counters in Prometheus' text format at `http://ADDR/metrics`.
//! A minimal HTTP/1.1 responder (one response per connection), enough for a scraper or curl.

use std::fmt::Write as _;
use std::net::SocketAddr;

use nichiro_fetch::SourceCounts;
use nichiro_pipeline::{Progress, RunSummary};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Renders the counters as Prometheus metrics.
pub fn render(summary: &RunSummary) -> String {
    let mut out = String::new();
    let mut counter = |name: &str, help: &str, samples: Vec<(String, u64)>| {
        let _ = writeln!(
            out,
            "# HELP nichiro_{name} {help}\n# TYPE nichiro_{name} counter"
        );
        for (labels, value) in samples {
            let _ = writeln!(out, "nichiro_{name}{labels} {value}");
        }
    };
    let plain = |v: u64| vec![(String::new(), v)];
    counter(
        "pages_fetched_total",
        "Pages fetched or read.",
        plain(summary.fetched),
    );
    counter(
        "articles_new_total",
        "Articles stored for the first time.",
        plain(summary.new),
    );
    counter(
        "articles_already_stored_total",
        "Articles whose canonical URL was stored already.",
        plain(summary.already_stored),
    );
    counter(
        "articles_near_duplicates_total",
        "New articles that copy a stored text.",
        plain(summary.near_duplicates),
    );
    counter(
        "articles_relevant_total",
        "New articles tagged relevant.",
        plain(summary.relevant),
    );
    counter(
        "pages_not_articles_total",
        "Pages that were not articles.",
        plain(summary.not_articles),
    );
    counter(
        "pages_failed_total",
        "Pages or listings that failed.",
        plain(summary.failed),
    );
    counter(
        "articles_topic_total",
        "New relevant articles per topic.",
        summary
            .by_topic
            .iter()
            .map(|(t, n)| (format!("{{topic=\"{}\"}}", escape(t)), *n))
            .collect(),
    );
    for (name, help, value) in SOURCE_COUNTERS {
        let samples = summary
            .sources
            .iter()
            .map(|(s, c)| (format!("{{source=\"{}\"}}", escape(s)), value(c)))
            .collect();
        counter(name, help, samples);
    }
    out
}

/// The gauges: items waiting in each channel between stages, whether the store takes writes
/// (0 while it refuses them: the daemon is unready), and the async tasks alive.
pub fn render_gauges(out: &mut String, queues: &[(&str, usize)], store_writable: bool) {
    let _ = writeln!(
        out,
        "# HELP nichiro_queue_depth Items waiting in a channel between stages.\n# TYPE nichiro_queue_depth gauge"
    );
    for (queue, depth) in queues {
        let _ = writeln!(out, "nichiro_queue_depth{{queue=\"{queue}\"}} {depth}");
    }
    let _ = writeln!(
        out,
        "# HELP nichiro_store_writable 1 while the store takes writes; 0 while it refuses them (the daemon is unready and waits).\n# TYPE nichiro_store_writable gauge\nnichiro_store_writable {}",
        u8::from(store_writable)
    );
    if let Ok(handle) = tokio::runtime::Handle::try_current() {
        let _ = writeln!(
            out,
            "# HELP nichiro_async_tasks Async tasks alive.\n# TYPE nichiro_async_tasks gauge\nnichiro_async_tasks {}",
            handle.metrics().num_alive_tasks()
        );
    }
}

type SourceCounter = (&'static str, &'static str, fn(&SourceCounts) -> u64);

/// The per-source counters: metric name, help, value.
const SOURCE_COUNTERS: &[SourceCounter] = &[
    ("source_polls_total", "Polls of each source.", |c| c.polls),
    ("source_listed_total", "Items listed by each source.", |c| {
        c.listed
    }),
    ("source_queued_total", "Items queued for fetching.", |c| {
        c.queued
    }),
    (
        "source_seen_before_total",
        "Items skipped as seen before.",
        |c| c.seen_before,
    ),
    (
        "source_filtered_total",
        "Items skipped by patterns or age.",
        |c| c.filtered,
    ),
    (
        "source_not_modified_total",
        "Listings that had not changed (304).",
        |c| c.not_modified,
    ),
    ("source_fetched_total", "Pages fetched per source.", |c| {
        c.fetched
    }),
    (
        "source_failed_total",
        "Pages or listings failed per source.",
        |c| c.failed,
    ),
    ("source_retries_total", "Retries per source.", |c| c.retries),
    (
        "source_robots_disallowed_total",
        "Pages robots.txt disallowed.",
        |c| c.robots_disallowed,
    ),
    (
        "source_claimed_elsewhere_total",
        "Pages left to another daemon sharing the store, which held their claim.",
        |c| c.claimed_elsewhere,
    ),
];

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Binds `addr` and serves the metrics until `done` fires. Returns the bound address (useful
/// with port 0).
pub async fn serve(
    addr: SocketAddr,
    progress: Progress,
    done: CancellationToken,
) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(c) => c,
                    Err(_) => continue,
                },
                () = done.cancelled() => return,
            };
            let progress = progress.clone();
            tokio::spawn(async move {
                // The request itself does not matter beyond its first line.
                let mut request = [0u8; 1024];
                let read = tokio::time::timeout(
                    std::time::Duration::from_secs(5),
                    stream.read(&mut request),
                )
                .await;
                let Ok(Ok(n)) = read else { return };
                let first_line = String::from_utf8_lossy(&request[..n]);
                let (status, body) = if first_line.starts_with("GET /metrics") {
                    let mut body = render(&progress.snapshot());
                    render_gauges(
                        &mut body,
                        &progress.queue_depths(),
                        progress.store_refusal().is_none(),
                    );
                    ("200 OK", body)
                } else {
                    ("404 Not Found", "try /metrics\n".to_string())
                };
                let response = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    Ok(bound)
}

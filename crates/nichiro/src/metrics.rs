//! What the running daemon tells its web server ([`nichiro_server::Live`]): whether it is
//! ready, and its live counters and gauges, recorded through the `metrics` facade on every
//! scrape (the server renders them as Prometheus text).

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use metrics::{counter, describe_counter, describe_gauge, gauge};
use nichiro_fetch::SourceCounts;
use nichiro_pipeline::Progress;

/// The daemon as its web server sees it: not ready until the pipeline has started, while the
/// store refuses writes, or while its stages are stuck.
#[derive(Clone)]
pub struct DaemonLive {
    progress: Arc<OnceLock<Progress>>,
    motion: Arc<Mutex<Motion>>,
    stuck_after: Duration,
}

impl DaemonLive {
    /// Not started yet; stages count as stuck when items wait between the cleaning, tagging
    /// and storing stages and none of them has finished one for `stuck_after`.
    pub fn new(stuck_after: Duration) -> Self {
        DaemonLive {
            progress: Arc::default(),
            motion: Arc::new(Mutex::new(Motion::new(Instant::now()))),
            stuck_after,
        }
    }

    /// The pipeline has started: from now on its figures are served.
    pub fn started(&self, progress: Progress) {
        let _ = self.progress.set(progress);
    }
}

/// The queues whose items only wait for this machine (not for a site's pacing or its
/// `Retry-After`): cleaning, tagging and storing.
const CPU_QUEUES: &[&str] = &["pages", "articles", "tagged"];

/// Whether the stages after fetching move: what they have finished, and since when that has
/// not changed while items waited for them.
#[derive(Debug)]
struct Motion {
    finished: u64,
    since: Instant,
}

impl Motion {
    fn new(now: Instant) -> Self {
        Motion {
            finished: 0,
            since: now,
        }
    }

    /// Notes `finished` items and `waiting` ones at `now`; returns how long the stages have
    /// not moved while items waited, once that is longer than `limit`.
    fn stuck(
        &mut self,
        finished: u64,
        waiting: usize,
        now: Instant,
        limit: Duration,
    ) -> Option<Duration> {
        if finished != self.finished || waiting == 0 {
            self.finished = finished;
            self.since = now;
            return None;
        }
        let still = now.duration_since(self.since);
        (still > limit).then_some(still)
    }
}

impl nichiro_server::Live for DaemonLive {
    fn not_ready(&self) -> Option<String> {
        let progress = self
            .progress
            .get()
            .ok_or("starting: loading the store and the tagger")
            .map_err(str::to_string);
        let progress = match progress {
            Ok(progress) => progress,
            Err(starting) => return Some(starting),
        };
        if let Some(why) = progress.store_refusal() {
            return Some(format!("the store refuses writes: {why}"));
        }
        let summary = progress.snapshot();
        let waiting: usize = progress
            .queue_depths()
            .into_iter()
            .filter(|(queue, _)| CPU_QUEUES.contains(queue))
            .map(|(_, depth)| depth)
            .sum();
        let mut motion = self.motion.lock().unwrap_or_else(|p| p.into_inner());
        motion
            .stuck(summary.done(), waiting, Instant::now(), self.stuck_after)
            .map(|still| {
                format!(
                    "stuck: {waiting} items wait to be cleaned, tagged or stored and none has \
                     been for {} s",
                    still.as_secs()
                )
            })
    }

    fn record_metrics(&self) {
        record_async_tasks();
        let Some(progress) = self.progress.get() else {
            return;
        };
        record_progress(progress);
    }
}

/// The counters of a run, the per-source counters, and the gauges.
fn record_progress(progress: &Progress) {
    let summary = progress.snapshot();
    for (name, help, value) in [
        (
            "nichiro_pages_fetched_total",
            "Pages fetched or read.",
            summary.fetched,
        ),
        (
            "nichiro_articles_new_total",
            "Articles stored for the first time.",
            summary.new,
        ),
        (
            "nichiro_articles_already_stored_total",
            "Articles whose canonical URL was stored already.",
            summary.already_stored,
        ),
        (
            "nichiro_articles_near_duplicates_total",
            "New articles that copy a stored text.",
            summary.near_duplicates,
        ),
        (
            "nichiro_articles_relevant_total",
            "New articles tagged relevant.",
            summary.relevant,
        ),
        (
            "nichiro_pages_not_articles_total",
            "Pages that were not articles.",
            summary.not_articles,
        ),
        (
            "nichiro_pages_failed_total",
            "Pages or listings that failed.",
            summary.failed,
        ),
    ] {
        describe_counter!(name, help);
        counter!(name).absolute(value);
    }
    describe_counter!(
        "nichiro_articles_topic_total",
        "New relevant articles per topic."
    );
    for (topic, n) in &summary.by_topic {
        counter!("nichiro_articles_topic_total", "topic" => topic.clone()).absolute(*n);
    }
    for (name, help, value) in SOURCE_COUNTERS {
        describe_counter!(*name, *help);
        for (source, counts) in &summary.sources {
            counter!(*name, "source" => source.clone()).absolute(value(counts));
        }
    }
    describe_gauge!(
        "nichiro_queue_depth",
        "Items waiting in a channel between stages."
    );
    for (queue, depth) in progress.queue_depths() {
        gauge!("nichiro_queue_depth", "queue" => queue).set(depth as f64);
    }
    describe_gauge!(
        "nichiro_store_writable",
        "1 while the store takes writes; 0 while it refuses them (the daemon is unready and waits)."
    );
    gauge!("nichiro_store_writable").set(if progress.store_refusal().is_none() {
        1.0
    } else {
        0.0
    });
}

fn record_async_tasks() {
    if let Ok(handle) = tokio::runtime::Handle::try_current() {
        describe_gauge!("nichiro_async_tasks", "Async tasks alive.");
        gauge!("nichiro_async_tasks").set(handle.metrics().num_alive_tasks() as f64);
    }
}

type SourceCounter = (&'static str, &'static str, fn(&SourceCounts) -> u64);

/// The per-source counters: metric name, help, value.
const SOURCE_COUNTERS: &[SourceCounter] = &[
    ("nichiro_source_polls_total", "Polls of each source.", |c| {
        c.polls
    }),
    (
        "nichiro_source_listed_total",
        "Items listed by each source.",
        |c| c.listed,
    ),
    (
        "nichiro_source_queued_total",
        "Items queued for fetching.",
        |c| c.queued,
    ),
    (
        "nichiro_source_seen_before_total",
        "Items skipped as seen before.",
        |c| c.seen_before,
    ),
    (
        "nichiro_source_filtered_total",
        "Items skipped by patterns or age.",
        |c| c.filtered,
    ),
    (
        "nichiro_source_not_modified_total",
        "Listings that had not changed (304).",
        |c| c.not_modified,
    ),
    (
        "nichiro_source_fetched_total",
        "Pages fetched per source.",
        |c| c.fetched,
    ),
    (
        "nichiro_source_failed_total",
        "Pages or listings failed per source.",
        |c| c.failed,
    ),
    ("nichiro_source_retries_total", "Retries per source.", |c| {
        c.retries
    }),
    (
        "nichiro_source_robots_disallowed_total",
        "Pages robots.txt disallowed.",
        |c| c.robots_disallowed,
    ),
    (
        "nichiro_source_claimed_elsewhere_total",
        "Pages left to another daemon sharing the store, which held their claim.",
        |c| c.claimed_elsewhere,
    ),
    (
        "nichiro_source_records_total",
        "WARC records read by each archive source.",
        |c| c.records,
    ),
    (
        "nichiro_source_prefiltered_total",
        "Archive pages the prefilter skipped before cleaning, as unable to be relevant.",
        |c| c.prefiltered,
    ),
    (
        "nichiro_source_archive_files_done_total",
        "Archive files read to their end (or found done).",
        |c| c.archive_files_done,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_are_stuck_only_when_items_wait_and_nothing_finishes_for_too_long() {
        let start = Instant::now();
        let limit = Duration::from_secs(300);
        let at = |secs| start + Duration::from_secs(secs);
        let mut motion = Motion::new(start);
        assert_eq!(motion.stuck(0, 5, at(200), limit), None);
        assert_eq!(
            motion.stuck(0, 5, at(301), limit),
            Some(Duration::from_secs(301))
        );
        // Something finished: moving again.
        assert_eq!(motion.stuck(1, 5, at(302), limit), None);
        assert_eq!(motion.stuck(1, 5, at(500), limit), None);
        // Idle (nothing waits) is not stuck, however long.
        assert_eq!(motion.stuck(1, 0, at(2000), limit), None);
        assert_eq!(motion.stuck(1, 3, at(2100), limit), None);
        assert!(motion.stuck(1, 3, at(2401), limit).is_some());
    }
}

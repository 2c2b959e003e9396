//! The listing stage: every source polled once, or each on its own interval. The fetch
//! stage is in [`crate::scheduler`].

use std::time::Duration;

use nichiro_model::{FetchJob, SourcePoll};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::sources::{PollContext, Source};

/// Whether sources are listed once (backfill) or again and again (daemon).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollMode {
    /// One poll of every source, then the stage ends.
    Once,
    /// Each source is polled on its own interval until shutdown.
    Forever,
}

/// A source that could not be listed, with why.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceFailure {
    /// The source's name.
    pub source: String,
    /// The error, in one line.
    pub error: String,
}

/// Runs every source, each in its own task so that a slow or failing one holds back no other.
/// Ends when every source is done (once) or when shutdown begins (forever), and gives back
/// the sources (with what they learnt, such as validators) and the listings that failed.
pub async fn run_sources(
    sources: Vec<Source>,
    ctx: PollContext,
    jobs: mpsc::Sender<FetchJob>,
    mode: PollMode,
) -> (Vec<Source>, Vec<SourceFailure>) {
    let mut tasks = JoinSet::new();
    for mut source in sources {
        let ctx = ctx.clone();
        let jobs = jobs.clone();
        tasks.spawn(async move {
            let mut failures = Vec::new();
            let mut interval = Duration::from_secs(source.config.poll_interval_secs.max(1));
            let (_, max_interval) = source.config.poll_bounds();
            let mut queued_before = 0;
            let mut failed_in_a_row = source.last_poll().map_or(0, |p| p.failures);
            // Since when the polls failing in a row fail (kept across restarts; a record
            // older than this field dates them from the last poll).
            let mut failing_since = source
                .last_poll()
                .filter(|p| p.failures > 0)
                .map(|p| p.failing_since.unwrap_or(p.polled_at));
            if mode == PollMode::Forever {
                let wait = first_wait(&ctx, &source, interval, max_interval);
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = ctx.stop.cancelled() => {}
                }
            }
            while !ctx.stop.is_cancelled() {
                // A daemon's poll goes ahead unless another process sharing the work polled
                // the source within the interval; a backfill lists everything it is given.
                let go = mode == PollMode::Once || may_poll(&ctx, &source, interval).await;
                let mut last_error = None;
                if !go {
                    tracing::debug!(source = source.name(), "polled by another daemon; skipped");
                } else if let Err(e) = source.poll(&ctx, &jobs).await {
                    if ctx.stop.is_cancelled() {
                        // Cut short by shutdown (a listing waiting on its host, or aborted
                        // after the grace period): a stop, not a failing source.
                        tracing::info!(source = source.name(), error = %e, "listing stopped by shutdown");
                        break;
                    }
                    ctx.stats.update(source.name(), |c| {
                        c.failed += 1;
                        c.may_pass += 1;
                    });
                    tracing::warn!(source = source.name(), error = %e, "source failed; the others go on");
                    failures.push(SourceFailure {
                        source: source.name().to_string(),
                        error: e.to_string(),
                    });
                    failed_in_a_row += 1;
                    failing_since.get_or_insert_with(chrono::Utc::now);
                    last_error = Some(e.to_string());
                } else {
                    failed_in_a_row = 0;
                    failing_since = None;
                }
                // Stop when told to, or when nothing downstream listens any more (a later
                // stage failed): polling on would only fetch into the void.
                let last = mode == PollMode::Once || ctx.stop.is_cancelled() || jobs.is_closed();
                if !last {
                    let queued = ctx.stats.snapshot().get(source.name()).map_or(0, |c| c.queued);
                    let (min, max) = source.config.poll_bounds();
                    interval = next_interval(interval, queued > queued_before, min, max);
                    queued_before = queued;
                }
                if go {
                    let now = chrono::Utc::now();
                    let poll = SourcePoll {
                        polled_at: now,
                        next_poll_at: (!last)
                            .then(|| chrono::Duration::from_std(interval).ok())
                            .flatten()
                            .map(|wait| now + wait),
                        failures: failed_in_a_row,
                        last_error,
                        failing_since,
                    };
                    record_poll(&ctx, source.name(), poll).await;
                }
                if last {
                    break;
                }
                tracing::debug!(source = source.name(), interval_secs = interval.as_secs(), "next poll");
                tokio::select! {
                    () = tokio::time::sleep(interval) => {}
                    () = ctx.stop.cancelled() => break,
                }
            }
            (source, failures)
        });
    }
    drop(jobs);
    let mut sources = Vec::new();
    let mut failures = Vec::new();
    while let Some(result) = tasks.join_next().await {
        match result {
            Ok((source, mut f)) => {
                sources.push(source);
                failures.append(&mut f);
            }
            Err(e) => failures.push(SourceFailure {
                source: "?".into(),
                error: format!("source task failed: {e}"),
            }),
        }
    }
    (sources, failures)
}

/// How long a daemon waits before a source's first poll: until the next poll an earlier run
/// set (at most `max_interval` from now); else, when daemons share the work, a random part
/// of the interval, so that the one started first does not take every source's first poll.
fn first_wait(
    ctx: &PollContext,
    source: &Source,
    interval: Duration,
    max_interval: Duration,
) -> Duration {
    let scheduled = source
        .last_poll()
        .and_then(|p| p.next_poll_at)
        .and_then(|next| (next - chrono::Utc::now()).to_std().ok());
    match scheduled {
        Some(wait) => {
            let wait = wait.min(max_interval);
            tracing::info!(
                source = source.name(),
                wait_secs = wait.as_secs(),
                "waiting for the poll an earlier run scheduled"
            );
            wait
        }
        None if ctx.coordinator.is_some() => interval
            .min(Duration::from_secs(60))
            .mul_f64(crate::scheduler::jitter_fraction()),
        None => Duration::ZERO,
    }
}

/// Hands a finished poll to the journal, if any, off the async threads.
async fn record_poll(ctx: &PollContext, source: &str, poll: SourcePoll) {
    let Some(journal) = ctx.journal.clone() else {
        return;
    };
    let source = source.to_string();
    let _ = tokio::task::spawn_blocking(move || journal.polled(&source, &poll)).await;
}

/// Whether this process should poll `source` now (see [`crate::Coordinator::may_poll`]).
async fn may_poll(ctx: &PollContext, source: &Source, interval: Duration) -> bool {
    let Some(coordinator) = ctx.coordinator.clone() else {
        return true;
    };
    let name = source.name().to_string();
    tokio::task::spawn_blocking(move || coordinator.may_poll(&name, interval))
        .await
        .unwrap_or(true)
}

/// The daemon's next wait for a source: half as long after a poll that found new items, half
/// again as long after one that found none, within `min..=max`.
pub fn next_interval(current: Duration, found_new: bool, min: Duration, max: Duration) -> Duration {
    let next = if found_new {
        current / 2
    } else {
        current.mul_f64(1.5)
    };
    next.clamp(min, max)
}

#[cfg(test)]
mod tests {
    use super::next_interval;
    use std::time::Duration;

    #[test]
    fn busy_sources_are_polled_more_often_and_quiet_ones_less() {
        let (min, max) = (Duration::from_secs(60), Duration::from_secs(3600));
        let mut interval = Duration::from_secs(900);
        for _ in 0..10 {
            interval = next_interval(interval, true, min, max);
        }
        assert_eq!(interval, min);
        for _ in 0..20 {
            interval = next_interval(interval, false, min, max);
        }
        assert_eq!(interval, max);
        assert_eq!(
            next_interval(Duration::from_secs(900), false, min, max),
            Duration::from_secs(1350)
        );
        assert_eq!(
            next_interval(Duration::from_secs(900), true, min, max),
            Duration::from_secs(450)
        );
    }
}

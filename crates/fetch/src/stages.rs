//! The two async stages this crate runs: sources (listing) and fetch (getting pages).

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use nichiro_model::{FetchJob, RawPage, RemoteJob};
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinSet;

use crate::http::{FetchError, Purpose};
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

/// Runs every source, each in its own task so that a slow or failing one holds back no other,
/// and returns the sources whose listing failed. Ends when every source is done (once) or
/// when shutdown begins (forever).
pub async fn run_sources(
    sources: Vec<Source>,
    ctx: PollContext,
    jobs: mpsc::Sender<FetchJob>,
    mode: PollMode,
) -> Vec<SourceFailure> {
    let mut tasks = JoinSet::new();
    for mut source in sources {
        let ctx = ctx.clone();
        let jobs = jobs.clone();
        tasks.spawn(async move {
            let mut failures = Vec::new();
            loop {
                if let Err(e) = source.poll(&ctx, &jobs).await {
                    ctx.stats.update(source.name(), |c| c.failed += 1);
                    tracing::warn!(source = source.name(), error = %e, "source failed; the others go on");
                    failures.push(SourceFailure {
                        source: source.name().to_string(),
                        error: e.to_string(),
                    });
                }
                // Stop when told to, or when nothing downstream listens any more (a later
                // stage failed): polling on would only fetch into the void.
                if mode == PollMode::Once || ctx.stop.is_cancelled() || jobs.is_closed() {
                    break;
                }
                let interval = Duration::from_secs(source.config.poll_interval_secs);
                tokio::select! {
                    () = tokio::time::sleep(interval) => {}
                    () = ctx.stop.cancelled() => break,
                }
            }
            failures
        });
    }
    drop(jobs);
    let mut failures = Vec::new();
    while let Some(result) = tasks.join_next().await {
        match result {
            Ok(mut f) => failures.append(&mut f),
            Err(e) => failures.push(SourceFailure {
                source: "?".into(),
                error: format!("source task failed: {e}"),
            }),
        }
    }
    failures
}

/// Fetches queued pages with `ctx.fetcher.config().concurrency` workers and passes them on.
/// Stops taking jobs when shutdown begins; fetches in flight finish unless `ctx.abort` fires.
pub async fn run_fetch(
    ctx: PollContext,
    jobs: mpsc::Receiver<FetchJob>,
    pages: mpsc::Sender<RawPage>,
) {
    let jobs = Arc::new(Mutex::new(jobs));
    let mut workers = JoinSet::new();
    for _ in 0..ctx.fetcher.config().concurrency.max(1) {
        let ctx = ctx.clone();
        let jobs = jobs.clone();
        let pages = pages.clone();
        workers.spawn(async move {
            loop {
                let job = {
                    let mut jobs = jobs.lock().await;
                    tokio::select! {
                        biased;
                        () = ctx.stop.cancelled() => None,
                        job = jobs.recv() => job,
                    }
                };
                let Some(job) = job else { break };
                let page = match job {
                    FetchJob::Local(page) => Some(page),
                    FetchJob::Remote(job) => fetch_one(&ctx, job).await,
                };
                if let Some(page) = page {
                    ctx.stats.update(&page.source, |c| c.fetched += 1);
                    if pages.send(page).await.is_err() {
                        break;
                    }
                }
            }
        });
    }
    drop(pages);
    while workers.join_next().await.is_some() {}
}

async fn fetch_one(ctx: &PollContext, job: RemoteJob) -> Option<RawPage> {
    let result = ctx
        .fetcher
        .get(&job.url, Purpose::Page, None, &ctx.stop, &ctx.abort)
        .await;
    match result {
        Ok(response) => {
            tracing::info!(
                url = %job.url,
                status = response.status,
                bytes = response.body.len(),
                millis = response.elapsed.as_millis() as u64,
                "fetched"
            );
            ctx.seen.mark(&response.final_url);
            Some(RawPage {
                requested_url: job.url,
                final_url: response.final_url,
                status: response.status,
                content_type: response.content_type,
                etag: response.validators.etag,
                last_modified: response.validators.last_modified,
                body: response.body,
                fetched_at: Utc::now(),
                source: job.source,
                hints: job.hints,
            })
        }
        Err(FetchError::Cancelled { .. }) => {
            ctx.seen.release(&job.url);
            None
        }
        Err(error) => {
            // A permanent failure stays claimed for this run; a transient one may be retried
            // by the next poll.
            if error.is_transient() {
                ctx.seen.release(&job.url);
            }
            match error {
                FetchError::Robots { .. } => {
                    ctx.stats.update(&job.source, |c| c.robots_disallowed += 1)
                }
                _ => ctx.stats.update(&job.source, |c| c.failed += 1),
            }
            tracing::warn!(url = %job.url, source = %job.source, %error, "fetch failed");
            None
        }
    }
}

//! The fetch stage: per-host queues and a dispatcher that starts a request only for a host
//! that is ready (not busy, its delay passed, not backed off), round-robin across hosts, so
//! one slow or failing host never holds back the others. Transient failures are retried
//! with exponential backoff and jitter, or after the server's `Retry-After`; a host that
//! keeps failing is backed off and its queued pages given up for this run.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use chrono::Utc;
use nichiro_model::{FetchJob, RawPage, RemoteJob};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::hosts::NotReady;
use crate::http::{FetchError, Purpose, Response, origin_of};
use crate::sources::{GivenUp, PollContext};

/// Longest wait between two retries of a page.
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// How soon a host busy with a request from outside this stage (a listing) is looked at again.
const BUSY_RECHECK: Duration = Duration::from_millis(50);
/// Jobs held in host queues at most; past this the stage stops taking jobs, which holds the
/// sources back.
const MAX_QUEUED: usize = 10_000;

struct Pending {
    job: RemoteJob,
    attempt: u32,
    not_before: Instant,
}

#[derive(Default)]
struct Queues {
    by_host: HashMap<String, VecDeque<Pending>>,
    /// Hosts with pending jobs, in round-robin order.
    order: VecDeque<String>,
    len: usize,
}

impl Queues {
    fn push(&mut self, origin: String, pending: Pending) {
        let queue = self.by_host.entry(origin.clone()).or_default();
        if queue.is_empty() {
            self.order.push_back(origin);
        }
        queue.push_back(pending);
        self.len += 1;
    }

    /// Removes every job of a host.
    fn drain_host(&mut self, origin: &str) -> Vec<Pending> {
        let drained: Vec<Pending> = self.by_host.remove(origin).unwrap_or_default().into();
        self.order.retain(|o| o != origin);
        self.len -= drained.len();
        drained
    }

    fn drain_all(&mut self) -> Vec<Pending> {
        self.order.clear();
        let drained: Vec<Pending> = self.by_host.drain().flat_map(|(_, q)| q).collect();
        self.len = 0;
        drained
    }
}

/// Fetches queued pages and passes them on, until the jobs channel closes and every queue is
/// empty, or shutdown begins (then queued jobs are dropped and requests in flight finish
/// unless `ctx.abort` fires).
pub async fn run_fetch(
    ctx: PollContext,
    mut jobs: mpsc::Receiver<FetchJob>,
    pages: mpsc::Sender<RawPage>,
) {
    let config = ctx.fetcher.config().clone();
    let mut queues = Queues::default();
    let mut in_flight: JoinSet<(String, Pending, Result<Response, FetchError>)> = JoinSet::new();
    let mut jobs_open = true;
    loop {
        let stopping = ctx.stop.is_cancelled();
        if stopping && queues.len > 0 {
            for pending in queues.drain_all() {
                ctx.seen.release(&pending.job.url);
                ctx.job_ended_without_page(&pending.job.url);
            }
        }
        let next_wake = if stopping {
            None
        } else {
            dispatch(&ctx, &mut queues, &mut in_flight, config.concurrency.max(1))
        };
        if !jobs_open && queues.len == 0 && in_flight.is_empty() {
            break;
        }
        if stopping && in_flight.is_empty() {
            break;
        }
        let take_jobs = jobs_open && !stopping && queues.len < MAX_QUEUED;
        tokio::select! {
            biased;
            () = ctx.stop.cancelled(), if !stopping => {}
            Some(done) = in_flight.join_next(), if !in_flight.is_empty() => {
                let Ok((origin, pending, result)) = done else { continue };
                if let Some(backed_off) = ctx.fetcher.finish(&origin, &result) {
                    ctx.stats.backed_off(backed_off);
                }
                if let Some(page) = handle_result(&ctx, &mut queues, origin, pending, result)
                    && pages.send(page).await.is_err()
                {
                    break;
                }
            }
            job = jobs.recv(), if take_jobs => match job {
                None => jobs_open = false,
                Some(FetchJob::Local(page)) => {
                    ctx.stats.update(&page.source, |c| c.fetched += 1);
                    if pages.send(page).await.is_err() {
                        break;
                    }
                }
                Some(FetchJob::Remote(job)) => match origin_of(&job.url) {
                    Some(origin) => queues.push(origin, Pending { job, attempt: 0, not_before: Instant::now() }),
                    None => {
                        ctx.job_ended_without_page(&job.url);
                        ctx.stats.update(&job.source, |c| c.failed += 1);
                        tracing::warn!(url = %job.url, "not an http(s) URL; skipped");
                    }
                },
            },
            () = sleep_until(next_wake), if next_wake.is_some() => {}
        }
    }
    // Abandoned after a send failure: let requests in flight end.
    in_flight.shutdown().await;
}

async fn sleep_until(when: Option<Instant>) {
    if let Some(when) = when {
        tokio::time::sleep_until(when.into()).await;
    }
}

/// Starts requests for ready hosts, round-robin, while there is room. Returns when the next
/// host becomes ready, if one is waiting on time alone; gives up the jobs of hosts that are
/// down.
fn dispatch(
    ctx: &PollContext,
    queues: &mut Queues,
    in_flight: &mut JoinSet<(String, Pending, Result<Response, FetchError>)>,
    limit: usize,
) -> Option<Instant> {
    let now = Instant::now();
    let mut next_wake: Option<Instant> = None;
    let mut wake_at = |t: Instant| next_wake = Some(next_wake.map_or(t, |w| w.min(t)));
    let mut down = Vec::new();
    for _ in 0..queues.order.len() {
        if in_flight.len() >= limit {
            break;
        }
        let Some(origin) = queues.order.pop_front() else {
            break;
        };
        let queue = queues.by_host.get_mut(&origin).expect("queued host");
        let head_ready = queue.front().map_or(now, |p| p.not_before);
        if head_ready > now {
            wake_at(head_ready);
            queues.order.push_back(origin);
            continue;
        }
        match ctx.fetcher.hosts().try_start(&origin) {
            Ok(()) => {
                let pending = queue.pop_front().expect("non-empty queue");
                queues.len -= 1;
                if queue.is_empty() {
                    queues.by_host.remove(&origin);
                } else {
                    queues.order.push_back(origin.clone());
                }
                let fetcher = ctx.fetcher.clone();
                let abort = ctx.abort.clone();
                in_flight.spawn(async move {
                    let result = fetcher
                        .fetch_started(&pending.job.url, Purpose::Page, None, &abort)
                        .await;
                    (origin, pending, result)
                });
            }
            Err(NotReady::Until(at)) => {
                wake_at(at);
                queues.order.push_back(origin);
            }
            // A request to it is in flight. If it is this stage's, its end wakes the
            // dispatcher; a listing's does not, hence a look again shortly.
            Err(NotReady::Busy) => {
                wake_at(now + BUSY_RECHECK);
                queues.order.push_back(origin);
            }
            Err(NotReady::Down(until)) => down.push((origin, until)),
        }
    }
    for (origin, until) in down {
        let secs = until.saturating_duration_since(now).as_secs();
        for pending in queues.drain_host(&origin) {
            fail(
                ctx,
                &pending.job,
                &FetchError::HostDown {
                    url: pending.job.url.clone(),
                    secs,
                },
            );
        }
    }
    next_wake
}

/// Turns a finished request into a page, a retry, or a counted failure.
fn handle_result(
    ctx: &PollContext,
    queues: &mut Queues,
    origin: String,
    mut pending: Pending,
    result: Result<Response, FetchError>,
) -> Option<RawPage> {
    let config = ctx.fetcher.config();
    match result {
        Ok(response) => {
            let job = pending.job;
            tracing::info!(
                url = %job.url,
                status = response.status,
                bytes = response.body.len(),
                millis = response.elapsed.as_millis() as u64,
                retries = pending.attempt,
                "fetched"
            );
            metrics::histogram!("nichiro_fetch_seconds").record(response.elapsed.as_secs_f64());
            metrics::counter!("nichiro_fetched_bytes_total", "source" => job.source.clone())
                .increment(response.body.len() as u64);
            ctx.seen.mark(&response.final_url);
            ctx.stats.update(&job.source, |c| c.fetched += 1);
            ctx.stats.forget_failures(&job.url);
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
            ctx.seen.release(&pending.job.url);
            ctx.job_ended_without_page(&pending.job.url);
            None
        }
        Err(error) if error.is_transient() && pending.attempt < config.max_retries => {
            let wait = match &error {
                FetchError::Status {
                    retry_after: Some(wait),
                    ..
                } => {
                    if wait.as_secs() > config.max_retry_after_secs {
                        fail(ctx, &pending.job, &error);
                        return None;
                    }
                    *wait
                }
                _ => backoff(config.retry_base_ms, pending.attempt),
            };
            tracing::info!(url = %pending.job.url, %error, retry_in_ms = wait.as_millis() as u64, "will retry");
            pending.attempt += 1;
            pending.not_before = Instant::now() + wait;
            ctx.stats.update(&pending.job.source, |c| c.retries += 1);
            queues.push(origin, pending);
            None
        }
        Err(error) => {
            fail(ctx, &pending.job, &error);
            None
        }
    }
}

/// Records a page given up: counted, logged, and (when it may pass) released so that a later
/// poll can queue it again.
/// A page whose fetches failed in a way that may pass [`FetchConfig::max_failed_fetches`]
/// times is given up as a permanent failure is.
///
/// [`FetchConfig::max_failed_fetches`]: crate::FetchConfig::max_failed_fetches
fn fail(ctx: &PollContext, job: &RemoteJob, error: &FetchError) {
    ctx.job_ended_without_page(&job.url);
    let mut may_pass = error.is_transient();
    let mut reason = error.to_string();
    // A host backed off fails its queued pages unasked: that counts against the host, not
    // against each page.
    let asked = !matches!(error, FetchError::HostDown { .. });
    if may_pass && asked {
        let limit = ctx.fetcher.config().max_failed_fetches;
        let failures = ctx.stats.failed_in_passing(&job.url, limit);
        if failures >= limit {
            may_pass = false;
            reason = format!("failed {failures} times; the last: {error}");
        }
    }
    if may_pass {
        ctx.seen.release(&job.url);
    } else {
        ctx.stats.give_up(GivenUp {
            url: job.url.clone(),
            source: job.source.clone(),
            reason,
        });
    }
    match error {
        FetchError::Robots { .. } => ctx.stats.update(&job.source, |c| c.robots_disallowed += 1),
        _ => ctx.stats.update(&job.source, |c| {
            c.failed += 1;
            c.may_pass += u64::from(may_pass);
        }),
    }
    tracing::warn!(url = %job.url, source = %job.source, %error, "fetch failed");
}

/// Exponential backoff from `base_ms`, doubled per attempt, with up to half again of random
/// jitter, capped at [`MAX_BACKOFF`].
fn backoff(base_ms: u64, attempt: u32) -> Duration {
    let base = Duration::from_millis(base_ms.saturating_mul(1 << attempt.min(20)));
    let jitter = base.mul_f64(jitter_fraction() * 0.5);
    (base + jitter).min(MAX_BACKOFF)
}

/// A number in [0, 1) from the clock's low bits: enough to spread retries, no RNG needed.
pub(crate) fn jitter_fraction() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    f64::from(nanos % 1000) / 1000.0
}

#[cfg(test)]
mod tests {
    use super::backoff;
    use std::time::Duration;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        for attempt in 0..4 {
            let wait = backoff(1000, attempt);
            let base = Duration::from_millis(1000 << attempt);
            assert!(
                wait >= base && wait <= base.mul_f64(1.5),
                "{attempt}: {wait:?}"
            );
        }
        assert_eq!(backoff(1000, 30), Duration::from_secs(300));
    }
}

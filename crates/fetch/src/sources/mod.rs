//! Sources: where the URLs and pages to fetch come from. Each poll of a source lists its
//! items, drops the ones already seen, filtered out or too old, and queues the rest as
//! [`FetchJob`]s on a bounded channel, so a full pipeline slows the listing down.

mod discovery;
mod feed;
mod feed_bytes;
mod local_dir;
mod section_page;
mod sitemap;
mod warc_archive;
mod warc_files;
mod warc_records;

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, FixedOffset, Utc};
use nichiro_model::{FetchJob, ItemHints, RemoteJob};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::canonical_url::canonicalize;
use crate::config::{SourceConfig, SourceKind, UrlFilter};
use crate::http::{FetchError, HttpFetcher, Purpose, Validators};

pub use feed::{FeedItem, parse_feed};
pub use local_dir::{content_type_for, list_files};
pub use section_page::article_links;
pub use sitemap::{SitemapDocument, SitemapEntry, parse_sitemap};
pub use warc_archive::{ArchiveCounts, WarcPage, parse_http_response, read_archive};
pub use warc_files::archive_files;
pub use warc_records::{NextRecord, WarcRecord, WarcRecords};

/// Why a source could not be polled.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The feed or sitemap could not be fetched.
    #[error("source {source_name:?}: {error}")]
    Fetch {
        /// The source.
        source_name: String,
        /// The fetch failure.
        error: FetchError,
    },
    /// The listing could not be parsed.
    #[error("source {source_name:?}: cannot parse {url}: {message}")]
    Parse {
        /// The source.
        source_name: String,
        /// What was parsed.
        url: String,
        /// What is wrong.
        message: String,
    },
    /// A local folder or archive could not be read.
    #[error("source {source_name:?}: cannot read {path}: {message}")]
    Read {
        /// The source.
        source_name: String,
        /// The path.
        path: String,
        /// What failed.
        message: String,
    },
}

/// URLs claimed by a job in flight or already stored, shared by all sources: a URL is queued
/// once. A failed fetch releases its URL so that a later poll may try it again.
#[derive(Debug, Default, Clone)]
pub struct SeenUrls(Arc<Mutex<HashSet<String>>>);

impl SeenUrls {
    /// A set holding `urls` (the store's seen URLs, canonicalized).
    pub fn from_urls(urls: impl IntoIterator<Item = String>) -> Self {
        SeenUrls(Arc::new(Mutex::new(
            urls.into_iter().map(|u| canonicalize(&u)).collect(),
        )))
    }

    /// Claims a URL; false when it was claimed already.
    pub fn claim(&self, url: &str) -> bool {
        self.0.lock().expect("seen lock").insert(canonicalize(url))
    }

    /// Gives a URL back (after a failure), so it can be queued again.
    pub fn release(&self, url: &str) {
        self.0.lock().expect("seen lock").remove(&canonicalize(url));
    }

    /// Marks a URL as seen without queueing anything (a redirect target, a canonical URL).
    pub fn mark(&self, url: &str) {
        self.0.lock().expect("seen lock").insert(canonicalize(url));
    }

    /// Number of URLs held.
    pub fn len(&self) -> usize {
        self.0.lock().expect("seen lock").len()
    }

    /// Whether no URL is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Counters of one source, for summaries and metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SourceCounts {
    /// Polls made.
    pub polls: u64,
    /// Items listed by the source.
    pub listed: u64,
    /// Items queued for fetching.
    pub queued: u64,
    /// Items skipped because their URL was seen before.
    pub seen_before: u64,
    /// Items skipped by the include/exclude patterns or for their age.
    pub filtered: u64,
    /// Listings that had not changed (HTTP 304).
    pub not_modified: u64,
    /// Pages fetched.
    pub fetched: u64,
    /// Pages or listings that failed.
    pub failed: u64,
    /// Of those, the ones that may pass on a later poll (a timeout, a 5xx, a listing out of
    /// reach), not those given up for good (a 404, a page over the size limit): they keep
    /// the listing's validators from being saved, so the next poll lists it in full again.
    pub may_pass: u64,
    /// Retries of pages that failed in a way that may pass.
    pub retries: u64,
    /// Pages skipped because robots.txt disallows them.
    pub robots_disallowed: u64,
    /// Pages left to another daemon sharing the store, which holds their claim.
    pub claimed_elsewhere: u64,
    /// Archive sources: files listed.
    pub archive_files: u64,
    /// Archive sources: files read to their end (or done before).
    pub archive_files_done: u64,
    /// Archive sources: WARC records read.
    pub records: u64,
    /// Archive sources: pages the page filter skipped, before cleaning, as unable to be
    /// relevant.
    pub prefiltered: u64,
}

/// Per-source counters shared by the stages.
#[derive(Debug, Default, Clone)]
pub struct FetchStats(Arc<Mutex<StatsInner>>);

#[derive(Debug, Default)]
struct StatsInner {
    counts: BTreeMap<String, SourceCounts>,
    /// Per URL, fetches that failed in a way that may pass.
    passing_failures: std::collections::HashMap<String, u32>,
    given_up: Vec<GivenUp>,
    backed_off: Vec<crate::hosts::BackedOff>,
}

/// A URL given up for good (404, 410, robots.txt, not HTML, too large): a later run need not
/// ask again.
#[derive(Debug, Clone, PartialEq)]
pub struct GivenUp {
    /// The URL as requested.
    pub url: String,
    /// The source that listed it.
    pub source: String,
    /// Why, in one line.
    pub reason: String,
}

impl FetchStats {
    /// Updates the counters of `source`.
    pub fn update(&self, source: &str, f: impl FnOnce(&mut SourceCounts)) {
        let mut inner = self.0.lock().expect("stats lock");
        f(inner.counts.entry(source.to_string()).or_default());
    }

    /// A copy of all counters.
    pub fn snapshot(&self) -> BTreeMap<String, SourceCounts> {
        self.0.lock().expect("stats lock").counts.clone()
    }

    /// Counts one more fetch of `url` that failed in a way that may pass; gives the count.
    /// Once it reaches `limit`, the URL is forgotten here (it is given up).
    pub fn failed_in_passing(&self, url: &str, limit: u32) -> u32 {
        let mut inner = self.0.lock().expect("stats lock");
        let count = inner.passing_failures.entry(url.to_string()).or_default();
        *count += 1;
        let count = *count;
        if count >= limit {
            inner.passing_failures.remove(url);
        }
        count
    }

    /// Forgets the failures of `url` (it was fetched), so the count stays bounded.
    pub fn forget_failures(&self, url: &str) {
        let mut inner = self.0.lock().expect("stats lock");
        if !inner.passing_failures.is_empty() {
            inner.passing_failures.remove(url);
        }
    }

    /// Records a URL given up for good.
    pub fn give_up(&self, given_up: GivenUp) {
        self.0.lock().expect("stats lock").given_up.push(given_up);
    }

    /// Records a host backed off after repeated failures.
    pub fn backed_off(&self, backed_off: crate::hosts::BackedOff) {
        self.0
            .lock()
            .expect("stats lock")
            .backed_off
            .push(backed_off);
    }

    /// The hosts backed off so far.
    pub fn hosts_backed_off(&self) -> Vec<crate::hosts::BackedOff> {
        self.0.lock().expect("stats lock").backed_off.clone()
    }

    /// Takes the URLs given up for good since the last call.
    pub fn take_given_up(&self) -> Vec<GivenUp> {
        std::mem::take(&mut self.0.lock().expect("stats lock").given_up)
    }
}

/// What a poll needs from its surroundings.
#[derive(Debug, Clone)]
pub struct PollContext {
    /// The shared HTTP client.
    pub fetcher: Arc<HttpFetcher>,
    /// URLs already claimed.
    pub seen: SeenUrls,
    /// Counters.
    pub stats: FetchStats,
    /// Items published before this are skipped (backfill `--since`).
    pub since: Option<DateTime<Utc>>,
    /// Fires when shutdown begins: stop listing and queueing.
    pub stop: CancellationToken,
    /// Fires when the grace period is over: abort requests in flight.
    pub abort: CancellationToken,
    /// The processes this one shares sources and pages with, if any.
    pub coordinator: Option<Arc<dyn crate::Coordinator>>,
    /// Where each poll is recorded, if anywhere.
    pub journal: Option<Arc<dyn crate::PollJournal>>,
    /// Where archive sources record how far each file was read, if anywhere (without one,
    /// every file is read whole on every poll).
    pub archive_ledger: Option<Arc<dyn crate::ArchiveLedger>>,
    /// The test archive sources with `prefilter = true` put each page to before queueing
    /// it, if any.
    pub page_filter: Option<crate::PageFilter>,
}

impl PollContext {
    /// Tells the coordinator, if any, that the job for `url` ended without a page.
    pub(crate) fn job_ended_without_page(&self, url: &str) {
        if let Some(coordinator) = &self.coordinator {
            coordinator.job_ended_without_page(url);
        }
    }
}

/// A source with its compiled filters and what it remembers between polls.
#[derive(Debug, Clone)]
pub struct Source {
    /// Its settings.
    pub config: SourceConfig,
    filter: UrlFilter,
    validators: Option<Validators>,
    /// The source's failure count when it was last listed.
    failures_at_last_poll: u64,
    /// For a feed source given a web page: the feed that page announced.
    discovered_feed: Option<String>,
    /// The last poll recorded by an earlier run.
    last_poll: Option<nichiro_model::SourcePoll>,
    /// For a sitemap source: its other sitemaps (an index's children, those robots.txt
    /// names), by URL, with their validators and an index's children.
    sitemaps: BTreeMap<String, nichiro_model::KnownSitemap>,
}

impl Source {
    /// Compiles a source's settings; fails with a message naming the source.
    pub fn new(config: SourceConfig) -> Result<Self, String> {
        config.validate()?;
        Ok(Source {
            filter: UrlFilter::new(&config)?,
            config,
            validators: None,
            failures_at_last_poll: 0,
            discovered_feed: None,
            last_poll: None,
            sitemaps: BTreeMap::new(),
        })
    }

    /// Starts from the sitemaps an earlier run read besides the configured one, so that each
    /// is asked for conditionally, and an unchanged index's children are still asked.
    pub fn with_sitemaps(
        mut self,
        sitemaps: BTreeMap<String, nichiro_model::KnownSitemap>,
    ) -> Self {
        if self.config.kind == SourceKind::Sitemap {
            self.sitemaps = sitemaps;
        }
        self
    }

    /// A sitemap source's other sitemaps as last read, to save for the next run.
    pub fn sitemaps(&self) -> &BTreeMap<String, nichiro_model::KnownSitemap> {
        &self.sitemaps
    }

    /// Starts from validators saved by an earlier run, so an unchanged listing costs a 304.
    pub fn with_validators(mut self, validators: Validators) -> Self {
        let empty = validators.etag.is_none() && validators.last_modified.is_none();
        self.validators = (!empty).then_some(validators);
        self
    }

    /// Starts from the last poll an earlier run recorded: a daemon waits for the time that
    /// run set for the next poll, and counts failures on from there.
    pub fn with_last_poll(mut self, poll: Option<nichiro_model::SourcePoll>) -> Self {
        self.last_poll = poll;
        self
    }

    /// Starts from the feed an earlier run found announced by the configured web page, so
    /// the saved validators go to the feed they came from.
    pub fn with_discovered_feed(mut self, feed: Option<String>) -> Self {
        if self.config.kind == SourceKind::Feed {
            self.discovered_feed = feed;
        }
        self
    }

    /// The last poll recorded by an earlier run, if any.
    pub fn last_poll(&self) -> Option<&nichiro_model::SourcePoll> {
        self.last_poll.as_ref()
    }

    /// For a feed source given a web page: the feed that page announced, once found.
    pub fn discovered_feed(&self) -> Option<&str> {
        self.discovered_feed.as_deref()
    }

    /// The validators of the last listing, to save for the next run.
    pub fn validators(&self) -> Option<&Validators> {
        self.validators.as_ref()
    }

    /// The source's name.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// Lists the source once and queues its new items on `jobs`.
    pub async fn poll(
        &mut self,
        ctx: &PollContext,
        jobs: &mpsc::Sender<FetchJob>,
    ) -> Result<(), SourceError> {
        // A page of the last listing that failed, or that another daemon held (it may die
        // before storing it), must be listed again: an unconditional GET, since a 304 would
        // hide it.
        let failures = ctx
            .stats
            .snapshot()
            .get(self.name())
            .map_or(0, |c| c.may_pass + c.claimed_elsewhere);
        if failures > self.failures_at_last_poll {
            self.validators = None;
            self.sitemaps.clear();
        }
        self.failures_at_last_poll = failures;
        ctx.stats.update(self.name(), |c| c.polls += 1);
        match self.config.kind {
            SourceKind::Feed => feed::poll(self, ctx, jobs).await,
            SourceKind::Sitemap => sitemap::poll(self, ctx, jobs).await,
            SourceKind::Page => section_page::poll(self, ctx, jobs).await,
            SourceKind::Dir => poll_blocking(self, ctx, jobs, local_dir::read).await,
            SourceKind::Warc => poll_blocking(self, ctx, jobs, warc_files::read).await,
        }
    }

    /// The oldest publication time this source accepts now.
    fn oldest_accepted(&self, ctx: &PollContext) -> Option<DateTime<Utc>> {
        let by_age = self
            .config
            .max_age_days
            // Validation keeps it in range; a value past it means no age limit rather than
            // an overflow (or, cast to a negative number, a limit in the future).
            .filter(|days| *days <= crate::config::MAX_AGE_DAYS)
            .and_then(|days| chrono::Duration::try_days(days as i64))
            .and_then(|age| Utc::now().checked_sub_signed(age));
        match (by_age, ctx.since) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether an item passes the URL filters and the age limit; counts it either way.
    fn admits(
        &self,
        ctx: &PollContext,
        url: &str,
        published: Option<DateTime<FixedOffset>>,
    ) -> bool {
        let too_old = match (published, self.oldest_accepted(ctx)) {
            (Some(p), Some(oldest)) => p.with_timezone(&Utc) < oldest,
            _ => false,
        };
        ctx.stats.update(self.name(), |c| c.listed += 1);
        if too_old || !self.filter.allows(url) {
            ctx.stats.update(self.name(), |c| c.filtered += 1);
            return false;
        }
        if !ctx.seen.claim(url) {
            ctx.stats.update(self.name(), |c| c.seen_before += 1);
            return false;
        }
        true
    }

    /// Fetches a listing (a feed or a sitemap) of this source; `None` when the server says it
    /// has not changed since `validators` were given (counted as not modified).
    async fn fetch_listing(
        &self,
        ctx: &PollContext,
        url: &str,
        validators: Option<&Validators>,
    ) -> Result<Option<crate::http::Response>, SourceError> {
        let response = ctx
            .fetcher
            .get(url, Purpose::Listing, validators, &ctx.stop, &ctx.abort)
            .await
            .map_err(|error| SourceError::Fetch {
                source_name: self.config.name.clone(),
                error,
            })?;
        if response.not_modified() {
            ctx.stats.update(self.name(), |c| c.not_modified += 1);
            tracing::debug!(source = self.name(), url, "listing not modified");
            return Ok(None);
        }
        Ok(Some(response))
    }

    fn hints(&self, title: Option<String>, published: Option<DateTime<FixedOffset>>) -> ItemHints {
        ItemHints {
            title,
            published,
            language: self.config.language.clone(),
        }
    }

    fn remote_job(&self, url: String, hints: ItemHints) -> FetchJob {
        FetchJob::Remote(RemoteJob {
            url,
            source: self.config.name.clone(),
            hints,
        })
    }
}

/// Runs a local source's blocking reader on a blocking thread.
async fn poll_blocking(
    source: &Source,
    ctx: &PollContext,
    jobs: &mpsc::Sender<FetchJob>,
    read: fn(&Source, &PollContext, &mpsc::Sender<FetchJob>) -> Result<(), SourceError>,
) -> Result<(), SourceError> {
    let (source, ctx, jobs) = (source.clone(), ctx.clone(), jobs.clone());
    let name = source.config.name.clone();
    tokio::task::spawn_blocking(move || read(&source, &ctx, &jobs))
        .await
        .unwrap_or_else(|e| {
            Err(SourceError::Read {
                source_name: name,
                path: String::new(),
                message: format!("reader task failed: {e}"),
            })
        })
}

/// Sends a job unless shutdown begins first; false when the pipeline is closing.
async fn queue(ctx: &PollContext, jobs: &mpsc::Sender<FetchJob>, job: FetchJob) -> bool {
    let url = job.url().to_string();
    let source = job.source().to_string();
    let sent = tokio::select! {
        r = jobs.send(job) => r.is_ok(),
        () = ctx.stop.cancelled() => false,
    };
    if sent {
        ctx.stats.update(&source, |c| c.queued += 1);
    } else {
        ctx.seen.release(&url);
    }
    sent
}

/// Sends a job from a blocking thread (local sources); false when the pipeline is closing.
fn queue_blocking(ctx: &PollContext, jobs: &mpsc::Sender<FetchJob>, job: FetchJob) -> bool {
    let url = job.url().to_string();
    let source = job.source().to_string();
    let sent = !ctx.stop.is_cancelled() && jobs.blocking_send(job).is_ok();
    if sent {
        ctx.stats.update(&source, |c| c.queued += 1);
    } else {
        ctx.seen.release(&url);
    }
    sent
}

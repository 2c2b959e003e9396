//! nichiro's pipeline: wires the stages together and runs them.
//!
//! ```text
//! sources ──FetchJob──▶ fetch ──RawPage──▶ clean ──Article──▶ tag ──TaggedArticle──▶ store
//! ```
//!
//! Every arrow is a bounded `tokio::sync::mpsc` channel, so a slow stage holds back the ones
//! before it. Sources and fetch are async tasks; cleaning (a pool of blocking threads),
//! tagging and storing (one blocking thread each) run off the async workers. Shutdown comes
//! in two steps, given as tokens: `stop` ends listing and starts no new fetch, and everything
//! already fetched drains through clean, tag and store; `abort` (after a grace period, the
//! caller's choice) cuts fetches still in flight. Either way each store transaction is whole.
//!
//! This crate reads the config file ([`config`]) but leaves signals, progress display and
//! exit codes to the binary.

pub mod archive_files;
pub mod claims;
pub mod config;
pub mod journal;
pub mod moved_documents;
pub mod retag;
pub mod store_retry;
pub mod summary;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use nichiro_classify::Tagger;
use nichiro_classify::corpus::Document;
use nichiro_fetch::canonical_url::canonicalize;
use nichiro_fetch::http::Validators;
use nichiro_fetch::{FetchStats, HttpFetcher, PollContext, PollMode, SeenUrls, Source};
use nichiro_model::{ArchivedPage, Article, PageKind, RawPage, TaggedArticle};
use nichiro_store::{InsertOutcome, Store};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::archive_files::ArchiveProgress;
use crate::claims::{Heartbeat, SharedClaims};
use crate::store_retry::retrying;

pub use config::{Config, ConfigError, PipelineConfig};
pub use summary::RunSummary;

/// Why a run could not start or had to end.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] nichiro_store::StoreError),
    /// The taxonomy or corpus could not be loaded.
    #[error(transparent)]
    Tag(#[from] nichiro_classify::TagError),
    /// The HTTP client could not be built.
    #[error(transparent)]
    Fetch(#[from] nichiro_fetch::FetchError),
    /// A source's settings are wrong.
    #[error("{0}")]
    Source(String),
    /// A stage's thread failed.
    #[error("stage {stage} failed: {message}")]
    Stage {
        /// Which stage.
        stage: &'static str,
        /// What happened.
        message: String,
    },
}

/// The two shutdown steps.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    /// Stop listing and fetching anything new; drain the rest.
    pub stop: CancellationToken,
    /// Abort fetches in flight.
    pub abort: CancellationToken,
}

/// Live counters a caller can read while the pipeline runs (for a progress bar).
#[derive(Debug, Clone, Default)]
pub struct Progress {
    summary: Arc<Mutex<RunSummary>>,
    stats: FetchStats,
    queues: QueueGauges,
    store_refusal: Arc<Mutex<Option<String>>>,
}

/// How many items wait in each channel between stages, read without holding the channel open.
#[derive(Clone, Default)]
struct QueueGauges(Arc<Mutex<Vec<(&'static str, QueueDepth)>>>);

type QueueDepth = Box<dyn Fn() -> Option<usize> + Send + Sync>;

impl std::fmt::Debug for QueueGauges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("QueueGauges")
    }
}

impl QueueGauges {
    /// Watches a channel through a weak handle, so it still closes when its senders go.
    fn watch<T: Send + 'static>(&self, name: &'static str, sender: &mpsc::Sender<T>) {
        let weak = sender.downgrade();
        let depth: QueueDepth =
            Box::new(move || weak.upgrade().map(|s| s.max_capacity() - s.capacity()));
        let mut queues = self.0.lock().expect("queue gauges lock");
        queues.retain(|(n, _)| *n != name);
        queues.push((name, depth));
    }
}

impl Progress {
    /// A snapshot of the counters so far.
    pub fn snapshot(&self) -> RunSummary {
        let mut summary = self.summary.lock().expect("summary lock").clone();
        summary.absorb_sources(self.stats.snapshot(), &[]);
        summary
    }

    /// Why the store refuses writes now (a daemon waits, unready, until it takes them again);
    /// `None` while it takes them.
    pub fn store_refusal(&self) -> Option<String> {
        self.store_refusal.lock().expect("store state lock").clone()
    }

    /// Records whether the store refuses writes; returns whether it did before.
    fn set_store_refusal(&self, refusal: Option<String>) -> bool {
        let mut state = self.store_refusal.lock().expect("store state lock");
        std::mem::replace(&mut *state, refusal).is_some()
    }

    /// Items waiting in each channel between stages now, in pipeline order: `jobs` (listed,
    /// to be claimed), `claimed` (to be fetched), `pages` (to be cleaned), `articles` (to be
    /// tagged), `tagged` (to be stored). A closed channel reads 0.
    pub fn queue_depths(&self) -> Vec<(&'static str, usize)> {
        let queues = self.queues.0.lock().expect("queue gauges lock");
        queues
            .iter()
            .map(|(name, depth)| (*name, depth().unwrap_or(0)))
            .collect()
    }

    fn update(&self, f: impl FnOnce(&mut RunSummary)) {
        f(&mut self.summary.lock().expect("summary lock"));
    }
}

/// A pipeline ready to run: store open, tagger loaded with the corpus and stored articles.
pub struct Pipeline {
    config: Config,
    store: Box<dyn Store>,
    tagger: Tagger,
    sources: Vec<Source>,
    seen: SeenUrls,
    progress: Progress,
    /// The number of the last stored article the tagger was given.
    last_known: i64,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("sources", &self.sources.len())
            .finish_non_exhaustive()
    }
}

impl Pipeline {
    /// Opens the store, loads the taxonomy, the corpus and what is stored, and compiles the
    /// enabled sources.
    pub fn new(config: Config) -> Result<Self, PipelineError> {
        let mut store = nichiro_store::open(&config.store)?;
        let enabled: Vec<&nichiro_fetch::SourceConfig> = config.enabled_sources().collect();
        moved_documents::adopt(store.as_mut(), &enabled)?;
        let mut tagger = Tagger::from_config(config.tag.clone())?;
        // Numbered first: what is stored meanwhile is caught up with later, not lost.
        let last_known = store.last_article_number()?;
        load_stored_articles(store.as_ref(), &mut tagger)?;
        let mut sources = Vec::new();
        for source_config in config.enabled_sources() {
            let source = Source::new(source_config.clone()).map_err(PipelineError::Source)?;
            let saved = store.source_validators(source.name())?;
            let last_poll = store.last_poll(source.name())?;
            sources.push(
                source
                    .with_validators(Validators {
                        etag: saved.etag,
                        last_modified: saved.last_modified,
                    })
                    .with_discovered_feed(saved.url)
                    .with_sitemaps(saved.sitemaps)
                    .with_last_poll(last_poll),
            );
        }
        // Stored articles and pages given up for good are not asked for again.
        let seen =
            SeenUrls::from_urls(store.seen_urls()?.into_iter().chain(store.given_up_urls()?));
        tracing::info!(
            sources = sources.len(),
            documents = tagger.len(),
            seen = seen.len(),
            store = %config.store.describe(),
            "pipeline ready"
        );
        Ok(Pipeline {
            config,
            store,
            tagger,
            sources,
            seen,
            progress: Progress::default(),
            last_known,
        })
    }

    /// A handle on the live counters.
    pub fn progress(&self) -> Progress {
        self.progress.clone()
    }

    /// Runs every stage until the sources are done (`PollMode::Once`) or `shutdown.stop`
    /// fires, then drains and returns what was done. `since` skips items published before it.
    pub async fn run(
        self,
        mode: PollMode,
        since: Option<DateTime<Utc>>,
        shutdown: Shutdown,
    ) -> Result<RunSummary, PipelineError> {
        let Pipeline {
            config,
            store,
            tagger,
            sources,
            seen,
            progress,
            last_known,
        } = self;
        let capacity = config.pipeline.channel_capacity;
        // Claims matter only when several daemons share a store, that is on a database
        // server.
        let claims = match &config.store.url {
            Some(_) => {
                let store_config = config.store.clone();
                let lease = Duration::from_secs(config.pipeline.lease_secs.max(1));
                let max_held = config.pipeline.max_claimed_pages.max(1);
                let claims = tokio::task::spawn_blocking(move || {
                    SharedClaims::open(&store_config, claims::holder_id(), lease, max_held)
                })
                .await
                .map_err(|e| stage_error("claims", e))??;
                Some(Arc::new(claims))
            }
            None => None,
        };
        let heartbeat = claims.clone().map(Heartbeat::start);
        let journal = {
            let store_config = config.store.clone();
            tokio::task::spawn_blocking(move || journal::StoreJournal::open(&store_config))
                .await
                .map_err(|e| stage_error("journal", e))??
        };
        // Archive sources record how far each file is read, on a connection of their own.
        let archive_progress = if config
            .enabled_sources()
            .any(|s| s.kind == nichiro_fetch::SourceKind::Warc)
        {
            let store_config = config.store.clone();
            let claims = claims.clone();
            let ledger =
                tokio::task::spawn_blocking(move || ArchiveProgress::open(&store_config, claims))
                    .await
                    .map_err(|e| stage_error("archive files", e))??;
            Some(Arc::new(ledger))
        } else {
            None
        };
        let page_filter = {
            let prefilter = tagger.prefilter();
            nichiro_fetch::PageFilter::new(move |body, content_type| {
                prefilter.passes_page(body, content_type)
            })
        };
        let ctx = PollContext {
            fetcher: Arc::new(HttpFetcher::new(config.fetch.clone())?),
            seen,
            stats: progress.stats.clone(),
            since,
            stop: shutdown.stop.clone(),
            abort: shutdown.abort.clone(),
            coordinator: claims
                .clone()
                .map(|c| c as Arc<dyn nichiro_fetch::Coordinator>),
            journal: Some(Arc::new(journal)),
            archive_ledger: archive_progress
                .clone()
                .map(|l| l as Arc<dyn nichiro_fetch::ArchiveLedger>),
            page_filter: Some(page_filter),
        };
        let (jobs_tx, jobs_rx) = mpsc::channel(capacity);
        let (pages_tx, pages_rx) = mpsc::channel(capacity);
        let (articles_tx, articles_rx) = mpsc::channel(capacity);
        let (tagged_tx, tagged_rx) = mpsc::channel(capacity);

        let (claimed_tx, claimed_rx) = mpsc::channel(capacity);
        progress.queues.watch("jobs", &jobs_tx);
        progress.queues.watch("claimed", &claimed_tx);
        progress.queues.watch("pages", &pages_tx);
        progress.queues.watch("articles", &articles_tx);
        progress.queues.watch("tagged", &tagged_tx);
        let sources_task = tokio::spawn(nichiro_fetch::run_sources(
            sources,
            ctx.clone(),
            jobs_tx,
            mode,
        ));
        let claims_task = tokio::task::spawn_blocking({
            let seen = ctx.seen.clone();
            let claimed = progress.clone();
            let claims = claims.clone();
            let stop = shutdown.stop.clone();
            // A backfill waits for the pages another process held when listed (until that
            // process stores them or its leases run out); a daemon leaves them to its next poll.
            let held_elsewhere = match mode {
                PollMode::Once => claims::HeldElsewhere::WaitForThem,
                PollMode::Forever => claims::HeldElsewhere::LeaveToNextPoll,
            };
            move || {
                claims::run_claims(
                    claims.as_deref(),
                    held_elsewhere,
                    &stop,
                    &seen,
                    jobs_rx,
                    claimed_tx,
                    &claimed,
                )
            }
        });
        let fetch_task = tokio::spawn(nichiro_fetch::run_fetch(ctx.clone(), claimed_rx, pages_tx));
        let clean_task = spawn_clean(
            &config,
            progress.clone(),
            ctx.seen.clone(),
            Settle {
                claims: claims.clone(),
                archives: archive_progress.clone(),
            },
            since,
            pages_rx,
            articles_tx,
        );
        // With a shared store, the tagger keeps up with what other daemons store.
        let sync = match &config.store.url {
            Some(_) => {
                let store_config = config.store.clone();
                let store = tokio::task::spawn_blocking(move || nichiro_store::open(&store_config))
                    .await
                    .map_err(|e| stage_error("tag", e))??;
                Some(CollectionSync { store, last_known })
            }
            None => None,
        };
        let tag_task =
            tokio::task::spawn_blocking(move || run_tag(tagger, sync, articles_rx, tagged_tx));
        let store_progress = progress.clone();
        let batch = config.pipeline.store_batch;
        let store_claims = claims.clone();
        let store_archives = archive_progress.clone();
        // A daemon waits out a store that refuses writes (a full disk, a read-only database),
        // unready meanwhile; a backfill stops with its summary.
        let refused = match mode {
            PollMode::Forever => WhenRefused::WaitUnready(shutdown.stop.clone()),
            PollMode::Once => WhenRefused::Stop,
        };
        let store_task = tokio::task::spawn_blocking(move || {
            run_store(
                store,
                batch,
                tagged_rx,
                Settle {
                    claims: store_claims,
                    archives: store_archives,
                },
                &store_progress,
                refused,
            )
        });

        let (sources, failures) = sources_task.await.map_err(|e| stage_error("sources", e))?;
        claims_task.await.map_err(|e| stage_error("claims", e))??;
        fetch_task.await.map_err(|e| stage_error("fetch", e))?;
        for task in clean_task {
            task.await.map_err(|e| stage_error("clean", e))?;
        }
        tag_task.await.map_err(|e| stage_error("tag", e))?;
        let store = store_task.await.map_err(|e| stage_error("store", e))??;
        let given_up: Vec<(String, String, String)> = ctx
            .stats
            .take_given_up()
            .into_iter()
            .map(|g| (g.url, g.source, g.reason))
            .collect();
        let counts = ctx.stats.snapshot();
        // Validators are kept only when every item of the listing was dealt with (stored or
        // given up for good, by this process or another; `may_pass` counts the others): after a stop or a failure the next
        // run must list the source in full again. (A backfill leaves no page to another
        // process: it waits for those, see `claims::HeldElsewhere::WaitForThem`.)
        let validators: Vec<(String, nichiro_store::SavedListing)> =
            if mode == PollMode::Once && !shutdown.stop.is_cancelled() {
                sources
                    .iter()
                    .map(|source| {
                        // Items given up for good (a 404, a page over the size limit) do
                        // not hold the validators back: listing them again would not help.
                        let clean = counts.get(source.name()).is_none_or(|c| c.may_pass == 0);
                        let v = source.validators().filter(|_| clean);
                        let listing = nichiro_store::SavedListing {
                            etag: v.and_then(|v| v.etag.clone()),
                            last_modified: v.and_then(|v| v.last_modified.clone()),
                            // The feed a configured page announced, kept even without
                            // validators: the next run goes straight to it.
                            url: source.discovered_feed().map(str::to_string),
                            sitemaps: if clean {
                                source.sitemaps().clone()
                            } else {
                                Default::default()
                            },
                        };
                        (source.name().to_string(), listing)
                    })
                    .collect()
            } else {
                Vec::new()
            };
        // Store calls block (a database server's client runs its own runtime): off the
        // async threads.
        let mut store = store;
        tokio::task::spawn_blocking(move || -> Result<(), PipelineError> {
            // How far each archive file got, for the next run to resume from.
            if let Some(archives) = archive_progress {
                archives.finish();
            }
            // What this run claimed and did not store, other daemons may take now.
            drop(heartbeat);
            if let Some(claims) = claims {
                retrying("release claims", || claims.release_all())?;
            }
            retrying("record pages given up", || store.record_given_up(&given_up))?;
            for (source, listing) in &validators {
                retrying("save validators", || {
                    store.set_source_validators(source, listing)
                })?;
            }
            Ok(())
        })
        .await
        .map_err(|e| stage_error("store", e))??;
        let mut summary = progress.summary.lock().expect("summary lock").clone();
        summary.absorb_sources(counts, &failures);
        summary.hosts_backed_off = ctx
            .stats
            .hosts_backed_off()
            .into_iter()
            .map(|b| (b.origin, b.cooldown.as_secs()))
            .collect();
        Ok(summary)
    }
}

fn stage_error(stage: &'static str, e: tokio::task::JoinError) -> PipelineError {
    PipelineError::Stage {
        stage,
        message: e.to_string(),
    }
}

fn load_stored_articles(store: &dyn Store, tagger: &mut Tagger) -> Result<(), PipelineError> {
    store.for_each_article(&nichiro_store::ArticleFilter::default(), &mut |stored| {
        tagger.add_document(&stored_document(stored))
    })?;
    Ok(())
}

/// A stored article as a document of the tagger's collection, named by its URL.
fn stored_document(stored: nichiro_store::StoredArticle) -> Document {
    Document {
        id: stored.url.clone(),
        url: Some(stored.url),
        title: stored.title,
        text: stored.text,
        published: stored.published,
    }
}

/// With a store shared by several daemons: what the others store joins this one's
/// collection, so that an article is compared with everything stored before it, by any of
/// them.
struct CollectionSync {
    store: Box<dyn Store>,
    /// The number of the last stored article the tagger knows of.
    last_known: i64,
}

impl CollectionSync {
    /// Adds to `tagger` every article stored since the last call (its own ones are known
    /// already and left alone). A failure is logged: the next article tries again.
    fn catch_up(&mut self, tagger: &mut Tagger) {
        const PAGE: usize = 500;
        loop {
            let page = match self.store.articles_after(self.last_known, PAGE) {
                Ok(page) => page,
                Err(error) => {
                    tracing::warn!(%error, "cannot read what other daemons stored");
                    return;
                }
            };
            let full = page.len() == PAGE;
            for (number, stored) in page {
                tagger.add_document(&stored_document(stored));
                self.last_known = number;
            }
            if !full {
                return;
            }
        }
    }
}

/// Records a fetched page that will not be stored, with why, so that no later run fetches it
/// again (written to the store with the pages the fetcher gave up).
fn give_up(progress: &Progress, page: &RawPage, reason: String) {
    progress.stats.give_up(nichiro_fetch::GivenUp {
        url: page.requested_url.clone(),
        source: page.source.clone(),
        reason,
    });
}

/// Cleaning threads: each takes pages off the shared channel until it closes.
fn spawn_clean(
    config: &Config,
    progress: Progress,
    seen: SeenUrls,
    settle: Settle,
    since: Option<DateTime<Utc>>,
    pages: mpsc::Receiver<RawPage>,
    articles: mpsc::Sender<(RawPage, Article, Option<ArchivedPage>)>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let pages = Arc::new(Mutex::new(pages));
    (0..config.pipeline.clean_workers.max(1))
        .map(|_| {
            let pages = pages.clone();
            let articles = articles.clone();
            let limits = config.clean.clone();
            let keep_raw_html = config.store.keep_raw_html;
            let progress = progress.clone();
            let seen = seen.clone();
            let settle = settle.clone();
            let dropped = move |page: &RawPage| settle.dropped(&page.requested_url);
            tokio::task::spawn_blocking(move || {
                loop {
                    // The lock is held only while waiting for the next page.
                    let page = pages.lock().expect("pages lock").blocking_recv();
                    let Some(mut page) = page else { break };
                    let started = std::time::Instant::now();
                    let cleaned = nichiro_clean::clean_page(&page, &limits);
                    metrics::histogram!("nichiro_stage_seconds", "stage" => "clean")
                        .record(started.elapsed().as_secs_f64());
                    let mut article = match cleaned {
                        Ok(article) => article,
                        Err(error) => {
                            tracing::warn!(url = %page.final_url, %error, "page not cleaned");
                            dropped(&page);
                            // It would fail the same way again: not fetched again.
                            give_up(&progress, &page, format!("not cleaned: {error}"));
                            progress.update(|s| s.failed += 1);
                            continue;
                        }
                    };
                    // The page's own rel=canonical may carry tracking parameters too.
                    article.url = canonicalize(&article.url);
                    // Once its canonical URL is known, other addresses of it are not fetched.
                    seen.mark(&article.url);
                    if article.kind == PageKind::NotArticle {
                        tracing::info!(url = %page.final_url, "not an article; skipped");
                        dropped(&page);
                        give_up(&progress, &page, "not an article".into());
                        progress.update(|s| s.not_articles += 1);
                        continue;
                    }
                    if let (Some(since), Some(published)) = (since, article.published)
                        && published < since
                    {
                        dropped(&page);
                        progress.update(|s| s.too_old += 1);
                        continue;
                    }
                    let archived = keep_raw_html.then(|| {
                        nichiro_store::archive::compress(page.content_type.as_deref(), &page.body)
                    });
                    page.body = Vec::new(); // the bytes are not needed past this point
                    if articles.blocking_send((page, article, archived)).is_err() {
                        break;
                    }
                }
            })
        })
        .collect()
}

/// The tagging thread: tags each article and adds it to the collection, so later articles
/// (in this run too) are compared with it.
fn run_tag(
    mut tagger: Tagger,
    mut sync: Option<CollectionSync>,
    mut articles: mpsc::Receiver<(RawPage, Article, Option<ArchivedPage>)>,
    tagged: mpsc::Sender<TaggedArticle>,
) {
    while let Some((page, article, raw_page)) = articles.blocking_recv() {
        if let Some(sync) = &mut sync {
            sync.catch_up(&mut tagger);
        }
        let started = std::time::Instant::now();
        let tags = tagger.tag(&article);
        tagger.remember(&article);
        metrics::histogram!("nichiro_stage_seconds", "stage" => "tag")
            .record(started.elapsed().as_secs_f64());
        let item = TaggedArticle {
            article,
            tags,
            source: page.source,
            requested_url: page.requested_url,
            fetched_at: page.fetched_at,
            raw_page,
        };
        if tagged.blocking_send(item).is_err() {
            break;
        }
    }
}

/// The storing thread: writes batches of whatever is waiting, one transaction each, and gives
/// the store back when the channel closes.
/// What the store stage does when the store refuses a write for a reason that does not pass
/// by itself (a full disk, a read-only database, a trigger): not a lost connection, which
/// [`retrying`] rides out either way.
enum WhenRefused {
    /// End the run with the error (a backfill).
    Stop,
    /// Mark the store unwritable ([`Progress::store_refusal`]), say so once, and try the write
    /// again with a growing wait (1 s doubling to a minute) until it is taken or the token
    /// fires (a daemon: the channels before the store fill, so fetching waits too).
    WaitUnready(CancellationToken),
}

/// The longest wait between two tries of a refused write.
const REFUSED_WAIT_MAX: Duration = Duration::from_secs(60);

impl WhenRefused {
    fn write<T>(
        &self,
        what: &str,
        progress: &Progress,
        mut op: impl FnMut() -> Result<T, nichiro_store::StoreError>,
    ) -> Result<T, nichiro_store::StoreError> {
        let WhenRefused::WaitUnready(stop) = self else {
            return retrying(what, op);
        };
        let mut wait = Duration::from_secs(1);
        loop {
            match retrying(what, &mut op) {
                Ok(value) => {
                    if progress.set_store_refusal(None) {
                        tracing::warn!(what, "the store takes writes again: ready");
                    }
                    return Ok(value);
                }
                // An error about what is written (a value the database rejects) would never
                // pass: the run stops with it, as a backfill's does.
                Err(error) if !error.is_refusal() => return Err(error),
                Err(error) => {
                    // Said before the state changes, so whoever sees the state finds the line.
                    if progress.store_refusal().is_none() {
                        tracing::error!(what, %error, "the store refuses writes: unready, fetching paused, trying again until it takes them");
                    }
                    progress.set_store_refusal(Some(error.to_string()));
                    let until = std::time::Instant::now() + wait;
                    while std::time::Instant::now() < until {
                        if stop.is_cancelled() {
                            return Err(error);
                        }
                        std::thread::sleep(Duration::from_millis(100));
                    }
                    wait = (wait * 2).min(REFUSED_WAIT_MAX);
                }
            }
        }
    }
}

/// What [`store_one_by_one`] gives: the articles stored, their outcomes, and the requested URLs
/// of those the store refused.
type StoredOneByOne = (Vec<TaggedArticle>, Vec<InsertOutcome>, Vec<String>);

/// Stores the articles of a batch the store refused one at a time; those it refuses alone are
/// given up (recorded, never fetched again) with the store's reason. When it refuses every one
/// of several, the fault is the store's: `error` is returned. Gives the articles stored, their
/// outcomes, and the requested URLs of those given up.
fn store_one_by_one(
    store: &mut dyn Store,
    batch: Vec<TaggedArticle>,
    error: &nichiro_store::StoreError,
    progress: &Progress,
    refused: &WhenRefused,
) -> Result<StoredOneByOne, PipelineError> {
    let tried = batch.len();
    let (mut kept, mut outcomes, mut rejected) = (Vec::new(), Vec::new(), Vec::new());
    for item in batch {
        match refused.write("store an article", progress, || {
            store.insert_batch(std::slice::from_ref(&item))
        }) {
            Ok(outcome) => {
                outcomes.extend(outcome);
                kept.push(item);
            }
            Err(e) if !e.is_transient() && !e.is_refusal() => {
                tracing::error!(url = %item.article.url, error = %e, "the store refused this article; given up");
                rejected.push((
                    item.requested_url.clone(),
                    item.source.clone(),
                    format!("the store refused it: {e}"),
                ));
            }
            Err(e) => return Err(e.into()),
        }
    }
    if kept.is_empty() && tried > 1 {
        return Err(nichiro_store::StoreError::Query(error.to_string()).into());
    }
    progress.update(|s| s.failed += rejected.len() as u64);
    refused.write("record articles the store refused", progress, || {
        store.record_given_up(&rejected)
    })?;
    let urls = rejected.into_iter().map(|(url, _, _)| url).collect();
    Ok((kept, outcomes, urls))
}

/// Who is told when a page leaves the pipeline, stored or dropped.
#[derive(Clone)]
struct Settle {
    /// The claims on pages: a stored page's is released, a dropped one's runs out.
    claims: Option<Arc<SharedClaims>>,
    /// The archive files' ledger: the page's record is dealt with.
    archives: Option<Arc<ArchiveProgress>>,
}

impl Settle {
    /// The page requested as `url` was dropped (not an article, too old, not cleaned).
    fn dropped(&self, url: &str) {
        if let Some(claims) = &self.claims {
            claims.page_dropped(url);
        }
        if let Some(archives) = &self.archives {
            archives.page_settled(url);
        }
    }
}

fn run_store(
    mut store: Box<dyn Store>,
    batch_size: usize,
    mut tagged: mpsc::Receiver<TaggedArticle>,
    settle: Settle,
    progress: &Progress,
    refused: WhenRefused,
) -> Result<Box<dyn Store>, PipelineError> {
    let mut batch = Vec::with_capacity(batch_size);
    while let Some(first) = tagged.blocking_recv() {
        batch.push(first);
        while batch.len() < batch_size {
            match tagged.try_recv() {
                Ok(item) => batch.push(item),
                Err(_) => break,
            }
        }
        let started = std::time::Instant::now();
        // Articles the store refused one by one: done with, their claims released too.
        let mut given_up_by_store: Vec<String> = Vec::new();
        let outcomes = match refused.write("store a batch", progress, || store.insert_batch(&batch))
        {
            Ok(outcomes) => outcomes,
            // A value the store cannot hold (a NUL byte for PostgreSQL, a trigger's veto) is
            // about one article, not the store: each is stored alone, and those refused are
            // given up with the reason; the run goes on.
            Err(error) if !error.is_transient() && !error.is_refusal() => {
                let (kept, outcomes, refused_urls) =
                    store_one_by_one(store.as_mut(), batch, &error, progress, &refused)?;
                batch = kept;
                given_up_by_store = refused_urls;
                outcomes
            }
            Err(error) => return Err(error.into()),
        };
        metrics::histogram!("nichiro_stage_seconds", "stage" => "store")
            .record(started.elapsed().as_secs_f64());
        // Pages given up so far go in too, so a daemon running for months keeps them.
        let given_up: Vec<(String, String, String)> = progress
            .stats
            .take_given_up()
            .into_iter()
            .map(|g| (g.url, g.source, g.reason))
            .collect();
        if !given_up.is_empty() {
            refused.write("record pages given up", progress, || {
                store.record_given_up(&given_up)
            })?;
        }
        if let Some(archives) = &settle.archives {
            for url in batch
                .iter()
                .map(|item| item.requested_url.as_str())
                .chain(given_up_by_store.iter().map(String::as_str))
            {
                archives.page_settled(url);
            }
        }
        if let Some(claims) = &settle.claims {
            refused.write("release stored pages", progress, || {
                claims.pages_stored(
                    batch
                        .iter()
                        .map(|item| item.requested_url.as_str())
                        .chain(given_up_by_store.iter().map(String::as_str)),
                )
            })?;
        }
        progress.update(|s| {
            for (item, outcome) in batch.iter().zip(&outcomes) {
                match outcome {
                    InsertOutcome::AlreadyStored => s.already_stored += 1,
                    InsertOutcome::New => {
                        s.new += 1;
                        s.near_duplicates += u64::from(item.tags.duplicate_of.is_some());
                        if item.tags.relevant {
                            s.relevant += 1;
                            for topic in &item.tags.topics {
                                *s.by_topic.entry(topic.topic.clone()).or_default() += 1;
                            }
                        }
                    }
                }
            }
        });
        for (item, outcome) in batch.iter().zip(&outcomes) {
            if *outcome == InsertOutcome::New {
                metrics::counter!(
                    "nichiro_articles_stored_total",
                    "language" => item.article.language.clone().unwrap_or_else(|| "unknown".into()),
                    "relevant" => if item.tags.relevant { "true" } else { "false" }
                )
                .increment(1);
                let topics: Vec<&str> = item.tags.topics.iter().map(|t| t.topic.as_str()).collect();
                tracing::info!(
                    url = %item.article.url,
                    relevant = item.tags.relevant,
                    relevance = format!("{:.2}", item.tags.relevance),
                    topics = topics.join(","),
                    "stored"
                );
            } else {
                tracing::debug!(url = %item.article.url, "already stored");
            }
        }
        batch.clear();
    }
    retrying("flush the store", || store.flush())?;
    Ok(store)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn queue_depths_count_what_waits_and_do_not_hold_a_channel_open() {
        let progress = Progress::default();
        let (tx, mut rx) = mpsc::channel::<u32>(8);
        progress.queues.watch("pages", &tx);
        for n in 0..3 {
            tx.send(n).await.unwrap();
        }
        assert_eq!(progress.queue_depths(), [("pages", 3)]);
        rx.recv().await.unwrap();
        assert_eq!(progress.queue_depths(), [("pages", 2)]);
        drop(tx);
        // The watch did not keep the channel open: the receiver sees its end.
        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(rx.recv().await, Some(2));
        assert_eq!(rx.recv().await, None);
        assert_eq!(progress.queue_depths(), [("pages", 0)]);
    }
}

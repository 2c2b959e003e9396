//! What the listing and fetch stages ask of, and tell, their surroundings: the processes
//! they share work with ([`Coordinator`]) and the record of each source's polls
//! ([`PollJournal`]).
//!
//! Sharing the work with other processes. Several daemons on one database must not all poll
//! the same feed or fetch the same page: before each poll, and at the end of each job that
//! yields no page, the stages ask or tell a [`Coordinator`]. The fetch crate only calls it;
//! the claims themselves (leases in the store) live with whoever implements it. With no
//! coordinator (the default, one process alone) every poll goes ahead.

use std::time::Duration;

/// What the listing and fetch stages ask of, and tell, the processes they share work with.
pub trait Coordinator: Send + Sync + std::fmt::Debug {
    /// Asked before each scheduled poll of `source` by a daemon: whether this process should
    /// poll it now, or leave it, because another process polled it within `interval`. May
    /// block (it asks a database); the stage calls it off the async threads.
    fn may_poll(&self, source: &str, interval: Duration) -> bool;

    /// Told when a remote job ended in the fetch stage without a page (failed, given up, or
    /// dropped at shutdown), so that whatever was held for `url` can be let go.
    fn job_ended_without_page(&self, url: &str);
}

/// Where the listing stage records each source's polls (the store), so that a restarted
/// daemon keeps to each source's schedule and a user can see how each source fares.
pub trait PollJournal: Send + Sync + std::fmt::Debug {
    /// Records a finished poll of `source`. May block; the stage calls it off the async
    /// threads.
    fn polled(&self, source: &str, poll: &nichiro_model::SourcePoll);
}

/// Where to start reading an archive file, or why not to read it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileTurn {
    /// This process reads it, from this record (0 for the start; later after an interrupted
    /// read whose earlier records were dealt with).
    Read {
        /// The first record to read (counting every WARC record from 0).
        from_record: u64,
    },
    /// It was read to its end and every page of it dealt with: not read again.
    Done,
    /// Another process is reading it (its claim is live).
    HeldElsewhere,
}

/// Where a source of archive files records how far each file was read, and how it shares the
/// files with the other processes of a shared store (the pipeline implements it over the
/// store: each file a claim, its progress a row). A file is done when every page queued from
/// it has been stored or dropped, which the pipeline knows and the source does not: the
/// source tells what it queued and where reading ended, the ledger the rest. Calls may
/// block; the source calls them from its reading thread.
pub trait ArchiveLedger: Send + Sync + std::fmt::Debug {
    /// Takes `file` of `source` for this process, if it is to be read.
    fn take_file(&self, source: &str, file: &str) -> FileTurn;

    /// The page of record `record` of `file` is queued under `url`.
    fn page_queued(&self, source: &str, file: &str, record: u64, url: &str);

    /// Reading `file` ended: at its end after `records` records (`at_end`), or, stopped,
    /// before record `records`. A file read to its end is done once its pages are dealt with;
    /// one left before is taken up again later from where its dealt-with records end.
    fn file_read(&self, source: &str, file: &str, records: u64, at_end: bool);
}

/// A cheap test of a page's bytes (with its Content-Type) before it is cleaned: false when it
/// cannot be relevant (see `SourceConfig::prefilter`).
#[derive(Clone)]
pub struct PageFilter(std::sync::Arc<PageTest>);

type PageTest = dyn Fn(&[u8], Option<&str>) -> bool + Send + Sync;

impl PageFilter {
    /// A filter passing the pages `test` returns true for.
    pub fn new(test: impl Fn(&[u8], Option<&str>) -> bool + Send + Sync + 'static) -> Self {
        PageFilter(std::sync::Arc::new(test))
    }

    /// Whether the page (its body and Content-Type) may be relevant.
    pub fn passes(&self, body: &[u8], content_type: Option<&str>) -> bool {
        (self.0)(body, content_type)
    }
}

impl std::fmt::Debug for PageFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PageFilter")
    }
}

/// Sleeps for `period` in short steps (a blocking thread's wait); false as soon as `stop`
/// fires.
pub fn sleep_unless_stopped(
    period: std::time::Duration,
    stop: &tokio_util::sync::CancellationToken,
) -> bool {
    let step = std::time::Duration::from_millis(50);
    let mut slept = std::time::Duration::ZERO;
    while slept < period {
        if stop.is_cancelled() {
            return false;
        }
        std::thread::sleep(step.min(period - slept));
        slept += step;
    }
    !stop.is_cancelled()
}

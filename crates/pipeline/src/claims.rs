//! Claims on work shared with other daemons through the store, when that store is a database
//! server several `nichiro run` processes use at once.
//!
//! - A page is fetched by the daemon that claims it first ([`SharedClaims::claim_page`]). The
//!   claim is a lease: it runs out `lease` after it was taken or last renewed. While the page
//!   is in this process (queued, fetched, cleaned, tagged, waiting for its batch) the
//!   [`Heartbeat`] renews it, however long the queue; once stored it is released, and a
//!   stored page is nobody's work any more. A page dropped on the way (a failed fetch, not an
//!   article) is no longer renewed and its lease runs out, after which any daemon may try it.
//! - A source's poll is claimed as `source:<name>` for the poll interval
//!   ([`Coordinator::may_poll`]): of several daemons one lists each source per interval, and
//!   the pages it lists are its to claim. A daemon holding `max_held` pages claims no more
//!   until it has worked some off (its listing waits), and polls nothing meanwhile, so a long
//!   listing and the sources spread over the daemons.
//! - A daemon killed outright renews nothing: its leases run out and the others take the
//!   work up on their next polls.
//! - A backfill does not leave a page to another process and end: it waits until that
//!   process stores the page or its lease runs out, and then fetches it itself
//!   ([`HeldElsewhere::WaitForThem`]). A run after a SIGKILL, started before the dead
//!   process's leases ran out, so still stores every page of the listing.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nichiro_fetch::canonical_url::canonicalize;
use nichiro_fetch::{Coordinator, SeenUrls};
use nichiro_model::FetchJob;
use nichiro_store::{Claim, Store, StoreConfig, StoreError};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::store_retry::retrying;
use crate::{PipelineError, Progress};

/// This process's name in claims: its host (`HOSTNAME`, else the kernel's host name) and
/// process id, so a stuck lease can be traced to its daemon.
pub fn holder_id() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "nichiro".into());
    format!("{host}-{}", std::process::id())
}

/// This process's claims, on a store connection of their own (so that a claim never waits
/// behind a batch being written).
pub struct SharedClaims {
    store: Mutex<Box<dyn Store>>,
    holder: String,
    lease: Duration,
    /// Past this many held pages, polls are left to the other daemons.
    max_held: usize,
    /// Keys of the pages claimed and still on their way through this process.
    held: Mutex<HashSet<String>>,
    /// Signalled when a page leaves `held`.
    room: std::sync::Condvar,
}

impl std::fmt::Debug for SharedClaims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedClaims")
            .field("holder", &self.holder)
            .field("lease", &self.lease)
            .finish_non_exhaustive()
    }
}

impl SharedClaims {
    /// Opens a connection to the store for claims made as `holder`, each lasting `lease`;
    /// with `max_held` pages or more in hand, this process polls no source.
    pub fn open(
        config: &StoreConfig,
        holder: String,
        lease: Duration,
        max_held: usize,
    ) -> Result<SharedClaims, StoreError> {
        Ok(SharedClaims {
            store: Mutex::new(nichiro_store::open(config)?),
            holder,
            lease,
            max_held,
            held: Mutex::new(HashSet::new()),
            room: std::sync::Condvar::new(),
        })
    }

    /// This process's name in the leases table.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    fn store(&self) -> std::sync::MutexGuard<'_, Box<dyn Store>> {
        self.store.lock().expect("claims store lock")
    }

    fn held(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.held.lock().expect("held claims lock")
    }

    /// Claims the page at `url` for this process.
    pub fn claim_page(&self, url: &str) -> Result<Claim, StoreError> {
        let key = canonicalize(url);
        let claim = self.store().claim(&key, &self.holder, self.lease)?;
        if claim == Claim::Granted {
            self.held().insert(key);
        }
        Ok(claim)
    }

    /// Claims `key` (a key that is not a page's URL: an archive file's) for this process,
    /// renewed with its pages until [`SharedClaims::release_key`].
    pub fn claim_key(&self, key: &str) -> Result<Claim, StoreError> {
        let claim = self.store().claim(key, &self.holder, self.lease)?;
        if claim == Claim::Granted {
            self.held().insert(key.to_string());
        }
        Ok(claim)
    }

    /// Gives up the claim on `key` made by [`SharedClaims::claim_key`].
    pub fn release_key(&self, key: &str) -> Result<(), StoreError> {
        let released = self.store().release(key, &self.holder);
        if self.held().remove(key) {
            self.room.notify_all();
        }
        released
    }

    /// Waits until this process holds fewer than `max_held` pages, or `stop` fires, so that
    /// it claims no more than it will soon work on: the rest of a long listing is left for
    /// the daemon that polls the source next. Returns false when stopped.
    pub fn wait_for_room(&self, stop: &tokio_util::sync::CancellationToken) -> bool {
        let mut held = self.held();
        while held.len() >= self.max_held {
            if stop.is_cancelled() {
                return false;
            }
            // Woken when a page leaves; the timeout only notices a stop.
            held = self
                .room
                .wait_timeout(held, Duration::from_millis(200))
                .expect("held claims lock")
                .0;
        }
        true
    }

    /// The page requested as `url` left this process without being stored: its claim is no
    /// longer renewed and runs out by itself.
    pub fn page_dropped(&self, url: &str) {
        if self.held().remove(&canonicalize(url)) {
            self.room.notify_all();
        }
    }

    /// The pages requested as `urls` are stored: their claims are released.
    pub fn pages_stored<'a>(
        &self,
        urls: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), StoreError> {
        let stored: Vec<String> = {
            let held = self.held();
            urls.into_iter()
                .map(canonicalize)
                .filter(|key| held.contains(key))
                .collect()
        };
        if stored.is_empty() {
            return Ok(());
        }
        // Released in the store before they leave `held`: room made earlier let a new claim
        // in while the old ones still stood, so a daemon held more than `max_held` leases.
        let released = {
            let store = self.store();
            stored
                .iter()
                .try_for_each(|key| store.release(key, &self.holder))
        };
        let mut held = self.held();
        for key in &stored {
            held.remove(key);
        }
        drop(held);
        self.room.notify_all();
        released
    }

    /// Extends every claim still on its way through this process; returns how many were.
    pub fn renew_held(&self) -> Result<usize, StoreError> {
        let keys: Vec<String> = self.held().iter().cloned().collect();
        if keys.is_empty() {
            return Ok(0);
        }
        self.store().renew(&self.holder, &keys, self.lease)
    }

    /// Gives up every claim of this process (at the end of a run).
    pub fn release_all(&self) -> Result<(), StoreError> {
        self.held().clear();
        self.room.notify_all();
        self.store().release_all(&self.holder)
    }
}

impl Coordinator for SharedClaims {
    fn may_poll(&self, source: &str, interval: Duration) -> bool {
        let held = self.held().len();
        if held >= self.max_held {
            tracing::debug!(source, held, "busy: the poll is left to other daemons");
            return false;
        }
        match self
            .store()
            .claim(&format!("source:{source}"), &self.holder, interval)
        {
            Ok(claim) => claim == Claim::Granted,
            Err(error) => {
                // Better a poll twice than none: the pages' own claims still hold.
                tracing::warn!(source, %error, "cannot claim the poll; polling anyway");
                true
            }
        }
    }

    fn job_ended_without_page(&self, url: &str) {
        self.page_dropped(url);
    }
}

/// What the claiming stage does with a page another process holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeldElsewhere {
    /// Leave it: if that process dies, the page is listed again by a later poll (a daemon).
    LeaveToNextPoll,
    /// Wait until that process stores it or its lease runs out, then take it (a backfill,
    /// which has no later poll).
    WaitForThem,
}

/// The claiming thread, with a shared store: passes on a remote job only once this process
/// has room for it ([`SharedClaims::wait_for_room`]) and holds the claim on its page
/// ([`SharedClaims::claim_page`]). A page another process has stored is dropped here; one
/// another process holds is dropped and given back to the seen set (so a later poll may
/// offer it again), or, with [`HeldElsewhere::WaitForThem`], asked for again until its fate
/// is known. Local jobs (files, archives), and every job without a shared store, pass as
/// they are.
pub(crate) fn run_claims(
    claims: Option<&SharedClaims>,
    held_elsewhere: HeldElsewhere,
    stop: &CancellationToken,
    seen: &SeenUrls,
    mut jobs: mpsc::Receiver<FetchJob>,
    claimed: mpsc::Sender<FetchJob>,
    progress: &Progress,
) -> Result<(), PipelineError> {
    let mut waiting: Vec<FetchJob> = Vec::new();
    while let Some(job) = jobs.blocking_recv() {
        let (Some(claims), FetchJob::Remote(remote)) = (claims, &job) else {
            if claimed.blocking_send(job).is_err() {
                return Ok(());
            }
            continue;
        };
        match claims.claim_job(remote, stop, seen, progress)? {
            Some(Claim::Granted) => {
                if claimed.blocking_send(job).is_err() {
                    return Ok(());
                }
            }
            Some(Claim::HeldElsewhere) if held_elsewhere == HeldElsewhere::WaitForThem => {
                tracing::debug!(url = %remote.url, "held by another process: waiting for it");
                waiting.push(job);
            }
            Some(Claim::HeldElsewhere) => claims.leave(remote, seen, progress),
            Some(Claim::Stored) | None => {}
        }
    }
    let Some(claims) = claims.filter(|_| !waiting.is_empty()) else {
        return Ok(());
    };
    tracing::info!(
        pages = waiting.len(),
        lease_secs = claims.lease.as_secs(),
        "pages of this run are held by another process: waiting until it stores them or its leases run out"
    );
    // Asked again a few times per lease: a dead process's pages are taken up soon after
    // its leases run out.
    let period = (claims.lease / 4).clamp(Duration::from_millis(200), Duration::from_secs(5));
    while !waiting.is_empty() {
        if !nichiro_fetch::coordination::sleep_unless_stopped(period, stop) {
            break;
        }
        let mut still_held = Vec::new();
        for job in waiting.drain(..) {
            let FetchJob::Remote(remote) = &job else {
                continue;
            };
            match claims.claim_job(remote, stop, seen, progress)? {
                Some(Claim::Granted) => {
                    if claimed.blocking_send(job).is_err() {
                        return Ok(());
                    }
                }
                Some(Claim::HeldElsewhere) => still_held.push(job),
                Some(Claim::Stored) | None => {}
            }
        }
        waiting = still_held;
    }
    // Stopped while waiting: what is left goes to a later run, which lists it in full.
    for job in &waiting {
        if let FetchJob::Remote(remote) = job {
            claims.leave(remote, seen, progress);
        }
    }
    Ok(())
}

impl SharedClaims {
    /// Claims the page of `remote` once there is room for it; `None` when stopped first.
    /// A page another process stored is counted here.
    fn claim_job(
        &self,
        remote: &nichiro_model::RemoteJob,
        stop: &CancellationToken,
        seen: &SeenUrls,
        progress: &Progress,
    ) -> Result<Option<Claim>, PipelineError> {
        if !self.wait_for_room(stop) {
            seen.release(&remote.url);
            return Ok(None);
        }
        let claim = retrying("claim a page", || self.claim_page(&remote.url))?;
        if claim == Claim::Stored {
            // Stored by another process: seen for good.
            progress.update(|s| s.claimed_elsewhere += 1);
        }
        Ok(Some(claim))
    }

    /// Leaves a page another process holds to it: given back to the seen set, so that a
    /// later poll may offer it again if that process dies, and counted against its source,
    /// whose validators are then not kept.
    fn leave(&self, remote: &nichiro_model::RemoteJob, seen: &SeenUrls, progress: &Progress) {
        tracing::debug!(url = %remote.url, "left to another process");
        seen.release(&remote.url);
        progress.update(|s| s.claimed_elsewhere += 1);
        progress
            .stats
            .update(&remote.source, |c| c.claimed_elsewhere += 1);
    }
}

/// A thread renewing this process's claims on pages every third of the lease, until dropped.
pub struct Heartbeat {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Heartbeat {
    /// Starts renewing `claims`' pages.
    pub fn start(claims: Arc<SharedClaims>) -> Heartbeat {
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let period = (claims.lease / 3).max(Duration::from_millis(100));
        let thread = std::thread::spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(period)
            {
                match claims.renew_held() {
                    Ok(renewed) => tracing::trace!(renewed, "claims renewed"),
                    Err(error) => tracing::warn!(%error, "claims not renewed"),
                }
            }
        });
        Heartbeat {
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

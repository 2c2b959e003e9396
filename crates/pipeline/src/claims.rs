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

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nichiro_fetch::Coordinator;
use nichiro_fetch::canonical_url::canonicalize;
use nichiro_store::{Claim, Store, StoreConfig, StoreError};

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
            let mut held = self.held();
            urls.into_iter()
                .map(canonicalize)
                .filter(|key| held.remove(key))
                .collect()
        };
        if stored.is_empty() {
            return Ok(());
        }
        self.room.notify_all();
        let store = self.store();
        for key in &stored {
            store.release(key, &self.holder)?;
        }
        Ok(())
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

//! How far each archive file of a `warc` source is read, kept in the store, and which
//! process reads which file when several share a store (the fetcher's
//! [`ArchiveLedger`](nichiro_fetch::ArchiveLedger), implemented here).
//!
//! - A file is claimed (`archive:<source>:<file>`) by the process that reads it, and its claim
//!   is renewed with the pages this process holds; another process leaves it alone until the
//!   claim is released or runs out (a killed reader), and then takes it up.
//! - Each page queued from a file is in flight until it leaves the pipeline, stored or
//!   dropped ([`ArchiveProgress::page_settled`]). The file's resume point is the first record
//!   with a page still in flight (or the first not yet read): every record before it is dealt
//!   with. It is written to the store every [`CHECKPOINT_RECORDS`] records and when the run
//!   ends, so a run after a SIGKILL reads at most that many records of the file again.
//! - A file read to its end whose pages are all settled is done: recorded so, its claim
//!   released, and not read again by any process.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use nichiro_fetch::{ArchiveLedger, FileTurn};
use nichiro_store::{ArchiveFileState, Claim, Store, StoreConfig, StoreError};

use crate::claims::SharedClaims;
use crate::store_retry::retrying;

/// The resume point is written after this many more records are dealt with.
pub const CHECKPOINT_RECORDS: u64 = 1_000;

/// The ledger of archive files, on a store connection of its own.
pub struct ArchiveProgress {
    store: Mutex<Box<dyn Store>>,
    claims: Option<Arc<SharedClaims>>,
    state: Mutex<State>,
}

impl std::fmt::Debug for ArchiveProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArchiveProgress").finish_non_exhaustive()
    }
}

#[derive(Default)]
struct State {
    /// (source, file) → how far it is.
    files: HashMap<(String, String), FileState>,
    /// URL of a page in flight → its (source, file) and record.
    in_flight: HashMap<String, ((String, String), u64)>,
}

#[derive(Default)]
struct FileState {
    /// Records with pages in flight (record → pages).
    in_flight: BTreeMap<u64, usize>,
    /// Every record before this one was read.
    read_to: u64,
    /// Read to its end.
    ended: bool,
    /// The resume point last written.
    recorded: u64,
    /// Recorded as done.
    done: bool,
}

impl FileState {
    fn resume_point(&self) -> u64 {
        self.in_flight
            .keys()
            .next()
            .map_or(self.read_to, |&first| first.min(self.read_to))
    }
}

fn claim_key(source: &str, file: &str) -> String {
    format!("archive:{source}:{file}")
}

impl ArchiveProgress {
    /// Opens a connection to the store for the ledger; `claims` when the store is shared.
    pub fn open(
        config: &StoreConfig,
        claims: Option<Arc<SharedClaims>>,
    ) -> Result<ArchiveProgress, StoreError> {
        Ok(ArchiveProgress {
            store: Mutex::new(nichiro_store::open(config)?),
            claims,
            state: Mutex::new(State::default()),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The page requested as `url` left the pipeline (stored, or dropped for good).
    pub fn page_settled(&self, url: &str) {
        let mut state = self.state();
        let Some((key, record)) = state.in_flight.remove(url) else {
            return;
        };
        if let Some(file) = state.files.get_mut(&key)
            && let Some(n) = file.in_flight.get_mut(&record)
        {
            *n -= 1;
            if *n == 0 {
                file.in_flight.remove(&record);
            }
        }
        self.record_if_due(&mut state, &key, false);
    }

    /// Writes the resume point of every file still open (at the end of a run).
    pub fn finish(&self) {
        let mut state = self.state();
        let keys: Vec<(String, String)> = state.files.keys().cloned().collect();
        for key in keys {
            self.record_if_due(&mut state, &key, true);
        }
    }

    /// Records the file's progress when it is done, when `always`, or when its resume point
    /// moved [`CHECKPOINT_RECORDS`] on; a done file's claim is released. A failed write is
    /// logged: the file is then read again from an earlier point, which only costs time.
    fn record_if_due(&self, state: &mut State, key: &(String, String), always: bool) {
        let Some(file) = state.files.get_mut(key) else {
            return;
        };
        if file.done {
            return;
        }
        let resume_at = file.resume_point();
        let done = file.ended && file.in_flight.is_empty();
        if !done && !always && resume_at < file.recorded + CHECKPOINT_RECORDS {
            return;
        }
        if !done && resume_at <= file.recorded {
            return;
        }
        let (source, name) = key;
        let record = ArchiveFileState {
            file: name.clone(),
            resume_at,
            done,
        };
        let written = {
            let store = self.store.lock().unwrap_or_else(|e| e.into_inner());
            retrying("record an archive file's progress", || {
                store.record_archive_file(source, &record)
            })
        };
        match written {
            Ok(()) => {
                file.recorded = resume_at;
                file.done = done;
                if done {
                    tracing::debug!(
                        source,
                        file = name,
                        records = resume_at,
                        "archive file done"
                    );
                    state.files.remove(key);
                    self.release(source, name);
                }
            }
            Err(error) => {
                tracing::warn!(source, file = name, %error, "archive file progress not recorded")
            }
        }
    }

    fn release(&self, source: &str, file: &str) {
        if let Some(claims) = &self.claims
            && let Err(error) = claims.release_key(&claim_key(source, file))
        {
            tracing::warn!(source, file, %error, "archive file claim not released; it runs out");
        }
    }

    fn stored_state(&self, source: &str, file: &str) -> Result<ArchiveFileState, StoreError> {
        let store = self.store.lock().unwrap_or_else(|e| e.into_inner());
        let files = retrying("read archive files", || store.archive_files(source))?;
        Ok(files
            .into_iter()
            .find(|f| f.file == file)
            .unwrap_or_else(|| ArchiveFileState {
                file: file.to_string(),
                ..Default::default()
            }))
    }
}

impl ArchiveLedger for ArchiveProgress {
    fn take_file(&self, source: &str, file: &str) -> FileTurn {
        if let Some(claims) = &self.claims {
            match retrying("claim an archive file", || {
                claims.claim_key(&claim_key(source, file))
            }) {
                Ok(Claim::Granted | Claim::Stored) => {}
                Ok(Claim::HeldElsewhere) => return FileTurn::HeldElsewhere,
                Err(error) => {
                    // Better read twice than never: the pages' own claims still hold.
                    tracing::warn!(source, file, %error, "cannot claim the archive file; reading it anyway");
                }
            }
        }
        // Read after the claim: a process that finished the file recorded it before letting
        // its claim go.
        let stored = match self.stored_state(source, file) {
            Ok(stored) => stored,
            Err(error) => {
                tracing::warn!(source, file, %error, "cannot read how far the archive file was read; reading it from its start");
                ArchiveFileState::default()
            }
        };
        if stored.done {
            self.release(source, file);
            return FileTurn::Done;
        }
        let mut state = self.state();
        // Read by this process on an earlier poll, its pages still on their way: it is done
        // once they are, not read again meanwhile (which would queue none of them, the seen
        // set holding them, and so find it done too early).
        if state
            .files
            .contains_key(&(source.to_string(), file.to_string()))
        {
            return FileTurn::HeldElsewhere;
        }
        state.files.insert(
            (source.to_string(), file.to_string()),
            FileState {
                read_to: stored.resume_at,
                recorded: stored.resume_at,
                ..FileState::default()
            },
        );
        FileTurn::Read {
            from_record: stored.resume_at,
        }
    }

    fn page_queued(&self, source: &str, file: &str, record: u64, url: &str) {
        let key = (source.to_string(), file.to_string());
        let mut state = self.state();
        let Some(file) = state.files.get_mut(&key) else {
            return;
        };
        *file.in_flight.entry(record).or_default() += 1;
        file.read_to = file.read_to.max(record);
        state.in_flight.insert(url.to_string(), (key, record));
    }

    fn file_read(&self, source: &str, file: &str, records: u64, at_end: bool) {
        let key = (source.to_string(), file.to_string());
        let mut state = self.state();
        if let Some(file) = state.files.get_mut(&key) {
            file.read_to = file.read_to.max(records);
            file.ended = at_end;
        }
        self.record_if_due(&mut state, &key, !at_end);
        if !at_end && state.files.remove(&key).is_some() {
            // Left half-read (a stop): pages still in flight may settle, but the next reader
            // starts from what is recorded now, which is never past them.
            state.in_flight.retain(|_, (k, _)| *k != key);
            self.release(source, file);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_done_once_every_page_of_it_is_settled() {
        let dir = tempfile::tempdir().unwrap();
        let config: StoreConfig = toml::from_str(&format!(
            "path = {:?}",
            dir.path().join("store.sqlite").display().to_string()
        ))
        .unwrap();
        let ledger = ArchiveProgress::open(&config, None).unwrap();
        let store = nichiro_store::open(&config).unwrap();
        let recorded = || {
            let files = store.archive_files("cc").unwrap();
            files.first().map(|f| (f.resume_at, f.done))
        };
        assert_eq!(
            ledger.take_file("cc", "a.warc.gz"),
            FileTurn::Read { from_record: 0 }
        );
        ledger.page_queued("cc", "a.warc.gz", 3, "https://x.example/3");
        ledger.page_queued("cc", "a.warc.gz", 7, "https://x.example/7");
        ledger.file_read("cc", "a.warc.gz", 10, true);
        // Its pages still on their way, a daemon's next poll does not start it over.
        assert_eq!(ledger.take_file("cc", "a.warc.gz"), FileTurn::HeldElsewhere);
        ledger.page_settled("https://x.example/7");
        // At the end of a run, the records before the first page in flight are dealt with.
        ledger.finish();
        assert_eq!(recorded(), Some((3, false)));
        ledger.page_settled("https://x.example/3");
        assert_eq!(recorded(), Some((10, true)));
        assert_eq!(ledger.take_file("cc", "a.warc.gz"), FileTurn::Done);
        // A file left part-way (a stop) resumes where its dealt-with records end.
        assert_eq!(
            ledger.take_file("cc", "b.warc.gz"),
            FileTurn::Read { from_record: 0 }
        );
        ledger.page_queued("cc", "b.warc.gz", 5, "https://x.example/b5");
        ledger.file_read("cc", "b.warc.gz", 9, false);
        assert_eq!(
            ledger.take_file("cc", "b.warc.gz"),
            FileTurn::Read { from_record: 5 }
        );
    }
}

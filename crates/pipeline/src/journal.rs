//! The record of each source's polls, written to the store after every poll (on a
//! connection of its own, so a poll's record never waits behind a batch of articles).

use std::sync::Mutex;

use nichiro_fetch::PollJournal;
use nichiro_model::SourcePoll;
use nichiro_store::{Store, StoreConfig, StoreError};

/// Writes each finished poll to the store; a failed write is logged, never fatal.
pub struct StoreJournal {
    store: Mutex<Box<dyn Store>>,
}

impl std::fmt::Debug for StoreJournal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreJournal").finish_non_exhaustive()
    }
}

impl StoreJournal {
    /// Opens a connection to the store for the record of polls.
    pub fn open(config: &StoreConfig) -> Result<StoreJournal, StoreError> {
        Ok(StoreJournal {
            store: Mutex::new(nichiro_store::open(config)?),
        })
    }
}

impl PollJournal for StoreJournal {
    fn polled(&self, source: &str, poll: &SourcePoll) {
        let store = self.store.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(error) = store.record_poll(source, poll) {
            tracing::warn!(source, %error, "the poll was not recorded");
        }
    }
}

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

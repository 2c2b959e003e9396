//! What a run did, counted as it goes and printed at its end.

use std::collections::BTreeMap;
use std::fmt;

use nichiro_fetch::{SourceCounts, SourceFailure};
use serde::Serialize;

/// Counters of one run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RunSummary {
    /// Items queued by the sources.
    pub queued: u64,
    /// Pages fetched or read.
    pub fetched: u64,
    /// Articles stored for the first time.
    pub new: u64,
    /// Articles whose canonical URL was stored already.
    pub already_stored: u64,
    /// New articles that copy a stored text (`duplicate_of`).
    pub near_duplicates: u64,
    /// New articles tagged relevant.
    pub relevant: u64,
    /// Pages that were not articles (index, error or empty pages), not stored.
    pub not_articles: u64,
    /// Articles published before `--since`, not stored.
    pub too_old: u64,
    /// Pages that failed to fetch or clean.
    pub failed: u64,
    /// New relevant articles per topic.
    pub by_topic: BTreeMap<String, u64>,
    /// Counters per source.
    pub sources: BTreeMap<String, SourceCounts>,
    /// Sources whose listing failed.
    pub source_failures: Vec<(String, String)>,
    /// Hosts backed off after repeated failures, with the cooldown in seconds.
    pub hosts_backed_off: Vec<(String, u64)>,
    /// Pages left to another daemon sharing the store (it holds their claim), or found
    /// stored by one.
    pub claimed_elsewhere: u64,
}

impl RunSummary {
    /// Items finished one way or another (for progress).
    pub fn done(&self) -> u64 {
        self.new + self.already_stored + self.not_articles + self.too_old + self.failed
    }

    /// Adds the fetcher's per-source counters and listing failures.
    pub fn absorb_sources(
        &mut self,
        sources: BTreeMap<String, SourceCounts>,
        failures: &[SourceFailure],
    ) {
        self.queued = sources.values().map(|c| c.queued).sum();
        self.fetched = sources.values().map(|c| c.fetched).sum();
        let fetch_failures: u64 = sources
            .values()
            .map(|c| c.failed + c.robots_disallowed)
            .sum();
        self.failed += fetch_failures;
        self.sources = sources;
        self.source_failures = failures
            .iter()
            .map(|f| (f.source.clone(), f.error.clone()))
            .collect();
    }
}

impl fmt::Display for RunSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "fetched {}, new {}, already stored {}, near-duplicates {}, relevant {}, not articles {}, too old {}, failed {}",
            self.fetched,
            self.new,
            self.already_stored,
            self.near_duplicates,
            self.relevant,
            self.not_articles,
            self.too_old,
            self.failed
        )?;
        if !self.by_topic.is_empty() {
            let topics: Vec<String> = self
                .by_topic
                .iter()
                .map(|(t, n)| format!("{t} {n}"))
                .collect();
            writeln!(f, "by topic: {}", topics.join(", "))?;
        }
        if self.claimed_elsewhere > 0 {
            writeln!(
                f,
                "left to other daemons (claimed or stored by them): {}",
                self.claimed_elsewhere
            )?;
        }
        for (name, c) in &self.sources {
            writeln!(
                f,
                "  {name}: listed {}, queued {}, seen before {}, filtered {}, not modified {}, fetched {}, failed {}, robots {}",
                c.listed,
                c.queued,
                c.seen_before,
                c.filtered,
                c.not_modified,
                c.fetched,
                c.failed,
                c.robots_disallowed
            )?;
            if c.archive_files > 0 {
                writeln!(
                    f,
                    "  {name}: archive files {} of {} done, records read {}, pages skipped by the prefilter {}",
                    c.archive_files_done, c.archive_files, c.records, c.prefiltered
                )?;
            }
        }
        for (name, error) in &self.source_failures {
            writeln!(f, "  source {name} failed: {error}")?;
        }
        for (host, secs) in &self.hosts_backed_off {
            writeln!(
                f,
                "  host {host} backed off for {secs} s after repeated failures"
            )?;
        }
        Ok(())
    }
}

//! nichiro's fetcher: where pages come from and how they are got.
//!
//! Sources ([`sources`]) list what to fetch — RSS/Atom/JSON feeds, XML and Google News
//! sitemaps, local folders and WARC archives — skipping URLs seen before; the fetch stage
//! ([`stages::run_fetch`]) gets each page politely ([`http`]: robots.txt, per-host pacing,
//! size limits, no private addresses) and hands it on exactly once as a
//! [`RawPage`](nichiro_model::RawPage). It does not parse HTML or decode charsets: bytes and
//! the Content-Type travel on untouched for the cleaner.
//!
//! ```
//! use nichiro_fetch::canonical_url::canonicalize;
//! assert_eq!(
//!     canonicalize("HTTPS://Example.org/news/1?utm_source=rss#top"),
//!     "https://example.org/news/1"
//! );
//! ```

pub mod canonical_url;
pub mod config;
pub mod coordination;
pub mod guard;
pub mod hosts;
pub mod http;
pub mod scheduler;
pub mod sites;
pub mod sources;
pub mod stages;

pub use config::{FetchConfig, SourceConfig, SourceKind};
pub use coordination::{ArchiveLedger, Coordinator, FileTurn, PageFilter, PollJournal};
pub use guard::PrivateNetworks;
pub use http::{FetchError, HttpFetcher};
pub use scheduler::run_fetch;
pub use sources::{FetchStats, GivenUp, PollContext, SeenUrls, Source, SourceCounts};
pub use stages::{PollMode, SourceFailure, run_sources};

//! nichiro's storage: tagged articles keyed by canonical URL, so that an article ingested
//! twice is stored once; the URLs already seen (requested and canonical), so a restart never
//! fetches a stored page again; sources' fetch state; full-text search over the tagger's
//! tokens; listing and export. One interface, [`Store`], and two backends: embedded SQLite
//! ([`SqliteStore`], the default) and PostgreSQL ([`PostgresStore`], `[store] url`).
//!
//! It is synchronous: the pipeline calls it from a blocking task. It does not tag or fetch.
//! Every batch is written in one transaction, so a crash leaves no half-written article.
//!
//! ```
//! use nichiro_store::{ArticleFilter, SqliteStore, Store};
//! let store = SqliteStore::open_in_memory().unwrap();
//! assert_eq!(store.count().unwrap(), 0);
//! assert!(store.list(&ArticleFilter::default(), None).unwrap().is_empty());
//! ```

pub mod archive;
mod postgres;
mod rename;
mod row;
mod schema;
mod sqlite;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;

use chrono::{DateTime, FixedOffset, Utc};
use nichiro_model::{DuplicateOf, EntityTag, PageKind, RelatedDoc, TaggedArticle, TopicTag};
use serde::{Deserialize, Serialize};

/// Settings of the store (`[store]` in the config).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// Path of the SQLite database file; relative paths are taken from the config file's
    /// folder. Created with its folder when missing. Default `nichiro.sqlite`. Not used when
    /// `url` is set.
    #[serde(default = "default_path")]
    pub path: PathBuf,
    /// A PostgreSQL server instead of the SQLite file: `postgres://user@host:port/database`
    /// (or `postgresql://`). Several daemons can share one.
    #[serde(default)]
    pub url: Option<String>,
    /// Keep each stored article's page as fetched, gzip-compressed (`nichiro raw URL` gives
    /// it back). Default false: the cleaned text is kept, the page is not.
    #[serde(default)]
    pub keep_raw_html: bool,
}

fn default_path() -> PathBuf {
    PathBuf::from("nichiro.sqlite")
}

impl StoreConfig {
    /// Where the store is, for messages: the SQLite file, or the server without a password.
    pub fn describe(&self) -> String {
        match &self.url {
            Some(url) => postgres::redact(url),
            None => self.path.display().to_string(),
        }
    }
}

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened or created.
    #[error("cannot open store {path}: {source}")]
    Open {
        /// Database path.
        path: PathBuf,
        /// The cause.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The database server could not be reached, or its schema not brought up to date.
    #[error("cannot open store {url}: {source}")]
    Connect {
        /// Database URL, without a password.
        url: String,
        /// The cause.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A query failed.
    #[error("store query failed: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A query to the database server failed.
    #[error("store query failed: {0}")]
    Query(String),
    /// The connection to the database server was lost; the next call reconnects, so the
    /// operation may be tried again (every write is idempotent).
    #[error("lost the connection to the store: {0}")]
    Disconnected(String),
    /// A stored value could not be read back.
    #[error("stored value is corrupt: {0}")]
    Corrupt(String),
    /// Writing an export failed.
    #[error("export failed: {0}")]
    Export(String),
}

impl StoreError {
    /// Whether the store refuses writes as a whole, for a reason an operator can mend while
    /// a daemon waits: a full disk, a read-only file or database, a lost permission. Not an
    /// error about one article's values, which waiting would never pass.
    pub fn is_refusal(&self) -> bool {
        match self {
            StoreError::Sqlite(e) => matches!(
                e.sqlite_error_code(),
                Some(
                    rusqlite::ErrorCode::ReadOnly
                        | rusqlite::ErrorCode::DiskFull
                        | rusqlite::ErrorCode::SystemIoFailure
                        | rusqlite::ErrorCode::PermissionDenied
                        | rusqlite::ErrorCode::CannotOpen
                )
            ),
            // Read-only transaction, insufficient resources (disk full, out of memory or
            // connections), insufficient privilege: by their SQLSTATE.
            StoreError::Query(message) => ["(SQLSTATE 25006)", "(SQLSTATE 53", "(SQLSTATE 42501)"]
                .iter()
                .any(|code| message.contains(code)),
            _ => false,
        }
    }

    /// Whether trying the operation again may succeed: the database server was out of reach
    /// or the connection to it was lost (it restarted, a network blip), or the SQLite file
    /// was busy.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Disconnected(_) | StoreError::Connect { .. } => true,
            // Another connection held the SQLite file past the busy timeout.
            StoreError::Sqlite(e) => matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            ),
            _ => false,
        }
    }
}

/// The answer to [`Store::claim`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The caller holds the key now.
    Granted,
    /// Another holder's claim is live: that daemon is on it (or died, and it will expire).
    HeldElsewhere,
    /// The key is the URL of a stored article: there is nothing to do.
    Stored,
}

/// What happened to one article given to [`SqliteStore::insert_batch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertOutcome {
    /// Stored now.
    New,
    /// An article with the same canonical URL was already stored.
    AlreadyStored,
}

/// An article as stored, as the read commands print it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StoredArticle {
    /// Canonical URL (the key).
    pub url: String,
    /// Title.
    pub title: Option<String>,
    /// Authors.
    pub authors: Vec<String>,
    /// Publication time.
    pub published: Option<DateTime<FixedOffset>>,
    /// Language code.
    pub language: Option<String>,
    /// Outlet name.
    pub site_name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Source name from the config.
    pub source: String,
    /// URL that was requested.
    pub requested_url: String,
    /// Whether it is about Russia–Japan relations.
    pub relevant: bool,
    /// Relevance score.
    pub relevance: f32,
    /// Topics with evidence.
    pub topics: Vec<TopicTag>,
    /// Related documents.
    pub related: Vec<RelatedDoc>,
    /// The stored text it copies.
    pub duplicate_of: Option<DuplicateOf>,
    /// A stored text it shares a passage with, without being its copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shares_text_with: Option<DuplicateOf>,
    /// Article or not.
    pub kind: PageKind,
    /// When fetched.
    pub fetched_at: DateTime<Utc>,
    /// When stored.
    pub stored_at: DateTime<Utc>,
    /// Text.
    pub text: String,
    /// Last modification time.
    pub modified: Option<DateTime<FixedOffset>>,
    /// Lead image.
    pub image: Option<String>,
    /// Section.
    pub section: Option<String>,
    /// Keywords.
    pub keywords: Vec<String>,
    /// Where each metadata field came from.
    pub signals: std::collections::BTreeMap<String, String>,
    /// People, places and organisations named.
    pub entities: Vec<EntityTag>,
    /// What moved the relevance score most.
    pub relevance_evidence: Vec<String>,
    /// SHA-256 of the text, in hex: articles with the same one carry the same text, whatever
    /// their URLs (empty for articles stored before the store kept it).
    #[serde(default)]
    pub content_hash: String,
    /// Which tagger gave the verdict (see [`nichiro_model::Tags::tagger`]); empty for
    /// verdicts older than the store's record of it.
    #[serde(default)]
    pub tagger: String,
}

/// Which articles [`Store::search`], [`Store::list`] and [`Store::export`] give (all when
/// every field is empty).
#[derive(Debug, Clone, Default)]
pub struct ArticleFilter {
    /// Only articles tagged with this topic.
    pub topic: Option<String>,
    /// Only articles published (or, without a date, fetched) at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// ...and before this time.
    pub until: Option<DateTime<Utc>>,
    /// Only articles from this source (its name in the config).
    pub source: Option<String>,
    /// Only articles in this language (`en`, `ru`, `ja`).
    pub language: Option<String>,
    /// Only relevant articles.
    pub relevant_only: bool,
    /// Only articles matching these words (all of them, in any of the three languages), as
    /// [`Store::search`] matches them.
    pub matching: Option<String>,
    /// Only articles that come after the one numbered so in newest-first order: the cursor of
    /// a paged listing ([`Store::list_numbered`]).
    pub after_number: Option<i64>,
}

/// What SQL differs in between the backends, for [`ArticleFilter::to_sql`].
pub(crate) trait Dialect {
    /// How the `n`th parameter is written.
    fn placeholder(n: usize) -> String;
    /// The article's time (published, else fetched) as an ordered SQL value.
    fn article_time() -> &'static str;
    /// The article's time compared (`op`) with an RFC 3339 parameter.
    fn time_is(op: &str, parameter: &str) -> String;
    /// A condition that the article's search terms match the parameter, made by
    /// [`Dialect::all_phrases`].
    fn matches(parameter: &str) -> String;
    /// The parameter of [`Dialect::matches`] for articles holding every one of `phrases`.
    fn all_phrases(phrases: &[&nichiro_text::query::Phrase]) -> String;
    /// A condition that the article's title or text holds the parameter as written.
    fn contains(parameter: &str) -> String;
}

impl ArticleFilter {
    /// The filter as SQL conditions (each starting with ` AND `) and their values in order,
    /// for the backend `D`, its parameters numbered from `first`.
    pub(crate) fn to_sql<D: Dialect>(&self, first: usize) -> (String, Vec<String>) {
        let mut sql = String::new();
        let mut values = Vec::new();
        let next = |value: String, values: &mut Vec<String>| {
            values.push(value);
            D::placeholder(first + values.len() - 1)
        };
        let time_is = D::time_is;
        if let Some(topic) = &self.topic {
            let p = next(topic.clone(), &mut values);
            sql += &format!(" AND id IN (SELECT article_id FROM article_topics WHERE topic = {p})");
        }
        if let Some(since) = self.since {
            let p = next(since.to_rfc3339(), &mut values);
            sql += &format!(" AND {}", time_is(">=", &p));
        }
        if let Some(until) = self.until {
            let p = next(until.to_rfc3339(), &mut values);
            sql += &format!(" AND {}", time_is("<", &p));
        }
        if let Some(source) = &self.source {
            let p = next(source.clone(), &mut values);
            sql += &format!(" AND source = {p}");
        }
        if let Some(language) = &self.language {
            let p = next(language.clone(), &mut values);
            sql += &format!(" AND language = {p}");
        }
        if self.relevant_only {
            sql += " AND relevant";
        }
        if let Some(words) = &self.matching {
            let query = nichiro_text::query::parse(words);
            if query.is_empty() {
                // Words that hold nothing to search for match nothing.
                sql += " AND 1 = 0";
            }
            let mut alternatives = Vec::new();
            for all in &query.any_of {
                let mut conditions = Vec::new();
                let indexed: Vec<_> = all.iter().filter(|p| p.lone_cjk.is_none()).collect();
                if !indexed.is_empty() {
                    let p = next(D::all_phrases(&indexed), &mut values);
                    conditions.push(D::matches(&p));
                }
                // A lone Japanese character is no token of the index: looked for as written.
                for lone in all.iter().filter_map(|p| p.lone_cjk.clone()) {
                    let p = next(lone, &mut values);
                    conditions.push(D::contains(&p));
                }
                alternatives.push(format!("({})", conditions.join(" AND ")));
            }
            if !alternatives.is_empty() {
                sql += &format!(" AND ({})", alternatives.join(" OR "));
            }
        }
        if let Some(number) = self.after_number {
            // Row values: (time, number) below the cursor's, in the list's own order; an
            // unknown number matches nothing.
            let time = D::article_time();
            sql += &format!(
                " AND ({time}, id) < (SELECT {time}, id FROM articles WHERE id = {number})"
            );
        }
        (sql, values)
    }
}

impl StoredArticle {
    /// The tagged article this was stored from (for `import`): what `export` writes goes
    /// back in unchanged, but for the links, which are not exported, and the time it is
    /// stored again.
    pub fn into_tagged(self) -> TaggedArticle {
        let mut article = nichiro_model::Article::empty(self.url);
        article.title = self.title;
        article.authors = self.authors;
        article.published = self.published;
        article.language = self.language;
        article.text = self.text;
        article.site_name = self.site_name;
        article.description = self.description;
        article.kind = self.kind;
        article.modified = self.modified;
        article.image = self.image;
        article.section = self.section;
        article.keywords = self.keywords;
        article.signals = self.signals;
        TaggedArticle {
            article,
            tags: nichiro_model::Tags {
                relevant: self.relevant,
                relevance: self.relevance,
                relevance_evidence: self.relevance_evidence,
                topics: self.topics,
                related: self.related,
                duplicate_of: self.duplicate_of,
                shares_text_with: self.shares_text_with,
                entities: self.entities,
                tagger: self.tagger,
            },
            source: self.source,
            requested_url: self.requested_url,
            fetched_at: self.fetched_at,
            raw_page: None,
        }
    }
}

/// Matches of a search that are ranked, at most: the newest.
pub const SEARCH_CANDIDATES: usize = 2000;

/// How far an archive file of a source (a WARC file) was read, as recorded in the store: the
/// record to resume at, and whether every page of it was dealt with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArchiveFileState {
    /// The file as the source names it (a path or an address).
    pub file: String,
    /// Records before this one (counting every WARC record from 0) are dealt with: each of
    /// their pages was stored or dropped.
    pub resume_at: u64,
    /// Every record of the file is dealt with: it is not read again.
    pub done: bool,
}

/// What a source's last complete listing left for the next run's conditional GET.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SavedListing {
    /// The listing's `ETag`.
    pub etag: Option<String>,
    /// The listing's `Last-Modified`.
    pub last_modified: Option<String>,
    /// The address the validators belong to when it is not the configured one: the feed a
    /// configured web page announced, so the next run asks the feed itself for a 304.
    pub url: Option<String>,
    /// A sitemap source's other sitemaps (index children, those robots.txt names), by URL:
    /// their validators, and an index's children.
    pub sitemaps: std::collections::BTreeMap<String, nichiro_model::KnownSitemap>,
}

/// [`SavedListing::sitemaps`] as the store keeps it: JSON, or nothing when empty.
pub(crate) fn sitemaps_column(listing: &SavedListing) -> Option<String> {
    (!listing.sitemaps.is_empty())
        .then(|| serde_json::to_string(&listing.sitemaps).expect("sitemaps serialize"))
}

/// [`SavedListing::sitemaps`] read back: an unreadable value (written by a later release)
/// is forgotten, which costs one full listing.
pub(crate) fn sitemaps_from_column(
    column: Option<String>,
) -> std::collections::BTreeMap<String, nichiro_model::KnownSitemap> {
    column
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default()
}

/// A stored article that copies another ([`Store::copies_of`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CopyOf {
    /// Its number.
    pub number: i64,
    /// Its canonical URL.
    pub url: String,
    /// Its title.
    pub title: Option<String>,
}

/// Articles of one topic on one day ([`Store::topic_days`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopicDay {
    /// The day, `YYYY-MM-DD` (UTC).
    pub day: String,
    /// The topic.
    pub topic: String,
    /// Articles of that topic that day.
    pub articles: u64,
}

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// One JSON object per line, every field.
    Jsonl,
    /// A header line and one row per article, without the text.
    Csv,
}

/// What every storage backend does. Writes are idempotent: an article whose canonical URL is
/// stored already is left as it is, so a batch retried after a crash stores nothing twice.
pub trait Store: Send {
    /// Stores a batch in one transaction, with each article's search terms ([`search_terms`])
    /// and the URLs it was seen under.
    fn insert_batch(&mut self, batch: &[TaggedArticle]) -> Result<Vec<InsertOutcome>, StoreError>;

    /// Gives stored addresses new ones, `(from, to)`, in one transaction: the articles' own
    /// and requested URLs, the URLs seen and given up, and other articles' references to them
    /// (`duplicate_of`, `related`, `shares_text_with`). An article whose new address is stored
    /// already keeps its old one. Returns how many articles were renamed.
    fn rename_urls(&mut self, renames: &[(String, String)]) -> Result<usize, StoreError>;

    /// Whether a URL (requested or canonical) belongs to a stored article.
    fn is_seen(&self, url: &str) -> Result<bool, StoreError>;

    /// Records pages given up for good: (url, source, reason). Known ones are kept as they are.
    fn record_given_up(&mut self, urls: &[(String, String, String)]) -> Result<(), StoreError>;

    /// Every URL given up for good.
    fn given_up_urls(&self) -> Result<Vec<String>, StoreError>;

    /// Every URL of a stored article, requested or canonical.
    fn seen_urls(&self) -> Result<HashSet<String>, StoreError>;

    /// Number of stored articles.
    fn count(&self) -> Result<usize, StoreError>;

    /// At most `limit` articles that `filter` lets through and that match `query` (its words
    /// in any inflection, `"phrases"`, `OR`; see [`nichiro_text::query`]), best first.
    fn search(
        &self,
        query: &str,
        filter: &ArticleFilter,
        limit: usize,
    ) -> Result<Vec<StoredArticle>, StoreError> {
        Ok(self
            .search_scored(query, filter, limit)?
            .into_iter()
            .map(|(_, article)| article)
            .collect())
    }

    /// As [`Store::search`], with each article's score ([`nichiro_text::query::score`]).
    /// The newest [`SEARCH_CANDIDATES`] matches are ranked.
    fn search_scored(
        &self,
        query: &str,
        filter: &ArticleFilter,
        limit: usize,
    ) -> Result<Vec<(f32, StoredArticle)>, StoreError> {
        let parsed = nichiro_text::query::parse(query);
        let filter = ArticleFilter {
            matching: Some(query.to_string()),
            after_number: None,
            ..filter.clone()
        };
        let mut scored: Vec<(f32, StoredArticle)> = self
            .list_numbered(&filter, Some(SEARCH_CANDIDATES))?
            .into_iter()
            .map(|(_, a)| {
                let score =
                    nichiro_text::query::score(&parsed, a.title.as_deref().unwrap_or(""), &a.text);
                (score, a)
            })
            .collect();
        // Best first; among equals, the newer (the list's order) first.
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        scored.truncate(limit);
        Ok(scored)
    }

    /// Stored articles that `filter` lets through, newest first; at most `limit` of them.
    fn list(
        &self,
        filter: &ArticleFilter,
        limit: Option<usize>,
    ) -> Result<Vec<StoredArticle>, StoreError> {
        Ok(self
            .list_numbered(filter, limit)?
            .into_iter()
            .map(|(_, article)| article)
            .collect())
    }

    /// As [`Store::list`], with each article's number (its id, for [`Store::article`] and
    /// for [`ArticleFilter::after_number`], the cursor of the next page).
    fn list_numbered(
        &self,
        filter: &ArticleFilter,
        limit: Option<usize>,
    ) -> Result<Vec<(i64, StoredArticle)>, StoreError>;

    /// The number of the article stored under `url` (its canonical URL or one it was
    /// requested under), if there is one.
    fn article_number(&self, url: &str) -> Result<Option<i64>, StoreError>;

    /// The stored articles that copy the one at `url` (their `duplicate_of`), oldest first;
    /// at most `limit`.
    fn copies_of(&self, url: &str, limit: usize) -> Result<Vec<CopyOf>, StoreError>;

    /// As [`Store::copies_of`], for a stored article: those that name it by its URL, and, for
    /// a corpus document, by its corpus id.
    fn copies_of_article(&self, url: &str, limit: usize) -> Result<Vec<CopyOf>, StoreError> {
        let mut copies = self.copies_of(url, limit)?;
        if let Some(id) = nichiro_model::corpus_id_of(url) {
            copies.extend(self.copies_of(&id, limit)?);
            copies.sort_by_key(|c| c.number);
            copies.truncate(limit);
        }
        Ok(copies)
    }

    /// The article numbered `number`, if there is one.
    fn article(&self, number: i64) -> Result<Option<StoredArticle>, StoreError> {
        Ok(self
            .articles_after(number.saturating_sub(1), 1)?
            .into_iter()
            .find(|(n, _)| *n == number)
            .map(|(_, article)| article))
    }

    /// Replaces the verdicts of stored articles, by canonical URL (`nichiro retag`), in one
    /// transaction: the verdict columns and the topic index, nothing else. Returns how many
    /// of the URLs were stored.
    fn update_tags(
        &mut self,
        updates: &[(String, nichiro_model::Tags)],
    ) -> Result<usize, StoreError>;

    /// Calls `f` with every stored article, oldest first, one at a time (no whole-table load).
    fn for_each_article(
        &self,
        filter: &ArticleFilter,
        f: &mut dyn FnMut(StoredArticle),
    ) -> Result<(), StoreError>;

    /// The validators (ETag, Last-Modified) last saved for a source's listing.
    fn source_validators(&self, source: &str) -> Result<SavedListing, StoreError>;

    /// Saves (or, with every field `None`, clears) the validators of a source's listing.
    fn set_source_validators(&self, source: &str, listing: &SavedListing)
    -> Result<(), StoreError>;

    /// The archive files of a source recorded so far, in no order.
    fn archive_files(&self, source: &str) -> Result<Vec<ArchiveFileState>, StoreError>;

    /// Records how far an archive file is read. A record never goes back: the resume point
    /// only grows, and a file once done stays done.
    fn record_archive_file(&self, source: &str, state: &ArchiveFileState)
    -> Result<(), StoreError>;

    /// The page a stored article was cleaned from, when it was kept (`keep_raw_html`);
    /// `url` may be the article's canonical URL or one it was requested under.
    fn raw_page(&self, url: &str) -> Result<Option<nichiro_model::ArchivedPage>, StoreError>;

    /// Records how a source's last poll went.
    fn record_poll(&self, source: &str, poll: &nichiro_model::SourcePoll)
    -> Result<(), StoreError>;

    /// How a source's last poll went, if it was ever polled.
    fn last_poll(&self, source: &str) -> Result<Option<nichiro_model::SourcePoll>, StoreError>;

    /// What became of the alert named `alert` for the article at `url`: `sent`, or why it
    /// was given up; `None` when it was never sent.
    fn alert_outcome(&self, alert: &str, url: &str) -> Result<Option<String>, StoreError>;

    /// Records what became of an alert for an article; the first record stands.
    fn record_alert(&self, alert: &str, url: &str, outcome: &str) -> Result<(), StoreError>;

    /// The number of the last article the alert named `alert` looked at, if it ever looked.
    fn alert_cursor(&self, alert: &str) -> Result<Option<i64>, StoreError>;

    /// Moves an alert's cursor forward to `number` (never back).
    fn set_alert_cursor(&self, alert: &str, number: i64) -> Result<(), StoreError>;

    /// Every topic a stored article carries, in order (read from the topic index).
    fn topic_names(&self) -> Result<Vec<String>, StoreError>;

    /// How many articles `filter` lets through carry each topic, per day (UTC) of their time
    /// (published, else fetched), oldest day first.
    fn topic_days(&self, filter: &ArticleFilter) -> Result<Vec<TopicDay>, StoreError>;

    /// When the latest `limit` articles of `source` were stored, newest first: the source's
    /// publishing rhythm as this store saw it.
    fn source_arrivals(&self, source: &str, limit: usize)
    -> Result<Vec<DateTime<Utc>>, StoreError>;

    /// Makes everything written so far durable.
    fn flush(&self) -> Result<(), StoreError>;

    /// Claims `key` (a page's URL, or `source:<name>` for a listing's poll) for `holder`
    /// until `ttl` from now, so that of several daemons sharing a store one does the work.
    /// Fails when another holder's claim is still live, or when the key is the URL of a stored
    /// article. A holder claiming its own live key again extends it (the heartbeat); a claim
    /// whose holder died simply expires.
    fn claim(&self, key: &str, holder: &str, ttl: std::time::Duration)
    -> Result<Claim, StoreError>;

    /// Extends to `ttl` from now those of `keys` that `holder` still holds (the heartbeat of
    /// work in progress); a key taken over by another holder meanwhile stays theirs. Returns
    /// how many were extended.
    fn renew(
        &self,
        holder: &str,
        keys: &[String],
        ttl: std::time::Duration,
    ) -> Result<usize, StoreError>;

    /// Gives up `holder`'s claim on `key` (the work is done, or abandoned).
    fn release(&self, key: &str, holder: &str) -> Result<(), StoreError>;

    /// Gives up every claim `holder` has (at the end of a run: what it did not store, others
    /// may take at once).
    fn release_all(&self, holder: &str) -> Result<(), StoreError>;

    /// The number of the article stored last (0 when none is): articles are numbered in the
    /// order they are stored, by whichever process stores them.
    fn last_article_number(&self) -> Result<i64, StoreError>;

    /// At most `limit` articles numbered after `after`, oldest first, with their numbers: how
    /// a daemon learns what the others sharing its store have stored since.
    fn articles_after(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<(i64, StoredArticle)>, StoreError>;

    /// Writes the stored articles `filter` lets through to `out`, oldest first, one at a time.
    /// Returns how many were written.
    fn export(
        &self,
        format: ExportFormat,
        filter: &ArticleFilter,
        out: &mut dyn Write,
    ) -> Result<usize, StoreError> {
        let export_error = |e: &dyn std::fmt::Display| StoreError::Export(e.to_string());
        let mut count = 0;
        match format {
            ExportFormat::Jsonl => {
                let mut failure = None;
                self.for_each_article(filter, &mut |article| {
                    if failure.is_none() {
                        let line = serde_json::to_string(&article).map_err(|e| export_error(&e));
                        match line.and_then(|l| writeln!(out, "{l}").map_err(|e| export_error(&e)))
                        {
                            Ok(()) => count += 1,
                            Err(e) => failure = Some(e),
                        }
                    }
                })?;
                if let Some(e) = failure {
                    return Err(e);
                }
            }
            ExportFormat::Csv => {
                let mut writer = csv::Writer::from_writer(out);
                writer
                    .write_record([
                        "url",
                        "title",
                        "published",
                        "language",
                        "site_name",
                        "source",
                        "relevant",
                        "relevance",
                        "topics",
                        "duplicate_of",
                        "shares_text_with",
                        "content_hash",
                        "tagger",
                    ])
                    .map_err(|e| export_error(&e))?;
                let mut failure = None;
                self.for_each_article(filter, &mut |a| {
                    if failure.is_some() {
                        return;
                    }
                    let topics: Vec<&str> = a.topics.iter().map(|t| t.topic.as_str()).collect();
                    let record = [
                        a.url.clone(),
                        a.title.clone().unwrap_or_default(),
                        a.published.map(|p| p.to_rfc3339()).unwrap_or_default(),
                        a.language.clone().unwrap_or_default(),
                        a.site_name.clone().unwrap_or_default(),
                        a.source.clone(),
                        a.relevant.to_string(),
                        format!("{:.3}", a.relevance),
                        topics.join(";"),
                        a.duplicate_of
                            .as_ref()
                            .map(|d| d.id.clone())
                            .unwrap_or_default(),
                        a.shares_text_with
                            .as_ref()
                            .map(|d| d.id.clone())
                            .unwrap_or_default(),
                        a.content_hash.clone(),
                        a.tagger.clone(),
                    ];
                    match writer.write_record(&record) {
                        Ok(()) => count += 1,
                        Err(e) => failure = Some(export_error(&e)),
                    }
                })?;
                if let Some(e) = failure {
                    return Err(e);
                }
                writer.flush().map_err(|e| export_error(&e))?;
            }
        }
        Ok(count)
    }
}

/// Opens the store a config names, creating it (and bringing its schema up to date) when
/// needed.
pub fn open(config: &StoreConfig) -> Result<Box<dyn Store>, StoreError> {
    match &config.url {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Ok(Box::new(PostgresStore::open(url, None)?))
        }
        Some(url) => Err(StoreError::Connect {
            url: postgres::redact(url),
            source: "store.url must start with postgres:// or postgresql://".into(),
        }),
        None => Ok(Box::new(SqliteStore::open(&config.path)?)),
    }
}

/// Articles whose search terms are rewritten per transaction when the tokenizer's revision
/// changed.
pub(crate) const REINDEX_BATCH: i64 = 500;

/// Logs how many articles' search terms were rewritten, if any were.
pub(crate) fn report_reindex(rebuilt: usize) {
    if rebuilt > 0 {
        tracing::info!(
            articles = rebuilt,
            revision = nichiro_text::REVISION,
            "search index rebuilt for the tokenizer's revision"
        );
    }
}

/// Warns that the search index could not be rebuilt: the store still opens (a read-only one
/// serves what it holds).
pub(crate) fn report_reindex_failure(error: &dyn std::fmt::Display) {
    tracing::warn!(
        error = %error,
        "the search index was not rebuilt for the tokenizer's revision; searches may miss some words until it is"
    );
}

/// The tokens the store indexes for search: the tagger's stems and CJK bigrams.
pub fn search_terms(title: Option<&str>, text: &str) -> String {
    let mut out = String::new();
    for part in title.into_iter().chain([text]) {
        for token in nichiro_text::tokenize(part) {
            out.push_str(&token.norm);
            out.push(' ');
        }
    }
    out
}

#[cfg(test)]
mod tests;

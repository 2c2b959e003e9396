//! nichiro's storage: tagged articles in an embedded SQLite database, keyed by canonical URL
//! so that an article ingested twice is stored once; the URLs already seen (requested and
//! canonical), so a restart never fetches a stored page again; full-text search over the
//! tagger's tokens; listing and export.
//!
//! It is synchronous (rusqlite): the pipeline calls it from a blocking task. It does not tag or
//! fetch. Every batch is written in one transaction, so a crash leaves no half-written article.
//!
//! ```
//! use nichiro_store::{SqliteStore, ListFilter};
//! let mut store = SqliteStore::open_in_memory().unwrap();
//! assert_eq!(store.count().unwrap(), 0);
//! assert!(store.list(&ListFilter::default()).unwrap().is_empty());
//! ```

mod schema;

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset, Utc};
use nichiro_model::{DuplicateOf, EntityTag, PageKind, RelatedDoc, TaggedArticle, TopicTag};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

/// Settings of the store (`[store]` in the config).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// Path of the SQLite database file; relative paths are taken from the config file's
    /// folder. Created with its folder when missing.
    pub path: PathBuf,
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
    /// A query failed.
    #[error("store query failed: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored value could not be read back.
    #[error("stored value is corrupt: {0}")]
    Corrupt(String),
    /// Writing an export failed.
    #[error("export failed: {0}")]
    Export(String),
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
}

/// Which articles [`SqliteStore::list`] returns.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Only articles tagged with this topic.
    pub topic: Option<String>,
    /// Only articles published (or, without a date, fetched) at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only relevant articles.
    pub relevant_only: bool,
    /// At most this many (all when `None`).
    pub limit: Option<usize>,
}

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// One JSON object per line, every field.
    Jsonl,
    /// A header line and one row per article, without the text.
    Csv,
}

/// The SQLite store.
pub struct SqliteStore {
    conn: Connection,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

const COLUMNS: &str = "url, title, authors, published, language, site_name, description, source, \
    requested_url, relevant, relevance, topics, related, duplicate_of, duplicate_shared, kind, \
    fetched_at, stored_at, text, modified, image, section, keywords, signals, entities, \
    relevance_evidence";

impl SqliteStore {
    /// Opens (creating when missing) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let open_error = |source: Box<dyn std::error::Error + Send + Sync>| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| open_error(Box::new(e)))?;
        }
        let conn = Connection::open(path).map_err(|e| open_error(Box::new(e)))?;
        Self::prepare(conn).map_err(|e| open_error(Box::new(e)))
    }

    /// An in-memory store, for tests and one-off tagging.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        Ok(Self::prepare(Connection::open_in_memory()?)?)
    }

    fn prepare(conn: Connection) -> Result<Self, rusqlite::Error> {
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let mut store = SqliteStore { conn };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&mut self) -> Result<(), rusqlite::Error> {
        let version: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        for (index, sql) in schema::MIGRATIONS
            .iter()
            .enumerate()
            .skip(version.max(0) as usize)
        {
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", index as i64 + 1)?;
            tx.commit()?;
        }
        Ok(())
    }

    /// Stores a batch in one transaction, with each article's search terms ([`search_terms`])
    /// and the URLs it was seen under. An article whose canonical URL is stored already is
    /// left as it is.
    pub fn insert_batch(
        &mut self,
        batch: &[TaggedArticle],
    ) -> Result<Vec<InsertOutcome>, StoreError> {
        let tx = self.conn.transaction()?;
        let mut outcomes = Vec::with_capacity(batch.len());
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO articles (url, requested_url, source, title, authors, published, language,
                    site_name, description, text, links, kind, relevant, relevance, topics, related,
duplicate_of, duplicate_shared, fetched_at, stored_at, modified, image, section, keywords, signals,
entities, relevance_evidence)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27)
                 ON CONFLICT(url) DO NOTHING",
            )?;
            let mut seen = tx.prepare_cached(
                "INSERT INTO seen_urls (url, article_id) VALUES (?1, ?2) ON CONFLICT(url) DO NOTHING",
            )?;
            let mut topic = tx.prepare_cached(
                "INSERT INTO article_topics (article_id, topic, score) VALUES (?1, ?2, ?3)",
            )?;
            let mut fts =
                tx.prepare_cached("INSERT INTO articles_fts (rowid, terms) VALUES (?1, ?2)")?;
            let now = Utc::now().to_rfc3339();
            for item in batch {
                let a = &item.article;
                let t = &item.tags;
                let changed = insert.execute(params![
                    a.url,
                    item.requested_url,
                    item.source,
                    a.title,
                    to_json(&a.authors)?,
                    a.published.map(|p| p.to_rfc3339()),
                    a.language,
                    a.site_name,
                    a.description,
                    a.text,
                    to_json(&a.links)?,
                    to_json(&a.kind)?.trim_matches('"'),
                    t.relevant,
                    t.relevance,
                    to_json(&t.topics)?,
                    to_json(&t.related)?,
                    t.duplicate_of.as_ref().map(|d| d.id.clone()),
                    t.duplicate_of.as_ref().map(|d| d.shared),
                    item.fetched_at.to_rfc3339(),
                    now,
                    a.modified.map(|m| m.to_rfc3339()),
                    a.image,
                    a.section,
                    to_json(&a.keywords)?,
                    to_json(&a.signals)?,
                    to_json(&t.entities)?,
                    to_json(&t.relevance_evidence)?,
                ])?;
                let id: i64 =
                    tx.query_row("SELECT id FROM articles WHERE url = ?1", [&a.url], |r| {
                        r.get(0)
                    })?;
                for url in [&a.url, &item.requested_url] {
                    seen.execute(params![url, id])?;
                }
                if changed == 1 {
                    for tag in &t.topics {
                        topic.execute(params![id, tag.topic, tag.score])?;
                    }
                    fts.execute(params![id, search_terms(a.title.as_deref(), &a.text)])?;
                    outcomes.push(InsertOutcome::New);
                } else {
                    outcomes.push(InsertOutcome::AlreadyStored);
                }
            }
        }
        tx.commit()?;
        Ok(outcomes)
    }

    /// Whether a URL (requested or canonical) belongs to a stored article.
    pub fn is_seen(&self, url: &str) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT 1 FROM seen_urls WHERE url = ?1", [url], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Records URLs given up for good: `(url, source, reason)`. A URL recorded twice keeps
    /// its latest reason.
    pub fn record_given_up(&mut self, urls: &[(String, String, String)]) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO given_up_urls (url, source, reason, given_up_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(url) DO UPDATE SET source = ?2, reason = ?3, given_up_at = ?4",
            )?;
            let now = Utc::now().to_rfc3339();
            for (url, source, reason) in urls {
                insert.execute(params![url, source, reason, now])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Every URL given up for good.
    pub fn given_up_urls(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn.prepare("SELECT url FROM given_up_urls")?;
        let urls = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(urls)
    }

    /// Every URL that belongs to a stored article.
    pub fn seen_urls(&self) -> Result<HashSet<String>, StoreError> {
        let mut stmt = self.conn.prepare("SELECT url FROM seen_urls")?;
        let urls = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(urls)
    }

    /// Number of stored articles.
    pub fn count(&self) -> Result<usize, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM articles", [], |r| r.get::<_, i64>(0))?
            as usize)
    }

    /// Articles matching `query` (all its words, in any of the three languages), best first.
    pub fn search(&self, query: &str, limit: usize) -> Result<Vec<StoredArticle>, StoreError> {
        let terms: Vec<String> = search_terms(None, query)
            .split_whitespace()
            .map(|t| format!("\"{}\"", t.replace('"', "\"\"")))
            .collect();
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {COLUMNS} FROM articles_fts JOIN articles ON articles.id = articles_fts.rowid
             WHERE articles_fts MATCH ?1 ORDER BY bm25(articles_fts) LIMIT ?2"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(params![terms.join(" "), limit as i64], read_row)?;
        collect(rows)
    }

    /// Stored articles, newest first, filtered.
    pub fn list(&self, filter: &ListFilter) -> Result<Vec<StoredArticle>, StoreError> {
        let mut sql = format!("SELECT {COLUMNS} FROM articles WHERE 1 = 1");
        let mut args: Vec<Box<dyn rusqlite::ToSql>> = Vec::new();
        if let Some(topic) = &filter.topic {
            args.push(Box::new(topic.clone()));
            sql += &format!(
                " AND id IN (SELECT article_id FROM article_topics WHERE topic = ?{})",
                args.len()
            );
        }
        if let Some(since) = filter.since {
            args.push(Box::new(since.to_rfc3339()));
            // Stored times are RFC 3339 with their own offsets: compare as instants.
            sql += &format!(
                " AND julianday(COALESCE(published, fetched_at)) >= julianday(?{})",
                args.len()
            );
        }
        if filter.relevant_only {
            sql += " AND relevant = 1";
        }
        sql += " ORDER BY julianday(COALESCE(published, fetched_at)) DESC, id DESC";
        if let Some(limit) = filter.limit {
            sql += &format!(" LIMIT {limit}");
        }
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), read_row)?;
        collect(rows)
    }

    /// Calls `f` with every stored article, oldest first (the tagger loads them this way).
    pub fn for_each_article(&self, mut f: impl FnMut(StoredArticle)) -> Result<(), StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {COLUMNS} FROM articles ORDER BY id"))?;
        let rows = stmt.query_map([], read_row)?;
        for row in rows {
            f(row?.map_err(StoreError::Corrupt)?);
        }
        Ok(())
    }

    /// Writes every stored article to `out`, oldest first. Returns how many were written.
    pub fn export(&self, format: ExportFormat, out: &mut dyn Write) -> Result<usize, StoreError> {
        let export_error = |e: &dyn std::fmt::Display| StoreError::Export(e.to_string());
        let mut count = 0;
        match format {
            ExportFormat::Jsonl => {
                let mut failure = None;
                self.for_each_article(|article| {
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
                    ])
                    .map_err(|e| export_error(&e))?;
                let mut failure = None;
                self.for_each_article(|a| {
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

    /// The validators (ETag, Last-Modified) last saved for a source's listing.
    pub fn source_validators(
        &self,
        source: &str,
    ) -> Result<(Option<String>, Option<String>), StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT etag, last_modified FROM source_state WHERE source = ?1",
                [source],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .unwrap_or((None, None)))
    }

    /// Saves (or, with both `None`, clears) the validators of a source's listing.
    pub fn set_source_validators(
        &self,
        source: &str,
        etag: Option<&str>,
        last_modified: Option<&str>,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO source_state (source, etag, last_modified, polled_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(source) DO UPDATE SET etag = ?2, last_modified = ?3, polled_at = ?4",
            params![source, etag, last_modified, Utc::now().to_rfc3339()],
        )?;
        Ok(())
    }

    /// Makes everything written so far durable (a WAL checkpoint).
    pub fn flush(&self) -> Result<(), StoreError> {
        self.conn
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
        Ok(())
    }
}

/// The tokens the store indexes for search: the tagger's stems and CJK bigrams.
pub fn search_terms(title: Option<&str>, text: &str) -> String {
    let mut out = String::new();
    for part in title.into_iter().chain([text]) {
        for token in nichiro_classify::tokenize::tokenize(part) {
            out.push_str(&token.norm);
            out.push(' ');
        }
    }
    out
}

fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

type RowResult = Result<StoredArticle, String>;

fn read_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RowResult> {
    fn json<T: for<'de> Deserialize<'de>>(s: String, what: &str) -> Result<T, String> {
        serde_json::from_str(&s).map_err(|e| format!("{what}: {e}"))
    }
    fn time<T>(
        s: Option<String>,
        parse: impl Fn(&str) -> Option<T>,
        what: &str,
    ) -> Result<Option<T>, String> {
        s.map(|s| parse(&s).ok_or_else(|| format!("{what}: bad time {s:?}")))
            .transpose()
    }
    let utc = |s: &str| {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    };
    let duplicate_id: Option<String> = row.get(13)?;
    let duplicate_shared: Option<f64> = row.get(14)?;
    let kind: String = row.get(15)?;
    let build = || -> RowResult {
        Ok(StoredArticle {
            url: row.get(0).map_err(|e| e.to_string())?,
            title: row.get(1).map_err(|e| e.to_string())?,
            authors: json(row.get(2).map_err(|e| e.to_string())?, "authors")?,
            published: time(
                row.get(3).map_err(|e| e.to_string())?,
                |s| DateTime::parse_from_rfc3339(s).ok(),
                "published",
            )?,
            language: row.get(4).map_err(|e| e.to_string())?,
            site_name: row.get(5).map_err(|e| e.to_string())?,
            description: row.get(6).map_err(|e| e.to_string())?,
            source: row.get(7).map_err(|e| e.to_string())?,
            requested_url: row.get(8).map_err(|e| e.to_string())?,
            relevant: row.get(9).map_err(|e| e.to_string())?,
            relevance: row.get::<_, f64>(10).map_err(|e| e.to_string())? as f32,
            topics: json(row.get(11).map_err(|e| e.to_string())?, "topics")?,
            related: json(row.get(12).map_err(|e| e.to_string())?, "related")?,
            duplicate_of: duplicate_id.map(|id| DuplicateOf {
                id,
                shared: duplicate_shared.unwrap_or_default() as f32,
            }),
            kind: json(format!("\"{kind}\""), "kind")?,
            fetched_at: time(row.get(16).map_err(|e| e.to_string())?, utc, "fetched_at")?
                .ok_or("fetched_at missing")?,
            stored_at: time(row.get(17).map_err(|e| e.to_string())?, utc, "stored_at")?
                .ok_or("stored_at missing")?,
            text: row.get(18).map_err(|e| e.to_string())?,
            modified: time(
                row.get(19).map_err(|e| e.to_string())?,
                |s| DateTime::parse_from_rfc3339(s).ok(),
                "modified",
            )?,
            image: row.get(20).map_err(|e| e.to_string())?,
            section: row.get(21).map_err(|e| e.to_string())?,
            keywords: json(row.get(22).map_err(|e| e.to_string())?, "keywords")?,
            signals: json(row.get(23).map_err(|e| e.to_string())?, "signals")?,
            entities: json(row.get(24).map_err(|e| e.to_string())?, "entities")?,
            relevance_evidence: json(
                row.get(25).map_err(|e| e.to_string())?,
                "relevance_evidence",
            )?,
        })
    };
    Ok(build())
}

fn collect(
    rows: impl Iterator<Item = rusqlite::Result<RowResult>>,
) -> Result<Vec<StoredArticle>, StoreError> {
    rows.map(|r| r?.map_err(StoreError::Corrupt)).collect()
}

#[cfg(test)]
mod tests;

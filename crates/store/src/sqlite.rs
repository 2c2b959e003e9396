//! The SQLite backend: one database file (WAL mode), migrations by `user_version`, FTS5 over
//! the tagger's tokens.

use std::collections::HashSet;
use std::path::Path;

use chrono::{DateTime, Utc};
use nichiro_model::{DuplicateOf, TaggedArticle};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::{InsertOutcome, ListFilter, Store, StoreError, StoredArticle, schema, search_terms};

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
}

impl Store for SqliteStore {
    /// Stores a batch in one transaction, with each article's search terms ([`search_terms`])
    /// and the URLs it was seen under. An article whose canonical URL is stored already is
    /// left as it is.
    fn insert_batch(&mut self, batch: &[TaggedArticle]) -> Result<Vec<InsertOutcome>, StoreError> {
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
    fn is_seen(&self, url: &str) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT 1 FROM seen_urls WHERE url = ?1", [url], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Records URLs given up for good: `(url, source, reason)`. A URL recorded twice keeps
    /// its latest reason.
    fn record_given_up(&mut self, urls: &[(String, String, String)]) -> Result<(), StoreError> {
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
    fn given_up_urls(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn.prepare("SELECT url FROM given_up_urls")?;
        let urls = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(urls)
    }

    /// Every URL that belongs to a stored article.
    fn seen_urls(&self) -> Result<HashSet<String>, StoreError> {
        let mut stmt = self.conn.prepare("SELECT url FROM seen_urls")?;
        let urls = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(urls)
    }

    /// Number of stored articles.
    fn count(&self) -> Result<usize, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM articles", [], |r| r.get::<_, i64>(0))?
            as usize)
    }

    /// Articles matching `query` (all its words, in any of the three languages), best first.
    fn search(&self, query: &str, limit: usize) -> Result<Vec<StoredArticle>, StoreError> {
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
    fn list(&self, filter: &ListFilter) -> Result<Vec<StoredArticle>, StoreError> {
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
    fn for_each_article(&self, f: &mut dyn FnMut(StoredArticle)) -> Result<(), StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {COLUMNS} FROM articles ORDER BY id"))?;
        let rows = stmt.query_map([], read_row)?;
        for row in rows {
            f(row?.map_err(StoreError::Corrupt)?);
        }
        Ok(())
    }

    /// The validators (ETag, Last-Modified) last saved for a source's listing.
    fn source_validators(
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
    fn set_source_validators(
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
    fn flush(&self) -> Result<(), StoreError> {
        self.conn
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
        Ok(())
    }
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

//! The SQLite backend: one database file (WAL mode), migrations by `user_version`, FTS5 over
//! the tagger's tokens.

use std::collections::HashSet;
use std::path::Path;

use chrono::Utc;
use nichiro_model::TaggedArticle;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::row::{
    ARTICLE_COLUMN_COUNT, ARTICLE_COLUMNS, ArticleRow, TAG_COLUMNS, TagColumns, article_values,
    tag_values,
};
use crate::{
    ArticleFilter, Claim, CopyOf, Dialect, InsertOutcome, Store, StoreError, StoredArticle, schema,
    search_terms,
};

/// The SQLite store.
pub struct SqliteStore {
    conn: Connection,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

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
        if let Err(e) = store.refresh_search_terms() {
            crate::report_reindex_failure(&e);
        }
        Ok(store)
    }

    /// Rebuilds the search index when it was made by another revision of the tokenizer
    /// ([`nichiro_text::REVISION`]), a batch per transaction; then records the revision.
    fn refresh_search_terms(&mut self) -> Result<(), rusqlite::Error> {
        let indexed: Option<String> = self
            .conn
            .query_row(
                "SELECT value FROM store_meta WHERE key = 'search_terms'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        if indexed.as_deref() == Some(nichiro_text::REVISION) {
            return Ok(());
        }
        let (mut after, mut rebuilt) = (0_i64, 0_usize);
        loop {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            let rows: Vec<(i64, Option<String>, String)> = tx
                .prepare("SELECT id, title, text FROM articles WHERE id > ?1 ORDER BY id LIMIT ?2")?
                .query_map(params![after, crate::REINDEX_BATCH], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?
                .collect::<Result<_, _>>()?;
            let Some((last, _, _)) = rows.last() else {
                tx.execute(
                    "INSERT INTO store_meta (key, value) VALUES ('search_terms', ?1) \
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    [nichiro_text::REVISION],
                )?;
                tx.commit()?;
                break;
            };
            after = *last;
            for (id, title, text) in &rows {
                tx.execute("DELETE FROM articles_fts WHERE rowid = ?1", [id])?;
                tx.execute(
                    "INSERT INTO articles_fts (rowid, terms) VALUES (?1, ?2)",
                    params![id, search_terms(title.as_deref(), text)],
                )?;
            }
            rebuilt += rows.len();
            tx.commit()?;
        }
        crate::report_reindex(rebuilt);
        Ok(())
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
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", index as i64 + 1)?;
            tx.commit()?;
        }
        Ok(())
    }
}

fn unix_seconds(at: std::time::SystemTime) -> f64 {
    at.duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl Store for SqliteStore {
    fn claim(
        &self,
        key: &str,
        holder: &str,
        ttl: std::time::Duration,
    ) -> Result<Claim, StoreError> {
        let now = std::time::SystemTime::now();
        let changed = self.conn.execute(
            "INSERT INTO leases (key, holder, expires_at)
             SELECT ?1, ?2, ?3 WHERE NOT EXISTS (SELECT 1 FROM seen_urls WHERE url = ?1)
             ON CONFLICT (key) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
             WHERE leases.expires_at <= ?4 OR leases.holder = excluded.holder",
            params![key, holder, unix_seconds(now + ttl), unix_seconds(now)],
        )?;
        Ok(if changed == 1 {
            Claim::Granted
        } else if self.is_seen(key)? {
            Claim::Stored
        } else {
            Claim::HeldElsewhere
        })
    }

    fn record_poll(
        &self,
        source: &str,
        poll: &nichiro_model::SourcePoll,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO source_state
             (source, polled_at, next_poll_at, failures, last_error, failing_since)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(source) DO UPDATE SET
             polled_at = ?2, next_poll_at = ?3, failures = ?4, last_error = ?5,
             failing_since = ?6",
            params![
                source,
                poll.polled_at.to_rfc3339(),
                poll.next_poll_at.map(|t| t.to_rfc3339()),
                poll.failures as i64,
                poll.last_error,
                poll.failing_since.map(|t| t.to_rfc3339())
            ],
        )?;
        Ok(())
    }

    fn last_poll(&self, source: &str) -> Result<Option<nichiro_model::SourcePoll>, StoreError> {
        type Row = (String, Option<String>, i64, Option<String>, Option<String>);
        let row: Option<Row> = self
            .conn
            .query_row(
                "SELECT polled_at, next_poll_at, failures, last_error, failing_since
                 FROM source_state WHERE source = ?1 AND polled_at IS NOT NULL",
                [source],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()?;
        row.map(|(polled, next, failures, error, since)| {
            crate::row::source_poll(polled, next, failures, error, since)
        })
        .transpose()
    }

    fn alert_outcome(&self, alert: &str, url: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT outcome FROM alerts WHERE alert = ?1 AND url = ?2",
                params![alert, url],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn record_alert(&self, alert: &str, url: &str, outcome: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO alerts (alert, url, outcome, at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (alert, url) DO NOTHING",
            params![alert, url, outcome, Utc::now().to_rfc3339()],
        )?;
        Ok(())
    }

    fn alert_cursor(&self, alert: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT last_number FROM alert_cursors WHERE alert = ?1",
                [alert],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn set_alert_cursor(&self, alert: &str, number: i64) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO alert_cursors (alert, last_number) VALUES (?1, ?2)
             ON CONFLICT (alert) DO UPDATE SET
             last_number = MAX(last_number, excluded.last_number)",
            params![alert, number],
        )?;
        Ok(())
    }

    fn topic_names(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT DISTINCT topic FROM article_topics ORDER BY topic")?;
        let names = stmt.query_map([], |r| r.get(0))?;
        Ok(names.collect::<Result<_, _>>()?)
    }

    fn topic_days(&self, filter: &ArticleFilter) -> Result<Vec<crate::TopicDay>, StoreError> {
        let (conditions, values) = filter.to_sql::<SqliteStore>(1);
        let mut stmt = self.conn.prepare(&format!(
            "SELECT a.day, t.topic, COUNT(*) FROM \
             (SELECT id, date(COALESCE(published, fetched_at)) AS day \
              FROM articles WHERE 1 = 1{conditions}) a \
             JOIN article_topics t ON t.article_id = a.id \
             GROUP BY a.day, t.topic ORDER BY a.day, t.topic"
        ))?;
        let rows = stmt.query_map(rusqlite::params_from_iter(values.iter()), |r| {
            Ok(crate::TopicDay {
                day: r.get::<_, Option<String>>(0)?.unwrap_or_default(),
                topic: r.get(1)?,
                articles: r.get::<_, i64>(2)?.max(0) as u64,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn source_arrivals(
        &self,
        source: &str,
        limit: usize,
    ) -> Result<Vec<chrono::DateTime<Utc>>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT stored_at FROM articles WHERE source = ?1 ORDER BY id DESC LIMIT ?2",
        )?;
        let times = stmt.query_map(params![source, limit as i64], |r| r.get::<_, String>(0))?;
        times.map(|t| crate::row::stored_time(&t?)).collect()
    }

    fn raw_page(&self, url: &str) -> Result<Option<nichiro_model::ArchivedPage>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT r.content_type, r.gzip FROM raw_pages r \
                 JOIN seen_urls s ON s.article_id = r.article_id WHERE s.url = ?1",
                [url],
                |row| {
                    Ok(nichiro_model::ArchivedPage {
                        content_type: row.get(0)?,
                        gzip: row.get(1)?,
                    })
                },
            )
            .optional()?)
    }

    fn renew(
        &self,
        holder: &str,
        keys: &[String],
        ttl: std::time::Duration,
    ) -> Result<usize, StoreError> {
        let expires_at = unix_seconds(std::time::SystemTime::now() + ttl);
        let tx = rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        let mut renewed = 0;
        {
            let mut update =
                tx.prepare("UPDATE leases SET expires_at = ?1 WHERE key = ?2 AND holder = ?3")?;
            for key in keys {
                renewed += update.execute(params![expires_at, key, holder])?;
            }
        }
        tx.commit()?;
        Ok(renewed)
    }

    fn release(&self, key: &str, holder: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "DELETE FROM leases WHERE key = ?1 AND holder = ?2",
            params![key, holder],
        )?;
        Ok(())
    }

    fn release_all(&self, holder: &str) -> Result<(), StoreError> {
        self.conn
            .execute("DELETE FROM leases WHERE holder = ?1", params![holder])?;
        Ok(())
    }

    /// Stores a batch in one transaction, with each article's search terms ([`search_terms`])
    /// and the URLs it was seen under. An article whose canonical URL is stored already is
    /// left as it is.
    fn insert_batch(&mut self, batch: &[TaggedArticle]) -> Result<Vec<InsertOutcome>, StoreError> {
        // Write transactions take the write lock at BEGIN (IMMEDIATE), waiting for it up to
        // the busy timeout. A deferred one starts as a reader, and when another connection
        // (the poll journal, a second process) commits first, its upgrade to writer fails at
        // once with "database is locked", whatever the timeout.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut outcomes = Vec::with_capacity(batch.len());
        {
            let placeholders: Vec<String> = (1..=ARTICLE_COLUMN_COUNT)
                .map(|i| format!("?{i}"))
                .collect();
            let mut insert = tx.prepare_cached(&format!(
                "INSERT INTO articles ({ARTICLE_COLUMNS}) VALUES ({}) ON CONFLICT(url) DO NOTHING",
                placeholders.join(", ")
            ))?;
            let mut seen = tx.prepare_cached(
                "INSERT INTO seen_urls (url, article_id) VALUES (?1, ?2) ON CONFLICT(url) DO NOTHING",
            )?;
            let mut topic = tx.prepare_cached(
                "INSERT INTO article_topics (article_id, topic, score) VALUES (?1, ?2, ?3)",
            )?;
            let mut fts =
                tx.prepare_cached("INSERT INTO articles_fts (rowid, terms) VALUES (?1, ?2)")?;
            let mut raw_page = tx.prepare_cached(
                "INSERT INTO raw_pages (article_id, content_type, gzip) VALUES (?1, ?2, ?3) \
                 ON CONFLICT DO NOTHING",
            )?;
            let now = Utc::now().to_rfc3339();
            for item in batch {
                let a = &item.article;
                let t = &item.tags;
                let r = ArticleRow::from_tagged(item, &now)?;
                let changed = insert.execute(article_values!(r, dyn rusqlite::ToSql))?;
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
                    if let Some(page) = &item.raw_page {
                        raw_page.execute(params![id, page.content_type, page.gzip])?;
                    }
                    outcomes.push(InsertOutcome::New);
                } else {
                    outcomes.push(InsertOutcome::AlreadyStored);
                }
            }
        }
        tx.commit()?;
        Ok(outcomes)
    }

    fn update_tags(
        &mut self,
        updates: &[(String, nichiro_model::Tags)],
    ) -> Result<usize, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut updated = 0;
        {
            let sets: Vec<String> = TAG_COLUMNS
                .iter()
                .enumerate()
                .map(|(i, column)| format!("{column} = ?{}", i + 1))
                .collect();
            let mut update = tx.prepare_cached(&format!(
                "UPDATE articles SET {} WHERE url = ?{} RETURNING id",
                sets.join(", "),
                TAG_COLUMNS.len() + 1
            ))?;
            let mut clear =
                tx.prepare_cached("DELETE FROM article_topics WHERE article_id = ?1")?;
            let mut topic = tx.prepare_cached(
                "INSERT INTO article_topics (article_id, topic, score) VALUES (?1, ?2, ?3)",
            )?;
            for (url, tags) in updates {
                let columns = TagColumns::of(tags)?;
                let Some(id) = update
                    .query_row(tag_values!(columns, dyn rusqlite::ToSql, url), |r| {
                        r.get::<_, i64>(0)
                    })
                    .optional()?
                else {
                    continue;
                };
                clear.execute([id])?;
                for tag in &tags.topics {
                    topic.execute(params![id, tag.topic, tag.score])?;
                }
                updated += 1;
            }
        }
        tx.commit()?;
        Ok(updated)
    }

    fn rename_urls(&mut self, renames: &[(String, String)]) -> Result<usize, StoreError> {
        if renames.is_empty() {
            return Ok(0);
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut renamed = 0;
        for (from, to) in renames {
            renamed += tx.execute(
                "UPDATE articles SET url = ?2 WHERE url = ?1
                 AND NOT EXISTS (SELECT 1 FROM articles WHERE url = ?2)",
                params![from, to],
            )?;
            tx.execute(
                "UPDATE articles SET requested_url = ?2 WHERE requested_url = ?1",
                params![from, to],
            )?;
            for table in ["seen_urls", "given_up_urls"] {
                // The new address may be known already: then the old row goes.
                tx.execute(
                    &format!(
                        "DELETE FROM {table} WHERE url = ?1
                         AND EXISTS (SELECT 1 FROM {table} WHERE url = ?2)"
                    ),
                    params![from, to],
                )?;
                tx.execute(
                    &format!("UPDATE {table} SET url = ?2 WHERE url = ?1"),
                    params![from, to],
                )?;
            }
        }
        let map: std::collections::HashMap<&str, &str> = renames
            .iter()
            .map(|(from, to)| (from.as_str(), to.as_str()))
            .collect();
        let rows: Vec<(i64, String, Option<String>, Option<String>)> = tx
            .prepare(
                r"SELECT id, related, shares_text_with, duplicate_of FROM articles
                  WHERE related LIKE ?1 ESCAPE '!' OR shares_text_with LIKE ?1 ESCAPE '!'
                     OR duplicate_of LIKE ?1 ESCAPE '!'",
            )?
            .query_map([crate::rename::containing_pattern(renames)], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect::<Result<_, _>>()?;
        for (id, related, shares, duplicate) in rows {
            if let Some((related, shares, duplicate)) = crate::rename::rewrite_references(
                &map,
                &related,
                shares.as_deref(),
                duplicate.as_deref(),
            ) {
                tx.execute(
                    "UPDATE articles SET related = ?2, shares_text_with = ?3, duplicate_of = ?4
                     WHERE id = ?1",
                    params![id, related, shares, duplicate],
                )?;
            }
        }
        tx.commit()?;
        Ok(renamed)
    }

    /// Whether a URL (requested or canonical) belongs to a stored article.
    fn is_seen(&self, url: &str) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT 1 FROM seen_urls WHERE url = ?1", [url], |_| Ok(()))
            .optional()?
            .is_some())
    }

    fn copies_of(&self, url: &str, limit: usize) -> Result<Vec<CopyOf>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, url, title FROM articles WHERE duplicate_of = ?1
             ORDER BY id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![url, limit as i64], |r| {
            Ok(CopyOf {
                number: r.get(0)?,
                url: r.get(1)?,
                title: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn article_number(&self, url: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT article_id FROM seen_urls WHERE url = ?1",
                [url],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Records URLs given up for good: `(url, source, reason)`. A URL recorded twice keeps
    /// its latest reason.
    fn record_given_up(&mut self, urls: &[(String, String, String)]) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
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

    fn list_numbered(
        &self,
        filter: &ArticleFilter,
        limit: Option<usize>,
    ) -> Result<Vec<(i64, StoredArticle)>, StoreError> {
        let (conditions, values) = filter.to_sql::<SqliteStore>(1);
        let mut sql = format!(
            "SELECT {ARTICLE_COLUMNS}, id FROM articles WHERE 1 = 1{conditions} \
             ORDER BY {} DESC, id DESC",
            SqliteStore::article_time()
        );
        if let Some(limit) = limit {
            sql += &format!(" LIMIT {limit}");
        }
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(values.iter()), numbered_row)?;
        rows.map(|row| {
            let (number, article) = row?;
            Ok((number, article.map_err(StoreError::Corrupt)?))
        })
        .collect()
    }

    /// Calls `f` with every stored article, oldest first (the tagger loads them this way).
    fn for_each_article(
        &self,
        filter: &ArticleFilter,
        f: &mut dyn FnMut(StoredArticle),
    ) -> Result<(), StoreError> {
        let (conditions, values) = filter.to_sql::<SqliteStore>(1);
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {ARTICLE_COLUMNS} FROM articles WHERE 1 = 1{conditions} ORDER BY id"
        ))?;
        let rows = stmt.query_map(rusqlite::params_from_iter(values.iter()), read_row)?;
        for row in rows {
            f(row?.map_err(StoreError::Corrupt)?);
        }
        Ok(())
    }

    fn last_article_number(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT COALESCE(MAX(id), 0) FROM articles", [], |r| {
                r.get(0)
            })?)
    }

    fn articles_after(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<(i64, StoredArticle)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {ARTICLE_COLUMNS}, id FROM articles WHERE id > ?1 ORDER BY id LIMIT ?2"
        ))?;
        let rows = stmt.query_map(params![after, limit as i64], numbered_row)?;
        rows.map(|row| {
            let (number, article) = row?;
            Ok((number, article.map_err(StoreError::Corrupt)?))
        })
        .collect()
    }

    /// The validators (ETag, Last-Modified) last saved for a source's listing.
    fn source_validators(&self, source: &str) -> Result<crate::SavedListing, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT etag, last_modified, listing_url, sitemaps FROM source_state \
                 WHERE source = ?1",
                [source],
                |r| {
                    Ok(crate::SavedListing {
                        etag: r.get(0)?,
                        last_modified: r.get(1)?,
                        url: r.get(2)?,
                        sitemaps: crate::sitemaps_from_column(r.get(3)?),
                    })
                },
            )
            .optional()?
            .unwrap_or_default())
    }

    /// Saves (or, with both `None`, clears) the validators of a source's listing.
    fn set_source_validators(
        &self,
        source: &str,
        listing: &crate::SavedListing,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO source_state (source, etag, last_modified, listing_url, polled_at, sitemaps)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT(source) DO UPDATE SET etag = ?2, last_modified = ?3, listing_url = ?4,
             polled_at = ?5, sitemaps = ?6",
            params![
                source,
                listing.etag,
                listing.last_modified,
                listing.url,
                Utc::now().to_rfc3339(),
                crate::sitemaps_column(listing),
            ],
        )?;
        Ok(())
    }

    fn archive_files(&self, source: &str) -> Result<Vec<crate::ArchiveFileState>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT file, resume_at, done FROM archive_files WHERE source = ?1")?;
        let rows = stmt.query_map([source], |r| {
            Ok(crate::ArchiveFileState {
                file: r.get(0)?,
                resume_at: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                done: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn record_archive_file(
        &self,
        source: &str,
        state: &crate::ArchiveFileState,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO archive_files (source, file, resume_at, done, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(source, file) DO UPDATE SET
             resume_at = MAX(resume_at, ?3), done = MAX(done, ?4), updated_at = ?5",
            params![
                source,
                state.file,
                i64::try_from(state.resume_at).unwrap_or(i64::MAX),
                state.done,
                Utc::now().to_rfc3339(),
            ],
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

/// An article's time (published, else fetched) compared with an RFC 3339 parameter: stored
/// times carry their own offsets, so they are compared as instants.
impl crate::Dialect for SqliteStore {
    fn placeholder(n: usize) -> String {
        format!("?{n}")
    }

    fn article_time() -> &'static str {
        "julianday(COALESCE(published, fetched_at))"
    }

    fn time_is(op: &str, parameter: &str) -> String {
        format!("{} {op} julianday({parameter})", Self::article_time())
    }

    fn matches(parameter: &str) -> String {
        format!("id IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH {parameter})")
    }

    /// Each phrase an FTS5 phrase (its normal forms quoted together, `*` after it when its
    /// last word is a prefix), all of them required.
    fn all_phrases(phrases: &[&nichiro_text::query::Phrase]) -> String {
        phrases
            .iter()
            .map(|p| {
                let star = if p.prefix { "*" } else { "" };
                format!("\"{}\"{star}", p.norms.join(" ").replace('"', "\"\""))
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn contains(parameter: &str) -> String {
        format!("instr(COALESCE(title, '') || ' ' || text, {parameter}) > 0")
    }
}

/// An article row followed by its number.
fn numbered_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, RowResult)> {
    Ok((row.get::<_, i64>(ARTICLE_COLUMN_COUNT)?, read_row(row)?))
}

type RowResult = Result<StoredArticle, String>;

fn read_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RowResult> {
    Ok(ArticleRow {
        url: row.get(0)?,
        requested_url: row.get(1)?,
        source: row.get(2)?,
        title: row.get(3)?,
        authors: row.get(4)?,
        published: row.get(5)?,
        language: row.get(6)?,
        site_name: row.get(7)?,
        description: row.get(8)?,
        text: row.get(9)?,
        links: row.get(10)?,
        kind: row.get(11)?,
        tags: TagColumns {
            relevant: row.get(12)?,
            relevance: row.get(13)?,
            topics: row.get(14)?,
            related: row.get(15)?,
            duplicate_of: row.get(16)?,
            duplicate_shared: row.get(17)?,
            entities: row.get(25)?,
            relevance_evidence: row.get(26)?,
            tagger: row.get(28)?,
            shares_text_with: row.get(29)?,
        },
        fetched_at: row.get(18)?,
        stored_at: row.get(19)?,
        modified: row.get(20)?,
        image: row.get(21)?,
        section: row.get(22)?,
        keywords: row.get(23)?,
        signals: row.get(24)?,
        content_hash: row.get(27)?,
    }
    .into_stored())
}

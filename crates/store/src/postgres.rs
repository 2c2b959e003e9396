//! The PostgreSQL backend: the same tables and columns as SQLite ([`crate::row`]), versioned
//! migrations applied at start under an advisory lock (so daemons starting together migrate
//! once), and search through a `tsvector` of the tagger's tokens with a GIN index, ranked by
//! `ts_rank`. It uses the synchronous `postgres` client, which runs its own small runtime:
//! call it from a blocking thread, never from inside an async task.

use std::collections::HashSet;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use nichiro_model::TaggedArticle;
use postgres::{Client, NoTls};

use crate::row::{
    ARTICLE_COLUMN_COUNT, ARTICLE_COLUMNS, ArticleRow, TAG_COLUMNS, TagColumns, article_values,
    tag_values,
};
use crate::{
    ArticleFilter, Claim, CopyOf, Dialect, InsertOutcome, Store, StoreError, StoredArticle,
    search_terms,
};

/// Each entry migrates from version `index` to `index + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: the SQLite schema's tables, with a typed time for ordering and a search vector.
    r#"
    CREATE TABLE articles (
        id               BIGSERIAL PRIMARY KEY,
        url              TEXT NOT NULL UNIQUE,
        requested_url    TEXT NOT NULL,
        source           TEXT NOT NULL,
        title            TEXT,
        authors          TEXT NOT NULL,
        published        TEXT,
        language         TEXT,
        site_name        TEXT,
        description      TEXT,
        text             TEXT NOT NULL,
        links            TEXT NOT NULL,
        kind             TEXT NOT NULL,
        relevant         BOOLEAN NOT NULL,
        relevance        DOUBLE PRECISION NOT NULL,
        topics           TEXT NOT NULL,
        related          TEXT NOT NULL,
        duplicate_of     TEXT,
        duplicate_shared DOUBLE PRECISION,
        fetched_at       TEXT NOT NULL,
        stored_at        TEXT NOT NULL,
        modified         TEXT,
        image            TEXT,
        section          TEXT,
        keywords         TEXT NOT NULL DEFAULT '[]',
        signals          TEXT NOT NULL DEFAULT '{}',
        entities         TEXT NOT NULL DEFAULT '[]',
        relevance_evidence TEXT NOT NULL DEFAULT '[]',
        -- published, or else fetched: what `list` orders and filters by
        happened_at      TIMESTAMPTZ NOT NULL,
        search           TSVECTOR NOT NULL
    );
    CREATE INDEX articles_happened ON articles (happened_at DESC, id DESC);
    CREATE INDEX articles_relevant ON articles (relevant, happened_at DESC);
    CREATE INDEX articles_search ON articles USING GIN (search);
    CREATE TABLE article_topics (
        article_id BIGINT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        topic      TEXT NOT NULL,
        score      DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (article_id, topic)
    );
    CREATE INDEX article_topics_topic ON article_topics (topic);
    CREATE TABLE seen_urls (
        url        TEXT PRIMARY KEY,
        article_id BIGINT NOT NULL REFERENCES articles(id) ON DELETE CASCADE
    );
    CREATE TABLE source_state (
        source        TEXT PRIMARY KEY,
        etag          TEXT,
        last_modified TEXT,
        polled_at     TEXT
    );
    CREATE TABLE given_up_urls (
        url         TEXT PRIMARY KEY,
        source      TEXT NOT NULL,
        reason      TEXT NOT NULL,
        given_up_at TEXT NOT NULL
    );
    "#,
    // 2: claims on work (a page, a source's poll) by one of several daemons, until expiry.
    r#"
    CREATE TABLE leases (
        key        TEXT PRIMARY KEY,
        holder     TEXT NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL
    );
    "#,
    // 3: the pages stored articles were cleaned from, gzip-compressed, when kept; apart,
    // so that reading articles never reads them.
    r#"
    CREATE TABLE raw_pages (
        article_id   BIGINT PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
        content_type TEXT,
        gzip         BYTEA NOT NULL
    );
    "#,
    // 4: each source's schedule and health, after every poll.
    r#"
    ALTER TABLE source_state ADD COLUMN next_poll_at TEXT;
    ALTER TABLE source_state ADD COLUMN failures BIGINT NOT NULL DEFAULT 0;
    ALTER TABLE source_state ADD COLUMN last_error TEXT;
    "#,
    // 5: a hash of each article's text, to find the same text under other URLs.
    r#"
    ALTER TABLE articles ADD COLUMN content_hash TEXT;
    CREATE INDEX articles_content_hash ON articles (content_hash);
    "#,
    // 6: which tagger gave each verdict (`nichiro retag` tags again what another gave).
    r#"
    ALTER TABLE articles ADD COLUMN tagger TEXT NOT NULL DEFAULT '';
    ALTER TABLE articles ADD COLUMN shares_text_with TEXT;   -- JSON DuplicateOf
    "#,
    // 7: the address a source's validators belong to (the feed a web page announced).
    r#"
    ALTER TABLE source_state ADD COLUMN listing_url TEXT;
    "#,
    // 8: since when a source's polls fail, and each source's latest articles found fast (the
    // web server's completeness monitoring).
    r#"
    ALTER TABLE source_state ADD COLUMN failing_since TEXT;
    CREATE INDEX articles_source ON articles (source, id);
    "#,
    // 9: alerts: what became of each alert for each article, and how far each has looked.
    r#"
    CREATE TABLE alerts (
        alert   TEXT NOT NULL,
        url     TEXT NOT NULL,
        outcome TEXT NOT NULL,
        at      TEXT NOT NULL,
        PRIMARY KEY (alert, url)
    );
    CREATE TABLE alert_cursors (
        alert       TEXT PRIMARY KEY,
        last_number BIGINT NOT NULL
    );
    "#,
    // 10: the copies of an article found fast (the web pages and `show` list them).
    r#"
    CREATE INDEX articles_copy_of ON articles (duplicate_of);
    "#,
    // 11: facts about the store itself: the tokenizer revision its search index was built by.
    r#"
    CREATE TABLE store_meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    "#,
    // 12: a sitemap source's other sitemaps (children, those robots.txt names), as JSON.
    r#"
    ALTER TABLE source_state ADD COLUMN sitemaps TEXT;
    "#,
    // 13: how far each archive file of a source was read (see `ArchiveFileState`).
    r#"
    CREATE TABLE archive_files (
        source     TEXT NOT NULL,
        file       TEXT NOT NULL,
        resume_at  BIGINT NOT NULL,
        done       BOOLEAN NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (source, file)
    );
    "#,
];

/// Key of the advisory lock held while migrating.
const MIGRATION_LOCK: i64 = 0x006e_6963_6869_726f; // "nichiro"

/// A PostgreSQL store.
pub struct PostgresStore {
    /// Always `Some` until dropped.
    client: Option<Mutex<Client>>,
    /// Where it connects again after losing its connection.
    url: String,
    /// The schema it works in, if not the default.
    schema: Option<String>,
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        // The synchronous client closes its connection on a runtime of its own, which panics
        // on a thread that drives async tasks: there, it is closed on a thread of its own.
        if let Some(client) = self.client.take()
            && tokio::runtime::Handle::try_current().is_ok()
        {
            let _ = std::thread::spawn(move || drop(client)).join();
        }
    }
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").finish_non_exhaustive()
    }
}

/// `url` without its password.
pub(crate) fn redact(url: &str) -> String {
    // Keep the host and database, drop a password.
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://…@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host:port/database`) and brings the schema up to
    /// date. With `schema`, works in that schema, creating it when missing (tests use one
    /// schema each).
    pub fn open(url: &str, schema: Option<&str>) -> Result<Self, StoreError> {
        let mut client = connect(url, schema)?;
        migrate(&mut client).map_err(|e| StoreError::Connect {
            url: redact(url),
            source: Box::new(e),
        })?;
        if let Err(e) = refresh_search_terms(&mut client) {
            crate::report_reindex_failure(&e);
        }
        Ok(PostgresStore {
            client: Some(Mutex::new(client)),
            url: url.to_string(),
            schema: schema.map(str::to_string),
        })
    }

    /// The connection, connected again first if it was lost (the server restarted, or the
    /// network failed): a daemon outlives its database server's restarts.
    fn client(&self) -> Result<std::sync::MutexGuard<'_, Client>, StoreError> {
        // A panic while holding the lock leaves the client usable: take it back.
        let mut client = self
            .client
            .as_ref()
            .expect("the client lives as long as the store")
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if client.is_closed() {
            tracing::warn!(store = %redact(&self.url), "connection to the store lost; connecting again");
            let fresh = connect(&self.url, self.schema.as_deref())?;
            // The old client's connection is gone; it is closed off the async threads.
            let old = std::mem::replace(&mut *client, fresh);
            std::thread::spawn(move || drop(old));
        }
        Ok(client)
    }
}

/// A connection to `url`, working in `schema` (created when missing) if one is given.
fn connect(url: &str, schema: Option<&str>) -> Result<Client, StoreError> {
    let open_error = |source: Box<dyn std::error::Error + Send + Sync>| StoreError::Connect {
        url: redact(url),
        source,
    };
    let mut client = Client::connect(url, NoTls).map_err(|e| open_error(Box::new(e)))?;
    if let Some(schema) = schema {
        let quoted = format!("\"{}\"", schema.replace('"', "\"\""));
        client
            .batch_execute(&format!(
                "CREATE SCHEMA IF NOT EXISTS {quoted}; SET search_path TO {quoted}"
            ))
            .map_err(|e| open_error(Box::new(e)))?;
    }
    Ok(client)
}

fn migrate(client: &mut Client) -> Result<(), postgres::Error> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS nichiro_schema (version INTEGER NOT NULL)")?;
    let version: i32 = tx
        .query_opt("SELECT version FROM nichiro_schema", &[])?
        .map_or(0, |r| r.get(0));
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
        tx.batch_execute(sql)?;
        let next = index as i32 + 1;
        tx.execute("DELETE FROM nichiro_schema", &[])?;
        tx.execute("INSERT INTO nichiro_schema (version) VALUES ($1)", &[&next])?;
    }
    tx.commit()
}

/// Rebuilds the search vectors when they were made by another revision of the tokenizer
/// ([`nichiro_text::REVISION`]), a batch per transaction; then records the revision. Another
/// process doing the same at once writes the same vectors.
fn refresh_search_terms(client: &mut Client) -> Result<(), postgres::Error> {
    let indexed: Option<String> = client
        .query_opt(
            "SELECT value FROM store_meta WHERE key = 'search_terms'",
            &[],
        )?
        .map(|r| r.get(0));
    if indexed.as_deref() == Some(nichiro_text::REVISION) {
        return Ok(());
    }
    let (mut after, mut rebuilt) = (0_i64, 0_usize);
    loop {
        let mut tx = client.transaction()?;
        let rows = tx.query(
            "SELECT id, title, text FROM articles WHERE id > $1 ORDER BY id LIMIT $2",
            &[&after, &crate::REINDEX_BATCH],
        )?;
        let Some(last) = rows.last() else {
            tx.execute(
                "INSERT INTO store_meta (key, value) VALUES ('search_terms', $1) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                &[&nichiro_text::REVISION],
            )?;
            tx.commit()?;
            break;
        };
        after = last.get(0);
        let update =
            tx.prepare("UPDATE articles SET search = to_tsvector('simple', $2) WHERE id = $1")?;
        for row in &rows {
            let (id, title, text): (i64, Option<String>, String) =
                (row.get(0), row.get(1), row.get(2));
            tx.execute(&update, &[&id, &search_terms(title.as_deref(), &text)])?;
        }
        rebuilt += rows.len();
        tx.commit()?;
    }
    crate::report_reindex(rebuilt);
    Ok(())
}

fn read_row(row: &postgres::Row) -> Result<StoredArticle, StoreError> {
    let get = |e: postgres::Error| StoreError::Corrupt(e.to_string());
    ArticleRow {
        url: row.try_get(0).map_err(get)?,
        requested_url: row.try_get(1).map_err(get)?,
        source: row.try_get(2).map_err(get)?,
        title: row.try_get(3).map_err(get)?,
        authors: row.try_get(4).map_err(get)?,
        published: row.try_get(5).map_err(get)?,
        language: row.try_get(6).map_err(get)?,
        site_name: row.try_get(7).map_err(get)?,
        description: row.try_get(8).map_err(get)?,
        text: row.try_get(9).map_err(get)?,
        links: row.try_get(10).map_err(get)?,
        kind: row.try_get(11).map_err(get)?,
        tags: TagColumns {
            relevant: row.try_get(12).map_err(get)?,
            relevance: row.try_get(13).map_err(get)?,
            topics: row.try_get(14).map_err(get)?,
            related: row.try_get(15).map_err(get)?,
            duplicate_of: row.try_get(16).map_err(get)?,
            duplicate_shared: row.try_get(17).map_err(get)?,
            entities: row.try_get(25).map_err(get)?,
            relevance_evidence: row.try_get(26).map_err(get)?,
            tagger: row.try_get(28).map_err(get)?,
            shares_text_with: row.try_get(29).map_err(get)?,
        },
        fetched_at: row.try_get(18).map_err(get)?,
        stored_at: row.try_get(19).map_err(get)?,
        modified: row.try_get(20).map_err(get)?,
        image: row.try_get(21).map_err(get)?,
        section: row.try_get(22).map_err(get)?,
        keywords: row.try_get(23).map_err(get)?,
        signals: row.try_get(24).map_err(get)?,
        content_hash: row.try_get(27).map_err(get)?,
    }
    .into_stored()
    .map_err(StoreError::Corrupt)
}

/// An article's time (published, else fetched; a stored column) compared with an RFC 3339
/// parameter.
impl Dialect for PostgresStore {
    fn placeholder(n: usize) -> String {
        format!("${n}")
    }

    fn article_time() -> &'static str {
        "happened_at"
    }

    fn time_is(op: &str, parameter: &str) -> String {
        format!("happened_at {op} {parameter}::text::timestamptz")
    }

    fn matches(parameter: &str) -> String {
        format!("search @@ to_tsquery('simple', {parameter}::text)")
    }

    /// Each phrase its quoted normal forms joined by `<->` (followed by), the last marked `:*`
    /// when it is a prefix; the phrases joined by `&`.
    fn all_phrases(phrases: &[&nichiro_text::query::Phrase]) -> String {
        phrases
            .iter()
            .map(|p| {
                let last = p.norms.len().saturating_sub(1);
                let lexemes: Vec<String> = p
                    .norms
                    .iter()
                    .enumerate()
                    .map(|(i, n)| {
                        let star = if p.prefix && i == last { ":*" } else { "" };
                        format!("'{}'{star}", n.replace('\\', "\\\\").replace('\'', "''"))
                    })
                    .collect();
                format!("({})", lexemes.join(" <-> "))
            })
            .collect::<Vec<_>>()
            .join(" & ")
    }

    fn contains(parameter: &str) -> String {
        format!("strpos(COALESCE(title, '') || ' ' || text, {parameter}::text) > 0")
    }
}

fn query_error(e: postgres::Error) -> StoreError {
    use postgres::error::SqlState;
    // The server going away shows as a closed connection, a failed read or write on it, or
    // as its last word before it closes it (shutting down, terminated by an administrator).
    let server_gone = e.code().is_some_and(|code| {
        *code == SqlState::ADMIN_SHUTDOWN
            || *code == SqlState::CRASH_SHUTDOWN
            || *code == SqlState::CANNOT_CONNECT_NOW
            || code.code().starts_with("08")
    });
    let io_failed = std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>());
    // The server's own words ("could not extend file: No space left on device") are in the
    // database error; the client's Display of it is only "db error".
    let message = match e.as_db_error() {
        Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        None => e.to_string(),
    };
    if e.is_closed() || server_gone || io_failed {
        return StoreError::Disconnected(message);
    }
    StoreError::Query(message)
}

impl Store for PostgresStore {
    fn claim(
        &self,
        key: &str,
        holder: &str,
        ttl: std::time::Duration,
    ) -> Result<Claim, StoreError> {
        // The server's clock decides expiry, so daemons on machines whose clocks differ agree.
        let ttl_secs = ttl.as_secs_f64();
        let granted = self
            .client()?
            .query_opt(
                "INSERT INTO leases (key, holder, expires_at)
                 SELECT $1, $2, now() + make_interval(secs => $3)
                 WHERE NOT EXISTS (SELECT 1 FROM seen_urls WHERE url = $1)
                 ON CONFLICT (key) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
                 WHERE leases.expires_at <= now() OR leases.holder = EXCLUDED.holder
                 RETURNING 1",
                &[&key, &holder, &ttl_secs],
            )
            .map_err(query_error)?
            .is_some();
        Ok(if granted {
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
        let next = poll.next_poll_at.map(|t| t.to_rfc3339());
        self.client()?
            .execute(
                "INSERT INTO source_state \
                 (source, polled_at, next_poll_at, failures, last_error, failing_since) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (source) DO UPDATE SET \
                 polled_at = $2, next_poll_at = $3, failures = $4, last_error = $5, \
                 failing_since = $6",
                &[
                    &source,
                    &poll.polled_at.to_rfc3339(),
                    &next,
                    &(poll.failures as i64),
                    &poll.last_error,
                    &poll.failing_since.map(|t| t.to_rfc3339()),
                ],
            )
            .map_err(query_error)?;
        Ok(())
    }

    fn last_poll(&self, source: &str) -> Result<Option<nichiro_model::SourcePoll>, StoreError> {
        let row = self
            .client()?
            .query_opt(
                "SELECT polled_at, next_poll_at, failures, last_error, failing_since \
                 FROM source_state WHERE source = $1 AND polled_at IS NOT NULL",
                &[&source],
            )
            .map_err(query_error)?;
        row.map(|r| {
            crate::row::source_poll(r.get(0), r.get(1), r.get::<_, i64>(2), r.get(3), r.get(4))
        })
        .transpose()
    }

    fn alert_outcome(&self, alert: &str, url: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .client()?
            .query_opt(
                "SELECT outcome FROM alerts WHERE alert = $1 AND url = $2",
                &[&alert, &url],
            )
            .map_err(query_error)?
            .map(|r| r.get(0)))
    }

    fn record_alert(&self, alert: &str, url: &str, outcome: &str) -> Result<(), StoreError> {
        self.client()?
            .execute(
                "INSERT INTO alerts (alert, url, outcome, at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (alert, url) DO NOTHING",
                &[&alert, &url, &outcome, &Utc::now().to_rfc3339()],
            )
            .map_err(query_error)?;
        Ok(())
    }

    fn alert_cursor(&self, alert: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .client()?
            .query_opt(
                "SELECT last_number FROM alert_cursors WHERE alert = $1",
                &[&alert],
            )
            .map_err(query_error)?
            .map(|r| r.get(0)))
    }

    fn set_alert_cursor(&self, alert: &str, number: i64) -> Result<(), StoreError> {
        self.client()?
            .execute(
                "INSERT INTO alert_cursors (alert, last_number) VALUES ($1, $2) \
                 ON CONFLICT (alert) DO UPDATE SET \
                 last_number = GREATEST(alert_cursors.last_number, excluded.last_number)",
                &[&alert, &number],
            )
            .map_err(query_error)?;
        Ok(())
    }

    fn topic_names(&self) -> Result<Vec<String>, StoreError> {
        Ok(self
            .client()?
            .query(
                "SELECT DISTINCT topic FROM article_topics ORDER BY topic",
                &[],
            )
            .map_err(query_error)?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }

    fn topic_days(&self, filter: &ArticleFilter) -> Result<Vec<crate::TopicDay>, StoreError> {
        let (conditions, values) = filter.to_sql::<PostgresStore>(1);
        let args: Vec<&(dyn postgres::types::ToSql + Sync)> = values
            .iter()
            .map(|v| v as &(dyn postgres::types::ToSql + Sync))
            .collect();
        Ok(self
            .client()?
            .query(
                &format!(
                    "SELECT a.day, t.topic, COUNT(*) FROM \
                     (SELECT id, to_char(happened_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day \
                      FROM articles WHERE TRUE{conditions}) a \
                     JOIN article_topics t ON t.article_id = a.id \
                     GROUP BY a.day, t.topic ORDER BY a.day, t.topic"
                ),
                &args,
            )
            .map_err(query_error)?
            .iter()
            .map(|r| crate::TopicDay {
                day: r.get(0),
                topic: r.get(1),
                articles: r.get::<_, i64>(2).max(0) as u64,
            })
            .collect())
    }

    fn source_arrivals(
        &self,
        source: &str,
        limit: usize,
    ) -> Result<Vec<DateTime<Utc>>, StoreError> {
        self.client()?
            .query(
                "SELECT stored_at FROM articles WHERE source = $1 ORDER BY id DESC LIMIT $2",
                &[&source, &(limit as i64)],
            )
            .map_err(query_error)?
            .iter()
            .map(|r| crate::row::stored_time(&r.get::<_, String>(0)))
            .collect()
    }

    fn raw_page(&self, url: &str) -> Result<Option<nichiro_model::ArchivedPage>, StoreError> {
        let row = self
            .client()?
            .query_opt(
                "SELECT r.content_type, r.gzip FROM raw_pages r \
                 JOIN seen_urls s ON s.article_id = r.article_id WHERE s.url = $1",
                &[&url],
            )
            .map_err(query_error)?;
        Ok(row.map(|row| nichiro_model::ArchivedPage {
            content_type: row.get(0),
            gzip: row.get(1),
        }))
    }

    fn renew(
        &self,
        holder: &str,
        keys: &[String],
        ttl: std::time::Duration,
    ) -> Result<usize, StoreError> {
        let renewed = self
            .client()?
            .execute(
                "UPDATE leases SET expires_at = now() + make_interval(secs => $3)
                 WHERE holder = $1 AND key = ANY($2)",
                &[&holder, &keys, &ttl.as_secs_f64()],
            )
            .map_err(query_error)?;
        Ok(renewed as usize)
    }

    fn release(&self, key: &str, holder: &str) -> Result<(), StoreError> {
        self.client()?
            .execute(
                "DELETE FROM leases WHERE key = $1 AND holder = $2",
                &[&key, &holder],
            )
            .map_err(query_error)?;
        Ok(())
    }

    fn release_all(&self, holder: &str) -> Result<(), StoreError> {
        self.client()?
            .execute("DELETE FROM leases WHERE holder = $1", &[&holder])
            .map_err(query_error)?;
        Ok(())
    }

    fn insert_batch(&mut self, batch: &[TaggedArticle]) -> Result<Vec<InsertOutcome>, StoreError> {
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(query_error)?;
        let placeholders: Vec<String> = (1..=ARTICLE_COLUMN_COUNT)
            .map(|i| format!("${i}"))
            .collect();
        let n = ARTICLE_COLUMN_COUNT;
        let insert = tx
            .prepare(&format!(
                "INSERT INTO articles ({ARTICLE_COLUMNS}, happened_at, search) \
                 VALUES ({}, ${}::text::timestamptz, to_tsvector('simple', ${})) \
                 ON CONFLICT (url) DO NOTHING RETURNING id",
                placeholders.join(", "),
                n + 1,
                n + 2
            ))
            .map_err(query_error)?;
        let existing = tx
            .prepare("SELECT id FROM articles WHERE url = $1")
            .map_err(query_error)?;
        let seen = tx
            .prepare(
                "INSERT INTO seen_urls (url, article_id) VALUES ($1, $2) ON CONFLICT (url) DO NOTHING",
            )
            .map_err(query_error)?;
        let topic = tx
            .prepare(
                "INSERT INTO article_topics (article_id, topic, score) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
            )
            .map_err(query_error)?;
        let raw_page = tx
            .prepare(
                "INSERT INTO raw_pages (article_id, content_type, gzip) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
            )
            .map_err(query_error)?;
        let now = Utc::now().to_rfc3339();
        let mut outcomes = Vec::with_capacity(batch.len());
        for item in batch {
            let r = ArticleRow::from_tagged(item, &now)?;
            let happened = r.published.clone().unwrap_or_else(|| r.fetched_at.clone());
            let terms = search_terms(item.article.title.as_deref(), &item.article.text);
            let inserted = tx
                .query_opt(
                    &insert,
                    &article_values!(r, dyn postgres::types::ToSql + Sync, &happened, &terms),
                )
                .map_err(query_error)?;
            let (id, outcome): (i64, InsertOutcome) = match inserted {
                Some(row) => (row.get(0), InsertOutcome::New),
                None => (
                    tx.query_one(&existing, &[&r.url])
                        .map_err(query_error)?
                        .get(0),
                    InsertOutcome::AlreadyStored,
                ),
            };
            for url in [&r.url, &r.requested_url] {
                tx.execute(&seen, &[url, &id]).map_err(query_error)?;
            }
            if outcome == InsertOutcome::New {
                for tag in &item.tags.topics {
                    tx.execute(&topic, &[&id, &tag.topic, &f64::from(tag.score)])
                        .map_err(query_error)?;
                }
                if let Some(page) = &item.raw_page {
                    tx.execute(&raw_page, &[&id, &page.content_type, &page.gzip])
                        .map_err(query_error)?;
                }
            }
            outcomes.push(outcome);
        }
        tx.commit().map_err(query_error)?;
        Ok(outcomes)
    }

    fn update_tags(
        &mut self,
        updates: &[(String, nichiro_model::Tags)],
    ) -> Result<usize, StoreError> {
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(query_error)?;
        let sets: Vec<String> = TAG_COLUMNS
            .iter()
            .enumerate()
            .map(|(i, column)| format!("{column} = ${}", i + 1))
            .collect();
        let update = tx
            .prepare(&format!(
                "UPDATE articles SET {} WHERE url = ${} RETURNING id",
                sets.join(", "),
                TAG_COLUMNS.len() + 1
            ))
            .map_err(query_error)?;
        let clear = tx
            .prepare("DELETE FROM article_topics WHERE article_id = $1")
            .map_err(query_error)?;
        let topic = tx
            .prepare("INSERT INTO article_topics (article_id, topic, score) VALUES ($1, $2, $3)")
            .map_err(query_error)?;
        let mut updated = 0;
        for (url, tags) in updates {
            let columns = TagColumns::of(tags)?;
            let Some(row) = tx
                .query_opt(
                    &update,
                    &tag_values!(columns, dyn postgres::types::ToSql + Sync, url),
                )
                .map_err(query_error)?
            else {
                continue;
            };
            let id: i64 = row.get(0);
            tx.execute(&clear, &[&id]).map_err(query_error)?;
            for tag in &tags.topics {
                tx.execute(&topic, &[&id, &tag.topic, &f64::from(tag.score)])
                    .map_err(query_error)?;
            }
            updated += 1;
        }
        tx.commit().map_err(query_error)?;
        Ok(updated)
    }

    fn rename_urls(&mut self, renames: &[(String, String)]) -> Result<usize, StoreError> {
        if renames.is_empty() {
            return Ok(0);
        }
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(query_error)?;
        let mut renamed = 0;
        for (from, to) in renames {
            renamed += tx
                .execute(
                    "UPDATE articles SET url = $2 WHERE url = $1
                     AND NOT EXISTS (SELECT 1 FROM articles WHERE url = $2)",
                    &[from, to],
                )
                .map_err(query_error)? as usize;
            tx.execute(
                "UPDATE articles SET requested_url = $2 WHERE requested_url = $1",
                &[from, to],
            )
            .map_err(query_error)?;
            for table in ["seen_urls", "given_up_urls"] {
                // The new address may be known already: then the old row goes.
                tx.execute(
                    &format!(
                        "DELETE FROM {table} WHERE url = $1
                         AND EXISTS (SELECT 1 FROM {table} WHERE url = $2)"
                    ),
                    &[from, to],
                )
                .map_err(query_error)?;
                tx.execute(
                    &format!("UPDATE {table} SET url = $2 WHERE url = $1"),
                    &[from, to],
                )
                .map_err(query_error)?;
            }
        }
        let map: std::collections::HashMap<&str, &str> = renames
            .iter()
            .map(|(from, to)| (from.as_str(), to.as_str()))
            .collect();
        let rows = tx
            .query(
                r"SELECT id, related, shares_text_with, duplicate_of FROM articles
                  WHERE related LIKE $1 ESCAPE '!' OR shares_text_with LIKE $1 ESCAPE '!'
                     OR duplicate_of LIKE $1 ESCAPE '!'",
                &[&crate::rename::containing_pattern(renames)],
            )
            .map_err(query_error)?;
        for row in rows {
            let id: i64 = row.get(0);
            let related: String = row.get(1);
            let shares: Option<String> = row.get(2);
            let duplicate: Option<String> = row.get(3);
            if let Some((related, shares, duplicate)) = crate::rename::rewrite_references(
                &map,
                &related,
                shares.as_deref(),
                duplicate.as_deref(),
            ) {
                tx.execute(
                    "UPDATE articles SET related = $2, shares_text_with = $3, duplicate_of = $4
                     WHERE id = $1",
                    &[&id, &related, &shares, &duplicate],
                )
                .map_err(query_error)?;
            }
        }
        tx.commit().map_err(query_error)?;
        Ok(renamed)
    }

    fn is_seen(&self, url: &str) -> Result<bool, StoreError> {
        Ok(self
            .client()?
            .query_opt("SELECT 1 FROM seen_urls WHERE url = $1", &[&url])
            .map_err(query_error)?
            .is_some())
    }

    fn copies_of(&self, url: &str, limit: usize) -> Result<Vec<CopyOf>, StoreError> {
        Ok(self
            .client()?
            .query(
                "SELECT id, url, title FROM articles WHERE duplicate_of = $1 \
                 ORDER BY id LIMIT $2",
                &[&url, &(limit as i64)],
            )
            .map_err(query_error)?
            .iter()
            .map(|r| CopyOf {
                number: r.get(0),
                url: r.get(1),
                title: r.get(2),
            })
            .collect())
    }

    fn article_number(&self, url: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .client()?
            .query_opt("SELECT article_id FROM seen_urls WHERE url = $1", &[&url])
            .map_err(query_error)?
            .map(|r| r.get(0)))
    }

    fn record_given_up(&mut self, urls: &[(String, String, String)]) -> Result<(), StoreError> {
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(query_error)?;
        let now = Utc::now().to_rfc3339();
        for (url, source, reason) in urls {
            tx.execute(
                "INSERT INTO given_up_urls (url, source, reason, given_up_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (url) DO UPDATE SET source = $2, reason = $3, given_up_at = $4",
                &[url, source, reason, &now],
            )
            .map_err(query_error)?;
        }
        tx.commit().map_err(query_error)
    }

    fn given_up_urls(&self) -> Result<Vec<String>, StoreError> {
        Ok(self
            .client()?
            .query("SELECT url FROM given_up_urls ORDER BY url", &[])
            .map_err(query_error)?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }

    fn seen_urls(&self) -> Result<HashSet<String>, StoreError> {
        Ok(self
            .client()?
            .query("SELECT url FROM seen_urls", &[])
            .map_err(query_error)?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }

    fn count(&self) -> Result<usize, StoreError> {
        let n: i64 = self
            .client()?
            .query_one("SELECT COUNT(*) FROM articles", &[])
            .map_err(query_error)?
            .get(0);
        Ok(n as usize)
    }

    fn list_numbered(
        &self,
        filter: &ArticleFilter,
        limit: Option<usize>,
    ) -> Result<Vec<(i64, StoredArticle)>, StoreError> {
        let (conditions, values) = filter.to_sql::<PostgresStore>(1);
        let mut sql = format!(
            "SELECT {ARTICLE_COLUMNS}, id FROM articles WHERE TRUE{conditions} \
             ORDER BY happened_at DESC, id DESC"
        );
        if let Some(limit) = limit {
            sql += &format!(" LIMIT {limit}");
        }
        let args: Vec<&(dyn postgres::types::ToSql + Sync)> = values
            .iter()
            .map(|v| v as &(dyn postgres::types::ToSql + Sync))
            .collect();
        self.client()?
            .query(&sql, &args)
            .map_err(query_error)?
            .iter()
            .map(|row| Ok((row.get(ARTICLE_COLUMN_COUNT), read_row(row)?)))
            .collect()
    }

    fn for_each_article(
        &self,
        filter: &ArticleFilter,
        f: &mut dyn FnMut(StoredArticle),
    ) -> Result<(), StoreError> {
        let (conditions, values) = filter.to_sql::<PostgresStore>(1);
        let args: Vec<&(dyn postgres::types::ToSql + Sync)> = values
            .iter()
            .map(|v| v as &(dyn postgres::types::ToSql + Sync))
            .collect();
        // A portal reads the table a page at a time: no whole-table load.
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(query_error)?;
        let portal = tx
            .bind(
                &format!(
                    "SELECT {ARTICLE_COLUMNS} FROM articles WHERE TRUE{conditions} ORDER BY id"
                ),
                &args,
            )
            .map_err(query_error)?;
        loop {
            let rows = tx.query_portal(&portal, 500).map_err(query_error)?;
            if rows.is_empty() {
                break;
            }
            for row in &rows {
                f(read_row(row)?);
            }
        }
        tx.commit().map_err(query_error)
    }

    fn last_article_number(&self) -> Result<i64, StoreError> {
        Ok(self
            .client()?
            .query_one("SELECT COALESCE(MAX(id), 0)::BIGINT FROM articles", &[])
            .map_err(query_error)?
            .get(0))
    }

    fn articles_after(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<(i64, StoredArticle)>, StoreError> {
        self.client()?
            .query(
                &format!(
                    "SELECT {ARTICLE_COLUMNS}, id FROM articles WHERE id > $1 ORDER BY id LIMIT $2"
                ),
                &[&after, &(limit as i64)],
            )
            .map_err(query_error)?
            .iter()
            .map(|row| Ok((row.get(ARTICLE_COLUMN_COUNT), read_row(row)?)))
            .collect()
    }

    fn source_validators(&self, source: &str) -> Result<crate::SavedListing, StoreError> {
        Ok(self
            .client()?
            .query_opt(
                "SELECT etag, last_modified, listing_url, sitemaps FROM source_state \
                 WHERE source = $1",
                &[&source],
            )
            .map_err(query_error)?
            .map_or_else(Default::default, |r| crate::SavedListing {
                etag: r.get(0),
                last_modified: r.get(1),
                url: r.get(2),
                sitemaps: crate::sitemaps_from_column(r.get(3)),
            }))
    }

    fn set_source_validators(
        &self,
        source: &str,
        listing: &crate::SavedListing,
    ) -> Result<(), StoreError> {
        self.client()?
            .execute(
                "INSERT INTO source_state \
                 (source, etag, last_modified, listing_url, polled_at, sitemaps) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (source) DO UPDATE SET etag = $2, last_modified = $3, \
                 listing_url = $4, polled_at = $5, sitemaps = $6",
                &[
                    &source,
                    &listing.etag,
                    &listing.last_modified,
                    &listing.url,
                    &Utc::now().to_rfc3339(),
                    &crate::sitemaps_column(listing),
                ],
            )
            .map_err(query_error)?;
        Ok(())
    }

    fn archive_files(&self, source: &str) -> Result<Vec<crate::ArchiveFileState>, StoreError> {
        self.client()?
            .query(
                "SELECT file, resume_at, done FROM archive_files WHERE source = $1",
                &[&source],
            )
            .map_err(query_error)?
            .iter()
            .map(|r| {
                Ok(crate::ArchiveFileState {
                    file: r.get(0),
                    resume_at: u64::try_from(r.get::<_, i64>(1)).unwrap_or(0),
                    done: r.get(2),
                })
            })
            .collect()
    }

    fn record_archive_file(
        &self,
        source: &str,
        state: &crate::ArchiveFileState,
    ) -> Result<(), StoreError> {
        self.client()?
            .execute(
                "INSERT INTO archive_files (source, file, resume_at, done, updated_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (source, file) DO UPDATE SET \
                 resume_at = GREATEST(archive_files.resume_at, $3), \
                 done = archive_files.done OR $4, updated_at = $5",
                &[
                    &source,
                    &state.file,
                    &i64::try_from(state.resume_at).unwrap_or(i64::MAX),
                    &state.done,
                    &Utc::now().to_rfc3339(),
                ],
            )
            .map_err(query_error)?;
        Ok(())
    }

    fn flush(&self) -> Result<(), StoreError> {
        // Every batch is committed; PostgreSQL makes commits durable itself.
        Ok(())
    }
}

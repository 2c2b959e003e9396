//! The SQLite schema and its migrations, applied in order and recorded in `user_version`.

/// Each entry migrates from version `index` to `index + 1`.
pub const MIGRATIONS: &[&str] = &[
    // 1: articles keyed by canonical URL, their topics, the URLs seen, per-source state, search.
    r#"
    CREATE TABLE articles (
        id              INTEGER PRIMARY KEY,
        url             TEXT NOT NULL UNIQUE,
        requested_url   TEXT NOT NULL,
        source          TEXT NOT NULL,
        title           TEXT,
        authors         TEXT NOT NULL,       -- JSON array
        published       TEXT,                -- RFC 3339
        language        TEXT,
        site_name       TEXT,
        description     TEXT,
        text            TEXT NOT NULL,
        links           TEXT NOT NULL,       -- JSON array
        kind            TEXT NOT NULL,
        relevant        INTEGER NOT NULL,
        relevance       REAL NOT NULL,
        topics          TEXT NOT NULL,       -- JSON array of TopicTag
        related         TEXT NOT NULL,       -- JSON array of RelatedDoc
        duplicate_of    TEXT,
        duplicate_shared REAL,
        fetched_at      TEXT NOT NULL,
        stored_at       TEXT NOT NULL
    );
    CREATE INDEX articles_published ON articles(published);
    CREATE INDEX articles_relevant ON articles(relevant, published);
    CREATE TABLE article_topics (
        article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        topic      TEXT NOT NULL,
        score      REAL NOT NULL,
        PRIMARY KEY (article_id, topic)
    );
    CREATE INDEX article_topics_topic ON article_topics(topic);
    CREATE TABLE seen_urls (
        url        TEXT PRIMARY KEY,
        article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE
    );
    CREATE TABLE source_state (
        source        TEXT PRIMARY KEY,
        etag          TEXT,
        last_modified TEXT,
        polled_at     TEXT
    );
    -- Search runs over the tagger's own tokens (stems, CJK bigrams), written by the store,
    -- so that a Russian query finds inflected forms and a Japanese one finds words in running text.
    CREATE VIRTUAL TABLE articles_fts USING fts5(terms, tokenize='unicode61 remove_diacritics 2');
    "#,
    // 2: URLs given up for good (404, 410, robots.txt, not HTML), so later runs skip them.
    r#"
    CREATE TABLE given_up_urls (
        url       TEXT PRIMARY KEY,
        source    TEXT NOT NULL,
        reason    TEXT NOT NULL,
        given_up_at TEXT NOT NULL
    );
    "#,
    // 3: more metadata, and the signal each field came from.
    r#"
    ALTER TABLE articles ADD COLUMN modified TEXT;
    ALTER TABLE articles ADD COLUMN image TEXT;
    ALTER TABLE articles ADD COLUMN section TEXT;
    ALTER TABLE articles ADD COLUMN keywords TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE articles ADD COLUMN signals TEXT NOT NULL DEFAULT '{}';
    "#,
    // 4: the tagger's entities and the reasons for its relevance score.
    r#"
    ALTER TABLE articles ADD COLUMN entities TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE articles ADD COLUMN relevance_evidence TEXT NOT NULL DEFAULT '[]';
    "#,
    // 5: claims on work (a page, a source's poll) by one of several daemons, until expiry.
    r#"
    CREATE TABLE leases (
        key        TEXT PRIMARY KEY,
        holder     TEXT NOT NULL,
        expires_at REAL NOT NULL      -- seconds since the Unix epoch
    );
    "#,
    // 6: the pages stored articles were cleaned from, gzip-compressed, when kept; apart,
    // so that reading articles never reads them.
    r#"
    CREATE TABLE raw_pages (
        article_id   INTEGER PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
        content_type TEXT,
        gzip         BLOB NOT NULL
    );
    "#,
    // 7: each source's schedule and health, after every poll.
    r#"
    ALTER TABLE source_state ADD COLUMN next_poll_at TEXT;
    ALTER TABLE source_state ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE source_state ADD COLUMN last_error TEXT;
    "#,
    // 8: a hash of each article's text, to find the same text under other URLs.
    r#"
    ALTER TABLE articles ADD COLUMN content_hash TEXT;
    CREATE INDEX articles_content_hash ON articles (content_hash);
    "#,
    // 9: which tagger gave each verdict (`nichiro retag` tags again what another gave).
    r#"
    ALTER TABLE articles ADD COLUMN tagger TEXT NOT NULL DEFAULT '';
    ALTER TABLE articles ADD COLUMN shares_text_with TEXT;   -- JSON DuplicateOf
    "#,
    // 10: the address a source's validators belong to (the feed a web page announced).
    r#"
    ALTER TABLE source_state ADD COLUMN listing_url TEXT;
    "#,
    // 11: since when a source's polls fail, and each source's latest articles found fast (the
    // web server's completeness monitoring).
    r#"
    ALTER TABLE source_state ADD COLUMN failing_since TEXT;
    CREATE INDEX articles_source ON articles (source, id);
    "#,
    // 12: alerts: what became of each alert for each article, and how far each has looked.
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
        last_number INTEGER NOT NULL
    );
    "#,
    // 13: the copies of an article found fast (the web pages and `show` list them).
    r#"
    CREATE INDEX articles_copy_of ON articles (duplicate_of);
    "#,
    // 14: facts about the store itself: the tokenizer revision its search index was built by.
    r#"
    CREATE TABLE store_meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    "#,
    // 15: a sitemap source's other sitemaps (children, those robots.txt names), as JSON.
    r#"
    ALTER TABLE source_state ADD COLUMN sitemaps TEXT;
    "#,
    // 16: how far each archive file of a source was read (see `ArchiveFileState`).
    r#"
    CREATE TABLE archive_files (
        source     TEXT NOT NULL,
        file       TEXT NOT NULL,
        resume_at  INTEGER NOT NULL,
        done       INTEGER NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (source, file)
    );
    "#,
];

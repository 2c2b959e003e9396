//! An article as both backends store it: the same columns in the same order, with JSON for
//! lists and maps and RFC 3339 text for times, so that what one backend writes the other reads
//! the same way, and an export or import moves between them unchanged.

use chrono::{DateTime, Utc};
use nichiro_model::{DuplicateOf, TaggedArticle};
use serde::{Deserialize, Serialize};

use crate::{StoreError, StoredArticle};

/// The columns of `articles` that [`ArticleRow`] holds, in its field order: inserts list them
/// in this order and reads select them in this order.
pub(crate) const ARTICLE_COLUMNS: &str = "url, requested_url, source, title, authors, published, \
    language, site_name, description, text, links, kind, relevant, relevance, topics, related, \
    duplicate_of, duplicate_shared, fetched_at, stored_at, modified, image, section, keywords, \
    signals, entities, relevance_evidence, content_hash, tagger, shares_text_with";

/// Number of [`ARTICLE_COLUMNS`].
pub(crate) const ARTICLE_COLUMN_COUNT: usize = 30;

/// The values of an [`ArticleRow`] in [`ARTICLE_COLUMNS`] order, as an array of `&$sql`
/// (each backend's parameter type), followed by any `$extra` values: the one place besides
/// `ARTICLE_COLUMNS` that knows the order.
macro_rules! article_values {
    ($row:expr, $sql:ty $(, $extra:expr)*) => {{
        let r = &$row;
        [
            &r.url as &$sql, &r.requested_url, &r.source, &r.title, &r.authors, &r.published,
            &r.language, &r.site_name, &r.description, &r.text, &r.links, &r.kind,
            &r.tags.relevant, &r.tags.relevance, &r.tags.topics, &r.tags.related,
            &r.tags.duplicate_of, &r.tags.duplicate_shared, &r.fetched_at, &r.stored_at,
            &r.modified, &r.image, &r.section, &r.keywords, &r.signals, &r.tags.entities,
            &r.tags.relevance_evidence, &r.content_hash, &r.tags.tagger,
            &r.tags.shares_text_with
            $(, $extra)*
        ]
    }};
}
pub(crate) use article_values;

/// One row of `articles`.
#[derive(Debug, Clone)]
pub(crate) struct ArticleRow {
    pub url: String,
    pub requested_url: String,
    pub source: String,
    pub title: Option<String>,
    pub authors: String,
    pub published: Option<String>,
    pub language: Option<String>,
    pub site_name: Option<String>,
    pub description: Option<String>,
    pub text: String,
    pub links: String,
    pub kind: String,
    /// The verdict's columns.
    pub tags: TagColumns,
    pub fetched_at: String,
    pub stored_at: String,
    pub modified: Option<String>,
    pub image: Option<String>,
    pub section: Option<String>,
    pub keywords: String,
    pub signals: String,
    pub content_hash: Option<String>,
}

/// SHA-256 of a text, in hex, after collapsing its whitespace (so a copy re-wrapped by
/// another outlet's template hashes the same).
pub(crate) fn content_hash(text: &str) -> String {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    for (i, word) in text.split_whitespace().enumerate() {
        if i > 0 {
            hasher.update(b" ");
        }
        hasher.update(word.as_bytes());
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The columns of `articles` that hold the tagger's verdict, as [`TagColumns`] gives them:
/// `nichiro retag` writes these and nothing else.
pub(crate) const TAG_COLUMNS: [&str; 10] = [
    "relevant",
    "relevance",
    "topics",
    "related",
    "duplicate_of",
    "duplicate_shared",
    "entities",
    "relevance_evidence",
    "tagger",
    "shares_text_with",
];

/// A verdict as the columns of [`TAG_COLUMNS`] hold it.
#[derive(Debug, Clone)]
pub(crate) struct TagColumns {
    pub relevant: bool,
    pub relevance: f64,
    pub topics: String,
    pub related: String,
    pub duplicate_of: Option<String>,
    pub duplicate_shared: Option<f64>,
    pub entities: String,
    pub relevance_evidence: String,
    pub tagger: String,
    pub shares_text_with: Option<String>,
}

impl TagColumns {
    /// The columns of a verdict.
    pub fn of(t: &nichiro_model::Tags) -> Result<Self, StoreError> {
        Ok(TagColumns {
            relevant: t.relevant,
            relevance: f64::from(t.relevance),
            topics: to_json(&t.topics)?,
            related: to_json(&t.related)?,
            duplicate_of: t.duplicate_of.as_ref().map(|d| d.id.clone()),
            duplicate_shared: t.duplicate_of.as_ref().map(|d| f64::from(d.shared)),
            entities: to_json(&t.entities)?,
            relevance_evidence: to_json(&t.relevance_evidence)?,
            tagger: t.tagger.clone(),
            shares_text_with: t.shares_text_with.as_ref().map(to_json).transpose()?,
        })
    }
}

/// The values of a [`TagColumns`] in [`TAG_COLUMNS`] order, as an array of `&$sql`, followed
/// by any `$extra` values.
macro_rules! tag_values {
    ($row:expr, $sql:ty $(, $extra:expr)*) => {{
        let r = &$row;
        [
            &r.relevant as &$sql, &r.relevance, &r.topics, &r.related, &r.duplicate_of,
            &r.duplicate_shared, &r.entities, &r.relevance_evidence, &r.tagger,
            &r.shares_text_with
            $(, $extra)*
        ]
    }};
}
pub(crate) use tag_values;

fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl ArticleRow {
    /// The row for a tagged article stored at `now` (RFC 3339).
    pub fn from_tagged(item: &TaggedArticle, now: &str) -> Result<Self, StoreError> {
        let a = &item.article;
        let tags = TagColumns::of(&item.tags)?;
        Ok(ArticleRow {
            url: a.url.clone(),
            requested_url: item.requested_url.clone(),
            source: item.source.clone(),
            title: a.title.clone(),
            authors: to_json(&a.authors)?,
            published: a.published.map(|p| p.to_rfc3339()),
            language: a.language.clone(),
            site_name: a.site_name.clone(),
            description: a.description.clone(),
            text: a.text.clone(),
            links: to_json(&a.links)?,
            kind: to_json(&a.kind)?.trim_matches('"').to_string(),
            tags,
            fetched_at: item.fetched_at.to_rfc3339(),
            stored_at: now.to_string(),
            modified: a.modified.map(|m| m.to_rfc3339()),
            image: a.image.clone(),
            section: a.section.clone(),
            keywords: to_json(&a.keywords)?,
            signals: to_json(&a.signals)?,
            content_hash: Some(content_hash(&a.text)),
        })
    }

    /// The stored article this row holds; an error names the field that does not parse.
    pub fn into_stored(self) -> Result<StoredArticle, String> {
        fn json<T: for<'de> Deserialize<'de>>(s: &str, what: &str) -> Result<T, String> {
            serde_json::from_str(s).map_err(|e| format!("{what}: {e}"))
        }
        fn offset_time(
            s: Option<&str>,
            what: &str,
        ) -> Result<Option<DateTime<chrono::FixedOffset>>, String> {
            s.map(|s| {
                DateTime::parse_from_rfc3339(s).map_err(|_| format!("{what}: bad time {s:?}"))
            })
            .transpose()
        }
        let utc = |s: &str, what: &str| -> Result<DateTime<Utc>, String> {
            Ok(offset_time(Some(s), what)?
                .expect("a time was given")
                .with_timezone(&Utc))
        };
        let t = self.tags;
        Ok(StoredArticle {
            authors: json(&self.authors, "authors")?,
            published: offset_time(self.published.as_deref(), "published")?,
            topics: json(&t.topics, "topics")?,
            related: json(&t.related, "related")?,
            duplicate_of: t.duplicate_of.map(|id| DuplicateOf {
                id,
                shared: t.duplicate_shared.unwrap_or_default() as f32,
            }),
            kind: json(&format!("\"{}\"", self.kind), "kind")?,
            fetched_at: utc(&self.fetched_at, "fetched_at")?,
            stored_at: utc(&self.stored_at, "stored_at")?,
            modified: offset_time(self.modified.as_deref(), "modified")?,
            keywords: json(&self.keywords, "keywords")?,
            signals: json(&self.signals, "signals")?,
            entities: json(&t.entities, "entities")?,
            relevance_evidence: json(&t.relevance_evidence, "relevance_evidence")?,
            content_hash: self.content_hash.unwrap_or_default(),
            tagger: t.tagger,
            shares_text_with: t
                .shares_text_with
                .as_deref()
                .map(|s| json(s, "shares_text_with"))
                .transpose()?,
            url: self.url,
            title: self.title,
            language: self.language,
            site_name: self.site_name,
            description: self.description,
            source: self.source,
            requested_url: self.requested_url,
            relevant: t.relevant,
            relevance: t.relevance as f32,
            text: self.text,
            image: self.image,
            section: self.section,
        })
    }
}

/// A source's last poll from its stored columns; an error names the time that does not parse.
/// A time the store wrote (RFC 3339), read back.
pub(crate) fn stored_time(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| StoreError::Corrupt(format!("bad stored time {text:?}")))
}

pub(crate) fn source_poll(
    polled_at: String,
    next_poll_at: Option<String>,
    failures: i64,
    last_error: Option<String>,
    failing_since: Option<String>,
) -> Result<nichiro_model::SourcePoll, StoreError> {
    let time = |s: &str| {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| StoreError::Corrupt(format!("source_state: bad time {s:?}")))
    };
    Ok(nichiro_model::SourcePoll {
        polled_at: time(&polled_at)?,
        next_poll_at: next_poll_at.as_deref().map(time).transpose()?,
        failures: failures.max(0) as u64,
        last_error,
        failing_since: failing_since.as_deref().map(time).transpose()?,
    })
}

#[cfg(test)]
mod tests {
    use super::content_hash;

    #[test]
    fn the_content_hash_ignores_how_the_text_is_wrapped() {
        let one = content_hash("Lavrov met Motegi\nin Moscow.");
        assert_eq!(one, content_hash("  Lavrov  met Motegi in\tMoscow. "));
        assert_ne!(one, content_hash("Lavrov met Motegi in Tokyo."));
        // SHA-256 of the empty string, as any implementation gives it.
        assert_eq!(
            content_hash(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}

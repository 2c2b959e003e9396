//! Whether an alert is for an article, and what it says: pure functions.

use nichiro_store::StoredArticle;
use serde::Serialize;

use crate::AlertConfig;

/// Whether `article` is one `alert` is for, leaving aside copies (which need the store).
pub fn qualifies(alert: &AlertConfig, article: &StoredArticle) -> bool {
    let any_or = |wanted: &[String], value: Option<&str>| {
        wanted.is_empty() || value.is_some_and(|v| wanted.iter().any(|w| w == v))
    };
    article.relevant
        && article.relevance >= alert.min_relevance
        && (alert.topics.is_empty()
            || article
                .topics
                .iter()
                .any(|t| alert.topics.contains(&t.topic)))
        && any_or(&alert.languages, article.language.as_deref())
        && any_or(&alert.sources, Some(&article.source))
}

/// What an alert says about an article (the webhook's JSON body, the file's line).
#[derive(Debug, Serialize, PartialEq)]
pub struct AlertMessage<'a> {
    /// The alert's name.
    pub alert: &'a str,
    /// The article's number in the store (its page: `/articles/{id}` on the daemon's server).
    pub id: i64,
    /// Its canonical URL.
    pub url: &'a str,
    /// Its title.
    pub title: Option<&'a str>,
    /// Its outlet.
    pub site_name: Option<&'a str>,
    /// The source that found it.
    pub source: &'a str,
    /// Its language.
    pub language: Option<&'a str>,
    /// When it was published, if known.
    pub published: Option<String>,
    /// Its relevance.
    pub relevance: f32,
    /// Its topics, with their scores.
    pub topics: Vec<(&'a str, f32)>,
    /// What it copies, if anything.
    pub duplicate_of: Option<&'a str>,
    /// The key a receiver can drop repeats by (the alert and a hash of the URL): the same
    /// article under the same alert always has the same one.
    pub idempotency_key: String,
}

impl<'a> AlertMessage<'a> {
    /// The message of `alert` for the article numbered `id`.
    pub fn new(alert: &'a AlertConfig, id: i64, article: &'a StoredArticle) -> Self {
        AlertMessage {
            alert: &alert.name,
            id,
            url: &article.url,
            title: article.title.as_deref(),
            site_name: article.site_name.as_deref(),
            source: &article.source,
            language: article.language.as_deref(),
            published: article.published.map(|p| p.to_rfc3339()),
            relevance: article.relevance,
            topics: article
                .topics
                .iter()
                .map(|t| (t.topic.as_str(), t.score))
                .collect(),
            duplicate_of: article.duplicate_of.as_ref().map(|d| d.id.as_str()),
            idempotency_key: idempotency_key(&alert.name, &article.url),
        }
    }
}

/// `<alert>-<first 16 hex digits of SHA-256 of the URL>`.
pub fn idempotency_key(alert: &str, url: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(url.as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("{alert}-{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use nichiro_model::{TaggedArticle, Tags, TopicTag};

    /// An article as the store gives it back.
    pub(crate) fn stored(relevance: f32, topic: &str, language: &str) -> StoredArticle {
        use nichiro_store::Store;
        let mut article = nichiro_model::Article::empty("https://news.example.org/1");
        article.language = Some(language.into());
        let tagged = TaggedArticle {
            article,
            tags: Tags {
                relevant: relevance >= 0.5,
                relevance,
                topics: vec![TopicTag {
                    topic: topic.into(),
                    score: 0.9,
                    evidence: vec![],
                }],
                ..Tags::default()
            },
            source: "tass".into(),
            requested_url: "https://news.example.org/1".into(),
            fetched_at: chrono::Utc::now(),
            raw_page: None,
        };
        let mut store = nichiro_store::SqliteStore::open_in_memory().unwrap();
        store.insert_batch(&[tagged]).unwrap();
        store.list(&Default::default(), None).unwrap().remove(0)
    }

    pub(crate) fn alert() -> AlertConfig {
        AlertConfig {
            name: "a".into(),
            min_relevance: 0.5,
            topics: vec![],
            languages: vec![],
            sources: vec![],
            skip_copies: true,
            webhook: None,
            file: Some("alerts.jsonl".into()),
            max_attempts: 3,
            retry_base_ms: 1,
        }
    }

    #[test]
    fn an_alert_takes_relevant_articles_above_its_bar_of_its_topics_languages_and_sources() {
        let base = alert();
        assert!(qualifies(&base, &stored(0.9, "peace-treaty", "ru")));
        assert!(
            !qualifies(&base, &stored(0.3, "peace-treaty", "ru")),
            "not relevant"
        );
        let strict = AlertConfig {
            min_relevance: 0.95,
            ..base.clone()
        };
        assert!(!qualifies(&strict, &stored(0.9, "peace-treaty", "ru")));
        let topics = AlertConfig {
            topics: vec!["territorial-dispute".into()],
            ..base.clone()
        };
        assert!(!qualifies(&topics, &stored(0.9, "peace-treaty", "ru")));
        assert!(qualifies(
            &topics,
            &stored(0.9, "territorial-dispute", "ru")
        ));
        let languages = AlertConfig {
            languages: vec!["ja".into()],
            ..base.clone()
        };
        assert!(!qualifies(&languages, &stored(0.9, "peace-treaty", "ru")));
        let sources = AlertConfig {
            sources: vec!["nhk".into()],
            ..base
        };
        assert!(!qualifies(&sources, &stored(0.9, "peace-treaty", "ru")));
    }

    #[test]
    fn the_idempotency_key_is_the_same_for_the_same_article_and_alert() {
        let a = idempotency_key("islands", "https://news.example.org/1");
        assert_eq!(a, idempotency_key("islands", "https://news.example.org/1"));
        assert_ne!(a, idempotency_key("islands", "https://news.example.org/2"));
        assert!(a.starts_with("islands-") && a.len() == "islands-".len() + 16);
    }
}

//! The messages that flow between nichiro's stages, and nothing else.
//!
//! ```text
//! sources ──FetchJob──▶ fetch ──RawPage──▶ clean ──Article──▶ tag ──TaggedArticle──▶ store
//! ```
//!
//! Every type here is a plain serde struct with no behaviour beyond small helpers, so that one
//! day an arrow can cross a process boundary. This crate does no I/O and knows nothing of
//! HTTP, HTML, SQLite or tokio: those belong to the stage crates. (The exceptions are small
//! shared helpers: [`file_url`], which resolves a path so that every stage names a local file
//! alike, [`parse_date`], which reads the date formats of feeds, sitemaps and pages, and
//! [`check_range`], which every config section uses to refuse numbers out of range.)
//!
//! ```
//! use nichiro_model::{Article, PageKind};
//! let article = Article::empty("https://example.org/a");
//! assert_eq!(article.kind, PageKind::Article);
//! assert!(article.paragraphs().next().is_none());
//! ```

mod dates;
pub mod manifest;
mod ranges;

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};

pub use dates::parse_date;
pub use ranges::{check_optional_range, check_range};

/// What the sources stage asks the fetch stage to get.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub enum FetchJob {
    /// A page to fetch over HTTP(S).
    Remote(RemoteJob),
    /// A page whose bytes the source already holds (a local file, a WARC record): the fetch
    /// stage passes it on without touching the network.
    Local(RawPage),
}

impl FetchJob {
    /// The address the job is for (requested URL for remote jobs, page URL for local ones).
    pub fn url(&self) -> &str {
        match self {
            FetchJob::Remote(job) => &job.url,
            FetchJob::Local(page) => &page.requested_url,
        }
    }

    /// The name of the source that produced this job.
    pub fn source(&self) -> &str {
        match self {
            FetchJob::Remote(job) => &job.source,
            FetchJob::Local(page) => &page.source,
        }
    }
}

/// A page to fetch over the network, with what the source already knows about it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RemoteJob {
    /// The URL to request, as found by the source.
    pub url: String,
    /// Name of the source (`[[source]] name` in the config).
    pub source: String,
    /// What the source (a feed item, a sitemap entry) says about the page.
    pub hints: ItemHints,
}

/// Metadata a source knows about an item before its page is fetched (from a feed entry, for
/// example). The cleaner prefers what the page itself says and falls back to these.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ItemHints {
    /// Title as given by the feed.
    pub title: Option<String>,
    /// Publication time as given by the feed.
    pub published: Option<DateTime<FixedOffset>>,
    /// Language the source is configured with (`language = "ru"`), a hint only.
    pub language: Option<String>,
}

/// What was fetched: the bytes of one page and how they were obtained.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RawPage {
    /// The URL that was requested (for local files, a `file://` URL).
    pub requested_url: String,
    /// The URL the bytes came from after redirects.
    pub final_url: String,
    /// HTTP status (200 for local files and archive records without one).
    pub status: u16,
    /// The `Content-Type` header, untouched (the cleaner reads the charset from it).
    pub content_type: Option<String>,
    /// The `ETag` header, if any.
    pub etag: Option<String>,
    /// The `Last-Modified` header, if any.
    pub last_modified: Option<String>,
    /// The body, as received (after transfer decompression).
    pub body: Vec<u8>,
    /// When the fetch completed.
    pub fetched_at: DateTime<Utc>,
    /// Name of the source that led here.
    pub source: String,
    /// What the source knew before the fetch.
    pub hints: ItemHints,
}

/// What kind of page the cleaner found.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PageKind {
    /// A page with an article's text.
    #[default]
    Article,
    /// A page with too little text of its own to be an article (an index, an error page).
    NotArticle,
}

/// A cleaned article: its own text and its metadata, in any language.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Article {
    /// Canonical URL: `rel=canonical` when the page gives one, else the final URL.
    pub url: String,
    /// Title without the site-name suffix.
    pub title: Option<String>,
    /// Authors named by the page.
    pub authors: Vec<String>,
    /// Publication time, with the page's time zone when it gives one.
    pub published: Option<DateTime<FixedOffset>>,
    /// ISO 639-1 language code (`en`, `ru`, `ja`, …) when it could be told.
    pub language: Option<String>,
    /// The article's text: paragraphs separated by one blank line.
    pub text: String,
    /// Name of the site or outlet.
    pub site_name: Option<String>,
    /// Short description (meta description or OpenGraph).
    pub description: Option<String>,
    /// Absolute URLs of links found in the article's body.
    pub links: Vec<String>,
    /// Whether this looks like an article at all.
    pub kind: PageKind,
    /// Last modification time, when the page gives one.
    #[serde(default)]
    pub modified: Option<DateTime<FixedOffset>>,
    /// Absolute URL of the lead image.
    #[serde(default)]
    pub image: Option<String>,
    /// The site's section (World, Politics).
    #[serde(default)]
    pub section: Option<String>,
    /// Keywords or tags the page gives.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// For each metadata field found, the signal it came from: `json-ld`, `opengraph`,
    /// `meta`, `title-tag`, `h1`, `time-element`, `rel-author`, `rel-canonical`, `html-lang`,
    /// `url`, `text`, `whatlang`, `source` (the feed or folder's hint).
    #[serde(default)]
    pub signals: std::collections::BTreeMap<String, String>,
}

impl Article {
    /// An article with only a URL, for building up in tests and by the cleaner.
    pub fn empty(url: impl Into<String>) -> Self {
        Article {
            url: url.into(),
            title: None,
            authors: Vec::new(),
            published: None,
            language: None,
            text: String::new(),
            site_name: None,
            description: None,
            links: Vec::new(),
            kind: PageKind::Article,
            modified: None,
            image: None,
            section: None,
            keywords: Vec::new(),
            signals: std::collections::BTreeMap::new(),
        }
    }

    /// The paragraphs of the text, in order, without empty ones.
    pub fn paragraphs(&self) -> impl Iterator<Item = &str> {
        self.text
            .split("\n\n")
            .map(str::trim)
            .filter(|p| !p.is_empty())
    }
}

/// One topic the tagger assigned, with why.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TopicTag {
    /// Topic id from `topics.toml` (`territorial-dispute`, …).
    pub topic: String,
    /// Strength in [0, 1].
    pub score: f32,
    /// The terms found in the text that triggered the topic, most frequent first.
    pub evidence: Vec<String>,
}

/// A document of the corpus or the store that an article relates to.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RelatedDoc {
    /// Corpus file name (`corpus:004_…txt`) or stored article URL.
    pub id: String,
    /// Its title, when known.
    pub title: Option<String>,
    /// Cosine similarity in [0, 1].
    pub similarity: f32,
}

/// A stored text that an article copies or lightly rewrites.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DuplicateOf {
    /// Corpus id or stored article URL of the original.
    pub id: String,
    /// Share of this article's word shingles found in the original, in [0, 1].
    pub shared: f32,
}

/// What the tagger says about an article.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Tags {
    /// Whether the article is about Russia–Japan relations.
    pub relevant: bool,
    /// Relevance score in [0, 1]; 0.5 is the decision boundary.
    pub relevance: f32,
    /// What moved the relevance score most: `feature: contribution` to its log-odds,
    /// largest first (`both_sides: +2.31`, `cue:sports: -1.40`).
    #[serde(default)]
    pub relevance_evidence: Vec<String>,
    /// Topics with scores and evidence, strongest first.
    pub topics: Vec<TopicTag>,
    /// Most similar corpus and stored documents, most similar first (the text this one
    /// copies among them, by at least the share of text in common).
    pub related: Vec<RelatedDoc>,
    /// The stored text this one copies, if any: most of this text is in it.
    pub duplicate_of: Option<DuplicateOf>,
    /// A stored text this one shares a passage with (a background paragraph reused) without
    /// being its copy, and how much of this text that passage is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shares_text_with: Option<DuplicateOf>,
    /// People, places and organisations of the gazetteer it mentions, most mentioned first.
    #[serde(default)]
    pub entities: Vec<EntityTag>,
    /// Which tagger gave the verdict: a fingerprint of its taxonomy, gazetteer, model and
    /// thresholds (empty when unknown), so that `nichiro retag` knows what is out of date.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub tagger: String,
}

/// An entity of the gazetteer found in an article, whatever language named it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EntityTag {
    /// Gazetteer id (`lavrov`, `iturup`): the same in every language.
    pub id: String,
    /// Display name (English).
    pub name: String,
    /// `person`, `place` or `organisation`.
    pub kind: String,
    /// How many times it is mentioned.
    pub mentions: usize,
    /// The names it was found by, as the gazetteer writes them (`Лавров`, `ラブロフ`).
    pub found_as: Vec<String>,
}

/// An article with its tags and provenance: what the store keeps.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TaggedArticle {
    /// The cleaned article.
    pub article: Article,
    /// The tagger's verdict.
    pub tags: Tags,
    /// Name of the source it came from.
    pub source: String,
    /// The URL that was requested (may differ from the canonical `article.url`).
    pub requested_url: String,
    /// When it was fetched.
    pub fetched_at: DateTime<Utc>,
    /// The page as fetched, kept when `[store] keep_raw_html` is on; never in JSON.
    #[serde(skip)]
    pub raw_page: Option<ArchivedPage>,
}

/// What a source remembers of one sitemap besides its configured one (a child of an index,
/// or one robots.txt names): its validators, for a conditional GET, and, for an index, the
/// sitemaps it names, to ask again when the index answers 304.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownSitemap {
    /// Its `ETag`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// Its `Last-Modified`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    /// The sitemaps it names, when it is an index.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<String>,
}

/// What is known of a source's last poll, kept in the store so that a restarted daemon
/// keeps to the source's schedule and a user can see how each source fares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourcePoll {
    /// When the last poll ended.
    pub polled_at: DateTime<Utc>,
    /// When the daemon meant to poll it next (none after a backfill's one poll).
    pub next_poll_at: Option<DateTime<Utc>>,
    /// Polls in a row that failed (0 after a poll that worked).
    pub failures: u64,
    /// The last failed poll's error, while polls keep failing.
    pub last_error: Option<String>,
    /// When the polls failing in a row began to fail (none after a poll that worked).
    #[serde(default)]
    pub failing_since: Option<DateTime<Utc>>,
}

/// A fetched page's bytes kept for the archive, gzip-compressed, with their Content-Type.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ArchivedPage {
    /// The response's Content-Type.
    pub content_type: Option<String>,
    /// The body, gzip-compressed.
    pub gzip: Vec<u8>,
}

/// The `file://` URL by which every stage names a local file: the canonical absolute path
/// when the file exists (so `config/../corpus/a.txt` and `corpus/a.txt` are one file), else
/// the path made absolute.
pub fn file_url(path: &std::path::Path) -> String {
    let absolute = std::fs::canonicalize(path)
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| path.to_path_buf());
    url::Url::from_file_path(&absolute)
        .map(|u| u.to_string())
        .unwrap_or_else(|()| format!("file://{}", absolute.display()))
}

/// The address under which a file read from a local folder is stored:
/// `dir:/<folder name>/<path inside the folder>`, percent-encoded like a URL path.
///
/// It names the folder by its own name and the file by its place inside, never by where the
/// folder sits, so a moved or copied install (or the Docker image's `/app/corpus`) finds the
/// documents it stored before. `root` is the folder a source reads (a file's parent folder
/// when the source is one file); `None` when `file` is not inside it or the folder has no name.
pub fn dir_document_url(root: &std::path::Path, file: &std::path::Path) -> Option<String> {
    let mut url = url::Url::parse("dir:/").ok()?;
    url.path_segments_mut()
        .ok()?
        .clear()
        .extend(dir_document_parts(root, file)?);
    Some(url.to_string())
}

/// The id the tagger gives a corpus document (`corpus:<file>`) stored under `url`, the
/// address of a file of a `dir` source ([`dir_document_url`]: `dir:/<folder>/<file>`); `None`
/// for other addresses.
pub fn corpus_id_of(url: &str) -> Option<String> {
    let path = url.strip_prefix("dir:/")?;
    let (_, file) = path.split_once('/')?;
    (!file.is_empty() && !file.contains('%')).then(|| format!("corpus:{file}"))
}

/// The names [`dir_document_url`] joins: the folder's name, then the path inside it.
pub fn dir_document_parts(root: &std::path::Path, file: &std::path::Path) -> Option<Vec<String>> {
    let absolute = |p: &std::path::Path| {
        std::fs::canonicalize(p)
            .or_else(|_| std::path::absolute(p))
            .unwrap_or_else(|_| p.to_path_buf())
    };
    let root = if root.is_file() { root.parent()? } else { root };
    // A file reached through a link inside the folder keeps the link's place, so its path is
    // compared as given before both are made canonical.
    let inside = match file.strip_prefix(root) {
        Ok(inside) => inside.to_path_buf(),
        Err(_) => absolute(file)
            .strip_prefix(absolute(root))
            .ok()?
            .to_path_buf(),
    };
    let mut parts = vec![absolute(root).file_name()?.to_string_lossy().into_owned()];
    for part in inside.components() {
        match part {
            std::path::Component::Normal(name) => parts.push(name.to_string_lossy().into_owned()),
            std::path::Component::CurDir => {}
            _ => return None,
        }
    }
    (parts.len() > 1).then_some(parts)
}

/// The names along the path a `file://` URL names (`["work", "corpus", "a.txt"]`), to match
/// addresses stored before [`dir_document_url`] against its; `None` for other URLs.
pub fn file_url_parts(stored: &str) -> Option<Vec<String>> {
    let path = url::Url::parse(stored).ok()?.to_file_path().ok()?;
    Some(
        path.components()
            .filter_map(|c| match c {
                std::path::Component::Normal(name) => Some(name.to_string_lossy().into_owned()),
                _ => None,
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_corpus_document_stored_from_its_folder_has_its_corpus_id() {
        assert_eq!(
            super::corpus_id_of("dir:/corpus/004_3f926fbd34ea6708.txt").as_deref(),
            Some("corpus:004_3f926fbd34ea6708.txt")
        );
        assert_eq!(
            super::corpus_id_of("https://example.org/corpus/x.txt"),
            None
        );
        assert_eq!(super::corpus_id_of("dir:/corpus"), None);
    }

    use super::*;

    #[test]
    fn a_dir_document_is_named_by_its_folder_and_place_not_by_where_the_folder_sits() {
        let here = std::env::temp_dir().join(format!("nichiro-dir-url-{}", std::process::id()));
        let (a, b) = (here.join("a/corpus"), here.join("b/deeper/corpus"));
        for root in [&a, &b] {
            std::fs::create_dir_all(root.join("sub dir")).unwrap();
            std::fs::write(root.join("sub dir/日露.txt"), "x").unwrap();
        }
        let url = dir_document_url(&a, &a.join("sub dir/日露.txt")).unwrap();
        assert_eq!(url, "dir:/corpus/sub%20dir/%E6%97%A5%E9%9C%B2.txt");
        assert_eq!(
            dir_document_url(&b, &b.join("sub dir/日露.txt")).unwrap(),
            url
        );
        // Named the same from a relative folder, from the file itself, and through `..`.
        assert_eq!(
            dir_document_url(&a.join("sub dir/../"), &a.join("sub dir/日露.txt")).unwrap(),
            url
        );
        let file = a.join("sub dir/日露.txt");
        assert_eq!(
            dir_document_url(&file, &file).unwrap(),
            "dir:/sub%20dir/%E6%97%A5%E9%9C%B2.txt"
        );
        assert_eq!(dir_document_url(&a, &b.join("sub dir/日露.txt")), None);
        // What a stored `file://` address names, to match it against the new name.
        let parts = file_url_parts(&file_url(&file)).unwrap();
        assert!(parts.ends_with(&dir_document_parts(&a, &file).unwrap()));
        std::fs::remove_dir_all(&here).unwrap();
    }

    #[test]
    fn paragraphs_skip_blank_runs() {
        let mut article = Article::empty("u");
        article.text = "one\n\n\n\ntwo\n\n  \n\nthree".into();
        assert_eq!(
            article.paragraphs().collect::<Vec<_>>(),
            ["one", "two", "three"]
        );
    }

    #[test]
    fn messages_round_trip_through_json() {
        let job = FetchJob::Remote(RemoteJob {
            url: "https://example.org/a".into(),
            source: "s".into(),
            hints: ItemHints {
                title: Some("T".into()),
                ..ItemHints::default()
            },
        });
        let json = serde_json::to_string(&job).unwrap();
        assert_eq!(serde_json::from_str::<FetchJob>(&json).unwrap(), job);
        assert_eq!(job.url(), "https://example.org/a");
        assert_eq!(job.source(), "s");
    }
}

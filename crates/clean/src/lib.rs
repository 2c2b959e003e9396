//! nichiro's cleaner: turns a fetched page (bytes plus its Content-Type) into an [`Article`]
//! — the article's own text, in paragraphs, and its metadata.
//!
//! It is synchronous and pure: no network, no files, no async runtime. It decodes any charset
//! ([`charset`]), finds the main content of HTML pages ([`extract`]), reads metadata
//! ([`metadata`]), and handles plain text with a line-level boilerplate classifier
//! ([`plain_text`]). It is not a fetcher and does not tag.
//!
//! ```
//! use nichiro_clean::{clean_bytes, Limits};
//! let html = b"<html><head><title>Talks in Tokyo | Example News</title></head><body>
//!   <nav><a href='/'>Home</a> <a href='/world'>World</a></nav>
//!   <article><p>Russian Foreign Minister Sergei Lavrov met Japanese Foreign Minister Taro Kono
//!   in Tokyo on Friday, and the two discussed a peace treaty, the islands and joint projects.</p>
//!   <p>Both sides agreed to continue the talks, according to officials of the two ministries.</p>
//!   </article></body></html>";
//! let article = clean_bytes(html, Some("text/html"), "https://example.org/a", &Limits::default()).unwrap();
//! assert_eq!(article.title.as_deref(), Some("Talks in Tokyo"));
//! assert_eq!(article.paragraphs().count(), 2);
//! assert!(!article.text.contains("Home"));
//! ```

pub mod binary;
pub mod charset;
pub mod extract;
pub mod human_dates;
pub mod metadata;
pub mod parse;
pub mod plain_text;

use std::time::{Duration, Instant};

use nichiro_model::{Article, ItemHints, PageKind, RawPage};
use serde::{Deserialize, Serialize};
use url::Url;

pub use nichiro_model::parse_date;

/// Limits for hostile or broken input.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest input accepted, in bytes. Default 8 MiB.
    pub max_bytes: usize,
    /// Deepest DOM nesting walked. Default 512.
    pub max_depth: usize,
    /// Longest time spent extracting one page, in milliseconds. Default 2000.
    pub max_millis: u64,
    /// Shortest text, in characters (a CJK character counts as three), for a page to count as
    /// an article. Default 250.
    pub min_article_chars: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 8 * 1024 * 1024,
            max_depth: 512,
            max_millis: 2000,
            min_article_chars: 250,
        }
    }
}

impl Limits {
    /// Checks every number against its range, naming the key of one out of range.
    pub fn validate(&self) -> Result<(), String> {
        use nichiro_model::check_range as range;
        range("clean.max_bytes", self.max_bytes, 1024, 1 << 30)?;
        range("clean.max_depth", self.max_depth, 8, 10_000)?;
        range("clean.max_millis", self.max_millis, 1, 600_000)?;
        range(
            "clean.min_article_chars",
            self.min_article_chars,
            0,
            1_000_000,
        )
    }

    /// `max_millis` as a duration.
    pub fn max_time(&self) -> Duration {
        Duration::from_millis(self.max_millis)
    }
}

/// Why a page could not be cleaned.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CleanError {
    /// The input is larger than `max_bytes`.
    #[error("page is {bytes} bytes, over the limit of {max_bytes}")]
    TooLarge {
        /// Size of the input.
        bytes: usize,
        /// The limit.
        max_bytes: usize,
    },
    /// The DOM nests deeper than `max_depth`.
    #[error("page nests deeper than {max_depth} elements")]
    TooDeep {
        /// The limit.
        max_depth: usize,
    },
    /// The bytes are no text (an image, a PDF, an archive, random bytes).
    #[error("page is not text: {kind}, by its first bytes")]
    NotText {
        /// What the bytes are, as far as their first bytes tell.
        kind: &'static str,
    },
    /// Extraction took longer than `max_millis`.
    #[error("page took longer than {max_millis} ms to clean")]
    TooSlow {
        /// The limit.
        max_millis: u64,
    },
}

/// What the input is, judged from its Content-Type and first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// HTML or XHTML.
    Html,
    /// Plain text.
    Text,
}

/// Decides whether bytes are HTML or plain text.
pub fn sniff_format(bytes: &[u8], content_type: Option<&str>) -> InputFormat {
    if let Some(ct) = content_type {
        let mime = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if mime == "text/plain" {
            return InputFormat::Text;
        }
        if mime.contains("html") {
            return InputFormat::Html;
        }
    }
    let head: Vec<u8> = bytes
        .iter()
        .take(2048)
        .map(u8::to_ascii_lowercase)
        .collect();
    let looks_html = [
        &b"<!doctype"[..],
        b"<html",
        b"<head",
        b"<body",
        b"<p>",
        b"<div",
        b"<meta",
    ]
    .iter()
    .any(|tag| head.windows(tag.len()).any(|w| w == *tag));
    if looks_html {
        InputFormat::Html
    } else {
        InputFormat::Text
    }
}

/// Cleans a fetched page, using the source's hints where the page says nothing.
pub fn clean_page(page: &RawPage, limits: &Limits) -> Result<Article, CleanError> {
    let mut article = clean_bytes(
        &page.body,
        page.content_type.as_deref(),
        &page.final_url,
        limits,
    )?;
    apply_hints(&mut article, &page.hints);
    Ok(article)
}

/// Cleans bytes of HTML or plain text found at `url`.
pub fn clean_bytes(
    bytes: &[u8],
    content_type: Option<&str>,
    url: &str,
    limits: &Limits,
) -> Result<Article, CleanError> {
    if bytes.len() > limits.max_bytes {
        return Err(CleanError::TooLarge {
            bytes: bytes.len(),
            max_bytes: limits.max_bytes,
        });
    }
    // UTF-16 declared only in the header, without a byte-order mark, is half NULs.
    let utf16 = content_type
        .and_then(charset::charset_from_content_type)
        .is_some_and(|e| e == encoding_rs::UTF_16LE || e == encoding_rs::UTF_16BE);
    if let Some(kind) = binary::not_text(bytes).filter(|_| !utf16) {
        return Err(CleanError::NotText { kind });
    }
    let started = Instant::now();
    let decoded = charset::decode(bytes, content_type);
    // A NUL is no text, and databases refuse it (PostgreSQL rejects the whole row).
    let text = decoded.text.replace('\0', "");
    match sniff_format(bytes, content_type) {
        InputFormat::Html => clean_html(&text, url, limits, started),
        InputFormat::Text => Ok(clean_text(&text, url, limits)),
    }
}

/// Cleans an HTML document given as text.
pub fn clean_html(
    html: &str,
    url: &str,
    limits: &Limits,
    started: Instant,
) -> Result<Article, CleanError> {
    let document = parse::parse_document(html, limits, started)?;
    let meta = metadata::read(&document);
    let content = extract::main_content(&document, limits, started)?;
    let base = Url::parse(url).ok();
    let mut article = Article::empty(canonical_url(url, base.as_ref(), meta.canonical.as_deref()));
    let mut paragraphs = content.paragraphs;
    // A heading that repeats the title is not body text.
    if let (Some(title), Some(first)) = (meta.title.as_deref(), paragraphs.first())
        && first == title
    {
        paragraphs.remove(0);
    }
    article.text = paragraphs.join("\n\n");
    let headline = meta.title.clone();
    article.title = meta.title;
    article.authors = meta.authors;
    let mut signals = meta.signals;
    // A page's text, scripts and styles left out, for a labeled date anywhere in it.
    let page_text = || -> String {
        let mut out = String::new();
        for node in document.tree.nodes() {
            if let Some(text) = node.value().as_text() {
                let hidden = node
                    .parent()
                    .and_then(|p| p.value().as_element().map(|e| e.name()))
                    .is_some_and(|name| matches!(name, "script" | "style" | "noscript"));
                if !hidden {
                    out.push_str(text);
                    out.push(' ');
                }
            }
        }
        out
    };
    let url_date = human_dates::date_from_url(&article.url);
    // Without a date in the metadata: the URL, then a date written near the top of the text.
    article.published = meta.published.or_else(|| {
        let head: String = article.text.chars().take(600).collect();
        // The day in the article's own address is the day the outlet filed it under: it
        // outranks a dateline (which may carry the day of the event).
        let (signal, date) = human_dates::date_from_url(&article.url)
            .map(|d| ("url", d))
            .or_else(|| {
                content
                    .datelines
                    .iter()
                    .find_map(|line| human_dates::find_date(line))
                    .map(|d| ("dateline", d))
            })
            .or_else(|| meta.markup_date.map(|d| ("date-markup", d)))
            .or_else(|| human_dates::find_date(&head).map(|d| ("text", d)))
            .or_else(|| {
                let text = page_text();
                human_dates::find_labeled_date(&text)
                    .map(|d| ("labeled", d))
                    .or_else(|| {
                        let headline = headline.as_deref()?;
                        human_dates::find_date_after_headline(&text, headline)
                            .map(|d| ("under-headline", d))
                    })
            })?;
        signals.insert("published".into(), signal.into());
        Some(date)
    });
    // A metadata time in UTC one day off the date in the article's own URL was written in
    // the outlet's zone on the URL's day: the same moment, given the nearest whole-hour
    // offset that puts it on that day (the true zone is not written anywhere).
    if let (Some(published), Some(url_day)) = (article.published, url_date)
        && published.offset().local_minus_utc() == 0
        && let Some(local) = on_day(published, url_day.date_naive())
    {
        article.published = Some(local);
        signals.insert("published".into(), "url".into());
    }
    article.modified = meta.modified;
    article.image = meta.image.and_then(|i| match &base {
        Some(base) => base.join(&i).ok().map(|u| u.to_string()),
        None => Some(i),
    });
    article.section = meta.section;
    article.keywords = meta.keywords;
    article.site_name = meta.site_name;
    article.description = meta.description;
    article.language = match detect_language(&article.text) {
        Some(language) => {
            signals.insert("language".into(), "whatlang".into());
            Some(language)
        }
        None => meta.lang_attr,
    };
    article.signals = signals;
    article.links = resolve_links(base.as_ref(), content.links);
    article.kind = kind_of(&article.text, limits);
    Ok(article)
}

/// `moment` expressed in the whole-hour offset nearest UTC (at most 12 hours west or 14 east)
/// that puts it on `day`, when `day` is the day before or after its UTC date.
fn on_day(
    moment: chrono::DateTime<chrono::FixedOffset>,
    day: chrono::NaiveDate,
) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    let hours: Vec<i32> = match (day - moment.date_naive()).num_days() {
        -1 => (1..=12).map(|h| -h).collect(),
        1 => (1..=14).collect(),
        _ => return None,
    };
    hours
        .into_iter()
        .filter_map(|h| chrono::FixedOffset::east_opt(h * 3600))
        .map(|zone| moment.with_timezone(&zone))
        .find(|local| local.date_naive() == day)
}

/// Cleans plain text (one paragraph per line), dropping boilerplate lines.
pub fn clean_text(text: &str, url: &str, limits: &Limits) -> Article {
    let classified = plain_text::classify(text);
    let mut article = Article::empty(url);
    article.text = classified.paragraphs.join("\n\n");
    article.title = classified.title;
    if article.title.is_some() {
        article.signals.insert("title".into(), "text".into());
    }
    // A dateline usually sits in the first lines, boilerplate included.
    let head: String = text.lines().take(25).collect::<Vec<_>>().join("\n");
    article.published = human_dates::find_date(&head);
    if article.published.is_some() {
        article.signals.insert("published".into(), "text".into());
    }
    article.language = detect_language(&article.text);
    if article.language.is_some() {
        article.signals.insert("language".into(), "whatlang".into());
    }
    article.kind = kind_of(&article.text, limits);
    article
}

/// Fills what the page did not say from what the source knew.
pub fn apply_hints(article: &mut Article, hints: &ItemHints) {
    if article.title.is_none() && hints.title.is_some() {
        article.title.clone_from(&hints.title);
        article.signals.insert("title".into(), "source".into());
    }
    if article.published.is_none() && hints.published.is_some() {
        article.published = hints.published;
        article.signals.insert("published".into(), "source".into());
    }
    if article.language.is_none() && hints.language.is_some() {
        article.language.clone_from(&hints.language);
        article.signals.insert("language".into(), "source".into());
    }
}

fn kind_of(text: &str, limits: &Limits) -> PageKind {
    if extract::text_weight(&[text]) >= limits.min_article_chars {
        PageKind::Article
    } else {
        PageKind::NotArticle
    }
}

/// ISO 639-1 code of the text's language, when whatlang is confident.
pub fn detect_language(text: &str) -> Option<String> {
    let sample: String = text.chars().take(500).collect();
    let info = whatlang::detect(&sample)?;
    if !info.is_reliable() && info.confidence() < 0.5 {
        return None;
    }
    use whatlang::Lang::*;
    let code = match info.lang() {
        Eng => "en",
        Rus => "ru",
        Jpn => "ja",
        Ukr => "uk",
        Cmn => "zh",
        Kor => "ko",
        Fra => "fr",
        Deu => "de",
        Spa => "es",
        Ita => "it",
        Por => "pt",
        Bel => "be",
        Bul => "bg",
        Srp => "sr",
        Pol => "pl",
        other => return Some(other.code().to_string()),
    };
    Some(code.to_string())
}

fn canonical_url(url: &str, base: Option<&Url>, canonical: Option<&str>) -> String {
    let resolved = canonical.and_then(|c| match base {
        Some(base) => base.join(c).ok(),
        None => Url::parse(c).ok(),
    });
    match resolved {
        Some(mut u) if matches!(u.scheme(), "http" | "https") => {
            u.set_fragment(None);
            u.to_string()
        }
        _ => url.to_string(),
    }
}

fn resolve_links(base: Option<&Url>, hrefs: Vec<String>) -> Vec<String> {
    let mut links: Vec<String> = Vec::new();
    for href in hrefs {
        let resolved = match base {
            Some(base) => base.join(&href).ok(),
            None => Url::parse(&href).ok(),
        };
        if let Some(mut u) = resolved
            && matches!(u.scheme(), "http" | "https")
        {
            u.set_fragment(None);
            let s = u.to_string();
            if !links.contains(&s) {
                links.push(s);
            }
        }
    }
    links
}

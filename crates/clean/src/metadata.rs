//! Article metadata from a parsed HTML document: JSON-LD, OpenGraph and article meta tags,
//! `<time>`, `<title>`, `<link rel=canonical>`.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};
use scraper::{ElementRef, Html};
use serde_json::Value;

use nichiro_model::parse_date;

/// What the document says about itself.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Metadata {
    /// Title without the site-name suffix.
    pub title: Option<String>,
    /// Authors named by meta tags or JSON-LD.
    pub authors: Vec<String>,
    /// Publication time.
    pub published: Option<DateTime<FixedOffset>>,
    /// `<html lang>`, reduced to its primary subtag.
    pub lang_attr: Option<String>,
    /// `rel=canonical` or `og:url`, as written (maybe relative).
    pub canonical: Option<String>,
    /// Outlet name.
    pub site_name: Option<String>,
    /// Meta or OpenGraph description.
    pub description: Option<String>,
    /// Last modification time.
    pub modified: Option<DateTime<FixedOffset>>,
    /// The lead image, as written (maybe relative).
    pub image: Option<String>,
    /// The site's section (World, Politics).
    pub section: Option<String>,
    /// Keywords or tags the page gives.
    pub keywords: Vec<String>,
    /// A date written in the page's date-bearing markup (a byline's date span, an hAtom
    /// `published`), outside the metadata: the first such element that holds one.
    pub markup_date: Option<DateTime<FixedOffset>>,
    /// For each field found, the signal it came from (`json-ld`, `opengraph`, `meta`,
    /// `title-tag`, `h1`, `time-element`, `rel-author`, `rel-canonical`, `html-lang`).
    pub signals: BTreeMap<String, String>,
}

/// The raw signals of a document, gathered in one pass over its elements.
#[derive(Default)]
struct Signals {
    meta: MetaTags,
    title: Option<String>,
    h1: Option<String>,
    canonical: Option<String>,
    lang: Option<String>,
    json_ld: Vec<String>,
    times: Vec<String>,
    author_links: Vec<String>,
    /// Texts of elements whose class, id or itemprop says they hold a date (a byline's
    /// `<span class="publishingdate">`, hAtom's `<abbr class="published" title>`), in
    /// document order, those of comments and of other dates (updated, expiry) left out.
    date_markup: Vec<String>,
}

/// Most date-bearing elements read from one page.
const MAX_DATE_MARKUP: usize = 40;

/// Longest text a date-bearing element may have: longer ones are containers.
const MAX_DATE_MARKUP_CHARS: usize = 160;

/// Whether an element's class, id or itemprop says it holds the publication date.
fn holds_date(element: &ElementRef) -> bool {
    let value = element.value();
    let names: String = [
        value.attr("class"),
        value.attr("id"),
        value.attr("itemprop"),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ")
    .to_ascii_lowercase();
    if names.is_empty() {
        return false;
    }
    let dated = [
        "date", "time", "publish", "posted", "byline", "dateline", "datum", "meta",
    ]
    .iter()
    .any(|w| names.contains(w));
    let other = [
        "comment", "update", "modif", "expir", "until", "birth", "event", "timeline",
    ]
    .iter()
    .any(|w| names.contains(w));
    dated && !other && !in_comments(element)
}

/// Whether an element sits inside a comments section.
fn in_comments(element: &ElementRef) -> bool {
    element.ancestors().filter_map(ElementRef::wrap).any(|a| {
        [a.value().attr("class"), a.value().attr("id")]
            .into_iter()
            .flatten()
            .any(|n| n.to_ascii_lowercase().contains("comment"))
    })
}

fn gather(html: &Html) -> Signals {
    let mut signals = Signals::default();
    for node in html.tree.nodes() {
        let Some(element) = ElementRef::wrap(node) else {
            continue;
        };
        let value = element.value();
        match value.name() {
            "meta" => {
                let key = value
                    .attr("property")
                    .or_else(|| value.attr("name"))
                    .or_else(|| value.attr("itemprop"));
                if let (Some(key), Some(content)) = (key, value.attr("content")) {
                    let content = collapse(content);
                    if !content.is_empty() {
                        signals.meta.0.push((key.to_ascii_lowercase(), content));
                    }
                }
            }
            "title" if signals.title.is_none() => signals.title = Some(text_of(element)),
            "h1" if signals.h1.is_none() => {
                signals.h1 = Some(text_of(element)).filter(|t| !t.is_empty());
            }
            "link" if signals.canonical.is_none() => {
                let canonical = value.attr("rel").is_some_and(|r| {
                    r.split_whitespace()
                        .any(|r| r.eq_ignore_ascii_case("canonical"))
                });
                if canonical {
                    signals.canonical = value.attr("href").map(str::to_string);
                }
            }
            "html" if signals.lang.is_none() => {
                signals.lang = value.attr("lang").map(str::to_string)
            }
            "script"
                if value
                    .attr("type")
                    .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/ld+json")) =>
            {
                signals.json_ld.push(element.inner_html());
            }
            "time" => signals
                .times
                .extend(value.attr("datetime").map(str::to_string)),
            "a" if value.attr("rel").is_some_and(|r| {
                r.split_whitespace()
                    .any(|r| r.eq_ignore_ascii_case("author"))
            }) =>
            {
                signals.author_links.push(text_of(element));
            }
            _ if signals.date_markup.len() < MAX_DATE_MARKUP && holds_date(&element) => {
                // hAtom and microformats put the machine-readable date in `title`.
                let text = match (value.name(), value.attr("title")) {
                    ("abbr", Some(title)) => title.to_string(),
                    _ => text_of(element),
                };
                // A date, a byline or a line of post meta is short; a longer text is a
                // container (WordPress marks a whole post `status-publish`) whose first
                // date may be any date of the story.
                if !text.is_empty() && text.chars().count() <= MAX_DATE_MARKUP_CHARS {
                    signals.date_markup.push(text);
                }
            }
            _ => {}
        }
    }
    signals
}

/// Reads the document's metadata.
pub fn read(html: &Html) -> Metadata {
    let Signals {
        meta,
        title: page_title,
        h1,
        canonical,
        lang,
        json_ld,
        times,
        author_links,
        date_markup,
    } = gather(html);
    let parsed_ld: Vec<Value> = json_ld
        .iter()
        .filter_map(|text| serde_json::from_str::<Value>(text).ok())
        .collect();
    // A page that is no article by its JSON-LD (a `WebPage` node in a `@graph`) may still
    // say when it was published: below every article signal.
    let page_published: Vec<String> = parsed_ld
        .iter()
        .filter_map(|value| any_date_published(value, 0))
        .collect();
    let ld = parsed_ld
        .into_iter()
        .find_map(|value| find_article(value, 0));
    let mut signals = BTreeMap::new();
    let ld_text = |key: &str| ld.as_ref().and_then(|v| v.pointer(key)).and_then(as_text);

    let site_name = first(
        &mut signals,
        "site_name",
        vec![
            ("opengraph", meta.get(&["og:site_name"])),
            ("meta", meta.get(&["application-name"])),
            ("json-ld", ld_text("/publisher/name")),
        ],
    );
    let title = first(
        &mut signals,
        "title",
        vec![
            ("json-ld", ld_text("/headline")),
            ("opengraph", meta.get(&["og:title"])),
            ("meta", meta.get(&["twitter:title"])),
            ("h1", h1),
            ("title-tag", page_title),
        ],
    )
    .map(|t| strip_site_suffix(&t, site_name.as_deref()))
    .filter(|t| !t.is_empty());

    let mut authors: Vec<String> = Vec::new();
    let mut author_signal = None;
    if let Some(author) = ld.as_ref().and_then(|v| v.get("author")) {
        collect_names(author, &mut authors);
        author_signal = Some("json-ld");
    }
    if authors.is_empty() {
        authors.extend(meta.all(&["author", "article:author", "dc.creator", "byl"]));
        author_signal = Some("meta");
    }
    if authors.is_empty() {
        authors.extend(author_links);
        author_signal = Some("rel-author");
    }
    let mut authors: Vec<String> = authors
        .into_iter()
        .map(|a| {
            a.trim_start_matches("By ")
                .trim_start_matches("by ")
                .trim()
                .to_string()
        })
        .filter(|a| !a.is_empty() && !a.starts_with("http") && a.chars().count() < 80)
        .collect();
    authors.dedup();
    if let (false, Some(signal)) = (authors.is_empty(), author_signal) {
        signals.insert("authors".into(), signal.into());
    }

    let published = first_date(
        &mut signals,
        "published",
        vec![
            ("json-ld", ld_text("/datePublished").into_iter().collect()),
            (
                "opengraph",
                meta.all(&["article:published_time", "og:published_time"]),
            ),
            (
                "meta",
                meta.all(&[
                    "datepublished",
                    "pubdate",
                    "publishdate",
                    "date",
                    "dc.date.issued",
                    "dc.date",
                    "sailthru.date",
                ]),
            ),
            ("time-element", times),
            ("json-ld-page", page_published),
        ],
    );
    let modified = first_date(
        &mut signals,
        "modified",
        vec![
            ("json-ld", ld_text("/dateModified").into_iter().collect()),
            (
                "opengraph",
                meta.all(&["article:modified_time", "og:updated_time"]),
            ),
            (
                "meta",
                meta.all(&["datemodified", "last-modified", "dc.date.modified"]),
            ),
        ],
    );
    let image = first(
        &mut signals,
        "image",
        vec![
            ("opengraph", meta.get(&["og:image", "og:image:url"])),
            ("meta", meta.get(&["twitter:image", "twitter:image:src"])),
            (
                "json-ld",
                ld.as_ref()
                    .and_then(|v| v.get("image"))
                    .and_then(|i| match i {
                        Value::String(s) => Some(s.clone()),
                        Value::Array(items) => items.first().and_then(|f| {
                            f.as_str()
                                .map(str::to_string)
                                .or_else(|| f.get("url").and_then(as_text))
                        }),
                        Value::Object(_) => i.get("url").and_then(as_text),
                        _ => None,
                    }),
            ),
        ],
    );
    let section = first(
        &mut signals,
        "section",
        vec![
            ("json-ld", ld_text("/articleSection")),
            ("opengraph", meta.get(&["article:section"])),
            ("meta", meta.get(&["section", "category"])),
        ],
    );
    let keyword_list = |text: String| -> Vec<String> {
        text.split([',', ';', '、'])
            .map(collapse)
            .filter(|k| !k.is_empty())
            .collect()
    };
    let mut keywords: Vec<String> = meta.all(&["article:tag"]);
    if keywords.is_empty() {
        keywords = first(
            &mut signals,
            "keywords",
            vec![
                ("json-ld", ld_text("/keywords")),
                ("meta", meta.get(&["keywords", "news_keywords"])),
            ],
        )
        .map(keyword_list)
        .unwrap_or_default();
    } else {
        signals.insert("keywords".into(), "opengraph".into());
    }
    keywords.dedup();
    let lang_attr = lang
        .as_deref()
        .and_then(|l| l.split(['-', '_']).next())
        .map(|l| l.trim().to_ascii_lowercase())
        .filter(|l| !l.is_empty());
    if lang_attr.is_some() {
        signals.insert("language".into(), "html-lang".into());
    }
    let canonical = first(
        &mut signals,
        "canonical",
        vec![
            ("rel-canonical", canonical),
            ("opengraph", meta.get(&["og:url"])),
        ],
    );
    let description = first(
        &mut signals,
        "description",
        vec![
            ("meta", meta.get(&["description"])),
            ("opengraph", meta.get(&["og:description"])),
            ("meta", meta.get(&["twitter:description"])),
        ],
    );

    Metadata {
        title,
        authors,
        published,
        lang_attr,
        canonical,
        site_name,
        description,
        modified,
        image,
        section,
        keywords,
        markup_date: date_markup
            .iter()
            .find_map(|text| crate::human_dates::find_date(text)),
        signals,
    }
}

/// The first candidate that is there, recording its signal for `field`.
fn first(
    signals: &mut BTreeMap<String, String>,
    field: &str,
    candidates: Vec<(&str, Option<String>)>,
) -> Option<String> {
    let (signal, value) = candidates
        .into_iter()
        .find_map(|(signal, value)| value.filter(|v| !v.is_empty()).map(|v| (signal, v)))?;
    signals.insert(field.to_string(), signal.to_string());
    Some(value)
}

/// The first candidate that parses as a date, recording its signal for `field`.
fn first_date(
    signals: &mut BTreeMap<String, String>,
    field: &str,
    candidates: Vec<(&str, Vec<String>)>,
) -> Option<DateTime<FixedOffset>> {
    let (signal, date) = candidates.into_iter().find_map(|(signal, values)| {
        values
            .iter()
            .find_map(|v| parse_date(v))
            .map(|d| (signal, d))
    })?;
    signals.insert(field.to_string(), signal.to_string());
    Some(date)
}

#[derive(Default)]
struct MetaTags(Vec<(String, String)>);

impl MetaTags {
    /// The first value among `keys`, in the order of `keys`.
    fn get(&self, keys: &[&str]) -> Option<String> {
        keys.iter()
            .find_map(|k| self.0.iter().find(|(key, _)| key == k))
            .map(|(_, v)| v.clone())
    }

    fn all(&self, keys: &[&str]) -> Vec<String> {
        keys.iter()
            .flat_map(|k| self.0.iter().filter(move |(key, _)| key == k))
            .map(|(_, v)| v.clone())
            .collect()
    }
}

fn find_article(value: Value, depth: usize) -> Option<Value> {
    if depth > 4 {
        return None;
    }
    match value {
        Value::Array(items) => items.into_iter().find_map(|v| find_article(v, depth + 1)),
        Value::Object(mut map) => {
            let is_article = match map.get("@type") {
                Some(Value::String(t)) => is_article_type(t),
                Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).any(is_article_type),
                _ => false,
            };
            if is_article {
                return Some(Value::Object(map));
            }
            map.remove("@graph")
                .and_then(|g| find_article(g, depth + 1))
        }
        _ => None,
    }
}

/// The first `datePublished` of a JSON-LD page node (`WebPage`, `AboutPage`, …) in `value`,
/// a `@graph`'s included.
fn any_date_published(value: &Value, depth: usize) -> Option<String> {
    if depth > 4 {
        return None;
    }
    match value {
        Value::Array(items) => items.iter().find_map(|v| any_date_published(v, depth + 1)),
        Value::Object(map) => {
            let is_page = match map.get("@type") {
                Some(Value::String(t)) => t.ends_with("Page"),
                Some(Value::Array(ts)) => ts
                    .iter()
                    .filter_map(Value::as_str)
                    .any(|t| t.ends_with("Page")),
                _ => false,
            };
            is_page
                .then(|| map.get("datePublished").and_then(as_text))
                .flatten()
                .or_else(|| any_date_published(map.get("@graph")?, depth + 1))
        }
        _ => None,
    }
}

fn is_article_type(t: &str) -> bool {
    t.ends_with("Article") || matches!(t, "BlogPosting" | "Report" | "LiveBlogPosting")
}

fn collect_names(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(collapse(s)),
        Value::Array(items) => items.iter().for_each(|v| collect_names(v, out)),
        Value::Object(map) => {
            if let Some(name) = map.get("name").and_then(as_text) {
                out.push(name);
            }
        }
        _ => {}
    }
}

fn as_text(value: &Value) -> Option<String> {
    value.as_str().map(collapse).filter(|s| !s.is_empty())
}

fn text_of(element: ElementRef<'_>) -> String {
    collapse(&element.text().collect::<String>())
}

/// Collapses runs of whitespace to one space and trims.
pub(crate) fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Removes trailing (or leading) site names joined by `|`, `-`, `—`, `–`, `::` or `｜`
/// (`Title - Section | Site` loses both).
pub(crate) fn strip_site_suffix(title: &str, site_name: Option<&str>) -> String {
    let mut title = collapse(title);
    for _ in 0..3 {
        let stripped = strip_one_site_suffix(&title, site_name);
        if stripped == title {
            break;
        }
        title = stripped;
    }
    title
}

fn strip_one_site_suffix(title: &str, site_name: Option<&str>) -> String {
    const SEPARATORS: &[&str] = &[" | ", " - ", " — ", " – ", " :: ", "｜", " · "];
    for sep in SEPARATORS {
        if let Some((head, tail)) = title.rsplit_once(sep) {
            let tail_is_site = site_name.is_some_and(|s| tail.eq_ignore_ascii_case(s))
                || (tail.split_whitespace().count() <= 4 && head.split_whitespace().count() >= 3);
            if tail_is_site && !head.trim().is_empty() {
                return head.trim().to_string();
            }
            if let Some(site) = site_name
                && let Some((first, rest)) = title.split_once(sep)
                && first.eq_ignore_ascii_case(site)
            {
                return rest.trim().to_string();
            }
        }
    }
    title.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_suffix_is_stripped() {
        assert_eq!(
            strip_site_suffix("Lavrov meets Kono in Tokyo | The Japan Times", None),
            "Lavrov meets Kono in Tokyo"
        );
        assert_eq!(
            strip_site_suffix("TASS - Lavrov meets Kono in Tokyo", Some("TASS")),
            "Lavrov meets Kono in Tokyo"
        );
        assert_eq!(strip_site_suffix("Russia - Japan", None), "Russia - Japan");
    }

    #[test]
    fn a_web_page_node_dates_a_page_with_no_article_node_last() {
        let page = |extra: &str| {
            Html::parse_document(&format!(
                r#"<html><head>{extra}<script type="application/ld+json">{{"@graph":[
                {{"@type":"WebSite","name":"Shabka"}},
                {{"@type":"WebPage","name":"About us","datePublished":"2018-06-07T10:13:17+00:00"}}]}}
                </script></head><body></body></html>"#
            ))
        };
        let meta = read(&page(""));
        assert_eq!(
            meta.published.unwrap().date_naive().to_string(),
            "2018-06-07"
        );
        assert_eq!(meta.signals["published"], "json-ld-page");
        let meta = read(&page(
            r#"<meta property="article:published_time" content="2019-01-02T00:00:00Z">"#,
        ));
        assert_eq!(
            meta.published.unwrap().date_naive().to_string(),
            "2019-01-02"
        );
        // An embedded video's upload date is not the page's.
        let video = Html::parse_document(
            r#"<html><head><script type="application/ld+json">{"@graph":[
            {"@type":"VideoObject","datePublished":"2015-03-01"}]}</script></head></html>"#,
        );
        assert_eq!(read(&video).published, None);
    }

    #[test]
    fn json_ld_beats_meta_and_graph_is_searched() {
        let html = Html::parse_document(
            r#"<html lang="ru-RU"><head><title>Заголовок | ТАСС</title>
            <meta property="og:site_name" content="ТАСС">
            <meta property="article:published_time" content="2019-01-01T00:00:00Z">
            <script type="application/ld+json">{"@graph":[{"@type":"WebPage"},
              {"@type":"NewsArticle","headline":"Лавров и Коно","datePublished":"2019-05-10T14:08:00+03:00",
               "author":[{"@type":"Person","name":"Иван Петров"}]}]}</script>
            </head><body></body></html>"#,
        );
        let meta = read(&html);
        assert_eq!(meta.title.as_deref(), Some("Лавров и Коно"));
        assert_eq!(meta.authors, ["Иван Петров"]);
        assert_eq!(
            meta.published.unwrap().to_rfc3339(),
            "2019-05-10T14:08:00+03:00"
        );
        assert_eq!(meta.lang_attr.as_deref(), Some("ru"));
        assert_eq!(meta.site_name.as_deref(), Some("ТАСС"));
    }
}

#[cfg(test)]
mod more_tests {
    use super::*;

    #[test]
    fn every_field_says_where_it_came_from() {
        let html = Html::parse_document(
            r#"<html lang="ja"><head><title>日露首脳会談 | 北海ニュース</title>
            <meta property="og:image" content="/img/summit.jpg">
            <meta property="article:section" content="政治">
            <meta property="article:tag" content="日露"><meta property="article:tag" content="北方領土">
            <meta property="article:modified_time" content="2019-06-01T08:00:00+09:00">
            <meta name="description" content="首脳会談の詳報">
            <link rel="canonical" href="/seiji/1">
            </head><body><h1>日露首脳会談、平和条約交渉を継続</h1>
            <time datetime="2019-05-31T21:00:00+09:00">5月31日</time></body></html>"#,
        );
        let meta = read(&html);
        assert_eq!(
            meta.title.as_deref(),
            Some("日露首脳会談、平和条約交渉を継続")
        );
        assert_eq!(meta.image.as_deref(), Some("/img/summit.jpg"));
        assert_eq!(meta.section.as_deref(), Some("政治"));
        assert_eq!(meta.keywords, ["日露", "北方領土"]);
        assert_eq!(
            meta.modified.unwrap().to_rfc3339(),
            "2019-06-01T08:00:00+09:00"
        );
        let signals: Vec<(&str, &str)> = meta
            .signals
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            signals,
            [
                ("canonical", "rel-canonical"),
                ("description", "meta"),
                ("image", "opengraph"),
                ("keywords", "opengraph"),
                ("language", "html-lang"),
                ("modified", "opengraph"),
                ("published", "time-element"),
                ("section", "opengraph"),
                ("title", "h1"),
            ]
        );
    }
}

//! Finding feeds: the `<link rel="alternate">` tags of an HTML page that point to RSS, Atom or
//! JSON feeds. A light scan of the tags, not an HTML parser: the fetcher leaves parsing to the
//! cleaner, and `<link>` tags in a page's head are regular enough for this.

use std::sync::LazyLock;

use regex::Regex;
use url::Url;

static LINK_TAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?is)<link\b[^>]*>").expect("valid regex"));
static ATTRIBUTE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?s)([a-zA-Z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))"#)
        .expect("valid regex")
});

const FEED_TYPES: &[&str] = &[
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/json",
    "application/rdf+xml",
];

/// Whether a body looks like an HTML page rather than a feed.
pub fn looks_like_html(body: &[u8], content_type: Option<&str>) -> bool {
    if content_type.is_some_and(|ct| ct.to_ascii_lowercase().contains("html")) {
        return true;
    }
    let head: Vec<u8> = body.iter().take(1024).map(u8::to_ascii_lowercase).collect();
    [&b"<!doctype html"[..], b"<html"]
        .iter()
        .any(|tag| head.windows(tag.len()).any(|w| w == *tag))
}

/// The feed URLs an HTML page announces, absolute, in page order.
pub fn feed_links(html: &str, base: &str) -> Vec<String> {
    let base = Url::parse(base).ok();
    LINK_TAG
        .find_iter(html)
        .filter_map(|tag| {
            let mut rel = String::new();
            let mut kind = String::new();
            let mut href = None;
            for attr in ATTRIBUTE.captures_iter(tag.as_str()) {
                let value = attr
                    .get(2)
                    .or(attr.get(3))
                    .or(attr.get(4))
                    .map_or("", |m| m.as_str());
                match attr[1].to_ascii_lowercase().as_str() {
                    "rel" => rel = value.to_ascii_lowercase(),
                    "type" => kind = value.trim().to_ascii_lowercase(),
                    "href" => href = Some(value.trim().to_string()),
                    _ => {}
                }
            }
            let is_feed = rel.split_whitespace().any(|r| r == "alternate")
                && FEED_TYPES.contains(&kind.as_str());
            let href = href.filter(|_| is_feed)?;
            match &base {
                Some(base) => base.join(&href).ok().map(|u| u.to_string()),
                None => Url::parse(&href).ok().map(|u| u.to_string()),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alternate_feed_links_are_found_and_resolved() {
        let html = r#"<html><head>
            <link rel="stylesheet" href="/s.css">
            <link rel="alternate" type="application/rss+xml" title="News" href="/rss/news.xml">
            <LINK REL='alternate' TYPE='application/atom+xml' HREF='https://other.example/atom'>
            <link rel="alternate" hreflang="ru" href="/ru/">
            <link type="application/feed+json" rel="alternate" href=feed.json>
            </head><body></body></html>"#;
        assert_eq!(
            feed_links(html, "https://news.example/world/"),
            [
                "https://news.example/rss/news.xml",
                "https://other.example/atom",
                "https://news.example/world/feed.json",
            ]
        );
        assert!(looks_like_html(html.as_bytes(), None));
        assert!(!looks_like_html(
            b"<?xml version='1.0'?><rss>",
            Some("application/rss+xml")
        ));
    }
}

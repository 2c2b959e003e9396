//! RSS, Atom and JSON feeds (feed-rs), fetched with a conditional GET.

use chrono::{DateTime, FixedOffset, Utc};
use nichiro_model::{FetchJob, RawPage};
use tokio::sync::mpsc;

use super::{PollContext, Source, SourceError, discovery, feed_bytes, queue};
use crate::sites::link_refused;

pub(super) async fn poll(
    source: &mut Source,
    ctx: &PollContext,
    jobs: &mpsc::Sender<FetchJob>,
) -> Result<(), SourceError> {
    let name = source.config.name.clone();
    let mut url = source
        .discovered_feed
        .clone()
        .or_else(|| source.config.url.clone())
        .unwrap_or_default();
    let fetched = source
        .fetch_listing(ctx, &url, source.validators.as_ref())
        .await;
    // A discovered feed that is gone for good (moved, removed) is found again from the
    // configured page next time.
    if let Err(SourceError::Fetch { error, .. }) = &fetched
        && source.discovered_feed.is_some()
        && !error.is_transient()
    {
        tracing::warn!(source = %name, feed = %url, %error, "discovered feed gone; the page is asked again next poll");
        source.discovered_feed = None;
        source.validators = None;
    }
    let Some(mut response) = fetched? else {
        return Ok(());
    };
    // A web page instead of a feed: follow the feed it announces (once; later polls go there).
    if source.discovered_feed.is_none()
        && discovery::looks_like_html(&response.body, response.content_type.as_deref())
    {
        let html = String::from_utf8_lossy(&response.body);
        let Some(found) = discovery::feed_links(&html, &response.final_url)
            .into_iter()
            .next()
        else {
            return Err(SourceError::Parse {
                source_name: name,
                url,
                message: "an HTML page that announces no feed (no <link rel=\"alternate\">)".into(),
            });
        };
        tracing::info!(source = %name, page = %url, feed = %found, "feed discovered");
        source.discovered_feed = Some(found.clone());
        url = found;
        let Some(feed_response) = source.fetch_listing(ctx, &url, None).await? else {
            return Ok(());
        };
        response = feed_response;
    }
    let parsed = parse_feed(
        &response.body,
        response.content_type.as_deref(),
        &response.final_url,
    );
    // A discovered feed that no longer reads as a feed (it now redirects to the home page,
    // say) is looked for on the configured page again next poll.
    if parsed.is_err() && source.discovered_feed.is_some() {
        source.discovered_feed = None;
        source.validators = None;
    }
    let items = parsed.map_err(|message| SourceError::Parse {
        source_name: name.clone(),
        url: url.clone(),
        message,
    })?;
    source.validators = Some(response.validators);
    tracing::info!(source = %name, entries = items.len(), "feed listed");
    // A feed names the pages of its own site: a link elsewhere (another site, a file:,
    // javascript: or data: URL, a private address) would have the feed's text stored, or a
    // request sent, under an address the feed does not own.
    let site = url::Url::parse(&response.final_url).map_err(|e| SourceError::Parse {
        source_name: name.clone(),
        url: url.clone(),
        message: e.to_string(),
    })?;
    let mut refused = 0u64;
    for item in items {
        let Some(link) = item.link else {
            continue;
        };
        if let Some(reason) = link_refused(&link, &site, &source.config.allowed_domains) {
            if refused == 0 {
                tracing::warn!(source = %name, link = %link, reason, "feed item skipped");
            }
            refused += 1;
            ctx.stats.update(&name, |c| c.filtered += 1);
            continue;
        }
        if !source.admits(ctx, &link, item.published) {
            continue;
        }
        let hints = source.hints(item.title, item.published);
        let job = if source.config.follow_links {
            source.remote_job(link, hints)
        } else {
            let body = item.content.unwrap_or_default();
            FetchJob::Local(RawPage {
                requested_url: link.clone(),
                final_url: link,
                status: 200,
                content_type: Some("text/html; charset=utf-8".into()),
                etag: None,
                last_modified: None,
                body: body.into_bytes(),
                fetched_at: Utc::now(),
                source: name.clone(),
                hints,
            })
        };
        if !queue(ctx, jobs, job).await {
            break;
        }
    }
    if refused > 1 {
        tracing::warn!(source = %name, items = refused, "feed items skipped: links off the feed's site or not http(s)");
    }
    Ok(())
}

/// An item of a feed, as the sources stage reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedItem {
    /// Its page: the first link that is `alternate` or has no `rel`, else an RSS `<guid>`
    /// that is a web address.
    pub link: Option<String>,
    /// Its title.
    pub title: Option<String>,
    /// When it was published (else updated).
    pub published: Option<DateTime<FixedOffset>>,
    /// Its content, else its summary.
    pub content: Option<String>,
}

/// The error of a feed the XML reader panicked on.
const READER_PANICKED: &str = "the feed reader failed on this input";

/// The items of an RSS, Atom or JSON feed fetched from `base` (relative links are resolved
/// against it; `""` for none), served with `content_type`. Read leniently: any charset the byte-order mark,
/// the XML declaration or only the header names; and a feed that does not parse is tried
/// again with its bare `&`s escaped. An error says why the feed cannot be read.
pub fn parse_feed(
    body: &[u8],
    content_type: Option<&str>,
    base: &str,
) -> Result<Vec<FeedItem>, String> {
    let body = feed_bytes::utf8_xml(body, content_type);
    let body = match feed_bytes::atom_03_as_1_0(&body) {
        Some(atom) => std::borrow::Cow::Owned(atom),
        None => body,
    };
    // The reader has panicked on odd bytes before (each case found is mended above and kept
    // as a fuzz seed); should another be found, it costs this feed, not the crawl.
    let parse = |bytes: &[u8]| {
        std::panic::catch_unwind(|| {
            feed_rs::parser::Builder::new()
                .base_uri(Some(base).filter(|b| !b.is_empty()))
                .build()
                .parse(bytes)
                .map_err(|e| e.to_string())
        })
        .unwrap_or_else(|_| Err(READER_PANICKED.to_string()))
    };
    // As it is; else in a form the reader knows; else with its bare `&`s escaped too. The
    // first error is the one reported.
    let feed = match parse(&body) {
        Ok(feed) => feed,
        Err(first) => {
            let known = feed_bytes::rss_as_2_0(&body);
            let known = known.as_deref().unwrap_or(&body);
            parse(known)
                .or_else(|_| parse(&feed_bytes::escape_bare_ampersands(known)))
                .map_err(|_| first)?
        }
    };
    Ok(feed
        .entries
        .into_iter()
        .map(|entry| FeedItem {
            // The page is the link that is `alternate` or has no `rel`; not a licence, an
            // enclosure, a reply or comments link. Without one, an RSS `<guid>` that is an
            // absolute web address is the permalink (isPermaLink is true unless it says not).
            link: entry
                .links
                .iter()
                .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
                .map(|l| l.href.clone())
                .or_else(|| {
                    let id = entry.id.trim();
                    (id.starts_with("http://") || id.starts_with("https://"))
                        .then(|| id.to_string())
                }),
            title: entry.title.map(|t| t.content),
            published: entry
                .published
                .or(entry.updated)
                .map(|t: DateTime<Utc>| t.fixed_offset()),
            content: entry
                .content
                .and_then(|c| c.body)
                .or(entry.summary.map(|s| s.content)),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "https://news.example.org/feed.xml";

    fn links(body: &[u8], content_type: Option<&str>) -> Vec<Option<String>> {
        parse_feed(body, content_type, BASE)
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .map(|item| item.link)
            .collect()
    }

    #[test]
    fn an_rss_guid_that_is_a_web_address_is_the_items_page() {
        let rss = br#"<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
            <item><title>Talks</title><guid>https://news.example.org/2026/talks.html</guid></item>
            <item><guid isPermaLink="false">tag:news.example.org,2026:42</guid></item>
            <item><link>https://news.example.org/a</link><guid>https://news.example.org/b</guid></item>
            </channel></rss>"#;
        assert_eq!(
            links(rss, None),
            [
                Some("https://news.example.org/2026/talks.html".to_string()),
                None,
                Some("https://news.example.org/a".to_string()),
            ]
        );
    }

    #[test]
    fn licence_enclosure_and_reply_links_are_not_the_page() {
        let atom = br#"<?xml version="1.0" encoding="utf-8"?>
            <feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>x</id><updated>2026-12-01T00:00:00Z</updated>
            <entry><title>a</title><id>urn:a</id><updated>2026-12-01T00:00:00Z</updated>
              <link rel="license" href="https://creativecommons.org/licenses/by/4.0/"/>
              <link rel="enclosure" href="https://news.example.org/a.mp3"/>
              <link rel="replies" href="https://news.example.org/a/comments"/></entry>
            <entry><title>b</title><id>urn:b</id><updated>2026-12-01T00:00:00Z</updated>
              <link rel="license" href="https://creativecommons.org/licenses/by/4.0/"/>
              <link rel="alternate" href="https://news.example.org/b"/></entry>
            </feed>"#;
        assert_eq!(
            links(atom, None),
            [None, Some("https://news.example.org/b".to_string())]
        );
    }

    #[test]
    fn utf16_with_a_bom_and_a_charset_only_in_the_header_are_read() {
        // UTF-16BE with a byte-order mark panicked inside the XML reader.
        let rss = "<?xml version=\"1.0\" encoding=\"UTF-16\"?><rss version=\"2.0\"><channel>\
                   <title>Новости</title><item><title>Курилы</title>\
                   <link>https://news.example.org/kurily</link></item></channel></rss>";
        for big_endian in [true, false] {
            let mut bytes = if big_endian {
                vec![0xFE, 0xFF]
            } else {
                vec![0xFF, 0xFE]
            };
            for unit in rss.encode_utf16() {
                bytes.extend_from_slice(&if big_endian {
                    unit.to_be_bytes()
                } else {
                    unit.to_le_bytes()
                });
            }
            let items = parse_feed(&bytes, None, BASE).unwrap();
            assert_eq!(items[0].title.as_deref(), Some("Курилы"));
        }
        // windows-1251 named only by the header was "no root element".
        let plain = rss.replace(" encoding=\"UTF-16\"", "");
        let (cp1251, _, _) = encoding_rs::WINDOWS_1251.encode(&plain);
        let items = parse_feed(
            &cp1251,
            Some("application/rss+xml; charset=windows-1251"),
            BASE,
        )
        .unwrap();
        assert_eq!(items[0].title.as_deref(), Some("Курилы"));
    }

    #[test]
    fn declarations_the_xml_reader_would_act_on_are_rewritten_not_obeyed() {
        // Each of these panicked inside the XML reader's own decoder switch.
        let item = "<item><title>Курилы</title><link>https://news.example.org/k</link></item>";
        let cases: Vec<Vec<u8>> = vec![
            // A UTF-8 byte-order mark before a label no encoding has (found by fuzzing).
            [
                b"\xEF\xBB\xBF".as_slice(),
                format!("<?xml version=\"1.0\" encoding=\"wi\u{f1}ndows-1251\"?><rss version=\"2.0\"><channel><title>c</title>{item}</channel></rss>").as_bytes(),
            ]
            .concat(),
            // A UTF-8 byte-order mark before a windows-1251 declaration.
            [
                b"\xEF\xBB\xBF".as_slice(),
                format!("<?xml version=\"1.0\" encoding=\"windows-1251\" standalone=\"yes\"?><rss version=\"2.0\"><channel><title>c</title>{item}</channel></rss>").as_bytes(),
            ]
            .concat(),
            // ASCII that says UTF-16, its declaration padded past 64 bytes.
            format!("<?xml version=\"1.0\"                                        encoding=\"UTF-16\"?><rss version=\"2.0\"><channel><title>c</title>{item}</channel></rss>").into_bytes(),
            // A `>` inside the declaration before its encoding (found by fuzzing).
            format!("<?xml version=\"1.0\" x=\">\"                                      encoding=\"UTF-16\"?><rss version=\"2.0\"><channel><title>c</title>{item}</channel></rss>").into_bytes(),
            // A second, empty declaration pasted in after the first.
            format!("<?xml version=\"1.0\"?><?xml?><rss version=\"2.0\"><channel><title>c</title>{item}</channel></rss>").into_bytes(),
            // UTF-16BE without a byte-order mark.
            format!("<?xml version=\"1.0\" encoding=\"UTF-16\"?><rss version=\"2.0\"><channel><title>c</title>{item}</channel></rss>")
                .encode_utf16()
                .flat_map(u16::to_be_bytes)
                .collect(),
        ];
        for body in cases {
            let items = parse_feed(&body, None, BASE).unwrap();
            assert_eq!(items[0].title.as_deref(), Some("Курилы"));
        }
        // The fuzzer's own inputs; the reader's panics are caught, so each is checked to
        // reach no panic at all.
        let found: [&[u8]; 4] = [
            include_bytes!("../../../../fuzz/seeds/feed/utf8-bom-unknown-encoding-label.xml"),
            // A byte that is no UTF-8 between `<` and `?xml`, and a second byte-order mark.
            include_bytes!("../../../../fuzz/seeds/feed/bom-invalid-byte-before-declaration.xml"),
            include_bytes!(
                "../../../../fuzz/seeds/feed/unknown-label-over-bytes-that-are-no-utf8.xml"
            ),
            include_bytes!(
                "../../../../fuzz/seeds/feed/declaration-with-a-gt-before-its-encoding.xml"
            ),
        ];
        for body in found {
            assert_ne!(
                parse_feed(body, None, BASE).err().as_deref(),
                Some(READER_PANICKED)
            );
        }
        // A byte that is no UTF-8 in a UTF-8 feed becomes U+FFFD; the feed is read.
        let stray = [
            "<rss version=\"2.0\"><channel><title>c</title><item><title>Кур".as_bytes(),
            b"\xff",
            "илы</title><link>https://news.example.org/s</link></item></channel></rss>".as_bytes(),
        ]
        .concat();
        let items = parse_feed(&stray, None, BASE).unwrap();
        assert_eq!(items[0].title.as_deref(), Some("Кур\u{fffd}илы"));
        // A UTF-8 feed served as ISO-8859-1 stays UTF-8.
        let rss = format!("<rss version=\"2.0\"><channel><title>c</title>{item}</channel></rss>");
        let items = parse_feed(rss.as_bytes(), Some("text/xml; charset=ISO-8859-1"), BASE).unwrap();
        assert_eq!(items[0].title.as_deref(), Some("Курилы"));
    }

    #[test]
    fn a_bare_ampersand_does_not_lose_the_feed() {
        let rss = br#"<rss version="2.0"><channel><title>Q&A</title>
            <item><title>AT&T and NTT</title><link>https://news.example.org/x?a=1&b=2</link></item>
            <item><title>Fish &amp; chips</title><link>https://news.example.org/y</link></item>
            </channel></rss>"#;
        let items = parse_feed(rss, None, BASE).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].title.as_deref(), Some("AT&T and NTT"));
        assert_eq!(
            items[0].link.as_deref(),
            Some("https://news.example.org/x?a=1&b=2")
        );
        assert_eq!(items[1].title.as_deref(), Some("Fish & chips"));
    }

    #[test]
    fn old_and_unversioned_rss_and_atom_0_3_list_their_items() {
        let item = "<item><title>t</title><link>https://news.example.org/1</link></item>";
        for rss in [
            format!("<rss><channel><title>c</title>{item}</channel></rss>"),
            format!("<rss version=\"0.93\"><channel><title>c</title>{item}</channel></rss>"),
            format!("<rss version=\"0.94\"><channel><title>c</title>{item}</channel></rss>"),
        ] {
            assert_eq!(
                links(rss.as_bytes(), None),
                [Some("https://news.example.org/1".to_string())],
                "{rss}"
            );
        }
        let atom03 = br#"<?xml version="1.0"?><feed version="0.3" xmlns="http://purl.org/atom/ns#">
            <title>t</title><modified>2026-12-01T00:00:00Z</modified>
            <entry><title>e</title><link rel="alternate" type="text/html" href="https://news.example.org/2"/>
            <id>tag:x,2026:2</id><issued>2026-12-01T00:00:00Z</issued><modified>2026-12-01T00:00:00Z</modified></entry>
            </feed>"#;
        assert_eq!(
            links(atom03, None),
            [Some("https://news.example.org/2".to_string())]
        );
    }
}

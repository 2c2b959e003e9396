//! XML sitemaps, sitemap indexes (followed down to [`MAX_INDEX_DEPTH`] levels) and Google
//! News sitemaps (`news:publication_date`, `news:title`); gzip'd sitemaps are inflated with a
//! size cap. Read as leniently as the web needs: a sitemap cut off part-way keeps the entries
//! read before the cut, a plain-text sitemap (one URL a line) and an RSS or Atom feed named
//! as a sitemap are read too, and one unreadable sitemap of several does not stop the rest.

use std::io::Read;

use chrono::{DateTime, FixedOffset};
use nichiro_model::FetchJob;
use quick_xml::events::Event;
use tokio::sync::mpsc;

use super::{PollContext, Source, SourceError, Validators, queue};

/// Child sitemaps of an index read per poll.
const MAX_CHILD_SITEMAPS: usize = 50;

/// Indexes nested deeper than this (an index of indexes of indexes …) are not followed.
pub const MAX_INDEX_DEPTH: usize = 3;

/// Sitemaps read in one poll, indexes included.
const MAX_SITEMAPS_PER_POLL: usize = 200;

/// One `<url>` of a sitemap.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SitemapEntry {
    /// `<loc>`.
    pub url: String,
    /// `<news:publication_date>`, else `<lastmod>`.
    pub published: Option<DateTime<FixedOffset>>,
    /// `<news:title>`.
    pub title: Option<String>,
}

/// A parsed sitemap document.
#[derive(Debug, Clone, PartialEq)]
pub enum SitemapDocument {
    /// A `<sitemapindex>`: the URLs of child sitemaps.
    Index(Vec<String>),
    /// A `<urlset>`: its entries.
    Urls(Vec<SitemapEntry>),
}

/// Parses a sitemap or sitemap index (gzip'd or not), inflating at most `max_bytes`; a
/// plain-text sitemap and an RSS or Atom feed are read as lists of URLs. Gives the document
/// and, when it was cut off part-way, why: the entries before the cut are kept.
pub fn parse_sitemap(
    body: &[u8],
    max_bytes: usize,
) -> Result<(SitemapDocument, Option<String>), String> {
    parse_sitemap_at(body, max_bytes, "")
}

/// As [`parse_sitemap`], for the sitemap at `base`: a feed named as a sitemap may give its
/// items' links relative to its own address (a sitemap's `<loc>`s are absolute by rule).
pub fn parse_sitemap_at(
    body: &[u8],
    max_bytes: usize,
    base: &str,
) -> Result<(SitemapDocument, Option<String>), String> {
    let inflated;
    let xml: &[u8] = if body.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        let read = flate2::read::MultiGzDecoder::new(body)
            .take(max_bytes as u64 + 1)
            .read_to_end(&mut out);
        if out.len() > max_bytes {
            return Err(format!("inflates to more than {max_bytes} bytes"));
        }
        // A gzip stream cut short still gave what it inflated so far.
        if let Err(e) = read
            && out.is_empty()
        {
            return Err(format!("bad gzip: {e}"));
        }
        inflated = out;
        &inflated
    } else {
        body
    };
    let start = xml
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(xml.len());
    let first = &xml[start..];
    let first = first.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(first);
    if first.starts_with(b"http://") || first.starts_with(b"https://") {
        return Ok((SitemapDocument::Urls(plain_text_urls(first)), None));
    }
    if let Some(feed) = as_feed(xml, base) {
        return feed.map(|entries| (SitemapDocument::Urls(entries), None));
    }
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut buf = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut is_index = None;
    let mut children = Vec::new();
    let mut entries = Vec::new();
    let mut entry = SitemapEntry::default();
    let mut lastmod = None;
    let mut cut_short = None;
    loop {
        match reader.read_event_into(&mut buf) {
            Err(e) => {
                cut_short = Some(format!("bad XML at byte {}: {e}", reader.buffer_position()));
                break;
            }
            Ok(Event::Eof) if path.is_empty() => break,
            Ok(Event::Eof) => {
                cut_short = Some(format!("unexpected end inside <{}>", path.join("><")));
                break;
            }
            Ok(Event::Start(e)) => {
                let name = e.local_name().as_ref().to_string();
                if path.is_empty() {
                    is_index = Some(name == "sitemapindex");
                }
                path.push(name);
                text.clear();
            }
            Ok(Event::Text(t)) => text.push_str(&t.xml10_content()),
            Ok(Event::CData(t)) => text.push_str(&t.into_inner()),
            Ok(Event::GeneralRef(r)) => {
                let name = r.into_inner();
                text.push_str(match name.as_ref() {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    "apos" => "'",
                    _ => "",
                });
            }
            Ok(Event::End(_)) => {
                let name = path.pop().unwrap_or_default();
                let parent = path.last().map(String::as_str).unwrap_or("");
                let value = text.trim().to_string();
                match (parent, name.as_str()) {
                    ("sitemap", "loc") => children.push(value),
                    ("url", "loc") => entry.url = value,
                    ("url", "lastmod") => lastmod = nichiro_model::parse_date(&value),
                    ("news", "publication_date") => {
                        entry.published = nichiro_model::parse_date(&value)
                    }
                    ("news", "title") => entry.title = Some(value).filter(|t| !t.is_empty()),
                    (_, "url") => {
                        let mut done = std::mem::take(&mut entry);
                        done.published = done.published.or(lastmod.take());
                        if !done.url.is_empty() {
                            entries.push(done);
                        }
                    }
                    _ => {}
                }
                text.clear();
            }
            Ok(_) => {}
        }
        buf.clear();
    }
    let document = match is_index {
        Some(true) => SitemapDocument::Index(children),
        Some(false) => SitemapDocument::Urls(entries),
        None => return Err(cut_short.unwrap_or_else(|| "empty document".into())),
    };
    // Cut off before anything could be read: that is no sitemap at all.
    let nothing = match &document {
        SitemapDocument::Index(c) => c.is_empty(),
        SitemapDocument::Urls(e) => e.is_empty(),
    };
    match cut_short {
        Some(why) if nothing => Err(why),
        cut_short => Ok((document, cut_short)),
    }
}

/// The URLs of a plain-text sitemap: one a line, http(s) only, blank and other lines skipped.
fn plain_text_urls(text: &[u8]) -> Vec<SitemapEntry> {
    String::from_utf8_lossy(text)
        .lines()
        .map(str::trim)
        .filter(|line| line.starts_with("http://") || line.starts_with("https://"))
        .map(|line| SitemapEntry {
            url: line.to_string(),
            ..SitemapEntry::default()
        })
        .collect()
}

/// An RSS, RDF or Atom feed named as a sitemap (robots.txt often names one), as entries;
/// `None` when the document is not a feed.
fn as_feed(xml: &[u8], base: &str) -> Option<Result<Vec<SitemapEntry>, String>> {
    let head = String::from_utf8_lossy(&xml[..xml.len().min(4096)]);
    let is_feed = ["<rss", "<rdf:RDF", "<RDF", "<feed"]
        .iter()
        .any(|root| head.contains(root))
        && !head.contains("<urlset")
        && !head.contains("<sitemapindex");
    if !is_feed {
        return None;
    }
    Some(super::parse_feed(xml, None, base).map(|items| {
        items
            .into_iter()
            .filter_map(|item| {
                Some(SitemapEntry {
                    url: item.link?,
                    published: item.published,
                    title: item.title,
                })
            })
            .collect()
    }))
}

pub(super) async fn poll(
    source: &mut Source,
    ctx: &PollContext,
    jobs: &mpsc::Sender<FetchJob>,
) -> Result<(), SourceError> {
    let name = source.config.name.clone();
    let root = source.config.url.clone().unwrap_or_default();
    // (url, how deep in indexes): the configured sitemap, or those robots.txt names, at 0.
    let mut pending = if root.ends_with("/robots.txt") {
        sitemaps_from_robots(source, ctx, &root).await?
    } else {
        vec![(root.clone(), 0)]
    };
    let mut seen = std::collections::HashSet::new();
    let mut children_read = 0;
    // What this poll learns of each sitemap, for the next: validators, an index's children.
    let mut known = std::collections::BTreeMap::new();
    // When every sitemap robots.txt names fails, the poll failed.
    let (mut read_any, mut last_error) = (false, None);
    while let Some((url, depth)) = pending.pop() {
        // An index that names itself or an ancestor is read once; a poll reads a bounded
        // number of sitemaps.
        if !seen.insert(url.clone()) || seen.len() > MAX_SITEMAPS_PER_POLL {
            continue;
        }
        // Every sitemap is asked for conditionally; only the configured one's failure fails
        // the poll: one unreadable sitemap of several does not stop the rest.
        let is_root = url == root;
        let last = source.sitemaps.get(&url).cloned().unwrap_or_default();
        let validators = if is_root {
            // Only with what the root named last time: a 304 on an index whose children are
            // not remembered (a store from before they were) would hide them.
            source
                .validators
                .clone()
                .filter(|_| source.sitemaps.contains_key(&url))
        } else {
            Some(Validators {
                etag: last.etag.clone(),
                last_modified: last.last_modified.clone(),
            })
            .filter(|v| v.etag.is_some() || v.last_modified.is_some())
        };
        let response = match source.fetch_listing(ctx, &url, validators.as_ref()).await {
            Ok(Some(r)) => r,
            Ok(None) => {
                // Unchanged: an index's children may have changed all the same (many sites
                // leave the index alone), so they are asked, conditionally, in turn.
                if depth < MAX_INDEX_DEPTH {
                    for child in last.children.iter().rev() {
                        pending.push((child.clone(), depth + 1));
                    }
                }
                known.insert(url, last);
                continue;
            }
            Err(e) if is_root => return Err(e),
            Err(e) => {
                // A child gone for good (404) does not hold the validators back.
                let may_pass = match &e {
                    SourceError::Fetch { error, .. } => error.is_transient(),
                    _ => true,
                };
                ctx.stats.update(&name, |c| {
                    c.failed += 1;
                    c.may_pass += u64::from(may_pass);
                });
                tracing::warn!(error = %e, "child sitemap failed");
                last_error = Some(e);
                continue;
            }
        };
        if is_root {
            source.validators = Some(response.validators.clone());
        }
        let max = ctx.fetcher.config().max_listing_bytes;
        let parsed =
            parse_sitemap_at(&response.body, max, &url).map_err(|message| SourceError::Parse {
                source_name: name.clone(),
                url: url.clone(),
                message,
            });
        if let Ok((_, Some(why))) = &parsed {
            tracing::warn!(source = %name, url, reason = %why, "sitemap cut short; the entries before the cut are listed");
        }
        read_any |= parsed.is_ok();
        let mut learnt = nichiro_model::KnownSitemap {
            etag: response.validators.etag.clone(),
            last_modified: response.validators.last_modified.clone(),
            children: Vec::new(),
        };
        match parsed.map(|(document, _)| document) {
            Ok(SitemapDocument::Index(children)) if depth < MAX_INDEX_DEPTH => {
                // Newest child sitemaps are usually listed last.
                let skip = children.len().saturating_sub(MAX_CHILD_SITEMAPS);
                learnt.children = children.into_iter().skip(skip).collect();
                for child in learnt.children.iter().rev() {
                    pending.push((child.clone(), depth + 1));
                }
                known.insert(url, learnt);
            }
            Ok(SitemapDocument::Index(_)) => {
                tracing::warn!(source = %name, url, depth, "sitemap index nested too deep; not followed");
            }
            Ok(SitemapDocument::Urls(entries)) => {
                children_read += usize::from(depth > 0);
                tracing::info!(source = %name, url, entries = entries.len(), "sitemap listed");
                for entry in entries {
                    if !source.admits(ctx, &entry.url, entry.published) {
                        continue;
                    }
                    let hints = source.hints(entry.title, entry.published);
                    if !queue(ctx, jobs, source.remote_job(entry.url, hints)).await {
                        return Ok(());
                    }
                }
                // Remembered once every entry is queued: a poll cut short asks again in full.
                known.insert(url, learnt);
            }
            Err(e) if is_root => return Err(e),
            Err(e) => {
                ctx.stats.update(&name, |c| {
                    c.failed += 1;
                    c.may_pass += 1;
                });
                tracing::warn!(error = %e, "sitemap unreadable");
                last_error = Some(e);
            }
        }
    }
    source.sitemaps = known;
    tracing::debug!(source = %name, children_read, "sitemap poll done");
    match last_error {
        Some(e) if !read_any => Err(e),
        _ => Ok(()),
    }
}

/// The sitemaps a robots.txt names in its `Sitemap:` lines, as top-level sitemaps; the
/// robots.txt is the one the fetcher reads (and caches) for the host's pages anyway.
async fn sitemaps_from_robots(
    source: &Source,
    ctx: &PollContext,
    robots_url: &str,
) -> Result<Vec<(String, usize)>, SourceError> {
    let fetch_error = |error| SourceError::Fetch {
        source_name: source.config.name.clone(),
        error,
    };
    let origin = crate::http::origin_of(robots_url).ok_or_else(|| {
        fetch_error(crate::FetchError::BadUrl {
            url: robots_url.to_string(),
        })
    })?;
    let sitemaps = ctx
        .fetcher
        .robots_sitemaps(&origin, &ctx.abort)
        .await
        .map_err(fetch_error)?;
    if sitemaps.is_empty() {
        tracing::warn!(
            source = source.name(),
            robots_url,
            "robots.txt names no sitemap"
        );
    }
    Ok(sitemaps.into_iter().rev().map(|url| (url, 0)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn google_news_urlset() {
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
        <urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
                xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
          <url><loc>https://ex.org/a?x=1&amp;y=2</loc>
            <news:news><news:publication_date>2019-05-31T10:00:00+09:00</news:publication_date>
            <news:title>Lavrov &amp; Kono</news:title></news:news></url>
          <url><loc>https://ex.org/b</loc><lastmod>2019-05-30</lastmod></url>
        </urlset>"#;
        let (SitemapDocument::Urls(entries), None) = parse_sitemap(xml, 1 << 20).unwrap() else {
            panic!("not a urlset");
        };
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].url, "https://ex.org/a?x=1&y=2");
        assert_eq!(entries[0].title.as_deref(), Some("Lavrov & Kono"));
        assert_eq!(
            entries[0].published.unwrap().to_rfc3339(),
            "2019-05-31T10:00:00+09:00"
        );
        assert_eq!(
            entries[1].published.unwrap().to_rfc3339(),
            "2019-05-30T00:00:00+00:00"
        );
    }

    #[test]
    fn gzipped_index_and_bomb() {
        use std::io::Write;
        let xml =
            b"<sitemapindex><sitemap><loc>https://ex.org/s1.xml</loc></sitemap></sitemapindex>";
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(xml).unwrap();
        let gz = gz.finish().unwrap();
        assert_eq!(
            parse_sitemap(&gz, 1 << 20).unwrap(),
            (
                SitemapDocument::Index(vec!["https://ex.org/s1.xml".into()]),
                None
            )
        );
        let mut bomb = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        bomb.write_all(&vec![b' '; 4 << 20]).unwrap();
        let err = parse_sitemap(&bomb.finish().unwrap(), 1 << 20).unwrap_err();
        assert!(err.contains("more than"), "{err}");
        assert!(parse_sitemap(b"<urlset><url>", 1024).is_err());
    }

    fn urls(document: SitemapDocument) -> Vec<String> {
        match document {
            SitemapDocument::Urls(entries) => entries.into_iter().map(|e| e.url).collect(),
            SitemapDocument::Index(children) => children,
        }
    }

    #[test]
    fn a_sitemap_cut_off_keeps_the_entries_before_the_cut() {
        let mut xml = String::from("<?xml version=\"1.0\"?><urlset>");
        for n in 0..50 {
            xml.push_str(&format!("<url><loc>https://ex.org/{n}</loc></url>\n"));
        }
        xml.push_str("</urlset>");
        // Cut inside the 50th entry: 49 complete ones are kept, and the cut is reported.
        let cut = &xml[..xml.rfind("<loc>").unwrap() + 8];
        let (document, why) = parse_sitemap(cut.as_bytes(), 1 << 20).unwrap();
        assert_eq!(urls(document).len(), 49);
        assert!(why.unwrap().contains("unexpected end"));
        // A gzip stream cut off part-way gives what it inflated.
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(xml.as_bytes()).unwrap();
        let gz = gz.finish().unwrap();
        let (document, why) = parse_sitemap(&gz[..gz.len() - 20], 1 << 20).unwrap();
        assert!(urls(document).len() >= 40);
        assert!(why.is_some());
    }

    #[test]
    fn plain_text_and_feed_sitemaps_are_lists_of_urls() {
        let text =
            b"\xEF\xBB\xBFhttps://ex.org/a\n\n  https://ex.org/b  \r\nnot a url\nhttp://ex.org/c\n";
        let (document, why) = parse_sitemap(text, 1 << 20).unwrap();
        assert_eq!(
            urls(document),
            ["https://ex.org/a", "https://ex.org/b", "http://ex.org/c"]
        );
        assert!(why.is_none());
        let rss = br#"<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
            <item><title>One</title><link>https://ex.org/1</link>
            <pubDate>Tue, 01 Dec 2026 10:00:00 GMT</pubDate></item></channel></rss>"#;
        let (document, _) = parse_sitemap(rss, 1 << 20).unwrap();
        let SitemapDocument::Urls(entries) = document else {
            panic!("not urls")
        };
        assert_eq!(entries[0].url, "https://ex.org/1");
        assert_eq!(entries[0].title.as_deref(), Some("One"));
        assert!(entries[0].published.is_some());
        // A feed's relative links are read against the address it was named by.
        let relative = br#"<rss version="2.0"><channel><title>t</title>
            <item><link>/news/2</link></item></channel></rss>"#;
        let (document, _) = parse_sitemap_at(relative, 1 << 20, "https://ex.org/feed.xml").unwrap();
        let SitemapDocument::Urls(entries) = document else {
            panic!("not urls")
        };
        assert_eq!(entries.len(), 1, "the relative link is kept");
        assert_eq!(entries[0].url, "https://ex.org/news/2");
    }
}

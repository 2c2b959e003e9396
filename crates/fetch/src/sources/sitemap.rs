//! XML sitemaps, sitemap indexes (followed one level down) and Google News sitemaps
//! (`news:publication_date`, `news:title`); gzip'd sitemaps are inflated with a size cap.

use std::io::Read;

use chrono::{DateTime, FixedOffset};
use nichiro_model::FetchJob;
use quick_xml::events::Event;
use tokio::sync::mpsc;

use super::{PollContext, Source, SourceError, queue};

/// Child sitemaps of an index read per poll.
const MAX_CHILD_SITEMAPS: usize = 50;

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

/// Parses a sitemap or sitemap index (gzip'd or not), inflating at most `max_bytes`.
pub fn parse_sitemap(body: &[u8], max_bytes: usize) -> Result<SitemapDocument, String> {
    let inflated;
    let xml: &[u8] = if body.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(body)
            .take(max_bytes as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|e| format!("bad gzip: {e}"))?;
        if out.len() > max_bytes {
            return Err(format!("inflates to more than {max_bytes} bytes"));
        }
        inflated = out;
        &inflated
    } else {
        body
    };
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut buf = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut is_index = None;
    let mut children = Vec::new();
    let mut entries = Vec::new();
    let mut entry = SitemapEntry::default();
    let mut lastmod = None;
    loop {
        match reader.read_event_into(&mut buf) {
            Err(e) => return Err(format!("bad XML at byte {}: {e}", reader.buffer_position())),
            Ok(Event::Eof) if path.is_empty() => break,
            Ok(Event::Eof) => return Err(format!("unexpected end inside <{}>", path.join("><"))),
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
    match is_index {
        Some(true) => Ok(SitemapDocument::Index(children)),
        Some(false) => Ok(SitemapDocument::Urls(entries)),
        None => Err("empty document".into()),
    }
}

pub(super) async fn poll(
    source: &mut Source,
    ctx: &PollContext,
    jobs: &mpsc::Sender<FetchJob>,
) -> Result<(), SourceError> {
    let name = source.config.name.clone();
    let root = source.config.url.clone().unwrap_or_default();
    // (url, whether it is a top-level sitemap, which may be an index to follow)
    let mut pending = if root.ends_with("/robots.txt") {
        sitemaps_from_robots(source, ctx, &root).await?
    } else {
        vec![(root.clone(), true)]
    };
    let mut children_read = 0;
    while let Some((url, is_root)) = pending.pop() {
        // Only the configured URL's validators are kept between polls.
        let validators = if url == root {
            source.validators.clone()
        } else {
            None
        };
        let response = match source.fetch_listing(ctx, &url, validators.as_ref()).await {
            Ok(Some(r)) => r,
            Ok(None) => continue,
            Err(e) if is_root => return Err(e),
            Err(e) => {
                ctx.stats.update(&name, |c| c.failed += 1);
                tracing::warn!(error = %e, "child sitemap failed");
                continue;
            }
        };
        if url == root {
            source.validators = Some(response.validators.clone());
        }
        let parsed = parse_sitemap(&response.body, ctx.fetcher.config().max_listing_bytes).map_err(
            |message| SourceError::Parse {
                source_name: name.clone(),
                url: url.clone(),
                message,
            },
        );
        match parsed {
            Ok(SitemapDocument::Index(children)) if is_root => {
                // Newest child sitemaps are usually listed last.
                for child in children.into_iter().rev().take(MAX_CHILD_SITEMAPS).rev() {
                    pending.push((child, false));
                }
            }
            Ok(SitemapDocument::Index(_)) => {
                tracing::warn!(source = %name, url, "nested sitemap index not followed");
            }
            Ok(SitemapDocument::Urls(entries)) => {
                children_read += usize::from(!is_root);
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
            }
            Err(e) if is_root => return Err(e),
            Err(e) => {
                ctx.stats.update(&name, |c| c.failed += 1);
                tracing::warn!(error = %e, "child sitemap unreadable");
            }
        }
    }
    tracing::debug!(source = %name, children_read, "sitemap poll done");
    Ok(())
}

/// The sitemaps a robots.txt names in its `Sitemap:` lines, as top-level sitemaps.
async fn sitemaps_from_robots(
    source: &Source,
    ctx: &PollContext,
    robots_url: &str,
) -> Result<Vec<(String, bool)>, SourceError> {
    let Some(response) = source.fetch_listing(ctx, robots_url, None).await? else {
        return Ok(Vec::new());
    };
    let agent = &ctx.fetcher.config().user_agent;
    let robots =
        texting_robots::Robot::new(agent, &response.body).map_err(|e| SourceError::Parse {
            source_name: source.config.name.clone(),
            url: robots_url.to_string(),
            message: e.to_string(),
        })?;
    if robots.sitemaps.is_empty() {
        tracing::warn!(
            source = source.name(),
            robots_url,
            "robots.txt names no sitemap"
        );
    }
    Ok(robots
        .sitemaps
        .into_iter()
        .rev()
        .map(|url| (url, true))
        .collect())
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
        let SitemapDocument::Urls(entries) = parse_sitemap(xml, 1 << 20).unwrap() else {
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
            SitemapDocument::Index(vec!["https://ex.org/s1.xml".into()])
        );
        let mut bomb = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        bomb.write_all(&vec![b' '; 4 << 20]).unwrap();
        let err = parse_sitemap(&bomb.finish().unwrap(), 1 << 20).unwrap_err();
        assert!(err.contains("more than"), "{err}");
        assert!(parse_sitemap(b"<urlset><url>", 1024).is_err());
    }
}

//! RSS, Atom and JSON feeds (feed-rs), fetched with a conditional GET.

use chrono::{DateTime, FixedOffset, Utc};
use nichiro_model::{FetchJob, RawPage};
use tokio::sync::mpsc;

use super::{PollContext, Source, SourceError, discovery, queue};
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
    let Some(mut response) = source
        .fetch_listing(ctx, &url, source.validators.as_ref())
        .await?
    else {
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
    let items =
        parse_feed(&response.body, &response.final_url).map_err(|message| SourceError::Parse {
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
    /// Its page: the first link that is `alternate` or has no `rel`, else the first link.
    pub link: Option<String>,
    /// Its title.
    pub title: Option<String>,
    /// When it was published (else updated).
    pub published: Option<DateTime<FixedOffset>>,
    /// Its content, else its summary.
    pub content: Option<String>,
}

/// The items of an RSS, Atom or JSON feed fetched from `base` (relative links are resolved
/// against it). An error says why the feed cannot be read.
pub fn parse_feed(body: &[u8], base: &str) -> Result<Vec<FeedItem>, String> {
    let feed = feed_rs::parser::Builder::new()
        .base_uri(Some(base))
        .build()
        .parse(body)
        .map_err(|e| e.to_string())?;
    Ok(feed
        .entries
        .into_iter()
        .map(|entry| FeedItem {
            link: entry
                .links
                .iter()
                .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
                .or(entry.links.first())
                .map(|l| l.href.clone()),
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

//! RSS, Atom and JSON feeds (feed-rs), fetched with a conditional GET.

use chrono::{DateTime, FixedOffset, Utc};
use nichiro_model::{FetchJob, RawPage};
use tokio::sync::mpsc;

use super::{PollContext, Source, SourceError, queue};

pub(super) async fn poll(
    source: &mut Source,
    ctx: &PollContext,
    jobs: &mpsc::Sender<FetchJob>,
) -> Result<(), SourceError> {
    let name = source.config.name.clone();
    let url = source.config.url.clone().unwrap_or_default();
    let Some(response) = source
        .fetch_listing(ctx, &url, source.validators.as_ref())
        .await?
    else {
        return Ok(());
    };
    let feed = feed_rs::parser::Builder::new()
        .base_uri(Some(&response.final_url))
        .build()
        .parse(response.body.as_slice())
        .map_err(|e| SourceError::Parse {
            source_name: name.clone(),
            url: url.clone(),
            message: e.to_string(),
        })?;
    source.validators = Some(response.validators);
    tracing::info!(source = %name, entries = feed.entries.len(), "feed listed");
    for entry in feed.entries {
        let Some(link) = entry
            .links
            .iter()
            .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
            .or(entry.links.first())
            .map(|l| l.href.clone())
        else {
            continue;
        };
        let published: Option<DateTime<FixedOffset>> = entry
            .published
            .or(entry.updated)
            .map(|t: DateTime<Utc>| t.fixed_offset());
        if !source.admits(ctx, &link, published) {
            continue;
        }
        let hints = source.hints(entry.title.map(|t| t.content), published);
        let job = if source.config.follow_links {
            source.remote_job(link, hints)
        } else {
            let body = entry
                .content
                .and_then(|c| c.body)
                .or(entry.summary.map(|s| s.content))
                .unwrap_or_default();
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
    Ok(())
}

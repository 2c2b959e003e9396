//! The read-only JSON API: stored articles (filtered, newest first, paged by a cursor), one
//! article whole, the configured sources with their last poll and freshness, and topics per
//! day; and its OpenAPI document, generated from the handlers (utoipa).

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, FixedOffset, Utc};
use nichiro_store::{ArticleFilter, StoredArticle};
use serde::{Deserialize, Serialize};

use crate::{ApiError, ServerState};

/// Articles in a page when the request does not say.
const DEFAULT_LIMIT: usize = 20;
/// Articles in a page at most.
const MAX_LIMIT: usize = 200;

pub(crate) fn routes() -> axum::Router<Arc<ServerState>> {
    Router::new()
        .route("/api/articles", get(articles))
        .route("/api/articles/{id}", get(article))
        .route("/api/sources", get(sources))
        .route("/api/topics", get(topics))
        .route("/api/openapi.json", get(openapi))
}

/// The API's OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "nichiro",
        description = "Stored news on Russia–Japan relations, read-only."
    ),
    paths(articles, article, sources, topics),
    components(schemas(ErrorBody))
)]
struct ApiDoc;

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(<ApiDoc as utoipa::OpenApi>::openapi())
}

/// What a failed request gets.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct ErrorBody {
    /// What was wrong, naming the parameter.
    error: String,
}

/// `/api/articles`' query: the filters of `nichiro list`, words, and paging.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ArticlesQuery {
    /// Only articles with this topic.
    topic: Option<String>,
    /// Only articles in this language (`en`, `ru`, `ja`).
    language: Option<String>,
    /// Only articles from this source (its name in the config).
    source: Option<String>,
    /// `true` for relevant articles only.
    relevant: Option<bool>,
    /// YYYY-MM-DD or RFC 3339 (UTC unless it says).
    since: Option<String>,
    until: Option<String>,
    /// Search words, all of which an article must contain (in any inflection, any of the
    /// three languages); `"quoted words"` are a phrase, `OR` takes either side, `word*` any
    /// word it starts; at most 32.
    q: Option<String>,
    /// Articles in the page, 1 to 200 (default 20).
    limit: Option<usize>,
    /// `next_cursor` of the page before.
    cursor: Option<i64>,
}

/// An article in a list: what a reader scans, without the text.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct ArticleSummary {
    id: i64,
    url: String,
    title: Option<String>,
    site_name: Option<String>,
    source: String,
    language: Option<String>,
    published: Option<DateTime<FixedOffset>>,
    fetched_at: DateTime<Utc>,
    relevant: bool,
    relevance: f32,
    topics: Vec<TopicSummary>,
    duplicate_of: Option<String>,
    text_chars: usize,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct TopicSummary {
    topic: String,
    score: f32,
}

impl ArticleSummary {
    fn new(id: i64, a: StoredArticle) -> Self {
        ArticleSummary {
            id,
            text_chars: a.text.chars().count(),
            url: a.url,
            title: a.title,
            site_name: a.site_name,
            source: a.source,
            language: a.language,
            published: a.published,
            fetched_at: a.fetched_at,
            relevant: a.relevant,
            relevance: a.relevance,
            topics: a
                .topics
                .into_iter()
                .map(|t| TopicSummary {
                    topic: t.topic,
                    score: t.score,
                })
                .collect(),
            duplicate_of: a.duplicate_of.map(|d| d.id),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct ArticlesPage {
    articles: Vec<ArticleSummary>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<i64>,
}

pub(crate) fn parse_time(name: &str, text: &str) -> Result<DateTime<Utc>, ApiError> {
    nichiro_model::parse_date(text)
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| ApiError::bad_request(format!("{name}: use YYYY-MM-DD or RFC 3339")))
}

/// Refuses search words that would cost the store too much.
pub(crate) fn check_words(q: Option<&str>) -> Result<(), ApiError> {
    match q.and_then(nichiro_text::query::too_long) {
        Some(why) => Err(ApiError::bad_request(format!("q: {why}"))),
        None => Ok(()),
    }
}

/// The `since` and `until` of a query, read.
type Period = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

fn period(since: Option<&str>, until: Option<&str>) -> Result<Period, ApiError> {
    Ok((
        since.map(|t| parse_time("since", t)).transpose()?,
        until.map(|t| parse_time("until", t)).transpose()?,
    ))
}

/// Stored articles, newest first, without their text.
#[utoipa::path(get, path = "/api/articles", params(ArticlesQuery), responses(
    (status = 200, description = "A page of articles", body = ArticlesPage),
    (status = 400, description = "A bad parameter", body = ErrorBody),
))]
async fn articles(
    State(state): State<Arc<ServerState>>,
    query: Result<Query<ArticlesQuery>, QueryRejection>,
) -> Result<Json<ArticlesPage>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    check_words(query.q.as_deref())?;
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit: from 1 to {MAX_LIMIT}"
        )));
    }
    let (since, until) = period(query.since.as_deref(), query.until.as_deref())?;
    let filter = ArticleFilter {
        topic: query.topic,
        since,
        until,
        source: query.source,
        language: query.language,
        relevant_only: query.relevant.unwrap_or(false),
        matching: query.q.filter(|q| !q.trim().is_empty()),
        after_number: query.cursor,
    };
    // One more than a page tells whether another page follows.
    let mut found = state
        .read(move |store| store.list_numbered(&filter, Some(limit + 1)))
        .await?;
    let more = found.len() > limit;
    found.truncate(limit);
    let next_cursor = more.then(|| found.last().map(|(n, _)| *n)).flatten();
    Ok(Json(ArticlesPage {
        articles: found
            .into_iter()
            .map(|(id, a)| ArticleSummary::new(id, a))
            .collect(),
        next_cursor,
    }))
}

/// One article whole: its text, metadata, verdicts with their evidence, entities, related
/// documents and the text it copies.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct ArticleWhole {
    id: i64,
    /// Every field `nichiro list --json` gives: url, title, authors, published, language,
    /// site_name, description, source, requested_url, relevant, relevance,
    /// relevance_evidence, topics (topic, score, evidence), related (id, title, similarity),
    /// duplicate_of and shares_text_with (id, shared), entities, text, and more.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    article: StoredArticle,
    /// The stored articles that copy this one (their `duplicate_of`), oldest first.
    copied_by: Vec<CopyRef>,
}

/// A stored article that copies another.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct CopyRef {
    id: i64,
    url: String,
    title: Option<String>,
}

/// How many copies of an article are listed, at most.
pub(crate) const COPIES_SHOWN: usize = 50;

/// One article whole.
#[utoipa::path(get, path = "/api/articles/{id}",
    params(("id" = i64, Path, description = "The article's id")),
    responses(
        (status = 200, description = "The article", body = ArticleWhole),
        (status = 400, description = "Not a number", body = ErrorBody),
        (status = 404, description = "No such article", body = ErrorBody),
    ))]
async fn article(
    State(state): State<Arc<ServerState>>,
    Path(id): Path<String>,
) -> Result<Json<ArticleWhole>, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::bad_request(format!("{id:?} is no article id (a number)")))?;
    let found = state
        .read(move |store| {
            let Some(article) = store.article(id)? else {
                return Ok(None);
            };
            let copies = store.copies_of_article(&article.url, COPIES_SHOWN)?;
            Ok(Some((article, copies)))
        })
        .await?;
    match found {
        Some((article, copies)) => Ok(Json(ArticleWhole {
            id,
            article,
            copied_by: copies
                .into_iter()
                .map(|c| CopyRef {
                    id: c.number,
                    url: c.url,
                    title: c.title,
                })
                .collect(),
        })),
        None => Err(ApiError::not_found(format!("no article {id}"))),
    }
}

/// A source with how its last poll went and whether it keeps to its rhythm.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct SourceStatus {
    #[serde(flatten)]
    source: crate::SourceInfo,
    /// `ok`, `learning`, `slow`, `failing`, `stale`, `never polled` or `disabled`.
    status: &'static str,
    last_poll: Option<DateTime<Utc>>,
    next_poll: Option<DateTime<Utc>>,
    /// Polls in a row that failed.
    failures: u64,
    failing_since: Option<DateTime<Utc>>,
    last_error: Option<String>,
    freshness: crate::freshness::Freshness,
}

/// Every configured source: its last poll, failures and freshness.
#[utoipa::path(get, path = "/api/sources", responses(
    (status = 200, description = "The sources", body = [SourceStatus]),
))]
async fn sources(
    State(state): State<Arc<ServerState>>,
) -> Result<Json<Vec<SourceStatus>>, ApiError> {
    let statuses = state
        .judged()
        .await?
        .into_iter()
        .map(|j| {
            let status = j.health(Utc::now());
            let poll = j.poll;
            SourceStatus {
                status,
                last_poll: poll.as_ref().map(|p| p.polled_at),
                next_poll: poll.as_ref().and_then(|p| p.next_poll_at),
                failures: poll.as_ref().map_or(0, |p| p.failures),
                failing_since: poll.as_ref().and_then(|p| p.failing_since),
                last_error: poll.and_then(|p| p.last_error),
                source: j.source,
                freshness: j.freshness,
            }
        })
        .collect();
    Ok(Json(statuses))
}

/// `/api/topics`' query: the filters of `/api/articles` that make sense for counts.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct TopicsQuery {
    /// Only articles in this language.
    language: Option<String>,
    /// Only articles from this source.
    source: Option<String>,
    /// `true` for relevant articles only.
    relevant: Option<bool>,
    /// YYYY-MM-DD or RFC 3339.
    since: Option<String>,
    /// YYYY-MM-DD or RFC 3339.
    until: Option<String>,
}

/// A topic's articles on a day.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct TopicDay {
    /// `YYYY-MM-DD`, UTC.
    day: String,
    topic: String,
    articles: u64,
}

/// Articles per day (UTC) per topic, oldest day first.
#[utoipa::path(get, path = "/api/topics", params(TopicsQuery), responses(
    (status = 200, description = "Counts", body = [TopicDay]),
    (status = 400, description = "A bad parameter", body = ErrorBody),
))]
async fn topics(
    State(state): State<Arc<ServerState>>,
    query: Result<Query<TopicsQuery>, QueryRejection>,
) -> Result<Json<Vec<nichiro_store::TopicDay>>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let (since, until) = period(query.since.as_deref(), query.until.as_deref())?;
    let filter = ArticleFilter {
        since,
        until,
        source: query.source,
        language: query.language,
        relevant_only: query.relevant.unwrap_or(false),
        ..ArticleFilter::default()
    };
    Ok(Json(
        state.read(move |store| store.topic_days(&filter)).await?,
    ))
}

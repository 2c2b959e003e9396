//! The latest articles (filters, search with highlighted snippets, paging) and one article
//! with its verdicts and the evidence marked in its text.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use nichiro_store::{ArticleFilter, StoredArticle};
use serde::Deserialize;

use super::{error_page, page, safe_href, when};
use crate::{ApiError, ServerState};
use nichiro_text::highlight::{Words, marked, snippet, words_of};

/// Articles on a page.
const PAGE: usize = 25;

/// The filters of the articles page, as its form sends them (empty fields are no filter).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PageQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    topic: String,
    #[serde(default)]
    language: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    since: String,
    #[serde(default)]
    until: String,
    /// `all` for every article; relevant ones otherwise.
    #[serde(default)]
    show: String,
    cursor: Option<i64>,
}

fn some(text: &str) -> Option<String> {
    Some(text.trim().to_string()).filter(|t| !t.is_empty())
}

impl PageQuery {
    fn filter(&self) -> Result<ArticleFilter, ApiError> {
        crate::api::check_words(Some(&self.q))?;
        let time = |name: &str, text: &str| {
            some(text)
                .map(|t| crate::api::parse_time(name, &t))
                .transpose()
        };
        Ok(ArticleFilter {
            topic: some(&self.topic),
            since: time("since", &self.since)?,
            until: time("until", &self.until)?,
            source: some(&self.source),
            language: some(&self.language),
            relevant_only: self.show != "all",
            matching: some(&self.q),
            after_number: self.cursor,
        })
    }

    /// This query's address with `cursor` as the cursor.
    fn with_cursor(&self, cursor: i64) -> String {
        let pairs = [
            ("q", &self.q),
            ("topic", &self.topic),
            ("language", &self.language),
            ("source", &self.source),
            ("since", &self.since),
            ("until", &self.until),
            ("show", &self.show),
        ];
        let mut url = String::from("/?");
        for (key, value) in pairs.iter().filter(|(_, v)| !v.is_empty()) {
            url.push_str(&format!("{key}={}&", encode(value)));
        }
        url.push_str(&format!("cursor={cursor}"));
        url
    }
}

/// `value` percent-encoded for a query string.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `/`: the latest relevant (or all) articles, filtered, searched and paged.
pub(crate) async fn latest(
    State(state): State<Arc<ServerState>>,
    query: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let query = match query {
        Ok(Query(query)) => query,
        Err(rejection) => return error_page(ApiError::bad_request(rejection.body_text())),
    };
    let filter = match query.filter() {
        Ok(filter) => filter,
        Err(error) => return error_page(error),
    };
    let choices = state.read(|store| store.topic_names());
    let found = state.read(move |store| store.list_numbered(&filter, Some(PAGE + 1)));
    let (topics, found) = match tokio::try_join!(choices, found) {
        Ok(both) => both,
        Err(error) => return error_page(error),
    };
    let more = found.len() > PAGE;
    let found = &found[..found.len().min(PAGE)];
    let norms = nichiro_text::query::parse(&query.q).words();
    let sources: Vec<&str> = state.sources.iter().map(|s| s.name.as_str()).collect();
    let body = html! {
        h1 { @if query.show == "all" { "Latest articles" } @else { "Latest relevant articles" } }
        (filters(&query, &topics, &sources))
        @if found.is_empty() {
            p.empty { "No article matches these filters." }
        }
        ol.articles {
            @for (id, article) in found {
                li { (summary(*id, article, &norms, !query.q.trim().is_empty())) }
            }
        }
        @if more && let Some((last, _)) = found.last() {
            p { a href=(query.with_cursor(*last)) { "Older articles →" } }
        }
    };
    page(StatusCode::OK, "Articles", body)
}

fn filters(query: &PageQuery, topics: &[String], sources: &[&str]) -> Markup {
    let select = |name: &str, current: &str, options: &[&str], any: &str| {
        html! {
            select name=(name) {
                option value="" { (any) }
                @for option in options {
                    option value=(option) selected[*option == current] { (option) }
                }
            }
        }
    };
    let topic_names: Vec<&str> = topics.iter().map(String::as_str).collect();
    html! {
        form.filters method="get" action="/" {
            label { "Search" input type="search" name="q" value=(query.q) placeholder="Курилы, 北方領土, Kuril…"; }
            label { "Topic" (select("topic", &query.topic, &topic_names, "any topic")) }
            label { "Language" (select("language", &query.language, &["en", "ru", "ja"], "any")) }
            label { "Source" (select("source", &query.source, sources, "any source")) }
            label { "Since" input type="date" name="since" value=(query.since); }
            label { "Until" input type="date" name="until" value=(query.until); }
            label { "Show" select name="show" {
                option value="" { "relevant" }
                option value="all" selected[query.show == "all"] { "all" }
            } }
            button type="submit" { "Filter" }
        }
    }
}

fn summary(id: i64, article: &StoredArticle, norms: &Words, searched: bool) -> Markup {
    let title = article.title.as_deref().unwrap_or(&article.url);
    html! {
        a href=(format!("/articles/{id}")) { strong { (title) } }
        div.meta {
            (article.site_name.as_deref().unwrap_or(&article.source))
            " · "
            @if let Some(published) = &article.published { (when(published)) } @else { "undated" }
            " · " (article.language.as_deref().unwrap_or("?"))
            @if article.relevant { " · relevance " (format!("{:.2}", article.relevance)) }
            @for topic in &article.topics {
                a.chip href=(format!("/?topic={}", encode(&topic.topic))) { (topic.topic) }
            }
        }
        @if searched {
            p { (marked_text(&snippet(&article.text, norms), norms)) }
        }
    }
}

/// `text` with the words in `norms` in `<mark>`.
fn marked_text(text: &str, norms: &Words) -> Markup {
    html! {
        @for (hit, piece) in marked(text, norms) {
            @if hit { mark { (piece) } } @else { (piece) }
        }
    }
}

/// `/articles/{id}`: one article whole.
pub(crate) async fn one(State(state): State<Arc<ServerState>>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return error_page(ApiError::bad_request(format!("{id:?} is no article id")));
    };
    // The article, its copies, and the numbers of the stored documents it names (to link
    // to their pages).
    let found = state
        .read(move |store| {
            let Some(article) = store.article(id)? else {
                return Ok(None);
            };
            let copies = store.copies_of_article(&article.url, crate::api::COPIES_SHOWN)?;
            let mut numbers = std::collections::HashMap::new();
            let named = article
                .related
                .iter()
                .map(|d| d.id.clone())
                .chain(article.duplicate_of.iter().map(|d| d.id.clone()))
                .chain(article.shares_text_with.iter().map(|d| d.id.clone()));
            for url in named {
                if let Some(number) = store.article_number(&url)? {
                    numbers.insert(url, number);
                }
            }
            Ok(Some((article, copies, numbers)))
        })
        .await;
    let (article, copies, numbers) = match found {
        Ok(Some(found)) => found,
        Ok(None) => return error_page(ApiError::not_found(format!("no article {id}"))),
        Err(error) => return error_page(error),
    };
    // A document named by URL: its page here when it is stored, else its address.
    let doc_link = |url: &str, label: &str| -> Markup {
        match (numbers.get(url), safe_href(url)) {
            (Some(n), _) => html! { a href=(format!("/articles/{n}")) { (label) } },
            (None, Some(href)) => {
                html! { a href=(href) rel="noopener noreferrer nofollow" { (label) } }
            }
            (None, None) => html! { (label) },
        }
    };
    let evidence = words_of(
        article
            .topics
            .iter()
            .flat_map(|t| t.evidence.iter().map(String::as_str))
            .chain(
                article
                    .entities
                    .iter()
                    .flat_map(|e| e.found_as.iter().map(String::as_str)),
            ),
    );
    let title = article.title.clone().unwrap_or_else(|| article.url.clone());
    let body = html! {
        h1 { (title) }
        p.meta {
            (article.site_name.as_deref().unwrap_or(&article.source))
            " · "
            @if let Some(published) = &article.published { (when(published)) } @else { "undated" }
            " · " (article.language.as_deref().unwrap_or("?"))
            " · "
            @match safe_href(&article.url) {
                Some(href) => a href=(href) rel="noopener noreferrer nofollow" { "original" },
                None => code { (article.url) },
            }
        }
        h2 { "Verdict" }
        p {
            @if article.relevant { strong { "Relevant" } } @else { strong { "Not relevant" } }
            " (relevance " (format!("{:.2}", article.relevance)) ")"
        }
        @if !article.relevance_evidence.is_empty() {
            p.meta { "What moved it: " }
            ul { @for line in &article.relevance_evidence { li { code { (line) } } } }
        }
        @if !article.topics.is_empty() {
            table {
                tr { th { "Topic" } th { "Score" } th { "Evidence" } }
                @for topic in &article.topics {
                    tr {
                        td { a href=(format!("/?topic={}", encode(&topic.topic))) { (topic.topic) } }
                        td {
                            span.bar style=(format!("width:{:.0}px", topic.score * 100.0)) {}
                            " " (format!("{:.2}", topic.score))
                        }
                        td { (topic.evidence.join(", ")) }
                    }
                }
            }
        }
        @if !article.entities.is_empty() {
            h2 { "Named" }
            p { @for e in &article.entities {
                span.chip title=(e.found_as.join(", ")) { (e.name) " (" (e.kind) ", " (e.mentions) ")" }
            } }
        }
        @if !article.related.is_empty() {
            h2 { "Related documents" }
            ul { @for doc in &article.related {
                li {
                    (doc_link(&doc.id, doc.title.as_deref().unwrap_or(&doc.id)))
                    span.meta { " similarity " (format!("{:.2}", doc.similarity)) }
                }
            } }
        }
        @if let Some(copy) = &article.duplicate_of {
            p { "Copies " (doc_link(&copy.id, &copy.id)) " (" (format!("{:.0}", copy.shared * 100.0)) "% of its text)" }
        }
        @if let Some(shared) = &article.shares_text_with {
            p { "Shares a passage with " (doc_link(&shared.id, &shared.id)) " (" (format!("{:.0}", shared.shared * 100.0)) "%)" }
        }
        @if !copies.is_empty() {
            h2 { "Copied by" }
            ul { @for copy in &copies {
                li { a href=(format!("/articles/{}", copy.number)) { (copy.title.as_deref().unwrap_or(&copy.url)) } }
            } }
        }
        h2 { "Text" }
        div.text {
            @for paragraph in article.text.split("\n\n").filter(|p| !p.trim().is_empty()) {
                p { (marked_text(paragraph, &evidence)) }
            }
        }
    };
    page(StatusCode::OK, &title, body)
}

//! The reader's pages, rendered on the server with maud (which escapes every value it is
//! given: what is stored came from the web and is untrusted). No JavaScript: forms and links.

mod articles;
mod sources;

use std::sync::Arc;

use axum::Router;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use maud::{DOCTYPE, Markup, html};

use crate::ServerState;

pub(crate) fn routes() -> Router<Arc<ServerState>> {
    Router::new()
        .route("/", get(articles::latest))
        .route("/articles/{id}", get(articles::one))
        .route("/sources", get(sources::sources_page))
}

const STYLE: &str = "
body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#1d3557;color:#fff;padding:.6em 1.2em;display:flex;gap:1.5em;align-items:baseline}
header a{color:#fff;text-decoration:none}header .name{font-weight:700;font-size:1.2em}
main{max-width:60em;margin:1em auto;padding:0 1em}
form.filters{display:flex;flex-wrap:wrap;gap:.5em;align-items:end;margin-bottom:1em}
form.filters label{display:flex;flex-direction:column;font-size:.8em;color:#555}
ol.articles{list-style:none;padding:0}ol.articles li{background:#fff;margin:.6em 0;padding:.7em 1em;border:1px solid #ddd;border-radius:6px}
.meta{color:#666;font-size:.85em}.chip{display:inline-block;background:#e0ecff;color:#1d3557;border-radius:1em;padding:0 .6em;margin:0 .2em;font-size:.8em}
.status-ok{background:#dff5e1;color:#145a20}.status-failing,.status-stale{background:#fde2e1;color:#8a1c1c}
.status-learning,.status-never,.status-disabled{background:#eee;color:#555}.status-slow{background:#fff1d6;color:#7a4b00}
mark{background:#fff3a3;padding:0 .1em}
table{border-collapse:collapse;width:100%;background:#fff}td,th{border:1px solid #ddd;padding:.3em .5em;text-align:left;font-size:.9em;vertical-align:top}
.text p{margin:.6em 0}.bar{display:inline-block;height:.6em;background:#457b9d}
.empty{color:#666;font-style:italic}
";

/// The page around `body`, titled `title`.
fn layout(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · nichiro" }
                style { (maud::PreEscaped(STYLE)) }
            }
            body {
                header {
                    a.name href="/" { "nichiro 日露" }
                    a href="/" { "Articles" }
                    a href="/sources" { "Sources" }
                    a href="/api/articles" { "API" }
                }
                main { (body) }
            }
        }
    }
}

/// A page answered with its status.
fn page(status: axum::http::StatusCode, title: &str, body: Markup) -> Response {
    (status, Html(layout(title, body).into_string())).into_response()
}

/// An error as a page.
fn error_page(error: crate::ApiError) -> Response {
    page(
        error.status,
        "Error",
        html! { h1 { "Error" } p { (error.message) } },
    )
}

/// An address safe to link to: http(s) only (a stored `javascript:` or `data:` URL is shown
/// as text, never as a link).
fn safe_href(url: &str) -> Option<&str> {
    let lower = url.trim_start().to_ascii_lowercase();
    (lower.starts_with("http://") || lower.starts_with("https://")).then_some(url)
}

#[cfg(test)]
mod tests;

/// A time as a reader wants it: the date and the minute, in the time's own offset.
fn when(t: &chrono::DateTime<chrono::FixedOffset>) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

//! Every source's health at a glance, and a timeline of relevant articles per week per topic,
//! drawn as SVG on the server.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Datelike, Duration, NaiveDate};
use maud::{Markup, html};
use nichiro_store::{ArticleFilter, TopicDay};

use super::{error_page, page};
use crate::ServerState;

/// Weeks the timeline shows at most (the latest).
const WEEKS: i64 = 52;

/// `/sources`: each source's health, and the topic timeline.
pub(crate) async fn sources_page(State(state): State<Arc<ServerState>>) -> Response {
    let days = state.read(|store| {
        store.topic_days(&ArticleFilter {
            relevant_only: true,
            ..ArticleFilter::default()
        })
    });
    let (judged, days) = match tokio::try_join!(state.judged(), days) {
        Ok(both) => both,
        Err(error) => return error_page(error),
    };
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map_or("–".to_string(), |t| {
            t.format("%Y-%m-%d %H:%M UTC").to_string()
        })
    };
    let body = html! {
        h1 { "Sources" }
        table {
            tr { th { "Source" } th { "Kind" } th { "Health" } th { "Last poll" } th { "Last new article" } th { "Why" } }
            @for j in &judged {
                @let health = j.health(chrono::Utc::now());
                tr {
                    td { (j.source.name) }
                    td { (j.source.kind) }
                    td { span class=(format!("chip status-{}", health.split(' ').next().unwrap_or(""))) { (health) } }
                    td { (time(j.poll.as_ref().map(|p| p.polled_at))) }
                    td { (time(j.freshness.last_new_item)) }
                    td {
                        @if let Some(error) = j.poll.as_ref().and_then(|p| p.last_error.as_deref()) {
                            (error) br;
                        }
                        @if let Some(reason) = &j.freshness.reason { (reason) }
                    }
                }
            }
        }
        h2 { "Relevant articles per week, by topic" }
        (timeline(&days))
    };
    page(StatusCode::OK, "Sources", body)
}

const COLOURS: &[&str] = &[
    "#1d3557", "#e63946", "#2a9d8f", "#f4a261", "#6a4c93", "#8ab17d", "#e76f51", "#457b9d",
];

/// The Monday of `day`'s week.
fn week_of(day: NaiveDate) -> NaiveDate {
    day - Duration::days(i64::from(day.weekday().num_days_from_monday()))
}

/// Articles per week per topic as an SVG line chart, the latest [`WEEKS`] weeks with data.
pub(crate) fn timeline(days: &[TopicDay]) -> Markup {
    let mut weekly: BTreeMap<&str, BTreeMap<NaiveDate, u64>> = BTreeMap::new();
    for d in days {
        let Ok(day) = NaiveDate::parse_from_str(&d.day, "%Y-%m-%d") else {
            continue;
        };
        *weekly
            .entry(d.topic.as_str())
            .or_default()
            .entry(week_of(day))
            .or_default() += d.articles;
    }
    let Some(last) = weekly
        .values()
        .filter_map(|w| w.keys().next_back())
        .max()
        .copied()
    else {
        return html! { p.empty { "No relevant article has a topic yet." } };
    };
    let first = weekly
        .values()
        .filter_map(|w| w.keys().next())
        .min()
        .copied()
        .unwrap_or(last)
        .max(last - Duration::weeks(WEEKS - 1));
    let weeks = ((last - first).num_weeks() + 1).max(1);
    let peak = weekly
        .values()
        .flat_map(|w| w.range(first..).map(|(_, n)| *n))
        .max()
        .unwrap_or(1)
        .max(1);
    let (width, height, left, bottom) = (760.0, 220.0, 40.0, 24.0);
    let x = |week: NaiveDate| {
        let i = (week - first).num_weeks() as f64;
        left + if weeks == 1 {
            0.0
        } else {
            i * (width - left - 10.0) / (weeks - 1) as f64
        }
    };
    let y = |n: u64| height - bottom - (n as f64) * (height - bottom - 10.0) / peak as f64;
    html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(width) height=(height + 20.0 * weekly.len().div_ceil(4) as f64)
            role="img" aria-label="Relevant articles per week by topic" {
            line x1=(left) y1=(height - bottom) x2=(width) y2=(height - bottom) stroke="#999" {}
            line x1=(left) y1="10" x2=(left) y2=(height - bottom) stroke="#999" {}
            text x="4" y="16" font-size="11" { (peak) }
            text x="4" y=(height - bottom) font-size="11" { "0" }
            text x=(left) y=(height - 6.0) font-size="11" { (first.format("%Y-%m-%d")) }
            text x=(width - 70.0) y=(height - 6.0) font-size="11" { (last.format("%Y-%m-%d")) }
            @for (i, (topic, counts)) in weekly.iter().enumerate() {
                @let colour = COLOURS[i % COLOURS.len()];
                @let points = (0..weeks)
                    .map(|w| first + Duration::weeks(w))
                    .map(|week| format!("{:.1},{:.1}", x(week), y(counts.get(&week).copied().unwrap_or(0))))
                    .collect::<Vec<_>>()
                    .join(" ");
                polyline points=(points) fill="none" stroke=(colour) stroke-width="2" {}
                @let (lx, ly) = (left + (i % 4) as f64 * 180.0, height + 14.0 + (i / 4) as f64 * 20.0);
                rect x=(lx) y=(ly - 9.0) width="10" height="10" fill=(colour) {}
                text x=(lx + 14.0) y=(ly) font-size="12" { (topic) }
            }
        }
    }
}

use crate::tests::{article, get, server};

use axum::http::StatusCode;

#[tokio::test]
async fn the_latest_relevant_articles_are_listed_filtered_and_searched() {
    let (app, _live, _dir) = server(true);
    let (status, page) = get(&app, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Article 4") && page.contains("Article 2"),
        "{page}"
    );
    assert!(!page.contains("Article 1<"), "not relevant: {page}");
    assert!(page.contains("class=\"chip\" href=\"/?topic=territorial-dispute\""));
    let (_, all) = get(&app, "/?show=all").await;
    assert!(all.contains("Article 1<") && all.contains("Article 5<"));
    let (_, none) = get(&app, "/?language=ja&q=&topic=").await;
    assert!(none.contains("No article matches these filters."));
    // A search marks the words found, inflected, in a snippet.
    let (_, found) = get(&app, "/?q=%D0%BA%D1%83%D1%80%D0%B8%D0%BB%D1%8C%D1%81%D0%BA%D0%B8%D1%85+%D0%BE%D1%81%D1%82%D1%80%D0%BE%D0%B2%D0%B0%D1%85").await;
    assert!(found.contains("<mark>Курильские острова</mark>"), "{found}");
    let (status, bad) = get(&app, "/?since=soon").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(bad.contains("since"));
}

#[tokio::test]
async fn older_articles_are_a_link_away() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = nichiro_store::SqliteStore::open(&dir.path().join("s.sqlite")).unwrap();
    let batch: Vec<_> = (1..=30)
        .map(|n| article(n, 1 + (n as u32 % 28), &["peace-treaty"], "Мирный договор."))
        .collect();
    nichiro_store::Store::insert_batch(&mut store, &batch).unwrap();
    let app = crate::tests::router_over(store);
    let (_, first) = get(&app, "/?topic=peace-treaty").await;
    assert_eq!(first.matches("<li>").count(), 25);
    let older = first
        .split("href=\"")
        .find(|s| s.contains("cursor="))
        .and_then(|s| s.split('"').next())
        .expect("a link to older articles")
        .replace("&amp;", "&");
    assert!(older.contains("topic=peace-treaty"), "{older}");
    let (_, rest) = get(&app, &older).await;
    assert_eq!(rest.matches("<li>").count(), 5);
    assert!(!rest.contains("cursor="), "the last page");
}

#[tokio::test]
async fn an_article_shows_its_verdict_and_its_evidence_marked_in_the_text() {
    let (app, _live, _dir) = server(true);
    let (_, page) = get(&app, "/?q=").await;
    let href = page
        .split("href=\"/articles/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap();
    let (status, article) = get(&app, &format!("/articles/{href}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(article.contains("<strong>Relevant</strong>"), "{article}");
    assert!(article.contains("territorial-dispute"));
    assert!(
        article.contains("<mark>Курильские острова</mark> и мирный договор."),
        "{article}"
    );
    assert!(article.contains("href=\"https://news.example.org/4\""));
    let (status, _) = get(&app, "/articles/99999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_sources_page_shows_health_and_a_topic_timeline() {
    let (app, _live, _dir) = server(true);
    let (status, page) = get(&app, "/sources").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("status-failing"), "{page}");
    assert!(page.contains("HTTP 503"));
    assert!(page.contains("never polled"));
    assert!(
        page.contains("<svg") && page.contains("<polyline"),
        "{page}"
    );
    assert!(page.contains(">territorial-dispute</text>"));
}

#[tokio::test]
async fn markup_from_the_web_is_shown_as_text_never_run() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = nichiro_store::SqliteStore::open(&dir.path().join("s.sqlite")).unwrap();
    let mut hostile = article(
        1,
        3,
        &["territorial-dispute"],
        "<img src=x onerror=alert(1)> Курильские острова <b>bold</b>\n\n<script>alert(2)</script>",
    );
    hostile.article.url = "javascript:alert(3)".into();
    hostile.article.title = Some("<script>alert(4)</script>".into());
    hostile.article.site_name = Some("\"><svg onload=alert(5)>".into());
    hostile.tags.topics[0].evidence = vec!["<i>Курильские</i>".into()];
    hostile.tags.topics[0].topic = "x\"><script>alert(6)</script>".into();
    hostile.tags.related = vec![nichiro_model::RelatedDoc {
        id: "javascript:alert(7)".into(),
        title: Some("<b>related</b>".into()),
        similarity: 0.5,
    }];
    nichiro_store::Store::insert_batch(&mut store, &[hostile]).unwrap();
    let app = crate::tests::router_over(store);
    let (_, list) = get(&app, "/").await;
    let (_, page) = get(&app, "/articles/1").await;
    let (_, sources) = get(&app, "/sources").await;
    for html in [&list, &page, &sources] {
        for raw in [
            "<script>alert",
            "<img src",
            "<b>",
            "<i>",
            "<svg onload",
            "javascript:alert",
        ] {
            assert!(!html.contains(&format!("href=\"{raw}")), "{raw} as a link");
            assert!(
                !html.contains(raw) || raw == "javascript:alert",
                "{raw} in:\n{html}"
            );
        }
        assert!(!html.contains("href=\"javascript:"), "{html}");
    }
    assert!(
        page.contains("&lt;script&gt;alert(4)&lt;/script&gt;"),
        "{page}"
    );
    assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(
        page.contains("<code>javascript:alert(3)</code>"),
        "shown, not linked"
    );
}

#[tokio::test]
async fn an_article_links_its_copies_and_the_stored_original_it_copies() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = nichiro_store::SqliteStore::open(&dir.path().join("s.sqlite")).unwrap();
    let original = article(1, 3, &["peace-treaty"], "Мирный договор.");
    let mut copy = article(2, 4, &["peace-treaty"], "Мирный договор.");
    copy.tags.duplicate_of = Some(nichiro_model::DuplicateOf {
        id: original.article.url.clone(),
        shared: 0.95,
    });
    nichiro_store::Store::insert_batch(&mut store, &[original, copy]).unwrap();
    let app = crate::tests::router_over(store);
    let (_, page) = get(&app, "/articles/1").await;
    assert!(page.contains("<h2>Copied by</h2>"), "{page}");
    assert!(
        page.contains("<a href=\"/articles/2\">Article 2</a>"),
        "{page}"
    );
    let (_, copy) = get(&app, "/articles/2").await;
    assert!(copy.contains("Copies <a href=\"/articles/1\">"), "{copy}");
    let (_, json) = get(&app, "/api/articles/1").await;
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["copied_by"][0]["id"], 2);
    assert_eq!(json["copied_by"][0]["url"], "https://news.example.org/2");
}

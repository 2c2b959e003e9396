//! Arbitrary input never panics the cleaner: random bytes, random HTML-ish text, and
//! random mixes of tags, entities and scripts in every charset the cleaner reads.

use nichiro_clean::{Limits, clean_bytes};
use proptest::prelude::*;

const CONTENT_TYPES: &[Option<&str>] = &[
    None,
    Some("text/html"),
    Some("text/html; charset=utf-8"),
    Some("text/html; charset=windows-1251"),
    Some("text/html; charset=shift_jis"),
    Some("text/html; charset=iso-2022-jp"),
    Some("text/plain"),
    Some("text/html; charset=\"bogus\""),
];

/// Fragments from which random, HTML-like documents are built.
const PIECES: &[&str] = &[
    "<html>",
    "<body>",
    "<div class=\"article-body\">",
    "<div class=\"comments\">",
    "</div>",
    "<p>",
    "</p>",
    "<h1>",
    "</h1>",
    "<a href=\"/x\">",
    "<a href=\"javascript:alert(1)\">",
    "</a>",
    "<br>",
    "<script>",
    "</script>",
    "<style>",
    "<table><tr><td>",
    "<form>",
    "<meta charset=\"koi8-r\">",
    "<script type=\"application/ld+json\">{\"@type\":\"NewsArticle\",\"datePublished\":",
    "}",
    "<time datetime=\"2019-13-45\">",
    "<!--",
    "-->",
    "&amp;",
    "&#x0;",
    "&#99999999;",
    "<![CDATA[",
    "Лавров и Коно обсудили мирный договор. ",
    "日露外相会談、2019年5月31日。",
    "令和元年13月40日",
    "May 21, 2018, 99:99 UTC+30",
    "Russia and Japan held talks in Tokyo, officials said. ",
    "\u{0}",
    "\u{feff}",
    "\u{202e}",
    "<link rel=canonical href=\"::::\">",
    "<html lang=\"\">",
    "<title>",
];

fn limits() -> Limits {
    Limits {
        max_depth: 64,
        ..Limits::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096), ct in 0..CONTENT_TYPES.len()) {
        let _ = clean_bytes(&bytes, CONTENT_TYPES[ct], "https://fuzz.example/a", &limits());
    }

    #[test]
    fn random_documents_never_panic(pieces in proptest::collection::vec(0..PIECES.len(), 0..200), ct in 0..CONTENT_TYPES.len(), url in "[a-z:/.%]{0,30}") {
        let document: String = pieces.iter().map(|&i| PIECES[i]).collect();
        let result = clean_bytes(document.as_bytes(), CONTENT_TYPES[ct], &url, &limits());
        // Whatever the verdict, an article's text has no empty paragraphs.
        if let Ok(article) = result {
            prop_assert!(article.text.split("\n\n").all(|p| !p.trim().is_empty()) || article.text.is_empty());
        }
    }
}

#[test]
fn no_nul_reaches_an_article() {
    // PostgreSQL refuses a row with a NUL in its text; a daemon waited on it forever.
    let filler =
        "The ministers of both countries met in Tokyo on Monday to discuss fishing. ".repeat(4);
    let text = format!("Russia and Japan\0 held talks.\n\n{filler}\0\n\n{filler}");
    let article = clean_bytes(
        text.as_bytes(),
        Some("text/plain"),
        "https://ex.org/a",
        &limits(),
    )
    .unwrap();
    assert!(!article.text.contains('\0'), "{:?}", article.text);
    assert!(article.text.contains("met in Tokyo"));
    let html = format!(
        "<html><head><title>T\0itle</title></head><body><article><p>Body \0text. {filler}</p><p>{filler}</p></article></body></html>"
    );
    let article = clean_bytes(
        html.as_bytes(),
        Some("text/html"),
        "https://ex.org/b",
        &limits(),
    )
    .unwrap();
    assert!(!article.text.contains('\0') && !article.title.unwrap_or_default().contains('\0'));
}

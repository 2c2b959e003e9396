//! `related` and `duplicate_of` measured on the written pairs set (`eval/related/`): thirty
//! clusters, each an anchor story with candidates of known kinds (its copy, a story reusing
//! one of its paragraphs, the same event in another language, a follow-up, background, and
//! unrelated stories). Every candidate of every cluster is stored; then
//! - each anchor's related list should put its own copy, same event or follow-up first
//!   (precision at 1) and among the first three (precision at 3);
//! - each copy should be found as a copy of its anchor, and no other candidate as a copy of
//!   anything (a shared background paragraph is not a copy).
//!
//! `cargo test -p nichiro-classify --test related -- --nocapture` prints the figures.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset, NaiveDate};
use nichiro_classify::corpus::Document;
use nichiro_classify::{TagConfig, Tagger};
use nichiro_model::Article;
use serde::Deserialize;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[derive(Deserialize, Clone)]
struct Doc {
    id: String,
    #[serde(default)]
    kind: String,
    title: String,
    text: String,
    date: String,
}

#[derive(Deserialize)]
struct Cluster {
    cluster: String,
    anchor: Doc,
    candidates: Vec<Doc>,
}

fn published(doc: &Doc) -> Option<DateTime<FixedOffset>> {
    let day = NaiveDate::parse_from_str(&doc.date, "%Y-%m-%d").ok()?;
    Some(day.and_hms_opt(12, 0, 0)?.and_utc().fixed_offset())
}

fn url(id: &str) -> String {
    format!("https://example.org/{id}")
}

fn article(doc: &Doc) -> Article {
    let mut article = Article::empty(url(&doc.id));
    article.title = Some(doc.title.clone());
    article.text = doc.text.clone();
    article.published = published(doc);
    article
}

fn document(doc: &Doc) -> Document {
    Document {
        id: url(&doc.id),
        url: Some(url(&doc.id)),
        title: Some(doc.title.clone()),
        text: doc.text.clone(),
        published: published(doc),
    }
}

fn clusters() -> Vec<Cluster> {
    std::fs::read_to_string(repo().join("eval/related/pairs.jsonl"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn shipped_tagger() -> Tagger {
    Tagger::from_config(TagConfig {
        topics: repo().join("config/topics.toml"),
        corpus: None,
        ..TagConfig::default()
    })
    .unwrap()
}

#[test]
fn related_puts_the_same_story_first_and_a_shared_paragraph_is_no_copy() {
    let clusters = clusters();
    assert_eq!(clusters.len(), 30);
    let kinds: HashMap<String, (String, String)> = clusters
        .iter()
        .flat_map(|c| {
            c.candidates
                .iter()
                .map(|d| (url(&d.id), (c.cluster.clone(), d.kind.clone())))
        })
        .collect();
    let close = |cluster: &str, id: &str| {
        kinds.get(id).is_some_and(|(c, k)| {
            c == cluster && matches!(k.as_str(), "copy" | "same-event" | "follow-up")
        })
    };

    // Related: every candidate stored, each anchor tagged against them.
    let mut tagger = shipped_tagger();
    for cluster in &clusters {
        for doc in &cluster.candidates {
            tagger.add_document(&document(doc));
        }
    }
    let (mut at_1, mut at_3, mut possible_3) = (0usize, 0usize, 0usize);
    let mut misses = Vec::new();
    for cluster in &clusters {
        let tags = tagger.tag(&article(&cluster.anchor));
        let top: Vec<&str> = tags.related.iter().map(|r| r.id.as_str()).collect();
        let closest = cluster
            .candidates
            .iter()
            .filter(|d| close(&cluster.cluster, &url(&d.id)))
            .count();
        possible_3 += closest.min(3);
        at_3 += top
            .iter()
            .take(3)
            .filter(|id| close(&cluster.cluster, id))
            .count();
        if top.first().is_some_and(|id| close(&cluster.cluster, id)) {
            at_1 += 1;
        } else {
            misses.push(format!(
                "{}: first {:?}",
                cluster.cluster,
                tags.related
                    .first()
                    .map(|r| (&r.id, r.similarity, kinds.get(&r.id)))
            ));
        }
    }
    let p1 = at_1 as f64 / clusters.len() as f64;
    let p3 = at_3 as f64 / (3 * clusters.len()) as f64;
    eprintln!(
        "related: precision at 1 {p1:.3} ({at_1} of {}), at 3 {p3:.3} (best possible {:.3}); misses: {misses:?}",
        clusters.len(),
        possible_3 as f64 / (3 * clusters.len()) as f64
    );

    // Copies: each cluster on its own, so only its anchor can be the original.
    let (mut copies, mut found, mut false_copies) = (0, 0, Vec::new());
    let (mut partials, mut shown_apart, mut not_shown) = (0, 0, Vec::new());
    for cluster in &clusters {
        let mut tagger = shipped_tagger();
        tagger.add_document(&document(&cluster.anchor));
        let mut docs = cluster.candidates.clone();
        docs.sort_by(|a, b| a.date.cmp(&b.date));
        for doc in &docs {
            let tags = tagger.tag(&article(doc));
            match (doc.kind.as_str(), &tags.duplicate_of) {
                ("copy", Some(copy)) if copy.id == url(&cluster.anchor.id) => found += 1,
                (_, Some(copy)) => false_copies.push(format!(
                    "{} ({}) -> {} {:.2}",
                    doc.id, doc.kind, copy.id, copy.shared
                )),
                _ => {}
            }
            if doc.kind == "partial-overlap" {
                partials += 1;
                if tags
                    .shares_text_with
                    .as_ref()
                    .is_some_and(|s| s.id == url(&cluster.anchor.id))
                {
                    shown_apart += 1;
                } else {
                    not_shown.push(doc.id.clone());
                }
            }
            copies += usize::from(doc.kind == "copy");
            tagger.add_document(&document(doc));
        }
    }
    eprintln!(
        "duplicate_of: {found} of {copies} copies found; taken for copies wrongly: {false_copies:?}; \
         shared passages shown apart: {shown_apart} of {partials} (not: {not_shown:?})"
    );
    assert!(p1 >= 0.9, "related precision at 1 {p1:.3}: {misses:?}");
    assert!(p3 >= 0.7, "related precision at 3 {p3:.3}");
    assert_eq!(found, copies, "every copy is found as its anchor's");
    assert!(false_copies.is_empty(), "{false_copies:?}");
    // A paragraph of about 30 words is at the edge of what is told from a stock phrase.
    assert!(
        shown_apart * 10 >= partials * 8,
        "shared paragraphs shown: {shown_apart} of {partials}, not {not_shown:?}"
    );
}

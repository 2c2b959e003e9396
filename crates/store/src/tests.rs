use super::*;
use nichiro_model::{Article, Tags};

fn tagged(url: &str, title: &str, text: &str, topics: &[&str]) -> TaggedArticle {
    let mut article = Article::empty(url);
    article.title = Some(title.into());
    article.text = text.into();
    article.published = DateTime::parse_from_rfc3339("2019-05-31T10:00:00+09:00").ok();
    TaggedArticle {
        article,
        tags: Tags {
            relevant: !topics.is_empty(),
            relevance: if topics.is_empty() { 0.1 } else { 0.9 },
            topics: topics
                .iter()
                .map(|t| TopicTag {
                    topic: t.to_string(),
                    score: 0.8,
                    evidence: vec!["Kurils".into()],
                })
                .collect(),
            related: vec![],
            duplicate_of: None,
            ..Tags::default()
        },
        source: "test".into(),
        requested_url: format!("{url}?utm_source=feed"),
        fetched_at: Utc::now(),
        raw_page: None,
    }
}

/// Generates one `#[test]` per shared case for a backend, each with a fresh store made by
/// `$make` (an expression giving a `Box<dyn Store>`, or `None` to skip).
macro_rules! store_suite {
    ($backend:ident, $make:expr) => {
        mod $backend {
            use super::*;

            #[test]
            fn storing_the_same_article_twice_leaves_one_row() {
                if let Some(mut store) = $make {
                    super::storing_the_same_article_twice_leaves_one_row(store.as_mut());
                }
            }

            #[test]
            fn new_verdicts_replace_the_old_and_the_topic_index() {
                if let Some(mut store) = $make {
                    super::new_verdicts_replace_the_old_and_the_topic_index(store.as_mut());
                }
            }

            #[test]
            fn a_list_is_paged_by_its_cursor_and_filtered_by_words() {
                if let Some(mut store) = $make {
                    super::a_list_is_paged_by_its_cursor_and_filtered_by_words(store.as_mut());
                }
            }

            #[test]
            fn articles_round_trip_and_list_filters() {
                if let Some(mut store) = $make {
                    super::articles_round_trip_and_list_filters(store.as_mut());
                }
            }

            #[test]
            fn search_finds_inflected_russian_and_japanese_words() {
                if let Some(mut store) = $make {
                    super::search_finds_inflected_russian_and_japanese_words(store.as_mut());
                }
            }

            #[test]
            fn export_jsonl_and_csv() {
                if let Some(mut store) = $make {
                    super::export_jsonl_and_csv(store.as_mut());
                }
            }

            #[test]
            fn leases_give_work_to_one_holder_until_released_or_expired() {
                if let Some(mut store) = $make {
                    super::leases_give_work_to_one_holder_until_released_or_expired(store.as_mut());
                }
            }

            #[test]
            fn raw_pages_are_kept_when_given_and_found_by_any_url_of_the_article() {
                if let Some(mut store) = $make {
                    super::raw_pages_are_kept_when_given_and_found_by_any_url_of_the_article(
                        store.as_mut(),
                    );
                }
            }

            #[test]
            fn a_source_poll_is_recorded_beside_its_validators() {
                if let Some(mut store) = $make {
                    super::a_source_poll_is_recorded_beside_its_validators(store.as_mut());
                }
            }

            #[test]
            fn articles_after_a_number_are_what_was_stored_since() {
                if let Some(mut store) = $make {
                    super::articles_after_a_number_are_what_was_stored_since(store.as_mut());
                }
            }

            #[test]
            fn export_filters_and_import_round_trip() {
                if let Some(mut store) = $make {
                    super::export_filters_and_import_round_trip(store.as_mut());
                }
            }

            #[test]
            fn source_validators_are_saved_replaced_and_cleared() {
                if let Some(mut store) = $make {
                    super::source_validators_are_saved_replaced_and_cleared(store.as_mut());
                }
            }

            #[test]
            fn archive_files_record_how_far_they_were_read() {
                if let Some(mut store) = $make {
                    super::archive_files_record_how_far_they_were_read(store.as_mut());
                }
            }

            #[test]
            fn given_up_urls_are_kept_once() {
                if let Some(mut store) = $make {
                    super::given_up_urls_are_kept_once(store.as_mut());
                }
            }

            #[test]
            fn renamed_addresses_follow_into_references() {
                if let Some(mut store) = $make {
                    super::renamed_addresses_follow_into_references(store.as_mut());
                }
            }
        }
    };
}

/// A store for one test, and what removes it afterwards.
struct TestStore {
    store: Box<dyn Store>,
    cleanup: Option<Box<dyn FnOnce()>>,
}

impl TestStore {
    fn as_mut(&mut self) -> &mut dyn Store {
        self.store.as_mut()
    }
}

impl Drop for TestStore {
    fn drop(&mut self) {
        if let Some(cleanup) = self.cleanup.take() {
            cleanup();
        }
    }
}

fn sqlite_store() -> Option<TestStore> {
    Some(TestStore {
        store: Box::new(SqliteStore::open_in_memory().unwrap()),
        cleanup: None,
    })
}

/// The server the PostgreSQL tests use: `NICHIRO_TEST_POSTGRES_URL`, else the local one. They
/// never skip: a test that cannot reach it fails, saying so.
fn test_postgres_url() -> String {
    std::env::var("NICHIRO_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

fn unreachable_postgres(url: &str, error: &dyn std::fmt::Display) -> String {
    format!(
        "the PostgreSQL tests need a server they may create schemas on, and {url} cannot be \
         used: {error}. Start PostgreSQL (the README says how) or point \
         NICHIRO_TEST_POSTGRES_URL at one"
    )
}

/// A PostgreSQL store in a schema of its own (so tests run in parallel), dropped afterwards.
fn postgres_store() -> Option<TestStore> {
    static SCHEMAS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let url = test_postgres_url();
    let schema = format!(
        "nichiro_test_{}_{}",
        std::process::id(),
        SCHEMAS.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    );
    let store = PostgresStore::open(&url, Some(&schema))
        .unwrap_or_else(|e| panic!("{}", unreachable_postgres(&url, &e)));
    let cleanup = move || {
        if let Ok(mut client) = ::postgres::Client::connect(&url, ::postgres::NoTls) {
            let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"));
        }
    };
    Some(TestStore {
        store: Box::new(store),
        cleanup: Some(Box::new(cleanup)),
    })
}

#[test]
fn postgres_connects_again_after_losing_its_connection() {
    let url = test_postgres_url();
    let schema = format!("nichiro_test_{}_reconnect", std::process::id());
    let name = format!("nichiro_reconnect_{}", std::process::id());
    let separator = if url.contains('?') { '&' } else { '?' };
    let mut store = PostgresStore::open(
        &format!("{url}{separator}application_name={name}"),
        Some(&schema),
    )
    .unwrap();
    let a = tagged("https://ex.org/a", "A", "Text a.", &[]);
    store.insert_batch(std::slice::from_ref(&a)).unwrap();
    // The server drops the connection (as when it restarts).
    let mut admin = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
    let terminated: i64 = admin
        .query_one(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name = $1) AS t",
            &[&name],
        )
        .unwrap()
        .get(0);
    assert_eq!(terminated, 1);
    // The first call may meet the broken connection: it says the error is passing; the next
    // connects again, and a batch tried again goes in once.
    if let Err(e) = store.count() {
        assert!(e.is_transient(), "{e}");
    }
    assert_eq!(store.count().unwrap(), 1);
    let b = tagged("https://ex.org/b", "B", "Text b.", &[]);
    assert_eq!(
        store.insert_batch(&[a, b]).unwrap(),
        [InsertOutcome::AlreadyStored, InsertOutcome::New]
    );
    assert_eq!(store.count().unwrap(), 2);
    drop(store);
    admin
        .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .unwrap();
}

store_suite!(sqlite, sqlite_store());
store_suite!(postgres, postgres_store());

fn storing_the_same_article_twice_leaves_one_row(store: &mut dyn Store) {
    let a = tagged(
        "https://ex.org/a",
        "Talks",
        "Lavrov and Kono met.",
        &["diplomacy-summits"],
    );
    assert_eq!(
        store.insert_batch(std::slice::from_ref(&a)).unwrap(),
        [InsertOutcome::New]
    );
    // A batch retried after a crash: the stored article stays, the new one goes in.
    let b = tagged("https://ex.org/b", "More talks", "Kono met Lavrov.", &[]);
    assert_eq!(
        store.insert_batch(&[a, b]).unwrap(),
        [InsertOutcome::AlreadyStored, InsertOutcome::New]
    );
    assert_eq!(store.count().unwrap(), 2);
    assert!(store.is_seen("https://ex.org/a").unwrap());
    assert!(store.is_seen("https://ex.org/a?utm_source=feed").unwrap());
    assert!(!store.is_seen("https://ex.org/c").unwrap());
    assert_eq!(store.seen_urls().unwrap().len(), 4);
    let mut seen = 0;
    store
        .for_each_article(&ArticleFilter::default(), &mut |_| seen += 1)
        .unwrap();
    assert_eq!(seen, 2);
}

#[test]
fn sqlite_file_keeps_its_articles_across_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/dir/store.sqlite");
    let a = tagged(
        "https://ex.org/a",
        "Talks",
        "Lavrov and Kono met.",
        &["diplomacy-summits"],
    );
    {
        let mut store = SqliteStore::open(&path).unwrap();
        assert_eq!(
            store.insert_batch(std::slice::from_ref(&a)).unwrap(),
            [InsertOutcome::New]
        );
    }
    let mut store = SqliteStore::open(&path).unwrap();
    assert_eq!(
        store.insert_batch(&[a]).unwrap(),
        [InsertOutcome::AlreadyStored]
    );
    assert_eq!(store.count().unwrap(), 1);
    assert!(store.is_seen("https://ex.org/a").unwrap());
    assert!(store.is_seen("https://ex.org/a?utm_source=feed").unwrap());
    assert!(!store.is_seen("https://ex.org/b").unwrap());
    assert_eq!(store.seen_urls().unwrap().len(), 2);
}

/// An article whose search terms were written by an earlier tokenizer, which cut `Курил` to
/// `кур`: the text a search for Курилы should find.
const OLD_INDEXED: (&str, &str) = ("Визит", "Делегация посетила острова Южных Курил.");
const OLD_TERMS: &str = "визит делегац посет остров южн кур";

/// How many articles a search for `q` finds.
fn found(store: &dyn Store, q: &str) -> usize {
    store.search(q, &ArticleFilter::default(), 5).unwrap().len()
}

#[test]
fn a_search_index_built_by_an_older_tokenizer_is_rebuilt_when_opened_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.sqlite");
    let (title, text) = OLD_INDEXED;
    {
        let mut store = SqliteStore::open(&path).unwrap();
        let a = tagged("https://ex.org/a", title, text, &[]);
        store.insert_batch(&[a]).unwrap();
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute("UPDATE store_meta SET value = 'older'", [])
            .unwrap();
        conn.execute("DELETE FROM articles_fts", []).unwrap();
        conn.execute(
            "INSERT INTO articles_fts (rowid, terms) SELECT id, ?1 FROM articles",
            [OLD_TERMS],
        )
        .unwrap();
        assert_eq!(found(&store, "Курилы"), 0);
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(found(&store, "Курилы"), 1);
    assert_eq!(found(&store, "визит"), 1);
}

#[test]
fn a_search_index_built_by_an_older_tokenizer_is_rebuilt_when_opened_postgres() {
    let url = test_postgres_url();
    let schema = format!("nichiro_test_{}_reindex", std::process::id());
    let (title, text) = OLD_INDEXED;
    {
        let mut store = PostgresStore::open(&url, Some(&schema))
            .unwrap_or_else(|e| panic!("{}", unreachable_postgres(&url, &e)));
        store
            .insert_batch(&[tagged("https://ex.org/a", title, text, &[])])
            .unwrap();
        let mut admin = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
        admin
            .batch_execute(&format!(
                "SET search_path TO \"{schema}\"; UPDATE store_meta SET value = 'older'; \
                 UPDATE articles SET search = to_tsvector('simple', '{OLD_TERMS}')"
            ))
            .unwrap();
        assert_eq!(found(&store, "Курилы"), 0);
    }
    let store = PostgresStore::open(&url, Some(&schema)).unwrap();
    let found = found(&store, "Курилы");
    drop(store);
    let mut admin = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
    admin
        .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .unwrap();
    assert_eq!(found, 1);
}

fn articles_round_trip_and_list_filters(store: &mut dyn Store) {
    let a = tagged(
        "https://ex.org/a",
        "Islands",
        "The Kuril Islands dispute.",
        &["territorial-dispute"],
    );
    let mut b = tagged("https://ex.org/b", "Markets", "Stocks rose.", &[]);
    b.article.published = DateTime::parse_from_rfc3339("2020-01-01T00:00:00Z").ok();
    b.article.language = Some("ru".into());
    store.insert_batch(&[a.clone(), b]).unwrap();
    let all = store.list(&ArticleFilter::default(), None).unwrap();
    assert_eq!(
        all.iter().map(|s| s.url.as_str()).collect::<Vec<_>>(),
        ["https://ex.org/b", "https://ex.org/a"]
    );
    let islands = store
        .list(
            &ArticleFilter {
                topic: Some("territorial-dispute".into()),
                ..ArticleFilter::default()
            },
            None,
        )
        .unwrap();
    assert_eq!(islands.len(), 1);
    assert_eq!(islands[0].topics, a.tags.topics);
    assert_eq!(islands[0].published, a.article.published);
    let since = DateTime::parse_from_rfc3339("2019-06-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let recent = store
        .list(
            &ArticleFilter {
                since: Some(since),
                ..ArticleFilter::default()
            },
            None,
        )
        .unwrap();
    assert_eq!(recent.len(), 1);
    assert_eq!(recent[0].url, "https://ex.org/b");
    let relevant = store
        .list(
            &ArticleFilter {
                relevant_only: true,
                ..ArticleFilter::default()
            },
            None,
        )
        .unwrap();
    assert_eq!(relevant.len(), 1);
    // Every filter, as SQL, on list and search alike.
    let only = |filter: ArticleFilter| {
        let listed: Vec<String> = store
            .list(&filter, None)
            .unwrap()
            .into_iter()
            .map(|a| a.url)
            .collect();
        let found: Vec<String> = store
            .search("dispute stocks", &filter, 10)
            .unwrap()
            .into_iter()
            .chain(store.search("Kuril", &filter, 10).unwrap())
            .chain(store.search("stocks", &filter, 10).unwrap())
            .map(|a| a.url)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut sorted = listed.clone();
        sorted.sort();
        assert_eq!(sorted, found, "search and list agree on {filter:?}");
        listed
    };
    let until = DateTime::parse_from_rfc3339("2019-06-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    assert_eq!(
        only(ArticleFilter {
            until: Some(until),
            ..ArticleFilter::default()
        }),
        ["https://ex.org/a"]
    );
    assert_eq!(
        only(ArticleFilter {
            source: Some("test".into()),
            relevant_only: true,
            ..ArticleFilter::default()
        }),
        ["https://ex.org/a"]
    );
    assert!(
        only(ArticleFilter {
            source: Some("elsewhere".into()),
            ..ArticleFilter::default()
        })
        .is_empty()
    );
    assert_eq!(
        only(ArticleFilter {
            language: Some("ru".into()),
            ..ArticleFilter::default()
        }),
        ["https://ex.org/b"]
    );
    assert_eq!(
        only(ArticleFilter {
            topic: Some("territorial-dispute".into()),
            since: Some(until - chrono::Duration::days(3650)),
            ..ArticleFilter::default()
        }),
        ["https://ex.org/a"]
    );
}

fn search_finds_inflected_russian_and_japanese_words(store: &mut dyn Store) {
    store
        .insert_batch(&[
            tagged(
                "https://ex.org/ru",
                "Переговоры",
                "Лавров обсудил Курильские острова.",
                &[],
            ),
            tagged(
                "https://ex.org/ja",
                "会談",
                "ラブロフ外相は北方領土問題について協議した。",
                &[],
            ),
            tagged(
                "https://ex.org/en",
                "Talks",
                "The ministers discussed the islands.",
                &[],
            ),
            tagged(
                "https://ex.org/ru2",
                "Визит",
                "Делегация посетила Шикотан, один из островов Южных Курил.",
                &[],
            ),
        ])
        .unwrap();
    let urls = |q: &str| {
        store
            .search(q, &ArticleFilter::default(), 10)
            .unwrap()
            .into_iter()
            .map(|a| a.url)
            .collect::<Vec<_>>()
    };
    assert_eq!(urls("курильских островах"), ["https://ex.org/ru"]);
    assert_eq!(
        urls("Лаврова"),
        ["https://ex.org/ru"],
        "a surname in any case"
    );
    assert_eq!(urls("北方領土"), ["https://ex.org/ja"]);
    assert_eq!(urls("island discussion"), ["https://ex.org/en"]);
    assert_eq!(urls("islands treaty"), Vec::<String>::new());
    assert!(urls("\"").is_empty());
    // Phrases keep their words together and in order; OR takes either side.
    assert_eq!(urls("\"discussed the islands\""), ["https://ex.org/en"]);
    assert!(urls("\"islands discussed\"").is_empty());
    let mut either = urls("курильских OR 北方領土");
    either.sort();
    assert_eq!(either, ["https://ex.org/ja", "https://ex.org/ru"]);
    // A lone Japanese character, which the index holds only inside bigrams, at a word's end.
    assert_eq!(urls("土"), ["https://ex.org/ja"]);
    assert_eq!(urls("土 OR islands").len(), 2);
    // The islands' name in every case, and a starred word for the words it starts.
    assert_eq!(urls("Курилы"), ["https://ex.org/ru2"]);
    assert_eq!(urls("Шикотана"), ["https://ex.org/ru2"]);
    let mut starred = urls("Курил*");
    starred.sort();
    assert_eq!(starred, ["https://ex.org/ru", "https://ex.org/ru2"]);
    assert_eq!(urls("\"южных курил*\""), ["https://ex.org/ru2"]);
    assert!(urls("рил*").is_empty(), "a prefix starts a word");
    // Scores: the better answer first.
    store
        .insert_batch(&[tagged(
            "https://ex.org/en2",
            "The islands",
            "The islands, the islands and the islands were discussed.",
            &[],
        )])
        .unwrap();
    let scored = store
        .search_scored("islands", &ArticleFilter::default(), 10)
        .unwrap();
    assert_eq!(scored[0].1.url, "https://ex.org/en2");
    assert!(
        scored[0].0 > scored[1].0 && scored[1].0 > 0.0,
        "{:?}",
        scored.iter().map(|s| s.0).collect::<Vec<_>>()
    );
}

fn export_jsonl_and_csv(store: &mut dyn Store) {
    store
        .insert_batch(&[tagged(
            "https://ex.org/a",
            "Title, with comma",
            "Text.",
            &["peace-treaty"],
        )])
        .unwrap();
    let mut jsonl = Vec::new();
    assert_eq!(
        store
            .export(ExportFormat::Jsonl, &ArticleFilter::default(), &mut jsonl)
            .unwrap(),
        1
    );
    let line: serde_json::Value = serde_json::from_slice(&jsonl).unwrap();
    assert_eq!(line["url"], "https://ex.org/a");
    assert_eq!(line["topics"][0]["topic"], "peace-treaty");
    let mut csv_out = Vec::new();
    store
        .export(ExportFormat::Csv, &ArticleFilter::default(), &mut csv_out)
        .unwrap();
    let csv_text = String::from_utf8(csv_out).unwrap();
    assert!(
        csv_text.starts_with(
            "url,title,published,language,site_name,source,relevant,relevance,topics,\
             duplicate_of,shares_text_with,content_hash,tagger\n"
        ),
        "{csv_text}"
    );
    assert!(csv_text.contains("\"Title, with comma\""), "{csv_text}");
}

#[test]
fn unopenable_path_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, "x").unwrap();
    let err = SqliteStore::open(&file.join("store.sqlite")).unwrap_err();
    assert!(err.to_string().contains("file/store.sqlite"), "{err}");
}

fn export_filters_and_import_round_trip(store: &mut dyn Store) {
    let mut ru = tagged(
        "https://ex.org/ru",
        "Переговоры",
        "Лавров и Коно обсудили мирный договор.",
        &["peace-treaty"],
    );
    ru.article.language = Some("ru".into());
    ru.source = "tass-ru".into();
    let en = tagged("https://ex.org/en", "Markets", "Stocks rose.", &[]);
    store.insert_batch(&[ru, en]).unwrap();
    let export = |store: &dyn Store, filter: &ArticleFilter| {
        let mut out = Vec::new();
        let n = store.export(ExportFormat::Jsonl, filter, &mut out).unwrap();
        (n, String::from_utf8(out).unwrap())
    };
    let (n, _) = export(&*store, &ArticleFilter::default());
    assert_eq!(n, 2);
    for filter in [
        ArticleFilter {
            topic: Some("peace-treaty".into()),
            ..ArticleFilter::default()
        },
        ArticleFilter {
            language: Some("ru".into()),
            ..ArticleFilter::default()
        },
        ArticleFilter {
            source: Some("tass-ru".into()),
            ..ArticleFilter::default()
        },
        ArticleFilter {
            relevant_only: true,
            ..ArticleFilter::default()
        },
    ] {
        let (n, text) = export(&*store, &filter);
        assert_eq!(n, 1, "{filter:?}");
        assert!(text.contains("https://ex.org/ru"), "{filter:?}");
    }
    let (n, _) = export(
        &*store,
        &ArticleFilter {
            until: DateTime::parse_from_rfc3339("2019-01-01T00:00:00Z")
                .ok()
                .map(|t| t.with_timezone(&Utc)),
            ..ArticleFilter::default()
        },
    );
    assert_eq!(n, 0, "both are dated 2019-05-31");

    // What export writes, import reads back: into a fresh store, the same articles.
    let (_, lines) = export(&*store, &ArticleFilter::default());
    let mut copy = SqliteStore::open_in_memory().unwrap();
    let batch: Vec<TaggedArticle> = lines
        .lines()
        .map(|l| {
            serde_json::from_str::<StoredArticle>(l)
                .unwrap()
                .into_tagged()
        })
        .collect();
    copy.insert_batch(&batch).unwrap();
    let (_, again) = export(&copy, &ArticleFilter::default());
    let without_stored_at = |text: &str| -> Vec<serde_json::Value> {
        text.lines()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                v.as_object_mut().unwrap().remove("stored_at");
                v
            })
            .collect()
    };
    assert_eq!(without_stored_at(&lines), without_stored_at(&again));
}

fn raw_pages_are_kept_when_given_and_found_by_any_url_of_the_article(store: &mut dyn Store) {
    let html = "<html><body><article><p>Лавров и Мотэги</p></article></body></html>";
    let mut kept = tagged("https://ex.org/kept", "Kept", "Text.", &[]);
    kept.requested_url = "https://ex.org/kept?utm_source=rss".into();
    kept.raw_page = Some(crate::archive::compress(
        Some("text/html; charset=utf-8"),
        html.as_bytes(),
    ));
    let plain = tagged("https://ex.org/plain", "Plain", "Text.", &[]);
    store.insert_batch(&[kept.clone(), plain]).unwrap();
    for url in ["https://ex.org/kept", "https://ex.org/kept?utm_source=rss"] {
        let page = store.raw_page(url).unwrap().expect(url);
        assert_eq!(
            page.content_type.as_deref(),
            Some("text/html; charset=utf-8")
        );
        assert_eq!(crate::archive::decompress(&page).unwrap(), html.as_bytes());
    }
    assert_eq!(store.raw_page("https://ex.org/plain").unwrap(), None);
    assert_eq!(store.raw_page("https://ex.org/never").unwrap(), None);
    // Stored again, the article keeps its one page.
    store.insert_batch(&[kept]).unwrap();
    assert!(store.raw_page("https://ex.org/kept").unwrap().is_some());
}

fn a_source_poll_is_recorded_beside_its_validators(store: &mut dyn Store) {
    use chrono::{Duration, SubsecRound};
    use nichiro_model::SourcePoll;
    assert_eq!(store.last_poll("tass").unwrap(), None);
    let v1 = SavedListing {
        etag: Some("\"v1\"".into()),
        ..SavedListing::default()
    };
    store.set_source_validators("tass", &v1).unwrap();
    let now = Utc::now().trunc_subsecs(0);
    let failed = SourcePoll {
        polled_at: now,
        next_poll_at: Some(now + Duration::seconds(900)),
        failures: 2,
        last_error: Some("source \"tass\": HTTP 503".into()),
        failing_since: Some(now - Duration::seconds(1800)),
    };
    store.record_poll("tass", &failed).unwrap();
    assert_eq!(store.last_poll("tass").unwrap(), Some(failed));
    let fine = SourcePoll {
        polled_at: now,
        next_poll_at: None,
        failures: 0,
        last_error: None,
        failing_since: None,
    };
    store.record_poll("tass", &fine).unwrap();
    assert_eq!(store.last_poll("tass").unwrap(), Some(fine));
    assert_eq!(
        store.source_validators("tass").unwrap(),
        v1,
        "the validators stay"
    );
    assert_eq!(store.last_poll("rbc").unwrap(), None);
}

fn a_list_is_paged_by_its_cursor_and_filtered_by_words(store: &mut dyn Store) {
    // Seven articles, three of them at one time (the tie is broken by number), two without
    // the words searched for.
    let batch: Vec<TaggedArticle> = (1..=7)
        .map(|n| {
            let text = if n % 3 == 0 {
                "Переговоры о визах.".to_string()
            } else {
                format!("Курильские острова, статья {n}.")
            };
            let mut a = tagged(&format!("https://ex.org/p{n}"), "T", &text, &[]);
            let day = [1, 5, 5, 5, 2, 9, 3][n - 1];
            a.article.published =
                DateTime::parse_from_rfc3339(&format!("2019-05-0{day}T10:00:00+09:00")).ok();
            a
        })
        .collect();
    store.insert_batch(&batch).unwrap();
    let whole = store
        .list_numbered(&ArticleFilter::default(), None)
        .unwrap();
    assert_eq!(whole.len(), 7);
    let mut paged = Vec::new();
    let mut filter = ArticleFilter::default();
    loop {
        let page = store.list_numbered(&filter, Some(2)).unwrap();
        let Some((last, _)) = page.last() else { break };
        filter.after_number = Some(*last);
        paged.extend(page);
    }
    let numbers = |list: &[(i64, StoredArticle)]| list.iter().map(|(n, _)| *n).collect::<Vec<_>>();
    assert_eq!(
        numbers(&paged),
        numbers(&whole),
        "pages of 2 make the whole list"
    );
    let urls: Vec<&str> = whole.iter().map(|(_, a)| a.url.as_str()).collect();
    assert_eq!(
        urls,
        [
            "https://ex.org/p6",
            "https://ex.org/p4",
            "https://ex.org/p3",
            "https://ex.org/p2",
            "https://ex.org/p7",
            "https://ex.org/p5",
            "https://ex.org/p1"
        ],
        "newest first, the later stored first among equals"
    );
    // An article by its number, found by any of its URLs; an unknown number is none.
    let (number, article) = &whole[3];
    assert_eq!(store.article(*number).unwrap().as_ref(), Some(article));
    assert_eq!(store.article_number(&article.url).unwrap(), Some(*number));
    assert_eq!(
        store.article_number(&article.requested_url).unwrap(),
        Some(*number)
    );
    assert_eq!(store.article_number("https://ex.org/none").unwrap(), None);
    // What copies an article.
    let mut copy = tagged("https://ex.org/copy", "T", "Text.", &[]);
    copy.tags.duplicate_of = Some(nichiro_model::DuplicateOf {
        id: article.url.clone(),
        shared: 0.9,
    });
    store.insert_batch(&[copy]).unwrap();
    let copies = store.copies_of(&article.url, 10).unwrap();
    assert_eq!(copies.len(), 1);
    assert_eq!(copies[0].url, "https://ex.org/copy");
    assert_eq!(
        store.article(copies[0].number).unwrap().unwrap().url,
        copies[0].url
    );
    assert!(
        store
            .copies_of("https://ex.org/copy", 10)
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.article(i64::MAX).unwrap(), None);
    let cursor_past_the_end = ArticleFilter {
        after_number: Some(i64::MAX),
        ..ArticleFilter::default()
    };
    assert!(
        store
            .list_numbered(&cursor_past_the_end, None)
            .unwrap()
            .is_empty()
    );
    // Words, inflected, with the cursor too.
    let islands = ArticleFilter {
        matching: Some("курильских островах".into()),
        ..ArticleFilter::default()
    };
    let found = store.list_numbered(&islands, None).unwrap();
    let urls: Vec<&str> = found.iter().map(|(_, a)| a.url.as_str()).collect();
    assert_eq!(
        urls,
        [
            "https://ex.org/p4",
            "https://ex.org/p2",
            "https://ex.org/p7",
            "https://ex.org/p5",
            "https://ex.org/p1"
        ]
    );
    let after_two = ArticleFilter {
        after_number: Some(found[1].0),
        ..islands.clone()
    };
    assert_eq!(
        numbers(&store.list_numbered(&after_two, None).unwrap()),
        numbers(&found[2..])
    );
    let nothing = ArticleFilter {
        matching: Some(" ,. ".into()),
        ..ArticleFilter::default()
    };
    assert!(store.list_numbered(&nothing, None).unwrap().is_empty());
    // Topics per day.
    let mut tagged_days: Vec<TaggedArticle> = [
        ("t1", "2019-05-01T23:30:00-02:00", "a"),
        ("t2", "2019-05-02T10:00:00Z", "a"),
        ("t3", "2019-05-02T11:00:00Z", "b"),
    ]
    .iter()
    .map(|(slug, time, topic)| {
        let mut a = tagged(&format!("https://ex.org/{slug}"), "T", "Text.", &[topic]);
        a.article.published = DateTime::parse_from_rfc3339(time).ok();
        a.source = "days".into();
        a
    })
    .collect();
    let b = tagged_days[2].tags.topics[0].clone();
    tagged_days[1].tags.topics.push(b);
    store.insert_batch(&tagged_days).unwrap();
    let days = store
        .topic_days(&ArticleFilter {
            source: Some("days".into()),
            ..ArticleFilter::default()
        })
        .unwrap();
    let days: Vec<(&str, &str, u64)> = days
        .iter()
        .map(|d| (d.day.as_str(), d.topic.as_str(), d.articles))
        .collect();
    assert_eq!(
        days,
        [("2019-05-02", "a", 2), ("2019-05-02", "b", 2)],
        "days in UTC (23:30 at -02:00 is the next day)"
    );
    let names = store.topic_names().unwrap();
    assert!(
        names.contains(&"a".to_string()) && names.contains(&"b".to_string()),
        "{names:?}"
    );
    assert!(names.windows(2).all(|w| w[0] < w[1]), "in order, once each");
    // Alerts: an outcome is recorded once, a cursor only moves forward.
    assert_eq!(
        store.alert_outcome("islands", "https://ex.org/p1").unwrap(),
        None
    );
    store
        .record_alert("islands", "https://ex.org/p1", "sent")
        .unwrap();
    store
        .record_alert("islands", "https://ex.org/p1", "given up: HTTP 500")
        .unwrap();
    assert_eq!(
        store
            .alert_outcome("islands", "https://ex.org/p1")
            .unwrap()
            .as_deref(),
        Some("sent")
    );
    assert_eq!(
        store.alert_outcome("other", "https://ex.org/p1").unwrap(),
        None
    );
    assert_eq!(store.alert_cursor("islands").unwrap(), None);
    store.set_alert_cursor("islands", 7).unwrap();
    store.set_alert_cursor("islands", 5).unwrap();
    assert_eq!(store.alert_cursor("islands").unwrap(), Some(7));
    // When a source's latest articles arrived, newest first.
    let arrivals = store.source_arrivals("test", 3).unwrap();
    assert_eq!(arrivals.len(), 3);
    assert!(arrivals.windows(2).all(|w| w[0] >= w[1]), "{arrivals:?}");
    assert!(store.source_arrivals("elsewhere", 3).unwrap().is_empty());
}

fn articles_after_a_number_are_what_was_stored_since(store: &mut dyn Store) {
    assert_eq!(store.last_article_number().unwrap(), 0);
    assert!(store.articles_after(0, 10).unwrap().is_empty());
    let first = tagged("https://ex.org/1", "One", "Text one.", &[]);
    store.insert_batch(&[first]).unwrap();
    let mark = store.last_article_number().unwrap();
    assert!(mark > 0);
    let later: Vec<TaggedArticle> = (2..=4)
        .map(|n| tagged(&format!("https://ex.org/{n}"), "Later", "Text.", &[]))
        .collect();
    store.insert_batch(&later).unwrap();
    let since = store.articles_after(mark, 10).unwrap();
    let urls: Vec<&str> = since.iter().map(|(_, a)| a.url.as_str()).collect();
    assert_eq!(
        urls,
        ["https://ex.org/2", "https://ex.org/3", "https://ex.org/4"]
    );
    assert!(
        since.windows(2).all(|w| w[0].0 < w[1].0),
        "in the order stored"
    );
    let page = store.articles_after(mark, 2).unwrap();
    assert_eq!(page.len(), 2);
    let rest = store.articles_after(page[1].0, 10).unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].1.url, "https://ex.org/4");
    assert_eq!(store.last_article_number().unwrap(), rest[0].0);
    // The same text under three URLs hashes the same; another text does not.
    let all = store.articles_after(0, 10).unwrap();
    let hashes: Vec<&str> = all.iter().map(|(_, a)| a.content_hash.as_str()).collect();
    assert_eq!(hashes[0].len(), 64, "{hashes:?}");
    assert_ne!(hashes[0], hashes[1]);
    assert!(hashes[1..].iter().all(|h| *h == hashes[1]), "{hashes:?}");
}

fn leases_give_work_to_one_holder_until_released_or_expired(store: &mut dyn Store) {
    use std::time::Duration;
    let minute = Duration::from_secs(60);
    let (granted, elsewhere) = (Claim::Granted, Claim::HeldElsewhere);
    let page = "https://ex.org/page";
    let claim = |key: &str, holder: &str, ttl: Duration| store.claim(key, holder, ttl).unwrap();
    assert_eq!(claim(page, "daemon-a", minute), granted);
    assert_eq!(
        claim(page, "daemon-b", minute),
        elsewhere,
        "a live claim holds"
    );
    assert_eq!(
        claim(page, "daemon-a", minute),
        granted,
        "the holder renews it"
    );
    store.release(page, "daemon-b").unwrap();
    assert_eq!(
        store.claim(page, "daemon-b", minute).unwrap(),
        elsewhere,
        "only the holder releases"
    );
    store.release(page, "daemon-a").unwrap();
    assert_eq!(store.claim(page, "daemon-b", minute).unwrap(), granted);
    store.release_all("daemon-b").unwrap();
    assert_eq!(
        store.claim(page, "daemon-a", minute).unwrap(),
        granted,
        "released at the end of a run"
    );
    // A claim whose holder died: expired at once here (no waiting), so another takes it.
    let poll = "source:tass";
    assert_eq!(
        store.claim(poll, "daemon-a", Duration::ZERO).unwrap(),
        granted
    );
    assert_eq!(store.claim(poll, "daemon-b", minute).unwrap(), granted);
    assert_eq!(store.claim(poll, "daemon-a", minute).unwrap(), elsewhere);
    // The heartbeat: a claim about to lapse is extended by its holder, and by nobody else.
    let slow = "https://ex.org/slow".to_string();
    assert_eq!(claim(&slow, "daemon-a", Duration::ZERO), granted);
    assert_eq!(
        store
            .renew("daemon-b", std::slice::from_ref(&slow), minute)
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .renew(
                "daemon-a",
                &[slow.clone(), "https://ex.org/never-claimed".into()],
                minute
            )
            .unwrap(),
        1,
        "only what it holds"
    );
    assert_eq!(
        claim(&slow, "daemon-b", minute),
        elsewhere,
        "renewed, it no longer lapses"
    );
    // A page stored already is nobody's work.
    store
        .insert_batch(&[tagged("https://ex.org/stored", "T", "Text.", &[])])
        .unwrap();
    assert_eq!(
        store
            .claim("https://ex.org/stored", "daemon-a", minute)
            .unwrap(),
        Claim::Stored
    );
    assert_eq!(
        store
            .claim("https://ex.org/stored?utm_source=feed", "daemon-a", minute)
            .unwrap(),
        Claim::Stored,
        "nor is a URL it was requested under"
    );
}

fn archive_files_record_how_far_they_were_read(store: &mut dyn Store) {
    use crate::ArchiveFileState;
    assert!(store.archive_files("cc-news").unwrap().is_empty());
    let state = |file: &str, resume_at, done| ArchiveFileState {
        file: file.into(),
        resume_at,
        done,
    };
    store
        .record_archive_file("cc-news", &state("a.warc.gz", 120, false))
        .unwrap();
    // A later, lower resume point (written late by a slower writer) does not move it back.
    store
        .record_archive_file("cc-news", &state("a.warc.gz", 80, false))
        .unwrap();
    store
        .record_archive_file("cc-news", &state("b.warc.gz", 500, true))
        .unwrap();
    store
        .record_archive_file("cc-news", &state("b.warc.gz", 10, false))
        .unwrap();
    store
        .record_archive_file("other", &state("a.warc.gz", 1, true))
        .unwrap();
    let mut files = store.archive_files("cc-news").unwrap();
    files.sort_by(|a, b| a.file.cmp(&b.file));
    assert_eq!(
        files,
        [
            state("a.warc.gz", 120, false),
            state("b.warc.gz", 500, true)
        ]
    );
}

fn source_validators_are_saved_replaced_and_cleared(store: &mut dyn Store) {
    assert_eq!(
        store.source_validators("tass").unwrap(),
        SavedListing::default()
    );
    let v1 = SavedListing {
        etag: Some("\"v1\"".into()),
        ..SavedListing::default()
    };
    store.set_source_validators("tass", &v1).unwrap();
    // With the feed a home page announced, whose validators they are.
    let v2 = SavedListing {
        etag: Some("\"v2\"".into()),
        last_modified: Some("Mon, 03 Jun 2019 10:00:00 GMT".into()),
        url: Some("https://tass.example/rss/v2.xml".into()),
        sitemaps: [(
            "https://tass.example/sitemap-1.xml".to_string(),
            nichiro_model::KnownSitemap {
                etag: Some("\"c1\"".into()),
                last_modified: None,
                children: vec!["https://tass.example/sitemap-1a.xml".into()],
            },
        )]
        .into(),
    };
    store.set_source_validators("tass", &v2).unwrap();
    assert_eq!(store.source_validators("tass").unwrap(), v2);
    store
        .set_source_validators("tass", &SavedListing::default())
        .unwrap();
    assert_eq!(
        store.source_validators("tass").unwrap(),
        SavedListing::default()
    );
}

fn given_up_urls_are_kept_once(store: &mut dyn Store) {
    let gone = (
        "https://ex.org/gone".to_string(),
        "s".to_string(),
        "HTTP 404".to_string(),
    );
    store.record_given_up(&[gone.clone(), gone]).unwrap();
    assert_eq!(store.given_up_urls().unwrap(), ["https://ex.org/gone"]);
}

fn renamed_addresses_follow_into_references(store: &mut dyn Store) {
    let old = "file:///old/place/corpus/000_kurils.txt";
    let new = "dir:/corpus/000_kurils.txt";
    let mut original = tagged(old, "Kurils", "original text", &["kuril_islands"]);
    original.requested_url = old.into();
    let mut copy = tagged(
        "https://ex.org/copy",
        "Copy",
        "copied text",
        &["kuril_islands"],
    );
    copy.tags.duplicate_of = Some(DuplicateOf {
        id: old.into(),
        shared: 0.9,
    });
    copy.tags.shares_text_with = Some(DuplicateOf {
        id: old.into(),
        shared: 0.9,
    });
    copy.tags.related = vec![RelatedDoc {
        id: old.into(),
        title: None,
        similarity: 0.8,
    }];
    store.insert_batch(&[original, copy]).unwrap();
    store
        .record_given_up(&[(
            "file:///old/place/corpus/gone.txt".into(),
            "corpus".into(),
            "unreadable".into(),
        )])
        .unwrap();
    let renames = vec![
        (old.to_string(), new.to_string()),
        (
            "file:///old/place/corpus/gone.txt".to_string(),
            "dir:/corpus/gone.txt".to_string(),
        ),
    ];
    assert_eq!(store.rename_urls(&renames).unwrap(), 1);
    assert!(store.is_seen(new).unwrap());
    assert!(!store.is_seen(old).unwrap());
    assert_eq!(store.given_up_urls().unwrap(), ["dir:/corpus/gone.txt"]);
    let all = store.list(&ArticleFilter::default(), None).unwrap();
    let renamed = all.iter().find(|a| a.url == new).expect("renamed");
    assert_eq!(renamed.requested_url, new);
    let copy = all.iter().find(|a| a.url == "https://ex.org/copy").unwrap();
    assert_eq!(copy.duplicate_of.as_ref().unwrap().id, new);
    assert_eq!(copy.shares_text_with.as_ref().unwrap().id, new);
    assert_eq!(copy.related[0].id, new);
    // Again: nothing is left to rename.
    assert_eq!(store.rename_urls(&renames).unwrap(), 0);
}

fn new_verdicts_replace_the_old_and_the_topic_index(store: &mut dyn Store) {
    let a = tagged("https://ex.org/a", "A", "Text a.", &["territorial-dispute"]);
    let b = tagged("https://ex.org/b", "B", "Text b.", &[]);
    store.insert_batch(&[a.clone(), b.clone()]).unwrap();
    let by_topic = |store: &dyn Store, topic: &str| -> Vec<String> {
        let filter = ArticleFilter {
            topic: Some(topic.into()),
            ..ArticleFilter::default()
        };
        store
            .list(&filter, None)
            .unwrap()
            .into_iter()
            .map(|s| s.url)
            .collect()
    };
    let mut retagged = tagged("https://ex.org/a", "A", "Text a.", &["peace-treaty"]).tags;
    retagged.relevance = 0.7;
    retagged.tagger = "0123456789abcdef".into();
    retagged.shares_text_with = Some(nichiro_model::DuplicateOf {
        id: "https://ex.org/b".into(),
        shared: 0.12,
    });
    let updated = store
        .update_tags(&[
            ("https://ex.org/a".into(), retagged.clone()),
            ("https://ex.org/nowhere".into(), retagged.clone()),
        ])
        .unwrap();
    assert_eq!(updated, 1, "an unknown URL is no update");
    assert!(by_topic(store, "territorial-dispute").is_empty());
    assert_eq!(by_topic(store, "peace-treaty"), ["https://ex.org/a"]);
    let stored = store.list(&ArticleFilter::default(), None).unwrap();
    let a_now = stored.iter().find(|s| s.url == "https://ex.org/a").unwrap();
    assert_eq!(a_now.topics, retagged.topics);
    assert_eq!(a_now.relevance, 0.7);
    assert_eq!(a_now.tagger, "0123456789abcdef");
    assert_eq!(a_now.shares_text_with, retagged.shares_text_with);
    assert_eq!(
        a_now.text, "Text a.",
        "the article itself is left as it was"
    );
    let b_now = stored.iter().find(|s| s.url == "https://ex.org/b").unwrap();
    assert_eq!(
        b_now.tagger, "",
        "an article not retagged keeps its verdict"
    );
}

//! The offline config end to end, and the clean, tag, search, list and export commands.

mod support;

use serde_json::Value;
use support::*;

fn json_lines(bytes: &[u8]) -> Vec<Value> {
    text(bytes)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_backfill_ingests_corpus_and_archive_once_and_the_read_commands_see_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = offline_config(dir.path());
    let first = run(&["backfill", "--config", &config]).await;
    assert!(first.status.success(), "{}", text(&first.stderr));
    let summary = text(&first.stdout);
    assert!(summary.contains("fetched 10, new 10,"), "{summary}");
    assert!(summary.contains("by topic:"), "{summary}");
    let again = run(&["backfill", "--config", &config]).await;
    assert!(again.status.success());
    assert!(
        text(&again.stdout).contains("new 0,"),
        "{}",
        text(&again.stdout)
    );

    let export = run(&["export", "--config", &config]).await;
    assert!(export.status.success());
    let articles = json_lines(&export.stdout);
    assert_eq!(articles.len(), 10);
    let by_suffix = |suffix: &str| {
        articles
            .iter()
            .find(|a| a["url"].as_str().unwrap().ends_with(suffix))
            .unwrap_or_else(|| panic!("{suffix} not exported"))
    };
    // The wire copy republishes TASS background from corpus 004; corpus 003 reuses one of
    // its paragraphs, a shared passage rather than a copy.
    assert_eq!(
        by_suffix("kuril-islands-background")["duplicate_of"]["id"],
        "corpus:004_3f926fbd34ea6708.txt"
    );
    let corpus_003 = by_suffix("003_78c5229f842f3923.txt");
    assert!(corpus_003["duplicate_of"].is_null(), "{corpus_003}");
    assert_eq!(
        corpus_003["shares_text_with"]["id"],
        "corpus:004_3f926fbd34ea6708.txt"
    );
    assert!(
        by_suffix("004_3f926fbd34ea6708.txt")["duplicate_of"].is_null(),
        "the original copies nothing"
    );
    let corpus_doc = by_suffix("000_567c0f62ddf3bdd9.txt");
    assert_eq!(
        corpus_doc["title"],
        "Moscow-Tokyo easing of tensions in bilateral talks today in Japan"
    );
    assert!(
        !corpus_doc["text"]
            .as_str()
            .unwrap()
            .contains("Facebook Twitter"),
        "boilerplate stripped"
    );
    assert!(
        corpus_doc["related"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["id"] != "corpus:000_567c0f62ddf3bdd9.txt"),
        "a document is not related to itself"
    );
    assert_eq!(by_suffix("asia-shares")["relevant"], false);
    let ja = by_suffix("20190531-nichiro");
    assert_eq!(ja["language"], "ja");
    let topics: Vec<&str> = ja["topics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["topic"].as_str().unwrap())
        .collect();
    assert!(
        topics.contains(&"territorial-dispute") && topics.contains(&"peace-treaty"),
        "{topics:?}"
    );

    let search = run(&["search", "--config", &config, "Курильских", "островов"]).await;
    assert!(search.status.success());
    assert!(
        text(&search.stdout).contains("vostok-vesti.example"),
        "{}",
        text(&search.stdout)
    );
    let search = run(&["search", "--config", &config, "北方領土"]).await;
    assert!(
        text(&search.stdout).contains("hokkai-news.example"),
        "{}",
        text(&search.stdout)
    );
    // Search takes the same filters as list and export.
    for (source, from_corpus) in [("corpus", true), ("sample-archive", false)] {
        let search = run(&[
            "search", "--config", &config, "Russia", "--source", source, "--limit", "50",
        ])
        .await;
        assert!(search.status.success(), "{}", text(&search.stderr));
        // The results, without the column labels and the snippets under each.
        let lines: Vec<String> = text(&search.stdout)
            .lines()
            .filter(|l| !l.starts_with("SCORE") && !l.starts_with("       "))
            .map(str::to_string)
            .collect();
        assert!(!lines.is_empty(), "nothing from {source}");
        assert!(
            lines.iter().all(|l| l.contains("/corpus/") == from_corpus),
            "{source}: {lines:?}"
        );
    }

    let list = run(&[
        "list",
        "--config",
        &config,
        "--topic",
        "people-travel-humanitarian",
        "--since",
        "2019-07-01",
    ])
    .await;
    assert!(list.status.success());
    let lines: Vec<String> = text(&list.stdout).lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 2, "labels and one article: {lines:?}");
    assert!(lines[0].starts_with("DATE (UTC) ") && lines[0].ends_with(" URL"));
    assert!(lines[1].contains("vostok-vesti.example"));

    // A filter that matches nothing says so; a search shows each result's score and a
    // snippet with the words found marked; quoted words are a phrase; OR takes either.
    let none = run(&["list", "--config", &config, "--topic", "no-such-topic"]).await;
    assert!(none.status.success());
    assert_eq!(text(&none.stdout), "");
    assert!(
        text(&none.stderr).contains("no stored article matches (with topic no-such-topic)"),
        "{}",
        text(&none.stderr)
    );
    let search = run(&["search", "--config", &config, "Курильских островов"]).await;
    let out = text(&search.stdout);
    let mut lines = out.lines();
    assert!(lines.next().unwrap().starts_with("SCORE  DATE"), "{out}");
    let first = lines.next().unwrap();
    assert!(
        first
            .split_whitespace()
            .next()
            .unwrap()
            .parse::<f32>()
            .unwrap()
            > 0.0,
        "{out}"
    );
    assert!(
        lines.next().unwrap().contains("«Курильских островов»"),
        "{out}"
    );
    let phrase = run(&["search", "--config", &config, "островов Курильских"]).await;
    assert!(
        text(&phrase.stderr).contains("no stored article matches"),
        "a phrase keeps its order"
    );
    let either = run(&[
        "search",
        "--config",
        &config,
        "Курильских",
        "OR",
        "北方領土",
    ])
    .await;
    let out = text(&either.stdout);
    assert!(
        out.contains("vostok-vesti.example") && out.contains("hokkai-news.example"),
        "{out}"
    );
    let lone = run(&["search", "--config", &config, "島"]).await;
    assert!(
        text(&lone.stdout).contains("hokkai-news.example"),
        "{}",
        text(&lone.stdout)
    );

    // One article whole: by its URL (as listed) or by its id.
    let url = lines_url(&text(&list.stdout));
    let shown = run(&["show", "--config", &config, &url]).await;
    assert!(shown.status.success(), "{}", text(&shown.stderr));
    let page = text(&shown.stdout);
    assert!(page.contains("\nRelevant (relevance "), "{page}");
    assert!(page.contains("Topics:\n"), "{page}");
    assert!(
        page.contains(": “"),
        "an evidence term with its sentence: {page}"
    );
    let json = run(&["show", "--config", &config, &url, "--json"]).await;
    let value: serde_json::Value = serde_json::from_str(&text(&json.stdout)).unwrap();
    let by_id = run(&["show", "--config", &config, &value["id"].to_string()]).await;
    assert_eq!(text(&by_id.stdout), page);
    // The corpus report the wire story copies lists that copy.
    let original = run(&[
        "show",
        "--config",
        &config,
        "dir:/corpus/004_3f926fbd34ea6708.txt",
    ])
    .await;
    let page = text(&original.stdout);
    assert!(
        page.contains("\nCopied by:\n") && page.contains("kuril-islands-background"),
        "{page}"
    );
    let missing = run(&["show", "--config", &config, "https://nowhere.example/x"]).await;
    assert!(!missing.status.success());
    assert!(text(&missing.stderr).contains("no such article"));

    let csv_path = dir.path().join("out.csv");
    let csv = run(&[
        "export",
        "--config",
        &config,
        "--format",
        "csv",
        "--output",
        csv_path.to_str().unwrap(),
    ])
    .await;
    assert!(csv.status.success(), "{}", text(&csv.stderr));
    let csv_text = std::fs::read_to_string(&csv_path).unwrap();
    assert_eq!(csv_text.lines().count(), 11, "header and ten rows");
    assert!(!dir.path().join("out.partial").exists());
}

#[tokio::test]
async fn clean_prints_one_object_per_input_and_names_unreadable_paths() {
    let pages = repo().join("config/samples/pages");
    let out = run(&["clean", pages.to_str().unwrap()]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let objects = json_lines(&out.stdout);
    assert_eq!(objects.len(), 6);
    let by_id = |id: &str| objects.iter().find(|o| o["id"] == id).unwrap();
    assert_eq!(
        by_id("ru-kurils-former-residents")["title"],
        "Бывшие жители Курил посетят могилы родственников"
    );
    assert_eq!(
        by_id("ru-kurils-former-residents")["authors"][0],
        "Иван Петров"
    );
    assert_eq!(
        by_id("ja-foreign-ministers")["published"],
        "2019-05-31T21:00:00+09:00"
    );
    assert_eq!(by_id("en-world-index")["kind"], "not_article");
    let talks = by_id("en-lavrov-kono-talks");
    assert_eq!(
        talks["title"],
        "Lavrov and Kono agree to speed up peace treaty talks"
    );
    // The page's canonical link carries ?utm_source=rss; clean reports the address the store
    // keeps, without it.
    assert_eq!(
        talks["url"],
        "https://pacificwire.example/world/2019/05/lavrov-kono-peace-treaty"
    );
    assert_eq!(
        talks["text"].as_str().unwrap().split("\n\n").count(),
        6,
        "five paragraphs and a subheading"
    );

    let missing = run(&[
        "clean",
        "/nonexistent/page.html",
        pages.join("en-asian-markets.html").to_str().unwrap(),
    ])
    .await;
    assert!(!missing.status.success());
    assert!(text(&missing.stderr).contains("/nonexistent/page.html"));
    assert_eq!(
        json_lines(&missing.stdout).len(),
        1,
        "the readable input is still cleaned"
    );

    let stdin = tokio::task::spawn_blocking(|| {
        use std::io::Write;
        let mut child = nichiro()
            .args(["clean", "-", "--url", "https://example.org/a"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"<html><body><a href='/b'>x</a><p>Some text</p></body></html>")
            .unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    assert!(stdin.status.success());
    let object = &json_lines(&stdin.stdout)[0];
    assert_eq!(object["id"], "stdin");
    assert_eq!(object["url"], "https://example.org/a");
}

#[tokio::test]
async fn tag_reads_files_and_jsonl_and_marks_copies() {
    let dir = tempfile::tempdir().unwrap();
    let records = dir.path().join("records.jsonl");
    std::fs::write(
        &records,
        "{\"id\": 1, \"title\": \"Lavrov and Kono discuss the Kuril Islands\", \"text\": \"Russia and Japan held talks on the peace treaty in Tokyo.\"}\n\
         {\"id\": \"b\", \"title\": \"Wheat prices\", \"text\": \"Wheat futures rose in Chicago on Monday.\"}\n\
         not json\n",
    )
    .unwrap();
    let wire = repo().join("config/samples/pages/en-wire-copy.html");
    let out = run(&[
        "tag",
        "--jsonl",
        records.to_str().unwrap(),
        wire.to_str().unwrap(),
    ])
    .await;
    assert!(!out.status.success(), "a bad line makes the exit status 1");
    assert!(
        text(&out.stderr).contains("records.jsonl:3"),
        "{}",
        text(&out.stderr)
    );
    let objects = json_lines(&out.stdout);
    assert_eq!(objects.len(), 3);
    let wire = objects.iter().find(|o| o["id"] == "en-wire-copy").unwrap();
    assert_eq!(
        wire["duplicate_of"]["id"],
        "corpus:004_3f926fbd34ea6708.txt"
    );
    assert!(wire["duplicate_of"]["shared"].as_f64().unwrap() > 0.5);
    let talks = objects.iter().find(|o| o["id"] == 1).unwrap();
    assert_eq!(talks["relevant"], true);
    let territory = talks["topics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["topic"] == "territorial-dispute")
        .expect("the Kurils are the territorial dispute");
    assert!(
        territory["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e == "Kuril Islands")
    );
    let entities: Vec<&str> = talks["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert!(
        ["lavrov", "kono", "kuril-islands"]
            .iter()
            .all(|id| entities.contains(id)),
        "{entities:?}"
    );
    assert!(!talks["related"].as_array().unwrap().is_empty());
    let wheat = objects.iter().find(|o| o["id"] == "b").unwrap();
    assert_eq!(wheat["relevant"], false);
    assert!(wheat["relevance"].as_f64().unwrap() < 0.5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_filters_and_import_round_trips_into_another_store() {
    let from = tempfile::tempdir().unwrap();
    let to = tempfile::tempdir().unwrap();
    let (from_config, to_config) = (offline_config(from.path()), offline_config(to.path()));
    let out = run(&["backfill", "--config", &from_config]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));

    let all = run(&["export", "--config", &from_config]).await;
    let all = json_lines(&all.stdout);
    let ja = run(&["export", "--config", &from_config, "--language", "ja"]).await;
    let ja = json_lines(&ja.stdout);
    assert!(!ja.is_empty() && ja.len() < all.len());
    assert!(ja.iter().all(|a| a["language"] == "ja"));
    let treaty = run(&[
        "export",
        "--config",
        &from_config,
        "--topic",
        "peace-treaty",
        "--relevant",
    ])
    .await;
    let treaty = json_lines(&treaty.stdout);
    assert!(!treaty.is_empty() && treaty.len() < all.len());
    assert!(treaty.iter().all(|a| {
        a["topics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["topic"] == "peace-treaty")
    }));
    let none = run(&["export", "--config", &from_config, "--until", "1990-01-01"]).await;
    assert!(json_lines(&none.stdout).is_empty());

    // Export to a file, import it into an empty store, and both stores export the same.
    let file = from.path().join("all.jsonl");
    let out = run(&[
        "export",
        "--config",
        &from_config,
        "--output",
        file.to_str().unwrap(),
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let imported = run(&["import", "--config", &to_config, file.to_str().unwrap()]).await;
    assert!(imported.status.success(), "{}", text(&imported.stderr));
    assert!(
        text(&imported.stdout).contains(&format!("imported {}, already stored 0", all.len())),
        "{}",
        text(&imported.stdout)
    );
    let copied = run(&["export", "--config", &to_config]).await;
    let strip = |mut v: Vec<Value>| {
        for a in &mut v {
            a.as_object_mut().unwrap().remove("stored_at");
        }
        v
    };
    assert_eq!(strip(json_lines(&copied.stdout)), strip(all.clone()));
    let again = run(&["import", "--config", &to_config, file.to_str().unwrap()]).await;
    assert!(
        text(&again.stdout).contains(&format!("imported 0, already stored {}", all.len())),
        "{}",
        text(&again.stdout)
    );

    // A line that is not an exported article stops the import, naming the line.
    let bad = to.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"url\": 1}\n").unwrap();
    let out = run(&["import", "--config", &to_config, bad.to_str().unwrap()]).await;
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("bad.jsonl:1: not an article"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_gives_back_the_page_as_fetched_when_pages_are_kept() {
    let pages: Vec<Page> = (0..3).map(generated_article).collect();
    let (site, _arrivals) = Site::start(SiteSpec {
        pages: pages.clone(),
        ..SiteSpec::default()
    })
    .await;
    let (kept, plain) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let kept_config = write_config(kept.path(), &feed_source(&site), 2);
    let settings = std::fs::read_to_string(&kept_config).unwrap().replacen(
        "[store]\n",
        "[store]\nkeep_raw_html = true\n",
        1,
    );
    std::fs::write(&kept_config, settings).unwrap();
    let plain_config = write_config(plain.path(), &feed_source(&site), 2);
    for config in [&kept_config, &plain_config] {
        let out = run(&["backfill", "--config", config.to_str().unwrap()]).await;
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let kept_config = kept_config.to_str().unwrap();
    // By its canonical URL, or the one the feed gave (with its tracking parameter).
    for url in [
        format!("{}/articles/report-1", site.base),
        format!("{}/articles/report-1?utm_source=rss", site.base),
    ] {
        let out = run(&["raw", "--config", kept_config, &url]).await;
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(out.stdout, pages[1].body, "{url}");
    }
    let url = format!("{}/articles/report-1", site.base);
    let out = run(&["raw", "--config", plain_config.to_str().unwrap(), &url]).await;
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("stored without its page"),
        "{}",
        text(&out.stderr)
    );
    let missing = format!("{}/articles/never", site.base);
    let out = run(&["raw", "--config", kept_config, &missing]).await;
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("no such article"),
        "{}",
        text(&out.stderr)
    );
}

/// Regression: `nichiro train … | head` panicked ("failed printing to stdout: Broken pipe")
/// and wrote no model.
#[test]
fn tag_and_train_end_quietly_when_stdout_closes_early() {
    let dir = tempfile::tempdir().unwrap();
    let records = dir.path().join("labelled.jsonl");
    let mut lines = String::new();
    for i in 0..400 {
        let line = if i % 2 == 0 {
            serde_json::json!({"id": i, "title": "Russia and Japan hold talks on the Kuril Islands",
                "text": "Foreign ministers of Russia and Japan met in Tokyo to discuss the islands.",
                "relevant": true, "topics": ["territorial-dispute", "diplomacy-summits"]})
        } else {
            serde_json::json!({"id": i, "title": "Tennis results",
                "text": "A Spanish player won the final in Paris on Sunday.",
                "relevant": false, "topics": []})
        };
        lines.push_str(&format!("{line}\n"));
    }
    std::fs::write(&records, lines).unwrap();
    let model = dir.path().join("model.toml");
    let records = records.display().to_string();
    let model_arg = model.display().to_string();
    for args in [
        vec!["tag", "--jsonl", &records],
        vec![
            "train", "--jsonl", &records, "--folds", "2", "--output", &model_arg,
        ],
    ] {
        let mut child = nichiro()
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes away before the first line.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = text(&out.stderr);
        assert!(out.status.success(), "{args:?}: {:?} {stderr}", out.status);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    let written = std::fs::read_to_string(&model).expect("train wrote its model");
    assert!(written.contains("[relevance]"), "{written}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retag_gives_stored_articles_the_current_verdicts_and_skips_what_it_did() {
    let dir = tempfile::tempdir().unwrap();
    let config = offline_config(dir.path());
    let first = run(&["backfill", "--config", &config]).await;
    assert!(first.status.success(), "{}", text(&first.stderr));
    let relevant = |config: String| async move {
        let out = run(&["list", "--config", &config, "--relevant", "--json"]).await;
        json_lines(&out.stdout).len()
    };
    let before = relevant(config.clone()).await;
    assert!(before >= 5, "{before}");

    // Nothing changed: every verdict is the current tagger's.
    let out = run(&["retag", "--config", &config]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("retagged 0, already current 10, of 10"),
        "{}",
        text(&out.stdout)
    );

    // Tagging everything again with the same tagger gives the pipeline's verdicts: each
    // article is judged against what was stored before it, as the pipeline judged it.
    let out = run(&["retag", "--config", &config, "--all"]).await;
    let same = text(&out.stdout);
    assert!(same.contains("retagged 10,"), "{same}");
    assert!(
        same.contains(
            "now relevant 0, no longer relevant 0, topics 0, copies 0, shared passages 0"
        ),
        "{same}"
    );

    // A stricter threshold is another tagger: every verdict is given again, in batches of 3.
    let strict = dir.path().join("strict.toml");
    let text_config = std::fs::read_to_string(&config).unwrap().replacen(
        "[tag]\n",
        "[tag]\nrelevance_threshold = 0.99999\n",
        1,
    );
    std::fs::write(&strict, text_config).unwrap();
    let strict = strict.display().to_string();
    // Half of them first (as if a run had stopped there), then the rest: what was done is
    // not done again.
    let no_longer = |summary: &str| -> usize {
        summary
            .split("no longer relevant ")
            .nth(1)
            .and_then(|rest| rest.split(',').next())
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("{summary}"))
    };
    let out = run(&[
        "retag", "--config", &strict, "--source", "corpus", "--batch", "3",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let part = text(&out.stdout);
    assert!(
        part.contains("retagged 5, already current 0, of 5"),
        "{part}"
    );
    let out = run(&["retag", "--config", &strict, "--batch", "3"]).await;
    let rest = text(&out.stdout);
    assert!(
        rest.contains("retagged 5, already current 5, of 10"),
        "{rest}"
    );
    let after = relevant(strict.clone()).await;
    assert!(after < before, "{before} -> {after}");
    assert_eq!(
        no_longer(&part) + no_longer(&rest),
        before - after,
        "{part}{rest}"
    );
    // Topics are the index's too: a topic list agrees with the new verdicts.
    let listed = run(&[
        "list",
        "--config",
        &strict,
        "--topic",
        "territorial-dispute",
        "--json",
    ])
    .await;
    for article in json_lines(&listed.stdout) {
        assert_eq!(article["relevant"], true, "{article}");
    }
    // A second run finds nothing to do; --all does it all again, changing nothing.
    let out = run(&["retag", "--config", &strict]).await;
    assert!(text(&out.stdout).contains("retagged 0, already current 10"));
    let out = run(&["retag", "--config", &strict, "--all"]).await;
    let summary = text(&out.stdout);
    assert!(summary.contains("retagged 10"), "{summary}");
    assert!(
        summary.contains("now relevant 0, no longer relevant 0, topics 0, copies 0"),
        "{summary}"
    );

    // An export is read by `tag --jsonl` as it is: each record named by its URL.
    let export = run(&[
        "export",
        "--config",
        &strict,
        "--output",
        dir.path().join("all.jsonl").to_str().unwrap(),
    ])
    .await;
    assert!(export.status.success(), "{}", text(&export.stderr));
    let tagged = run(&[
        "tag",
        "--jsonl",
        dir.path().join("all.jsonl").to_str().unwrap(),
    ])
    .await;
    assert!(tagged.status.success(), "{}", text(&tagged.stderr));
    let lines = json_lines(&tagged.stdout);
    assert_eq!(lines.len(), 10);
    for line in &lines {
        assert_eq!(line["id"], line["url"], "{line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retag_never_makes_an_original_the_copy_of_a_later_text() {
    // Retag tagged every article against the whole store: of two undated texts, the first
    // stored became a copy of its own later copy.
    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("pages");
    std::fs::create_dir(&pages).unwrap();
    let story = "Russian Foreign Minister Sergey Lavrov and his Japanese counterpart met in \
        Moscow to discuss the peace treaty and joint economic activity on the southern Kuril \
        Islands, which Japan calls the Northern Territories. ";
    std::fs::write(pages.join("a-original.txt"), story.repeat(6)).unwrap();
    std::fs::write(
        pages.join("b-copy.txt"),
        format!("Reprinted from a wire service. {}", story.repeat(6)),
    )
    .unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "[[source]]\nname = \"pages\"\nkind = \"dir\"\npath = {:?}\n",
            pages.display().to_string()
        ),
        1,
    );
    let config = config.to_str().unwrap();
    let out = run(&["backfill", "--config", config]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let copies = |out: &std::process::Output| -> Vec<(String, Value)> {
        json_lines(&out.stdout)
            .into_iter()
            .map(|a| {
                (
                    a["url"].as_str().unwrap().to_string(),
                    a["duplicate_of"].clone(),
                )
            })
            .collect()
    };
    let before = copies(&run(&["list", "--config", config, "--json"]).await);
    let out = run(&["retag", "--config", config, "--all"]).await;
    assert!(
        text(&out.stdout).contains("copies 0"),
        "{}",
        text(&out.stdout)
    );
    let after = copies(&run(&["list", "--config", config, "--json"]).await);
    assert_eq!(before, after);
    // Which of the two was stored first depends on which clean worker finished first; that
    // one is the original, and the other its copy, before the retag and after.
    let originals: Vec<&(String, Value)> = after.iter().filter(|(_, d)| d.is_null()).collect();
    assert_eq!(originals.len(), 1, "{after:?}");
    let copy = after.iter().find(|(_, d)| !d.is_null()).unwrap();
    assert_eq!(
        copy.1["id"].as_str(),
        Some(originals[0].0.as_str()),
        "{after:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_fetches_a_web_address_through_the_crawlers_fetcher() {
    // `nichiro clean URL` said "cannot read https://…".
    let (site, _arrivals) = Site::start(SiteSpec {
        pages: vec![generated_article(3)],
        ..SiteSpec::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    // The test config allows the private address the local site sits on.
    let config = write_config(dir.path(), "", 1);
    let url = format!("{}/articles/report-3", site.base);
    let out = run(&["clean", "--config", config.to_str().unwrap(), &url]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let object = &json_lines(&out.stdout)[0];
    assert_eq!(object["id"], url.as_str());
    assert_eq!(object["url"], url.as_str());
    assert!(object["text"].as_str().unwrap().len() > 200, "{object}");
    assert_eq!(site.requests("/robots.txt"), 1, "robots.txt asked first");

    // Without that config the fetcher's guard refuses the private address, with a reason,
    // and sends nothing.
    let before = site.requests("/articles/report-3");
    let refused = run(&["clean", &url]).await;
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("private address"),
        "{}",
        text(&refused.stderr)
    );
    assert_eq!(site.requests("/articles/report-3"), before);
}

/// The URL of the first article a `list` printed (its last column).
fn lines_url(listed: &str) -> String {
    listed
        .lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().last())
        .unwrap()
        .to_string()
}

//! The tagger as shipped (config/topics.toml, gazetteer.toml, model.toml and the corpus)
//! against articles written for these tests in English, Russian and Japanese, the corpus
//! itself, rewritten wire copy, and a collection that grows.
//!
//! Each fixture folder holds `article.json` ({title, text, language}) and `expected.json`:
//! `relevant`, and the topics, entity ids and related documents that must be among the
//! tagger's (the scores move when the model is retrained; these facts must not).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use nichiro_classify::{TagConfig, Tagger, corpus};
use nichiro_model::{Article, Tags};
use serde::Deserialize;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tagger() -> Tagger {
    Tagger::from_config(TagConfig {
        topics: repo().join("config/topics.toml"),
        corpus: Some(repo().join("corpus")),
        ..TagConfig::default()
    })
    .expect("the shipped taxonomy, gazetteer, model and corpus load")
}

#[derive(Deserialize)]
struct Fixture {
    title: String,
    text: String,
    language: String,
}

#[derive(Deserialize)]
struct Expected {
    relevant: bool,
    topics: Vec<String>,
    entities: Vec<String>,
    related: Vec<String>,
}

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn article(name: &str) -> Article {
    let path = fixture_dir().join(name).join("article.json");
    let fixture: Fixture = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let mut article = Article::empty(format!("https://example.org/{name}"));
    article.title = Some(fixture.title);
    article.text = fixture.text;
    article.language = Some(fixture.language);
    article
}

fn topics(tags: &Tags) -> BTreeSet<&str> {
    tags.topics.iter().map(|t| t.topic.as_str()).collect()
}

fn entities(tags: &Tags) -> BTreeSet<&str> {
    tags.entities.iter().map(|e| e.id.as_str()).collect()
}

#[test]
fn fixtures_in_three_languages_tag_as_expected() {
    let tagger = tagger();
    let mut cases: Vec<String> = std::fs::read_dir(fixture_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    cases.sort();
    assert!(cases.len() >= 21, "seven stories in three languages");
    let mut failures = Vec::new();
    for case in &cases {
        let expected: Expected = serde_json::from_str(
            &std::fs::read_to_string(fixture_dir().join(case).join("expected.json")).unwrap(),
        )
        .unwrap();
        let tags = tagger.tag(&article(case));
        let found_topics = topics(&tags);
        let found_entities = entities(&tags);
        let related: BTreeSet<&str> = tags.related.iter().map(|r| r.id.as_str()).collect();
        let mut wrong = Vec::new();
        if tags.relevant != expected.relevant {
            wrong.push(format!(
                "relevant {} ({:.2})",
                tags.relevant, tags.relevance
            ));
        }
        if !expected.relevant && !tags.topics.is_empty() {
            wrong.push("topics on an article that is not relevant".to_string());
        }
        for t in &expected.topics {
            if !found_topics.contains(t.as_str()) {
                wrong.push(format!("topic {t} missing"));
            }
        }
        for e in &expected.entities {
            if !found_entities.contains(e.as_str()) {
                wrong.push(format!("entity {e} missing"));
            }
        }
        for r in &expected.related {
            if !related.contains(r.as_str()) {
                wrong.push(format!("related {r} missing"));
            }
        }
        for topic in &tags.topics {
            if topic.evidence.is_empty() {
                wrong.push(format!("topic {} without evidence", topic.topic));
            }
        }
        if tags.relevant && tags.relevance_evidence.is_empty() {
            wrong.push("relevance without evidence".to_string());
        }
        if !wrong.is_empty() {
            failures.push(format!(
                "{case}: {} (topics {found_topics:?}, entities {found_entities:?}, related {related:?})",
                wrong.join("; ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn one_story_in_three_languages_gets_the_same_verdict_topics_and_entities() {
    let tagger = tagger();
    let mut stories: Vec<String> = std::fs::read_dir(fixture_dir())
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.strip_prefix("en-").map(str::to_string)
        })
        .collect();
    stories.sort();
    assert!(stories.len() >= 7, "{stories:?}");
    for story in &stories {
        let tagged: Vec<Tags> = ["en", "ru", "ja"]
            .iter()
            .map(|lang| tagger.tag(&article(&format!("{lang}-{story}"))))
            .collect();
        let relevant: Vec<bool> = tagged.iter().map(|t| t.relevant).collect();
        assert!(
            relevant.iter().all(|&r| r == relevant[0]),
            "{story}: {relevant:?}"
        );
        // Vocabularies differ a little by language, so a borderline topic may fall either
        // side of 0.5; at most one topic in four may differ from the English version's.
        let topic_sets: Vec<BTreeSet<&str>> = tagged.iter().map(topics).collect();
        for other in &topic_sets[1..] {
            let common = other.intersection(&topic_sets[0]).count();
            let all = other.union(&topic_sets[0]).count();
            assert!(
                all == 0 || common as f64 / all as f64 >= 0.75,
                "{story}: {topic_sets:?}"
            );
        }
        let scores: Vec<f32> = tagged.iter().map(|t| t.relevance).collect();
        assert!(
            scores.iter().all(|s| (s - scores[0]).abs() < 0.2),
            "{story}: {scores:?}"
        );
    }
}

/// Words that look like a shipped term without meaning it, beside the term used in earnest,
/// and the sides as each one's own press names them: (text, group, how many mentions of the
/// group it holds).
const FALSE_FRIENDS: &[(&str, &str, usize)] = &[
    (
        "The decision is related to fishing and tied to prices.",
        "diplomacy-summits",
        0,
    ),
    (
        "Relations and ties between the two worsened.",
        "diplomacy-summits",
        2,
    ),
    ("Japan remained firm.", "economy-energy-trade", 0),
    ("Japan remained firm.", "people-travel-humanitarian", 0),
    ("Japanese firms left.", "economy-energy-trade", 1),
    (
        "The remains of Japanese soldiers were returned.",
        "people-travel-humanitarian",
        1,
    ),
    (
        "The exchange rate fell on the stock exchange.",
        "people-travel-humanitarian",
        0,
    ),
    ("A youth exchange began.", "people-travel-humanitarian", 2),
    ("Drills near its territory.", "territorial-dispute", 0),
    ("The territorial issue.", "territorial-dispute", 1),
    ("The Security Council voted.", "security-defense", 0),
    (
        "Меры в отношении Японии и по отношению к ней.",
        "diplomacy-summits",
        0,
    ),
    ("Отношения России и Японии.", "diplomacy-summits", 1),
    ("Ученики школы и их ракетка.", "security-defense", 0),
    ("Учения и пуск ракеты.", "security-defense", 2),
    ("Гражданская авиация.", "people-travel-humanitarian", 0),
    ("Граждане Японии.", "people-travel-humanitarian", 1),
    ("Прыжки с трамплина.", "third-parties", 0),
    ("Заявление Трампа.", "third-parties", 1),
    ("Тоннель на Сахалин.", "cue:markets", 0),
    ("Странный случай на странице.", "cue:multilateral", 0),
    ("Коренные народы.", "cue:other-countries", 0),
    ("Южная Корея.", "cue:other-countries", 1),
    (
        "関係者によると、関係機関が無関係と判断した。",
        "diplomacy-summits",
        0,
    ),
    ("日ロ関係が悪化した。", "diplomacy-summits", 1),
    ("中国地方の中国電力。", "third-parties", 0),
    ("中国が反発した。", "third-parties", 1),
    ("党大会が開かれた。", "cue:sports", 0),
    ("The trade ministry said so.", "economy-energy-trade", 0),
    (
        "Министерство экономики, торговли и промышленности.",
        "economy-energy-trade",
        0,
    ),
    ("経済産業省が発表した。", "economy-energy-trade", 0),
    ("経済産業省が発表した。", "side:japan", 1),
    // Each side's reporting names its own government without the country.
    ("政府は10日、ロシアに抗議した。", "side:japan", 1),
    ("首相は対ロ制裁を発表した。", "side:japan", 1),
    ("日本政府と外務省。", "side:japan", 2),
    ("ロシア政府と露外務省、ミシュスチン首相。", "side:japan", 0),
    ("В МИД заявили о протесте.", "side:russia", 1),
    ("МИД России и Минобороны РФ.", "side:russia", 2),
    ("МИД Японии и японский МИД.", "side:russia", 0),
    ("В Стране восходящего солнца.", "side:japan", 1),
    ("対ロ制裁と駐ロ大使、ロ首相。", "side:russia", 3),
    ("ロ首相が来日した。", "side:japan", 1),
    ("在日ロシア大使館と駐日大使。", "side:japan", 2),
];

#[test]
fn shipped_terms_skip_their_false_friends() {
    use nichiro_classify::taxonomy::{Group, Matcher, Taxonomy};
    use nichiro_classify::tokenize::tokenize;
    let taxonomy = Taxonomy::load(&repo().join("config/topics.toml")).unwrap();
    let matcher = Matcher::new(&taxonomy);
    let mut wrong = Vec::new();
    for &(text, group, expected) in FALSE_FRIENDS {
        let found = matcher.find(text, &tokenize(text));
        let (group, count) = if let Some(side) = group.strip_prefix("side:") {
            (Group::Side(side.into()), found.side(side))
        } else {
            let group = match group.strip_prefix("cue:") {
                Some(cue) => Group::Cue(cue.into()),
                None => Group::Topic(group.into()),
            };
            let count = found.total(&group);
            (group, count)
        };
        if count != expected {
            wrong.push(format!(
                "{text:?}: {group:?} {count} (expected {expected}): {:?}",
                found.evidence(&group)
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn gazetteer_names_one_person_and_one_island_in_every_language_and_spelling() {
    let tagger = tagger();
    let texts = [
        ("Lavrov visited Iturup.", "en"),
        ("Sergey Lavrov's trip to Etorofu.", "en"),
        ("Лавров посетил Итуруп.", "ru"),
        ("Визит Лаврова на Итурупе.", "ru"),
        ("Встреча с Лавровым об Итурупе.", "ru"),
        ("ラブロフ外相が択捉島を訪問した。", "ja"),
    ];
    for (text, language) in texts {
        let mut article = Article::empty("https://example.org/x");
        article.text = text.to_string();
        article.language = Some(language.to_string());
        let tags = tagger.tag(&article);
        let found = entities(&tags);
        assert!(
            found.contains("lavrov") && found.contains("iturup"),
            "{text}: {found:?}"
        );
        let lavrov = tags.entities.iter().find(|e| e.id == "lavrov").unwrap();
        assert_eq!(
            (lavrov.name.as_str(), lavrov.kind.as_str(), lavrov.mentions),
            ("Sergey Lavrov", "person", 1),
            "{text}"
        );
    }
}

#[test]
fn corpus_documents_tag_as_relevant_with_their_manifest_topics() {
    let tagger = tagger();
    let manifest: nichiro_model::manifest::Manifest =
        toml::from_str(&std::fs::read_to_string(repo().join("corpus/manifest.toml")).unwrap())
            .unwrap();
    let documents = corpus::load(&repo().join("corpus")).unwrap();
    let (mut listed, mut found_listed, mut found) = (0, 0, 0);
    let mut report = Vec::new();
    for (document, entry) in documents.iter().zip(&manifest.document) {
        let mut article = Article::empty(document.url.clone().unwrap());
        article.title = document.title.clone();
        article.text = document.text.clone();
        article.published = document.published;
        let tags = tagger.tag(&article);
        assert!(tags.relevant, "{}: {:.2}", entry.file, tags.relevance);
        let predicted = topics(&tags);
        listed += entry.topics.len();
        found += predicted.len();
        found_listed += entry
            .topics
            .iter()
            .filter(|t| predicted.contains(t.as_str()))
            .count();
        report.push(format!(
            "{}: {predicted:?} vs {:?}",
            entry.file, entry.topics
        ));
        // 003 reuses 004's background paragraph (about a ninth of its text): a shared
        // passage, shown apart, not a copy.
        assert!(tags.duplicate_of.is_none(), "{}", entry.file);
        if entry.file.starts_with("003") {
            let shared = tags
                .shares_text_with
                .expect("003 republishes 004's background");
            assert_eq!(shared.id, "corpus:004_3f926fbd34ea6708.txt");
            assert!(
                shared.shared > 0.05 && shared.shared < 0.5,
                "{}",
                shared.shared
            );
        } else {
            assert!(tags.shares_text_with.is_none(), "{}", entry.file);
        }
    }
    let recall = found_listed as f64 / listed as f64;
    let precision = found_listed as f64 / found as f64;
    // The manifest lists every topic a report touches, down to one sentence (001's trade
    // agreements and visa-free travel); the model, fitted to full-text articles labelled by
    // the guidelines (main threads only), leaves such passing topics out: 22 of the 27
    // listed, none that is not (before it was fitted to full text: 0.9 or more).
    assert!(
        recall >= 0.8 && precision >= 0.8,
        "recall {recall:.2} precision {precision:.2}\n{}",
        report.join("\n")
    );
}

/// A wire story, a rewrite of it (new opening, shared middle, local ending) and an unrelated
/// story on the same beat, written for these tests in `tests/copies/<language>/`.
fn copy_text(language: &str, name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/copies")
        .join(language)
        .join(format!("{name}.txt"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn a_rewritten_wire_story_is_a_duplicate_and_an_unrelated_one_is_not() {
    let mut tagger = tagger();
    for language in ["en", "ru", "ja"] {
        let wire_url = format!("https://wire.example/{language}/lavrov-talks");
        let mut original = Article::empty(wire_url.clone());
        original.text = copy_text(language, "original");
        original.language = Some(language.into());
        original.published = chrono::DateTime::parse_from_rfc3339("2026-03-06T10:00:00+03:00").ok();
        assert_eq!(
            tagger.tag(&original).duplicate_of,
            None,
            "{language}: the other languages' versions are not copies"
        );
        tagger.remember(&original);

        let mut copy = Article::empty(format!("https://local.example/{language}/123"));
        copy.text = copy_text(language, "rewrite");
        copy.language = Some(language.into());
        copy.published = chrono::DateTime::parse_from_rfc3339("2026-03-06T15:00:00+03:00").ok();
        let tags = tagger.tag(&copy);
        let found = tags
            .duplicate_of
            .unwrap_or_else(|| panic!("{language}: the rewrite copies the wire"));
        assert_eq!(found.id, wire_url, "{language}");
        assert!(found.shared > 0.5, "{language}: {}", found.shared);
        let original_related = tags.related.iter().find(|r| r.id == wire_url);
        assert!(
            original_related.is_some_and(|r| r.similarity >= found.shared),
            "{language}: the original is related by at least the share copied ({}): {:?}",
            found.shared,
            tags.related
        );

        let mut other = Article::empty(format!("https://local.example/{language}/124"));
        other.text = copy_text(language, "unrelated");
        other.language = Some(language.into());
        assert_eq!(tagger.tag(&other).duplicate_of, None, "{language}");
    }
}

#[test]
fn an_article_stored_now_is_related_to_the_next_one() {
    let mut tagger = tagger();
    let mut first = Article::empty("https://example.org/quotas-1");
    first.title = Some("Russia and Japan cut salmon quotas".into());
    first.text = copy_text("en", "unrelated");
    let before = tagger.len();
    let mut next = Article::empty("https://example.org/quotas-2");
    next.title = Some("Hokkaido fishermen fear salmon quota cut agreed with Russia".into());
    next.text = "Fishing cooperatives in Hokkaido warned that the salmon and crab quota cut \
        agreed with Russian fisheries officials in Vladivostok would hurt the autumn run."
        .into();
    let related_before: Vec<String> = tagger
        .tag(&next)
        .related
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert!(!related_before.contains(&first.url));
    tagger.remember(&first);
    assert_eq!(tagger.len(), before + 1);
    let related = tagger.tag(&next).related;
    assert_eq!(
        related.first().map(|r| r.id.as_str()),
        Some(first.url.as_str()),
        "{related:?}"
    );
    assert_eq!(
        related[0].title.as_deref(),
        Some("Russia and Japan cut salmon quotas")
    );
}

/// A wire's templated round-up: the same three sentences each day, with the day's subject.
fn round_up(day: usize, subject: &str) -> Article {
    let mut article = Article::empty(format!("https://wire.example/round-up-{day}"));
    article.title = Some(format!("Russia and Japan discuss {subject}"));
    article.text = format!(
        "Officials of Russia and Japan met in Tokyo on day {day} of the round to discuss \
         {subject}, the foreign ministries of the two countries said in a joint statement.\n\
         The Russian side said the round showed progress, while Japanese officials said \
         differences remained and that talks would continue next month in Moscow.\n\
         Both delegations agreed that the dialogue on {subject} served the interests of the \
         two neighbours, and that the next round would prepare a meeting of the ministers."
    );
    article
}

#[test]
fn a_copy_is_related_to_its_original_by_at_least_the_share_copied() {
    let mut tagger = tagger();
    let first = round_up(1, "the peace treaty and the 1956 Joint Declaration");
    tagger.remember(&first);
    // Its rarest words are the islands, on which the corpus has long reports.
    let tags = tagger.tag(&round_up(
        2,
        "visa-free exchanges for former residents of the Kuril Islands",
    ));
    let copy = tags.duplicate_of.expect("the round-up copies the first");
    assert_eq!(copy.id, first.url);
    let related = tags.related.iter().find(|r| r.id == first.url);
    assert!(
        related.is_some_and(|r| r.similarity >= copy.shared),
        "{copy:?} {:?}",
        tags.related
    );
}

#[derive(Deserialize)]
struct Headline {
    id: String,
    title: String,
    text: String,
    relevant: bool,
    topics: Vec<String>,
    /// Why the tagger gets this one wrong, for a case kept to show a known limitation.
    #[serde(default)]
    known_miss: Option<String>,
}

/// Thirteen headline-and-lede stories written for these tests in English, Russian and Japanese
/// (`tests/headlines.jsonl`), hard negatives among them (an earthquake off the Kurils, Putin
/// and Xi, the Senkakus, a G20 summit): each language's version gets the labelled verdict and
/// at least the labelled topics. Cases marked `known_miss` are left out and listed.
#[test]
fn headlines_in_three_languages_get_their_labels() {
    let tagger = tagger();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/headlines.jsonl");
    let mut wrong = Vec::new();
    let mut checked = 0;
    for line in std::fs::read_to_string(&path).unwrap().lines() {
        let case: Headline = serde_json::from_str(line).unwrap();
        if let Some(why) = &case.known_miss {
            eprintln!("known miss {}: {why}", case.id);
            continue;
        }
        checked += 1;
        let mut article = Article::empty(format!("https://example.org/{}", case.id));
        article.title = Some(case.title);
        article.text = case.text;
        article.language = case.id.get(..2).map(str::to_string);
        let tags = tagger.tag(&article);
        let found = topics(&tags);
        let missing: Vec<&String> = case
            .topics
            .iter()
            .filter(|t| !found.contains(t.as_str()))
            .collect();
        if tags.relevant != case.relevant || !missing.is_empty() {
            wrong.push(format!(
                "{}: relevant {} ({:.2}), topics {found:?}, missing {missing:?}",
                case.id, tags.relevant, tags.relevance
            ));
        }
    }
    assert!(checked >= 30, "{checked} cases");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

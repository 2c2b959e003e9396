//! Storage speed: `cargo bench -p nichiro-store --bench store [-- ARTICLES]`.
//!
//! Inserts ARTICLES (default 100,000) generated tagged articles of ~300 words into a fresh
//! store, in batches of 32 (the pipeline's default), printing the insert rate; then runs 1,000
//! searches (one or two words of varied frequency) and prints their latency's median and 99th
//! percentile, and a `list` of one topic. SQLite always (a file in a temporary folder); also
//! PostgreSQL when `NICHIRO_BENCH_POSTGRES_URL` names a server (a schema of its own, dropped
//! afterwards).

use std::time::Instant;

use chrono::{DateTime, Utc};
use nichiro_model::{Article, TaggedArticle, Tags, TopicTag};
use nichiro_store::{ArticleFilter, PostgresStore, SqliteStore, Store};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const TOPICS: &[&str] = &[
    "territorial-dispute",
    "peace-treaty",
    "security-defense",
    "diplomacy-summits",
    "economy-energy-trade",
];

fn vocabulary(rng: &mut Rng) -> Vec<String> {
    let syllables = [
        "ka", "to", "mi", "ra", "ne", "so", "lu", "vi", "der", "pon", "stra", "gel", "ur", "an",
        "ber", "cos", "tin", "mar", "ol", "pri",
    ];
    (0..20_000)
        .map(|_| {
            let n = 2 + rng.below(3);
            (0..n)
                .map(|_| syllables[rng.below(syllables.len())])
                .collect()
        })
        .collect()
}

/// A word by a rough Zipf law: rank r with probability ∝ 1/r.
fn word<'a>(rng: &mut Rng, words: &'a [String]) -> &'a str {
    let u = (rng.next() % 1_000_000) as f64 / 1_000_000.0;
    let rank = ((words.len() as f64).powf(u) as usize).clamp(1, words.len());
    &words[rank - 1]
}

fn article(i: usize, rng: &mut Rng, words: &[String]) -> TaggedArticle {
    let mut a = Article::empty(format!("https://bench.example/news/{i}"));
    let title: Vec<&str> = (0..8).map(|_| word(rng, words)).collect();
    a.title = Some(title.join(" "));
    let text: Vec<&str> = (0..300).map(|_| word(rng, words)).collect();
    a.text = text.join(" ");
    a.published = DateTime::parse_from_rfc3339("2026-01-01T00:00:00+00:00").ok();
    a.language = Some("en".into());
    let topic = TOPICS[i % TOPICS.len()];
    TaggedArticle {
        article: a,
        tags: Tags {
            relevant: i.is_multiple_of(3),
            relevance: 0.7,
            topics: vec![TopicTag {
                topic: topic.into(),
                score: 0.8,
                evidence: vec!["term".into()],
            }],
            ..Tags::default()
        },
        source: "bench".into(),
        requested_url: format!("https://bench.example/news/{i}?utm_source=rss"),
        fetched_at: Utc::now(),
        raw_page: None,
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let count: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let mut sqlite = SqliteStore::open(&dir.path().join("bench.sqlite")).unwrap();
    run("sqlite", &mut sqlite, count);
    if let Ok(url) = std::env::var("NICHIRO_BENCH_POSTGRES_URL") {
        let schema = format!("nichiro_bench_{}", std::process::id());
        let mut postgres = PostgresStore::open(&url, Some(&schema)).unwrap();
        run("postgres", &mut postgres, count);
        drop(postgres);
        let mut client = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
        client
            .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .unwrap();
    }
}

fn run(backend: &str, store: &mut dyn Store, count: usize) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let words = vocabulary(&mut rng);

    let started = Instant::now();
    let mut batch = Vec::with_capacity(32);
    for i in 0..count {
        batch.push(article(i, &mut rng, &words));
        if batch.len() == 32 {
            store.insert_batch(&batch).unwrap();
            batch.clear();
        }
    }
    store.insert_batch(&batch).unwrap();
    store.flush().unwrap();
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{backend}: inserted {count} articles of ~300 words in {seconds:.1} s: {:.0} articles/s (batches of 32)",
        count as f64 / seconds
    );

    let mut latencies = Vec::with_capacity(1000);
    let mut hits = 0usize;
    for q in 0..1000 {
        // Words of ranks 10–2,000: common to rare.
        let rank = 10 + (q * 37) % 1990;
        let query = if q % 2 == 0 {
            words[rank].clone()
        } else {
            format!("{} {}", words[rank], words[(rank * 7) % 500 + 5])
        };
        let started = Instant::now();
        hits += store
            .search(&query, &ArticleFilter::default(), 20)
            .unwrap()
            .len();
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    latencies.sort_by(f64::total_cmp);
    println!(
        "{backend}: search (20 best, 1,000 queries of one or two words) p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; {:.1} hits per query",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().unwrap(),
        hits as f64 / 1000.0
    );
    let started = Instant::now();
    let listed = store
        .list(
            &ArticleFilter {
                topic: Some("peace-treaty".into()),
                ..ArticleFilter::default()
            },
            Some(100),
        )
        .unwrap()
        .len();
    println!(
        "{backend}: list of one topic, 100 newest: {:.2} ms ({listed} rows)",
        started.elapsed().as_secs_f64() * 1000.0
    );
}

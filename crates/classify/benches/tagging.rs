//! Tagging speed against a growing stored collection.
//!
//! `cargo bench -p nichiro-classify --bench tagging [-- SIZES]` builds the shipped tagger
//! (config/topics.toml, gazetteer, model, corpus), adds a generated collection of short
//! stored documents up to each size in SIZES (default `10000,100000,1000000`), and at each
//! size tags 800-word generated articles on one thread for 5 rounds of at least 2 s each,
//! printing the median, lowest and highest articles per second, the insertion rate and the
//! process's resident memory. Texts are generated from a Zipf-distributed vocabulary of
//! 30,000 made-up words, with the domain's names and terms (in English, Russian and
//! Japanese) mixed in, so the taxonomy, gazetteer and indexes all do real work.

use std::time::{Duration, Instant};

use nichiro_classify::corpus::Document;
use nichiro_classify::{TagConfig, Tagger};
use nichiro_model::Article;

/// A small deterministic generator (xorshift), so every run tags the same texts.
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

struct TextMaker {
    words: Vec<String>,
    /// Cumulative Zipf weights over `words`.
    cumulative: Vec<f64>,
    rng: Rng,
}

const DOMAIN: &[&str] = &[
    "Russia",
    "Japan",
    "Moscow",
    "Tokyo",
    "Lavrov",
    "Kuril Islands",
    "peace treaty",
    "talks",
    "sanctions",
    "LNG",
    "Sakhalin",
    "Iturup",
    "Россия",
    "Япония",
    "Курилы",
    "переговоры",
    "日露",
    "北方領土",
    "択捉島",
    "平和条約",
];

impl TextMaker {
    fn new() -> Self {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let syllables = [
            "ka", "to", "mi", "ra", "ne", "so", "lu", "vi", "der", "pon", "stra", "gel", "ur",
            "an", "ber", "cos", "tin", "mar", "ol", "pri",
        ];
        let words: Vec<String> = (0..30_000)
            .map(|_| {
                let n = 2 + rng.below(3);
                (0..n)
                    .map(|_| syllables[rng.below(syllables.len())])
                    .collect()
            })
            .collect();
        let mut total = 0.0;
        let cumulative = (1..=words.len())
            .map(|rank| {
                total += 1.0 / rank as f64;
                total
            })
            .collect();
        TextMaker {
            words,
            cumulative,
            rng,
        }
    }

    fn word(&mut self) -> &str {
        let total = *self.cumulative.last().unwrap();
        let x = (self.rng.next() as f64 / u64::MAX as f64) * total;
        let i = self.cumulative.partition_point(|&c| c < x);
        &self.words[i.min(self.words.len() - 1)]
    }

    /// About `words` words in sentences of 12–27 words, one domain term in every third
    /// sentence.
    fn text(&mut self, words: usize) -> String {
        let mut out = String::with_capacity(words * 7);
        let mut written = 0;
        let mut sentence = 0;
        while written < words {
            let len = 12 + self.rng.below(16);
            for i in 0..len {
                let w = self.word().to_string();
                if i == 0 {
                    let mut c = w.chars();
                    if let Some(first) = c.next() {
                        out.extend(first.to_uppercase());
                        out.push_str(c.as_str());
                    }
                } else {
                    out.push(' ');
                    out.push_str(&w);
                }
                if i == len / 2 && sentence % 3 == 0 {
                    out.push(' ');
                    out.push_str(DOMAIN[self.rng.below(DOMAIN.len())]);
                }
            }
            out.push_str(". ");
            written += len;
            sentence += 1;
        }
        out
    }
}

fn rss_mb() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .find(|a| a.chars().all(|c| c.is_ascii_digit() || c == ','))
        .map(|a| a.split(',').filter_map(|n| n.parse().ok()).collect())
        .unwrap_or_else(|| vec![10_000, 100_000, 1_000_000]);
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut tagger = Tagger::from_config(TagConfig {
        topics: repo.join("config/topics.toml"),
        corpus: Some(repo.join("corpus")),
        ..TagConfig::default()
    })
    .expect("the shipped tagger loads");
    let mut maker = TextMaker::new();
    let articles: Vec<Article> = (0..200)
        .map(|i| {
            let mut a = Article::empty(format!("https://bench.example/new/{i}"));
            a.title = Some(maker.text(10));
            a.text = maker.text(800);
            a
        })
        .collect();
    let words: usize = articles
        .iter()
        .map(|a| a.text.split_whitespace().count())
        .sum::<usize>()
        / articles.len();
    println!(
        "tagging {} generated articles of ~{words} words on one thread",
        articles.len()
    );
    // The share of the time that reading the text takes, whatever the collection's size.
    let (_, matcher) = tagger.parts();
    let started = Instant::now();
    let mut read = 0usize;
    while started.elapsed() < Duration::from_secs(2) {
        let a = &articles[read % articles.len()];
        std::hint::black_box(nichiro_classify::features::Analysis::of(
            matcher,
            a.title.as_deref(),
            &a.text,
        ));
        read += 1;
    }
    println!(
        "reading alone (tokenize, stem, match terms): {:.0} articles/s",
        read as f64 / started.elapsed().as_secs_f64()
    );
    let mut stored = 0usize;
    for size in sizes {
        let started = Instant::now();
        let added = size.saturating_sub(stored);
        while stored < size {
            tagger.add_document(&Document {
                id: format!("https://bench.example/stored/{stored}"),
                url: Some(format!("https://bench.example/stored/{stored}")),
                title: Some(maker.text(10)),
                text: maker.text(70),
                published: None,
            });
            stored += 1;
        }
        let insert_rate = added as f64 / started.elapsed().as_secs_f64().max(1e-9);
        let mut rates = Vec::new();
        let mut related = 0usize;
        for _round in 0..5 {
            let started = Instant::now();
            let mut tagged = 0usize;
            while started.elapsed() < Duration::from_secs(2) || tagged < articles.len() {
                let tags = tagger.tag(&articles[tagged % articles.len()]);
                related += tags.related.len();
                tagged += 1;
            }
            rates.push(tagged as f64 / started.elapsed().as_secs_f64());
        }
        rates.sort_by(f64::total_cmp);
        let (rss, peak) = rss_mb();
        println!(
            "collection {:>9}: tag median {:>7.0} articles/s (min {:.0}, max {:.0}, 5 rounds); \
             added {added} at {insert_rate:.0} docs/s; RSS {rss:.0} MB (peak {peak:.0} MB); \
             {:.1} related per article",
            tagger.len(),
            rates[2],
            rates[0],
            rates[4],
            related as f64 / (rates.iter().sum::<f64>() * 2.0).max(1.0)
        );
    }
}

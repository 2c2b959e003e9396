//! nichiro's tagger: decides whether an article is about Russia–Japan relations, which topics
//! it covers (with the evidence), which corpus or stored documents it relates to, and which
//! stored text it copies.
//!
//! It is synchronous and pure: the caller loads the taxonomy and corpus once
//! ([`Tagger::from_config`]), tags articles ([`Tagger::tag`]) and adds what it stores
//! ([`Tagger::remember`]) so later articles are compared with it. It does not fetch, clean
//! HTML or store anything.
//!
//! ```
//! use nichiro_classify::{Tagger, TagConfig, taxonomy::Taxonomy};
//! use nichiro_model::Article;
//! let taxonomy = Taxonomy::parse(r#"
//!     [sides.russia]
//!     en = ["Russia", "Lavrov"]
//!     [sides.japan]
//!     en = ["Japan", "Kono"]
//!     [topics.territorial-dispute]
//!     label = "Territory"
//!     bilateral = 1.0
//!     en = ["Kuril Islands"]
//! "#).unwrap();
//! let tagger = Tagger::new(taxonomy, TagConfig::default());
//! let mut article = Article::empty("https://example.org/a");
//! article.title = Some("Lavrov and Kono discuss the Kuril Islands".into());
//! article.text = "Russia and Japan held talks on the Kuril Islands in Tokyo.".into();
//! let tags = tagger.tag(&article);
//! assert!(tags.relevant);
//! assert_eq!(tags.topics[0].topic, "territorial-dispute");
//! ```

pub mod corpus;
pub mod near_duplicates;
pub mod similarity;
pub mod taxonomy;
pub mod tokenize;

use std::collections::HashMap;
use std::path::PathBuf;

use nichiro_model::{Article, DuplicateOf, RelatedDoc, Tags, TopicTag};
use serde::{Deserialize, Serialize};

use corpus::Document;
use near_duplicates::NearDuplicateIndex;
use similarity::SimilarityIndex;
use taxonomy::{Group, Matcher, Matches, Taxonomy};
use tokenize::tokenize;

/// Why the tagger could not start.
#[derive(Debug, thiserror::Error)]
pub enum TagError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The taxonomy file is not valid.
    #[error("bad taxonomy {path}: {message}")]
    Taxonomy {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The corpus manifest or one of its documents is not valid.
    #[error("bad corpus {path}: {message}")]
    Manifest {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// Settings of the tagger (`[tag]` in the config).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TagConfig {
    /// The taxonomy file; relative paths are taken from the config file's folder.
    /// Default `topics.toml`.
    pub topics: PathBuf,
    /// The corpus folder (with its `manifest.toml`); relative paths are taken from the config
    /// file's folder. Default `../corpus`. Empty to tag without a corpus.
    pub corpus: Option<PathBuf>,
    /// Relevance score at or above which an article is relevant. Default 0.5.
    pub relevance_threshold: f32,
    /// Most related documents listed per article. Default 5.
    pub max_related: usize,
    /// Lowest cosine similarity for a related document. Default 0.1.
    pub min_related_similarity: f32,
    /// Lowest share of an article's text found in a stored one for `duplicate_of`.
    /// Default 0.1: a republished wire story padded with local text still counts (corpus
    /// document 003 carries 004's background as about 11% of its text).
    pub duplicate_min_shared: f32,
    /// Fewest sampled shingles in common for `duplicate_of` (five-word shingles, one in four
    /// sampled, so 15 is about 60 words copied verbatim): one shared sentence or stock
    /// phrase is not a copy. Default 15.
    pub duplicate_min_common: usize,
    /// Lowest topic score for a topic to be listed. Default 0.35 (one clear mention).
    pub min_topic_score: f32,
}

impl Default for TagConfig {
    fn default() -> Self {
        TagConfig {
            topics: PathBuf::from("topics.toml"),
            corpus: Some(PathBuf::from("../corpus")),
            relevance_threshold: 0.5,
            max_related: 5,
            min_related_similarity: 0.1,
            duplicate_min_shared: 0.1,
            duplicate_min_common: 15,
            min_topic_score: 0.35,
        }
    }
}

/// The corpus model and the tagging rules.
#[derive(Debug)]
pub struct Tagger {
    taxonomy: Taxonomy,
    matcher: Matcher,
    config: TagConfig,
    similarity: SimilarityIndex,
    near_duplicates: NearDuplicateIndex,
    /// Document id → title.
    titles: HashMap<String, Option<String>>,
    /// Document URL → id: an article at a known URL is that document, not a new one.
    ids_by_url: HashMap<String, String>,
}

impl Tagger {
    /// A tagger with a taxonomy and no documents yet.
    pub fn new(taxonomy: Taxonomy, config: TagConfig) -> Self {
        Tagger {
            matcher: Matcher::new(&taxonomy),
            taxonomy,
            config,
            similarity: SimilarityIndex::default(),
            near_duplicates: NearDuplicateIndex::default(),
            titles: HashMap::new(),
            ids_by_url: HashMap::new(),
        }
    }

    /// Loads the taxonomy file and the corpus folder named by `config` (paths as given:
    /// the caller resolves relative ones).
    pub fn from_config(config: TagConfig) -> Result<Self, TagError> {
        let taxonomy = Taxonomy::load(&config.topics)?;
        let corpus = config.corpus.clone().filter(|p| !p.as_os_str().is_empty());
        let mut tagger = Tagger::new(taxonomy, config);
        if let Some(dir) = corpus {
            for document in corpus::load(&dir)? {
                tagger.add_document(&document);
            }
        }
        Ok(tagger)
    }

    /// Number of documents compared against.
    pub fn len(&self) -> usize {
        self.similarity.len()
    }

    /// Whether there is no document to compare against.
    pub fn is_empty(&self) -> bool {
        self.similarity.is_empty()
    }

    /// Adds a document to the collection that later articles are compared with.
    pub fn add_document(&mut self, document: &Document) {
        let known_url = document
            .url
            .as_ref()
            .is_some_and(|u| self.ids_by_url.contains_key(u));
        if self.titles.contains_key(&document.id) || known_url {
            return;
        }
        let tokens = tokenize(&full_text(document.title.as_deref(), &document.text));
        self.similarity.add(&document.id, &tokens);
        self.near_duplicates
            .add(&document.id, document.published, &tokenize(&document.text));
        self.titles
            .insert(document.id.clone(), document.title.clone());
        if let Some(url) = &document.url {
            self.ids_by_url.insert(url.clone(), document.id.clone());
        }
    }

    /// Adds a stored article (by its URL) to the collection.
    pub fn remember(&mut self, article: &Article) {
        self.add_document(&Document {
            id: article.url.clone(),
            url: Some(article.url.clone()),
            title: article.title.clone(),
            text: article.text.clone(),
            published: article.published,
        });
    }

    /// Tags one article.
    pub fn tag(&self, article: &Article) -> Tags {
        // Each piece is tokenized once: the title, then the body sentence by sentence (sentence
        // boundaries fall between tokens, so the pieces add up to the whole).
        let title = article.title.as_deref().unwrap_or("");
        let title_tokens = tokenize(title);
        let title_matches = self.matcher.find(title, &title_tokens);
        let title_counts = !title.is_empty() && !article.text.starts_with(title);
        let mut matches = Matches::default();
        let mut both_sides_sentences = 0;
        let mut body_tokens = Vec::new();
        for sentence in sentences(&article.text) {
            let sentence_tokens = tokenize(sentence);
            let found = self.matcher.find(sentence, &sentence_tokens);
            both_sides_sentences += usize::from(found.names_both_sides());
            matches.merge(found);
            body_tokens.extend(sentence_tokens);
        }
        let mut tokens = Vec::with_capacity(title_tokens.len() + body_tokens.len());
        if title_counts {
            both_sides_sentences += usize::from(title_matches.names_both_sides());
            matches.merge(title_matches.clone());
            tokens.extend(title_tokens);
        }
        tokens.extend_from_slice(&body_tokens);
        let relevance = self.relevance(&matches, both_sides_sentences, &title_matches);
        let relevant = relevance >= self.config.relevance_threshold;
        let topics = if relevant {
            self.topics(&matches)
        } else {
            Vec::new()
        };

        // The article itself may already be a document (a corpus file ingested again).
        let itself = self.ids_by_url.get(&article.url).map(String::as_str);
        let related = self
            .similarity
            .most_similar(
                &tokens,
                self.config.max_related,
                self.config.min_related_similarity,
                itself,
            )
            .into_iter()
            .map(|(id, similarity)| RelatedDoc {
                title: self.titles.get(&id).cloned().flatten(),
                id,
                similarity,
            })
            .collect();
        let published = article
            .published
            .or_else(|| itself.and_then(|id| self.near_duplicates.published(id)));
        let duplicate_of = self
            .near_duplicates
            .find_copy(
                &body_tokens,
                published,
                self.config.duplicate_min_shared,
                self.config.duplicate_min_common,
                itself,
            )
            .map(|copy| DuplicateOf {
                id: copy.id,
                shared: copy.shared,
            });
        Tags {
            relevant,
            relevance,
            topics,
            related,
            duplicate_of,
        }
    }

    /// A logistic score over what the text says of the two sides and the relation. What
    /// counts most is the two sides named in one sentence (an interaction), or the relation
    /// named outright; two countries merely listed in one text count little.
    fn relevance(&self, matches: &Matches, both_sides_sentences: usize, title: &Matches) -> f32 {
        let ln1p = |x: f32| (1.0 + x).ln();
        let russia = matches.side("russia") as f32;
        let japan = matches.side("japan") as f32;
        let bilateral = matches.total(&Group::Bilateral) as f32;
        let topical: f32 = self
            .taxonomy
            .topics
            .iter()
            .map(|(id, def)| def.bilateral * matches.total(&Group::Topic(id.clone())) as f32)
            .sum();
        let z = -4.2
            + 0.6 * ln1p(russia).min(2.5)
            + 0.6 * ln1p(japan).min(2.5)
            + 2.5 * ln1p(both_sides_sentences as f32)
            + 1.5 * ln1p(bilateral)
            + 1.2 * ln1p(topical)
            + if title.names_both_sides() { 1.5 } else { 0.0 };
        1.0 / (1.0 + (-z).exp())
    }

    fn topics(&self, matches: &Matches) -> Vec<TopicTag> {
        let mut topics: Vec<TopicTag> = self
            .taxonomy
            .topics
            .keys()
            .filter_map(|id| {
                let group = Group::Topic(id.clone());
                let count = matches.total(&group) as f32;
                let score = 1.0 - (-count / 2.0).exp();
                (score >= self.config.min_topic_score).then(|| TopicTag {
                    topic: id.clone(),
                    score,
                    evidence: matches.evidence(&group),
                })
            })
            .collect();
        topics.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.topic.cmp(&b.topic))
        });
        topics
    }
}

/// Splits text into sentences: at `。！？`, line breaks, and `.!?` followed by a space and
/// a capital letter, a digit or a quote.
fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let chars = text.char_indices();
    for (i, c) in chars {
        let end = i + c.len_utf8();
        let boundary =
            match c {
                '。' | '！' | '？' | '\n' => true,
                '.' | '!' | '?' => {
                    let rest = &text[end..];
                    rest.starts_with(char::is_whitespace)
                        && rest.trim_start().chars().next().is_none_or(|n| {
                            n.is_uppercase() || n.is_numeric() || "\"«“'".contains(n)
                        })
                }
                _ => false,
            };
        if boundary {
            let sentence = text[start..end].trim();
            if !sentence.is_empty() {
                out.push(sentence);
            }
            start = end;
        }
    }
    let last = text[start..].trim();
    if !last.is_empty() {
        out.push(last);
    }
    out
}

fn full_text(title: Option<&str>, text: &str) -> String {
    match title {
        Some(title) if !text.starts_with(title) => format!("{title}\n\n{text}"),
        _ => text.to_string(),
    }
}

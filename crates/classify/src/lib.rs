//! nichiro's tagger: decides whether an article is about Russia–Japan relations, which topics
//! it covers (with the evidence), which corpus or stored documents it relates to, and which
//! stored text it copies.
//!
//! It is synchronous and pure: the caller loads the taxonomy and corpus once
//! ([`Tagger::from_files`]), tags articles ([`Tagger::tag`]) and adds what it stores
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
use std::path::{Path, PathBuf};

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
    /// Relevance score at or above which an article is relevant. Default 0.5.
    pub relevance_threshold: f32,
    /// Most related documents listed per article. Default 5.
    pub max_related: usize,
    /// Lowest cosine similarity for a related document. Default 0.1.
    pub min_related_similarity: f32,
    /// Lowest share of an article's text found in a stored one for `duplicate_of`. Default 0.2.
    pub duplicate_min_shared: f32,
    /// Fewest sampled shingles (about four words each, one in four sampled) in common for
    /// `duplicate_of`, so that one shared sentence is not a copy. Default 8.
    pub duplicate_min_common: usize,
    /// Lowest topic score for a topic to be listed. Default 0.35 (one clear mention).
    pub min_topic_score: f32,
}

impl Default for TagConfig {
    fn default() -> Self {
        TagConfig {
            relevance_threshold: 0.5,
            max_related: 5,
            min_related_similarity: 0.1,
            duplicate_min_shared: 0.2,
            duplicate_min_common: 8,
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
    /// Document id → (title, url).
    documents: HashMap<String, (Option<String>, Option<String>)>,
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
            documents: HashMap::new(),
        }
    }

    /// Loads the taxonomy file and, when given, the corpus folder.
    pub fn from_files(
        topics: &Path,
        corpus_dir: Option<&Path>,
        config: TagConfig,
    ) -> Result<Self, TagError> {
        let mut tagger = Tagger::new(Taxonomy::load(topics)?, config);
        if let Some(dir) = corpus_dir {
            for document in corpus::load(dir)? {
                tagger.add_document(&document);
            }
        }
        Ok(tagger)
    }

    /// The taxonomy in use.
    pub fn taxonomy(&self) -> &Taxonomy {
        &self.taxonomy
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
        if self.documents.contains_key(&document.id) {
            return;
        }
        let tokens = tokenize(&full_text(document.title.as_deref(), &document.text));
        self.similarity.add(&document.id, &tokens);
        self.near_duplicates
            .add(&document.id, document.published, &tokenize(&document.text));
        self.documents.insert(
            document.id.clone(),
            (document.title.clone(), document.url.clone()),
        );
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
        let title = article.title.as_deref().unwrap_or("");
        let text = full_text(article.title.as_deref(), &article.text);
        let tokens = tokenize(&text);
        let matches = self.matcher.find(&text, &tokens);
        let title_matches = self.matcher.find(title, &tokenize(title));
        let relevance = self.relevance(&matches, &title_matches);
        let relevant = relevance >= self.config.relevance_threshold;
        let topics = if relevant {
            self.topics(&matches)
        } else {
            Vec::new()
        };

        // The article itself may already be a document (a corpus file ingested again).
        let itself = self
            .documents
            .iter()
            .find(|(_, (_, url))| url.as_deref() == Some(article.url.as_str()))
            .map(|(id, _)| id.as_str())
            .or_else(|| {
                self.documents
                    .contains_key(&article.url)
                    .then_some(article.url.as_str())
            });
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
                title: self.documents.get(&id).and_then(|(t, _)| t.clone()),
                id,
                similarity,
            })
            .collect();
        let duplicate_of = self
            .near_duplicates
            .find_copy(
                &tokenize(&article.text),
                article.published,
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

    /// A logistic score over what the text says of the two sides and the relation.
    fn relevance(&self, matches: &Matches, title: &Matches) -> f32 {
        let side = |m: &Matches, name: &str| {
            m.total(&Group::Side(name.into()))
                .saturating_sub(m.total(&Group::SideExcept(name.into()))) as f32
        };
        let russia = side(matches, "russia");
        let japan = side(matches, "japan");
        let bilateral = matches.total(&Group::Bilateral) as f32;
        let topical: f32 = self
            .taxonomy
            .topics
            .iter()
            .map(|(id, def)| def.bilateral * matches.total(&Group::Topic(id.clone())) as f32)
            .sum();
        let title_both = (side(title, "russia") > 0.0 && side(title, "japan") > 0.0)
            || title.total(&Group::Bilateral) > 0;
        let both = (russia + bilateral > 0.0) && (japan + bilateral > 0.0);
        let z = -4.0
            + 1.0 * (1.0 + russia).ln().min(2.0)
            + 1.0 * (1.0 + japan).ln().min(2.0)
            + if both { 1.5 } else { 0.0 }
            + 1.5 * (1.0 + bilateral).ln()
            + 1.2 * (1.0 + topical).ln()
            + if title_both { 1.2 } else { 0.0 };
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

fn full_text(title: Option<&str>, text: &str) -> String {
    match title {
        Some(title) if !text.starts_with(title) => format!("{title}\n\n{text}"),
        _ => text.to_string(),
    }
}

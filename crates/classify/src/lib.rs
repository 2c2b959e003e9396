//! nichiro's tagger: decides whether an article is about Russia–Japan relations, which topics
//! it covers (with the evidence), which people, places and organisations it names, which
//! corpus or stored documents it relates to, and which stored text it copies, in English,
//! Russian and Japanese.
//!
//! It is synchronous and pure: the caller loads the taxonomy, gazetteer, model and corpus
//! once ([`Tagger::from_config`]), tags articles ([`Tagger::tag`]) and adds what it stores
//! ([`Tagger::remember`]) so later articles are compared with it. It does not fetch, clean
//! HTML or store anything. How it decides: the taxonomy's and gazetteer's terms are found
//! sentence by sentence ([`taxonomy`], [`gazetteer`]), counted into language-independent
//! features ([`features`]), and scored by logistic models ([`model`]) learned from labelled
//! records ([`train`]).
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
pub mod features;
pub mod gazetteer;
pub mod model;
pub mod near_duplicates;
pub mod prefilter;
pub mod similarity;
pub mod taxonomy;
/// The tokenizer, shared with the store's search (its own crate).
pub use nichiro_text as tokenize;
pub mod train;

use chrono::{DateTime, FixedOffset};
use rustc_hash::FxHashMap as HashMap;
use std::path::{Path, PathBuf};

use nichiro_model::{Article, DuplicateOf, EntityTag, RelatedDoc, Tags, TopicTag};
use serde::{Deserialize, Serialize};

use corpus::Document;
use features::Analysis;
use gazetteer::Gazetteer;
use model::Model;
use near_duplicates::NearDuplicateIndex;
use similarity::SimilarityIndex;
use taxonomy::{Group, Matcher, Matches, Taxonomy};
use tokenize::Token;

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
    /// The gazetteer file is not valid.
    #[error("bad gazetteer {path}: {message}")]
    Gazetteer {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The model file is not valid.
    #[error("bad model {path}: {message}")]
    Model {
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
    /// The gazetteer file. Default: `gazetteer.toml` beside the taxonomy when there is one,
    /// else no entities.
    pub gazetteer: Option<PathBuf>,
    /// The model file written by `nichiro train`. Default: `model.toml` beside the taxonomy
    /// when there is one, else hand-set weights ([`Model::untrained`]).
    pub model: Option<PathBuf>,
    /// The corpus folder (with its `manifest.toml`); relative paths are taken from the config
    /// file's folder. Default `../corpus`. Empty to tag without a corpus.
    pub corpus: Option<PathBuf>,
    /// Relevance probability at or above which an article is relevant. Default 0.5: the
    /// models are fitted without class weights, so 0.5 means even odds.
    pub relevance_threshold: f32,
    /// Topic probability at or above which a topic is tagged. Default 0.35: the topic
    /// models are fitted without class weights, and most topics are rare, so below even odds
    /// lies the better balance of precision and recall (cross-validated topic micro-F1 0.813
    /// at 0.35 against 0.800 at 0.5, recall 0.830 against 0.775). A relevant article with no
    /// topic that likely gets its most likely one.
    pub min_topic_score: f32,
    /// Most related documents listed per article. Default 5.
    pub max_related: usize,
    /// Lowest similarity for a related document. Default 0.1.
    pub min_related_similarity: f32,
    /// Lowest share of an article's text found in a stored one for `duplicate_of`: a copy
    /// is an article most of whose text was taken from the other. Default 0.5 (a wire story
    /// republished with a new lead and a local paragraph still counts).
    pub duplicate_min_shared: f32,
    /// Lowest share of an article's text found in a stored one, below `duplicate_min_shared`,
    /// for `shares_text_with`: a text that reuses a passage of another (corpus document 003
    /// carries 004's background paragraph, about 11% of its text) without being a copy.
    /// Default 0.1.
    pub overlap_min_shared: f32,
    /// Fewest sampled shingles in common for `duplicate_of` (five-word shingles, one in four
    /// sampled, so 15 is about 60 words copied verbatim): one shared sentence or stock
    /// phrase is not a copy. A text too short to share that many needs half of its own
    /// sample, and at least 4 (about 20 words). Default 15.
    pub duplicate_min_common: usize,
}

impl Default for TagConfig {
    fn default() -> Self {
        TagConfig {
            topics: PathBuf::from("topics.toml"),
            gazetteer: None,
            model: None,
            corpus: Some(PathBuf::from("../corpus")),
            relevance_threshold: 0.5,
            min_topic_score: 0.35,
            max_related: 5,
            min_related_similarity: 0.1,
            duplicate_min_shared: 0.5,
            overlap_min_shared: 0.1,
            duplicate_min_common: 15,
        }
    }
}

impl TagConfig {
    /// Checks every number against its range, naming the key of one out of range.
    pub fn validate(&self) -> Result<(), String> {
        use nichiro_model::check_range as range;
        range(
            "tag.relevance_threshold",
            self.relevance_threshold,
            0.0,
            1.0,
        )?;
        range("tag.min_topic_score", self.min_topic_score, 0.0, 1.0)?;
        range("tag.max_related", self.max_related, 0, 1000)?;
        range(
            "tag.min_related_similarity",
            self.min_related_similarity,
            0.0,
            1.0,
        )?;
        range(
            "tag.duplicate_min_shared",
            self.duplicate_min_shared,
            0.0,
            1.0,
        )?;
        range(
            "tag.overlap_min_shared",
            self.overlap_min_shared,
            0.0,
            self.duplicate_min_shared,
        )?;
        range(
            "tag.duplicate_min_common",
            self.duplicate_min_common,
            1,
            10_000,
        )
    }

    /// The gazetteer file to read: the configured one, or `gazetteer.toml` beside the
    /// taxonomy if it exists.
    pub fn gazetteer_path(&self) -> Option<PathBuf> {
        self.gazetteer
            .clone()
            .or_else(|| beside(&self.topics, "gazetteer.toml"))
    }

    /// The model file to read: the configured one, or `model.toml` beside the taxonomy if it
    /// exists.
    pub fn model_path(&self) -> Option<PathBuf> {
        self.model
            .clone()
            .or_else(|| beside(&self.topics, "model.toml"))
    }
}

/// The revision of the tagging code, part of every fingerprint: raise it with each change to
/// the code that gives other verdicts for the same files (features, similarity, copies), so
/// that `nichiro retag` takes up what an older build tagged.
const TAGGING_REVISION: &str = "2026-12-08.2";

/// The thresholds that turn scores into verdicts, for the fingerprint.
fn thresholds(config: &TagConfig) -> String {
    format!(
        "{} {} {} {} {} {} {}",
        config.relevance_threshold,
        config.min_topic_score,
        config.max_related,
        config.min_related_similarity,
        config.duplicate_min_shared,
        config.overlap_min_shared,
        config.duplicate_min_common
    )
}

/// 64-bit FNV-1a over the parts (each followed by a separator), as 16 hex digits: stable
/// across builds and platforms, unlike the standard library's hasher.
fn fingerprint(parts: &[&[u8]]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &byte in part.iter().chain(&[0xff]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

/// Reads a text file and parses it, naming the file in either error.
fn load_file<T>(
    path: &Path,
    parse: impl FnOnce(&str) -> Result<T, String>,
    invalid: impl FnOnce(PathBuf, String) -> TagError,
) -> Result<T, TagError> {
    let text = std::fs::read_to_string(path).map_err(|source| TagError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text).map_err(|message| invalid(path.to_path_buf(), message))
}

fn beside(file: &Path, name: &str) -> Option<PathBuf> {
    Some(file.with_file_name(name)).filter(|p| p.is_file())
}

/// Similarity by shared concepts (entities, topics) counts this much of similarity by shared
/// words: it is what relates texts in different languages.
const CONCEPT_SIMILARITY_WEIGHT: f32 = 0.8;

/// Fewest sampled shingles in common for `shares_text_with`: 8 is about 30 words copied
/// word for word, a paragraph rather than a stock phrase.
const OVERLAP_MIN_COMMON: usize = 8;

/// The corpus model and the tagging rules.
#[derive(Debug)]
pub struct Tagger {
    taxonomy: Taxonomy,
    gazetteer: Gazetteer,
    matcher: Matcher,
    model: Model,
    config: TagConfig,
    /// Similarity by words.
    similarity: SimilarityIndex,
    /// Similarity by concepts: the gazetteer's entities and the taxonomy's topics.
    concepts: SimilarityIndex,
    near_duplicates: NearDuplicateIndex,
    /// Document id → title.
    titles: HashMap<String, Option<String>>,
    /// Document URL → id: an article at a known URL is that document, not a new one.
    ids_by_url: HashMap<String, String>,
    /// What gives this tagger's verdicts (see [`Tagger::fingerprint`]).
    fingerprint: String,
}

impl Tagger {
    /// A tagger with a taxonomy, no gazetteer, hand-set weights and no documents yet.
    pub fn new(taxonomy: Taxonomy, config: TagConfig) -> Self {
        let model = Model::untrained(&taxonomy);
        Self::with_parts(taxonomy, Gazetteer::default(), model, config)
    }

    /// A tagger from its parts, with no documents yet.
    pub fn with_parts(
        taxonomy: Taxonomy,
        gazetteer: Gazetteer,
        model: Model,
        config: TagConfig,
    ) -> Self {
        let fingerprint = fingerprint(&[
            TAGGING_REVISION.as_bytes(),
            model.to_toml().as_bytes(),
            format!("{taxonomy:?}{gazetteer:?}").as_bytes(),
            thresholds(&config).as_bytes(),
        ]);
        Tagger {
            matcher: Matcher::with_gazetteer(&taxonomy, &gazetteer),
            fingerprint,
            taxonomy,
            gazetteer,
            model,
            config,
            similarity: SimilarityIndex::default(),
            concepts: SimilarityIndex::default(),
            near_duplicates: NearDuplicateIndex::default(),
            titles: HashMap::default(),
            ids_by_url: HashMap::default(),
        }
    }

    /// Loads the taxonomy, gazetteer, model and corpus named by `config` (paths as given:
    /// the caller resolves relative ones).
    pub fn from_config(config: TagConfig) -> Result<Self, TagError> {
        let taxonomy = Taxonomy::load(&config.topics)?;
        let gazetteer = match config.gazetteer_path() {
            Some(path) => Gazetteer::load(&path)?,
            None => Gazetteer::default(),
        };
        let model = match config.model_path() {
            Some(path) => Model::load(&path, &taxonomy)?,
            None => Model::untrained(&taxonomy),
        };
        let corpus = config.corpus.clone().filter(|p| !p.as_os_str().is_empty());
        // The files as written: what they say, whatever order their maps load in.
        let file =
            |path: Option<PathBuf>| path.and_then(|p| std::fs::read(p).ok()).unwrap_or_default();
        let fingerprint = fingerprint(&[
            TAGGING_REVISION.as_bytes(),
            &file(Some(config.topics.clone())),
            &file(config.gazetteer_path()),
            &file(config.model_path()),
            &file(corpus.as_ref().map(|dir| dir.join("manifest.toml"))),
            thresholds(&config).as_bytes(),
        ]);
        let mut tagger = Tagger::with_parts(taxonomy, gazetteer, model, config);
        tagger.fingerprint = fingerprint;
        if let Some(dir) = corpus {
            for document in corpus::load(&dir)? {
                tagger.add_document(&document);
            }
        }
        Ok(tagger)
    }

    /// What gives this tagger's verdicts, as 16 hex digits: a hash of its taxonomy, gazetteer
    /// and model files and its thresholds. Each verdict carries it ([`Tags::tagger`]), so
    /// that `nichiro retag` can tell which stored verdicts another tagger gave.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The taxonomy and the term matcher (for training and evaluation).
    pub fn parts(&self) -> (&Taxonomy, &Matcher) {
        (&self.taxonomy, &self.matcher)
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
        let analysis = Analysis::of(&self.matcher, document.title.as_deref(), &document.text);
        self.similarity.add(&document.id, &analysis.tokens);
        self.concepts
            .add(&document.id, &concept_tokens(&analysis.all));
        self.near_duplicates
            .add(&document.id, document.published, analysis.body_tokens());
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

    /// The prefilter of this tagger's taxonomy and gazetteer: a page it skips is one this
    /// tagger would call irrelevant (see [`prefilter`]).
    pub fn prefilter(&self) -> prefilter::Prefilter {
        prefilter::Prefilter::new(&self.taxonomy, &self.gazetteer)
    }

    /// Tags one article.
    pub fn tag(&self, article: &Article) -> Tags {
        let analysis = Analysis::of(&self.matcher, article.title.as_deref(), &article.text);
        let judgement = self.model.judge(
            &self.taxonomy,
            &analysis,
            self.config.relevance_threshold,
            self.config.min_topic_score,
        );
        let relevance_evidence = explain(
            self.model.relevance.bias,
            self.model
                .relevance
                .contributions(&judgement.relevance_features),
        );
        let topics = judgement
            .topics
            .into_iter()
            .map(|(topic, score)| TopicTag {
                evidence: analysis.all.topic_evidence(&topic),
                topic,
                score,
            })
            .collect();

        // The article itself may already be a document (a corpus file ingested again).
        let itself = self.ids_by_url.get(&article.url).map(String::as_str);
        let published = article
            .published
            .or_else(|| itself.and_then(|id| self.near_duplicates.published(id)));
        // The stored text this one copies (most of it is there); else one it shares a
        // passage with (a paragraph, fewer words in common needed), shown apart.
        let (copy, overlap) = self.near_duplicates.find_copy_or_overlap(
            analysis.body_tokens(),
            published,
            (
                self.config.duplicate_min_shared,
                self.config.duplicate_min_common,
            ),
            (
                self.config.overlap_min_shared,
                OVERLAP_MIN_COMMON.min(self.config.duplicate_min_common),
            ),
            itself,
        );
        let as_tag = |copy: near_duplicates::Copy| DuplicateOf {
            id: copy.id,
            shared: copy.shared,
        };
        let duplicate_of = copy.map(as_tag);
        let shares_text_with = overlap.map(as_tag);
        let related = self.related(
            &analysis,
            itself,
            published,
            duplicate_of.as_ref().or(shares_text_with.as_ref()),
        );
        Tags {
            relevant: judgement.relevant,
            relevance: judgement.relevance,
            relevance_evidence,
            topics,
            related,
            duplicate_of,
            shares_text_with,
            entities: self.entities(&analysis.all),
            tagger: self.fingerprint.clone(),
        }
    }

    /// Documents most similar by words or, scaled by [`CONCEPT_SIMILARITY_WEIGHT`], by
    /// concepts (so an article in Russian finds the English report on the same islands),
    /// weighed by how close in time they were published ([`time_weight`]: the same event is
    /// reported within days, a follow-up within weeks; a background piece on the same
    /// islands years apart counts half), and the text the article copies (`copied`) by at
    /// least the share they have in common.
    fn related(
        &self,
        analysis: &Analysis,
        itself: Option<&str>,
        published: Option<DateTime<FixedOffset>>,
        copied: Option<&DuplicateOf>,
    ) -> Vec<RelatedDoc> {
        let k = self.config.max_related;
        let min = self.config.min_related_similarity;
        // More candidates than kept, so that time can reorder them.
        let wide = k.saturating_mul(4);
        let mut best: HashMap<String, f32> = HashMap::default();
        for (id, similarity) in self
            .similarity
            .most_similar(&analysis.tokens, wide, min, itself)
        {
            best.insert(id, similarity);
        }
        let concepts = concept_tokens(&analysis.all);
        for (id, similarity) in self.concepts.most_similar(&concepts, wide, min, itself) {
            let similarity = similarity * CONCEPT_SIMILARITY_WEIGHT;
            let entry = best.entry(id).or_default();
            *entry = entry.max(similarity);
        }
        for (id, similarity) in best.iter_mut() {
            *similarity *= time_weight(published, self.near_duplicates.published(id));
        }
        // The text this one copies is related at least by the share they have in common: a
        // short rewrite whose rarest words are the story's topic would otherwise rank the
        // corpus's long reports on that topic above its own original.
        if let Some(copy) = copied {
            let entry = best.entry(copy.id.clone()).or_default();
            *entry = entry.max(copy.shared);
        }
        let mut related: Vec<RelatedDoc> = best
            .into_iter()
            .filter(|(_, s)| *s >= min)
            .map(|(id, similarity)| RelatedDoc {
                title: self.titles.get(&id).cloned().flatten(),
                id,
                similarity,
            })
            .collect();
        related.sort_by(|a, b| {
            b.similarity
                .total_cmp(&a.similarity)
                .then_with(|| a.id.cmp(&b.id))
        });
        related.truncate(k);
        related
    }

    fn entities(&self, matches: &Matches) -> Vec<EntityTag> {
        let mut entities: Vec<EntityTag> = matches
            .entities()
            .filter_map(|(id, terms)| {
                let def = self.gazetteer.get(id)?;
                Some(EntityTag {
                    id: id.to_string(),
                    name: def.name.clone(),
                    kind: def.kind.as_str().to_string(),
                    mentions: terms.values().sum(),
                    found_as: terms.keys().cloned().collect(),
                })
            })
            .collect();
        entities.sort_by(|a, b| b.mentions.cmp(&a.mentions).then_with(|| a.id.cmp(&b.id)));
        entities
    }
}

/// How much the similarity of two documents counts given the days between their
/// publication: all of it the same day, about 80% a month apart, and half (at least) when
/// years apart. Without both dates, all of it.
fn time_weight(a: Option<DateTime<FixedOffset>>, b: Option<DateTime<FixedOffset>>) -> f32 {
    let (Some(a), Some(b)) = (a, b) else {
        return 1.0;
    };
    let days = (a - b).num_hours().unsigned_abs() as f32 / 24.0;
    0.5 + 0.5 * (-days / 60.0).exp()
}

/// The concepts a text mentions, as tokens for the concept index: each entity and each topic
/// once per mention.
fn concept_tokens(matches: &Matches) -> Vec<Token<'static>> {
    let mut tokens = Vec::new();
    for (group, terms) in &matches.counts {
        let name: std::rc::Rc<str> = match group {
            Group::Entity(id) => format!("@entity:{id}").into(),
            Group::Topic(id) => format!("@topic:{id}").into(),
            Group::Bilateral => "@bilateral".into(),
            _ => continue,
        };
        let n: usize = terms.values().sum();
        for _ in 0..n {
            tokens.push(Token {
                norm: name.clone(),
                raw: "",
                cjk: false,
            });
        }
    }
    tokens
}

/// Features shown by name in the evidence of a relevance score, at most; the rest are summed.
const EVIDENCE_FEATURES: usize = 6;

/// What moved a relevance score, as lines whose numbers add up to its log-odds: the features
/// that moved it most (`feature: +1.23`), the rest summed (`5 other features: +0.10`), the
/// bias, and the total with the probability it gives.
fn explain(bias: f32, contributions: Vec<(String, f32)>) -> Vec<String> {
    let total = bias + contributions.iter().map(|(_, c)| c).sum::<f32>();
    let mut lines: Vec<String> = contributions
        .iter()
        .take(EVIDENCE_FEATURES)
        .map(|(feature, c)| format!("{feature}: {c:+.2}"))
        .collect();
    let rest = &contributions[contributions.len().min(EVIDENCE_FEATURES)..];
    if !rest.is_empty() {
        let sum: f32 = rest.iter().map(|(_, c)| c).sum();
        lines.push(format!("{} other features: {sum:+.2}", rest.len()));
    }
    lines.push(format!("bias: {bias:+.2}"));
    lines.push(format!(
        "= {total:+.2}, relevance {:.2}",
        1.0 / (1.0 + (-total).exp())
    ));
    lines
}

#[cfg(test)]
mod explain_tests {
    #[test]
    fn the_parts_of_a_relevance_score_add_up_to_it() {
        let contributions: Vec<(String, f32)> = (0..8)
            .map(|i| (format!("f{i}"), 1.0 - i as f32 * 0.2))
            .collect();
        let lines = super::explain(-2.5, contributions);
        assert_eq!(lines.len(), 6 + 3);
        assert_eq!(lines[6], "2 other features: -0.60");
        assert_eq!(lines[7], "bias: -2.50");
        let parts: f32 = lines[..8]
            .iter()
            .map(|l| l.rsplit(": ").next().unwrap().parse::<f32>().unwrap())
            .sum();
        let total: f32 = lines[8][2..].split(',').next().unwrap().parse().unwrap();
        assert!((parts - total).abs() < 0.02, "{parts} {total} {lines:?}");
        assert_eq!(lines[8], "= -0.10, relevance 0.48");
    }
}

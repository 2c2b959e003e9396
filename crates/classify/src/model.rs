//! The relevance and topic models: logistic regressions over the named features of
//! [`crate::features`], stored as a small TOML file (`config/model.toml`) that
//! `nichiro train` writes from labelled records. Without a model file the tagger uses
//! [`Model::untrained`], hand-set weights that read the taxonomy alone.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::TagError;
use crate::features::{Analysis, Features};
use crate::taxonomy::Taxonomy;

/// One logistic regression: `p = 1 / (1 + e^-(bias + Σ weight·feature))`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Weights {
    /// The intercept.
    pub bias: f32,
    /// Weight by feature name; a feature without a weight counts zero.
    #[serde(default)]
    pub weights: BTreeMap<String, f32>,
}

impl Weights {
    /// The probability for these feature values.
    pub fn probability(&self, features: &[(String, f32)]) -> f32 {
        let z = self.bias
            + features
                .iter()
                .map(|(name, value)| self.weights.get(name).copied().unwrap_or(0.0) * value)
                .sum::<f32>();
        1.0 / (1.0 + (-z).exp())
    }

    /// The terms that pushed this score most, largest first: `(feature, weight × value)`.
    pub fn contributions(&self, features: &[(String, f32)]) -> Vec<(String, f32)> {
        let mut out: Vec<(String, f32)> = features
            .iter()
            .filter_map(|(name, value)| {
                let c = self.weights.get(name).copied().unwrap_or(0.0) * value;
                (c != 0.0).then(|| (name.clone(), c))
            })
            .collect();
        out.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0)));
        out
    }
}

/// The relevance model and one model per topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    /// Where the weights come from (what `nichiro train` read, and its cross-validated
    /// figures), for readers of the file.
    #[serde(default)]
    pub trained_on: String,
    /// Whether an article is about Russia–Japan relations.
    pub relevance: Weights,
    /// Whether a relevant article covers each topic, by topic id.
    pub topics: BTreeMap<String, Weights>,
}

/// What the models say of one article.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    /// Probability that the article is about Russia–Japan relations.
    pub relevance: f32,
    /// Whether `relevance` reaches the threshold.
    pub relevant: bool,
    /// Topics of a relevant article with their probabilities, most likely first: those at or
    /// above the topic threshold, or else the single most likely one of those whose terms
    /// occur (a relevant article is about something, and a topic is tagged on evidence).
    pub topics: Vec<(String, f32)>,
    /// The relevance features the verdict was computed from (for its explanation).
    pub relevance_features: Features,
}

impl Model {
    /// Judges an analysed article.
    pub fn judge(
        &self,
        taxonomy: &Taxonomy,
        analysis: &Analysis,
        threshold: f32,
        topic_threshold: f32,
    ) -> Judgement {
        let relevance_features = analysis.relevance_features(taxonomy);
        // A text that names neither side, nor the relation, nor an entity of the domain is
        // not about the relation: what the archive prefilter skips unparsed must be what the
        // model would call irrelevant.
        let relevance = if analysis.evidence {
            self.relevance.probability(&relevance_features)
        } else {
            0.0
        };
        let relevant = analysis.evidence && relevance >= threshold;
        let mut topics = Vec::new();
        if relevant {
            let mut scored: Vec<(String, f32)> = taxonomy
                .topics
                .keys()
                .map(|topic| {
                    let p = self
                        .topics
                        .get(topic)
                        .map_or(0.0, |w| w.probability(&analysis.topic_features(topic)));
                    (topic.clone(), p)
                })
                .collect();
            scored.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            // The fallback topic needs evidence: a topic none of whose terms occur is a guess.
            let best = scored
                .iter()
                .find(|(topic, _)| !analysis.all.topic_evidence(topic).is_empty())
                .cloned();
            topics = scored
                .into_iter()
                .filter(|(_, p)| *p >= topic_threshold)
                .collect();
            if topics.is_empty() {
                topics.extend(best);
            }
        }
        Judgement {
            relevance,
            relevant,
            topics,
            relevance_features,
        }
    }

    /// Reads a model file and checks that it names every topic of `taxonomy`.
    pub fn load(path: &Path, taxonomy: &Taxonomy) -> Result<Self, TagError> {
        let parse = |text: &str| -> Result<Model, String> {
            let model: Model = toml::from_str(text).map_err(|e| e.message().to_string())?;
            match taxonomy
                .topics
                .keys()
                .find(|id| !model.topics.contains_key(*id))
            {
                Some(missing) => Err(format!(
                    "no weights for topic {missing:?} of the taxonomy (run `nichiro train`)"
                )),
                None => Ok(model),
            }
        };
        crate::load_file(path, parse, |path, message| TagError::Model {
            path,
            message,
        })
    }

    /// Writes the model as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a model serializes")
    }

    /// Hand-set weights for a tagger without a trained model: both sides named in one
    /// sentence, or the relation named, counts most; a bare co-mention little; a topic's
    /// terms count by the topic's `bilateral` weight. A topic is tagged on one mention.
    pub fn untrained(taxonomy: &Taxonomy) -> Model {
        let mut relevance = Weights {
            bias: -4.2,
            weights: BTreeMap::from(
                [
                    ("russia", 0.6),
                    ("japan", 0.6),
                    ("both_sides", 2.5),
                    ("bilateral", 1.5),
                    ("headline_both", 1.5),
                ]
                .map(|(k, v)| (k.to_string(), v)),
            ),
        };
        for (id, topic) in &taxonomy.topics {
            relevance
                .weights
                .insert(format!("topic:{id}"), 1.2 * topic.bilateral);
        }
        let topics = taxonomy
            .topics
            .keys()
            .map(|id| {
                let weights = Weights {
                    bias: -2.0,
                    weights: BTreeMap::from([("terms".to_string(), 4.0)]),
                };
                (id.clone(), weights)
            })
            .collect();
        Model {
            trained_on: "untrained: hand-set weights".into(),
            relevance,
            topics,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::taxonomy::Matcher;

    const TAXONOMY: &str = r#"
        [sides.russia]
        en = ["Russia"]
        [sides.japan]
        en = ["Japan"]
        [topics.diplomacy-summits]
        label = "Diplomacy"
        en = ["talks"]
        [topics.diplomacy-summits.context]
        en = ["statement"]
        [topics.korean-peninsula]
        label = "Korea"
        en = ["North Korea"]
    "#;

    /// Every article relevant; neither topic reaches 0.5, and the one without terms in the
    /// text is the likelier.
    fn judge(text: &str) -> Vec<String> {
        let taxonomy = Taxonomy::parse(TAXONOMY).unwrap();
        let matcher = Matcher::new(&taxonomy);
        let topic = |bias| Weights {
            bias,
            weights: BTreeMap::new(),
        };
        let model = Model {
            trained_on: String::new(),
            relevance: topic(10.0),
            topics: BTreeMap::from([
                ("diplomacy-summits".to_string(), topic(-2.0)),
                ("korean-peninsula".to_string(), topic(-1.0)),
            ]),
        };
        let analysis = Analysis::of(&matcher, None, text);
        let judgement = model.judge(&taxonomy, &analysis, 0.5, 0.5);
        assert!(judgement.relevant);
        judgement.topics.into_iter().map(|(t, _)| t).collect()
    }

    #[test]
    fn the_fallback_topic_is_one_with_evidence() {
        assert_eq!(judge("Russia and Japan held talks."), ["diplomacy-summits"]);
        assert_eq!(
            judge("Russia issued a statement on Japan."),
            ["diplomacy-summits"],
            "context terms are evidence too"
        );
        assert!(
            judge("Russia and Japan, again.").is_empty(),
            "a topic without any of its terms in the text is a guess"
        );
    }

    #[test]
    fn a_text_without_evidence_is_not_relevant_whatever_the_weights() {
        let taxonomy = Taxonomy::parse(TAXONOMY).unwrap();
        let matcher = Matcher::new(&taxonomy);
        let model = Model {
            trained_on: String::new(),
            relevance: Weights {
                bias: 10.0,
                weights: BTreeMap::new(),
            },
            topics: BTreeMap::new(),
        };
        // Topic terms only: no side, no relation, no entity.
        let analysis = Analysis::of(&matcher, None, "Talks on North Korea went on.");
        let judgement = model.judge(&taxonomy, &analysis, 0.5, 0.5);
        assert!(!judgement.relevant);
        assert_eq!(judgement.relevance, 0.0);
        let analysis = Analysis::of(&matcher, None, "Talks in Japan went on.");
        assert!(model.judge(&taxonomy, &analysis, 0.5, 0.5).relevant);
    }
}

//! What the relevance and topic models see of an article: the taxonomy's and gazetteer's
//! matches, counted over the whole text, the headline and lead, and the sentences that name
//! both sides, turned into named features. Every feature is a count of language-independent
//! concepts (a side, a topic, a cue), so one model serves English, Russian and Japanese text.

use crate::taxonomy::{Group, Matcher, Matches, Taxonomy};
use crate::tokenize::{Token, is_cjk, tokenize};

/// Named feature values of one article (names are stable: the model file refers to them).
pub type Features = Vec<(String, f32)>;

/// The lead is the opening sentences up to this many characters (a dateline alone is not a
/// lead).
const LEAD_CHARS: usize = 150;

/// An article read against the taxonomy.
#[derive(Debug, Default)]
pub struct Analysis<'a> {
    /// Matches in the title (when the text does not repeat it) and the body.
    pub all: Matches,
    /// Matches in the title, or in the first sentence when there is no title.
    pub headline: Matches,
    /// Matches in the lead: the first sentences of the body.
    pub lead: Matches,
    /// Matches in the sentences that name both sides (or the relation).
    pub with_both: Matches,
    /// Sentences counted (the title is one when it counts).
    pub sentences: usize,
    /// Sentences naming both sides or the relation.
    pub both_sentences: usize,
    /// Sentences naming Russia, Japan, the relation's own subjects (the islands, the peace
    /// treaty, the relation by name), and another country: how much of the article each
    /// takes up, so that a passing mention in a long text counts for little.
    pub russia_sentences: usize,
    /// See `russia_sentences`.
    pub japan_sentences: usize,
    /// See `russia_sentences`.
    pub core_sentences: usize,
    /// See `russia_sentences`.
    pub other_country_sentences: usize,
    /// Sentences with a term of each topic, by topic id.
    pub topic_sentences: std::collections::BTreeMap<String, usize>,
    /// Whether anything in the text is evidence that it may be about the relation
    /// ([`Matcher::is_evidence`]).
    pub evidence: bool,
    /// Tokens of the title (when it counts), then of the body.
    pub tokens: Vec<Token<'a>>,
    /// Where the body's tokens start in `tokens`.
    body_start: usize,
}

impl<'a> Analysis<'a> {
    /// Reads `title` and `text` (paragraphs or sentences), tokenizing each piece once.
    pub fn of(matcher: &Matcher, title: Option<&'a str>, text: &'a str) -> Analysis<'a> {
        let title = title.map(str::trim).unwrap_or("");
        let mut analysis = Analysis::default();
        let title_tokens = tokenize(title);
        let title_matches = matcher.find(title, &title_tokens);
        // A title the text opens with is read once, as the text's first sentence.
        let title_counts = !title.is_empty() && !text.trim_start().starts_with(title);
        if title_counts {
            analysis.body_start = title_tokens.len();
            analysis.tokens = title_tokens;
        }
        let mut lead_chars = 0;
        for (i, sentence) in sentences(text).into_iter().enumerate() {
            let tokens = tokenize(sentence);
            let found = matcher.find(sentence, &tokens);
            if title.is_empty() && i == 0 {
                analysis.headline = found.clone();
            }
            if lead_chars < LEAD_CHARS {
                analysis.lead.merge(found.clone());
                lead_chars += sentence.chars().count();
            }
            analysis.count_sentence(matcher, found);
            analysis.tokens.extend(tokens);
        }
        if !title.is_empty() {
            analysis.headline = title_matches.clone();
        }
        if title_counts {
            analysis.count_sentence(matcher, title_matches);
        }
        analysis.evidence = matcher.is_evidence(&analysis.all);
        analysis
    }

    /// Tokens of the body alone.
    pub fn body_tokens(&self) -> &[Token<'a>] {
        &self.tokens[self.body_start..]
    }

    fn count_sentence(&mut self, matcher: &Matcher, found: Matches) {
        self.sentences += 1;
        self.russia_sentences += usize::from(found.side("russia") > 0);
        self.japan_sentences += usize::from(found.side("japan") > 0);
        self.core_sentences += usize::from(names_the_relation_itself(&found));
        self.other_country_sentences +=
            usize::from(found.total(&Group::Cue("other-countries".into())) > 0);
        for group in found.counts.keys() {
            if let Group::Topic(id) = group {
                *self.topic_sentences.entry(id.clone()).or_default() += 1;
            }
        }
        // A sentence about a match or a market names the sides for that, not for relations.
        if found.names_both_sides() && !matcher.about_another_field(&found) {
            self.both_sentences += 1;
            self.with_both.merge(found.clone());
        }
        self.all.merge(found);
    }

    /// The features of the relevance model.
    pub fn relevance_features(&self, taxonomy: &Taxonomy) -> Features {
        let ln1p = |n: usize| (n as f32).ln_1p();
        let mut features: Features = vec![
            ("russia".into(), ln1p(self.all.side("russia")).min(3.0)),
            ("japan".into(), ln1p(self.all.side("japan")).min(3.0)),
            ("both_sides".into(), ln1p(self.both_sentences)),
            (
                "both_sides_share".into(),
                self.both_sentences as f32 / self.sentences.max(1) as f32,
            ),
            (
                "headline_both".into(),
                f32::from(u8::from(self.headline.names_both_sides())),
            ),
            (
                "lead_both".into(),
                f32::from(u8::from(self.lead.names_both_sides())),
            ),
            ("bilateral".into(), ln1p(self.all.total(&Group::Bilateral))),
            (
                "sea_of_japan".into(),
                ln1p(self.all.total(&Group::SideExcept("japan".into()))),
            ),
            (
                "topics_with_both".into(),
                ln1p(self.with_both.topic_total()),
            ),
            ("sentences".into(), ln1p(self.sentences)),
            ("russia_share".into(), self.share(self.russia_sentences)),
            ("japan_share".into(), self.share(self.japan_sentences)),
            ("core_share".into(), self.share(self.core_sentences)),
            (
                "other_country_share".into(),
                self.share(self.other_country_sentences),
            ),
            (
                "headline_russia".into(),
                f32::from(u8::from(self.headline.side("russia") > 0)),
            ),
            (
                "headline_japan".into(),
                f32::from(u8::from(self.headline.side("japan") > 0)),
            ),
            (
                "headline_core".into(),
                f32::from(u8::from(names_the_relation_itself(&self.headline))),
            ),
            (
                "lead_core".into(),
                f32::from(u8::from(names_the_relation_itself(&self.lead))),
            ),
            // Full text and a headline with its lede weigh the same signs differently: a
            // long article naming both sides once is not about them; a short item is.
            (
                "long_both_sides".into(),
                self.long() * ln1p(self.both_sentences),
            ),
            (
                "long_headline_both".into(),
                self.long() * f32::from(u8::from(self.headline.names_both_sides())),
            ),
            (
                "headline_other_country".into(),
                f32::from(u8::from(
                    self.headline.total(&Group::Cue("other-countries".into())) > 0,
                )),
            ),
        ];
        for id in taxonomy.topics.keys() {
            let count = self.all.total(&Group::Topic(id.clone()));
            features.push((format!("topic:{id}"), ln1p(count)));
        }
        for id in taxonomy.cues.keys() {
            let count = self.all.total(&Group::Cue(id.clone()));
            features.push((format!("cue:{id}"), ln1p(count)));
        }
        features
    }

    /// 1 for full text (more than five sentences), 0 for a headline and its lede.
    fn long(&self) -> f32 {
        f32::from(u8::from(self.sentences > 5))
    }

    /// The share of the article's sentences that `count` is.
    fn share(&self, count: usize) -> f32 {
        count as f32 / self.sentences.max(1) as f32
    }

    /// The features of one topic's model.
    pub fn topic_features(&self, topic: &str) -> Features {
        let ln1p = |n: usize| (n as f32).ln_1p();
        let group = Group::Topic(topic.to_string());
        let count = self.all.total(&group);
        let total = self.all.topic_total();
        vec![
            ("terms".into(), ln1p(count)),
            (
                "headline".into(),
                ln1p(self.headline.total(&group) + self.lead.total(&group)),
            ),
            ("with_both".into(), ln1p(self.with_both.total(&group))),
            (
                "share".into(),
                if total == 0 {
                    0.0
                } else {
                    count as f32 / total as f32
                },
            ),
            ("no_topic_terms".into(), f32::from(u8::from(total == 0))),
            (
                "distinct_terms".into(),
                ln1p(self.all.counts.get(&group).map_or(0, |terms| terms.len())),
            ),
            (
                "context_terms".into(),
                ln1p(self.all.total(&Group::TopicContext(topic.to_string()))),
            ),
            // How much of the article the topic runs through, not only how often it is named.
            (
                "sentence_share".into(),
                self.share(self.topic_sentences.get(topic).copied().unwrap_or(0)),
            ),
            // The topic with the most terms (ties included) is what the text is mostly about.
            (
                "leads".into(),
                f32::from(u8::from(count > 0 && count == self.all.topic_max())),
            ),
        ]
    }
}

/// Whether matches name what the relation itself is about, whoever is named with it: the
/// disputed islands, the peace treaty and 1956 Declaration, or the relation by name.
fn names_the_relation_itself(found: &Matches) -> bool {
    found.total(&Group::Bilateral) > 0
        || found.total(&Group::Topic("territorial-dispute".into())) > 0
        || found.total(&Group::Topic("peace-treaty".into())) > 0
}

/// Splits text into sentences: at `。！？`, line breaks, and `.!?` followed by a space and
/// a capital letter, a digit or a quote.
pub fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        let end = i + c.len_utf8();
        let boundary = match c {
            '。' | '！' | '？' | '\n' => true,
            '.' | '!' | '?' => {
                let rest = &text[end..];
                rest.starts_with(char::is_whitespace)
                    && rest.trim_start().chars().next().is_none_or(|n| {
                        n.is_uppercase() || n.is_numeric() || is_cjk(n) || "\"«“'".contains(n)
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

#[cfg(test)]
mod tests {
    use super::*;

    const TAXONOMY: &str = r#"
        [sides.russia]
        en = ["Russia", "Moscow"]
        ru = ["Росси*"]
        ja = ["ロシア"]
        [sides.japan]
        en = ["Japan", "Tokyo"]
        ru = ["Япони*"]
        ja = ["日本"]
        [topics.territorial-dispute]
        label = "Territory"
        en = ["Kuril Islands"]
        ru = ["Курил*"]
        ja = ["北方領土"]
        [topics.diplomacy-summits]
        label = "Diplomacy"
        en = ["talks"]
        [cues.sports]
        label = "Sport"
        another_field = true
        en = ["tennis", "final"]
        [cues.multilateral]
        label = "UN"
        en = ["United Nations"]
    "#;

    fn features(title: &str, text: &str) -> Vec<(String, f32)> {
        let taxonomy = Taxonomy::parse(TAXONOMY).unwrap();
        let matcher = Matcher::new(&taxonomy);
        Analysis::of(&matcher, Some(title), text).relevance_features(&taxonomy)
    }

    fn value(features: &[(String, f32)], name: &str) -> f32 {
        features.iter().find(|(n, _)| n == name).unwrap().1
    }

    #[test]
    fn the_same_story_gives_the_same_features_in_three_languages() {
        let en = features(
            "Japan protests to Russia",
            "Tokyo protested to Moscow over the Kuril Islands. Talks went on.",
        );
        let ru = features(
            "Япония выразила протест России",
            "Япония заявила протест России из-за Курил. Переговоры продолжились.",
        );
        let ja = features(
            "日本がロシアに抗議",
            "日本政府はロシアに北方領土をめぐり抗議した。協議は続いた。",
        );
        for name in ["both_sides", "headline_both", "topic:territorial-dispute"] {
            assert_eq!(
                value(&en, name),
                value(&ru, name),
                "{name}: en {en:?} ru {ru:?}"
            );
            assert_eq!(
                value(&en, name),
                value(&ja, name),
                "{name}: en {en:?} ja {ja:?}"
            );
        }
        assert!(value(&en, "both_sides") > 0.0);
    }

    #[test]
    fn cues_and_co_mentions_are_separate_features() {
        let f = features(
            "",
            "Russia met Japan at the United Nations. Russia spoke at the United Nations.",
        );
        assert!(value(&f, "cue:multilateral") > 1.0);
        assert!(value(&f, "both_sides_share") > 0.4);
        assert_eq!(
            value(&f, "headline_both"),
            1.0,
            "without a title the first sentence heads"
        );
    }

    #[test]
    fn a_sentence_about_another_field_does_not_name_both_sides() {
        // A result: both sides, and more sport than relations.
        let f = features("", "Russia beat Japan in the tennis final.");
        assert_eq!(value(&f, "both_sides"), 0.0);
        // Talks outweighing the sport, and a political setting, still count.
        let f = features("", "Russia and Japan held talks on tennis.");
        assert!(value(&f, "both_sides") > 0.0);
        let f = features("", "Russia and Japan spoke at the United Nations.");
        assert!(value(&f, "both_sides") > 0.0);
    }

    #[test]
    fn sentences_split_on_punctuation_in_each_script() {
        assert_eq!(
            sentences("One. Two? «Three» Четыре. 五。六"),
            ["One.", "Two?", "«Three» Четыре.", "五。", "六"]
        );
    }
}

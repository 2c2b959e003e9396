//! The taxonomy (`config/topics.toml`) and a matcher that finds its terms in a text.
//!
//! Terms are grouped: the two sides (Russia, Japan), terms that name the relation itself
//! (`Russia–Japan`, `日露`), and the topics. Each term is matched by its script: words by
//! their stems in sequence (so `Kuril Islands` matches `Kurils island`'s stems and Russian
//! terms match their inflected forms), all-capital acronyms case-sensitively (`ПРО` is not the
//! preposition `про`), and Japanese terms as substrings. Terms of a single CJK character
//! (`露`, `ロ`) are too ambiguous alone and are kept only inside longer terms.

use std::collections::BTreeMap;

use aho_corasick::AhoCorasick;
use rustc_hash::FxHashMap as HashMap;
use std::path::Path;

use serde::Deserialize;

use crate::TagError;
use crate::gazetteer::Gazetteer;
use crate::tokenize::{Token, is_cjk, tokenize};

/// Terms in each language. Matching does not depend on which list a term is in; the lists
/// keep the file readable and show what each language covers.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Terms {
    /// English terms.
    #[serde(default)]
    pub en: Vec<String>,
    /// Russian terms.
    #[serde(default)]
    pub ru: Vec<String>,
    /// Japanese terms.
    #[serde(default)]
    pub ja: Vec<String>,
    /// Phrases that contain a term without meaning it: for a side (`Sea of Japan`) each
    /// match cancels one match of the side; for a topic or a cue the terms inside one do not
    /// count (`в отношении`, "regarding", is not `отношения`, relations; `関係者`, "sources",
    /// is not `関係`).
    #[serde(default)]
    pub except: Vec<String>,
}

impl Terms {
    fn all(&self) -> impl Iterator<Item = &String> {
        self.en.iter().chain(&self.ru).chain(&self.ja)
    }
}

/// One topic of the taxonomy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicDef {
    /// Human-readable name.
    pub label: String,
    /// How strongly a match implies the text is about Russia–Japan relations, in [0, 1]:
    /// 1 for terms that only make sense between the two (the Kurils), near 0 for terms that
    /// are common elsewhere (talks, sanctions).
    #[serde(default)]
    pub bilateral: f32,
    /// The topic's terms.
    #[serde(flatten)]
    pub terms: Terms,
    /// Terms that go with the topic without making a text about it alone: who speaks (a
    /// spokeswoman, a president), generic words (relations, a visit). The topic model weighs
    /// them apart from the topic's terms (`context_terms`), and a topic's term containing one
    /// (`grave visits`) shadows it.
    #[serde(default)]
    pub context: Terms,
}

/// A cue: terms that say what else a text may be about (sports, markets, a multilateral
/// meeting, a commemoration). Cues are features of the relevance model, not tags.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CueDef {
    /// Human-readable name.
    pub label: String,
    /// Whether the cue names a field outside the relations (sport, markets, nature): a
    /// sentence with more of its terms than of all topics' does not count as one naming both
    /// sides (`the Russian won in Tokyo, ahead of the Japanese`). Default false: a political
    /// setting (the UN, a commemoration) can frame relations.
    #[serde(default)]
    pub another_field: bool,
    /// The cue's terms.
    #[serde(flatten)]
    pub terms: Terms,
}

/// The whole taxonomy file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Taxonomy {
    /// `russia` and `japan`: names of each side (countries, capitals, institutions). People
    /// and places of either side are in the gazetteer, whose entries name their side.
    pub sides: BTreeMap<String, Terms>,
    /// Terms naming the relation itself (`Russia-Japan`, `日露`).
    #[serde(default)]
    pub bilateral: Terms,
    /// Topics by id.
    pub topics: BTreeMap<String, TopicDef>,
    /// Cues by id.
    #[serde(default)]
    pub cues: BTreeMap<String, CueDef>,
}

impl Taxonomy {
    /// Reads a taxonomy from a TOML file.
    pub fn load(path: &Path) -> Result<Self, TagError> {
        crate::load_file(path, Self::parse, |path, message| TagError::Taxonomy {
            path,
            message,
        })
    }

    /// Parses a taxonomy from TOML text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let taxonomy: Taxonomy = toml::from_str(text).map_err(|e| e.message().to_string())?;
        for side in ["russia", "japan"] {
            if !taxonomy.sides.contains_key(side) {
                return Err(format!("missing [sides.{side}]"));
            }
        }
        if taxonomy.topics.is_empty() {
            return Err("no [topics.*] defined".into());
        }
        Ok(taxonomy)
    }
}

/// Which group a term belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Group {
    /// A side (`russia` or `japan`).
    Side(String),
    /// A side's false friend (`Sea of Japan` for `japan`).
    SideExcept(String),
    /// The relation itself.
    Bilateral,
    /// A topic by id.
    Topic(String),
    /// A topic's context terms, by topic id.
    TopicContext(String),
    /// A cue by id.
    Cue(String),
    /// A topic's or cue's exceptions: phrases whose terms of that group do not count.
    Except(Box<Group>),
    /// A gazetteer entity by id.
    Entity(String),
}

/// One word of a term: a stem, or a prefix of the lower-cased word (`Лавров*` matches
/// `Лаврова`, `Лавровым`, where stems of Russian surnames differ by case).
#[derive(Debug, Clone, PartialEq)]
enum WordPattern {
    Stem(String),
    Prefix(String),
}

impl WordPattern {
    fn matches(&self, token: &Token) -> bool {
        match self {
            WordPattern::Stem(stem) => *token.norm == **stem,
            WordPattern::Prefix(prefix) => starts_with_lowercase(token.raw, prefix),
        }
    }
}

/// Whether `word`, lower-cased (with `ё` as `е`), starts with `prefix`.
fn starts_with_lowercase(word: &str, prefix: &str) -> bool {
    let mut lowered = word
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| if c == 'ё' { 'е' } else { c });
    prefix.chars().all(|p| lowered.next() == Some(p))
}

/// The first three characters of an already lower-cased word.
fn first_three(word: &str) -> Option<[char; 3]> {
    let mut chars = word.chars();
    Some([chars.next()?, chars.next()?, chars.next()?])
}

/// The key under which a prefix pattern is indexed: its first three characters.
fn prefix_key(word: &str) -> Option<[char; 3]> {
    let mut chars = word
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| if c == 'ё' { 'е' } else { c });
    Some([chars.next()?, chars.next()?, chars.next()?])
}

#[derive(Debug)]
enum Pattern {
    /// A sequence of word stems or prefixes.
    Words(Vec<WordPattern>),
    /// A sequence of words matched as written (acronyms).
    Raw(Vec<String>),
    /// A CJK substring.
    Substring(String),
}

#[derive(Debug)]
struct CompiledTerm {
    group: Group,
    /// A second group the match counts for (an entity's side).
    also: Option<Group>,
    term: String,
    pattern: Pattern,
}

/// Matches every term of a taxonomy against texts.
#[derive(Debug)]
pub struct Matcher {
    terms: Vec<CompiledTerm>,
    /// First stem → terms starting with it.
    by_first_norm: HashMap<String, Vec<usize>>,
    /// First three letters of a first-word prefix → terms starting with it.
    by_first_prefix: HashMap<[char; 3], Vec<usize>>,
    /// First raw word → acronym terms starting with it.
    by_first_raw: HashMap<String, Vec<usize>>,
    substrings: Vec<usize>,
    /// One automaton over all substring terms (pattern i is `substrings[i]`).
    substring_automaton: Option<AhoCorasick>,
    /// The cues that name a field outside the relations ([`CueDef::another_field`]).
    field_cues: Vec<Group>,
    /// Entities that are no evidence of the relation ([`EntityDef::third_party`]).
    third_parties: std::collections::HashSet<String>,
}

/// Matches found in one text: per group, each term with its count.
#[derive(Debug, Default, Clone)]
pub struct Matches {
    /// (group, term) → count.
    pub counts: BTreeMap<Group, BTreeMap<String, usize>>,
}

impl Matches {
    /// Adds the counts of `other`.
    pub fn merge(&mut self, other: Matches) {
        for (group, terms) in other.counts {
            let into = self.counts.entry(group).or_default();
            for (term, n) in terms {
                *into.entry(term).or_default() += n;
            }
        }
    }

    /// Entities found: id → (term → count).
    pub fn entities(&self) -> impl Iterator<Item = (&str, &BTreeMap<String, usize>)> {
        self.counts.iter().filter_map(|(group, terms)| match group {
            Group::Entity(id) => Some((id.as_str(), terms)),
            _ => None,
        })
    }

    /// Matches of each topic that has any.
    fn topic_counts(&self) -> impl Iterator<Item = usize> + '_ {
        self.counts
            .iter()
            .filter(|(group, _)| matches!(group, Group::Topic(_)))
            .map(|(_, terms)| terms.values().sum::<usize>())
    }

    /// Total matches of all topics.
    pub fn topic_total(&self) -> usize {
        self.topic_counts().sum()
    }

    /// The most terms any one topic has.
    pub fn topic_max(&self) -> usize {
        self.topic_counts().max().unwrap_or(0)
    }

    /// Mentions of a side, less its false friends (`Sea of Japan` for Japan).
    pub fn side(&self, side: &str) -> usize {
        self.total(&Group::Side(side.into()))
            .saturating_sub(self.total(&Group::SideExcept(side.into())))
    }

    /// Whether both sides are named, or the relation itself is.
    pub fn names_both_sides(&self) -> bool {
        let bilateral = self.total(&Group::Bilateral) > 0;
        bilateral || (self.side("russia") > 0 && self.side("japan") > 0)
    }

    /// Total matches of a group.
    pub fn total(&self, group: &Group) -> usize {
        self.counts
            .get(group)
            .map_or(0, |terms| terms.values().sum())
    }

    /// Terms of a group, most frequent first.
    pub fn evidence(&self, group: &Group) -> Vec<String> {
        let mut terms: Vec<(&String, &usize)> = self
            .counts
            .get(group)
            .map(|t| t.iter().collect())
            .unwrap_or_default();
        terms.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        terms.into_iter().map(|(t, _)| t.clone()).collect()
    }

    /// A topic's evidence: its terms found, most frequent first, then its context terms.
    pub fn topic_evidence(&self, topic: &str) -> Vec<String> {
        let mut terms = self.evidence(&Group::Topic(topic.to_string()));
        terms.extend(self.evidence(&Group::TopicContext(topic.to_string())));
        terms
    }
}

impl Matcher {
    /// Compiles the terms of `taxonomy`.
    pub fn new(taxonomy: &Taxonomy) -> Self {
        Self::with_gazetteer(taxonomy, &Gazetteer::default())
    }

    /// Compiles the terms of `taxonomy` and the names of `gazetteer`'s entities. A mention of
    /// an entity with a side counts as a mention of that side too.
    pub fn with_gazetteer(taxonomy: &Taxonomy, gazetteer: &Gazetteer) -> Self {
        let mut matcher = Matcher {
            terms: Vec::new(),
            by_first_norm: HashMap::default(),
            by_first_prefix: HashMap::default(),
            by_first_raw: HashMap::default(),
            substrings: Vec::new(),
            substring_automaton: None,
            field_cues: taxonomy
                .cues
                .iter()
                .filter(|(_, cue)| cue.another_field)
                .map(|(id, _)| Group::Cue(id.clone()))
                .collect(),
            third_parties: gazetteer
                .entity
                .iter()
                .filter(|e| e.third_party)
                .map(|e| e.id.clone())
                .collect(),
        };
        for (side, terms) in &taxonomy.sides {
            for term in terms.all() {
                matcher.add(Group::Side(side.clone()), None, term);
            }
            for term in &terms.except {
                matcher.add(Group::SideExcept(side.clone()), None, term);
            }
        }
        for term in taxonomy.bilateral.all() {
            matcher.add(Group::Bilateral, None, term);
        }
        for (id, topic) in &taxonomy.topics {
            for term in topic.terms.all() {
                matcher.add(Group::Topic(id.clone()), None, term);
            }
            for term in topic.context.all() {
                matcher.add(Group::TopicContext(id.clone()), None, term);
            }
            let except = Group::Except(Box::new(Group::Topic(id.clone())));
            for term in topic.terms.except.iter().chain(&topic.context.except) {
                matcher.add(except.clone(), None, term);
            }
        }
        for (id, cue) in &taxonomy.cues {
            for term in cue.terms.all() {
                matcher.add(Group::Cue(id.clone()), None, term);
            }
            let except = Group::Except(Box::new(Group::Cue(id.clone())));
            for term in &cue.terms.except {
                matcher.add(except.clone(), None, term);
            }
        }
        for entity in &gazetteer.entity {
            let side = entity.side.clone().map(Group::Side);
            for term in entity.names() {
                matcher.add(Group::Entity(entity.id.clone()), side.clone(), term);
            }
        }
        let patterns: Vec<&str> = matcher
            .substrings
            .iter()
            .filter_map(|&i| match &matcher.terms[i].pattern {
                Pattern::Substring(s) => Some(s.as_str()),
                _ => None,
            })
            .collect();
        matcher.substring_automaton =
            Some(AhoCorasick::new(patterns).expect("substring terms compile"));
        matcher
    }

    fn add(&mut self, group: Group, also: Option<Group>, term: &str) {
        let term = term.trim();
        let pattern = if term.chars().any(is_cjk) {
            if term.chars().count() < 2 {
                return;
            }
            Pattern::Substring(term.to_string())
        } else {
            let tokens = tokenize(term);
            if tokens.is_empty() {
                return;
            }
            let acronym = term.chars().filter(|c| c.is_alphabetic()).count() >= 2
                && term
                    .chars()
                    .filter(|c| c.is_alphabetic())
                    .all(char::is_uppercase);
            if acronym {
                Pattern::Raw(tokens.into_iter().map(|t| t.raw.to_string()).collect())
            } else {
                // A word written with a trailing `*` is a prefix.
                let words = term.split_whitespace().collect::<Vec<_>>();
                let prefixes = words.len() == tokens.len();
                Pattern::Words(
                    tokens
                        .into_iter()
                        .enumerate()
                        .map(|(i, t)| match words.get(i) {
                            Some(w)
                                if prefixes && w.ends_with('*') && prefix_key(t.raw).is_some() =>
                            {
                                WordPattern::Prefix(t.raw.to_lowercase().replace('ё', "е"))
                            }
                            _ => WordPattern::Stem(t.norm.to_string()),
                        })
                        .collect(),
                )
            }
        };
        let term = term.replace('*', "");
        let index = self.terms.len();
        match &pattern {
            Pattern::Words(words) => match &words[0] {
                WordPattern::Stem(stem) => self
                    .by_first_norm
                    .entry(stem.clone())
                    .or_default()
                    .push(index),
                WordPattern::Prefix(prefix) => self
                    .by_first_prefix
                    .entry(prefix_key(prefix).expect("prefixes have three letters"))
                    .or_default()
                    .push(index),
            },
            Pattern::Raw(words) => self
                .by_first_raw
                .entry(words[0].clone())
                .or_default()
                .push(index),
            Pattern::Substring(_) => self.substrings.push(index),
        }
        self.terms.push(CompiledTerm {
            group,
            also,
            term,
            pattern,
        });
    }

    /// Whether a group's match is evidence that a text may be about the relation: a side, the
    /// relation itself, or an entity of the gazetteer that is not a third party (the islands,
    /// a joint project, a minister).
    fn is_evidence_group(&self, group: &Group) -> bool {
        match group {
            Group::Side(_) | Group::Bilateral => true,
            Group::Entity(id) => !self.third_parties.contains(id),
            _ => false,
        }
    }

    /// Whether `found` holds any evidence that the text may be about the relation. A text
    /// without any is not relevant, whatever else it names, and the prefilter
    /// ([`crate::prefilter`]) skips exactly such texts before they are parsed.
    pub fn is_evidence(&self, found: &Matches) -> bool {
        found
            .counts
            .iter()
            .any(|(group, terms)| self.is_evidence_group(group) && terms.values().any(|&n| n > 0))
    }

    /// Whether `found` (one sentence's matches) is about a field outside the relations: more
    /// terms of one such cue than of all topics together.
    pub fn about_another_field(&self, found: &Matches) -> bool {
        let field = self.field_cues.iter().map(|cue| found.total(cue)).max();
        field.is_some_and(|n| n > found.topic_total())
    }

    /// Finds every term in `text` (whose tokens are `tokens`).
    pub fn find(&self, text: &str, tokens: &[Token]) -> Matches {
        // Each hit with its span: token positions for words (start, end, false), byte
        // offsets for CJK substrings (start, end, true).
        let mut hits: Vec<(usize, usize, bool, usize)> = Vec::new();
        let word_at = |i: usize, words: &[WordPattern]| {
            tokens.len() >= i + words.len()
                && tokens[i..i + words.len()]
                    .iter()
                    .zip(words)
                    .all(|(t, w)| !t.cjk && w.matches(t))
        };
        for (i, token) in tokens.iter().enumerate() {
            if token.cjk {
                continue;
            }
            for &index in self.by_first_norm.get(&*token.norm).into_iter().flatten() {
                if let Pattern::Words(words) = &self.terms[index].pattern
                    && word_at(i, words)
                {
                    hits.push((i, i + words.len(), false, index));
                }
            }
            // A word that starts with a prefix of three letters or more has a stem that starts
            // with the same three (stemmers cut endings), and stems are lower-case already.
            if !self.by_first_prefix.is_empty()
                && let Some(key) = first_three(&token.norm)
            {
                for &index in self.by_first_prefix.get(&key).into_iter().flatten() {
                    if let Pattern::Words(words) = &self.terms[index].pattern
                        && word_at(i, words)
                    {
                        hits.push((i, i + words.len(), false, index));
                    }
                }
            }
            // Acronym terms start with a capital letter.
            let capital = token.raw.chars().next().is_some_and(char::is_uppercase);
            for &index in self
                .by_first_raw
                .get(token.raw)
                .filter(|_| capital)
                .into_iter()
                .flatten()
            {
                if let Pattern::Raw(words) = &self.terms[index].pattern
                    && sequence_at(tokens, i, words, |t| t.raw)
                {
                    hits.push((i, i + words.len(), false, index));
                }
            }
        }
        // Substring terms hold CJK characters: a text without any cannot contain them.
        let has_cjk = tokens.iter().any(|t| t.cjk);
        if let Some(automaton) = self.substring_automaton.as_ref().filter(|_| has_cjk) {
            for found in automaton.find_overlapping_iter(text) {
                let index = self.substrings[found.pattern().as_usize()];
                hits.push((found.start(), found.end(), true, index));
            }
        }
        let mut matches = Matches::default();
        for &(start, end, cjk, index) in &hits {
            let term = &self.terms[index];
            // A term inside a longer one of its own group is one mention, not two
            // (`Kuril` in `Kuril Islands`, `領土` in `北方領土`); of two terms of a group on
            // the same words (`Kuril`, `Kuril*`), the first listed counts. A term inside (or
            // on the same words as) one that shadows it does not count at all.
            let covered = hits.iter().any(|&(s, e, c, other)| {
                let outer = &self.terms[other].group;
                c == cjk
                    && other != index
                    && s <= start
                    && end <= e
                    && ((outer == &term.group && ((s, e) != (start, end) || other < index))
                        || shadows(outer, &term.group))
            });
            if covered || matches!(term.group, Group::Except(_)) {
                continue;
            }
            for group in std::iter::once(&term.group).chain(&term.also) {
                *matches
                    .counts
                    .entry(group.clone())
                    .or_default()
                    .entry(term.term.clone())
                    .or_default() += 1;
            }
        }
        matches
    }
}

/// How a prefilter key must sit in a text to stand for its term (see [`Matcher::evidence_keys`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeySeat {
    /// Anywhere: a CJK substring.
    Anywhere,
    /// At the start of a word: a word's stem or prefix, which the word may go on from.
    WordStart,
    /// As a whole word: an acronym.
    WholeWord,
}

/// A string the prefilter looks for, lower-cased where case is not part of the term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EvidenceKey {
    pub text: String,
    pub seat: KeySeat,
}

impl Matcher {
    /// For each term whose match is evidence for relevance ([`Matcher::is_evidence`]: a
    /// side, the relation, an entity that is no third party), one string that every match of the term contains: a CJK
    /// term itself; of a term of words, its longest word's key (a prefix as written, or the
    /// part of a stem that the word as written shares with it: `treat` for `treaty`, whose
    /// stem is `treati`, so that every form with that stem starts with it); an acronym's
    /// longest word. A text without any key has no evidence.
    pub(crate) fn evidence_keys(&self) -> Vec<EvidenceKey> {
        let mut keys = Vec::new();
        for term in &self.terms {
            if !self.is_evidence_group(&term.group) {
                continue;
            }
            let key = match &term.pattern {
                Pattern::Substring(s) => EvidenceKey {
                    text: s.clone(),
                    seat: KeySeat::Anywhere,
                },
                Pattern::Raw(words) => EvidenceKey {
                    text: longest(words.iter().cloned()),
                    seat: KeySeat::WholeWord,
                },
                Pattern::Words(words) => {
                    let written = tokenize(&term.term);
                    let word_keys = words.iter().enumerate().map(|(i, word)| match word {
                        WordPattern::Prefix(prefix) => prefix.clone(),
                        WordPattern::Stem(stem) => {
                            let raw = written.get(i).map_or("", |t| t.raw);
                            let lowered = raw.to_lowercase().replace('ё', "е");
                            let mut key: String = lowered
                                .chars()
                                .zip(stem.chars())
                                .take_while(|(a, b)| a == b)
                                .map(|(a, _)| a)
                                .collect();
                            // The English stemmer writes a final `y` as `i` and puts back an
                            // `e` it took (`territory` and `territories` are `territori`,
                            // `rating` is `rate`): a key ends before either.
                            if key.ends_with(['i', 'e']) && key.is_ascii() {
                                key.pop();
                            }
                            key
                        }
                    });
                    EvidenceKey {
                        text: longest(word_keys),
                        seat: KeySeat::WordStart,
                    }
                }
            };
            // An empty key (nothing every form shares) is kept: the prefilter then passes all.
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        keys
    }
}

/// The longest of `words` (in characters), the first of equals.
fn longest(words: impl Iterator<Item = String>) -> String {
    words.fold(String::new(), |best, w| {
        if w.chars().count() > best.chars().count() {
            w
        } else {
            best
        }
    })
}

/// Whether a term of group `outer` makes a term of `inner` inside it no mention: a cue's term
/// names something else (`security` in `Security Council`), a topic's term says more than a
/// context term inside it (`visits` in `grave visits`), and an exception is not its group's
/// term (`関係` in `関係者`).
fn shadows(outer: &Group, inner: &Group) -> bool {
    match (outer, inner) {
        (Group::Cue(_), Group::Topic(_) | Group::TopicContext(_)) => true,
        (Group::Topic(_), Group::TopicContext(_)) => true,
        (Group::Except(group), Group::TopicContext(id)) => **group == Group::Topic(id.clone()),
        (Group::Except(group), inner) => **group == *inner,
        _ => false,
    }
}

fn sequence_at(
    tokens: &[Token],
    at: usize,
    words: &[String],
    key: impl for<'t> Fn(&'t Token<'_>) -> &'t str,
) -> bool {
    tokens.len() >= at + words.len()
        && tokens[at..at + words.len()]
            .iter()
            .zip(words)
            .all(|(t, w)| !t.cjk && key(t) == w)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAXONOMY: &str = r#"
        [sides.russia]
        en = ["Russia", "Lavrov"]
        ru = ["Россия"]
        ja = ["ロシア", "露"]
        [sides.japan]
        en = ["Japan"]
        ja = ["日本"]
        except = ["Sea of Japan"]
        [bilateral]
        ja = ["日露"]
        [topics.territorial-dispute]
        label = "Territory"
        bilateral = 1.0
        en = ["Kuril Islands"]
        ru = ["Курильские острова"]
        ja = ["北方領土"]
        [topics.security-defense]
        label = "Security"
        ru = ["ПРО"]
    "#;

    fn find(text: &str) -> Matches {
        let matcher = Matcher::new(&Taxonomy::parse(TAXONOMY).unwrap());
        matcher.find(text, &tokenize(text))
    }

    #[test]
    fn words_match_by_stem_across_inflection() {
        let m = find("Talks on the Kuril islands. Россия заявила о Курильских островах.");
        let topic = Group::Topic("territorial-dispute".into());
        assert_eq!(m.total(&topic), 2);
        assert_eq!(m.total(&Group::Side("russia".into())), 1);
    }

    #[test]
    fn acronyms_are_case_sensitive() {
        let security = Group::Topic("security-defense".into());
        assert_eq!(find("Говорили про ПРО.").total(&security), 1);
        assert_eq!(find("Говорили про мир.").total(&security), 0);
    }

    #[test]
    fn japanese_substrings_and_single_characters() {
        let m = find("日露首脳会談で北方領土問題を協議。");
        assert_eq!(m.total(&Group::Bilateral), 1);
        assert_eq!(m.total(&Group::Topic("territorial-dispute".into())), 1);
        // `露` alone is too ambiguous to count as Russia.
        assert_eq!(m.total(&Group::Side("russia".into())), 0);
    }

    #[test]
    fn a_term_inside_a_longer_one_of_its_group_counts_once() {
        let taxonomy = Taxonomy::parse(
            r#"
            [sides.russia]
            en = ["Russia"]
            [sides.japan]
            en = ["Japan"]
            [topics.territorial-dispute]
            label = "Territory"
            en = ["Kuril Islands", "Kuril", "Kuril*"]
            ja = ["北方領土", "領土"]
            "#,
        )
        .unwrap();
        let matcher = Matcher::new(&taxonomy);
        let topic = Group::Topic("territorial-dispute".into());
        let text = "The Kuril Islands and the Kurils.";
        assert_eq!(matcher.find(text, &tokenize(text)).total(&topic), 2);
        let text = "北方領土の領土問題";
        assert_eq!(matcher.find(text, &tokenize(text)).total(&topic), 2);
    }

    #[test]
    fn a_cue_or_topic_term_shadows_what_it_contains_in_other_groups() {
        let taxonomy = Taxonomy::parse(
            r#"
            [sides.russia]
            en = ["Russia"]
            [sides.japan]
            en = ["Japan"]
            [topics.security-defense]
            label = "Security"
            en = ["security", "Security Treaty"]
            ja = ["安全保障"]
            [topics.diplomacy-summits]
            label = "Diplomacy"
            en = ["talks"]
            [topics.diplomacy-summits.context]
            en = ["visits", "statement"]
            ru = ["визит*"]
            ja = ["訪問"]
            [topics.people-travel-humanitarian]
            label = "People"
            en = ["grave visits"]
            ja = ["墓参訪問"]
            [cues.multilateral]
            label = "Multilateral"
            en = ["Security Council"]
            ja = ["安全保障理事会"]
            "#,
        )
        .unwrap();
        let matcher = Matcher::new(&taxonomy);
        let count = |text: &str, group: Group| matcher.find(text, &tokenize(text)).total(&group);
        let security = || Group::Topic("security-defense".into());
        let context = || Group::TopicContext("diplomacy-summits".into());
        // A cue's term names something else: no mention of the topic.
        assert_eq!(count("The Security Council met.", security()), 0);
        assert_eq!(count("国連安全保障理事会で", security()), 0);
        assert_eq!(count("Security talks.", security()), 1);
        // Two topics' terms both count: a treaty on security is about security.
        assert_eq!(count("The Security Treaty.", security()), 1);
        // Context terms count apart from the topic's terms, in every language.
        assert_eq!(count("A statement on the visits.", context()), 2);
        assert_eq!(count("Визиты президента.", context()), 1);
        assert_eq!(count("首相の訪問", context()), 1);
        assert_eq!(
            count(
                "Talks and a statement.",
                Group::Topic("diplomacy-summits".into())
            ),
            1
        );
        // Inside another topic's term, a context term is that topic's.
        assert_eq!(count("Former islanders made grave visits.", context()), 0);
        assert_eq!(count("元島民の墓参訪問", context()), 0);
    }

    #[test]
    fn exceptions_are_counted_separately() {
        let m = find("Drills in the Sea of Japan near Japan.");
        assert_eq!(m.total(&Group::Side("japan".into())), 2);
        assert_eq!(m.total(&Group::SideExcept("japan".into())), 1);
    }

    #[test]
    fn bad_taxonomy_names_the_problem() {
        let err = Taxonomy::parse("[sides.russia]\nen=[]\n[topics]").unwrap_err();
        assert!(err.contains("sides.japan"), "{err}");
    }
}

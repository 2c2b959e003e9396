//! Search queries as a reader writes them: words (all must occur, in any inflection),
//! `"quoted phrases"` (their words together, in order), `OR` between alternatives and `*`
//! after a word for any word that starts so (`Курил*` for Курилы, Курильские, Курильск); and
//! a score of how well a text answers one.

use std::collections::HashMap;

use crate::tokenize;

/// Words that must stand together, in this order, as normal forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phrase {
    /// The normal forms (stems, CJK bigrams).
    pub norms: Vec<String>,
    /// The phrase as written, for a lone Japanese character: it is no token of the index
    /// (which holds bigrams), so it is looked for as written.
    pub lone_cjk: Option<String>,
    /// Whether the last normal form is a prefix (the word was written with `*` after it).
    pub prefix: bool,
}

/// Characters a normal form needs to be a prefix: `К*` would match a good part of the store,
/// so a shorter starred word is matched whole.
pub const MIN_PREFIX_CHARS: usize = 3;

/// Whether `token`, read from `text`, is written with `*` after it and is long enough to
/// stand as a prefix (see [`MIN_PREFIX_CHARS`]; Japanese bigrams never are: a Japanese word is
/// matched by its characters already).
pub fn is_prefix(text: &str, token: &crate::Token<'_>) -> bool {
    !token.cjk
        && token.norm.chars().count() >= MIN_PREFIX_CHARS
        && text[crate::byte_range(text, token).end..].starts_with('*')
}

/// A parsed query: any of the alternatives, each a set of phrases that must all occur.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Query {
    /// Alternatives (`OR`); an article matches when it matches one.
    pub any_of: Vec<Vec<Phrase>>,
}

impl Query {
    /// Whether the query holds nothing to look for.
    pub fn is_empty(&self) -> bool {
        self.any_of.is_empty()
    }

    /// Every word the query names, for marking them in a text.
    pub fn words(&self) -> crate::highlight::Words {
        let mut words = crate::highlight::Words::default();
        for phrase in self.any_of.iter().flatten() {
            let last = phrase.norms.len().saturating_sub(1);
            for (i, norm) in phrase.norms.iter().enumerate() {
                if phrase.prefix && i == last {
                    words.prefixes.push(norm.clone());
                } else if !crate::is_stopword(norm) {
                    words.exact.insert(norm.clone());
                }
            }
        }
        words
    }
}

/// Phrases a query may hold in all (its alternatives together): each costs the store a
/// condition, a lone Japanese character a scan of every text.
pub const MAX_PHRASES: usize = 32;

/// Why `text` is too much to search for, if it is: more than [`MAX_PHRASES`] phrases (or
/// words), or more than 1,000 characters.
pub fn too_long(text: &str) -> Option<String> {
    if text.chars().count() > 1000 {
        return Some("at most 1000 characters".into());
    }
    let phrases: usize = parse_all(text).any_of.iter().map(Vec::len).sum();
    (phrases > MAX_PHRASES).then(|| format!("at most {MAX_PHRASES} words or phrases"))
}

/// Reads `text`: bare words, `"phrases"` and `OR` (upper case) between alternatives. A bare
/// word that the tokenizer splits (a Japanese word into bigrams, `2+2`) is a phrase of its
/// parts. An unclosed quote runs to the end. Past [`MAX_PHRASES`] phrases the rest is left
/// out ([`too_long`] tells a caller to refuse it instead).
pub fn parse(text: &str) -> Query {
    let mut query = parse_all(text);
    let mut left = MAX_PHRASES;
    query.any_of.retain_mut(|all| {
        all.truncate(left);
        left -= all.len();
        !all.is_empty()
    });
    query
}

fn parse_all(text: &str) -> Query {
    let mut any_of = Vec::new();
    let mut current: Vec<Phrase> = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            break;
        }
        let (piece, quoted, after) = if let Some(inner) = rest.strip_prefix('"') {
            let end = inner.find('"').unwrap_or(inner.len());
            (&inner[..end], true, inner.get(end + 1..).unwrap_or(""))
        } else {
            let end = rest
                .find(|c: char| c.is_whitespace() || c == '"')
                .unwrap_or(rest.len());
            (&rest[..end], false, &rest[end..])
        };
        rest = after;
        if !quoted && piece == "OR" {
            if !current.is_empty() {
                any_of.push(std::mem::take(&mut current));
            }
            continue;
        }
        let tokens = tokenize(piece);
        if tokens.is_empty() {
            continue;
        }
        let lone = tokens.len() == 1 && tokens[0].cjk && tokens[0].raw.chars().count() == 1;
        let prefix = tokens.last().is_some_and(|last| is_prefix(piece, last));
        current.push(Phrase {
            norms: tokens.iter().map(|t| t.norm.to_string()).collect(),
            lone_cjk: lone.then(|| tokens[0].raw.to_string()),
            prefix,
        });
    }
    if !current.is_empty() {
        any_of.push(current);
    }
    Query { any_of }
}

/// How well `title` and `text` answer `query`: for each of the query's normal forms, its
/// occurrences (a title's counting three times; for a prefix, those of every word it starts),
/// damped by the text's length; a lone Japanese character counts where it is written. 0 when
/// nothing matches.
pub fn score(query: &Query, title: &str, text: &str) -> f32 {
    let counts = |s: &str| {
        let mut counts: HashMap<String, usize> = HashMap::new();
        for token in tokenize(s) {
            *counts.entry(token.norm.to_string()).or_default() += 1;
        }
        counts
    };
    let (in_title, in_text) = (counts(title), counts(text));
    let length: usize = in_text.values().sum();
    let mut total = 0.0;
    for phrase in query.any_of.iter().flatten() {
        if let Some(lone) = &phrase.lone_cjk {
            total += (title.matches(lone.as_str()).count() * 3
                + text.matches(lone.as_str()).count()) as f32;
            continue;
        }
        let last = phrase.norms.len().saturating_sub(1);
        for (i, norm) in phrase.norms.iter().enumerate() {
            let hits_in = |counts: &HashMap<String, usize>| -> usize {
                if phrase.prefix && i == last {
                    counts
                        .iter()
                        .filter(|(word, _)| word.starts_with(norm.as_str()))
                        .map(|(_, n)| n)
                        .sum()
                } else {
                    counts.get(norm).copied().unwrap_or(0)
                }
            };
            total += (hits_in(&in_title) * 3 + hits_in(&in_text)) as f32;
        }
    }
    total / (1.0 + (1.0 + length as f32 / 200.0).ln())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norms(query: &Query) -> Vec<Vec<Vec<&str>>> {
        query
            .any_of
            .iter()
            .map(|all| {
                all.iter()
                    .map(|p| p.norms.iter().map(String::as_str).collect())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn words_phrases_and_alternatives_are_read() {
        let q = parse("Курилы \"мирный договор\" OR 北方領土 Kuril");
        assert_eq!(
            norms(&q),
            [
                vec![vec!["курил"], vec!["мирн", "договор"]],
                vec![vec!["北方", "方領", "領土"], vec!["kuril"]],
            ]
        );
        assert!(parse("  \" , \" OR ").is_empty());
        assert_eq!(
            norms(&parse("\"unclosed phrase")),
            [vec![vec!["unclos", "phrase"]]]
        );
        assert_eq!(
            norms(&parse("or")),
            [vec![vec!["or"]]],
            "lower-case or is a word"
        );
        let lone = parse("島");
        assert_eq!(lone.any_of[0][0].lone_cjk.as_deref(), Some("島"));
    }

    #[test]
    fn a_starred_word_is_a_prefix_when_it_is_long_enough() {
        let q = parse("Курил* \"мирный догов*\" К* 北方*");
        let prefixes: Vec<bool> = q.any_of[0].iter().map(|p| p.prefix).collect();
        assert_eq!(prefixes, [true, true, false, false]);
        assert_eq!(q.any_of[0][0].norms, ["курил"]);
        let words = q.words();
        assert!(words.matches("курильск") && words.matches("договор"));
        assert_eq!(words.prefixes.len(), 2, "{words:?}");
        let whole = parse("Курил");
        assert!(!whole.any_of[0][0].prefix && !whole.words().matches("курильск"));
        let starred = score(&parse("Курил*"), "", "Курильские острова");
        assert!(starred > 0.0);
        assert_eq!(score(&parse("Курил"), "", "Курильские острова"), 0.0);
    }

    #[test]
    fn a_query_is_bounded() {
        let many = "の ".repeat(40);
        assert!(too_long(&many).unwrap().contains("32"));
        assert_eq!(parse(&many).any_of[0].len(), MAX_PHRASES);
        assert!(too_long(&"x".repeat(1001)).is_some());
        assert_eq!(too_long("Курилы OR \"мирный договор\""), None);
    }

    #[test]
    fn a_text_naming_the_words_more_and_in_its_title_scores_higher() {
        let q = parse("Kuril islands");
        let once = score(&q, "Talks", "The Kuril islands were discussed.");
        let title = score(&q, "Kuril islands", "The Kuril islands were discussed.");
        let none = score(&q, "Markets", "Stocks rose.");
        assert!(title > once && once > none, "{title} {once} {none}");
        assert_eq!(none, 0.0);
        assert!(score(&parse("島"), "", "択捉島と国後島") > 0.0);
    }
}

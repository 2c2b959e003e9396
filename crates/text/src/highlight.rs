//! Words of a text marked where they match a query's or the evidence's words, as the store's
//! search and the tagger match them (stems for English and Russian, bigrams for Japanese), and
//! the snippet around the first match: for the web pages and the command line.

use std::collections::HashSet;
use std::ops::Range;

/// Words to mark: normal forms matched whole, and prefixes (a word written with `*` after it,
/// as the taxonomy's `Курил*` and a search's `Курил*`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Words {
    /// Normal forms a token must equal.
    pub exact: HashSet<String>,
    /// Normal forms a token must start with.
    pub prefixes: Vec<String>,
}

impl Words {
    /// Whether there is nothing to mark.
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.prefixes.is_empty()
    }

    /// Whether a token of normal form `norm` is one of the words.
    pub fn matches(&self, norm: &str) -> bool {
        self.exact.contains(norm) || self.prefixes.iter().any(|p| norm.starts_with(p.as_str()))
    }
}

/// The words of `terms` (stop words left out), a word followed by `*` taken as a prefix.
pub fn words_of<'a>(terms: impl IntoIterator<Item = &'a str>) -> Words {
    let mut words = Words::default();
    for term in terms {
        for token in crate::tokenize(term) {
            if crate::is_stopword(&token.norm) {
                continue;
            }
            if crate::query::is_prefix(term, &token) {
                words.prefixes.push(token.norm.to_string());
            } else {
                words.exact.insert(token.norm.to_string());
            }
        }
    }
    words
}

/// The byte ranges of `text` whose words are in `words`, in order, overlapping ranges (the
/// bigrams of a Japanese word) and ranges separated only by spaces merged.
fn marked_ranges(text: &str, words: &Words) -> Vec<Range<usize>> {
    let mut ranges: Vec<Range<usize>> = Vec::new();
    if words.is_empty() {
        return ranges;
    }
    for token in crate::tokenize(text) {
        if !words.matches(&token.norm) {
            continue;
        }
        let range = crate::byte_range(text, &token);
        match ranges.last_mut() {
            Some(last)
                if range.start <= last.end
                    || text[last.end..range.start].chars().all(|c| c == ' ') =>
            {
                last.end = last.end.max(range.end);
            }
            _ => ranges.push(range),
        }
    }
    ranges
}

/// `text` cut into pieces, each with whether it is marked.
pub fn marked<'a>(text: &'a str, words: &Words) -> Vec<(bool, &'a str)> {
    let mut pieces = Vec::new();
    let mut at = 0;
    for range in marked_ranges(text, words) {
        if range.start > at {
            pieces.push((false, &text[at..range.start]));
        }
        pieces.push((true, &text[range.clone()]));
        at = range.end;
    }
    if at < text.len() {
        pieces.push((false, &text[at..]));
    }
    pieces
}

/// Characters of context kept before the first match, and in all.
const BEFORE: usize = 80;
const SNIPPET: usize = 280;

/// About [`SNIPPET`] characters of `text` around its first marked word (its start when none
/// is), with `…` where it was cut.
pub fn snippet(text: &str, words: &Words) -> String {
    let first = marked_ranges(text, words).first().map_or(0, |r| r.start);
    let start = text[..first]
        .char_indices()
        .rev()
        .nth(BEFORE)
        .map_or(0, |(i, _)| i);
    let end = text[start..]
        .char_indices()
        .nth(SNIPPET)
        .map_or(text.len(), |(i, _)| start + i);
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    out.push_str(text[start..end].trim());
    if end < text.len() {
        out.push('…');
    }
    out.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marks(text: &str, terms: &[&str]) -> Vec<String> {
        marked(text, &words_of(terms.iter().copied()))
            .into_iter()
            .filter(|(hit, _)| *hit)
            .map(|(_, s)| s.to_string())
            .collect()
    }

    #[test]
    fn words_are_marked_by_their_stems_and_japanese_by_bigrams() {
        assert_eq!(
            marks(
                "Лавров обсудил Курильские острова.",
                &["курильских островах"]
            ),
            ["Курильские острова"]
        );
        assert_eq!(
            marks("The islands and the Island.", &["island"]),
            ["islands", "Island"]
        );
        assert_eq!(
            marks("外相は北方領土問題について", &["北方領土"]),
            ["北方領土"]
        );
        assert_eq!(marks("Nothing here.", &["Kuril"]), Vec::<String>::new());
        assert_eq!(
            marks("The talks", &["the"]),
            Vec::<String>::new(),
            "stop words"
        );
    }

    #[test]
    fn pieces_make_the_text_again() {
        let text = "Россия и Япония: переговоры о Курилах.";
        let pieces = marked(text, &words_of(["курилы", "япония"]));
        assert_eq!(pieces.iter().map(|(_, s)| *s).collect::<String>(), text);
    }

    #[test]
    fn a_snippet_is_cut_around_the_first_match() {
        let text = format!(
            "{} Kuril Islands {}",
            "word ".repeat(100),
            "tail ".repeat(100)
        );
        let s = snippet(&text, &words_of(["kuril"]));
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert!(s.contains("Kuril Islands"));
        assert!(s.chars().count() <= SNIPPET + 2);
        assert_eq!(snippet("Short text.", &words_of(["x"])), "Short text.");
    }
}

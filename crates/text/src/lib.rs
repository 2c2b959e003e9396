//! Tokens for matching, similarity and search, in any of the three languages: one
//! tokenizer shared by the tagger and the store's search (and the web server's highlighting),
//! so that what the tagger matches and what a search finds are the same words.
//!
//! Words in Latin script are lower-cased and stemmed with the English Snowball stemmer
//! ([`latin`]), words in Cyrillic with the Russian one ([`cyrillic`]); runs of Japanese or
//! Chinese characters become overlapping character bigrams ([`cjk`]; a lone character stays a
//! unigram). The script of each word decides, so mixed-language text needs no language label.
//! It is not a language detector, a sentence splitter or a morphological analyser.

mod cjk;
mod cyrillic;
pub mod highlight;
mod latin;
pub mod query;
mod stopwords;

use std::rc::Rc;

pub use cjk::is_cjk;
pub use stopwords::is_stopword;

/// The revision of the normal forms [`tokenize`] gives: a store whose search index was built
/// by another rebuilds it when opened. Change it with any change to what a word's normal
/// form is.
pub const REVISION: &str = "2026-12-07.1";

/// One token of a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token<'a> {
    /// The normalized form: a stem for words, a bigram for CJK. Shared: every occurrence of
    /// a word on a thread points at one string.
    pub norm: Rc<str>,
    /// The word as written (for case-sensitive acronym matching and prefixes).
    pub raw: &'a str,
    /// Whether the token comes from a CJK run.
    pub cjk: bool,
}

/// Distinct words whose normal forms are remembered per thread, at most (then the memory
/// starts afresh).
const NORM_CACHE_WORDS: usize = 100_000;

thread_local! {
    /// Word as written → normal form (stem or bigram): news text repeats its words, and a
    /// lookup is several times cheaper than the Snowball algorithm and shares one string.
    static NORMS: std::cell::RefCell<rustc_hash::FxHashMap<Box<str>, Rc<str>>> =
        std::cell::RefCell::new(rustc_hash::FxHashMap::default());
}

/// The normal form of `word`, computed by `make` the first time it is seen on this thread.
pub(crate) fn normal_form(word: &str, make: impl FnOnce(&str) -> String) -> Rc<str> {
    NORMS.with_borrow_mut(|cache| {
        if let Some(norm) = cache.get(word) {
            return norm.clone();
        }
        let norm: Rc<str> = make(word).into();
        if cache.len() >= NORM_CACHE_WORDS {
            cache.clear();
        }
        cache.insert(word.into(), norm.clone());
        norm
    })
}

fn snowball(word: &str) -> String {
    let lowered;
    let lower = if word
        .chars()
        .any(|c| c.is_uppercase() || c == 'ё' || c == '’')
    {
        lowered = word.to_lowercase().replace('ё', "е").replace('’', "'");
        lowered.as_str()
    } else {
        word
    };
    if cyrillic::is_cyrillic(lower) {
        cyrillic::stem(word, lower)
    } else {
        latin::stem(lower)
    }
}

/// Splits `text` into tokens, in order.
pub fn tokenize(text: &str) -> Vec<Token<'_>> {
    let mut tokens = Vec::new();
    // Byte ranges of the word and the CJK run being read.
    let mut word: Option<(usize, usize)> = None;
    let mut run: Option<usize> = None;
    for (i, c) in text.char_indices() {
        if is_cjk(c) {
            flush_word(text, word.take(), &mut tokens);
            run.get_or_insert(i);
        } else if c.is_alphanumeric() {
            cjk::flush_cjk(text, run.take(), i, &mut tokens);
            let end = i + c.len_utf8();
            word = Some(word.map_or((i, end), |(start, _)| (start, end)));
        } else if matches!(c, '\'' | '’') && word.is_some() {
            // Possessives and elisions stay in the word for the stemmer (Lavrov's → lavrov);
            // a trailing apostrophe is left out, as the word ends at its last letter.
        } else {
            flush_word(text, word.take(), &mut tokens);
            cjk::flush_cjk(text, run.take(), i, &mut tokens);
        }
    }
    flush_word(text, word.take(), &mut tokens);
    cjk::flush_cjk(text, run.take(), text.len(), &mut tokens);
    tokens
}

fn flush_word<'a>(text: &'a str, word: Option<(usize, usize)>, tokens: &mut Vec<Token<'a>>) {
    if let Some((start, end)) = word {
        let raw = &text[start..end];
        tokens.push(Token {
            norm: normal_form(raw, snowball),
            raw,
            cjk: false,
        });
    }
}

/// Where `token` lies in `text`, the text it was read from, as a byte range.
///
/// # Panics
/// When `token` was not read from `text`.
pub fn byte_range(text: &str, token: &Token<'_>) -> std::ops::Range<usize> {
    let start = (token.raw.as_ptr() as usize)
        .checked_sub(text.as_ptr() as usize)
        .filter(|s| s + token.raw.len() <= text.len())
        .expect("the token was read from this text");
    start..start + token.raw.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norms(text: &str) -> Vec<String> {
        tokenize(text)
            .into_iter()
            .map(|t| t.norm.to_string())
            .collect()
    }

    #[test]
    fn table() {
        let cases: &[(&str, &[&str])] = &[
            ("Kuril Islands", &["kuril", "island"]),
            ("Курильских островов", &["курильск", "остров"]),
            ("北方領土", &["北方", "方領", "領土"]),
            ("Lavrov's talks 2+2", &["lavrov", "talk", "2", "2"]),
            ("露", &["露"]),
            ("Россия и Япония", &["росс", "и", "япон"]),
            ("Lavrov’s ", &["lavrov"]),
            ("rock' 北", &["rock", "北"]),
            ("ёлка", &["елк"]),
            ("Южных Курил", &["южн", "курил"]),
        ];
        for (input, expected) in cases {
            assert_eq!(norms(input), *expected, "{input}");
        }
    }

    #[test]
    fn tokens_know_where_they_lie() {
        let text = "Лавров, 北方領土 and talks";
        let spans: Vec<&str> = tokenize(text)
            .iter()
            .map(|t| &text[byte_range(text, t)])
            .collect();
        assert_eq!(spans, ["Лавров", "北方", "方領", "領土", "and", "talks"]);
    }

    #[test]
    fn raw_keeps_case() {
        assert_eq!(tokenize("ПРО")[0].raw, "ПРО");
    }
}

//! Tokens for matching and similarity, in any of the three languages.
//!
//! Words in Latin script are lower-cased and stemmed with the English Snowball stemmer, words
//! in Cyrillic with the Russian one; runs of Japanese or Chinese characters become
//! overlapping character bigrams (a lone character stays a unigram). The script of each word
//! decides, so mixed-language text needs no language label.

use rust_stemmers::{Algorithm, Stemmer};
use std::rc::Rc;
use std::sync::LazyLock;

static ENGLISH: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::create(Algorithm::English));
static RUSSIAN: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::create(Algorithm::Russian));

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

/// Whether `c` is a Japanese kana or a CJK ideograph.
pub fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{30ff}'   // hiragana, katakana
        | '\u{3400}'..='\u{4dbf}' // CJK extension A
        | '\u{4e00}'..='\u{9fff}' // CJK unified ideographs
        | '\u{f900}'..='\u{faff}' // compatibility ideographs
        | '\u{ff66}'..='\u{ff9f}' // half-width katakana
        | '々')
}

fn is_cyrillic(word: &str) -> bool {
    word.chars().any(|c| matches!(c, '\u{0400}'..='\u{04ff}'))
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
fn normal_form(word: &str, make: impl FnOnce(&str) -> String) -> Rc<str> {
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
    if is_cyrillic(lower) {
        RUSSIAN.stem(lower).into_owned()
    } else {
        ENGLISH.stem(lower).into_owned()
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
            flush_cjk(text, run.take(), i, &mut tokens);
            let end = i + c.len_utf8();
            word = Some(word.map_or((i, end), |(start, _)| (start, end)));
        } else if matches!(c, '\'' | '’') && word.is_some() {
            // Possessives and elisions stay in the word for the stemmer (Lavrov's → lavrov);
            // a trailing apostrophe is left out, as the word ends at its last letter.
        } else {
            flush_word(text, word.take(), &mut tokens);
            flush_cjk(text, run.take(), i, &mut tokens);
        }
    }
    flush_word(text, word.take(), &mut tokens);
    flush_cjk(text, run.take(), text.len(), &mut tokens);
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

fn flush_cjk<'a>(text: &'a str, start: Option<usize>, end: usize, tokens: &mut Vec<Token<'a>>) {
    let Some(start) = start else {
        return;
    };
    let run = &text[start..end];
    let bounds: Vec<usize> = run
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(run.len()))
        .collect();
    let pieces: Vec<&str> = if bounds.len() == 2 {
        vec![run]
    } else {
        bounds.windows(3).map(|w| &run[w[0]..w[2]]).collect()
    };
    for raw in pieces {
        tokens.push(Token {
            norm: normal_form(raw, str::to_string),
            raw,
            cjk: true,
        });
    }
}

/// Words too common to say anything about a text's subject.
pub fn is_stopword(norm: &str) -> bool {
    const STOP: &[&str] = &[
        "the",
        "a",
        "an",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "with",
        "by",
        "from",
        "is",
        "was",
        "were",
        "be",
        "been",
        "are",
        "it",
        "it'",
        "that",
        "this",
        "as",
        "he",
        "she",
        "they",
        "we",
        "his",
        "her",
        "their",
        "its",
        "not",
        "but",
        "have",
        "has",
        "had",
        "will",
        "would",
        "said",
        "say",
        "also",
        "which",
        "who",
        "after",
        "over",
        "than",
        "about",
        "into",
        "more",
        "there",
        "s",
        "t",
        "и",
        "в",
        "во",
        "не",
        "что",
        "на",
        "с",
        "со",
        "как",
        "а",
        "то",
        "по",
        "к",
        "у",
        "из",
        "за",
        "от",
        "о",
        "об",
        "же",
        "для",
        "это",
        "был",
        "бы",
        "он",
        "она",
        "они",
        "его",
        "ее",
        "их",
        "но",
        "так",
        "при",
        "также",
        "или",
        "。",
        "、",
        "して",
        "した",
        "ある",
        "いる",
        "する",
        "れた",
        "され",
        "った",
        "こと",
    ];
    static SET: LazyLock<rustc_hash::FxHashSet<&'static str>> =
        LazyLock::new(|| STOP.iter().copied().collect());
    SET.contains(norm)
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
        ];
        for (input, expected) in cases {
            assert_eq!(norms(input), *expected, "{input}");
        }
    }

    #[test]
    fn raw_keeps_case() {
        assert_eq!(tokenize("ПРО")[0].raw, "ПРО");
    }
}

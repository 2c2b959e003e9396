//! Tokens for matching and similarity, in any of the three languages.
//!
//! Words in Latin script are lower-cased and stemmed with the English Snowball stemmer, words
//! in Cyrillic with the Russian one; runs of Japanese or Chinese characters become
//! overlapping character bigrams (a lone character stays a unigram). The script of each word
//! decides, so mixed-language text needs no language label.

use rust_stemmers::{Algorithm, Stemmer};
use std::sync::LazyLock;

static ENGLISH: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::create(Algorithm::English));
static RUSSIAN: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::create(Algorithm::Russian));

/// One token of a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The normalized form: a stem for words, a bigram for CJK.
    pub norm: String,
    /// The word as written (for case-sensitive acronym matching).
    pub raw: String,
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

/// Stems one lower-cased word by its script.
pub fn stem(word: &str) -> String {
    let lower = word.to_lowercase().replace('ё', "е");
    if is_cyrillic(&lower) {
        RUSSIAN.stem(&lower).into_owned()
    } else {
        ENGLISH.stem(&lower).into_owned()
    }
}

/// Splits `text` into tokens, in order.
pub fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    let mut cjk_run: Vec<char> = Vec::new();
    for c in text.chars() {
        if is_cjk(c) {
            flush_word(&mut word, &mut tokens);
            cjk_run.push(c);
        } else if c.is_alphanumeric() {
            flush_cjk(&mut cjk_run, &mut tokens);
            word.push(c);
        } else if matches!(c, '\'' | '’') && !word.is_empty() {
            // Possessives and elisions stay in the word for the stemmer (Lavrov's → lavrov).
            word.push('\'');
        } else {
            flush_word(&mut word, &mut tokens);
            flush_cjk(&mut cjk_run, &mut tokens);
        }
    }
    flush_word(&mut word, &mut tokens);
    flush_cjk(&mut cjk_run, &mut tokens);
    tokens
}

fn flush_word(word: &mut String, tokens: &mut Vec<Token>) {
    while word.ends_with('\'') {
        word.pop();
    }
    if !word.is_empty() {
        tokens.push(Token {
            norm: stem(word),
            raw: std::mem::take(word),
            cjk: false,
        });
    }
}

fn flush_cjk(run: &mut Vec<char>, tokens: &mut Vec<Token>) {
    match run.len() {
        0 => {}
        1 => tokens.push(Token {
            norm: run[0].to_string(),
            raw: run[0].to_string(),
            cjk: true,
        }),
        _ => {
            for pair in run.windows(2) {
                let bigram: String = pair.iter().collect();
                tokens.push(Token {
                    norm: bigram.clone(),
                    raw: bigram,
                    cjk: true,
                });
            }
        }
    }
    run.clear();
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
    STOP.contains(&norm)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norms(text: &str) -> Vec<String> {
        tokenize(text).into_iter().map(|t| t.norm).collect()
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

//! Words in Cyrillic: stemmed with the Russian Snowball stemmer.

use std::sync::LazyLock;

use rust_stemmers::{Algorithm, Stemmer};

static RUSSIAN: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::create(Algorithm::Russian));

/// Whether `word` holds a Cyrillic letter.
pub(crate) fn is_cyrillic(word: &str) -> bool {
    word.chars().any(|c| matches!(c, '\u{0400}'..='\u{04ff}'))
}

/// The stem of a Russian word already lower-cased (ё written е).
pub(crate) fn stem(lower: &str) -> String {
    RUSSIAN.stem(lower).into_owned()
}

//! Words in Latin script (and digits): lower-cased and stemmed with the English Snowball
//! stemmer.

use std::sync::LazyLock;

use rust_stemmers::{Algorithm, Stemmer};

static ENGLISH: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::create(Algorithm::English));

/// The stem of an English (or any Latin-script) word already lower-cased.
pub(crate) fn stem(lower: &str) -> String {
    ENGLISH.stem(lower).into_owned()
}

//! Words in Cyrillic: stemmed with the Russian Snowball stemmer, corrected for the names of
//! the domain that it cuts differently by case.
//!
//! Snowball reads a surname's nominative `-ов`/`-ев` as a genitive plural ending (`Лавров` →
//! `лавр`, but `Лаврова` → `лавров`), and two place names as verb or participle forms (`Курил`,
//! genitive of Курилы, → `кур`, as for курил "smoked"; `Шикотан` → `шикота`). A search for
//! `Лавров` or `Курилы` would then miss half the forms of the name.

use std::sync::LazyLock;

use rust_stemmers::{Algorithm, Stemmer};

static RUSSIAN: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::create(Algorithm::Russian));

/// Whether `word` holds a Cyrillic letter.
pub(crate) fn is_cyrillic(word: &str) -> bool {
    word.chars().any(|c| matches!(c, '\u{0400}'..='\u{04ff}'))
}

/// Forms of names that Snowball cuts short, and the stem their other forms have.
const NAMES: &[(&str, &str)] = &[
    ("курил", "курил"),
    ("шикотан", "шикотан"),
    ("шикотана", "шикотан"),
    ("шикотану", "шикотан"),
    ("шикотаном", "шикотан"),
];

/// The stem of a Russian word, `lower` being `word` lower-cased (ё written е).
///
/// A capitalised word ending in `-ов`/`-ев` (a surname, mostly: Лавров, Песков, Медведев)
/// keeps that ending, as its other cases do; a genitive plural at the start of a sentence
/// (`Договоров`) is cut apart from its lower-case form, the price of the surnames.
pub(crate) fn stem(word: &str, lower: &str) -> String {
    if let Some((_, stem)) = NAMES.iter().find(|(name, _)| *name == lower) {
        return (*stem).to_string();
    }
    let stem = RUSSIAN.stem(lower);
    let mut chars = word.chars();
    let capitalised = chars.next().is_some_and(char::is_uppercase) && chars.any(char::is_lowercase);
    if capitalised
        && (lower.ends_with("ов") || lower.ends_with("ев"))
        && stem.len() + "ов".len() == lower.len()
    {
        return lower.to_string();
    }
    stem.into_owned()
}

#[cfg(test)]
mod tests {
    use super::stem;

    #[test]
    fn the_forms_of_a_name_share_one_stem() {
        let stems = |words: &[&str]| -> Vec<String> {
            words.iter().map(|w| stem(w, &w.to_lowercase())).collect()
        };
        for forms in [
            &["Лавров", "Лаврова", "Лавровым", "Лаврове"][..],
            &["Медведев", "Медведева", "Медведевым"],
            &["Курил", "Курилы", "Курилам", "Курилах"],
            &["Шикотан", "Шикотана", "Шикотану", "Шикотаном", "Шикотане"],
        ] {
            let got = stems(forms);
            assert!(got.iter().all(|s| *s == got[0]), "{forms:?} -> {got:?}");
        }
        assert_eq!(stems(&["договоров", "островов"]), ["договор", "остров"]);
        assert_eq!(
            stems(&["ЛАВРОВ"]),
            ["лавр"],
            "all capitals are not read as a name"
        );
    }
}

//! The prefilter: a cheap test on a page's raw bytes, before it is parsed, cleaned or tagged,
//! of whether it could be about the relation at all. It looks, with one Aho–Corasick
//! automaton, for the keys of every term that is evidence for relevance (a side, the relation
//! itself, an entity of the gazetteer; see [`crate::taxonomy::Matches::has_evidence`]), in
//! all three scripts. The model calls a text without such evidence irrelevant, so a page the
//! prefilter skips is one the whole pipeline would not have called relevant: the filter
//! loses nothing, it only saves the work.
//!
//! It errs one way only: a page it cannot read cheaply (a legacy encoding is decoded first;
//! Cyrillic or Japanese written as numeric character references is passed as it is) is a
//! candidate. Keys found in markup (a navigation menu's "Russia") make a candidate too.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use encoding_rs::UTF_8;

use crate::taxonomy::{EvidenceKey, KeySeat, Matcher};
use crate::tokenize::is_cjk;

/// The prefilter of one taxonomy and gazetteer.
#[derive(Debug, Clone)]
pub struct Prefilter {
    automaton: AhoCorasick,
    /// How pattern i must sit in the text.
    seats: Vec<KeySeat>,
}

impl Prefilter {
    /// Compiles the keys of `matcher`'s evidence terms.
    pub fn new(matcher: &Matcher) -> Prefilter {
        let mut patterns = Vec::new();
        let mut seats = Vec::new();
        for EvidenceKey { text, seat } in matcher.evidence_keys() {
            for variant in case_variants(&text) {
                patterns.push(variant);
                seats.push(seat);
            }
        }
        let automaton = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&patterns)
            .expect("prefilter keys compile");
        Prefilter { automaton, seats }
    }

    /// How many strings the automaton looks for.
    pub fn len(&self) -> usize {
        self.seats.len()
    }

    /// Whether there is no key at all (then nothing passes).
    pub fn is_empty(&self) -> bool {
        self.seats.is_empty()
    }

    /// Whether a page (its bytes and Content-Type) could be relevant: UTF-8 (and ASCII) is
    /// searched as it is; a page with a byte-order mark, an escape (ISO-2022-JP), bytes that
    /// are not UTF-8, or a declared encoding that is not ASCII-compatible is decoded first.
    pub fn passes_page(&self, body: &[u8], content_type: Option<&str>) -> bool {
        if has_script_references(body) {
            return true;
        }
        let declared_wide = content_type
            .and_then(nichiro_clean::charset::charset_from_content_type)
            .is_some_and(|e| !e.is_ascii_compatible());
        let plain = !declared_wide
            && encoding_rs::Encoding::for_bom(body).is_none()
            && !body.contains(&0x1b)
            && std::str::from_utf8(body).is_ok();
        if plain {
            return self.passes_utf8(body);
        }
        let decoded = nichiro_clean::charset::decode(body, content_type);
        if decoded.encoding == UTF_8 {
            // Stray bytes in UTF-8 do not hide any key.
            return self.passes_utf8(body);
        }
        self.passes_utf8(decoded.text.as_bytes())
    }

    /// Whether a text (a title and body, a cleaned article) could be relevant.
    pub fn passes_text(&self, text: &str) -> bool {
        self.passes_utf8(text.as_bytes())
    }

    fn passes_utf8(&self, bytes: &[u8]) -> bool {
        self.automaton.find_overlapping_iter(bytes).any(|found| {
            let seat = self.seats[found.pattern().as_usize()];
            match seat {
                KeySeat::Anywhere => true,
                KeySeat::WordStart => !in_word(char_before(bytes, found.start())),
                KeySeat::WholeWord => {
                    !in_word(char_before(bytes, found.start()))
                        && !in_word(char_after(bytes, found.end()))
                }
            }
        })
    }
}

/// The forms a key is looked for in: ASCII case is ignored by the automaton; a key with other
/// letters is also looked for capitalised and in capitals (`росси`, `Росси`, `РОССИ`), and
/// with `ё` where it has `е` (the tagger reads `ё` as `е`; keys are written with `е`).
fn case_variants(key: &str) -> Vec<String> {
    let mut forms = vec![key.to_string()];
    if key.chars().any(|c| !c.is_ascii() && c.is_lowercase()) {
        let mut chars = key.chars();
        if let Some(first) = chars.next() {
            forms.push(first.to_uppercase().chain(chars).collect());
        }
        forms.push(key.to_uppercase());
    }
    let yo_positions: Vec<usize> = key.match_indices('е').map(|(i, _)| i).collect();
    if !yo_positions.is_empty() && yo_positions.len() <= 3 {
        let lowered: Vec<String> = forms.clone();
        for form in lowered {
            for (i, c) in form.char_indices() {
                if c == 'е' || c == 'Е' {
                    let yo = if c == 'е' { "ё" } else { "Ё" };
                    forms.push(format!("{}{yo}{}", &form[..i], &form[i + c.len_utf8()..]));
                }
            }
        }
    }
    forms.sort();
    forms.dedup();
    forms
}

/// Whether `c` continues a word the way the tokenizer reads one (a letter or digit that is
/// not CJK: a CJK character ends a Latin or Cyrillic word).
fn in_word(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric() && !is_cjk(c))
}

/// The character that ends just before byte `at`, if the bytes there are UTF-8.
fn char_before(bytes: &[u8], at: usize) -> Option<char> {
    (1..=4.min(at)).find_map(|len| {
        std::str::from_utf8(&bytes[at - len..at])
            .ok()
            .and_then(|s| s.chars().next())
    })
}

/// The character that starts at byte `at`, if the bytes there are UTF-8.
fn char_after(bytes: &[u8], at: usize) -> Option<char> {
    let end = (at + 4).min(bytes.len());
    bytes[at..end]
        .utf8_chunks()
        .next()
        .and_then(|chunk| chunk.valid().chars().next())
}

/// Whether the page writes Cyrillic or Japanese as numeric character references (`&#1056;`,
/// `&#x30ed;`), which the raw bytes do not show: such a page is a candidate.
fn has_script_references(body: &[u8]) -> bool {
    memchr::memmem::find_iter(body, b"&#").any(|at| {
        let rest = &body[at + 2..body.len().min(at + 10)];
        let (digits, radix) = match rest.first() {
            Some(b'x' | b'X') => (&rest[1..], 16),
            _ => (rest, 10),
        };
        let end = digits
            .iter()
            .position(|b| !b.is_ascii_hexdigit() || (radix == 10 && !b.is_ascii_digit()))
            .unwrap_or(digits.len());
        std::str::from_utf8(&digits[..end])
            .ok()
            .and_then(|d| u32::from_str_radix(d, radix).ok())
            .and_then(char::from_u32)
            .is_some_and(|c| matches!(c, '\u{400}'..='\u{52f}') || is_cjk(c))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gazetteer::Gazetteer;
    use crate::taxonomy::Taxonomy;

    fn prefilter() -> Prefilter {
        let taxonomy = Taxonomy::parse(
            r#"
            [sides.russia]
            en = ["Russia", "Kremlin"]
            ru = ["Россия", "Кремль"]
            ja = ["ロシア"]
            [sides.japan]
            en = ["Japan", "SDF"]
            ru = ["Япония"]
            ja = ["日本"]
            [bilateral]
            en = ["peace treaty"]
            [topics.energy]
            label = "Energy"
            en = ["liquefied natural gas"]
            "#,
        )
        .unwrap();
        let gazetteer = Gazetteer::parse(
            r#"
            [[entity]]
            id = "lavrov"
            name = "Sergei Lavrov"
            kind = "person"
            side = "russia"
            en = ["Lavrov"]
            ru = ["Лавров*"]
            "#,
        )
        .unwrap();
        Prefilter::new(&Matcher::with_gazetteer(&taxonomy, &gazetteer))
    }

    #[test]
    fn finds_every_form_the_tagger_reads_as_evidence() {
        let p = prefilter();
        for text in [
            "<p>RUSSIA said</p>",
            "the Russian side",
            "talks on a peace&nbsp;treaty",
            "peace treaties",
            "Встреча в России",
            "ЯПОНИЯ",
            "Лавровым было сказано",
            "Кремлём",
            "ロシア外務省",
            "the SDF said",
            "&#1056;&#1086;&#1089;&#1089;&#1080;&#1103;",
        ] {
            assert!(p.passes_page(text.as_bytes(), None), "{text}");
        }
        // Windows-1251 and Shift_JIS are decoded before the search.
        let (cp1251, _, _) = encoding_rs::WINDOWS_1251.encode("Новости Японии");
        assert!(p.passes_page(&cp1251, Some("text/html; charset=windows-1251")));
        let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode("<meta charset=shift_jis>日本の");
        assert!(p.passes_page(&sjis, None));
    }

    #[test]
    fn skips_pages_without_evidence() {
        let p = prefilter();
        for text in [
            "<p>Markets rose in Seoul on liquefied natural gas prices.</p>",
            // Keys inside other words are no mention: a word must start with a stem.
            "Prussian history, a retreat",
            "NASDFA", // an acronym is a whole word
            "Экономика Германии",
            "中国の経済",
            "&#8217;quoted&#8217;",
        ] {
            assert!(!p.passes_page(text.as_bytes(), None), "{text}");
        }
        let (cp1251, _, _) = encoding_rs::WINDOWS_1251.encode("Новости Германии");
        assert!(!p.passes_page(&cp1251, Some("text/html; charset=windows-1251")));
    }
}

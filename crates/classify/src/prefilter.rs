//! The prefilter: a cheap test on a page's raw bytes, before it is parsed, cleaned or tagged,
//! of whether it could be about the relation at all. It looks, with one Aho–Corasick
//! automaton, for the keys of every term that is evidence for relevance (a side, the relation
//! itself, an entity of the gazetteer; see [`crate::taxonomy::Matcher::is_evidence`]), in
//! all three scripts, and checks each key it finds by reading the words around it as the
//! tagger reads a text (a key is a word's start: `state` may be the start of `State Duma` or
//! of `statement`). The model calls a text without such evidence irrelevant, so a page the
//! prefilter skips is one the whole pipeline would not have called relevant: the filter
//! loses nothing, it only saves the work.
//!
//! It errs one way only: a page it cannot read cheaply (a legacy encoding is decoded first;
//! Cyrillic or Japanese written as numeric character references is passed as it is) is a
//! candidate. Keys found in markup (a navigation menu's "Russia") make a candidate too.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use encoding_rs::UTF_8;

use crate::gazetteer::Gazetteer;
use crate::taxonomy::{EvidenceKey, KeySeat, Matcher, Taxonomy};
use crate::tokenize::is_cjk;

/// Bytes read on each side of a key found, to check it as the tagger would: more than the
/// longest term with the markup that may sit between its words.
const WINDOW: usize = 160;

/// The prefilter of one taxonomy and gazetteer.
#[derive(Debug)]
pub struct Prefilter {
    automaton: AhoCorasick,
    /// How pattern i must sit in the text.
    seats: Vec<KeySeat>,
    /// The tagger's matcher, to check a key where it is found.
    matcher: Matcher,
}

impl Prefilter {
    /// Compiles the keys of the evidence terms of `taxonomy` and `gazetteer`.
    pub fn new(taxonomy: &Taxonomy, gazetteer: &Gazetteer) -> Prefilter {
        let matcher = Matcher::with_gazetteer(taxonomy, gazetteer);
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
        Prefilter {
            automaton,
            seats,
            matcher,
        }
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
            return self.passes_markup(body);
        }
        let decoded = nichiro_clean::charset::decode(body, content_type);
        if decoded.encoding == UTF_8 {
            // Stray bytes in UTF-8 do not hide any key.
            return self.passes_markup(body);
        }
        self.passes_markup(decoded.text.as_bytes())
    }

    /// Searches the parts of a page the cleaner may take text from: everything but comments
    /// and the contents of `<script>` (save JSON-LD, whose headline may become the title) and
    /// `<style>` elements, which on a news page are most of its bytes.
    fn passes_markup(&self, bytes: &[u8]) -> bool {
        let mut start = 0;
        for (from, to) in hidden_spans(bytes) {
            if self.passes_span(bytes, start, from) {
                return true;
            }
            start = to;
        }
        self.passes_span(bytes, start, bytes.len())
    }

    /// Whether a text (a title and body, a cleaned article) could be relevant.
    pub fn passes_text(&self, text: &str) -> bool {
        self.passes_utf8(text.as_bytes())
    }

    fn passes_utf8(&self, bytes: &[u8]) -> bool {
        self.passes_span(bytes, 0, bytes.len())
    }

    /// Whether a key sits as it must in `bytes[from..to]` (the bytes around the span count
    /// for the word boundaries).
    fn passes_span(&self, bytes: &[u8], from: usize, to: usize) -> bool {
        if from >= to {
            return false;
        }
        let input = aho_corasick::Input::new(bytes).span(from..to);
        // The last window read: a key found inside it was checked with it.
        let mut checked = 0..0;
        self.automaton.find_overlapping_iter(input).any(|found| {
            let seat = self.seats[found.pattern().as_usize()];
            let seated = match seat {
                KeySeat::Anywhere => true,
                KeySeat::WordStart => !in_word(char_before(bytes, found.start())),
                KeySeat::WholeWord => {
                    !in_word(char_before(bytes, found.start()))
                        && !in_word(char_after(bytes, found.end()))
                }
            };
            // A key whose term would lie in the window last read (with room on each side) was
            // read there already.
            let margin = WINDOW / 2;
            let read_already =
                checked.start + margin <= found.start() && found.end() + margin <= checked.end;
            if !seated || read_already {
                return false;
            }
            checked = found.start().saturating_sub(WINDOW)..(found.end() + WINDOW).min(bytes.len());
            self.evidence_in(&bytes[checked.clone()])
        })
    }

    /// Whether the tagger finds evidence in `window` of a page, read as the cleaner gives text:
    /// tags and no-break spaces as spaces.
    fn evidence_in(&self, window: &[u8]) -> bool {
        let text = visible_text(&String::from_utf8_lossy(window));
        let tokens = crate::tokenize::tokenize(&text);
        self.matcher.is_evidence(&self.matcher.find(&text, &tokens))
    }
}

/// A piece of a page as text: each tag a space, and the no-break space written as a
/// character reference a space too (a term's words are often joined by one).
fn visible_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(i) = rest.find(['<', '&']) {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        if rest.starts_with('<') {
            match rest.find('>') {
                Some(end) => rest = &rest[end + 1..],
                None => rest = "",
            }
            out.push(' ');
        } else {
            let entity = ["&nbsp;", "&#160;", "&#xa0;", "&#xA0;"]
                .into_iter()
                .find(|e| rest.starts_with(e));
            match entity {
                Some(e) => {
                    out.push(' ');
                    rest = &rest[e.len()..];
                }
                None => {
                    out.push('&');
                    rest = &rest[1..];
                }
            }
        }
    }
    out.push_str(rest);
    out
}

/// The spans of `html` whose bytes are never article text, in order: comments, and the
/// contents of `<script>` elements (but for JSON-LD) and `<style>` elements, each up to its
/// closing tag (or the end, as an HTML parser reads an unclosed one). Tags are read with their
/// quoted attribute values, so a `<` inside a value starts nothing.
fn hidden_spans(html: &[u8]) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut at = 0;
    std::iter::from_fn(move || {
        while let Some(found) = memchr::memchr(b'<', &html[at..]) {
            let open = at + found;
            let rest = &html[open + 1..];
            if rest.starts_with(b"!--") {
                let end = memchr::memmem::find(&rest[3..], b"-->")
                    .map_or(html.len(), |e| open + 4 + e + 3);
                at = end;
                return Some((open, end));
            }
            let name_len = rest
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric())
                .count();
            let name = &rest[..name_len];
            let Some(tag_end) = tag_end(html, open + 1 + name_len) else {
                at = html.len();
                return None;
            };
            at = tag_end + 1;
            // A title's or a text area's content is text, however it looks: what looks like a
            // tag inside opens nothing.
            if name.eq_ignore_ascii_case(b"title") || name.eq_ignore_ascii_case(b"textarea") {
                at = closing_tag(html, at, name).unwrap_or(html.len());
                continue;
            }
            let raw_text = if name.eq_ignore_ascii_case(b"script") {
                let tag = html[open..tag_end].to_ascii_lowercase();
                memchr::memmem::find(&tag, b"ld+json").is_none()
            } else {
                name.eq_ignore_ascii_case(b"style")
            };
            if raw_text {
                let close = closing_tag(html, at, name).unwrap_or(html.len());
                let span = (at, close);
                at = close;
                return Some(span);
            }
        }
        at = html.len();
        None
    })
}

/// Where the tag whose attributes start at `from` ends (its `>`), past quoted values.
fn tag_end(html: &[u8], mut from: usize) -> Option<usize> {
    let mut quote: Option<u8> = None;
    loop {
        let rest = html.get(from..)?;
        match quote {
            Some(q) => {
                from += memchr::memchr(q, rest)? + 1;
                quote = None;
            }
            None => {
                let i = memchr::memchr3(b'>', b'"', b'\'', rest)?;
                match rest[i] {
                    b'>' => return Some(from + i),
                    q => {
                        // A quote opens a value only after `=` (and spaces).
                        let before = html[..from + i].trim_ascii_end();
                        if before.ends_with(b"=") {
                            quote = Some(q);
                        }
                        from += i + 1;
                    }
                }
            }
        }
    }
}

/// Where `</name` (any case) first starts at or after `from`.
fn closing_tag(html: &[u8], mut from: usize, name: &[u8]) -> Option<usize> {
    loop {
        let i = from + memchr::memmem::find(&html[from..], b"</")?;
        let after = &html[i + 2..];
        if after.len() >= name.len() && after[..name.len()].eq_ignore_ascii_case(name) {
            return Some(i);
        }
        from = i + 2;
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

    fn prefilter() -> Prefilter {
        let taxonomy = Taxonomy::parse(
            r#"
            [sides.russia]
            en = ["Russia", "Kremlin", "State Duma"]
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
            [[entity]]
            id = "china"
            name = "China"
            kind = "place"
            third_party = true
            en = ["China"]
            "#,
        )
        .unwrap();
        Prefilter::new(&taxonomy, &gazetteer)
    }

    #[test]
    fn finds_every_form_the_tagger_reads_as_evidence() {
        let p = prefilter();
        for text in [
            "<p>RUSSIA said</p>",
            "Russia’s side",
            "talks on a peace&nbsp;treaty",
            "peace treaties",
            "Встреча в России",
            "ЯПОНИЯ",
            "Лавровым было сказано",
            "Кремлём",
            "ロシア外務省",
            "the SDF said",
            "the <b>State</b>&nbsp;Duma voted",
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
    fn keys_in_scripts_styles_and_comments_are_not_article_text() {
        let p = prefilter();
        for html in [
            "<script>var section = 'Russia';</script><p>Markets</p>",
            "<SCRIPT type=text/javascript>x='Japan'</SCRIPT>",
            "<style>.russia{color:red}</style>",
            "<!-- Japan -->",
            "<script>never closed, as a parser reads it: Russia",
        ] {
            assert!(!p.passes_page(html.as_bytes(), None), "{html}");
        }
        for html in [
            // JSON-LD's headline may become the title.
            r#"<script type="application/ld+json">{"headline":"Russia"}</script>"#,
            // A `<` in a quoted value opens no script.
            r#"<a title="a <script> tag">x</a><p>Russia</p><script>y</script>"#,
            "<script>a</script><p>Japan</p><script>b</script>",
            "<p>Japan <!-- a comment --></p>",
            "<!-- unclosed comment <p>Japan</p>",
            "<title>How <script> works</title><p>Japan</p><script>x</script>",
        ] {
            // (The last: an unclosed comment runs to the end; passes only if read.)
            let passes = p.passes_page(html.as_bytes(), None);
            assert_eq!(passes, !html.starts_with("<!-- unclosed"), "{html}");
        }
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
            // A third country is no evidence; nor is one word of a term without the others.
            "<p>China said on Monday</p>",
            "<p>The state said the statement stands.</p>",
        ] {
            assert!(!p.passes_page(text.as_bytes(), None), "{text}");
        }
        let (cp1251, _, _) = encoding_rs::WINDOWS_1251.encode("Новости Германии");
        assert!(!p.passes_page(&cp1251, Some("text/html; charset=windows-1251")));
    }
}

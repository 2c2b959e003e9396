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
const WINDOW: usize = 512;

/// The prefilter of one taxonomy and gazetteer.
#[derive(Debug)]
pub struct Prefilter {
    automaton: AhoCorasick,
    /// How pattern i must sit in the text.
    seats: Vec<KeySeat>,
    /// The tagger's matcher, to check a key where it is found.
    matcher: Matcher,
    /// Some evidence term has no key to look for: every page passes.
    pass_all: bool,
}

impl Prefilter {
    /// Compiles the keys of the evidence terms of `taxonomy` and `gazetteer`.
    pub fn new(taxonomy: &Taxonomy, gazetteer: &Gazetteer) -> Prefilter {
        let matcher = Matcher::with_gazetteer(taxonomy, gazetteer);
        let mut patterns = Vec::new();
        let mut seats = Vec::new();
        let mut pass_all = false;
        for EvidenceKey { text, seat } in matcher.evidence_keys() {
            if text.is_empty() {
                // A term whose written word shares nothing with its stem: nothing to look for
                // that every form contains, so nothing may be skipped.
                pass_all = true;
                continue;
            }
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
            pass_all,
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
        if self.pass_all || has_escaped_script(body) {
            return true;
        }
        let markup =
            nichiro_clean::sniff_format(body, content_type) != nichiro_clean::InputFormat::Text;
        let declared_wide = content_type
            .and_then(nichiro_clean::charset::charset_from_content_type)
            .is_some_and(|e| !e.is_ascii_compatible());
        let plain = !declared_wide
            && encoding_rs::Encoding::for_bom(body).is_none()
            && !body.contains(&0x1b)
            && std::str::from_utf8(body).is_ok();
        if plain {
            return self.passes_bytes(body, markup);
        }
        let decoded = nichiro_clean::charset::decode(body, content_type);
        if decoded.encoding == UTF_8 {
            // Stray bytes in UTF-8 do not hide any key.
            return self.passes_bytes(body, markup);
        }
        let text = decoded.text.as_bytes();
        has_escaped_script(text) || self.passes_bytes(text, markup)
    }

    fn passes_bytes(&self, bytes: &[u8], markup: bool) -> bool {
        if markup {
            self.passes_markup(bytes)
        } else {
            self.passes_span(bytes, 0, bytes.len(), false)
        }
    }

    /// Searches the parts of a page the cleaner may take text from: everything but comments
    /// and the contents of `<script>` (save JSON-LD, whose headline may become the title) and
    /// `<style>` elements, which on a news page are most of its bytes.
    fn passes_markup(&self, bytes: &[u8]) -> bool {
        let mut start = 0;
        for (from, to) in hidden_spans(bytes) {
            if self.passes_span(bytes, start, from, true) {
                return true;
            }
            start = to;
        }
        self.passes_span(bytes, start, bytes.len(), true)
    }

    /// Whether a text (a title and body, a cleaned article) could be relevant.
    pub fn passes_text(&self, text: &str) -> bool {
        self.pass_all || self.passes_span(text.as_bytes(), 0, text.len(), false)
    }

    /// Whether a key sits as it must in `bytes[from..to]` (the bytes around the span count
    /// for the word boundaries), read as markup or as text.
    fn passes_span(&self, bytes: &[u8], from: usize, to: usize, markup: bool) -> bool {
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
            let window = String::from_utf8_lossy(&bytes[checked.clone()]);
            if !markup {
                return self.evidence_in(&window);
            }
            // As the cleaner reads the page's text (tags and character references as
            // spaces), and as its metadata (a title in an attribute, `og:title`): the key may
            // sit in either.
            self.evidence_in(&visible_text(&window)) || self.evidence_in(&window)
        })
    }

    /// Whether the tagger finds evidence in `text`.
    fn evidence_in(&self, text: &str) -> bool {
        let tokens = crate::tokenize::tokenize(text);
        self.matcher.is_evidence(&self.matcher.find(text, &tokens))
    }
}

/// A piece of a page as text: each tag a space, and each character reference a space too (a
/// term's words are often joined by a no-break space). A `<` that opens no tag (`<1%`) is
/// text, as an HTML parser reads it.
fn visible_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(i) = rest.find(['<', '&']) {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let next = rest.as_bytes().get(1).copied().unwrap_or(b' ');
        if rest.starts_with('<')
            && (next.is_ascii_alphabetic() || matches!(next, b'/' | b'!' | b'?'))
        {
            match rest.find('>') {
                Some(end) => rest = &rest[end + 1..],
                None => rest = "",
            }
            out.push(' ');
            continue;
        }
        let reference = rest.as_bytes()[1..]
            .iter()
            .take(12)
            .position(|&b| b == b';')
            .filter(|&end| {
                end > 0
                    && rest.as_bytes()[1..=end]
                        .iter()
                        .all(|b| b.is_ascii_alphanumeric() || *b == b'#')
            });
        match reference {
            Some(end) => {
                out.push(' ');
                rest = &rest[end + 2..];
            }
            None => {
                out.push_str(&rest[..1]);
                rest = &rest[1..];
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
                // `<!-->` and `<!--->` end where they start; else the first `-->` or `--!>`.
                let end = if rest[3..].starts_with(b">") {
                    open + 5
                } else if rest[3..].starts_with(b"->") {
                    open + 6
                } else {
                    let body = &rest[3..];
                    let close = [&b"-->"[..], &b"--!>"[..]]
                        .iter()
                        .filter_map(|c| memchr::memmem::find(body, c).map(|e| e + c.len()))
                        .min();
                    close.map_or(html.len(), |e| open + 4 + e)
                };
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
            if [
                &b"title"[..],
                b"textarea",
                b"xmp",
                b"iframe",
                b"noembed",
                b"noframes",
            ]
            .iter()
            .any(|raw| name.eq_ignore_ascii_case(raw))
            {
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

/// Whether the page writes Cyrillic or Japanese in a form its raw bytes do not show: numeric
/// character references (`&#1056;`, `&#x30ed;`) or JSON escapes (`\u0420`, in a JSON-LD
/// headline). Such a page is a candidate.
fn has_escaped_script(body: &[u8]) -> bool {
    let script =
        |c: Option<char>| c.is_some_and(|c| matches!(c, '\u{400}'..='\u{52f}') || is_cjk(c));
    let references = memchr::memmem::find_iter(body, b"&#").any(|at| {
        let rest = &body[at + 2..];
        let (digits, radix) = match rest.first() {
            Some(b'x' | b'X') => (&rest[1..], 16),
            _ => (rest, 10),
        };
        let digits: Vec<u8> = digits
            .iter()
            .copied()
            .skip_while(|&b| b == b'0')
            .take_while(|b| {
                if radix == 16 {
                    b.is_ascii_hexdigit()
                } else {
                    b.is_ascii_digit()
                }
            })
            .take(8)
            .collect();
        let value = std::str::from_utf8(&digits)
            .ok()
            .and_then(|d| u32::from_str_radix(d, radix).ok());
        script(value.and_then(char::from_u32))
    });
    references
        || memchr::memmem::find_iter(body, b"\\u").any(|at| {
            body.get(at + 2..at + 6)
                .and_then(|hex| std::str::from_utf8(hex).ok())
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .map(char::from_u32)
                .is_some_and(script)
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
            en = ["peace treaty", "Northern Territories"]
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
            "the State&#x00a0;Duma voted",
            // A `<` that opens no tag is text.
            "<p>Growth was <1% in Japan.</p>",
            // Metadata the cleaner reads a title from.
            r#"<meta property="og:title" content="Japan votes"><p>x</p>"#,
            // Another form of a stem than the one written in the taxonomy.
            "the Northern Territory",
            "<!-->Japan",
            r#"<script type="application/ld+json">{"headline":"\u0420\u043e\u0441\u0441\u0438\u044f"}</script>"#,
            "&#0001056;&#1086;",
            "&#1056;&#1086;&#1089;&#1089;&#1080;&#1103;",
        ] {
            assert!(p.passes_page(text.as_bytes(), Some("text/html")), "{text}");
        }
        // Windows-1251 and Shift_JIS are decoded before the search.
        let (cp1251, _, _) = encoding_rs::WINDOWS_1251.encode("Новости Японии");
        assert!(p.passes_page(&cp1251, Some("text/html; charset=windows-1251")));
        let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode("<meta charset=shift_jis>日本の");
        assert!(p.passes_page(&sjis, None));
        // Plain text is read as text: a `<` there is no tag.
        assert!(p.passes_page(b"rates <5% in Japan and >3%", Some("text/plain")));
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
            assert!(!p.passes_page(html.as_bytes(), Some("text/html")), "{html}");
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
            let passes = p.passes_page(html.as_bytes(), Some("text/html"));
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
            assert!(!p.passes_page(text.as_bytes(), Some("text/html")), "{text}");
        }
        let (cp1251, _, _) = encoding_rs::WINDOWS_1251.encode("Новости Германии");
        assert!(!p.passes_page(&cp1251, Some("text/html; charset=windows-1251")));
    }
}

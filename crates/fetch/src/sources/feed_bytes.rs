//! A feed's bytes made readable before the XML reader sees them, as lenient feed readers do:
//! UTF-16 and other charsets (from a byte-order mark, the XML declaration, or only the HTTP
//! header) turned into UTF-8; Atom 0.3 read as Atom 1.0; and, as later tries when a feed does
//! not parse, RSS without a version or of 0.93 and 0.94 read as 2.0 and bare `&`s escaped.
//! Pure functions over bytes.

use std::borrow::Cow;

use encoding_rs::Encoding;

/// The encoding a `Content-Type`'s `charset` names, if any.
fn header_charset(content_type: Option<&str>) -> Option<&'static Encoding> {
    let content_type = content_type?;
    let value = content_type
        .split(';')
        .skip(1)
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("charset"))?
        .1
        .trim()
        .trim_matches(['"', '\'']);
    Encoding::for_label(value.as_bytes())
}

/// The encoding an ASCII-compatible XML declaration at the start of `body` names, when it
/// names one that exists.
fn declared_encoding(body: &[u8]) -> Option<&'static Encoding> {
    Encoding::for_label(declared_label(body)?.trim().as_bytes())
}

/// The `encoding` label of an XML declaration at the start of `body` (after a UTF-8
/// byte-order mark), as written.
fn declared_label(body: &[u8]) -> Option<String> {
    let bom = if body.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let start = bom + body[bom..].iter().position(|b| !b.is_ascii_whitespace())?;
    let rest = &body[start..];
    if !rest.starts_with(b"<?xml") {
        return None;
    }
    // It ends where the XML reader ends it: at the first `?>`, not at a `>` inside it.
    let end = find(rest, b"?>")?;
    // Read lossily: a declaration with a byte that is no UTF-8 still names (an unknown) label.
    let declaration = String::from_utf8_lossy(&rest[..end]);
    let at = declaration.find("encoding")?;
    let value = declaration[at + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    let quote = value.chars().next().filter(|q| *q == '"' || *q == '\'')?;
    Some(value[1..].split(quote).next()?.to_string())
}

/// Whether `body` opens (after a UTF-8 byte-order mark and whitespace) with `<?xml`.
fn starts_with_declaration(body: &[u8]) -> bool {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    body.iter()
        .position(|b| !b.is_ascii_whitespace())
        .is_some_and(|start| body[start..].starts_with(b"<?xml"))
}

/// The XML declaration replaced by one that says UTF-8 (or none added when there was none).
fn with_utf8_declaration(text: &str) -> String {
    let trimmed = text.trim_start();
    match trimmed
        .strip_prefix("<?xml")
        .and_then(|rest| rest.find("?>").map(|end| &rest[end + 2..]))
    {
        Some(after) => format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>{after}"),
        None => trimmed.to_string(),
    }
}

/// UTF-16 without a byte-order mark, told by how `<` and `?` or `<` and a letter begin it.
fn bomless_utf16(body: &[u8]) -> Option<&'static Encoding> {
    match body {
        [0, b'<', 0, c, ..] if c.is_ascii_graphic() => Some(encoding_rs::UTF_16BE),
        [b'<', 0, c, 0, ..] if c.is_ascii_graphic() => Some(encoding_rs::UTF_16LE),
        _ => None,
    }
}

/// The body as UTF-8 XML whose declaration (if any) says UTF-8, so the XML reader never
/// switches decoders itself (which panicked on some declarations): decoded by its byte-order
/// mark, by how UTF-16 without one begins, by its declaration, and only when it is not valid
/// UTF-8, by the header's charset (a UTF-8 feed served as ISO-8859-1 stays UTF-8).
pub(crate) fn utf8_xml<'a>(body: &'a [u8], content_type: Option<&str>) -> Cow<'a, [u8]> {
    let xml = utf8_with_declaration(body, content_type);
    // A byte that is no UTF-8 becomes U+FFFD (the feed is read, that byte lost): the XML
    // reader's own handling of one panicked (fuzzing found a byte-order mark, `<`, 0xFF).
    let xml = match std::str::from_utf8(&xml) {
        Ok(_) => xml,
        Err(_) => Cow::Owned(String::from_utf8_lossy(&xml).into_owned().into_bytes()),
    };
    match without_later_declarations(&xml) {
        Some(renamed) => Cow::Owned(renamed),
        None => xml,
    }
}

/// An XML declaration past the start (a second document pasted in) renamed to a processing
/// instruction the reader ignores: the reader would act on its `encoding` (and panicked).
fn without_later_declarations(xml: &[u8]) -> Option<Vec<u8>> {
    let later = xml
        .windows(6)
        .skip(1)
        .any(|w| w.starts_with(b"<?xml") && declaration_follows(w[5]));
    if !later {
        return None;
    }
    let mut out = Vec::with_capacity(xml.len() + 16);
    let mut i = 0;
    while i < xml.len() {
        if i > 0
            && xml[i..].starts_with(b"<?xml")
            && xml.get(i + 5).is_some_and(|b| declaration_follows(*b))
        {
            out.extend_from_slice(b"<?xml-ignored");
            i += 5;
        } else {
            out.push(xml[i]);
            i += 1;
        }
    }
    Some(out)
}

/// Whether `<?xml` followed by `next` is a declaration to the reader: `xml` then whitespace,
/// or `<?xml?>`.
fn declaration_follows(next: u8) -> bool {
    next.is_ascii_whitespace() || next == b'?'
}

fn utf8_with_declaration<'a>(body: &'a [u8], content_type: Option<&str>) -> Cow<'a, [u8]> {
    let declared = declared_encoding(body);
    let encoding = Encoding::for_bom(body)
        .map(|(encoding, _)| encoding)
        .or_else(|| bomless_utf16(body))
        .or(declared.filter(|e| *e != encoding_rs::UTF_16BE && *e != encoding_rs::UTF_16LE))
        .or_else(|| header_charset(content_type).filter(|_| std::str::from_utf8(body).is_err()))
        .unwrap_or(encoding_rs::UTF_8);
    // Any declaration is rewritten, not only one whose label we read as not UTF-8's: a
    // declaration the reader reads differently from us (one found by fuzzing had a `>` before
    // its `encoding="UTF-16"`) would have it switch decoders, and panic.
    if encoding == encoding_rs::UTF_8 && !starts_with_declaration(body) {
        // A UTF-8 byte-order mark is left for the reader, which knows it.
        return Cow::Borrowed(body);
    }
    let (text, _, _) = encoding.decode(body);
    Cow::Owned(with_utf8_declaration(&text).into_bytes())
}

/// Where the root element's start tag sits in `body`: (its start, the end of its name,
/// the end of the tag), looked for in the first 64 KiB after the prolog.
fn root_tag(body: &[u8]) -> Option<(usize, usize, usize)> {
    let mut at = 0;
    let window = &body[..body.len().min(64 << 10)];
    loop {
        let lt = at + window[at..].iter().position(|&b| b == b'<')?;
        let rest = &window[lt + 1..];
        // The declaration, processing instructions, comments and the doctype come first.
        if rest.starts_with(b"?") || rest.starts_with(b"!") {
            at = lt + 1;
            continue;
        }
        let name_end = lt
            + 1
            + rest
                .iter()
                .position(|b| b.is_ascii_whitespace() || *b == b'>' || *b == b'/')?;
        let tag_end = name_end + window[name_end..].iter().position(|&b| b == b'>')?;
        return Some((lt, name_end, tag_end));
    }
}

/// RSS without a `version`, or of 0.93 or 0.94, marked 2.0 (which reads them); `None` for
/// anything else.
pub(crate) fn rss_as_2_0(body: &[u8]) -> Option<Vec<u8>> {
    let (start, name_end, tag_end) = root_tag(body)?;
    if &body[start + 1..name_end] != b"rss" {
        return None;
    }
    let attributes = std::str::from_utf8(&body[name_end..tag_end]).ok()?;
    let version = regex::Regex::new(r#"\sversion\s*=\s*["'][^"']*["']"#).ok()?;
    let kept = version.replace_all(attributes, "");
    let mut out = body[..name_end].to_vec();
    out.extend_from_slice(b" version=\"2.0\"");
    out.extend_from_slice(kept.as_bytes());
    out.extend_from_slice(&body[tag_end..]);
    Some(out)
}

/// Atom 0.3 (whose entries the reader skips) as Atom 1.0: its namespace, `issued` and
/// `modified` read as 1.0's, `published` and `updated`; `None` for anything else.
pub(crate) fn atom_03_as_1_0(body: &[u8]) -> Option<Vec<u8>> {
    const ATOM_03: &str = "http://purl.org/atom/ns#";
    let (start, name_end, tag_end) = root_tag(body)?;
    let attributes = std::str::from_utf8(&body[name_end..tag_end]).ok()?;
    if &body[start + 1..name_end] != b"feed" || !attributes.contains(ATOM_03) {
        return None;
    }
    let text = std::str::from_utf8(body).ok()?;
    let text = text
        .replace(ATOM_03, "http://www.w3.org/2005/Atom")
        .replace("<issued>", "<published>")
        .replace("</issued>", "</published>")
        .replace("<modified>", "<updated>")
        .replace("</modified>", "</updated>");
    Some(text.into_bytes())
}

/// Every `&` that does not start an entity or character reference escaped as `&amp;`
/// (`AT&T`, `Q&A`, a query string with `&` in a link): the commonest way a feed breaks.
/// CDATA sections and comments are copied as they are: a `&` there is text, not markup.
pub(crate) fn escape_bare_ampersands(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 64);
    let mut i = 0;
    while i < body.len() {
        let rest = &body[i..];
        let literal_end = if rest.starts_with(b"<![CDATA[") {
            find(rest, b"]]>").map(|end| end + 3)
        } else if rest.starts_with(b"<!--") {
            find(rest, b"-->").map(|end| end + 3)
        } else {
            None
        };
        if let Some(end) = literal_end {
            out.extend_from_slice(&rest[..end]);
            i += end;
            continue;
        }
        out.push(body[i]);
        if body[i] == b'&' && !starts_reference(&body[i + 1..]) {
            out.extend_from_slice(b"amp;");
        }
        i += 1;
    }
    out
}

/// Where `needle` first occurs in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Whether `rest` (what follows a `&`) is a reference: `#123;`, `#x1F;` or `name;`.
fn starts_reference(rest: &[u8]) -> bool {
    let end = rest.iter().take(32).position(|&b| b == b';');
    let Some(end) = end.filter(|&e| e > 0) else {
        return false;
    };
    let name = &rest[..end];
    match name {
        [b'#', b'x' | b'X', hex @ ..] => !hex.is_empty() && hex.iter().all(u8::is_ascii_hexdigit),
        [b'#', digits @ ..] => !digits.is_empty() && digits.iter().all(u8::is_ascii_digit),
        [first, more @ ..] => {
            first.is_ascii_alphabetic()
                && more
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        }
        [] => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charsets_come_from_the_bom_the_declaration_or_the_header() {
        let rss = "<?xml version=\"1.0\" encoding=\"UTF-16\"?><rss><title>Курилы</title></rss>";
        let mut utf16be = vec![0xFE, 0xFF];
        for unit in rss.encode_utf16() {
            utf16be.extend_from_slice(&unit.to_be_bytes());
        }
        let read = utf8_xml(&utf16be, None);
        let text = std::str::from_utf8(&read).unwrap();
        assert!(
            text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss>"),
            "{text}"
        );
        assert!(text.contains("Курилы"));

        let (cp1251, _, _) = encoding_rs::WINDOWS_1251.encode("<rss><title>Курилы</title></rss>");
        let read = utf8_xml(&cp1251, Some("application/rss+xml; charset=windows-1251"));
        assert!(std::str::from_utf8(&read).unwrap().contains("Курилы"));
        // Declared in the document: the declaration wins over a header that says otherwise.
        let mut declared = b"<?xml version='1.0' encoding='windows-1251'?>".to_vec();
        declared.extend_from_slice(&cp1251);
        let read = utf8_xml(&declared, Some("text/xml; charset=utf-8"));
        assert!(std::str::from_utf8(&read).unwrap().contains("Курилы"));
        // UTF-8 is left alone.
        assert!(matches!(utf8_xml(b"<rss/>", None), Cow::Borrowed(_)));
    }

    #[test]
    fn unknown_rss_versions_and_atom_0_3_are_put_in_known_forms() {
        let rss =
            b"<?xml version=\"1.0\"?><!-- c --><rss version='0.94' xmlns:x=\"y\"><channel/></rss>";
        assert_eq!(
            String::from_utf8(rss_as_2_0(rss).unwrap()).unwrap(),
            "<?xml version=\"1.0\"?><!-- c --><rss version=\"2.0\" xmlns:x=\"y\"><channel/></rss>"
        );
        let bare = b"<rss><channel/></rss>";
        assert_eq!(
            rss_as_2_0(bare).unwrap(),
            b"<rss version=\"2.0\"><channel/></rss>"
        );
        let atom = b"<feed version=\"0.3\" xmlns=\"http://purl.org/atom/ns#\"><modified>x</modified></feed>";
        let known = String::from_utf8(atom_03_as_1_0(atom).unwrap()).unwrap();
        assert!(
            known.contains("http://www.w3.org/2005/Atom") && known.contains("<updated>x</updated>")
        );
        assert_eq!(rss_as_2_0(b"<html><body/></html>"), None);
        assert_eq!(atom_03_as_1_0(rss), None);
    }

    #[test]
    fn only_bare_ampersands_are_escaped() {
        let body =
            b"<t>AT&T &amp; Q&A &#1234; &#x1F; &lt; a=1&b=2 &</t><![CDATA[x?a=1&b=2]]><!-- a&b -->";
        assert_eq!(
            String::from_utf8(escape_bare_ampersands(body)).unwrap(),
            "<t>AT&amp;T &amp; Q&amp;A &#1234; &#x1F; &lt; a=1&amp;b=2 &amp;</t><![CDATA[x?a=1&b=2]]><!-- a&b -->"
        );
    }
}

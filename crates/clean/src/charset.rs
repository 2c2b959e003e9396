//! Turning page bytes into text: BOM, then the HTTP header, then `<meta charset>`, then
//! sniffing with chardetng when they are missing or contradict the bytes.

use encoding_rs::{Encoding, UTF_8};

/// How many leading bytes are searched for a `<meta charset>` declaration.
const META_SCAN_BYTES: usize = 4096;

/// The text of a page and the encoding it was read with.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// The decoded text.
    pub text: String,
    /// The encoding used.
    pub encoding: &'static Encoding,
    /// Where the encoding came from.
    pub source: CharsetSource,
}

/// Which signal decided the encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CharsetSource {
    /// A byte-order mark.
    Bom,
    /// The `charset` parameter of the Content-Type header.
    Header,
    /// A `<meta charset>` or `http-equiv` declaration in the page.
    Meta,
    /// Sniffed from the bytes (no declaration, or the declaration contradicted them).
    Sniffed,
}

/// Decodes `bytes` using the page's own signals, in order of authority.
pub fn decode(bytes: &[u8], content_type: Option<&str>) -> Decoded {
    if let Some((encoding, bom_len)) = Encoding::for_bom(bytes) {
        let (text, _) = encoding.decode_without_bom_handling(&bytes[bom_len..]);
        return Decoded {
            text: text.into_owned(),
            encoding,
            source: CharsetSource::Bom,
        };
    }
    let declared = content_type
        .and_then(charset_from_content_type)
        .map(|e| (e, CharsetSource::Header))
        .or_else(|| charset_from_meta(bytes).map(|e| (e, CharsetSource::Meta)));
    if let Some((encoding, source)) = declared
        && let Some(text) = decode_if_consistent(encoding, bytes)
    {
        return Decoded {
            text,
            encoding,
            source,
        };
    }
    let encoding = sniff(bytes);
    let (text, _, _) = encoding.decode(bytes);
    Decoded {
        text: text.into_owned(),
        encoding,
        source: CharsetSource::Sniffed,
    }
}

/// Decodes with the declared encoding unless the bytes show it to be wrong: they do not
/// decode cleanly, or they are non-ASCII UTF-8 declared as a legacy encoding. Declared UTF-8
/// with a few stray bytes stays UTF-8, each stray byte read as U+FFFD: one bad byte must not
/// turn a whole Japanese or Russian page into mojibake.
fn decode_if_consistent(declared: &'static Encoding, bytes: &[u8]) -> Option<String> {
    if declared != UTF_8 && !bytes.is_ascii() && std::str::from_utf8(bytes).is_ok() {
        return None;
    }
    if declared == UTF_8 {
        let utf8 = Utf8Census::of(bytes);
        if utf8.invalid > 0 && (utf8.invalid <= 2 || utf8.mostly_valid()) {
            return Some(String::from_utf8_lossy(bytes).into_owned());
        }
    }
    declared
        .decode_without_bom_handling_and_without_replacement(bytes)
        .map(|text| text.into_owned())
}

/// How much of a byte string is UTF-8: its valid non-ASCII characters and its invalid
/// sequences.
struct Utf8Census {
    multibyte: usize,
    invalid: usize,
}

impl Utf8Census {
    fn of(bytes: &[u8]) -> Self {
        let mut census = Utf8Census {
            multibyte: 0,
            invalid: 0,
        };
        for chunk in bytes.utf8_chunks() {
            census.multibyte += chunk.valid().chars().filter(|c| !c.is_ascii()).count();
            census.invalid += usize::from(!chunk.invalid().is_empty());
        }
        census
    }

    /// UTF-8 with stray bytes rather than another encoding: at least 20 valid non-ASCII
    /// characters per invalid sequence. (Legacy CJK and Cyrillic text read as UTF-8 is mostly
    /// invalid; EUC-JP's accidental valid pairs come to about one in ten.)
    fn mostly_valid(&self) -> bool {
        self.multibyte >= 20 * self.invalid
    }
}

fn sniff(bytes: &[u8]) -> &'static Encoding {
    // ISO-2022-JP is 7-bit: valid UTF-8 with escape sequences is still worth sniffing.
    if !bytes.contains(&0x1b) && Utf8Census::of(bytes).mostly_valid() {
        return UTF_8;
    }
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Allow);
    detector.feed(bytes, true);
    detector.guess(None, chardetng::Utf8Detection::Allow)
}

/// The encoding named by a Content-Type header's `charset` parameter.
pub fn charset_from_content_type(content_type: &str) -> Option<&'static Encoding> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("charset") {
            return None;
        }
        Encoding::for_label(value.trim().trim_matches(['"', '\'']).as_bytes())
    })
}

/// The encoding declared by `<meta charset=…>` or `<meta http-equiv content="…charset=…">`
/// within the first few kilobytes.
pub fn charset_from_meta(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(META_SCAN_BYTES)];
    let lower: Vec<u8> = head.iter().map(u8::to_ascii_lowercase).collect();
    let mut from = 0;
    while let Some(pos) = find(&lower[from..], b"<meta") {
        let start = from + pos;
        let end = lower[start..]
            .iter()
            .position(|&b| b == b'>')
            .map_or(lower.len(), |e| start + e);
        let tag = &lower[start..end];
        if let Some(at) = find(tag, b"charset") {
            let rest = &tag[at + b"charset".len()..];
            let rest = rest.trim_ascii_start();
            if let Some(rest) = rest.strip_prefix(b"=") {
                let value: Vec<u8> = rest
                    .trim_ascii_start()
                    .iter()
                    .copied()
                    .skip_while(|&b| b == b'"' || b == b'\'')
                    .take_while(|&b| !matches!(b, b'"' | b'\'' | b';' | b' ' | b'/' | b'>'))
                    .collect();
                if let Some(encoding) = Encoding::for_label(&value) {
                    // A page that says UTF-16 in ASCII bytes is not UTF-16 (WHATWG rule).
                    return Some(if encoding.is_single_byte() || encoding == UTF_8 {
                        encoding
                    } else if encoding.name().starts_with("UTF-16") {
                        UTF_8
                    } else {
                        encoding
                    });
                }
            }
        }
        from = end.max(start + 1);
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use encoding_rs::{EUC_JP, ISO_2022_JP, KOI8_R, SHIFT_JIS, WINDOWS_1251};

    const RU: &str =
        "Министр иностранных дел России Сергей Лавров провёл переговоры в Токио о мирном договоре.";
    const JA: &str = "ラブロフ外相は東京で河野外相と会談し、平和条約締結交渉について協議した。北方領土問題が焦点となった。";

    fn page(body: &str) -> String {
        format!("<html><head><title>t</title></head><body><p>{body}</p></body></html>")
    }

    fn encoded(encoding: &'static Encoding, text: &str) -> Vec<u8> {
        encoding.encode(text).0.into_owned()
    }

    #[test]
    fn header_charset_is_used() {
        let bytes = encoded(WINDOWS_1251, &page(RU));
        let decoded = decode(&bytes, Some("text/html; charset=windows-1251"));
        assert!(decoded.text.contains(RU));
        assert_eq!(decoded.source, CharsetSource::Header);
    }

    #[test]
    fn meta_charset_is_used_without_header() {
        let html = format!("<meta charset=\"koi8-r\">{}", page(RU));
        let bytes = encoded(KOI8_R, &html);
        let decoded = decode(&bytes, Some("text/html"));
        assert!(decoded.text.contains(RU));
        assert_eq!(decoded.encoding, KOI8_R);
        assert_eq!(decoded.source, CharsetSource::Meta);
    }

    #[test]
    fn http_equiv_shift_jis() {
        let html = format!(
            "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=Shift_JIS\">{}",
            page(JA)
        );
        let bytes = encoded(SHIFT_JIS, &html);
        let decoded = decode(&bytes, None);
        assert!(decoded.text.contains(JA));
        assert_eq!(decoded.encoding, SHIFT_JIS);
    }

    #[test]
    fn undeclared_legacy_encodings_are_sniffed() {
        for encoding in [WINDOWS_1251, SHIFT_JIS, EUC_JP, ISO_2022_JP] {
            let text = if encoding == WINDOWS_1251 { RU } else { JA };
            let bytes = encoded(encoding, &page(text));
            let decoded = decode(&bytes, None);
            assert!(decoded.text.contains(text), "{}", encoding.name());
            assert_eq!(decoded.source, CharsetSource::Sniffed);
        }
    }

    #[test]
    fn lying_utf8_header_on_windows_1251_bytes_is_overruled() {
        let bytes = encoded(WINDOWS_1251, &page(RU));
        let decoded = decode(&bytes, Some("text/html; charset=utf-8"));
        assert!(decoded.text.contains(RU));
        assert_eq!(decoded.source, CharsetSource::Sniffed);
    }

    #[test]
    fn lying_legacy_header_on_utf8_bytes_is_overruled() {
        let decoded = decode(page(JA).as_bytes(), Some("text/html; charset=shift_jis"));
        assert!(decoded.text.contains(JA));
        assert_eq!(decoded.encoding, UTF_8);
    }

    #[test]
    fn a_stray_byte_in_utf8_is_one_replacement_character_not_another_charset() {
        // One invalid byte made a declared UTF-8 page decode as another charset: Japanese
        // became mojibake, Russian became `袦懈薪…` and was tagged Chinese.
        for text in [RU, JA] {
            let body = page(&format!("{text} {text} {text}"));
            let at = body.find(text).unwrap() + text.len();
            let mut bytes = body.into_bytes();
            bytes.insert(at, 0xFF);
            for content_type in [Some("text/html; charset=utf-8"), None] {
                let decoded = decode(&bytes, content_type);
                assert_eq!(decoded.encoding, UTF_8, "{content_type:?}");
                assert_eq!(decoded.text.matches(text).count(), 3);
                assert_eq!(decoded.text.matches('\u{FFFD}').count(), 1);
            }
        }
    }

    #[test]
    fn bom_wins() {
        let mut bytes = vec![0xEF, 0xBB, 0xBF];
        bytes.extend_from_slice(page(RU).as_bytes());
        let decoded = decode(&bytes, Some("text/html; charset=windows-1251"));
        assert!(decoded.text.contains(RU));
        assert_eq!(decoded.source, CharsetSource::Bom);
    }
}

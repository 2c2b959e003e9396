//! Telling a page from bytes that are no text at all (a PDF served as `text/html`, a PNG or a
//! gzip file named `.html`, random bytes), before any decoding: such input would otherwise be
//! "cleaned" into an article of garbage. The rules follow the WHATWG MIME Sniffing standard:
//! known signatures first, then the binary-data bytes of its "resource header".

/// Bytes looked at: the standard's resource header.
const HEADER_BYTES: usize = 1445;

/// Signatures of formats that are never a page, with their names.
const SIGNATURES: &[(&[u8], &str)] = &[
    (b"%PDF-", "a PDF document"),
    (b"%!PS-Adobe-", "a PostScript document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"RIFF", "a RIFF file (WebP, WAV or AVI)"),
    (b"\x00\x00\x01\x00", "an icon"),
    (b"BM", "a BMP image"),
    (b"\x1f\x8b\x08", "a gzip file"),
    (b"BZh", "a bzip2 file"),
    (b"\xfd7zXZ\x00", "an xz file"),
    (b"\x28\xb5\x2f\xfd", "a zstd file"),
    (b"PK\x03\x04", "a ZIP file (or an Office document)"),
    (b"Rar!\x1a\x07", "a RAR file"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip file"),
    (b"\x7fELF", "an executable"),
    (b"MZ", "an executable"),
    (b"\x00asm", "a WebAssembly module"),
    (b"OggS\x00", "an Ogg file"),
    (b"ID3", "an MP3 file"),
    (b"wOFF", "a web font"),
    (b"wOF2", "a web font"),
    (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        "an old Office document",
    ),
    (b"SQLite format 3\x00", "a SQLite database"),
];

/// What kind of non-text `bytes` are, or `None` when they may be a page. A byte-order mark
/// (UTF-8, UTF-16) marks text whatever follows.
pub fn not_text(bytes: &[u8]) -> Option<&'static str> {
    if encoding_rs::Encoding::for_bom(bytes).is_some() {
        return None;
    }
    // A signature made of letters is also how text may begin ("BMW", "RIFF", "ID3 tags"):
    // it counts only with binary bytes after it, as every such format has; PDF and
    // PostScript are told by their signatures alone.
    let head = &bytes[..bytes.len().min(HEADER_BYTES)];
    let binary_bytes = head.iter().filter(|&&b| is_binary_data_byte(b)).count();
    if let Some((magic, name)) = SIGNATURES.iter().find(|(magic, _)| head.starts_with(magic))
        && (binary_bytes > 0 || magic.starts_with(b"%"))
    {
        return Some(name);
    }
    // The standard calls any binary-data byte binary; real pages do carry the odd stray
    // control character (a NUL among them), so up to one in a hundred is let through.
    (binary_bytes * 100 > head.len().max(1)).then_some("binary data")
}

/// The standard's binary data bytes: controls other than tab, newline, form feed, carriage
/// return and escape (which ISO-2022-JP uses).
fn is_binary_data_byte(byte: u8) -> bool {
    matches!(byte, 0x00..=0x08 | 0x0b | 0x0e..=0x1a | 0x1c..=0x1f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_that_are_no_page_are_named() {
        let png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR";
        assert_eq!(not_text(png), Some("a PNG image"));
        assert_eq!(
            not_text(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj"),
            Some("a PDF document")
        );
        assert_eq!(
            not_text(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"),
            Some("a gzip file")
        );
        // Pseudo-random bytes (an xorshift stream).
        let mut x: u32 = 2_463_534_242;
        let random: Vec<u8> = (0..4096)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        assert_eq!(not_text(&random), Some("binary data"));
        // And the cleaner refuses them with that reason, whatever the Content-Type says.
        let err = crate::clean_bytes(
            b"%PDF-1.4\n%\xe2\xe3",
            Some("text/html; charset=utf-8"),
            "https://example.org/a.html",
            &crate::Limits::default(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "page is not text: a PDF document, by its first bytes"
        );
    }

    #[test]
    fn text_in_any_charset_passes() {
        let pages: [&[u8]; 6] = [
            b"<!doctype html><html><body><p>Hello</p></body></html>",
            "<p>Курильские острова</p>".as_bytes(),
            "北方領土の元島民".as_bytes(),
            b"\x1b$B%m%7%\"\x1b(B ISO-2022-JP",
            b"BMW and Toyota report sales",
            b"MZ series: an article\x0c with a form feed",
        ];
        for page in pages {
            assert_eq!(not_text(page), None, "{}", String::from_utf8_lossy(page));
        }
        let mut utf16 = vec![0xff, 0xfe];
        utf16.extend("<p>hi</p>".encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(not_text(&utf16), None, "UTF-16 with its BOM");
        let mut stray = b"<html><body>".repeat(20);
        stray.push(0x07);
        stray.push(0x00);
        assert_eq!(
            not_text(&stray),
            None,
            "a stray control character and a NUL"
        );
        for text in [
            &b"RIFF raffle results"[..],
            b"ID3 tags explained",
            b"BZh: a column",
            b"GIF89a and PNG",
        ] {
            assert_eq!(not_text(text), None, "{}", String::from_utf8_lossy(text));
        }
    }
}

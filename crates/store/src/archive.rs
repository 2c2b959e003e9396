//! Raw pages kept for the archive (`[store] keep_raw_html`): gzip-compressed on the way in,
//! with a cap on what decompression may produce on the way out.

use std::io::{Read, Write};

use nichiro_model::ArchivedPage;

use crate::StoreError;

/// Most bytes a stored page may decompress to (far above the fetcher's own page limit).
pub const MAX_PAGE_BYTES: u64 = 64 * 1024 * 1024;

/// Compresses a fetched page's body for storing.
pub fn compress(content_type: Option<&str>, body: &[u8]) -> ArchivedPage {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing into a Vec cannot fail.
    encoder.write_all(body).expect("gzip into memory");
    ArchivedPage {
        content_type: content_type.map(str::to_string),
        gzip: encoder.finish().expect("gzip into memory"),
    }
}

/// The page's bytes back; fails on a corrupt archive or one that would exceed
/// [`MAX_PAGE_BYTES`].
pub fn decompress(page: &ArchivedPage) -> Result<Vec<u8>, StoreError> {
    let mut body = Vec::new();
    flate2::read::GzDecoder::new(page.gzip.as_slice())
        .take(MAX_PAGE_BYTES + 1)
        .read_to_end(&mut body)
        .map_err(|e| StoreError::Corrupt(format!("stored page does not decompress: {e}")))?;
    if body.len() as u64 > MAX_PAGE_BYTES {
        return Err(StoreError::Corrupt(format!(
            "stored page decompresses to more than {MAX_PAGE_BYTES} bytes"
        )));
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_comes_back_as_it_went_in_and_smaller() {
        let body = "<html><body><p>Лавров и Мотэги</p></body></html>".repeat(50);
        let page = compress(Some("text/html"), body.as_bytes());
        assert!(page.gzip.len() < body.len() / 5);
        assert_eq!(decompress(&page).unwrap(), body.as_bytes());
        let broken = ArchivedPage {
            content_type: None,
            gzip: b"not gzip".to_vec(),
        };
        assert!(decompress(&broken).is_err());
    }
}

//! WARC archives (the format of web archives such as Common Crawl News), plain or gzip'd
//! record by record. `response` records carry an HTTP response, which is parsed; `resource`
//! records carry the page itself. Records larger than the body limit are skipped unread.

use std::io::{BufReader, Read};

use chrono::Utc;

use super::warc_records::{NextRecord, WarcRecord, WarcRecords};

/// Headers read from an archived HTTP response.
const MAX_HTTP_HEADERS: usize = 128;

/// An HTTP response parsed from a WARC `response` record.
#[derive(Debug, Clone, PartialEq)]
pub struct ArchivedResponse {
    /// Status code.
    pub status: u16,
    /// Content-Type header.
    pub content_type: Option<String>,
    /// Body, de-chunked and decompressed.
    pub body: Vec<u8>,
}

/// Parses an archived HTTP response: status line, headers, then the body, undoing chunked
/// transfer encoding and gzip/deflate content encoding (inflating at most `max_bytes`).
pub fn parse_http_response(bytes: &[u8], max_bytes: usize) -> Result<ArchivedResponse, String> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HTTP_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let header_len = match response.parse(bytes) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Err("truncated HTTP header".into()),
        Err(e) => return Err(format!("bad HTTP header: {e}")),
    };
    let header = |name: &str| {
        response
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).trim().to_string())
    };
    let status = response.code.unwrap_or(0);
    let content_type = header("content-type");
    let mut body = bytes[header_len..].to_vec();
    // Archivers often store the body already de-chunked while keeping the header that says
    // chunked (warcio does): a body that is not chunked is taken as it is.
    if header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
        && let Ok(dechunked) = dechunk(&body)
    {
        body = dechunked;
    }
    match header("content-encoding")
        .map(|v| v.to_ascii_lowercase())
        .as_deref()
    {
        Some("gzip" | "x-gzip") => {
            body = inflate(flate2::read::MultiGzDecoder::new(&body[..]), max_bytes)?
        }
        Some("deflate") => body = inflate(flate2::read::ZlibDecoder::new(&body[..]), max_bytes)?,
        _ => {}
    }
    Ok(ArchivedResponse {
        status,
        content_type,
        body,
    })
}

fn inflate(reader: impl Read, max_bytes: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    reader
        .take(max_bytes as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("bad compressed body: {e}"))?;
    if out.len() > max_bytes {
        return Err(format!("body inflates to more than {max_bytes} bytes"));
    }
    Ok(out)
}

fn dechunk(mut body: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = body
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("bad chunk: no size line")?;
        let size_text = String::from_utf8_lossy(&body[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("bad chunk size {size_text:?}"))?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        let chunk = body.get(..size).ok_or("bad chunk: shorter than its size")?;
        out.extend_from_slice(chunk);
        body = body.get(size + 2..).unwrap_or(&[]);
    }
}

/// A page found in an archive: a `response` record's HTTP answer with status 200 and a
/// textual Content-Type, or a `resource` record.
#[derive(Debug, Clone, PartialEq)]
pub struct WarcPage {
    /// The record's target URI.
    pub url: String,
    /// The archived status (200 for a resource).
    pub status: u16,
    /// The Content-Type of the page.
    pub content_type: Option<String>,
    /// The page, de-chunked and decompressed.
    pub body: Vec<u8>,
    /// When it was archived.
    pub date: chrono::DateTime<Utc>,
}

/// What reading an archive found besides its pages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArchiveCounts {
    /// Records read (every WARC record: requests, metadata and the rest too), the skipped
    /// leading ones included: the index the next record would have (after a stop, the index
    /// of the record whose page was refused).
    pub records: u64,
    /// Pages found and handed to the caller (which may still filter them).
    pub pages: usize,
    /// Records skipped: over the size limit, unreadable, not 200, not text.
    pub skipped: usize,
    /// Why the archive could not be read to its end (cut short, a broken gzip member), when
    /// it could not: the pages before that point were handed on.
    pub ended_early: Option<String>,
    /// Whether the caller stopped the reading before the end.
    pub stopped: bool,
}

/// Reads the WARC records of `input` (plain; a caller undoes gzip) and hands each page to
/// `on_page` until it returns false. Records over `max_bytes` are skipped unread, records
/// that cannot be read are skipped with a warning, and an archive that breaks off ends with
/// the pages before the break (see [`ArchiveCounts::ended_early`]). An error only when the
/// input breaks off before any record could be read.
pub fn read_archive(
    input: impl Read,
    max_bytes: usize,
    mut on_page: impl FnMut(WarcPage) -> bool,
) -> Result<ArchiveCounts, String> {
    read_archive_from(input, max_bytes, 0, |_, page| on_page(page))
}

/// As [`read_archive`], from record `from_record` on (counting every record from 0; those
/// before it are read past, not parsed), handing each page with its record's index.
pub fn read_archive_from(
    input: impl Read,
    max_bytes: usize,
    from_record: u64,
    mut on_page: impl FnMut(u64, WarcPage) -> bool,
) -> Result<ArchiveCounts, String> {
    let mut records = WarcRecords::new(BufReader::new(input), max_bytes);
    let mut counts = ArchiveCounts::default();
    loop {
        let record = match records.next_record() {
            NextRecord::Record(record) => record,
            // An empty archive (a crawl that kept nothing) has no pages; it is no error.
            NextRecord::End => break,
            NextRecord::Broken(reason) if counts.records > 0 => {
                counts.ended_early = Some(reason);
                break;
            }
            NextRecord::Broken(reason) => {
                return Err(format!("not a readable WARC archive: {reason}"));
            }
        };
        let index = counts.records;
        counts.records += 1;
        if index < from_record {
            continue;
        }
        let Some(page) = archived_page(&record, max_bytes, &mut counts) else {
            continue;
        };
        counts.pages += 1;
        if !on_page(index, page) {
            // The record whose page was refused is read again next time.
            counts.records = index;
            counts.stopped = true;
            break;
        }
    }
    Ok(counts)
}

/// The page a record holds, if it holds one; a record that should have held one but could not
/// be read is counted as skipped.
fn archived_page(
    record: &WarcRecord,
    max_bytes: usize,
    counts: &mut ArchiveCounts,
) -> Option<WarcPage> {
    let kind = record
        .header("WARC-Type")
        .unwrap_or("")
        .to_ascii_lowercase();
    if kind != "response" && kind != "resource" {
        return None;
    }
    let url = record
        .header("WARC-Target-URI")
        .map(|u| u.trim_matches(['<', '>']).to_string())?;
    let block = match &record.block {
        Ok(block) => block,
        Err(reason) => {
            counts.skipped += 1;
            tracing::warn!(url, reason, "archived record skipped");
            return None;
        }
    };
    let date = record
        .header("WARC-Date")
        .and_then(|d| chrono::DateTime::parse_from_rfc3339(d).ok())
        .map_or_else(Utc::now, |d| d.with_timezone(&Utc));
    let (status, content_type, body) = if kind == "response" {
        match parse_http_response(block, max_bytes) {
            Ok(r) => (r.status, r.content_type, r.body),
            Err(e) => {
                counts.skipped += 1;
                tracing::warn!(url, error = %e, "archived response unreadable; skipped");
                return None;
            }
        }
    } else {
        (
            200,
            record.header("Content-Type").map(str::to_string),
            block.clone(),
        )
    };
    let textual = content_type.as_deref().is_none_or(|ct| {
        let ct = ct.to_ascii_lowercase();
        ct.contains("html") || ct.starts_with("text/")
    });
    if status != 200 || !textual {
        counts.skipped += 1;
        return None;
    }
    Some(WarcPage {
        url,
        status,
        content_type,
        body,
        date,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_gzip_response() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(b"<p>hello</p>").unwrap();
        let gz = gz.finish().unwrap();
        let mut chunked = format!("{:x}\r\n", gz.len()).into_bytes();
        chunked.extend_from_slice(&gz);
        chunked.extend_from_slice(b"\r\n0\r\n\r\n");
        let mut raw = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n".to_vec();
        raw.extend_from_slice(&chunked);
        let parsed = parse_http_response(&raw, 1024).unwrap();
        assert_eq!(parsed.status, 200);
        assert_eq!(
            parsed.content_type.as_deref(),
            Some("text/html; charset=utf-8")
        );
        assert_eq!(parsed.body, b"<p>hello</p>");
        assert!(
            parse_http_response(&raw, 4)
                .unwrap_err()
                .contains("more than 4")
        );
        assert!(parse_http_response(b"HTTP/1.1 200", 10).is_err());
        // A reading stopped at a page counts the records before it: that record is read
        // again next time.
        let record = |uri: &str| {
            let block = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<p>x</p>";
            let mut r = format!(
                "WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: {uri}\r\nContent-Length: {}\r\n\r\n",
                block.len()
            )
            .into_bytes();
            r.extend_from_slice(block);
            r.extend_from_slice(b"\r\n\r\n");
            r
        };
        let mut archive = record("https://a.example/0");
        archive.extend(record("https://a.example/1"));
        archive.extend(record("https://a.example/2"));
        let counts = read_archive_from(&archive[..], 1024, 0, |i, _| i < 1).unwrap();
        assert_eq!((counts.records, counts.stopped), (1, true));
        let mut seen = Vec::new();
        let counts = read_archive_from(&archive[..], 1024, 1, |i, _| {
            seen.push(i);
            true
        })
        .unwrap();
        assert_eq!(
            (seen, counts.records, counts.stopped),
            (vec![1, 2], 3, false)
        );
        // Said chunked, stored de-chunked: the body as it is.
        let stored = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n<p>hello</p>";
        assert_eq!(
            parse_http_response(stored, 1024).unwrap().body,
            b"<p>hello</p>"
        );
    }
}

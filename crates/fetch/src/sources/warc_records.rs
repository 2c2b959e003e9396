//! WARC records read from a stream, as tolerantly as the archives found in the wild need:
//! junk or extra blank lines between records are skipped until the next `WARC/` line, header
//! values need not be UTF-8, a record over the size limit is skipped without being held in
//! memory, and a stream cut short (a truncated gzip member, a half-written file) ends the
//! reading with what was read before it. A header block is at most 64 KiB.

use std::io::{BufRead, Read};

/// Longest header block of a record.
const MAX_HEADER_BYTES: usize = 64 * 1024;

/// One record: its headers (names as written) and its block, or why the block was not read.
#[derive(Debug, Clone, PartialEq)]
pub struct WarcRecord {
    /// The headers, in order.
    pub headers: Vec<(String, String)>,
    /// The block, unless it was skipped.
    pub block: Result<Vec<u8>, String>,
}

impl WarcRecord {
    /// The value of a header (the first with that name, case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// How reading records ended.
#[derive(Debug, Clone, PartialEq)]
pub enum NextRecord {
    /// A record.
    Record(WarcRecord),
    /// The end of the stream.
    End,
    /// The stream broke off (it is cut short or unreadable); nothing more can be read.
    Broken(String),
}

/// Reads the records of a WARC stream one at a time.
pub struct WarcRecords<R> {
    input: R,
    max_block_bytes: usize,
    /// Set once the stream ended or broke.
    done: bool,
}

impl<R: BufRead> WarcRecords<R> {
    /// Records of `input`; blocks over `max_block_bytes` are skipped, not read into memory.
    pub fn new(input: R, max_block_bytes: usize) -> Self {
        WarcRecords {
            input,
            max_block_bytes,
            done: false,
        }
    }

    /// The next record.
    pub fn next_record(&mut self) -> NextRecord {
        if self.done {
            return NextRecord::End;
        }
        let outcome = self.read_record();
        if !matches!(outcome, NextRecord::Record(_)) {
            self.done = true;
        }
        outcome
    }

    fn read_record(&mut self) -> NextRecord {
        // Find the version line, skipping whatever is before it, however long its lines (the
        // rest of a block whose length was unknown may be minified HTML).
        let mut line = Vec::new();
        loop {
            line.clear();
            match read_line(&mut self.input, &mut line, MAX_HEADER_BYTES) {
                Ok(0) => return NextRecord::End,
                Ok(_) if line.starts_with(b"WARC/") => break,
                Ok(_) => continue,
                Err(_) if line.len() > MAX_HEADER_BYTES => {
                    if let Err(e) = self.input.skip_until(b'\n') {
                        return NextRecord::Broken(e.to_string());
                    }
                }
                Err(e) => return NextRecord::Broken(e),
            }
        }
        let mut headers = Vec::new();
        let mut header_bytes = 0;
        loop {
            line.clear();
            let n = match read_line(&mut self.input, &mut line, MAX_HEADER_BYTES) {
                Ok(0) => {
                    return NextRecord::Broken("the stream ends inside a record's headers".into());
                }
                Ok(n) => n,
                Err(e) => return NextRecord::Broken(e),
            };
            header_bytes += n;
            if header_bytes > MAX_HEADER_BYTES {
                return NextRecord::Broken(format!(
                    "a record's headers run past {MAX_HEADER_BYTES} bytes"
                ));
            }
            let text = String::from_utf8_lossy(&line);
            let text = text.trim_end_matches(['\r', '\n']);
            if text.is_empty() {
                break;
            }
            match text.split_once(':') {
                Some((name, value)) => {
                    headers.push((name.trim().to_string(), value.trim().to_string()))
                }
                // A folded continuation line belongs to the header before it.
                None => {
                    if let Some((_, value)) = headers.last_mut() {
                        value.push(' ');
                        value.push_str(text.trim());
                    }
                }
            }
        }
        let length = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("Content-Length"))
            .and_then(|(_, v)| v.parse::<u64>().ok());
        let Some(length) = length else {
            // Without a length the block cannot be told from the next record: the next
            // `WARC/` line resumes the reading.
            return NextRecord::Record(WarcRecord {
                headers,
                block: Err("no Content-Length".into()),
            });
        };
        let block = if length > self.max_block_bytes as u64 {
            match std::io::copy(&mut (&mut self.input).take(length), &mut std::io::sink()) {
                Ok(read) if read == length => Err(format!(
                    "block of {length} bytes, over the limit of {}",
                    self.max_block_bytes
                )),
                Ok(_) => return NextRecord::Broken("the stream ends inside a record".into()),
                Err(e) => return NextRecord::Broken(e.to_string()),
            }
        } else {
            let mut block = Vec::with_capacity(length as usize);
            match (&mut self.input).take(length).read_to_end(&mut block) {
                Ok(_) if block.len() as u64 == length => Ok(block),
                Ok(_) => return NextRecord::Broken("the stream ends inside a record".into()),
                Err(e) => return NextRecord::Broken(e.to_string()),
            }
        };
        NextRecord::Record(WarcRecord { headers, block })
    }
}

/// Reads one line (up to `\n`, which is kept) of at most `max` bytes.
fn read_line(input: &mut impl BufRead, line: &mut Vec<u8>, max: usize) -> Result<usize, String> {
    let n = input
        .take(max as u64 + 1)
        .read_until(b'\n', line)
        .map_err(|e| e.to_string())?;
    if n > max {
        return Err(format!("a line runs past {max} bytes"));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: &str, uri: &[u8], block: &[u8]) -> Vec<u8> {
        let mut out = format!("WARC/1.0\r\nWARC-Type: {kind}\r\nWARC-Target-URI: ").into_bytes();
        out.extend_from_slice(uri);
        out.extend_from_slice(format!("\r\nContent-Length: {}\r\n\r\n", block.len()).as_bytes());
        out.extend_from_slice(block);
        out.extend_from_slice(b"\r\n\r\n");
        out
    }

    fn all(bytes: &[u8], max: usize) -> (Vec<WarcRecord>, NextRecord) {
        let mut records = WarcRecords::new(bytes, max);
        let mut out = Vec::new();
        loop {
            match records.next_record() {
                NextRecord::Record(r) => out.push(r),
                end => return (out, end),
            }
        }
    }

    #[test]
    fn odd_archives_are_read_as_far_as_they_go() {
        let mut bytes = b"junk before the first record\r\n".to_vec();
        bytes.extend(record(
            "response",
            b"https://example.org/a",
            b"HTTP/1.1 200 OK\r\n\r\nA",
        ));
        bytes.extend_from_slice(b"\r\n\r\n\r\n"); // extra blank lines
        bytes.extend(record("resource", b"https://example.org/\xff\xfe", b"B"));
        bytes.extend(record("resource", b"https://example.org/big", &[b'x'; 100]));
        bytes.extend(record(
            "resource",
            b"https://example.org/cut",
            b"0123456789",
        ));
        bytes.truncate(bytes.len() - 8); // cut inside the last block
        let (records, end) = all(&bytes, 50);
        assert_eq!(records.len(), 3);
        assert_eq!(
            records[0].header("warc-target-uri"),
            Some("https://example.org/a")
        );
        assert_eq!(
            records[1].header("WARC-Target-URI"),
            Some("https://example.org/\u{fffd}\u{fffd}")
        );
        assert_eq!(records[1].block.as_deref(), Ok(&b"B"[..]));
        assert!(
            records[2]
                .block
                .as_ref()
                .unwrap_err()
                .contains("over the limit")
        );
        assert_eq!(
            end,
            NextRecord::Broken("the stream ends inside a record".into())
        );
        assert_eq!(all(b"", 50).1, NextRecord::End);
        // A line longer than any header (minified HTML of a block with no length) is
        // skipped while looking for the next record, not taken for a broken archive.
        let mut long = b"WARC/1.0\r\nWARC-Type: resource\r\n\r\n".to_vec();
        long.extend(vec![b'x'; 200_000]);
        long.extend_from_slice(b"\r\n");
        long.extend(record("resource", b"https://example.org/next", b"N"));
        let (records, end) = all(&long, 50);
        assert_eq!(records.len(), 2, "{end:?}");
        assert_eq!(records[1].block.as_deref(), Ok(&b"N"[..]));
        assert_eq!(all(b"not a warc at all", 50).0.len(), 0);
    }
}

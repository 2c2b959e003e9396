//! WARC reading on any bytes (records, their HTTP responses, chunked and compressed bodies):
//! pages or an error, never a panic, and no more inflated than the limit.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = nichiro_fetch::sources::read_archive(data, 1 << 20, |page| {
        assert!(page.body.len() <= 1 << 20);
        true
    });
    let _ = nichiro_fetch::sources::parse_http_response(data, 1 << 20);
});

//! The cleaner on any bytes, under each kind of Content-Type a server may send (the first
//! byte picks it): it returns an article or an error, within its limits, and never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nichiro_clean::{Limits, clean_bytes};

const CONTENT_TYPES: [Option<&str>; 6] = [
    None,
    Some("text/html"),
    Some("text/html; charset=utf-8"),
    Some("text/html; charset=windows-1251"),
    Some("text/plain; charset=shift_jis"),
    Some("application/xhtml+xml"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let content_type = CONTENT_TYPES[usize::from(pick) % CONTENT_TYPES.len()];
    let limits = Limits {
        // Time limits would make a run depend on the machine's speed; size and depth
        // limits stay.
        max_millis: 600_000,
        ..Limits::default()
    };
    let _ = clean_bytes(bytes, content_type, "https://example.org/a", &limits);
});

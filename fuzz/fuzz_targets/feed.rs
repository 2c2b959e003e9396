//! Feed parsing (RSS, Atom, JSON Feed) on any bytes: items or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = nichiro_fetch::sources::parse_feed(data, None, "https://example.org/feed.xml");
});

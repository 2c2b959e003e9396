//! Sitemap parsing (urlset, index, gzip'd) on any bytes: entries or an error, never a panic,
//! and no more inflated than the limit.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = nichiro_fetch::sources::parse_sitemap(data, 1 << 20);
});

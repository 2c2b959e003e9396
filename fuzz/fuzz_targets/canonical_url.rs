//! URL canonicalization on any text: a URL back, the same when asked again, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nichiro_fetch::canonical_url::canonicalize;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let once = canonicalize(text);
    assert_eq!(canonicalize(&once), once, "canonical form is stable");
});

//! robots.txt parsing on any bytes, then a question to the rules: never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(rules) = nichiro_fetch::http::parse_robots("nichiro/0.1", data) {
        let _ = rules.allowed("https://example.org/news/2019/kurils.html");
        let _ = rules.delay;
    }
});

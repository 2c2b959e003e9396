//! The config loader on any text: a config or a one-line error naming the problem, never a
//! panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) =
        nichiro_pipeline::Config::parse(text, std::path::Path::new("/nonexistent/c.toml"))
    {
        assert!(!e.to_string().contains('\n'), "{e}");
    }
});

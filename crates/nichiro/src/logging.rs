//! Logs on stderr through tracing.

use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

/// nichiro's own crates, the targets a bare level is for.
const OUR_CRATES: &[&str] = &[
    "nichiro",
    "nichiro_alert",
    "nichiro_classify",
    "nichiro_clean",
    "nichiro_fetch",
    "nichiro_model",
    "nichiro_pipeline",
    "nichiro_server",
    "nichiro_store",
    "nichiro_text",
];

/// A bare level (`debug`) is for nichiro's own crates, the dependencies staying at `warn`
/// (the HTML parser's debug lines would flood the log); a filter naming targets is taken as
/// written.
fn expand(filter: &str) -> String {
    let level = filter.trim();
    let bare = ["trace", "debug", "info", "warn", "error", "off"]
        .iter()
        .any(|l| l.eq_ignore_ascii_case(level));
    if !bare {
        return filter.to_string();
    }
    let ours: Vec<String> = OUR_CRATES.iter().map(|c| format!("{c}={level}")).collect();
    format!("warn,{}", ours.join(","))
}

/// Whether the log is JSON (set once, by [`init`]).
static JSON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

/// Says something to the person at the terminal, on stderr: as the plain line it is in a text
/// log (`error: …`), as one of the log's JSON objects in a JSON log, so that every line of
/// stderr is JSON there.
pub fn say(level: tracing::Level, line: &str) {
    if JSON.get().copied().unwrap_or(false) {
        // At warn at least: what is said to the user passes the default filters.
        match level {
            tracing::Level::ERROR => tracing::error!("{line}"),
            _ => tracing::warn!("{line}"),
        }
    } else {
        eprintln!("{line}");
    }
}

/// Installs the subscriber. `filter` wins over RUST_LOG, which wins over `default`.
pub fn init(format: LogFormat, filter: Option<&str>, default: &str) -> anyhow::Result<()> {
    let _ = JSON.set(matches!(format, LogFormat::Json));
    let from_env = std::env::var("RUST_LOG")
        .ok()
        .filter(|f| !f.trim().is_empty());
    let filter = match filter {
        Some(f) => EnvFilter::try_new(expand(f))
            .map_err(|e| anyhow::anyhow!("bad --log filter {f:?}: {e}"))?,
        None => match from_env {
            Some(f) => EnvFilter::try_new(expand(&f))
                .map_err(|e| anyhow::anyhow!("bad RUST_LOG filter {f:?}: {e}"))?,
            None => EnvFilter::new(expand(default)),
        },
    };
    // Colours only on a terminal: a log file or a pipe gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.with_target(false).init(),
        LogFormat::Json => builder.json().init(),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::expand;

    #[test]
    fn a_bare_level_is_for_our_crates_and_a_filter_is_taken_as_written() {
        let debug = expand("debug");
        assert!(debug.starts_with("warn,nichiro=debug,"), "{debug}");
        assert!(debug.contains("nichiro_fetch=debug"));
        assert!(!debug.contains("html5ever"));
        assert_eq!(expand("html5ever=trace"), "html5ever=trace");
        assert_eq!(
            expand("info,nichiro_fetch=debug"),
            "info,nichiro_fetch=debug"
        );
    }
}

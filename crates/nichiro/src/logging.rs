//! Logs on stderr through tracing.

use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

/// Installs the subscriber. `filter` wins over RUST_LOG, which wins over `default`.
pub fn init(format: LogFormat, filter: Option<&str>, default: &str) -> anyhow::Result<()> {
    let filter = match filter {
        Some(f) => {
            EnvFilter::try_new(f).map_err(|e| anyhow::anyhow!("bad --log filter {f:?}: {e}"))?
        }
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default)),
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

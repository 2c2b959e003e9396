//! `[server]`: where the daemon's web face listens, and when a source counts as stale.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// Settings of the web server inside `nichiro run` (`[server]`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Whether `nichiro run` serves health, metrics and the API. Default true.
    pub enabled: bool,
    /// The address to listen on. Default `127.0.0.1:8080` (this machine only; `0.0.0.0:8080`
    /// in a container, where the port is published). Port 0 picks a free port, which the
    /// log names. `nichiro run --listen ADDR` overrides it.
    pub listen: SocketAddr,
    /// A source is stale once silent for this many times its usual longest gap between new
    /// articles (the 95th percentile of its gaps that began near this hour of the day).
    /// Default 4.
    pub stale_factor: f64,
    /// ...but never before it has been silent this long, in seconds. Default 10800 (3 h).
    pub min_stale_silence_secs: u64,
    /// A source whose polls have failed for this long, in seconds, is stale whatever its
    /// rhythm. Default 21600 (6 h).
    pub stale_after_failing_secs: u64,
    /// How often the sources are checked for staleness (a source turning stale, or fresh
    /// again, is logged once), in seconds. Default 60.
    pub stale_check_secs: u64,
    /// Articles of a source stored less than this apart, in seconds, are one arrival when its
    /// rhythm is learned (one poll's news, a backfill). Default 60.
    pub burst_secs: u64,
    /// The daemon is unready (`/readyz` 503) while items wait to be cleaned, tagged or stored
    /// and none has been for this long, in seconds. Default 300.
    pub stuck_after_secs: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            enabled: true,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            stale_factor: 4.0,
            min_stale_silence_secs: 3 * 3600,
            stale_after_failing_secs: 6 * 3600,
            stale_check_secs: 60,
            stuck_after_secs: 300,
            burst_secs: 60,
        }
    }
}

impl ServerConfig {
    /// Checks every number against its range, naming the key of one out of range.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.stale_factor.is_finite() && (1.0..=1000.0).contains(&self.stale_factor)) {
            return Err("server.stale_factor must be from 1 to 1000".into());
        }
        nichiro_model::check_range(
            "server.min_stale_silence_secs",
            self.min_stale_silence_secs,
            1,
            365 * 86_400,
        )?;
        nichiro_model::check_range(
            "server.stale_after_failing_secs",
            self.stale_after_failing_secs,
            1,
            365 * 86_400,
        )?;
        nichiro_model::check_range("server.stale_check_secs", self.stale_check_secs, 1, 86_400)?;
        nichiro_model::check_range("server.stuck_after_secs", self.stuck_after_secs, 1, 86_400)?;
        nichiro_model::check_range("server.burst_secs", self.burst_secs, 0, 86_400)
    }
}

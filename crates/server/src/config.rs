//! `[server]`: where the daemon's web face listens.

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
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            enabled: true,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
        }
    }
}

//! Sending one alert: a POST to a webhook or a line appended to a file, tried again with
//! growing waits when it fails for a reason that may pass.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::AlertConfig;

/// The longest wait between two tries.
const MAX_WAIT: Duration = Duration::from_secs(300);
/// How long a webhook may take to answer.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest all of `alert`'s tries may take: each try's time limit and the waits between.
pub(crate) fn longest_send(alert: &AlertConfig) -> Duration {
    let mut total = WEBHOOK_TIMEOUT * alert.max_attempts;
    let mut wait = Duration::from_millis(alert.retry_base_ms).min(MAX_WAIT);
    for _ in 1..alert.max_attempts {
        total += wait;
        wait = (wait * 2).min(MAX_WAIT);
    }
    total
}

/// Why an alert was not sent.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum NotSent {
    /// For good: the receiver refused it, or every try failed. Recorded, not tried again.
    GivenUp(String),
    /// The daemon is stopping: the next run tries again.
    Stopped,
}

/// Sends alerts; one HTTP client for every webhook.
pub(crate) struct Sender {
    client: reqwest::Client,
}

impl Sender {
    pub(crate) fn new() -> Result<Self, String> {
        // reqwest is built without a default crypto provider (as the fetcher's is).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(WEBHOOK_TIMEOUT)
            .user_agent(concat!("nichiro/", env!("CARGO_PKG_VERSION"), " alerts"))
            .build()
            .map_err(|e| format!("cannot build the alerts' HTTP client: {e}"))?;
        Ok(Sender { client })
    }

    /// Sends `body` (one JSON object) for `alert`, trying up to `max_attempts` times.
    pub(crate) async fn send(
        &self,
        alert: &AlertConfig,
        key: &str,
        body: &str,
        stop: &CancellationToken,
    ) -> Result<(), NotSent> {
        let mut wait = Duration::from_millis(alert.retry_base_ms).min(MAX_WAIT);
        let mut last = String::new();
        for attempt in 1..=alert.max_attempts {
            let tried = match (&alert.webhook, &alert.file) {
                (Some(url), _) => self.post(url, key, body).await,
                (None, Some(path)) => append(path, body).await,
                (None, None) => Err(Try::Permanent("no webhook or file".into())),
            };
            match tried {
                Ok(()) => return Ok(()),
                Err(Try::Permanent(why)) => return Err(NotSent::GivenUp(why)),
                Err(Try::Again(why)) => last = why,
            }
            if attempt == alert.max_attempts {
                break;
            }
            tracing::warn!(
                alert = alert.name,
                attempt,
                error = last,
                wait_ms = wait.as_millis() as u64,
                "alert not sent; trying again"
            );
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = stop.cancelled() => return Err(NotSent::Stopped),
            }
            wait = (wait * 2).min(MAX_WAIT);
        }
        Err(NotSent::GivenUp(format!(
            "{} tries failed; the last: {last}",
            alert.max_attempts
        )))
    }

    async fn post(&self, url: &str, key: &str, body: &str) -> Result<(), Try> {
        let response = self
            .client
            .post(url)
            .header("Content-Type", "application/json")
            .header("Idempotency-Key", key)
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| Try::Again(format!("{url}: {e}")))?;
        let status = response.status();
        match status.as_u16() {
            200..=299 => Ok(()),
            408 | 425 | 429 | 500..=599 => Err(Try::Again(format!("{url}: HTTP {status}"))),
            _ => Err(Try::Permanent(format!("{url} refused it: HTTP {status}"))),
        }
    }
}

/// How one try went wrong.
enum Try {
    /// It may work later.
    Again(String),
    /// It will not.
    Permanent(String),
}

/// Appends `body` and a newline to `path` in one write, and flushes it to disk.
async fn append(path: &Path, body: &str) -> Result<(), Try> {
    let (path, shown) = (path.to_path_buf(), path.display().to_string());
    let line = format!("{body}\n");
    tokio::task::spawn_blocking(move || {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        file.write_all(line.as_bytes())?;
        file.sync_data()
    })
    .await
    .map_err(|e| Try::Again(e.to_string()))?
    .map_err(|e| Try::Again(format!("{shown}: {e}")))
}

//! Alerts (`[[alert]]`): new articles tagged relevant, of the topics, languages and sources an
//! alert names, are posted as JSON to its webhook or appended to its file, once each.
//!
//! The alerter reads the store, not the pipeline: it follows the articles stored since it last
//! looked (a cursor per alert, kept in the store), so a slow or dead webhook never holds the
//! pipeline back, and a restarted daemon goes on where it stopped, skipping nothing. What became
//! of each alert for each article (`sent`, or why it was given up) is recorded in the store and
//! never sent again; daemons sharing a store claim each alert before sending it. A daemon killed
//! between sending and recording may send that one alert again on its next run: every message
//! carries an `idempotency_key` (also its `Idempotency-Key` header) by which a receiver can drop
//! the repeat.
//!
//! It is not a notification service: no templates, no e-mail, no chat formats.

mod config;
mod deliver;
mod rule;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use nichiro_store::{Claim, Store, StoreError, StoredArticle};
use tokio_util::sync::CancellationToken;

pub use config::AlertConfig;
pub use rule::{AlertMessage, idempotency_key, qualifies};

/// Articles read from the store at a time.
const BATCH: usize = 100;
/// A daemon's claim on sending one alert lasts as long as all its tries may take, and this.
const CLAIM_MARGIN: Duration = Duration::from_secs(60);

/// Why the alerter stopped.
#[derive(Debug)]
pub enum AlertError {
    /// The HTTP client could not be built.
    Client(String),
    /// The store failed.
    Store(StoreError),
}

impl std::fmt::Display for AlertError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AlertError::Client(e) => f.write_str(e),
            AlertError::Store(e) => write!(f, "alerts: {e}"),
        }
    }
}

impl std::error::Error for AlertError {}

impl From<StoreError> for AlertError {
    fn from(e: StoreError) -> Self {
        AlertError::Store(e)
    }
}

/// The store, shared by the alerter's blocking calls.
type SharedStore = Arc<Mutex<Box<dyn Store>>>;

/// Runs `f` over the store on a blocking thread.
async fn with_store<T: Send + 'static>(
    store: &SharedStore,
    f: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let store = Arc::clone(store);
    tokio::task::spawn_blocking(move || {
        let store = store.lock().unwrap_or_else(|p| p.into_inner());
        f(store.as_ref())
    })
    .await
    .map_err(|e| StoreError::Corrupt(format!("the alerts' store call failed: {e}")))?
}

/// The alerts of a daemon, ready to follow what is stored.
pub struct Alerter {
    alerts: Vec<AlertConfig>,
    ctx: Context,
}

impl Alerter {
    /// The `alerts` over `store` (a handle of their own), sent as `holder` (this process, in
    /// claims), for articles stored at least `settle` ago. A new alert starts with the
    /// articles stored from now on, not the whole store: its starting point is recorded
    /// before this returns.
    pub async fn new(
        alerts: Vec<AlertConfig>,
        store: Box<dyn Store>,
        holder: String,
        settle: Duration,
    ) -> Result<Alerter, AlertError> {
        let sender = deliver::Sender::new().map_err(AlertError::Client)?;
        let store: SharedStore = Arc::new(Mutex::new(store));
        for alert in &alerts {
            let name = alert.name.clone();
            let started = with_store(&store, move |s| {
                if s.alert_cursor(&name)?.is_some() {
                    return Ok(false);
                }
                s.set_alert_cursor(&name, s.last_article_number()?)?;
                Ok(true)
            })
            .await?;
            if started {
                tracing::info!(
                    alert = alert.name,
                    "new alert: it is for articles stored from now on"
                );
            }
        }
        Ok(Alerter {
            alerts,
            ctx: Context {
                store,
                sender,
                holder,
                stop: CancellationToken::new(),
                settle: chrono::Duration::from_std(settle).unwrap_or(chrono::Duration::MAX),
            },
        })
    }

    /// Sends the alerts for what is stored, checking every `every`, until `stop`. A store
    /// error is tried again at the next check; an alert that cannot be delivered is given up
    /// and recorded, and the others go on.
    pub async fn run(mut self, every: Duration, stop: CancellationToken) -> Result<(), AlertError> {
        self.ctx.stop = stop;
        // Each alert follows the store on its own: a webhook that is down holds up its own
        // alert's next articles, not the other alerts.
        let ctx = Arc::new(self.ctx);
        let mut followers = tokio::task::JoinSet::new();
        for alert in self.alerts {
            let ctx = Arc::clone(&ctx);
            followers.spawn(async move { ctx.follow_until_stopped(&alert, every).await });
        }
        while followers.join_next().await.is_some() {}
        Ok(())
    }
}

impl Context {
    /// Follows the store for `alert`, checking every `every`, until stopped.
    async fn follow_until_stopped(&self, alert: &AlertConfig, every: Duration) {
        let mut failing = false;
        loop {
            match self.follow(alert).await {
                Ok(Followed::More) => {
                    failing = false;
                    continue;
                }
                Ok(Followed::UpToDate) => failing = false,
                Ok(Followed::Stopped) => return,
                // A store out of reach for a while (a server restarting, a busy file): said
                // once, tried again at the next check; nothing is skipped.
                Err(error) => {
                    if !failing {
                        tracing::warn!(alert = alert.name, %error, "alerts cannot read the store; trying again");
                    }
                    failing = true;
                }
            }
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                () = self.stop.cancelled() => return,
            }
        }
    }
}

struct Context {
    store: SharedStore,
    sender: deliver::Sender,
    holder: String,
    stop: CancellationToken,
    /// How old an article must be before the cursor passes it.
    settle: chrono::Duration,
}

/// How far one alert got.
enum Followed {
    /// A whole batch was read: there may be more.
    More,
    /// Up to date, or waiting (for articles to settle, or for another daemon's claim).
    UpToDate,
    Stopped,
}

/// What became of one qualifying article.
enum Handled {
    /// Sent, given up, or found done: the cursor may pass it.
    Done,
    /// Another daemon holds its claim: looked at again on the next check, until that daemon
    /// records it or its claim runs out.
    HeldElsewhere,
    /// The daemon is stopping before it was sent.
    Stopped,
}

impl Context {
    /// Handles the next batch of articles stored since `alert` last looked.
    async fn follow(&self, alert: &AlertConfig) -> Result<Followed, AlertError> {
        let name = alert.name.clone();
        let batch = with_store(&self.store, move |s| {
            let cursor = s.alert_cursor(&name)?.unwrap_or(0);
            s.articles_after(cursor, BATCH)
        })
        .await?;
        let full = batch.len() == BATCH;
        let settled_before = chrono::Utc::now() - self.settle;
        for (number, article) in batch {
            if self.stop.is_cancelled() {
                return Ok(Followed::Stopped);
            }
            // Not past an article stored too recently: on PostgreSQL, a number is taken when
            // a row is written, not when its transaction commits, so a lower number may still
            // appear; once the articles before it have settled, none will.
            if article.stored_at > settled_before {
                return Ok(Followed::UpToDate);
            }
            if qualifies(alert, &article) {
                match self.handle(alert, number, &article).await? {
                    Handled::Done => {}
                    Handled::HeldElsewhere => return Ok(Followed::UpToDate),
                    Handled::Stopped => return Ok(Followed::Stopped),
                }
            }
            let name = alert.name.clone();
            with_store(&self.store, move |s| s.set_alert_cursor(&name, number)).await?;
        }
        Ok(if full {
            Followed::More
        } else {
            Followed::UpToDate
        })
    }

    /// Sends `alert` for the qualifying `article` unless it was, or it copies an article it
    /// was sent for; records the outcome. False when stopped before it was sent.
    async fn handle(
        &self,
        alert: &AlertConfig,
        number: i64,
        article: &StoredArticle,
    ) -> Result<Handled, AlertError> {
        let (name, url) = (alert.name.clone(), article.url.clone());
        let copied = article
            .duplicate_of
            .as_ref()
            .filter(|_| alert.skip_copies)
            .map(|d| d.id.clone());
        let holder = self.holder.clone();
        let key = format!("alert:{name}:{url}");
        let claim = deliver::longest_send(alert) + CLAIM_MARGIN;
        // Claimed, then looked up again: another daemon that sent it recorded it before it
        // let its claim go.
        let go = with_store(&self.store, move |s| {
            if s.alert_outcome(&name, &url)?.is_some() {
                return Ok(Go::Done);
            }
            if let Some(original) = copied
                && s.alert_outcome(&name, &original)?.as_deref() == Some("sent")
            {
                s.record_alert(&name, &url, &format!("not sent: copies {original}"))?;
                return Ok(Go::Done);
            }
            if s.claim(&key, &holder, claim)? != Claim::Granted {
                return Ok(Go::HeldElsewhere);
            }
            if s.alert_outcome(&name, &url)?.is_some() {
                s.release(&key, &holder)?;
                return Ok(Go::Done);
            }
            Ok(Go::Send)
        })
        .await?;
        match go {
            Go::Done => return Ok(Handled::Done),
            Go::HeldElsewhere => return Ok(Handled::HeldElsewhere),
            Go::Send => {}
        }
        let message = AlertMessage::new(alert, number, article);
        let body = serde_json::to_string(&message).expect("an alert is plain JSON");
        let sent = self
            .sender
            .send(alert, &message.idempotency_key, &body, &self.stop)
            .await;
        let outcome = match &sent {
            Ok(()) => {
                tracing::info!(alert = alert.name, url = article.url, "alert sent");
                "sent".to_string()
            }
            Err(deliver::NotSent::GivenUp(why)) => {
                tracing::error!(
                    alert = alert.name,
                    url = article.url,
                    error = why,
                    "alert given up"
                );
                format!("given up: {why}")
            }
            Err(deliver::NotSent::Stopped) => String::new(),
        };
        let (name, url, holder) = (alert.name.clone(), article.url.clone(), self.holder.clone());
        let key = format!("alert:{name}:{url}");
        with_store(&self.store, move |s| {
            if !outcome.is_empty() {
                s.record_alert(&name, &url, &outcome)?;
            }
            s.release(&key, &holder)
        })
        .await?;
        Ok(match sent {
            Err(deliver::NotSent::Stopped) => Handled::Stopped,
            _ => Handled::Done,
        })
    }
}

/// Whether to send an alert.
enum Go {
    Send,
    Done,
    HeldElsewhere,
}

#[cfg(test)]
mod tests;

//! nichiro's web face, served from inside `nichiro run`: `/healthz` (alive), `/readyz`
//! (ready to work: started, the store reachable and taking writes), `/metrics` (Prometheus
//! text, rendered by `metrics-exporter-prometheus` from figures recorded through the `metrics`
//! facade), a read-only JSON API over the store (`/api/articles`, `/api/articles/{id}`,
//! `/api/sources`, `/api/topics`), the reader's pages (`/`, `/articles/{id}`, `/sources`),
//! and completeness monitoring: which sources have gone quiet far past their rhythm.
//!
//! It is not the pipeline: it writes nothing and starts nothing. What the running daemon knows
//! (its counters, whether it is ready) reaches it through [`Live`]; what is stored, through a
//! store handle of its own, read on blocking threads.

mod api;
mod config;
pub mod freshness;
mod pages;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use nichiro_store::{Store, StoreError};
use tokio_util::sync::CancellationToken;

pub use config::ServerConfig;

/// What the running daemon tells the server.
pub trait Live: Send + Sync + 'static {
    /// Why the daemon is not ready now (still starting; the store refuses writes), or `None`
    /// when it is.
    fn not_ready(&self) -> Option<String>;
    /// Records the daemon's live figures through the `metrics` macros (`counter!`,
    /// `gauge!`); called on every scrape, with the server's recorder in place.
    fn record_metrics(&self);
}

/// A configured source, as the API lists it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct SourceInfo {
    /// Its name in the config.
    pub name: String,
    /// Its kind (`feed`, `sitemap`, `dir`, …).
    pub kind: String,
    /// Whether it is enabled.
    pub enabled: bool,
    /// Whether it publishes, so that its silence means something (feeds, sitemaps, pages;
    /// not local folders or archives).
    pub monitored: bool,
}

/// How many of a source's latest articles its rhythm is learned from.
const RHYTHM_ARTICLES: usize = 200;

/// A source as judged now: its last poll and its freshness.
pub(crate) struct Judged {
    pub(crate) source: SourceInfo,
    pub(crate) poll: Option<nichiro_model::SourcePoll>,
    pub(crate) freshness: freshness::Freshness,
}

/// How late a poll may be before its source counts as slow.
const OVERDUE: chrono::Duration = chrono::Duration::minutes(10);

impl Judged {
    /// The source's health in a word: `disabled`, `stale`, `never polled`, `failing`, `slow`
    /// (its next poll is more than ten minutes overdue: the daemon is behind with it, a host
    /// backed off or pacing it), `learning` (too few articles to know its rhythm) or `ok`.
    pub(crate) fn health(&self, now: chrono::DateTime<chrono::Utc>) -> &'static str {
        match &self.poll {
            _ if !self.source.enabled => "disabled",
            _ if self.freshness.is_stale() => "stale",
            None => "never polled",
            Some(p) if p.failures > 0 => "failing",
            Some(p) if p.next_poll_at.is_some_and(|next| now - next > OVERDUE) => "slow",
            _ if self.freshness.state == "learning" => "learning",
            Some(_) => "ok",
        }
    }
}

/// Judges every source at `now` from what `store` holds.
fn judge_sources(
    store: &dyn Store,
    sources: &[SourceInfo],
    config: &ServerConfig,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<Judged>, StoreError> {
    sources
        .iter()
        .map(|source| {
            let poll = store.last_poll(&source.name)?;
            let freshness = if source.enabled && source.monitored {
                let arrivals = store.source_arrivals(&source.name, RHYTHM_ARTICLES)?;
                let failing_since = poll.as_ref().and_then(|p| p.failing_since);
                freshness::assess(&arrivals, failing_since, config, now)
            } else {
                freshness::Freshness::not_monitored()
            };
            Ok(Judged {
                source: source.clone(),
                poll,
                freshness,
            })
        })
        .collect()
}

/// Everything the handlers share.
pub struct ServerState {
    config: ServerConfig,
    store: Mutex<Box<dyn Store>>,
    live: Arc<dyn Live>,
    sources: Vec<SourceInfo>,
    version: String,
    /// The server's own recorder, until it is made the process's ([`ServerState::install_recorder`]).
    recorder: Option<PrometheusRecorder>,
    metrics: PrometheusHandle,
}

/// Buckets of the time histograms, in seconds.
const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

impl ServerState {
    /// The state over `store` (a handle of the server's own, not the pipeline's), the daemon's
    /// `live` figures, the configured `sources` and the program's `version`.
    pub fn new(
        config: ServerConfig,
        store: Box<dyn Store>,
        live: Arc<dyn Live>,
        sources: Vec<SourceInfo>,
        version: &str,
    ) -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets(SECONDS_BUCKETS)
            .expect("the buckets are not empty")
            .build_recorder();
        let metrics = recorder.handle();
        ServerState {
            config,
            store: Mutex::new(store),
            live,
            sources,
            version: version.to_string(),
            recorder: Some(recorder),
            metrics,
        }
    }

    /// Makes the server's recorder the process's, so that what the stages record as it
    /// happens (times per stage and fetch, articles stored by language) reaches `/metrics`.
    /// Fails when the process has one already.
    pub fn install_recorder(&mut self) -> Result<(), String> {
        let recorder = self
            .recorder
            .take()
            .ok_or("the recorder is installed already")?;
        metrics::set_global_recorder(recorder).map_err(|e| e.to_string())
    }

    /// Runs `record` with the server's recorder in place (its own, or the process's).
    fn recording(&self, record: impl FnOnce()) {
        match &self.recorder {
            Some(local) => metrics::with_local_recorder(local, record),
            None => record(),
        }
    }

    /// Every source judged now.
    async fn judged(self: &Arc<Self>) -> Result<Vec<Judged>, ApiError> {
        let state = Arc::clone(self);
        self.read(move |store| {
            judge_sources(store, &state.sources, &state.config, chrono::Utc::now())
        })
        .await
    }

    /// Runs `read` over the store on a blocking thread (the store's calls block).
    async fn read<T: Send + 'static>(
        self: &Arc<Self>,
        read: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let state = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let store = state.store.lock().unwrap_or_else(|p| p.into_inner());
            read(store.as_ref())
        })
        .await
        .map_err(|e| ApiError::internal(format!("the store read failed: {e}")))?
        .map_err(|e| ApiError::unavailable(format!("the store cannot be read: {e}")))
    }
}

/// An error answered as `{"error": "..."}` with its status.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
}

impl ApiError {
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }

    fn unavailable(message: String) -> Self {
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message,
        }
    }

    fn internal(message: String) -> Self {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.message });
        (self.status, axum::Json(body)).into_response()
    }
}

/// The routes, over `state`.
pub fn router(state: Arc<ServerState>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_page))
        .merge(api::routes())
        .merge(pages::routes())
        .fallback(not_found)
        .with_state(state)
}

/// Binds `addr` and serves until `done` fires. Returns the bound address (port 0 picks one).
pub async fn serve(
    addr: SocketAddr,
    state: Arc<ServerState>,
    done: CancellationToken,
) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    tokio::spawn(watch_staleness(Arc::clone(&state), done.clone()));
    // Histograms keep their samples until upkeep folds them in: keep them bounded between
    // scrapes.
    let upkeep = (state.metrics.clone(), done.clone());
    tokio::spawn(async move {
        let (handle, done) = upkeep;
        loop {
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(5)) => handle.run_upkeep(),
                () = done.cancelled() => return,
            }
        }
    });
    let app = router(state);
    tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move { done.cancelled().await })
            .await;
        if let Err(error) = served {
            tracing::error!(%error, "the web server stopped");
        }
    });
    Ok(bound)
}

/// Every `stale_check_secs`, judges the sources and logs each that turned stale (a WARN, once)
/// or fresh again (an INFO), until `done`.
async fn watch_staleness(state: Arc<ServerState>, done: CancellationToken) {
    let mut watch = freshness::StaleWatch::default();
    let every = Duration::from_secs(state.config.stale_check_secs);
    loop {
        if let Ok(judged) = state.judged().await {
            for j in judged {
                match watch.observe(&j.source.name, &j.freshness) {
                    Some(freshness::Turn::Stale) => tracing::warn!(
                        source = j.source.name,
                        reason = j.freshness.reason.as_deref().unwrap_or(""),
                        "source is stale"
                    ),
                    Some(freshness::Turn::Recovered) => {
                        tracing::info!(source = j.source.name, "source is fresh again")
                    }
                    None => {}
                }
            }
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = done.cancelled() => return,
        }
    }
}

async fn not_found() -> ApiError {
    ApiError::not_found(
        "no such page: try /, /sources, /healthz, /readyz, /metrics, /api/articles, /api/sources, /api/topics, /api/openapi.json",
    )
}

/// Alive: the process answers.
async fn healthz() -> &'static str {
    "ok\n"
}

/// How long a readiness check waits for the store.
const STORE_PING: Duration = Duration::from_secs(5);

/// Ready: started, the store taking writes, and the store answering a read within
/// [`STORE_PING`]. 503 with the reason otherwise.
async fn readyz(State(state): State<Arc<ServerState>>) -> Response {
    if let Some(reason) = state.live.not_ready() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {reason}\n"),
        )
            .into_response();
    }
    let ping = state.read(|store| store.last_article_number());
    match tokio::time::timeout(STORE_PING, ping).await {
        Ok(Ok(_)) => "ready\n".into_response(),
        Ok(Err(error)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {}\n", error.message),
        )
            .into_response(),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "not ready: the store did not answer within {} s\n",
                STORE_PING.as_secs()
            ),
        )
            .into_response(),
    }
}

/// The Prometheus text: the daemon's live figures, each source's last poll from the store,
/// and `nichiro_build_info`.
async fn metrics_page(State(state): State<Arc<ServerState>>) -> Response {
    let judged = state.judged().await.unwrap_or_default();
    state.metrics.run_upkeep();
    state.recording(|| {
        metrics::gauge!("nichiro_build_info", "version" => state.version.clone()).set(1.0);
        state.live.record_metrics();
        record_source_gauges(&judged);
    });
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

/// Per source: failures in a row, last poll, last new article, whether it is stale.
fn record_source_gauges(judged: &[Judged]) {
    use metrics::{describe_gauge, gauge};
    describe_gauge!(
        "nichiro_source_stale",
        "1 while a source is stale: silent far past its rhythm, or failing too long."
    );
    describe_gauge!(
        "nichiro_source_failures_in_a_row",
        "Polls of a source failed in a row."
    );
    describe_gauge!(
        "nichiro_source_last_poll_timestamp_seconds",
        "When a source was last polled (Unix time)."
    );
    describe_gauge!(
        "nichiro_source_last_new_item_timestamp_seconds",
        "When a source's newest article was stored (Unix time)."
    );
    for j in judged {
        let source = j.source.name.clone();
        if j.freshness.state != "not monitored" {
            gauge!("nichiro_source_stale", "source" => source.clone())
                .set(if j.freshness.is_stale() { 1.0 } else { 0.0 });
        }
        if let Some(last) = j.freshness.last_new_item {
            gauge!("nichiro_source_last_new_item_timestamp_seconds", "source" => source.clone())
                .set(last.timestamp() as f64);
        }
        if let Some(poll) = &j.poll {
            gauge!("nichiro_source_failures_in_a_row", "source" => source.clone())
                .set(poll.failures as f64);
            gauge!("nichiro_source_last_poll_timestamp_seconds", "source" => source)
                .set(poll.polled_at.timestamp() as f64);
        }
    }
}

#[cfg(test)]
mod tests;

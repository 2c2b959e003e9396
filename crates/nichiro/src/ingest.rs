//! `backfill` and `run`: the pipeline with signals, progress and a closing summary.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use nichiro_fetch::{PollMode, SourceKind};
use nichiro_pipeline::{Config, Pipeline, Progress, Shutdown};
use tokio_util::sync::CancellationToken;

/// Runs the pipeline once (`PollMode::Once`) or until stopped (`PollMode::Forever`, with the
/// web server of `[server]` unless it is off; `listen` overrides its address and turns it on).
/// Fails when at least the share `fail_at` of the sources failed.
pub async fn ingest(
    config_path: &Path,
    mode: PollMode,
    since: Option<DateTime<Utc>>,
    listen: Option<std::net::SocketAddr>,
    fail_at: f64,
) -> anyhow::Result<ExitCode> {
    let config = Config::load(config_path)?;
    let serve_at = match mode {
        PollMode::Forever if listen.is_some() || config.server.enabled => {
            Some(listen.unwrap_or(config.server.listen))
        }
        _ => None,
    };
    let grace = Duration::from_secs(config.pipeline.grace_period_secs);
    let sources = config.enabled_sources().count();
    if sources == 0 {
        tracing::warn!(config = %config_path.display(), "no enabled source: nothing to do");
    }
    // Signals are heard from the start: a SIGTERM while the store and the tagger load (which
    // takes a while over a large store) ends the run cleanly too.
    let shutdown = Shutdown::default();
    let signals = Signals::listen().context("cannot listen for signals")?;
    tokio::spawn(watch_signals(signals, shutdown.clone(), grace));
    // The web server answers from the start: alive at once, ready once the pipeline runs.
    let done = CancellationToken::new();
    let live = crate::metrics::DaemonLive::new(Duration::from_secs(config.server.stuck_after_secs));
    if let Some(addr) = serve_at {
        let bound = start_server(&config, addr, live.clone(), done.clone()).await?;
        tracing::info!(
            "serving health, metrics and the API on http://{bound}/ (/healthz, /readyz, \
             /metrics, /api/articles, /api/sources)"
        );
    }
    let (alerts, store_config) = (config.alerts.clone(), config.store.clone());
    // Opening the store blocks (a database server's client runs its own runtime).
    let starting = tokio::task::spawn_blocking(move || Pipeline::new(config));
    let pipeline = tokio::select! {
        started = starting => started
            .context("cannot start the pipeline")?
            .context("cannot start the pipeline")?,
        () = shutdown.stop.cancelled() => {
            crate::logging::say(
                tracing::Level::WARN,
                "stopped by signal while starting; nothing was fetched",
            );
            return Ok(ExitCode::SUCCESS);
        }
    };
    live.started(pipeline.progress());
    let alerting = if mode == PollMode::Forever && !alerts.is_empty() {
        Some(start_alerts(alerts, &store_config, done.clone()).await?)
    } else {
        None
    };
    let progress = pipeline.progress();
    let reporter = tokio::spawn(report_progress(pipeline.progress(), mode, done.clone()));
    let summary = pipeline.run(mode, since, shutdown.clone()).await;
    done.cancel();
    let _ = reporter.await;
    // The alerts stop between two alerts (one waiting to be tried again is left, its claim
    // released, for the next run).
    if let Some(alerting) = alerting {
        let _ = tokio::time::timeout(Duration::from_secs(15), alerting).await;
    }
    let summary = match summary {
        Ok(summary) => summary,
        Err(error) => {
            // A run that had to stop (a full disk, a store refusing writes) still says what
            // it did before: what is counted as new is stored.
            let _ = std::io::Write::write_all(
                &mut std::io::stdout().lock(),
                progress.snapshot().to_string().as_bytes(),
            );
            return Err(error.into());
        }
    };
    std::io::Write::write_all(
        &mut std::io::stdout().lock(),
        summary.to_string().as_bytes(),
    )?;
    if shutdown.stop.is_cancelled() {
        crate::logging::say(
            tracing::Level::WARN,
            "stopped by signal; the next run continues where this one stopped",
        );
    }
    let failed_sources: std::collections::BTreeSet<&str> = summary
        .source_failures
        .iter()
        .map(|(s, _)| s.as_str())
        .collect();
    // Compared with a little slack: 0.07 of 100 sources is 7.000000000000001 in floats.
    if sources > 0 && failed_sources.len() as f64 >= fail_at * sources as f64 - 1e-9 {
        let names: Vec<&str> = failed_sources.into_iter().collect();
        let which = if names.len() == sources {
            "every source failed".to_string()
        } else {
            format!("{} of {sources} sources failed", names.len())
        };
        crate::logging::say(
            tracing::Level::ERROR,
            &format!("error: {which}: {}", names.join(", ")),
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// Opens a store handle for the alerts and follows what is stored with them until `done`.
async fn start_alerts(
    alerts: Vec<nichiro_alert::AlertConfig>,
    store_config: &nichiro_store::StoreConfig,
    done: CancellationToken,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let store_config = store_config.clone();
    let store = tokio::task::spawn_blocking(move || nichiro_store::open(&store_config))
        .await
        .context("cannot open the store for the alerts")?
        .context("cannot open the store for the alerts")?;
    let holder = format!("{}-alerts", nichiro_pipeline::claims::holder_id());
    // Articles are alerted once they are 5 s old: on PostgreSQL, one stored by a
    // transaction still open takes a lower number than one stored after it.
    let alerter = nichiro_alert::Alerter::new(alerts, store, holder, Duration::from_secs(5))
        .await
        .context("cannot start the alerts")?;
    Ok(tokio::spawn(async move {
        if let Err(error) = alerter.run(Duration::from_secs(2), done).await {
            tracing::error!(%error, "alerts stopped; the pipeline goes on");
        }
    }))
}

/// Opens the server's own store handle and serves `[server]` at `addr` until `done`.
async fn start_server(
    config: &Config,
    addr: std::net::SocketAddr,
    live: crate::metrics::DaemonLive,
    done: CancellationToken,
) -> anyhow::Result<std::net::SocketAddr> {
    let store_config = config.store.clone();
    let store = tokio::task::spawn_blocking(move || nichiro_store::open(&store_config))
        .await
        .context("cannot open the store for the web server")?
        .context("cannot open the store for the web server")?;
    let sources = config
        .sources
        .iter()
        .map(|s| nichiro_server::SourceInfo {
            name: s.name.clone(),
            kind: serde_json::to_value(s.kind)
                .ok()
                .and_then(|k| k.as_str().map(str::to_string))
                .unwrap_or_default(),
            enabled: s.enabled,
            monitored: matches!(
                s.kind,
                SourceKind::Feed | SourceKind::Sitemap | SourceKind::Page
            ),
        })
        .collect();
    let mut state = nichiro_server::ServerState::new(
        config.server.clone(),
        store,
        std::sync::Arc::new(live),
        sources,
        env!("CARGO_PKG_VERSION"),
    );
    state
        .install_recorder()
        .map_err(|e| anyhow::anyhow!("cannot record metrics: {e}"))?;
    nichiro_server::serve(addr, std::sync::Arc::new(state), done)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {addr} for the web server (set [server] listen to another \
                 address, or enabled = false)"
            )
        })
}

/// First SIGINT/SIGTERM: stop new fetches and drain, aborting fetches still in flight after
/// `grace`. Second signal: abort at once.
async fn watch_signals(mut signals: Signals, shutdown: Shutdown, grace: Duration) {
    let mut heard = 0;
    loop {
        if signals.next().await.is_err() {
            return;
        }
        heard += 1;
        if heard == 1 {
            // Cancel first: the log line then tells that no new fetch can start.
            shutdown.stop.cancel();
            tracing::warn!(
                grace_secs = grace.as_secs(),
                "stopping: no new fetches; finishing what is in flight"
            );
            let abort = shutdown.abort.clone();
            tokio::spawn(async move {
                tokio::time::sleep(grace).await;
                if !abort.is_cancelled() {
                    tracing::warn!("grace period over: aborting fetches in flight");
                    abort.cancel();
                }
            });
        } else {
            tracing::warn!("second signal: aborting fetches in flight");
            shutdown.abort.cancel();
        }
    }
}

/// SIGINT and SIGTERM, listened for from the moment this is made.
#[cfg(unix)]
struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn listen() -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    async fn next(&mut self) -> std::io::Result<()> {
        tokio::select! {
            _ = self.interrupt.recv() => Ok(()),
            _ = self.terminate.recv() => Ok(()),
        }
    }
}

#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn listen() -> std::io::Result<Signals> {
        Ok(Signals)
    }

    async fn next(&mut self) -> std::io::Result<()> {
        tokio::signal::ctrl_c().await
    }
}

/// A progress bar on a terminal; otherwise a log line every 10 seconds.
async fn report_progress(progress: Progress, mode: PollMode, done: CancellationToken) {
    let bar = (mode == PollMode::Once && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    });
    let period = if bar.is_some() {
        Duration::from_millis(200)
    } else {
        Duration::from_secs(10)
    };
    let mut ticker = tokio::time::interval(period);
    ticker.tick().await;
    let started = std::time::Instant::now();
    let mut archive_style = false;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = done.cancelled() => break,
        }
        let s = progress.snapshot();
        let archives = ArchiveFigures::of(&s, started.elapsed());
        match (&bar, &archives) {
            // Archive sources: files are the unit of the bar, records the pace.
            (Some(bar), Some(a)) => {
                if !archive_style {
                    archive_style = true;
                    bar.set_style(
                        ProgressStyle::with_template(
                            "{spinner} [{elapsed_precise}] {bar:30} files {pos}/{len} eta {eta} {msg}",
                        )
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    );
                }
                bar.set_length(a.files);
                bar.set_position(a.files_done);
                bar.set_message(format!(
                    "records {} ({}/s) candidates {} stored {} relevant {}",
                    a.records, a.records_per_sec, s.queued, s.new, s.relevant
                ));
            }
            (Some(bar), None) => {
                bar.set_length(s.queued);
                bar.set_position(s.done());
                bar.set_message(format!(
                    "new {} relevant {} failed {}",
                    s.new, s.relevant, s.failed
                ));
            }
            (None, Some(a)) => tracing::info!(
                files_done = a.files_done,
                files_left = a.files - a.files_done.min(a.files),
                records = a.records,
                records_per_sec = a.records_per_sec,
                candidates = s.queued,
                new = s.new,
                relevant = s.relevant,
                failed = s.failed,
                eta_secs = a.eta_secs,
                "progress"
            ),
            (None, None) => tracing::info!(
                queued = s.queued,
                fetched = s.fetched,
                new = s.new,
                already_stored = s.already_stored,
                relevant = s.relevant,
                failed = s.failed,
                "progress"
            ),
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
}

/// How far the archive sources of a run are, when it has any.
struct ArchiveFigures {
    files: u64,
    files_done: u64,
    records: u64,
    records_per_sec: u64,
    /// At the pace of the files done so far.
    eta_secs: u64,
}

impl ArchiveFigures {
    fn of(s: &nichiro_pipeline::RunSummary, elapsed: Duration) -> Option<ArchiveFigures> {
        let files: u64 = s.sources.values().map(|c| c.archive_files).sum();
        if files == 0 {
            return None;
        }
        let files_done: u64 = s.sources.values().map(|c| c.archive_files_done).sum();
        let records: u64 = s.sources.values().map(|c| c.records).sum();
        let secs = elapsed.as_secs_f64().max(1e-3);
        let left = files.saturating_sub(files_done);
        Some(ArchiveFigures {
            files,
            files_done,
            records,
            records_per_sec: (records as f64 / secs).round() as u64,
            eta_secs: if files_done == 0 {
                0
            } else {
                (secs / files_done as f64 * left as f64).round() as u64
            },
        })
    }
}

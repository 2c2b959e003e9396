//! The `nichiro` command: CLI, config loading, signals, progress and logs around the pipeline.

mod clean_cmd;
mod cli;
mod health_cmd;
mod ingest;
mod inputs;
mod logging;
mod metrics;
mod read_cmds;
mod show_cmd;
mod tag_cmd;
mod train_cmd;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::Parser;
use nichiro_fetch::PollMode;
use nichiro_pipeline::Config;
use nichiro_store::ArticleFilter;

use cli::{Cli, Command};

/// Where read commands look for a config when none is given.
const DEFAULT_CONFIG: &str = "config/default.toml";

fn main() -> ExitCode {
    let cli = Cli::parse();
    // On a terminal, backfill's progress bar reports progress; info lines would only break it.
    let default_level = match cli.command {
        Command::Backfill { .. } if std::io::stderr().is_terminal() => "warn",
        Command::Backfill { .. } | Command::Run { .. } => "info",
        _ => "warn",
    };
    if let Err(e) = logging::init(cli.log_format, cli.log.as_deref(), default_level) {
        eprintln!("error: {e:#}");
        return ExitCode::from(2);
    }
    match run(cli) {
        Ok(code) => code,
        // A reader that closed stdout early (`nichiro list | head`) wanted no more.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            logging::say(tracing::Level::ERROR, &format!("error: {}", one_line(&e)));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, each said once: a cause whose words its error
/// already gives (an I/O error a config error quotes, SQLite's message inside the store's) is
/// not repeated.
fn one_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string().replace('\n', " ");
        if line.contains(text.as_str()) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    use std::io::ErrorKind::BrokenPipe;
    e.chain().any(|cause| {
        let io = cause.downcast_ref::<std::io::Error>().map(|io| io.kind());
        let json = cause
            .downcast_ref::<serde_json::Error>()
            .and_then(|json| json.io_error_kind());
        io == Some(BrokenPipe) || json == Some(BrokenPipe)
    })
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Backfill { since, fail_at } => {
            let since = since.as_deref().map(parse_since).transpose()?;
            let config = required_config(cli.config.as_deref())?;
            runtime()?.block_on(ingest::ingest(
                &config,
                PollMode::Once,
                since,
                None,
                fail_at,
            ))
        }
        Command::Run { listen } => {
            let config = required_config(cli.config.as_deref())?;
            runtime()?.block_on(ingest::ingest(
                &config,
                PollMode::Forever,
                None,
                listen,
                1.0,
            ))
        }
        Command::Clean {
            paths,
            url,
            jsonl: _,
            pretty,
        } => {
            let (limits, fetch) = match optional_config(cli.config.as_deref())? {
                Some(config) => (config.clean, config.fetch),
                None => Default::default(),
            };
            clean_cmd::clean(&paths, url.as_deref(), pretty, &limits, &fetch)
        }
        Command::Tag {
            paths,
            jsonl,
            corpus,
            topics,
        } => {
            let sources = match optional_config(cli.config.as_deref())? {
                Some(config) => tag_cmd::TagSources {
                    config: config.tag,
                    limits: config.clean,
                },
                None => tag_cmd::TagSources::defaults(),
            };
            tag_cmd::tag(sources, &paths, jsonl.as_deref(), corpus, topics)
        }
        Command::Train {
            jsonl,
            output,
            folds,
            l2,
            dry_run,
            errors,
            topics,
        } => {
            let mut config = match optional_config(cli.config.as_deref())? {
                Some(config) => config.tag,
                None => tag_cmd::TagSources::defaults().config,
            };
            if let Some(topics) = topics {
                config.topics = topics;
            }
            train_cmd::train(
                config,
                train_cmd::TrainRequest {
                    jsonl: &jsonl,
                    output,
                    folds,
                    l2,
                    dry_run,
                    errors,
                },
            )
        }
        Command::Health { addr, alive } => {
            health_cmd::health(addr, if alive { "/healthz" } else { "/readyz" })
        }
        Command::Search {
            query,
            limit,
            filter,
        } => {
            let config = read_config(cli.config.as_deref())?;
            read_cmds::search(&config, &query, &article_filter(filter)?, limit)
        }
        Command::Show { article, json } => {
            let config = read_config(cli.config.as_deref())?;
            show_cmd::show(&config, &article, json)
        }
        Command::List {
            filter,
            limit,
            json,
        } => {
            let config = read_config(cli.config.as_deref())?;
            read_cmds::list(&config, &article_filter(filter)?, limit, json)
        }
        Command::Export {
            format,
            output,
            filter,
        } => {
            let config = read_config(cli.config.as_deref())?;
            read_cmds::export(&config, format, &article_filter(filter)?, output.as_deref())
        }
        Command::Sources => {
            let config = read_config(cli.config.as_deref())?;
            read_cmds::sources(&config)
        }
        Command::Raw { url } => {
            let config = read_config(cli.config.as_deref())?;
            read_cmds::raw(&config, &url)
        }
        Command::Retag { filter, batch, all } => {
            let config = read_config(cli.config.as_deref())?;
            read_cmds::require_store(&config)?;
            let filter = article_filter(filter)?;
            let summary = nichiro_pipeline::retag::retag(
                &config,
                &filter,
                nichiro_pipeline::retag::RetagOptions {
                    batch: batch as usize,
                    all,
                },
            )?;
            std::io::Write::write_all(
                &mut std::io::stdout().lock(),
                summary.to_string().as_bytes(),
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Import { input } => {
            let config = read_config(cli.config.as_deref())?;
            read_cmds::import(&config, &input)
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn required_config(path: Option<&Path>) -> anyhow::Result<PathBuf> {
    path.map(Path::to_path_buf)
        .context("--config FILE is required (try config/offline.toml or config/default.toml)")
}

/// The given config, else the default one when it exists.
fn optional_config(path: Option<&Path>) -> anyhow::Result<Option<Config>> {
    match path {
        Some(path) => Ok(Some(Config::load(path)?)),
        None if Path::new(DEFAULT_CONFIG).is_file() => {
            Ok(Some(Config::load(Path::new(DEFAULT_CONFIG))?))
        }
        None => Ok(None),
    }
}

fn read_config(path: Option<&Path>) -> anyhow::Result<Config> {
    Ok(Config::load(path.unwrap_or(Path::new(DEFAULT_CONFIG)))?)
}

/// The store's filter from the command line's, its dates checked.
fn article_filter(args: cli::FilterArgs) -> anyhow::Result<ArticleFilter> {
    Ok(ArticleFilter {
        topic: args.topic,
        since: args.since.as_deref().map(parse_since).transpose()?,
        until: args.until.as_deref().map(parse_since).transpose()?,
        source: args.source,
        language: args.language,
        relevant_only: args.relevant,
        ..ArticleFilter::default()
    })
}

fn parse_since(text: &str) -> anyhow::Result<DateTime<Utc>> {
    nichiro_model::parse_date(text)
        .map(|d| d.with_timezone(&Utc))
        .with_context(|| format!("bad date {text:?}: use YYYY-MM-DD or RFC 3339"))
}

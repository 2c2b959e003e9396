//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// nichiro watches the news on Russia–Japan relations: it fetches new reporting from feeds,
/// sitemaps, folders and web archives, cleans each page down to its article, tags it against
/// an existing corpus and stores it.
#[derive(Debug, Parser)]
#[command(name = "nichiro", version, about, long_about = None)]
pub struct Cli {
    /// The config file: sources, store, tagging and fetch settings. The read commands use it
    /// to find the store.
    #[arg(
        long,
        short,
        global = true,
        value_name = "FILE",
        env = "NICHIRO_CONFIG"
    )]
    pub config: Option<PathBuf>,

    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Log filter, as in RUST_LOG (`info`, `nichiro_fetch=debug,warn`). Default: RUST_LOG, else
    /// `info` for backfill (`warn` on a terminal, where a progress bar shows) and run, and
    /// `warn` for the other commands.
    #[arg(long, global = true, value_name = "FILTER")]
    pub log: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

/// Log formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// One JSON object per article, every field, text included.
    Jsonl,
    /// A header and one row per article (no text).
    Csv,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Poll every source in the config once, ingest what is new, print a summary and exit.
    ///
    /// Shows a progress bar on a terminal and plain progress lines otherwise. Ctrl-C or
    /// SIGTERM stops new fetches, lets what is in flight finish (within the grace period),
    /// stores it and exits 0; the next run picks up the rest.
    Backfill {
        /// Skip items published before this date (YYYY-MM-DD or RFC 3339).
        #[arg(long, value_name = "DATE")]
        since: Option<String>,
        /// Exit 1 (naming them) when at least this share of the sources failed: 0.5 for
        /// half of them; the default, 1, only when every source failed.
        #[arg(long, value_name = "SHARE", default_value_t = 1.0, value_parser = failed_share)]
        fail_at: f64,
    },
    /// Run as a daemon: poll each source on its own interval until stopped (Ctrl-C, SIGTERM).
    Run {
        /// Serve health (/healthz, /readyz), metrics (/metrics) and the JSON API (/api/...)
        /// at ADDR, overriding `[server] listen` (default 127.0.0.1:8080; port 0 picks a free
        /// port, which the log names). `--metrics ADDR` is the older name of this option.
        #[arg(long, visible_alias = "metrics", value_name = "ADDR")]
        listen: Option<std::net::SocketAddr>,
    },
    /// Clean HTML or text files and print one JSON object per input (id, path, url, title,
    /// authors, published, language, text, …).
    Clean {
        /// Files or folders (read recursively for .html, .htm, .xhtml, .txt); `-` for stdin;
        /// http(s) addresses, fetched once with the config's `[fetch]` settings (robots.txt
        /// obeyed, private addresses refused unless allowed).
        #[arg(required = true, value_name = "PATH|URL")]
        paths: Vec<PathBuf>,
        /// The page's address, for resolving links (a single input only).
        #[arg(long)]
        url: Option<String>,
        /// Print JSON Lines (the default; kept for scripts that ask for it).
        #[arg(long)]
        jsonl: bool,
        /// Print indented JSON objects instead of one per line.
        #[arg(long, conflicts_with = "jsonl")]
        pretty: bool,
    },
    /// Tag texts against the taxonomy and corpus and print one JSON object per input (id,
    /// relevant, relevance, topics with evidence, related documents, duplicate_of).
    Tag {
        /// HTML or text files or folders to tag; `-` for stdin.
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// JSON Lines input of {id, title, text} objects (`-` for stdin).
        #[arg(long, value_name = "FILE")]
        jsonl: Option<PathBuf>,
        /// The corpus folder (default: the config's, else ./corpus).
        #[arg(long, value_name = "DIR")]
        corpus: Option<PathBuf>,
        /// The taxonomy file (default: the config's, else ./config/topics.toml).
        #[arg(long, value_name = "FILE")]
        topics: Option<PathBuf>,
    },
    /// Learn the relevance and topic models from labelled records (JSON Lines of {title,
    /// text, relevant, topics}), print cross-validated figures, and write the model file.
    Train {
        /// The labelled records (`-` for stdin); repeat it (or give several files after it) to
        /// learn from several sets, each reported apart.
        #[arg(long, value_name = "FILE", required = true, num_args = 1..)]
        jsonl: Vec<PathBuf>,
        /// Where to write the model (default: model.toml beside the taxonomy).
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Folds of cross-validation (0 for none).
        #[arg(long, default_value_t = 10)]
        folds: usize,
        /// Strength of the L2 penalty on the weights (0.000001 to 1000000).
        #[arg(long, default_value_t = 1.0, value_parser = parse_l2)]
        l2: f64,
        /// Report only; write no model.
        #[arg(long)]
        dry_run: bool,
        /// List the records cross-validation judged wrongly.
        #[arg(long)]
        errors: bool,
        /// The taxonomy file (default: the config's, else ./config/topics.toml).
        #[arg(long, value_name = "FILE")]
        topics: Option<PathBuf>,
    },
    /// Search stored articles (all words must match; Russian and Japanese work too).
    Search {
        /// The words to look for: all must occur, in any inflection; an argument holding a
        /// space (`"Курильские острова"`) is a phrase, its words together and in order; `OR`
        /// between words takes either.
        #[arg(required = true)]
        query: Vec<String>,
        /// At most this many results.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Show one stored article: its verdict and what moved it, its topics with the sentence
    /// each evidence term came from, the people and places named, related documents,
    /// copies, and its text.
    Show {
        /// The article's URL (canonical, or one it was requested under) or its id (as the
        /// web pages and the API give it).
        #[arg(value_name = "URL|ID")]
        article: String,
        /// Print it as JSON (every field, and its id).
        #[arg(long)]
        json: bool,
    },
    /// List stored articles, newest first.
    List {
        #[command(flatten)]
        filter: FilterArgs,
        /// At most this many.
        #[arg(long)]
        limit: Option<usize>,
        /// Print JSON Lines instead of one line per article.
        #[arg(long)]
        json: bool,
    },
    /// Export stored articles (all, or those the filters let through) to stdout or a file,
    /// streaming them oldest first.
    Export {
        /// The format.
        #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
        format: ExportFormat,
        /// Write here instead of stdout (written to a temporary file, then renamed).
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Show each source of the config and how it fares: when it was last polled, when the
    /// daemon means to poll it next, and its failed polls in a row with the last error.
    Sources,
    /// Ask a running daemon whether it is ready (GET http://ADDR/readyz) and print its answer:
    /// exit 0 when it is, 1 when it is not or cannot be reached. For container health checks.
    Health {
        /// The daemon's `[server] listen` address.
        #[arg(default_value = "127.0.0.1:8080", value_name = "ADDR")]
        addr: std::net::SocketAddr,
        /// Ask only whether it is alive (GET /healthz), not whether it is ready.
        #[arg(long)]
        alive: bool,
    },
    /// Print the page a stored article was cleaned from, as fetched (kept only with
    /// `[store] keep_raw_html = true`).
    Raw {
        /// The article's URL (canonical, or one it was requested under).
        #[arg(value_name = "URL")]
        url: String,
    },
    /// Tag stored articles again with the current taxonomy, gazetteer and model (after
    /// `nichiro train` or an edit of the taxonomy): those the filters let through whose
    /// verdict another tagger gave, in batches, each one transaction. Stopped part-way, the
    /// next run goes on where it stopped. Prints how many verdicts changed.
    Retag {
        #[command(flatten)]
        filter: FilterArgs,
        /// Articles tagged and written per transaction (1 to 100000).
        #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        batch: u32,
        /// Tag again also the articles the current tagger tagged already.
        #[arg(long)]
        all: bool,
    },
    /// Store the articles of a JSON Lines export (`nichiro export`), as they were tagged;
    /// articles already stored are left as they are.
    Import {
        /// The export file (`-` for stdin).
        #[arg(value_name = "FILE")]
        input: PathBuf,
    },
}

/// Which stored articles `search`, `list` and `export` consider (all, without filters).
#[derive(Debug, Clone, Args)]
pub struct FilterArgs {
    /// Only articles with this topic.
    #[arg(long)]
    pub topic: Option<String>,
    /// Only articles published (else fetched) on or after this date (YYYY-MM-DD or RFC 3339).
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Only articles published before this date.
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
    /// Only articles from this source (its name in the config).
    #[arg(long)]
    pub source: Option<String>,
    /// Only articles in this language (en, ru, ja).
    #[arg(long)]
    pub language: Option<String>,
    /// Only articles tagged relevant.
    #[arg(long)]
    pub relevant: bool,
}

/// An L2 penalty: a finite number from 0.000001 to 1000000 (NaN would write a model of NaNs).
fn parse_l2(text: &str) -> Result<f64, String> {
    let l2: f64 = text.parse().map_err(|e| format!("{e}"))?;
    nichiro_model::check_range("--l2", l2, 1e-6, 1e6)?;
    Ok(l2)
}

/// A share of sources: a number above 0, at most 1.
fn failed_share(text: &str) -> Result<f64, String> {
    let share: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    if share > 0.0 && share <= 1.0 {
        Ok(share)
    } else {
        Err("a share above 0 and at most 1 (0.5 for half the sources)".into())
    }
}

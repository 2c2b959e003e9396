//! `search`, `list`, `export`, `import`, `raw` and `sources`: the store, read and filled by
//! hand.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use nichiro_pipeline::Config;
use nichiro_store::{ArticleFilter, ExportFormat, Store, StoredArticle};

use crate::cli;

/// Fails when the config's store does not exist yet: a missing store is an error, not an
/// empty one.
pub fn require_store(config: &Config) -> anyhow::Result<()> {
    let path = &config.store.path;
    if config.store.url.is_none() && !path.is_file() {
        anyhow::bail!(
            "no store at {}: run `nichiro backfill` with this config first",
            path.display()
        );
    }
    Ok(())
}

/// Opens the config's store for reading (see [`require_store`]).
pub fn open_store(config: &Config) -> anyhow::Result<Box<dyn Store>> {
    require_store(config)?;
    Ok(nichiro_store::open(&config.store)?)
}

/// The column labels of [`print_line`].
const COLUMNS: &str = "DATE (UTC)  R  RELEV  TITLE  [TOPICS]  URL";

fn print_line(out: &mut impl Write, a: &StoredArticle) -> std::io::Result<()> {
    // In UTC, as --since and --until read a bare date: a story published at 02:00 in Tokyo
    // is listed on the day before, where a filter by that day finds it.
    let date = a
        .published
        .map(|p| p.with_timezone(&chrono::Utc).format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "----------".into());
    let topics: Vec<&str> = a.topics.iter().map(|t| t.topic.as_str()).collect();
    writeln!(
        out,
        "{date}  {}  {:.2}   {}  [{}]  {}",
        if a.relevant { "R" } else { "-" },
        a.relevance,
        a.title.as_deref().unwrap_or("(untitled)"),
        topics.join(","),
        a.url
    )
}

/// Says on stderr that nothing matched, naming the filters.
fn nothing_matched(what: &str, filter: &ArticleFilter) {
    crate::logging::say(
        tracing::Level::INFO,
        &format!("no stored article {what}{}", describe(filter)),
    );
}

/// The filters in words (` with topic X, in ru`), or nothing.
fn describe(filter: &ArticleFilter) -> String {
    let mut parts = Vec::new();
    if let Some(topic) = &filter.topic {
        parts.push(format!("with topic {topic}"));
    }
    if let Some(language) = &filter.language {
        parts.push(format!("in {language}"));
    }
    if let Some(source) = &filter.source {
        parts.push(format!("from source {source}"));
    }
    if let Some(since) = filter.since {
        parts.push(format!("since {}", since.format("%Y-%m-%d %H:%M UTC")));
    }
    if let Some(until) = filter.until {
        parts.push(format!("until {}", until.format("%Y-%m-%d %H:%M UTC")));
    }
    if filter.relevant_only {
        parts.push("tagged relevant".into());
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    }
}

/// The words of a search as one query: an argument holding a space is a phrase (as the
/// shell passes `"Курильские острова"`), `OR` and quotes are kept.
pub fn query_of(words: &[String]) -> String {
    words
        .iter()
        .map(|w| {
            if w.contains(char::is_whitespace) && !w.contains('"') {
                format!("\"{w}\"")
            } else {
                w.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `search`: the best matches with their score, each with a snippet where the words found
/// are marked «so».
pub fn search(
    config: &Config,
    query: &[String],
    filter: &ArticleFilter,
    limit: usize,
) -> anyhow::Result<ExitCode> {
    let store = open_store(config)?;
    let query = query_of(query);
    let found = store.search_scored(&query, filter, limit)?;
    if found.is_empty() {
        nothing_matched(&format!("matches {query:?}"), filter);
        return Ok(ExitCode::SUCCESS);
    }
    let norms = nichiro_text::query::parse(&query).words();
    let mut out = std::io::stdout().lock();
    writeln!(out, "SCORE  {COLUMNS}")?;
    for (score, article) in &found {
        write!(out, "{score:5.2}  ")?;
        print_line(&mut out, article)?;
        let snippet = nichiro_text::highlight::snippet(&article.text, &norms);
        let marked: String = nichiro_text::highlight::marked(&snippet, &norms)
            .into_iter()
            .map(|(hit, piece)| {
                if hit {
                    format!("«{piece}»")
                } else {
                    piece.to_string()
                }
            })
            .collect();
        writeln!(out, "       {marked}")?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `raw`: the kept page of a stored article, its bytes as fetched, to stdout.
pub fn raw(config: &Config, url: &str) -> anyhow::Result<ExitCode> {
    let store = open_store(config)?;
    let canonical = nichiro_fetch::canonical_url::canonicalize(url);
    let page = match store.raw_page(url)? {
        Some(page) => Some(page),
        None => store.raw_page(&canonical)?,
    };
    let Some(page) = page else {
        if store.is_seen(url)? || store.is_seen(&canonical)? {
            anyhow::bail!(
                "{url}: stored without its page (set `keep_raw_html = true` under [store] to keep pages)"
            );
        }
        anyhow::bail!("{url}: no such article in the store");
    };
    let body = nichiro_store::archive::decompress(&page)?;
    std::io::stdout().lock().write_all(&body)?;
    Ok(ExitCode::SUCCESS)
}

/// `sources`: one line per configured source, tab-separated: name, kind, whether it is
/// enabled, its last poll, its next, and its health.
pub fn sources(config: &Config) -> anyhow::Result<ExitCode> {
    let store = open_store(config)?;
    let mut out = std::io::stdout().lock();
    let time = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    for source in &config.sources {
        let kind = serde_json::to_value(source.kind)?;
        let state = if source.enabled {
            "enabled"
        } else {
            "disabled"
        };
        write!(
            out,
            "{}\t{}\t{state}",
            source.name,
            kind.as_str().unwrap_or("?")
        )?;
        match store.last_poll(&source.name)? {
            None => writeln!(out, "\tnever polled")?,
            Some(poll) => {
                write!(out, "\tpolled {}", time(poll.polled_at))?;
                match poll.next_poll_at {
                    Some(next) => write!(out, "\tnext {}", time(next))?,
                    None => write!(out, "\tnext -")?,
                }
                match &poll.last_error {
                    Some(error) if poll.failures > 0 => {
                        writeln!(out, "\tfailing ({} in a row): {error}", poll.failures)?
                    }
                    _ => writeln!(out, "\tok")?,
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `list`.
pub fn list(
    config: &Config,
    filter: &ArticleFilter,
    limit: Option<usize>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let store = open_store(config)?;
    let mut out = std::io::stdout().lock();
    let listed = store.list(filter, limit)?;
    if listed.is_empty() {
        nothing_matched("matches", filter);
        return Ok(ExitCode::SUCCESS);
    }
    if !json {
        writeln!(out, "{COLUMNS}")?;
    }
    for article in listed {
        if json {
            serde_json::to_writer(&mut out, &article)?;
            writeln!(out)?;
        } else {
            print_line(&mut out, &article)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `export`: to stdout, or to a file written whole (temporary file, then rename).
pub fn export(
    config: &Config,
    format: cli::ExportFormat,
    filter: &ArticleFilter,
    output: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let store = open_store(config)?;
    let format = match format {
        cli::ExportFormat::Jsonl => ExportFormat::Jsonl,
        cli::ExportFormat::Csv => ExportFormat::Csv,
    };
    let count = match output {
        None => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            let n = store.export(format, filter, &mut out)?;
            out.flush()?;
            n
        }
        Some(path) => {
            let partial = path.with_extension("partial");
            let write = || -> anyhow::Result<usize> {
                // The error names the file asked for, not the temporary one beside it.
                let file = std::fs::File::create(&partial)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                let mut out = std::io::BufWriter::new(file);
                let n = store.export(format, filter, &mut out)?;
                out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
                std::fs::rename(&partial, path)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                Ok(n)
            };
            write().inspect_err(|_| {
                let _ = std::fs::remove_file(&partial);
            })?
        }
    };
    tracing::info!(count, "exported");
    Ok(ExitCode::SUCCESS)
}

/// `import`: stores the articles of a JSON Lines export, in batches of 500, each batch one
/// transaction. A line that is not an exported article stops the import with its number;
/// batches before it are stored, and running the import again skips them.
pub fn import(config: &Config, input: &Path) -> anyhow::Result<ExitCode> {
    use std::io::BufRead;
    let mut store = nichiro_store::open(&config.store)?;
    let reader: Box<dyn BufRead> = if input.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        let file = std::fs::File::open(input)
            .with_context(|| format!("cannot read {}", input.display()))?;
        Box::new(std::io::BufReader::new(file))
    };
    let (mut new, mut known) = (0usize, 0usize);
    let mut batch = Vec::with_capacity(500);
    let mut flush = |batch: &mut Vec<nichiro_model::TaggedArticle>| -> anyhow::Result<()> {
        for outcome in store.insert_batch(batch)? {
            match outcome {
                nichiro_store::InsertOutcome::New => new += 1,
                nichiro_store::InsertOutcome::AlreadyStored => known += 1,
            }
        }
        batch.clear();
        Ok(())
    };
    for (number, line) in reader.lines().enumerate() {
        let line = line.with_context(|| format!("cannot read {}", input.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let article: StoredArticle = serde_json::from_str(&line).with_context(|| {
            format!(
                "{}:{}: not an article exported by `nichiro export`",
                input.display(),
                number + 1
            )
        })?;
        batch.push(article.into_tagged());
        if batch.len() == 500 {
            flush(&mut batch)?;
        }
    }
    flush(&mut batch)?;
    store.flush()?;
    writeln!(
        std::io::stdout().lock(),
        "imported {new}, already stored {known}"
    )?;
    Ok(ExitCode::SUCCESS)
}

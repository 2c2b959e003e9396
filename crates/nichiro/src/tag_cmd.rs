//! `tag`: tag files or JSON Lines records and print one JSON object per input.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use nichiro_classify::{TagConfig, Tagger};
use nichiro_clean::Limits;
use nichiro_model::{Article, Tags, dir_document_url, file_url};
use serde::{Deserialize, Serialize};

use crate::inputs::read_inputs;

/// A JSON Lines input record: `{id, title, text}`, or a line of `nichiro export` (which
/// names an article by its `url`, and then the URL is its id).
#[derive(Deserialize)]
struct Record {
    #[serde(default)]
    id: serde_json::Value,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    text: String,
    #[serde(default)]
    url: Option<String>,
}

/// What `tag` prints for one input.
#[derive(Serialize)]
struct Tagged<'a> {
    id: serde_json::Value,
    url: &'a str,
    title: Option<&'a str>,
    #[serde(flatten)]
    tags: &'a Tags,
}

/// Where `tag` finds the taxonomy and corpus.
pub struct TagSources {
    /// Settings from the config file, or defaults relative to the working folder.
    pub config: TagConfig,
    /// Limits for cleaning file inputs.
    pub limits: Limits,
}

impl TagSources {
    /// Settings without a config file: `config/topics.toml` and `corpus/` of the working folder.
    pub fn defaults() -> Self {
        TagSources {
            config: TagConfig {
                topics: PathBuf::from("config/topics.toml"),
                corpus: Some(PathBuf::from("corpus")),
                ..TagConfig::default()
            },
            limits: Limits::default(),
        }
    }
}

/// Tags every input. Each tagged input joins the collection, so a later input that copies an
/// earlier one is marked `duplicate_of` it.
pub fn tag(
    sources: TagSources,
    paths: &[PathBuf],
    jsonl: Option<&Path>,
    corpus: Option<PathBuf>,
    topics: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let mut config = sources.config;
    if let Some(corpus) = corpus {
        config.corpus = Some(corpus);
    }
    if let Some(topics) = topics {
        config.topics = topics;
    }
    if paths.is_empty() && jsonl.is_none() {
        anyhow::bail!("nothing to tag: give files or folders, or --jsonl FILE (- for stdin)");
    }
    // A corpus file is named as the corpus names it, so it is known as itself.
    let corpus_dir = config.corpus.clone();
    let mut tagger = Tagger::from_config(config)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut failed = 0;
    let mut emit =
        |tagger: &mut Tagger, id: serde_json::Value, article: &Article| -> anyhow::Result<()> {
            let tags = tagger.tag(article);
            tagger.remember(article);
            let line = Tagged {
                id,
                url: &article.url,
                title: article.title.as_deref(),
                tags: &tags,
            };
            serde_json::to_writer(&mut out, &line)?;
            writeln!(out)?;
            Ok(())
        };
    for input in read_inputs(paths, sources.limits.max_bytes) {
        let bytes = match input.bytes {
            Ok(b) => b,
            Err(e) => {
                eprintln!("error: {e:#}");
                failed += 1;
                continue;
            }
        };
        let url = if input.id == "stdin" {
            "stdin:".to_string()
        } else {
            corpus_dir
                .as_deref()
                .and_then(|dir| dir_document_url(dir, &input.path))
                .unwrap_or_else(|| file_url(&input.path))
        };
        match nichiro_clean::clean_bytes(
            &bytes,
            input.content_type.as_deref(),
            &url,
            &sources.limits,
        ) {
            Ok(article) => emit(&mut tagger, input.id.into(), &article)?,
            Err(e) => {
                eprintln!("error: {}: {e}", input.path.display());
                failed += 1;
            }
        }
    }
    if let Some(jsonl) = jsonl {
        let reader: Box<dyn BufRead> = if jsonl.as_os_str() == "-" {
            Box::new(std::io::stdin().lock())
        } else {
            let file = std::fs::File::open(jsonl)
                .with_context(|| format!("cannot read {}", jsonl.display()))?;
            Box::new(std::io::BufReader::new(file))
        };
        for (number, line) in reader.lines().enumerate() {
            let line = line.with_context(|| format!("cannot read {}", jsonl.display()))?;
            if line.trim().is_empty() {
                continue;
            }
            let record: Record = match serde_json::from_str(&line) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!(
                        "error: {}:{}: not a {{id, title, text}} record: {e}",
                        jsonl.display(),
                        number + 1
                    );
                    failed += 1;
                    continue;
                }
            };
            let id = match (record.id, &record.url) {
                (serde_json::Value::Null, Some(url)) => serde_json::Value::String(url.clone()),
                (serde_json::Value::Null, None) => {
                    eprintln!(
                        "error: {}:{}: a record needs an id or a url",
                        jsonl.display(),
                        number + 1
                    );
                    failed += 1;
                    continue;
                }
                (id, _) => id,
            };
            let id_text = match &id {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let mut article =
                Article::empty(record.url.unwrap_or_else(|| format!("record:{id_text}")));
            article.title = record.title.filter(|t| !t.trim().is_empty());
            article.text = record.text;
            emit(&mut tagger, id, &article)?;
        }
    }
    out.flush()?;
    Ok(if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

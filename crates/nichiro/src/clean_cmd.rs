//! `clean`: one JSON object per input.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use nichiro_clean::Limits;
use nichiro_model::{Article, file_url};
use serde::Serialize;

use crate::inputs::read_inputs;

/// What `clean` prints for one input.
#[derive(Serialize)]
struct Cleaned<'a> {
    id: &'a str,
    path: String,
    #[serde(flatten)]
    article: &'a Article,
}

/// Cleans every input; failures are reported on stderr and make the exit status 1.
pub fn clean(
    paths: &[PathBuf],
    url: Option<&str>,
    pretty: bool,
    limits: &Limits,
) -> anyhow::Result<ExitCode> {
    let inputs = read_inputs(paths, limits.max_bytes);
    if url.is_some() && inputs.len() > 1 {
        anyhow::bail!(
            "--url names one page, but {} inputs were given",
            inputs.len()
        );
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut failed = 0;
    for input in inputs {
        let bytes = match input.bytes {
            Ok(bytes) => bytes,
            Err(e) => {
                eprintln!("error: {e:#}");
                failed += 1;
                continue;
            }
        };
        let page_url = url.map(str::to_string).unwrap_or_else(|| {
            if input.id == "stdin" {
                "stdin:".to_string()
            } else {
                file_url(&input.path)
            }
        });
        match nichiro_clean::clean_bytes(&bytes, input.content_type, &page_url, limits) {
            Ok(article) => {
                let cleaned = Cleaned {
                    id: &input.id,
                    path: input.path.display().to_string(),
                    article: &article,
                };
                if pretty {
                    serde_json::to_writer_pretty(&mut out, &cleaned)?;
                } else {
                    serde_json::to_writer(&mut out, &cleaned)?;
                }
                writeln!(out)?;
            }
            Err(e) => {
                eprintln!("error: {}: {e}", input.path.display());
                failed += 1;
            }
        }
    }
    out.flush()?;
    Ok(if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

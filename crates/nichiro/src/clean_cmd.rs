//! `clean`: one JSON object per input: a file, a folder's page files, stdin, or a web address
//! (fetched once through the crawler's own fetcher: robots.txt obeyed, private addresses
//! refused unless allowed, size and time limits as configured).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use nichiro_clean::Limits;
use nichiro_model::{Article, file_url};
use serde::Serialize;

use crate::inputs::{Input, read_inputs};

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
    fetch: &nichiro_fetch::FetchConfig,
) -> anyhow::Result<ExitCode> {
    let is_web = |p: &PathBuf| {
        p.to_str()
            .is_some_and(|s| s.starts_with("http://") || s.starts_with("https://"))
    };
    let addresses: Vec<String> = paths
        .iter()
        .filter(|p| is_web(p))
        .filter_map(|p| p.to_str().map(str::to_string))
        .collect();
    let files: Vec<PathBuf> = paths.iter().filter(|p| !is_web(p)).cloned().collect();
    let mut inputs = read_inputs(&files, limits.max_bytes);
    // Each fetched page is named by its final address (after redirects).
    let mut page_urls = vec![None; inputs.len()];
    for (input, final_url) in fetch_pages(&addresses, fetch)? {
        inputs.push(input);
        page_urls.push(final_url);
    }
    if url.is_some() && inputs.len() > 1 {
        anyhow::bail!(
            "--url names one page, but {} inputs were given",
            inputs.len()
        );
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut failed = 0;
    for (input, fetched_url) in inputs.into_iter().zip(page_urls) {
        let bytes = match input.bytes {
            Ok(bytes) => bytes,
            Err(e) => {
                eprintln!("error: {e:#}");
                failed += 1;
                continue;
            }
        };
        let page_url = fetched_url.or(url.map(str::to_string)).unwrap_or_else(|| {
            if input.id == "stdin" {
                "stdin:".to_string()
            } else {
                file_url(&input.path)
            }
        });
        let content_type = input.content_type.as_deref();
        match nichiro_clean::clean_bytes(&bytes, content_type, &page_url, limits) {
            Ok(mut article) => {
                // The address the store would keep: tracking parameters dropped, as the
                // pipeline does.
                article.url = nichiro_fetch::canonical_url::canonicalize(&article.url);
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

/// Fetches each address once through the crawler's fetcher, as inputs with their final
/// addresses; a page that cannot be fetched is an input whose read failed, with the reason.
fn fetch_pages(
    addresses: &[String],
    config: &nichiro_fetch::FetchConfig,
) -> anyhow::Result<Vec<(Input, Option<String>)>> {
    if addresses.is_empty() {
        return Ok(Vec::new());
    }
    let fetcher = nichiro_fetch::HttpFetcher::new(config.clone())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let never = tokio_util::sync::CancellationToken::new();
    Ok(addresses
        .iter()
        .map(|address| {
            let fetched = runtime.block_on(fetcher.get(
                address,
                nichiro_fetch::http::Purpose::Page,
                None,
                &never,
                &never,
            ));
            let (bytes, content_type, final_url) = match fetched {
                Ok(response) => (
                    Ok(response.body),
                    response.content_type,
                    Some(response.final_url),
                ),
                Err(e) => (
                    Err(anyhow::anyhow!("cannot fetch {address}: {e}")),
                    None,
                    None,
                ),
            };
            let input = Input {
                path: PathBuf::from(address),
                id: address.clone(),
                content_type: content_type.map(std::borrow::Cow::Owned),
                bytes,
            };
            (input, final_url)
        })
        .collect())
}

//! A local folder of `.html`, `.htm`, `.xhtml` and `.txt` files, read recursively in name
//! order (so runs are reproducible), each file a page with a `file://` URL.
//!
//! A `manifest.toml` at the folder's top, in the corpus's format (`[[document]]` tables with
//! `file`, and optionally `published` as `YYYY-MM-DD`, `title` and `language`), gives each
//! listed file hints that its text may not carry.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::Utc;
use nichiro_model::manifest::Manifest;
use nichiro_model::{FetchJob, ItemHints, RawPage, file_url, parse_date};
use tokio::sync::mpsc;

use super::{PollContext, Source, SourceError, queue_blocking};

/// Folders deeper than this below the source's path are not read.
const MAX_DIR_DEPTH: usize = 16;

/// The Content-Type a file's extension implies, or `None` for files that are not pages.
pub fn content_type_for(path: &Path) -> Option<&'static str> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "html" | "htm" | "xhtml" => Some("text/html"),
        "txt" => Some("text/plain"),
        _ => None,
    }
}

/// The page files under `root` (or `root` itself when it is a file), in name order.
pub fn list_files(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    if root.is_file() {
        files.push(root.to_path_buf());
        return Ok(files);
    }
    let mut stack = vec![(root.to_path_buf(), 0)];
    while let Some((dir, depth)) = stack.pop() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for path in entries.into_iter().rev() {
            if path.is_dir() {
                if depth < MAX_DIR_DEPTH {
                    stack.push((path, depth + 1));
                }
            } else if content_type_for(&path).is_some() {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Hints per file from the folder's `manifest.toml`, if it has one; a manifest that cannot be
/// read is reported and ignored.
fn manifest_hints(root: &Path, source: &str) -> HashMap<PathBuf, ItemHints> {
    let path = root.join("manifest.toml");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return HashMap::new();
    };
    let manifest: Manifest = match toml::from_str(&text) {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(source, path = %path.display(), error = %e.message(), "manifest ignored");
            return HashMap::new();
        }
    };
    manifest
        .document
        .into_iter()
        .map(|entry| {
            let hints = ItemHints {
                title: entry.title,
                published: entry.published.as_deref().and_then(parse_date),
                language: entry.language,
            };
            (root.join(entry.file), hints)
        })
        .collect()
}

pub(super) fn read(
    source: &Source,
    ctx: &PollContext,
    jobs: &mpsc::Sender<FetchJob>,
) -> Result<(), SourceError> {
    let name = &source.config.name;
    let root = source.config.path.clone().unwrap_or_default();
    let read_error = |path: &Path, e: &dyn std::fmt::Display| SourceError::Read {
        source_name: name.clone(),
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let files = list_files(&root).map_err(|e| read_error(&root, &e))?;
    tracing::info!(source = %name, files = files.len(), "folder listed");
    let mut hints = manifest_hints(&root, name);
    let max = ctx.fetcher.config().max_body_bytes;
    for path in files {
        if ctx.stop.is_cancelled() {
            break;
        }
        let url = file_url(&path);
        if !source.admits(ctx, &url, None) {
            continue;
        }
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let body = if size as usize > max {
            Err(format!("file is {size} bytes, over the limit of {max}"))
        } else {
            std::fs::read(&path).map_err(|e| e.to_string())
        };
        let body = match body {
            Ok(body) => body,
            Err(e) => {
                // One unreadable file does not stop the folder.
                tracing::warn!(source = %name, path = %path.display(), error = %e, "file skipped");
                ctx.stats.update(name, |c| c.failed += 1);
                ctx.seen.release(&url);
                continue;
            }
        };
        let page = RawPage {
            requested_url: url.clone(),
            final_url: url,
            status: 200,
            content_type: content_type_for(&path).map(str::to_string),
            etag: None,
            last_modified: None,
            body,
            fetched_at: Utc::now(),
            source: name.clone(),
            hints: {
                let mut h = hints.remove(&path).unwrap_or_default();
                h.language = h.language.or_else(|| source.config.language.clone());
                h
            },
        };
        if !queue_blocking(ctx, jobs, FetchJob::Local(page)) {
            break;
        }
    }
    Ok(())
}

//! A local folder of `.html`, `.htm`, `.xhtml` and `.txt` files, read recursively in name
//! order (so runs are reproducible), each file a page whose address names the folder and the
//! file's place in it, `dir:/<folder name>/<path>` (`nichiro_model::dir_document_url`), so a
//! moved install keeps what it stored.
//!
//! A `manifest.toml` at the folder's top, in the corpus's format (`[[document]]` tables with
//! `file`, and optionally `published` as `YYYY-MM-DD`, `title` and `language`), gives each
//! listed file hints that its text may not carry.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::Utc;
use nichiro_model::manifest::Manifest;
use nichiro_model::{FetchJob, ItemHints, RawPage, dir_document_url, file_url, parse_date};
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
///
/// Symbolic links are followed only when they lead to a file or folder inside `root`: a link
/// out of the folder (to `/etc/passwd`, to another tree) is skipped with a warning, and a
/// folder reached twice (a link to the folder itself or to a parent, a loop) is read once.
pub fn list_files(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    if root.is_file() {
        files.push(root.to_path_buf());
        return Ok(files);
    }
    let real_root = std::fs::canonicalize(root)?;
    let mut visited = std::collections::HashSet::from([real_root.clone()]);
    let mut stack = vec![(root.to_path_buf(), 0)];
    while let Some((dir, depth)) = stack.pop() {
        let mut entries: Vec<(PathBuf, std::fs::FileType)> = std::fs::read_dir(&dir)?
            .filter_map(|e| e.ok().and_then(|e| Some((e.path(), e.file_type().ok()?))))
            .collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        for (path, file_type) in entries.into_iter().rev() {
            let real = if file_type.is_symlink() {
                match std::fs::canonicalize(&path) {
                    Ok(target) if target.starts_with(&real_root) => target,
                    Ok(target) => {
                        tracing::warn!(path = %path.display(), target = %target.display(), "link out of the folder skipped");
                        continue;
                    }
                    Err(e) => {
                        tracing::warn!(path = %path.display(), error = %e, "broken link skipped");
                        continue;
                    }
                }
            } else {
                path.clone()
            };
            if real.is_dir() {
                let real = std::fs::canonicalize(&real).unwrap_or(real);
                if depth < MAX_DIR_DEPTH && visited.insert(real) {
                    stack.push((path, depth + 1));
                }
            } else if real.is_file() && content_type_for(&path).is_some() {
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
        let url = dir_document_url(&root, &path).unwrap_or_else(|| file_url(&path));
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
                ctx.stats.update(name, |c| {
                    c.failed += 1;
                    c.may_pass += 1;
                });
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

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn links_out_of_the_folder_and_loops_are_not_followed() {
        // A link to an outside file stored it (`/etc/passwd` was read); three links to the
        // folder itself grew memory without bound.
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.txt"), "outside").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("sub")).unwrap();
        std::fs::write(root.join("a.html"), "<p>a</p>").unwrap();
        std::fs::write(root.join("sub/b.txt"), "b").unwrap();
        let link = |target: &Path, name: &str| {
            std::os::unix::fs::symlink(target, root.join(name)).unwrap();
        };
        link(&outside.path().join("secret.txt"), "secret.txt");
        link(outside.path(), "elsewhere");
        link(Path::new("/etc/passwd"), "passwd.txt");
        link(root, "self1");
        link(root, "self2");
        link(&root.join("sub"), "sub/up");
        link(&root.join("a.html"), "inside.html");
        link(&root.join("nowhere.html"), "broken.html");
        let files = list_files(root).unwrap();
        let names: Vec<String> = files
            .iter()
            .map(|f| f.strip_prefix(root).unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["a.html", "inside.html", "sub/b.txt"]);
    }
}

//! Documents of local folders stored under their old addresses (`file:///<absolute path>`,
//! which changed whenever the install moved) are given the address a `dir` source gives them
//! now, `dir:/<folder name>/<path>`, before anything is read: so neither an upgrade nor a
//! moved or copied install stores a folder's files a second time.

use std::collections::HashMap;

use nichiro_fetch::{SourceConfig, SourceKind};
use nichiro_model::{dir_document_parts, dir_document_url, file_url_parts};
use nichiro_store::{Store, StoreError};

/// The renames `(old, new)` for `stored` addresses that name a file of one of the `dir`
/// sources as it is now: a stored `file:///x/y/corpus/sub/a.txt` is the file `sub/a.txt` of
/// a folder named `corpus`, wherever that folder sat. Pure but for listing the folders.
pub fn renames_for<'a>(
    stored: impl IntoIterator<Item = &'a str>,
    sources: &[&SourceConfig],
) -> Vec<(String, String)> {
    let stored: Vec<(&str, Vec<String>)> = stored
        .into_iter()
        .filter(|url| url.starts_with("file:"))
        .filter_map(|url| Some((url, file_url_parts(url)?)))
        .collect();
    if stored.is_empty() {
        return Vec::new();
    }
    // The folder name and path of every file the sources read now, and its new address.
    let mut current: HashMap<Vec<String>, String> = HashMap::new();
    for source in sources.iter().filter(|s| s.kind == SourceKind::Dir) {
        let Some(root) = source.path.as_deref() else {
            continue;
        };
        let Ok(files) = nichiro_fetch::sources::list_files(root) else {
            continue; // the source reports it when it runs
        };
        for file in files {
            if let (Some(parts), Some(url)) = (
                dir_document_parts(root, &file),
                dir_document_url(root, &file),
            ) {
                current.insert(parts, url);
            }
        }
    }
    let mut renames = Vec::new();
    for (old, parts) in stored {
        // A file still where it was stored from is another folder's (the config now names a
        // different folder of the same name), not this one moved: its article keeps its
        // address, and the current file is a document of its own.
        if url::Url::parse(old)
            .ok()
            .and_then(|u| u.to_file_path().ok())
            .is_some_and(|path| path.exists())
        {
            continue;
        }
        // The longest tail of the old path that names a current file: its folder and place.
        let found = (2..=parts.len())
            .rev()
            .find_map(|n| current.get(&parts[parts.len() - n..]));
        if let Some(new) = found {
            renames.push((old.to_string(), new.clone()));
        }
    }
    renames
}

/// Renames what [`renames_for`] finds among the stored and given-up addresses; returns how
/// many articles were renamed.
pub fn adopt(store: &mut dyn Store, sources: &[&SourceConfig]) -> Result<usize, StoreError> {
    if !sources.iter().any(|s| s.kind == SourceKind::Dir) {
        return Ok(0);
    }
    let seen = store.seen_urls()?;
    let given_up = store.given_up_urls()?;
    let renames = renames_for(seen.iter().chain(&given_up).map(String::as_str), sources);
    if renames.is_empty() {
        return Ok(0);
    }
    let renamed = store.rename_urls(&renames)?;
    tracing::info!(
        addresses = renames.len(),
        articles = renamed,
        "local documents stored under their old file:// addresses now go by dir:/"
    );
    Ok(renamed)
}

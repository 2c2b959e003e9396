//! Reading the files and folders given on the command line.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context;

/// One input: where it came from and its bytes.
#[derive(Debug)]
pub struct Input {
    /// The path as given (or `-`).
    pub path: PathBuf,
    /// An id: the file name without its extension (`stdin` for `-`).
    pub id: String,
    /// Content-Type implied by the extension, or the one a web server sent.
    pub content_type: Option<std::borrow::Cow<'static, str>>,
    /// The bytes, or why they could not be read.
    pub bytes: anyhow::Result<Vec<u8>>,
}

/// Expands folders (recursively, page files only) and reads every input, at most `max_bytes`
/// each. A path that does not exist is an input whose read failed, so the others go on.
pub fn read_inputs(paths: &[PathBuf], max_bytes: usize) -> Vec<Input> {
    let mut inputs = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            let mut bytes = Vec::new();
            let read = std::io::stdin()
                .take(max_bytes as u64 + 1)
                .read_to_end(&mut bytes)
                .context("cannot read stdin")
                .and_then(|_| check_size(bytes, max_bytes, path));
            inputs.push(Input {
                path: path.clone(),
                id: "stdin".into(),
                content_type: None,
                bytes: read,
            });
            continue;
        }
        if path.is_dir() {
            match nichiro_fetch::sources::list_files(path) {
                Ok(files) => inputs.extend(files.into_iter().map(|f| read_file(&f, max_bytes))),
                Err(e) => inputs.push(Input {
                    path: path.clone(),
                    id: id_of(path),
                    content_type: None,
                    bytes: Err(anyhow::anyhow!(
                        "cannot read folder {}: {e}",
                        path.display()
                    )),
                }),
            }
        } else {
            inputs.push(read_file(path, max_bytes));
        }
    }
    inputs
}

fn read_file(path: &Path, max_bytes: usize) -> Input {
    let bytes = std::fs::File::open(path)
        .and_then(|f| {
            let mut bytes = Vec::new();
            f.take(max_bytes as u64 + 1).read_to_end(&mut bytes)?;
            Ok(bytes)
        })
        .with_context(|| format!("cannot read {}", path.display()))
        .and_then(|bytes| check_size(bytes, max_bytes, path));
    Input {
        path: path.to_path_buf(),
        id: id_of(path),
        content_type: nichiro_fetch::sources::content_type_for(path)
            .map(std::borrow::Cow::Borrowed),
        bytes,
    }
}

fn check_size(bytes: Vec<u8>, max_bytes: usize, path: &Path) -> anyhow::Result<Vec<u8>> {
    if bytes.len() > max_bytes {
        anyhow::bail!("{} is over the limit of {max_bytes} bytes", path.display());
    }
    Ok(bytes)
}

fn id_of(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

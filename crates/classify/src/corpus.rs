//! The existing corpus: a folder of plain-text reports and a `manifest.toml` describing them.
//! Each file is cleaned with the cleaner's plain-text mode, which drops its page boilerplate.

use std::path::Path;

use nichiro_model::manifest::Manifest;
use nichiro_model::{dir_document_url, file_url};

use chrono::{DateTime, FixedOffset};

use crate::TagError;

/// A document of the collection the tagger compares against.
#[derive(Debug, Clone)]
pub struct Document {
    /// Stable id: `corpus:<file>` for corpus documents, the URL for stored articles.
    pub id: String,
    /// Where the document lives (`dir:/<folder>/<file>` for corpus files, as a `dir` source
    /// over the corpus folder stores them): an article with this URL
    /// is the document itself and is not related to or a copy of it.
    pub url: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// Cleaned text.
    pub text: String,
    /// Publication time.
    pub published: Option<DateTime<FixedOffset>>,
}

/// Reads the corpus folder: every document listed in its manifest, cleaned.
pub fn load(dir: &Path) -> Result<Vec<Document>, TagError> {
    let manifest_path = dir.join("manifest.toml");
    let text = std::fs::read_to_string(&manifest_path).map_err(|source| TagError::Read {
        path: manifest_path.clone(),
        source,
    })?;
    let manifest: Manifest = toml::from_str(&text).map_err(|e| TagError::Manifest {
        path: manifest_path.clone(),
        message: e.message().to_string(),
    })?;
    let limits = nichiro_clean::Limits::default();
    let mut documents = Vec::with_capacity(manifest.document.len());
    for entry in manifest.document {
        let path = dir.join(&entry.file);
        let bytes = std::fs::read(&path).map_err(|source| TagError::Read {
            path: path.clone(),
            source,
        })?;
        // The address a `dir` source over this folder stores the file under.
        let url = dir_document_url(dir, &path).unwrap_or_else(|| file_url(&path));
        let article = nichiro_clean::clean_bytes(&bytes, Some("text/plain"), &url, &limits)
            .map_err(|e| TagError::Manifest {
                path: path.clone(),
                message: e.to_string(),
            })?;
        let published = match entry.published.as_deref() {
            Some(date) => {
                Some(
                    nichiro_model::parse_date(date).ok_or_else(|| TagError::Manifest {
                        path: manifest_path.clone(),
                        message: format!("{}: published {date:?} is not a date", entry.file),
                    })?,
                )
            }
            None => None,
        };
        documents.push(Document {
            id: format!("corpus:{}", entry.file),
            url: Some(url),
            title: entry.title.or(article.title),
            text: article.text,
            published,
        });
    }
    Ok(documents)
}

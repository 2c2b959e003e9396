//! The manifest of a folder of documents (`manifest.toml`, as in `corpus/`): what each file is,
//! for facts its text does not carry. Read by the tagger's corpus loader and by `dir` sources.

use serde::{Deserialize, Serialize};

/// A `manifest.toml`: one `[[document]]` table per file.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    /// The documents.
    #[serde(default)]
    pub document: Vec<ManifestEntry>,
}

/// One `[[document]]` of a manifest. Fields other than these are allowed and ignored.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ManifestEntry {
    /// File name, relative to the manifest's folder.
    pub file: String,
    /// Title, when the text's own is missing or wrong.
    #[serde(default)]
    pub title: Option<String>,
    /// Outlet that published it.
    #[serde(default)]
    pub outlet: Option<String>,
    /// Language code.
    #[serde(default)]
    pub language: Option<String>,
    /// Publication date, `YYYY-MM-DD` (or any form [`crate::parse_date`] reads).
    #[serde(default)]
    pub published: Option<String>,
    /// The event it reports.
    #[serde(default)]
    pub event: Option<String>,
    /// Topic ids it is about.
    #[serde(default)]
    pub topics: Vec<String>,
}

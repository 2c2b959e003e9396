//! `[[alert]]`: which new articles to tell someone about, and where.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// One alert (`[[alert]]`): new articles tagged relevant (and, if given, of these topics,
/// languages and sources) are posted to a webhook or appended to a file, each once.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AlertConfig {
    /// Its name, unique: the store records what was sent under it.
    pub name: String,
    /// Only articles whose relevance is at least this (0 to 1; they must be tagged relevant
    /// too). Default 0.5.
    #[serde(default = "default_min_relevance")]
    pub min_relevance: f32,
    /// Only articles with one of these topics (any, when empty).
    #[serde(default)]
    pub topics: Vec<String>,
    /// Only articles in one of these languages (any, when empty).
    #[serde(default)]
    pub languages: Vec<String>,
    /// Only articles from one of these sources (any, when empty).
    #[serde(default)]
    pub sources: Vec<String>,
    /// Not for an article that copies one this alert was sent for (`duplicate_of`). Default
    /// true.
    #[serde(default = "yes")]
    pub skip_copies: bool,
    /// POST each alert as JSON to this http(s) address...
    #[serde(default)]
    pub webhook: Option<String>,
    /// ...or append it, one JSON object a line, to this file (relative paths are taken from
    /// the config file's folder).
    #[serde(default)]
    pub file: Option<PathBuf>,
    /// Tries of a webhook before the alert is given up (and recorded so). Default 8: waits
    /// of 1, 2, 4, … 64 s between them.
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    /// The first wait between tries, in milliseconds (doubling after each, to at most five
    /// minutes). Default 1000; at most 300000.
    #[serde(default = "default_retry_ms")]
    pub retry_base_ms: u64,
}

fn default_min_relevance() -> f32 {
    0.5
}

fn yes() -> bool {
    true
}

fn default_attempts() -> u32 {
    8
}

fn default_retry_ms() -> u64 {
    1000
}

impl AlertConfig {
    /// Checks the alert, naming what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        let who = format!("alert {:?}", self.name);
        if self.name.trim().is_empty() {
            return Err("an [[alert]] needs a name".into());
        }
        if !(0.0..=1.0).contains(&self.min_relevance) {
            return Err(format!("{who}: min_relevance must be from 0 to 1"));
        }
        match (&self.webhook, &self.file) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(format!("{who}: give either webhook or file"));
            }
            (Some(url), None) if !(url.starts_with("http://") || url.starts_with("https://")) => {
                return Err(format!("{who}: webhook must be an http(s) address"));
            }
            _ => {}
        }
        nichiro_model::check_range(&format!("{who}: max_attempts"), self.max_attempts, 1, 100)?;
        nichiro_model::check_range(
            &format!("{who}: retry_base_ms"),
            self.retry_base_ms,
            1,
            300_000,
        )
    }
}

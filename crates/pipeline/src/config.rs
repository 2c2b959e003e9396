//! The config file: one TOML file with a section per stage and a `[[source]]` per source.
//! Each section's struct lives beside the code it configures; this module only assembles
//! them, resolves relative paths against the file's folder and checks the whole.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use nichiro_alert::AlertConfig;
use nichiro_classify::TagConfig;
use nichiro_clean::Limits;
use nichiro_fetch::{FetchConfig, SourceConfig, SourceKind};
use nichiro_server::ServerConfig;
use nichiro_store::StoreConfig;
use serde::{Deserialize, Serialize};

/// The environment variable that, when set, replaces `[store] url`.
pub const STORE_URL_VARIABLE: &str = "NICHIRO_STORE_URL";

/// Settings of the pipeline itself (`[pipeline]`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct PipelineConfig {
    /// Capacity of each channel between stages: how many items may wait before a stage
    /// holds back the one before it. Default 64.
    pub channel_capacity: usize,
    /// Threads cleaning pages at once. Default: the number of cores.
    pub clean_workers: usize,
    /// Articles written per store transaction, at most. Default 32.
    pub store_batch: usize,
    /// After a stop signal, how long fetches in flight may take to finish, in seconds, before
    /// they are aborted. Default 20.
    pub grace_period_secs: u64,
    /// With a shared store (PostgreSQL), how long a claim on a page lasts unless renewed, in
    /// seconds. A daemon renews its claims every third of this while it works on them, so
    /// several daemons fetch each page once; a page claimed by a daemon that died is taken
    /// up by another once its claim runs out. Default 60.
    pub lease_secs: u64,
    /// With a shared store, a daemon holding this many claimed pages not yet stored claims
    /// no more until it has worked some off, and leaves the next polls to the other daemons,
    /// so that one busy daemon does not take all the work. Default 500.
    pub max_claimed_pages: usize,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            channel_capacity: 64,
            clean_workers: std::thread::available_parallelism().map_or(2, usize::from),
            store_batch: 32,
            grace_period_secs: 20,
            lease_secs: 60,
            max_claimed_pages: 500,
        }
    }
}

impl PipelineConfig {
    /// Checks every number against its range, naming the key of one out of range.
    pub fn validate(&self) -> Result<(), String> {
        use nichiro_model::check_range as range;
        range(
            "pipeline.channel_capacity",
            self.channel_capacity,
            1,
            1_000_000,
        )?;
        range("pipeline.clean_workers", self.clean_workers, 1, 1024)?;
        range("pipeline.store_batch", self.store_batch, 1, 100_000)?;
        range(
            "pipeline.grace_period_secs",
            self.grace_period_secs,
            0,
            3600,
        )?;
        range("pipeline.lease_secs", self.lease_secs, 3, 86_400)?;
        range(
            "pipeline.max_claimed_pages",
            self.max_claimed_pages,
            1,
            1_000_000,
        )
    }
}

/// The whole config file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[pipeline]`.
    #[serde(default)]
    pub pipeline: PipelineConfig,
    /// `[fetch]`.
    #[serde(default)]
    pub fetch: FetchConfig,
    /// `[clean]`: limits for hostile input.
    #[serde(default)]
    pub clean: Limits,
    /// `[tag]`.
    #[serde(default)]
    pub tag: TagConfig,
    /// `[store]`.
    pub store: StoreConfig,
    /// `[server]`: the daemon's web face.
    #[serde(default)]
    pub server: ServerConfig,
    /// `[[source]]`s.
    #[serde(default, rename = "source")]
    pub sources: Vec<SourceConfig>,
    /// `[[alert]]`s: new relevant articles posted to a webhook or appended to a file.
    #[serde(default, rename = "alert")]
    pub alerts: Vec<AlertConfig>,
}

/// Why a config file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read config {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not fit the schema.
    #[error("bad config {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, with its line when known.
        message: String,
    },
    /// The file parses but something in it is wrong.
    #[error("bad config {path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl Config {
    /// Reads, resolves and checks a config file. `NICHIRO_STORE_URL`, when set, replaces
    /// `[store] url`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text, path)
    }

    /// Reads, resolves and checks the text of a config file found at `path` (relative paths
    /// in it are taken from `path`'s folder). `NICHIRO_STORE_URL`, when set, replaces
    /// `[store] url`.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: one_line(&e, text),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        config.resolve_paths(base);
        // The environment may point the store at a server (docker-compose does), so one
        // config file serves a laptop and a cluster.
        if let Some(url) = std::env::var(STORE_URL_VARIABLE)
            .ok()
            .filter(|u| !u.trim().is_empty())
        {
            config.store.url = Some(url);
        }
        config.validate().map_err(|message| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        })?;
        Ok(config)
    }

    fn resolve_paths(&mut self, base: &Path) {
        let resolve = |p: &mut PathBuf| {
            if p.is_relative() && !p.as_os_str().is_empty() {
                *p = base.join(&*p);
            }
        };
        resolve(&mut self.store.path);
        resolve(&mut self.tag.topics);
        if let Some(corpus) = &mut self.tag.corpus {
            resolve(corpus);
        }
        for source in &mut self.sources {
            if let Some(path) = &mut source.path {
                resolve(path);
            }
            source.paths.iter_mut().for_each(resolve);
        }
        for alert in &mut self.alerts {
            if let Some(file) = &mut alert.file {
                resolve(file);
            }
        }
    }

    /// Checks what the schema cannot: unique source names, each source's fields, files that
    /// must exist.
    pub fn validate(&self) -> Result<(), String> {
        let mut names = HashSet::new();
        for source in &self.sources {
            source.validate()?;
            if !names.insert(&source.name) {
                return Err(format!("two sources are named {:?}", source.name));
            }
        }
        if let Some(url) = &self.store.url
            && !url.starts_with("postgres://")
            && !url.starts_with("postgresql://")
        {
            return Err("store.url must start with postgres:// or postgresql://".into());
        }
        if !self.tag.topics.is_file() {
            return Err(format!(
                "tag.topics: no file at {}",
                self.tag.topics.display()
            ));
        }
        if let Some(corpus) = self
            .tag
            .corpus
            .as_ref()
            .filter(|p| !p.as_os_str().is_empty())
            && !corpus.join("manifest.toml").is_file()
        {
            return Err(format!(
                "tag.corpus: no manifest.toml in {}",
                corpus.display()
            ));
        }
        self.check_folder_names()?;
        self.pipeline.validate()?;
        self.server.validate()?;
        let mut alerts = HashSet::new();
        for alert in &self.alerts {
            alert.validate()?;
            if !alerts.insert(&alert.name) {
                return Err(format!("two alerts are named {:?}", alert.name));
            }
        }
        self.fetch.validate()?;
        self.clean.validate()?;
        self.tag.validate()
    }

    /// Documents of local folders are stored as `dir:/<folder name>/<path>`: two `dir` sources
    /// over different folders of one name would give their files one address, and the second
    /// source's files would be skipped as stored. (The corpus folder is not checked: a file
    /// of a `dir` source named as a corpus document is taken for that document, which for
    /// a copy of the corpus is right.)
    fn check_folder_names(&self) -> Result<(), String> {
        let folder = |path: &Path| {
            let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
            let real = if real.is_file() {
                real.parent().map(Path::to_path_buf).unwrap_or(real)
            } else {
                real
            };
            let name = real.file_name()?.to_string_lossy().into_owned();
            Some((name, real))
        };
        let dirs = self
            .enabled_sources()
            .filter(|s| s.kind == SourceKind::Dir)
            .filter_map(|s| Some((format!("source {:?}", s.name), s.path.as_ref()?)));
        let mut by_name: std::collections::HashMap<String, (String, PathBuf)> =
            std::collections::HashMap::new();
        for (who, path) in dirs {
            let Some((name, real)) = folder(path) else {
                continue;
            };
            match by_name.get(&name) {
                Some((other, other_real)) if *other_real != real => {
                    return Err(format!(
                        "{other} and {who} read different folders named {name:?} ({} and {}): \
                         their files would be stored under the same dir:/{name}/ addresses; \
                         rename one of the folders",
                        other_real.display(),
                        real.display()
                    ));
                }
                Some(_) => {}
                None => {
                    by_name.insert(name, (who, real));
                }
            }
        }
        Ok(())
    }

    /// The sources that are enabled.
    pub fn enabled_sources(&self) -> impl Iterator<Item = &SourceConfig> {
        self.sources.iter().filter(|s| s.enabled)
    }
}

/// A TOML error in one line, with its line number.
fn one_line(error: &toml::de::Error, text: &str) -> String {
    let message = error.message().replace('\n', " ");
    match error.span() {
        Some(span) => {
            let (line, column) = line_and_column(text, span.start);
            format!("{message} (line {line}, column {column})")
        }
        None => message,
    }
}

/// The 1-based line and column (in characters) of byte `at` of `text`.
fn line_and_column(text: &str, at: usize) -> (usize, usize) {
    let at = (0..=at.min(text.len()))
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn relative_paths_follow_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "topics.toml", "");
        let path = write(
            dir.path(),
            "c.toml",
            "[store]\npath = \"data/s.sqlite\"\n[tag]\ncorpus = \"\"\n[[source]]\nname = \"d\"\nkind = \"dir\"\npath = \"pages\"\n",
        );
        let config = Config::load(&path).unwrap();
        assert_eq!(config.store.path, dir.path().join("data/s.sqlite"));
        assert_eq!(
            config.sources[0].path.as_deref(),
            Some(dir.path().join("pages").as_path())
        );
        assert_eq!(config.tag.topics, dir.path().join("topics.toml"));
    }

    #[test]
    fn two_dir_sources_over_different_folders_of_one_name_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "topics.toml", "");
        for folder in ["a/pages", "b/pages"] {
            std::fs::create_dir_all(dir.path().join(folder)).unwrap();
        }
        let sources = |second: &str| {
            format!(
                "[store]\n[tag]\ncorpus = \"\"\n[[source]]\nname = \"one\"\nkind = \"dir\"\npath = \"a/pages\"\n\
                 [[source]]\nname = \"two\"\nkind = \"dir\"\npath = {second:?}\n"
            )
        };
        let path = write(dir.path(), "c.toml", &sources("b/pages"));
        let error = Config::load(&path).unwrap_err().to_string();
        assert!(
            error.contains(
                "source \"one\" and source \"two\" read different folders named \"pages\""
            ),
            "{error}"
        );
        // The same folder twice is one set of documents, and allowed.
        let path = write(dir.path(), "c.toml", &sources("a/../a/pages"));
        Config::load(&path).unwrap();
    }

    #[test]
    fn errors_name_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "topics.toml", "");
        let cases = [
            ("[store]\npath = 1\n", "invalid type"),
            (
                "[store]\nurl = \"mysql://db/x\"\n[tag]\ncorpus = \"\"\n",
                "store.url must start with postgres://",
            ),
            (
                "[store]\npath = \"s\"\n[fetch]\nspeed = 1\n",
                "unknown field `speed`",
            ),
            (
                "[store]\npath = \"s\"\n[tag]\ncorpus = \"\"\n[[source]]\nname = \"f\"\nkind = \"feed\"\n",
                "needs a url",
            ),
            (
                "[store]\npath = \"s\"\n[tag]\ncorpus = \"\"\n[[source]]\nname = \"f\"\nkind = \"dir\"\npath = \"a\"\n[[source]]\nname = \"f\"\nkind = \"dir\"\npath = \"b\"\n",
                "two sources are named",
            ),
            (
                "[store]\npath = \"s\"\n[tag]\ncorpus = \"nowhere\"\n",
                "no manifest.toml",
            ),
            (
                "[store]\npath = \"s\"\n[tag]\ntopics = \"missing.toml\"\n",
                "no file at",
            ),
            (
                "[store]\npath = \"s\"\n[tag]\ncorpus = \"\"\n[[source]]\nname = \"f\"\nkind = \"feed\"\nurl = \"https://x.org/\"\ninclude = [\"(\"]\n",
                "bad include pattern",
            ),
            // Numbers that used to pass and then panic, hang or overflow later.
            (
                "[store]\npath = \"s\"\n[tag]\ncorpus = \"\"\n[pipeline]\nchannel_capacity = 18446744073709551615\n",
                "pipeline.channel_capacity is 18446744073709551615; it must be from 1 to 1000000",
            ),
            (
                "[store]\npath = \"s\"\n[tag]\ncorpus = \"\"\n[pipeline]\nstore_batch = 1000000000000\n",
                "pipeline.store_batch is 1000000000000",
            ),
            (
                "[store]\npath = \"s\"\n[tag]\ncorpus = \"\"\n[fetch]\nread_timeout_secs = 18446744073709551615\n",
                "fetch.read_timeout_secs is",
            ),
            (
                "[store]\npath = \"s\"\n[tag]\ncorpus = \"\"\n[fetch]\nper_host_delay_ms = 18446744073709551615\n",
                "fetch.per_host_delay_ms is",
            ),
            (
                "[store]\npath = \"s\"\n[tag]\ncorpus = \"\"\n[[source]]\nname = \"d\"\nkind = \"dir\"\npath = \"p\"\nmax_age_days = 1000000000\n",
                "source \"d\": max_age_days is 1000000000",
            ),
            (
                "[store]\npath = \"s\"\n[tag]\ncorpus = \"\"\n[[source]]\nname = \"d\"\nkind = \"dir\"\npath = \"p\"\nmax_age_days = 18446744073709551615\n",
                "source \"d\": max_age_days is 18446744073709551615",
            ),
            (
                "[store]\npath = \"s\"\n[tag]\ncorpus = \"\"\nrelevance_threshold = nan\n",
                "tag.relevance_threshold is NaN",
            ),
            (
                "[store]\npath = \"s\"\n[tag]\ncorpus = \"\"\nrelevance_threshold = 1.5\n",
                "tag.relevance_threshold is 1.5; it must be from 0 to 1",
            ),
            (
                "[store]\npath = \"s\"\n[tag]\ncorpus = \"\"\n[clean]\nmax_millis = 0\n",
                "clean.max_millis is 0",
            ),
        ];
        for (text, expected) in cases {
            let path = write(dir.path(), "c.toml", text);
            let err = Config::load(&path).unwrap_err().to_string();
            assert!(err.contains(expected), "{text:?} gave {err:?}");
            assert!(!err.contains('\n'), "{err:?} is not one line");
        }
        let err = Config::load(&dir.path().join("absent.toml")).unwrap_err();
        assert!(err.to_string().contains("absent.toml"));
    }
}

//! Settings of the fetcher and of each source, as they appear in the config file.

use std::path::PathBuf;

use regex::Regex;
use serde::{Deserialize, Serialize};

/// How the fetcher behaves on the network (`[fetch]` in the config).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct FetchConfig {
    /// User-Agent sent with every request; it names the project and a contact URL so site
    /// owners can reach whoever runs it.
    pub user_agent: String,
    /// Timeout for establishing a connection, in seconds. Default 10.
    pub connect_timeout_secs: u64,
    /// Timeout for a whole request, body included, in seconds. Default 30.
    pub request_timeout_secs: u64,
    /// Longest silence while waiting for the response or between two reads of its body, in
    /// seconds: a server that accepts the connection and then says nothing is given up.
    /// Default 15.
    pub read_timeout_secs: u64,
    /// Largest body read, in bytes, after decompression; larger bodies are cut off and the
    /// page is skipped. Default 8 MiB.
    pub max_body_bytes: usize,
    /// Largest feed or sitemap read, in bytes, after decompression (a gzip'd sitemap too). The
    /// sitemap protocol allows 50,000 URLs and 50 MB per file, more than a page needs.
    /// Default 50 MiB.
    pub max_listing_bytes: usize,
    /// Pages fetched at once across all hosts. Default 8.
    pub concurrency: usize,
    /// Requests in flight to one host at once. Default 1.
    pub per_host_concurrency: usize,
    /// Least time between two requests to the same host, in milliseconds (a robots.txt
    /// `Crawl-delay` that asks for more wins). Default 1000.
    pub per_host_delay_ms: u64,
    /// Redirects followed per request. Default 5.
    pub max_redirects: usize,
    /// Further attempts for a page that failed in a way that may pass (timeout, reset, 5xx,
    /// 429). Default 3.
    pub max_retries: u32,
    /// Fetches of one page, each with its retries, that may fail in a way that passes (a
    /// timeout, a 5xx) before the page is given up for good, like a 404: a page that never
    /// answers is not asked again on every poll for months. Counted while the process runs.
    /// Default 5.
    pub max_failed_fetches: u32,
    /// First wait before a retry, in milliseconds; it doubles with each attempt, with random
    /// jitter of up to half, and is capped at five minutes. A `Retry-After` wins. Default 1000.
    pub retry_base_ms: u64,
    /// Longest `Retry-After` honoured, in seconds: a server asking for longer gets the page
    /// given up for this run. Default 600.
    pub max_retry_after_secs: u64,
    /// Consecutive failures after which a host is left alone for a while. Default 5.
    pub host_failure_threshold: u32,
    /// How long such a host is left alone the first time, in seconds (doubling each time
    /// after, up to an hour); its queued pages are given up for this run. Default 300.
    pub host_cooldown_secs: u64,
    /// Which loopback, private and link-local destinations requests may reach: `false` (the
    /// default) none, `true` all (for tests), or a list of networks, addresses and host
    /// names (`["10.20.0.0/16", "intranet.example"]`) for an intranet source, every other
    /// private address still refused, by URL, redirect or DNS answer.
    pub allow_private_networks: crate::guard::PrivateNetworks,
    /// Whether robots.txt is obeyed. On by default; turning it off is for your own sites.
    pub obey_robots: bool,
}

impl Default for FetchConfig {
    fn default() -> Self {
        FetchConfig {
            user_agent: concat!(
                "nichiro/",
                env!("CARGO_PKG_VERSION"),
                " (+https://github.com/nichiro/nichiro)"
            )
            .to_string(),
            connect_timeout_secs: 10,
            request_timeout_secs: 30,
            read_timeout_secs: 15,
            max_body_bytes: 8 * 1024 * 1024,
            max_listing_bytes: 50 * 1024 * 1024,
            concurrency: 8,
            per_host_concurrency: 1,
            per_host_delay_ms: 1000,
            max_redirects: 5,
            max_retries: 3,
            max_failed_fetches: 5,
            retry_base_ms: 1000,
            max_retry_after_secs: 600,
            host_failure_threshold: 5,
            host_cooldown_secs: 300,
            allow_private_networks: crate::guard::PrivateNetworks::None,
            obey_robots: true,
        }
    }
}

impl FetchConfig {
    /// Checks every number against its range, naming the key of one out of range.
    pub fn validate(&self) -> Result<(), String> {
        use nichiro_model::check_range as range;
        range(
            "fetch.connect_timeout_secs",
            self.connect_timeout_secs,
            1,
            3600,
        )?;
        range(
            "fetch.request_timeout_secs",
            self.request_timeout_secs,
            1,
            86_400,
        )?;
        range("fetch.read_timeout_secs", self.read_timeout_secs, 1, 3600)?;
        range("fetch.max_body_bytes", self.max_body_bytes, 1024, 1 << 30)?;
        range(
            "fetch.max_listing_bytes",
            self.max_listing_bytes,
            1024,
            1 << 30,
        )?;
        range("fetch.concurrency", self.concurrency, 1, 1024)?;
        range(
            "fetch.per_host_concurrency",
            self.per_host_concurrency,
            1,
            64,
        )?;
        range(
            "fetch.per_host_delay_ms",
            self.per_host_delay_ms,
            0,
            3_600_000,
        )?;
        range("fetch.max_redirects", self.max_redirects, 0, 30)?;
        range("fetch.max_retries", self.max_retries, 0, 20)?;
        range("fetch.max_failed_fetches", self.max_failed_fetches, 1, 1000)?;
        range("fetch.retry_base_ms", self.retry_base_ms, 0, 3_600_000)?;
        range(
            "fetch.max_retry_after_secs",
            self.max_retry_after_secs,
            0,
            86_400,
        )?;
        range(
            "fetch.host_failure_threshold",
            self.host_failure_threshold,
            1,
            1000,
        )?;
        range(
            "fetch.host_cooldown_secs",
            self.host_cooldown_secs,
            0,
            86_400,
        )?;
        if self.user_agent.trim().is_empty() || self.user_agent.len() > 512 {
            return Err("fetch.user_agent must be 1 to 512 characters".into());
        }
        Ok(())
    }
}

/// What kind of source a `[[source]]` is.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// An RSS 0.9x/1.0/2.0, Atom or JSON feed at `url`.
    Feed,
    /// An XML sitemap or sitemap index at `url` (Google News sitemaps included), or a site's
    /// `robots.txt`, whose `Sitemap:` lines name them.
    Sitemap,
    /// A section or index page at `url` whose article links are picked by `include` patterns
    /// and/or `link_selector`.
    Page,
    /// A local folder (`path`) of `.html`, `.htm` and `.txt` files, read recursively.
    Dir,
    /// Local WARC files, plain or gzip'd, such as Common Crawl News archives: `path` and/or
    /// `paths`, each a file, a folder (its `.warc` and `.warc.gz` files), a glob over file
    /// names (`archives/CC-NEWS-2024-03*.warc.gz`), or a listing (`warc.paths` or
    /// `warc.paths.gz`: one path a line, relative to the listing's folder). Files are read in
    /// order, each streamed; how far each was read is kept in the store.
    Warc,
}

/// One `[[source]]` of the config.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Unique name, used in logs, summaries and the store.
    pub name: String,
    /// The kind of source.
    pub kind: SourceKind,
    /// Address of a feed or sitemap (for `feed` and `sitemap`).
    #[serde(default)]
    pub url: Option<String>,
    /// Path of a folder or archive (for `dir` and `warc`); relative paths are taken from the
    /// config file's folder.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// For `warc` sources: more archive entries, each as `path` may be (see
    /// [`SourceKind::Warc`]); read after `path`, in order.
    #[serde(default)]
    pub paths: Vec<PathBuf>,
    /// For `warc` sources: test each record's page cheaply for any term of either side, the
    /// relation or the gazetteer before it is cleaned and tagged, and skip (count, not store)
    /// those without: the tagger would call them irrelevant. Default true; false cleans,
    /// tags and stores every page (irrelevant ones as such).
    #[serde(default = "default_true")]
    pub prefilter: bool,
    /// Language the source publishes in (`en`, `ru`, `ja`): a hint for pages that do not say.
    #[serde(default)]
    pub language: Option<String>,
    /// How often the daemon polls the source at first, in seconds. Default 900. The interval
    /// then adapts: it halves after a poll that found new items and grows by half after one
    /// that found none, between the two bounds below.
    #[serde(default = "default_poll_secs")]
    pub poll_interval_secs: u64,
    /// Shortest interval between polls, in seconds. Default: a quarter of
    /// `poll_interval_secs`.
    #[serde(default)]
    pub min_poll_interval_secs: Option<u64>,
    /// Longest interval between polls, in seconds. Default: four times `poll_interval_secs`.
    #[serde(default)]
    pub max_poll_interval_secs: Option<u64>,
    /// Only URLs matching one of these patterns are taken (all when empty). A pattern is a
    /// regular expression found anywhere in the URL, or, prefixed with `glob:`, a glob over
    /// the whole URL (`glob:https://tass.com/politics/*`, `**` crossing `/`).
    #[serde(default)]
    pub include: Vec<String>,
    /// URLs matching any of these patterns (as for `include`) are skipped.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Items older than this many days are skipped (when their date is known). Default: no
    /// limit. `backfill --since` narrows it further.
    #[serde(default)]
    pub max_age_days: Option<u64>,
    /// For `page` sources: a CSS selector for the links to take (or the containers whose
    /// links to take), such as `"div.headlines a"`. Default: every link on the page.
    #[serde(default)]
    pub link_selector: Option<String>,
    /// For `page` and `feed` sources: domains besides the listing's own site (its
    /// registrable domain) that links may lead to (`"partner.example"` also admits its
    /// subdomains), such as the publisher's site of a feed hosted elsewhere. Links to other
    /// sites, and any link that is not http(s), are skipped. Default: none.
    #[serde(default)]
    pub allowed_domains: Vec<String>,
    /// For feeds: fetch each item's page (true, the default) or take the feed's own content.
    #[serde(default = "default_true")]
    pub follow_links: bool,
    /// Whether the source is used. Default true.
    #[serde(default = "default_true")]
    pub enabled: bool,
}

/// Longest poll interval a source may ask for: a year.
const MAX_POLL_SECS: u64 = 366 * 24 * 3600;
/// Oldest `max_age_days` accepted: about three centuries, older than any dated web page.
pub const MAX_AGE_DAYS: u64 = 100_000;

fn default_poll_secs() -> u64 {
    900
}

fn default_true() -> bool {
    true
}

/// URL filters of a source, compiled.
#[derive(Debug, Clone, Default)]
pub struct UrlFilter {
    include: Vec<Regex>,
    exclude: Vec<Regex>,
}

/// A glob over a whole URL as a regular expression: `**` is anything, `*` anything but `/`,
/// `?` one character other than `/`; everything else is literal.
pub fn glob_to_regex(glob: &str) -> String {
    let mut regex = String::from("^");
    let mut chars = glob.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                regex.push_str(".*");
            }
            '*' => regex.push_str("[^/]*"),
            '?' => regex.push_str("[^/]"),
            c => regex.push_str(&regex::escape(&c.to_string())),
        }
    }
    regex.push('$');
    regex
}

impl UrlFilter {
    /// Compiles the patterns of a source; an invalid pattern is named in the error.
    pub fn new(source: &SourceConfig) -> Result<Self, String> {
        let compile = |patterns: &[String], what: &str| {
            patterns
                .iter()
                .map(|p| {
                    let regex = match p.strip_prefix("glob:") {
                        Some(glob) => glob_to_regex(glob),
                        None => p.clone(),
                    };
                    Regex::new(&regex).map_err(|e| {
                        // Regex syntax errors span several lines; keep the message to one.
                        let e = e
                            .to_string()
                            .split_whitespace()
                            .collect::<Vec<_>>()
                            .join(" ");
                        format!("source {:?}: bad {what} pattern {p:?}: {e}", source.name)
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(UrlFilter {
            include: compile(&source.include, "include")?,
            exclude: compile(&source.exclude, "exclude")?,
        })
    }

    /// Whether a URL passes the filters.
    pub fn allows(&self, url: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|r| r.is_match(url)))
            && !self.exclude.iter().any(|r| r.is_match(url))
    }
}

impl SourceConfig {
    /// The bounds of the adaptive poll interval.
    pub fn poll_bounds(&self) -> (std::time::Duration, std::time::Duration) {
        let base = self.poll_interval_secs.max(1);
        let min = self.min_poll_interval_secs.unwrap_or(base / 4).max(1);
        let max = self.max_poll_interval_secs.unwrap_or(base * 4).max(min);
        (
            std::time::Duration::from_secs(min),
            std::time::Duration::from_secs(max),
        )
    }

    /// Checks that the fields the kind needs are there and the patterns compile.
    pub fn validate(&self) -> Result<(), String> {
        let name = &self.name;
        if name.trim().is_empty() {
            return Err("a source has an empty name".into());
        }
        match self.kind {
            SourceKind::Feed | SourceKind::Sitemap | SourceKind::Page => {
                let url = self
                    .url
                    .as_deref()
                    .ok_or_else(|| format!("source {name:?} needs a url"))?;
                let parsed = url::Url::parse(url)
                    .map_err(|e| format!("source {name:?}: bad url {url:?}: {e}"))?;
                if !matches!(parsed.scheme(), "http" | "https") {
                    return Err(format!("source {name:?}: url {url:?} is not http(s)"));
                }
            }
            SourceKind::Dir => {
                if self.path.is_none() {
                    return Err(format!("source {name:?} needs a path"));
                }
            }
            SourceKind::Warc => {
                if self.path.is_none() && self.paths.is_empty() {
                    return Err(format!("source {name:?} needs a path or paths"));
                }
            }
        }
        let key = |field: &str| format!("source {name:?}: {field}");
        nichiro_model::check_range(
            &key("poll_interval_secs"),
            self.poll_interval_secs,
            1,
            MAX_POLL_SECS,
        )?;
        nichiro_model::check_optional_range(
            &key("min_poll_interval_secs"),
            self.min_poll_interval_secs,
            1,
            MAX_POLL_SECS,
        )?;
        nichiro_model::check_optional_range(
            &key("max_poll_interval_secs"),
            self.max_poll_interval_secs,
            1,
            MAX_POLL_SECS,
        )?;
        nichiro_model::check_optional_range(
            &key("max_age_days"),
            self.max_age_days,
            1,
            MAX_AGE_DAYS,
        )?;
        if let (Some(min), Some(max)) = (self.min_poll_interval_secs, self.max_poll_interval_secs)
            && min > max
        {
            return Err(format!(
                "source {name:?}: min_poll_interval_secs ({min}) is above max_poll_interval_secs ({max})"
            ));
        }
        if let Some(selector) = &self.link_selector {
            scraper::Selector::parse(selector)
                .map_err(|e| format!("source {name:?}: bad link_selector {selector:?}: {e}"))?;
        }
        UrlFilter::new(self).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_and_regex_patterns() {
        let source: SourceConfig = toml::from_str(
            "name = \"s\"\nkind = \"feed\"\nurl = \"https://tass.com/rss/v2.xml\"\n\
             include = [\"glob:https://tass.com/politics/*\", \"/world/\\\\d+$\"]\n\
             exclude = [\"glob:**/politics/9*\"]",
        )
        .unwrap();
        source.validate().unwrap();
        let filter = UrlFilter::new(&source).unwrap();
        assert!(filter.allows("https://tass.com/politics/123"));
        assert!(
            !filter.allows("https://tass.com/politics/2019/123"),
            "* stops at /"
        );
        assert!(filter.allows("https://tass.com/world/456"));
        assert!(!filter.allows("https://tass.com/economy/1"));
        assert!(
            !filter.allows("https://tass.com/politics/999"),
            "excluded by its glob"
        );
        assert_eq!(glob_to_regex("a*b?/**"), r"^a[^/]*b[^/]/.*$");
    }
}

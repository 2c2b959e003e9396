//! HTTP fetching with manners: robots.txt obeyed (with `Crawl-delay`), one request at a time
//! per host with a least delay between them, bodies streamed and cut at a size limit,
//! redirects followed hop by hop (each hop paced by its host, checked against its robots.txt
//! and the private-address guard, and a chain limited), and no request to a private address
//! unless allowed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::{
    CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, LOCATION, RETRY_AFTER,
};
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::config::FetchConfig;
use crate::guard::{GuardedResolver, PrivateNetworks, check_target};
use crate::hosts::{BackedOff, HostBook, HostPolicy, NotReady, Outcome};

/// How long a robots.txt is trusted before it is fetched again.
const ROBOTS_TTL: Duration = Duration::from_secs(24 * 3600);
/// Largest robots.txt read.
const MAX_ROBOTS_BYTES: usize = 512 * 1024;

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The URL could not be parsed or is not http(s).
    #[error("{url}: not an http(s) URL")]
    BadUrl {
        /// The URL.
        url: String,
    },
    /// The target is a private, loopback or link-local address and those are not allowed.
    #[error("{url}: refused: {reason}")]
    Blocked {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// robots.txt disallows the URL for our User-Agent.
    #[error("{url}: disallowed by robots.txt")]
    Robots {
        /// The URL.
        url: String,
    },
    /// The server answered with an error status.
    #[error("{url}: HTTP {status}{}", retry_after_note(retry_after))]
    Status {
        /// The URL.
        url: String,
        /// The status.
        status: u16,
        /// How long the server asked us to wait (`Retry-After`), if it did.
        retry_after: Option<Duration>,
    },
    /// The host failed too often and is left alone for a while.
    #[error("{url}: host backed off for {secs} s after repeated failures")]
    HostDown {
        /// The URL.
        url: String,
        /// Seconds until the host is tried again.
        secs: u64,
    },
    /// The body was larger than allowed.
    #[error("{url}: body over {max_bytes} bytes")]
    TooLarge {
        /// The URL.
        url: String,
        /// The limit.
        max_bytes: usize,
    },
    /// The page is not HTML or text (an image, a PDF, a video).
    #[error("{url}: skipped content type {content_type}")]
    NotHtml {
        /// The URL.
        url: String,
        /// Its Content-Type.
        content_type: String,
    },
    /// The request failed for good: a redirect loop or a chain longer than `max_redirects`,
    /// or an answer whose headers are too large to read. Asking again gets the same.
    #[error("{url}: {message}")]
    Refused {
        /// The URL.
        url: String,
        /// What failed, with its causes.
        message: String,
    },
    /// The request failed in a way that may pass (connection, timeout, TLS).
    #[error("{url}: {message}")]
    Http {
        /// The URL.
        url: String,
        /// What failed, with its causes.
        message: String,
    },
    /// Shutdown stopped the fetch before it completed.
    #[error("{url}: cancelled by shutdown")]
    Cancelled {
        /// The URL.
        url: String,
    },
}

/// `" (Retry-After N s)"` when the server asked for a wait, for error messages.
fn retry_after_note(wait: &Option<Duration>) -> String {
    wait.map(|w| format!(" (Retry-After {} s)", w.as_secs()))
        .unwrap_or_default()
}

impl FetchError {
    /// Whether a later attempt may succeed (network trouble, 5xx, 429), as opposed to a
    /// permanent answer (404, robots, bad URL).
    pub fn is_transient(&self) -> bool {
        match self {
            FetchError::Status { status, .. } => *status == 429 || *status >= 500,
            FetchError::Http { .. }
            | FetchError::Cancelled { .. }
            | FetchError::HostDown { .. } => true,
            _ => false,
        }
    }

    /// What this result says about the host's health.
    pub fn host_outcome(&self) -> Outcome {
        match self {
            FetchError::Status {
                retry_after: Some(wait),
                ..
            } => Outcome::RetryAfter(*wait),
            FetchError::Status { status, .. } if *status == 429 || *status >= 500 => {
                Outcome::Failed
            }
            FetchError::Http { .. } => Outcome::Failed,
            FetchError::Cancelled { .. } | FetchError::HostDown { .. } => Outcome::Aborted,
            _ => Outcome::Answered,
        }
    }
}

/// What the fetch is for: pages must be HTML or text, feeds and sitemaps may be any XML/JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// An article page.
    Page,
    /// A feed or sitemap.
    Listing,
    /// A robots.txt: read up to 512 KiB and the rest left unread (like Google), never refused
    /// for its size.
    Robots,
}

/// Validators from an earlier fetch, for a conditional GET.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Validators {
    /// `ETag` of the earlier response.
    pub etag: Option<String>,
    /// `Last-Modified` of the earlier response.
    pub last_modified: Option<String>,
}

/// A successful response.
#[derive(Debug, Clone)]
pub struct Response {
    /// URL after redirects.
    pub final_url: String,
    /// Status (200, or 304 for an unchanged resource).
    pub status: u16,
    /// Content-Type header.
    pub content_type: Option<String>,
    /// Validators to send next time.
    pub validators: Validators,
    /// Body (empty for 304).
    pub body: Vec<u8>,
    /// Time from first byte sent to last byte read.
    pub elapsed: Duration,
}

impl Response {
    /// Whether the server said the resource has not changed.
    pub fn not_modified(&self) -> bool {
        self.status == 304
    }
}

/// What one request got: a response, or a redirect to follow.
enum Answer {
    Final(Response),
    Redirect(Url),
}

struct Robots {
    rules: Option<texting_robots::Robot>,
    fetched: Instant,
}

/// A polite HTTP client shared by all fetch tasks.
pub struct HttpFetcher {
    client: reqwest::Client,
    config: FetchConfig,
    robots: Mutex<HashMap<String, Arc<OnceCell<Robots>>>>,
    hosts: HostBook,
}

impl std::fmt::Debug for HttpFetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpFetcher")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl HttpFetcher {
    /// Builds the client. Fails only if TLS cannot be set up.
    pub fn new(config: FetchConfig) -> Result<Self, FetchError> {
        // reqwest is built without a default crypto provider; use ring's. A second install
        // (another HttpFetcher) finds one in place, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .connect_timeout(Duration::from_secs(config.connect_timeout_secs))
            .timeout(Duration::from_secs(config.request_timeout_secs))
            .read_timeout(Duration::from_secs(config.read_timeout_secs))
            // Redirects are followed here, hop by hop (see `fetch_started`): each is a request
            // of its own, paced by its host and checked against its robots.txt.
            .redirect(reqwest::redirect::Policy::none());
        if config.allow_private_networks != PrivateNetworks::All {
            builder = builder.dns_resolver(Arc::new(GuardedResolver {
                allowed: config.allow_private_networks.clone(),
            }));
        }
        let client = builder.build().map_err(|e| FetchError::Http {
            url: String::new(),
            message: format!("cannot build HTTP client: {e}"),
        })?;
        let hosts = HostBook::new(HostPolicy {
            delay: Duration::from_millis(config.per_host_delay_ms),
            max_in_flight: config.per_host_concurrency,
            failure_threshold: config.host_failure_threshold,
            cooldown: Duration::from_secs(config.host_cooldown_secs),
            max_retry_after: Duration::from_secs(config.max_retry_after_secs),
        });
        Ok(HttpFetcher {
            client,
            config,
            robots: Mutex::new(HashMap::new()),
            hosts,
        })
    }

    /// The settings in use.
    pub fn config(&self) -> &FetchConfig {
        &self.config
    }

    /// The per-host politeness book.
    pub fn hosts(&self) -> &HostBook {
        &self.hosts
    }

    /// Fetches `url`, waiting its turn for the host (giving up if `stop` fires first: no new
    /// request starts after shutdown begins). Only `abort` interrupts the request itself.
    /// Listings use this; article pages go through the scheduler and
    /// [`HttpFetcher::fetch_started`].
    pub async fn get(
        &self,
        url: &str,
        purpose: Purpose,
        validators: Option<&Validators>,
        stop: &CancellationToken,
        abort: &CancellationToken,
    ) -> Result<Response, FetchError> {
        let origin = origin_of(url).ok_or_else(|| FetchError::BadUrl {
            url: url.to_string(),
        })?;
        self.take_turn(&origin, url, stop).await?;
        let result = self.fetch_started(url, purpose, validators, abort).await;
        let _ = self.finish(&origin, &result);
        result
    }

    /// Waits for `origin`'s turn for a request to `url`, until `stop` fires.
    async fn take_turn(
        &self,
        origin: &str,
        url: &str,
        stop: &CancellationToken,
    ) -> Result<(), FetchError> {
        match self.hosts.start(origin, stop).await {
            Ok(()) => Ok(()),
            Err(NotReady::Down(until)) => Err(FetchError::HostDown {
                url: url.to_string(),
                secs: until.saturating_duration_since(Instant::now()).as_secs(),
            }),
            Err(_) => Err(FetchError::Cancelled {
                url: url.to_string(),
            }),
        }
    }

    /// Tells the host book how a request started with it ended; logs and returns a backoff.
    pub fn finish(&self, origin: &str, result: &Result<Response, FetchError>) -> Option<BackedOff> {
        let outcome = match result {
            Ok(_) => Outcome::Answered,
            Err(e) => e.host_outcome(),
        };
        let backed_off = self.hosts.finish(origin, outcome);
        if let Some(b) = &backed_off {
            tracing::warn!(
                host = %b.origin,
                cooldown_secs = b.cooldown.as_secs(),
                "host keeps failing; backed off"
            );
        }
        backed_off
    }

    /// Fetches `url` once its host's turn has been taken ([`HostBook::try_start`]): checks the
    /// target and robots.txt, then makes the request, which only `abort` interrupts. The
    /// caller reports the result to [`HttpFetcher::finish`].
    pub async fn fetch_started(
        &self,
        url: &str,
        purpose: Purpose,
        validators: Option<&Validators>,
        abort: &CancellationToken,
    ) -> Result<Response, FetchError> {
        let parsed = Url::parse(url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"));
        let parsed = parsed.ok_or_else(|| FetchError::BadUrl {
            url: url.to_string(),
        })?;
        let first_origin = parsed.origin().ascii_serialization();
        // The host whose turn this fetch holds: the first one's, taken by the caller, then
        // each hop's in turn.
        let mut held = Some(first_origin.clone());
        let mut visited: Vec<Url> = Vec::new();
        let mut current = parsed;
        let result = loop {
            let answer = match self
                .checked_request(&current, purpose, validators, abort)
                .await
            {
                Ok(answer) => answer,
                Err(e) => break Err(e),
            };
            let to = match answer {
                Answer::Final(response) => break Ok(response),
                Answer::Redirect(to) => to,
            };
            visited.push(current.clone());
            let refused = |message: String| FetchError::Refused {
                url: url.to_string(),
                message,
            };
            if visited.len() > self.config.max_redirects {
                break Err(refused(format!(
                    "more than {} redirects",
                    self.config.max_redirects
                )));
            }
            if visited.contains(&to) {
                break Err(refused(format!("redirect loop at {to}")));
            }
            // A hop is a request of its own: it waits its host's turn, as any request does.
            let next_origin = to.origin().ascii_serialization();
            if let Some(origin) = held.take() {
                self.hosts.finish(&origin, Outcome::Answered);
            }
            if let Err(e) = self.take_turn(&next_origin, to.as_str(), abort).await {
                break Err(e);
            }
            held = Some(next_origin);
            current = to;
        };
        // The caller ends the first host's turn: hand it back, having ended the last hop's.
        if held.as_deref() != Some(first_origin.as_str()) {
            if let Some(origin) = held {
                self.finish(&origin, &result);
            }
            self.hosts.hold(&first_origin);
        }
        result
    }

    /// One request, after checking its target (the private-address guard) and robots.txt.
    async fn checked_request(
        &self,
        url: &Url,
        purpose: Purpose,
        validators: Option<&Validators>,
        abort: &CancellationToken,
    ) -> Result<Answer, FetchError> {
        check_target(url, &self.config.allow_private_networks).map_err(|reason| {
            FetchError::Blocked {
                url: url.to_string(),
                reason,
            }
        })?;
        let origin = url.origin().ascii_serialization();
        if self.config.obey_robots && url.path() != "/robots.txt" {
            let robots = self.robots_for(&origin, abort).await?;
            if let Some(rules) = robots.get().and_then(|r| r.rules.as_ref()) {
                if !rules.allowed(url.as_str()) {
                    return Err(FetchError::Robots {
                        url: url.to_string(),
                    });
                }
                if let Some(crawl_delay) = rules.delay {
                    self.hosts.set_crawl_delay(
                        &origin,
                        Duration::from_secs_f32(crawl_delay.clamp(0.0, 60.0)),
                    );
                }
            }
        }
        tokio::select! {
            r = self.request(url.as_str(), purpose, validators) => r,
            () = abort.cancelled() => Err(FetchError::Cancelled { url: url.to_string() }),
        }
    }

    /// The sitemaps the robots.txt of `origin` names (`Sitemap:` lines), read through the
    /// same cache the page fetches use: one robots.txt request per host and day, not one per
    /// source that wants it. A missing robots.txt (4xx) names none.
    pub async fn robots_sitemaps(
        &self,
        origin: &str,
        abort: &CancellationToken,
    ) -> Result<Vec<String>, FetchError> {
        let url = format!("{origin}/robots.txt");
        let parsed = Url::parse(&url).map_err(|_| FetchError::BadUrl { url: url.clone() })?;
        check_target(&parsed, &self.config.allow_private_networks)
            .map_err(|reason| FetchError::Blocked { url, reason })?;
        let cell = self.robots_for(origin, abort).await?;
        Ok(cell
            .get()
            .and_then(|r| r.rules.as_ref())
            .map(|rules| rules.sitemaps.clone())
            .unwrap_or_default())
    }

    async fn robots_for(
        &self,
        origin: &str,
        abort: &CancellationToken,
    ) -> Result<Arc<OnceCell<Robots>>, FetchError> {
        let cell = {
            let mut robots = self.robots.lock().expect("robots table lock");
            let entry = robots.entry(origin.to_string()).or_default();
            if entry
                .get()
                .is_some_and(|r| r.fetched.elapsed() > ROBOTS_TTL)
            {
                *entry = Arc::default();
            }
            entry.clone()
        };
        // One task fetches a host's robots.txt; others wanting it wait for that one.
        cell.get_or_try_init(|| async {
            let robots_url = format!("{origin}/robots.txt");
            let response = tokio::select! {
                r = self.robots_request(&robots_url) => r,
                () = abort.cancelled() => Err(FetchError::Cancelled { url: robots_url.clone() }),
            };
            let rules = match response {
                // Like Google, read at most the first 512 KiB of a robots.txt.
                Ok(r) => parse_robots(&self.config.user_agent, &r.body),
                // No robots.txt (4xx): everything is allowed.
                Err(FetchError::Status { status, .. }) if (400..500).contains(&status) => None,
                // Unreachable or failing robots.txt: do not crawl the host this time.
                Err(e) => {
                    tracing::warn!(origin, error = %e, "robots.txt unavailable; host skipped");
                    return Err(e);
                }
            };
            Ok(Robots {
                rules,
                fetched: Instant::now(),
            })
        })
        .await?;
        Ok(cell)
    }

    /// A robots.txt, its redirects followed (as Google does, up to `max_redirects`), each
    /// hop's target checked.
    async fn robots_request(&self, url: &str) -> Result<Response, FetchError> {
        let mut current = url.to_string();
        for _ in 0..=self.config.max_redirects {
            match self.request(&current, Purpose::Robots, None).await? {
                Answer::Final(response) => return Ok(response),
                Answer::Redirect(to) => {
                    check_target(&to, &self.config.allow_private_networks).map_err(|reason| {
                        FetchError::Blocked {
                            url: to.to_string(),
                            reason,
                        }
                    })?;
                    current = to.to_string();
                }
            }
        }
        Err(FetchError::Refused {
            url: url.to_string(),
            message: format!("more than {} redirects", self.config.max_redirects),
        })
    }

    async fn request(
        &self,
        url: &str,
        purpose: Purpose,
        validators: Option<&Validators>,
    ) -> Result<Answer, FetchError> {
        let started = Instant::now();
        let http_error = |e: reqwest::Error| {
            let message = error_chain(&e);
            if e.is_redirect() || message.contains("message head is too large") {
                FetchError::Refused {
                    url: url.to_string(),
                    message,
                }
            } else {
                FetchError::Http {
                    url: url.to_string(),
                    message,
                }
            }
        };
        let mut request = self.client.get(url);
        if let Some(v) = validators {
            if let Some(etag) = &v.etag {
                request = request.header(IF_NONE_MATCH, etag);
            }
            if let Some(last_modified) = &v.last_modified {
                request = request.header(IF_MODIFIED_SINCE, last_modified);
            }
        }
        let mut response = request.send().await.map_err(http_error)?;
        let status = response.status().as_u16();
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                .map(str::to_string)
        };
        let content_type = header(CONTENT_TYPE);
        let validators = Validators {
            etag: header(ETAG),
            last_modified: header(LAST_MODIFIED),
        };
        let final_url = response.url().to_string();
        if status == 304 {
            return Ok(Answer::Final(Response {
                final_url,
                status,
                content_type,
                validators,
                body: Vec::new(),
                elapsed: started.elapsed(),
            }));
        }
        if (300..400).contains(&status)
            && let Some(location) = header(LOCATION)
        {
            return match response.url().join(location.trim()) {
                Ok(to) if matches!(to.scheme(), "http" | "https") => Ok(Answer::Redirect(to)),
                _ => Err(FetchError::Refused {
                    url: url.to_string(),
                    message: format!("redirect to an address that cannot be fetched: {location:?}"),
                }),
            };
        }
        if !(200..300).contains(&status) {
            let retry_after = if status == 429 || status == 503 {
                header(RETRY_AFTER).and_then(|v| parse_retry_after(&v))
            } else {
                None
            };
            return Err(FetchError::Status {
                url: url.to_string(),
                status,
                retry_after,
            });
        }
        if purpose == Purpose::Page
            && let Some(ct) = &content_type
            && !is_textual(ct)
        {
            return Err(FetchError::NotHtml {
                url: url.to_string(),
                content_type: ct.clone(),
            });
        }
        let max = match purpose {
            Purpose::Robots => MAX_ROBOTS_BYTES,
            Purpose::Listing => self.config.max_listing_bytes,
            Purpose::Page => self.config.max_body_bytes,
        };
        let too_large = || FetchError::TooLarge {
            url: url.to_string(),
            max_bytes: max,
        };
        if purpose != Purpose::Robots && response.content_length().is_some_and(|n| n as usize > max)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(http_error)? {
            if body.len() + chunk.len() > max {
                if purpose != Purpose::Robots {
                    return Err(too_large());
                }
                // The rest of a long robots.txt is not read.
                body.extend_from_slice(&chunk[..max - body.len()]);
                break;
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer::Final(Response {
            final_url,
            status,
            content_type,
            validators,
            body,
            elapsed: started.elapsed(),
        }))
    }
}

/// The rules of a robots.txt for `user_agent`, read like Google reads them: at most the first
/// 512 KiB. `None` when the file cannot be read as robots.txt (then everything is allowed).
pub fn parse_robots(user_agent: &str, body: &[u8]) -> Option<texting_robots::Robot> {
    texting_robots::Robot::new(user_agent, &body[..body.len().min(MAX_ROBOTS_BYTES)]).ok()
}

/// The origin (`scheme://host:port`) of an http(s) URL.
pub fn origin_of(url: &str) -> Option<String> {
    Url::parse(url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .map(|u| u.origin().ascii_serialization())
}

/// Longest `Retry-After` read from a header: a year. Longer values (up to `u64::MAX` seconds,
/// or a date in year 9999) read as this; the fetcher's own cap is far lower.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(366 * 24 * 3600);

/// A `Retry-After` value: seconds, or an HTTP date; at most a year.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Digits that overflow a u64 are still a (very long) number of seconds.
        let secs = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER));
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let secs = (when.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_seconds();
    Some(Duration::from_secs(secs.max(0).unsigned_abs()).min(MAX_RETRY_AFTER))
}

fn is_textual(content_type: &str) -> bool {
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    mime.is_empty() || mime.contains("html") || mime.starts_with("text/") || mime.ends_with("xml")
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds_or_a_date_up_to_a_year() {
        assert_eq!(parse_retry_after("120"), Some(Duration::from_secs(120)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
        let year = Some(Duration::from_secs(366 * 24 * 3600));
        assert_eq!(parse_retry_after("9223372036854775807"), year);
        assert_eq!(parse_retry_after("99999999999999999999999"), year);
        assert_eq!(parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT"), year);
    }
}

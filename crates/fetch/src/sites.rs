//! Which site a link belongs to, so that a listing cannot steer the crawler off its own site:
//! a feed item or a section page's link is taken only when it is http(s) and on the
//! listing's site (the same registrable domain, by the public suffix list, so `rss.example.co.jp`
//! and `www.example.co.jp` are one site and `a.co.jp` and `b.co.jp` are two) or on one of the
//! source's `allowed_domains`.

use url::Url;

/// Why a listing's link is not taken, or `None` when it may be.
///
/// ```
/// use nichiro_fetch::sites::link_refused;
/// use url::Url;
/// let feed = Url::parse("https://rss.news.example.co.jp/feed.xml").unwrap();
/// assert_eq!(link_refused("https://www.news.example.co.jp/a/1", &feed, &[]), None);
/// assert!(link_refused("https://other.co.jp/a/1", &feed, &[]).is_some());
/// assert!(link_refused("javascript:alert(1)", &feed, &[]).is_some());
/// ```
pub fn link_refused(link: &str, listing: &Url, allowed: &[String]) -> Option<String> {
    let url = match Url::parse(link) {
        Ok(url) => url,
        Err(e) => return Some(format!("not a URL ({e})")),
    };
    if !matches!(url.scheme(), "http" | "https") {
        return Some(format!("a {}: link, not http(s)", url.scheme()));
    }
    if !on_site(&url, listing, allowed) {
        return Some(format!(
            "{} is neither the listing's site ({}) nor one of its allowed_domains",
            url.host_str().unwrap_or(""),
            listing.host_str().unwrap_or("")
        ));
    }
    None
}

/// Whether `url` is on the site of `listing` or on one of the `allowed` domains (each also
/// admitting its subdomains). A link naming a port must name the listing's (another port is
/// another service: `http://127.0.0.1:5432/` from a feed on 127.0.0.1:8080 is not its page).
pub fn on_site(url: &Url, listing: &Url, allowed: &[String]) -> bool {
    let Some(host) = url.host_str().map(normal_host) else {
        return false;
    };
    let listing_host = listing.host_str().map(normal_host).unwrap_or_default();
    let same_site = match (url.host(), listing.host()) {
        // An address is a site of its own: 10.0.0.1 and 127.0.0.1 share no "domain".
        (Some(url::Host::Domain(_)), Some(url::Host::Domain(_))) => {
            match (psl::domain_str(&host), psl::domain_str(&listing_host)) {
                (Some(a), Some(b)) => a == b,
                _ => host == listing_host,
            }
        }
        _ => host == listing_host,
    };
    let same_port = url.port().is_none() || url.port() == listing.port();
    (same_site && same_port)
        || allowed.iter().any(|domain| {
            let domain = normal_host(domain.trim_start_matches('.'));
            host == domain || host.ends_with(&format!(".{domain}"))
        })
}

fn normal_host(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sites_are_registrable_domains_and_addresses_stand_alone() {
        let feed = Url::parse("https://feeds.news.example.co.uk/rss").unwrap();
        let ok = |link: &str| link_refused(link, &feed, &["partner.example".into()]).is_none();
        assert!(ok("https://www.news.example.co.uk/world/1"));
        assert!(ok("http://NEWS.example.co.uk./2"));
        assert!(ok("https://partner.example/story"));
        assert!(ok("https://cdn.partner.example/story"));
        assert!(!ok("https://other.co.uk/1"), "co.uk is a public suffix");
        assert!(!ok("https://notpartner.example/1"));
        for link in [
            "file:///etc/passwd",
            "javascript:alert(1)",
            "data:text/html,hi",
            "mailto:desk@news.example.co.uk",
            "http://127.0.0.1:5432/",
            "not a url",
        ] {
            assert!(!ok(link), "{link}");
        }
        let local = Url::parse("http://127.0.0.1:8080/feed.xml").unwrap();
        assert_eq!(link_refused("http://127.0.0.1:8080/a", &local, &[]), None);
        assert!(link_refused("http://127.0.0.1:5432/", &local, &[]).is_some());
        assert!(link_refused("http://10.0.0.1/a", &local, &[]).is_some());
        assert!(link_refused("http://0.1/a", &local, &[]).is_some());
    }
}

//! URL canonicalization, so that one article reached by several addresses is fetched once.

use url::Url;

/// Query parameters that only track where a click came from.
const TRACKING_PARAMS: &[&str] = &[
    "fbclid", "gclid", "dclid", "msclkid", "yclid", "igshid", "mc_cid", "mc_eid", "_ga", "ref_src",
    "cmpid", "ocid",
];

/// The canonical form of an http(s) URL: lower-case scheme and host and no default port (the
/// `url` crate does these), no fragment, no tracking parameters (`utm_*`, `fbclid`, …). Other
/// URLs (`file://`) and unparsable strings come back unchanged.
pub fn canonicalize(raw: &str) -> String {
    let Ok(mut url) = Url::parse(raw.trim()) else {
        return raw.trim().to_string();
    };
    if !matches!(url.scheme(), "http" | "https") {
        return url.to_string();
    }
    url.set_fragment(None);
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| {
            let k = k.to_ascii_lowercase();
            !k.starts_with("utm_") && !TRACKING_PARAMS.contains(&k.as_str())
        })
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(kept);
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::canonicalize;

    #[test]
    fn table() {
        let cases = [
            (
                "HTTPS://Example.ORG:443/a/b?utm_source=x&id=7&fbclid=1#top",
                "https://example.org/a/b?id=7",
            ),
            (
                "http://example.org:80/?utm_medium=rss",
                "http://example.org/",
            ),
            (
                "https://example.org/ru/news?page=2",
                "https://example.org/ru/news?page=2",
            ),
            ("file:///data/corpus/a.txt", "file:///data/corpus/a.txt"),
            ("not a url", "not a url"),
        ];
        for (input, expected) in cases {
            assert_eq!(canonicalize(input), expected, "{input}");
        }
    }
}

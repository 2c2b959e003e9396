//! URL canonicalization, so that one article reached by several addresses is fetched once.

use url::Url;

/// Query parameters that only track where a click came from.
const TRACKING_PARAMS: &[&str] = &[
    "fbclid", "gclid", "dclid", "msclkid", "yclid", "igshid", "mc_cid", "mc_eid", "_ga", "ref_src",
    "cmpid", "ocid", "smid", "rss",
];

/// The canonical form of an http(s) URL, for deduplication:
/// - lower-case scheme and host, no default port (the `url` crate does these), no fragment;
/// - no tracking parameters (`utm_*`, `fbclid`, …), the others sorted;
/// - AMP variants folded into the page they mirror: an `amp.` host prefix, an `amp` path
///   segment at either end, `.amp` before the extension, `amp`/`amp=1`/`outputType=amp`;
/// - no trailing slash, except on the root path.
///
/// Other URLs (`file://`) and unparsable strings come back unchanged.
pub fn canonicalize(raw: &str) -> String {
    let Ok(mut url) = Url::parse(raw.trim()) else {
        return raw.trim().to_string();
    };
    if !matches!(url.scheme(), "http" | "https") {
        // Only web addresses are canonicalized: other schemes keep their text (a file: URL
        // with an odd host, `file://;h/…`, serializes into one that parses back otherwise).
        return raw.trim().to_string();
    }
    url.set_fragment(None);
    // Every leading `amp.` of the host (once was not stable: `amp.amp.example.org`).
    while let Some(rest) = url
        .host_str()
        .and_then(|host| host.strip_prefix("amp."))
        .filter(|rest| rest.contains('.'))
        .map(str::to_string)
    {
        if url.set_host(Some(&rest)).is_err() {
            break;
        }
    }
    let mut segments: Vec<String> = url
        .path_segments()
        .map(|s| s.map(str::to_string).collect())
        .unwrap_or_default();
    // A trailing slash, and empty segments anywhere (`/a//b`): servers read `//` as `/`, and
    // kept, a path beginning `//` serializes as something that parses back differently (the
    // fuzzer found `https:tl://www.e.org:442//` canonical one way, then another).
    segments.retain(|s| !s.is_empty());
    // Every `amp` segment at either end (once was not stable: `/x/amp/amp`).
    while segments.first().is_some_and(|s| s == "amp") && segments.len() > 1 {
        segments.remove(0);
    }
    while segments.last().is_some_and(|s| s == "amp") && segments.len() > 1 {
        segments.pop();
    }
    // `story.amp.html` is `story.html`, however many `.amp` (once was not stable).
    if let Some(last) = segments.last_mut()
        && let Some((stem, ext)) = last.rsplit_once('.')
        && !ext.is_empty()
    {
        let mut stem = stem;
        while let Some(shorter) = stem.strip_suffix(".amp").filter(|s| !s.is_empty()) {
            stem = shorter;
        }
        *last = format!("{stem}.{ext}");
    }
    url.set_path(&format!("/{}", segments.join("/")));
    let mut kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, v)| {
            let k = k.to_ascii_lowercase();
            let amp = k == "amp" || (k == "outputtype" && v.eq_ignore_ascii_case("amp"));
            !k.starts_with("utm_") && !TRACKING_PARAMS.contains(&k.as_str()) && !amp
        })
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    kept.sort();
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
                "https://example.org/a/.amp.?id=2",
                "https://example.org/a/.amp.?id=2",
            ),
            (
                "https://example.org/news/story.amp.amp.html",
                "https://example.org/news/story.html",
            ),
            (
                "https://amp.amp.example.org/news/1",
                "https://example.org/news/1",
            ),
            (
                "https://example.org/amp/amp/news/1/amp/amp",
                "https://example.org/news/1",
            ),
            ("file://;h\t///e://;h///", "file://;h\t///e://;h///"),
            (
                "https://example.org//ru///news//?id=1",
                "https://example.org/ru/news?id=1",
            ),
            (
                "https://example.org/ru/news?page=2&b=1",
                "https://example.org/ru/news?b=1&page=2",
            ),
            (
                "https://example.org/news/2019/lavrov/",
                "https://example.org/news/2019/lavrov",
            ),
            (
                "https://example.org/amp/news/lavrov",
                "https://example.org/news/lavrov",
            ),
            (
                "https://example.org/news/lavrov/amp/",
                "https://example.org/news/lavrov",
            ),
            (
                "https://example.org/news/lavrov.amp.html",
                "https://example.org/news/lavrov.html",
            ),
            (
                "https://example.org/news/lavrov?amp=1",
                "https://example.org/news/lavrov",
            ),
            (
                "https://example.org/news/lavrov?outputType=amp",
                "https://example.org/news/lavrov",
            ),
            (
                "https://amp.example.org/news/lavrov",
                "https://example.org/news/lavrov",
            ),
            ("https://amp.org/news/lavrov", "https://amp.org/news/lavrov"),
            ("https://example.org/amp", "https://example.org/amp"),
            ("file:///data/corpus/a.txt", "file:///data/corpus/a.txt"),
            ("not a url", "not a url"),
        ];
        for (input, expected) in cases {
            assert_eq!(canonicalize(input), expected, "{input}");
        }
    }
}

//! The site's ordinary pages: robots.txt, the feeds, the sitemaps and the articles.

use crate::{FAULTS, SPOOFED_LINKS, State, response};

const HTML: (&str, &str) = ("Content-Type", "text/html; charset=utf-8");
const XML: (&str, &str) = ("Content-Type", "application/xml");

/// Sentences the articles are made of; each article takes its own selection and order, so no
/// two are copies of each other.
const SENTENCES: &[&str] = &[
    "Russian and Japanese diplomats met in Tokyo to discuss the peace treaty that the two countries never signed after the Second World War.",
    "The dispute over the southern Kuril Islands, which Japan calls its Northern Territories, has kept relations cool for decades.",
    "Fishermen from Hokkaido asked for safe passage near the islands of Kunashir and Iturup during the salmon season.",
    "The foreign ministers of both countries agreed to continue talks on joint economic activity on the islands.",
    "Moscow criticised the deployment of American missile defence systems in Japan, calling them a threat to its security.",
    "Former island residents travelled without visas to visit the graves of their ancestors on Shikotan.",
    "Energy companies discussed liquefied natural gas supplies from Sakhalin to Japanese power plants.",
    "A delegation of Japanese lawmakers visited Vladivostok for the Eastern Economic Forum.",
    "The two defence ministers held talks in the two-plus-two format on regional security.",
    "Analysts in Moscow and Tokyo said a breakthrough on the territorial question was unlikely this year.",
    "The city council approved a new budget for road repairs and school buildings.",
    "Heavy rain caused flooding in several districts, and the railway suspended services for a day.",
    "Tourists crowded the markets before the holiday, and hotel prices rose sharply.",
    "The central bank kept its key interest rate unchanged, citing slowing inflation.",
    "Scientists reported a rare species of crab near the coast of the Sea of Okhotsk.",
    "A summit between the leaders was announced for the autumn, the first in several years.",
];

/// The text of ordinary article `n`: ten sentences chosen and ordered by `n`.
pub fn article_text(n: usize) -> String {
    let mut state = (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut paragraphs = vec![format!(
        "Report number {n} from our correspondents, filed on day {} of the series.",
        n % 365
    )];
    for _ in 0..10 {
        paragraphs.push(SENTENCES[next() as usize % SENTENCES.len()].to_string());
    }
    paragraphs.join("\n\n")
}

pub(crate) fn article_html(n: usize) -> String {
    let body: String = article_text(n)
        .split("\n\n")
        .map(|p| format!("<p>{p}</p>\n"))
        .collect();
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Report {n}</title>\
         <meta property=\"article:published_time\" content=\"2026-12-01T10:00:00Z\"></head>\
         <body><nav><a href=\"/\">Home</a> <a href=\"/world\">World</a></nav>\
         <article><h1>Report {n}</h1>\n{body}</article>\
         <footer>© The Hostile Times. All rights reserved.</footer></body></html>"
    )
}

fn robots() -> Vec<u8> {
    // The rules that matter come first; a crawler reading only the first 512 KiB obeys them,
    // and the last line (which would shut the whole site) is past any sane limit.
    let mut text = String::from("User-agent: *\nDisallow: /private/\n\n");
    let filler = "# a long comment line, repeated to make this file five megabytes long\n";
    while text.len() < 5 << 20 {
        text.push_str(filler);
    }
    text.push_str("User-agent: *\nDisallow: /\n");
    text.into_bytes()
}

fn rss(items: &[String]) -> String {
    let items: String = items
        .iter()
        .map(|link| {
            format!(
                "<item><title>Item</title><link>{}</link><pubDate>Tue, 01 Dec 2026 10:00:00 GMT</pubDate></item>\n",
                link.replace('&', "&amp;")
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>The Hostile Times</title>\
         <link>/</link>\n{items}</channel></rss>"
    )
}

fn urlset(locs: impl Iterator<Item = (String, &'static str)>) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\"?><urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    for (loc, lastmod) in locs {
        out.push_str(&format!(
            "<url><loc>{loc}</loc><lastmod>{lastmod}</lastmod></url>\n"
        ));
    }
    out.push_str("</urlset>");
    out
}

pub(crate) fn answer(path: &str, state: &State) -> Vec<u8> {
    let base = &state.base;
    match path {
        "/robots.txt" => response("200 OK", &[("Content-Type", "text/plain")], &robots()),
        "/feed.xml" => {
            // Every fault page, the robots-disallowed one, and links a feed must not steer to.
            let mut links: Vec<String> =
                FAULTS.iter().map(|f| format!("{base}{}", f.path)).collect();
            links.push(format!("{base}/private/secret"));
            links.extend(SPOOFED_LINKS.iter().map(|s| s.to_string()));
            response("200 OK", &[XML], rss(&links).as_bytes())
        }
        "/laughs.xml" => {
            let mut doc =
                String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE rss [\n<!ENTITY lol \"lol\">\n");
            doc.push_str("<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n");
            for i in 2..=9 {
                let prev = format!("&lol{};", i - 1).repeat(10);
                doc.push_str(&format!("<!ENTITY lol{i} \"{prev}\">\n"));
            }
            doc.push_str("]>\n<rss version=\"2.0\"><channel><title>&lol9;</title>");
            doc.push_str(&format!(
                "<item><title>&lol9;</title><link>{base}/article/0</link><description>&lol9;</description></item>"
            ));
            doc.push_str("</channel></rss>");
            response("200 OK", &[XML], doc.as_bytes())
        }
        "/xxe.xml" => {
            let doc = format!(
                "<?xml version=\"1.0\"?>\n<!DOCTYPE rss [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n\
                 <rss version=\"2.0\"><channel><title>x</title><item><title>&xxe;</title>\
                 <link>{base}/article/1</link><description>&xxe;</description></item></channel></rss>"
            );
            response("200 OK", &[XML], doc.as_bytes())
        }
        "/sitemap.xml" => {
            let children: String = ["articles", "bulk", "missing", "truncated"]
                .iter()
                .map(|c| format!("<sitemap><loc>{base}/sitemap-{c}.xml</loc></sitemap>"))
                .collect();
            let doc = format!(
                "<?xml version=\"1.0\"?><sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">{children}</sitemapindex>"
            );
            response("200 OK", &[XML], doc.as_bytes())
        }
        "/sitemap-articles.xml" => {
            let locs =
                (0..state.spec.articles).map(|n| (format!("{base}/article/{n}"), "2026-12-01"));
            response("200 OK", &[XML], urlset(locs).as_bytes())
        }
        "/sitemap-bulk.xml" => {
            let locs = (0..state.spec.bulk_sitemap_urls)
                .map(|n| (format!("{base}/old/{n}"), "2001-01-01"));
            response("200 OK", &[XML], urlset(locs).as_bytes())
        }
        "/sitemap-truncated.xml" => {
            let doc = urlset(std::iter::once((format!("{base}/article/2"), "2026-12-01")));
            response("200 OK", &[XML], &doc.as_bytes()[..doc.len() / 2])
        }
        _ => {
            if let Some(n) = path
                .strip_prefix("/article/")
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|n| *n < state.spec.articles)
            {
                return response("200 OK", &[HTML], article_html(n).as_bytes());
            }
            response("404 Not Found", &[HTML], b"<h1>Not found</h1>")
        }
    }
}

//! The fault pages, each with what a sturdy crawler makes of it.

use std::io::Write;
use std::sync::OnceLock;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::pages::article_html;
use crate::{State, response};

/// What a sturdy crawler makes of a fault page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The page is stored, its text containing this.
    Stored(&'static str),
    /// The page is not stored, and the run's log names its URL with a reason containing this.
    Refused(&'static str),
}

/// One fault page.
#[derive(Debug, Clone, Copy)]
pub struct Fault {
    /// Its path on the site.
    pub path: &'static str,
    /// What it does.
    pub what: &'static str,
    /// What should come of it.
    pub outcome: Outcome,
}

const fn fault(path: &'static str, what: &'static str, outcome: Outcome) -> Fault {
    Fault {
        path,
        what,
        outcome,
    }
}

use Outcome::{Refused, Stored};

/// Every fault page the site's feed lists.
pub const FAULTS: &[Fault] = &[
    fault(
        "/fault/drip",
        "headers, then one byte every 200 ms",
        Refused("timed out"),
    ),
    fault(
        "/fault/stall",
        "reads the request and never answers",
        Refused("timed out"),
    ),
    fault(
        "/fault/stall-body",
        "headers, then nothing",
        Refused("timed out"),
    ),
    fault(
        "/fault/reset",
        "100 of 5,000 promised bytes, then a TCP reset",
        Refused("body"),
    ),
    fault(
        "/fault/truncated-gzip",
        "half a gzip stream",
        Refused("body"),
    ),
    fault(
        "/fault/gzip-bomb",
        "64 MB of spaces in 64 KB of gzip",
        Refused("body over"),
    ),
    fault(
        "/fault/deflate-bomb",
        "64 MB of spaces in zlib deflate",
        Refused("body over"),
    ),
    fault(
        "/fault/brotli-bomb",
        "64 MB of spaces in brotli",
        Refused("body over"),
    ),
    fault(
        "/fault/endless-chunked",
        "a chunked body that never ends",
        Refused("body over"),
    ),
    fault("/fault/huge", "a 20 MB page", Refused("body over")),
    fault(
        "/fault/huge-header",
        "a 1 MB header line",
        Refused("header"),
    ),
    fault(
        "/fault/redirect-loop",
        "redirects between two addresses",
        Refused("redirect"),
    ),
    fault(
        "/fault/chain/0",
        "a chain of 30 redirects",
        Refused("redirect"),
    ),
    fault("/fault/pdf", "a PDF served as text/html", Refused("PDF")),
    fault("/fault/deep", "100,000 nested <div>s", Refused("nest")),
    fault(
        "/fault/retry-after-forever",
        "429 with Retry-After: 999999999",
        Refused("Retry-After"),
    ),
    fault(
        "/fault/retry-after-overflow",
        "503 with Retry-After: 9223372036854775807",
        Refused("Retry-After"),
    ),
    fault(
        "/fault/retry-after-9999",
        "429 with Retry-After in the year 9999",
        Refused("Retry-After"),
    ),
    fault(
        "/fault/retry-after-garbage",
        "503 with Retry-After: soon, every time",
        Refused("503"),
    ),
    fault(
        "/fault/retry-after-1",
        "429 with Retry-After: 1, then the page",
        Stored("Report number 1001"),
    ),
    fault(
        "/fault/retry-after-past",
        "503 with a Retry-After date in 2015, then the page",
        Stored("Report number 1002"),
    ),
    fault(
        "/fault/flap",
        "503 and the page by turns",
        Stored("Report number 1003"),
    ),
    fault(
        "/fault/no-content-type",
        "an article without Content-Type",
        Stored("Report number 1004"),
    ),
    fault(
        "/fault/stray-byte",
        "UTF-8 Russian with one invalid byte",
        Stored("Курильск\u{FFFD}"),
    ),
    fault(
        "/fault/windows-1251",
        "Russian in windows-1251, declared in the header",
        Stored("Южно-Курильск"),
    ),
    fault(
        "/fault/lying-charset",
        "UTF-8 Russian declared as ISO-8859-1 in the header",
        Stored("Южно-Курильска"),
    ),
    fault(
        "/fault/undeclared-utf8",
        "Japanese UTF-8 with no charset anywhere",
        Stored("北方領土"),
    ),
    fault(
        "/private/secret",
        "a page robots.txt disallows",
        Refused("robots"),
    ),
];

/// Links in the feed that lead off the site or out of the web; none may be fetched or stored.
pub const SPOOFED_LINKS: &[&str] = &[
    "http://example.com/stolen-article",
    "file:///etc/passwd",
    "javascript:alert(1)",
    "data:text/html,<p>injected</p>",
    "mailto:editor@example.com",
    "http://127.0.0.1:5432/",
];

const HTML: (&str, &str) = ("Content-Type", "text/html; charset=utf-8");
const BOMB_BYTES: usize = 64 << 20;

pub(crate) fn bomb(kind: &str) -> &'static [u8] {
    static GZIP: OnceLock<Vec<u8>> = OnceLock::new();
    static DEFLATE: OnceLock<Vec<u8>> = OnceLock::new();
    static BROTLI: OnceLock<Vec<u8>> = OnceLock::new();
    let spaces = || vec![b' '; BOMB_BYTES];
    match kind {
        "gzip" => GZIP.get_or_init(|| {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            e.write_all(&spaces()).expect("in memory");
            e.finish().expect("in memory")
        }),
        "deflate" => DEFLATE.get_or_init(|| {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
            e.write_all(&spaces()).expect("in memory");
            e.finish().expect("in memory")
        }),
        _ => BROTLI.get_or_init(|| {
            let mut out = Vec::new();
            {
                let mut e = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
                e.write_all(&spaces()).expect("in memory");
            }
            out
        }),
    }
}

fn numbered_article(n: usize) -> Vec<u8> {
    article_html(n).into_bytes()
}

fn russian_article() -> String {
    let paragraphs = [
        "Делегация из Южно-Курильска провела переговоры с японскими рыбаками о квотах на вылов лосося.",
        "Министр иностранных дел России заявил, что вопрос мирного договора с Японией остаётся открытым.",
        "Жители острова Кунашир обсудили безвизовые поездки бывших японских жителей на могилы предков.",
        "Эксперты считают, что совместная хозяйственная деятельность на островах может начаться уже летом.",
        "Японская сторона предложила расширить гуманитарные обмены между Хоккайдо и Сахалином.",
    ];
    let body: String = paragraphs.iter().map(|p| format!("<p>{p}</p>")).collect();
    format!(
        "<!doctype html><html lang=\"ru\"><head><title>Курилы</title></head><body><article>\
         <h1>Переговоры о Курилах</h1>{body}</article></body></html>"
    )
}

fn japanese_article() -> String {
    let paragraphs = [
        "北方領土の元島民らが、ビザなし交流の再開を求める要望書を外務省に提出した。",
        "日本政府はロシアとの平和条約交渉を粘り強く続ける方針を改めて示した。",
        "色丹島と国後島での共同経済活動について、両国の実務者協議が東京で開かれた。",
        "根室市の漁業関係者は、安全操業の枠組みが維持されるよう強く求めている。",
        "専門家は、日露関係の改善には時間がかかるとの見方を示している。",
    ];
    let body: String = paragraphs.iter().map(|p| format!("<p>{p}</p>")).collect();
    // No <meta charset> and no charset in the header: the bytes must speak for themselves.
    format!(
        "<!doctype html><html lang=\"ja\"><head><title>北方領土</title></head><body><article>\
         <h1>北方領土をめぐる協議</h1>{body}</article></body></html>"
    )
}

/// windows-1251 bytes of a text of ASCII and Russian letters.
fn windows_1251(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            'А'..='я' => (c as u32 - 'А' as u32 + 0xC0) as u8,
            'ё' => 0xB8,
            'Ё' => 0xA8,
            '—' => 0x97,
            c if c.is_ascii() => c as u8,
            _ => b'?',
        })
        .collect()
}

/// Waits until the client hangs up (or ten minutes pass), reading and dropping what it sends.
async fn until_hung_up(stream: &mut TcpStream) {
    let mut sink = [0u8; 256];
    let wait = async { while stream.read(&mut sink).await.is_ok_and(|n| n > 0) {} };
    let _ = tokio::time::timeout(Duration::from_secs(600), wait).await;
}

/// Answers a fault page, or `None` when `path` is not one. `hit` counts this path's requests,
/// this one included.
pub(crate) async fn answer(
    path: &str,
    hit: usize,
    state: &State,
    stream: &mut TcpStream,
) -> Option<std::io::Result<()>> {
    let _ = state;
    let reply: Vec<u8> = match path {
        "/fault/drip" => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n";
            return Some(async {
                stream.write_all(head.as_bytes()).await?;
                for _ in 0..3000 {
                    stream.write_all(b"<").await?;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Ok(())
            }
            .await);
        }
        "/fault/stall" => {
            until_hung_up(stream).await;
            return Some(Ok(()));
        }
        "/fault/stall-body" => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5000\r\n\r\n";
            return Some(async {
                stream.write_all(head.as_bytes()).await?;
                until_hung_up(stream).await;
                Ok(())
            }
            .await);
        }
        "/fault/reset" => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5000\r\n\r\n";
            return Some(async {
                stream.write_all(head.as_bytes()).await?;
                stream.write_all(&[b'x'; 100]).await?;
                stream.flush().await?;
                // Linger zero: closing sends a reset, not a polite end.
                stream.set_zero_linger()?;
                Ok(())
            }
            .await);
        }
        "/fault/truncated-gzip" => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(&numbered_article(1000)).expect("in memory");
            let gz = e.finish().expect("in memory");
            response(
                "200 OK",
                &[HTML, ("Content-Encoding", "gzip")],
                &gz[..gz.len() / 2],
            )
        }
        "/fault/gzip-bomb" => response("200 OK", &[HTML, ("Content-Encoding", "gzip")], bomb("gzip")),
        "/fault/deflate-bomb" => {
            response("200 OK", &[HTML, ("Content-Encoding", "deflate")], bomb("deflate"))
        }
        "/fault/brotli-bomb" => response("200 OK", &[HTML, ("Content-Encoding", "br")], bomb("br")),
        "/fault/endless-chunked" => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n";
            let chunk = format!("4000\r\n{}\r\n", &"<p>endless</p>".repeat(16384 / 14 + 1)[..16384]);
            return Some(async {
                stream.write_all(head.as_bytes()).await?;
                // A gigabyte at most, should a client never hang up.
                for _ in 0..(1 << 16) {
                    stream.write_all(chunk.as_bytes()).await?;
                }
                Ok(())
            }
            .await);
        }
        "/fault/huge" => {
            let mut page = String::from("<html><body><article>");
            while page.len() < 20 << 20 {
                page.push_str("<p>An enormous page that goes on and on.</p>\n");
            }
            page.push_str("</article></body></html>");
            response("200 OK", &[HTML], page.as_bytes())
        }
        "/fault/huge-header" => {
            let filler = "a".repeat(1 << 20);
            response("200 OK", &[HTML, ("X-Filler", &filler)], &numbered_article(1005))
        }
        "/fault/redirect-loop" | "/fault/redirect-loop/1" => {
            let next = if path.ends_with("/1") {
                "/fault/redirect-loop"
            } else {
                "/fault/redirect-loop/1"
            };
            response("302 Found", &[("Location", next)], b"")
        }
        _ if path.starts_with("/fault/chain/") => {
            let n: usize = path["/fault/chain/".len()..].parse().unwrap_or(0);
            if n < 30 {
                let next = format!("/fault/chain/{}", n + 1);
                response("302 Found", &[("Location", &next)], b"")
            } else {
                response("200 OK", &[HTML], &numbered_article(1006))
            }
        }
        "/fault/pdf" => response(
            "200 OK",
            &[HTML],
            b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
        ),
        "/fault/deep" => {
            let page = format!(
                "<html><body>{}<p>deep</p></body></html>",
                "<div>".repeat(100_000)
            );
            response("200 OK", &[HTML], page.as_bytes())
        }
        "/fault/retry-after-forever" => {
            response("429 Too Many Requests", &[("Retry-After", "999999999")], b"")
        }
        "/fault/retry-after-overflow" => response(
            "503 Service Unavailable",
            &[("Retry-After", "9223372036854775807")],
            b"",
        ),
        "/fault/retry-after-9999" => response(
            "429 Too Many Requests",
            &[("Retry-After", "Fri, 31 Dec 9999 23:59:59 GMT")],
            b"",
        ),
        "/fault/retry-after-garbage" => {
            response("503 Service Unavailable", &[("Retry-After", "soon")], b"")
        }
        "/fault/retry-after-1" if hit == 1 => {
            response("429 Too Many Requests", &[("Retry-After", "1")], b"")
        }
        "/fault/retry-after-1" => response("200 OK", &[HTML], &numbered_article(1001)),
        "/fault/retry-after-past" if hit == 1 => response(
            "503 Service Unavailable",
            &[("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT")],
            b"",
        ),
        "/fault/retry-after-past" => response("200 OK", &[HTML], &numbered_article(1002)),
        "/fault/flap" if hit % 2 == 1 => response("503 Service Unavailable", &[], b""),
        "/fault/flap" => response("200 OK", &[HTML], &numbered_article(1003)),
        "/fault/no-content-type" => response("200 OK", &[], &numbered_article(1004)),
        "/fault/stray-byte" => {
            let page = russian_article().replace("Южно-Курильска", "Южно-Курильск\u{1}а");
            let bytes: Vec<u8> = page
                .into_bytes()
                .into_iter()
                .map(|b| if b == 1 { 0xFF } else { b })
                .collect();
            response("200 OK", &[HTML], &bytes)
        }
        "/fault/windows-1251" => response(
            "200 OK",
            &[("Content-Type", "text/html; charset=windows-1251")],
            &windows_1251(&russian_article()),
        ),
        "/fault/lying-charset" => response(
            "200 OK",
            &[("Content-Type", "text/html; charset=iso-8859-1")],
            russian_article().as_bytes(),
        ),
        "/fault/undeclared-utf8" => response(
            "200 OK",
            &[("Content-Type", "text/html")],
            japanese_article().as_bytes(),
        ),
        "/private/secret" => response("200 OK", &[HTML], &numbered_article(1007)),
        _ => return None,
    };
    Some(
        async {
            stream.write_all(&reply).await?;
            stream.shutdown().await
        }
        .await,
    )
}

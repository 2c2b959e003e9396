//! `page` sources: a section or index page whose article links are picked by the source's
//! `include` patterns and/or a CSS selector (`link_selector`). Links never lead off the page's
//! own site (its registrable domain, see [`crate::sites`]) unless `allowed_domains` names
//! other domains.

use nichiro_model::FetchJob;
use scraper::{Html, Selector};
use tokio::sync::mpsc;
use url::Url;

use super::{PollContext, Source, SourceError, queue};
use crate::sites::on_site;

/// Links taken from one page at most.
const MAX_LINKS: usize = 2000;

/// The article links of a section page, absolute and in page order, without repeats.
pub fn article_links(
    html: &str,
    base: &Url,
    selector: Option<&Selector>,
    allowed: &[String],
) -> Vec<String> {
    let document = Html::parse_document(html);
    let anchors = Selector::parse("a[href]").expect("valid selector");
    let selector = selector.unwrap_or(&anchors);
    let mut links: Vec<String> = Vec::new();
    for element in document.select(selector) {
        // A selector may pick a container: take the links inside it too.
        let hrefs = element.value().attr("href").into_iter().chain(
            element
                .select(&anchors)
                .filter_map(|a| a.value().attr("href")),
        );
        for href in hrefs {
            let Ok(mut url) = base.join(href) else {
                continue;
            };
            if !matches!(url.scheme(), "http" | "https") || !on_site(&url, base, allowed) {
                continue;
            }
            url.set_fragment(None);
            let url = url.to_string();
            if !links.contains(&url) && links.len() < MAX_LINKS {
                links.push(url);
            }
        }
    }
    links
}

pub(super) async fn poll(
    source: &mut Source,
    ctx: &PollContext,
    jobs: &mpsc::Sender<FetchJob>,
) -> Result<(), SourceError> {
    let name = source.config.name.clone();
    let url = source.config.url.clone().unwrap_or_default();
    let Some(response) = source
        .fetch_listing(ctx, &url, source.validators.as_ref())
        .await?
    else {
        return Ok(());
    };
    let parse_error = |message: String| SourceError::Parse {
        source_name: name.clone(),
        url: url.clone(),
        message,
    };
    let base = Url::parse(&response.final_url).map_err(|e| parse_error(e.to_string()))?;
    let selector = source
        .config
        .link_selector
        .as_deref()
        .map(|s| {
            Selector::parse(s).map_err(|e| parse_error(format!("bad link_selector {s:?}: {e}")))
        })
        .transpose()?;
    let html = String::from_utf8_lossy(&response.body);
    let links = article_links(
        &html,
        &base,
        selector.as_ref(),
        &source.config.allowed_domains,
    );
    source.validators = Some(response.validators);
    tracing::info!(source = %name, links = links.len(), "section page listed");
    for link in links {
        if !source.admits(ctx, &link, None) {
            continue;
        }
        let hints = source.hints(None, None);
        if !queue(ctx, jobs, source.remote_job(link, hints)).await {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<html><body>
        <nav><a href="/">Home</a> <a href="/world/">World</a></nav>
        <div class="headlines">
          <a href="/world/2019/05/31/lavrov-kono.html#top">Lavrov and Kono</a>
          <h3><a href="https://www.news.example/world/2019/06/01/kurils.html">Kurils</a></h3>
          <a href="https://cdn.news.example/world/2019/06/02/lng.html">LNG</a>
          <a href="https://elsewhere.example/world/2019/06/03/x.html">Elsewhere</a>
          <a href="https://partner.example/story">Partner</a>
          <a href="mailto:desk@news.example">Mail</a>
        </div>
        <footer><a href="/about">About</a></footer></body></html>"#;

    #[test]
    fn links_stay_on_the_site_unless_allowed_and_a_selector_narrows_them() {
        let base = Url::parse("https://news.example/world/").unwrap();
        let all = article_links(PAGE, &base, None, &[]);
        assert_eq!(
            all,
            [
                "https://news.example/",
                "https://news.example/world/",
                "https://news.example/world/2019/05/31/lavrov-kono.html",
                "https://www.news.example/world/2019/06/01/kurils.html",
                "https://cdn.news.example/world/2019/06/02/lng.html",
                "https://news.example/about",
            ]
        );
        let selector = Selector::parse("div.headlines").unwrap();
        let picked = article_links(
            PAGE,
            &base,
            Some(&selector),
            &["partner.example".to_string()],
        );
        assert_eq!(
            picked,
            [
                "https://news.example/world/2019/05/31/lavrov-kono.html",
                "https://www.news.example/world/2019/06/01/kurils.html",
                "https://cdn.news.example/world/2019/06/02/lng.html",
                "https://partner.example/story",
            ]
        );
    }
}

//! `show`: one stored article, for a reader: its verdict and what moved it, its topics with
//! their evidence and the sentence each term came from, the people and places named, related
//! documents and copies, and its text.

use std::io::Write;
use std::process::ExitCode;

use nichiro_pipeline::Config;
use nichiro_store::StoredArticle;

/// `show URL|ID [--json]`.
pub fn show(config: &Config, which: &str, json: bool) -> anyhow::Result<ExitCode> {
    let store = crate::read_cmds::open_store(config)?;
    let number = match which.parse::<i64>() {
        Ok(number) => Some(number),
        Err(_) => match store.article_number(which)? {
            Some(number) => Some(number),
            None => store.article_number(&nichiro_fetch::canonical_url::canonicalize(which))?,
        },
    };
    let Some((number, article)) = number
        .map(|n| Ok::<_, anyhow::Error>(store.article(n)?.map(|a| (n, a))))
        .transpose()?
        .flatten()
    else {
        anyhow::bail!("{which}: no such article in the store (give its URL or its id)");
    };
    let copies = store.copies_of_article(&article.url, 50)?;
    let mut out = std::io::stdout().lock();
    if json {
        let mut value = serde_json::to_value(&article)?;
        value["id"] = number.into();
        value["copied_by"] = serde_json::to_value(&copies)?;
        serde_json::to_writer_pretty(&mut out, &value)?;
        writeln!(out)?;
    } else {
        write!(out, "{}", render(number, &article, &copies))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The article as text for a terminal.
pub fn render(number: i64, a: &StoredArticle, copies: &[nichiro_store::CopyOf]) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(s, "{}", a.title.as_deref().unwrap_or("(untitled)"));
    let _ = writeln!(s, "{}", a.url);
    let date = a.published.map_or("undated".to_string(), |p| {
        p.format("%Y-%m-%d %H:%M %:z").to_string()
    });
    let _ = writeln!(
        s,
        "id {number} · {} · {date} · {} · source {}",
        a.site_name.as_deref().unwrap_or("-"),
        a.language.as_deref().unwrap_or("?"),
        a.source
    );
    let _ = writeln!(
        s,
        "\n{} (relevance {:.2})",
        if a.relevant {
            "Relevant"
        } else {
            "Not relevant"
        },
        a.relevance
    );
    if !a.relevance_evidence.is_empty() {
        let _ = writeln!(s, "What moved it:");
        for line in &a.relevance_evidence {
            let _ = writeln!(s, "  {line}");
        }
    }
    if !a.topics.is_empty() {
        let _ = writeln!(s, "\nTopics:");
        for topic in &a.topics {
            let _ = writeln!(s, "  {:.2}  {}", topic.score, topic.topic);
            for term in &topic.evidence {
                match sentence_with(&a.text, term) {
                    Some(sentence) => {
                        let _ = writeln!(s, "        {term}: “{sentence}”");
                    }
                    None => {
                        let _ = writeln!(s, "        {term}");
                    }
                }
            }
        }
    }
    if !a.entities.is_empty() {
        let named: Vec<String> = a
            .entities
            .iter()
            .map(|e| format!("{} ({}, {}×)", e.name, e.kind, e.mentions))
            .collect();
        let _ = writeln!(s, "\nNamed: {}", named.join(", "));
    }
    if !a.related.is_empty() {
        let _ = writeln!(s, "\nRelated:");
        for doc in &a.related {
            let _ = writeln!(
                s,
                "  {:.2}  {}{}",
                doc.similarity,
                doc.id,
                doc.title
                    .as_deref()
                    .map(|t| format!("  ({t})"))
                    .unwrap_or_default()
            );
        }
    }
    if let Some(copy) = &a.duplicate_of {
        let _ = writeln!(
            s,
            "\nCopies {} ({:.0}% of its text)",
            copy.id,
            copy.shared * 100.0
        );
    }
    if let Some(shared) = &a.shares_text_with {
        let _ = writeln!(
            s,
            "\nShares a passage with {} ({:.0}%)",
            shared.id,
            shared.shared * 100.0
        );
    }
    if !copies.is_empty() {
        let _ = writeln!(s, "\nCopied by:");
        for copy in copies {
            let _ = writeln!(s, "  {}  {}", copy.number, copy.url);
        }
    }
    let _ = writeln!(s, "\n{}", a.text);
    s
}

/// The first sentence of `text` holding `term`'s words (in any inflection), trimmed to 200
/// characters.
fn sentence_with(text: &str, term: &str) -> Option<String> {
    let norms = nichiro_text::highlight::words_of([term]);
    if norms.is_empty() {
        return None;
    }
    text.split_inclusive(['.', '!', '?', '。', '！', '？', '\n'])
        .map(str::trim)
        .find(|sentence| {
            nichiro_text::highlight::marked(sentence, &norms)
                .iter()
                .any(|(hit, _)| *hit)
        })
        .map(|sentence| {
            let mut short: String = sentence.chars().take(200).collect();
            if short.len() < sentence.len() {
                short.push('…');
            }
            short
        })
}

#[cfg(test)]
mod tests {
    use super::sentence_with;

    #[test]
    fn the_sentence_a_term_came_from_is_found_in_any_inflection() {
        let text =
            "Москва и Токио провели переговоры. Речь шла о Курильских островах. Итоги позже.";
        assert_eq!(
            sentence_with(text, "Курильские острова").as_deref(),
            Some("Речь шла о Курильских островах.")
        );
        assert_eq!(
            sentence_with("北方領土の問題。首脳会談。", "北方領土").as_deref(),
            Some("北方領土の問題。")
        );
        assert_eq!(sentence_with(text, "Sakhalin"), None);
    }
}

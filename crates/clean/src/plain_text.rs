//! Plain-text input (such as the corpus files): paragraphs are lines, and a line-level
//! classifier drops boilerplate — mastheads, share-button rows, photo credits, forum chatter,
//! navigation — keeping the span of running prose and the headings inside it.

use std::sync::LazyLock;

use regex::Regex;

/// Lines that are boilerplate whatever their length.
static BOILERPLATE_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^(
            ©|\(c\)\s|copyright\b|photo\b|фото\b|写真|source:|share\b|editor\ in\ chief|read\ more|
            show\ more|in\ other\ media|partner\ news|your\ comment|message\ end|most\ visited|
            register\b|votre\ message|currency\ converter|all\ news|use\ filter|news\ id:|
            publish\ date:|forum\ rules|moderator:|related\b|advertisement|subscribe|
            подписывайтесь|читайте\ также|поделиться|関連記事|シェア|\#\d+$
        )",
    )
    .expect("valid regex")
});

/// Social-network names: a line made only of these is a share row.
static SOCIAL_WORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(facebook|twitter|x|youtube|instagram|telegram|vk|vkontakte|whatsapp|line|linkedin|email|print|rss|ok|odnoklassniki|pinterest|reddit)$")
        .expect("valid regex")
});

/// What the plain-text classifier keeps.
#[derive(Debug, Default, PartialEq)]
pub struct PlainText {
    /// A headline found before the body, if any.
    pub title: Option<String>,
    /// The body's paragraphs.
    pub paragraphs: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum LineKind {
    Boilerplate,
    Heading,
    Prose,
}

/// Splits `text` into a title and body paragraphs, dropping boilerplate lines.
pub fn classify(text: &str) -> PlainText {
    let lines: Vec<String> = text
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect();
    let kinds: Vec<LineKind> = lines.iter().map(|l| line_kind(l)).collect();
    let Some(first_prose) = kinds.iter().position(|k| *k == LineKind::Prose) else {
        return PlainText::default();
    };
    let last_prose = kinds
        .iter()
        .rposition(|k| *k == LineKind::Prose)
        .unwrap_or(first_prose);
    let title = lines[..first_prose]
        .iter()
        .zip(&kinds)
        .find(|(line, kind)| **kind == LineKind::Heading && word_len(line) >= 7)
        .map(|(line, _)| crate::metadata::strip_site_suffix(line, None));
    let paragraphs = lines[first_prose..=last_prose]
        .iter()
        .zip(&kinds[first_prose..=last_prose])
        .filter(|(line, kind)| {
            **kind != LineKind::Boilerplate && Some(line.as_str()) != title.as_deref()
        })
        .map(|(line, _)| line.clone())
        .collect();
    PlainText { title, paragraphs }
}

/// Length in words, counting CJK characters as a third of a word each.
fn word_len(line: &str) -> usize {
    let cjk = line.chars().filter(|c| is_cjk(*c)).count();
    line.split_whitespace().count() + cjk / 3
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3040}'..='\u{30ff}' | '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}' | '\u{ff66}'..='\u{ff9f}')
}

fn line_kind(line: &str) -> LineKind {
    if BOILERPLATE_LINE.is_match(line)
        || line.ends_with("[…]")
        || line.ends_with("[...]")
        || line
            .split_whitespace()
            .all(|w| SOCIAL_WORD.is_match(w.trim_matches(|c: char| !c.is_alphanumeric())))
        || !line.chars().any(char::is_alphabetic)
    {
        return LineKind::Boilerplate;
    }
    let words = word_len(line);
    let ends_sentence = line.ends_with(['.', '!', '?', '"', '»', '”', '。', '」', '）', ')']);
    if words >= 12 || (ends_sentence && words >= 6) {
        LineKind::Prose
    } else if words >= 3 && !line.ends_with(':') {
        LineKind::Heading
    } else {
        LineKind::Boilerplate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masthead_share_row_and_trailing_teasers_are_dropped() {
        let text = "Editor in chief:\n\nFacebook Twitter Youtube Instagram\n\n\
            Lavrov and Kono hold talks on the peace treaty in Moscow\n\n\
            Russian Foreign Minister Sergei Lavrov and his Japanese counterpart Taro Kono met in Moscow on Monday.\n\n\
            Talks on the islands\n\n\
            The ministers discussed the 1956 Joint Declaration and joint economic activities on the islands.\n\n\
            © AFP 2019 / PHOTOGRAPHER\n\n\
            It's the Elite of the USA that is jealous[…]\n\nShow more\n";
        let out = classify(text);
        assert_eq!(
            out.title.as_deref(),
            Some("Lavrov and Kono hold talks on the peace treaty in Moscow")
        );
        assert_eq!(
            out.paragraphs,
            [
                "Russian Foreign Minister Sergei Lavrov and his Japanese counterpart Taro Kono met in Moscow on Monday.",
                "Talks on the islands",
                "The ministers discussed the 1956 Joint Declaration and joint economic activities on the islands.",
            ]
        );
    }

    #[test]
    fn japanese_prose_is_prose() {
        let out =
            classify("ラブロフ外相は東京で河野外相と会談し、平和条約締結交渉について協議した。");
        assert_eq!(out.paragraphs.len(), 1);
    }
}

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
    let title = headline(&lines[..first_prose], &kinds[..first_prose]);
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

/// The headline among the lines before the body: the first line of the last run of heading
/// lines right before the first prose line. Lines with a date (datelines, photo captions)
/// or with a sentence break inside (subtitles) are passed over without ending the run.
fn headline(lines: &[String], kinds: &[LineKind]) -> Option<String> {
    let mut first_of_run = None;
    for (line, kind) in lines.iter().zip(kinds).rev() {
        match kind {
            LineKind::Heading if DATE_OR_SENTENCES.is_match(line) => {}
            LineKind::Heading => first_of_run = Some(line),
            _ => break,
        }
    }
    first_of_run.map(|line| crate::metadata::strip_site_suffix(line, None))
}

/// A date, a time of day, or a sentence break inside a line.
static DATE_OR_SENTENCES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}:\d{2}\b|\b\d{1,2} ?(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b|\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2}\b|\p{L}[.!?] \p{Lu}|年\d+月|\d+月\d+日",
    )
    .expect("valid regex")
});

/// Headlines start with a capital letter, a digit, a quote or a character of a script
/// without case; a line starting in lower case continues something else.
fn starts_like_a_heading(line: &str) -> bool {
    line.chars()
        .find(|c| c.is_alphanumeric())
        .is_some_and(|c| !c.is_lowercase())
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
    if words > 25 || (ends_sentence && words >= 6) {
        LineKind::Prose
    } else if words >= 3 && !line.ends_with([':', ',']) && starts_like_a_heading(line) {
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

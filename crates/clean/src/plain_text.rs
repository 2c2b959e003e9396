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
    let (start, end) = body_span(&lines, &kinds);
    let title = headline(&lines[..start], &kinds[..start])
        .or_else(|| headline(&lines[..first_prose], &kinds[..first_prose]));
    let paragraphs = lines[start..=end]
        .iter()
        .zip(&kinds[start..=end])
        .filter(|(line, kind)| {
            **kind != LineKind::Boilerplate && Some(line.as_str()) != title.as_deref()
        })
        .map(|(line, _)| line.clone())
        .collect();
    PlainText { title, paragraphs }
}

/// The body: the run of non-boilerplate lines with the most prose, joined by its neighbours
/// when a single boilerplate line (a photo credit) separates them and they carry at least
/// three tenths as much prose; from its first prose line to its last. Forum headers, teasers
/// and footers in runs of their own stay out.
fn body_span(lines: &[String], kinds: &[LineKind]) -> (usize, usize) {
    // Runs of non-boilerplate lines, as (first, last) line indices.
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for (i, kind) in kinds.iter().enumerate() {
        if *kind == LineKind::Boilerplate {
            continue;
        }
        match runs.last_mut() {
            Some((_, last)) if *last + 1 == i => *last = i,
            _ => runs.push((i, i)),
        }
    }
    let prose = |&(first, last): &(usize, usize)| -> usize {
        (first..=last)
            .filter(|&i| kinds[i] == LineKind::Prose)
            .map(|i| lines[i].chars().count())
            .sum()
    };
    let main = (0..runs.len())
        .max_by_key(|&i| (prose(&runs[i]), std::cmp::Reverse(i)))
        .unwrap_or(0);
    let main_prose = prose(&runs[main]);
    let joins = |a: (usize, usize), b: (usize, usize)| {
        b.0 == a.1 + 2 && prose(&a).min(prose(&b)) * 10 >= main_prose * 3
    };
    // A run that opens with a news dateline ("TOKYO, May 21. /TASS/.") starts the story,
    // even when a box of boilerplate (an id, a date line) stands between it and the rest.
    let opens_story = |(first, last): (usize, usize)| {
        (first..=last)
            .find(|&i| kinds[i] == LineKind::Prose)
            .is_some_and(|i| DATELINE_LEAD.is_match(&lines[i]))
    };
    let (mut lo, mut hi) = (main, main);
    while lo > 0
        && (joins(runs[lo - 1], runs[lo])
            || (runs[lo].0 <= runs[lo - 1].1 + 4 && opens_story(runs[lo - 1])))
    {
        lo -= 1;
    }
    while hi + 1 < runs.len() && joins(runs[hi], runs[hi + 1]) {
        hi += 1;
    }
    let span = runs[lo].0..=runs[hi].1;
    let start = span
        .clone()
        .find(|&i| kinds[i] == LineKind::Prose)
        .unwrap_or(runs[lo].0);
    let end = span
        .clone()
        .rev()
        .find(|&i| kinds[i] == LineKind::Prose)
        .unwrap_or(runs[hi].1);
    (start, end)
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

/// A news dateline opening a paragraph: a place in capitals, maybe an agency or a date, then
/// a dash, comma or stop (`TEHRAN (defapress)-`, `TOKYO, May 21. /TASS/.`, `МОСКВА, 10 мая.`).
static DATELINE_LEAD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\p{Lu}[\p{Lu} .'-]{2,}(?:\s*\([^)]{1,40}\))?\s*[,–—-]").expect("valid regex")
});

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

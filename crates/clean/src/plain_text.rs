//! Plain-text input (such as the corpus files): paragraphs are lines, and a line-level
//! classifier drops boilerplate — mastheads, share-button rows, photo credits, forum chatter,
//! navigation — keeping the span of running prose and the headings inside it.

use std::sync::LazyLock;

use regex::Regex;

/// Credit lines: boilerplate whatever their length, as are [`LEAVES_THE_ARTICLE`]'s.
static CREDIT_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?ix)^(©|\(c\)\s|copyright\b|photo\b|фото\b|写真)").expect("valid regex")
});

/// Boilerplate lines that end an article or stand outside one (a teaser list's header, a
/// comment box, a forum's chrome): the body never reaches across them.
static LEAVES_THE_ARTICLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^(
            source:|share\b|editor\ in\ chief|read\ more|show\ more|in\ other\ media|
            partner\ news|your\ comment|message\ end|most\ visited|register\b|votre\ message|
            currency\ converter|all\ news|use\ filter|news\ id:|publish\ date:|forum\ rules|
            moderator:|related\b|advertisement|subscribe|подписывайтесь|читайте\ также|
            поделиться|関連記事|シェア|\#\d+$
        )",
    )
    .expect("valid regex")
});

/// A comment box's words: a short line of them between two runs of text starts the readers'
/// comments (a prose line may well open with "Comments", so they are not boilerplate alone).
static COMMENTS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(reply\b|comments?\b|ответить|комментари|返信|コメント)")
        .expect("valid regex")
});

/// Whether `line` is program text (an embedded player's or counter's script left in the
/// page's text), however long: a `//` comment, or at least three of `{ } ; =` (which prose
/// hardly uses), with brackets making up a thirtieth of its characters or more.
fn looks_like_code(line: &str) -> bool {
    let (mut strong, mut brackets, mut chars) = (0, 0, 0);
    for c in line.chars() {
        chars += 1;
        match c {
            '{' | '}' | ';' | '=' => strong += 1,
            '(' | ')' | '<' | '>' => brackets += 1,
            _ => {}
        }
    }
    line.starts_with("//") || (strong >= 3 && (strong + brackets) * 30 >= chars)
}

/// Short lines besides code that may stand between two parts of one article's body: a
/// photo's caption and credit, an agency's name.
const MAX_CREDIT_LINES: usize = 3;

/// The same when an embedded social post stands there: its text and mentions come too.
const MAX_EMBED_LINES: usize = 8;

/// Whether the boilerplate `lines` between two runs of text are what a page puts inside an
/// article (photo credits, agency names, an embedded player's script or social post): at
/// most [`MAX_CREDIT_LINES`] short lines besides code and a post's frame
/// ([`MAX_EMBED_LINES`] with a post), none of them one that leaves the article.
fn inside_the_article(lines: &[String]) -> bool {
    let (mut short, mut post) = (0, false);
    for line in lines {
        if looks_like_code(line) {
            continue;
        }
        if EMBED_FRAME.is_match(line) {
            post = true;
            continue;
        }
        if LEAVES_THE_ARTICLE.is_match(line)
            || COMMENTS.is_match(line)
            || line.ends_with("[…]")
            || line.ends_with("[...]")
            || word_len(line) > 12
        {
            return false;
        }
        short += 1;
    }
    short
        <= if post {
            MAX_EMBED_LINES
        } else {
            MAX_CREDIT_LINES
        }
}

/// The frame of an embedded social post, boilerplate: its link, its author's line
/// (`— IAAF (@IAAFWorldChamps)`), its date alone on a line, its hashtags.
static EMBED_FRAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)^(
            pic\.twitter\.com/\S+
            | [—–-]\ .{1,80}\(@\w{1,30}\)(\ .{1,30})?
            | \d{1,2}\ \p{L}{3,9}\ \d{4}(\ г\.?)?
            | \p{L}{3,9}\ \d{1,2},\ \d{4}
            | \#\w+(\ \#\w+)*
        )$",
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
    let paragraphs = (start..=end)
        .filter(|&i| {
            kinds[i] != LineKind::Boilerplate
                && Some(lines[i].as_str()) != title.as_deref()
                && !is_caption(&lines, &kinds, i)
        })
        .map(|i| lines[i].clone())
        .collect();
    PlainText { title, paragraphs }
}

/// Whether line `i` is a photo's caption: a heading-like line right before boilerplate that
/// holds a credit (`© Kevin Lamarque`, `Фото: …`).
fn is_caption(lines: &[String], kinds: &[LineKind], i: usize) -> bool {
    kinds[i] == LineKind::Heading
        && lines[i + 1..]
            .iter()
            .zip(&kinds[i + 1..])
            .take_while(|(_, kind)| **kind == LineKind::Boilerplate)
            .any(|(line, _)| line.split(" | ").any(|part| CREDIT_LINE.is_match(part)))
}

/// The body: the run of non-boilerplate lines with the most prose, joined by its neighbours
/// when what separates them belongs inside an article (a photo's credit, an
/// agency's name, a player's script: see [`inside_the_article`]) and the later run goes on
/// in prose or opens a section (a teaser after a credit is a headline and one paragraph, a
/// story's next part a sentence or a subheading and paragraphs) or follows a script alone; from its first prose line to its last. Forum headers, teasers and footers in
/// runs of their own stay out.
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
    // A subheading followed by two paragraphs or more opens the story's next section; a
    // teaser is a headline and one paragraph.
    let opens_a_section = |(first, last): (usize, usize)| {
        kinds[first] == LineKind::Heading
            && kinds[first + 1..=last]
                .iter()
                .take_while(|k| **k != LineKind::Heading)
                .filter(|k| **k == LineKind::Prose)
                .count()
                >= 2
    };
    let joins = |a: (usize, usize), b: (usize, usize)| {
        let between = &lines[a.1 + 1..b.0];
        inside_the_article(between)
            && (kinds[b.0] == LineKind::Prose
                || opens_a_section(b)
                || between.iter().all(|l| looks_like_code(l)))
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
    if CREDIT_LINE.is_match(line)
        || EMBED_FRAME.is_match(line)
        || LEAVES_THE_ARTICLE.is_match(line)
        || looks_like_code(line)
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

    #[test]
    fn an_embedded_post_and_a_script_do_not_cut_the_story() {
        let text = "Первая часть репортажа о встрече министров в Токио длится несколько предложений подряд.\n\
            Министры обсудили визиты бывших жителей на острова и совместные проекты.\n\
            Great talks with my Russian counterpart today\n\
            #diplomacy\n\
            pic.twitter.com/AbCdEf123\n\
            — Foreign Minister (@example_mofa)\n\
            14 января 2019 г.\n\
            jwplayer(\"player-1\").setup({ file: \"video.mp4\", width: \"100%\", sharing: { code: encodeURI('<div></div>') } });\n\
            Вторая часть репортажа продолжается после встроенного сообщения и видео.\n";
        let out = classify(text);
        assert_eq!(out.paragraphs.len(), 4, "{:?}", out.paragraphs);
        assert!(out.paragraphs[3].starts_with("Вторая часть"));
        assert!(out.paragraphs.iter().all(|p| !p.contains("jwplayer")));
    }

    #[test]
    fn a_teaser_after_a_credit_stays_out_and_a_section_after_one_comes_in() {
        let story = "Lavrov and Kono met in Moscow on Monday to discuss the peace treaty and the islands.\n\
            The ministers agreed to continue the talks before the summit in June this year.\n\
            Kono and Lavrov before the talks in Moscow\n\
            © Agency 2019 / PHOTOGRAPHER\n";
        let teaser = "Kremlin Rules Out Transfer of the Islands, Experts Say\n\
            The foreign and defence ministers held talks in the two-plus-two format on Thursday.\n";
        let out = classify(&format!("{story}{teaser}"));
        assert_eq!(out.paragraphs.len(), 2, "{:?}", out.paragraphs);
        let section = "Joint projects on the islands\n\
            Experts have agreed on five areas of joint economic activity on the islands.\n\
            The first tourist trips to Iturup and Kunashir took place in the autumn.\n";
        let out = classify(&format!("{story}{section}"));
        assert_eq!(out.paragraphs.len(), 5, "{:?}", out.paragraphs);
        assert_eq!(out.paragraphs[2], "Joint projects on the islands");
    }
}

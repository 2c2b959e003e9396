//! Dates as people write them, for pages whose metadata gives none: in English ("May 21,
//! 2018", "11 May 2019"), Russian ("21 мая 2019 г."), Japanese ("2019年5月31日", era years
//! such as "令和元年5月31日"), numeric forms, and article URLs (`/2019/05/31/`). A time of
//! day and a zone (`UTC+3`, `GMT`, `JST`, `MSK`) right after the date are taken too.

use std::sync::LazyLock;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, TimeZone};
use regex::Regex;

const EN_MONTHS: &str = r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?";
const RU_MONTHS: &str =
    r"января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября|ноября|декабря";

/// Month names of the other languages news is published in, with their numbers: German,
/// Spanish, French, Italian, Portuguese, Dutch.
const OTHER_MONTHS: &[(&str, u32)] = &[
    ("januar", 1),
    ("jänner", 1),
    ("enero", 1),
    ("janvier", 1),
    ("gennaio", 1),
    ("janeiro", 1),
    ("januari", 1),
    ("februar", 2),
    ("febrero", 2),
    ("février", 2),
    ("fevrier", 2),
    ("febbraio", 2),
    ("fevereiro", 2),
    ("februari", 2),
    ("märz", 3),
    ("maerz", 3),
    ("marzo", 3),
    ("mars", 3),
    ("março", 3),
    ("maart", 3),
    ("april", 4),
    ("abril", 4),
    ("avril", 4),
    ("aprile", 4),
    ("mai", 5),
    ("mayo", 5),
    ("maggio", 5),
    ("maio", 5),
    ("mei", 5),
    ("juni", 6),
    ("junio", 6),
    ("juin", 6),
    ("giugno", 6),
    ("junho", 6),
    ("juli", 7),
    ("julio", 7),
    ("juillet", 7),
    ("luglio", 7),
    ("julho", 7),
    ("august", 8),
    ("agosto", 8),
    ("août", 8),
    ("aout", 8),
    ("augustus", 8),
    ("september", 9),
    ("septiembre", 9),
    ("setiembre", 9),
    ("septembre", 9),
    ("settembre", 9),
    ("setembro", 9),
    ("oktober", 10),
    ("octubre", 10),
    ("octobre", 10),
    ("ottobre", 10),
    ("outubro", 10),
    ("november", 11),
    ("noviembre", 11),
    ("novembre", 11),
    ("novembro", 11),
    ("dezember", 12),
    ("diciembre", 12),
    ("décembre", 12),
    ("decembre", 12),
    ("dicembre", 12),
    ("dezembro", 12),
    ("december", 12),
];

/// `5. November 2021`, `17 de marzo de 2020`, `3 août 2019`: day, month name, year.
static OTHER_DMY: LazyLock<Regex> = LazyLock::new(|| {
    let mut names: Vec<&str> = OTHER_MONTHS.iter().map(|(name, _)| *name).collect();
    // Longest first, so `januari` is not read as `januar`.
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    Regex::new(&format!(
        r"(?i)\b(\d{{1,2}})\.?\s*(?:de\s+)?({})\.?,?\s*(?:de\s+)?(\d{{4}})\b",
        names.join("|")
    ))
    .expect("valid regex")
});

static EN_MDY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)\b({EN_MONTHS})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b"
    ))
    .expect("valid regex")
});
static EN_DMY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)\b(\d{{1,2}})\s*({EN_MONTHS})\.?,?\s+(\d{{4}})\b"
    ))
    .expect("valid regex")
});
static RU_DMY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(r"(?i)\b(\d{{1,2}})\s+({RU_MONTHS})\s+(\d{{4}})")).expect("valid regex")
});
static JA_YMD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日").expect("valid regex")
});
static JA_ERA: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(令和|平成|昭和)\s*(元|\d{1,2})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
        .expect("valid regex")
});
static NUMERIC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})|(\d{1,2})\.(\d{1,2})\.(\d{4}))\b")
        .expect("valid regex")
});
static TIME_AFTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^[\s,.\-–—|г]*(?:at\s+|в\s+|года,?\s*)?(\d{1,2})(?::|時)(\d{2})?(?:分)?(?:\s*(UTC|GMT)\s*([+-]\d{1,2})?|\s*(JST|MSK))?")
        .expect("valid regex")
});
static LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(publish(?:ed)?(?:\s+(?:date|on))?|posted(?:\s+on)?|date|updated|опубликовано|дата публикации|公開|掲載|配信|datum|veröffentlicht(?:\s+am)?|erschienen(?:\s+am)?|erstellt(?:\s+am)?|publié(?:\s+le)?|publicado(?:\s+(?:el|em))?|pubblicato(?:\s+il)?|gepubliceerd(?:\s+op)?|fecha)\s*:?\s*$")
        .expect("valid regex")
});
static URL_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"/((?:19|20)\d\d)[/-]?(0[1-9]|1[0-2])[/-]?(0[1-9]|[12]\d|3[01])(?:/|-|\.|$|[^\d])")
        .expect("valid regex")
});

fn month_number(name: &str) -> Option<u32> {
    let name = name.to_lowercase();
    let en = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    if let Some(i) = en.iter().position(|m| name.starts_with(m)) {
        return Some(i as u32 + 1);
    }
    RU_MONTHS
        .split('|')
        .position(|m| m == name)
        .map(|i| i as u32 + 1)
        .or_else(|| {
            OTHER_MONTHS
                .iter()
                .find(|(other, _)| *other == name)
                .map(|(_, month)| *month)
        })
}

/// Full-width digits and spaces as ASCII, so `２０１９年５月` reads like `2019年5月`.
fn ascii_digits(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
            '\u{3000}' => ' ',
            c => c,
        })
        .collect()
}

/// One date found in a text: where it starts, and when it is.
struct Found {
    start: usize,
    end: usize,
    date: NaiveDate,
}

fn candidates(text: &str) -> Vec<Found> {
    let mut found = Vec::new();
    let mut push = |start: usize, end: usize, y: i32, m: u32, d: u32| {
        if (1900..=2100).contains(&y)
            && let Some(date) = NaiveDate::from_ymd_opt(y, m, d)
        {
            found.push(Found { start, end, date });
        }
    };
    let num = |s: &str| s.parse::<u32>().unwrap_or(0);
    for c in EN_MDY.captures_iter(text) {
        let m = c.get(0).expect("match");
        if let Some(month) = month_number(&c[1]) {
            push(m.start(), m.end(), num(&c[3]) as i32, month, num(&c[2]));
        }
    }
    for c in EN_DMY
        .captures_iter(text)
        .chain(RU_DMY.captures_iter(text))
        .chain(OTHER_DMY.captures_iter(text))
    {
        let m = c.get(0).expect("match");
        if let Some(month) = month_number(&c[2]) {
            push(m.start(), m.end(), num(&c[3]) as i32, month, num(&c[1]));
        }
    }
    for c in JA_YMD.captures_iter(text) {
        let m = c.get(0).expect("match");
        push(
            m.start(),
            m.end(),
            num(&c[1]) as i32,
            num(&c[2]),
            num(&c[3]),
        );
    }
    for c in JA_ERA.captures_iter(text) {
        let m = c.get(0).expect("match");
        let first_year = match &c[1] {
            "令和" => 2019,
            "平成" => 1989,
            _ => 1926, // 昭和
        };
        let era_year = if &c[2] == "元" { 1 } else { num(&c[2]) as i32 };
        push(
            m.start(),
            m.end(),
            first_year + era_year - 1,
            num(&c[3]),
            num(&c[4]),
        );
    }
    for c in NUMERIC.captures_iter(text) {
        let m = c.get(0).expect("match");
        match (c.get(1), c.get(4)) {
            (Some(y), _) => push(
                m.start(),
                m.end(),
                num(y.as_str()) as i32,
                num(&c[2]),
                num(&c[3]),
            ),
            (None, Some(d)) => push(
                m.start(),
                m.end(),
                num(&c[6]) as i32,
                num(&c[5]),
                num(d.as_str()),
            ),
            _ => {}
        }
    }
    found.sort_by_key(|f| f.start);
    found
}

/// The time and zone written right after a date, if any.
fn time_after(rest: &str) -> (NaiveTime, Option<FixedOffset>) {
    let Some(c) = TIME_AFTER.captures(rest) else {
        return (NaiveTime::MIN, None);
    };
    let hour = c[1].parse().unwrap_or(0);
    let minute = c.get(2).map_or(0, |m| m.as_str().parse().unwrap_or(0));
    let Some(time) = NaiveTime::from_hms_opt(hour, minute, 0) else {
        return (NaiveTime::MIN, None);
    };
    let zone = match (
        c.get(3),
        c.get(4),
        c.get(5).map(|m| m.as_str().to_ascii_uppercase()),
    ) {
        (Some(_), Some(hours), _) => hours
            .as_str()
            .parse::<i32>()
            .ok()
            .and_then(|h| FixedOffset::east_opt(h * 3600)),
        (Some(_), None, _) => FixedOffset::east_opt(0),
        (_, _, Some(zone)) if zone == "JST" => FixedOffset::east_opt(9 * 3600),
        (_, _, Some(zone)) if zone == "MSK" => FixedOffset::east_opt(3 * 3600),
        _ => None,
    };
    (time, zone)
}

/// The publication date written in `text`: a date after a label ("Publish Date:",
/// "Опубликовано", "公開") if there is one, else the first date. Without a written zone the
/// time is taken as UTC.
pub fn find_date(text: &str) -> Option<DateTime<FixedOffset>> {
    let text = ascii_digits(text);
    let found = candidates(&text);
    let chosen = found
        .iter()
        .find(|f| {
            let before = &text[..f.start];
            let line_start = before.rfind('\n').map_or(0, |i| i + 1);
            LABEL.is_match(before[line_start..].trim_end())
        })
        .or(found.first())?;
    let (time, zone) = time_after(&text[chosen.end..]);
    let zone = zone.unwrap_or_else(|| FixedOffset::east_opt(0).expect("UTC"));
    zone.from_local_datetime(&chosen.date.and_time(time))
        .single()
}

/// A publication date written after a label ("Datum:", "Published on", "Опубликовано") in
/// `text`, which may be a whole page's text; unlabeled dates are not taken.
pub fn find_labeled_date(text: &str) -> Option<DateTime<FixedOffset>> {
    let text = ascii_digits(text);
    let chosen = candidates(&text).into_iter().find(|f| {
        // The label's line: the date's own, or the one before when only blanks lie between
        // (a `<dt>Datum</dt>` over its `<dd>`).
        let before = text[..f.start].trim_end();
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        // The label sits just before the date: look at the last 40 characters only.
        let line = &before[line_start..];
        let near = line
            .char_indices()
            .rev()
            .nth(39)
            .map_or(line, |(i, _)| &line[i..]);
        LABEL.is_match(near.trim_end())
    })?;
    let (time, zone) = time_after(&text[chosen.end..]);
    let zone = zone.unwrap_or_else(|| FixedOffset::east_opt(0).expect("UTC"));
    // A date to come (an offer's end, an event) is not when the page was published.
    zone.from_local_datetime(&chosen.date.and_time(time))
        .single()
        .filter(|date| *date <= chrono::Utc::now() + chrono::Duration::days(1))
}

/// Characters after a page's headline in which a date under it is looked for.
const AFTER_HEADLINE: usize = 250;

/// A date written just under the page's headline, unlabeled (a subtitle's `01. November 2021
/// |`, `Handball Schweiz • 02.02.2022`, `Hamburg, 2. November 2021`): the first date within
/// [`AFTER_HEADLINE`] characters of a place where `headline` (its first 40 characters) is
/// written in `text`, a page's text; not a date to come.
pub fn find_date_after_headline(text: &str, headline: &str) -> Option<DateTime<FixedOffset>> {
    let collapse = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let (text, headline) = (collapse(text), collapse(headline));
    let key: String = headline.chars().take(40).collect();
    if key.chars().count() < 10 {
        return None;
    }
    // The headline may be written more than once (the `<title>`, a breadcrumb): under each.
    let rest = headline.chars().count() - key.chars().count();
    text.match_indices(&key).find_map(|(at, _)| {
        // The rest of the headline, then the lines under it.
        let window: String = text[at + key.len()..]
            .chars()
            .take(rest + AFTER_HEADLINE)
            .collect();
        let window = ascii_digits(&window);
        let chosen = candidates(&window).into_iter().next()?;
        let (time, zone) = time_after(&window[chosen.end..]);
        let zone = zone.unwrap_or_else(|| FixedOffset::east_opt(0).expect("UTC"));
        zone.from_local_datetime(&chosen.date.and_time(time))
            .single()
            .filter(|date| *date <= chrono::Utc::now() + chrono::Duration::days(1))
    })
}

/// The date in an article URL (`/2019/05/31/`, `/20190531`, `/2019-05-31-slug`).
pub fn date_from_url(url: &str) -> Option<DateTime<FixedOffset>> {
    let c = URL_DATE.captures(url)?;
    let date = NaiveDate::from_ymd_opt(c[1].parse().ok()?, c[2].parse().ok()?, c[3].parse().ok()?)?;
    Some(FixedOffset::east_opt(0)?.from_utc_datetime(&date.and_time(NaiveTime::MIN)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_names_of_other_languages_and_labels_anywhere() {
        let day = |text: &str| find_date(text).map(|d| d.date_naive().to_string());
        assert_eq!(
            day("martes 17 de marzo de 2020").as_deref(),
            Some("2020-03-17")
        );
        assert_eq!(day("am 5. November 2021 um").as_deref(), Some("2021-11-05"));
        assert_eq!(day("publié le 3 août 2019").as_deref(), Some("2019-08-03"));
        assert_eq!(day("23 gennaio 2022").as_deref(), Some("2022-01-23"));
        assert_eq!(day("1 de março de 2021").as_deref(), Some("2021-03-01"));
        // Only a date after a label counts when the whole page is searched.
        let page = "Menü Startseite 12.12.2021 Angebot … Datum: 03.02.2022 Rubrik: Verkehr";
        assert_eq!(
            find_labeled_date(page)
                .map(|d| d.date_naive().to_string())
                .as_deref(),
            Some("2022-02-03")
        );
        assert_eq!(find_labeled_date("Angebot 12.12.2021 Rubrik"), None);
    }

    #[test]
    fn dates_in_three_languages() {
        let cases = [
            (
                "May 21, 2018, 9:56 UTC+3 TOKYO",
                "2018-05-21T09:56:00+03:00",
            ),
            (
                "Publish Date: 11May 2019 - 14:08",
                "2019-05-11T14:08:00+00:00",
            ),
            (
                "24 November 2024\nmost visited\nPublish Date: 11May 2019",
                "2019-05-11T00:00:00+00:00",
            ),
            ("date 2019-05-31 Register", "2019-05-31T00:00:00+00:00"),
            (
                "Опубликовано: 21 мая 2019 г., 14:08 MSK",
                "2019-05-21T14:08:00+03:00",
            ),
            (
                "МОСКВА, 10 мая 2019 года. Министр…",
                "2019-05-10T00:00:00+00:00",
            ),
            ("2019年5月31日 21時00分", "2019-05-31T21:00:00+00:00"),
            ("２０１９年５月３１日", "2019-05-31T00:00:00+00:00"),
            ("令和元年5月31日 21:00 JST", "2019-05-31T21:00:00+09:00"),
            ("平成31年4月30日", "2019-04-30T00:00:00+00:00"),
            (
                "昭和31年10月19日、日ソ共同宣言",
                "1956-10-19T00:00:00+00:00",
            ),
            ("Posted on 31.05.2019", "2019-05-31T00:00:00+00:00"),
            (
                "on Friday, June 1st, 2019 in Tokyo",
                "2019-06-01T00:00:00+00:00",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(
                find_date(text).map(|d| d.to_rfc3339()).as_deref(),
                Some(expected),
                "{text}"
            );
        }
        for text in [
            "No date here.",
            "Room 2019 on floor 5",
            "31 февраля 2019",
            "2019年13月1日",
        ] {
            assert_eq!(find_date(text), None, "{text}");
        }
    }

    #[test]
    fn a_date_under_the_headline_and_a_label_on_the_line_above() {
        let day = |d: Option<DateTime<FixedOffset>>| d.map(|d| d.date_naive().to_string());
        let page = "Unser Tipp im November: Das Hermelin | BUND  Menü Suche \
            Unser Tipp im November: Das Hermelin  01. November 2021 | Natur  Das Hermelin ist \
            im Winter weiß. Stand: 30. Januar 2026";
        assert_eq!(
            day(find_date_after_headline(
                page,
                "Unser Tipp im November: Das Hermelin"
            )),
            Some("2021-11-01".into()),
            "under the headline's second place, not its <title>"
        );
        let far = format!(
            "Unser Tipp im November: Das Hermelin {} 01. November 2021",
            "x ".repeat(200)
        );
        assert_eq!(
            day(find_date_after_headline(
                &far,
                "Unser Tipp im November: Das Hermelin"
            )),
            None
        );
        assert_eq!(
            day(find_date_after_headline(page, "Short")),
            None,
            "too short a key"
        );
        let future = "A long enough headline here  1. Januar 2999";
        assert_eq!(
            day(find_date_after_headline(
                future,
                "A long enough headline here"
            )),
            None
        );
        assert_eq!(
            day(find_labeled_date("<aside>\n\tDatum \n\t\t 12.01.2017\n")),
            Some("2017-01-12".into())
        );
        assert_eq!(
            day(find_labeled_date("Erstellt am: 01.11.2023")),
            Some("2023-11-01".into())
        );
        assert_eq!(
            day(find_labeled_date("Datum\nSome other line\n12.01.2017")),
            None
        );
    }

    #[test]
    fn dates_in_urls() {
        let cases = [
            (
                "https://ex.org/world/2019/05/31/lavrov-kono.html",
                Some("2019-05-31"),
            ),
            ("https://ex.org/news/20190531-nichiro", Some("2019-05-31")),
            ("https://ex.org/2019-05-31-talks", Some("2019-05-31")),
            ("https://ex.org/news/123456789", None),
            ("https://ex.org/2019/13/40/x", None),
        ];
        for (url, expected) in cases {
            let got = date_from_url(url).map(|d| d.date_naive().to_string());
            assert_eq!(got.as_deref(), expected, "{url}");
        }
    }
}

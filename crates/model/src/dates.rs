//! Date parsing for the formats pages and feeds use.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// Parses RFC 3339, RFC 2822, ISO 8601 without zone (taken as UTC) and bare dates.
pub fn parse_date(s: &str) -> Option<DateTime<FixedOffset>> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt);
    }
    if let Ok(dt) = DateTime::parse_from_rfc2822(s) {
        return Some(dt);
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M%z",
        "%Y-%m-%d %H:%M:%S%z",
    ] {
        if let Ok(dt) = DateTime::parse_from_str(s, format) {
            return Some(dt);
        }
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(s, format) {
            return Some(Utc.from_utc_datetime(&naive).fixed_offset());
        }
    }
    let date_part = s.get(..10).unwrap_or(s);
    for format in ["%Y-%m-%d", "%Y/%m/%d", "%d.%m.%Y"] {
        if let Ok(date) = NaiveDate::parse_from_str(date_part, format) {
            return Some(
                Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0)?)
                    .fixed_offset(),
            );
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::parse_date;

    #[test]
    fn formats() {
        let cases = [
            ("2019-05-31T10:00:00+09:00", "2019-05-31T10:00:00+09:00"),
            (
                "Fri, 31 May 2019 10:00:00 +0900",
                "2019-05-31T10:00:00+09:00",
            ),
            (
                "2019-05-31T10:00:00.123+0300",
                "2019-05-31T10:00:00.123+03:00",
            ),
            ("2019-05-31 10:00:00", "2019-05-31T10:00:00+00:00"),
            ("2019-05-31", "2019-05-31T00:00:00+00:00"),
            ("31.05.2019", "2019-05-31T00:00:00+00:00"),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_date(input).unwrap().to_rfc3339(), expected, "{input}");
        }
        assert!(parse_date("yesterday").is_none());
        assert!(parse_date("").is_none());
    }
}

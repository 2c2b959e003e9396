//! Completeness monitoring: each source's usual publishing rhythm, learned from when its
//! articles were stored, and whether it has gone quiet for much longer than that rhythm allows
//! (or has failed for longer than allowed): stale. Pure functions over times, and a watcher
//! that logs each source turning stale once, and its recovery.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Timelike, Utc};
use serde::Serialize;

use crate::ServerConfig;

/// Gaps needed before a rhythm is trusted.
const MIN_GAPS: usize = 5;

/// What is known of a source's rhythm and whether it keeps to it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Freshness {
    /// `fresh`, `stale`, `learning` (too few articles yet to know its rhythm) or
    /// `not monitored` (a local folder or an archive, which publish nothing).
    pub state: &'static str,
    /// Why it is stale (or learning), in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When its newest article was stored.
    pub last_new_item: Option<DateTime<Utc>>,
    /// Its usual longest gap between new articles (the 95th percentile of the gaps that began
    /// near this hour of the day, or of all gaps when too few did), in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usual_gap_secs: Option<i64>,
    /// How long it may stay silent before it is stale, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_silence_secs: Option<i64>,
}

impl Freshness {
    /// Whether the source is stale.
    pub fn is_stale(&self) -> bool {
        self.state == "stale"
    }

    /// A source that is not watched.
    pub fn not_monitored() -> Self {
        Freshness {
            state: "not monitored",
            reason: None,
            last_new_item: None,
            usual_gap_secs: None,
            allowed_silence_secs: None,
        }
    }
}

/// Judges a source at `now` from when its latest articles were stored (`arrivals`, newest
/// first) and since when its polls have failed, if they do.
pub fn assess(
    arrivals: &[DateTime<Utc>],
    failing_since: Option<DateTime<Utc>>,
    config: &ServerConfig,
    now: DateTime<Utc>,
) -> Freshness {
    let last_new_item = arrivals.first().copied();
    let failing_too_long = failing_since
        .map(|since| now - since)
        .filter(|failing| failing.num_seconds() > config.stale_after_failing_secs as i64);
    let mut freshness = Freshness {
        state: "fresh",
        reason: None,
        last_new_item,
        usual_gap_secs: None,
        allowed_silence_secs: None,
    };
    // Articles stored together (one poll's news, a backfill) are one arrival: their gaps of
    // seconds say nothing of how often the source publishes.
    let arrivals = bursts(arrivals, Duration::seconds(config.burst_secs as i64));
    if let Some(last) = last_new_item
        && let Some(usual) = usual_gap(&arrivals, last.hour())
    {
        let allowed = Duration::seconds(
            ((usual.num_seconds() as f64 * config.stale_factor) as i64)
                .max(config.min_stale_silence_secs as i64),
        );
        freshness.usual_gap_secs = Some(usual.num_seconds());
        freshness.allowed_silence_secs = Some(allowed.num_seconds());
        let silent = now - last;
        if silent > allowed {
            freshness.state = "stale";
            freshness.reason = Some(format!(
                "no new article for {}, where {} is usual and {} allowed",
                words(silent),
                words(usual),
                words(allowed)
            ));
        }
    } else {
        freshness.state = "learning";
        freshness.reason = Some(format!(
            "{} articles stored; {} are needed to learn its rhythm",
            arrivals.len(),
            MIN_GAPS + 1
        ));
    }
    if let Some(failing) = failing_too_long {
        freshness.state = "stale";
        freshness.reason = Some(format!(
            "its polls have failed for {} (allowed: {})",
            words(failing),
            words(Duration::seconds(config.stale_after_failing_secs as i64))
        ));
    }
    freshness
}

/// The arrivals (newest first) with those less than `window` before the one kept after them
/// left out: each burst counts once, by its newest.
fn bursts(arrivals: &[DateTime<Utc>], window: Duration) -> Vec<DateTime<Utc>> {
    let mut kept: Vec<DateTime<Utc>> = Vec::with_capacity(arrivals.len());
    for &arrival in arrivals {
        if kept.last().is_none_or(|&newer| newer - arrival >= window) {
            kept.push(arrival);
        }
    }
    kept
}

/// The 95th percentile of the gaps between arrivals (newest first) that began within an hour
/// of `hour` (UTC), or of all gaps when fewer than [`MIN_GAPS`] did; `None` with fewer gaps
/// than that in all.
fn usual_gap(arrivals: &[DateTime<Utc>], hour: u32) -> Option<Duration> {
    let gaps: Vec<(u32, Duration)> = arrivals
        .windows(2)
        .map(|w| (w[1].hour(), w[0] - w[1]))
        .collect();
    if gaps.len() < MIN_GAPS {
        return None;
    }
    let near = |h: u32| {
        let d = h.abs_diff(hour);
        d.min(24 - d) <= 1
    };
    let mut chosen: Vec<Duration> = gaps
        .iter()
        .filter(|(h, _)| near(*h))
        .map(|(_, g)| *g)
        .collect();
    if chosen.len() < MIN_GAPS {
        chosen = gaps.iter().map(|(_, g)| *g).collect();
    }
    chosen.sort();
    let at = ((chosen.len() as f64) * 0.95).ceil() as usize;
    Some(chosen[at.clamp(1, chosen.len()) - 1])
}

/// A duration in words: `3 h 20 min`, `45 s`.
fn words(d: Duration) -> String {
    let s = d.num_seconds().max(0);
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86_400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

/// Remembers which sources are stale, so that each turn is logged once, not every check.
#[derive(Debug, Default)]
pub struct StaleWatch {
    stale: HashMap<String, bool>,
}

/// A source's change of state, to be logged.
#[derive(Debug, PartialEq, Eq)]
pub enum Turn {
    /// It went stale.
    Stale,
    /// It was stale and is not any more.
    Recovered,
}

impl StaleWatch {
    /// Notes how `source` is judged now; returns its turn, if it turned.
    pub fn observe(&mut self, source: &str, freshness: &Freshness) -> Option<Turn> {
        let now = freshness.is_stale();
        let before = self.stale.insert(source.to_string(), now).unwrap_or(false);
        match (before, now) {
            (false, true) => Some(Turn::Stale),
            (true, false) => Some(Turn::Recovered),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn config() -> ServerConfig {
        ServerConfig {
            stale_factor: 4.0,
            min_stale_silence_secs: 600,
            stale_after_failing_secs: 6 * 3600,
            burst_secs: 60,
            ..ServerConfig::default()
        }
    }

    #[test]
    fn a_burst_of_articles_stored_together_is_one_arrival() {
        // A backfill: 200 articles a second apart teach nothing; the rhythm is still learned.
        let start = at("2026-12-01T08:00:00Z");
        let backfill: Vec<_> = (0..200)
            .rev()
            .map(|i| start + Duration::seconds(i))
            .collect();
        let judged = assess(&backfill, None, &config(), start + Duration::hours(5));
        assert_eq!(judged.state, "learning", "{judged:?}");
        // Polls every 20 minutes bringing 3 articles each: the gap is 20 minutes.
        let polls: Vec<_> = (0..10)
            .rev()
            .flat_map(|p| {
                (0..3)
                    .rev()
                    .map(move |a| start + Duration::minutes(20 * p) + Duration::seconds(a))
            })
            .collect();
        let judged = assess(&polls, None, &config(), polls[0] + Duration::minutes(30));
        assert_eq!(judged.usual_gap_secs, Some(1200), "{judged:?}");
    }

    /// Arrivals every `every` minutes from `start`, newest first.
    fn every(start: &str, every: i64, n: i64) -> Vec<DateTime<Utc>> {
        let start = at(start);
        (0..n)
            .rev()
            .map(|i| start + Duration::minutes(i * every))
            .collect()
    }

    #[test]
    fn a_source_silent_far_past_its_rhythm_is_stale_and_fresh_again_once_it_publishes() {
        // An article every 20 minutes: 80 minutes of silence are allowed.
        let mut arrivals = every("2026-12-01T08:00:00Z", 20, 20);
        let last = arrivals[0];
        let fresh = assess(&arrivals, None, &config(), last + Duration::minutes(60));
        assert_eq!(fresh.state, "fresh", "{fresh:?}");
        assert_eq!(fresh.usual_gap_secs, Some(1200));
        assert_eq!(fresh.allowed_silence_secs, Some(4800));
        let stale = assess(&arrivals, None, &config(), last + Duration::minutes(81));
        assert_eq!(stale.state, "stale");
        assert!(
            stale.reason.as_deref().unwrap().contains("for 1 h 21 min"),
            "{stale:?}"
        );
        // It publishes again.
        arrivals.insert(0, last + Duration::minutes(90));
        let again = assess(&arrivals, None, &config(), last + Duration::minutes(91));
        assert_eq!(again.state, "fresh");
    }

    #[test]
    fn the_rhythm_near_the_hour_of_the_silence_counts_as_nights_are_quieter() {
        // Days of an article every 10 minutes from 06:00 to 22:00 and one at 02:00: a
        // silence begun at 22:00 is measured against the night's gaps, one begun at noon
        // against the day's.
        let mut arrivals = Vec::new();
        for day in 1..=3 {
            let start = at(&format!("2026-12-0{day}T06:00:00Z"));
            for i in 0..=96 {
                arrivals.push(start + Duration::minutes(10 * i));
            }
            arrivals.push(at(&format!("2026-12-0{}T02:00:00Z", day + 1)));
        }
        arrivals.sort();
        arrivals.reverse();
        let night: Vec<_> = arrivals
            .iter()
            .copied()
            .filter(|t| *t <= at("2026-12-03T22:00:00Z"))
            .collect();
        let judged = assess(&night, None, &config(), at("2026-12-04T01:00:00Z"));
        assert_eq!(
            judged.state, "fresh",
            "3 quiet hours are usual at night: {judged:?}"
        );
        let day: Vec<_> = arrivals
            .iter()
            .copied()
            .filter(|t| *t <= at("2026-12-03T12:00:00Z"))
            .collect();
        let judged = assess(&day, None, &config(), at("2026-12-03T13:00:00Z"));
        assert_eq!(judged.state, "stale", "an hour is long at noon: {judged:?}");
    }

    #[test]
    fn too_few_articles_teach_no_rhythm_and_failing_too_long_is_stale_regardless() {
        let arrivals = every("2026-12-01T08:00:00Z", 20, 3);
        let now = arrivals[0] + Duration::days(30);
        assert_eq!(assess(&arrivals, None, &config(), now).state, "learning");
        assert_eq!(assess(&[], None, &config(), now).state, "learning");
        let failing = assess(&[], Some(now - Duration::hours(7)), &config(), now);
        assert_eq!(failing.state, "stale");
        assert!(
            failing
                .reason
                .as_deref()
                .unwrap()
                .contains("failed for 7 h")
        );
        let briefly = assess(&[], Some(now - Duration::hours(1)), &config(), now);
        assert_eq!(briefly.state, "learning");
    }

    #[test]
    fn a_turn_is_reported_once() {
        let mut watch = StaleWatch::default();
        let arrivals = every("2026-12-01T08:00:00Z", 20, 20);
        let last = arrivals[0];
        let judge = |minutes| {
            assess(
                &arrivals,
                None,
                &config(),
                last + Duration::minutes(minutes),
            )
        };
        assert_eq!(watch.observe("tass", &judge(10)), None);
        assert_eq!(watch.observe("tass", &judge(100)), Some(Turn::Stale));
        assert_eq!(watch.observe("tass", &judge(200)), None);
        assert_eq!(watch.observe("tass", &judge(10)), Some(Turn::Recovered));
        assert_eq!(watch.observe("tass", &judge(10)), None);
    }
}

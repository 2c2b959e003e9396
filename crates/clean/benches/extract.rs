//! Extraction speed over a folder of HTML pages (by default the development half of the
//! extraction benchmark, `../shared/eval/extraction/dev/html` beside the repository). The
//! pages are loaded first; only `clean_bytes` is timed. Prints pages/s and MB/s per core
//! (median of 5 rounds, with the spread) and the process's peak resident memory.
//!
//!     cargo bench -p nichiro-clean --bench extract [-- DIR]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use nichiro_clean::{Limits, clean_bytes};

fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<f64>().ok()? / 1024.0)
}

fn main() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .map(PathBuf::from)
        .unwrap_or_else(|| repo.join("../shared/eval/extraction/dev/html"));
    let mut pages: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "html" || x == "htm"))
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    pages.sort();
    let bytes: usize = pages.iter().map(|(_, b)| b.len()).sum();
    let limits = Limits::default();
    // Warm-up, and a check that every page cleans.
    for (path, body) in &pages {
        clean_bytes(body, Some("text/html"), "https://bench.example/", &limits)
            .unwrap_or_else(|e| panic!("{path}: {e}"));
    }
    let mut rounds = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let mut passes = 0;
        while started.elapsed() < Duration::from_secs(2) {
            for (_, body) in &pages {
                let article =
                    clean_bytes(body, Some("text/html"), "https://bench.example/", &limits)
                        .unwrap();
                std::hint::black_box(article);
            }
            passes += 1;
        }
        let secs = started.elapsed().as_secs_f64();
        rounds.push((passes * pages.len()) as f64 / secs);
    }
    rounds.sort_by(f64::total_cmp);
    let per_page = bytes as f64 / pages.len() as f64 / 1e6;
    let median = rounds[rounds.len() / 2];
    println!(
        "{} pages, {:.1} MB: median {:.0} pages/s = {:.1} MB/s on one core (rounds from {:.0} to {:.0} pages/s); peak RSS {:.0} MB",
        pages.len(),
        bytes as f64 / 1e6,
        median,
        median * per_page,
        rounds[0],
        rounds[rounds.len() - 1],
        peak_rss_mb().unwrap_or(f64::NAN)
    );
}

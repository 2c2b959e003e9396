//! A backfill over the hostile site (`nichiro-hostile-site`): every fault it serves is met
//! with a reason, the run goes on, the rest of the site is stored, memory stays bounded and
//! nothing waits past its timeout.

mod support;

use std::time::Duration;

use nichiro_hostile_site::{FAULTS, HostileSite, Outcome, SPOOFED_LINKS, SiteSpec};
use support::*;

fn hostile_config(dir: &std::path::Path, site: &HostileSite) -> std::path::PathBuf {
    let repo = repo();
    let text = format!(
        r#"[store]
path = {store:?}

[tag]
topics = {topics:?}
corpus = {corpus:?}

[fetch]
allow_private_networks = true
per_host_delay_ms = 0
concurrency = 4
per_host_concurrency = 4
request_timeout_secs = 4
read_timeout_secs = 1
connect_timeout_secs = 2
max_body_bytes = 2097152
max_retries = 1
retry_base_ms = 10
max_retry_after_secs = 5
host_failure_threshold = 50
host_cooldown_secs = 1

[pipeline]
grace_period_secs = 10
clean_workers = 2

[clean]
max_millis = 2000

[[source]]
name = "feed"
kind = "feed"
url = "{base}/feed.xml"

[[source]]
name = "sitemap"
kind = "sitemap"
url = "{base}/sitemap.xml"
max_age_days = 30

[[source]]
name = "laughs"
kind = "feed"
url = "{base}/laughs.xml"

[[source]]
name = "xxe"
kind = "feed"
url = "{base}/xxe.xml"
"#,
        store = dir.join("store.sqlite").display().to_string(),
        topics = repo.join("config/topics.toml").display().to_string(),
        corpus = repo.join("corpus").display().to_string(),
        base = site.base,
    );
    let path = dir.join("hostile.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The peak resident memory of a process so far (VmHWM), in bytes.
fn peak_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_over_the_hostile_site_survives_every_fault_and_stores_the_rest() {
    let site = HostileSite::start(SiteSpec::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = hostile_config(dir.path(), &site);
    let child = nichiro()
        .args([
            "backfill",
            "--config",
            config.to_str().unwrap(),
            "--log",
            "info",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    // The peak memory, read while the run lasts (it is gone once the process is reaped).
    let watcher = std::thread::spawn(move || {
        let mut peak = 0;
        while let Some(now) = peak_rss(pid) {
            peak = peak.max(now);
            std::thread::sleep(Duration::from_millis(50));
        }
        peak
    });
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap());
    // A hang guard only: every fault is bounded by a few seconds' timeout.
    let output = tokio::time::timeout(Duration::from_secs(300), output)
        .await
        .expect("the backfill ends")
        .unwrap();
    let peak = watcher.join().unwrap();
    let stdout = text(&output.stdout);
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");

    let articles = stored(dir.path());
    let stored_at = |path: &str| articles.iter().find(|a| a.0 == site.url(path));
    // The rest of the site: every ordinary article.
    for n in 0..SiteSpec::default().articles {
        assert!(
            stored_at(&format!("/article/{n}")).is_some(),
            "article {n} missing\n{stdout}"
        );
    }
    let mut report = Vec::new();
    for fault in FAULTS {
        let url = site.url(fault.path);
        let verdict = match fault.outcome {
            Outcome::Stored(expected) => match stored_at(fault.path) {
                Some(article) if article.3.contains(expected) => Ok(()),
                Some(article) => Err(format!("stored without {expected:?}: {:?}", article.3)),
                None => Err("not stored".to_string()),
            },
            Outcome::Refused(reason) => {
                let logged = stderr
                    .lines()
                    .any(|line| line.contains(&url) && line.contains(reason));
                match stored_at(fault.path) {
                    Some(_) => Err("stored".to_string()),
                    None if !logged => Err(format!("no log line names it with {reason:?}")),
                    None => Ok(()),
                }
            }
        };
        if let Err(problem) = verdict {
            let lines: Vec<&str> = stderr.lines().filter(|l| l.contains(&url)).collect();
            report.push(format!(
                "{} ({}): {problem}\n    {}",
                fault.path,
                fault.what,
                lines.join("\n    ")
            ));
        }
    }
    assert!(
        report.is_empty(),
        "faults mishandled:\n{}\n\n{stdout}",
        report.join("\n")
    );
    // Nothing a feed named off the site was fetched or stored.
    for link in SPOOFED_LINKS {
        assert!(articles.iter().all(|a| a.0 != *link), "{link} stored");
    }
    // No entity was expanded: neither a billion laughs nor /etc/passwd is in any text.
    assert!(
        articles
            .iter()
            .all(|a| !a.3.contains("lollol") && !a.3.contains("root:"))
    );
    // The 50,000 old sitemap URLs were read and none fetched.
    assert_eq!(site.count("/old/"), 0);
    let sitemap_line = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("sitemap:"));
    assert!(
        sitemap_line.is_some_and(|l| l.contains("listed 50020,") && l.contains("filtered 50000,")),
        "{stdout}"
    );
    // The robots.txt past 512 KiB (whose last line shuts the site) was not obeyed past it.
    assert_eq!(site.count("/robots.txt"), 1);
    // Memory stayed bounded: bombs and huge bodies were cut, not held.
    assert!(peak < 200 << 20, "peak RSS {} MB", peak >> 20);
    eprintln!(
        "{} faults met, {} requests, peak RSS {} MB",
        FAULTS.len(),
        site.requests().len(),
        peak >> 20
    );
}

//! A `warc` source: its archive files, listed from `path` and `paths` (files, folders, globs
//! over file names, `warc.paths` listings), read one after another, each streamed record by
//! record. With an [`ArchiveLedger`](crate::ArchiveLedger) (the pipeline's, over the store),
//! a file done is not read again, a file left half-read resumes after the records whose pages
//! were dealt with, and a file another process is reading is left to it until it is done or
//! its claim runs out. With a page filter, a page that cannot be relevant is counted and
//! skipped before it is cleaned.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nichiro_model::{FetchJob, RawPage};
use regex::Regex;
use tokio::sync::mpsc;

use super::warc_archive::{ArchiveCounts, read_archive_from};
use super::{PollContext, Source, SourceError, queue_blocking};
use crate::FileTurn;

/// Most files one source may list (a month of CC-NEWS is under a thousand).
const MAX_FILES: usize = 1_000_000;
/// Largest listing file read, decompressed.
const MAX_LISTING_BYTES: u64 = 64 * 1024 * 1024;
/// How often a file another process holds is asked for again.
const HELD_RETRY: Duration = Duration::from_millis(200);

/// The archive files of a `warc` source, in the order they are read: `path`, then each of
/// `paths`, each expanded (a folder to its `.warc` and `.warc.gz` files, a glob over file
/// names to the files it matches, a `.paths` or `.paths.gz` listing to the paths it lists,
/// relative to its folder), sorted by name within a folder or glob, each file once.
pub fn archive_files(path: Option<&Path>, paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for entry in path.into_iter().chain(paths.iter().map(PathBuf::as_path)) {
        expand(entry, &mut files)?;
        if files.len() > MAX_FILES {
            return Err(format!("more than {MAX_FILES} archive files listed"));
        }
    }
    let mut seen = std::collections::HashSet::new();
    files.retain(|f| seen.insert(f.clone()));
    Ok(files)
}

fn expand(entry: &Path, files: &mut Vec<PathBuf>) -> Result<(), String> {
    let name = entry
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let folder = entry.parent().unwrap_or(Path::new("."));
    if folder.to_string_lossy().contains(['*', '?']) {
        return Err(format!(
            "{}: a glob may name files, not folders",
            entry.display()
        ));
    }
    if name.contains(['*', '?']) {
        let pattern = Regex::new(&crate::config::glob_to_regex(&name))
            .map_err(|e| format!("{}: bad glob: {e}", entry.display()))?;
        files.extend(folder_files(folder, |n| pattern.is_match(n))?);
        return Ok(());
    }
    if entry.is_dir() {
        files.extend(folder_files(entry, |n| {
            n.ends_with(".warc") || n.ends_with(".warc.gz")
        })?);
        return Ok(());
    }
    if name.ends_with(".paths") || name.ends_with(".paths.gz") {
        return read_listing(entry, files);
    }
    files.push(entry.to_path_buf());
    Ok(())
}

/// The files of `folder` whose names `wanted` accepts, sorted by name.
fn folder_files(folder: &Path, wanted: impl Fn(&str) -> bool) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(folder).map_err(|e| format!("{}: {e}", folder.display()))?;
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", folder.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if wanted(&name) && entry.path().is_file() {
            found.push(entry.path());
        }
        if found.len() > MAX_FILES {
            return Err(format!("{}: more than {MAX_FILES} files", folder.display()));
        }
    }
    found.sort();
    Ok(found)
}

/// A `warc.paths` listing: one path a line (blank lines and `#` comments skipped), relative to
/// the listing's folder; gzip'd when its name ends in `.gz`.
fn read_listing(listing: &Path, files: &mut Vec<PathBuf>) -> Result<(), String> {
    let file = File::open(listing).map_err(|e| format!("{}: {e}", listing.display()))?;
    let input: Box<dyn Read> = if listing.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(file)))
    } else {
        Box::new(file)
    };
    let mut input = BufReader::new(input.take(MAX_LISTING_BYTES + 1));
    let folder = listing.parent().unwrap_or(Path::new("."));
    let (mut line, mut read) = (String::new(), 0u64);
    loop {
        line.clear();
        let n = input
            .read_line(&mut line)
            .map_err(|e| format!("{}: {e}", listing.display()))?;
        if n == 0 {
            return Ok(());
        }
        read += n as u64;
        if read > MAX_LISTING_BYTES {
            return Err(format!(
                "{}: a listing over {MAX_LISTING_BYTES} bytes",
                listing.display()
            ));
        }
        let entry = line.trim();
        if entry.is_empty() || entry.starts_with('#') {
            continue;
        }
        if entry.contains("://") {
            return Err(format!(
                "{}: {entry}: archives are read from local files; download the listed files \
                 and list their paths",
                listing.display()
            ));
        }
        files.push(folder.join(entry));
        if files.len() > MAX_FILES {
            return Err(format!(
                "{}: more than {MAX_FILES} archive files listed",
                listing.display()
            ));
        }
    }
}

pub(super) fn read(
    source: &Source,
    ctx: &PollContext,
    jobs: &mpsc::Sender<FetchJob>,
) -> Result<(), SourceError> {
    let name = source.config.name.clone();
    let files =
        archive_files(source.config.path.as_deref(), &source.config.paths).map_err(|message| {
            SourceError::Read {
                source_name: name.clone(),
                path: source
                    .config
                    .path
                    .as_ref()
                    .map_or_else(String::new, |p| p.display().to_string()),
                message,
            }
        })?;
    ctx.stats
        .update(&name, |c| c.archive_files = files.len() as u64);
    let started = Instant::now();
    let mut progress = Progress::default();
    let mut waiting: Vec<&PathBuf> = files.iter().collect();
    let mut first_pass = true;
    let mut told_of_held = false;
    while !waiting.is_empty() {
        if !first_pass && !crate::coordination::sleep_unless_stopped(HELD_RETRY, &ctx.stop) {
            return Ok(());
        }
        first_pass = false;
        let mut held = Vec::new();
        for path in waiting {
            if ctx.stop.is_cancelled() {
                return Ok(());
            }
            let key = path.display().to_string();
            let turn = match &ctx.archive_ledger {
                Some(ledger) => ledger.take_file(&name, &key),
                None => FileTurn::Read { from_record: 0 },
            };
            let from_record = match turn {
                FileTurn::Done => {
                    progress.file_done(ctx, &name);
                    continue;
                }
                FileTurn::HeldElsewhere => {
                    tracing::debug!(source = %name, file = %key, "read by another process: left to it");
                    held.push(path);
                    continue;
                }
                FileTurn::Read { from_record } => from_record,
            };
            let counts = read_file(source, ctx, jobs, path, &key, from_record);
            let at_end = match &counts {
                // A file cut short (a broken gzip member, a file still being written) is not
                // done: the next run reads on from where it broke.
                Ok(counts) => !counts.stopped && counts.ended_early.is_none(),
                // A file that cannot be opened or read at all is tried again on the next run.
                Err(_) => false,
            };
            if let Some(ledger) = &ctx.archive_ledger {
                let records = counts.as_ref().map_or(from_record, |c| c.records);
                ledger.file_read(&name, &key, records, at_end);
            }
            match counts {
                Ok(counts) if at_end => {
                    progress.file_done(ctx, &name);
                    progress.report(ctx, &name, &key, &counts, files.len(), started);
                }
                Ok(counts) if !counts.stopped => {} // cut short: warned of, read on next time
                Ok(_) => return Ok(()),             // stopped
                Err(message) => {
                    ctx.stats.update(&name, |c| c.failed += 1);
                    tracing::warn!(source = %name, file = %key, error = %message, "archive file not read; tried again on the next run");
                }
            }
        }
        if !held.is_empty() && !told_of_held {
            told_of_held = true;
            tracing::info!(source = %name, files = held.len(), "archive files read by another process: waiting until it is done with them or its claims run out");
        }
        waiting = held;
    }
    Ok(())
}

/// Reads one file from record `from_record`, queueing each page the source admits and the
/// page filter passes.
fn read_file(
    source: &Source,
    ctx: &PollContext,
    jobs: &mpsc::Sender<FetchJob>,
    path: &Path,
    key: &str,
    from_record: u64,
) -> Result<ArchiveCounts, String> {
    let name = &source.config.name;
    let mut file = File::open(path).map_err(|e| e.to_string())?;
    let mut magic = [0u8; 2];
    let gzipped = file.read_exact(&mut magic).is_ok() && magic == [0x1f, 0x8b];
    let file = File::open(path).map_err(|e| e.to_string())?;
    let input: Box<dyn Read> = if gzipped {
        Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(file)))
    } else {
        Box::new(file)
    };
    let max = ctx.fetcher.config().max_body_bytes;
    let filter = ctx.page_filter.as_ref().filter(|_| source.config.prefilter);
    let records_before = ctx.stats.snapshot().get(name).map_or(0, |c| c.records);
    let counts = read_archive_from(input, max, from_record, |index, page| {
        if ctx.stop.is_cancelled() {
            return false;
        }
        ctx.stats.update(name, |c| {
            c.records = records_before + index + 1 - from_record
        });
        if !source.admits(ctx, &page.url, None) {
            return true;
        }
        if let Some(filter) = filter
            && !filter.passes(&page.body, page.content_type.as_deref())
        {
            ctx.stats.update(name, |c| c.prefiltered += 1);
            return true;
        }
        if let Some(ledger) = &ctx.archive_ledger {
            ledger.page_queued(name, key, index, &page.url);
        }
        let raw = RawPage {
            requested_url: page.url.clone(),
            final_url: page.url,
            status: page.status,
            content_type: page.content_type,
            etag: None,
            last_modified: None,
            body: page.body,
            fetched_at: page.date,
            source: name.clone(),
            hints: source.hints(None, None),
        };
        queue_blocking(ctx, jobs, FetchJob::Local(raw))
    })?;
    ctx.stats.update(name, |c| {
        c.records = records_before + counts.records.saturating_sub(from_record)
    });
    if let Some(reason) = &counts.ended_early {
        tracing::warn!(source = %name, file = %key, reason, pages = counts.pages, "archive cut short; the pages before the break are read");
    }
    if counts.pages == 0 && counts.skipped == 0 && from_record == 0 {
        tracing::warn!(source = %name, file = %key, "no page in the archive (is it a WARC file?)");
    }
    Ok(counts)
}

/// Files dealt with so far by this poll, for the progress lines.
#[derive(Default)]
struct Progress {
    files_done: u64,
}

impl Progress {
    fn file_done(&mut self, ctx: &PollContext, name: &str) {
        self.files_done += 1;
        ctx.stats.update(name, |c| c.archive_files_done += 1);
    }

    /// One line per file read: how far the source is, how fast it goes, and when it will end
    /// at that pace.
    fn report(
        &self,
        ctx: &PollContext,
        name: &str,
        file: &str,
        counts: &ArchiveCounts,
        files: usize,
        started: Instant,
    ) {
        let totals = ctx.stats.snapshot().remove(name).unwrap_or_default();
        let secs = started.elapsed().as_secs_f64().max(1e-3);
        let left = files as u64 - self.files_done.min(files as u64);
        let per_file = secs / self.files_done.max(1) as f64;
        tracing::info!(
            source = name,
            file,
            records = counts.records,
            pages = counts.pages,
            files_done = self.files_done,
            files_left = left,
            records_per_sec = (totals.records as f64 / secs).round() as u64,
            candidates = totals.queued,
            prefiltered = totals.prefiltered,
            eta_secs = (per_file * left as f64).round() as u64,
            "archive file read"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_listed_from_folders_globs_and_listings() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("month")).unwrap();
        for name in ["b.warc.gz", "a.warc.gz", "c.warc", "notes.txt"] {
            std::fs::write(root.join("month").join(name), b"").unwrap();
        }
        std::fs::write(root.join("x-1.warc.gz"), b"").unwrap();
        std::fs::write(root.join("x-2.warc.gz"), b"").unwrap();
        std::fs::write(root.join("y-1.warc.gz"), b"").unwrap();
        std::fs::write(
            root.join("warc.paths"),
            "# a listing\nmonth/a.warc.gz\n\nz.warc.gz\n",
        )
        .unwrap();
        let files = archive_files(
            Some(&root.join("month")),
            &[
                root.join("x-*.warc.gz"),
                root.join("warc.paths"),
                root.join("single.warc"),
            ],
        )
        .unwrap();
        let names: Vec<String> = files
            .iter()
            .map(|f| f.strip_prefix(root).unwrap().display().to_string())
            .collect();
        assert_eq!(
            names,
            [
                "month/a.warc.gz",
                "month/b.warc.gz",
                "month/c.warc",
                "x-1.warc.gz",
                "x-2.warc.gz",
                // month/a.warc.gz again from the listing: once.
                "z.warc.gz",
                "single.warc",
            ]
        );
        let err = archive_files(Some(&root.join("*/a.warc.gz")), &[]).unwrap_err();
        assert!(err.contains("files, not folders"), "{err}");
        std::fs::write(
            root.join("remote.paths"),
            "crawl-data/CC-NEWS/x.warc.gz\nhttps://data.example/x.warc.gz\n",
        )
        .unwrap();
        let err = archive_files(Some(&root.join("remote.paths")), &[]).unwrap_err();
        assert!(err.contains("local files"), "{err}");
    }
}

//! `nichiro train`: fits the relevance and topic models to labelled records, reports
//! cross-validated figures, and writes the model file the tagger reads.

use std::fmt::Write as _;
use std::io::{BufRead, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use nichiro_classify::TagConfig;
use nichiro_classify::taxonomy::{Matcher, Taxonomy};
use nichiro_classify::train::{self, Evaluation, LabelledRecord, TrainOptions};

/// What `nichiro train` was asked to do.
pub struct TrainRequest<'a> {
    /// Files of labelled records, JSON Lines (`-` for stdin); figures are given for each
    /// file and each language as well as for all together.
    pub jsonl: &'a [PathBuf],
    /// Where to write the model; default `model.toml` beside the taxonomy.
    pub output: Option<PathBuf>,
    /// Folds of cross-validation (0 or 1: none).
    pub folds: usize,
    /// L2 penalty.
    pub l2: f64,
    /// Only report, write nothing.
    pub dry_run: bool,
    /// List the records cross-validation judged wrongly.
    pub errors: bool,
}

/// Runs `nichiro train`.
pub fn train(config: TagConfig, request: TrainRequest<'_>) -> anyhow::Result<ExitCode> {
    let taxonomy = Taxonomy::load(&config.topics)?;
    let gazetteer = match config.gazetteer_path() {
        Some(path) => nichiro_classify::gazetteer::Gazetteer::load(&path)?,
        None => Default::default(),
    };
    let matcher = Matcher::with_gazetteer(&taxonomy, &gazetteer);
    let mut records = Vec::new();
    let mut sets = Vec::new();
    for path in request.jsonl {
        let set = set_name(path);
        for record in read_records(path)? {
            records.push(record);
            sets.push(set.clone());
        }
    }
    let named = sets_named(request.jsonl);
    let relevant = records.iter().filter(|r| r.relevant).count();
    if relevant == 0 || relevant == records.len() {
        anyhow::bail!(
            "{named}: need both relevant and not relevant records to learn from ({} of {} relevant)",
            relevant,
            records.len()
        );
    }
    if let Some(unknown) = records
        .iter()
        .flat_map(|r| &r.topics)
        .find(|t| !taxonomy.topics.contains_key(*t))
    {
        anyhow::bail!(
            "{named}: topic {unknown:?} is not in {}",
            config.topics.display()
        );
    }
    // A topic with too few examples keeps its hand-set weights: say so, naming it.
    for topic in taxonomy.topics.keys() {
        let examples = records
            .iter()
            .filter(|r| r.relevant && r.topics.contains(topic))
            .count();
        if examples < train::MIN_TOPIC_EXAMPLES {
            eprintln!(
                "warning: topic {topic} has {examples} labelled example{} (fewer than {}): it \
                 keeps its hand-set weights",
                if examples == 1 { "" } else { "s" },
                train::MIN_TOPIC_EXAMPLES
            );
        }
    }
    let options = TrainOptions {
        l2: request.l2,
        threshold: config.relevance_threshold,
        topic_threshold: config.min_topic_score,
    };
    // The report is printed once the model is written: a reader that closes stdout early
    // (`| head`) costs no model.
    let mut report = String::new();
    writeln!(
        report,
        "{} records, {relevant} relevant; L2 {}",
        records.len(),
        request.l2
    )?;
    let mut summary = String::new();
    if request.folds >= 2 {
        let predictions =
            train::cross_validate(&taxonomy, &matcher, &records, request.folds, options);
        let cv = Evaluation::of(records.iter().zip(&predictions));
        let ece = train::calibration_error(records.iter().zip(&predictions), 10);
        writeln!(
            report,
            "{}-fold cross-validation (each record judged by a model fitted without it):",
            request.folds
        )?;
        write_evaluation(&mut report, &cv)?;
        writeln!(report, "  calibration error (10 bins) {ece:.3}")?;
        if request.errors {
            for line in &cv.mistakes {
                writeln!(report, "    {line}")?;
            }
        }
        // The same predictions, by set and by language.
        let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
        let mut add = |key: String, i: usize| match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, members)) => members.push(i),
            None => groups.push((key, vec![i])),
        };
        for (i, record) in records.iter().enumerate() {
            if request.jsonl.len() > 1 {
                add(format!("set {}", sets[i]), i);
            }
            add(format!("language {}", record.language()), i);
        }
        for (key, members) in &groups {
            let judged = || members.iter().map(|&i| (&records[i], &predictions[i]));
            let e = Evaluation::of(judged());
            writeln!(
                report,
                "  {key}: {} records ({} relevant): relevance P {:.3} R {:.3} F1 {:.3}; topics F1 {:.3}; calibration error {:.3}",
                members.len(),
                members.iter().filter(|&&i| records[i].relevant).count(),
                e.relevance.precision(),
                e.relevance.recall(),
                e.relevance.f1(),
                e.topics.f1(),
                train::calibration_error(judged(), 10)
            )?;
        }
        summary = format!(
            "; {}-fold cross-validated relevance F1 {:.3}, topic micro-F1 {:.3}, calibration error {ece:.3}",
            request.folds,
            cv.relevance.f1(),
            cv.topics.f1()
        );
    }
    write_prefilter(&mut report, &taxonomy, &gazetteer, &matcher, &records)?;
    let mut model = train::train(&taxonomy, &matcher, &records, options);
    let fitted = train::evaluate(&model, &taxonomy, &matcher, &records, options);
    writeln!(report, "on the records it was fitted to (optimistic):")?;
    write_evaluation(&mut report, &fitted)?;
    model.trained_on = format!("{named}: {}{summary}", model.trained_on);
    if request.dry_run {
        std::io::stdout().lock().write_all(report.as_bytes())?;
        return Ok(ExitCode::SUCCESS);
    }
    let output = request
        .output
        .unwrap_or_else(|| config.topics.with_file_name("model.toml"));
    let text = format!(
        "# nichiro's relevance and topic models, written by `nichiro train`: logistic\n\
         # regressions over the features named in crates/classify/src/features.rs.\n{}",
        model.to_toml()
    );
    let tmp = output.with_extension("toml.tmp");
    std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, &output).with_context(|| format!("cannot write {}", output.display()))?;
    writeln!(report, "wrote {}", output.display())?;
    std::io::stdout().lock().write_all(report.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// How the archive prefilter does on the records: what share it passes, that it passes every
/// record with evidence for relevance (which a model needs to call a record relevant), and
/// how many of the records labelled relevant it passes.
fn write_prefilter(
    out: &mut String,
    taxonomy: &Taxonomy,
    gazetteer: &nichiro_classify::gazetteer::Gazetteer,
    matcher: &Matcher,
    records: &[LabelledRecord],
) -> std::fmt::Result {
    let prefilter = nichiro_classify::prefilter::Prefilter::new(taxonomy, gazetteer);
    let (mut passed, mut with_evidence, mut evidence_skipped) = (0, 0, 0);
    let (mut relevant, mut relevant_passed) = (0, 0);
    for record in records {
        let title = record.title.as_deref().unwrap_or("");
        let passes = prefilter.passes_text(&format!("{title}\n{}", record.text));
        let analysis = nichiro_classify::features::Analysis::of(
            matcher,
            record.title.as_deref(),
            &record.text,
        );
        passed += usize::from(passes);
        if analysis.evidence {
            with_evidence += 1;
            evidence_skipped += usize::from(!passes);
        }
        if record.relevant {
            relevant += 1;
            relevant_passed += usize::from(passes);
        }
    }
    writeln!(
        out,
        "prefilter ({} keys): passes {passed} of {} records ({:.1}%); skips {evidence_skipped} of the {with_evidence} with evidence; passes {relevant_passed} of the {relevant} labelled relevant",
        prefilter.len(),
        records.len(),
        100.0 * passed as f64 / records.len().max(1) as f64
    )
}

fn write_evaluation(out: &mut String, e: &Evaluation) -> std::fmt::Result {
    writeln!(
        out,
        "  relevance      P {:.3}  R {:.3}  F1 {:.3}",
        e.relevance.precision(),
        e.relevance.recall(),
        e.relevance.f1()
    )?;
    writeln!(
        out,
        "  topics (micro) P {:.3}  R {:.3}  F1 {:.3}",
        e.topics.precision(),
        e.topics.recall(),
        e.topics.f1()
    )?;
    for (topic, c) in &e.per_topic {
        writeln!(
            out,
            "    {topic:<28} P {:.3}  R {:.3}  F1 {:.3}  ({} labelled)",
            c.precision(),
            c.recall(),
            c.f1(),
            c.tp + c.fn_
        )?;
    }
    Ok(())
}

/// A set's name in reports: its file name, with its folder when that is not the working one
/// (`fulltext/dev.jsonl`), `stdin` for `-`.
fn set_name(path: &Path) -> String {
    if path.as_os_str() == "-" {
        return "stdin".into();
    }
    let file = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    match path.parent().and_then(Path::file_name) {
        Some(folder) => format!("{}/{file}", folder.to_string_lossy()),
        None => file,
    }
}

fn sets_named(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| set_name(p))
        .collect::<Vec<_>>()
        .join(" + ")
}

fn read_records(path: &Path) -> anyhow::Result<Vec<LabelledRecord>> {
    let reader: Box<dyn BufRead> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        let file =
            std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
        Box::new(std::io::BufReader::new(file))
    };
    let mut records = Vec::new();
    for (number, line) in reader.lines().enumerate() {
        let line = line.with_context(|| format!("cannot read {}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let record: LabelledRecord = serde_json::from_str(&line).with_context(|| {
            format!(
                "{}:{}: not a {{title, text, relevant, topics}} record",
                path.display(),
                number + 1
            )
        })?;
        records.push(record);
    }
    if records.is_empty() {
        anyhow::bail!("{}: no records", path.display());
    }
    Ok(records)
}

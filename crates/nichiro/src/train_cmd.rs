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
    /// Labelled records, JSON Lines (`-` for stdin).
    pub jsonl: &'a Path,
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
    let records = read_records(request.jsonl)?;
    let relevant = records.iter().filter(|r| r.relevant).count();
    if relevant == 0 || relevant == records.len() {
        anyhow::bail!(
            "{}: need both relevant and not relevant records to learn from ({} of {} relevant)",
            request.jsonl.display(),
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
            "{}: topic {unknown:?} is not in {}",
            request.jsonl.display(),
            config.topics.display()
        );
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
        let cv = train::cross_validate(&taxonomy, &matcher, &records, request.folds, options);
        writeln!(
            report,
            "{}-fold cross-validation (each record judged by a model fitted without it):",
            request.folds
        )?;
        write_evaluation(&mut report, &cv)?;
        if request.errors {
            for line in &cv.mistakes {
                writeln!(report, "    {line}")?;
            }
        }
        summary = format!(
            "; {}-fold cross-validated relevance F1 {:.3}, topic micro-F1 {:.3}",
            request.folds,
            cv.relevance.f1(),
            cv.topics.f1()
        );
    }
    let mut model = train::train(&taxonomy, &matcher, &records, options);
    let fitted = train::evaluate(&model, &taxonomy, &matcher, &records, options);
    writeln!(report, "on the records it was fitted to (optimistic):")?;
    write_evaluation(&mut report, &fitted)?;
    model.trained_on = format!(
        "{}: {}{summary}",
        request
            .jsonl
            .file_name()
            .map_or_else(|| "stdin".into(), |n| n.to_string_lossy()),
        model.trained_on
    );
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

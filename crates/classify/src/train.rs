//! Learning the model from labelled records (`nichiro train`): one L2-regularised logistic
//! regression for relevance over all records, and one per topic over the relevant records,
//! each fitted by Newton's method (a few dozen features, so exact and deterministic), its
//! L2 penalty pulling the weights toward the hand-set ones of [`Model::untrained`] so that a
//! topic with few labelled examples keeps its prior. And
//! k-fold cross-validation, to report how the tagger does on records it was not fitted to.

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use serde::Deserialize;

use crate::features::Analysis;
use crate::model::{Model, Weights};
use crate::taxonomy::{Matcher, Taxonomy};

/// A topic with fewer labelled examples than this keeps the hand-set weights of
/// [`Model::untrained`]: a fit to one or two examples (or none) would say nothing.
pub const MIN_TOPIC_EXAMPLES: usize = 3;

/// One labelled record (the format of `../shared/eval/tagging/dev.jsonl`).
#[derive(Debug, Clone, Deserialize)]
pub struct LabelledRecord {
    /// Record id.
    #[serde(default)]
    pub id: serde_json::Value,
    /// Headline.
    #[serde(default)]
    pub title: Option<String>,
    /// Text.
    #[serde(default)]
    pub text: String,
    /// Whether it is about Russia–Japan relations.
    pub relevant: bool,
    /// Its topics (only for relevant records).
    #[serde(default)]
    pub topics: Vec<String>,
    /// Its language (`en`, `ru`, `ja`), for figures by language; records without one are
    /// reported as `en` (the English development set carries none).
    #[serde(default)]
    pub lang: Option<String>,
}

impl LabelledRecord {
    /// The record's language for reports.
    pub fn language(&self) -> &str {
        self.lang.as_deref().unwrap_or("en")
    }
}

/// What cross-validation judged of one record, by a model fitted without it.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// The relevance probability.
    pub relevance: f32,
    /// Whether it was judged relevant.
    pub relevant: bool,
    /// The topics it was given.
    pub topics: Vec<String>,
}

/// Expected calibration error of relevance probabilities: the records are put in `bins`
/// equal-width bins by their probability, and the gap between each bin's mean probability
/// and its share of relevant records is averaged, weighted by the bin's size. 0 is perfect:
/// a relevance of 0.8 is right 8 times in 10.
pub fn calibration_error<'a>(
    judged: impl IntoIterator<Item = (&'a LabelledRecord, &'a Prediction)>,
    bins: usize,
) -> f64 {
    let bins = bins.max(1);
    let mut sums = vec![(0usize, 0.0f64, 0.0f64); bins];
    let mut total = 0usize;
    for (record, prediction) in judged {
        let p = f64::from(prediction.relevance).clamp(0.0, 1.0);
        let bin = ((p * bins as f64) as usize).min(bins - 1);
        sums[bin].0 += 1;
        sums[bin].1 += p;
        sums[bin].2 += f64::from(u8::from(record.relevant));
        total += 1;
    }
    if total == 0 {
        return 0.0;
    }
    sums.iter()
        .filter(|(n, _, _)| *n > 0)
        .map(|(n, p, y)| (*n as f64 / total as f64) * ((p - y) / *n as f64).abs())
        .sum()
}

/// Settings of training.
#[derive(Debug, Clone, Copy)]
pub struct TrainOptions {
    /// Strength of the L2 penalty on the weights (not on the intercept). Default 1.0.
    pub l2: f64,
    /// Relevance at or above which a record is relevant (for evaluation). Default 0.5.
    pub threshold: f32,
    /// Topic probability at or above which a topic is tagged. Default 0.35, as the tagger's.
    pub topic_threshold: f32,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            l2: 1.0,
            threshold: 0.5,
            topic_threshold: 0.35,
        }
    }
}

/// Counts of a binary decision against the labels.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counts {
    /// True positives.
    pub tp: usize,
    /// False positives.
    pub fp: usize,
    /// False negatives.
    pub fn_: usize,
}

impl Counts {
    fn add(&mut self, predicted: bool, actual: bool) {
        self.tp += usize::from(predicted && actual);
        self.fp += usize::from(predicted && !actual);
        self.fn_ += usize::from(!predicted && actual);
    }

    /// Precision (1 when nothing was predicted).
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }

    /// Recall (1 when nothing was to be found).
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }

    /// F1.
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

/// How predictions compare with the labels, scored like `score.py`: relevance, and topics
/// micro-averaged over (record, topic) pairs, a record predicted not relevant counting as
/// predicting no topic.
#[derive(Debug, Clone, Default)]
pub struct Evaluation {
    /// Relevance.
    pub relevance: Counts,
    /// All topics together.
    pub topics: Counts,
    /// Each topic.
    pub per_topic: BTreeMap<String, Counts>,
    /// One line per record judged wrongly: `relevance FN <id>: <title>` or
    /// `topics <id>: +added -missed`.
    pub mistakes: Vec<String>,
}

impl Evaluation {
    /// Scores predictions against their records.
    pub fn of<'a>(judged: impl IntoIterator<Item = (&'a LabelledRecord, &'a Prediction)>) -> Self {
        let mut evaluation = Evaluation::default();
        for (record, prediction) in judged {
            evaluation.add(record, prediction.relevant, &prediction.topics);
        }
        evaluation
    }

    fn add(&mut self, record: &LabelledRecord, relevant: bool, topics: &[String]) {
        self.relevance.add(relevant, record.relevant);
        let headline: String = record
            .title
            .as_deref()
            .filter(|t| !t.is_empty())
            .unwrap_or(&record.text)
            .chars()
            .take(90)
            .collect();
        if relevant != record.relevant {
            let kind = if relevant { "FP" } else { "FN" };
            self.mistakes
                .push(format!("relevance {kind} {}: {headline}", record.id));
        } else if relevant {
            let added: Vec<&String> = topics
                .iter()
                .filter(|t| !record.topics.contains(t))
                .collect();
            let missed: Vec<&String> = record
                .topics
                .iter()
                .filter(|t| !topics.contains(t))
                .collect();
            if !added.is_empty() || !missed.is_empty() {
                self.mistakes.push(format!(
                    "topics {}: +{added:?} -{missed:?}: {headline}",
                    record.id
                ));
            }
        }
        let predicted: Vec<&String> = if relevant {
            topics.iter().collect()
        } else {
            Vec::new()
        };
        let mut all: Vec<&String> = predicted.clone();
        all.extend(record.topics.iter());
        all.sort();
        all.dedup();
        for topic in all {
            let p = predicted.contains(&topic);
            let a = record.topics.contains(topic);
            self.topics.add(p, a);
            self.per_topic.entry(topic.clone()).or_default().add(p, a);
        }
    }
}

/// Fits the relevance and topic models to `records`.
pub fn train(
    taxonomy: &Taxonomy,
    matcher: &Matcher,
    records: &[LabelledRecord],
    options: TrainOptions,
) -> Model {
    let analyses: Vec<Analysis> = records
        .iter()
        .map(|r| Analysis::of(matcher, r.title.as_deref(), &r.text))
        .collect();
    let refs: Vec<&Analysis> = analyses.iter().collect();
    let mut model = fit_model(taxonomy, records, &refs, options.l2);
    model.trained_on = format!(
        "{} records ({} relevant), L2 {}",
        records.len(),
        records.iter().filter(|r| r.relevant).count(),
        options.l2
    );
    model
}

/// Scores `records` by `folds`-fold cross-validation: each record is judged by a model
/// fitted to the other folds. Folds are stratified by label and fixed by a hash of each
/// record's id, so a run is repeatable.
pub fn cross_validate(
    taxonomy: &Taxonomy,
    matcher: &Matcher,
    records: &[LabelledRecord],
    folds: usize,
    options: TrainOptions,
) -> Vec<Prediction> {
    let folds = folds.max(2);
    let analyses: Vec<Analysis> = records
        .iter()
        .map(|r| Analysis::of(matcher, r.title.as_deref(), &r.text))
        .collect();
    let fold_of = assign_folds(records, folds);
    let mut predictions = vec![None; records.len()];
    for fold in 0..folds {
        let train_idx: Vec<usize> = (0..records.len()).filter(|&i| fold_of[i] != fold).collect();
        let train_records: Vec<LabelledRecord> =
            train_idx.iter().map(|&i| records[i].clone()).collect();
        let train_analyses: Vec<&Analysis> = train_idx.iter().map(|&i| &analyses[i]).collect();
        let model = fit_model(taxonomy, &train_records, &train_analyses, options.l2);
        for i in (0..records.len()).filter(|&i| fold_of[i] == fold) {
            let judgement = model.judge(
                taxonomy,
                &analyses[i],
                options.threshold,
                options.topic_threshold,
            );
            predictions[i] = Some(Prediction {
                relevance: judgement.relevance,
                relevant: judgement.relevant,
                topics: judgement.topics.into_iter().map(|(t, _)| t).collect(),
            });
        }
    }
    predictions
        .into_iter()
        .map(|p| p.expect("every record is in one fold"))
        .collect()
}

/// Scores `model` on `records` (the records it was fitted to give optimistic figures).
pub fn evaluate(
    model: &Model,
    taxonomy: &Taxonomy,
    matcher: &Matcher,
    records: &[LabelledRecord],
    options: TrainOptions,
) -> Evaluation {
    let mut evaluation = Evaluation::default();
    for record in records {
        let analysis = Analysis::of(matcher, record.title.as_deref(), &record.text);
        let judgement = model.judge(
            taxonomy,
            &analysis,
            options.threshold,
            options.topic_threshold,
        );
        let topics: Vec<String> = judgement.topics.into_iter().map(|(t, _)| t).collect();
        evaluation.add(record, judgement.relevant, &topics);
    }
    evaluation
}

fn fit_model(
    taxonomy: &Taxonomy,
    records: &[LabelledRecord],
    analyses: &[&Analysis],
    l2: f64,
) -> Model {
    let rows: Vec<_> = analyses
        .iter()
        .map(|a| a.relevance_features(taxonomy))
        .collect();
    let labels: Vec<bool> = records.iter().map(|r| r.relevant).collect();
    let prior = Model::untrained(taxonomy);
    let relevance = fit_weights(&rows, &labels, l2, &prior.relevance);
    let topics = taxonomy
        .topics
        .keys()
        .map(|topic| {
            let (rows, labels): (Vec<_>, Vec<bool>) = records
                .iter()
                .zip(analyses)
                .filter(|(r, _)| r.relevant)
                .map(|(r, a)| (a.topic_features(topic), r.topics.contains(topic)))
                .unzip();
            let topic_prior = &prior.topics[topic];
            // Too few examples to learn from: keep the hand-set weights.
            if labels.iter().filter(|&&l| l).count() < MIN_TOPIC_EXAMPLES {
                return (topic.clone(), topic_prior.clone());
            }
            (topic.clone(), fit_weights(&rows, &labels, l2, topic_prior))
        })
        .collect();
    Model {
        trained_on: String::new(),
        relevance,
        topics,
    }
}

fn assign_folds(records: &[LabelledRecord], folds: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..records.len()).collect();
    let key = |i: usize| {
        let mut h = DefaultHasher::new();
        records[i].id.to_string().hash(&mut h);
        (records[i].relevant, h.finish(), i)
    };
    order.sort_by_key(|&i| key(i));
    let mut fold_of = vec![0; records.len()];
    for (position, &i) in order.iter().enumerate() {
        fold_of[i] = position % folds;
    }
    fold_of
}

/// Fits one logistic regression to named feature rows (every row has the same names in the
/// same order, as [`Analysis`] makes them).
fn fit_weights(rows: &[Vec<(String, f32)>], labels: &[bool], l2: f64, prior: &Weights) -> Weights {
    let Some(first) = rows.first() else {
        return prior.clone();
    };
    let names: Vec<&String> = first.iter().map(|(n, _)| n).collect();
    let x: Vec<Vec<f64>> = rows
        .iter()
        .map(|row| row.iter().map(|(_, v)| f64::from(*v)).collect())
        .collect();
    let y: Vec<f64> = labels.iter().map(|&l| f64::from(u8::from(l))).collect();
    let prior_weights: Vec<f64> = names
        .iter()
        .map(|n| f64::from(prior.weights.get(*n).copied().unwrap_or(0.0)))
        .collect();
    let (bias, w) = fit_logistic_toward(&x, &y, l2, f64::from(prior.bias), &prior_weights);
    Weights {
        bias: bias as f32,
        weights: names
            .into_iter()
            .zip(w)
            .filter(|(_, w)| w.abs() > 1e-6)
            .map(|(n, w)| (n.clone(), w as f32))
            .collect(),
    }
}

/// L2-regularised logistic regression by Newton's method: returns (intercept, weights).
pub fn fit_logistic(x: &[Vec<f64>], y: &[f64], l2: f64) -> (f64, Vec<f64>) {
    let d = x.first().map_or(0, Vec::len);
    fit_logistic_toward(x, y, l2, 0.0, &vec![0.0; d])
}

/// Like [`fit_logistic`], but the L2 penalty pulls the weights toward `prior` (and the
/// intercept toward `prior_bias`) instead of zero: with few examples of a class the fit stays
/// near the prior, with many the data decide.
#[allow(
    clippy::needless_range_loop,
    reason = "indices mirror the matrix algebra"
)]
pub fn fit_logistic_toward(
    x: &[Vec<f64>],
    y: &[f64],
    l2: f64,
    prior_bias: f64,
    prior: &[f64],
) -> (f64, Vec<f64>) {
    let d = prior.len() + 1;
    let center: Vec<f64> = std::iter::once(prior_bias)
        .chain(prior.iter().copied())
        .collect();
    // The intercept gets a tiny penalty only, to keep the system solvable.
    let penalty = |j: usize| if j == 0 { 1e-6 } else { l2 };
    // The penalised negative log-likelihood, which each step must lower: on data a few
    // features nearly separate (long articles, few positives), a full Newton step overshoots
    // and the weights run off to millions; steps are halved until the objective falls.
    let objective = |w: &[f64]| -> f64 {
        let loss: f64 = x
            .iter()
            .zip(y)
            .map(|(row, &label)| {
                let z = w[0] + row.iter().zip(&w[1..]).map(|(a, b)| a * b).sum::<f64>();
                // log(1 + e^z) - label * z, computed without overflow.
                let softplus = if z > 0.0 {
                    z + (-z).exp().ln_1p()
                } else {
                    z.exp().ln_1p()
                };
                softplus - label * z
            })
            .sum();
        let pull: f64 = (0..d)
            .map(|j| 0.5 * penalty(j) * (w[j] - center[j]).powi(2))
            .sum();
        loss + pull
    };
    let mut w = center.clone();
    let mut current = objective(&w);
    for _ in 0..100 {
        let mut gradient = vec![0.0; d];
        let mut hessian = vec![vec![0.0; d]; d];
        for (row, &label) in x.iter().zip(y) {
            let z = w[0] + row.iter().zip(&w[1..]).map(|(a, b)| a * b).sum::<f64>();
            let p = 1.0 / (1.0 + (-z).exp());
            let s = (p * (1.0 - p)).max(1e-9);
            let xi = |j: usize| if j == 0 { 1.0 } else { row[j - 1] };
            for j in 0..d {
                gradient[j] += (p - label) * xi(j);
                for k in 0..=j {
                    hessian[j][k] += s * xi(j) * xi(k);
                }
            }
        }
        for j in 0..d {
            for k in 0..j {
                hessian[k][j] = hessian[j][k];
            }
            gradient[j] += penalty(j) * (w[j] - center[j]);
            hessian[j][j] += penalty(j);
        }
        let Some(step) = solve(hessian, gradient) else {
            break;
        };
        let mut scale = 1.0;
        let mut accepted = None;
        while scale > 1e-6 {
            let candidate: Vec<f64> = w.iter().zip(&step).map(|(a, b)| a - scale * b).collect();
            let value = objective(&candidate);
            if value.is_finite() && value <= current {
                accepted = Some((candidate, value));
                break;
            }
            scale /= 2.0;
        }
        let Some((next, value)) = accepted else {
            break;
        };
        let largest = next
            .iter()
            .zip(&w)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f64, f64::max);
        w = next;
        current = value;
        if largest < 1e-9 {
            break;
        }
    }
    let bias = w[0];
    (bias, w.split_off(1))
}

/// Solves `a · x = b` by Gaussian elimination with partial pivoting.
#[allow(
    clippy::needless_range_loop,
    reason = "indices mirror the matrix algebra"
)]
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        for row in col + 1..n {
            let factor = a[row][col] / a[col][col];
            if factor == 0.0 {
                continue;
            }
            for k in col..n {
                a[row][k] -= factor * a[col][k];
            }
            b[row] -= factor * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let sum: f64 = (row + 1..n).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - sum) / a[row][row];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logistic_regression_recovers_a_separating_direction() {
        // Label is 1 when the first feature is large; the second is noise.
        let x: Vec<Vec<f64>> = (0..200)
            .map(|i| vec![f64::from(i % 10), f64::from((i / 10) % 5)])
            .collect();
        let y: Vec<f64> = x.iter().map(|r| f64::from(u8::from(r[0] >= 5.0))).collect();
        let (bias, w) = fit_logistic(&x, &y, 0.1);
        assert!(w[0] > 1.0, "{w:?}");
        assert!(w[1].abs() < w[0] / 5.0, "{w:?}");
        let p = |v: f64| 1.0 / (1.0 + (-(bias + w[0] * v + w[1] * 2.0)).exp());
        assert!(p(8.0) > 0.9 && p(1.0) < 0.1);
    }

    #[test]
    fn calibrated_on_a_noisy_feature() {
        // Where the label is 1 for 30% of rows whatever the feature, the fitted probability
        // is about 0.3: the score means odds.
        let x: Vec<Vec<f64>> = (0..1000).map(|i| vec![f64::from(i % 2)]).collect();
        let y: Vec<f64> = (0..1000).map(|i| f64::from(u8::from(i % 10 < 3))).collect();
        let (bias, w) = fit_logistic(&x, &y, 0.01);
        let p = 1.0 / (1.0 + (-(bias + w[0] * 0.5)).exp());
        assert!((p - 0.3).abs() < 0.02, "{p}");
    }

    #[test]
    fn a_prior_far_from_the_data_does_not_send_the_weights_off() {
        // Like long articles judged by the hand-set prior: its weights on large counts call
        // almost every record relevant with certainty, where 3% are. There the Hessian is
        // nearly zero and a full Newton step overshot: the intercept ran off to -9e7 and
        // every record was judged not relevant.
        let x: Vec<Vec<f64>> = (0..1000)
            .map(|i| {
                let positive = i % 33 == 0;
                let both = if positive {
                    6.0
                } else {
                    1.0 + f64::from(i % 4) * 0.5
                };
                vec![both, 8.0 + f64::from(i % 7) * 0.5]
            })
            .collect();
        let y: Vec<f64> = (0..1000)
            .map(|i| f64::from(u8::from(i % 33 == 0)))
            .collect();
        let (bias, w) = fit_logistic_toward(&x, &y, 1.0, -4.0, &[2.5, 1.5]);
        assert!(
            bias.abs() < 1000.0 && w.iter().all(|v| v.abs() < 1000.0),
            "{bias} {w:?}"
        );
        let p = |row: &[f64]| {
            1.0 / (1.0 + (-(bias + row.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>())).exp())
        };
        let right = x
            .iter()
            .zip(&y)
            .filter(|(row, label)| (p(row) >= 0.5) == (**label == 1.0))
            .count();
        assert!(right >= 990, "{right} of 1000 right");
    }

    #[test]
    fn prf_counts_like_the_scorer() {
        let mut c = Counts::default();
        c.add(true, true);
        c.add(true, false);
        c.add(false, true);
        c.add(false, false);
        assert_eq!((c.precision(), c.recall()), (0.5, 0.5));
        assert!((c.f1() - 0.5).abs() < 1e-12);
    }
}

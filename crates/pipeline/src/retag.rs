//! `nichiro retag`: the stored articles tagged again with the current taxonomy, gazetteer and
//! model, so that a retrained model or a mended taxonomy reaches what is stored already.
//!
//! Each article is tagged against the corpus and the articles stored before it, as the
//! pipeline tagged it, so `duplicate_of` and `related` never point to a later text.
//!
//! Each verdict records the tagger that gave it (its fingerprint, [`Tagger::fingerprint`]);
//! articles whose verdict the current tagger gave are skipped, so a run cut short (Ctrl-C, a
//! kill, a lost connection) is simply started again and goes on where it stopped. Verdicts are
//! written a batch at a time, one transaction each, on a connection of their own while
//! another reads the articles in order.

use nichiro_classify::Tagger;
use nichiro_model::Tags;
use nichiro_store::{ArticleFilter, StoredArticle};

use crate::store_retry::retrying;
use std::collections::HashSet;

use crate::{Config, PipelineError, stored_document};

/// How `retag` works.
#[derive(Debug, Clone, Copy)]
pub struct RetagOptions {
    /// Articles tagged and written per transaction. Default 500.
    pub batch: usize,
    /// Tag again also the articles the current tagger tagged already.
    pub all: bool,
}

impl Default for RetagOptions {
    fn default() -> Self {
        RetagOptions {
            batch: 500,
            all: false,
        }
    }
}

/// What a `retag` run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetagSummary {
    /// Articles the filters let through.
    pub considered: u64,
    /// Of those, skipped because the current tagger tagged them already.
    pub current: u64,
    /// Tagged again and written.
    pub retagged: u64,
    /// Of those, now relevant and not before.
    pub now_relevant: u64,
    /// Of those, relevant before and not now.
    pub no_longer_relevant: u64,
    /// Of those, with another set of topics.
    pub topics_changed: u64,
    /// Of those, copying another text than before (or now none, or now one).
    pub copies_changed: u64,
    /// Of those, sharing a passage with another text than before (or now none, or now one).
    pub shared_passages_changed: u64,
}

impl std::fmt::Display for RetagSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "retagged {}, already current {}, of {} articles",
            self.retagged, self.current, self.considered
        )?;
        writeln!(
            f,
            "verdicts changed: now relevant {}, no longer relevant {}, topics {}, copies {}, shared passages {}",
            self.now_relevant,
            self.no_longer_relevant,
            self.topics_changed,
            self.copies_changed,
            self.shared_passages_changed
        )
    }
}

impl RetagSummary {
    fn count(&mut self, before: &StoredArticle, after: &Tags) {
        self.retagged += 1;
        self.now_relevant += u64::from(after.relevant && !before.relevant);
        self.no_longer_relevant += u64::from(before.relevant && !after.relevant);
        let topics = |t: &[nichiro_model::TopicTag]| {
            let mut names: Vec<String> = t.iter().map(|t| t.topic.clone()).collect();
            names.sort();
            names
        };
        self.topics_changed += u64::from(topics(&before.topics) != topics(&after.topics));
        let copied = |d: &Option<nichiro_model::DuplicateOf>| d.as_ref().map(|d| d.id.clone());
        self.copies_changed +=
            u64::from(copied(&before.duplicate_of) != copied(&after.duplicate_of));
        self.shared_passages_changed +=
            u64::from(copied(&before.shares_text_with) != copied(&after.shares_text_with));
    }
}

/// Tags again the stored articles `filter` lets through whose verdict another tagger gave
/// (all of them with `options.all`). A run killed part-way keeps every batch written before
/// (each is one transaction); the next run skips them.
pub fn retag(
    config: &Config,
    filter: &ArticleFilter,
    options: RetagOptions,
) -> Result<RetagSummary, PipelineError> {
    let reader = nichiro_store::open(&config.store)?;
    let mut writer = nichiro_store::open(&config.store)?;
    let mut tagger = Tagger::from_config(config.tag.clone())?;
    let fingerprint = tagger.fingerprint().to_string();
    let mut summary = RetagSummary::default();
    // The articles to tag again: those the filters let through that another tagger tagged.
    let mut selected: HashSet<String> = HashSet::new();
    reader.for_each_article(filter, &mut |stored| {
        summary.considered += 1;
        if options.all || stored.tagger != fingerprint {
            selected.insert(stored.url);
        } else {
            summary.current += 1;
        }
    })?;
    if selected.is_empty() {
        return Ok(summary);
    }
    // Every stored article, oldest first, each tagged against what was stored before it (as
    // the pipeline tagged it) and then added to the collection: a text is never found to
    // copy one stored after it.
    let batch_size = options.batch.max(1);
    let mut batch: Vec<(StoredArticle, Tags)> = Vec::with_capacity(batch_size);
    let mut failed: Option<PipelineError> = None;
    let mut write = |batch: &mut Vec<(StoredArticle, Tags)>, summary: &mut RetagSummary| {
        let updates: Vec<(String, Tags)> = batch
            .iter()
            .map(|(stored, tags)| (stored.url.clone(), tags.clone()))
            .collect();
        retrying("write verdicts", || writer.update_tags(&updates))?;
        for (stored, tags) in batch.iter() {
            summary.count(stored, tags);
        }
        batch.clear();
        Ok::<(), PipelineError>(())
    };
    reader.for_each_article(&ArticleFilter::default(), &mut |stored| {
        if failed.is_some() {
            return;
        }
        let document = stored_document(stored.clone());
        if selected.contains(&stored.url) {
            let tags = tagger.tag(&stored.clone().into_tagged().article);
            batch.push((stored, tags));
            if batch.len() >= batch_size
                && let Err(e) = write(&mut batch, &mut summary)
            {
                failed = Some(e);
            }
        }
        tagger.add_document(&document);
    })?;
    if let Some(error) = failed {
        return Err(error);
    }
    if !batch.is_empty() {
        write(&mut batch, &mut summary)?;
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nichiro_model::{Article, DuplicateOf, TaggedArticle};
    use nichiro_store::{ArticleFilter, SqliteStore, Store};

    #[test]
    fn a_new_or_lost_shared_passage_counts_as_a_changed_verdict() {
        let mut store = SqliteStore::open_in_memory().unwrap();
        let mut article = Article::empty("https://ex.org/a");
        article.text = "text".into();
        store
            .insert_batch(&[TaggedArticle {
                article,
                tags: Tags::default(),
                source: "s".into(),
                requested_url: "https://ex.org/a".into(),
                fetched_at: chrono::Utc::now(),
                raw_page: None,
            }])
            .unwrap();
        let before = store
            .list(&ArticleFilter::default(), None)
            .unwrap()
            .remove(0);
        let mut summary = RetagSummary::default();
        summary.count(&before, &Tags::default());
        assert_eq!(summary.shared_passages_changed, 0);
        let after = Tags {
            shares_text_with: Some(DuplicateOf {
                id: "https://ex.org/b".into(),
                shared: 0.2,
            }),
            ..Tags::default()
        };
        summary.count(&before, &after);
        assert_eq!((summary.retagged, summary.shared_passages_changed), (2, 1));
        assert!(
            summary.to_string().contains("shared passages 1"),
            "{summary}"
        );
    }
}

//! Near-duplicate detection by word shingles with an inverted index over a fixed sample of
//! shingle hashes (those whose hash is 0 modulo [`SAMPLE_MODULUS`]). Two texts that share a
//! passage share the same sampled shingles, so candidates come from the index, not from a
//! scan of every stored text, and the share of one text found in another (containment) is
//! estimated from the samples. Containment rather than resemblance: a republished wire story
//! padded with other text still contains the original.

use rustc_hash::FxHashMap as HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use chrono::{DateTime, FixedOffset};

use crate::tokenize::Token;

/// Words per shingle (bigram tokens for CJK text).
pub const SHINGLE_WORDS: usize = 5;
/// One shingle in this many is sampled.
pub const SAMPLE_MODULUS: u64 = 4;
/// Fewest sampled shingles a short text must share (about 20 words copied verbatim).
pub const SHORT_TEXT_MIN_COMMON: usize = 4;
/// Posting lists longer than this (boilerplate shared by a whole site) are ignored.
const MAX_POSTINGS: usize = 1000;

#[derive(Debug)]
struct Doc {
    id: String,
    published: Option<DateTime<FixedOffset>>,
}

/// An index of stored texts for finding copies.
#[derive(Debug, Default)]
pub struct NearDuplicateIndex {
    docs: Vec<Doc>,
    by_id: HashMap<String, u32>,
    postings: HashMap<u64, Vec<u32>>,
}

/// The sampled shingle hashes of a token stream, without repeats.
pub fn sampled_shingles(tokens: &[Token]) -> Vec<u64> {
    let mut hashes: Vec<u64> = tokens
        .windows(SHINGLE_WORDS)
        .map(|window| {
            let mut hasher = DefaultHasher::new();
            for token in window {
                token.norm.hash(&mut hasher);
            }
            hasher.finish()
        })
        .filter(|h| h % SAMPLE_MODULUS == 0)
        .collect();
    hashes.sort_unstable();
    hashes.dedup();
    hashes
}

/// A stored text that a new one copies.
#[derive(Debug, Clone, PartialEq)]
pub struct Copy {
    /// Id of the original.
    pub id: String,
    /// Estimated share of the new text's shingles found in the original.
    pub shared: f32,
    /// Sampled shingles in common.
    pub common: usize,
}

impl NearDuplicateIndex {
    /// Adds a text.
    pub fn add(&mut self, id: &str, published: Option<DateTime<FixedOffset>>, tokens: &[Token]) {
        let index = self.docs.len() as u32;
        self.docs.push(Doc {
            id: id.to_string(),
            published,
        });
        self.by_id.insert(id.to_string(), index);
        for hash in sampled_shingles(tokens) {
            self.postings.entry(hash).or_default().push(index);
        }
    }

    /// The publication time a stored text was added with.
    pub fn published(&self, id: &str) -> Option<DateTime<FixedOffset>> {
        self.by_id
            .get(id)
            .and_then(|&i| self.docs[i as usize].published)
    }

    /// The stored text that shares the most of `tokens`, if it shares at least `min_shared`
    /// of them and enough sampled shingles, and was not published after the new text (when
    /// both dates are known). `exclude` leaves out the text itself.
    ///
    /// Enough is `min_common`, or, for a text too short to have twice that many (a 90-word
    /// wire item has about 20), half of its sample but never fewer than
    /// [`SHORT_TEXT_MIN_COMMON`]: a short story mostly copied is a copy, and a stock phrase
    /// shared by two short ones is not.
    pub fn find_copy(
        &self,
        tokens: &[Token],
        published: Option<DateTime<FixedOffset>>,
        min_shared: f32,
        min_common: usize,
        exclude: Option<&str>,
    ) -> Option<Copy> {
        let sample = sampled_shingles(tokens);
        let common = self.common_shingles(&sample, published, exclude);
        Self::best(&common, sample.len(), min_shared, min_common)
    }

    /// [`NearDuplicateIndex::find_copy`] for two thresholds at once, reading the index once:
    /// the stored text copied (`copy_min_shared`, `copy_min_common`), and, when there is
    /// none, the one that shares a passage (`overlap_min_shared`, `overlap_min_common`).
    pub fn find_copy_or_overlap(
        &self,
        tokens: &[Token],
        published: Option<DateTime<FixedOffset>>,
        (copy_min_shared, copy_min_common): (f32, usize),
        (overlap_min_shared, overlap_min_common): (f32, usize),
        exclude: Option<&str>,
    ) -> (Option<Copy>, Option<Copy>) {
        let sample = sampled_shingles(tokens);
        let common = self.common_shingles(&sample, published, exclude);
        match Self::best(&common, sample.len(), copy_min_shared, copy_min_common) {
            Some(copy) => (Some(copy), None),
            None => (
                None,
                Self::best(
                    &common,
                    sample.len(),
                    overlap_min_shared,
                    overlap_min_common,
                ),
            ),
        }
    }

    /// The best of `common` (document, shingles in common) for thresholds, by the rule of
    /// [`NearDuplicateIndex::find_copy`].
    fn best(
        common: &[(u32, &str, usize)],
        sample: usize,
        min_shared: f32,
        min_common: usize,
    ) -> Option<Copy> {
        if sample == 0 {
            return None;
        }
        let needed = sample
            .div_ceil(2)
            .clamp(min_common.min(SHORT_TEXT_MIN_COMMON), min_common);
        common
            .iter()
            .filter(|&&(_, _, n)| n >= needed)
            .map(|&(_, id, n)| Copy {
                id: id.to_string(),
                shared: n as f32 / sample as f32,
                common: n,
            })
            .filter(|copy| copy.shared >= min_shared)
            .max_by(|a, b| a.common.cmp(&b.common).then_with(|| b.id.cmp(&a.id)))
    }

    /// Stored texts sharing sampled shingles with `sample`, published no later (when both
    /// dates are known), `exclude` left out: (document, id, shingles in common).
    fn common_shingles(
        &self,
        sample: &[u64],
        published: Option<DateTime<FixedOffset>>,
        exclude: Option<&str>,
    ) -> Vec<(u32, &str, usize)> {
        let mut common: HashMap<u32, usize> = HashMap::default();
        for hash in sample {
            if let Some(docs) = self.postings.get(hash)
                && docs.len() <= MAX_POSTINGS
            {
                let mut last = None;
                for &doc in docs {
                    if last != Some(doc) {
                        *common.entry(doc).or_default() += 1;
                        last = Some(doc);
                    }
                }
            }
        }
        common
            .into_iter()
            .filter_map(|(doc, n)| {
                let d = &self.docs[doc as usize];
                let earlier = match (d.published, published) {
                    (Some(theirs), Some(ours)) => theirs <= ours,
                    _ => true,
                };
                (earlier && Some(d.id.as_str()) != exclude).then_some((doc, d.id.as_str(), n))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenize::tokenize;

    const ORIGINAL: &str = "Since the mid-20th century, Russia and Japan have been holding consultations in order \
        to clinch a peace treaty as a follow-up to World War II. The main stumbling block to this is the issue \
        of the southern Kuril Islands. After the war, the islands were handed over to the Soviet Union, \
        while Japan lays claims to Iturup, Kunashir, Shikotan and the Habomai islets.";

    #[test]
    fn a_republished_passage_is_found_and_unrelated_text_is_not() {
        let mut index = NearDuplicateIndex::default();
        index.add("tass", None, &tokenize(ORIGINAL));
        index.add(
            "other",
            None,
            &tokenize("Sakhalin LNG shipments to Japan rose in May, the ministry said on Friday."),
        );
        let copy = format!("TEHRAN (agency) - Officials met on Friday. {ORIGINAL}");
        let found = index
            .find_copy(&tokenize(&copy), None, 0.5, 3, None)
            .unwrap();
        assert_eq!(found.id, "tass");
        assert!(found.shared > 0.7, "{found:?}");
        let unrelated = tokenize(
            "The weather in Tokyo was sunny on Friday and markets rose after the holiday weekend ended quietly.",
        );
        assert!(index.find_copy(&unrelated, None, 0.1, 1, None).is_none());
    }

    #[test]
    fn a_short_story_mostly_copied_is_a_copy_and_a_shared_stock_phrase_is_not() {
        let mut index = NearDuplicateIndex::default();
        index.add("tass", None, &tokenize(ORIGINAL));
        let sample = sampled_shingles(&tokenize(ORIGINAL)).len();
        let (min_shared, min_common) = (0.1, 2 * sample);
        // Too short to share `min_common`, but mostly the original.
        let copy = format!("{ORIGINAL} Local officials declined to comment.");
        let found = index.find_copy(&tokenize(&copy), None, min_shared, min_common, None);
        assert_eq!(found.map(|c| c.id).as_deref(), Some("tass"));
        // A one-line text made of a phrase of it: half its few shingles are shared, but too
        // few to say it was copied.
        let stock = "Japan lays claims to Iturup, Kunashir, Shikotan and the Habomai islets, \
            the ministry said.";
        let found = index.find_copy(&tokenize(stock), None, min_shared, min_common, None);
        assert!(found.is_none(), "{found:?}");
    }

    #[test]
    fn a_later_text_is_not_the_original() {
        let mut index = NearDuplicateIndex::default();
        let later = DateTime::parse_from_rfc3339("2019-05-11T00:00:00Z").unwrap();
        let earlier = DateTime::parse_from_rfc3339("2018-05-21T00:00:00Z").unwrap();
        index.add("later", Some(later), &tokenize(ORIGINAL));
        assert!(
            index
                .find_copy(&tokenize(ORIGINAL), Some(earlier), 0.1, 1, None)
                .is_none()
        );
        assert!(
            index
                .find_copy(&tokenize(ORIGINAL), Some(later), 0.1, 1, None)
                .is_some()
        );
    }
}

//! TF-IDF cosine similarity through an inverted index: a query touches only the postings of
//! its own terms, so its cost follows the rarity of its words, not the size of the collection.

use rustc_hash::FxHashMap as HashMap;

use crate::tokenize::{Token, is_stopword};

/// Posting lists longer than this share of the collection are skipped at query time (once the
/// collection has more than 50 documents): such terms say nothing about a text's subject.
const MAX_DF_SHARE: f32 = 0.5;

/// Documents searchable by similarity.
#[derive(Debug, Default)]
pub struct SimilarityIndex {
    /// Document ids, by index.
    ids: Vec<String>,
    /// Term key ([`term_key`]) → (document index, 1 + ln tf). Keys are 64-bit hashes, not
    /// strings: lookups compare no text, and a million distinct terms collide with odds
    /// of about one in ten million.
    postings: HashMap<u64, Vec<Posting>>,
    /// Each document's TF-IDF vector length, by index, for the collection as it was when
    /// they were last computed (see [`SimilarityIndex::add`]).
    norms: Vec<f32>,
    /// The collection's size when every norm was last computed.
    normed_at: usize,
}

/// (document index, 1 + ln tf).
type Posting = (u32, f32);

/// The 64-bit key of a term.
pub fn term_key(term: &str) -> u64 {
    use std::hash::Hasher;
    let mut hasher = rustc_hash::FxHasher::default();
    hasher.write(term.as_bytes());
    // splitmix64's finalizer spreads the bits over the whole word.
    let mut z = hasher.finish();
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Term frequencies of a token stream, without stopwords and one-letter words.
pub fn term_frequencies<'t>(tokens: &'t [Token<'_>]) -> HashMap<&'t str, u32> {
    let mut tf: HashMap<&str, u32> = HashMap::default();
    for token in tokens {
        let norm: &str = &token.norm;
        if is_stopword(norm) || (!token.cjk && norm.chars().count() < 2) {
            continue;
        }
        *tf.entry(norm).or_default() += 1;
    }
    tf
}

impl SimilarityIndex {
    /// Number of documents.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the index holds no document.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    fn idf(&self, df: usize) -> f32 {
        ((self.ids.len() as f32 + 1.0) / (df as f32 + 1.0)).ln() + 1.0
    }

    /// Adds a document. Its vector length is computed with the document frequencies known
    /// now, and every document's again each time the collection has doubled: a length
    /// computed when the collection was small (every term as rare as any other) and scored
    /// against the idf of a large one made the first documents stored (the corpus) the most
    /// similar to anything.
    pub fn add(&mut self, id: &str, tokens: &[Token]) {
        let index = self.ids.len() as u32;
        self.ids.push(id.to_string());
        let tf = term_frequencies(tokens);
        let weighted: Vec<(u64, f32, f32)> = tf
            .into_iter()
            .map(|(term, count)| {
                let key = term_key(term);
                let df = self.postings.get(&key).map_or(0, Vec::len) + 1;
                (key, 1.0 + (count as f32).ln(), self.idf(df))
            })
            .collect();
        let norm = weighted
            .iter()
            .map(|(_, w, idf)| (w * idf) * (w * idf))
            .sum::<f32>()
            .sqrt();
        self.norms.push(norm);
        for (key, weight, _) in weighted {
            self.postings.entry(key).or_default().push((index, weight));
        }
        if self.ids.len() >= 2 * self.normed_at.max(8) {
            self.compute_norms();
        }
    }

    /// Every document's vector length with the document frequencies of now: one pass over
    /// the postings.
    fn compute_norms(&mut self) {
        let mut squares = vec![0.0f32; self.ids.len()];
        for postings in self.postings.values() {
            let idf = self.idf(postings.len());
            for &(doc, weight) in postings {
                squares[doc as usize] += (weight * idf) * (weight * idf);
            }
        }
        self.norms = squares.into_iter().map(f32::sqrt).collect();
        self.normed_at = self.ids.len();
    }

    /// The `k` documents most similar to `tokens`, with cosine similarity at least `min`,
    /// leaving out `exclude` (the document itself).
    ///
    /// The cost of a query is bounded whatever the size of the collection: only the query's
    /// [`MAX_QUERY_TERMS`] weightiest terms are looked up, and of each posting list only the
    /// newest [`MAX_SCANNED_POSTINGS`] documents are scored (postings are appended in
    /// insertion order, so for a term shared by many documents the most recent stories win,
    /// which is what a news reader following a story wants). A term rare enough to have a
    /// short list is scored in full.
    pub fn most_similar(
        &self,
        tokens: &[Token],
        k: usize,
        min: f32,
        exclude: Option<&str>,
    ) -> Vec<(String, f32)> {
        let tf = term_frequencies(tokens);
        let max_df = ((self.ids.len() as f32) * MAX_DF_SHARE) as usize;
        // (query weight, idf, postings) per looked-up term.
        let mut query: Vec<(f32, f32, &[Posting])> = Vec::with_capacity(tf.len());
        let mut query_norm = 0.0f32;
        for (term, count) in tf {
            let postings = self.postings.get(&term_key(term));
            let idf = self.idf(postings.map_or(0, Vec::len));
            let q = (1.0 + (count as f32).ln()) * idf;
            // Every term of the query counts toward its length, found in the collection or
            // not: a query scored only over the terms it shares with the collection would
            // be as similar as can be to a document sharing one of its ten concepts.
            query_norm += q * q;
            let Some(postings) = postings else {
                continue;
            };
            if self.ids.len() > 50 && postings.len() > max_df {
                continue;
            }
            query.push((q, idf, postings.as_slice()));
        }
        let query_norm = query_norm.sqrt();
        if query_norm == 0.0 {
            return Vec::new();
        }
        query.sort_by(|a, b| b.0.total_cmp(&a.0));
        query.truncate(MAX_QUERY_TERMS);
        SCORES.with_borrow_mut(|scores| {
            scores.clear();
            for (q, idf, postings) in &query {
                let newest = postings.len().saturating_sub(MAX_SCANNED_POSTINGS);
                for &(doc, weight) in &postings[newest..] {
                    *scores.entry(doc).or_default() += q * weight * idf;
                }
            }
            let mut ranked: Vec<(u32, f32)> = scores
                .iter()
                .filter(|(doc, _)| self.norms[**doc as usize] > 0.0)
                .map(|(&doc, &dot)| {
                    let norm = self.norms[doc as usize];
                    (doc, (dot / (query_norm * norm)).clamp(0.0, 1.0))
                })
                .filter(|&(_, sim)| sim >= min)
                .collect();
            // One more than asked for, in case the document itself is among them.
            let keep = k + usize::from(exclude.is_some());
            let by_score = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
            if ranked.len() > keep {
                ranked.select_nth_unstable_by(keep, by_score);
                ranked.truncate(keep);
            }
            ranked.sort_by(by_score);
            ranked
                .into_iter()
                .map(|(doc, sim)| (self.ids[doc as usize].clone(), sim))
                .filter(|(id, _)| Some(id.as_str()) != exclude)
                .take(k)
                .collect()
        })
    }
}

/// Query terms looked up per query (the weightiest by tf·idf).
pub const MAX_QUERY_TERMS: usize = 12;
/// Postings scored per query term (the newest).
pub const MAX_SCANNED_POSTINGS: usize = 300;

thread_local! {
    /// Score accumulator (document index → dot product), kept between queries so its table
    /// is allocated once: a few thousand entries, whatever the size of the collection.
    static SCORES: std::cell::RefCell<HashMap<u32, f32>> =
        std::cell::RefCell::new(HashMap::default());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenize::tokenize;

    #[test]
    fn nearest_document_wins_and_self_is_excluded() {
        let mut index = SimilarityIndex::default();
        index.add(
            "islands",
            &tokenize("The Kuril islands dispute and the peace treaty talks"),
        );
        index.add(
            "lng",
            &tokenize("Sakhalin LNG exports and energy investment"),
        );
        let hits = index.most_similar(
            &tokenize("peace treaty and the Kuril islands"),
            5,
            0.05,
            None,
        );
        assert_eq!(hits[0].0, "islands");
        assert!(hits.iter().all(|(id, _)| id != "lng"));
        let hits = index.most_similar(&tokenize("Kuril islands"), 5, 0.0, Some("islands"));
        assert!(hits.is_empty());
    }
}

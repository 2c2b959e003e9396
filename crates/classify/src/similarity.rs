//! TF-IDF cosine similarity through an inverted index: a query touches only the postings of
//! its own terms, so its cost follows the rarity of its words, not the size of the collection.

use std::collections::HashMap;

use crate::tokenize::{Token, is_stopword};

/// Posting lists longer than this share of the collection are skipped at query time (once the
/// collection has more than 50 documents): such terms say nothing about a text's subject.
const MAX_DF_SHARE: f32 = 0.5;

#[derive(Debug)]
struct Doc {
    id: String,
    norm: f32,
}

/// Documents searchable by similarity.
#[derive(Debug, Default)]
pub struct SimilarityIndex {
    docs: Vec<Doc>,
    /// Term → (document index, 1 + ln tf).
    postings: HashMap<String, Vec<(u32, f32)>>,
}

/// Term frequencies of a token stream, without stopwords and one-letter words.
pub fn term_frequencies(tokens: &[Token]) -> HashMap<&str, u32> {
    let mut tf: HashMap<&str, u32> = HashMap::new();
    for token in tokens {
        let norm = token.norm.as_str();
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
        self.docs.len()
    }

    /// Whether the index holds no document.
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    fn idf(&self, df: usize) -> f32 {
        ((self.docs.len() as f32 + 1.0) / (df as f32 + 1.0)).ln() + 1.0
    }

    /// Adds a document. Its vector norm uses the document frequencies known now.
    pub fn add(&mut self, id: &str, tokens: &[Token]) {
        let index = self.docs.len() as u32;
        self.docs.push(Doc {
            id: id.to_string(),
            norm: 0.0,
        });
        let tf = term_frequencies(tokens);
        let mut norm = 0.0f32;
        for (term, count) in tf {
            let weight = 1.0 + (count as f32).ln();
            let postings = self.postings.entry(term.to_string()).or_default();
            postings.push((index, weight));
            let df = postings.len();
            let w = weight * self.idf(df);
            norm += w * w;
        }
        self.docs[index as usize].norm = norm.sqrt();
    }

    /// The `k` documents most similar to `tokens`, with cosine similarity at least `min`,
    /// leaving out `exclude` (the document itself).
    pub fn most_similar(
        &self,
        tokens: &[Token],
        k: usize,
        min: f32,
        exclude: Option<&str>,
    ) -> Vec<(String, f32)> {
        let tf = term_frequencies(tokens);
        let mut scores: HashMap<u32, f32> = HashMap::new();
        let mut query_norm = 0.0f32;
        let max_df = ((self.docs.len() as f32) * MAX_DF_SHARE) as usize;
        for (term, count) in tf {
            let Some(postings) = self.postings.get(term) else {
                continue;
            };
            if self.docs.len() > 50 && postings.len() > max_df {
                continue;
            }
            let idf = self.idf(postings.len());
            let q = (1.0 + (count as f32).ln()) * idf;
            query_norm += q * q;
            for &(doc, weight) in postings {
                *scores.entry(doc).or_default() += q * weight * idf;
            }
        }
        let query_norm = query_norm.sqrt();
        if query_norm == 0.0 {
            return Vec::new();
        }
        let mut ranked: Vec<(String, f32)> = scores
            .into_iter()
            .filter_map(|(doc, dot)| {
                let d = &self.docs[doc as usize];
                if Some(d.id.as_str()) == exclude || d.norm == 0.0 {
                    return None;
                }
                let sim = (dot / (query_norm * d.norm)).clamp(0.0, 1.0);
                (sim >= min).then(|| (d.id.clone(), sim))
            })
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        ranked.truncate(k);
        ranked
    }
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

//! A small full-text index with BM25 ranking: what the finding example's
//! `search` tool searches the forum with.

use std::collections::HashMap;

/// An inverted index over documents, ranked by BM25 (k1 = 1.2, b = 0.75).
#[derive(Debug, Default)]
pub struct Index {
    /// For each term, the documents holding it and how often.
    postings: HashMap<String, Vec<(usize, u32)>>,
    /// Each document's length in terms.
    lengths: Vec<u32>,
}

/// Lower-cased runs of letters and digits, without the commonest English
/// words.
pub fn terms(text: &str) -> Vec<String> {
    const STOP: &[&str] = &[
        "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "from", "how", "i", "if",
        "in", "is", "it", "me", "my", "of", "on", "or", "so", "that", "the", "this", "to", "was",
        "what", "with", "you",
    ];
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .filter(|w| !STOP.contains(&w.as_str()))
        .collect()
}

impl Index {
    /// Indexes `documents`; a hit is a document's position in this list.
    pub fn new<'a>(documents: impl IntoIterator<Item = &'a str>) -> Index {
        let mut index = Index::default();
        for (doc, text) in documents.into_iter().enumerate() {
            let words = terms(text);
            index.lengths.push(words.len() as u32);
            let mut counts: HashMap<String, u32> = HashMap::new();
            for w in words {
                *counts.entry(w).or_default() += 1;
            }
            for (term, n) in counts {
                index.postings.entry(term).or_default().push((doc, n));
            }
        }
        index
    }

    /// The `k` best documents for `query`, best first, with their scores;
    /// documents sharing no term with it are left out.
    pub fn search(&self, query: &str, k: usize) -> Vec<(usize, f64)> {
        let docs = self.lengths.len() as f64;
        let average = self.lengths.iter().map(|&l| f64::from(l)).sum::<f64>() / docs.max(1.0);
        let mut scores: HashMap<usize, f64> = HashMap::new();
        for term in terms(query) {
            let Some(postings) = self.postings.get(&term) else {
                continue;
            };
            let df = postings.len() as f64;
            let idf = ((docs - df + 0.5) / (df + 0.5) + 1.0).ln();
            for &(doc, tf) in postings {
                let tf = f64::from(tf);
                let norm = 1.2 * (1.0 - 0.75 + 0.75 * f64::from(self.lengths[doc]) / average);
                *scores.entry(doc).or_default() += idf * tf * 2.2 / (tf + norm);
            }
        }
        let mut ranked: Vec<(usize, f64)> = scores.into_iter().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.truncate(k);
        ranked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_with_the_rarer_terms_ranks_first() {
        let index = Index::new([
            "running llama models on a laptop gpu",
            "sourdough bread with a cast iron pan",
            "which gpu for local llama inference",
        ]);
        let hits = index.search("local llama gpu", 3);
        assert_eq!(hits[0].0, 2);
        assert_eq!(hits.len(), 2, "the bread recipe shares no term");
        assert!(index.search("quantum", 3).is_empty());
    }
}

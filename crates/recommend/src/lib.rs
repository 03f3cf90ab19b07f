//! What goes with what, learned from receipts: which items were bought together.
//!
//! Three models over the same baskets, so the kiosk's is always measured against simple peers:
//! popularity, item-to-item co-occurrence (cosine item-kNN) and the kiosk's own, EASE
//! (Steck 2019: a closed-form linear item-to-item model, ridge-regularised, with a zero
//! diagonal). A request is the session's items with weights (what was tried, asked about);
//! nothing about the shopper is kept here or anywhere else. Pure functions, no I/O except the
//! evaluation's reading of the online-retail file.

mod eval;
mod linalg;

pub use eval::{evaluate, load_online_retail_baskets, test_from_day, test_questions, EvalOptions, EvalReport, InvoiceBaskets, ModelScore};

use std::collections::HashMap;

/// Why a model could not be built or data not read.
#[derive(Debug, thiserror::Error)]
pub enum RecommendError {
    #[error(
        "{path} not found: the UCI Online Retail history (online_retail.csv.gz) is expected in \
         ../shared/data/online-retail; pass --data PATH to point elsewhere"
    )]
    Missing { path: String },
    #[error("cannot read {path}: {detail}")]
    Unreadable { path: String, detail: String },
    #[error("the basket model could not be solved: {0}")]
    Singular(String),
}

/// Baskets as item indices, with the item codes they index.
#[derive(Debug, Clone, Default)]
pub struct Baskets {
    items: Vec<String>,
    index: HashMap<String, u32>,
    baskets: Vec<Vec<u32>>,
}

impl Baskets {
    /// Builds from baskets of item codes; repeats inside a basket count once, empty baskets
    /// are dropped.
    pub fn from_codes<I, B, S>(baskets: I) -> Self
    where
        I: IntoIterator<Item = B>,
        B: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut out = Baskets::default();
        for basket in baskets {
            let mut ids: Vec<u32> = basket.into_iter().map(|code| out.intern(code.as_ref())).collect();
            ids.sort_unstable();
            ids.dedup();
            if !ids.is_empty() {
                out.baskets.push(ids);
            }
        }
        out
    }

    fn intern(&mut self, code: &str) -> u32 {
        if let Some(&id) = self.index.get(code) {
            return id;
        }
        let id = self.items.len() as u32;
        self.items.push(code.to_owned());
        self.index.insert(code.to_owned(), id);
        id
    }

    pub fn item_count(&self) -> usize {
        self.items.len()
    }

    pub fn len(&self) -> usize {
        self.baskets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.baskets.is_empty()
    }

    pub fn code(&self, item: u32) -> &str {
        &self.items[item as usize]
    }

    pub fn item(&self, code: &str) -> Option<u32> {
        self.index.get(code).copied()
    }

    /// In how many baskets each item is.
    fn basket_counts(&self) -> Vec<f32> {
        let mut counts = vec![0f32; self.items.len()];
        for basket in &self.baskets {
            for &i in basket {
                counts[i as usize] += 1.0;
            }
        }
        counts
    }

    /// How many baskets hold both items, as sparse rows (the diagonal left out).
    fn co_counts(&self) -> Vec<HashMap<u32, f32>> {
        let mut rows: Vec<HashMap<u32, f32>> = vec![HashMap::new(); self.items.len()];
        for basket in &self.baskets {
            for &i in basket {
                let row = &mut rows[i as usize];
                for &j in basket {
                    if i != j {
                        *row.entry(j).or_default() += 1.0;
                    }
                }
            }
        }
        rows
    }
}

/// Which model scores a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    Popularity,
    ItemKnn,
    Ease,
}

/// A model ready to score: each item's neighbours with weights (the strongest `neighbours`
/// kept, so a request costs the session's length times that, whatever the catalog), and
/// popularity for the cold start and for ties.
#[derive(Debug, Clone)]
pub struct Model {
    pub kind: ModelKind,
    items: Vec<String>,
    index: HashMap<String, u32>,
    neighbours: Vec<Vec<(u32, f32)>>,
    popularity: Vec<f32>,
}

/// How a model is fitted.
#[derive(Debug, Clone, Copy)]
pub struct FitOptions {
    /// EASE's ridge penalty on the item-item Gram matrix.
    pub lambda: f64,
    /// Neighbours kept per item.
    pub neighbours: usize,
    /// Items EASE is fitted over, the most popular first.
    pub max_items: usize,
}

impl Default for FitOptions {
    fn default() -> Self {
        Self { lambda: 25.0, neighbours: 200, max_items: 6000 }
    }
}

impl Model {
    /// Fits `kind` to the baskets.
    pub fn fit(kind: ModelKind, baskets: &Baskets, options: &FitOptions) -> Result<Self, RecommendError> {
        let popularity = baskets.basket_counts();
        let n = baskets.item_count();
        let neighbours = match kind {
            ModelKind::Popularity => vec![Vec::new(); n],
            ModelKind::ItemKnn => baskets
                .co_counts()
                .into_iter()
                .enumerate()
                .map(|(i, row)| {
                    let weights = row.into_iter().map(|(j, both)| (j, both / (popularity[i] * popularity[j as usize]).sqrt()));
                    strongest(weights.collect(), options.neighbours)
                })
                .collect(),
            ModelKind::Ease => ease(baskets, &popularity, options)?,
        };
        Ok(Self { kind, items: baskets.items.clone(), index: baskets.index.clone(), neighbours, popularity })
    }

    pub fn item(&self, code: &str) -> Option<u32> {
        self.index.get(code).copied()
    }

    pub fn code(&self, item: u32) -> &str {
        &self.items[item as usize]
    }

    pub fn item_count(&self) -> usize {
        self.items.len()
    }

    /// The `limit` best items for a session of `(item, weight)`, best first, leaving out the
    /// session's own items and any `keep` refuses. Items the session says nothing about
    /// follow in order of popularity, so an empty session gets the most popular items.
    pub fn recommend(&self, session: &[(u32, f32)], limit: usize, keep: impl Fn(u32) -> bool) -> Vec<(u32, f32)> {
        let mut scores: HashMap<u32, f32> = HashMap::new();
        for &(item, weight) in session {
            for &(j, w) in self.neighbours.get(item as usize).map_or(&[][..], |v| v.as_slice()) {
                *scores.entry(j).or_default() += weight * w;
            }
        }
        let in_session = |i: u32| session.iter().any(|&(s, _)| s == i);
        let mut scored: Vec<(u32, f32)> = scores.into_iter().filter(|&(i, s)| s > 0.0 && !in_session(i) && keep(i)).collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(self.popularity[b.0 as usize].total_cmp(&self.popularity[a.0 as usize])).then(a.0.cmp(&b.0)));
        scored.truncate(limit);
        if scored.len() < limit {
            // Popularity fills what the session does not decide; its scores stay below any
            // session score (0 and less) so the two never interleave.
            let mut popular: Vec<u32> = (0..self.items.len() as u32).filter(|&i| !in_session(i) && !scored.iter().any(|&(s, _)| s == i) && keep(i)).collect();
            let take = limit - scored.len();
            let by_popularity = |a: &u32, b: &u32| self.popularity[*b as usize].total_cmp(&self.popularity[*a as usize]).then(a.cmp(b));
            if popular.len() > take {
                popular.select_nth_unstable_by(take, by_popularity);
                popular.truncate(take);
            }
            popular.sort_by(by_popularity);
            scored.extend(popular.into_iter().map(|i| (i, -1.0 / (1.0 + self.popularity[i as usize]))));
        }
        scored
    }
}

/// The `keep` largest positive weights, strongest first.
fn strongest(mut weights: Vec<(u32, f32)>, keep: usize) -> Vec<(u32, f32)> {
    weights.retain(|&(_, w)| w > 0.0);
    let order = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    if weights.len() > keep {
        weights.select_nth_unstable_by(keep, order);
        weights.truncate(keep);
    }
    weights.sort_by(order);
    weights
}

/// EASE: B = I − P·diag(1/diag(P)) with P = (XᵀX + λI)⁻¹; row i of B says how much having
/// item i in the basket speaks for each other item. Fitted over the `max_items` most popular
/// items (the inverse costs the cube of their number); the rest only get popularity.
fn ease(baskets: &Baskets, popularity: &[f32], options: &FitOptions) -> Result<Vec<Vec<(u32, f32)>>, RecommendError> {
    let mut fitted: Vec<u32> = (0..baskets.item_count() as u32).collect();
    fitted.sort_by(|a, b| popularity[*b as usize].total_cmp(&popularity[*a as usize]).then(a.cmp(b)));
    fitted.truncate(options.max_items);
    let mut dense = vec![u32::MAX; baskets.item_count()];
    for (d, &i) in fitted.iter().enumerate() {
        dense[i as usize] = d as u32;
    }
    let n = fitted.len();
    let mut gram = vec![0f64; n * n];
    let mut present = Vec::new();
    for basket in &baskets.baskets {
        present.clear();
        present.extend(basket.iter().map(|&i| dense[i as usize]).filter(|&d| d != u32::MAX).map(|d| d as usize));
        for &i in &present {
            let row = &mut gram[i * n..(i + 1) * n];
            for &j in &present {
                row[j] += 1.0;
            }
        }
    }
    for i in 0..n {
        gram[i * n + i] += options.lambda;
    }
    linalg::invert_spd(&mut gram, n).map_err(RecommendError::Singular)?;
    let mut neighbours = vec![Vec::new(); baskets.item_count()];
    for (d, &item) in fitted.iter().enumerate() {
        // P is symmetric, so B[i][j] = −P[i][j] / P[j][j] reads row i of P as it is.
        let row = &gram[d * n..(d + 1) * n];
        let weights = (0..n).filter(|&j| j != d).map(|j| (fitted[j], (-row[j] / gram[j * n + j]) as f32));
        neighbours[item as usize] = strongest(weights.collect(), options.neighbours);
    }
    Ok(neighbours)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shop() -> Baskets {
        // Tees go with hoodies, oats with honey; espresso is popular on its own.
        let mut baskets = Vec::new();
        for _ in 0..20 {
            baskets.push(vec!["tee", "hoodie"]);
            baskets.push(vec!["oats", "honey"]);
        }
        for _ in 0..50 {
            baskets.push(vec!["espresso"]);
        }
        baskets.push(vec!["tee", "oats", "tee"]);
        Baskets::from_codes(baskets)
    }

    #[test]
    fn each_model_finds_what_was_bought_together_and_popularity_fills_in() {
        let baskets = shop();
        assert_eq!(baskets.len(), 91);
        assert_eq!(baskets.item_count(), 5);
        let tee = baskets.item("tee").unwrap();
        for kind in [ModelKind::ItemKnn, ModelKind::Ease] {
            let model = Model::fit(kind, &baskets, &FitOptions::default()).unwrap();
            let top = model.recommend(&[(tee, 1.0)], 3, |_| true);
            let codes: Vec<&str> = top.iter().map(|&(i, _)| model.code(i)).collect();
            assert_eq!(codes[0], "hoodie", "{kind:?}: {codes:?}");
            assert!(!codes.contains(&"tee"), "never the session's own item");
            assert_eq!(codes.len(), 3);
            // The hoodie refused (out of stock): the next best, never an empty answer.
            let hoodie = model.item("hoodie").unwrap();
            let without = model.recommend(&[(tee, 1.0)], 2, |i| i != hoodie);
            assert!(without.iter().all(|&(i, _)| i != hoodie));
            assert_eq!(without.len(), 2);
        }
        let popularity = Model::fit(ModelKind::Popularity, &baskets, &FitOptions::default()).unwrap();
        let top = popularity.recommend(&[], 2, |_| true);
        assert_eq!(popularity.code(top[0].0), "espresso");
    }

    #[test]
    fn ease_weights_match_the_closed_form() {
        // Two items always together, a third alone: B[0][1] = G01 / (G11 + λ) once inverted.
        let baskets = Baskets::from_codes(vec![vec!["a", "b"], vec!["a", "b"], vec!["c"]]);
        let options = FitOptions { lambda: 1.0, neighbours: 10, max_items: 10 };
        let model = Model::fit(ModelKind::Ease, &baskets, &options).unwrap();
        let a = baskets.item("a").unwrap();
        let b = baskets.item("b").unwrap();
        // G = [[3,2],[2,3]] for a, b; P = G⁻¹ = [[3,−2],[−2,3]]/5; B_ab = −P_ab/P_bb = 2/3.
        let w = model.neighbours[a as usize].iter().find(|&&(j, _)| j == b).unwrap().1;
        assert!((w - 2.0 / 3.0).abs() < 1e-6, "{w}");
        assert!(model.neighbours[baskets.item("c").unwrap() as usize].is_empty());
    }
}

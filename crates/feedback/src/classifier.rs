//! A learned reader of feedback: multinomial logistic regression over the comment's sentence
//! embedding (the assistant's all-MiniLM-L6-v2) and VADER's compound score, for the label, and
//! one logistic regression per topic. Trained by `vitrine train feedback` on the team's
//! labelled comments; its weights are a small JSON file beside the lexicon.

use serde::{Deserialize, Serialize};

use crate::{Label, Topic};

/// Weights and how they were made.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FeedbackModel {
    /// Embedding width the model was trained on (the VADER score comes after it).
    pub dim: usize,
    /// Per label (negative, neutral, positive): weights over the features, then the bias.
    pub label_weights: Vec<Vec<f32>>,
    /// Per topic (fit, price, stock, staff, store): weights, then the bias.
    pub topic_weights: Vec<Vec<f32>>,
    pub l2: f32,
    pub trained_on: String,
    pub examples: usize,
}

/// The features of one comment: its embedding, then VADER's compound score (scaled so it
/// weighs like a few embedding dimensions).
pub fn features(embedding: &[f32], compound: f64) -> Vec<f32> {
    let mut f = embedding.to_vec();
    f.push(compound as f32 * 2.0);
    f
}

fn dot(w: &[f32], x: &[f32]) -> f32 {
    w.iter().zip(x).map(|(a, b)| a * b).sum::<f32>() + w[x.len()]
}

fn softmax(z: &mut [f32]) {
    let max = z.iter().copied().fold(f32::MIN, f32::max);
    let mut sum = 0.0;
    for v in z.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    for v in z.iter_mut() {
        *v /= sum;
    }
}

impl FeedbackModel {
    /// Fits both heads by full-batch gradient descent with L2 (bias unpenalised).
    pub fn train(examples: &[(Vec<f32>, Label, Vec<Topic>)], l2: f32, trained_on: &str) -> Self {
        let dim = examples.first().map_or(0, |e| e.0.len() - 1);
        let n = examples.len().max(1) as f32;
        let width = dim + 2;
        let mut label_weights = vec![vec![0.0f32; width]; 3];
        let mut topic_weights = vec![vec![0.0f32; width]; Topic::ALL.len()];
        const EPOCHS: usize = 600;
        const RATE: f32 = 0.5;
        for _ in 0..EPOCHS {
            let mut grad = vec![vec![0.0f32; width]; 3];
            let mut tgrad = vec![vec![0.0f32; width]; Topic::ALL.len()];
            for (x, label, topics) in examples {
                let mut p: Vec<f32> = label_weights.iter().map(|w| dot(w, x)).collect();
                softmax(&mut p);
                for (c, g) in grad.iter_mut().enumerate() {
                    let err = p[c] - f32::from(*label as usize == c);
                    for (gi, xi) in g.iter_mut().zip(x.iter().chain(std::iter::once(&1.0))) {
                        *gi += err * xi;
                    }
                }
                for (t, g) in tgrad.iter_mut().enumerate() {
                    let p = 1.0 / (1.0 + (-dot(&topic_weights[t], x)).exp());
                    let err = p - f32::from(topics.contains(&Topic::ALL[t]));
                    for (gi, xi) in g.iter_mut().zip(x.iter().chain(std::iter::once(&1.0))) {
                        *gi += err * xi;
                    }
                }
            }
            for (w, g) in label_weights.iter_mut().chain(topic_weights.iter_mut()).zip(grad.iter().chain(tgrad.iter())) {
                for i in 0..width {
                    let penalty = if i + 1 < width { l2 * w[i] } else { 0.0 };
                    w[i] -= RATE * (g[i] / n + penalty);
                }
            }
        }
        Self { dim, label_weights, topic_weights, l2, trained_on: trained_on.to_owned(), examples: examples.len() }
    }

    pub fn label(&self, features: &[f32]) -> Label {
        let best = (0..3).max_by(|&a, &b| dot(&self.label_weights[a], features).total_cmp(&dot(&self.label_weights[b], features))).unwrap_or(1);
        [Label::Negative, Label::Neutral, Label::Positive][best]
    }

    pub fn topics(&self, features: &[f32]) -> Vec<Topic> {
        Topic::ALL.into_iter().enumerate().filter(|(t, _)| dot(&self.topic_weights[*t], features) > 0.0).map(|(_, topic)| topic).collect()
    }

    /// Whether it fits embeddings of this width.
    pub fn fits(&self, embedding_dim: usize) -> bool {
        self.dim == embedding_dim && self.label_weights.len() == 3 && self.topic_weights.len() == Topic::ALL.len() && self.label_weights.iter().chain(&self.topic_weights).all(|w| w.len() == self.dim + 2)
    }
}

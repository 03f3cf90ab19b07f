//! Which product is it, by look: the product-embedding model over crops, and the catalog's
//! gallery of reference embeddings compared by dot product (the embeddings are unit length).

use std::collections::BTreeMap;

use opencv::core::{Mat, Rect, Size};
use opencv::imgproc;
use opencv::prelude::*;
use serde::{Deserialize, Serialize};
use vitrine_infer::tensor::Tensor;
use vitrine_infer::{Registry, SharedModel, TensorSpec};

use crate::ShelfError;

/// Crops per model call: large enough to amortise the call, small enough to bound memory.
const BATCH: usize = 16;

pub struct ProductEmbedder {
    model: SharedModel,
    spec: TensorSpec,
    size: usize,
    /// This model file's sha256, then that of the model it is a quantized copy of, if any:
    /// embeddings by either compare, embeddings by any other model do not.
    comparable: Vec<String>,
    resized: Mat,
    rgb: Mat,
    one: Vec<f32>,
    batch: Vec<f32>,
}

impl ProductEmbedder {
    pub fn new(registry: &Registry, name: &str) -> Result<Self, ShelfError> {
        let model = registry.model(name)?;
        let (spec, size, comparable) = {
            let m = model.lock().unwrap_or_else(|e| e.into_inner());
            let manifest = m.manifest();
            let wrong = |reason: String| ShelfError::WrongModel { model: name.into(), reason };
            if manifest.task != "image-embedding" {
                return Err(wrong(format!("its task is {:?}, not \"image-embedding\"", manifest.task)));
            }
            let spec = manifest.inputs[0].clone();
            let size = match spec.image_size() {
                Some((w, h)) if w == h => w,
                _ => return Err(wrong("its input is not a fixed square image".into())),
            };
            let comparable = std::iter::once(manifest.sha256.clone()).chain(manifest.same_outputs_as.clone()).collect::<Vec<_>>();
            (spec, size, comparable)
        };
        Ok(Self { model, spec, size, comparable, resized: Mat::default(), rgb: Mat::default(), one: Vec::new(), batch: Vec::new() })
    }

    /// Identifies the model that made an embedding (stored beside reference embeddings).
    pub fn model_sha256(&self) -> &str {
        &self.comparable[0]
    }

    /// The models whose stored embeddings this one's compare with: itself and, for a quantized
    /// copy, the model it was made from.
    pub fn comparable_models(&self) -> &[String] {
        &self.comparable
    }

    /// One embedding per box (`[x1, y1, x2, y2]` in the image's pixels) of a BGR image.
    pub fn embed_boxes(&mut self, bgr: &Mat, boxes: &[[f32; 4]]) -> Result<Vec<Vec<f32>>, ShelfError> {
        let mut out = Vec::with_capacity(boxes.len());
        for chunk in boxes.chunks(BATCH) {
            self.batch.clear();
            for b in chunk {
                let crop = Mat::roi(bgr, clip_rect(b, bgr.cols(), bgr.rows()))?;
                self.push_crop(&crop.try_clone()?)?;
            }
            out.extend(self.run_batch(chunk.len())?);
        }
        Ok(out)
    }

    /// The embedding of a whole image (a catalog reference photo).
    pub fn embed_image(&mut self, bgr: &Mat) -> Result<Vec<f32>, ShelfError> {
        self.batch.clear();
        self.push_crop(bgr)?;
        Ok(self.run_batch(1)?.swap_remove(0))
    }

    /// Short side to the input size (area), centre crop, as the model was exported for.
    fn push_crop(&mut self, crop_mat: &Mat) -> Result<(), ShelfError> {
        let s = self.size as f64;
        let (w, h) = (crop_mat.cols().max(1) as f64, crop_mat.rows().max(1) as f64);
        let scale = s / w.min(h);
        let (nw, nh) = (((w * scale).round() as i32).max(self.size as i32), ((h * scale).round() as i32).max(self.size as i32));
        imgproc::resize(crop_mat, &mut self.resized, Size::new(nw, nh), 0.0, 0.0, imgproc::INTER_AREA)?;
        let (x, y) = ((nw - self.size as i32) / 2, (nh - self.size as i32) / 2);
        let centre = Mat::roi(&self.resized, Rect::new(x, y, self.size as i32, self.size as i32))?;
        imgproc::cvt_color(&centre, &mut self.rgb, imgproc::COLOR_BGR2RGB, 0)?;
        let rgb = if self.rgb.is_continuous() { self.rgb.data_bytes()?.to_vec() } else { self.rgb.try_clone()?.data_bytes()?.to_vec() };
        vitrine_infer::tensor::rgb8_into_input(&rgb, self.size, self.size, &self.spec, &mut self.one);
        self.batch.extend_from_slice(&self.one);
        Ok(())
    }

    fn run_batch(&mut self, n: usize) -> Result<Vec<Vec<f32>>, ShelfError> {
        let s = self.size as i64;
        let input = Tensor::borrowed(vec![n as i64, 3, s, s], &self.batch);
        let outputs = self.model.lock().unwrap_or_else(|e| e.into_inner()).run(&[input])?;
        let data = outputs.first().map(|t| t.data.as_ref()).unwrap_or(&[]);
        let dims = data.len() / n.max(1);
        Ok(data.chunks_exact(dims.max(1)).map(normalised).collect())
    }
}

/// The pixel rectangle of a box, at least 1x1 and inside the image.
pub(crate) fn clip_rect(b: &[f32; 4], cols: i32, rows: i32) -> Rect {
    let x0 = (b[0].floor() as i32).clamp(0, cols - 1);
    let y0 = (b[1].floor() as i32).clamp(0, rows - 1);
    let x1 = (b[2].ceil() as i32).clamp(x0 + 1, cols);
    let y1 = (b[3].ceil() as i32).clamp(y0 + 1, rows);
    Rect::new(x0, y0, x1 - x0, y1 - y0)
}

fn normalised(v: &[f32]) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter().map(|x| x / norm).collect()
}

/// A catalog SKU and how much a crop looks like it (cosine similarity, -1..1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LookMatch {
    pub sku: String,
    pub similarity: f32,
}

/// The catalog's look: one unit-length mean embedding per SKU from its reference photos
/// (a per-class mean beat nearest-photo matching in models/README.md's measurements).
#[derive(Debug, Clone, Default)]
pub struct ProductGallery {
    skus: Vec<String>,
    centroids: Vec<Vec<f32>>,
}

impl ProductGallery {
    /// Builds the gallery from `(sku, embedding)` pairs, several per SKU allowed.
    pub fn from_references(references: impl IntoIterator<Item = (String, Vec<f32>)>) -> Self {
        let mut sums: BTreeMap<String, Vec<f32>> = BTreeMap::new();
        for (sku, emb) in references {
            let sum = sums.entry(sku).or_insert_with(|| vec![0.0; emb.len()]);
            if sum.len() == emb.len() {
                sum.iter_mut().zip(&emb).for_each(|(s, e)| *s += e);
            }
        }
        let (skus, centroids) = sums.into_iter().map(|(sku, sum)| (sku, normalised(&sum))).unzip();
        Self { skus, centroids }
    }

    /// Number of SKUs with a look.
    pub fn len(&self) -> usize {
        self.skus.len()
    }

    pub fn is_empty(&self) -> bool {
        self.skus.is_empty()
    }

    pub fn contains(&self, sku: &str) -> bool {
        self.skus.iter().any(|s| s == sku)
    }

    /// The `k` most similar SKUs, best first.
    pub fn top_k(&self, embedding: &[f32], k: usize) -> Vec<LookMatch> {
        let mut scored: Vec<LookMatch> = self
            .skus
            .iter()
            .zip(&self.centroids)
            .map(|(sku, c)| LookMatch { sku: sku.clone(), similarity: dot(c, embedding) })
            .collect();
        scored.sort_by(|a, b| b.similarity.total_cmp(&a.similarity));
        scored.truncate(k);
        scored
    }

    /// Similarity to one SKU, if the gallery has it.
    pub fn similarity(&self, embedding: &[f32], sku: &str) -> Option<f32> {
        self.skus.iter().position(|s| s == sku).map(|i| dot(&self.centroids[i], embedding))
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;

    #[test]
    fn gallery_ranks_by_mean_look() {
        let gallery = ProductGallery::from_references([
            ("A".to_owned(), vec![1.0, 0.0]),
            ("A".to_owned(), vec![0.0, 1.0]),
            ("B".to_owned(), vec![1.0, 0.0]),
        ]);
        assert_eq!(gallery.len(), 2);
        let top = gallery.top_k(&[1.0, 0.0], 2);
        assert_eq!(top[0].sku, "B");
        assert!((top[1].similarity - 0.5f32.sqrt()).abs() < 1e-6);
        assert_eq!(gallery.similarity(&[0.0, 1.0], "B"), Some(0.0));
        assert!(gallery.similarity(&[0.0, 1.0], "C").is_none());
    }

    /// The real embedding model: crops of one SKU on a fixture shelf look more like another
    /// facing of the same SKU than like other SKUs, so a gallery from one facing per SKU names
    /// most facings right.
    #[test]
    fn real_embeddings_tell_fixture_products_apart() {
        let registry = registry();
        let mut embedder = ProductEmbedder::new(&registry, "product_embedding").unwrap();
        let (image, truth) = fixture_shelves().swap_remove(0);
        let products = truth.products();
        let embeddings = embedder.embed_boxes(&image, &products.iter().map(|p| p.1).collect::<Vec<_>>()).unwrap();
        assert!(embeddings.iter().all(|e| (e.iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-3));
        let mut seen = std::collections::BTreeSet::new();
        let mut references = Vec::new();
        let mut queries = Vec::new();
        for ((sku, _), emb) in products.iter().zip(&embeddings) {
            if seen.insert(sku.clone()) {
                references.push((sku.clone(), emb.clone()));
            } else {
                queries.push((sku.clone(), emb.clone()));
            }
        }
        let gallery = ProductGallery::from_references(references);
        let right = queries.iter().filter(|(sku, emb)| gallery.top_k(emb, 1)[0].sku == *sku).count();
        assert!(right * 10 >= queries.len() * 8, "{right} of {} right", queries.len());
    }
}

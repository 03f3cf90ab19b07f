//! The one model-manifest format: `models/<name>/manifest.toml` beside `models/<name>/<name>.onnx`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::InferError;

/// Everything the kiosk needs to know about a model file before trusting it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub name: String,
    pub task: String,
    /// File name of the ONNX model, relative to the manifest's folder.
    pub file: String,
    /// Lowercase hex SHA-256 of the model file.
    pub sha256: String,
    pub license: String,
    pub source: String,
    /// The committed script that produced the file.
    pub script: String,
    #[serde(default)]
    pub description: String,
    /// Keep ONNX Runtime's CPU memory arena for this model. The arena holds a model's peak
    /// working memory for good (on a 2-core kiosk with ten models, 140 MB of the process),
    /// so it is off unless a model runs many times per request, where fresh allocations
    /// would cost more time than the memory is worth (product embeddings: 25 % of a scan).
    #[serde(default)]
    pub memory_arena: bool,
    /// How the conversion was checked against the original; informational.
    #[serde(default)]
    pub check: Option<ConversionCheck>,
    /// For a quantized copy: the sha256 of the model whose outputs it reproduces, so that what
    /// the store saved from that model (reference embeddings) stays usable.
    #[serde(default)]
    pub same_outputs_as: Option<String>,
    pub inputs: Vec<TensorSpec>,
    pub outputs: Vec<TensorSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConversionCheck {
    pub reference: String,
    pub max_abs_diff: f64,
    pub measured_max_abs_diff: f64,
    #[serde(default)]
    pub images: u32,
}

/// One model input or output as the manifest promises it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TensorSpec {
    pub name: String,
    pub dtype: DType,
    /// Exact dimensions; `-1` marks a dynamic one.
    pub shape: Vec<i64>,
    #[serde(default)]
    pub layout: Option<Layout>,
    #[serde(default)]
    pub color: Option<ColorOrder>,
    /// Range that 8-bit pixel values 0..=255 are mapped into (image inputs only).
    #[serde(default)]
    pub range: Option<[f32; 2]>,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DType {
    Float32,
    Float16,
    Uint8,
    Int32,
    Int64,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
pub enum Layout {
    NHWC,
    NCHW,
    NC,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
pub enum ColorOrder {
    RGB,
    BGR,
}

impl TensorSpec {
    /// Image size (width, height) for a 4-D image input, from its layout.
    pub fn image_size(&self) -> Option<(usize, usize)> {
        let dims = |h: usize, w: usize| {
            let (hh, ww) = (*self.shape.get(h)?, *self.shape.get(w)?);
            (hh > 0 && ww > 0).then_some((ww as usize, hh as usize))
        };
        match (self.layout?, self.shape.len()) {
            (Layout::NHWC, 4) => dims(1, 2),
            (Layout::NCHW, 4) => dims(2, 3),
            _ => None,
        }
    }

    /// Whether a concrete shape reported by ONNX Runtime fits this spec.
    pub fn shape_matches(&self, actual: &[i64]) -> bool {
        self.shape.len() == actual.len()
            && self.shape.iter().zip(actual).all(|(want, got)| *want == -1 || *got == -1 || want == got)
    }
}

impl Manifest {
    /// Reads and checks a manifest; the error names the file and what is wrong with it.
    pub fn load(path: &Path) -> Result<Self, InferError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| InferError::Io { path: path.to_owned(), source })?;
        Self::parse(&text, path)
    }

    /// Checks a manifest's text; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, InferError> {
        let manifest: Manifest = toml::from_str(text)
            .map_err(|e| InferError::BadManifest { path: path.to_owned(), reason: e.message().to_owned() })?;
        manifest.check_consistency(path)?;
        Ok(manifest)
    }

    fn check_consistency(&self, path: &Path) -> Result<(), InferError> {
        let bad = |reason: String| Err(InferError::BadManifest { path: path.to_owned(), reason });
        if self.sha256.len() != 64 || !self.sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return bad(format!("sha256 must be 64 lowercase hex digits, got {:?}", self.sha256));
        }
        if self.inputs.is_empty() || self.outputs.is_empty() {
            return bad("a model needs at least one input and one output".into());
        }
        if self.file.contains('/') || self.file.contains('\\') {
            return bad(format!("file must be a plain file name beside the manifest, got {:?}", self.file));
        }
        for spec in &self.inputs {
            if let Some([lo, hi]) = spec.range {
                if !(lo < hi) {
                    return bad(format!("input {:?}: range [{lo}, {hi}] is empty", spec.name));
                }
            }
        }
        Ok(())
    }

    /// Path of the model file that this manifest (at `manifest_path`) describes.
    pub fn model_path(&self, manifest_path: &Path) -> PathBuf {
        manifest_path.parent().unwrap_or(Path::new(".")).join(&self.file)
    }

    pub fn input(&self, name: &str) -> Option<&TensorSpec> {
        self.inputs.iter().find(|s| s.name == name)
    }
}

/// SHA-256 of a file, streamed so large models don't need to fit in memory twice.
pub fn sha256_file(path: &Path) -> Result<String, InferError> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let mut file = std::fs::File::open(path).map_err(|source| InferError::Io { path: path.to_owned(), source })?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(|source| InferError::Io { path: path.to_owned(), source })?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const GOOD: &str = r#"
name = "m"
task = "person-segmentation"
file = "m.onnx"
sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
license = "Apache-2.0"
source = "test"
script = "models/x.py"

[[inputs]]
name = "input_1"
dtype = "float32"
shape = [1, 144, 256, 3]
layout = "NHWC"
color = "RGB"
range = [0.0, 1.0]

[[outputs]]
name = "out"
dtype = "float32"
shape = [1, 144, 256, 1]
"#;

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("manifest.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn parses_a_good_manifest_and_reads_image_size() {
        let (_d, path) = write(GOOD);
        let m = Manifest::load(&path).unwrap();
        assert_eq!(m.inputs[0].image_size(), Some((256, 144)));
        assert_eq!(m.model_path(&path), path.parent().unwrap().join("m.onnx"));
    }

    #[test]
    fn unknown_key_is_named_in_the_error() {
        let (_d, path) = write(&GOOD.replace("license =", "licence ="));
        let err = Manifest::load(&path).unwrap_err().to_string();
        assert!(err.contains("manifest.toml") && err.contains("licence"), "{err}");
    }

    #[test]
    fn bad_hash_and_empty_range_are_refused() {
        let (_d, path) = write(&GOOD.replace("0000000000000000000000000000000000000000000000000000000000000000", "abc"));
        assert!(Manifest::load(&path).unwrap_err().to_string().contains("sha256"));
        let (_d, path) = write(&GOOD.replace("range = [0.0, 1.0]", "range = [1.0, 1.0]"));
        assert!(Manifest::load(&path).unwrap_err().to_string().contains("range"));
    }

    #[test]
    fn shape_matching_honours_dynamic_dims() {
        let (_d, path) = write(GOOD);
        let spec = &Manifest::load(&path).unwrap().inputs[0];
        assert!(spec.shape_matches(&[1, 144, 256, 3]));
        assert!(spec.shape_matches(&[-1, 144, 256, 3]));
        assert!(!spec.shape_matches(&[1, 256, 256, 3]));
        assert!(!spec.shape_matches(&[1, 144, 256]));
    }

    #[test]
    fn hashes_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x");
        std::fs::write(&p, b"abc").unwrap();
        assert_eq!(sha256_file(&p).unwrap(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}

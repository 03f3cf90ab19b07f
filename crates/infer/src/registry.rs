//! Model loading and the registry: every manifest under `models/`, checked, each either a
//! ready model or disabled with a reason that the kiosk shows.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use ort::session::Session;
use ort::value::{TensorElementType, TensorRef, ValueType};
use tracing::{info, warn};

use crate::manifest::{sha256_file, DType, Manifest, TensorSpec};
use crate::tensor::Tensor;
use crate::{InferError, Provider, Result, Runtime};

/// A checked model with its session, reused for every run.
pub struct Model {
    manifest: Manifest,
    path: PathBuf,
    provider: Provider,
    session: Session,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model").field("name", &self.manifest.name).field("provider", &self.provider).finish()
    }
}

impl Model {
    /// Loads the model a manifest describes: the file must exist, hash as promised, load in
    /// ONNX Runtime, and have exactly the inputs and outputs the manifest lists.
    pub fn load(runtime: &Runtime, manifest_path: &Path) -> Result<Self> {
        let manifest = Manifest::load(manifest_path)?;
        let path = manifest.model_path(manifest_path);
        if !path.is_file() {
            return Err(InferError::ModelMissing { path, manifest: manifest_path.to_owned() });
        }
        let actual = sha256_file(&path)?;
        if actual != manifest.sha256 {
            return Err(InferError::HashMismatch { path, expected: manifest.sha256.clone(), actual });
        }
        let bytes = std::fs::read(&path).map_err(|source| InferError::Io { path: path.clone(), source })?;
        let (session, provider) = open_session(runtime, &path, &bytes, manifest.memory_arena)?;
        check_io(&path, "input", &manifest.inputs, session.inputs().iter().map(|o| (o.name(), o.dtype())))?;
        check_io(&path, "output", &manifest.outputs, session.outputs().iter().map(|o| (o.name(), o.dtype())))?;
        info!(model = %manifest.name, provider = %provider, "model ready");
        Ok(Self { manifest, path, provider, session })
    }

    pub fn name(&self) -> &str {
        &self.manifest.name
    }
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// The provider this model actually runs on (after any fallback).
    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// Runs the model on float32 inputs given in manifest order; returns the float32 outputs
    /// in manifest order.
    pub fn run(&mut self, inputs: &[Tensor<'_>]) -> Result<Vec<Tensor<'static>>> {
        let name = self.manifest.name.clone();
        let run_err = |reason: String| InferError::Run { model: name.clone(), reason };
        if inputs.len() != self.manifest.inputs.len() {
            return Err(run_err(format!("expected {} inputs, got {}", self.manifest.inputs.len(), inputs.len())));
        }
        let mut values = Vec::with_capacity(inputs.len());
        for (spec, tensor) in self.manifest.inputs.iter().zip(inputs) {
            if !spec.shape_matches(&tensor.shape) {
                return Err(run_err(format!("input {:?} has shape {:?}, model wants {:?}", spec.name, tensor.shape, spec.shape)));
            }
            let value = TensorRef::from_array_view((tensor.shape.clone(), tensor.data.as_ref())).map_err(|e| run_err(e.to_string()))?;
            values.push((spec.name.as_str(), value));
        }
        let outputs = self.session.run(values).map_err(|e| run_err(e.to_string()))?;
        self.manifest
            .outputs
            .iter()
            .map(|spec| {
                let value = outputs.get(&spec.name).ok_or_else(|| run_err(format!("no output {:?}", spec.name)))?;
                let (shape, data) = value.try_extract_tensor::<f32>().map_err(|e| run_err(e.to_string()))?;
                Ok(Tensor::owned(shape.to_vec(), data.to_vec()))
            })
            .collect()
    }

    /// Median wall time of `runs` inferences on zero inputs (dynamic dims taken as 1).
    pub fn median_latency_ms(&mut self, runs: usize) -> Result<f64> {
        let inputs: Vec<Tensor<'static>> = self
            .manifest
            .inputs
            .iter()
            .map(|spec| {
                let shape: Vec<i64> = spec.shape.iter().map(|&d| if d < 0 { 1 } else { d }).collect();
                let len = shape.iter().product::<i64>() as usize;
                Tensor::owned(shape, vec![0.5; len])
            })
            .collect();
        self.run(&inputs)?; // warm-up: first run allocates and plans
        let mut times = Vec::with_capacity(runs.max(1));
        for _ in 0..runs.max(1) {
            let start = Instant::now();
            self.run(&inputs)?;
            times.push(start.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        Ok(times[times.len() / 2])
    }
}

/// Builds a session on the first provider in the runtime's order that registers and loads.
fn open_session(runtime: &Runtime, path: &Path, bytes: &[u8], memory_arena: bool) -> Result<(Session, Provider)> {
    let load_err = |reason: String| InferError::ModelLoad { path: path.to_owned(), reason };
    let mut last_error = None;
    for &provider in &runtime.providers {
        let attempt = (|| -> std::result::Result<Session, String> {
            let mut builder = Session::builder(&runtime.env).map_err(|e| e.to_string())?;
            if runtime.intra_threads > 0 {
                builder = builder.with_intra_threads(runtime.intra_threads).map_err(|e| e.to_string())?;
            }
            builder = builder.with_intra_op_spinning(runtime.intra_op_spinning).map_err(|e| e.to_string())?;
            provider.register(&mut builder, memory_arena).map_err(|e| format!("provider {provider}: {e}"))?;
            builder.commit_from_memory(bytes).map_err(|e| e.to_string())
        })();
        match attempt {
            Ok(session) => return Ok((session, provider)),
            Err(reason) if provider == Provider::Cpu => return Err(load_err(reason)),
            Err(reason) => {
                warn!(model = %path.display(), %provider, %reason, "provider unavailable, trying the next one");
                last_error = Some(reason);
            }
        }
    }
    Err(load_err(last_error.unwrap_or_else(|| "no execution provider configured".into())))
}

fn check_io<'a>(
    path: &Path,
    kind: &str,
    specs: &[TensorSpec],
    actual: impl Iterator<Item = (&'a str, &'a ValueType)>,
) -> Result<()> {
    let mismatch = |reason: String| Err(InferError::IoMismatch { path: path.to_owned(), reason });
    let actual: Vec<_> = actual.collect();
    let names = |v: &[(&str, &ValueType)]| v.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ");
    if actual.len() != specs.len() {
        return mismatch(format!("manifest lists {} {kind}s, model has {} ({})", specs.len(), actual.len(), names(&actual)));
    }
    for spec in specs {
        let Some((_, value_type)) = actual.iter().find(|(name, _)| *name == spec.name) else {
            return mismatch(format!("no {kind} named {:?}; the model's {kind}s are: {}", spec.name, names(&actual)));
        };
        let (Some(ty), Some(shape)) = (value_type.tensor_type(), value_type.tensor_shape()) else {
            return mismatch(format!("{kind} {:?} is not a tensor", spec.name));
        };
        if ty != expected_type(spec.dtype) {
            return mismatch(format!("{kind} {:?} is {ty}, manifest says {:?}", spec.name, spec.dtype));
        }
        if !spec.shape_matches(shape) {
            return mismatch(format!("{kind} {:?} has shape {shape}, manifest says {:?}", spec.name, spec.shape));
        }
    }
    Ok(())
}

fn expected_type(dtype: DType) -> TensorElementType {
    match dtype {
        DType::Float32 => TensorElementType::Float32,
        DType::Float16 => TensorElementType::Float16,
        DType::Uint8 => TensorElementType::Uint8,
        DType::Int32 => TensorElementType::Int32,
        DType::Int64 => TensorElementType::Int64,
    }
}

pub type SharedModel = Arc<Mutex<Model>>;

/// A model slot in the registry: ready, or disabled with the reason shown to people.
#[derive(Clone)]
pub enum ModelState {
    Ready(SharedModel),
    Disabled(String),
}

#[derive(Clone)]
pub struct ModelEntry {
    pub name: String,
    pub task: String,
    pub manifest_path: PathBuf,
    pub state: ModelState,
}

impl ModelEntry {
    pub fn provider(&self) -> Option<Provider> {
        match &self.state {
            ModelState::Ready(model) => Some(model.lock().unwrap_or_else(|e| e.into_inner()).provider()),
            ModelState::Disabled(_) => None,
        }
    }
    pub fn disabled_reason(&self) -> Option<&str> {
        match &self.state {
            ModelState::Ready(_) => None,
            ModelState::Disabled(reason) => Some(reason),
        }
    }
}

/// Every model found under a models folder. A model that fails its checks is disabled with
/// a reason instead of stopping the kiosk.
#[derive(Clone, Default)]
pub struct Registry {
    entries: BTreeMap<String, ModelEntry>,
}

impl Registry {
    /// Loads `<dir>/*/manifest.toml`. Never fails as a whole: each bad model becomes a
    /// disabled entry, and a missing folder is an empty registry (logged).
    pub fn load(runtime: &Runtime, dir: &Path) -> Self {
        let mut entries = BTreeMap::new();
        let manifests = match std::fs::read_dir(dir) {
            Ok(read) => {
                let mut paths: Vec<PathBuf> =
                    read.filter_map(|e| e.ok()).map(|e| e.path().join("manifest.toml")).filter(|p| p.is_file()).collect();
                paths.sort();
                paths
            }
            Err(e) => {
                warn!(dir = %dir.display(), error = %e, "no models folder; every model-based feature is off");
                Vec::new()
            }
        };
        for manifest_path in manifests {
            let folder = manifest_path.parent().and_then(Path::file_name).map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let task = Manifest::load(&manifest_path).map(|m| m.task).unwrap_or_default();
            let state = match Model::load(runtime, &manifest_path) {
                Ok(model) => ModelState::Ready(Arc::new(Mutex::new(model))),
                Err(e) => {
                    warn!(model = %folder, error = %e, "model disabled");
                    ModelState::Disabled(e.to_string())
                }
            };
            entries.insert(folder.clone(), ModelEntry { name: folder, task, manifest_path, state });
        }
        Self { entries }
    }

    pub fn entries(&self) -> impl Iterator<Item = &ModelEntry> {
        self.entries.values()
    }

    /// The named model, or why it cannot be used.
    pub fn model(&self, name: &str) -> Result<SharedModel> {
        match self.entries.get(name).map(|e| &e.state) {
            Some(ModelState::Ready(model)) => Ok(model.clone()),
            Some(ModelState::Disabled(reason)) => Err(InferError::Unavailable { name: name.into(), reason: reason.clone() }),
            None => Err(InferError::Unavailable {
                name: name.into(),
                reason: format!("no such model (known: {})", self.entries.keys().cloned().collect::<Vec<_>>().join(", ")),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RuntimeOptions;

    const NAME: &str = "selfie_segmentation_landscape";

    fn runtime() -> Runtime {
        Runtime::init(&RuntimeOptions::default()).expect("ONNX Runtime (run scripts/setup.sh)")
    }

    fn models_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models")
    }

    /// A copy of the real model folder under `root/<folder>`, to damage in one way or another.
    fn copy_model(root: &Path, folder: &str) -> (PathBuf, PathBuf) {
        let dir = root.join(folder);
        std::fs::create_dir_all(&dir).unwrap();
        let src = models_dir().join(NAME);
        let onnx = dir.join(format!("{NAME}.onnx"));
        std::fs::copy(src.join(format!("{NAME}.onnx")), &onnx).unwrap();
        let manifest = dir.join("manifest.toml");
        std::fs::copy(src.join("manifest.toml"), &manifest).unwrap();
        (manifest, onnx)
    }

    fn edit(path: &Path, from: &str, to: &str) {
        let text = std::fs::read_to_string(path).unwrap();
        assert!(text.contains(from), "{from:?} not in {}", path.display());
        std::fs::write(path, text.replacen(from, to, 1)).unwrap();
    }

    fn set_hash(manifest: &Path, onnx: &Path) {
        let text = std::fs::read_to_string(manifest).unwrap();
        let old = Manifest::load(manifest).unwrap().sha256;
        std::fs::write(manifest, text.replace(&old, &sha256_file(onnx).unwrap())).unwrap();
    }

    #[test]
    fn the_real_model_loads_and_runs() {
        let rt = runtime();
        let mut model = Model::load(&rt, &models_dir().join(NAME).join("manifest.toml")).unwrap();
        assert_eq!(model.provider(), Provider::Cpu);
        let input = Tensor::owned(vec![1, 144, 256, 3], vec![0.5; 144 * 256 * 3]);
        let out = model.run(&[input]).unwrap();
        assert_eq!(out[0].shape, vec![1, 144, 256, 1]);
        assert!(out[0].data.iter().all(|p| (0.0..=1.0).contains(p)));
        let wrong = Tensor::owned(vec![1, 10, 10, 3], vec![0.0; 300]);
        assert!(model.run(&[wrong]).unwrap_err().to_string().contains("shape"));
    }

    #[test]
    fn a_truncated_model_fails_its_hash_check() {
        let tmp = tempfile::tempdir().unwrap();
        let (manifest, onnx) = copy_model(tmp.path(), NAME);
        let bytes = std::fs::read(&onnx).unwrap();
        std::fs::write(&onnx, &bytes[..bytes.len() / 2]).unwrap();
        let err = Model::load(&runtime(), &manifest).unwrap_err();
        assert!(matches!(err, InferError::HashMismatch { .. }), "{err}");
        assert!(err.to_string().contains(&onnx.display().to_string()), "{err}");
    }

    #[test]
    fn a_corrupt_or_truncated_model_with_a_matching_hash_fails_to_load_clearly() {
        let tmp = tempfile::tempdir().unwrap();
        let (manifest, onnx) = copy_model(tmp.path(), NAME);
        std::fs::write(&onnx, b"definitely not a protobuf").unwrap();
        set_hash(&manifest, &onnx);
        let err = Model::load(&runtime(), &manifest).unwrap_err();
        assert!(matches!(err, InferError::ModelLoad { .. }), "{err}");
        assert!(err.to_string().contains(&onnx.display().to_string()), "{err}");

        let (manifest, onnx) = copy_model(tmp.path(), "cut");
        let bytes = std::fs::read(&onnx).unwrap();
        std::fs::write(&onnx, &bytes[..bytes.len() - 1000]).unwrap();
        set_hash(&manifest, &onnx);
        assert!(matches!(Model::load(&runtime(), &manifest), Err(InferError::ModelLoad { .. })));
    }

    #[test]
    fn io_that_differs_from_the_manifest_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        let (manifest, _) = copy_model(tmp.path(), "renamed");
        edit(&manifest, "name = \"segment_back\"", "name = \"mask\"");
        let err = Model::load(&runtime(), &manifest).unwrap_err().to_string();
        assert!(err.contains("\"mask\"") && err.contains("segment_back"), "{err}");

        let (manifest, _) = copy_model(tmp.path(), "reshaped");
        edit(&manifest, "shape = [1, 144, 256, 3]", "shape = [1, 256, 256, 3]");
        let err = Model::load(&runtime(), &manifest).unwrap_err().to_string();
        assert!(err.contains("input \"input_1\"") && err.contains("shape"), "{err}");

        let (manifest, _) = copy_model(tmp.path(), "retyped");
        edit(&manifest, "dtype = \"float32\"", "dtype = \"uint8\"");
        assert!(Model::load(&runtime(), &manifest).unwrap_err().to_string().contains("Uint8"));
    }

    #[test]
    fn a_bad_model_is_disabled_with_a_reason_and_the_rest_still_load() {
        let tmp = tempfile::tempdir().unwrap();
        copy_model(tmp.path(), NAME);
        let (manifest, _) = copy_model(tmp.path(), "broken");
        std::fs::write(&manifest, "name = \"broken\"\nthis is not toml").unwrap();
        let (_, onnx) = copy_model(tmp.path(), "missing");
        std::fs::remove_file(onnx).unwrap();
        let registry = Registry::load(&runtime(), tmp.path());
        assert_eq!(registry.entries().count(), 3);
        assert!(registry.model(NAME).is_ok());
        for bad in ["broken", "missing"] {
            let err = registry.model(bad).unwrap_err().to_string();
            assert!(err.contains(bad), "{err}");
        }
        assert!(registry.model("missing").unwrap_err().to_string().contains("missing"));
        assert!(registry.model("nope").unwrap_err().to_string().contains("no such model"));
        // No models folder at all: an empty registry, not a crash.
        assert_eq!(Registry::load(&runtime(), &tmp.path().join("absent")).entries().count(), 0);
    }
}

//! ONNX Runtime for Vitrine: the one environment, execution-provider choice, model manifests
//! and the registry that hands out checked, ready-to-run models.
//!
//! ONNX Runtime is loaded dynamically (`ort`'s `load-dynamic`), from a path we choose, so a
//! missing or wrong library is an error at start-up rather than a panic on first use.

mod manifest;
mod provider;
mod registry;
mod runtime;
pub mod tensor;

use std::path::PathBuf;

pub use manifest::{sha256_file, ColorOrder, ConversionCheck, DType, Layout, Manifest, TensorSpec};
pub use provider::Provider;
pub use registry::{Model, ModelEntry, ModelState, Registry, SharedModel};
pub use runtime::{locate_library, Runtime, RuntimeOptions};

#[derive(Debug, thiserror::Error)]
pub enum InferError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("ONNX Runtime library not found (looked in: {searched}). Run the setup script, or point [inference] runtime_library / ORT_DYLIB_PATH at libonnxruntime.so")]
    LibraryNotFound { searched: String },
    #[error("cannot load ONNX Runtime from {path}: {reason}")]
    LibraryLoad { path: PathBuf, reason: String },
    #[error("unknown execution provider {0:?} (expected tensorrt, cuda or cpu)")]
    UnknownProvider(String),
    #[error("bad manifest {path}: {reason}")]
    BadManifest { path: PathBuf, reason: String },
    #[error("model file {path} is missing (its manifest is {manifest})")]
    ModelMissing { path: PathBuf, manifest: PathBuf },
    #[error("model file {path} is damaged or not the one its manifest names: sha256 is {actual}, manifest says {expected}")]
    HashMismatch { path: PathBuf, expected: String, actual: String },
    #[error("ONNX Runtime cannot load model {path}: {reason}")]
    ModelLoad { path: PathBuf, reason: String },
    #[error("model {path} does not match its manifest: {reason}")]
    IoMismatch { path: PathBuf, reason: String },
    #[error("model {name:?} is not available: {reason}")]
    Unavailable { name: String, reason: String },
    #[error("inference with {model} failed: {reason}")]
    Run { model: String, reason: String },
}

pub type Result<T, E = InferError> = std::result::Result<T, E>;

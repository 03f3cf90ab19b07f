//! The process-wide ONNX Runtime environment, created once at start-up.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use tracing::info;

use crate::{InferError, Provider, Result};

/// How to start ONNX Runtime.
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    /// Explicit path to `libonnxruntime.so`; otherwise [`locate_library`] searches.
    pub library: Option<PathBuf>,
    /// Providers to try, in order; CPU is always added last.
    pub providers: Vec<Provider>,
    /// Threads per session for work inside one operator; 0 lets ONNX Runtime choose.
    pub intra_threads: usize,
    /// Let a session's idle worker threads spin waiting for work. It shaves a little latency
    /// off each run on a machine with cores to spare; on the kiosk the capture thread, the
    /// WebView and several sessions share two cores, and spinning threads take CPU from them.
    pub intra_op_spinning: bool,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        Self { library: None, providers: Provider::DEFAULT_ORDER.to_vec(), intra_threads: 0, intra_op_spinning: false }
    }
}

/// A loaded ONNX Runtime: the library, its environment, and the provider order for sessions.
#[derive(Clone)]
pub struct Runtime {
    pub(crate) env: ort::environment::Environment,
    pub(crate) providers: Vec<Provider>,
    pub(crate) intra_threads: usize,
    pub(crate) intra_op_spinning: bool,
    library: PathBuf,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").field("library", &self.library).field("providers", &self.providers).finish()
    }
}

/// The library and its environment can be set up once per process; remember which one won.
static LOADED: OnceLock<std::result::Result<(PathBuf, ort::environment::Environment), (PathBuf, String)>> = OnceLock::new();

impl Runtime {
    /// Loads ONNX Runtime and creates the environment. Safe to call more than once: the
    /// library is loaded on the first call and shared afterwards.
    pub fn init(options: &RuntimeOptions) -> Result<Self> {
        let wanted = locate_library(options.library.as_deref())?;
        let loaded = LOADED.get_or_init(|| {
            let builder = ort::init_from(&wanted).map_err(|e| (wanted.clone(), e.to_string()))?;
            let env = builder.with_name("vitrine").with_telemetry(false).build().map_err(|e| (wanted.clone(), e.to_string()))?;
            Ok((wanted.clone(), env))
        });
        let (library, env) = match loaded {
            Ok(pair) => pair.clone(),
            Err((path, reason)) => return Err(InferError::LibraryLoad { path: path.clone(), reason: reason.clone() }),
        };
        if library != wanted {
            tracing::warn!(using = %library.display(), asked = %wanted.display(), "ONNX Runtime is already loaded from another path");
        }
        let (providers, absent): (Vec<Provider>, Vec<Provider>) =
            Provider::with_cpu_fallback(options.providers.clone()).into_iter().partition(|p| p.compiled_in());
        if !absent.is_empty() {
            info!(skipped = ?absent, "providers not compiled into this build (cargo features `cuda`/`tensorrt`); skipped");
        }
        info!(library = %library.display(), providers = ?providers, "ONNX Runtime ready");
        Ok(Self { env, providers, intra_threads: options.intra_threads, intra_op_spinning: options.intra_op_spinning, library })
    }

    pub fn library(&self) -> &Path {
        &self.library
    }

    pub fn providers(&self) -> &[Provider] {
        &self.providers
    }
}

/// Finds `libonnxruntime.so`: the explicit path, then `ORT_DYLIB_PATH`, then the setup
/// script's `vendor/onnxruntime/lib`, then beside the running executable.
pub fn locate_library(explicit: Option<&Path>) -> Result<PathBuf> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(path) = explicit {
        candidates.push(path.to_owned());
    } else {
        if let Some(path) = std::env::var_os("ORT_DYLIB_PATH") {
            candidates.push(PathBuf::from(path));
        }
        candidates.push(PathBuf::from("vendor/onnxruntime/lib").join(LIB_NAME));
        if let Some(dir) = std::env::current_exe().ok().and_then(|p| p.parent().map(Path::to_owned)) {
            candidates.push(dir.join(LIB_NAME));
            // target/<profile>/deps/<test binary> during `cargo test`, inside the checkout.
            for ancestor in dir.ancestors().skip(1).take(4) {
                candidates.push(ancestor.join("vendor/onnxruntime/lib").join(LIB_NAME));
            }
        }
    }
    candidates
        .iter()
        .find(|p| p.is_file())
        .map(|p| p.canonicalize().unwrap_or_else(|_| p.clone()))
        .ok_or_else(|| InferError::LibraryNotFound {
            searched: candidates.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
        })
}

#[cfg(target_os = "windows")]
const LIB_NAME: &str = "onnxruntime.dll";
#[cfg(target_os = "macos")]
const LIB_NAME: &str = "libonnxruntime.dylib";
#[cfg(not(any(target_os = "windows", target_os = "macos")))]
const LIB_NAME: &str = "libonnxruntime.so";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_missing_library_is_a_clear_error() {
        let err = locate_library(Some(Path::new("/nonexistent/libonnxruntime.so"))).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("/nonexistent/libonnxruntime.so") && msg.contains("setup"), "{msg}");
    }
}

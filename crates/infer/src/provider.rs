//! Execution providers in the order we prefer them, and how each is registered.

use std::fmt;
use std::str::FromStr;

use crate::InferError;

/// Where a model runs. Tried in the configured order; CPU always works and ends every list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    TensorRt,
    Cuda,
    Cpu,
}

impl Provider {
    /// The kiosk's default order: fastest first.
    pub const DEFAULT_ORDER: [Provider; 3] = [Provider::TensorRt, Provider::Cuda, Provider::Cpu];

    pub fn as_str(self) -> &'static str {
        match self {
            Provider::TensorRt => "tensorrt",
            Provider::Cuda => "cuda",
            Provider::Cpu => "cpu",
        }
    }

    /// The ONNX Runtime identifier, as reported by `GetAvailableProviders`.
    pub fn ort_name(self) -> &'static str {
        match self {
            Provider::TensorRt => "TensorrtExecutionProvider",
            Provider::Cuda => "CUDAExecutionProvider",
            Provider::Cpu => "CPUExecutionProvider",
        }
    }

    /// Parses a comma-separated list such as `"cuda,cpu"`; CPU is appended when missing so that
    /// every model has somewhere to run.
    pub fn parse_list(text: &str) -> Result<Vec<Provider>, InferError> {
        let list = text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::parse).collect::<Result<Vec<_>, _>>()?;
        Ok(Self::with_cpu_fallback(list))
    }

    pub fn with_cpu_fallback(mut list: Vec<Provider>) -> Vec<Provider> {
        let mut seen = Vec::with_capacity(list.len() + 1);
        list.retain(|p| if seen.contains(p) { false } else { seen.push(*p); true });
        if !list.contains(&Provider::Cpu) {
            list.push(Provider::Cpu);
        }
        list
    }

    /// Whether this build of vitrine can use the provider at all (its cargo feature is on).
    pub fn compiled_in(self) -> bool {
        match self {
            Provider::Cpu => true,
            Provider::Cuda => cfg!(feature = "cuda"),
            Provider::TensorRt => cfg!(feature = "tensorrt"),
        }
    }

    /// Whether the loaded ONNX Runtime library can run this provider, or why not. Call after
    /// [`crate::Runtime::init`].
    pub fn availability(self) -> Result<(), String> {
        match self {
            Provider::Cpu => Ok(()),
            Provider::Cuda => {
                #[cfg(feature = "cuda")]
                {
                    use ort::ep::ExecutionProvider;
                    match ort::ep::CUDA::is_available() {
                        Ok(true) => Ok(()),
                        Ok(false) => Err("not included in this ONNX Runtime library".into()),
                        Err(e) => Err(e.to_string()),
                    }
                }
                #[cfg(not(feature = "cuda"))]
                Err("vitrine was built without the `cuda` feature".into())
            }
            Provider::TensorRt => {
                #[cfg(feature = "tensorrt")]
                {
                    use ort::ep::ExecutionProvider;
                    match ort::ep::TensorRT::is_available() {
                        Ok(true) => Ok(()),
                        Ok(false) => Err("not included in this ONNX Runtime library".into()),
                        Err(e) => Err(e.to_string()),
                    }
                }
                #[cfg(not(feature = "tensorrt"))]
                Err("vitrine was built without the `tensorrt` feature".into())
            }
        }
    }

    /// Registers this provider on a session builder, failing loudly (no silent CPU fallback)
    /// so the caller knows which provider the model really runs on.
    pub(crate) fn register(self, builder: &mut ort::session::builder::SessionBuilder, memory_arena: bool) -> Result<(), String> {
        self.availability()?;
        match self {
            Provider::Cpu => {
                use ort::ep::ExecutionProvider;
                ort::ep::CPU::default().with_arena_allocator(memory_arena).register(builder).map_err(|e| e.to_string())
            }
            #[cfg(feature = "cuda")]
            Provider::Cuda => {
                use ort::ep::ExecutionProvider;
                ort::ep::CUDA::default().register(builder).map_err(|e| e.to_string())
            }
            #[cfg(feature = "tensorrt")]
            Provider::TensorRt => {
                use ort::ep::ExecutionProvider;
                ort::ep::TensorRT::default().register(builder).map_err(|e| e.to_string())
            }
            // Not compiled in: availability() has refused it already.
            #[allow(unreachable_patterns)]
            _ => {
                let _ = builder;
                Err(format!("{self} is not in this build"))
            }
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Provider {
    type Err = InferError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "tensorrt" | "trt" => Ok(Provider::TensorRt),
            "cuda" => Ok(Provider::Cuda),
            "cpu" => Ok(Provider::Cpu),
            other => Err(InferError::UnknownProvider(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_list_dedups_and_appends_cpu() {
        assert_eq!(Provider::parse_list("cuda, CUDA ,tensorrt").unwrap(), vec![Provider::Cuda, Provider::TensorRt, Provider::Cpu]);
        assert_eq!(Provider::parse_list("cpu").unwrap(), vec![Provider::Cpu]);
        assert!(matches!(Provider::parse_list("cuda,npu"), Err(InferError::UnknownProvider(p)) if p == "npu"));
    }
}

//! Command-line flags that override the config file, shared by `vitrine` and the kiosk.

use std::path::PathBuf;

use vitrine_config::{BackgroundMode, Config};

use crate::AppError;

#[derive(Debug, Clone, Default, clap::Args)]
pub struct Overrides {
    /// Config file (default: $VITRINE_CONFIG, else ./vitrine.toml, else /etc/vitrine/vitrine.toml as
    /// the package installs it; a missing file means defaults).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Frame source: camera:INDEX, video:PATH or images:PATH.
    #[arg(long, global = true, value_name = "SPEC")]
    pub source: Option<String>,
    /// Execution providers in order of preference, e.g. tensorrt,cuda,cpu (CPU is always last).
    #[arg(long, global = true, value_delimiter = ',', value_name = "LIST")]
    pub providers: Option<Vec<String>>,
    /// Folder with <model>/manifest.toml entries.
    #[arg(long, global = true, value_name = "DIR")]
    pub models_dir: Option<PathBuf>,
    /// SQLite database file.
    #[arg(long, global = true, value_name = "FILE")]
    pub database: Option<PathBuf>,
    /// Path to libonnxruntime.so.
    #[arg(long, global = true, value_name = "FILE")]
    pub ort_lib: Option<PathBuf>,
    /// Mirror background: blur, replace or off.
    #[arg(long, global = true, value_name = "MODE")]
    pub background: Option<BackgroundMode>,
}

impl Overrides {
    /// The config file with these flags applied on top.
    pub fn load(&self) -> Result<Config, AppError> {
        let path = self.config.clone().unwrap_or_else(vitrine_config::default_path);
        let mut config = Config::load(&path)?;
        self.apply(&mut config)?;
        Ok(config)
    }

    pub fn apply(&self, config: &mut Config) -> Result<(), AppError> {
        if let Some(source) = &self.source {
            source.parse::<vitrine_capture::SourceSpec>()?;
            config.camera.source = source.clone();
        }
        if let Some(providers) = &self.providers {
            for p in providers {
                p.parse::<vitrine_infer::Provider>()?;
            }
            config.inference.providers = providers.clone();
        }
        if let Some(dir) = &self.models_dir {
            config.inference.models_dir = dir.clone();
        }
        if let Some(db) = &self.database {
            config.store.database = db.clone();
        }
        if let Some(lib) = &self.ort_lib {
            config.inference.runtime_library = Some(lib.clone());
        }
        if let Some(mode) = self.background {
            config.mirror.background = mode;
        }
        Ok(())
    }
}

/// Logs to stderr from `level` up (`warn`, `info`, `debug`…); `RUST_LOG` overrides it.
pub fn init_logging(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("{level},ort=warn")));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_file_and_bad_values_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("v.toml");
        std::fs::write(&file, "[camera]\nsource = \"camera:1\"\n[store]\ndatabase = \"a.db\"\n").unwrap();
        let o = Overrides { config: Some(file.clone()), source: Some("video:x.mp4".into()), ..Default::default() };
        let c = o.load().unwrap();
        assert_eq!(c.camera.source, "video:x.mp4");
        assert_eq!(c.store.database, PathBuf::from("a.db"));
        let bad = Overrides { config: Some(file.clone()), source: Some("webcam".into()), ..Default::default() };
        assert!(bad.load().unwrap_err().to_string().contains("camera:INDEX"));
        let bad = Overrides { config: Some(file), providers: Some(vec!["npu".into()]), ..Default::default() };
        assert!(bad.load().unwrap_err().to_string().contains("npu"));
    }
}

//! The kiosk's one config file (`vitrine.toml`). Every key has a default, so an empty or
//! missing file is a working config; command-line flags override what the file says.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("bad config {path}: {reason}")]
    Parse { path: PathBuf, reason: String },
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub camera: CameraConfig,
    pub inference: InferenceConfig,
    pub store: StoreConfig,
    pub window: WindowConfig,
    pub mirror: MirrorConfig,
    pub staff: StaffConfig,
    pub reports: ReportsConfig,
    pub sync: SyncConfig,
    pub signage: SignageConfig,
    pub assistant: AssistantConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct CameraConfig {
    /// `camera:INDEX`, `video:PATH` (loops) or `images:PATH` (one image or a folder).
    pub source: String,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    /// Flip horizontally, as a mirror does.
    pub mirror: bool,
}

impl Default for CameraConfig {
    fn default() -> Self {
        Self { source: "camera:0".into(), width: 1280, height: 720, fps: 30, mirror: true }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct InferenceConfig {
    /// Tried in order; CPU is always the last resort.
    pub providers: Vec<String>,
    pub models_dir: PathBuf,
    /// `libonnxruntime.so`; empty means: `ORT_DYLIB_PATH`, then `vendor/onnxruntime/lib`, then beside the binary.
    pub runtime_library: Option<PathBuf>,
    /// Threads inside one operator; 0 lets ONNX Runtime decide.
    pub intra_threads: usize,
    /// Idle ONNX Runtime worker threads spin for work (off: they sleep and leave the CPU to
    /// capture and the WebView).
    pub intra_op_spinning: bool,
}

impl Default for InferenceConfig {
    fn default() -> Self {
        Self {
            providers: vec!["tensorrt".into(), "cuda".into(), "cpu".into()],
            models_dir: PathBuf::from("models"),
            runtime_library: None,
            intra_threads: 0,
            intra_op_spinning: false,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    pub database: PathBuf,
    /// Seed a demo catalog into an empty database.
    pub seed_demo: bool,
    /// Product photos that dress the demo apparel (setup puts the team's packshots here);
    /// colours without one get a garment drawn in code.
    pub demo_packshots: PathBuf,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self { database: PathBuf::from("var/vitrine.db"), seed_demo: true, demo_packshots: PathBuf::from("var/demo/garments") }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct WindowConfig {
    pub fullscreen: bool,
    pub decorations: bool,
    /// Size when not full-screen.
    pub width: u32,
    pub height: u32,
}

impl Default for WindowConfig {
    fn default() -> Self {
        Self { fullscreen: true, decorations: false, width: 1280, height: 800 }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum BackgroundMode {
    #[default]
    Blur,
    Replace,
    Off,
}

impl std::str::FromStr for BackgroundMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "blur" => Ok(Self::Blur),
            "replace" => Ok(Self::Replace),
            "off" => Ok(Self::Off),
            other => Err(format!("unknown background mode {other:?} (blur, replace or off)")),
        }
    }
}

impl BackgroundMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Blur => "blur",
            Self::Replace => "replace",
            Self::Off => "off",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MirrorConfig {
    pub background: BackgroundMode,
    pub segmentation_model: String,
    /// JPEG quality of frames sent to the screen, 1..=100.
    pub jpeg_quality: u8,
    /// Try-on: run the try-on GAN on every N-th live frame (0: never live; the capture still
    /// uses it). Between GAN frames the plain composite is shown.
    pub tryon_gan_every: u32,
}

impl Default for MirrorConfig {
    fn default() -> Self {
        Self { background: BackgroundMode::Blur, segmentation_model: "selfie_segmentation_landscape".into(), jpeg_quality: 80, tryon_gan_every: 0 }
    }
}

/// Sync with the HQ service (issue 5). Off until `hq_url` is set.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SyncConfig {
    /// HQ's base URL, `https://HOST:PORT`; unset means no sync.
    pub hq_url: Option<String>,
    /// The file holding this store's token (from `vitrine-hq token issue --store ID`).
    pub token_file: PathBuf,
    /// PEM certificate(s) to trust for HQ (its self-signed certificate or private CA); unset
    /// means the public web PKI roots.
    pub ca_file: Option<PathBuf>,
    /// Seconds between sync rounds while the kiosk runs.
    pub interval_secs: u64,
    /// Events per push request (at most 5000).
    pub batch_size: usize,
    /// Seconds one request may take before it is abandoned and retried.
    pub timeout_secs: u64,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            hq_url: None,
            token_file: PathBuf::from("var/hq-token"),
            ca_file: None,
            interval_secs: 60,
            batch_size: 1000,
            timeout_secs: 30,
        }
    }
}

/// Staff sign-in and sessions (issue 6).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct StaffConfig {
    /// Wrong PINs in a row before sign-in locks.
    pub max_failed_pins: u32,
    /// The first lock; each further one lasts twice as long (at most a day).
    pub first_lock_minutes: u32,
    /// A signed-in clerk or manager is signed out after this long without activity.
    pub idle_timeout_secs: u64,
}

impl Default for StaffConfig {
    fn default() -> Self {
        Self { max_failed_pins: 5, first_lock_minutes: 5, idle_timeout_secs: 120 }
    }
}

/// Manager reports on the kiosk (issue 6).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ReportsConfig {
    /// Where CSV and PDF exports from the kiosk are saved.
    pub exports_dir: PathBuf,
}

impl Default for ReportsConfig {
    fn default() -> Self {
        Self { exports_dir: PathBuf::from("var/exports") }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SignageConfig {
    /// Seconds without a touch on the start screen before approved posters play (0: never).
    pub attract_after_secs: u64,
    /// Seconds each poster stays on screen.
    pub poster_secs: u64,
    /// What a poster's QR code opens; `{code}` becomes the product code. Empty: the QR code
    /// holds the product code alone.
    pub product_url: String,
    /// Where DejaVu Sans (regular and bold) is; empty: the usual system folders.
    pub font_dir: PathBuf,
}

impl Default for SignageConfig {
    fn default() -> Self {
        Self { attract_after_secs: 60, poster_secs: 8, product_url: String::new(), font_dir: PathBuf::new() }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AssistantConfig {
    /// The store's FAQ (opening hours, returns, …), a TOML file the store edits.
    pub faq_file: PathBuf,
    /// Seconds without a touch after which a conversation is wiped.
    pub session_secs: u64,
    /// Where "hold to speak" listens: an ALSA capture device for `arecord` ("default",
    /// "plughw:1,0"), `wav:PATH` to play a recorded question instead (tests, demos), or ""
    /// for no microphone.
    pub microphone: String,
    /// How answers are read aloud: `PROGRAM:VOICE` for CMU Flite ("flite:slt"; voices kal,
    /// slt, rms, awb), or "" to leave "Read aloud" off.
    pub speech_synthesis: String,
}

impl Default for AssistantConfig {
    fn default() -> Self {
        Self { faq_file: PathBuf::from("assets/demo/faq.toml"), session_secs: 60, microphone: "default".into(), speech_synthesis: "flite:slt".into() }
    }
}

impl Config {
    /// Reads `path`; a missing file gives the defaults, a malformed one is an error naming it.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(source) => Err(ConfigError::Read { path: path.to_owned(), source }),
        }
    }

    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let config: Config =
            toml::from_str(text).map_err(|e| ConfigError::Parse { path: path.to_owned(), reason: e.to_string() })?;
        if !(1..=100).contains(&config.mirror.jpeg_quality) {
            return Err(ConfigError::Parse { path: path.to_owned(), reason: "mirror.jpeg_quality must be 1..=100".into() });
        }
        if !(1..=5000).contains(&config.sync.batch_size) || config.sync.interval_secs == 0 || config.sync.timeout_secs == 0 {
            return Err(ConfigError::Parse {
                path: path.to_owned(),
                reason: "sync.batch_size must be 1..=5000, sync.interval_secs and sync.timeout_secs above 0".into(),
            });
        }
        if config.staff.max_failed_pins == 0 || config.staff.first_lock_minutes == 0 || config.staff.idle_timeout_secs == 0 {
            return Err(ConfigError::Parse {
                path: path.to_owned(),
                reason: "staff.max_failed_pins, staff.first_lock_minutes and staff.idle_timeout_secs must be above 0".into(),
            });
        }
        Ok(config)
    }

    /// The default config as TOML, for `vitrine config` to print.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }
}

/// Where the config file is looked for when no `--config` is given.
/// Where the packages install the config; used when there is none in the current folder.
pub const SYSTEM_PATH: &str = "/etc/vitrine/vitrine.toml";

/// `$VITRINE_CONFIG`, else `./vitrine.toml` when it exists, else the installed
/// `/etc/vitrine/vitrine.toml` when that exists, else `./vitrine.toml` (defaults).
pub fn default_path() -> PathBuf {
    if let Some(path) = std::env::var_os("VITRINE_CONFIG") {
        return PathBuf::from(path);
    }
    let local = PathBuf::from("vitrine.toml");
    if !local.exists() && Path::new(SYSTEM_PATH).exists() {
        return PathBuf::from(SYSTEM_PATH);
    }
    local
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_all_defaults() {
        assert_eq!(Config::parse("", Path::new("x.toml")).unwrap(), Config::default());
    }

    #[test]
    fn partial_file_overrides_only_what_it_names() {
        let c = Config::parse("[camera]\nsource = \"video:a.mp4\"\n[mirror]\nbackground = \"off\"\n", Path::new("x")).unwrap();
        assert_eq!(c.camera.source, "video:a.mp4");
        assert_eq!(c.camera.width, 1280);
        assert_eq!(c.mirror.background, BackgroundMode::Off);
    }

    #[test]
    fn typos_and_bad_values_name_the_file() {
        let err = Config::parse("[camra]\n", Path::new("/etc/v.toml")).unwrap_err().to_string();
        assert!(err.contains("/etc/v.toml") && err.contains("camra"), "{err}");
        assert!(Config::parse("[mirror]\njpeg_quality = 0\n", Path::new("x")).is_err());
    }

    #[test]
    fn staff_limits_must_be_above_zero() {
        for bad in ["max_failed_pins = 0", "first_lock_minutes = 0", "idle_timeout_secs = 0"] {
            let err = Config::parse(&format!("[staff]\n{bad}\n"), Path::new("x")).unwrap_err().to_string();
            assert!(err.contains("staff."), "{err}");
        }
        let c = Config::parse("[staff]\nidle_timeout_secs = 30\n[reports]\nexports_dir = \"/srv/exports\"\n", Path::new("x")).unwrap();
        assert_eq!((c.staff.idle_timeout_secs, c.staff.max_failed_pins), (30, 5));
        assert_eq!(c.reports.exports_dir, PathBuf::from("/srv/exports"));
    }

    #[test]
    fn missing_file_is_defaults_and_defaults_round_trip() {
        assert_eq!(Config::load(Path::new("/nonexistent/vitrine.toml")).unwrap(), Config::default());
        let text = Config::default().to_toml();
        assert_eq!(Config::parse(&text, Path::new("x")).unwrap(), Config::default());
    }
}

#[cfg(test)]
mod committed_file {
    use super::*;

    /// The documented file at the repository root must stay exactly the defaults.
    #[test]
    fn repository_vitrine_toml_documents_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../vitrine.toml");
        assert_eq!(Config::load(&path).unwrap(), Config::default());
    }
}

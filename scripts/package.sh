#!/usr/bin/env bash
# Builds the Debian package of Vitrine: the kiosk and the `vitrine` CLI with the web UI
# (embedded in the kiosk), the models, the ONNX Runtime library, the demo assets, the config
# in /etc/vitrine, and the systemd units (kiosk under cage with the watchdog, daily backup).
#
#   scripts/package.sh                      release build -> dist/vitrine_VERSION_ARCH.deb
#   scripts/package.sh --debug              package the debug build the tests made (CI; faster)
#   scripts/package.sh --version 0.0.9      set the package version (default: the workspace's)
#   scripts/package.sh --out DIR            where the .deb goes (default: dist/)
#
# Needs what `scripts/setup.sh --deps-only` installs (it is run first). The store's data is
# in /var/lib/vitrine; upgrades and `apt remove` keep it, `apt purge` deletes it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}

profile=release version="" out="$ROOT/dist"
while [ $# -gt 0 ]; do
  case "$1" in
    --debug) profile=debug ;;
    --version) version=$2; shift ;;
    --out) out=$2; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
[ -n "$version" ] || version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
arch=$(dpkg --print-architecture)

scripts/setup.sh --deps-only >/dev/null
say "building the UI and the binaries ($profile)"
npm --prefix ui run -s build
cargo_profile=(); [ "$profile" = release ] && cargo_profile=(--release)
cargo build "${cargo_profile[@]}" -p vitrine-kiosk -p vitrine-cli
bin="$TARGET/$profile"

stage=$(mktemp -d "${TMPDIR:-/tmp}/vitrine-package.XXXXXX")
trap 'rm -rf "$stage"' EXIT
root="$stage/vitrine_${version}_$arch"
say "staging $root"
install -d "$root/DEBIAN" "$root/usr/bin" "$root/usr/lib/vitrine" "$root/usr/share/vitrine" \
  "$root/usr/share/doc/vitrine" "$root/lib/systemd/system" "$root/etc/vitrine"
# Debug builds carry ~500 MB of debug info; the package never needs it.
for name in vitrine vitrine-kiosk; do
  install -m 0755 "$bin/$name" "$root/usr/bin/$name"
  strip --strip-debug "$root/usr/bin/$name"
done
install -m 0644 "$(readlink -f vendor/onnxruntime/lib/libonnxruntime.so)" "$root/usr/lib/vitrine/libonnxruntime.so"

# Models: every folder with a manifest, the weights it names and licence files; no training
# scripts, and no weights a manifest does not name (the float model a quantized one came from).
while IFS= read -r manifest; do
  dir=$(dirname "$manifest")
  install -d "$root/usr/share/vitrine/$dir"
  find "$dir" -maxdepth 1 -type f ! -name '*.py' ! -name '*.onnx' ! -name 'requirements*' -exec install -m 0644 {} "$root/usr/share/vitrine/$dir/" \;
  install -m 0644 "$dir/$(sed -n 's/^file = "\(.*\)"$/\1/p' "$manifest")" "$root/usr/share/vitrine/$dir/"
done < <(find models -name manifest.toml | sort)
cp models/README.md "$root/usr/share/vitrine/models/" 2>/dev/null || true
# Speech recognition (loaded on first use; not in a manifest.toml folder on purpose).
install -d "$root/usr/share/vitrine/models/speech"
install -m 0644 models/speech/whisper_encoder.onnx models/speech/whisper_decoder.onnx models/speech/whisper_encoder.toml models/speech/whisper_decoder.toml \
  models/speech/vocabulary.txt models/speech/tokenizer.json models/speech/suppress.json "$root/usr/share/vitrine/models/speech/"
# The feedback reader: VADER's lexicon (MIT) and the learned weights, with their provenance.
install -d "$root/usr/share/vitrine/models/sentiment"
install -m 0644 models/sentiment/vader_lexicon.txt models/sentiment/classifier.json models/sentiment/README.md "$root/usr/share/vitrine/models/sentiment/"
# The demo shelf is looked for beside the models folder (…/assets/demo).
install -d "$root/usr/share/vitrine/assets"
cp -r assets/demo "$root/usr/share/vitrine/assets/"
# Demo media the setup step made (the project's own clip, the licensed packshots).
if [ -d var/demo ]; then
  install -d "$root/usr/share/vitrine/demo"
  cp -r var/demo/. "$root/usr/share/vitrine/demo/"
fi

# The config: the repository's documented defaults with the installed paths.
sed -e 's|^models_dir = .*|models_dir = "/usr/share/vitrine/models"|' \
    -e 's|^# runtime_library = .*|runtime_library = "/usr/lib/vitrine/libonnxruntime.so"|' \
    -e 's|^database = .*|database = "/var/lib/vitrine/vitrine.db"|' \
    -e 's|^demo_packshots = .*|demo_packshots = "/usr/share/vitrine/demo/garments"|' \
    -e 's|^token_file = .*|token_file = "/etc/vitrine/hq-token"|' \
    -e 's|^exports_dir = .*|exports_dir = "/var/lib/vitrine/exports"|' \
    -e 's|^faq_file = .*|faq_file = "/etc/vitrine/faq.toml"|' \
    vitrine.toml > "$root/etc/vitrine/vitrine.toml"
for key in models_dir runtime_library database demo_packshots token_file faq_file; do
  grep -q "^$key = \"/" "$root/etc/vitrine/vitrine.toml" || { echo "package.sh: vitrine.toml has no $key line to point at the installed path" >&2; exit 1; }
done

install -m 0644 packaging/systemd/*.service packaging/systemd/*.timer "$root/lib/systemd/system/"
install -m 0755 packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm "$root/DEBIAN/"
# The store edits its FAQ; an upgrade keeps its edits (a conffile, like the config).
install -m 0644 assets/demo/faq.toml "$root/etc/vitrine/faq.toml"
printf '%s\n' /etc/vitrine/vitrine.toml /etc/vitrine/faq.toml > "$root/DEBIAN/conffiles"
install -m 0644 README.md "$root/usr/share/doc/vitrine/README.md"
cat > "$root/usr/share/doc/vitrine/copyright" <<EOF
Vitrine $version, Apache-2.0. Models and demo media: see /usr/share/vitrine/models/*/ and
/usr/share/vitrine/demo for each file's source, licence and sha256. ONNX Runtime: MIT.
EOF

say "working out the library dependencies"
shlib_dir="$stage/shlibs"
install -d "$shlib_dir/debian"
printf 'Source: vitrine\n\nPackage: vitrine\nArchitecture: any\n' > "$shlib_dir/debian/control"
depends=$(cd "$shlib_dir" && dpkg-shlibdeps -O --ignore-missing-info \
  "$root/usr/bin/vitrine" "$root/usr/bin/vitrine-kiosk" "$root/usr/lib/vitrine/libonnxruntime.so" 2>/dev/null \
  | sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "package.sh: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

installed_kb=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<EOF
Package: vitrine
Version: $version
Architecture: $arch
Maintainer: Vitrine <dev@vitrine.invalid>
Installed-Size: $installed_kb
Depends: $depends, adduser, ca-certificates, cage, fonts-dejavu-core, alsa-utils, flite
Recommends: systemd
Section: misc
Priority: optional
Homepage: https://vitrine.invalid
Description: edge AI kiosk for stores: smart mirror, shelf scans, stock
 Vitrine runs on a small PC behind a store's mirror: a try-on mirror for shoppers, shelf
 scans for clerks, stock reports and forecasts for managers, with an offline SQLite ledger
 that syncs with HQ. Starts full-screen on boot (vitrine-kiosk.service, under cage);
 The vitrine doctor command checks the box.
EOF

mkdir -p "$out"
deb="$out/vitrine_${version}_$arch.deb"
say "building $deb"
compression=(-Zxz -z6); [ "$profile" = debug ] && compression=(-Zgzip -z1)
dpkg-deb --root-owner-group "${compression[@]}" --build "$root" "$deb" >/dev/null
echo "$deb ($(du -h "$deb" | cut -f1))"

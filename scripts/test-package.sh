#!/usr/bin/env bash
# Installs the package into a clean Debian 12 root made with mmdebstrap from the Debian
# archive, as a store's PC would get it: the previous version first (the same build with a
# lower version number), store data, the upgrade, vitrine doctor and the headless mirror
# there, backup, remove (data kept) and purge (packaging/test-in-root.sh does the steps).
#
#   scripts/test-package.sh dist/vitrine_0.1.0_amd64.deb
#
# Needs root (mmdebstrap --mode=root) and the Debian archive; downloaded packages are kept in
# ~/.cache/vitrine-debs so later runs install without downloading.
set -euo pipefail
cd "$(dirname "$0")/.."
deb=$(readlink -f "$1")
[ -f "$deb" ] || { echo "no package at $1" >&2; exit 2; }
if [ "$(id -u)" -ne 0 ]; then
  echo "test-package.sh: SKIPPED (needs root for mmdebstrap --mode=root)" >&2
  exit 0
fi
command -v mmdebstrap >/dev/null || { apt-get install -y -q mmdebstrap >/dev/null; }
cache=${VITRINE_DEB_CACHE:-${HOME:-/root}/.cache/vitrine-debs}
mkdir -p "$cache"
work=$(mktemp -d "${TMPDIR:-/tmp}/vitrine-pkgtest.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The "previous" package: this build relabelled with a lower version, so dpkg runs its real
# upgrade path (maintainer scripts, conffile handling) over data the old version wrote.
version=$(dpkg-deb -f "$deb" Version)
dpkg-deb -R "$deb" "$work/old"
sed -i "s/^Version: .*/Version: ${version}~previous/" "$work/old/DEBIAN/control"
dpkg-deb --root-owner-group -Zgzip --build "$work/old" "$work/vitrine_previous.deb" >/dev/null
rm -rf "$work/old"
cp "$deb" "$work/vitrine_new.deb"

echo "==> a clean Debian 12 root (mmdebstrap), then install, upgrade, doctor, mirror, remove"
# systemd: the root has it as a store's PC does, to check and enable the units.
mmdebstrap --mode=root --variant=apt --include=systemd --skip=download/empty --skip=cleanup/apt/cache \
  --setup-hook='mkdir -p "$1"/var/cache/apt/archives/' \
  --setup-hook="sync-in $cache /var/cache/apt/archives/" \
  --customize-hook="copy-in $work/vitrine_previous.deb $work/vitrine_new.deb packaging/test-in-root.sh /tmp/" \
  --customize-hook='chroot "$1" sh /tmp/test-in-root.sh /tmp/vitrine_previous.deb /tmp/vitrine_new.deb' \
  --customize-hook="sync-out /var/cache/apt/archives $cache" \
  bookworm /dev/null

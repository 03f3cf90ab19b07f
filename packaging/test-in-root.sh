#!/bin/sh
# Runs inside a clean Debian root (made by scripts/test-package.sh): installs the previous
# package, makes store data, upgrades to the new one, and checks that the data, the config
# and the tools survived; then removes (data kept) and purges (data gone).
set -eu
old=$1 new=$2
clip=/usr/share/vitrine/demo/astronaut_720p.mp4
step() { printf '\n--- %s\n' "$*"; }
as_vitrine() { (cd /var/lib/vitrine && runuser -u vitrine -- env VITRINE_CONFIG=/etc/vitrine/vitrine.toml "$@"); }

step "install the previous package"
apt-get install -y -q --no-install-recommends "$old" >/tmp/apt.log 2>&1 || { cat /tmp/apt.log; exit 1; }
test -x /usr/bin/vitrine-kiosk
test -f /lib/systemd/system/vitrine-kiosk.service
getent passwd vitrine >/dev/null

step "the systemd units, checked against what the package installed"
systemd-analyze verify --man=no /lib/systemd/system/vitrine-kiosk.service \
  /lib/systemd/system/vitrine-backup.service /lib/systemd/system/vitrine-backup.timer
test -L /etc/systemd/system/graphical.target.wants/vitrine-kiosk.service \
  || { echo "the kiosk service is not enabled for boot"; exit 1; }
test -L /etc/systemd/system/timers.target.wants/vitrine-backup.timer \
  || { echo "the backup timer is not enabled"; exit 1; }

step "vitrine doctor (camera replaced by the demo clip: no camera in a build root)"
out=$(as_vitrine vitrine --source "video:$clip" doctor) || { echo "$out"; echo "doctor failed"; exit 1; }
echo "$out" | sed '$d'
json=$(echo "$out" | tail -1)
for check in onnxruntime models database clock; do
  echo "$json" | grep -q "\"name\":\"$check\",\"status\":\"fail\"" && { echo "doctor: $check failed"; exit 1; }
done
installed_models=$(find /usr/share/vitrine/models -mindepth 2 -maxdepth 3 -name '*.toml' | wc -l)
test "$installed_models" -ge 12 || { echo "the package holds only $installed_models model manifests"; exit 1; }
echo "$json" | grep -q "\"detail\":\"$installed_models models, every hash matches its manifest\",\"name\":\"models\",\"status\":\"ok\"" \
  || { echo "doctor did not check every model: $json"; exit 1; }

step "the headless mirror on the demo clip, as the service user"
as_vitrine vitrine --source "video:$clip" mirror --frames 20

step "a poster of a demo product, as the service user (its font comes with the package's dependencies)"
out=$(as_vitrine vitrine signage render --sku GR-OATS-1KG --out /tmp/poster.png) || { echo "$out"; exit 1; }
echo "$out" | tail -1
echo "$out" | tail -1 | grep -q '"facts_wrong":0,' || { echo "the poster's facts did not hold"; exit 1; }
head -c 8 /tmp/poster.png | grep -q PNG || { echo "no PNG written"; exit 1; }

step "store data: a sale imported into the ledger"
printf 'sale_id,line,timestamp,sku,quantity,location\nPKG-1,1,2026-01-02T10:00:00Z,GR-OATS-1KG,2,A5/B2/S1\n' > /tmp/sales.csv
chmod 644 /tmp/sales.csv
as_vitrine vitrine import sales /tmp/sales.csv
before=$(as_vitrine vitrine report stock --format csv | sha256sum)
echo "# a technician's edit" >> /etc/vitrine/vitrine.toml

step "upgrade to the new package"
apt-get install -y -q --no-install-recommends "$new" >/tmp/apt.log 2>&1 || { cat /tmp/apt.log; exit 1; }
dpkg-query -W -f='${Version}\n' vitrine
after=$(as_vitrine vitrine report stock --format csv | sha256sum)
[ "$before" = "$after" ] || { echo "the stock report changed across the upgrade"; exit 1; }
as_vitrine vitrine import sales /tmp/sales.csv | grep -q "1 already in the ledger" || { echo "the imported sale was lost in the upgrade"; exit 1; }
grep -q "a technician's edit" /etc/vitrine/vitrine.toml || { echo "the upgrade overwrote the config"; exit 1; }
as_vitrine vitrine --source "video:$clip" doctor --json >/dev/null

step "backup as the daily timer runs it"
as_vitrine vitrine backup --keep 14
ls /var/lib/vitrine/backups/vitrine-*.db

step "remove keeps the store's data; purge deletes it"
apt-get remove -y -q vitrine >/tmp/apt.log 2>&1 || { cat /tmp/apt.log; exit 1; }
test ! -e /usr/bin/vitrine
test -f /var/lib/vitrine/vitrine.db
apt-get purge -y -q vitrine >/tmp/apt.log 2>&1 || { cat /tmp/apt.log; exit 1; }
test ! -e /var/lib/vitrine
echo "package test passed"

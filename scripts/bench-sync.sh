#!/usr/bin/env bash
# `vitrine bench sync` against a real HQ on loopback, set up and torn down here: a private
# PostgreSQL cluster in a temporary folder (run as the `postgres` user when we are root; it
# listens on a socket in that folder only), `vitrine-hq` over TLS with a fresh self-signed
# certificate and a store token issued for the run, then the bench (100k events by
# default). Everything is stopped and removed on exit, whatever happens. The last line of
# output is the bench's JSON.
#
#   cargo build --release -p vitrine-cli -p vitrine-hq
#   scripts/bench-sync.sh                      # 100k events, [sync] batch size
#   scripts/bench-sync.sh --events 20000 --batch-size 2000   # anything else goes to the bench
#
# Needs PostgreSQL 15's server binaries (apt-get install postgresql); PG_BIN overrides where
# they are, VITRINE_BIN_DIR where the release binaries are.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin_dir="${VITRINE_BIN_DIR:-$root/target/release}"
pg_bin="${PG_BIN:-/usr/lib/postgresql/15/bin}"

fail() {
    echo "bench-sync: $*" >&2
    exit 1
}

for tool in "$bin_dir/vitrine" "$bin_dir/vitrine-hq"; do
    [[ -x $tool ]] || fail "$tool not found: cargo build --release -p vitrine-cli -p vitrine-hq"
done
for tool in initdb postgres pg_isready; do
    [[ -x $pg_bin/$tool ]] || fail "$pg_bin/$tool not found: apt-get install postgresql (or set PG_BIN)"
done

work="$(mktemp -d -t vitrine-bench-sync.XXXXXX)"
hq_pid=""

# PostgreSQL refuses to run as root; as root it runs as `postgres`, which must reach its folder.
as_pg=()
if [[ $(id -u) -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || fail "running as root, but there is no postgres user to run PostgreSQL as"
    as_pg=(runuser -u postgres --)
    chmod 711 "$work"
fi
mkdir "$work/pg"
if [[ ${#as_pg[@]} -gt 0 ]]; then
    chown postgres:postgres "$work/pg"
fi

stop_postgres() {
    local pid_file="$work/pg/data/postmaster.pid" pid
    [[ -f $pid_file ]] || return 0
    pid="$(head -n 1 "$pid_file")"
    # SIGINT to the postmaster itself (runuser does not pass signals on): a fast shutdown.
    kill -INT "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 300); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
    local status=$?
    if [[ -n $hq_pid ]]; then
        kill "$hq_pid" 2>/dev/null || true
        wait "$hq_pid" 2>/dev/null || true
    fi
    stop_postgres
    if [[ $status -ne 0 ]]; then
        for log in "$work/pg/postgres.log" "$work/hq/hq.log"; do
            [[ -s $log ]] && { echo "--- $log (last lines)" >&2; tail -n 20 "$log" >&2; }
        done
    fi
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"${as_pg[@]}" "$pg_bin/initdb" -U postgres --auth=trust --no-sync -E UTF8 -D "$work/pg/data" \
    >"$work/initdb.log" 2>&1 || { cat "$work/initdb.log" >&2; fail "initdb failed"; }
# Default durability (fsync and synchronous commit on): the figure is for a real HQ.
"${as_pg[@]}" "$pg_bin/postgres" -D "$work/pg/data" -k "$work/pg" \
    -c listen_addresses= -c max_connections=50 >/dev/null 2>"$work/pg/postgres.log" &
for _ in $(seq 1 300); do
    "$pg_bin/pg_isready" -h "$work/pg" -p 5432 -q && break
    sleep 0.1
done
"$pg_bin/pg_isready" -h "$work/pg" -p 5432 -q || fail "PostgreSQL did not start"
export VITRINE_HQ_DATABASE_URL="host=$work/pg port=5432 user=postgres dbname=postgres"
export RUST_LOG="${RUST_LOG:-warn}"

mkdir "$work/hq"
"$bin_dir/vitrine-hq" cert --out-dir "$work/hq" >/dev/null
"$bin_dir/vitrine-hq" token issue --store bench --out "$work/hq/bench.token" >/dev/null
# Port 0: HQ picks a free port and says which on its first line.
coproc HQ { exec "$bin_dir/vitrine-hq" serve --listen 127.0.0.1:0 \
    --cert "$work/hq/cert.pem" --key "$work/hq/key.pem" 2>"$work/hq/hq.log"; }
hq_pid=$HQ_PID
read -r -t 60 first_line <&"${HQ[0]}" || fail "vitrine-hq did not start"
[[ $first_line == "listening on "* ]] || fail "vitrine-hq said: $first_line"
hq_url="https://${first_line#listening on }"

mkdir "$work/kiosk"
cd "$root"   # the repository's vitrine.toml ([sync] batch size and timeouts)
"$bin_dir/vitrine" bench sync --dir "$work/kiosk" --hq-url "$hq_url" \
    --token-file "$work/hq/bench.token" --ca-file "$work/hq/cert.pem" "$@"

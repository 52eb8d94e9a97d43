#!/bin/sh
# bench/run.sh full|quick - `make bench` and `make bench-quick`: build, set
# up the cached data, run Coffer with auditing on, Coffer with auditing off
# (the BENCH_AUDIT_OFF=1 build) and PostgreSQL + pgAudit back to back, then
# the other workloads, the verifier and the policy micro-benchmark; print
# one table and write var/bench/results-<timestamp>.json.
# Environment overrides: BENCH_CUSTOMERS, BENCH_SECONDS, BENCH_CLIENTS,
# BENCH_ROUNDS, BENCH_SEED.  docs/performance.md explains every figure.
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
MODE=${1:-quick}
MAKE=${MAKE:-make}
BENCH_VAR=$ROOT/var/bench
SEED=${BENCH_SEED:-1}
CLIENTS=${BENCH_CLIENTS:-64}

case $MODE in
full)
	CUSTOMERS=${BENCH_CUSTOMERS:-1000000}
	SECS=${BENCH_SECONDS:-20} WARM=3 SSECS=10 ROUNDS=${BENCH_ROUNDS:-3}
	;;
quick)
	CUSTOMERS=${BENCH_CUSTOMERS:-20000}
	SECS=${BENCH_SECONDS:-5} WARM=1 SSECS=3 ROUNDS=${BENCH_ROUNDS:-1}
	;;
*)
	echo "usage: bench/run.sh full|quick" >&2
	exit 2
	;;
esac

ON=build-bench/bin
OFF=build-bench-noaudit/bin
TS=$(date -u +%Y%m%dT%H%M%SZ)
RUN=$BENCH_VAR/run-$TS
RES=$RUN/results.jsonl
OUT=$BENCH_VAR/results-$TS.json
DPID=

. "$ROOT/bench/pg.sh"

say() { echo "bench: $*" >&2; }

# --- daemon control ----------------------------------------------------
start_daemon() {
	rm -f "$VAULT/cofferd.sock"
	"$1/cofferd" -d "$VAULT" --max-clients 400 2>>"$RUN/cofferd.log" &
	DPID=$!
	i=0
	while [ ! -S "$VAULT/cofferd.sock" ]; do
		i=$((i + 1))
		if [ $i -gt 300 ] || ! kill -0 "$DPID" 2>/dev/null; then
			say "cofferd did not start; see $RUN/cofferd.log"
			exit 1
		fi
		sleep 0.1
	done
}

stop_daemon() {
	if [ -n "$DPID" ]; then
		kill -TERM "$DPID" 2>/dev/null || true
		wait "$DPID" 2>/dev/null || true
	fi
	DPID=
}

cleanup() {
	stop_daemon
	pg_stop
	rm -rf "$RUN/vault"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- build ---------------------------------------------------------------
# Its own output directories, so engineers building in build/ meanwhile do
# not change the binaries under test halfway.
say "building (build-bench/, build-bench-noaudit/)"
$MAKE -s -j2 O=build-bench all bench-bins >/dev/null
$MAKE -s -j2 BENCH_AUDIT_OFF=1 all >/dev/null
command -v jq >/dev/null || {
	[ "$(id -u)" = 0 ] && apt-get install -y -q jq >/dev/null
} || { say "jq is needed for the report"; exit 1; }

# --- data ----------------------------------------------------------------
mkdir -p "$BENCH_VAR" "$RUN"
VCACHE=$BENCH_VAR/vault-c$CUSTOMERS-s$SEED
# A cached vault from an older build (no audit log made with the vault,
# an older schema) is rebuilt: `cofferd --check` says whether it opens.
if [ -f "$VCACHE/master.sealed" ] &&
    ! $ON/cofferd --check -d "$VCACHE" >/dev/null 2>&1; then
	say "the cached vault $VCACHE is from an older build; rebuilding it"
	rm -rf "$VCACHE"
fi
if [ ! -f "$VCACHE/master.sealed" ]; then
	say "building the $CUSTOMERS-customer vault (cached in $VCACHE)"
	rm -rf "$VCACHE.tmp"
	$ON/coffer-admin demo "$VCACHE.tmp" --customers "$CUSTOMERS" \
	    --seed "$SEED" >/dev/null
	mv "$VCACHE.tmp" "$VCACHE"
fi
# Every run starts from the pristine vault: creates and the audit log of
# one run never leak into the next.
cp -a "$VCACHE" "$RUN/vault"
VAULT=$RUN/vault
# The shipped policy with its per-hour volume limits raised to the maximum
# (a benchmark opens millions of records an hour): the limits are still
# counted on every request, as in production, but never reached.
sed -E 's/^(      (read|list|reveal|write): *)[0-9]+/\11000000000/' \
    policy/default.yaml >"$VAULT/policy.yaml"
chmod 600 "$VAULT/policy.yaml"
$ON/cofferd --check --policy "$VAULT/policy.yaml" >/dev/null

HAVE_PG=0
if pg_available; then
	say "starting the PostgreSQL 15 + pgAudit peer"
	pg_setup "$CUSTOMERS" "$SEED"
	HAVE_PG=1
fi

# --- Coffer and the peer, back to back ---------------------------------
# coffer_run LABEL WORKLOAD CLIENTS SECONDS
coffer_run() {
	say "$1: $2, $3 clients, ${4}s"
	$ON/coffer-bench -d "$VAULT" --pid "$DPID" --json --label "$1" \
	    -w "$2" -c "$3" -t "$4" --warmup "$WARM" --seed "$SEED" >>"$RES" ||
	    say "$1: run INVALID (see $RES)"
}

r=1
while [ $r -le "$ROUNDS" ]; do
	start_daemon "$ON"
	coffer_run audit-on get "$CLIENTS" "$SECS"
	stop_daemon
	start_daemon "$OFF"
	coffer_run audit-off get "$CLIENTS" "$SECS"
	stop_daemon
	if [ $HAVE_PG = 1 ]; then
		say "postgres+pgaudit: get, $CLIENTS clients, ${SECS}s"
		pg_run postgres-pgaudit "$CLIENTS" "$SECS" "$WARM" \
		    "$CUSTOMERS" >>"$RES"
	fi
	r=$((r + 1))
done
pg_stop

start_daemon "$ON"
coffer_run audit-on list "$CLIENTS" "$SSECS"
coffer_run audit-on create "$CLIENTS" "$SSECS"
coffer_run audit-on mix "$CLIENTS" "$SSECS"
coffer_run audit-on request "$CLIENTS" "$SSECS"
coffer_run audit-on-256 get 256 "$SSECS"
stop_daemon

# --- verifier and policy -------------------------------------------------
say "coffer-verify on this run's audit log"
best='{}'
for i in 1 2; do
	v=$($ON/coffer-verify --json --key "$VAULT/audit.pub" "$VAULT/audit" ||
	    true)
	best=$(printf '%s\n%s\n' "$best" "$v" | jq -s -c \
	    'max_by(.records_per_cpu_second // 0)')
done
echo "$best" | jq -c '{tool: "coffer-verify", label: "verify"} + .' >>"$RES"
say "policy decision micro-benchmark"
$ON/coffer-bench --policy --json >>"$RES"

# --- report --------------------------------------------------------------
MACHINE=$(jq -n -c --arg cpu "$(sed -n 's/^model name[^:]*: //p' \
    /proc/cpuinfo | head -1)" --arg nproc "$(nproc)" --arg kernel \
    "$(uname -r)" --arg rev "$(git rev-parse --short HEAD 2>/dev/null ||
    echo unknown)" '{cpu: $cpu, nproc: ($nproc | tonumber),
    kernel: $kernel, git: $rev}')
jq -s --argjson m "$MACHINE" --arg mode "$MODE" --argjson n "$CUSTOMERS" \
    --argjson clients "$CLIENTS" --argjson secs "$SECS" --arg ts "$TS" \
    '{timestamp: $ts, mode: $mode, customers: $n, clients: $clients,
      seconds: $secs, machine: $m, results: .}' "$RES" >"$OUT"
sh "$ROOT/bench/report.sh" "$OUT"
say "raw results: $OUT"

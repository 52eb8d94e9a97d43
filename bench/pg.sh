# bench/pg.sh - the PostgreSQL 15 + pgAudit peer for `make bench`, sourced
# by bench/run.sh: a throwaway cluster in a temporary directory (Unix socket
# there, no TCP), the same number of customers with comparable columns,
# pgaudit.log = 'read, write' to a log file, driven by pgbench.
# Functions: pg_available, pg_setup N SEED, pg_run LABEL CLIENTS SECS WARM,
# pg_stop.  Needs: PGBIN, BENCH_VAR, ROOT (set by run.sh).

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
PG_TMP=
PG_PM=

# Run a command as the cluster's owner: PostgreSQL refuses to run as root.
pg_as() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# Install the peer if it is missing (root only, `make bench` only).
pg_available() {
	if [ -x "$PGBIN/postgres" ] && [ -x "$PGBIN/pgbench" ] &&
	    [ -f "$PGBIN/../lib/pgaudit.so" ]; then
		return 0
	fi
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "bench: installing postgresql and postgresql-15-pgaudit" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		    postgresql postgresql-15-pgaudit >&2 || return 1
		[ -f "$PGBIN/../lib/pgaudit.so" ] && return 0
	fi
	echo "bench: PostgreSQL 15 with pgaudit is not installed (as root:" \
	    "apt-get install postgresql postgresql-15-pgaudit); peer skipped" >&2
	return 1
}

pg_tmpdir() {
	PG_TMP=$(mktemp -d /tmp/coffer-bench-pg.XXXXXX)
	chmod 755 "$PG_TMP"
	if [ "$(id -u)" = 0 ]; then
		chown postgres: "$PG_TMP"
	fi
}

pg_start() {
	# Read-mostly peer at its best: the table fits shared_buffers, as the
	# vault's working set fits the OS cache.  Durability defaults are kept.
	pg_as "$PGBIN/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/server.log" -w \
	    -t 120 -o "-c listen_addresses='' -k $PG_TMP \
	    -c max_connections=300 -c shared_buffers=512MB \
	    -c shared_preload_libraries=pgaudit \
	    -c pgaudit.log='read,write' \
	    -c logging_collector=on -c log_directory=$PG_TMP/log \
	    -c log_filename=postgresql.log" start >/dev/null
	PG_PM=$(head -1 "$PG_TMP/data/postmaster.pid")
}

pg_psql() {
	"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_TMP" -U postgres "$@"
}

# Build the cluster once per size and seed (kept under var/bench), then
# start a copy of it in a temporary directory.
pg_setup() {
	n=$1 seed=$2
	cache=$BENCH_VAR/pg15-c$n-s$seed
	pg_tmpdir
	if [ ! -d "$cache" ]; then
		echo "bench: building the PostgreSQL peer ($n customers)" >&2
		pg_as "$PGBIN/initdb" -D "$PG_TMP/data" -U postgres \
		    --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
		pg_start
		pg_psql -d postgres -c "CREATE DATABASE bench"
		pg_psql -d bench -v n="$n" -v seed="$seed" \
		    -f "$ROOT/bench/pg-load.sql"
		pg_as "$PGBIN/pg_ctl" -D "$PG_TMP/data" -w stop >/dev/null
		rm -rf "$PG_TMP/log" "$PG_TMP/server.log"
		cp -a "$PG_TMP/data" "$cache.tmp"
		mv "$cache.tmp" "$cache"
	else
		cp -a "$cache" "$PG_TMP/data"
	fi
	pg_start
	# Warm the table into shared_buffers, as the daemon's warm-up does.
	pg_psql -d bench -c "SELECT count(*) FROM customers" >/dev/null
}

# CPU ticks of the postmaster, of its reaped children (the backends, once
# pgbench has disconnected) and of its live children (logger, writers).
pg_ticks() {
	t=$(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$PG_PM/stat")
	for c in $(pgrep -P "$PG_PM"); do
		u=$(awk '{ print $14 + $15 }' "/proc/$c/stat" 2>/dev/null ||
		    echo 0)
		t=$((t + ${u:-0}))
	done
	echo "$t"
}

# pgbench with the point-read script; one JSON line on stdout.
pg_run() {
	label=$1 clients=$2 secs=$3 warm=$4 n=$5
	log=$PG_TMP/pgb
	rm -f "$log".*
	"$PGBIN/pgbench" -h "$PG_TMP" -U postgres -n -M prepared -c "$clients" \
	    -j 2 -T "$warm" -D ncust="$n" -f "$ROOT/bench/pgbench-point-read.sql" \
	    bench >/dev/null 2>&1 || true
	lines0=$(grep -c 'AUDIT: SESSION' "$PG_TMP/log/postgresql.log" || true)
	t0=$(pg_ticks)
	out=$("$PGBIN/pgbench" -h "$PG_TMP" -U postgres -n -M prepared \
	    -c "$clients" -j 2 -T "$secs" -D ncust="$n" -l \
	    --log-prefix="$log" -f "$ROOT/bench/pgbench-point-read.sql" \
	    bench 2>&1) || true
	sleep 1
	t1=$(pg_ticks)
	lines1=$(grep -c 'AUDIT: SESSION' "$PG_TMP/log/postgresql.log" || true)
	hz=$(getconf CLK_TCK)
	tps=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\) (without.*/\1/p')
	done_=$(echo "$out" |
	    sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p')
	failed=$(echo "$out" |
	    sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p')
	# per-transaction log: client txn latency_us script epoch epoch_us
	cat "$log".* | awk '{ print $3 }' | sort -n > "$PG_TMP/lat"
	cnt=$(wc -l < "$PG_TMP/lat")
	pct() { awk -v p="$1" -v n="$cnt" \
	    'NR == int(p * n + 0.999999) { print; exit }' "$PG_TMP/lat"; }
	audited=$((lines1 - lines0))
	valid=true
	if [ -z "$tps" ] || [ "${failed:-0}" != 0 ] || [ -z "$done_" ] ||
	    [ "$audited" -lt "$done_" ]; then
		valid=false
	fi
	cpu=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" \
	    'BEGIN { printf "%.3f", (b - a) / hz }')
	printf '{"tool":"pgbench","label":"%s","workload":"get","clients":%s,' \
	    "$label" "$clients"
	printf '"seconds":%s,"requests":%s,"errors":%s,"valid":%s,"tps":%s,' \
	    "$secs" "${done_:-0}" "${failed:-0}" "$valid" "${tps:-0}"
	printf '"latency_us":{"p50":%s,"p90":%s,"p99":%s,"max":%s},' \
	    "$(pct 0.50)" "$(pct 0.90)" "$(pct 0.99)" "$(tail -1 "$PG_TMP/lat")"
	printf '"audit_lines":%s,"daemon":{"cpu_s":%s,"cpu_us_per_req":%s}}\n' \
	    "$audited" "$cpu" "$(awk -v c="$cpu" -v n="${done_:-0}" \
	    'BEGIN { printf "%.1f", n ? c * 1e6 / n : 0 }')"
	rm -f "$log".* "$PG_TMP/lat"
}

pg_stop() {
	if [ -n "$PG_TMP" ] && [ -f "$PG_TMP/data/postmaster.pid" ]; then
		pg_as "$PGBIN/pg_ctl" -D "$PG_TMP/data" -m fast -w stop \
		    >/dev/null 2>&1 || true
	fi
	if [ -n "$PG_TMP" ]; then
		rm -rf "$PG_TMP"
	fi
	PG_TMP=
}

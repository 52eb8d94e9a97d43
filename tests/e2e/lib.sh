# lib.sh - shared by the end-to-end tests: a temporary demo vault, a real
# cofferd on a Unix socket in it, the real coffer client, TAP output.
# Source it from a test script run at the top of the repository.
set -u
BIN=${COFFER_BIN:-build/bin}
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
TOOLS=$(dirname "$BIN")/tests
TMP=$(mktemp -d "${TMPDIR:-/tmp}/coffer-e2e.XXXXXX")
VAULT=$TMP/vault
SOCK=$VAULT/cofferd.sock
export HOME=$TMP/home
export COFFER_KNOWN_HOSTS=$TMP/known_hosts
export COFFER_SOCKET=$SOCK
unset COFFER_USER COFFER_KEY COFFER_VAULT COFFER_PASSPHRASE_FILE
mkdir -p "$HOME"
DAEMON_PID=
T_N=0
OUT=$TMP/out
ERR=$TMP/err

cleanup() {
	stop_daemon
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ok() { T_N=$((T_N + 1)); echo "ok $T_N - $*"; }
not_ok() {
	T_N=$((T_N + 1)); echo "not ok $T_N - $*"
	echo "# stdout:"; sed 's/^/#   /' "$OUT" | head -20
	echo "# stderr:"; sed 's/^/#   /' "$ERR" | head -20
}
done_testing() { echo "1..$T_N"; }

# make_vault N: a demo vault with N customers, fixed seed.
make_vault() {
	"$BIN/coffer-admin" demo "$VAULT" --customers "${1:-200}" --seed 7 \
	    >"$TMP/demo.log" 2>&1 || { echo "# coffer-admin demo failed:";
	    sed 's/^/#   /' "$TMP/demo.log"; exit 1; }
}

start_daemon() {
	touch "$TMP/cofferd.log"
	before=$(grep -c 'serving vault' "$TMP/cofferd.log")
	"$BIN/cofferd" -d "$VAULT" "$@" >>"$TMP/cofferd.log" 2>&1 &
	DAEMON_PID=$!
	# Ready when this daemon says so (a stale socket file proves nothing).
	i=0
	while [ "$(grep -c 'serving vault' "$TMP/cofferd.log")" -le "$before" ] &&
	    [ $i -lt 200 ]; do
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.1; i=$((i + 1))
	done
	[ -S "$SOCK" ] && kill -0 "$DAEMON_PID" 2>/dev/null || {
	    echo "# cofferd did not start:";
	    sed 's/^/#   /' "$TMP/cofferd.log"; exit 1; }
}

# SIGTERM, and SIGKILL if it has not stopped within 15 s (a hung daemon
# must fail its test, not hang the suite).
stop_daemon() {
	[ -n "$DAEMON_PID" ] || return 0
	kill -TERM "$DAEMON_PID" 2>/dev/null
	i=0
	while kill -0 "$DAEMON_PID" 2>/dev/null && [ $i -lt 150 ]; do
		sleep 0.1; i=$((i + 1))
	done
	if kill -0 "$DAEMON_PID" 2>/dev/null; then
		echo "# cofferd did not stop on SIGTERM within 15 s; killing it"
		kill -KILL "$DAEMON_PID" 2>/dev/null
	fi
	wait "$DAEMON_PID" 2>/dev/null
	DAEMON_PID=
}

daemon_alive() { [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; }

# as USER ARGS...: run coffer as a demo user.
as() {
	u=$1; shift
	"$BIN/coffer" -u "$u" -k "$VAULT/keys/$u.key" "$@"
}

# expect RC DESC CMD...: the command exits with RC.
expect() {
	want=$1; desc=$2; shift 2
	"$@" >"$OUT" 2>"$ERR"
	got=$?
	if [ "$got" -eq "$want" ]; then ok "$desc"; else
		echo "# exit $got, wanted $want: $*"; not_ok "$desc"; fi
}

# expect_grep RC PATTERN DESC CMD...: exit RC and PATTERN (grep -E) in
# stdout or stderr.
expect_grep() {
	want=$1; pat=$2; desc=$3; shift 3
	"$@" >"$OUT" 2>"$ERR"
	got=$?
	if [ "$got" -eq "$want" ] && cat "$OUT" "$ERR" | grep -Eq -- "$pat"; then
		ok "$desc"
	else
		echo "# exit $got (wanted $want), pattern '$pat': $*"
		not_ok "$desc"
	fi
}

# json_field FIELD: value of a top-level-ish "FIELD": number in $OUT.
# flip FILE OFFSET: invert one byte in place. Writing a fixed byte instead
# would leave the file unchanged whenever that byte was already there.
flip() {
	_b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "$(printf '\\%03o' $((255 - _b)))" |
	    dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
json_num() { grep -Eo "\"$1\": *[0-9]+" "$OUT" | head -1 | grep -Eo '[0-9]+$'; }

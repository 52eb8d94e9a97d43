#!/bin/sh
# t_daemon.sh - cofferd's life cycle: command line and exit codes, SIGTERM
# with a session open, SIGHUP, a stale socket after kill -9, a socket path
# that is not ours, many clients at once, --max-clients and --idle-timeout.
. tests/e2e/lib.sh
# 1000 customers: a manager's JSON list (500 rows) is larger than a pipe
# buffer, which is how a session is held open below.
make_vault 1000
D="$BIN/cofferd"
LOG=$TMP/cofferd.log

# Like start_daemon, but returns 1 instead of leaving the script, and
# waits for the daemon's "serving" line: a stale socket file exists before
# the new daemon has bound its own.
try_start() {
	# The log must exist before the loop greps it: the background
	# redirection below may not have created it yet.
	touch "$LOG"
	n0=$(grep -c 'serving vault' "$LOG")
	"$D" -d "$VAULT" "$@" >>"$LOG" 2>&1 &
	DAEMON_PID=$!
	i=0
	while [ "$(grep -c 'serving vault' "$LOG")" -le "${n0:-0}" ] &&
	    [ $i -lt 100 ]; do
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.1; i=$((i + 1))
	done
	[ -S "$SOCK" ] && kill -0 "$DAEMON_PID" 2>/dev/null
}

# gone PID TENTHS: true if PID has exited within TENTHS tenths of a second.
gone() {
	i=0
	while kill -0 "$1" 2>/dev/null; do
		[ $i -ge "$2" ] && return 1
		sleep 0.1; i=$((i + 1))
	done
	return 0
}

# count PATTERN: lines of the daemon log matching PATTERN.
count() { grep -cE -- "$1" "$LOG"; }

# wait_log PATTERN N: until the log has N lines matching PATTERN (5 s).
wait_log() {
	i=0
	while [ "$(count "$1")" -lt "$2" ] && [ $i -lt 50 ]; do
		sleep 0.1; i=$((i + 1))
	done
	[ "$(count "$1")" -ge "$2" ]
}

# A logged-in session held open: a manager lists 500 customers as JSON
# into a FIFO that is opened but never read, so coffer blocks writing its
# output while its connection stays open.  hold N USER opens the reader on
# file descriptor N (3..5) and sets HELD_PID; release N closes it.
hold() {
	rm -f "$TMP/hold$1"
	mkfifo "$TMP/hold$1"
	as "$2" --json list customers --limit 500 >"$TMP/hold$1" 2>/dev/null &
	HELD_PID=$!
	eval "exec $1<\"\$TMP/hold$1\""
}
release() { eval "exec $1<&-"; }

# --- command line --------------------------------------------------------
expect_grep 0 '^usage: cofferd' "cofferd --help: exit 0, usage on stdout" "$D" --help
expect_grep 0 '^cofferd [0-9]' "cofferd --version: exit 0" "$D" --version
expect_grep 2 "cofferd --help" "an unknown option: exit 2" "$D" --bogus
expect_grep 2 'unexpected argument' "a stray argument: exit 2" "$D" -d "$VAULT" extra
expect_grep 2 'max-clients' "--max-clients 0: exit 2" "$D" -d "$VAULT" --max-clients 0
expect_grep 2 'idle-timeout' "--idle-timeout abc: exit 2" "$D" -d "$VAULT" --idle-timeout abc
expect_grep 2 'workers 0' "--workers 0: exit 2, value named" "$D" -d "$VAULT" --workers 0
expect_grep 2 'db-memory 64x' "--db-memory 64x: exit 2, value named" "$D" -d "$VAULT" --db-memory 64x
expect_grep 2 'not both' "-k and -p together: exit 2" \
    "$D" -d "$VAULT" -k "$VAULT/master.key" -p "$VAULT/master.key"
expect_grep 3 "$TMP/nowhere" "a vault that does not exist: exit 3, named" \
    "$D" --check -d "$TMP/nowhere"
# The message was "vault DIR: input/output error" alone; it must say that
# the directory does not exist.
expect_grep 3 '[Nn]o such|not exist|not found' "... and says it does not exist" \
    "$D" --check -d "$TMP/nowhere"
expect_grep 3 "$TMP/nokey" "a missing key file: exit 3, the file named" \
    "$D" --check -d "$VAULT" -k "$TMP/nokey"
[ ! -e "$SOCK" ] && ok "no socket after the failed starts" ||
    not_ok "no socket after the failed starts"

# --- SIGTERM with a session open -----------------------------------------------
try_start && ok "cofferd starts" || not_ok "cofferd starts"
expect 0 "pin the daemon key" as agent01 status
hold 3 mgr-north
if wait_log 'mgr-north logged in' 1 && kill -0 "$HELD_PID" 2>/dev/null; then
	ok "a session is held open"
else not_ok "a session is held open"; fi
T0=$(date +%s)
kill -TERM "$DAEMON_PID"
if gone "$DAEMON_PID" 50; then ok "SIGTERM with a session open: cofferd exits within 5 s"
else not_ok "SIGTERM with a session open: cofferd exits within 5 s"; kill -KILL "$DAEMON_PID"; fi
wait "$DAEMON_PID"; rc=$?
DAEMON_PID=
echo "# stopped after $(($(date +%s) - T0)) s"
[ $rc -eq 0 ] && ok "... with exit status 0" || not_ok "... with exit status 0 (got $rc)"
[ ! -e "$SOCK" ] && ok "... and removes its socket" || not_ok "... and removes its socket"
grep -q 'still open at shutdown' "$LOG" && not_ok "the session ended before the exit" ||
    ok "the session ended before the exit"
release 3
wait "$HELD_PID" 2>/dev/null

# --- SIGHUP ----------------------------------------------------------------------
# A 1 MiB budget for all page caches: the burst below must still succeed.
try_start --db-memory 1 && ok "cofferd starts again (--db-memory 1)" ||
    not_ok "cofferd starts again (--db-memory 1)"
kill -HUP "$DAEMON_PID"
sleep 0.3
daemon_alive && ok "SIGHUP does not stop cofferd" || not_ok "SIGHUP does not stop cofferd"
expect 0 "still serving after SIGHUP" as agent01 status
expect_grep 0 'HUP|hangup' "SIGHUP is logged, as --help says" cat "$LOG"

# --- many clients at once -----------------------------------------------------------
rm -f "$TMP"/conc.*
pids=
n=1
while [ $n -le 20 ]; do
	u=$(printf 'agent%02d' $(((n - 1) % 10 + 1)))
	(
		k=0
		while [ $k -lt 3 ]; do
			as "$u" status >/dev/null 2>&1 || echo "status $?" >>"$TMP/conc.$n"
			as "$u" --json list customers --limit 20 >/dev/null 2>&1 ||
			    echo "list $?" >>"$TMP/conc.$n"
			k=$((k + 1))
		done
		echo finished >>"$TMP/conc.$n"
	) &
	pids="$pids $!"
	n=$((n + 1))
done
for p in $pids; do wait "$p"; done
fails=$(cat "$TMP"/conc.* | grep -vc '^finished$')
dones=$(cat "$TMP"/conc.* | grep -c '^finished$')
if [ "$dones" -eq 20 ] && [ "$fails" -eq 0 ]; then
	ok "20 concurrent clients, 120 requests, all succeed"
else
	not_ok "20 concurrent clients: $dones finished, $fails failures"
	cat "$TMP"/conc.* | grep -v '^finished$' | sort | uniq -c | sed 's/^/#   /'
fi
daemon_alive && ok "cofferd alive after the burst" || not_ok "cofferd alive after the burst"
expect_grep 0 'connections: +1$' "no session left counted (connections: 1, this one)" \
    as agent01 status

# --- a stale socket after kill -9 ------------------------------------------------------
kill -KILL "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=
[ -S "$SOCK" ] && ok "kill -9 leaves the socket file behind" ||
    not_ok "kill -9 leaves the socket file behind"
try_start && ok "a new cofferd starts over the stale socket" ||
    not_ok "a new cofferd starts over the stale socket"
expect 0 "and serves" as agent01 status

# --- a socket path that is not ours ------------------------------------------------------
"$BIN/coffer-admin" demo "$TMP/v2" --customers 20 >/dev/null 2>&1
expect_grep 5 'already serving|in use' "a live socket of another daemon is not taken over (exit 5)" \
    "$D" -d "$TMP/v2" -s "$SOCK"
expect 0 "the first daemon still serves on it" as agent01 status
printf 'precious\n' >"$TMP/notasocket"
timeout 1 "$D" -d "$TMP/v2" -s "$TMP/notasocket" >"$OUT" 2>"$ERR"
# Only a socket at the socket path may be replaced, never another file.
if [ -f "$TMP/notasocket" ] && grep -q precious "$TMP/notasocket"; then
	ok "a regular file at the socket path is not deleted"
else not_ok "a regular file at the socket path is not deleted"; fi
stop_daemon

# --- --max-clients ----------------------------------------------------------------------
try_start --max-clients 2 && ok "cofferd --max-clients 2 starts" ||
    not_ok "cofferd --max-clients 2 starts"
outs=$(count 'mgr-.* logged out')
hold 3 mgr-north; H1=$HELD_PID
hold 4 mgr-south; H2=$HELD_PID
if wait_log 'mgr-south logged in' 1 && wait_log 'mgr-north logged in' 2 &&
    kill -0 "$H1" 2>/dev/null && kill -0 "$H2" 2>/dev/null; then
	ok "two sessions held open"
else not_ok "two sessions held open"; fi
t0=$(date +%s%N)
as agent01 status >"$OUT" 2>"$ERR"; rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
echo "# third client: exit $rc after $ms ms: $(cat "$ERR")"
# 3: the daemon closes the connection without a word; 10 would be better
if { [ $rc -eq 3 ] || [ $rc -eq 10 ]; } && [ $ms -lt 3000 ]; then
	ok "the third session is refused quickly"
else not_ok "the third session is refused quickly"; fi
wait_log 'refused: 2 sessions already open' 1 && ok "the daemon logs the refusal" ||
    not_ok "the daemon logs the refusal"
release 3; release 4
wait "$H1" 2>/dev/null; wait "$H2" 2>/dev/null
wait_log 'mgr-.* logged out' $((outs + 2))
expect 0 "after they close, a new session is accepted" as agent01 status
stop_daemon

# --- --idle-timeout -----------------------------------------------------------------------
try_start --idle-timeout 1 && ok "cofferd --idle-timeout 1 starts" ||
    not_ok "cofferd --idle-timeout 1 starts"
before=$(count 'mgr-north logged out')
ins=$(count 'mgr-north logged in')
hold 3 mgr-north
wait_log 'mgr-north logged in' $((ins + 1))
sleep 2.5
if [ "$(count 'mgr-north logged out')" -gt "$before" ] && kill -0 "$HELD_PID" 2>/dev/null; then
	ok "an idle session is closed after --idle-timeout"
else not_ok "an idle session is closed after --idle-timeout"; fi
release 3
wait "$HELD_PID" 2>/dev/null
expect 0 "the daemon still serves" as agent01 status
stop_daemon
done_testing

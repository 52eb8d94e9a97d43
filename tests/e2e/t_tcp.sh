#!/bin/sh
# t_tcp.sh - cofferd with --listen on loopback TCP and coffer -H: requests
# work, the daemon key is pinned per endpoint ("tcp:HOST:PORT" apart from
# "unix:PATH"), a wrong key or a changed daemon key is refused, and bad
# --listen values are refused.
. tests/e2e/lib.sh
make_vault 50

# Start cofferd with --listen on a free loopback port: ports from a random
# base are tried until one binds (cofferd exits 5 when it cannot).  Sets
# PORT and DLOG (the daemon's log).  Returns 1 if no port worked.
start_tcp_daemon() {
	r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
	base=$((20000 + r % 20000))
	n=0
	while [ $n -lt 20 ]; do
		PORT=$((base + n * 7))
		log=$TMP/cofferd-$PORT.log
		"$BIN/cofferd" -d "$VAULT" -l "127.0.0.1:$PORT" >"$log" 2>&1 &
		DAEMON_PID=$!
		i=0
		while [ $i -lt 100 ]; do
			grep -q 'serving vault' "$log" && break
			kill -0 "$DAEMON_PID" 2>/dev/null || break
			sleep 0.1; i=$((i + 1))
		done
		if grep -q 'serving vault' "$log" && [ -S "$SOCK" ]; then
			DLOG=$log
			return 0
		fi
		wait "$DAEMON_PID" 2>/dev/null
		DAEMON_PID=
		n=$((n + 1))
	done
	echo "# no free port for cofferd; last log:"; sed 's/^/#   /' "$log"
	return 1
}

# --- bad --listen values (while no daemon holds the vault) ---------------
# A malformed address or a port outside 1..65535 is a usage error, found
# before the vault is opened; an address that does not resolve is not.
for spec in nonsense 127.0.0.1: :7443 127.0.0.1:abc 127.0.0.1:99999 127.0.0.1:0; do
	expect_grep 2 "$spec" "--listen $spec is a usage error (exit 2, names the value)" \
	    "$BIN/cofferd" -d "$VAULT" -l "$spec"
done
expect_grep 5 "256.1.1.1:7443" "--listen 256.1.1.1:7443 cannot be opened (exit 5)" \
    "$BIN/cofferd" -d "$VAULT" -l 256.1.1.1:7443
[ ! -e "$SOCK" ] && ok "a refused --listen leaves no socket behind" ||
    not_ok "a refused --listen leaves no socket behind"

# --- a daemon on the socket and on TCP --------------------------------------
start_tcp_daemon || { done_testing; exit 1; }
HP=127.0.0.1:$PORT
tcp_as() { u=$1; shift; as "$u" -H "$HP" "$@"; }

expect_grep 0 "tcp:127.0.0.1:$PORT" "the daemon logs its TCP address" cat "$DLOG"
expect_grep 0 'SHA256:' "status over TCP, first connection pins the key" \
    tcp_as agent01 status
grep -q "^tcp:127.0.0.1:$PORT coffer-ed25519 " "$COFFER_KNOWN_HOSTS" &&
    ok "known_hosts entry tcp:127.0.0.1:$PORT" ||
    not_ok "known_hosts entry tcp:127.0.0.1:$PORT ($(cat "$COFFER_KNOWN_HOSTS"))"
if grep -q '^unix:' "$COFFER_KNOWN_HOSTS"; then not_ok "no unix entry before a unix connection"
else ok "no unix entry before a unix connection"; fi
expect 0 "a second TCP connection: no new pin" tcp_as agent01 status
if grep -q 'first connection' "$ERR"; then not_ok "no first-connection warning the second time"
else ok "no first-connection warning the second time"; fi
expect_grep 0 '"total": *[0-9]' "list customers over TCP" \
    tcp_as agent01 --json list customers --limit 5
expect 0 "create a note over TCP" tcp_as agent01 create note kind=other "subject=via tcp"
expect_grep 0 'first connection' "the socket is pinned separately" as agent01 status
expect_grep 0 'via tcp' "the note is there over the socket too" \
    as agent01 --json list notes --limit 500
if [ "$(grep -c coffer-ed25519 "$COFFER_KNOWN_HOSTS")" -eq 2 ] &&
    grep -q "^unix:$SOCK coffer-ed25519 " "$COFFER_KNOWN_HOSTS"; then
	ok "two entries: unix:$SOCK and tcp:$HP"
else not_ok "two entries ($(cat "$COFFER_KNOWN_HOSTS"))"; fi
K_TCP=$(grep "^tcp:" "$COFFER_KNOWN_HOSTS" | cut -d' ' -f3)
K_UNIX=$(grep "^unix:" "$COFFER_KNOWN_HOSTS" | cut -d' ' -f3)
[ -n "$K_TCP" ] && [ "$K_TCP" = "$K_UNIX" ] &&
    [ "$K_TCP" = "$(cut -d' ' -f2 "$VAULT/daemon.pub")" ] &&
    ok "both entries hold the key of daemon.pub" ||
    not_ok "both entries hold the key of daemon.pub"
expect_grep 0 'tcp:127\.0\.0\.1:[0-9]+: agent01 logged in' \
    "the daemon logs the TCP peer" cat "$DLOG"

# Wrong keys over TCP.
expect 4 "a wrong user key over TCP is refused (exit 4)" \
    "$BIN/coffer" -H "$HP" -u agent01 -k "$VAULT/keys/agent02.key" status
expect 4 "an unknown user over TCP is refused (exit 4)" \
    "$BIN/coffer" -H "$HP" -u nobody -k "$VAULT/keys/agent02.key" status
expect 0 "still serving over TCP after failed logins" tcp_as agent02 status

# A changed daemon key for the TCP endpoint only.
cp "$COFFER_KNOWN_HOSTS" "$TMP/kh.bak"
OTHER=$(cut -d' ' -f2 "$VAULT/keys/agent03.pub")
sed "s|^\(tcp:[^ ]* coffer-ed25519 \).*|\1$OTHER|" "$TMP/kh.bak" >"$COFFER_KNOWN_HOSTS"
expect_grep 9 'known_hosts|pinned|changed|mismatch' \
    "a different pinned key for tcp:$HP is refused (exit 9)" tcp_as agent01 status
expect 0 "the socket's pin is unaffected" as agent01 status
expect 0 "pin-reset for the TCP endpoint" "$BIN/coffer" -H "$HP" pin-reset
if grep -q '^tcp:' "$COFFER_KNOWN_HOSTS" || ! grep -q '^unix:' "$COFFER_KNOWN_HOSTS"; then
	not_ok "pin-reset -H removes only the tcp entry ($(cat "$COFFER_KNOWN_HOSTS"))"
else ok "pin-reset -H removes only the tcp entry"; fi
expect_grep 0 'first connection' "the next TCP connection pins again" tcp_as agent01 status

stop_daemon
expect 3 "the TCP port is closed after SIGTERM" tcp_as agent01 status
done_testing

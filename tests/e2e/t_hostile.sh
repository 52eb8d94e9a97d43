#!/bin/sh
# t_hostile.sh - what must fail, fails cleanly: oversize frames, hostile
# CBOR, tampered, replayed and reordered frames, requests stalled halfway,
# dribbled a byte at a time or pipelined.  After each, the daemon still
# serves other clients.  And the database is unreadable without the
# key: sqlite3 cannot open it and no test string appears in its files.
. tests/e2e/lib.sh
make_vault 50
# Two workers: fewer than the stalled sessions below, so a worker that
# waited on one of them would show.
start_daemon --workers 2
as agent01 status >/dev/null 2>&1   # pin the key

probe() { "$TOOLS/coffer-probe" "$SOCK" agent01 "$VAULT/keys/agent01.key" "$@"; }
alive() { expect 0 "daemon still serves after $1" as agent02 status; }

expect 0 "frame over the size cap before the handshake: connection closed" probe oversize
alive "an oversize frame"
expect 0 "hostile CBOR in the handshake (2^32 items): connection closed" probe hostile-hs
alive "hostile handshake CBOR"
expect 0 "tampered frame ends the session" probe tamper
alive "a tampered frame"
expect 0 "replayed frame ends the session" probe replay
alive "a replayed frame"
expect 0 "reordered frames end the session" probe reorder
alive "reordered frames"
# inside a good session: each gets an error response, session continues
expect 0 "array declaring 2^32 items -> error response" probe cbor 9b0000000100000000
expect 0 "byte string declaring 2^63 bytes -> error response" probe cbor 5b7fffffffffffffff
expect 0 "10000-deep nesting -> error response" probe cbor "$(printf '81%.0s' $(seq 1 10000))00"
expect 0 "trailing bytes -> error response" probe cbor a0ff
expect 0 "indefinite-length map -> error response" probe cbor bfff
expect 0 "non-shortest integer -> error response" probe cbor 1800
alive "hostile CBOR"
# a client that asks and never reads: its answers leave from the audit
# commit, which must not block on it; the daemon ends that session only
expect 0 "a client that never reads its answers is disconnected" probe flood
expect_grep 0 "does not read its answers" "and the daemon log says why" cat "$TMP/cofferd.log"
alive "a client that never read"
expect 0 "sessions stalled halfway through a request do not hold the workers" probe stall
expect 0 "a request written a byte at a time is answered" probe dribble
expect 0 "requests pipelined in one write are answered in order" probe pipeline
alive "stalled, dribbled and pipelined requests"

MARK="ZQXMARKER$$"
expect 0 "store a marker string" as agent01 create note kind=other "subject=$MARK" "body=$MARK body"
no_plaintext() {
	for f in "$VAULT"/coffer.db*; do
		[ -f "$f" ] || continue
		if grep -aq "$MARK" "$f"; then not_ok "no plaintext in $(basename "$f") ($1)"
		else ok "no plaintext in $(basename "$f") ($1)"; fi
	done
}
[ -f "$VAULT/coffer.db-wal" ] && ok "the write went to the WAL" || not_ok "the write went to the WAL"
no_plaintext "daemon running"
stop_daemon
no_plaintext "daemon stopped"
sqlite3 "$VAULT/coffer.db" "select count(*) from customers" >"$OUT" 2>"$ERR"
if [ $? -ne 0 ] && grep -q 'not a database' "$ERR"; then ok "sqlite3 cannot read the database"
else not_ok "sqlite3 cannot read the database"; fi
done_testing

#!/bin/sh
# t_schedule.sh - scheduled backups (cofferd --backup-dir/--backup-every/
# --backup-keep): option checks; a 1 s schedule keeping 2 takes backups
# that verify, prunes only its own (an unrelated directory and a look-alike
# without a valid MANIFEST survive), reports the last success in `coffer
# status`; a backup directory that cannot be written makes failures that
# are logged, audited and shown by status while the daemon keeps serving,
# and the schedule recovers when the directory is back; coffer-verify
# passes over all of it.  Also `coffer backup verify` (local, no daemon):
# pinned by known_hosts or --key, refusing another key, a damaged copy and
# a missing pin.
. tests/e2e/lib.sh
ADMIN="$BIN/coffer-admin"
BK=$TMP/bk
NAME_RE='^coffer-[A-Za-z0-9_-]{16}-[0-9]{8}T[0-9]{6}\.[0-9]{3}Z$'

# ours DIR: the scheduled backups in DIR (by name), one per line.
ours() { ls "$1" 2>/dev/null | grep -E "$NAME_RE" | grep -v 19700101; }
# status_num FIELD: a number of the "backup" part of `coffer status --json`.
status_num() {
	as admin --json status >"$OUT" 2>"$ERR" || return 1
	grep -Eo "\"$1\": *[0-9]+" "$OUT" | head -1 | grep -Eo '[0-9]+$'
}
# wait_for FIELD N: until status FIELD >= N, at most 30 s.
wait_for() {
	i=0
	while [ $i -lt 150 ]; do
		v=$(status_num "$1")
		[ -n "$v" ] && [ "$v" -ge "$2" ] && return 0
		sleep 0.2; i=$((i + 1))
	done
	return 1
}

make_vault 200
mkdir -p "$BK/unrelated"
echo "keep me" >"$BK/unrelated/file"
echo "keep me too" >"$BK/notes.txt"

# --- option checks ------------------------------------------------------------
expect_grep 2 'needs --backup-every' "--backup-dir without --backup-every is refused" \
    "$BIN/cofferd" -d "$VAULT" --backup-dir "$BK"
expect_grep 2 'need --backup-dir' "--backup-keep without --backup-dir is refused" \
    "$BIN/cofferd" -d "$VAULT" --backup-keep 3
for bad in 0.1s 0 abc 1x 1e3 -1 inf 1..2 367d; do
	expect_grep 2 'not an interval' "--backup-every $bad is refused" \
	    "$BIN/cofferd" -d "$VAULT" --backup-dir "$BK" --backup-every "$bad"
done
expect_grep 2 'not a number from 1' "--backup-keep 0 is refused" \
    "$BIN/cofferd" -d "$VAULT" --backup-dir "$BK" --backup-every 1h --backup-keep 0
expect_grep 2 'absolute' "a relative --backup-dir is refused" \
    "$BIN/cofferd" -d "$VAULT" --backup-dir rel/bk --backup-every 1h
expect_grep 2 'not an existing directory' "a missing --backup-dir is refused at start" \
    "$BIN/cofferd" -d "$VAULT" --check --backup-dir "$TMP/missing" --backup-every 1h
expect_grep 2 'inside the vault' "a --backup-dir inside the vault is refused" \
    "$BIN/cofferd" -d "$VAULT" --check --backup-dir "$VAULT" --backup-every 1h
expect_grep 0 'vault OK' "--check accepts a good schedule (0.001 hours)" \
    "$BIN/cofferd" -d "$VAULT" --check --backup-dir "$BK" --backup-every 0.001 --backup-keep 2
expect_grep 0 'backup-every' "--help documents the schedule" "$BIN/cofferd" --help
[ -z "$(ours "$BK")" ] && ok "no backup was taken by the checks" ||
    not_ok "no backup was taken by the checks"

# --- a 1 s schedule keeping 2 ---------------------------------------------------
start_daemon --backup-dir "$BK" --backup-every 1s --backup-keep 2
expect_grep 0 '"scheduled": *true' "status shows the schedule" as admin --json status
expect_grep 0 '"keep": *2' "status shows keep 2" as admin --json status
# A look-alike of ours, oldest by name, without a valid MANIFEST: not ours.
wait_for taken 1 || not_ok "a first scheduled backup was taken"
FIRST=$(ours "$BK" | head -1)
FAKE=$(echo "$FIRST" | sed 's/-[0-9]\{8\}T.*$/-19700101T000000.000Z/')
FAKE_DIR=$BK/$FAKE
mkdir -p "$FAKE_DIR/audit" && echo "not a manifest" >"$FAKE_DIR/MANIFEST"
if wait_for taken 3; then ok "three scheduled backups were taken"
else not_ok "three scheduled backups were taken"; fi
expect_grep 0 '"last_ok_path": *"'"$BK"'/coffer-' "status shows the last success and its path" \
    as admin --json status
expect_grep 0 'manifest sha256:[0-9a-f]{64}' "the daemon logs each scheduled backup" \
    cat "$TMP/cofferd.log"
expect_grep 0 '^backup ok: +[0-9T:-]+Z '"$BK"'/coffer-' "coffer status prints the last success" \
    as admin status
expect_grep 0 '^backup: +every 1s into '"$BK"', keeping 2' "coffer status prints the schedule" \
    as admin status
expect_grep 0 '^backup next: ' "coffer status prints the next due time" as agent01 status

# A manual backup is serialised with the schedule: it may be told to retry
# (busy, exit 1 with "in progress"), never run at the same time.
i=0; rc=1
while [ $i -lt 20 ]; do
	as admin backup "$TMP/manual" >"$OUT" 2>"$ERR"; rc=$?
	[ $rc -eq 0 ] && break
	grep -q 'in progress' "$ERR" || break
	i=$((i + 1)); sleep 0.1
done
[ $rc -eq 0 ] && ok "a manual backup succeeds while the schedule runs" ||
    not_ok "a manual backup succeeds while the schedule runs"
expect_grep 0 '^result +OK' "the manual backup verifies" \
    "$ADMIN" backup verify "$TMP/manual" -k "$VAULT/master.key" --key "$VAULT/daemon.pub"

# --- the directory stops being writable ------------------------------------------
# As root, mode bits do not stop the daemon: put a regular file where the
# directory was instead (the backups move along with the directory).
if [ "$(id -u)" -eq 0 ]; then
	mv "$BK" "$BK.away" && : >"$BK"; KEPT=$BK.away
else
	chmod 0500 "$BK"; KEPT=$BK
fi
FAILED0=$(status_num failed)
if wait_for failed $((FAILED0 + 1)); then ok "a scheduled backup into the broken directory fails"
else not_ok "a scheduled backup into the broken directory fails"; fi
expect_grep 0 '"last_error": *"[^"]*(cannot write|not an existing directory)' \
    "status shows the failure and its reason" as admin --json status
expect_grep 0 '"last_fail": *[0-9]+' "status shows when it failed" as admin --json status
expect_grep 0 '^backup failed: +[0-9T:-]+Z [a-z_]+: ' "coffer status prints the failure" \
    as admin status
expect_grep 0 'scheduled backup to .* failed' "the daemon logs the failure with its reason" \
    cat "$TMP/cofferd.log"
expect 0 "the daemon keeps serving after the failure" as agent01 list customer
daemon_alive && ok "cofferd is still running" || not_ok "cofferd is still running"
expect_grep 0 'scheduled backup to .* failed' "the failure is in the audit trail" \
    as compliance audit search --op backup.create
expect_grep 0 'backup.prune' "the pruning is in the audit trail" \
    as compliance audit search --op backup.prune

# No backup can be made or pruned now: the set is stable to check.
N=$(ours "$KEPT" | wc -l)
[ "$N" -eq 2 ] && ok "exactly 2 scheduled backups remain (keep 2)" ||
    not_ok "exactly 2 scheduled backups remain (found $N: $(ours "$KEPT" | tr '\n' ' '))"
[ -f "$KEPT/unrelated/file" ] && [ -f "$KEPT/notes.txt" ] &&
    ok "unrelated entries in the backup directory are untouched" ||
    not_ok "unrelated entries in the backup directory are untouched"
[ -f "$KEPT/$FAKE/MANIFEST" ] && ok "a look-alike without a valid MANIFEST is never removed" ||
    not_ok "a look-alike without a valid MANIFEST is never removed"
for b in $(ours "$KEPT"); do
	expect_grep 0 '^result +OK' "scheduled backup $b verifies" \
	    "$ADMIN" backup verify "$KEPT/$b" -k "$VAULT/master.key" --key "$VAULT/daemon.pub"
	if cat "$KEPT/$b"/audit/seg-*.log | grep -aq "scheduled, started: backup to $BK/$b"; then
		ok "$b carries its own backup.create record"
	else not_ok "$b carries its own backup.create record"; fi
done

# --- coffer backup verify: local, pinned -----------------------------------------
B1=$KEPT/$(ours "$KEPT" | head -1)
expect_grep 0 '^result +OK' "coffer backup verify with the known_hosts pin" \
    as admin backup verify "$B1"
expect_grep 0 'pinned: known_hosts entry for unix:' "it says where the pin came from" \
    as admin backup verify "$B1"
expect_grep 0 '^result +OK' "coffer backup verify --key daemon.pub" \
    "$BIN/coffer" --known-hosts "$TMP/none" backup verify "$B1" --key "$VAULT/daemon.pub"
expect_grep 2 'give --key' "without a pin or --key it refuses and says so" \
    "$BIN/coffer" --known-hosts "$TMP/none" backup verify "$B1"
expect_grep 9 'another vault key|signed by another' "another daemon's key is refused (exit 9)" \
    "$BIN/coffer" backup verify "$B1" --key "$VAULT/keys/agent01.pub"
expect_grep 0 '"manifest": *"[0-9a-f]{64}"' "coffer --json backup verify" \
    as admin --json backup verify "$B1"
cp -a "$B1" "$TMP/damaged"
flip "$TMP/damaged/coffer.db" 5000
expect_grep 7 'coffer.db' "a damaged copy is refused, naming the file (exit 7)" \
    as admin backup verify "$TMP/damaged"
rm -rf "$TMP/damaged"
expect_grep 2 'usage' "backup verify needs DIR" as admin backup verify

# --- the directory comes back: the schedule recovers ------------------------------
if [ "$(id -u)" -eq 0 ]; then rm -f "$BK" && mv "$BK.away" "$BK"
else chmod 0700 "$BK"; fi
TAKEN0=$(status_num taken)
if wait_for taken $((TAKEN0 + 1)); then ok "the next interval succeeds again"
else not_ok "the next interval succeeds again"; fi
sleep 0.3
N=$(ours "$BK" | wc -l)
[ "$N" -eq 2 ] && ok "still 2 kept after recovery" || not_ok "still 2 kept after recovery (found $N)"
stop_daemon
expect_grep 0 '^result +OK' "coffer backup verify needs no daemon" \
    as admin backup verify "$BK/$(ours "$BK" | tail -1)"
expect_grep 0 'scheduled backups into' "the daemon logged its schedule at start" cat "$TMP/cofferd.log"
expect 0 "coffer-verify passes on the vault's log" \
    "$BIN/coffer-verify" --key "$VAULT/audit.pub" "$VAULT/audit"
done_testing

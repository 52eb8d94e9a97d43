#!/bin/sh
# t_audit.sh - the compliance officer's view of the audit trail through the
# real cofferd, coffer and coffer-verify: search by actor, decision and
# target, denied requests with their reason, no customer values in the log,
# inclusion proofs, saved checkpoints that later logs must extend, other
# roles refused, tampering detected, kill -9 under concurrent writes, and
# failing closed while the log cannot be written.
. tests/e2e/lib.sh
make_vault 60
start_daemon
LOG=$VAULT/audit
VKEY=$LOG/audit.vkey

# first_num FILE KEY: the first "KEY": number in a JSON file.
first_num() { grep -Eo "\"$2\": *[0-9]+" "$1" | head -1 | grep -Eo '[0-9]+$'; }

# A little traffic: allowed and denied reads, a write.
expect 0 "agent01 lists own customers" as agent01 --json list customers --limit 1
C1=$(json_num id)
expect 0 "agent02 lists own customers" as agent02 --json list customers --limit 1
C2=$(json_num id)
expect 0 "agent01 reads a customer" as agent01 --json show customer "$C1"
NAME=$(grep -Eo '"name": *"[^"]*"' "$OUT" | head -1 | sed 's/.*: *"//; s/"$//')
PHONE=$(grep -Eo '"phone": *"[^"]*"' "$OUT" | head -1 | sed 's/.*: *"//; s/"$//')
expect 5 "agent01 is refused another agent's customer" as agent01 show customer "$C2"
DENY_MSG=$(sed -n 's/^coffer: \(.*\) (denied)$/\1/p' "$ERR" | head -1)
expect 5 "the administrator is refused customer data" as admin show customer "$C1"
expect 0 "agent01 records a call" as agent01 -q create call customer_id="$C1" \
    started=now duration=60 outcome=answered
CALL=$(cat "$OUT")

expect 0 "the compliance officer saves a checkpoint" as compliance audit checkpoint
cp "$OUT" "$TMP/saved-checkpoint"
CP_SIZE=$(sed -n 2p "$TMP/saved-checkpoint")
if head -1 "$TMP/saved-checkpoint" | grep -q '^coffer/' &&
    grep -q '^— ' "$TMP/saved-checkpoint" && [ "${CP_SIZE:-0}" -ge 10 ]; then
	ok "the checkpoint is a signed note covering the requests so far"
else not_ok "the checkpoint is a signed note covering the requests ($CP_SIZE)"; fi

# Search: by actor, by decision, by kind and id.
expect_grep 0 "agent01 +agent +record.get +customer $C1 +allowed" \
    "search by actor finds the read" as compliance audit search --actor agent01
expect_grep 0 "agent01 +agent +record.get +customer $C2 +denied" \
    "search by actor and decision finds the refusal" \
    as compliance audit search --actor agent01 --decision denied
DENY_MSG=${DENY_MSG#id: }	# the client names the field first
if [ -n "$DENY_MSG" ] && grep -qF -- "$DENY_MSG" "$OUT"; then
	ok "the denied record shows the reason the client was given"
else not_ok "the denied record shows its reason ('$DENY_MSG')"; fi
expect 0 "search by decision denied" as compliance -q audit search --decision denied
if grep -q 'admin' "$OUT" && grep -q 'agent01' "$OUT" &&
    ! grep -q 'allowed' "$OUT"; then ok "only refusals, from both actors"
else not_ok "only refusals, from both actors"; fi
expect_grep 0 "record.get +customer $C1 +allowed" \
    "search by kind and id finds the customer's history" \
    as compliance audit search --kind customer --id "$C1"
if ! grep -Eq "customer $C2( |\$)" "$OUT"; then ok "and nothing about other customers"
else not_ok "and nothing about other customers"; fi
expect_grep 0 "record.create +call $CALL +allowed" "search by op finds the new call" \
    as compliance audit search --op 'record.*' --kind call
expect_grep 0 '"records":\[' "search --json gives the records' own keys" \
    as compliance --json audit search --actor agent02 --limit 5
expect_grep 0 'add --after [0-9]+' "a full page says how to get the next" \
    as compliance audit search --limit 2
NEXT=$(grep -Eo 'add --after [0-9]+' "$OUT" | grep -Eo '[0-9]+$')
expect_grep 0 '^[0-9]+ ' "the next page starts after the cursor" \
    as compliance -q audit search --limit 2 --after "$NEXT"
FIRST=$(head -1 "$OUT" | cut -d' ' -f1)
if [ "$FIRST" -gt "$NEXT" ]; then ok "cursor respected ($FIRST > $NEXT)"
else not_ok "cursor respected ($FIRST > $NEXT)"; fi
expect 2 "a bad decision is refused locally" as compliance audit search --decision maybe
expect 2 "a bad time is refused locally" as compliance audit search --since yesterday

# No customer values in the log: only names of fields.
if [ -n "$NAME" ] && [ -n "$PHONE" ] &&
    ! grep -rqF -- "$NAME" "$LOG" && ! grep -rqF -- "$PHONE" "$LOG"; then
	ok "neither the customer's name nor phone is in the audit segments"
else not_ok "customer values absent from the log (name '$NAME', phone '$PHONE')"; fi
if grep -rqF 'record.get' "$LOG" && grep -rqF 'phone' "$LOG"; then
	ok "while operations and field names are"
else not_ok "operations and field names are in the log"; fi

# One record with its inclusion proof.
as compliance -q audit search --actor agent01 --decision denied >"$OUT" 2>"$ERR"
SEQ=$(head -1 "$OUT" | cut -d' ' -f1)
expect_grep 0 'verified here.*signature checked' \
    "audit show verifies the proof and the signature" \
    as compliance audit show "$SEQ" --key "$VKEY"
grep -E '^leaf_hash ' "$OUT" | awk '{print $2}' >"$TMP/leaf-client"
sed '1,/^signed checkpoint:$/d' "$OUT" >"$TMP/show-checkpoint"
expect_grep 0 "\"leaf_index\": *$SEQ" "audit show --json carries the proof" \
    as compliance --json audit show "$SEQ"
expect 0 "the proof's checkpoint is one the log extends" \
    "$BIN/coffer-verify" -q --key "$VKEY" --checkpoint "$TMP/show-checkpoint" "$LOG"
expect 0 "coffer-verify proves the same record" \
    "$BIN/coffer-verify" --key "$VKEY" --prove "$SEQ" "$LOG"
grep -E '^leaf hash ' "$OUT" | awk '{print $3}' >"$TMP/leaf-verify"
if [ -s "$TMP/leaf-client" ] && cmp -s "$TMP/leaf-client" "$TMP/leaf-verify"; then
	ok "the daemon's and coffer-verify's leaf hashes agree"
else not_ok "leaf hashes agree ($(cat "$TMP/leaf-client") vs $(cat "$TMP/leaf-verify"))"; fi
expect 6 "an unknown seq is not found" as compliance audit show 99999999

# Export as JSON Lines.
expect 0 "export everything agent01 did" as compliance audit export --actor agent01
cp "$OUT" "$TMP/export.jsonl"
as compliance -q audit search --actor agent01 --limit 1000 >"$OUT" 2>"$ERR"
if [ "$(wc -l <"$TMP/export.jsonl")" -eq "$(wc -l <"$OUT")" ] &&
    [ "$(grep -c '^{"count":.*"seq":[0-9]*,.*}$' "$TMP/export.jsonl")" -eq \
    "$(wc -l <"$OUT")" ]; then
	ok "export: one JSON object per line, as many as the search finds"
else not_ok "export lines ($(wc -l <"$TMP/export.jsonl")) vs search rows ($(wc -l <"$OUT"))"; fi
expect 0 "export with a small limit" as compliance audit export --limit 3
if [ "$(wc -l <"$OUT")" -eq 3 ]; then ok "export stops at --limit"
else not_ok "export stops at --limit"; fi

# Every other role is refused, and the refusal is recorded.
for u in agent01 admin mgr-north; do
	expect 5 "$u may not search the audit trail" as "$u" audit search
	expect 5 "$u may not fetch a checkpoint" as "$u" audit checkpoint
	expect 5 "$u may not show an audit record" as "$u" audit show 0
	expect 5 "$u may not export the audit trail" as "$u" audit export
done
expect_grep 0 'mgr-north +manager +audit.search +denied +your role \(manager\) may not read the audit trail' \
    "the refused audit reads are themselves audited" \
    as compliance audit search --op 'audit.*' --decision denied --limit 1000

# Tampering with one byte of the daemon's log is detected.
cp -R "$LOG" "$TMP/tampered"
chmod -R u+w "$TMP/tampered"
SEG=$(ls "$TMP/tampered"/seg-*.log | head -1)
OFF=$(grep -obUaF 'record.get' "$SEG" | head -1 | cut -d: -f1)
printf 'h' | dd of="$SEG" bs=1 seek=$((OFF + 7)) conv=notrunc 2>/dev/null
expect_grep 2 'modified' "a changed byte in a segment: coffer-verify exits 2" \
    "$BIN/coffer-verify" --key "$VKEY" "$TMP/tampered"
# ...and a log cut short is caught by the saved checkpoint.
cp -R "$LOG" "$TMP/cut"
chmod -R u+w "$TMP/cut"
rm -f "$TMP/cut/checkpoint"
SEG=$(ls "$TMP/cut"/seg-*.log | head -1)
truncate -s 300 "$SEG"
expect_grep 5 'truncated' "a log cut short fails against the saved checkpoint" \
    "$BIN/coffer-verify" --key "$VKEY" --checkpoint "$TMP/saved-checkpoint" "$TMP/cut"

# kill -9 while four clients write: every acknowledged create is recorded.
for a in agent01 agent02 agent03 agent04; do
	as "$a" --json list customers --limit 1 >"$OUT" 2>"$ERR"
	CA=$(json_num id)
	: >"$TMP/ids.$a"
	( i=0; while [ $i -lt 30 ]; do
		as "$a" -q create call customer_id="$CA" started=now duration=10 \
		    outcome=busy >>"$TMP/ids.$a" 2>/dev/null
		i=$((i + 1))
	done ) &
	eval "LOAD_$a=\$!"
done
i=0
while [ "$(cat "$TMP"/ids.* | wc -l)" -lt 20 ] && [ $i -lt 300 ]; do
	sleep 0.1; i=$((i + 1))
done
kill -9 "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
DAEMON_PID=
wait "$LOAD_agent01" "$LOAD_agent02" "$LOAD_agent03" "$LOAD_agent04"
ACKED=$(cat "$TMP"/ids.* | wc -l)
if [ "$ACKED" -ge 20 ]; then ok "$ACKED creates acknowledged before the kill"
else not_ok "enough creates acknowledged before the kill ($ACKED)"; fi
expect 0 "the log of the killed daemon verifies" \
    "$BIN/coffer-verify" --key "$VKEY" --checkpoint "$TMP/saved-checkpoint" "$LOG"
rm -f "$SOCK"
start_daemon
expect 0 "the daemon restarts on the crashed log" as agent01 status
missing=0
for a in agent01 agent02 agent03 agent04; do
	as compliance --json audit search --actor "$a" --op record.create \
	    --kind call --decision allowed --limit 1000 >"$OUT" 2>"$ERR"
	grep -Eo '"tid": *[0-9]+' "$OUT" | grep -Eo '[0-9]+$' | sort -u >"$TMP/found.$a"
	sort -u "$TMP/ids.$a" >"$TMP/acked.$a"
	n=$(comm -23 "$TMP/acked.$a" "$TMP/found.$a" | wc -l)
	missing=$((missing + n))
done
if [ "$missing" -eq 0 ]; then ok "every acknowledged create has its audit record"
else not_ok "$missing acknowledged creates have no audit record"; fi
expect 0 "the restarted log verifies while the daemon runs" \
    "$BIN/coffer-verify" -q --key "$VKEY" "$LOG"

# Fail closed: the record of a create cannot be written.
stop_daemon
"$BIN/coffer-verify" --json --key "$VKEY" "$LOG" >"$OUT" 2>"$ERR"
N=$(first_num "$OUT" records)
# daemon.start is record N, the login N+1: the create's own record fails.
rm -f "$SOCK"
export COFFER_AUDIT_FAIL_AFTER=$((N + 2)) COFFER_AUDIT_FAIL_TIMES=6
start_daemon
unset COFFER_AUDIT_FAIL_AFTER COFFER_AUDIT_FAIL_TIMES
expect_grep 10 'audit log is unavailable' "a create while the log fails is refused (exit 10)" \
    as agent01 create customer name=故障客户 phone=13900000001
expect_grep 0 'ok=false' "coffer status shows the audit fault" as agent01 status
if grep -Eq 'fault=.*(space|injected)' "$OUT"; then ok "and says what failed"
else not_ok "status says what failed"; fi
i=0; rc=1
while [ $i -lt 5 ]; do
	as agent01 -q create customer name=恢复客户 phone=13900000002 >"$OUT" 2>"$ERR"
	rc=$?
	[ $rc -eq 0 ] && break
	[ $rc -eq 10 ] || break
	i=$((i + 1))
done
if [ $rc -eq 0 ]; then ok "requests work again once the fault clears"
else not_ok "requests work again once the fault clears (exit $rc)"; fi
expect 0 "agent01 lists own customers" as agent01 --json list customers --limit 500
# Names are masked in lists by the default policy (恢复客户 -> 恢复**).
if ! grep -q '故障' "$OUT" && grep -q '恢复' "$OUT"; then
	ok "the refused create is not in the database, the later one is"
else not_ok "the refused create is not in the database, the later one is"; fi
expect_grep 0 'audit.unavailable' "the outage is in the log" \
    as compliance audit search --op 'audit.*'
if grep -q 'audit.recovered' "$OUT"; then ok "and its end"
else not_ok "the log records the recovery"; fi
stop_daemon
expect_grep 0 'result +OK' "after the daemon stops the whole log verifies, no gap" \
    "$BIN/coffer-verify" --key "$VKEY" --checkpoint "$TMP/saved-checkpoint" "$LOG"
done_testing

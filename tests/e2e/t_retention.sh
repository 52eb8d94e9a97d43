#!/bin/sh
# t_retention.sh - the end of a tombstone's retention through the real
# cofferd and coffer (docs/requests.md §6): a deleted customer is kept,
# with its history, for the policy's period; then the daemon's sweep
# erases its values and the change sets of its history and requests,
# records record.erase naming what went (never a value), erases nothing
# twice and nothing of a kind whose period has not ended, and the log
# still verifies.
. tests/e2e/lib.sh
make_vault 30
LOG=$VAULT/audit
VKEY=$LOG/audit.vkey

# The default policy with short periods: customers 3 s, calls a day.
sed '/^retention:/,$d' policy/default.yaml >"$TMP/ret.yaml"
cat >>"$TMP/ret.yaml" <<'YAML'
retention:
  - kinds: [customer]
    keep: 3s
  - kinds: [call]
    keep: 1d
YAML
chmod 600 "$TMP/ret.yaml"
expect_grep 0 '^policy OK$' "the policy with retention periods is valid" \
    "$BIN/cofferd" --check --policy "$TMP/ret.yaml"
sed 's/^    keep: 3s$/    keep: 0/' "$TMP/ret.yaml" >"$TMP/bad.yaml"
expect_grep 6 "bad.yaml:[0-9]*:[0-9]*: retention.keep: expected a duration" \
    "a zero retention period is refused with its line" \
    "$BIN/cofferd" --check --policy "$TMP/bad.yaml"
expect_grep 2 "retention-every" "--retention-every 0 is refused" \
    "$BIN/cofferd" -d "$VAULT" --retention-every 0
start_daemon --policy "$TMP/ret.yaml" --retention-every 1

AID=$(as agent01 --json whoami 2>/dev/null | grep -Eo '"id": *[0-9]+' |
    head -1 | grep -Eo '[0-9]+$')
C=$(as mgr-north -q create customer name=Ouyangfeng phone=13800000091 \
    email=oyf@example.com needs="Retentiondemo" owner_id="$AID" \
    label=internal) &&
    C2=$(as mgr-north -q create customer name=Huangyaoshi phone=13800000092 \
    owner_id="$AID" label=internal) &&
    CALL=$(as agent01 -q create call customer_id="$C2" started=now \
    duration=60 outcome=answered notes="Callnotekept") ||
    { echo "# cannot create the fixtures"; exit 1; }
req() { "$@" 2>"$ERR" | tail -1; }

RU=$(req as agent01 -q request update customer "$C" needs=Retentionupdated \
    --reason "more detail")
expect_grep 0 "now applied" "an update is applied first" \
    as mgr-north approve "$RU" --comment ok
RD=$(req as agent01 -q request delete customer "$C" --reason "gone")
as mgr-north approve "$RD" --comment ok >/dev/null 2>&1
expect_grep 0 "now applied" "the customer's deletion is applied" \
    as compliance approve "$RD" --comment ok
RC=$(req as agent01 -q request delete call "$CALL" --reason "wrong call")
expect_grep 0 "now applied" "the call's deletion is applied" \
    as mgr-north approve "$RC" --comment ok
expect 6 "the deleted customer is gone from reads" as agent01 show customer "$C"

# --- the sweep -------------------------------------------------------------
erasures() { # record.erase records about customer $C
	as compliance audit search --op record.erase --limit 100 2>/dev/null |
	    grep -c "record.erase *customer $C "
}
i=0
while [ "$(erasures)" -lt 1 ] && [ $i -lt 40 ]; do sleep 0.5; i=$((i + 1)); done
expect_grep 0 "record.erase +customer $C +allowed +retention of 3s after deletion ended: customer $C erased \\(name,phone,email,.*needs.*\\); 2 history and 2 request change sets" \
    "the sweep erases the customer after 3 s and says what went" \
    as compliance audit search --op record.erase --limit 100
gone() { # what, then a command whose output must hold no personal value
	what=$1; shift
	"$@" >"$OUT" 2>&1
	if grep -Eq 'Ouyangfeng|13800000091|oyf@example|Retentiondemo|Retentionupdated' "$OUT"
	then not_ok "$what holds no personal value"; sed 's/^/#   /' "$OUT"
	else ok "$what holds no personal value"; fi
}
expect_grep 0 "delete by agent01" "the history's shape stays (who, when)" \
    as agent01 history customer "$C"
[ "$(grep -c '(values erased)' "$OUT")" -eq 2 ] &&
    ok "... and says both change sets were erased" ||
    not_ok "... and says both change sets were erased"
gone "the erased customer's history" as agent01 --json history customer "$C"
gone "the applied update request" as mgr-north --json request show "$RU"
gone "the applied delete request" as mgr-north --json request show "$RD"
gone "the audit trail" as compliance --json audit search --limit 1000
expect_grep 0 "Callnotekept" \
    "a call deleted at the same time keeps its values for its own period" \
    as mgr-north --json history call "$CALL"
expect_grep 0 "\"id\": *$C2\\b" "a live customer is untouched" \
    as agent01 --json show customer "$C2"

# --- nothing twice, also across a restart ---------------------------------
stop_daemon
start_daemon --policy "$TMP/ret.yaml" --retention-every 1
sleep 2
[ "$(erasures)" -eq 1 ] && ok "the tombstone is erased once, across a restart" ||
    not_ok "the tombstone is erased once (got $(erasures) records)"
expect_grep 0 "record.erase" "the log names the erasure without an actor" \
    as compliance --json audit search --op record.erase --limit 1
if grep -q '"actor"' "$OUT"; then not_ok "record.erase has no user actor"
else ok "record.erase has no user actor (the daemon did it)"; fi

# --- without a retention entry a tombstone stays --------------------------
stop_daemon
start_daemon --retention-every 1
C3=$(as mgr-north -q create customer name=Guojing phone=13800000093 \
    owner_id="$AID" label=internal)
RD3=$(req as agent01 -q request delete customer "$C3" --reason "gone")
as mgr-north approve "$RD3" --comment ok >/dev/null 2>&1
as compliance approve "$RD3" --comment ok >/dev/null 2>&1
sleep 2
expect_grep 0 "Guojing" "under the default policy (a year) the tombstone keeps its values" \
    as agent01 --json history customer "$C3"

# --- the sweep also closes expired requests, with no request operation ----
stop_daemon
sed 's/^  expiry: 72h$/  expiry: 2s/' policy/default.yaml >"$TMP/exp.yaml"
chmod 600 "$TMP/exp.yaml"
start_daemon --policy "$TMP/exp.yaml" --retention-every 1
RX=$(req as agent01 -q request update customer "$C2" needs=Expiring \
    --reason "nobody will approve this")
i=0
while ! as compliance audit search --op request.expire --limit 100 2>/dev/null |
    grep -q "request $RX expired unapproved" && [ $i -lt 40 ]; do
	sleep 0.5; i=$((i + 1))
done
expect_grep 0 "request.expire +customer $C2 +denied +request $RX expired unapproved" \
    "an expired request is closed by the sweep, no request operation needed" \
    as compliance audit search --op request.expire --limit 100
stop_daemon
expect 0 "coffer-verify accepts the log" "$BIN/coffer-verify" -q --key "$VKEY" "$LOG"
done_testing

#!/bin/sh
# t_purge.sh - purging a customer's personal data (PIPL erasure) through
# the real cofferd and coffer (docs/requests.md §7): its own approval
# chain (a manager and a compliance officer), the personal fields
# overwritten and the record tombstoned, the old values gone from its
# history and from every request about it, an audit record naming what was
# erased without the values, and the log still verifying.
. tests/e2e/lib.sh
make_vault 30
start_daemon
LOG=$VAULT/audit
VKEY=$LOG/audit.vkey

AID=$(as agent01 --json whoami 2>/dev/null | grep -Eo '"id": *[0-9]+' |
    head -1 | grep -Eo '[0-9]+$')
C=$(as mgr-north -q create customer name=Zhangsanfeng phone=13800000077 \
    email=zsf@example.com address="Wudang Road 7" needs="Needsdemo" \
    owner_id="$AID" label=internal) &&
    C2=$(as mgr-north -q create customer name=Lisiguang phone=13800000078 \
    owner_id="$AID" label=internal) &&
    CALL=$(as agent01 -q create call customer_id="$C" started=now \
    duration=60 outcome=answered) ||
    { echo "# cannot create the fixtures"; exit 1; }
req() { "$@" 2>"$ERR" | tail -1; }

# History with values, a closed request and a pending one holding values.
RU=$(req as agent01 -q request update customer "$C" needs=Needsupdated \
    --reason "more detail")
expect_grep 0 "now applied" "an update is applied first" \
    as mgr-north approve "$RU" --comment ok
RP=$(req as agent01 -q request update customer "$C" address="Pending Lane 9" \
    --reason "moved")
expect_grep 0 "Needsupdated" "before the purge, history holds the values" \
    as agent01 history customer "$C"

# --- the chain -----------------------------------------------------------
expect_grep 7 "only customers are purged" "a call is not purged" \
    as agent01 request purge call "$CALL" --reason x
expect 2 "a purge needs a reason" as agent01 request purge customer "$C"
RX=$(req as agent01 -q request purge customer "$C" \
    --reason "the customer asked to be erased (PIPL)")
case $RX in [0-9]*) ok "an agent asks for a purge of their customer" ;;
*) not_ok "request purge printed an id (got '$RX')" ;; esac
expect_grep 0 "^ *$RX +pending +purge +customer +$C .* 0/2 .* yes" \
    "compliance sees the purge in their queue" as compliance requests
expect_grep 5 "cannot approve or reject your own request" \
    "the requester cannot approve it" as agent01 approve "$RX" --comment me
expect_grep 6 "not one of yours" "another team's manager cannot approve it" \
    as mgr-south approve "$RX" --comment x
expect_grep 0 "now pending" "compliance alone is not enough" \
    as compliance approve "$RX" --comment "PIPL request verified"
expect 0 "the customer is still there" as agent01 show customer "$C"
expect_grep 0 "now applied" "the manager's approval completes it" \
    as mgr-north approve "$RX" --comment "confirmed with the customer"

# --- the data is gone ----------------------------------------------------
gone() { # what, then a command whose output must hold no personal value
	what=$1; shift
	"$@" >"$OUT" 2>&1
	if grep -Eq 'Zhangsanfeng|13800000077|zsf@example|Wudang|Needsdemo|Needsupdated|Pending Lane' "$OUT"
	then not_ok "$what holds no personal value"; sed 's/^/#   /' "$OUT"
	else ok "$what holds no personal value"; fi
}
expect 6 "the purged customer is gone from reads" as agent01 show customer "$C"
expect 6 "and from the manager's" as mgr-north show customer "$C"
expect 6 "nothing to reveal" as mgr-north reveal customer "$C" phone
expect_grep 0 "purge by agent01 \\(request $RX\\), approved by compliance,mgr-north" \
    "history shows the purge and both approvers" \
    as agent01 history customer "$C"
gone "the history (agent)" as agent01 --json history customer "$C"
gone "the history (manager)" as mgr-north --json history customer "$C"
gone "the applied update request" as mgr-north --json request show "$RU"
expect_grep 0 "^ *$RP +conflicted" "the pending request on it was closed" \
    as agent01 requests --mine --state conflicted
gone "the closed pending request" as agent01 --json request show "$RP"
gone "the purge request" as compliance --json request show "$RX"
gone "the queue" as mgr-north --json requests
expect_grep 0 "\"id\": *$CALL" "the customer's call stays, by id" \
    as mgr-north --json list calls --limit 500
expect_grep 8 "no longer pending" "an applied purge is final" \
    as mgr-north approve "$RX" --comment again

# --- a deleted customer can be purged too (with --version) -------------
RD=$(req as agent01 -q request delete customer "$C2" --reason "delete first")
as mgr-north approve "$RD" --comment ok >/dev/null 2>&1
expect_grep 0 "now applied" "a deletion is applied" \
    as compliance approve "$RD" --comment ok
V2=$(as agent01 --json history customer "$C2" 2>/dev/null |
    grep -Eo '"version": *[0-9]+' | tail -1 | grep -Eo '[0-9]+$')
RX2=$(req as agent01 -q request purge customer "$C2" --version "$V2" \
    --reason "erase after deletion")
as compliance approve "$RX2" --comment ok >/dev/null 2>&1
expect_grep 0 "now applied" "the tombstoned customer is purged" \
    as mgr-north approve "$RX2" --comment ok
gone "the deleted customer's history" as agent01 --json history customer "$C2"
if grep -q Lisiguang "$OUT"; then not_ok "the deletion's values are erased"
else ok "the deletion's change set (every field) is erased"; fi

# --- the audit trail -----------------------------------------------------
expect_grep 0 "request.purge +customer $C +allowed +request $RX purged customer $C: erased name,email,needs,phone,intent,address,company,exclude_reason; 1 history and 2 request change sets" \
    "the audit trail names what was erased" \
    as compliance audit search --op request.purge --limit 100
gone "the audit trail" as compliance --json audit search --limit 1000
expect_grep 0 "request.conflict +customer $C +denied +request $RP not applied: the record was purged" \
    "the closed request is audited" \
    as compliance audit search --op request.conflict --limit 100

# --- a policy without a purge rule allows no purge ----------------------
sed 's/^      ops: \[purge\]$/      ops: [update]/' policy/default.yaml \
    >"$TMP/nopurge.yaml"
chmod 600 "$TMP/nopurge.yaml"
stop_daemon
start_daemon --policy "$TMP/nopurge.yaml"
C3=$(as mgr-north -q create customer name=Wangwu phone=13800000079 \
    owner_id="$AID" label=internal)
expect_grep 5 "names no approval rule for purging customers" \
    "without a purge rule, no purge may be asked for" \
    as agent01 request purge customer "$C3" --reason x
stop_daemon
start_daemon
expect 0 "coffer-verify accepts the log" "$BIN/coffer-verify" -q --key "$VKEY" "$LOG"
done_testing

#!/bin/sh
# t_requests.sh - change requests through the real cofferd and coffer
# (docs/requests.md): an agent's update applied after their manager's
# signed approval, with history; self-approval and outsiders refused; the
# two-role rule for deleting a customer and the tombstone; reject,
# withdraw, expiry, conflict; forged and replayed signatures refused;
# every transition in the audit log, which still verifies.
. tests/e2e/lib.sh
make_vault 30
start_daemon
LOG=$VAULT/audit
VKEY=$LOG/audit.vkey

# A customer of agent01's (team north, manager mgr-north).
AID=$(as agent01 --json whoami 2>/dev/null | grep -Eo '"id": *[0-9]+' |
    head -1 | grep -Eo '[0-9]+$')
new_customer() {
	as mgr-north -q create customer name=测试客户 phone="$1" \
	    owner_id="$AID" label=internal
}
C1=$(new_customer 13800000001) && C2=$(new_customer 13800000002) &&
    C3=$(new_customer 13800000003) && C4=$(new_customer 13800000004) &&
    C5=$(new_customer 13800000005) ||
    { echo "# cannot create the fixtures"; exit 1; }
version_of() { as "$1" --json show customer "$2" >"$OUT" 2>"$ERR" &&
    json_num version; }
# req: the request id a -q request command printed.
req() { "$@" 2>"$ERR" | tail -1; }

# --- the full flow ------------------------------------------------------
expect 5 "an agent may not update a customer directly" \
    as agent01 update customer "$C1" intent=high
V0=$(version_of agent01 "$C1")
R1=$(req as agent01 -q request update customer "$C1" intent=high \
    --reason "the customer asked for a demo")
case $R1 in [0-9]*) ok "an agent requests an update of their own customer" ;;
*) not_ok "request update printed an id (got '$R1')" ;; esac
expect_grep 0 "^ *$R1 +pending +update +customer +$C1 +agent01 +0/1 .* yes" \
    "the manager sees it in their queue, to decide" as mgr-north requests
expect_grep 0 "^ *$R1 +pending .* -$" "the requester sees it, not to decide" \
    as agent01 requests --mine
expect_grep 0 "intent +- +high|intent +[a-z]+ +high" \
    "request show gives the diff" as mgr-north request show "$R1"
expect_grep 5 "cannot approve or reject your own request" \
    "the requester cannot approve their own request" \
    as agent01 approve "$R1" --comment mine
expect_grep 6 "not one of yours" \
    "a manager of another team cannot approve it" \
    as mgr-south approve "$R1" --comment "not my team"
expect_grep 6 "not one of yours" \
    "compliance is not an approver of an update" \
    as compliance approve "$R1" --comment x
expect_grep 0 "approved .*now applied" "the manager approves: applied" \
    as mgr-north approve "$R1" --comment "checked with the customer"
V1=$(version_of agent01 "$C1")
if [ -n "$V0" ] && [ "$V1" = $((V0 + 1)) ]; then ok "the version went up by one"
else not_ok "version $V0 -> $V1"; fi
expect_grep 0 '"intent": *"high"' "the change is in the record" \
    as agent01 --json show customer "$C1"
expect_grep 0 "version $V1 .* update by agent01 \\(request $R1\\), approved by mgr-north" \
    "history shows who asked and who approved" as agent01 history customer "$C1"
expect_grep 0 "intent +[a-z-]+ +high" "history shows old and new values" \
    as agent01 history customer "$C1"
expect_grep 8 "no longer pending" "an applied request cannot be approved again" \
    as mgr-north approve "$R1" --comment again
expect 6 "another team's manager cannot see the request" \
    as mgr-south request show "$R1"
expect_grep 5 "not in your scope" \
    "an agent cannot request changes to another agent's customer" \
    as agent02 request update customer "$C1" intent=low --reason x --version 2
expect_grep 7 "phone" "a request is validated like an update" \
    as agent01 request update customer "$C1" phone=12 --reason x
expect 2 "a request needs a reason" \
    as agent01 request update customer "$C1" intent=low
expect_grep 8 "changed since version 1" "a request on an old version is refused" \
    as agent01 request update customer "$C1" intent=low --reason x --version 1
timeout 4 "$BIN/coffer" -u mgr-north -k "$VAULT/keys/mgr-north.key" \
    requests --watch >"$OUT" 2>"$ERR"
if [ "$(grep -c '^-- ' "$OUT")" -eq 1 ] && grep -q "^ *$R1 +applied" "$OUT" ||
    grep -Eq "^ *$R1 +applied" "$OUT"; then
	ok "requests --watch prints the queue once while nothing changes"
else not_ok "requests --watch output"; fi

# --- masking: the approver sees values masked to their clearance --------
R2=$(req as agent01 -q request update customer "$C2" phone=13911112222 \
    --reason "number changed")
expect_grep 0 'phone +138\*\*\*\*0002 +139\*\*\*\*2222' \
    "a phone change is shown masked" as mgr-north request show "$R2"
if grep -q 13911112222 "$OUT"; then not_ok "the new phone number is not shown"
else ok "the new phone number is not shown in full"; fi

# --- forged and replayed signatures -------------------------------------
SIG1=$(as mgr-north approve "$R2" --comment ok --sign-only 2>"$ERR")
case $SIG1 in [0-9a-f]*) ok "--sign-only prints a signature" ;;
*) not_ok "--sign-only printed '$SIG1'" ;; esac
expect_grep 5 "signature is not yours" \
    "a signature over another comment is refused" \
    as mgr-north approve "$R2" --comment "other words" --signature "$SIG1"
expect_grep 5 "signature is not yours" \
    "an approval signature replayed as a rejection is refused" \
    as mgr-north reject "$R2" --comment ok --signature "$SIG1"
R3=$(req as agent01 -q request update customer "$C3" intent=low \
    --reason "not interested")
expect_grep 5 "signature is not yours" \
    "the signature replayed on another request is refused" \
    as mgr-north approve "$R3" --comment ok --signature "$SIG1"
SIGA=$(as agent01 approve "$R1" --comment ok --sign-only 2>/dev/null)
expect_grep 5 "signature is not yours" "another user's signature is refused" \
    as mgr-north approve "$R2" --comment ok --signature "$SIGA"
expect_grep 2 "128 hex digits" "a malformed signature is refused locally" \
    as mgr-north approve "$R2" --comment ok --signature abcd
expect_grep 0 "now applied" "the genuine signature is accepted" \
    as mgr-north approve "$R2" --comment ok --signature "$SIG1"

# --- reject and withdraw -----------------------------------------------
expect 2 "a rejection needs a comment" as mgr-north reject "$R3"
expect_grep 0 "rejected .*now rejected" "the manager rejects" \
    as mgr-north reject "$R3" --comment "customer said otherwise"
expect_grep 0 "^ *$R3 +rejected" "the requester sees the rejection" \
    as agent01 requests --mine --state rejected
expect_grep 7 "state: pending, rejected" "an unknown state is refused" \
    as agent01 requests --state maybe
R4=$(req as agent01 -q request update customer "$C3" intent=medium \
    --reason "second thoughts")
expect 5 "only the requester may withdraw" as mgr-north request withdraw "$R4"
expect_grep 0 "withdrawn" "the requester withdraws" \
    as agent01 request withdraw "$R4"
expect_grep 8 "no longer pending" "a withdrawn request cannot be approved" \
    as mgr-north approve "$R4" --comment late

# --- conflict: the record changed after the request ---------------------
R5=$(req as agent01 -q request update customer "$C4" intent=high \
    --reason "hot lead")
expect 0 "the manager edits the record directly" \
    as mgr-north update customer "$C4" intent=low
expect_grep 0 "now conflicted" "the approval finds the record changed" \
    as mgr-north approve "$R5" --comment ok
expect_grep 0 '"intent": *"low"' "the conflicted change was not applied" \
    as agent01 --json show customer "$C4"

# --- deletion of a customer: a manager and a compliance officer --------
R6=$(req as agent01 -q request delete customer "$C5" --reason "asked to be forgotten")
expect_grep 0 "^ *$R6 +pending +delete .* 0/2 .* yes" \
    "compliance sees the deletion in their queue" as compliance requests
expect_grep 0 "phone +\\(hidden\\)" \
    "compliance sees field names, never customer values" \
    as compliance request show "$R6"
if grep -q 13800000005 "$OUT"; then not_ok "compliance sees no phone number"
else ok "no phone number in compliance's view"; fi
expect_grep 0 "now pending" "the manager's approval alone is not enough" \
    as mgr-north approve "$R6" --comment "confirmed"
expect_grep 8 "already decided" "an approver decides only once" \
    as mgr-north approve "$R6" --comment "again"
expect 0 "the customer is still there" as agent01 show customer "$C5"
expect_grep 0 "now applied" "compliance approves: applied" \
    as compliance approve "$R6" --comment "PIPL request checked"
expect 6 "the tombstoned customer is gone from reads" \
    as agent01 show customer "$C5"
expect 6 "and from the manager's reads" as mgr-north show customer "$C5"
as mgr-north --json list customers --limit 500 >"$OUT" 2>"$ERR"
if grep -Eq "\"id\": *$C5[,}]" "$OUT"; then not_ok "tombstone absent from lists"
else ok "the tombstoned customer is gone from lists"; fi
expect_grep 0 "delete by agent01 \\(request $R6\\), approved by mgr-north,compliance" \
    "the deleted customer's history names both approvers" \
    as agent01 history customer "$C5"
expect_grep 0 "the record is deleted" "and says the record is deleted" \
    as agent01 history customer "$C5"
expect 5 "history of a deleted customer stays in scope" \
    as mgr-south history customer "$C5"
expect_grep 7 "no such customer" "no call can be logged for a deleted customer" \
    as agent01 create call customer_id="$C5" started=now duration=10
expect 6 "no request can be made on a deleted customer" \
    as agent01 request update customer "$C5" intent=low --reason x --version 2

# --- expiry (a policy whose requests expire after 2 seconds) -----------
sed 's/^  expiry: 72h$/  expiry: 2s/' policy/default.yaml >"$TMP/short.yaml"
chmod 600 "$TMP/short.yaml"
stop_daemon
start_daemon --policy "$TMP/short.yaml"
R7=$(req as agent01 -q request update customer "$C3" intent=high \
    --reason "will expire")
sleep 3
expect_grep 0 "^ *$R7 +expired" "an unapproved request expires" \
    as agent01 requests --mine
expect_grep 8 "is expired" "an expired request cannot be approved" \
    as mgr-north approve "$R7" --comment late
stop_daemon
start_daemon

# --- the audit trail: every transition, and it still verifies ----------
for op in request.create request.approve request.reject request.withdraw \
    request.expire request.conflict request.apply; do
	expect_grep 0 " $op " "the audit log has $op" \
	    as compliance audit search --op "$op" --limit 100
done
expect_grep 0 "request.create +customer $C1 +pending +request $R1: update" \
    "a creation is recorded as pending, with the request id" \
    as compliance audit search --op request.create --limit 100
expect_grep 0 "request.approve +customer $C1 +denied +request $R1: you cannot" \
    "a refused self-approval is recorded" \
    as compliance audit search --op request.approve --decision denied \
    --limit 100
expect_grep 0 "request.approve +customer [0-9]+ +denied +the signature is not yours" \
    "refused signatures are recorded" \
    as compliance audit search --op request.approve --decision denied \
    --limit 100
expect_grep 0 "request.apply +customer $C1 +allowed +request $R1 applied" \
    "the apply names the request and the record" \
    as compliance audit search --op request.apply --limit 100
expect_grep 0 "request $R1 approved by mgr-north \\(1 of 1\\): applied; sig:[0-9a-f]{32}" \
    "an approval's record references its signature" \
    as compliance --json audit search --op request.approve --decision allowed \
    --limit 100
expect 0 "coffer-verify accepts the log" "$BIN/coffer-verify" -q --key "$VKEY" "$LOG"
done_testing

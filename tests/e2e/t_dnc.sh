#!/bin/sh
# t_dnc.sh - the do-not-call list through the real cofferd and coffer
# (docs/dnc.md): an agent lists a number and it is effective at once for
# everyone (customers flagged, reveal refused, a call refused with an
# alert.dnc record), who may add, list and check; a removal needs a
# manager who did not ask for it; after removal only unflagged customers
# may be called again; an import brings a listed number in as excluded;
# every step audited without the full number; the log still verifies.
. tests/e2e/lib.sh
make_vault 30
start_daemon
LOG=$VAULT/audit
VKEY=$LOG/audit.vkey

uid() { as "$1" --json whoami 2>/dev/null | grep -Eo '"id": *[0-9]+' |
    head -1 | grep -Eo '[0-9]+$'; }
A1=$(uid agent01) && A2=$(uid agent02) ||
    { echo "# cannot find the agents"; exit 1; }
new_customer() { # PHONE OWNER
	as mgr-north -q create customer name=勿扰客户 phone="$1" owner_id="$2"
}
P=13800000101
PM='138\*\*\*\*0101'
C1=$(new_customer "$P" "$A1") && C2=$(new_customer "$P" "$A2") &&
    C9=$(new_customer 13800000109 "$A2") ||
    { echo "# cannot create the fixtures"; exit 1; }

# --- before: the number may be revealed and called ---------------------------
expect_grep 0 "$P" "before listing, agent02 reveals the phone" \
    as agent02 reveal customer "$C2" phone
expect_grep 0 "not on the do-not-call list" "dnc check: not listed yet" \
    as agent02 dnc check "$P"

# --- add: any customer-data role, effective at once --------------------------
expect_grep 0 "13800000101 is now on the do-not-call list; 2 customers flagged" \
    "agent01 adds the number (any written form) and both customers are flagged" \
    as agent01 dnc add "+86 138-0000-0101" --reason "客户要求不再来电"
expect_grep 0 '"do_not_call": *true' "agent02's customer is flagged do_not_call" \
    as agent02 --json show customer "$C2"
expect_grep 5 "this customer must not be called: customers.phone is never revealed" \
    "agent02's reveal of the number is refused at once" \
    as agent02 reveal customer "$C2" phone
expect_grep 5 "customer $C2 must not be called .*the call was not logged" \
    "agent02 cannot log a call to the customer (exit 5)" \
    as agent02 call "$C2" --outcome answered --duration 30
if grep -q "$P" "$OUT" "$ERR"; then not_ok "the refusal does not repeat the number"
else ok "the refusal does not repeat the number"; fi
expect_grep 0 "^0$|total\": *0" "no call was logged" \
    as agent02 --json list calls --filter customer_id="$C2"
expect 0 "a second add is accepted" \
    as agent02 dnc add "$P" --reason "asked again"
expect_grep 0 "was already on the do-not-call list; 0 customers" \
    "... and says the number was already listed" \
    as agent02 dnc add "$P" --reason "asked again"
expect_grep 5 "holds no customer data" "compliance may not add a number" \
    as compliance dnc add 13800000102 --reason x
expect_grep 5 "holds no customer data" "admin may not add a number" \
    as admin dnc add 13800000102 --reason x
expect_grep 2 "reason TEXT is required" "a reason is required" \
    as agent01 dnc add 13800000102
expect_grep 7 "phone: not a valid phone number" "a bad number is refused" \
    as agent01 dnc add 12345 --reason x

# a customer created after the number was listed is covered by the list
C3=$(new_customer "$P" "$A1")
expect_grep 5 "must not be called" "a later customer with the number: reveal refused" \
    as agent01 reveal customer "$C3" phone
expect_grep 5 "customer $C3 must not be called .*on the do-not-call list" \
    "a later customer with the number: call refused" \
    as agent01 call "$C3" --outcome answered
expect_grep 0 "logged call" "another customer may still be called" \
    as agent02 call "$C9" --outcome answered

# --- check: anyone, yes or no -------------------------------------------------
for u in agent03 mgr-south compliance admin; do
	expect_grep 0 "^yes$" "$u checks the number: yes" as "$u" -q dnc check "$P"
done
expect_grep 0 "^no$" "an unlisted number: no" as agent03 -q dnc check 13800000199
expect_grep 0 '^\{"listed": *true\}$|^\{ *"listed": *true *\}$' \
    "check answers nothing but listed" as agent03 --json dnc check "$P"

# --- list: managers and compliance, masked -----------------------------------
expect_grep 5 "for managers and compliance" "an agent may not list the numbers" \
    as agent01 dnc list
expect_grep 0 "$PM .*agent01 .*客户要求不再来电" \
    "the manager sees the number masked, who added it and why" \
    as mgr-north dnc list
if grep -q "$P" "$OUT"; then not_ok "the manager's list has no full number"
else ok "the manager's list has no full number"; fi
expect_grep 0 '"masked": *true' "the entry says it is masked" \
    as mgr-north --json dnc list
expect_grep 0 "$PM" "compliance sees the number masked" as compliance dnc list
if grep -q "$P" "$OUT"; then not_ok "compliance's list has no full number"
else ok "compliance's list has no full number"; fi

# --- removal: asked by one, decided by another manager ------------------------
expect_grep 0 "removal of 13800000101 asked for" "agent01 asks for the removal" \
    as agent01 dnc remove "$P" --reason "customer asked to be called again"
expect_grep 8 "already waiting" "a second removal request is refused" \
    as agent02 dnc remove "$P" --reason again
expect_grep 0 "$PM .*agent01 .*customer asked to be called again" \
    "the manager sees the pending removal with who asked and why" \
    as mgr-north dnc list --pending
expect_grep 5 "may not update customers" "an agent cannot approve a removal" \
    as agent02 dnc approve "$P"
expect_grep 5 "must not be called" "still listed while pending: reveal refused" \
    as agent01 reveal customer "$C3" phone
# a manager's own request: someone else must decide it
P2=13800000102
expect 0 "mgr-north lists a second number" \
    as mgr-north dnc add "$P2" --reason "complaint"
expect 0 "mgr-north asks for its removal" \
    as mgr-north dnc remove "$P2" --reason "entered by mistake"
expect_grep 5 "someone else must decide it" \
    "the requester cannot approve their own removal" \
    as mgr-north dnc approve "$P2"
expect_grep 0 "^yes$" "... and the number stays listed" \
    as agent01 -q dnc check "$P2"
expect_grep 0 "rejected: it stays on the do-not-call list" \
    "another manager rejects it" as mgr-south dnc reject "$P2" --comment "keep"
expect_grep 0 "^yes$" "a rejected removal keeps the number" \
    as agent01 -q dnc check "$P2"
expect_grep 0 "is no longer on the do-not-call list" \
    "a manager approves agent01's removal" \
    as mgr-north dnc approve "$P" --comment "confirmed with the customer"
expect_grep 0 "^no$" "the number is off the list" as agent01 -q dnc check "$P"
expect_grep 6 "is not on the do-not-call list" \
    "it cannot be approved twice" as mgr-south dnc approve "$P"

# --- after removal: only unflagged customers -------------------------------
expect_grep 0 "$P" "the unflagged later customer may be revealed again" \
    as agent01 reveal customer "$C3" phone
expect_grep 0 "logged call" "... and called again" \
    as agent01 call "$C3" --outcome answered
expect_grep 5 "must not be called" "a flagged customer stays refused (flag kept)" \
    as agent02 reveal customer "$C2" phone
expect_grep 5 "customer $C2 must not be called .*flagged" \
    "... and cannot be called" as agent02 call "$C2" --outcome answered

# --- import: a listed number comes in excluded --------------------------------
P3=13800000301
expect 0 "a third number is listed" as agent01 dnc add "$P3" --reason "asked"
printf 'name,phone\n勿扰,138 0000 0301\n可打,13800000302\n' >"$TMP/leads.csv"
expect_grep 0 "all 2 rows can be imported" "--check accepts both rows" \
    as mgr-north import customers "$TMP/leads.csv" --list dnc-test --check
grep -q "1 row imported as excluded: on the do-not-call list (line 2)" "$OUT" &&
    ok "--check names the row that will be excluded" ||
    not_ok "--check names the row that will be excluded"
expect_grep 0 "imported 2 customers" "the import takes both rows" \
    as mgr-north import customers "$TMP/leads.csv" --list dnc-test
grep -q "1 row imported as excluded: on the do-not-call list (line 2)" "$OUT" &&
    ok "the listed row is reported as excluded, not rejected" ||
    not_ok "the listed row is reported as excluded, not rejected"
ID=$(grep -Eo '\(ids [0-9]+-' "$OUT" | grep -Eo '[0-9]+')
expect_grep 0 '"stage": *"excluded"' "the listed row is imported excluded" \
    as mgr-north --json show customer "${ID:-0}"
expect_grep 0 '"do_not_call": *true' "... flagged do_not_call" \
    as mgr-north --json show customer "${ID:-0}"
expect_grep 0 '"exclude_reason": *"on the do-not-call list"' "... with the reason" \
    as mgr-north --json show customer "${ID:-0}"
expect_grep 0 '"stage": *"new"' "the other row is a new lead" \
    as mgr-north --json show customer "$((${ID:-0} + 1))"

# --- the audit trail ------------------------------------------------------
expect_grep 0 "dnc.add +customer .*allowed +$PM listed; 2 customers flagged do-not-call \\(ids $C1, $C2\\)" \
    "the add is recorded with the customers it flagged" \
    as compliance audit search --op dnc.add --limit 100
expect_grep 0 "alert.dnc .*denied +customer $C2 must not be called" \
    "the refused call raised an alert.dnc record" \
    as compliance audit search --op alert.dnc --limit 100
expect_grep 0 "dnc.remove .*pending +removal of $PM asked for" \
    "the removal request is recorded as pending" \
    as compliance audit search --op dnc.remove --limit 100
expect_grep 0 "dnc.approve .*denied .*someone else must decide" \
    "the refused self-approval is recorded" \
    as compliance audit search --op dnc.approve --limit 100
expect_grep 0 "dnc.approve .*allowed +removal of $PM approved" \
    "the approval is recorded" \
    as compliance audit search --op dnc.approve --limit 100
expect_grep 0 "dnc.reject .*allowed +removal of 138\\*\\*\\*\\*0102 rejected" \
    "the rejection is recorded" \
    as compliance audit search --op dnc.reject --limit 100
expect_grep 0 "dnc.check .*allowed +$PM: listed" "checks are recorded" \
    as compliance audit search --op dnc.check --limit 100
expect_grep 0 "import.commit .*; 1 excluded \\(do-not-call\\)" \
    "the import's record counts the excluded row" \
    as compliance audit search --op import.commit --limit 100
stop_daemon
if grep -rqa -e "$P" -e "$P2" -e "$P3" "$LOG" "$TMP/cofferd.log"; then
	not_ok "no full listed number in the audit log or the daemon log"
else ok "no full listed number in the audit log or the daemon log"; fi
expect 0 "coffer-verify accepts the log" "$BIN/coffer-verify" -q --key "$VKEY" "$LOG"
done_testing

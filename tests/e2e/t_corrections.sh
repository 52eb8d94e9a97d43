#!/bin/sh
# t_corrections.sh - direct corrections within the policy's window
# (docs/policy.md §2.8) through the real cofferd and coffer: the owner of
# a call just logged fixes its notes without a request; other fields,
# other people's records and a closed window are refused; the correction
# is audited and the log still verifies.
. tests/e2e/lib.sh
make_vault 30
start_daemon
LOG=$VAULT/audit
VKEY=$LOG/audit.vkey

AID=$(as agent01 --json whoami 2>/dev/null | grep -Eo '"id": *[0-9]+' |
    head -1 | grep -Eo '[0-9]+$')
C=$(as mgr-north -q create customer name=测试客户 phone=13800000009 \
    owner_id="$AID" label=internal) &&
    CALL=$(as agent01 -q create call customer_id="$C" started=now \
    duration=60 outcome=answered notes="custmer wants a demo") &&
    MCALL=$(as mgr-north -q create call customer_id="$C" started=now \
    duration=30 notes="manager's own call") ||
    { echo "# cannot create the fixtures"; exit 1; }

# --- within the window (default policy: call notes and outcome, 10m) ---
expect 0 "the owner corrects the notes of a call just logged" \
    as agent01 update call "$CALL" notes="customer wants a demo"
expect_grep 0 '"notes": *"customer wants a demo"' "the correction is stored" \
    as agent01 --json show call "$CALL"
expect 0 "and the outcome" as agent01 update call "$CALL" outcome=busy
expect_grep 5 "duration is not corrected directly" \
    "a field the policy does not name is refused" \
    as agent01 update call "$CALL" duration=61
expect_grep 5 "duration is not corrected directly" \
    "a listed field together with an unlisted one is refused" \
    as agent01 update call "$CALL" notes=x duration=61
expect_grep 0 '"duration": *60' "nothing of the refused update was stored" \
    as agent01 --json show call "$CALL"
expect 5 "a customer's fields are not corrected directly" \
    as agent01 update customer "$C" intent=high
expect 5 "without a grant or a correction, refused before validation" \
    as agent01 update customer "$C" phone=12
expect_grep 5 "only its owner may correct it" \
    "a call in the agent's scope but logged by someone else is refused" \
    as agent01 update call "$MCALL" notes="not mine"
expect_grep 5 "not in your scope" "another agent cannot correct it" \
    as agent02 update call "$CALL" notes="not mine"
expect_grep 0 "record.update +call $CALL +allowed +correction by the owner" \
    "the correction is audited as one" \
    as compliance audit search --op record.update --limit 100

# --- after the window (a policy with a 2-second window) ----------------
sed 's/^    window: 10m$/    window: 2s/' policy/default.yaml >"$TMP/short.yaml"
chmod 600 "$TMP/short.yaml"
stop_daemon
start_daemon --policy "$TMP/short.yaml"
CALL2=$(as agent01 -q create call customer_id="$C" started=now duration=5 \
    notes="first") || { echo "# cannot create a call"; exit 1; }
expect 0 "within 2 seconds the notes may be corrected" \
    as agent01 update call "$CALL2" notes="second"
sleep 3
expect_grep 5 "correction window has closed" \
    "after the window the correction is refused" \
    as agent01 update call "$CALL2" notes="third"
expect_grep 0 '"notes": *"second"' "the late correction was not stored" \
    as agent01 --json show call "$CALL2"
expect_grep 0 "request [0-9]+ created" \
    "after the window the change goes through a request" \
    as agent01 request update call "$CALL2" notes="third" --reason typo
stop_daemon
start_daemon

expect_grep 0 "record.update +call $CALL2 +denied" \
    "the refused correction is audited" \
    as compliance audit search --op record.update --decision denied \
    --limit 100
expect 0 "coffer-verify accepts the log" "$BIN/coffer-verify" -q --key "$VKEY" "$LOG"
done_testing

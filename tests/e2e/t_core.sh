#!/bin/sh
# t_core.sh - the core flows through the real cofferd and coffer: pinning,
# row scope per role, the agent's daily records, validation errors, version
# conflicts, user administration, and separation of duties.
. tests/e2e/lib.sh
make_vault 200
start_daemon

expect_grep 0 'SHA256:' "first connection pins the daemon key and says so" \
    as agent01 status
expect_grep 0 "agent01" "known_hosts now holds the daemon key" \
    sh -c "grep -q coffer-ed25519 '$COFFER_KNOWN_HOSTS' && echo agent01"
expect_grep 0 '"name": *"agent01"' "whoami --json names the user" \
    as agent01 --json whoami
AG1=$(json_num id)

# Row scope: an agent sees exactly their own customers.
expect 0 "agent lists own customers" as agent01 --json list customers --limit 500
owners=$(grep -Eo '"owner_id": *[0-9]+' "$OUT" | grep -Eo '[0-9]+$' | sort -u)
if [ -n "$owners" ] && [ "$owners" = "$AG1" ]; then ok "every listed customer is agent01's"
else not_ok "every listed customer is agent01's (owners: $owners, me: $AG1)"; fi
C1=$(json_num id)
expect 0 "agent02 lists own customers" as agent02 --json list customers --limit 1
C2=$(json_num id)
expect_grep 0 "$C1" "agent shows own customer" as agent01 show customer "$C1"
expect_grep 5 'scope|denied|permission' "agent cannot see another agent's customer" \
    as agent01 show customer "$C2"
expect_grep 6 'no such' "unknown id is not found" as agent01 show customer 99999999

# The agent's day: a call, a follow-up, a deal.
expect 0 "record a call" as agent01 create call customer_id="$C1" started=now \
    duration=180 outcome=answered intent=high "notes=wants a quote"
expect 0 "schedule a follow-up" as agent01 create followup customer_id="$C1" \
    due=+3d kind=callback
expect 0 "record a deal" as agent01 create deal customer_id="$C1" product_id=1 \
    amount=12800.00 contract_no=HT-2026-001 payment_status=unpaid
expect_grep 0 "HT-2026-001" "the deal is listed" \
    as agent01 --json list deals --filter customer_id="$C1"
expect_grep 5 'scope|denied' "no call on another agent's customer" \
    as agent01 create call customer_id="$C2" started=now duration=10 outcome=busy
expect_grep 7 'duration' "invalid value names the field" \
    as agent01 create call customer_id="$C1" started=now duration=100000 outcome=busy
expect_grep 7 'phone' "invalid phone names the field" \
    as agent01 create customer name=张三 phone=12345
expect_grep 2 'bogus' "unknown field refused locally" \
    as agent01 create call customer_id="$C1" bogus=1
expect 0 "create a customer with a Chinese name and +86 number" \
    as agent01 --json create customer name=李四 "phone=+86 138 0013 8000" stage=new
C3=$(json_num id)
expect_grep 0 '138\*\*\*\*8000' "show gives the phone masked" as agent01 show customer "$C3"
expect_grep 0 '^13800138000$' "phone stored normalised (reveal)" \
    as agent01 reveal customer "$C3" phone

# Agents may not change or delete customer data (company rule 4.3).
expect_grep 5 'may not update customers' "agent update is denied by the policy" \
    as agent01 update customer "$C3" intent=high --version 1
expect 0 "write a note" as agent01 --json create note kind=feedback "subject=asks for invoice"
N1=$(json_num id)
expect_grep 5 'may not delete notes' "agent delete is denied by the policy" \
    as agent01 delete note "$N1"
# Updates carry the version they were based on (as the agent's manager).
expect 0 "manager updates with the current version" \
    as mgr-north update customer "$C3" intent=high --version 1
expect_grep 8 'version|changed' "stale version is a conflict" \
    as mgr-north update customer "$C3" intent=low --version 1
expect 0 "update without --version uses the latest" as mgr-north update customer "$C3" intent=low
expect 0 "manager deletes the note" as mgr-north delete note "$N1"
expect 6 "deleted note is gone" as agent01 show note "$N1"

# Managers see their team; nobody else's.
expect 0 "manager lists the team's customers" as mgr-north --json list customers --limit 1
TEAM_TOTAL=$(json_num total)
as agent01 --json list customers --limit 1 >"$OUT" 2>"$ERR"; OWN_TOTAL=$(json_num total)
if [ "${TEAM_TOTAL:-0}" -gt "${OWN_TOTAL:-0}" ]; then ok "team view is larger than one agent's"
else not_ok "team view ($TEAM_TOTAL) larger than agent's ($OWN_TOTAL)"; fi
expect 0 "manager shows a team member's customer" as mgr-north show customer "$C2"
as agent06 --json list customers --limit 1 >"$OUT" 2>"$ERR"; C6=$(json_num id)
expect 5 "manager cannot see another team's customer" as mgr-north show customer "$C6"

# Separation of duties.
expect_grep 5 'may not list customers' "administrator sees no customer data" as admin list customers
expect 5 "compliance officer sees no customer data" as compliance show customer "$C1"
expect 5 "an agent cannot add users" as agent01 user add x --role agent \
    --clearance internal --pubkey "$VAULT/keys/agent01.pub"

# User administration, then the new user logs in.
expect 0 "keygen without passphrase" "$BIN/coffer" keygen -o "$TMP/wang.key" --no-passphrase
expect 0 "administrator adds a user" as admin user add wang --role agent --team north \
    --manager mgr-north --clearance confidential --pubkey "$TMP/wang.key.pub"
expect 8 "adding the same name twice is a conflict" as admin user add wang --role agent \
    --clearance confidential --pubkey "$TMP/wang.key.pub"
expect_grep 0 'agent' "new user logs in" "$BIN/coffer" -u wang -k "$TMP/wang.key" whoami
expect_grep 0 'wang' "user list shows the new user" as admin user list
expect 0 "administrator disables the user" as admin user disable wang
expect 4 "disabled user cannot log in" "$BIN/coffer" -u wang -k "$TMP/wang.key" status

# Authentication failures are generic and slowed.
expect 4 "wrong key is refused" "$BIN/coffer" -u agent01 -k "$VAULT/keys/agent02.key" status
sed 's/agent01/USER/g' "$ERR" >"$TMP/err-wrongkey"
expect 4 "unknown user is refused" "$BIN/coffer" -u nobody -k "$VAULT/keys/agent02.key" status
sed 's/nobody/USER/g' "$ERR" >"$TMP/err-nouser"
if diff -q "$TMP/err-wrongkey" "$TMP/err-nouser" >/dev/null; then
	ok "wrong key and unknown user get the same message"
else not_ok "wrong key and unknown user get the same message"; fi
expect 0 "daemon still serving after failed logins" as agent01 status

# A changed daemon key is refused.
cp "$COFFER_KNOWN_HOSTS" "$TMP/kh.bak"
sed -i "s|coffer-ed25519 [A-Za-z0-9+/=]*|$(cut -d' ' -f1-2 "$VAULT/keys/agent03.pub")|" \
    "$COFFER_KNOWN_HOSTS"
expect_grep 9 'known_hosts|pinned|changed|mismatch' "daemon key mismatch is refused" \
    as agent01 status
cp "$TMP/kh.bak" "$COFFER_KNOWN_HOSTS"

# One daemon per vault.
expect 4 "a second cofferd on the same vault is refused" \
    "$BIN/cofferd" -d "$VAULT" -s "$TMP/second.sock"

stop_daemon
expect 0 "cofferd --check on the stopped vault" "$BIN/cofferd" --check -d "$VAULT"
done_testing

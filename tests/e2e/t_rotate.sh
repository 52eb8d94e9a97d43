#!/bin/sh
# t_rotate.sh - key rotation through the real binaries: the audit signing
# key rotated twice with restarts in between (old data read, new data
# written), coffer-verify with only the ORIGINAL audit.pub following the
# chain, a tampered announcement and an unannounced key refused; the
# daemon identity key rotated, a client that pinned the old key following
# the signed statement (pin updated), a client pinned to an unrelated key
# still refused; every rotation in the audit log; backup and restore after
# the rotations still verify and serve.
. tests/e2e/lib.sh
ADMIN="$BIN/coffer-admin"
VERIFY="$BIN/coffer-verify"
MARK=RotateMarkerK4Q

in_log() { cat "$1"/seg-*.log | grep -aq -- "$2"; }
count_in_log() { cat "$1"/seg-*.log | grep -aoF -- "$2" | wc -l; }

make_vault 50
cp "$VAULT/audit.pub" "$TMP/audit0.pub"
cp "$VAULT/daemon.pub" "$TMP/daemon0.pub"
start_daemon
expect 0 "agent01 creates a marker customer (and pins the daemon key)" \
    as agent01 --json create customer "name=$MARK" phone=+15550111 stage=new
MID=$(json_num id)
cp "$COFFER_KNOWN_HOSTS" "$TMP/kh-old"
expect_grep 1 'in use' "rotation is refused while cofferd runs" \
    "$ADMIN" rotate audit-key "$VAULT"
stop_daemon

# --- audit key, twice ---------------------------------------------------
expect_grep 0 'generation 1' "rotate audit-key (1)" "$ADMIN" rotate audit-key "$VAULT"
if cmp -s "$VAULT/audit.pub" "$TMP/audit0.pub"; then
	ok "audit.pub still holds the first key"
else not_ok "audit.pub still holds the first key"; fi
if grep -q '^1 ' "$VAULT/keys.gen" 2>/dev/null ||
    grep -q '^3 1$' "$VAULT/keys.gen"; then ok "keys.gen records generation 1"
else not_ok "keys.gen records generation 1 ($(cat "$VAULT/keys.gen" 2>&1))"; fi
[ "$(stat -c %a "$VAULT/keys.gen")" = 600 ] && ok "keys.gen is 0600" ||
    not_ok "keys.gen is 0600"
start_daemon
expect_grep 0 "$MARK" "after restart the old data is read" \
    as agent01 --json show customer "$MID"
expect 0 "and new data written" \
    as agent01 create customer name=AfterRotation1 phone=+15550112 stage=new
stop_daemon
expect_grep 0 'OK' "cofferd --check passes after a rotation" \
    "$BIN/cofferd" --check -d "$VAULT"
expect_grep 0 'generation 2' "rotate audit-key (2)" "$ADMIN" rotate audit-key "$VAULT"
start_daemon
expect 0 "writes go on after the second rotation" \
    as agent01 create customer name=AfterRotation2 phone=+15550113 stage=new
stop_daemon
expect_grep 0 'rotations? followed' "coffer-verify with the ORIGINAL audit.pub verifies the whole log" \
    "$VERIFY" --key "$TMP/audit0.pub" "$VAULT/audit"
if grep -q '^key chain   2 audit key rotations' "$OUT"; then
	ok "coffer-verify followed both rotations"
else not_ok "coffer-verify followed both rotations"; fi
expect_grep 6 'bad signature' "the current key alone cannot vouch for the start of the log" \
    "$VERIFY" --key-text "$(cat "$VAULT/audit/audit.vkey")" "$VAULT/audit"

# a tampered announcement: one byte of the first certification changed
cp -r "$VAULT/audit" "$TMP/tampered"
SEG=$(ls "$TMP/tampered"/seg-*.log | head -1)
OFF=$(grep -abo 'nsig' "$SEG" | head -1 | cut -d: -f1)
flip "$SEG" $((OFF + 20))
expect_grep 6 'forged key announcement' "a tampered key announcement is rejected" \
    "$VERIFY" --key "$TMP/audit0.pub" "$TMP/tampered"
rm -rf "$TMP/tampered"

# --- identity key -------------------------------------------------------
expect_grep 0 'identity-key .* generation 1' "rotate identity-key" \
    "$ADMIN" rotate identity-key "$VAULT"
key_of() { cut -d' ' -f2 "$1"; }
if [ "$(key_of "$VAULT/daemon.pub")" != "$(key_of "$TMP/daemon0.pub")" ] &&
    [ "$(key_of "$VAULT/daemon.pub.0")" = "$(key_of "$TMP/daemon0.pub")" ]; then
	ok "daemon.pub is the new key, daemon.pub.0 the old one"
else not_ok "daemon.pub is the new key, daemon.pub.0 the old one"; fi
start_daemon
expect_grep 0 "$MARK" "a client that pinned the old key proceeds" \
    as agent01 --json show customer "$MID"
NEWKEY=$(cut -d' ' -f2 "$VAULT/daemon.pub")
if grep -q "$NEWKEY" "$COFFER_KNOWN_HOSTS" && ! cmp -s "$COFFER_KNOWN_HOSTS" "$TMP/kh-old"; then
	ok "its known_hosts entry now pins the new key"
else not_ok "its known_hosts entry now pins the new key"; fi
cp "$TMP/kh-old" "$COFFER_KNOWN_HOSTS"
as agent01 status >"$OUT" 2>"$ERR"
if grep -q "daemon's key was rotated on .*certified by the key you pinned.*pin updated" "$ERR"
then ok "the client tells the user about the rotation"
else not_ok "the client tells the user about the rotation"; fi
expect 0 "the next connection is an ordinary pinned one" as agent01 status
cp "$TMP/kh-old" "$COFFER_KNOWN_HOSTS"
sed -i "s|coffer-ed25519 [A-Za-z0-9+/=]*|$(cut -d' ' -f1-2 "$VAULT/keys/agent03.pub")|" \
    "$COFFER_KNOWN_HOSTS"
expect_grep 9 'known_hosts|pinned|changed|mismatch' "a client pinned to an unrelated key is still refused" \
    as agent01 status
cp "$TMP/kh-old" "$COFFER_KNOWN_HOSTS"
stop_daemon

if [ "$(count_in_log "$VAULT/audit" 'key.rotate')" -eq 3 ] &&
    in_log "$VAULT/audit" 'audit-key' && in_log "$VAULT/audit" 'identity-key'; then
	ok "every rotation is an audit record (3 key.rotate)"
else not_ok "every rotation is an audit record ($(count_in_log "$VAULT/audit" 'key.rotate'))"; fi
expect 0 "the log still verifies from the original key after all rotations" \
    "$VERIFY" -q --key "$TMP/audit0.pub" "$VAULT/audit"

# --- backup and restore after the rotations ------------------------------
expect 0 "coffer-admin backup after the rotations" "$ADMIN" backup "$VAULT" "$TMP/bk"
expect_grep 0 '^result +OK' "the backup verifies" \
    "$ADMIN" backup verify "$TMP/bk" -k "$VAULT/master.key" --key "$VAULT/daemon.pub"
expect_grep 0 '^result +OK' "the backup verifies without the recovery material" \
    "$ADMIN" backup verify "$TMP/bk" --no-db
expect 0 "restore it" "$ADMIN" restore "$TMP/bk" "$TMP/rv" -k "$VAULT/master.key" \
    --key "$VAULT/daemon.pub"
cp "$VAULT/master.key" "$TMP/rv/master.key"
if cmp -s "$TMP/rv/keys.gen" "$VAULT/keys.gen" &&
    cmp -s "$TMP/rv/audit.pub" "$TMP/audit0.pub" &&
    cmp -s "$TMP/rv/daemon.pub" "$VAULT/daemon.pub"; then
	ok "the restored vault has the generations and public keys"
else not_ok "the restored vault has the generations and public keys"; fi
expect 0 "the restored log verifies from the original key" \
    "$VERIFY" -q --key "$TMP/audit0.pub" "$TMP/rv/audit"
ORIG=$VAULT
VAULT=$TMP/rv
SOCK=$VAULT/cofferd.sock
export COFFER_SOCKET=$SOCK
start_daemon
expect_grep 0 "$MARK" "the restored vault serves the old data" \
    "$BIN/coffer" -u agent01 -k "$ORIG/keys/agent01.key" --json show customer "$MID"
stop_daemon
done_testing

#!/bin/sh
# t_rekey.sh - rotating the database key through the real binaries: refused
# while cofferd runs; rotated twice with restarts (old data read, new data
# written, cofferd --check and coffer-verify clean); the old generation no
# longer opens the database; both rotations in the audit log; an
# interrupted rotation (marker left behind) settled when cofferd starts;
# a backup after the rotations verifies, restores and serves.
. tests/e2e/lib.sh
ADMIN="$BIN/coffer-admin"
VERIFY="$BIN/coffer-verify"
MARK=RekeyMarkerQ7Z

in_log() { cat "$1"/seg-*.log | grep -aqF -- "$2"; }
dbgen() { sed -n 's/^1 //p' "$VAULT/keys.gen" 2>/dev/null; }

make_vault 200
start_daemon
expect 0 "agent01 writes a marker customer before the rotation" \
    as agent01 --json create customer "name=$MARK" phone=+15550131 stage=new
MID=$(json_num id)
expect_grep 1 'in use.*cofferd running.*stop it first' \
    "rotate database-key is refused while cofferd runs (exit 1)" \
    "$ADMIN" rotate database-key "$VAULT"
[ -z "$(dbgen)" ] && [ ! -e "$VAULT/coffer.db.rekey" ] &&
    ok "the refused rotation changed nothing" ||
    not_ok "the refused rotation changed nothing"
expect 0 "the daemon still serves after the refusal" \
    as agent01 --json show customer "$MID"
stop_daemon

# --- first rotation ------------------------------------------------------
expect_grep 0 'from generation 0 to generation 1' "rotate database-key (1)" \
    "$ADMIN" rotate database-key "$VAULT"
[ "$(dbgen)" = 1 ] && ok "keys.gen names database generation 1" ||
    not_ok "keys.gen names database generation 1 ($(cat "$VAULT/keys.gen"))"
[ ! -e "$VAULT/coffer.db.rekey" ] && ok "no rotation marker is left" ||
    not_ok "no rotation marker is left"
[ ! -s "$VAULT/coffer.db-wal" ] && ok "the WAL was checkpointed" ||
    not_ok "the WAL was checkpointed"
expect_grep 0 'OK' "cofferd --check passes after the rotation" \
    "$BIN/cofferd" --check -d "$VAULT"

# the old generation no longer opens the database: a copy whose keys.gen
# is put back to generation 0 is refused
cp -a "$VAULT" "$TMP/oldgen"
printf 'coffer-keys-gen-v1\n' >"$TMP/oldgen/keys.gen"
expect_grep 3 'coffer.db: wrong key' \
    "the old database key no longer opens the database" \
    "$BIN/cofferd" --check -d "$TMP/oldgen"
rm -rf "$TMP/oldgen"

start_daemon
expect_grep 0 "$MARK" "after restart the data from before the rotation is read" \
    as agent01 --json show customer "$MID"
expect 0 "and new data is written" \
    as agent01 --json create customer name=AfterRekey1 phone=+15550132 stage=new
MID1=$(json_num id)
stop_daemon

# --- second rotation -----------------------------------------------------
expect_grep 0 'from generation 1 to generation 2' "rotate database-key (2)" \
    "$ADMIN" rotate database-key "$VAULT"
[ "$(dbgen)" = 2 ] && ok "keys.gen names database generation 2" ||
    not_ok "keys.gen names database generation 2"
start_daemon
expect_grep 0 "$MARK" "after the second rotation the old data is read" \
    as agent01 --json show customer "$MID"
expect_grep 0 'AfterRekey1' "and the data written between the rotations" \
    as agent01 --json show customer "$MID1"
expect 0 "writes go on after the second rotation" \
    as agent01 create customer name=AfterRekey2 phone=+15550133 stage=new
stop_daemon

if in_log "$VAULT/audit" 'database-key rotated from generation 0 to generation 1' &&
    in_log "$VAULT/audit" 'database-key rotated from generation 1 to generation 2'
then ok "both rotations are key.rotate records naming both generations"
else not_ok "both rotations are key.rotate records naming both generations"; fi
expect 0 "coffer-verify passes across the rotations" \
    "$VERIFY" -q --key "$VAULT/audit.pub" "$VAULT/audit"

# --- an interrupted rotation ----------------------------------------------
# A crash after the marker was written and before the rekey committed
# leaves exactly this: the marker, keys.gen and the file at generation 2.
printf 'coffer-db-rekey-v1 2 3\n' >"$VAULT/coffer.db.rekey"
chmod 600 "$VAULT/coffer.db.rekey"
start_daemon
if grep -q 'interrupted database key rotation 2 -> 3 settled: generation 2 in force' \
    "$TMP/cofferd.log"; then ok "cofferd settles an interrupted rotation and logs it"
else not_ok "cofferd settles an interrupted rotation and logs it"; fi
[ ! -e "$VAULT/coffer.db.rekey" ] && [ "$(dbgen)" = 2 ] &&
    ok "the marker is gone and generation 2 stays" ||
    not_ok "the marker is gone and generation 2 stays"
expect_grep 0 "$MARK" "the vault serves after the recovery" \
    as agent01 --json show customer "$MID"
stop_daemon
if in_log "$VAULT/audit" 'rotation from generation 2 to generation 3 rolled back at open'
then ok "the recovery is in the audit log"
else not_ok "the recovery is in the audit log"; fi
printf 'coffer-db-rekey-v1 0 1\n' >"$VAULT/coffer.db.rekey"
chmod 600 "$VAULT/coffer.db.rekey"
expect_grep 1 'coffer.db.rekey: malformed, or names generations' \
    "a marker that does not fit keys.gen stops the vault from opening" \
    "$ADMIN" rotate database-key "$VAULT"
rm -f "$VAULT/coffer.db.rekey"

# --- backup after the rotations -------------------------------------------
expect 0 "coffer-admin backup after the rotations" "$ADMIN" backup "$VAULT" "$TMP/bk"
expect_grep 0 '^result +OK' "the backup verifies" \
    "$ADMIN" backup verify "$TMP/bk" -k "$VAULT/master.key" --key "$VAULT/daemon.pub"
expect 0 "restore it" "$ADMIN" restore "$TMP/bk" "$TMP/rv" -k "$VAULT/master.key" \
    --key "$VAULT/daemon.pub"
cp "$VAULT/master.key" "$TMP/rv/master.key"
cmp -s "$TMP/rv/keys.gen" "$VAULT/keys.gen" &&
    ok "the restored vault keeps database generation 2" ||
    not_ok "the restored vault keeps database generation 2"
expect_grep 0 'OK' "cofferd --check passes on the restored vault" \
    "$BIN/cofferd" --check -d "$TMP/rv"
ORIG=$VAULT
VAULT=$TMP/rv
SOCK=$VAULT/cofferd.sock
export COFFER_SOCKET=$SOCK
start_daemon
expect_grep 0 "$MARK" "the restored vault serves the data" \
    "$BIN/coffer" -u agent01 -k "$ORIG/keys/agent01.key" --json show customer "$MID"
stop_daemon
expect_grep 0 'from generation 2 to generation 3' "the restored vault rotates on" \
    "$ADMIN" rotate database-key "$VAULT"
expect_grep 0 'OK' "and still passes cofferd --check" \
    "$BIN/cofferd" --check -d "$VAULT"
done_testing

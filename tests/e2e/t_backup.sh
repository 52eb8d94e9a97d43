#!/bin/sh
# t_backup.sh - backups through the real binaries: a demo vault with some
# daemon traffic, an online backup through cofferd while a client writes
# (verified, restored and served), coffer-admin backup (refused while
# cofferd runs), verify
# with the right and wrong keys and after tampering (each fault named),
# restore into a new directory, cofferd on the restored vault serving the
# data written before the backup, and coffer-verify showing the restored
# log extends the backup's checkpoint with a "vault.restore" record;
# coffer-admin passphrase (reseal) to a new passphrase, a key file and back.
. tests/e2e/lib.sh
ADMIN="$BIN/coffer-admin"
ORIG=$VAULT
BK=$TMP/backup
MARK=BackupMarkerQ7Z

mode_of() { stat -c %a "$1" 2>/dev/null; }
# in_log DIR OP: OP appears in DIR's segments (records are CBOR; the op
# is a text string in them).
in_log() { cat "$1"/seg-*.log | grep -aq -- "$2"; }

make_vault 200
start_daemon
expect 0 "agent01 creates a marker customer" \
    as agent01 --json create customer "name=$MARK" phone=+15550100 stage=new
MID=$(json_num id)
expect 0 "agent01 reads it back" as agent01 --json show customer "$MID"
expect_grep 1 'in use' "backup is refused while cofferd runs" \
    "$ADMIN" backup "$VAULT" "$BK"
[ ! -e "$BK" ] && ok "the refused backup left nothing" ||
    not_ok "the refused backup left $BK"
(umask 077; echo "never used" >"$TMP/unused-pass")
expect_grep 1 'in use' "a passphrase change is refused while cofferd runs" \
    "$ADMIN" passphrase "$VAULT" --new-passphrase-file "$TMP/unused-pass"

# --- online backup: cofferd keeps serving, a client keeps writing ---------
OBK=$TMP/online
( i=0; while [ $i -lt 40 ]; do
	as agent01 create customer "name=Busy$i" phone=+1555020$i stage=new \
	    >/dev/null 2>&1 || echo "write $i failed" >>"$TMP/writer.err"
	i=$((i + 1)); done; echo done >"$TMP/writer.done" ) &
WRITER=$!
sleep 0.3
T0=$(date +%s%N)
expect_grep 0 '^manifest sha256:[0-9a-f]{64}$' "coffer backup while cofferd serves and a client writes" \
    as admin backup "$OBK"
T1=$(date +%s%N)
echo "# online backup took $(( (T1 - T0) / 1000000 )) ms (whole client command)"
OID=$(sed -n 's/^manifest sha256://p' "$OUT")
expect_grep 0 '"manifest": *"[0-9a-f]{64}"' "coffer --json backup prints the manifest id" \
    as admin --json backup "$TMP/online2"
wait $WRITER
if [ -f "$TMP/writer.done" ] && [ ! -s "$TMP/writer.err" 2>/dev/null ]; then
	ok "every concurrent write succeeded during the backups"
else not_ok "concurrent writes ($(cat "$TMP/writer.err" 2>/dev/null | head -3))"; fi
expect 5 "an agent may not take a backup (exit 5)" as agent01 backup "$TMP/agentbk"
[ ! -e "$TMP/agentbk" ] && ok "the refused backup made no directory" ||
    not_ok "the refused backup made $TMP/agentbk"
expect_grep 7 'absolute' "a relative backup path is refused" as admin backup rel/dir
expect_grep 8 'already exists' "an existing backup directory is refused" \
    as admin backup "$OBK"
expect_grep 6 'not an existing directory' "a backup under a missing parent is refused" \
    as admin backup "$TMP/nope/dir"
expect_grep 7 'inside the vault' "a backup inside the vault directory is refused" \
    as admin backup "$VAULT/bk"
expect_grep 0 'backup.create' "the backup requests are in the audit trail" \
    as compliance audit search --op backup.create
if in_log "$OBK/audit" "started: backup to $OBK"; then
	ok "the online backup carries its own backup.create record"
else not_ok "the online backup carries its own backup.create record"; fi
stop_daemon
expect_grep 0 '^result +OK' "coffer-admin backup verify passes on the online backup" \
    "$ADMIN" backup verify "$OBK" -k "$VAULT/master.key" --key "$VAULT/daemon.pub"
if grep -q "sha256:$OID" "$OUT"; then ok "verify names the manifest id coffer printed"
else not_ok "verify names the manifest id coffer printed"; fi
expect_grep 0 '^result +OK' "the second online backup verifies too" \
    "$ADMIN" backup verify "$TMP/online2" -k "$VAULT/master.key" --key "$VAULT/daemon.pub"
rm -rf "$TMP/online2"

# --- backup and verify ------------------------------------------------------
expect_grep 0 '^backup written' "backup of the stopped vault" \
    "$ADMIN" backup "$VAULT" "$BK"
ID=$(sed -n 's/^manifest: sha256://p' "$OUT")
if [ "$(mode_of "$BK")" = 700 ] && [ "$(mode_of "$BK/coffer.db")" = 600 ] &&
    [ "$(mode_of "$BK/master.sealed")" = 600 ] && [ -f "$BK/MANIFEST" ] &&
    [ ! -e "$BK/master.key" ] && [ ! -e "$BK/keys" ]; then
	ok "backup dir 0700, files 0600, a MANIFEST, no key file, no user keys"
else not_ok "backup layout ($(ls -la "$BK" | tr '\n' ' '))"; fi
if in_log "$BK/audit" backup.create; then ok "the backup carries its own backup.create record"
else not_ok "the backup carries its own backup.create record"; fi
if grep -raq -- "$MARK" "$BK"; then not_ok "no plaintext customer data in the backup"
else ok "no plaintext customer data in the backup"; fi
if sqlite3 "$BK/coffer.db" 'SELECT count(*) FROM sqlite_master' >"$OUT" 2>"$ERR"
then not_ok "sqlite3 cannot read the database copy without the backup key"
else ok "sqlite3 cannot read the database copy without the backup key"; fi

# The copy is keyed with the backup key, not the database key: put it in
# place of a vault's database and the vault no longer opens.
cp -a "$VAULT" "$TMP/swap"
rm -f "$TMP/swap/coffer.db-wal" "$TMP/swap/coffer.db-shm"
cp "$BK/coffer.db" "$TMP/swap/coffer.db"
expect_grep 1 'coffer.db: wrong key' "the copy does not open with the vault's database key" \
    "$ADMIN" user list "$TMP/swap"
rm -rf "$TMP/swap"

expect_grep 0 '^result +OK' "verify with the key file and --key daemon.pub" \
    "$ADMIN" backup verify "$BK" -k "$VAULT/master.key" --key "$VAULT/daemon.pub"
if grep -q 'integrity_check and cipher_integrity_check ok' "$OUT" &&
    grep -q "sha256:$ID" "$OUT"; then
	ok "verify opened the database copy and names the manifest hash"
else not_ok "verify opened the database copy and names the manifest hash"; fi
expect_grep 0 '^result +OK' "verify --vault pins daemon.pub and uses its key file" \
    "$ADMIN" backup verify "$BK" --vault "$VAULT"
if in_log "$VAULT/audit" backup.verify; then ok "verify --vault is recorded in the vault's log"
else not_ok "verify --vault is recorded in the vault's log"; fi
expect_grep 0 'WARNING' "verify --no-db without a pinned key warns" \
    "$ADMIN" backup verify "$BK" --no-db
expect_grep 1 'another vault key' "verify against another daemon key fails" \
    "$ADMIN" backup verify "$BK" --no-db --key "$VAULT/audit.pub"

# A key file of another vault does not open the backup.
"$ADMIN" init "$TMP/other" --key-file "$TMP/other.key" --admin a \
    --admin-pubkey "$VAULT/keys/admin.pub" >/dev/null 2>&1
expect_grep 1 'wrong or damaged key file' "verify with a wrong key file fails" \
    "$ADMIN" backup verify "$BK" -k "$TMP/other.key"

# --- damaged backups: each fault named, each refused by restore -----------
damaged() { rm -rf "$TMP/bad"; cp -a "$BK" "$TMP/bad"; }
damaged; flip "$TMP/bad/coffer.db" 100000
expect_grep 1 'bad/coffer.db: SHA-256 differs' "a flipped byte in the db copy: verify names coffer.db" \
    "$ADMIN" backup verify "$TMP/bad" -k "$VAULT/master.key" --key "$VAULT/daemon.pub"
expect_grep 1 'coffer.db' "restore refuses the damaged backup" \
    "$ADMIN" restore "$TMP/bad" "$TMP/rbad" -k "$VAULT/master.key"
[ ! -e "$TMP/rbad" ] && ok "the refused restore left nothing" ||
    not_ok "the refused restore left $TMP/rbad"
damaged; seg=$(ls "$TMP/bad/audit" | grep '^seg-' | head -1)
truncate -s -40 "$TMP/bad/audit/$seg"
expect_grep 1 "audit/$seg: size" "a truncated audit segment is named" \
    "$ADMIN" backup verify "$TMP/bad" --no-db
# One second later: always a different value (the old edit zeroed the last
# digit, which changed nothing one time in ten).
damaged; awk '$1 == "created" { $2 = $2 + 1 } { print }' "$TMP/bad/MANIFEST" \
    >"$TMP/bad/MANIFEST.new" && mv "$TMP/bad/MANIFEST.new" "$TMP/bad/MANIFEST"
cmp -s "$BK/MANIFEST" "$TMP/bad/MANIFEST" && not_ok "the manifest edit changed nothing" ||
    ok "the manifest was edited"
expect_grep 1 'MANIFEST: the signature does not verify' "an edited manifest fails its signature" \
    "$ADMIN" backup verify "$TMP/bad" --no-db
damaged; echo extra >"$TMP/bad/notes.txt"
expect_grep 1 'notes.txt: not listed' "an unlisted file is refused" \
    "$ADMIN" backup verify "$TMP/bad" --no-db
damaged; rm "$TMP/bad/MANIFEST"
expect_grep 1 'MANIFEST: cannot read' "a backup without a manifest is refused" \
    "$ADMIN" backup verify "$TMP/bad" --no-db
rm -rf "$TMP/bad"

# --- restore and serve -----------------------------------------------------
RV=$TMP/restored
expect_grep 0 '^restored: ' "restore into a new directory" \
    "$ADMIN" restore "$BK" "$RV" -k "$VAULT/master.key" --key "$VAULT/daemon.pub"
expect_grep 1 'not empty|exists' "restore into a non-empty directory is refused" \
    "$ADMIN" restore "$BK" "$RV" -k "$VAULT/master.key"
if cmp -s "$RV/daemon.pub" "$VAULT/daemon.pub" && [ "$(mode_of "$RV")" = 700 ] &&
    [ "$(mode_of "$RV/coffer.db")" = 600 ]; then
	ok "the restored vault has the same daemon key, 0700, db 0600"
else not_ok "restored vault layout ($(ls -la "$RV" | tr '\n' ' '))"; fi
expect_grep 0 'the log extends it' "coffer-verify: the restored log extends the backup's checkpoint" \
    "$BIN/coffer-verify" --key "$VAULT/audit.pub" --checkpoint "$BK/audit/checkpoint" "$RV/audit"
if in_log "$RV/audit" vault.restore && in_log "$RV/audit" "$ID"; then
	ok "the restored log has vault.restore naming the manifest hash"
else not_ok "the restored log has vault.restore naming the manifest hash"; fi

install -m 600 "$VAULT/master.key" "$RV/master.key"
VAULT=$RV
SOCK=$RV/cofferd.sock
export COFFER_SOCKET=$SOCK
start_daemon
as() { u=$1; shift; "$BIN/coffer" -u "$u" -k "$ORIG/keys/$u.key" "$@"; }
expect_grep 0 "$MARK" "the restored daemon serves the customer written before the backup" \
    as agent01 --json show customer "$MID"
expect_grep 0 'vault.restore' "the compliance officer finds the restore record" \
    as compliance audit search --op vault.restore
stop_daemon
expect 0 "coffer-verify of the restored log after serving" \
    "$BIN/coffer-verify" --key "$ORIG/audit.pub" --checkpoint "$BK/audit/checkpoint" "$RV/audit"

# --- the online backup restores and serves --------------------------------
ORV=$TMP/orestored
expect_grep 0 '^restored: ' "restore of the online backup" \
    "$ADMIN" restore "$OBK" "$ORV" -k "$ORIG/master.key" --key "$ORIG/daemon.pub"
install -m 600 "$ORIG/master.key" "$ORV/master.key"
VAULT=$ORV
SOCK=$ORV/cofferd.sock
export COFFER_SOCKET=$SOCK
start_daemon
expect_grep 0 "$MARK" "the daemon on the restored online backup serves the marker" \
    as agent01 --json show customer "$MID"
expect 0 "and takes new writes" \
    as agent01 create customer name=AfterRestore phone=+15550199 stage=new
stop_daemon
expect 0 "coffer-verify: the restored online backup's log extends its checkpoint" \
    "$BIN/coffer-verify" --key "$ORIG/audit.pub" --checkpoint "$OBK/audit/checkpoint" "$ORV/audit"

# --- a passphrase vault: recovery from the backup and the passphrase alone --
export COFFER_PWHASH_FAST=1 # Argon2id at INTERACTIVE cost: tests only
(umask 077; echo "correct horse battery staple" >"$TMP/pass";
    echo "correct horse battery stable" >"$TMP/wrong")
PV=$TMP/pv
"$ADMIN" init "$PV" --passphrase-file "$TMP/pass" --admin alice \
    --admin-pubkey "$ORIG/keys/admin.pub" >/dev/null 2>&1
cp "$PV/daemon.pub" "$TMP/pv-daemon.pub"
cp "$PV/audit.pub" "$TMP/pv-audit.pub"
expect_grep 0 '^backup written' "backup of a passphrase vault" \
    "$ADMIN" backup "$PV" "$TMP/pvbk" -p "$TMP/pass"
expect_grep 1 'wrong passphrase' "verify with a wrong passphrase is refused" \
    "$ADMIN" backup verify "$TMP/pvbk" -p "$TMP/wrong"
expect_grep 1 'wrong passphrase' "restore with a wrong passphrase is refused" \
    "$ADMIN" restore "$TMP/pvbk" "$TMP/pvr" -p "$TMP/wrong"
[ ! -e "$TMP/pvr" ] && ok "the refused restore made no directory" ||
    not_ok "the refused restore made $TMP/pvr"
rm -rf "$PV"
expect_grep 0 '^restored: ' "restore with the passphrase alone, the original vault gone" \
    "$ADMIN" restore "$TMP/pvbk" "$TMP/pvr" -p "$TMP/pass" --key "$TMP/pv-daemon.pub"
expect_grep 0 'alice' "the restored passphrase vault opens and lists its administrator" \
    "$ADMIN" user list "$TMP/pvr" -p "$TMP/pass"
expect 0 "coffer-verify of the restored passphrase vault's log" \
    "$BIN/coffer-verify" --key "$TMP/pv-audit.pub" --checkpoint "$TMP/pvbk/audit/checkpoint" "$TMP/pvr/audit"

# --- passphrase change: reseal only ----------------------------------------
RS=$TMP/rs
(umask 077; echo "a brand new passphrase" >"$TMP/newpass")
"$ADMIN" init "$RS" --passphrase-file "$TMP/pass" --admin alice \
    --admin-pubkey "$ORIG/keys/admin.pub" >/dev/null 2>&1
"$ADMIN" backup "$RS" "$TMP/rsbk" -p "$TMP/pass" >/dev/null 2>&1
DBSUM=$(sha256sum <"$RS/coffer.db")
cp "$RS/master.sealed" "$TMP/rs-old.sealed"
expect_grep 1 'wrong passphrase' "a wrong current passphrase is refused" \
    "$ADMIN" passphrase "$RS" -p "$TMP/wrong" --new-passphrase-file "$TMP/newpass"
cmp -s "$RS/master.sealed" "$TMP/rs-old.sealed" &&
    ok "the refused change left master.sealed as it was" ||
    not_ok "the refused change left master.sealed as it was"
T0=$(date +%s%N)
expect_grep 0 'resealed under a new passphrase' "coffer-admin passphrase changes the passphrase" \
    "$ADMIN" passphrase "$RS" -p "$TMP/pass" --new-passphrase-file "$TMP/newpass"
T1=$(date +%s%N)
echo "# passphrase change took $(( (T1 - T0) / 1000000 )) ms (Argon2id at the test cost)"
expect_grep 1 'wrong passphrase' "the old passphrase no longer opens the vault" \
    "$ADMIN" user list "$RS" -p "$TMP/pass"
expect_grep 0 'alice' "the new passphrase opens it and the users are intact" \
    "$ADMIN" user list "$RS" -p "$TMP/newpass"
if [ "$(sha256sum <"$RS/coffer.db")" = "$DBSUM" ] &&
    [ ! -e "$RS/master.sealed.new" ] && [ "$(mode_of "$RS/master.sealed")" = 600 ]; then
	ok "the database is untouched, no temporary file left, master.sealed 0600"
else not_ok "reseal side effects ($(ls -la "$RS" | tr '\n' ' '))"; fi
if in_log "$RS/audit" key.reseal; then ok "the change is a key.reseal audit record"
else not_ok "the change is a key.reseal audit record"; fi
expect 0 "coffer-verify of the log across the reseal" \
    "$BIN/coffer-verify" --key "$RS/audit.pub" "$RS/audit"
cp "$RS/daemon.pub" "$TMP/rs-daemon.pub"
expect_grep 0 '^result +OK' "a backup taken before still opens with the old passphrase" \
    "$ADMIN" backup verify "$TMP/rsbk" -p "$TMP/pass" --key "$RS/daemon.pub"
# to a key file and back
expect_grep 0 'resealed under a new key file' "switch to key-file sealing" \
    "$ADMIN" passphrase "$RS" -p "$TMP/newpass" --new-key-file "$TMP/rs.key"
expect_grep 0 'alice' "the new key file opens the vault" \
    "$ADMIN" user list "$RS" -k "$TMP/rs.key"
expect_grep 1 'wrong|damaged|key file' "the passphrase no longer does" \
    "$ADMIN" user list "$RS" -p "$TMP/newpass"
expect_grep 1 'must be a new file' "an existing file as the new key file is refused" \
    "$ADMIN" passphrase "$RS" -k "$TMP/rs.key" --new-key-file "$TMP/rs.key"
expect_grep 0 'alice' "and the refused change kept the key file working" \
    "$ADMIN" user list "$RS" -k "$TMP/rs.key"
expect_grep 0 'resealed under a new passphrase' "switch back to a passphrase" \
    "$ADMIN" passphrase "$RS" -k "$TMP/rs.key" --new-passphrase-file "$TMP/newpass"
VAULT=$RS
SOCK=$RS/cofferd.sock
export COFFER_SOCKET=$SOCK
start_daemon --passphrase-file "$TMP/newpass"
expect_grep 0 'alice' "cofferd starts with the new passphrase and serves" \
    "$BIN/coffer" -u alice -k "$ORIG/keys/admin.key" whoami
stop_daemon
if cmp -s "$RS/daemon.pub" "$TMP/rs-daemon.pub"; then
	ok "the daemon identity did not change"
else not_ok "the daemon identity did not change"; fi
done_testing

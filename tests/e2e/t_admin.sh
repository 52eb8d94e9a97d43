#!/bin/sh
# t_admin.sh - coffer-admin and vault opening through the real binaries:
# init under a passphrase and under a key file, cofferd --check with right
# and wrong secrets, refusal of loose permissions and non-empty targets,
# offline user add (then a login) and its refusal while cofferd runs, the
# printed daemon key against what coffer pins, and the command line itself.
. tests/e2e/lib.sh
# Argon2id at INTERACTIVE cost: tests only (docs/keys.md).
export COFFER_PWHASH_FAST=1
ADMIN="$BIN/coffer-admin"
SEC=$TMP/secret
mkdir -m 700 "$SEC"

# A 0600 file holding one line.
secret_file() { (umask 077; printf '%s\n' "$2" >"$1"); }
mode_of() { stat -c %a "$1" 2>/dev/null; }

expect 0 "keygen for the first administrator" \
    "$BIN/coffer" keygen -o "$TMP/alice.key" --no-passphrase
expect 0 "keygen for a second user" \
    "$BIN/coffer" keygen -o "$TMP/bob.key" --no-passphrase
secret_file "$SEC/pass" "correct horse battery staple"
secret_file "$SEC/wrong" "correct horse battery stable"

# --- a passphrase vault --------------------------------------------------
PV=$TMP/pv
expect_grep 0 '^daemon key: SHA256:' "init --passphrase-file creates a vault" \
    "$ADMIN" init "$PV" --passphrase-file "$SEC/pass" --admin alice \
    --admin-pubkey "$TMP/alice.key.pub"
INIT_FPR=$(sed -n 's/^daemon key: //p' "$OUT")
if [ "$(mode_of "$PV")" = 700 ] && [ "$(mode_of "$PV/master.sealed")" = 600 ] &&
    [ "$(mode_of "$PV/coffer.db")" = 600 ] && [ "$(mode_of "$PV/daemon.pub")" = 644 ] &&
    [ ! -e "$PV/master.key" ]; then
	ok "vault 0700, master.sealed and coffer.db 0600, daemon.pub 0644, no key file"
else
	not_ok "vault file modes ($(ls -la "$PV" | tr '\n' ' '))"
fi
if [ "$(wc -c <"$PV/master.sealed")" -eq 114 ]; then ok "master.sealed is the 114-byte passphrase kind"
else not_ok "master.sealed is the 114-byte passphrase kind"; fi
expect_grep 0 '^vault OK' "cofferd --check with the right passphrase file" \
    "$BIN/cofferd" --check -d "$PV" -p "$SEC/pass"
expect_grep 3 'wrong key or passphrase' "cofferd --check with a wrong passphrase: exit 3" \
    "$BIN/cofferd" --check -d "$PV" -p "$SEC/wrong"
expect_grep 1 'wrong passphrase' "coffer-admin user list with a wrong passphrase: exit 1" \
    "$ADMIN" user list "$PV" -p "$SEC/wrong"
chmod 644 "$SEC/pass"
expect_grep 3 'permission' "a passphrase file readable by others is refused" \
    "$BIN/cofferd" --check -d "$PV" -p "$SEC/pass"
chmod 600 "$SEC/pass"

# --- a key-file vault ----------------------------------------------------
KV=$TMP/kv
KF=$SEC/kv.key
expect_grep 0 '^daemon key: SHA256:' "init --key-file creates a vault" \
    "$ADMIN" init "$KV" --key-file "$KF" --admin alice \
    --admin-pubkey "$TMP/alice.key.pub" --display "Alice Admin"
if [ "$(mode_of "$KF")" = 600 ] && [ "$(wc -c <"$KF")" -eq 63 ] &&
    head -c 18 "$KF" | grep -q '^coffer-wrapkey-v1 $'; then
	ok "the key file is 0600, 63 bytes, coffer-wrapkey-v1"
else not_ok "the key file is 0600, 63 bytes, coffer-wrapkey-v1"; fi
if [ "$(wc -c <"$KV/master.sealed")" -eq 82 ]; then ok "master.sealed is the 82-byte key-file kind"
else not_ok "master.sealed is the 82-byte key-file kind"; fi
expect_grep 0 '^vault OK' "cofferd --check with the key file" \
    "$BIN/cofferd" --check -d "$KV" -k "$KF"
secret_file "$SEC/other.key" "coffer-wrapkey-v1 $(head -c 32 /dev/urandom | base64)"
expect_grep 3 'wrong key' "cofferd --check with a well-formed but wrong key file: exit 3" \
    "$BIN/cofferd" --check -d "$KV" -k "$SEC/other.key"
expect_grep 1 'already exists' "init never overwrites an existing key file" \
    "$ADMIN" init "$TMP/kv2" --key-file "$KF" --admin alice \
    --admin-pubkey "$TMP/alice.key.pub"
[ ! -e "$TMP/kv2" ] && ok "nothing created when the key file exists" ||
    not_ok "nothing created when the key file exists"
chmod 644 "$KF"
expect_grep 3 'permission' "cofferd refuses a key file with mode 0644" \
    "$BIN/cofferd" --check -d "$KV" -k "$KF"
expect_grep 1 'permission' "coffer-admin refuses a key file with mode 0644" \
    "$ADMIN" user list "$KV" -k "$KF"
chmod 600 "$KF"
chmod 770 "$KV"
expect_grep 3 'permission' "cofferd refuses a group-writable vault directory" \
    "$BIN/cofferd" --check -d "$KV" -k "$KF"
expect_grep 1 'permission' "coffer-admin refuses a group-writable vault directory" \
    "$ADMIN" user list "$KV" -k "$KF"
chmod 700 "$KV"
expect_grep 0 '^vault OK' "the same vault opens again once the modes are right" \
    "$BIN/cofferd" --check -d "$KV" -k "$KF"

# --- what init refuses -----------------------------------------------------
mkdir -m 700 "$TMP/full"; : >"$TMP/full/keep"
expect_grep 1 'not an empty directory' "init into a non-empty directory is refused" \
    "$ADMIN" init "$TMP/full" --key-file "$SEC/full.key" --admin alice \
    --admin-pubkey "$TMP/alice.key.pub"
if [ "$(ls "$TMP/full")" = keep ] && [ ! -e "$SEC/full.key" ]; then
	ok "the refused directory and key file path are untouched"
else not_ok "the refused directory and key file path are untouched"; fi
expect_grep 1 'not an empty directory' "init over an existing vault is refused" \
    "$ADMIN" init "$PV" --passphrase-file "$SEC/pass" --admin alice \
    --admin-pubkey "$TMP/alice.key.pub"
expect_grep 0 '^vault OK' "the existing vault is intact" \
    "$BIN/cofferd" --check -d "$PV" -p "$SEC/pass"
mkdir -m 755 "$TMP/empty"
expect 0 "init into an existing empty directory" \
    "$ADMIN" init "$TMP/empty" --key-file "$SEC/empty.key" --admin alice \
    --admin-pubkey "$TMP/alice.key.pub"
[ "$(mode_of "$TMP/empty")" = 700 ] && ok "the empty directory is now 0700" ||
    not_ok "the empty directory is now 0700 (is $(mode_of "$TMP/empty"))"
cp "$SEC/pass" "$TMP/loose-pass"; chmod 644 "$TMP/loose-pass"
expect_grep 1 'permission' "init refuses a passphrase file readable by others" \
    "$ADMIN" init "$TMP/lp" --passphrase-file "$TMP/loose-pass" --admin alice \
    --admin-pubkey "$TMP/alice.key.pub"
[ ! -e "$TMP/lp" ] && ok "nothing created after the refused passphrase file" ||
    not_ok "nothing created after the refused passphrase file"
expect_grep 1 'name' "an invalid administrator name fails" \
    "$ADMIN" init "$TMP/bn" --key-file "$SEC/bn.key" --admin "bad name" \
    --admin-pubkey "$TMP/alice.key.pub"
if [ ! -e "$TMP/bn" ] && [ ! -e "$SEC/bn.key" ]; then
	ok "a failed init removes the vault and the key file it made"
else not_ok "a failed init removes the vault and the key file it made"; fi
printf 'coffer-ed25519 notbase64\n' >"$TMP/bad.pub"
expect_grep 1 'not a coffer public key' "a malformed --admin-pubkey is refused" \
    "$ADMIN" init "$TMP/bp" --key-file "$SEC/bp.key" --admin alice \
    --admin-pubkey "$TMP/bad.pub"

# --- user add offline, then the user logs in --------------------------------
expect_grep 0 'user bob added' "user add offline into the passphrase vault" \
    "$ADMIN" user add "$PV" bob --role agent --clearance internal --team north \
    --manager alice --pubkey "$TMP/bob.key.pub" -p "$SEC/pass"
expect_grep 1 'already exists' "the same name twice is refused" \
    "$ADMIN" user add "$PV" bob --role agent --clearance internal \
    --pubkey "$TMP/bob.key.pub" -p "$SEC/pass"
expect_grep 1 'no such user' "an unknown --manager is refused" \
    "$ADMIN" user add "$PV" carol --role agent --clearance internal \
    --manager nobody --pubkey "$TMP/bob.key.pub" -p "$SEC/pass"
expect_grep 2 'role' "an unknown role is a usage error" \
    "$ADMIN" user add "$PV" carol --role boss --clearance internal \
    --pubkey "$TMP/bob.key.pub" -p "$SEC/pass"
expect_grep 0 'bob +agent +internal +north +alice +yes SHA256:' \
    "user list shows bob with his team and manager" \
    "$ADMIN" user list "$PV" -p "$SEC/pass"
expect_grep 0 'user bob added' "user add offline into the key-file vault" \
    "$ADMIN" user add "$KV" bob --role manager --clearance secret --team south \
    --pubkey "$TMP/bob.key.pub" --key-file "$KF"

# Offline changes are audited like the daemon's: the first administrator
# and bob, each a user.add record in the vault's log, which verifies.
n=$(cat "$PV"/audit/seg-*.log | grep -ao 'user\.add' | wc -l)
[ "$n" -eq 2 ] && ok "offline user additions are in the audit log" ||
    not_ok "offline user additions are in the audit log ($n records)"
expect 0 "the vault's audit log verifies after offline changes" \
    "$BIN/coffer-verify" -q --key "$PV/audit/audit.vkey" "$PV/audit"
VAULT=$PV
SOCK=$VAULT/cofferd.sock
COFFER_SOCKET=$SOCK
start_daemon -p "$SEC/pass"
expect_grep 0 'SHA256:' "bob logs in through cofferd on the passphrase vault" \
    "$BIN/coffer" -u bob -k "$TMP/bob.key" whoami
PIN_FPR=$(sed -n "s/.*daemon's key is \(SHA256:[A-Za-z0-9+/]*\).*/\1/p" "$ERR" | head -1)
expect_grep 0 'north' "whoami shows bob's team" "$BIN/coffer" -u bob -k "$TMP/bob.key" whoami
expect_grep 0 'bob' "alice (admin) sees bob in the user list" \
    "$BIN/coffer" -u alice -k "$TMP/alice.key" user list
expect_grep 1 'in use|cofferd running' "user add while cofferd runs: vault busy" \
    "$ADMIN" user add "$PV" carol --role agent --clearance internal \
    --pubkey "$TMP/bob.key.pub" -p "$SEC/pass"
expect_grep 0 'bob' "user list still reads while cofferd runs" \
    "$ADMIN" user list "$PV" -p "$SEC/pass"
expect_grep 4 'in use' "a second cofferd on the vault is refused (exit 4)" \
    "$BIN/cofferd" -d "$PV" -p "$SEC/pass" -s "$TMP/second.sock"

# --- pubkey: the same key as daemon.pub and as the pinned one ------------------
expect_grep 0 '^fingerprint: SHA256:' "pubkey prints the daemon key" "$ADMIN" pubkey "$PV"
if [ "$(head -1 "$OUT")" = "$(cat "$PV/daemon.pub")" ]; then
	ok "pubkey's first line is DIR/daemon.pub"
else not_ok "pubkey's first line is DIR/daemon.pub"; fi
PUB_FPR=$(sed -n 's/^fingerprint: //p' "$OUT")
if [ -n "$PUB_FPR" ] && [ "$PUB_FPR" = "$PIN_FPR" ] && [ "$PUB_FPR" = "$INIT_FPR" ]; then
	ok "pubkey, init and coffer's first connection show one fingerprint"
else not_ok "fingerprints: pubkey '$PUB_FPR', pinned '$PIN_FPR', init '$INIT_FPR'"; fi
B64=$(cut -d' ' -f2 "$PV/daemon.pub")
if grep -Fqx "unix:$SOCK coffer-ed25519 $B64" "$COFFER_KNOWN_HOSTS"; then
	ok "known_hosts pins the key of daemon.pub for the socket"
else not_ok "known_hosts pins the key of daemon.pub ($(cat "$COFFER_KNOWN_HOSTS"))"; fi
stop_daemon
expect_grep 1 'daemon.pub' "pubkey of a directory without daemon.pub fails" \
    "$ADMIN" pubkey "$TMP/full"

# --- demo --------------------------------------------------------------------
expect_grep 1 'not an empty directory' "demo into an existing vault is refused" \
    "$ADMIN" demo "$KV" --customers 20
expect_grep 0 '^vault OK' "the vault demo refused is intact" \
    "$BIN/cofferd" --check -d "$KV" -k "$KF"
expect_grep 0 '^daemon key: SHA256:' "a small demo vault" \
    "$ADMIN" demo "$TMP/demo" --customers 20 --seed 3 --keys-dir "$TMP/demokeys"
expect_grep 2 'calls 51: not a number from 0 to 50' "demo --calls out of range is refused, named" \
    "$ADMIN" demo "$TMP/demo-c" --calls 51
[ ! -e "$TMP/demo-c" ] && ok "... and makes nothing" || not_ok "... and makes nothing"
if [ -f "$TMP/demokeys/agent10.key" ] && [ "$(mode_of "$TMP/demokeys/agent10.key")" = 600 ] &&
    [ -f "$TMP/demo/master.key" ] && [ ! -e "$TMP/demo/keys" ]; then
	ok "demo keys went to --keys-dir, 0600; master.key in the vault"
else not_ok "demo keys went to --keys-dir, 0600; master.key in the vault"; fi
expect_grep 0 '^vault OK' "cofferd --check on the demo finds DIR/master.key itself" \
    "$BIN/cofferd" --check -d "$TMP/demo"
expect_grep 0 'agent10' "the demo has its fourteen users" \
    "$ADMIN" user list "$TMP/demo"
if [ "$(grep -c SHA256: "$OUT")" -eq 14 ]; then ok "exactly fourteen"
else not_ok "exactly fourteen ($(grep -c SHA256: "$OUT"))"; fi
expect_grep 2 'customers' "demo --customers 0 is a usage error" \
    "$ADMIN" demo "$TMP/demo0" --customers 0
expect_grep 2 'key-file' "demo takes no --key-file" \
    "$ADMIN" demo "$TMP/demo0" --key-file "$SEC/d.key"

# --- the command line -----------------------------------------------------------
for c in "" init user "user add" "user list" demo pubkey; do
	# shellcheck disable=SC2086
	expect_grep 0 '^usage: coffer-admin' "coffer-admin${c:+ $c} --help exits 0" \
	    "$ADMIN" $c --help
done
expect_grep 2 'usage' "no command: usage on stderr, exit 2" "$ADMIN"
expect_grep 2 "unknown command 'bogus'" "unknown command: exit 2" "$ADMIN" bogus
expect_grep 2 "unknown subcommand 'frob'" "unknown user subcommand: exit 2" "$ADMIN" user frob
expect_grep 2 "missing subcommand" "user without subcommand: exit 2" "$ADMIN" user
expect_grep 2 "unknown option '--bogus'" "unknown option of init: exit 2" \
    "$ADMIN" init "$TMP/x" --bogus
expect_grep 2 "unknown option '--bogus'" "unknown option of user list: exit 2" \
    "$ADMIN" user list "$PV" --bogus
expect_grep 2 "unknown option '--customers'" "an option of another command: exit 2" \
    "$ADMIN" pubkey "$PV" --customers 3
expect_grep 2 'needs a value' "option without its value: exit 2" \
    "$ADMIN" user list "$PV" --key-file
expect_grep 2 "option '--admin' given twice" "an option given twice is named: exit 2" \
    "$ADMIN" init "$TMP/x" --admin a --admin b
expect_grep 2 "option '-k' given twice" "a short option given twice is named: exit 2" \
    "$ADMIN" init "$TMP/x" -k "$TMP/k1" -k "$TMP/k2"
expect_grep 2 'not both' "--key-file and --passphrase-file together: exit 2" \
    "$ADMIN" user list "$PV" -k "$KF" -p "$SEC/pass"
expect_grep 2 'admin' "init without --admin: exit 2" "$ADMIN" init "$TMP/x"
expect_grep 2 'unexpected argument' "a surplus argument: exit 2" \
    "$ADMIN" pubkey "$PV" "$KV"
[ ! -e "$TMP/x" ] && ok "usage errors create nothing" || not_ok "usage errors create nothing"
done_testing

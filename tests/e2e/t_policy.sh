#!/bin/sh
# t_policy.sh - the access policy through the real cofferd: the access
# matrix of tests/e2e/access-matrix.txt, masking and reveal, do-not-call,
# `cofferd --check --policy` on broken files, SIGHUP reloads (a broken
# policy keeps the old one), policy.load audit records and the policy hash
# of each request, and volume limits with their alert records.
. tests/e2e/lib.sh
make_vault 30
start_daemon

uid() { as "$1" --json whoami >"$OUT" 2>"$ERR" && json_num id; }
# newkey NAME: an unencrypted key pair in the vault's keys directory.
newkey() { "$BIN/coffer" keygen -o "$VAULT/keys/$1.key" --no-passphrase \
    >/dev/null 2>&1 && cp "$VAULT/keys/$1.key.pub" "$VAULT/keys/$1.pub"; }

# Managers cleared secret create the fixtures: one record of each kind per
# owner and label, for agent01, agent02 (team north), agent06 (south) and
# mgr-north.
for t in north south; do
	newkey "sec-$t" || { echo "# keygen failed"; exit 1; }
	as admin user add "sec-$t" --role manager --team "$t" --clearance secret \
	    --pubkey "$VAULT/keys/sec-$t.pub" >"$OUT" 2>"$ERR" ||
	    { echo "# cannot add sec-$t:"; cat "$ERR"; exit 1; }
done
for u in agent01 agent02 agent06 mgr-north; do
	eval "UID_$(echo $u | tr - _)=$(uid $u)"
done
n=10
fixture() { # OWNER LABELWORD
	owner=$1; lw=$2; ov=$(echo "$owner" | tr - _)
	eval "oid=\$UID_$ov"
	cr=sec-north; [ "$owner" = agent06 ] && cr=sec-south
	lab=internal; [ "$lw" = above ] && lab=secret
	n=$((n + 1))
	c=$(as $cr -q create customer name=测试客户 phone=138000000$n \
	    owner_id="$oid" label=$lab) || { echo "# fixture customer"; exit 1; }
	l=$(as $cr -q create call customer_id="$c" started=now duration=60 \
	    agent_id="$oid" notes=fixture) || { echo "# fixture call"; exit 1; }
	d=$(as $cr -q create deal customer_id="$c" product_id=1 amount=2000.00 \
	    agent_id="$oid") || { echo "# fixture deal"; exit 1; }
	t=$(as $cr -q create note kind=feedback subject=fixture customer_id="$c" \
	    author_id="$oid") || { echo "# fixture note"; exit 1; }
	eval "FX_customer_${ov}_$lw=$c FX_call_${ov}_$lw=$l"
	eval "FX_deal_${ov}_$lw=$d FX_note_${ov}_$lw=$t"
}
for u in agent01 agent02 agent06 mgr-north; do
	fixture $u within
	fixture $u above
done

# --- (a) the access matrix ---------------------------------------------
user_of() { case $1 in agent) echo agent01 ;; manager) echo mgr-north ;;
	*) echo "$1" ;; esac; }
owner_of() { # ROLE SCOPE
	case $1:$2 in
	manager:own) echo mgr-north ;; manager:team) echo agent01 ;;
	*:own) echo agent01 ;; *:team) echo agent02 ;; *) echo agent06 ;;
	esac
}
reveal_field() { case $1 in customer) echo phone ;; call) echo notes ;;
	deal) echo amount ;; product) echo price_floor ;; *) echo subject ;;
	esac; }
update_arg() { case $1 in customer) echo intent=low ;; call) echo notes=x ;;
	deal) echo contract_no=X1 ;; product) echo spec=x ;; *) echo subject=y ;;
	esac; }
# create_args KIND OWNER-ID CUSTOMER-ID LABEL
create_args() {
	n=$((n + 1))
	case $1 in
	customer) echo "name=新客户 phone=139000000$n owner_id=$2 label=$4" ;;
	call) echo "customer_id=$3 started=now duration=30" ;;
	deal) echo "customer_id=$3 product_id=1 amount=100.00" ;;
	note) echo "kind=other subject=n customer_id=$3 author_id=$2" ;;
	product) echo "name=新产品$n list_price=100.00" ;;
	esac
}
# classify: allow / mask / deny from the exit status and the JSON answer.
shown() {
	case $1 in
	0) if grep -Eq '"(masked|omitted)": *\[ *"' "$OUT"; then echo mask
	   else echo allow; fi ;;
	5) echo deny ;;
	*) echo "exit$1" ;;
	esac
}
run_cell() { # ROLE OP KIND SCOPE LABEL
	role=$1 op=$2 kind=$3 scope=$4 lw=$5
	u=$(user_of "$role")
	if [ "$kind" = product ]; then id=1 cid= oid=; else
		ow=$(owner_of "$role" "$scope" | tr - _)
		eval "id=\$FX_${kind}_${ow}_$lw cid=\$FX_customer_${ow}_$lw"
		eval "oid=\$UID_$ow"
	fi
	lab=internal; [ "$lw" = above ] && lab=secret
	case $op in
	get) as "$u" --json show "$kind" "$id" >"$OUT" 2>"$ERR"; shown $? ;;
	list)
		if [ "$kind" = customer ]; then f=owner_id=$oid
		elif [ "$kind" = product ]; then f=
		else f=customer_id=$cid; fi
		as "$u" --json list "$kind" ${f:+--filter "$f"} --limit 500 \
		    >"$OUT" 2>"$ERR"
		rc=$?
		if [ $rc -eq 0 ] && ! grep -Eq "\"id\": *$id[,}]" "$OUT"; then
			echo deny
		else shown $rc; fi ;;
	create)
		# shellcheck disable=SC2046
		as "$u" -q create "$kind" $(create_args "$kind" "$oid" "$cid" "$lab") \
		    >"$OUT" 2>"$ERR"
		rc=$?; [ $rc -eq 0 ] && echo allow || shown $rc ;;
	update|delete)
		if [ "$op" = update ]; then
			as "$u" update "$kind" "$id" "$(update_arg "$kind")" \
			    --version 999 >"$OUT" 2>"$ERR"
		else as "$u" delete "$kind" "$id" --version 999 >"$OUT" 2>"$ERR"
		fi
		rc=$?; [ $rc -eq 8 ] && echo allow || shown $rc ;;
	reveal)
		as "$u" --json reveal "$kind" "$id" "$(reveal_field "$kind")" \
		    >"$OUT" 2>"$ERR"
		rc=$?; [ $rc -eq 0 ] && echo allow || shown $rc ;;
	esac
}
rows=0 bad=0
while read -r role op kind scope lw arrow want; do
	case $role in ''|'#'*) continue ;; esac
	[ "$arrow" = "->" ] || { echo "# bad matrix row: $role $op"; bad=$((bad + 1)); continue; }
	got=$(run_cell "$role" "$op" "$kind" "$scope" "$lw")
	rows=$((rows + 1))
	if [ "$got" != "$want" ]; then
		bad=$((bad + 1))
		echo "# matrix: $role $op $kind $scope $lw: got $got, want $want"
		sed 's/^/#   /' "$ERR" | head -2
	fi
done <tests/e2e/access-matrix.txt
if [ $bad -eq 0 ] && [ $rows -ge 600 ]; then ok "access matrix: $rows rows as the table says"
else not_ok "access matrix: $bad of $rows rows differ"; fi

# --- masking and reveal -------------------------------------------------
expect 0 "agent creates a customer" as agent01 -q create customer name=张三 \
    phone=13812345678 email=zhang.san@example.com
CM=$(cat "$OUT")
expect 0 "list customers" as agent01 --json list customers --filter owner_id="$UID_agent01" --limit 500
if grep -q '"138\*\*\*\*5678"' "$OUT" && ! grep -q 13812345678 "$OUT"; then
	ok "a list shows the phone masked as 138****5678"
else not_ok "a list shows the phone masked as 138****5678"; fi
if grep -Eq '"masked": *\[[^]]*"phone"' "$OUT" &&
    grep -Eq '"omitted": *\[[^]]*"address"|"omitted": *\[' "$OUT"; then
	ok "the list answer names the masked fields"
else not_ok "the list answer names the masked fields"; fi
expect_grep 0 'z\*\*\*@example.com' "show masks the e-mail" as agent01 show customer "$CM"
expect_grep 0 'masked' "show says which fields are masked" as agent01 show customer "$CM"
expect_grep 0 '^13812345678$' "reveal gives the full number" as agent01 reveal customer "$CM" phone
expect_grep 0 '"value": *"zhang.san@example.com"' "reveal --json gives field and value" \
    as agent01 --json reveal customer "$CM" email
expect_grep 5 'cannot be revealed' "a field not marked revealable is refused" \
    as agent01 reveal customer "$CM" needs
expect 0 "a do-not-call customer" as agent01 -q create customer name=李四 \
    phone=13987654321 do_not_call=true
CD=$(cat "$OUT")
expect_grep 5 'must not be called' "a do-not-call number is never revealed to an agent" \
    as agent01 reveal customer "$CD" phone
expect 0 "an excluded customer" as agent01 -q create customer name=王五 \
    phone=13987654322 stage=excluded
CX=$(cat "$OUT")
expect_grep 5 'must not be called' "nor is an excluded customer's" \
    as agent01 reveal customer "$CX" phone
expect_grep 0 '^13987654321$' "the manager may reveal it" as mgr-north reveal customer "$CD" phone

# The reveal is audited as a reveal of that one field.
expect 0 "compliance finds the reveals" as compliance --json audit search --op record.reveal --limit 1000
if grep -q '"phone"' "$OUT"; then ok "record.reveal records name the field"
else not_ok "record.reveal records name the field"; fi

# --- (b) cofferd --check --policy on broken files -------------------------
P=$TMP/pol; mkdir -p "$P"
chk() { # NAME PATTERN DESC: file $P/NAME must fail with PATTERN
	chmod 600 "$P/$1"
	expect_grep 6 "$2" "$3" "$BIN/cofferd" --check --policy "$P/$1"
}
expect_grep 0 '^policy OK$' "policy/default.yaml is OK" \
    "$BIN/cofferd" --check --policy policy/default.yaml
sed 's/^levels:/colour: red\nlevels:/' policy/default.yaml >"$P/unknown.yaml"
L=$(grep -n '^colour:' "$P/unknown.yaml" | cut -d: -f1)
chk unknown.yaml "^$P/unknown.yaml:$L:1: .*colour" "an unknown key names file and line"
sed 's/^    clearance: confidential$/    clearance: topsecret/' policy/default.yaml >"$P/level.yaml"
L=$(grep -n 'topsecret' "$P/level.yaml" | head -1 | cut -d: -f1)
chk level.yaml "^$P/level.yaml:$L:[0-9]+: .*topsecret" "an undefined level names file and line"
printf 'version: 1\nlevels: &l [public, internal, confidential, secret]\nroles:\n  agent: {}\n' \
    >"$P/alias.yaml"
chk alias.yaml "^$P/alias.yaml:2:[0-9]+: anchors are not allowed" "an anchor is refused with its line"
printf 'version: 1\nlevels: [public, internal, confidential, secret]\nroles:\n  agent: *x\n' \
    >"$P/alias2.yaml"
chk alias2.yaml "^$P/alias2.yaml:4:10: aliases are not allowed in a policy" "an alias is refused with its line"
sed 's/^    privileges: \[audit_read, user_read\]$/    privileges: [audit_read, user_read]\n    grants: [{ kinds: [shared], actions: [read], scope: all }]/' \
    policy/default.yaml >"$P/sod.yaml"
L=$(grep -n 'grants: \[{ kinds: \[shared\]' "$P/sod.yaml" | cut -d: -f1)
chk sod.yaml "^$P/sod.yaml:$L: .*separation of duties" "a separation-of-duties conflict names its line"
cp policy/default.yaml "$P/loose.yaml"
chmod 666 "$P/loose.yaml"
expect_grep 6 "writable by group or others" "a world-writable policy is refused" \
    "$BIN/cofferd" --check --policy "$P/loose.yaml"
expect_grep 0 "^policy OK$" "--check --policy needs no vault" \
    env COFFER_VAULT=/nonexistent "$BIN/cofferd" --check --policy policy/default.yaml

# --- (c), (d) SIGHUP reloads, policy.load records, hashes -----------------
hash_of_last() { # the policy hash (base64) in agent01's last record.list
	as compliance --json audit search --actor agent01 --op record.list \
	    --limit 1000 >"$OUT" 2>"$ERR"
	seq=$(grep -Eo '"seq": *[0-9]+' "$OUT" | tail -1 | grep -Eo '[0-9]+$')
	as compliance --json audit show "$seq" >"$OUT" 2>"$ERR"
	grep -Eo '"pol": *"[A-Za-z0-9+/]{43}="' "$OUT" | head -1 |
	    sed 's/.*: *"//; s/"$//'
}
reload() { # wait for the daemon to log the reload
	before=$(grep -c 'SIGHUP: reloading' "$TMP/cofferd.log")
	kill -HUP "$DAEMON_PID"
	i=0
	while [ "$(grep -c -E 'policy .* loaded|the policy in force stays' "$TMP/cofferd.log")" -le "$loads" ] &&
	    [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	loads=$(grep -c -E 'policy .* loaded|the policy in force stays' "$TMP/cofferd.log")
	: "$before"
}
loads=$(grep -c -E 'policy .* loaded|the policy in force stays' "$TMP/cofferd.log")
expect 0 "agent01 lists products" as agent01 list products
H0=$(hash_of_last)
if [ -n "$H0" ]; then ok "request records carry a policy hash"
else not_ok "request records carry a policy hash"; fi
cp "$VAULT/policy.yaml" "$TMP/good.yaml"
printf 'version: 1\nbogus: [\n' >"$VAULT/policy.yaml"
reload
if grep -q "policy.yaml:" "$TMP/cofferd.log" && daemon_alive; then
	ok "SIGHUP with a broken policy: the daemon logs the error and runs on"
else not_ok "SIGHUP with a broken policy: the daemon logs the error and runs on"; fi
expect 0 "the old policy stays in force" as agent01 list products
H1=$(hash_of_last)
if [ "$H1" = "$H0" ]; then ok "requests still carry the old policy's hash"
else not_ok "requests still carry the old policy's hash ($H1 vs $H0)"; fi
# A changed valid policy: agents may no longer read products.
sed '/^  agent:/,/^  manager:/s/        actions: \[read, list\]$/        actions: [read]/' \
    "$TMP/good.yaml" >"$VAULT/policy.yaml"
chmod 600 "$VAULT/policy.yaml"
reload
expect_grep 5 'may not list products' "after SIGHUP the new policy decides" \
    as agent01 list products
H2=$(hash_of_last)
if [ -n "$H2" ] && [ "$H2" != "$H0" ]; then ok "requests carry the new policy's hash"
else not_ok "requests carry the new policy's hash ($H2 vs $H0)"; fi
expect 0 "compliance searches policy loads" as compliance audit search --op policy.load
if [ "$(grep -c 'policy.load' "$OUT")" -ge 3 ] && grep -q 'error' "$OUT" &&
    grep -q 'allowed' "$OUT"; then
	ok "each load is recorded with its result"
else not_ok "each load is recorded with its result"; fi
cp "$TMP/good.yaml" "$VAULT/policy.yaml"; chmod 600 "$VAULT/policy.yaml"
reload

# --- (e) volume limits ----------------------------------------------------
sed '/^  agent:/,/^  manager:/s/      reveal: 60 .*/      reveal: 2/' "$TMP/good.yaml" \
    >"$VAULT/policy.yaml"
chmod 600 "$VAULT/policy.yaml"
reload
# agent03 has revealed nothing yet this hour.
expect 0 "agent03 creates a customer" as agent03 -q create customer name=赵六 \
    phone=13812340003 email=zhao@example.com
C3=$(cat "$OUT")
expect 0 "first reveal under a limit of 2" as agent03 reveal customer "$C3" phone
expect 0 "second reveal" as agent03 reveal customer "$C3" email
expect_grep 5 'reveal limit reached: 2 per hour' "the third is refused" \
    as agent03 reveal customer "$C3" phone
expect_grep 0 'alert.volume' "compliance finds the alert" \
    as compliance audit search --op alert.volume
expect_grep 0 'reveal limit reached' "the alert names the limit" \
    as compliance audit search --op alert.volume

# The built-in default when the vault has no policy file.
stop_daemon
rm -f "$VAULT/policy.yaml"
start_daemon
if grep -q 'using the built-in default policy' "$TMP/cofferd.log"; then
	ok "without DIR/policy.yaml the built-in default is used"
else not_ok "without DIR/policy.yaml the built-in default is used"; fi
expect_grep 5 'may not update customers' "and agents still may not update" \
    as agent01 update customer "$CM" intent=low
stop_daemon
printf 'version: 1\n' >"$VAULT/policy.yaml"; chmod 600 "$VAULT/policy.yaml"
expect 6 "cofferd refuses to start with a broken policy" "$BIN/cofferd" -d "$VAULT"
done_testing

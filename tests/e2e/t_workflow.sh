#!/bin/sh
# t_workflow.sh - the working day through the real cofferd and coffer
# (docs/workflow.md): screening and its refusals, assignment within the
# manager's team and refusals outside it, round-robin from the pool,
# the transfer of a leaving agent's customers with its audit record,
# `today`: order, masking, excluded customers absent, JSON, and `done`:
# closing a follow-up (own, team, refused, conflict, audited).
. tests/e2e/lib.sh
# The JSON answers are checked with python3 (json.tool and a few asserts).
# tools/install-deps installs it: missing, it is a failure, not a skip.
command -v python3 >/dev/null 2>&1 ||
    { echo "not ok 1 - python3 is installed (run tools/install-deps)"; echo "1..1"; exit 1; }
make_vault 30
start_daemon

uid() { as "$1" --json whoami 2>/dev/null | grep -Eo '"id": *[0-9]+' |
    head -1 | grep -Eo '[0-9]+$'; }
A1=$(uid agent01); A2=$(uid agent02); A3=$(uid agent03); A4=$(uid agent04)
A5=$(uid agent05); A6=$(uid agent06); MN=$(uid mgr-north)
[ -n "$A1" ] && [ -n "$A6" ] && [ -n "$MN" ] ||
    { echo "# cannot find the demo users"; exit 1; }
# new_customer PHONE [FIELD=VALUE...]: created by mgr-north, its id
new_customer() {
	p=$1; shift
	as mgr-north -q create customer name=测试客户 phone="$p" "$@"
}
owner_of() { as mgr-north --json show customer "$1" 2>/dev/null |
    grep -Eo '"owner_id": *[0-9]+' | grep -Eo '[0-9]+$'; }
stage_of() { as mgr-north --json show customer "$1" 2>/dev/null |
    grep -Eo '"stage": *"[a-z]+"' | grep -Eo '[a-z]+"$' | tr -d '"'; }

C1=$(new_customer 13800000101 owner_id="$A1")
C2=$(new_customer 13800000102 owner_id="$A1")
C3=$(new_customer 13800000103 owner_id="$A1")
C4=$(new_customer 13800000104 owner_id="$A1" stage=following)
C5=$(new_customer 13800000105 owner_id="$A1")
CS=$(as mgr-south -q create customer name=南方客户 phone=13800000106 \
    owner_id="$A6")
[ -n "$C1" ] && [ -n "$C5" ] && [ -n "$CS" ] ||
    { echo "# cannot create the fixtures"; exit 1; }

# --- screening ----------------------------------------------------------
expect_grep 0 "customer $C1: new -> screened" \
    "the owner agent screens a new lead in" \
    as agent01 screen customer "$C1" --stage screened
expect_grep 2 "needs --reason" "excluding needs a reason" \
    as agent01 screen customer "$C2" --stage excluded
expect_grep 0 "customer $C2: new -> excluded" \
    "the owner agent excludes a new lead with a reason" \
    as agent01 screen customer "$C2" --stage excluded --reason "不在服务范围"
[ "$(stage_of "$C2")" = excluded ] && ok "the stage is stored" ||
    not_ok "stage of $C2 is '$(stage_of "$C2")'"
expect_grep 0 '"exclude_reason": *"不在服务范围"' "the reason is stored" \
    as mgr-north --json show customer "$C2"
expect_grep 5 "only a manager of its owner's team may re-screen" \
    "an agent cannot re-screen an excluded customer" \
    as agent01 screen customer "$C2" --stage screened
expect_grep 5 "customer $C3: not in your scope" \
    "another agent's customer is refused" \
    as agent02 screen customer "$C3" --stage screened
expect_grep 5 "customer $C2: not in your scope" \
    "a manager of another team cannot re-screen it" \
    as mgr-south screen customer "$C2" --stage screened
expect_grep 0 "customer $C2: excluded -> screened" \
    "the owner's manager re-screens an excluded customer" \
    as mgr-north screen customer "$C2" --stage screened
if as mgr-north --json show customer "$C2" 2>/dev/null |
    grep -q exclude_reason; then not_ok "the reason is cleared on re-screening"
else ok "the reason is cleared on re-screening"; fi
expect_grep 8 "past screening \\(stage following\\)" \
    "a customer past screening cannot be screened" \
    as agent01 screen customer "$C4" --stage excluded --reason x
expect_grep 8 "already screened" "screening to the same stage is refused" \
    as agent01 screen customer "$C1" --stage screened
expect 5 "compliance may not screen" \
    as compliance screen customer "$C1" --stage excluded --reason x

# --- assignment ---------------------------------------------------------
expect_grep 5 "may not update customers" "an agent may not assign" \
    as agent01 assign customer "$C3" --to agent02
expect_grep 0 "moved 2 customers" "a manager assigns within the team" \
    as mgr-north assign customer "$C3" "$C5" --to agent02
[ "$(owner_of "$C3")" = "$A2" ] && [ "$(owner_of "$C5")" = "$A2" ] &&
    ok "the new owner is stored" || not_ok "owner of $C3 is $(owner_of "$C3")"
expect_grep 5 "agent06 is not in your team" \
    "an agent outside the team is refused by name" \
    as mgr-north assign customer "$C3" --to agent06
expect_grep 5 "customer $CS: not in your scope" \
    "a customer outside the team is refused by id" \
    as mgr-north assign customer "$C3" "$CS" --to agent02
[ "$(owner_of "$C3")" = "$A2" ] && ok "a refused assignment changes nothing" ||
    not_ok "owner of $C3 changed to $(owner_of "$C3")"
expect_grep 6 "no such user 'nobody'" "an unknown agent is not found" \
    as mgr-north assign customer "$C3" --to nobody
expect_grep 5 "compliance is not in your team" \
    "a user outside any team cannot be given customers" \
    as mgr-north assign customer "$C3" --to compliance

# Round-robin from the pool: mgr-north's own leads of list "spring".
for i in 1 2 3 4 5 6 7; do
	new_customer 1390000010$i source_list=spring >/dev/null
done
PX=$(new_customer 13900000108 source_list=spring stage=excluded \
    exclude_reason=无意向)
PD=$(new_customer 13900000109 source_list=spring do_not_call=true)
PO=$(new_customer 13900000110 source_list=autumn)
expect 0 "a manager deals the pool out round-robin" \
    as mgr-north --json assign --from-pool --list spring --count 10 \
    --round-robin agent03,agent04,agent05
shares=$(python3 -c "import json,sys
r=json.load(open('$OUT'))
print(r['moved'], ' '.join('%s=%d' % (a['name'], a['count'])
    for a in r['agents']), len(r['records']))" 2>/dev/null)
[ "$shares" = "7 agent03=3 agent04=2 agent05=2 7" ] &&
    ok "seven leads: 3, 2, 2 (got $shares)" || not_ok "shares: '$shares'"
[ "$(owner_of "$PX")" = "$MN" ] && [ "$(owner_of "$PD")" = "$MN" ] &&
    [ "$(owner_of "$PO")" = "$MN" ] &&
    ok "excluded, do-not-call and other lists stay in the pool" ||
    not_ok "pool leftovers moved: $(owner_of "$PX") $(owner_of "$PD") $(owner_of "$PO")"
expect_grep 0 "moved 0 customers" "an empty pool moves nothing" \
    as mgr-north assign --from-pool --list spring --count 5 --to agent03
expect_grep 5 "agent06 is not in your team" \
    "round-robin to an agent outside the team is refused" \
    as mgr-north assign --from-pool --count 1 --round-robin agent03,agent06

# Transfer: agent04 leaves, everything goes to agent05.
as mgr-north --json list customers --filter owner_id="$A4" --limit 1 \
    >"$OUT" 2>"$ERR"
N4=$(json_num total)
[ "${N4:-0}" -gt 2 ] && ok "agent04 has $N4 customers" ||
    not_ok "agent04 has '${N4}' customers"
expect_grep 5 "agent06 is not in your team" \
    "a transfer to another team is refused" \
    as mgr-north assign --transfer agent04 --to agent06
expect_grep 5 "agent04 is not in your team" \
    "another team's manager cannot transfer agent04's customers" \
    as mgr-south assign --transfer agent04 --to agent06
expect_grep 0 "moved $N4 customers" "the transfer moves them all" \
    as mgr-north assign --transfer agent04 --to agent05
as mgr-north --json list customers --filter owner_id="$A4" --limit 1 \
    >"$OUT" 2>"$ERR"
[ "$(json_num total)" = 0 ] && ok "agent04 has none left" ||
    not_ok "agent04 still has $(json_num total)"
expect_grep 0 "customer.transfer +customer [0-9,]+ +allowed +transferred $N4 customers from agent04 to agent05 \\($N4 ids listed\\)" \
    "the audit record lists the ids and the count" \
    as compliance audit search --op customer.transfer
expect_grep 0 "customer.assign +customer $C3,$C5 +allowed +assigned 2" \
    "an assignment's audit record lists the ids" \
    as compliance audit search --op customer.assign --decision allowed
expect_grep 0 "customer.screen +customer $C2 +denied" \
    "refused screenings are audited" \
    as compliance audit search --op customer.screen --decision denied

# --- today --------------------------------------------------------------
# agent01: C1 (screened), C4 (following) with follow-ups; C2 went back to
# screened; X1 excluded with an overdue follow-up must not show.
X1=$(new_customer 13800000111 owner_id="$A1")
as mgr-north -q create followup customer_id="$C4" due=-2h kind=callback >/dev/null
as mgr-north -q create followup customer_id="$C4" due=-1d kind=after_sales >/dev/null
as mgr-north -q create followup customer_id="$X1" due=-3d kind=callback >/dev/null
as agent01 screen customer "$X1" --stage excluded --reason "要求不再来电" \
    >/dev/null 2>&1
expect 0 "an agent lists their day" as agent01 today --limit 500
if grep -q 13800000101 "$OUT" "$ERR" || grep -Eq '1[3-9][0-9]{9}' "$OUT"; then
	not_ok "no full phone number in today's output"
else ok "no full phone number in today's output"; fi
grep -Eq "138\\*{4}0101" "$OUT" && ok "phones are masked as in list" ||
    not_ok "masked phone of C1 missing"
if awk -v x="$X1" '$2 == x' "$OUT" | grep -q .; then
	not_ok "the excluded customer is absent"
else ok "the excluded customer is absent"; fi
l_after=$(grep -n "after-sales revisit" "$OUT" | head -1 | cut -d: -f1)
l_cb=$(awk -v c="$C4" '$2 == c && /call back/ { print NR; exit }' "$OUT")
l_lead=$(grep -n "fresh screened lead" "$OUT" | head -1 | cut -d: -f1)
if [ -n "$l_after" ] && [ -n "$l_cb" ] && [ -n "$l_lead" ] &&
    [ "$l_after" -lt "$l_cb" ] && [ "$l_cb" -lt "$l_lead" ]; then
	ok "oldest follow-up first, then the next, then fresh leads"
else not_ok "order: after-sales $l_after, callback $l_cb, lead $l_lead"; fi
grep -q "coffer reveal customer ID phone" "$OUT" &&
    grep -q "coffer call ID --outcome" "$OUT" &&
    ok "the footer names reveal and call" || not_ok "footer"
expect 0 "today --json" as agent01 --json today --limit 500
if python3 -m json.tool "$OUT" >/dev/null 2>&1; then ok "the JSON parses"
else not_ok "the JSON parses"; fi
order=$(python3 -c "import json
r=json.load(open('$OUT'))
recs=r['records']
kinds=[x['task'] for x in recs]
dues=[x['due'] for x in recs if x['task']=='followup']
ok = kinds == sorted(kinds, key=lambda k: k != 'followup') and \
    dues == sorted(dues) and r['total'] == r['followups'] + r['leads'] and \
    all('*' in x['customer']['phone'] for x in recs) and \
    $X1 not in [x['id'] for x in recs] and 'phone' in r['masked']
print('yes' if ok else 'no')" 2>&1)
[ "$order" = yes ] && ok "JSON: follow-ups by due time, then leads, masked" ||
    not_ok "JSON order/masking: $order"
expect 0 "a manager looks at an agent of the team" \
    as mgr-north today --agent agent01
expect_grep 5 "agent01 is not in your team" \
    "another team's manager may not" as mgr-south today --agent agent01
expect_grep 5 "agent01 is not in your scope" \
    "an agent may not look at another agent's day" \
    as agent02 today --agent agent01

# The one-line call: C1 stops being a fresh lead once called.
expect_grep 0 "scheduled follow-up [0-9]+" \
    "call logs the call and schedules the next follow-up" \
    as agent01 call "$C1" --outcome answered --intent high --duration 95 \
    --next +2d
grep -Eq "^logged call [0-9]+$" "$OUT" && ok "the call's id is printed" ||
    not_ok "no call id"
as agent01 --json today --limit 500 >"$OUT" 2>"$ERR"
if python3 -c "import json
r=json.load(open('$OUT'))
raise SystemExit(0 if [x for x in r['records'] if x['id']==$C1 and
    x['task']=='lead'] == [] else 1)"; then ok "a called lead is no longer fresh"
else not_ok "C1 still a fresh lead"; fi

# --- done: an agent closes their own follow-up ---------------------------
CD=$(new_customer 13800000107 owner_id="$A1" stage=following)
CE=$(new_customer 13800000108 owner_id="$A2" stage=following)
FD=$(as agent01 -q create followup customer_id="$CD" due=-1h kind=callback)
FM=$(as agent01 -q create followup customer_id="$CD" due=-30m kind=revisit)
FO=$(as agent02 -q create followup customer_id="$CE" due=-1h kind=callback)
[ -n "$FD" ] && [ -n "$FM" ] && [ -n "$FO" ] ||
    { echo "# cannot create the follow-ups"; exit 1; }
expect_grep 0 "\\(follow-up $FD\\)" "today shows the follow-up's number" \
    as agent01 today --limit 500
grep -q "coffer done ID" "$OUT" && ok "the footer names done" ||
    not_ok "the footer does not name done"
expect_grep 0 "followup $FD: open -> done" \
    "an agent marks their own due follow-up done" \
    as agent01 done "$FD" --note "客户已确认"
as agent01 today --limit 500 >"$OUT" 2>"$ERR"
if grep -q "(follow-up $FD)" "$OUT"; then
	not_ok "a done follow-up leaves today"
else ok "a done follow-up leaves today"; fi
grep -q "(follow-up $FM)" "$OUT" && ok "the other follow-up stays" ||
    not_ok "the other follow-up is gone"
expect 0 "the follow-up as stored" as agent01 --json show followup "$FD"
grep -Eq '"status": *"done"' "$OUT" && grep -q "客户已确认" "$OUT" &&
    ok "status done, the note kept as its outcome" ||
    not_ok "status/outcome not stored"
expect_grep 8 "followup $FD is done" "completing it again is a conflict" \
    as agent01 done "$FD"
expect_grep 5 "followup $FO: not in your scope" \
    "another agent's follow-up is refused" as agent01 done "$FO"
expect 5 "as reading another agent's record is" as agent01 show followup "$FO"
expect 6 "an unknown follow-up is not found" as agent01 done 999999
expect_grep 5 "followup $FM: not in your scope" \
    "a manager of another team may not" as mgr-south done "$FM"
expect 5 "compliance may not complete" as compliance done "$FM"
expect_grep 0 "followup $FM: open -> done" \
    "a manager completes a team member's follow-up" as mgr-north done "$FM"
# one a manager scheduled for agent01's customer: in agent01's today,
# so agent01 may close it (the customer is theirs)
FS=$(as mgr-north -q create followup customer_id="$CD" due=-10m kind=callback)
expect_grep 0 "\\(follow-up $FS\\)" "a follow-up the manager scheduled is in the agent's today" \
    as agent01 today --limit 500
expect_grep 0 "followup $FS: open -> done" \
    "and the agent may close it: the customer is theirs" as agent01 done "$FS"
expect 0 "done --json" as agent02 --json done "$FO"
python3 -c "import json
r=json.load(open('$OUT'))
raise SystemExit(0 if r['followup']['id']==$FO and
    r['followup']['status']=='done' else 1)" &&
    ok "the JSON answer is the follow-up after" || not_ok "done --json answer"
expect_grep 0 "followup.done +followup $FD +allowed" \
    "completions are audited, naming the follow-up" \
    as compliance audit search --op followup.done
as compliance --json audit search --op followup.done --decision allowed \
    >"$OUT" 2>"$ERR"
python3 -c "import json
r=json.load(open('$OUT'))
rec=[x for x in r['records'] if x.get('tid')==$FD][0]
chg={c['f']: c for c in rec.get('chg', [])}
s=chg['status']
raise SystemExit(0 if s['old'] and s['new'] and s['old'] != s['new'] and
    'version' not in chg and 'due' not in chg else 1)" &&
    ok "the audit record's changes name status (open -> done), not version or due" ||
    not_ok "the audit record's changes"
expect_grep 0 "followup.done +followup $FO +denied" \
    "refused completions are audited" \
    as compliance audit search --op followup.done --decision denied
expect 0 "coffer-verify accepts the log" \
    "$BIN/coffer-verify" -q --key "$VAULT/audit/audit.vkey" "$VAULT/audit"
done_testing

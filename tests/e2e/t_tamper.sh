#!/bin/sh
# t_tamper.sh - the tamper suite on a log written by the real cofferd
# (small segments, so it spans several files): each kind of damage is found
# by coffer-verify with its own exit code, the untouched log verifies, and
# the daemon refuses to continue a damaged log.
. tests/e2e/lib.sh
make_vault 50
start_daemon --audit-segment-size 4
as agent01 status >/dev/null 2>&1
i=0
while [ $i -lt 40 ]; do
	as agent01 list customers --limit 5 >/dev/null 2>&1
	as agent02 show customer 1 >/dev/null 2>&1   # denied: recorded too
	i=$((i + 1))
done
stop_daemon

LOG=$VAULT/audit
VKEY=$LOG/audit.vkey
TAMPER=$TOOLS/coffer-tamper
set -- "$LOG"/seg-*.log
NSEG=$#
if [ "$NSEG" -ge 3 ]; then ok "the log spans $NSEG segments"
else not_ok "the log spans at least 3 segments ($NSEG)"; fi
SEG2=$(basename "$2")
LAST=$(basename "$(ls "$LOG"/seg-*.log | tail -1)")
cp "$LOG/checkpoint" "$TMP/saved.ckpt"

verify() { "$BIN/coffer-verify" -q --key "$VKEY" "$@"; }
expect 0 "the untouched log verifies" verify --checkpoint "$TMP/saved.ckpt" "$LOG"

# case NAME EXIT: copy the log to $W, run the rest as the damage, verify.
case_() {
	name=$1; want=$2; shift 2
	W=$TMP/work; rm -rf "$W"; cp -a "$LOG" "$W"
	"$@"
	expect "$want" "$name: coffer-verify exit $want" \
	    verify --checkpoint "$TMP/saved.ckpt" "$W"
}
flip()   { "$TAMPER" flip "$W/$SEG2" 2; }
delete() { "$TAMPER" delete "$W/$SEG2" 2; }
swap()   { "$TAMPER" swap "$W/$SEG2" 2; }
cut()    { "$TAMPER" cut "$W/$LAST" 1; rm -f "$W/checkpoint"; }
dropseg(){ rm -f "$W/$SEG2"; }
resign() { "$TAMPER" resign "$W/checkpoint"; }
forge()  { awk 'NR == 2 { $0 = $0 + 5 } { print }' "$W/checkpoint" >"$W/c.tmp" &&
	   mv "$W/c.tmp" "$W/checkpoint"; }

case_ "a bit flipped in a record" 2 flip
case_ "a record deleted" 3 delete
case_ "two records swapped" 4 swap
case_ "the tail cut off" 5 cut
case_ "a segment dropped" 3 dropseg
case_ "the checkpoint re-signed with another key" 6 resign
case_ "the checkpoint's tree size edited" 6 forge

# The daemon will not continue a damaged log.
cp -a "$LOG" "$TMP/good"
"$TAMPER" flip "$LOG/$LAST" 0
"$BIN/cofferd" -d "$VAULT" >"$OUT" 2>"$ERR" &
pid=$!
i=0
while kill -0 $pid 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
if kill -0 $pid 2>/dev/null; then kill -KILL $pid; not_ok "cofferd refuses a damaged log"
else
	wait $pid; rc=$?
	if [ $rc -eq 3 ] && grep -q "$LAST" "$ERR"; then
		ok "cofferd refuses a damaged log, naming the segment (exit 3)"
	else
		echo "# exit $rc"; not_ok "cofferd refuses a damaged log, naming the segment"
	fi
fi
rm -rf "$LOG"; mv "$TMP/good" "$LOG"
start_daemon
expect 0 "the restored log is continued" as agent01 status
done_testing

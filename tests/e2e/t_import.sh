#!/bin/sh
# t_import.sh - lead lists in through the real coffer and cofferd (docs/
# import.md): UTF-8 with a BOM and GB18030 files with Chinese headers,
# quoted fields with commas and newlines, all-or-nothing by default and
# --skip-invalid with a rejects file, duplicates within the file and
# against the vault, --check, who may import, the audit record, a
# 100,000-row file, and a stop in the middle of one.
. tests/e2e/lib.sh
make_vault 30
start_daemon

count_customers() { # customers mgr-north sees (team scope)
	as mgr-north --json list customers --limit 1 2>/dev/null |
	    grep -Eo '"total": *[0-9]+' | grep -Eo '[0-9]+$'
}
N0=$(count_customers)
[ -n "$N0" ] && ok "the manager's customer count is known ($N0)" ||
    { not_ok "the manager's customer count is known"; N0=0; }

# --- UTF-8 with BOM, Chinese headers, quoted fields --------------------------
printf '\357\273\277姓名,手机,公司,备注,微信\r\n张三,138 0013 9001,"深圳某某科技, 有限公司","第一行\r\n第二行",wx0\r\n李四,+86 139-0013-9002,"He said ""yes""",,wx1\r\n' \
    >"$TMP/utf8.csv"
expect_grep 0 "imported 2 customers .* from .*utf8.csv \\(utf-8, BOM\\), list expo" \
    "a UTF-8 file with a BOM and Chinese headers imports" \
    as mgr-north import customers "$TMP/utf8.csv" --list expo
grep -q "column '微信' is not imported" "$ERR" &&
    ok "the unknown column is reported" || not_ok "the unknown column is reported"
[ "$(count_customers)" -eq $((N0 + 2)) ] && ok "two customers more" ||
    not_ok "two customers more (got $(count_customers), had $N0)"
# the first id of "(ids A-B)": the rows are inserted in file order
ID=$(grep -Eo '\(ids [0-9]+-' "$OUT" | grep -Eo '[0-9]+')
expect_grep 0 '深圳某某科技, 有限公司' "the quoted comma survives" \
    as mgr-north --json show customer "${ID:-0}"
expect_grep 0 '"source_list": *"expo"' "the list name is the source list" \
    as mgr-north --json show customer "${ID:-0}"
expect_grep 0 '"stage": *"new"' "an imported customer is a new lead" \
    as mgr-north --json show customer "${ID:-0}"
expect_grep 0 '第一行\\n第二行|第一行\\r\\n第二行' "the quoted newline survives" \
    as mgr-north --json show customer "${ID:-0}"
expect_grep 0 "13800139001" "the phone was normalised (spaces gone)" \
    as mgr-north reveal customer "${ID:-0}" phone
expect_grep 0 '"name": *"张三"' "its name arrives as UTF-8" \
    as mgr-north --json show customer "${ID:-0}"

# --- GB18030 as Excel writes it on Chinese Windows ---------------------------
printf '姓名,电话,单位\r\n王五,13800139003,广州贸易\r\n赵六,13800139004,北京\r\n' |
    iconv -f UTF-8 -t GB18030 >"$TMP/gbk.csv"
expect_grep 0 "imported 2 customers .*\\(gb18030\\)" "a GB18030 file is detected and imported" \
    as mgr-north import customers "$TMP/gbk.csv" --list gbk
ID=$(grep -Eo '\(ids [0-9]+-' "$OUT" | grep -Eo '[0-9]+')
expect_grep 0 '"name": *"王五"' "its names arrive as UTF-8" \
    as mgr-north --json show customer "${ID:-0}"
expect_grep 0 '"company": *"广州贸易"' "... and 单位 maps to company" \
    as mgr-north --json show customer "${ID:-0}"
expect_grep 7 "not valid UTF-8|utf-8" "--encoding utf-8 refuses the GB18030 bytes" \
    as mgr-north import customers "$TMP/gbk.csv" --encoding utf-8

# --- bad rows: all or nothing, then --skip-invalid -------------------------
N1=$(count_customers)
printf 'name,phone\nGood One,13800139010\nBad Phone,12345\nGood Two,13800139011\nDup,138-0013-9010\nAgain,13800139001\n' \
    >"$TMP/bad.csv"
expect_grep 7 "nothing was imported" "a file with bad rows imports nothing by default" \
    as mgr-north import customers "$TMP/bad.csv"
grep -q "^line 3: invalid: phone" "$OUT" && ok "the bad phone is named by its line" ||
    not_ok "the bad phone is named by its line"
grep -q "^line 5: duplicate: same phone as line 2" "$OUT" &&
    ok "the duplicate within the file is named with the first line" ||
    not_ok "the duplicate within the file is named with the first line"
grep -q "^line 6: in_vault: the vault already has this phone number" "$OUT" &&
    ok "a number already in the vault is rejected" ||
    not_ok "a number already in the vault is rejected"
[ "$(count_customers)" -eq "$N1" ] && ok "... and nothing was imported" ||
    not_ok "... and nothing was imported"
expect_grep 7 "3 of 5 rows rejected" "--check reports the same rows" \
    as mgr-north import customers "$TMP/bad.csv" --check
[ "$(count_customers)" -eq "$N1" ] && ok "--check imports nothing" ||
    not_ok "--check imports nothing"
expect_grep 0 "^3 rows rejected, written to $TMP/rej.csv" \
    "--skip-invalid imports the good rows" \
    as mgr-north import customers "$TMP/bad.csv" --skip-invalid --rejects "$TMP/rej.csv"
if [ "$(head -1 "$TMP/rej.csv")" = "line,status,reason" ] &&
    [ "$(cut -d, -f1 "$TMP/rej.csv" | tail -n +2 | tr '\n' ' ')" = "3 5 6 " ]; then
	ok "the rejects file lists lines 3, 5 and 6"
else not_ok "the rejects file lists lines 3, 5 and 6"; sed 's/^/#   /' "$TMP/rej.csv"; fi
[ "$(count_customers)" -eq $((N1 + 2)) ] && ok "two customers more" ||
    not_ok "two customers more"
expect_grep 7 "2 of 2 rows rejected" "importing the same good rows again rejects both" \
    as mgr-north import customers "$TMP/utf8.csv"

# --- who may import; malformed files -----------------------------------------
expect_grep 5 "importing a lead list needs create on customers for a team" \
    "an agent may not import" as agent01 import customers "$TMP/gbk.csv"
printf 'name,company\nA,B\n' >"$TMP/nophone.csv"
expect_grep 7 "phone" "a file without a phone column is refused, naming it" \
    as mgr-north import customers "$TMP/nophone.csv"
printf 'name,phone\n"unterminated,13800139020\n' >"$TMP/quote.csv"
expect_grep 7 "line" "malformed CSV is refused with its line" \
    as mgr-north import customers "$TMP/quote.csv"
expect_grep 2 "usage" "import needs customers FILE" as mgr-north import "$TMP/bad.csv"
expect_grep 2 "No such file" "a missing file is named" \
    as mgr-north import customers "$TMP/nowhere.csv"

# --- the audit trail -----------------------------------------------------------
expect_grep 0 "import.commit +customer [0-9]+,[0-9]+ +allowed +imported 2 customers \\(ids [0-9]+\\.\\.[0-9]+\\); rejected: 1 here, 2 in the client's file check" \
    "each import is one audit record with the count" \
    as compliance audit search --op import.commit --limit 50
expect_grep 0 "import.commit +customer +allowed +check: 3 rows staged, 2 good, 1 rejected here, 2 in the client's file check" \
    "the check that refused an import is audited with both counts" \
    as compliance audit search --op import.commit --limit 50

# --- 100,000 rows --------------------------------------------------------------
awk 'BEGIN { print "姓名,电话,公司"; for (i = 0; i < 100000; i++)
    printf "客户%d,137%08d,公司%d\n", i, i, i % 97 }' >"$TMP/big.csv"
N2=$(count_customers)
T0=$(date +%s%N)
expect_grep 0 "imported 100000 customers" "a 100,000-row file imports" \
    as mgr-north import customers "$TMP/big.csv" --list big
echo "# 100,000 rows imported in $(( ($(date +%s%N) - T0) / 1000000 )) ms (whole client command)"
[ "$(count_customers)" -eq $((N2 + 100000)) ] && ok "100,000 customers more" ||
    not_ok "100,000 customers more"

# --- a stop in the middle of a long import ------------------------------------
# The daemon gets 1 ms of grace (a test build's COFFER_DRAIN_GRACE_MS; 10 s
# otherwise), so the stop cuts the import's commit off and interrupts its
# query: the daemon exits at once, nothing is half imported, and the log
# says what happened.
stop_daemon
export COFFER_DRAIN_GRACE_MS=1
start_daemon
unset COFFER_DRAIN_GRACE_MS
N3=$(count_customers)
checks_done() { cat "$VAULT"/audit/seg-*.log |
    grep -ao 'check: 100000 rows staged' | wc -l; }
C0=$(checks_done)
awk 'BEGIN { print "姓名,电话,公司"; for (i = 0; i < 100000; i++)
    printf "客户%d,139%08d,公司%d\n", i, i, i % 97 }' >"$TMP/big2.csv"
as mgr-north import customers "$TMP/big2.csv" --list big2 \
    >"$TMP/imp.out" 2>"$TMP/imp.err" &
IMP=$!
# The client checks the staged rows, then commits them (about 3 s here).
# The check's record is in the log before its answer leaves: then the
# commit is on its way.
i=0
while [ "$(checks_done)" -le "$C0" ] && [ $i -lt 600 ]; do
	sleep 0.1; i=$((i + 1))
done
sleep 0.3
T0=$(date +%s%N)
kill -TERM "$DAEMON_PID"
i=0
while kill -0 "$DAEMON_PID" 2>/dev/null && [ $i -lt 100 ]; do
	sleep 0.1; i=$((i + 1))
done
MS=$(( ($(date +%s%N) - T0) / 1000000 ))
if ! kill -0 "$DAEMON_PID" 2>/dev/null && [ "$MS" -lt 1500 ]; then
	ok "a stop during a 100,000-row commit ends the daemon in $MS ms"
else
	not_ok "a stop during a 100,000-row commit ends the daemon within 1.5 s (took $MS ms)"
	kill -KILL "$DAEMON_PID" 2>/dev/null
fi
wait "$DAEMON_PID" 2>/dev/null
DAEMON_PID=
wait "$IMP" 2>/dev/null && not_ok "the cut-off import reports a failure" ||
    ok "the cut-off import reports a failure"
grep -q 'still busy 1 ms after the stop: cut off, their queries interrupted' \
    "$TMP/cofferd.log" && ok "the daemon says it cut the import off" ||
    not_ok "the daemon says it cut the import off"
start_daemon
[ "$(count_customers)" -eq "$N3" ] && ok "nothing of the cut-off import was kept" ||
    not_ok "nothing of the cut-off import was kept ($(count_customers), had $N3)"
expect_grep 0 "import.commit +customer +error .*unavailable" \
    "the interrupted commit is audited as an error" \
    as compliance audit search --op import.commit --limit 50
stop_daemon
expect 0 "coffer-verify accepts the log" "$BIN/coffer-verify" -q \
    --key "$VAULT/audit/audit.vkey" "$VAULT/audit"
done_testing

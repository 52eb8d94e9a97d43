#!/bin/sh
# t_report.sh - KPI reports through the real cofferd and coffer
# (docs/reports.md): an agent sees only their own row, a manager their
# team with its total, company-wide figures are refused to both, an agent
# cleared below the amounts' label gets no sales, hand-computed figures
# for calls logged here, and the CSV, JSON and HTML outputs parse.
. tests/e2e/lib.sh
command -v python3 >/dev/null 2>&1 ||
    { echo "not ok 1 - python3 is installed (run tools/install-deps)"; echo "1..1"; exit 1; }
make_vault 40
# An agent of team north cleared only `internal` (deal amounts are
# confidential), added offline before the daemon starts.
"$BIN/coffer" keygen -o "$VAULT/keys/intern.key" --no-passphrase \
    >/dev/null 2>&1 &&
"$BIN/coffer-admin" user add "$VAULT" intern --role agent \
    --clearance internal --team north --manager mgr-north \
    --pubkey "$VAULT/keys/intern.key.pub" --key-file "$VAULT/master.key" \
    >/dev/null 2>&1 || { echo "# cannot add the intern"; exit 1; }
start_daemon

# A day in 2030 nothing of the demo touches: only what is logged here.
DAY=2030-05-07
T=1904313600    # 2030-05-07 00:00 Asia/Shanghai (2030-05-06T16:00Z)
C1=$(as mgr-north -q create customer name=报表客户 phone=13800000301 \
    owner_id="$(as agent01 --json whoami | grep -Eo '"id": *[0-9]+' |
    head -1 | grep -Eo '[0-9]+$')")
[ -n "$C1" ] || { echo "# cannot create the customer"; exit 1; }
# agent01: two calls (one answered for 300 s with high intent, one
# refused for 60 s: both connected), one deal of 1234.50 yuan, sat 4.
as agent01 -q create call customer_id="$C1" started=$((T + 3600)) \
    duration=300 outcome=answered intent=high >/dev/null &&
as agent01 -q create call customer_id="$C1" started=$((T + 7200)) \
    duration=60 outcome=refused >/dev/null &&
as agent01 -q create call customer_id="$C1" started=$((T - 60)) \
    duration=10 outcome=no_answer >/dev/null &&
as agent01 -q create deal customer_id="$C1" product_id=1 amount=1234.50 \
    satisfaction=4 closed=$((T + 9000)) >/dev/null ||
    { echo "# cannot log the calls"; exit 1; }

rep() { u=$1; shift; as "$u" report --period day --date "$DAY" "$@"; }

# --- who sees what -------------------------------------------------------
expect 0 "an agent's report" rep agent01 --json
python3 - "$OUT" <<'EOF' && ok "an agent sees exactly their own row, with the hand-computed figures" || not_ok "agent01's own figures"
import json, sys
r = json.load(open(sys.argv[1]))
a = r["agents"]
assert r["level"] == "agent" and r["scope"] == "own", r
assert [x["name"] for x in a] == ["agent01"], a
x = a[0]
# the call at T - 60 s is the day before: 2 calls, both connected,
# 360 s; c1's first call was before the day; intent reached today
want = dict(calls=2, connected=2, talk_seconds=360, first_contacted=0,
            reached_intent=1, converted=1, deals=1, sales_fen=123450,
            sales_withheld=0, satisfaction_sum=4, satisfaction_n=1)
for k, v in want.items():
    assert x[k] == v, (k, x[k], v)
assert r["total"]["calls"] == 2 and "teams" not in r
EOF
expect 0 "the day before holds the first contact" \
    rep agent01 --json --date 2030-05-06
python3 - "$OUT" <<'EOF' && ok "the first call counts on its own day" || not_ok "first contact on 2030-05-06"
import json, sys
x = json.load(open(sys.argv[1]))["agents"][0]
assert x["calls"] == 1 and x["first_contacted"] == 1 and x["connected"] == 0, x
EOF
expect 0 "a manager's report" rep mgr-north --json
python3 - "$OUT" <<'EOF' && ok "a manager sees the agents of the team and the team total" || not_ok "mgr-north's team"
import json, sys
r = json.load(open(sys.argv[1]))
names = [x["name"] for x in r["agents"]]
assert r["level"] == "team", r["level"]
assert names == sorted(names) and "agent01" in names and "intern" in names, names
assert not any(n in names for n in ("agent06", "agent10", "mgr-south")), names
assert [t["team"] for t in r["teams"]] == ["north"], r["teams"]
assert r["teams"][0]["calls"] == r["total"]["calls"] == 2, r["total"]
assert r["total"]["sales_fen"] == 123450
EOF
expect_grep 0 '^agent06 +south' "mgr-south sees its own team in the table" \
    rep mgr-south
if grep -q agent01 "$OUT"; then not_ok "another team's agent is absent"
else ok "another team's agent is absent"; fi
expect_grep 5 "company-wide figures need the report grant with scope all" \
    "an agent asking for the company is refused" rep agent01 --company
expect 5 "a manager asking for the company is refused" rep mgr-north --company
expect_grep 5 "agent06 is not within your report scope" \
    "a manager cannot name an agent of another team" \
    rep mgr-north --agent agent06
expect_grep 5 "may not see the figures of customers" \
    "compliance has no report grant" rep compliance
expect_grep 0 '^agent01 +north +2 +2 ' "a manager may look at one agent" \
    rep mgr-north --agent agent01

# --- clearance: no amounts below confidential --------------------------
expect 0 "the intern's report" rep intern --json
python3 - "$OUT" <<'EOF' && ok "an agent cleared internal gets no sales amounts" || not_ok "intern sales"
import json, sys
r = json.load(open(sys.argv[1]))
assert "sales" in r["omitted"] and "sales" not in r["groups"], r
assert "sales_fen" not in r["agents"][0] and "sales_fen" not in r["total"]
assert "deals" in r["agents"][0]
EOF
expect_grep 0 "not shown: sales" "the table says what is not shown" \
    rep intern

# --- formats -------------------------------------------------------------
expect 0 "CSV" rep mgr-north --csv
python3 - "$OUT" <<'EOF' && ok "the CSV parses, one row per agent, team and total" || not_ok "CSV"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
kinds = [r["row"] for r in rows]
assert kinds[-2:] == ["team", "total"], kinds
a1 = [r for r in rows if r["name"] == "agent01"][0]
assert a1["calls"] == "2" and a1["talk_seconds"] == "360", a1
assert a1["avg_talk_seconds"] == "180" and a1["avg_satisfaction"] == "4.00", a1
assert a1["conversion_pct"] == "", a1      # nobody first contacted today
assert open(sys.argv[1], "rb").read().count(b"\r\n") == len(rows) + 1
EOF
expect 0 "global --json" as agent01 --json report --period day --date "$DAY"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$OUT" &&
    ok "the JSON parses" || not_ok "JSON"
expect_grep 2 "not a time zone" "an unknown time zone is refused" \
    rep agent01 --tz Mars/Olympus
expect_grep 2 "go together" "--from without --to is refused" \
    as agent01 report --from 2030-01-01
expect 0 "UTC shifts the day by eight hours" \
    as agent01 report --json --from 2030-05-06 --to 2030-05-06 --tz UTC
python3 - "$OUT" <<'EOF' && ok "in UTC the three calls fall on 2030-05-06" || not_ok "tz"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["from"] == 1904256000 and r["to"] == 1904342400, r
assert r["agents"][0]["calls"] == 3, r["agents"][0]
EOF

# --- HTML ----------------------------------------------------------------
expect 0 "HTML report" rep mgr-north --html "$TMP/r.html"
python3 - "$TMP/r.html" <<'EOF' && ok "the HTML holds trend, ranking and funnel charts with non-empty paths and no script" || not_ok "HTML"
import sys
from html.parser import HTMLParser
class P(HTMLParser):
    def __init__(self):
        super().__init__(); self.svg = []; self.cur = None; self.bad = []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script" or any(k.startswith("on") for k in a) or \
           any(str(v).startswith(("http:", "https:", "//")) and k in ("src", "href") for k, v in a.items()):
            self.bad.append((tag, a))
        if tag == "svg":
            self.cur = [a.get("class", ""), 0]; self.svg.append(self.cur)
        if tag == "path" and self.cur is not None and a.get("d", "").strip():
            self.cur[1] += 1
    def handle_endtag(self, tag):
        if tag == "svg": self.cur = None
p = P(); p.feed(open(sys.argv[1], encoding="utf-8").read())
assert not p.bad, p.bad
kinds = {c.split()[-1]: n for c, n in p.svg}
assert kinds.get("trend", 0) >= 2 and kinds.get("ranking", 0) >= 5 and kinds.get("funnel", 0) == 5, p.svg
EOF
[ "$(stat -c %a "$TMP/r.html")" = 600 ] && ok "the HTML file is mode 0600" ||
    not_ok "mode of the HTML file"
expect_grep 8 "never overwritten" "an existing HTML file is not overwritten" \
    rep mgr-north --html "$TMP/r.html"

# --- audit ---------------------------------------------------------------
expect_grep 0 "report.kpi" "reports are audited" \
    as compliance audit search --op report.kpi
done_testing

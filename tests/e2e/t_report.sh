#!/bin/sh
# t_report.sh - KPI reports through the real cofferd and coffer
# (docs/reports.md): an agent sees only their own row, a manager their
# team with its total, company-wide figures are refused to both, an agent
# cleared below the amounts' label gets no sales, hand-computed figures
# for calls logged here, and the CSV, JSON, HTML and XLSX outputs parse:
# the XLSX is read back cell by cell against the JSON of the same report,
# the HTML page is rendered in headless Chromium.
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

# --- XLSX ----------------------------------------------------------------
# A reader of what libxlsxwriter writes, from the standard library only:
# sheets by name, each cell as (type, value, number format, bold).
cat >"$TMP/xlsxread.py" <<'PY'
import re, zipfile, xml.etree.ElementTree as ET
NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
      "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
      "p": "http://schemas.openxmlformats.org/package/2006/relationships"}
BUILTIN = {0: "General", 1: "0", 2: "0.00", 3: "#,##0", 4: "#,##0.00",
           9: "0%", 10: "0.00%"}
def col_index(ref):
    n = 0
    for ch in re.match(r"[A-Z]+", ref).group(0):
        n = n * 26 + ord(ch) - 64
    return n - 1
class Book:
    def __init__(self, path):
        z = zipfile.ZipFile(path)
        assert z.testzip() is None
        x = lambda n: ET.fromstring(z.read(n))
        rels = {r.get("Id"): r.get("Target") for r in
                x("xl/_rels/workbook.xml.rels").findall("p:Relationship", NS)}
        self.names, self.xml = [], {}
        for s in x("xl/workbook.xml").find("m:sheets", NS):
            self.names.append(s.get("name"))
            self.xml[s.get("name")] = x("xl/" + rels[s.get("{%s}id" % NS["r"])])
        self.strings = []
        if "xl/sharedStrings.xml" in z.namelist():
            for si in x("xl/sharedStrings.xml").findall("m:si", NS):
                self.strings.append("".join(t.text or "" for t in
                                            si.iter("{%s}t" % NS["m"])))
        st = x("xl/styles.xml")
        codes = dict(BUILTIN)
        for f in st.findall("m:numFmts/m:numFmt", NS):
            codes[int(f.get("numFmtId"))] = f.get("formatCode")
        bold = [f.find("m:b", NS) is not None for f in st.find("m:fonts", NS)]
        self.xf = [(codes.get(int(f.get("numFmtId", 0)), "?"),
                    bold[int(f.get("fontId", 0))]) for f in st.find("m:cellXfs", NS)]
    def rows(self, name):
        out = []
        for row in self.xml[name].find("m:sheetData", NS):
            r = int(row.get("r")) - 1
            while len(out) <= r:
                out.append([])
            for c in row.findall("m:c", NS):
                i = col_index(c.get("r"))
                t, v = c.get("t", "n"), c.find("m:v", NS)
                val = None if v is None else v.text
                if t == "s":
                    val, t = self.strings[int(val)], "str"
                elif t == "n" and val is not None:
                    val = float(val)
                while len(out[r]) <= i:
                    out[r].append(None)
                out[r][i] = (t, val) + self.xf[int(c.get("s", 0))]
        return out
    def frozen(self, name):
        p = self.xml[name].find(".//m:pane", NS)
        return p is not None and p.get("state") == "frozen" and p.get("ySplit") == "1"
    def widths(self, name):
        return [float(c.get("width")) for c in self.xml[name].findall("m:cols/m:col", NS)]
PY
# The JSON's figures as the workbook stores them: money in yuan,
# durations in days, rates as fractions, rounded half up (reports.md §2).
cat >"$TMP/xlsxcheck.py" <<'PY'
from xlsxread import Book
DERIVED = {"avg_talk_seconds": ("talk_seconds", "connected", 1, 86400),
           "conversion_pct": ("converted", "first_contacted", 1000, 1000),
           "avg_satisfaction": ("satisfaction_sum", "satisfaction_n", 100, 100)}
FMT = {"sales_fen": "#,##0.00", "conversion_pct": "0.0%",
       "talk_seconds": "[h]:mm:ss", "avg_talk_seconds": "[h]:mm:ss",
       "avg_satisfaction": "0.00"}
def want(m, name):
    if name in DERIVED:
        a, b, scale, unit = DERIVED[name]
        return None if m[b] <= 0 else (2 * m[a] * scale + m[b]) // (2 * m[b]) / unit
    return m[name] / 100 if name == "sales_fen" else \
        m[name] / 86400 if name == "talk_seconds" else m[name]
def about(book):
    """Key/value lines of the About sheet, and column title -> figure."""
    kv, cols, table = {}, {}, False
    for row in book.rows("About"):
        cells = [c[1] if c else None for c in row] + [None, None]
        if cells[0] == "Column":
            table = True
        elif table and cells[0] and cells[1]:
            cols[cells[0]] = cells[1]
        elif not table and cells[0]:
            kv[cells[0]] = cells[1]
    return kv, cols
def check_sheet(book, name, cols, maps, key):
    rows = book.rows(name)
    head = [c[1] for c in rows[0]]
    assert all(c[3] for c in rows[0]), (name, "header not bold", rows[0])
    assert book.frozen(name), (name, "header row not frozen")
    assert len(book.widths(name)) >= len(head), (name, "column widths")
    assert len(rows) - 1 == len(maps), (name, len(rows), len(maps))
    for m, row in zip(maps, rows[1:]):
        assert row[head.index(key[0])][1] == m[key[1]], (name, row, m)
        for i, title in enumerate(head):
            if title not in cols:
                continue
            fig, cell = cols[title], row[i] if i < len(row) else None
            w = want(m, fig)
            if w is None:
                assert cell is None or cell[1] is None, (name, fig, cell)
                continue
            assert cell is not None and cell[0] == "n", (name, fig, "not a number", cell)
            assert abs(cell[1] - w) < 1e-9, (name, m.get("name"), fig, cell[1], w)
            assert cell[2] == FMT.get(fig, "#,##0"), (name, fig, cell[2])
    return head, rows
PY

expect 0 "XLSX report (and the JSON of the same report)" \
    rep mgr-north --json --xlsx "$TMP/r.xlsx"
PYTHONPATH=$TMP python3 - "$OUT" "$TMP/r.xlsx" <<'EOF' && ok "the XLSX has a sheet per level, bold frozen headers, every figure of the JSON as a formatted number" || not_ok "XLSX read-back"
import json, sys
from xlsxcheck import Book, about, check_sheet
r = json.load(open(sys.argv[1]))
b = Book(sys.argv[2])
assert b.names == ["Agents", "Teams", "Team total", "About"], b.names
kv, cols = about(b)
assert kv["Level"] == "team" and kv["Time zone"] == "Asia/Shanghai", kv
assert kv["Period"].startswith("2030-05-07 to 2030-05-07"), kv
assert kv["From (Unix seconds)"] == r["from"], kv
assert kv["To (Unix seconds, excluded)"] == r["to"], kv
assert "Generated" in kv and "Not shown" not in kv, kv
# a column for every figure of the answer, and the three derived ones
figs = set(k for k in r["total"] if k != "agents") | set(
    ["avg_talk_seconds", "conversion_pct", "avg_satisfaction"])
assert figs == set(cols.values()), (figs, cols)
head, rows = check_sheet(b, "Agents", cols, r["agents"], ("Agent", "name"))
check_sheet(b, "Teams", cols, r["teams"], ("Team", "team"))
check_sheet(b, "Team total", cols, [r["total"]], ("Agents", "agents"))
# agent01's hand-computed figures (the first check of this script)
a1 = [row for row in rows if row[0][1] == "agent01"][0]
v = lambda t: a1[head.index(t)][1]
assert v("Calls made") == 2 and round(v("Talk time") * 86400) == 360, a1
assert round(v("Avg talk") * 86400) == 180 and v("Sales (yuan)") == 1234.5, a1
assert v("Avg satisfaction") == 4 and v("Satisfaction n") == 1, a1
assert len(a1) <= head.index("Conversion") or a1[head.index("Conversion")] is None, a1
EOF
[ "$(stat -c %a "$TMP/r.xlsx")" = 600 ] && ok "the XLSX file is mode 0600" ||
    not_ok "mode of the XLSX file"
cp "$TMP/r.xlsx" "$TMP/r.xlsx.orig"
expect_grep 8 "never overwritten" "an existing XLSX file is not overwritten" \
    rep mgr-north --xlsx "$TMP/r.xlsx"
cmp -s "$TMP/r.xlsx" "$TMP/r.xlsx.orig" && ok "the refused XLSX file keeps its bytes" ||
    not_ok "the refused XLSX file was changed"
ln -s "$TMP/r.xlsx.orig" "$TMP/link.xlsx"
expect 8 "an XLSX name that is a symbolic link is refused" \
    rep mgr-north --xlsx "$TMP/link.xlsx"
expect 0 "the intern's XLSX" rep intern --json --xlsx "$TMP/i.xlsx"
PYTHONPATH=$TMP python3 - "$OUT" "$TMP/i.xlsx" <<'EOF' && ok "an XLSX below the amounts' clearance has no sales column and says so" || not_ok "intern XLSX"
import json, sys
from xlsxcheck import Book, about, check_sheet
r = json.load(open(sys.argv[1]))
b = Book(sys.argv[2])
assert b.names == ["Agents", "About"], b.names
kv, cols = about(b)
assert "sales" in kv["Not shown"] and "sales_fen" not in cols.values(), (kv, cols)
head, rows = check_sheet(b, "Agents", cols, r["agents"], ("Agent", "name"))
assert "Sales (yuan)" not in head and "Deals" in head, head
EOF

# --- the HTML page in headless Chromium ----------------------------------
# Rendered for real: the DOM after loading holds the charts, the
# screenshot shows their colours, and the page logs nothing to the
# console (it has no script).  A broken page is the control: the same
# check must reject it.  Chromium's own dbus and GPU warnings are noise.
render() {
	timeout 60 chromium --headless --no-sandbox --disable-gpu \
	    --enable-logging=stderr --log-level=0 --hide-scrollbars \
	    --user-data-dir="$TMP/chromium" --window-size=1000,1800 \
	    --screenshot="$2.png" --dump-dom "file://$1" >"$2.dom" 2>"$2.log"
}
cat >"$TMP/rendercheck.py" <<'PY'
import re, struct, sys, zlib
from html.parser import HTMLParser
def pixels(path):
    """Rows of RGB(A) bytes of an 8-bit, non-interlaced PNG."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, lace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    assert depth == 8 and ctype in (2, 6) and lace == 0, (depth, ctype, lace)
    bpp = 3 if ctype == 2 else 4
    raw, stride = zlib.decompress(idat), w * bpp
    prev, rows = bytearray(stride), []
    for y in range(h):
        base = y * (stride + 1)
        f, line = raw[base], bytearray(raw[base + 1:base + 1 + stride])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pr) & 255
        rows.append(line)
        prev = line
    return w, bpp, rows
class Dom(HTMLParser):
    def __init__(self):
        super().__init__()
        self.charts, self.cur, self.script = {}, None, 0
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script":
            self.script += 1
        if tag == "svg":
            self.cur = (a.get("class") or "?").split()[-1]
            self.charts.setdefault(self.cur, 0)
        if tag in ("path", "rect") and self.cur and (a.get("d") or "").strip():
            self.charts[self.cur] += 1
    def handle_endtag(self, tag):
        if tag == "svg":
            self.cur = None
prefix, problems = sys.argv[1], []
d = Dom()
d.feed(open(prefix + ".dom", encoding="utf-8").read())
if d.script:
    problems.append("script in the DOM")
if d.charts.get("trend", 0) < 4 or d.charts.get("ranking", 0) < 1 or \
   d.charts.get("funnel", 0) != 5:
    problems.append("charts missing from the DOM: %r" % d.charts)
log = open(prefix + ".log", errors="replace").read()
bad = [l for l in log.splitlines() if re.search(r"CONSOLE|Uncaught", l)]
if bad:
    problems.append("console messages: %r" % bad[:3])
w, bpp, rows = pixels(prefix + ".png")
want = {"series": (0x1f, 0x6f, 0xb2), "bar": (0x2e, 0x8b, 0x57),
        "funnel": (0xc7, 0x66, 0x3b)}
colours, near = set(), dict.fromkeys(want, 0)
for line in rows:
    for x in range(0, w * bpp, bpp):
        px = bytes(line[x:x + 3])
        colours.add(px)
        for k, c in want.items():
            if abs(px[0] - c[0]) <= 8 and abs(px[1] - c[1]) <= 8 and abs(px[2] - c[2]) <= 8:
                near[k] += 1
if len(colours) < 16:
    problems.append("screenshot nearly blank: %d colours" % len(colours))
if near["series"] < 2 or near["bar"] < 100 or near["funnel"] < 1000:
    problems.append("chart colours not on screen: %r" % near)
print("\n".join(problems) if problems else
      "rendered: %r, %d colours, %r" % (d.charts, len(colours), near))
sys.exit(1 if problems else 0)
PY
if ! command -v chromium >/dev/null 2>&1; then
	not_ok "chromium is installed (tools/install-deps installs it)"
else
	render "$TMP/r.html" "$TMP/page"; rc=$?
	if [ "$rc" -eq 0 ] && python3 "$TMP/rendercheck.py" "$TMP/page" \
	    >"$OUT" 2>"$ERR"; then
		ok "headless Chromium renders the HTML report: charts in the DOM and on screen, no console message"
	else
		echo "# chromium exit $rc"
		grep -v dbus "$TMP/page.log" | sed 's/^/#   /' | head -10
		not_ok "headless Chromium rendering"
	fi
	printf '<!DOCTYPE html><html><body><svg class="chart funnel"></svg>%s\n' \
	    '<script>nosuch();</script></body></html>' >"$TMP/broken.html"
	render "$TMP/broken.html" "$TMP/broken"
	if ! python3 "$TMP/rendercheck.py" "$TMP/broken" >"$OUT" 2>"$ERR" &&
	    grep -q "charts missing" "$OUT" && grep -q "Uncaught" "$OUT" &&
	    grep -q "nearly blank" "$OUT"; then
		ok "the rendering check rejects a broken page (no charts, a script error, blank)"
	else
		not_ok "the rendering check rejects a broken page"
	fi
fi

# --- audit ---------------------------------------------------------------
expect_grep 0 "report.kpi" "reports are audited" \
    as compliance audit search --op report.kpi
done_testing

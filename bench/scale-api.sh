#!/usr/bin/env bash
# Scale bench against a real kube-apiserver (see bench/scale-api/run.ts, issue 16): 100 namespaces,
# 10,000 Services, 10,000 EndpointSlices (100,000 endpoints), 1,000 StaticHosts; one operator
# process and one DNS server. Takes several minutes. Builds, then runs compiled JS.
#   bash bench/scale-api.sh     (env BENCH_SERVICES, BENCH_STATICHOSTS, BENCH_CHANGES; KUBEBUILDER_ASSETS)
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build:bench --silent
# The envtest harness lives in test/ (never imported by production code): compile it with the bench.
npx tsc -p bench/scale-api/tsconfig.json
exec node dist/bench/scale-api/run.js "$@"

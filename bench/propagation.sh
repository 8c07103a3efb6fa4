#!/usr/bin/env bash
# Propagation bench (see bench/propagation/run.ts): change → served by every DNS server replica,
# and change → Programmed, against the Kubernetes API double. Builds, then runs compiled JS.
#   bash bench/propagation.sh [N]      (default N=50; ports 5500-5549 on 127.0.0.1)
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build:bench --silent
# The API double lives in test/ (never in production builds): compile it with the bench only.
npx tsc -p bench/propagation/tsconfig.json
exec node dist/bench/propagation/run.js "$@"

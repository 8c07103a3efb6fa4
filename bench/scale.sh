#!/usr/bin/env bash
# Scale bench of the compiler and the DNS server (see bench/scale/run.ts). Builds, then runs the
# compiled JavaScript (not tsx) so the figures are those of production code.
#   bash bench/scale.sh
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build:bench --silent
exec node --max-old-space-size=2048 dist/bench/scale/run.js

#!/usr/bin/env bash
# Outage bench (see bench/outage/run.ts): a change made 1 s after the real apiserver is back
# from an outage → served by every DNS server replica. Needs the envtest binaries (test/envtest).
#   bash bench/outage.sh [ROUNDS] [OUTAGE_S]
set -euo pipefail
cd "$(dirname "$0")/.."
exec node --import tsx bench/outage/run.ts "$@"

#!/usr/bin/env bash
# The main job: builds the desk, prepares the Python side, and runs `desk demo`
# (paper broker, synthetic feed, the example strategies; 60 s unless --duration N).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
scripts/python-env.sh >/dev/null
swift build --product desk
swift build --product desk-sandbox  # the strategy sandbox launcher, beside desk
exec .build/debug/desk demo "$@"

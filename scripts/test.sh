#!/usr/bin/env bash
# Every test: Swift (unit, HTTP, real processes) and the Python client's pytest
# suite against the real desk binary. Installs what it needs (a venv under .venv).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
started=$(date +%s)
echo "== Python environment"
python="$(scripts/python-env.sh)"
echo "== Browser (chromium, chromium-driver) for the web desk's tests"
scripts/browser-env.sh >/dev/null
echo "== swift build --build-tests"
swift build --build-tests
echo "== swift test"
swift test --skip-build
echo "== pytest (clients/python/tests)"
DESK_BIN="$root/.build/debug/desk" "$python" -m pytest -q clients/python/tests
echo "== all tests passed in $(( $(date +%s) - started ))s"

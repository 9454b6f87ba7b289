#!/usr/bin/env bash
# The original desk's deployment script, kept for its users: a thin wrapper over
# `desk strategies`, which asks the running desk to act (the desk runs the
# strategies of its --strategies-dir; nothing is started by this script itself).
#
#   ./scripts/deploy_strategies.sh start|stop|restart|status [NAME|FOLDER...]
#
# With no name it acts on every strategy, as the original did; a name is a
# strategy's folder name or the path to its folder (strategies/example_alice/).
# The desk is found as `desk strategies` finds it: DESK_SERVER_URL, else the desk
# running on the ledger DB_PATH (./trading_desk.db), through its lock file; the
# admin token is DESK_ADMIN_TOKEN or desk-admin.token beside that ledger.
# The desk binary is $DESK_BIN, else .build/debug/desk in this checkout, else
# `desk` on the PATH. Exit status: desk's own (non-zero when an action failed).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

usage() {
  echo "usage: $0 start|stop|restart|status [NAME|FOLDER...]" >&2
}

desk="${DESK_BIN:-}"
if [ -z "$desk" ]; then
  if [ -x "$root/.build/debug/desk" ]; then
    desk="$root/.build/debug/desk"
  elif command -v desk >/dev/null 2>&1; then
    desk="$(command -v desk)"
  else
    echo "error: no desk binary: build it with \`swift build\` in $root, or set DESK_BIN" >&2
    exit 1
  fi
fi

case "${1:-}" in
start | stop | restart | status) ;;
-h | --help)
  usage
  exit 0
  ;;
*)
  usage
  exit 64
  ;;
esac
exec "$desk" strategies "$@"

#!/usr/bin/env bash
# Creates .venv (once) with the Python client installed in development mode and
# its test tools (and Ray, for the --cluster tests; only in the venv, never in the strategies' sites), and .venv/strategy-site: the client's dependencies for the
# strategies the desk runs (with /usr/bin/python3, as unprivileged users, through
# PYTHONPATH). Prints the venv's python path. Safe to run repeatedly.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.venv"
python="${DESK_PYTHON_BOOTSTRAP:-python3}"
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv" >&2
fi
stamp="$venv/.desk-installed"
# Again when the client's dependencies or this script changed, or a site is missing.
if [ ! -f "$stamp" ] || [ "$root/clients/python/pyproject.toml" -nt "$stamp" ] || [ "$0" -nt "$stamp" ] \
  || [ ! -d "$venv/strategy-site" ] || [ ! -d "$venv/alpaca-site" ]; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e "$root/clients/python[test,ray]" >&2
  rm -rf "$venv/strategy-site"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --target "$venv/strategy-site" \
    -r "$root/clients/python/requirements.txt" >&2
  chmod -R a+rX "$venv/strategy-site"
  # alpaca-py for strategies (the pinned test version): the sandboxed alpaca-py example imports it.
  rm -rf "$venv/alpaca-site"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --target "$venv/alpaca-site" \
    "$(grep -o 'alpaca-py==[0-9.]*' "$root/clients/python/pyproject.toml")" >&2
  chmod -R a+rX "$venv/alpaca-site"
  touch "$stamp"
fi
echo "$venv/bin/python"

#!/usr/bin/env bash
# Makes bench/.peers-venv (once): the peer engines of the `backtest_peers` benchmark scenario
# (NautilusTrader, backtrader, backtesting.py) from bench/peers/requirements.txt, every version pinned.
# nautilus_trader needs Python >= 3.12: the venv is made with the highest pyenv 3.12.x
# (`$(pyenv root)/versions/3.12.*`; PEERS_PYTHON overrides it). Prints the venv's python path.
# Safe to run repeatedly: it installs again only when requirements.txt or this script changed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$(dirname "$here")/.peers-venv"
requirements="$here/requirements.txt"
python="${PEERS_PYTHON:-}"
if [ -z "$python" ]; then
  if ! command -v pyenv >/dev/null 2>&1 && [ ! -x "$HOME/.pyenv/bin/pyenv" ]; then
    echo "make-venv.sh: pyenv is missing: the peer engines need Python 3.12 (nautilus_trader needs >= 3.12)," \
      "looked for in \$(pyenv root)/versions/3.12.*; install it with pyenv or set PEERS_PYTHON to a python3.12" >&2
    exit 1
  fi
  pyenv_root="$( (command -v pyenv >/dev/null 2>&1 && pyenv root) || "$HOME/.pyenv/bin/pyenv" root)"
  version="$(find "$pyenv_root/versions" -mindepth 1 -maxdepth 1 -name '3.12.*' -printf '%f\n' 2>/dev/null \
    | sort -V | tail -n 1)"
  if [ -z "$version" ] || [ ! -x "$pyenv_root/versions/$version/bin/python3" ]; then
    echo "make-venv.sh: no Python 3.12 in $pyenv_root/versions (found: $(ls "$pyenv_root/versions" 2>/dev/null \
      | tr '\n' ' ')): nautilus_trader needs Python >= 3.12; run 'pyenv install 3.12' or set PEERS_PYTHON" >&2
    exit 1
  fi
  python="$pyenv_root/versions/$version/bin/python3"
fi
if ! "$python" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 12) else 1)' 2>/dev/null; then
  echo "make-venv.sh: $python is not Python 3.12 (the pinned nautilus_trader wheels are for 3.12)" >&2
  exit 1
fi
stamp="$venv/.peers-installed"
if [ ! -x "$venv/bin/python" ]; then
  rm -rf "$venv"
  "$python" -m venv "$venv" >&2
fi
if [ ! -f "$stamp" ] || [ "$requirements" -nt "$stamp" ] || [ "$0" -nt "$stamp" ]; then
  echo "make-venv.sh: installing the peer engines into $venv (once)" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --only-binary=:all: \
    -r "$requirements" >&2
  touch "$stamp"
fi
echo "$venv/bin/python"

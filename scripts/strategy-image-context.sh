#!/usr/bin/env bash
# Prepares the build context for docker/Dockerfile in DIR: the Dockerfile and
# python/ holding desk_client and its dependencies (from .venv/strategy-site,
# made by scripts/python-env.sh), so that the image builds with no network.
#   scripts/strategy-image-context.sh DIR
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
context="${1:?usage: scripts/strategy-image-context.sh DIR}"
"$root/scripts/python-env.sh" >/dev/null
rm -rf "$context/python"
mkdir -p "$context/python"
cp -a "$root/.venv/strategy-site/." "$context/python/"
cp -a "$root/clients/python/desk_client" "$context/python/desk_client"
find "$context/python" -name __pycache__ -prune -exec rm -rf {} +
rm -rf "$context/python/bin"
cp "$root/docker/Dockerfile" "$context/Dockerfile"

#!/usr/bin/env bash
# The original desk's image build, kept for its users: builds the strategy image
# (`desk serve --runtime docker` runs strategies in it) from docker/Dockerfile,
# with no network during the build: scripts/strategy-image-context.sh puts
# desk_client and its dependencies into the build context first.
#
#   ./scripts/build_strategy_image.sh
#
# DOCKER_IMAGE names the image (default trading-desk-strategy, what the desk
# runs unless told otherwise); BASE_IMAGE is any image with python3 (default
# python:3.11-slim, which must already be on the Docker host: nothing is pulled
# with --network none). DESK_DOCKER is the docker CLI (default docker).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
image="${DOCKER_IMAGE:-trading-desk-strategy}"
base="${BASE_IMAGE:-python:3.11-slim}"
docker="${DESK_DOCKER:-docker}"
if ! command -v "$docker" >/dev/null 2>&1; then
  echo "error: $docker is not installed (the docker CLI builds the image; set DESK_DOCKER to use another)" >&2
  exit 1
fi
context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT
"$root/scripts/strategy-image-context.sh" "$context"
"$docker" build --network none --build-arg BASE_IMAGE="$base" -t "$image" "$context"
echo "built $image (from $base); run strategies in it with: desk serve --runtime docker --strategies-dir strategies"

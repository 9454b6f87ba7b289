#!/usr/bin/env bash
# Installs what the web desk's browser tests drive: Debian's chromium and
# chromium-driver (a real headless Chromium and its WebDriver), when missing.
# Prints the chromedriver path. Needs root to install (CI and the developers'
# machines run as root); on a machine that has both it installs nothing.
set -euo pipefail
driver="$(command -v chromedriver || true)"
browser="$(command -v chromium || true)"
if [ -z "$driver" ] || [ -z "$browser" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "browser tests need chromium and chromium-driver: run as root, or apt-get install chromium chromium-driver" >&2
    exit 2
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-dejavu-core >&2
  driver="$(command -v chromedriver)"
fi
echo "$driver"

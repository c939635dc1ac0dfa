#!/usr/bin/env bash
# Install Debian's headless-capable Chromium and its matching chromedriver for the browser tests
# (tests/e2e, marker "browser"). Idempotent: does nothing when both are already on PATH.
set -euo pipefail

if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "install-browser: need root or sudo to apt-get install chromium" >&2; exit 1; }
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
echo "install-browser: $(chromium --version 2>/dev/null | head -1); $(chromedriver --version | head -1)"

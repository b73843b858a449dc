#!/usr/bin/env bash
# Headless Chromium + chromedriver for the browser tests (pytest -m browser), from Debian's
# apt repository only: selenium is always given /usr/bin/chromedriver, so selenium-manager
# never downloads a driver or a browser. Idempotent: does nothing when both are present.
set -euo pipefail

if command -v chromium >/dev/null 2>&1 && [ -x /usr/bin/chromedriver ]; then
  echo "install-browser: $(chromium --version 2>/dev/null || echo chromium) and chromedriver already installed"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q chromium chromium-driver
echo "install-browser: installed $(chromium --version)"

#!/usr/bin/env bash
# podman (a real Docker Engine API for the discovery tests) and pebble (a real ACME server for
# the renewal tests), from Debian's apt repository. Idempotent: installs only what is missing.
set -euo pipefail

missing=()
command -v podman >/dev/null 2>&1 || missing+=(podman)
command -v pebble >/dev/null 2>&1 || missing+=(pebble)
if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-traffic: $(podman --version) and pebble already installed"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q "${missing[@]}"
echo "install-traffic: installed ${missing[*]}"

#!/usr/bin/env bash
# Installs what distill needs on a fresh Debian machine with Node 20, only when missing:
# Debian packages (Verilator for co-simulation, Chromium for the report rendering test, clang and
# lld for our WebAssembly training kernels) and the npm dependencies (which also build dist/ and
# build/kernels.wasm).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(verilator chromium clang lld)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

stamp=node_modules/.distill-lock
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  echo "setup: npm ci" >&2
  # npm 11.19 writes lock files without the other platforms' optional packages of
  # @biomejs/biome and then refuses them in `npm ci`; `npm install` honours the same lock.
  if ! npm ci --no-audit --no-fund >/tmp/distill-npm-ci.log 2>&1; then
    echo "setup: npm ci refused the lock file ($(grep -m1 'npm error code' /tmp/distill-npm-ci.log)); installing from it with npm install" >&2
    npm install --no-audit --no-fund
  fi
  cp package-lock.json "$stamp"
fi

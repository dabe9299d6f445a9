#!/usr/bin/env bash
# Installs what is missing: Deno (into .tools/ via npm), redis-server and redis-tools (via apt),
# then the locked npm dependencies. Idempotent and quick when everything is there.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v deno >/dev/null 2>&1 && [ ! -x .tools/node_modules/.bin/deno ]; then
  echo "setup: installing deno into .tools/ (npm)"
  npm install --silent --prefix .tools deno@2 >/dev/null
fi
DENO=$(command -v deno 2>/dev/null || echo .tools/node_modules/.bin/deno)
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
command -v redis-benchmark >/dev/null 2>&1 || missing+=(redis-tools)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: missing ${missing[*]}; run as root or: sudo apt-get install -y redis-server redis-tools" >&2
    exit 1
  fi
  echo "setup: installing redis-server redis-tools (apt)"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools >/dev/null
fi
"$DENO" install --frozen --quiet >/dev/null

#!/usr/bin/env bash
# Installs what is missing: Deno (into .tools/ via npm), redis-server, redis-tools, libfaketime,
# iproute2 and a C compiler (via apt), then the locked npm dependencies, and builds the child's
# clock library (.tools/raftclock.so from native/raftclock.c). Idempotent and quick when
# everything is there.
set -euo pipefail
cd "$(dirname "$0")/.."
# Registries fail now and then: a few tries, a pause between them.
retry() {
  local attempt
  for attempt in 1 2 3; do
    "$@" && return 0
    [ "$attempt" = 3 ] || { echo "setup: '$*' failed; trying again in 5 s" >&2; sleep 5; }
  done
  return 1
}
if ! command -v deno >/dev/null 2>&1 && [ ! -x .tools/node_modules/.bin/deno ]; then
  echo "setup: installing deno into .tools/ (npm)"
  retry npm install --silent --prefix .tools deno@2 >/dev/null
fi
DENO=$(command -v deno 2>/dev/null || echo .tools/node_modules/.bin/deno)
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
command -v redis-benchmark >/dev/null 2>&1 || missing+=(redis-tools)
# Tests step one node's wall clock with it.
compgen -G "/usr/lib/*/faketime/libfaketimeMT.so.1" >/dev/null || missing+=(libfaketime)
command -v cc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
# The chaos tests' network namespaces (ip) and slow links (tc).
{ command -v ip && command -v tc; } >/dev/null 2>&1 || missing+=(iproute2)
if [ ${#missing[@]} -gt 0 ]; then
  packages=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
  if [ "$(id -u)" != 0 ]; then
    echo "setup: missing ${packages}; run as root or: sudo apt-get install -y ${packages}" >&2
    exit 1
  fi
  echo "setup: installing ${packages}(apt)"
  retry apt-get update -qq >/dev/null
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive retry apt-get install -y -qq ${packages} >/dev/null
fi
retry "$DENO" install --frozen --quiet >/dev/null
if [ ! -f .tools/raftclock.so ] || [ native/raftclock.c -nt .tools/raftclock.so ]; then
  mkdir -p .tools
  cc -O2 -shared -fPIC -Wall -Wextra -o .tools/raftclock.so native/raftclock.c -ldl
fi

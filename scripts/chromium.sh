#!/usr/bin/env bash
# Debian's Chromium for the browser tests (tests/ui), driven by Playwright through its
# executable_path: Playwright's own browser download cannot work on these machines.
#
#   eval "$(scripts/chromium.sh)"   install if missing (apt, as root), print YARD_CHROMIUM
set -euo pipefail
log() { echo "chromium: $*" >&2; }

find_chromium() {
  for candidate in "${YARD_CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-headless-shell; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

if ! path=$(find_chromium); then
  if [ "$(id -u)" != 0 ]; then
    log "not installed, and installing it needs root: apt-get install chromium"
    exit 1
  fi
  log "installing chromium (apt)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >&2
  path=$(find_chromium)
fi
echo "export YARD_CHROMIUM=$path"

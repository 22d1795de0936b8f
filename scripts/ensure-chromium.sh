#!/usr/bin/env bash
# The browser tests drive Debian's chromium. Install it when it is missing (needs root and apt).
set -euo pipefail
path="${CHROMIUM_PATH:-/usr/bin/chromium}"
[ -x "$path" ] && exit 0
# A CHROMIUM_PATH that names nothing runnable is a mistake to report: the tests would launch it.
if [ -n "${CHROMIUM_PATH:-}" ]; then
  echo "CHROMIUM_PATH=$CHROMIUM_PATH is not an executable file: fix it, or unset it to use Debian's chromium" >&2
  exit 1
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "chromium missing: installing Debian's chromium package" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  echo "chromium missing at $path: install it (apt-get install chromium) or set CHROMIUM_PATH" >&2
  exit 1
fi

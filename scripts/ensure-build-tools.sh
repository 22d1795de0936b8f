#!/usr/bin/env bash
# npm compiles better-sqlite3 from source when no prebuilt binary is reachable: that needs python3,
# make and a C++ compiler. Install them when one is missing (needs root and apt).
set -euo pipefail
missing=()
for tool in python3 make g++; do command -v "$tool" >/dev/null || missing+=("$tool"); done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "${missing[*]} missing: installing Debian's python3, make and g++" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 make g++ >/dev/null
else
  echo "${missing[*]} missing: npm needs python3, make and g++ to compile better-sqlite3 (apt-get install python3 make g++)" >&2
  exit 1
fi

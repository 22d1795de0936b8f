#!/usr/bin/env bash
# Runs the whole suite of the committed HEAD under another major version of Node (22, 24…), taken
# from the npm registry's node-<os>-<cpu> packages, which carry the binary and the headers that
# better-sqlite3 compiles against: nothing is fetched from nodejs.org.
#   npm run test:node -- 24            (any argument after the major goes to vitest)
# The binary is kept in NODE_VERSIONS_DIR (default $TMPDIR or /tmp, role-competency-api-node); the
# checkout, its node_modules and its databases live in a temporary folder removed at the end. Both
# can be read by every user: run as root, the suite runs a command as another user (db:backup).
set -euo pipefail

usage() { echo "usage: npm run test:node -- <major, e.g. 22 or 24> [vitest arguments]" >&2; exit 64; }
[[ $# -ge 1 && $1 =~ ^[0-9]+$ ]] || usage
major=$1
shift

root=$(cd "$(dirname "$0")/.." && pwd)
case "$(uname -s)" in Linux) os=linux ;; Darwin) os=darwin ;; *) echo "test:node: no npm package of Node for $(uname -s)" >&2; exit 69 ;; esac
case "$(uname -m)" in x86_64 | amd64) cpu=x64 ;; aarch64 | arm64) cpu=arm64 ;; *) echo "test:node: no npm package of Node for $(uname -m)" >&2; exit 69 ;; esac
package="node-$os-$cpu"

cache=${NODE_VERSIONS_DIR:-${TMPDIR:-/tmp}/role-competency-api-node}
version=$(npm view "$package@$major" version --json | node -e 'const v = JSON.parse(require("fs").readFileSync(0, "utf8")); console.log([].concat(v).pop() ?? "")')
[[ -n $version ]] || { echo "test:node: the registry has no $package@$major" >&2; exit 69; }
nodedir="$cache/$version"
if [[ ! -x $nodedir/bin/node ]]; then
  mkdir -p "$cache"
  download=$(mktemp -d "$cache/.download-XXXXXX")
  chmod 755 "$download"
  (cd "$download" && npm pack --silent "$package@$version" >/dev/null && tar xzf ./*.tgz)
  # The headers are what lets node-gyp build better-sqlite3 without reaching nodejs.org.
  [[ -d $download/package/include/node ]] || { echo "test:node: $package@$version carries no headers" >&2; exit 69; }
  rm -rf "$nodedir"
  mv "$download/package" "$nodedir"
  rm -rf "$download"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/test-on-node-$major-XXXXXX")
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
git clone --quiet "$root" "$work/project"
cd "$work/project"
export PATH="$nodedir/bin:$PATH"
export npm_config_nodedir="$nodedir"
echo "test:node: $(git log -1 --format='%h %s') on Node $(node --version)"
npm install --no-audit --no-fund
npm test -- "$@"

#!/usr/bin/env bash
# The test command (`npm test`): installs what the tests need on a fresh Debian machine, then runs
# the linter, the type checker and every test against real servers started on free ports.
set -euo pipefail
cd "$(dirname "$0")/.."

# Servers and tools the tests start; Debian package names, and the binary (a name on the PATH, or a
# path: PostgreSQL 15's server is off the PATH) that says the package is there.
DEBIAN_PACKAGES=(mosquitto victoria-metrics socat mbpoll chromium docker-compose postgresql rabbitmq-server redis-server influxdb)
BINARIES=(mosquitto victoria-metrics socat mbpoll chromium docker-compose /usr/lib/postgresql/15/bin/postgres /usr/lib/rabbitmq/bin/rabbitmq-server redis-server influxd)
missing=()
for i in "${!BINARIES[@]}"; do
  command -v "${BINARIES[$i]}" >/dev/null 2>&1 || [ -x "/usr/sbin/${BINARIES[$i]}" ] || missing+=("${DEBIAN_PACKAGES[$i]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "the tests need these Debian packages: ${missing[*]} (sudo apt-get install -y ${missing[*]})" >&2
    exit 1
  fi
fi

# Node dependencies, when missing or older than the lock file.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

npx biome check .
npx tsc -p tsconfig.json --noEmit
mkdir -p .tmp
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=.tmp/vitest.json "$@" || status=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(".tmp/vitest.json", "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
' || true
exit $status

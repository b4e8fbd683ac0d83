#!/usr/bin/env bash
# Set everything up (first time only: packages, Chromium for the browser tests) and run the tests.
# Extra arguments go to pytest, e.g. scripts/test.sh -k store
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev

if [ ! -x /usr/bin/chromium ]; then
  echo "test: installing Debian's chromium for the browser tests"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi

.venv/bin/ruff check .
# Two test processes (pytest-xdist), also on a 2-core CI machine: most tests wait on worker
# processes and browsers, not on the CPU. TFLAB_TEST_PROCESSES=0 runs everything in one process.
exec .venv/bin/python -m pytest -n "${TFLAB_TEST_PROCESSES:-2}" --dist worksteal "$@"

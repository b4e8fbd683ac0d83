#!/usr/bin/env bash
# Create .venv at the repository root and install the dashboard's dependencies into it: the exact
# versions in requirements.lock (requirements-dev.lock with --dev), then this project itself
# (editable, no dependencies). bash scripts/lock.sh rewrites the locks from pyproject.toml.
# Usage: scripts/setup.sh [--dev]   (--dev adds the test, lint and lock tools)
# Quick when nothing changed: a stamp in .venv records what was installed.
# On a GPU server: TFLAB_GPU=1 scripts/setup.sh installs tensorflow[and-cuda] instead of -cpu
# (the version the lock pins for tensorflow-cpu).
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
[ "${1:-}" = "--dev" ] && dev=1

python=${PYTHON:-}
if [ -z "$python" ]; then
  for candidate in python3.11 python3.12 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then python=$candidate; break; fi
  done
fi
[ -n "$python" ] || { echo "setup: Python 3.11+ is needed (set PYTHON=...)" >&2; exit 1; }

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $python"
  "$python" -m venv .venv
fi

lock=requirements.lock
[ "$dev" = 1 ] && lock=requirements-dev.lock
wanted=$( (cat pyproject.toml requirements.lock requirements-dev.lock
  echo "gpu=${TFLAB_GPU:-0} dev=$dev") | sha256sum | cut -d' ' -f1)
stamp=.venv/.tflab-installed
if [ -f "$stamp" ] && grep -qx "$wanted" "$stamp"; then
  exit 0
fi

echo "setup: installing $lock into .venv (first time: a few minutes)"
pip=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)
if [ "${TFLAB_GPU:-0}" = 1 ]; then
  tf_version=$(sed -n 's/^tensorflow-cpu==\([^ ]*\).*/\1/p' "$lock")
  [ -n "$tf_version" ] || { echo "setup: $lock pins no tensorflow-cpu" >&2; exit 1; }
  grep -v '^tensorflow-cpu==' "$lock" > .venv/requirements-gpu.lock
  "${pip[@]}" -r .venv/requirements-gpu.lock "tensorflow[and-cuda]==$tf_version"
else
  "${pip[@]}" -r "$lock"
fi
"${pip[@]}" --no-deps -e .
echo "$wanted" >> "$stamp"
echo "setup: done"

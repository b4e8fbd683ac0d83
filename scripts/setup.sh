#!/usr/bin/env bash
# Create .venv at the repository root and install the dashboard's dependencies into it.
# Usage: scripts/setup.sh [--dev]   (--dev adds the test tools)
# Quick when nothing changed: a stamp in .venv records what was installed.
# On a GPU server: TFLAB_GPU=1 scripts/setup.sh installs tensorflow[and-cuda] instead of -cpu.
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

files="requirements.txt pyproject.toml"
[ "$dev" = 1 ] && files="$files requirements-dev.txt"
wanted=$( (cat $files; echo "gpu=${TFLAB_GPU:-0} dev=$dev") | sha256sum | cut -d' ' -f1)
stamp=.venv/.tflab-installed
if [ -f "$stamp" ] && grep -qx "$wanted" "$stamp"; then
  exit 0
fi

echo "setup: installing dependencies into .venv (first time: a few minutes)"
pip=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)
if [ "${TFLAB_GPU:-0}" = 1 ]; then
  grep -v '^tensorflow-cpu' requirements.txt > .venv/requirements-gpu.txt
  "${pip[@]}" -r .venv/requirements-gpu.txt 'tensorflow[and-cuda]==2.21.*'
else
  "${pip[@]}" -r requirements.txt
fi
[ "$dev" = 1 ] && "${pip[@]}" -r requirements-dev.txt
"${pip[@]}" --no-deps -e .
echo "$wanted" >> "$stamp"
echo "setup: done"

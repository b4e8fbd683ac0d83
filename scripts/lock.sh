#!/usr/bin/env bash
# Regenerate the locks from pyproject.toml with uv (pinned in requirements-dev.lock):
#   requirements.lock      every runtime package, pinned ==   (what scripts/setup.sh installs)
#   requirements-dev.lock  the same pins plus the dev extra   (scripts/setup.sh --dev)
# Usage:
#   bash scripts/lock.sh                               after editing pyproject.toml: adds/removes
#                                                      what changed, every other pin stays
#   bash scripts/lock.sh --upgrade                     newest versions pyproject.toml allows
#   bash scripts/lock.sh --upgrade-package streamlit   just that one (and what it needs)
# Resolved for .venv's Python on this machine (the lab server's Linux); needs PyPI. The next
# scripts/setup.sh (start.sh and test.sh run it) installs the new lock.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -x .venv/bin/uv ] || bash scripts/setup.sh --dev
compile=(.venv/bin/uv pip compile --quiet --python .venv/bin/python
  --custom-compile-command "bash scripts/lock.sh" --annotation-style line pyproject.toml)
"${compile[@]}" "$@" -o requirements.lock
"${compile[@]}" --extra dev -c requirements.lock "$@" -o requirements-dev.lock
echo "lock: wrote requirements.lock and requirements-dev.lock"

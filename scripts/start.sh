#!/usr/bin/env bash
# Set everything up (first time only) and start the dashboard on the built-in data.
# Extra arguments go to streamlit, e.g. scripts/start.sh --server.port 8502
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/streamlit run dashboard/serve.py "$@"

#!/usr/bin/env bash
# Sets up a virtualenv with the app's dependencies (first run only) and starts the app.
#   bash scripts/run.sh [streamlit args]
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/streamlit ]; then
  "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
fi
exec .venv/bin/streamlit run app.py "$@"

#!/usr/bin/env bash
# Sets up everything the tests need on a fresh machine, then runs every test.
#   bash scripts/test.sh [pytest args]
# Installs: a virtualenv in .venv with the app and test dependencies, and Debian's
# chromium for the real-browser test (Playwright cannot download its own browser here).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt -e ".[test]"

if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then
  SUDO=""
  if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core
fi

export PYTHONHASHSEED=0
exec .venv/bin/python -m pytest "$@"

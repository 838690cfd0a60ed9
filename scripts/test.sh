#!/usr/bin/env bash
# Sets up everything the tests need on a fresh machine, then runs every test.
#   bash scripts/test.sh [pytest args]
# Installs: a virtualenv in .venv with the app and test dependencies, and Debian's
# chromium for the real-browser test (Playwright cannot download its own browser here),
# with emoji and CJK fonts.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt -e ".[test]"

# The page titles and the menu carry emoji, and the Chinese interface needs CJK glyphs:
# without these fonts headless chromium draws empty boxes in the screenshots.
PACKAGES=(chromium fonts-dejavu-core fonts-noto-color-emoji fonts-noto-cjk)
MISSING=()
for p in "${PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || MISSING+=("$p")
done
if [ "${#MISSING[@]}" -gt 0 ] && ! { [ "${MISSING[*]}" = "chromium" ] && command -v chromium >/dev/null 2>&1; }; then
  SUDO=""
  if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${MISSING[@]}"
fi

export PYTHONHASHSEED=0
# One worker per core (pytest-xdist), each taking whole test files, so a file's server and
# browser fixtures start once: on 2 cores the suite takes ~9.5 min instead of ~13.
exec .venv/bin/python -m pytest -n auto --dist loadfile "$@"

#!/usr/bin/env bash
# Set up everything on a fresh machine: a virtualenv in .venv with a current pip and the project installed.
# The shipped pip 23.2 crashes resolving some dependency sets, so pip is upgraded inside the venv first.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=24.2" "setuptools>=77,<81"
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[all,test]'

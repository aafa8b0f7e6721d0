#!/usr/bin/env bash
# Create .venv with Python 3.11 and install the pinned requirements (idempotent, fast when done).
set -euo pipefail
cd "$(dirname "$0")/.."
REQS="${1:-requirements-dev.txt}"
PY="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=".venv/.installed-$(cat requirements.txt "$REQS" | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r "$REQS"
  touch "$stamp"
fi

#!/usr/bin/env bash
# One command: seed or reuse a database, run gunicorn (gunicorn.conf.py) under wrk for every
# endpoint family, time each endpoint's SQL, write bench/results/<run>.md. See bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh requirements-dev.txt
command -v wrk >/dev/null || scripts/system-deps.sh
exec .venv/bin/python bench/harness.py "$@"

#!/usr/bin/env bash
# The whole test suite: install what it needs, then pytest against a real PostgreSQL
# (the local server on 127.0.0.1:5432 when it answers, else an embedded one).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh requirements-dev.txt
scripts/system-deps.sh
exec .venv/bin/python -m pytest "$@"

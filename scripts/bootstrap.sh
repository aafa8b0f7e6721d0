#!/usr/bin/env bash
# Create .venv with Python 3.11 and install a pinned requirements file (idempotent, fast when
# done): requirements-local.txt for `make run`, requirements-dev.txt (tests, deploy tools) by
# default. A venv holding the dev set already has the local set, which it includes.
set -euo pipefail
cd "$(dirname "$0")/.."
REQS="${1:-requirements-dev.txt}"
PY="${PYTHON:-$(command -v python3.11 || command -v python3)}"
stamp_of() {  # the file and everything it pulls in with -r
  cat requirements.txt requirements-local.txt "$1" | sha256sum | cut -c1-16
}
stamp=".venv/.installed-$(stamp_of "$REQS")"
if [ -f "$stamp" ] || [ -f ".venv/.installed-$(stamp_of requirements-dev.txt)" ]; then
  exit 0
fi
if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv with $("$PY" --version)"
  "$PY" -m venv .venv
fi
echo "bootstrap: installing $REQS into .venv (first run only; packages come from pip's cache when present)"
# One line per package instead of silence (a first install takes a while); errors pass through.
set +e
.venv/bin/python -m pip install --disable-pip-version-check -r "$REQS" 2>&1 \
  | grep --line-buffered -vE '^(WARNING: Location .* is ignored|  Using cached|Requirement already satisfied)'
status=${PIPESTATUS[0]}
set -e
if [ "$status" != 0 ]; then
  echo "bootstrap: pip install -r $REQS failed (exit $status)" >&2
  exit "$status"
fi
touch "$stamp"
echo "bootstrap: done"

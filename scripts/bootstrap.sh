#!/usr/bin/env bash
# Create .venv with Python 3.11 and install a pinned requirements file (idempotent, fast when
# done): requirements-local.txt for `make run`, requirements-dev.txt (tests, deploy tools) by
# default. A venv holding the dev set already has the local set, which it includes.
#
# The installer is uv (pinned below, kept in .tools/): it resolves and downloads in parallel and
# reuses its cache, so a first install takes seconds where pip spends minutes on one index
# request per package. The venv still gets pip (the deploy's wheelhouse build runs it).
set -euo pipefail
cd "$(dirname "$0")/.."
REQS="${1:-requirements-dev.txt}"
PY="${PYTHON:-$(command -v python3.11 || command -v python3)}"
UV_VERSION=0.13.9
stamp_of() {  # the file and everything it pulls in with -r
  cat requirements.txt requirements-local.txt "$1" | sha256sum | cut -c1-16
}
stamp=".venv/.installed-$(stamp_of "$REQS")"
if [ -f "$stamp" ] || [ -f ".venv/.installed-$(stamp_of requirements-dev.txt)" ]; then
  exit 0
fi
uv=".tools/uv-$UV_VERSION/bin/uv"
if [ ! -x "$uv" ]; then
  echo "bootstrap: installing the installer (uv $UV_VERSION) into .tools/"
  "$PY" -m pip install --disable-pip-version-check --quiet --target ".tools/uv-$UV_VERSION" "uv==$UV_VERSION" 2>&1 \
    | grep -vE '^WARNING: (Location .* is ignored|Running pip as the .root. user)' || true
  [ -x "$uv" ] || { echo "bootstrap: could not install uv $UV_VERSION with $PY -m pip" >&2; exit 1; }
fi
if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv with $("$PY" --version)"
  "$uv" venv --quiet --seed --python "$PY" .venv
fi
echo "bootstrap: installing $REQS into .venv (first run only)"
# uv prints what it resolved, downloaded and installed, a line per package.
if ! "$uv" pip install --python .venv/bin/python -r "$REQS"; then
  echo "bootstrap: installing $REQS failed" >&2
  exit 1
fi
touch "$stamp"
echo "bootstrap: done"

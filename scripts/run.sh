#!/usr/bin/env bash
# Run the service on http://127.0.0.1:${PORT:-8000}: install the runtime requirements, start
# what is not configured, migrate, serve. Settings: the environment, then .env (else
# .env.example). Without DATABASE_URL an embedded PostgreSQL runs in $PAGENOW_LOCAL_DIR/pgdata;
# without COGNITO_POOL_ID development sign-in is on (a key in $PAGENOW_LOCAL_DIR/dev-sign-in,
# tokens from `flask dev-token`). What this run started is recorded in
# $PAGENOW_LOCAL_DIR/run.env, where `flask ...` commands in another terminal find it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh requirements-local.txt
# Settings from .env (or the example), never overriding what the environment already has.
envfile=.env; [ -f "$envfile" ] || envfile=.env.example
while IFS='=' read -r key value; do
  case "$key" in ''|\#*) continue ;; esac
  if [ -z "${!key:-}" ]; then export "$key=$value"; fi
done < "$envfile"

local_dir="${PAGENOW_LOCAL_DIR:-.local}"
mkdir -p "$local_dir"
local_dir="$(cd "$local_dir" && pwd)"
run_env="$local_dir/run.env"
: > "$run_env"
record() {  # export NAME=VALUE here and record it for `flask` commands run beside this one
  export "$1=$2"
  printf '%s=%s\n' "$1" "$2" >> "$run_env"
}
cleanup() {
  rm -f "$run_env"
  if [ -n "${embedded_pg:-}" ]; then .venv/bin/python scripts/embedded_pg.py stop "$local_dir/pgdata"; fi
}
trap cleanup EXIT

if [ -z "${DATABASE_URL:-}" ] && [ -z "${RDS_HOST:-}" ]; then
  echo "run: no DATABASE_URL: starting the embedded PostgreSQL in $local_dir/pgdata"
  embedded_pg=1
  url="$(.venv/bin/python scripts/embedded_pg.py start "$local_dir/pgdata")"  # set -e stops on failure
  record DATABASE_URL "$url"
  echo "run: embedded PostgreSQL at $DATABASE_URL"
fi
if [ -z "${COGNITO_POOL_ID:-}" ] && [ -z "${PAGENOW_DEV_SIGN_IN:-}" ]; then
  record PAGENOW_DEV_SIGN_IN "$local_dir/dev-sign-in"
fi
if [ -n "${PAGENOW_DEV_SIGN_IN:-}" ]; then
  echo "run: DEVELOPMENT SIGN-IN IS ON (no COGNITO_POOL_ID): tokens come from \`.venv/bin/flask dev-token USER_ID\`"
fi
if [ -z "${PROFILE_IMAGE_BUCKET_NAME:-}" ]; then
  echo "run: no PROFILE_IMAGE_BUCKET_NAME: image endpoints answer 503 (README, Configuration)"
fi

export FLASK_APP=wsgi:app
.venv/bin/flask db upgrade
echo "run: serving on http://127.0.0.1:${PORT:-8000} (docs at /docs, spec at /openapi.json)"
# Not exec: the EXIT trap stops the embedded PostgreSQL once gunicorn has ended. Ctrl-C or
# SIGTERM here is passed on to gunicorn, which finishes its requests first.
GUNICORN_BIND="${GUNICORN_BIND:-127.0.0.1:${PORT:-8000}}" .venv/bin/gunicorn -c gunicorn.conf.py wsgi:app &
server=$!
trap 'kill -TERM "$server" 2>/dev/null || true' INT TERM
status=0
while kill -0 "$server" 2>/dev/null; do
  wait "$server" || status=$?
done
exit "$status"

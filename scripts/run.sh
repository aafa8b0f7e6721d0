#!/usr/bin/env bash
# Run the service on http://127.0.0.1:8000: install, migrate, serve. Without DATABASE_URL
# an embedded PostgreSQL (pgserver) is started in .pgdata/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh requirements-dev.txt
# Settings from .env (or the example), never overriding what the environment already has.
envfile=.env; [ -f "$envfile" ] || envfile=.env.example
while IFS='=' read -r key value; do
  case "$key" in ''|\#*) continue ;; esac
  if [ -z "${!key:-}" ]; then export "$key=$value"; fi
done < "$envfile"
if [ -z "${DATABASE_URL:-}" ] && [ -z "${RDS_HOST:-}" ]; then
  DATABASE_URL="$(.venv/bin/python scripts/embedded_pg.py start .pgdata)"
  export DATABASE_URL
  trap '.venv/bin/python scripts/embedded_pg.py stop .pgdata' EXIT
fi
export FLASK_APP=wsgi:app
.venv/bin/flask db upgrade
echo "Serving on http://127.0.0.1:${PORT:-8000} (docs at /docs, spec at /openapi.json)"
GUNICORN_BIND="${GUNICORN_BIND:-127.0.0.1:${PORT:-8000}}" .venv/bin/gunicorn -c gunicorn.conf.py wsgi:app

#!/usr/bin/env bash
# Web (gunicorn) + worker (huey consumer) on the embedded default, until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-8000}
HOST=${HOST:-127.0.0.1}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} MKL_NUM_THREADS=${MKL_NUM_THREADS:-2} NUMEXPR_MAX_THREADS=${NUMEXPR_MAX_THREADS:-2}

.venv/bin/python manage.py run_huey --quiet &
worker=$!
# Workers, threads and preloading come from gunicorn.conf.py (PAKSA_WEB_WORKERS, PAKSA_WEB_THREADS).
# In production put nginx in front (docs/deployment.md).
.venv/bin/gunicorn paksatalker_site.wsgi:application --bind "$HOST:$PORT" --access-logfile - &
web=$!
stop() { kill "$web" "$worker" 2>/dev/null || true; wait "$web" "$worker" 2>/dev/null || true; }
trap stop INT TERM EXIT
echo "PaksaTalker: http://$HOST:$PORT/  (API docs: http://$HOST:$PORT/api/v1/docs; Ctrl-C stops web and worker)"
wait -n "$web" "$worker"

#!/usr/bin/env bash
# Every step of the image's start, runnable outside a container too (the tests run it).
#
#   deploy/entrypoint.sh web      migrate, collect static files, serve HTTP + WebSockets (Daphne)
#   deploy/entrypoint.sh worker   run turns (Celery worker)
#   deploy/entrypoint.sh migrate  apply migrations only (a one-off release step)
#
# Both processes stop gracefully on SIGTERM (`docker stop`): Daphne answers its long-polls and
# closes WebSockets with 4012 ("reconnect"); Celery finishes its running turns (warm shutdown)
# and hands queued ones back to the broker. Environment: see "Production" in README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python}
PORT=${PORT:-8800}
WORKER_CONCURRENCY=${WORKER_CONCURRENCY:-4}

metrics_directory() {
  # prometheus-client's multiprocess mode: web and worker processes on a host share it.
  if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
    mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
  fi
}

case "${1:-web}" in
  web)
    metrics_directory
    "$PYTHON" manage.py migrate --no-input
    "$PYTHON" manage.py collectstatic --no-input -v 0
    # JSON logs: Daphne's plain-text access lines stay off (verbosity 0); errors still log.
    verbosity=1
    if [ "${LOG_FORMAT:-text}" = json ]; then verbosity=0; fi
    exec "$PYTHON" -m daphne -b "${BIND:-0.0.0.0}" -p "$PORT" -v "$verbosity" \
      --proxy-headers parlant_site.asgi:application
    ;;
  worker)
    metrics_directory
    exec "$PYTHON" -m celery -A parlant_site worker --loglevel="${LOG_LEVEL:-INFO}" \
      --concurrency="$WORKER_CONCURRENCY" --pool=threads \
      -Q "${CELERY_DEFAULT_QUEUE:-celery}" --without-gossip --without-mingle
    ;;
  migrate)
    exec "$PYTHON" manage.py migrate --no-input
    ;;
  *)
    echo "usage: $0 web|worker|migrate" >&2
    exit 64
    ;;
esac

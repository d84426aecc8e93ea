#!/usr/bin/env bash
# `make run`: migrate, seed the demo, sign a checkpoint, then serve Govern with a Celery worker beside it and the demo
# camera filming the live demo deployment through it. Ctrl-C stops them all.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export DEBUG="${DEBUG:-true}"
export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-govern.settings.base}"
PORT="${PORT:-8000}"

# Without real weights the engine is uncalibrated: it scores every face above 0.999, so at the usual 0.600 every face
# would alert and no receipt would ever be made. The demo runs at 1.000 instead, where of what the demo camera shows
# only the enrolled photographs alert (README, "The demo"); the oversight demo puts it in force, countersigned.
case "$(printf '%s' "${FACE_ALLOW_DOWNLOAD:-}" | tr '[:upper:]' '[:lower:]')" in
  true | yes | on | 1) ;;
  *) [ -n "${FACE_WEIGHTS:-}" ] || export MATCH_THRESHOLD="${MATCH_THRESHOLD:-1.000}" ;;
esac

if [ -z "${CELERY_BROKER_URL:-}" ]; then
  if "$BIN/python" -c "import redis; redis.Redis(host='127.0.0.1', port=6379, socket_timeout=1).ping()" 2>/dev/null; then
    export CELERY_BROKER_URL="redis://127.0.0.1:6379/0"
  else
    echo "No Redis on 127.0.0.1:6379 and no CELERY_BROKER_URL: tasks will run in-process, without a worker."
  fi
fi

if [ -z "${DATABASE_URL:-}" ]; then
  # The settings read GOVERN_PGDATA too, so the server started here is the one every command below uses.
  echo "No DATABASE_URL: using the embedded PostgreSQL with pgvector in ${GOVERN_PGDATA:-.pgdata/}"
  "$BIN/python" -m govern.embedded_db start ${GOVERN_PGDATA:+"$GOVERN_PGDATA"}
fi
"$BIN/python" manage.py migrate --noinput
"$BIN/python" manage.py collectstatic --noinput -v 0
"$BIN/python" manage.py seed_demo
"$BIN/python" manage.py audit checkpoint

pids=()     # the server and the worker: when one ends, make run ends
helpers=()  # the demo camera, which may end by itself
stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}" "${helpers[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

if [ -n "${CELERY_BROKER_URL:-}" ]; then
  echo "Celery worker (with beat) on $CELERY_BROKER_URL"
  "$BIN/celery" -A govern worker --beat --loglevel INFO --concurrency 2 -Q default,audit,embed \
    --schedule var/celerybeat-schedule &
  pids+=($!)
fi

echo "Govern: http://127.0.0.1:${PORT}/  (API docs: http://127.0.0.1:${PORT}/api/docs/)  Ctrl-C stops."
# nginx in front, gunicorn behind it (govern/serve.py; workers: gunicorn.conf.py); nginx's log has no query strings.
"$BIN/python" -m govern.serve --bind "127.0.0.1:${PORT}" --access-log &
pids+=($!)

# The demo camera posts frames to the live demo deployment once nginx listens (README, "The demo"): one line a frame.
# It ends by itself when no demo deployment is live, and that stops nothing else. DEMO_CAMERA=false leaves it out.
if [ "${DEMO_CAMERA:-true}" = true ]; then
  for _ in $(seq 30); do
    (exec 3<>"/dev/tcp/127.0.0.1/${PORT}") 2>/dev/null && break
    sleep 1
  done
  "$BIN/python" manage.py demo_camera --url "http://127.0.0.1:${PORT}" &
  helpers+=($!)
fi
wait -n "${pids[@]}"

#!/usr/bin/env bash
# `make run`: migrate, seed the demo, sign a checkpoint, then serve Govern with a Celery worker beside it and the demo
# camera filming the live demo deployment through it. Ctrl-C stops them all, at any point, and exits 0.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export DEBUG="${DEBUG:-true}"
export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-govern.settings.base}"
PORT="${PORT:-8000}"
# What a newcomer needs in the terminal: the accounts, the address, the demo camera's frames and any warning or error.
# Django's INFO lines (the engine loading, a task received) stay out unless LOG_LEVEL says otherwise; gunicorn says
# only warnings; the Celery worker writes to its own log file.
export LOG_LEVEL="${LOG_LEVEL:-WARNING}"
export GUNICORN_CMD_ARGS="--log-level warning"
mkdir -p var

running=()  # what runs now: the step being waited for, then the workers, the server and the demo camera
stop() {
  trap - INT TERM HUP EXIT
  # Last started, first stopped: the camera finishes its frame while the server still answers it.
  for ((i = ${#running[@]} - 1; i >= 0; i--)); do
    kill -TERM "${running[i]}" 2>/dev/null || true
    wait "${running[i]}" 2>/dev/null || true
  done
}
# Ctrl-C (or a TERM) is how make run is meant to end: stop everything, say so, and exit 0. make itself gets the same
# Ctrl-C and then ends as GNU make always does on an interrupt, by the signal (status 130), printing nothing.
interrupted() {
  stop
  echo "Govern stopped."
  exit 0
}
trap interrupted INT TERM HUP
trap stop EXIT
# Each step runs in the background and is waited for, so Ctrl-C reaches this script at once (a background job of a
# script ignores the terminal's Ctrl-C) and stops the step with a TERM: no Python traceback of a KeyboardInterrupt.
step() {
  "$@" &
  running+=($!)
  wait $!
  unset 'running[-1]'
}
# The server, the workers and the camera run in their own sessions, where the terminal's Ctrl-C does not reach them:
# only this script gets it, and stops them one at a time with one TERM each (above), rather than all of them tearing
# down at once, the camera's last frame meeting a server already gone. Each is tethered to this script (govern/tether.py):
# if the script is killed outright, the kernel sends them the TERM it could not.
service() {
  "$BIN/python" -m govern.tether $$ "$@" &
  running+=($!)
}

# Without facenet's weights the settings choose dlib's real engine, and the demo runs it (README, "The demo"): its
# camera shows the listed stand-in in another photograph, which dlib scores 0.96, and other people, who score 0.80 to
# 0.82, so `make run` sets MATCH_THRESHOLD=0.900 (dlib's scores are not facenet's: at the usual 0.600 everyone alerts).
# FACE_ENGINE=facenet without weights runs the uncalibrated engine, which scores every face above 0.999: then 1.000,
# where of what the demo camera shows only the enrolled photographs themselves alert.
case "$(printf '%s' "${FACE_ALLOW_DOWNLOAD:-}" | tr '[:upper:]' '[:lower:]')" in
  true | yes | on | 1) ;;
  *) [ -n "${FACE_WEIGHTS:-}" ] || {
    if [ "${FACE_ENGINE:-dlib}" = facenet ]; then
      export MATCH_THRESHOLD="${MATCH_THRESHOLD:-1.000}"
    else
      export MATCH_THRESHOLD="${MATCH_THRESHOLD:-0.900}"
    fi
  } ;;
esac
echo "Face engine: ${FACE_ENGINE:-as the settings choose (dlib without FACE_WEIGHTS)}, threshold ${MATCH_THRESHOLD:-0.600}."

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
  step "$BIN/python" -m govern.embedded_db start ${GOVERN_PGDATA:+"$GOVERN_PGDATA"}
fi
echo "Preparing the database and the synthetic demo data (a minute or two on a first run)..."
step "$BIN/python" manage.py migrate --noinput -v 0
step "$BIN/python" manage.py collectstatic --noinput -v 0
step "$BIN/python" manage.py seed_demo
step "$BIN/python" manage.py audit checkpoint >/dev/null

worker="" capture=""
if [ -n "${CELERY_BROKER_URL:-}" ]; then
  echo "Celery worker (with beat) on $CELERY_BROKER_URL, its log in var/celery.log"
  service "$BIN/celery" -A govern worker --beat --loglevel INFO --concurrency 2 -Q default,audit,embed \
    --schedule var/celerybeat-schedule >>var/celery.log 2>&1
  worker=$!
  # The capture worker: the one process that loads the face engine for the cameras' frames, which the web process
  # admits and hands over (docs/architecture.md, "Live capture out of the web process"). One process with request-like
  # threads, so that the faces of frames arriving together are embedded in one batch, as gunicorn's threads did.
  echo "Capture worker (the face engine for live frames), its log in var/capture.log"
  service "$BIN/celery" -A govern worker -n "capture@%h" --loglevel INFO --pool threads \
    --concurrency "${CAPTURE_THREADS:-6}" -Q capture >>var/capture.log 2>&1
  capture=$!
fi

# nginx in front, gunicorn behind it (govern/serve.py; workers: gunicorn.conf.py); nginx's log has no query strings.
service "$BIN/python" -m govern.serve --bind "127.0.0.1:${PORT}" --access-log
server=$!
for _ in $(seq 60); do
  (exec 3<>"/dev/tcp/127.0.0.1/${PORT}") 2>/dev/null && break
  kill -0 "$server" 2>/dev/null || break
  sleep 1
done
echo "Govern: http://127.0.0.1:${PORT}/  (API docs: http://127.0.0.1:${PORT}/api/docs/)  Ctrl-C stops."

# The demo camera posts frames to the live demo deployment (README, "The demo"): one line a frame. It ends by itself
# when no demo deployment is live, and that stops nothing else. DEMO_CAMERA=false leaves it out.
if [ "${DEMO_CAMERA:-true}" = true ]; then
  service "$BIN/python" manage.py demo_camera --url "http://127.0.0.1:${PORT}"
fi
# The server or a worker ending by itself is a failure: say so and stop the rest.
status=0
wait -n "$server" ${worker:+"$worker"} ${capture:+"$capture"} || status=$?
echo "Govern: the server or a worker ended by itself (status $status); stopping the rest." >&2
exit $((status == 0 ? 1 : status))

#!/usr/bin/env bash
# The whole suite: SQLite always; then PostgreSQL + Redis when DATABASE_URL and REDIS_URL
# point at reachable servers (required when CI=true). Coverage is combined and gated.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export PYTHONPATH=.
rm -f .coverage .coverage.*

echo "==> test suite on SQLite (embedded mode)"
env -u DATABASE_URL -u REDIS_URL -u CELERY_BROKER_URL \
  "$BIN/pytest" --cov --cov-report= -p no:cacheprovider "$@"

if [[ -n "${DATABASE_URL:-}" && -n "${REDIS_URL:-}" ]]; then
  if "$BIN/python" scripts/services_reachable.py; then
    echo "==> test suite on PostgreSQL + Redis ($("$BIN/python" scripts/services_reachable.py --describe))"
    "$BIN/pytest" --cov --cov-append --cov-report= -p no:cacheprovider "$@"
  elif [[ "${CI:-}" == "true" ]]; then
    echo "FAIL: DATABASE_URL/REDIS_URL are set but not reachable; CI must test on PostgreSQL + Redis" >&2
    exit 1
  else
    echo "==> skipped PostgreSQL + Redis run: DATABASE_URL/REDIS_URL not reachable"
  fi
elif [[ "${CI:-}" == "true" ]]; then
  echo "FAIL: CI must set DATABASE_URL and REDIS_URL" >&2
  exit 1
else
  echo "==> skipped PostgreSQL + Redis run: set DATABASE_URL=postgres://... and REDIS_URL=redis://... to run it"
fi

echo "==> coverage"
"$BIN/coverage" report
"$BIN/python" scripts/coverage_gate.py

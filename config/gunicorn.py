"""gunicorn settings for production: `lottery web` (or `gunicorn -c python:config.gunicorn config.wsgi`).

Every value can be overridden by the environment (GUNICORN_WORKERS, …).
"""

import multiprocessing
import os
import tempfile

# Metrics from every worker process are aggregated through this directory.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="lottery-metrics-"))
# After the variable is set: prometheus_client picks its value store at import time.
from prometheus_client import multiprocess as prometheus_multiprocess

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")  # a container listens on all interfaces
# Requests are CPU-bound Python between short PostgreSQL round trips. One process per CPU
# plus one, two threads each, served the most purchases, reads and /healthz per second of
# the models and counts measured; 2*CPU+1 processes x 4 threads (gunicorn's usual advice)
# lost 20-30 % to contention for the GIL and the CPUs (docs/performance.md).
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# No recycling by default: a worker restarting after max_requests closes the keep-alive
# connections it holds, and requests already sent on them fail (wrk counted read errors
# every ~10,000 requests per worker). Memory stays flat without it (make soak: +2 % in
# 2 minutes of mixed traffic); set GUNICORN_MAX_REQUESTS to recycle anyway.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "1000"))
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
preload_app = False
# gunicorn 25.1+ opens a control socket for `gunicornc` by default, at $HOME/.gunicorn/gunicorn.ctl:
# one path for every gunicorn of a user (test servers, bench, soak would take it from each
# other) and, in the image, under a home that does not exist. Off unless a path is given.
control_socket_disable = not os.environ.get("GUNICORN_CONTROL_SOCKET")
if not control_socket_disable:
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-")
logger_class = "config.gunicorn_logging.JsonAccessLogger"  # JSON lines, no one-time tokens
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()

logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            "static_fields": {"request_id": "-"},
        },
        "raw": {"format": "%(message)s"},  # access lines are JSON already (JsonAccessLogger)
    },
    "handlers": {
        "error": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"},
        "access": {"class": "logging.StreamHandler", "formatter": "raw", "stream": "ext://sys.stdout"},
    },
    "root": {"handlers": ["error"], "level": "INFO"},
    "loggers": {
        "gunicorn.error": {"handlers": ["error"], "level": loglevel.upper(), "propagate": False},
        "gunicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
    },
}


def child_exit(server, worker):
    # Imported at the top: importing inside a signal handler during shutdown re-enters.
    prometheus_multiprocess.mark_process_dead(worker.pid)

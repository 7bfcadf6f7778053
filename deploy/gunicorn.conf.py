"""Gunicorn settings for Gerai: `gunicorn -c deploy/gunicorn.conf.py "storefront:create_app()"`.

Used by the Procfile, the Dockerfile and deploy/systemd/gerai-web.service alike. Every
value can be changed by an environment variable (below) or a command-line flag, which
wins over this file.

Why gthread: checkout, the stand till's "Bayar QR" and refunds call the payment gateway
inside the request (up to PAYMENT_GATEWAY_TIMEOUT, 10 s, per attempt). A sync worker is
stuck for that whole call; with threads the other requests of the same process go on.
"""

from __future__ import annotations

import glob
import multiprocessing
import os
import tempfile


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


# Where to listen. On a VM nginx runs on the same host: loopback only. The container
# image sets GUNICORN_BIND=0.0.0.0:8000 (only the compose network reaches it).
bind = [os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")]

# Processes: 2 x cores + 1, capped (each process holds its own database pool and
# ~100 MB of memory), and at least 2 so one busy or restarting process never stops
# the site. WEB_CONCURRENCY overrides (the usual name, also read by gunicorn itself).
# Cores this process may run on (a container's cpuset or a VM's cores; a CPU quota such
# as `docker run --cpus` is not seen: set WEB_CONCURRENCY then).
CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else multiprocessing.cpu_count()
MAX_WORKERS = _int("GUNICORN_MAX_WORKERS", 8)
workers = _int("WEB_CONCURRENCY", max(2, min(2 * CORES + 1, MAX_WORKERS)))
worker_class = "gthread"
# Threads per process: requests waiting on the gateway, the database or Meilisearch
# leave the others running. Keep workers x threads under PostgreSQL's max_connections
# minus the worker, migrations and backups (SQLAlchemy's pool: 5 + 10 overflow each).
threads = _int("GUNICORN_THREADS", 4)

# A gateway call may take PAYMENT_GATEWAY_TIMEOUT (10 s) per attempt, with up to
# PAYMENT_GATEWAY_RETRIES (2) more attempts and back-off: about 35 s at worst. The
# worker timeout (a silent process is killed and restarted) and the graceful timeout
# (on restart or upgrade, requests in flight may finish) both leave room for that.
_gateway = float(os.environ.get("PAYMENT_GATEWAY_TIMEOUT", 10))
_attempts = 1 + _int("PAYMENT_GATEWAY_RETRIES", 2)
timeout = _int("GUNICORN_TIMEOUT", max(60, int(_gateway * _attempts) + 25))
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", max(45, int(_gateway * _attempts) + 10))
# Longer than nginx's upstream keepalive_timeout (deploy/nginx.conf: 4 s), so nginx
# always closes an idle connection first and never sends on one gunicorn just closed.
keepalive = 5

# A process is replaced after this many requests (jitter: not all at once), so a slow
# leak in a library never grows without end.
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = 200

# The proxy in front: gunicorn believes X-Forwarded-Proto only from these addresses.
# The app itself reads X-Forwarded-For/-Proto/-Host through TRUSTED_PROXIES=1
# (werkzeug's ProxyFix), which is what rate limits and same-site checks use. On a VM
# nginx is on loopback; in compose it is another container, and the web port is not
# published, so FORWARDED_ALLOW_IPS="*" is set there.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
secure_scheme_headers = {"X-FORWARDED-PROTO": "https"}

# Logs to stdout/stderr: journald (systemd) or the container runtime keeps them.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Client address as the proxy saw it, the time taken (microseconds) and the request id
# nginx sends (X-Request-Id), so an access line can be matched with the app's logs.
access_log_format = ('%({x-forwarded-for}i)s %(h)s "%(r)s" %(s)s %(B)s %(D)sus '
                     '"%(f)s" "%(a)s" rid=%({x-request-id}i)s')

# The app is imported in each worker, not in the master: a worker restarted by
# max_requests or a HUP gets fresh code and fresh database connections, and no
# connection (psycopg, Redis) is ever shared across a fork.
preload_app = False
# Temporary files of the heartbeat in memory, not on a (possibly slow) disk.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
proc_name = "gerai-web"

# Prometheus: /metrics adds up the figures of every worker process (storefront/
# observability.py) from files in this folder. Set before any worker starts; a folder
# given by the environment is emptied when gunicorn starts, else a fresh one is made.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="gerai-metrics-")


def on_starting(server):
    for path in glob.glob(os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], "*.db")):
        os.remove(path)


def child_exit(server, worker):
    """A worker that is gone no longer counts in the live gauges."""
    try:
        from prometheus_client import multiprocess
    except ImportError:
        return
    multiprocess.mark_process_dead(worker.pid)

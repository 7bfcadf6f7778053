"""Eyes on a running Gerai: a request id on every request and log line, JSON logs in
production, and the readiness check ``/siap`` that load balancers and compose use.

The request id comes from the proxy (``X-Request-ID``, when TRUSTED_PROXIES says there is
one) or is made here; it goes back in the ``X-Request-ID`` response header and is shown
on the error page, so a user's report ("kode kejadian 3f9c...") is found in the logs.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time

from flask import Blueprint, Flask, current_app, g, has_request_context, jsonify, request
from sqlalchemy import text

from .extensions import cache, db

bp = Blueprint("observability", __name__)
log = logging.getLogger(__name__)

_GOOD_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
WORKER_KEY = "gerai:worker:seen"
WORKER_STALE_SECONDS = 60


def request_id() -> str | None:
    return getattr(g, "request_id", None) if has_request_context() else None


class RequestIdFilter(logging.Filter):
    """Every log record gets ``request_id`` (or "-" outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: what log collectors (Loki, CloudWatch, journald) index."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
                 "level": record.levelname, "logger": record.name,
                 "message": record.getMessage(),
                 "request_id": getattr(record, "request_id", "-")}
        if has_request_context():
            entry.update(method=request.method, path=request.path)
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


JsonFormatter.converter = time.gmtime


def init_app(app: Flask) -> None:
    trust_header = bool(app.config.get("TRUSTED_PROXIES"))

    @app.before_request
    def take_request_id():
        given = request.headers.get("X-Request-ID", "") if trust_header else ""
        g.request_id = given if _GOOD_ID.match(given) else secrets.token_hex(8)

    @app.after_request
    def send_request_id(response):
        if request_id():
            response.headers["X-Request-ID"] = g.request_id
        return response

    handler_filter = RequestIdFilter()
    for handler in logging.getLogger().handlers + app.logger.handlers:
        handler.addFilter(handler_filter)
    if app.config.get("LOG_FORMAT") == "json":
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        handler.addFilter(handler_filter)
        root = logging.getLogger()
        root.handlers = [handler]
        root.setLevel(app.config.get("LOG_LEVEL", "INFO"))
        app.logger.handlers = []  # through the root: one line per record
        app.extensions["gerai.log_handler"] = handler
    init_metrics(app)
    init_sentry(app)


# --- readiness --------------------------------------------------------------------------

def _seen_file():
    from pathlib import Path

    return Path(current_app.config.get("WORKER_SEEN_FILE")
                or Path(current_app.instance_path) / "worker.seen")


def worker_seen() -> None:
    """The background worker is alive: called on each of its rounds. Kept in the shared
    cache (Redis) and, for a machine without one (web and worker as two processes on a
    laptop), as a file's time in the instance folder."""
    try:
        cache.set(WORKER_KEY, time.time(), timeout=WORKER_STALE_SECONDS * 10)
    except Exception as error:  # noqa: BLE001 - a cache outage must not stop the worker
        log.warning("worker heartbeat not stored: %s", error)
    if not current_app.config.get("CACHE_REDIS_URL"):
        try:
            path = _seen_file()
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
        except OSError as error:
            log.warning("worker heartbeat file not written: %s", error)


def worker_last_seen() -> float | None:
    """When the worker was last seen (a Unix time), or None."""
    seen = cache.get(WORKER_KEY)
    if seen is None and not current_app.config.get("CACHE_REDIS_URL"):
        try:
            seen = _seen_file().stat().st_mtime
        except OSError:
            seen = None
    return float(seen) if seen is not None else None


def _checks() -> dict[str, str]:
    checks = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as error:  # noqa: BLE001 - any failure means not ready
        db.session.rollback()
        checks["database"] = f"gagal: {type(error).__name__}"
    if current_app.config.get("CACHE_REDIS_URL"):
        try:
            cache.cache._write_client.ping()
            checks["redis"] = "ok"
        except Exception as error:  # noqa: BLE001
            checks["redis"] = f"gagal: {type(error).__name__}"
    try:
        from .indexing.services import backend

        backend().count()  # the engine answers (Meilisearch: over the network)
        checks["search"] = "ok"
    except Exception as error:  # noqa: BLE001
        checks["search"] = f"gagal: {type(error).__name__}"
    from .payments import gateway as contract

    missing = [name for name in contract.enabled() - {"cash"} if not _configured(name)]
    checks["payments"] = "ok" if not missing else f"gagal: {', '.join(sorted(missing))} tanpa kunci"
    seen = worker_last_seen()
    if seen is None:
        checks["worker"] = "gagal: belum pernah terlihat"
    elif time.time() - float(seen) > WORKER_STALE_SECONDS:
        checks["worker"] = f"gagal: terakhir terlihat {int(time.time() - float(seen))} detik lalu"
    else:
        checks["worker"] = "ok"
    return checks


def _configured(name: str) -> bool:
    config = current_app.config
    keys = {"xendit": ("XENDIT_SECRET_KEY", "XENDIT_CALLBACK_TOKEN"),
            "stripe": ("STRIPE_API_KEY", "STRIPE_WEBHOOK_SECRET")}.get(name, ())
    return all(config.get(key) for key in keys)


@bp.get("/siap")
def ready():
    """Ready to serve: the database, Redis (when configured), the search engine, the
    payment gateways' keys, and a background worker seen in the last minute."""
    checks = _checks()
    ok = all(value == "ok" for value in checks.values())
    response = jsonify(status="ok" if ok else "gagal", checks=checks)
    response.status_code = 200 if ok else 503
    response.headers["Cache-Control"] = "no-store"
    return response


# --- metrics (Prometheus) and error reports (Sentry) ----------------------------------------

def init_metrics(app: Flask) -> None:
    """Request latency by route, and figures read from the database at each scrape:
    purchases by gateway and state, search outbox depth and lag, active stock holds,
    stray payments to give back. ``/metrics`` is for loopback, or for a scraper that
    sends METRICS_TOKEN as a bearer token. Under gunicorn with several workers set
    PROMETHEUS_MULTIPROC_DIR (deploy/gunicorn.conf.py does) so latencies add up."""
    latency = _latency()

    # g.started is set by security's first before_request (it also feeds Server-Timing).
    @app.after_request
    def observe(response):
        started = getattr(g, "started", None)
        if started is not None and request.endpoint != "observability.metrics":
            latency.labels(request.endpoint or "unmatched", request.method).observe(
                time.perf_counter() - started)
        return response


_REGISTRY = None
_LATENCY = None


def _registry():
    """One registry per process for the latency histogram (tests make many apps)."""
    global _REGISTRY
    if _REGISTRY is None:
        from prometheus_client import CollectorRegistry

        _REGISTRY = CollectorRegistry(auto_describe=True)
    return _REGISTRY


def _latency():
    global _LATENCY
    if _LATENCY is None:
        from prometheus_client import Histogram

        _LATENCY = Histogram("gerai_request_seconds", "Time to answer a request, by route",
                             ["endpoint", "method"],
                             buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10),
                             registry=_registry())
    return _LATENCY


class DatabaseFigures:
    """A Prometheus collector that reads its figures from the database when scraped."""

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily
        from sqlalchemy import func, select

        from .checkout.models import Purchase
        from .indexing.models import SearchOutbox
        from .inventory.models import StockHold
        from .payments.models import StrayPayment
        from .timeutil import utcnow

        purchases = GaugeMetricFamily("gerai_purchases", "Purchases by gateway and state",
                                      labels=["gateway", "status"])
        for gateway, status, count in db.session.execute(
                select(Purchase.gateway, Purchase.status, func.count(Purchase.id))
                .group_by(Purchase.gateway, Purchase.status)):
            purchases.add_metric([gateway, status], count)
        yield purchases
        pending, oldest = db.session.execute(select(func.count(SearchOutbox.id),
                                                    func.min(SearchOutbox.enqueued_at))).one()
        yield GaugeMetricFamily("gerai_outbox_pending", "Search index changes not applied yet",
                                value=pending)
        yield GaugeMetricFamily("gerai_outbox_lag_seconds", "Age of the oldest of them",
                                value=(utcnow() - oldest).total_seconds() if oldest else 0)
        failing = db.session.scalar(select(func.count(SearchOutbox.id))
                                    .where(SearchOutbox.attempts > 0))
        yield GaugeMetricFamily("gerai_outbox_failing", "Of them, tried and failed", value=failing)
        yield GaugeMetricFamily("gerai_holds_active", "Stock held for unpaid purchases",
                                value=db.session.scalar(select(func.count(StockHold.id))
                                                        .where(StockHold.state == "active")))
        strays = GaugeMetricFamily("gerai_stray_payments", "Money to give back, by state",
                                   labels=["state"])
        for state, count in db.session.execute(select(StrayPayment.state,
                                                      func.count(StrayPayment.id))
                                               .group_by(StrayPayment.state)):
            strays.add_metric([state], count)
        yield strays
        seen = worker_last_seen()
        yield GaugeMetricFamily("gerai_worker_seen_seconds_ago", "Since the worker's last round",
                                value=time.time() - seen if seen else -1)
        from .tasks import figures

        queue = figures(current_app)
        yield GaugeMetricFamily("gerai_queue_pending", "Tasks waiting for a consumer (-1: queue "
                                "down)", value=queue["pending"])
        yield GaugeMetricFamily("gerai_queue_scheduled", "Tasks waiting for their time",
                                value=queue["scheduled"])
        yield GaugeMetricFamily("gerai_queue_failed", "Tasks that ended in an error",
                                value=queue["failed"])


@bp.get("/metrics")
def metrics():
    import hmac
    import os

    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

    token = current_app.config.get("METRICS_TOKEN", "")
    given = request.headers.get("Authorization", "").removeprefix("Bearer ")
    if token:
        if not hmac.compare_digest(given.encode(), token.encode()):
            return "", 403
    elif request.remote_addr not in ("127.0.0.1", "::1"):
        return "", 403
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        requests_seen = CollectorRegistry()
        multiprocess.MultiProcessCollector(requests_seen)
    else:
        requests_seen = _registry()
    figures = CollectorRegistry(auto_describe=False)
    figures.register(DatabaseFigures())
    return current_app.response_class(generate_latest(requests_seen) + generate_latest(figures),
                                      mimetype=CONTENT_TYPE_LATEST,
                                      headers={"Cache-Control": "no-store"})


def init_sentry(app: Flask) -> None:
    """Errors to Sentry (or a compatible service) when SENTRY_DSN is set, tagged with the
    request id. No user identity, request bodies (a password, a buyer's address) or
    local variables are sent."""
    dsn = app.config.get("SENTRY_DSN")
    if not dsn:
        return
    import sentry_sdk
    from sentry_sdk.integrations.flask import FlaskIntegration

    sentry_sdk.init(dsn=dsn, integrations=[FlaskIntegration()],
                    data_collection={"user_info": False, "http_bodies": [],
                                     "stack_frame_variables": False},
                    environment=app.config.get("GERAI_ENV", "production"),
                    traces_sample_rate=0.0)

    @app.before_request
    def tag_request():
        sentry_sdk.set_tag("request_id", getattr(g, "request_id", "-"))

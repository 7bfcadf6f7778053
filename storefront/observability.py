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


# --- readiness --------------------------------------------------------------------------

def worker_seen() -> None:
    """The background worker is alive: called on each of its rounds."""
    try:
        cache.set(WORKER_KEY, time.time(), timeout=WORKER_STALE_SECONDS * 10)
    except Exception as error:  # noqa: BLE001 - a cache outage must not stop the worker
        log.warning("worker heartbeat not stored: %s", error)


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
    seen = cache.get(WORKER_KEY)
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

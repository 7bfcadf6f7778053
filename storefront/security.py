"""Response headers that every page carries, and the per-request CSP nonce."""

from __future__ import annotations

import secrets
import time
from urllib.parse import urlsplit

from flask import Flask, abort, g, request
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# Server-to-server calls proven by a signature, not by a browser session.
CROSS_SITE_ENDPOINTS = frozenset({"webhooks.receive"})


def csp_nonce() -> str:
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


# Pages with someone's money or identity on them: checkout, receipts, accounts, the seller's
# and the office's pages, statements, the till and a stand's pay page. They are sent with
# no-store and kept out of htmx's history cache (base.html asks ``private_page``).
PRIVATE_BLUEPRINTS = frozenset({"checkout", "accounts", "ledger", "seller", "till", "admin",
                                "cooperatives", "reports"})


def private_page() -> bool:
    from flask import request

    endpoint = request.endpoint or ""
    return endpoint.split(".")[0] in PRIVATE_BLUEPRINTS and endpoint != "till.worker"


def init_app(app: Flask) -> None:
    app.jinja_env.globals["csp_nonce"] = csp_nonce

    @app.before_request
    def start_clock():
        g.started = time.perf_counter()

    @app.before_request
    def refuse_cross_site_writes():
        """A browser says where a request comes from: a change sent from another site is
        refused before any view runs, CSRF token or not (defence in depth)."""
        if request.method in SAFE_METHODS or request.endpoint in CROSS_SITE_ENDPOINTS:
            return None
        if (request.endpoint or "").startswith("api."):
            return None  # key in a header, no cookie: a client app's origin (storefront/api)
        origin = request.headers.get("Origin")
        # Host only: behind a TLS proxy the app may see http while the browser says https.
        if origin and origin != "null" and urlsplit(origin).netloc != request.host:
            abort(403)
        if request.headers.get("Sec-Fetch-Site") == "cross-site":
            abort(403)
        return None

    @app.after_request
    def read_what_was_sent(response):
        """A body no view read (a POST to a wrong URL, a refusal before the form) is read
        before the answer goes: gunicorn 23's gthread worker otherwise takes its rest for
        the start of the next request on the kept-alive connection and blocks a thread on
        it until the client sends again (benoitc/gunicorn#3301). Behind nginx's pooled
        upstream connections, a few large POSTs to a 404 stalled a worker; the outside
        walk, with keep-alive, hung on its own idle connections."""
        length = request.content_length or 0
        if 0 < length <= (app.config.get("MAX_CONTENT_LENGTH") or length):
            stream = request.stream
            try:
                if hasattr(stream, "exhaust"):
                    stream.exhaust()
                # else the body is in memory already (read by the view, or by a WSGI
                # middleware such as Sentry's): nothing is left on the connection.
            except (ClientDisconnected, RequestEntityTooLarge):
                pass  # nothing left to read, or more than is ever read: the answer stands
        return response

    @app.after_request
    def set_headers(response):
        headers = response.headers
        if "started" in g:
            # Server time, for browsers' dev tools and the benchmarks.
            headers["Server-Timing"] = f"app;dur={(time.perf_counter() - g.started) * 1000:.2f}"
        # Scripts only with this request's nonce: htmx runs with allowEval and
        # script tags off, so injected markup can neither run code nor load any.
        headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; "
            f"script-src 'nonce-{csp_nonce()}'; "
            "style-src 'self'; img-src 'self' data:; font-src 'self'; "
            "connect-src 'self'; form-action 'self'; "
            # the till's service worker (same origin only); without this the nonce-only
            # script-src would refuse it
            "worker-src 'self'; "
            "object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
        )
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if app.config.get("HSTS"):
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if private_page() and response.mimetype == "text/html":
            # Someone's money or identity: not kept by a shared phone's browser or a proxy.
            headers["Cache-Control"] = "no-store"
        return response

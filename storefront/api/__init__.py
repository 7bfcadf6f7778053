"""Gerai's public, versioned JSON API under /api/v1 (issue 19).

Views translate HTTP to the same domain services the pages call and their results to
the models in ``schemas``; the OpenAPI document is generated from them (``contract``).
Calls carry no cookies and no session: public reads need nothing, the rest an API key
in the Authorization header (``keys``). Every error is an RFC 9457 problem
(``problems``); reads carry ETags; CORS answers only the configured client origins.
"""

from __future__ import annotations

import os

from flask import Blueprint, Flask, current_app, g, request
from flask.globals import request_ctx
from werkzeug.exceptions import BadRequest, HTTPException

from ..extensions import cache
from . import keys
from .problems import ApiProblem, problem_response

bp = Blueprint("api", __name__, url_prefix="/api/v1")
MAX_BODY = 64 * 1024  # a cart of 50 lines is under 4 KB
# Public reads: the same for every caller, so one answer serves all until the catalogue
# changes (the key holds fragments.py's catalogue version, as the pages' fragments do).
SHARED = frozenset({"api.search_products", "api.product", "api.shops", "api.shop",
                    "api.categories", "api.places", "api.fair_list", "api.fair", "api.stand"})


def init_app(app: Flask) -> None:
    app.config.setdefault("API_CORS_ORIGINS", tuple(
        o.strip() for o in os.environ.get("API_CORS_ORIGINS", "").split(",") if o.strip()))
    app.config.setdefault("API_PUBLIC_RATE", os.environ.get("API_PUBLIC_RATE", "600 per minute"))
    app.config.setdefault("WEBHOOK_TIMEOUT", float(os.environ.get("WEBHOOK_TIMEOUT", "5")))
    from ..extensions import csrf

    # No cookie or session ever authenticates an API call (keys.py), so there is no
    # ambient authority for a forged cross-site request to borrow.
    csrf.exempt(bp)
    from .commands import api_key

    app.cli.add_command(api_key)


@bp.before_request
def no_session_and_a_key():
    # A null session: nothing in an API call can read or write the browser's session,
    # and no Set-Cookie goes out.
    request_ctx._session = current_app.session_interface.make_null_session(current_app)
    if request.method == "OPTIONS":
        return None
    if request.method == "POST":
        # Declared length only: a chunked body is bounded by MAX_CONTENT_LENGTH like any.
        if (request.content_length or 0) > MAX_BODY:
            raise ApiProblem(413)
        if request.mimetype != "application/json":
            raise ApiProblem(415)
        try:
            request.get_json()
        except (BadRequest, RecursionError):  # "[[[[…" 60,000 deep: a 500 before this
            raise ApiProblem(400, _invalid_json(), slug="invalid-json") from None
    keys.authenticate()
    if request.method == "GET" and request.endpoint in SHARED:
        cached = cache.get(_shared_key())
        if cached is not None:
            g.api_from_cache = True
            return current_app.response_class(cached, mimetype="application/json")
    return None


def _shared_key() -> str:
    from .. import fragments
    from .problems import language

    return f"api:{fragments.version()}:{language()}:{request.host_url}:{request.full_path}"


def _invalid_json():
    from flask_babel import lazy_gettext as _l

    return _l("Isi permintaan bukan JSON yang sah (UTF-8).")


@bp.errorhandler(ApiProblem)
def api_problem(error: ApiProblem):
    return error.get_response()


@bp.errorhandler(HTTPException)
def api_http_error(error: HTTPException):
    allowed = {k: v for k, v in error.get_headers() if k == "Allow"}  # a 405 says what is
    return problem_response(error.code or 500, headers=allowed)


@bp.after_request
def api_headers(response):
    headers = response.headers
    vary = {"Origin", "Accept-Language", "Authorization"}
    headers["Vary"] = ", ".join(sorted(vary | {v.strip() for v in headers.get("Vary", "").split(",")
                                               if v.strip()}))
    origin = request.headers.get("Origin")
    if origin and origin in current_app.config["API_CORS_ORIGINS"]:
        headers["Access-Control-Allow-Origin"] = origin
        headers["Access-Control-Expose-Headers"] = "ETag, Retry-After, Content-Language"
        if request.method == "OPTIONS":
            headers["Access-Control-Allow-Methods"] = "GET, POST"
            headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type, If-None-Match, " \
                                                      "Accept-Language"
            headers["Access-Control-Max-Age"] = "600"
    if (request.method == "GET" and response.status_code == 200 and request.endpoint in SHARED
            and not g.get("api_from_cache") and not g.get("api_no_cache")):
        cache.set(_shared_key(), response.get_data(),
                  timeout=current_app.config["FRAGMENT_CACHE_SECONDS"])
    if request.method == "GET" and response.status_code == 200:
        if g.get("api_key") is None and not getattr(request.url_rule, "private", False):
            headers["Cache-Control"] = "public, no-cache"  # revalidate with the ETag
        else:
            headers["Cache-Control"] = "private, no-store"
        response.add_etag()
        response.make_conditional(request)
    elif "Cache-Control" not in headers:
        headers["Cache-Control"] = "no-store"
    return response


from . import models, office, private, reference, views  # noqa: E402,F401  (routes, tables)

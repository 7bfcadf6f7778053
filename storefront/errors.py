"""Every error a visitor can cause gets a page in their language with a fitting status."""

from __future__ import annotations

import logging
import math
import time

from flask import Flask, current_app, g, request
from flask_babel import lazy_gettext as _l
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from .extensions import db, limiter
from .htmx import render

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 5

MESSAGES = {
    400: (_l("Permintaan tidak valid"), _l("Ada yang salah dengan permintaan ini. Periksa isian lalu coba lagi.")),
    403: (_l("Tidak diizinkan"), _l("Anda tidak punya akses ke halaman ini.")),
    404: (_l("Halaman tidak ditemukan"), _l("Halaman yang Anda cari tidak ada atau sudah dipindahkan.")),
    405: (_l("Cara akses tidak didukung"), _l("Halaman ini tidak bisa dibuka dengan cara itu.")),
    409: (_l("Terjadi bentrokan"), _l("Data ini baru saja diubah. Muat ulang lalu coba lagi.")),
    413: (_l("Berkas terlalu besar"), _l("Ukuran kiriman melebihi batas. Kecilkan berkas lalu coba lagi.")),
    422: (_l("Isian tidak bisa diproses"), _l("Periksa kembali isian Anda.")),
    429: (_l("Terlalu banyak percobaan"), _l("Tunggu sebentar sebelum mencoba lagi.")),
    500: (_l("Terjadi kesalahan"), _l("Maaf, ada gangguan di sisi kami. Silakan coba lagi.")),
    503: (_l("Layanan sedang sibuk"), _l("Gerai sedang tidak bisa melayani. Coba lagi sebentar lagi.")),
}


def error_page(status: int, detail: str | None = None):
    from .api.problems import is_api_request, problem_response

    if is_api_request():  # the API answers every error as an RFC 9457 problem
        return problem_response(status, detail)
    title, message = MESSAGES.get(status, MESSAGES[500])
    from .observability import request_id

    return render("errors/error.html", http_status=status, code=status, title=title,
                  message=detail or message, request_id=request_id())


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_failed(error):
        # 403: the request is refused as not the user's own, whatever the form said.
        return error_page(
            403, str(_l("Sesi formulir kedaluwarsa atau tidak sah. Muat ulang halaman lalu kirim lagi.")))

    @app.errorhandler(RateLimitExceeded)
    def too_many_requests(error: RateLimitExceeded):
        """The page a limit made (the login form, say), else the 429 page; either way
        Retry-After says when the limit that tripped lets the client in again."""
        response = error.response if error.response is not None else error_page(429)
        if "Retry-After" not in response.headers and (tripped := limiter.current_limit):
            response.headers["Retry-After"] = str(max(1, math.ceil(tripped.reset_at - 1 - time.time())))
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code and error.code < 400:
            return error
        return error_page(error.code or 500)

    @app.errorhandler(InternalServerError)
    def server_error(error):
        return error_page(500)

    # Registered after Flask-SQLAlchemy's, so this runs first. A request whose work was
    # done when the database went away: its rollback fails, but there is nothing to roll
    # back (the server already did), so the answer it has made still goes out.
    @app.teardown_appcontext
    def end_session(error):
        try:
            db.session.remove()
        except (OperationalError, InterfaceError) as lost:
            log.warning("database gone while ending a request: %s", lost.orig or lost)

    # The database is down, restarting or refused the connection (OperationalError), or
    # the connection died under us (InterfaceError): the visitor gets "try again soon",
    # and the next request's pool pre-ping reconnects by itself once it is back.
    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def database_unavailable(error):
        log.error("database unavailable (%s %s): %s", request.method, request.path,
                  error.orig or error)
        try:
            db.session.rollback()  # the pool drops the dead connection
        except (OperationalError, InterfaceError) as again:
            log.warning("rollback after losing the database: %s", again)
        # The page must not ask the database again: no user or cart is looked up for it.
        g._login_user = current_app.login_manager.anonymous_user()
        g.basket_count = 0
        response = error_page(503)
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        response.headers["Cache-Control"] = "no-store"
        return response

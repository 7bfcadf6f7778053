"""Errors of the API in one shape: RFC 9457 problem details, in the client's language.

Every answer of status 400 and up under /api/ is ``application/problem+json`` with
``type``, ``title``, ``status``, ``detail`` and, where a field was wrong, ``errors``
(where, and why, per field). The language comes from ``Accept-Language`` (Indonesian
unless the client prefers English), never from a cookie or an account: a key-called
API has neither.
"""

from __future__ import annotations

import json

from flask import Response, current_app, g, has_request_context, request
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

from ..errors import MESSAGES

PREFIX = "/api/"
PROBLEM = "application/problem+json"
TYPE_BASE = "https://gerai.tangerangkota.go.id/api/problems/"

# The API's own words (the pages' titles are reused where they fit).
DETAILS = {
    401: _l("Sertakan kunci API yang sah: Authorization: Bearer <kunci>."),
    404: _l("Sumber daya ini tidak ada."),
    413: _l("Isi permintaan terlalu besar."),
    415: _l("Kirim isi permintaan sebagai application/json."),
}
TITLES = {
    401: _l("Kunci API diperlukan"),
    415: _l("Jenis isi tidak didukung"),
}


def is_api_request() -> bool:
    return has_request_context() and request.path.startswith(PREFIX)


def language() -> str:
    """The language of this API answer: English only when the client prefers it."""
    if "api_language" not in g:
        g.api_language = request.accept_languages.best_match(
            current_app.config["LANGUAGES"], default=current_app.config["BABEL_DEFAULT_LOCALE"])
    return g.api_language


class ApiProblem(HTTPException):
    """Raised by an API view: the answer is the problem document, nothing else."""

    def __init__(self, status: int, detail=None, *, slug: str | None = None,
                 errors: list[dict] | None = None, headers: dict | None = None, title=None):
        super().__init__()
        self.code = status
        self.detail = detail
        self.slug = slug
        self.errors = errors
        self.title = title
        self.extra_headers = headers or {}

    def get_response(self, environ=None, scope=None):
        return problem_response(self.code, self.detail, slug=self.slug, errors=self.errors,
                                headers=self.extra_headers, title=self.title)


def problem_response(status: int, detail=None, *, slug: str | None = None,
                     errors: list[dict] | None = None, headers: dict | None = None,
                     title=None) -> Response:
    lang = language()
    with force_locale(lang):
        base_title, base_detail = MESSAGES.get(status, MESSAGES[500 if status >= 500 else 400])
        body = {
            "type": TYPE_BASE + (slug or str(status)),
            "title": str(title or TITLES.get(status) or base_title),
            "status": status,
            "detail": str(detail or DETAILS.get(status) or base_detail),
            "instance": request.path,
        }
        if errors:
            body["errors"] = [{"field": e["field"], "message": str(e["message"])} for e in errors]
    from ..observability import request_id

    if rid := request_id():
        body["request_id"] = rid
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM)
    response.headers["Content-Language"] = lang
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="gerai-api"'
    return response


def field_errors(validation_error) -> list[dict]:
    """A pydantic ValidationError as (field, message) pairs in the client's language."""
    found = []
    for item in validation_error.errors(include_context=False, include_url=False):
        where = ".".join(str(part) for part in item.get("loc", ())) or "body"
        found.append({"field": where, "message": _message(item)})
    return found


def _message(item: dict):
    kind = item.get("type", "")
    if kind == "missing":
        return _l("Wajib diisi.")
    if kind.startswith("int") or kind.startswith("ascii_int"):
        return _l("Tulis bilangan bulat dengan angka 0–9, misalnya 3.")
    if kind in ("too_long", "string_too_long"):
        return _l("Terlalu panjang.")
    if kind in ("literal_error", "enum"):
        return _l("Pilih salah satu nilai yang tersedia.")
    if kind == "extra_forbidden":
        return _l("Kolom ini tidak dikenal.")
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return _l("Nilai di luar batas yang diizinkan.")
    return _l("Nilai tidak valid.")

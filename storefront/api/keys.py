"""API keys: issued by the city office, shown once, stored as a SHA-256, revoked at once.

A key looks like ``gerai_<prefix>_<secret>``: the prefix finds the row, the hash of the
whole key proves it (compared in constant time). A key is read only from the
``Authorization: Bearer`` header, never from a cookie or the session: a browser's
session can never authenticate an API call, so CSRF cannot reach one either.

Limits reuse the app's rate limiter (its storage: memory, or Redis in production):
per key at the key's own rate, and per address for calls without a key.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from functools import wraps

from flask import current_app, g, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from limits import parse
from sqlalchemy import select

from ..audit import record
from ..extensions import db, limiter
from ..timeutil import utcnow
from .models import SCOPES, ApiKey
from .problems import ApiProblem

_KEY = re.compile(r"gerai_([a-z0-9]{10})_([A-Za-z0-9_-]{43})")
_PREFIX_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(name: str, owner: str, scopes, rate_limit: int, actor=None) -> tuple[ApiKey, str]:
    """A new key: the row (flushed) and the key itself, which is never stored."""
    unknown = set(scopes) - set(SCOPES)
    if unknown:
        raise ValueError(f"unknown scopes: {sorted(unknown)}")
    prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(10))
    token = f"gerai_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(name=name, owner=owner, prefix=prefix, secret_hash=digest(token),
                 scopes=" ".join(s for s in SCOPES if s in set(scopes)), rate_limit=rate_limit,
                 created_by_id=getattr(actor, "id", None))
    db.session.add(key)
    db.session.flush()
    record(actor, "api_key.issue", key, after={"name": name, "owner": owner,
                                                "scopes": key.scopes, "rate_limit": rate_limit})
    return key, token


def revoke(key: ApiKey, actor=None) -> bool:
    if key.revoked_at is not None:
        return False
    key.revoked_at = utcnow()
    key.revoked_by_id = getattr(actor, "id", None)
    record(actor, "api_key.revoke", key, after={"revoked_at": key.revoked_at.isoformat()})
    db.session.flush()
    return True


def _from_header() -> ApiKey | None:
    """The key this request carries (None without one); a key that is malformed, unknown
    or revoked is a 401, whatever the endpoint."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    match = _KEY.fullmatch(token.strip()) if scheme.lower() == "bearer" else None
    if match is None:
        raise ApiProblem(401)
    key = db.session.scalar(select(ApiKey).where(ApiKey.prefix == match.group(1)))
    if key is None or not hmac.compare_digest(key.secret_hash, digest(token.strip())):
        raise ApiProblem(401)
    if key.revoked_at is not None:
        raise ApiProblem(401, _l("Kunci API ini sudah dicabut."), slug="key-revoked")
    return key


def authenticate() -> None:
    """Before every API view: who calls (a key or nobody), and is it within its rate."""
    g.api_key = _from_header()
    if not limiter.enabled:
        return
    if g.api_key is not None:
        item, who = parse(f"{g.api_key.rate_limit} per minute"), f"key:{g.api_key.id}"
    else:
        item = parse(current_app.config["API_PUBLIC_RATE"])
        who = f"address:{request.remote_addr}"
    if not limiter.limiter.hit(item, "api", who):
        reset, _remaining = limiter.limiter.get_window_stats(item, "api", who)
        from ..accounts.throttle import seconds_until

        raise ApiProblem(429, _l("Batas permintaan kunci atau alamat ini terlampaui. Coba lagi "
                                 "setelah waktu di Retry-After."), slug="rate-limited",
                         headers={"Retry-After": str(seconds_until(reset))})


def requires(scope: str):
    """The view needs a key holding ``scope``: 401 without a key, 403 without the scope."""
    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            key = g.get("api_key")
            if key is None:
                raise ApiProblem(401)
            if scope not in key.scope_set:
                raise ApiProblem(403, _("Kunci API ini tidak punya izin %(scope)s.", scope=scope),
                                 slug="missing-scope")
            return view(*args, **kwargs)
        wrapper.api_scope = scope
        return wrapper
    return decorate

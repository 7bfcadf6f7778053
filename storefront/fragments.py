"""Rendered catalogue fragments, shared by every shopper until the catalogue changes.

A fragment holds no per-user data (no CSRF token: htmx sends it as a header),
so its key is the URL, the target, the language and the catalogue version. Any
product, shop or category change and every search-index batch bumps the version;
the timeout is only a safety net for processes that share no cache.
"""

from __future__ import annotations

import secrets

from flask import request
from flask_babel import get_locale
from sqlalchemy import event
from sqlalchemy.orm import Session

from . import polls
from .extensions import cache

VERSION_KEY = "catalogue-version"


def version() -> str:
    current = cache.get(VERSION_KEY)
    if current is None:
        current = secrets.token_hex(4)
        cache.set(VERSION_KEY, current, timeout=0)
    return current


def bump() -> None:
    cache.set(VERSION_KEY, secrets.token_hex(4), timeout=0)
    polls.bump([polls.CATALOGUE])  # the dashboard names shops and stands


def key(target: str) -> str:
    return f"fragment:{version()}:{get_locale()}:{target}:{request.full_path}"


def get(target: str) -> str | None:
    return cache.get(key(target))


def put(target: str, body: str, seconds: int) -> None:
    cache.set(key(target), body, timeout=seconds)


@event.listens_for(Session, "after_flush")
def _note_catalogue_change(session: Session, _context) -> None:
    from .catalogue.models import Category, Product, ProductImage, ProductVariant, Shop
    from .exhibitions.models import Fair, Stand, StandItem

    # Stands and fairs too: a stand page, cached whole, lists the stand's goods.
    kinds = (Product, Shop, Category, ProductImage, ProductVariant, StandItem, Stand, Fair)
    if any(isinstance(o, kinds) for o in (*session.new, *session.dirty, *session.deleted)):
        session.info["catalogue_changed"] = True


@event.listens_for(Session, "after_commit")
def _bump_after_commit(session: Session) -> None:
    if session.info.pop("catalogue_changed", False):
        try:
            bump()
        except RuntimeError:  # no app context (a script outside Flask): nothing cached there
            pass


# --- whole pages for visitors who bring nothing of their own ------------------------------

NONCE_MARK, TOKEN_MARK = "\x00nonce\x00", "\x00csrf\x00"


def _plain_visitor() -> bool:
    """No account, no cart, no message waiting, a full page: the page is the same for
    every such visitor (a fair's poster scanned by hundreds of phones)."""
    from flask import session
    from flask_login import current_user

    from .basket import services as basket

    return (not current_user.is_authenticated and not request.cookies.get(basket.COOKIE)
            and "_flashes" not in session and not request.headers.get("HX-Request"))


def shared_page(target: str, make, seconds: int):
    """``make()``'s page, rendered once per catalogue version for plain visitors and served
    with this request's CSP nonce and CSRF token put back in (both are random strings,
    so replacing them cannot touch anything else)."""
    from flask import current_app
    from flask_wtf.csrf import generate_csrf

    from .security import csp_nonce

    if not _plain_visitor():
        return make()
    nonce, token = csp_nonce(), generate_csrf()
    cached = get(target)
    if cached is not None:
        return current_app.response_class(
            cached.replace(NONCE_MARK, nonce).replace(TOKEN_MARK, token),
            mimetype="text/html")
    response = make()
    if response.status_code == 200 and response.mimetype == "text/html":
        body = response.get_data(as_text=True)
        put(target, body.replace(nonce, NONCE_MARK).replace(token, TOKEN_MARK), seconds)
    return response

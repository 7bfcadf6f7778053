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


def key(target: str) -> str:
    return f"fragment:{version()}:{get_locale()}:{target}:{request.full_path}"


def get(target: str) -> str | None:
    return cache.get(key(target))


def put(target: str, body: str, seconds: int) -> None:
    cache.set(key(target), body, timeout=seconds)


@event.listens_for(Session, "after_flush")
def _note_catalogue_change(session: Session, _context) -> None:
    from .catalogue.models import Category, Product, ProductImage, ProductVariant, Shop

    kinds = (Product, Shop, Category, ProductImage, ProductVariant)
    if any(isinstance(o, kinds) for o in (*session.new, *session.dirty, *session.deleted)):
        session.info["catalogue_changed"] = True


@event.listens_for(Session, "after_commit")
def _bump_after_commit(session: Session) -> None:
    if session.info.pop("catalogue_changed", False):
        try:
            bump()
        except RuntimeError:  # no app context (a script outside Flask): nothing cached there
            pass

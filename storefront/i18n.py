"""Indonesian by default; English when the visitor chose it (cookie, or the account)."""

from __future__ import annotations

from flask import Flask, current_app, has_request_context, request
from flask_babel.speaklater import LazyString
from flask_login import current_user
from markupsafe import Markup, escape

LANGUAGE_COOKIE = "bahasa"


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI commands and background threads
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in languages:
        return chosen
    if current_user and getattr(current_user, "is_authenticated", False):
        if current_user.locale in languages:
            return current_user.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _lazy_string_as_html(self: LazyString) -> Markup:
    return escape(str(self))


def init_app(app: Flask) -> None:
    """A lazy translated string is text, never markup.

    Flask-Babel's ``LazyString.__html__`` returns the string as it is, so Jinja,
    WTForms (labels, choices, errors) and Flask's session serializer (flashed
    messages) all trusted it as HTML: ``lazy_gettext("Sub dari %(name)s",
    name=category.name)`` put a category name raw into an admin page's ``<option>``
    (issue 13.2). Escaping here makes every lazy string, in every module and library,
    as safe as a plain str. No translation of ours holds markup; one that needs it
    must be built with ``Markup`` explicitly.
    """
    LazyString.__html__ = _lazy_string_as_html

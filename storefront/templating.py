"""Filters and globals every template may use."""

from __future__ import annotations

from flask import Flask, current_app, g, request, url_for
from flask_babel import format_date, format_datetime, format_time, get_locale

from .money import format_rupiah


def init_app(app: Flask) -> None:
    app.jinja_env.filters["rupiah"] = format_rupiah
    app.jinja_env.filters["datetime"] = lambda value, fmt="medium": format_datetime(value, fmt)
    app.jinja_env.filters["date"] = lambda value, fmt="medium": format_date(value, fmt)
    app.jinja_env.filters["time"] = lambda value, fmt="short": format_time(value, fmt)

    def media_url(key: str, width: int) -> str:
        # One url_for per request, not three per picture: cards render dozens.
        if "media_prefix" not in g:
            g.media_prefix = url_for("media.serve", filename="p/")
        return f"{g.media_prefix}{key}-{width}.webp"

    app.jinja_env.globals["media_url"] = media_url
    from .security import private_page

    app.jinja_env.globals["private_page"] = private_page
    from .orders.models import CHANNEL_NAMES

    app.jinja_env.globals["channel_name"] = lambda code: CHANNEL_NAMES.get(code, code or "")

    @app.context_processor
    def page_globals():
        return {
            "current_language": str(get_locale() or "id"),
            "languages": current_app.config["LANGUAGES"],
            "here": request.full_path.rstrip("?") if request else "/",
        }

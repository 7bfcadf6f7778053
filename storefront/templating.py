"""Filters and globals every template may use."""

from __future__ import annotations

from flask import Flask, current_app, request
from flask_babel import format_date, format_datetime, get_locale

from .money import format_rupiah


def init_app(app: Flask) -> None:
    app.jinja_env.filters["rupiah"] = format_rupiah
    app.jinja_env.filters["datetime"] = lambda value, fmt="medium": format_datetime(value, fmt)
    app.jinja_env.filters["date"] = lambda value, fmt="medium": format_date(value, fmt)

    @app.context_processor
    def page_globals():
        return {
            "current_language": str(get_locale() or "id"),
            "languages": current_app.config["LANGUAGES"],
            "here": request.full_path.rstrip("?") if request else "/",
        }

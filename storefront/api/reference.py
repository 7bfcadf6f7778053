"""The API's reference page: the OpenAPI document read by Swagger UI (from npm, served
from static/ like htmx) under the app's strict CSP: scripts run only with this
response's nonce, nothing comes from a CDN."""

from __future__ import annotations

from flask import render_template

from . import bp
from .contract import VERSION


@bp.get("/")
def reference():
    return render_template("api/reference.html", version=VERSION)

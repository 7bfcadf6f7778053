"""The audit log: read and export only. No route here, or anywhere, edits or deletes an entry."""

from __future__ import annotations

from flask import abort, request
from flask_babel import gettext as _

from ..exports import csv_response, xlsx_response
from ..htmx import render
from ..params import whole_number
from ..timeutil import today_in_jakarta
from . import services
from .forms import ACTION_LABELS, OBJECT_LABELS, AuditFilterForm
from .views import bp, reader_required

PAGE_SIZE = 50


def _filters() -> tuple[AuditFilterForm, services.AuditFilter | None]:
    """The filters from the query string, or None with the form's errors to show."""
    actions, object_types = services.audit_choices(ACTION_LABELS, OBJECT_LABELS)
    form = AuditFilterForm(request.args, actions=actions, object_types=object_types)
    if not form.validate():
        return form, None
    return form, services.AuditFilter(action=form.aksi.data or "", actor=form.pelaku.data or "",
                                      object_type=form.objek.data or "",
                                      since=form.dari.data, until=form.sampai.data)


def _page_number() -> int:
    return whole_number(request.args.get("hal"), low=1, high=100_000, default=1)


@bp.get("/audit")
@reader_required
def audit():
    form, wanted = _filters()
    if wanted is None:
        return _log(form, [], 0, 1, status=422)
    page = _page_number()
    entries, total = services.audit_page(wanted, page, PAGE_SIZE)
    return _log(form, entries, total, page)


def _log(form, entries, total: int, page: int, status: int = 200):
    filters = {k: v for k, v in request.args.items() if k in form.data and v}  # for links
    return render("admin/audit.html", form=form, entries=entries, total=total, filters=filters,
                  page_number=page, page_size=PAGE_SIZE, labels=ACTION_LABELS,
                  object_labels=OBJECT_LABELS, invalid=status == 422, http_status=status)


@bp.get("/audit.<kind>")
@reader_required
def audit_export(kind: str):
    if kind not in ("csv", "xlsx"):
        abort(404)
    form, wanted = _filters()
    if wanted is None:
        return _log(form, [], 0, 1, status=422)
    name = f"log-audit-{today_in_jakarta():%Y%m%d}.{kind}"
    rows = services.audit_export_rows(wanted)
    if kind == "csv":
        return csv_response(name, services.AUDIT_COLUMNS, rows)
    return xlsx_response(name, _("Log audit"), services.AUDIT_COLUMNS, rows)

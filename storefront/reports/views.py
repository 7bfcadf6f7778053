"""Reports for the city office and read-only observers: /laporan and its exports."""

from __future__ import annotations

from datetime import timedelta
from functools import wraps

from flask import Blueprint, abort, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional, ValidationError

from ..exports import export_response
from ..forms import GeraiQueryForm
from ..htmx import render
from ..orders.models import channel_choices
from ..params import DayField, calendar_month
from ..timeutil import today_in_jakarta
from . import services

bp = Blueprint("reports", __name__, url_prefix="/laporan")

BY = [SelectChoice("kecamatan", _l("Kecamatan")), SelectChoice("kelurahan", _l("Kelurahan")),
      SelectChoice("kategori", _l("Kategori")), SelectChoice("jenis", _l("Jenis toko")),
      SelectChoice("koperasi", _l("Koperasi")), SelectChoice("kanal", _l("Kanal")),
      SelectChoice("toko", _l("Toko"))]
CHANNELS = channel_choices()
MAX_DAYS = 731


def reader_required(view):
    """The city office and observers read reports; observers change nothing anywhere."""
    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not current_user.has_role("admin", "organizer", "observer"):
            abort(403)
        return view(*args, **kwargs)
    return wrapper


class ReportForm(GeraiQueryForm):
    dari = DayField(_l("Dari"), validators=[Optional()])
    sampai = DayField(_l("Sampai"), validators=[Optional()])
    menurut = SelectField(_l("Menurut"), choices=BY, default="kecamatan")
    kanal = SelectField(_l("Kanal"), choices=CHANNELS, validators=[Optional()])

    def validate_sampai(self, field):
        if self.dari.data and field.data:
            if field.data < self.dari.data:
                raise ValidationError(_l("Tanggal akhir tidak boleh sebelum tanggal awal."))
            if (field.data - self.dari.data).days > MAX_DAYS:
                raise ValidationError(_l("Paling lama dua tahun sekali lapor."))


def _report():
    form = ReportForm(request.args)
    today = today_in_jakarta()
    valid = form.validate()
    start = (form.dari.data if valid and form.dari.data else today.replace(day=1))
    end = (form.sampai.data if valid and form.sampai.data else today)
    if not valid:
        start, end = today.replace(day=1), today
    report = services.report(start, end, form.menurut.data if valid else "kecamatan",
                             (form.kanal.data or None) if valid else None)
    return form, report, valid


@bp.get("")
@reader_required
def index():
    form, report, valid = _report()
    return render("reports/index.html", blocks={"laporan": "report"}, form=form, report=report,
                  http_status=200 if valid else 422)


@bp.get("/ekspor.<kind>")
@reader_required
def export(kind: str):
    _form, report, _valid = _report()
    header = (report.by, "penjualan_bersih", "transaksi", "persen")
    rows = [(r.label, r.total, r.count, round(r.share, 2)) for r in report.rows]
    rows.append(("TOTAL", report.total, report.count, 100 if report.total else 0))
    return export_response(kind, f"laporan-{report.by}-{report.start:%Y%m%d}-{report.end:%Y%m%d}",
                           _("Laporan"), header, rows)


@bp.get("/cakupan")
@reader_required
def coverage():
    rows = services.coverage()
    return render("reports/coverage.html", rows=rows,
                  covered=sum(1 for r in rows if r.shops), with_coop=sum(1 for r in rows if r.cooperatives))


@bp.get("/naik-kelas")
@reader_required
def growth():
    # The page names the month it shows; a month that cannot be read shows this one.
    month = calendar_month(request.args.get("bulan"), default=today_in_jakarta().replace(day=1))
    previous = (month - timedelta(days=1)).replace(day=1)
    return render("reports/growth.html", rows=services.growth(month), month=month,
                  previous=previous)

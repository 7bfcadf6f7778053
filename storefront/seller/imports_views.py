"""The seller's bulk import and export pages, on the seller blueprint (/penjual).

Upload -> preview (nothing written) -> confirm -> progress (htmx polls a partial)
-> summary. Every job URL checks that the job belongs to the logged-in seller's
shop; another shop's job id answers 404.
"""

from __future__ import annotations

import io
import os
from datetime import date

from flask import (
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.file import FileField
from sqlalchemy import select

from ..extensions import db, limiter
from ..forms import GeraiForm
from ..htmx import render
from ..params import whole_number
from . import imports
from .import_models import (
    ImportJob,  # noqa: F401 (the model is known when the app is made)
)
from .views import bp, shop_required

PAGE_SIZE = 100
SHOW = {"semua": None, "salah": "error", "baru": "new", "ubah": "update", "tetap": "same"}


class UploadForm(GeraiForm):
    file = FileField(_l("Berkas CSV atau XLSX"),
                     render_kw={"accept": ".csv,.xlsx,text/csv,application/vnd.openxmlformats-"
                                          "officedocument.spreadsheetml.sheet"})


class ConfirmForm(GeraiForm):
    pass


def _own_job(job_id: int) -> ImportJob:
    job = db.session.get(ImportJob, job_id)
    if job is None or job.shop_id != g.shop.id:
        abort(404)
    return job


def _recent_jobs(limit: int = 10) -> list[ImportJob]:
    return list(db.session.scalars(
        select(ImportJob).where(ImportJob.shop_id == g.shop.id)
        .order_by(ImportJob.created_at.desc(), ImportJob.id.desc()).limit(limit)))


def _upload_page(form: UploadForm, status: int = 200):
    return render("seller/import.html", view="upload", form=form, jobs=_recent_jobs(),
                  categories=imports.categories_for_help(), http_status=status)


def _csv_response(data: bytes, filename: str):
    response = send_file(io.BytesIO(data), mimetype="text/csv", as_attachment=True,
                         download_name=filename, max_age=0)
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/produk/impor", methods=["GET", "POST"])
@limiter.limit("60 per hour", methods=["POST"])
@shop_required
def import_products():
    form = UploadForm()
    if not form.is_submitted():
        return _upload_page(form)
    if form.validate_on_submit():
        upload = form.file.data
        if not upload or not getattr(upload, "filename", ""):
            form.file.errors = [_("Pilih berkas CSV atau XLSX untuk diunggah.")]
        else:
            data = upload.stream.read(imports.MAX_BYTES + 1)
            filename = os.path.basename(upload.filename.replace("\\", "/"))[:200]
            try:
                plan = imports.plan_file(data, filename, g.shop.id)
            except imports.FileRejected as rejected:
                form.file.errors = [rejected.message]
            else:
                imports.forget_old_jobs(g.shop.id)
                job = imports.create_job(g.shop.id, current_user.id, filename, data, plan)
                return redirect(url_for(".import_job", job_id=job.id), 303)
    return _upload_page(form, 422)


@bp.get("/produk/impor/templat.csv")
@shop_required
def import_template():
    return _csv_response(imports.template_csv(), "templat-impor-produk-gerai.csv")


def _preview(job: ImportJob):
    """The plan of a job's stored file, checked against the catalogue as it is now."""
    try:
        return imports.plan_file(job.content or b"", job.filename, job.shop_id), None
    except imports.FileRejected as rejected:
        return None, rejected.message


@bp.get("/produk/impor/<int:job_id>")
@shop_required
def import_job(job_id: int):
    job = _own_job(job_id)
    imports.check_stale(job)
    context = {"job": job, "progress": imports.progress_of(job)}
    if job.status in ("pending", "failed"):
        plan, file_error = _preview(job)
        show = request.args.get("tampil")
        if show not in SHOW:
            show = "salah" if plan and not plan.ok else "semua"
        rows = plan.rows if plan else []
        if SHOW[show]:
            rows = [row for row in rows if row.state == SHOW[show]]
        page = whole_number(request.args.get("hal"), low=1, high=9_999, default=1)
        moved = plan.moved_since(imports.previewed_stock(job)) if plan else []
        context.update(plan=plan, file_error=file_error, show=show, page=page, moved=moved,
                       rows=rows[(page - 1) * PAGE_SIZE:page * PAGE_SIZE],
                       more=len(rows) > page * PAGE_SIZE, shown=len(rows),
                       counts=plan.counts if plan else None,
                       confirm=ConfirmForm(formdata=None), form=UploadForm(formdata=None))
    return render("seller/import.html", view="job", **context)


@bp.post("/produk/impor/<int:job_id>/jalankan")
@shop_required
def confirm_import(job_id: int):
    job = _own_job(job_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if job.status in ("pending", "failed"):
        plan, file_error = _preview(job)
        if plan is None or not plan.ok:
            flash(_("Perbaiki dulu baris yang salah di berkas lalu unggah lagi; tidak ada yang "
                    "diimpor."))
            return redirect(url_for(".import_job", job_id=job.id), 303)
        job.total = len(plan.rows)
        counts = plan.counts
        job.created_count, job.updated_count = counts["new"], counts["update"]
        job.unchanged_count, job.error_count = counts["same"], 0
        db.session.commit()
        if imports.claim(job):
            imports.start(job.id)
    return redirect(url_for(".import_job", job_id=job.id), 303)


@bp.get("/produk/impor/<int:job_id>/progres")
@shop_required
def import_progress(job_id: int):
    """The progress partial htmx polls every second while the job runs."""
    job = _own_job(job_id)
    imports.check_stale(job)
    response = current_app.make_response(render_template(
        "seller/_import_progress.html", job=job, progress=imports.progress_of(job)))
    response.headers["Cache-Control"] = "no-store"
    response.vary.add("HX-Request")
    return response


@bp.get("/produk/impor/<int:job_id>/berkas")
@shop_required
def import_file(job_id: int):
    """The file exactly as it was uploaded: nothing the seller sent is lost."""
    job = _own_job(job_id)
    if job.content is None:
        abort(404)
    response = send_file(io.BytesIO(job.content), mimetype="application/octet-stream",
                         as_attachment=True, download_name=job.filename or f"impor-{job.id}",
                         max_age=0)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/produk/ekspor")
@shop_required
def export_products():
    delimiter = ";" if request.args.get("pemisah") == "titikkoma" else ","
    data = imports.export_csv(g.shop.id, delimiter)
    return _csv_response(data, f"katalog-{g.shop.slug}-{date.today().isoformat()}.csv")

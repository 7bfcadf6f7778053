"""The city office's shop verification (the full office screens come with the city-office work)."""

from __future__ import annotations

from functools import wraps

import click
from flask import Blueprint, abort, flash, redirect, url_for
from flask.cli import with_appcontext
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from ..catalogue.models import Shop
from ..extensions import db
from ..htmx import render
from ..indexing import services as indexing
from ..seller import services as seller
from ..seller.forms import RejectForm

bp = Blueprint("admin", __name__, url_prefix="/admin")


def office_required(view):
    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not current_user.has_role("admin", "organizer"):
            abort(403)
        return view(*args, **kwargs)
    return wrapper


def _shop(shop_id: int) -> Shop:
    return db.session.get(Shop, shop_id) or abort(404)


@bp.get("/verifikasi")
@office_required
def verification():
    pending = db.session.scalars(select(Shop).where(Shop.status == "pending")
                                 .order_by(Shop.submitted_at)).all()
    return render("admin/verification.html", shops=pending, form=RejectForm(formdata=None))


@bp.post("/verifikasi/<int:shop_id>/setujui")
@office_required
def approve(shop_id: int):
    shop = _shop(shop_id)
    seller.verify_shop(shop)
    flash(_("%(shop)s sudah diverifikasi dan tampil di katalog.", shop=shop.name))
    return redirect(url_for(".verification"), 303)


@bp.post("/verifikasi/<int:shop_id>/tolak")
@office_required
def reject(shop_id: int):
    shop = _shop(shop_id)
    form = RejectForm()
    if not form.validate_on_submit():
        pending = db.session.scalars(select(Shop).where(Shop.status == "pending")).all()
        return render("admin/verification.html", shops=pending, form=form, rejecting=shop.id,
                      status=422)
    seller.reject_shop(shop, form.reason.data.strip())
    flash(_("%(shop)s ditolak; penjual melihat alasannya.", shop=shop.name))
    return redirect(url_for(".verification"), 303)


@bp.get("/pencarian")
@office_required
def search_status():
    """How far the search index lags the catalogue, and why changes fail to reach it."""
    return render("admin/search.html", outbox=indexing.outbox_status())


@bp.post("/pencarian/ulangi")
@office_required
def search_retry():
    count = indexing.retry_failed_now()
    flash(_("%(count)d perubahan dicoba lagi sekarang.", count=count))
    return redirect(url_for(".search_status"), 303)


@click.command("shop-verify")
@click.argument("slug")
@click.option("--reject", "reason", default=None, help="Reject with this reason instead.")
@with_appcontext
def shop_verify(slug: str, reason: str | None):
    """Verify a shop by its slug (or reject it with --reject "reason")."""
    shop = db.session.scalar(select(Shop).where(Shop.slug == slug))
    if shop is None:
        raise click.ClickException(f"Tidak ada toko dengan slug {slug!r}.")
    if reason:
        seller.reject_shop(shop, reason)
        click.echo(f"{shop.name}: ditolak.")
    else:
        seller.verify_shop(shop)
        click.echo(f"{shop.name}: terverifikasi.")

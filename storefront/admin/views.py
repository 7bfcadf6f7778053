"""The city office: shop verification, search status, and (in the modules imported at the
bottom) the audit log, categories and roles.

Who may do what: the office (admin, organizer) changes things; the observer role
(auditors, other agencies) only reads. Pages that only read take ``reader_required``;
every route that changes something takes ``office_required`` (or ``admin_required``),
so an observer who posts to it directly gets a 403, whatever the page showed.
"""

from __future__ import annotations

from functools import wraps

import click
from flask import Blueprint, abort, flash, redirect, url_for
from flask.cli import with_appcontext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import func, select

from ..catalogue.models import Product, Shop
from ..extensions import db
from ..htmx import render
from ..indexing import services as indexing
from ..seller import services as seller
from ..seller.forms import RejectForm

bp = Blueprint("admin", __name__, url_prefix="/admin")

OFFICE = ("admin", "organizer")
READERS = (*OFFICE, "observer")
SHOP_STATUS = {"pending": _l("menunggu"), "verified": _l("terverifikasi"), "rejected": _l("ditolak")}


def roles_required(*roles: str):
    def decorator(view):
        @wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)
        return wrapper
    return decorator


office_required = roles_required(*OFFICE)  # changes things: verification, fairs, categories
reader_required = roles_required(*READERS)  # only reads: observers too
admin_required = roles_required("admin")  # roles


@bp.context_processor
def office_context():
    """What the office pages need to know: whether to show forms that change things."""
    if not current_user.is_authenticated:
        return {}
    return {"can_change": current_user.has_role(*OFFICE),
            "is_admin": current_user.has_role("admin")}


def _shop_to_decide(shop_id: int) -> Shop:
    # Locked until the decision commits: a second officer waits, then sees it decided (409).
    return db.session.get(Shop, shop_id, with_for_update=True) or abort(404)


def _queue(form: RejectForm, status: int = 200, **context):
    """The queue: shops waiting (re-submissions marked), and rejected ones waiting for their seller."""
    pending = db.session.scalars(select(Shop).where(Shop.status == "pending")
                                 .order_by(Shop.submitted_at, Shop.id)).all()
    rejected = db.session.scalars(select(Shop).where(Shop.status == "rejected")
                                  .order_by(Shop.submitted_at.desc()).limit(50)).all()
    counts = dict(db.session.execute(
        select(Product.shop_id, func.count(Product.id))
        .where(Product.shop_id.in_([s.id for s in pending])).group_by(Product.shop_id)).all())
    return render("admin/verification.html", shops=pending, rejected=rejected,
                  product_counts=counts, form=form, http_status=status, **context)


@bp.get("/verifikasi")
@reader_required
def verification():
    return _queue(RejectForm(formdata=None))


def _still_pending(shop: Shop):
    """Two officers on one shop, or a page left open: decide only what is still waiting."""
    if shop.status == "pending":
        return None
    message = _("%(shop)s sudah diputuskan (status: %(status)s); muat ulang antrean.",
                shop=shop.name, status=SHOP_STATUS[shop.status])
    return _queue(RejectForm(formdata=None), status=409, conflict=message)


@bp.post("/verifikasi/<int:shop_id>/setujui")
@office_required
def approve(shop_id: int):
    shop = _shop_to_decide(shop_id)
    if (conflict := _still_pending(shop)) is not None:
        return conflict
    seller.verify_shop(shop, actor=current_user)
    db.session.commit()
    flash(_("%(shop)s sudah diverifikasi dan tampil di katalog.", shop=shop.name))
    return redirect(url_for(".verification"), 303)


@bp.post("/verifikasi/<int:shop_id>/tolak")
@office_required
def reject(shop_id: int):
    shop = _shop_to_decide(shop_id)
    if (conflict := _still_pending(shop)) is not None:
        return conflict
    form = RejectForm()
    if not form.validate_on_submit():
        return _queue(form, status=422, rejecting=shop.id)
    seller.reject_shop(shop, form.reason.data.strip(), actor=current_user)
    db.session.commit()
    flash(_("%(shop)s ditolak; penjual melihat alasannya.", shop=shop.name))
    return redirect(url_for(".verification"), 303)


@bp.get("/pencarian")
@reader_required
def search_status():
    """How far the search index lags the catalogue, and why changes fail to reach it."""
    return render("admin/search.html", outbox=indexing.outbox_status())


@bp.post("/pencarian/ulangi")
@office_required
def search_retry():
    count = indexing.retry_failed_now()
    flash(_("%(count)d perubahan dicoba lagi sekarang.", count=count))
    return redirect(url_for(".search_status"), 303)


@bp.get("/pembayaran")
@reader_required
def payments():
    """Payments that did not count (wrong id, amount or currency: money to give back) and
    refunds the gateway has not finished or refused."""
    from ..orders.models import Order
    from ..payments import settlement

    refunds = db.session.scalars(select(Order).where(Order.refund_status.in_(("pending", "failed",
                                                                             "cash_due")))
                                 .order_by(Order.updated_at.desc()).limit(200)).all()
    return render("admin/payments.html", mismatches=settlement.mismatches(), refunds=refunds,
                  strays=settlement.strays(), unconfirmed=settlement.unconfirmed_static())


@bp.post("/pembayaran/uang-kembali/<int:stray>")
@office_required
def stray_cash(stray: int):
    from ..payments import strays
    from ..payments.models import StrayPayment

    strays.record_cash_refund(db.get_or_404(StrayPayment, stray))
    return redirect(url_for(".payments"), 303)


@bp.post("/pembayaran/qris-statis/<order>/cek")
@office_required
def confirm_static(order: str):
    """The office saw a static-QRIS sale's money in the shop's bank statement."""
    from ..orders.models import Order
    from ..payments import settlement

    sale = db.session.scalar(select(Order).where(Order.code == order)) or abort(404)
    if settlement.confirm_received(sale, current_user):
        db.session.commit()
        flash(_("Penjualan QRIS statis %(code)s sudah dicek.", code=sale.code))
    return redirect(url_for(".payments"), 303)


@bp.get("/pembayaran/<code>")
@reader_required
def payment_story(code: str):
    """One purchase's whole payment story, with the gateway's ids, for the office."""
    from ..checkout.models import Purchase
    from ..payments import settlement

    purchase = db.session.scalar(select(Purchase).where(Purchase.code == code[:24])) or abort(404)
    return render("admin/payment_story.html", purchase=purchase,
                  story=settlement.story(purchase))


@click.command("shop-verify")
@click.argument("slug")
@click.option("--reject", "reason", default=None, help="Reject with this reason instead.")
@with_appcontext
def shop_verify(slug: str, reason: str | None):
    """Verify a shop by its slug (or reject it with --reject "reason")."""
    shop = db.session.scalar(select(Shop).where(Shop.slug == slug))
    if shop is None:
        raise click.ClickException(f"Tidak ada toko dengan slug {slug!r}.")
    # No signed-in person on the command line: the entry says where it came from.
    if reason:
        seller.reject_shop(shop, reason, note="flask shop-verify")
        db.session.commit()
        click.echo(f"{shop.name}: ditolak.")
    else:
        seller.verify_shop(shop, note="flask shop-verify")
        db.session.commit()
        click.echo(f"{shop.name}: terverifikasi.")


# The other office pages add their routes to this blueprint; imported last because they
# take bp and the decorators from here.
from . import audit_views, category_views, user_views  # noqa: E402, F401

"""Shop statements: the seller's own, and the office's view with payouts (admin records them)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select

from ..catalogue.models import Shop
from ..extensions import db
from ..htmx import render
from ..seller.services import shop_of
from ..timeutil import today_in_jakarta
from . import services
from .forms import PayoutForm
from .models import LedgerEntry, Payout

bp = Blueprint("ledger", __name__)


def _statement_page(template: str, shop: Shop, form: PayoutForm | None = None,
                    status: int = 200):
    payouts = db.session.scalars(select(Payout).where(Payout.shop_id == shop.id)
                                 .order_by(Payout.paid_on.desc(), Payout.id.desc())).all()
    return render(template, shop=shop, payouts=payouts, form=form, http_status=status,
                  account=services.statement(shop.id, with_entries=True))


@bp.get("/penjual/rekening")
@login_required
def mine():
    """The seller's statement: sales, refunds, fees, cash taken at stands, payouts, balance."""
    shop = shop_of(current_user) or abort(403)
    return _statement_page("ledger/mine.html", shop)


def _admin_shop(shop_id: int) -> Shop:
    if not current_user.has_role("admin", "observer"):
        abort(403)
    return db.session.get(Shop, shop_id) or abort(404)


@bp.get("/admin/rekening")
@login_required
def balances():
    if not current_user.has_role("admin", "observer"):
        abort(403)
    rows = db.session.execute(
        select(Shop, func.sum(LedgerEntry.amount)).join(LedgerEntry, LedgerEntry.shop_id == Shop.id)
        .group_by(Shop.id).order_by(func.sum(LedgerEntry.amount).desc()).limit(500)).all()
    return render("ledger/balances.html", rows=rows)


@bp.route("/admin/toko/<int:shop_id>/rekening", methods=["GET", "POST"])
@login_required
def shop_statement(shop_id: int):
    shop = _admin_shop(shop_id)
    form = PayoutForm(data={"paid_on": today_in_jakarta()})
    if form.is_submitted():
        if not current_user.has_role("admin"):
            abort(403)  # observers read statements; only admins record money sent
        if not form.validate():
            return _statement_page("ledger/office.html", shop, form, 422)
        services.record_payout(shop, form.amount.data, form.reference.data.strip(),
                               form.paid_on.data, current_user, form.note.data or "")
        db.session.commit()
        flash(_("Pembayaran %(amount)s ke %(shop)s dicatat.", amount=form.amount.raw_data[0],
                shop=shop.name))
        return redirect(url_for(".shop_statement", shop_id=shop.id), 303)
    return _statement_page("ledger/office.html", shop,
                           form if current_user.has_role("admin") else None)

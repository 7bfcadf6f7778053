"""Checkout: contact and delivery per shop, a review with server totals, pay, confirmation."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import qrcodes
from ..basket.services import grouped
from ..basket.views import current_basket
from ..extensions import db, limiter
from ..htmx import no_change, render, unchanged, wants_fragment
from ..inventory import services as inventory
from ..params import plain_text
from ..payments import gateway as contract
from ..payments import runner, settlement
from ..qrcodes import qr_svg
from . import services
from .forms import ContactForm, PayForm
from .models import Purchase

bp = Blueprint("checkout", __name__)

SESSION_KEY = "checkout"


def _choices(groups, form_data, errors) -> list[services.ShopChoice]:
    choices = []
    for group in groups:
        shop = group.shop
        fulfilment = form_data.get(f"antar-{shop.id}", "pickup")
        address = plain_text(form_data.get(f"alamat-{shop.id}"), 300)
        if fulfilment not in ("pickup", "delivery") or (
                fulfilment == "delivery" and shop.delivery_fee is None):
            errors[f"antar-{shop.id}"] = _("Toko ini hanya melayani ambil di toko.")
            fulfilment = "pickup"
        if fulfilment == "delivery" and not address:
            errors[f"alamat-{shop.id}"] = _("Tulis alamat pengantaran.")
        choices.append(services.ShopChoice(group, fulfilment, address or None))
    return choices


def _saved_choices(groups) -> list[services.ShopChoice]:
    saved = session.get(SESSION_KEY, {}).get("shops", {})
    return [services.ShopChoice(g, saved.get(str(g.shop.id), {}).get("fulfilment", "pickup"),
                                saved.get(str(g.shop.id), {}).get("address"))
            for g in groups]


@bp.route("/checkout", methods=["GET", "POST"])
def details():
    basket = current_basket()
    groups = grouped(basket)
    if not groups:
        flash(_("Keranjang Anda kosong."))
        return redirect(url_for("basket.show"))
    saved = session.get(SESSION_KEY, {})
    form = ContactForm(data=saved.get("contact") or (
        {"name": current_user.name, "email": current_user.email}
        if current_user.is_authenticated else None))
    errors: dict[str, str] = {}
    if request.method == "POST":
        choices = _choices(groups, request.form, errors)
        if form.validate_on_submit() and not errors:
            session[SESSION_KEY] = {
                "contact": {"name": form.name.data.strip(), "whatsapp": form.whatsapp.data,
                            "email": form.email.data or None},
                "shops": {str(c.group.shop.id): {"fulfilment": c.fulfilment, "address": c.address}
                          for c in choices},
                "attempt": services.new_attempt(),
            }
            return redirect(url_for(".review"), 303)
        status = 422
    else:
        choices, status = _saved_choices(groups), 200
    return render("checkout/details.html", form=form, choices=choices, errors=errors,
                  http_status=status)


def _review_context(basket, notice=None):
    saved = session.get(SESSION_KEY)
    groups = grouped(basket)
    choices = _saved_choices(groups)
    return {"choices": choices, "contact": saved["contact"], "total": sum(c.total for c in choices),
            "methods": contract.online_methods(), "method_names": METHOD_NAMES,
            "pay": PayForm(formdata=None, attempt=saved["attempt"],
                           fingerprint=services.fingerprint(basket)),
            "price_changed": any(l.price_changed for l in basket.lines), "notice": notice}


METHOD_NAMES = {"qris": _l("QRIS — OVO, GoPay, DANA, ShopeePay, LinkAja atau m-banking"),
                "card": _l("Kartu debit atau kredit")}


def _chosen_gateway() -> str:
    """The gateway of the payment method the shopper chose (the first offered by default)."""
    methods = dict(contract.online_methods())
    chosen = request.form.get("metode", "")
    if chosen in methods:
        return methods[chosen]
    return next(iter(methods.values()), current_app.config["PAYMENT_GATEWAY"])


@bp.get("/checkout/periksa")
def review():
    basket = current_basket()
    if not grouped(basket) or SESSION_KEY not in session:
        return redirect(url_for(".details"))
    return render("checkout/review.html", **_review_context(basket))


def _shopper() -> str:
    """Limits count per account, or per address without one (never per cookie)."""
    return holder()


@bp.post("/checkout/bayar")
@limiter.limit("10 per minute", key_func=_shopper)
def pay():
    basket = current_basket()
    saved = session.get(SESSION_KEY)
    form = PayForm()
    if not form.validate_on_submit():
        abort(400)
    # "Bayar" pressed twice: the second press follows the first one's payment.
    existing = db.session.scalar(select(Purchase).where(Purchase.attempt == form.attempt.data))
    if existing is not None:
        if not _may_see(existing):
            abort(404)
        if existing.status == "pending" and not (existing.payment_url or existing.payment_qr):
            # The gateway did not answer last time (it may have made the page): ask again
            # with the same idempotency key, so there is still one payment.
            return _to_payment_page(existing, basket)
        return redirect(existing.payment_url or url_for(".done", code=existing.code), 303)
    if not grouped(basket) or not saved:
        return redirect(url_for("basket.show"), 303)
    if form.attempt.data != saved["attempt"]:
        abort(400)
    if form.fingerprint.data != services.fingerprint(basket):
        # Prices or quantities changed since the review: show the new totals first.
        notice = _("Isi keranjang atau harga berubah. Periksa total baru sebelum membayar.")
        return render("checkout/review.html", http_status=409, **_review_context(basket, notice))
    contact = services.Contact(**saved["contact"])
    choices = _saved_choices(grouped(basket))
    buyer = current_user if current_user.is_authenticated else None
    try:
        purchase = services.place_purchase(basket, buyer, contact, choices, saved["attempt"],
                                           _chosen_gateway(), client=holder())
    except services.OutOfStock as short:
        db.session.rollback()
        flash(_("Stok tidak cukup untuk: %(items)s. Ubah jumlahnya lalu coba lagi.",
                items=", ".join(short.names)), "error")
        return redirect(url_for("basket.show"), 303)
    except IntegrityError:
        # The same "Bayar" twice at once: the other press made the purchase.
        db.session.rollback()
        existing = db.session.scalar(select(Purchase).where(Purchase.attempt == saved["attempt"]))
        if existing is None:
            raise
        return redirect(existing.payment_url or url_for(".done", code=existing.code), 303)
    except inventory.TooManyHolds:
        db.session.rollback()
        return render("checkout/review.html", http_status=429, **_review_context(
            basket, _("Terlalu banyak pembayaran yang belum selesai dari perangkat atau jaringan "
                      "ini. Selesaikan atau batalkan yang lama dulu, atau coba lagi nanti.")))
    db.session.commit()
    session.setdefault("purchases", [])
    session["purchases"] = (session["purchases"] + [purchase.code])[-20:]
    return _to_payment_page(purchase, basket)


def _to_payment_page(purchase: Purchase, basket):
    try:
        url = runner.start_payment(
            purchase,
            success_url=url_for(".done", code=purchase.code, _external=True),
            cancel_url=url_for(".cancelled", code=purchase.code, _external=True))
    except contract.GatewayUnavailable as error:
        # No answer: the gateway may have made the page all the same. The purchase and
        # its hold stay; "Bayar" again asks with the same key (one payment, one charge),
        # and the reconciler ends it if nobody comes back.
        if SESSION_KEY not in session:
            flash(str(error.message), "error")
            return redirect(url_for(".done", code=purchase.code), 303)
        return render("checkout/review.html", http_status=503,
                      **_review_context(basket, error.message))
    except contract.PaymentError as error:
        runner.close(purchase)
        if SESSION_KEY in session:
            session[SESSION_KEY]["attempt"] = services.new_attempt()
            session.modified = True
        return render("checkout/review.html", http_status=503,
                      **_review_context(basket, error.message))
    session.pop(SESSION_KEY, None)
    # A QRIS payment has no page elsewhere: its code shows on the receipt, which waits.
    return redirect(url or url_for(".done", code=purchase.code), 303)


def holder() -> str:
    """Whom this request's stock holds count against: the account, else the address
    (behind TRUSTED_PROXIES, the forwarded one). Never a cookie: a client can drop those."""
    return inventory.client_key(
        user_id=current_user.id if current_user.is_authenticated else None,
        address=request.remote_addr)


def _may_see(purchase: Purchase) -> bool:
    if current_user.is_authenticated and purchase.buyer_id == current_user.id:
        return True
    return purchase.code in session.get("purchases", [])


def _own_purchase(code: str) -> Purchase:
    purchase = db.session.scalar(select(Purchase).where(Purchase.code == code))
    if purchase is None or not _may_see(purchase):
        abort(404)
    return purchase


@bp.get("/pesanan/<code>")
def done(code: str):
    """Confirmation and receipt; while the payment is pending it asks again every 2 s."""
    purchase = _own_purchase(code)
    if unchanged(purchase.status):
        return no_change()  # the receipt already shows this state
    # Only webhooks and the reconciler ask the gateway; this page reads what they settled.
    qr = None
    if purchase.status == "pending" and purchase.payment_qr:
        qr = qr_svg(purchase.payment_qr, scale=5, border=4)
    response = render("checkout/done.html", blocks={"status-pembayaran": "status"},
                      purchase=purchase, qr=qr,
                      story=settlement.story(purchase) if not wants_fragment() else ())
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/pesanan/<code>/qris.png")
def qris_picture(code: str):
    """The purchase's QRIS as a picture to save, for "scan from gallery" on this phone."""
    purchase = _own_purchase(code)
    if purchase.status != "pending" or not purchase.payment_qr:
        abort(404)
    return qrcodes.qris_picture(purchase.payment_qr, purchase.code)


@bp.get("/pesanan/<code>/batal")
def cancelled(code: str):
    """Back from the gateway without paying: the cart still holds everything."""
    purchase = _own_purchase(code)
    return render("checkout/cancelled.html", purchase=purchase)


@bp.post("/pesanan/<code>/batal")
def cancel(code: str):
    purchase = _own_purchase(code)
    try:
        runner.cancel(purchase)
    except contract.PaymentError as error:
        flash(str(error.message), "error")
        return redirect(url_for(".done", code=code), 303)
    if purchase.status == "paid":
        flash(_("Pembayaran ini sudah lunas."))
        return redirect(url_for(".done", code=code), 303)
    flash(_("Pembayaran dibatalkan. Barang masih ada di keranjang."))
    return redirect(url_for("basket.show"), 303)


@bp.get("/akun/pesanan")
@login_required
def history():
    purchases = db.session.scalars(select(Purchase).where(Purchase.buyer_id == current_user.id)
                                   .order_by(Purchase.created_at.desc()).limit(100)).all()
    return render("checkout/history.html", purchases=purchases)

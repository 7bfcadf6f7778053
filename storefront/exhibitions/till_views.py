"""The stand screen (the keeper's till) and the visitor's payment page behind a QR code."""

from __future__ import annotations

import secrets
from datetime import datetime

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    request,
    send_from_directory,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import polls
from ..checkout.models import Purchase
from ..checkout.views import holder
from ..extensions import db, limiter
from ..forms import one_line_text
from ..htmx import no_change, render, unchanged, wants_fragment
from ..money import format_rupiah, parse_rupiah
from ..orders.models import Order
from ..params import plain_text, record_id, whole_number
from ..payments import gateway as contract
from ..payments import runner, settlement, strays
from ..payments.models import StrayPayment
from ..qrcodes import qr_svg, qris_picture
from ..timeutil import jakarta_day_start, today_in_jakarta
from . import services, till
from .models import Fair, Stand, StandItem

bp = Blueprint("till", __name__)

def today_start() -> datetime:
    return jakarta_day_start(today_in_jakarta())


def _stand(slug: str, code: str) -> tuple[Fair, Stand]:
    fair = db.session.scalar(select(Fair).where(Fair.slug == slug)) or abort(404)
    stand = services.stand_by_code(fair, code) or abort(404)
    if stand.shop is None:
        abort(404)
    return fair, stand


def _keeper_stand(slug: str, code: str) -> tuple[Fair, Stand]:
    """Only the shop's own people work its stand."""
    fair, stand = _stand(slug, code)
    if stand.shop.owner_id != current_user.id:
        abort(403)
    return fair, stand


def _stand_order(stand: Stand, code: str) -> Order:
    order = db.session.scalar(select(Order).where(Order.code == code, Order.stand_id == stand.id))
    return order or abort(404)


def _stand_charge(stand: Stand, code: str) -> Purchase:
    purchase = db.session.scalar(select(Purchase).where(Purchase.code == code,
                                                        Purchase.stand_id == stand.id))
    return purchase or abort(404)


def _pay_url(purchase: Purchase) -> str:
    return url_for(".pay", token=purchase.pay_token, _external=True)


def _charge_version(snapshot: polls.Snapshot, fair: Fair, stand: Stand,
                    purchase: Purchase) -> str | None:
    """What a pending charge's panel sends with its polls (until the charge runs out)."""
    if purchase.status != "pending":
        return None
    return snapshot.token(polls.unix(purchase.expires_at),
                          url_for(".charge", slug=fair.slug, code=stand.code,
                                  charge=purchase.code))


def _charge_snapshot(code: str) -> polls.Snapshot:
    return polls.snapshot(polls.charge(code), polls.ALL_STANDS)


def _charge_qr(purchase: Purchase) -> str:
    """What the stand's screen shows while a charge waits: its QRIS code, which any
    e-wallet or bank app pays, else (a card gateway) the link to its payment page."""
    if purchase.payment_qr:
        return qr_svg(purchase.payment_qr, scale=5, border=4)
    return qr_svg(_pay_url(purchase), scale=5)


def _sale_lines(stand: Stand, form) -> list[till.SaleLine]:
    """Quantities the keeper (or visitor) chose, as ``q-<item id>`` fields; unknown ids ignored,
    a quantity that is not a number refused with a message (never guessed)."""
    items = {item.id: item for item in till.stand_items(stand)}
    lines = []
    for name, value in form.items():
        if not name.startswith("q-"):
            continue
        item_id = record_id(name[2:])
        quantity = whole_number(value or "0", low=0, high=10**9)
        if item_id in items and quantity is None:
            raise till.SaleRefused(_("Jumlah barang ditulis dengan angka 0–9."))
        if item_id in items and quantity > 0:
            lines.append(till.SaleLine(items[item_id], min(quantity, 10_000)))
    return lines


def _till_context(fair: Fair, stand: Stand, parts=("register", "sales"), **extra) -> dict:
    """What the stand screen shows; a polled block asks only for its own part."""
    context = {"fair": fair, "stand": stand, "errors": {}, "key": till_key()}
    if "register" in parts:
        context["items"] = till.stand_items(stand)
    if "sales" in parts:
        # Before the sales are read; the list's polls are answered from it (polls.py).
        context["sales_version"] = polls.snapshot(
            polls.stand(stand.id), polls.ALL_STANDS).token(
            polls.end_of_day(), url_for(".sales", slug=fair.slug, code=stand.code))
        since = today_start()
        context.update(sales=till.recent_sales(stand, since), waiting=till.waiting_handover(stand),
                       totals=till.totals_by_method(stand, since),
                       strays=settlement.strays(stand_id=stand.id, open_only=True, limit=20))
    context.update(extra)
    return context


def _register_only() -> tuple[str, ...]:
    """What an answer to a sale swaps in (the register) needs; the full page needs it all.
    The sales list's own poll then shows the sale (its version moved)."""
    return ("register",) if wants_fragment() else ("register", "sales")


def till_key() -> str:
    """A fresh sale key for a form sent without JavaScript (the script makes its own)."""
    return secrets.token_urlsafe(16)


@bp.get("/pameran/<slug>/<code>/kasir")
@login_required
def screen(slug: str, code: str):
    fair, stand = _keeper_stand(slug, code)
    response = render("exhibitions/till.html", blocks={"penjualan": "sales"},
                      **_till_context(fair, stand))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/pameran/kasir-sw.js")
def worker():
    """The till's service worker (static/js/till-sw.js). Served from /pameran/, not /static/,
    because a worker controls only the pages under the folder it comes from."""
    response = send_from_directory(current_app.static_folder, "js/till-sw.js",
                                   mimetype="text/javascript", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.post("/pameran/<slug>/<code>/kasir/jual")
@login_required
def sell(slug: str, code: str):
    fair, stand = _keeper_stand(slug, code)
    method = request.form.get("metode", "")
    wants_json = request.accept_mimetypes.best == "application/json"
    errors: dict[str, str] = {}
    if method not in till.CHANNEL_OF:
        errors["metode"] = _("Pilih Bayar QR atau Tunai.")
    try:
        amount = parse_rupiah(request.form.get("nominal", "")) if request.form.get("nominal") else 0
    except ValueError:
        errors["nominal"] = _("Tulis nominal dalam rupiah, misalnya 15.000.")
        amount = 0
    received = None
    if method == "cash" and request.form.get("diterima"):
        try:
            received = parse_rupiah(request.form["diterima"])
        except ValueError:
            errors["diterima"] = _("Tulis uang diterima dalam rupiah, misalnya 50.000.")
    key = one_line_text(request.form.get("kunci") or "").strip()
    if not (8 <= len(key) <= 64):
        errors["kunci"] = _("Formulir kedaluwarsa. Muat ulang layar kasir.")
    purchase, new = None, False
    # A QR charge needs an open fair; cash is a record of money already taken (perhaps
    # offline, synced later), so it is kept whatever the fair's state.
    if not errors and method == "qr" and (closed := services.why_closed(fair, stand)):
        errors["jual"] = closed.message
    if not errors:
        try:
            purchase, new = till.ring_up(stand, _sale_lines(stand, request.form), amount,
                                         method=method, key=key, user=current_user,
                                         received=received)
        except till.SaleRefused as refused:
            db.session.rollback()
            errors["jual"] = refused.message
        else:
            db.session.commit()
    status = 422
    if purchase is not None and method == "qr" and till.scans(purchase) and \
            (problem := till.show_qris(purchase)):
        errors["jual"], status = problem, 503
    if errors:
        if wants_json:
            return jsonify(errors=errors), status
        return render("exhibitions/till.html", blocks={"kasir": "register"}, http_status=status,
                      **_till_context(fair, stand, parts=_register_only(), errors=errors, form=request.form))
    change = max((received or 0) - purchase.total, 0) if method == "cash" else None
    if wants_json:
        return jsonify(code=purchase.code, order=purchase.orders[0].code, total=purchase.total,
                       status=purchase.status,
                       pay_url=_pay_url(purchase) if purchase.pay_token else None,
                       qris=purchase.payment_qr, change=change, new=new), 201 if new else 200
    if method == "static_qris":
        # The visitor pays the shop's own sticker: the screen shows it with the amount
        # to type, and the sale waits in the list until the keeper sees the money.
        if not wants_fragment():
            flash(_("QRIS statis %(total)s tercatat, belum dicek.",
                    total=format_rupiah(purchase.total)))
            return redirect(url_for(".screen", slug=slug, code=code), 303)
        return render("exhibitions/till.html", blocks={"kasir": "register"},
                      **_till_context(fair, stand, parts=_register_only(), static_sale=purchase,
                                      qr=qr_svg(stand.shop.static_qris, scale=5, border=4)))
    if method == "cash":
        if not wants_fragment():
            flash(_("Tunai %(total)s tercatat.", total=format_rupiah(purchase.total)))
            return redirect(url_for(".screen", slug=slug, code=code), 303)
        return render("exhibitions/till.html", blocks={"kasir": "register"},
                      **_till_context(fair, stand, parts=_register_only(), sold=purchase, change=change))
    if not wants_fragment():
        return redirect(url_for(".charge", slug=slug, code=code, charge=purchase.code), 303)
    snapshot = _charge_snapshot(purchase.code)
    db.session.refresh(purchase)  # read after the snapshot: a payment since is not missed
    return render("exhibitions/till.html", blocks={"kasir": "register"},
                  **_till_context(fair, stand, parts=_register_only(), charge=purchase, pay_url=_pay_url(purchase),
                                  qr=_charge_qr(purchase),
                                  charge_version=_charge_version(snapshot, fair, stand,
                                                                 purchase)))


@bp.get("/pameran/<slug>/<code>/kasir/tagihan/<charge>")
@polls.answered_from_versions  # unchanged: 204 before the login is loaded
@login_required
def charge(slug: str, code: str, charge: str):
    """The charge on screen; htmx asks every 500 ms until it is paid or closed (a 204
    from its version costs about what /sehat does: polls.py)."""
    snapshot = _charge_snapshot(charge)
    fair, stand = _keeper_stand(slug, code)
    purchase = _stand_charge(stand, charge)
    if unchanged(purchase.status) and not till.past_its_time(purchase):
        return no_change()  # a screen from before the versions (X-Version: its status)
    # Webhooks settle charges (the reconciler catches lost ones); the poll only reads,
    # and closes a charge that ran out of time.
    till.refresh(purchase)
    context = {"charge": purchase, "pay_url": _pay_url(purchase),
               "charge_version": _charge_version(snapshot, fair, stand, purchase)}
    if purchase.status == "pending":
        context["qr"] = _charge_qr(purchase)
    response = render("exhibitions/till.html", blocks={"tagihan": "charge_panel"},
                      **_till_context(fair, stand, parts=() if wants_fragment() else
                                      ("register", "sales"), **context))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/pameran/<slug>/<code>/kasir/tagihan/<charge>/batal")
@login_required
def cancel_charge(slug: str, code: str, charge: str):
    fair, stand = _keeper_stand(slug, code)
    try:
        purchase = till.cancel_charge(_stand_charge(stand, charge))
    except contract.PaymentError as error:
        flash(str(error.message), "error")
        return redirect(url_for(".charge", slug=slug, code=code, charge=charge), 303)
    if purchase.status == "paid":
        flash(_("Tagihan ini sudah dibayar; batalkan lewat daftar penjualan bila perlu."))
    return redirect(url_for(".screen", slug=slug, code=code), 303)


@bp.get("/pameran/<slug>/<code>/kasir/penjualan")
@polls.answered_from_versions  # unchanged: 204 before the login is loaded
@login_required
def sales(slug: str, code: str):
    fair, stand = _keeper_stand(slug, code)
    return render("exhibitions/till.html", blocks={"penjualan": "sales"},
                  **_till_context(fair, stand, parts=("sales",) if wants_fragment() else
                                  ("register", "sales")))


@bp.route("/pameran/<slug>/<code>/kasir/penjualan/<order>/batal", methods=["GET", "POST"])
@login_required
def void(slug: str, code: str, order: str):
    """Void a mistaken sale, with a reason the organizer sees."""
    fair, stand = _keeper_stand(slug, code)
    sale = _stand_order(stand, order)
    if sale.refund_status == "cash_due" and request.method == "POST":
        name = plain_text(request.form.get("nama"), 120)
        if len(name) < 2:
            return render("exhibitions/till_void.html", fair=fair, stand=stand, order=sale,
                          name_error=_("Tulis nama orang yang mengembalikan uangnya."),
                          http_status=422)
        if settlement.refunded_in_cash(sale, name, current_user):
            db.session.commit()
            flash(_("Pengembalian tunai %(total)s oleh %(name)s tercatat.",
                    total=format_rupiah(sale.total), name=name))
        return redirect(url_for(".screen", slug=slug, code=code), 303)
    if request.method == "GET" or sale.refunded_at is not None:
        if sale.refunded_at is not None:
            flash(_("Penjualan %(code)s sudah dibatalkan.", code=sale.code))
            return redirect(url_for(".screen", slug=slug, code=code), 303)
        return render("exhibitions/till_void.html", fair=fair, stand=stand, order=sale)
    reason = plain_text(request.form.get("alasan"), 300)
    if len(reason) < 3:
        return render("exhibitions/till_void.html", fair=fair, stand=stand, order=sale,
                      reason=reason, error=_("Tulis alasan pembatalan (minimal 3 huruf)."),
                      http_status=422)
    try:
        till.void(sale, reason, current_user)
        db.session.commit()
    except contract.RefundNotSupported:
        db.session.refresh(sale)  # cancelled, stock back; the money goes back in cash
        return render("exhibitions/till_void.html", fair=fair, stand=stand, order=sale,
                      http_status=409)
    except contract.PaymentError as error:
        return render("exhibitions/till_void.html", fair=fair, stand=stand, order=sale,
                      reason=reason, error=str(error.message), http_status=503)
    flash(_("Penjualan %(code)s dibatalkan.", code=sale.code))
    return redirect(url_for(".screen", slug=slug, code=code), 303)


@bp.post("/pameran/<slug>/<code>/kasir/uang-kembali/<int:stray>")
@login_required
def stray_cash(slug: str, code: str, stray: int):
    """The keeper gave a late payer's money back in cash (their app cannot take a refund)."""
    fair, stand = _keeper_stand(slug, code)
    found = db.session.get(StrayPayment, stray)
    if found is None or found.stand_id != stand.id:
        abort(404)
    strays.record_cash_refund(found)
    return redirect(url_for(".screen", slug=slug, code=code), 303)


@bp.post("/pameran/<slug>/<code>/kasir/penjualan/<order>/cek")
@login_required
def confirm_static(slug: str, code: str, order: str):
    """The keeper saw a static-QRIS sale's money arrive in the shop's bank app."""
    fair, stand = _keeper_stand(slug, code)
    sale = _stand_order(stand, order)
    if settlement.confirm_received(sale, current_user):
        db.session.commit()
        flash(_("QRIS statis %(total)s sudah dicek masuk.", total=format_rupiah(sale.total)))
    if wants_fragment():
        return render("exhibitions/till.html", blocks={"penjualan": "sales"},
                      **_till_context(fair, stand))
    return redirect(url_for(".screen", slug=slug, code=code), 303)


@bp.post("/pameran/<slug>/<code>/kasir/pesanan/<order>/serahkan")
@login_required
def hand_over(slug: str, code: str, order: str):
    fair, stand = _keeper_stand(slug, code)
    till.hand_over(_stand_order(stand, order))
    db.session.commit()
    if wants_fragment():
        return render("exhibitions/till.html", blocks={"penjualan": "sales"},
                      **_till_context(fair, stand))
    return redirect(url_for(".screen", slug=slug, code=code), 303)


@bp.route("/pameran/<slug>/<code>/kasir/barang", methods=["GET", "POST"])
@login_required
def goods(slug: str, code: str):
    """Which of the shop's products are at the stand, and an optional separate fair stock."""
    fair, stand = _keeper_stand(slug, code)
    options = till.choosable(stand)
    current = {(i.product_id, i.variant_id): i for i in
               db.session.scalars(select(StandItem).where(StandItem.stand_id == stand.id))}
    errors: dict[str, str] = {}
    if request.method == "POST":
        chosen: dict[tuple[int, int | None], int | None] = {}
        for product, variant in options:
            field = f"{product.id}-{variant.id if variant else 0}"
            if request.form.get(f"ada-{field}") != "1":
                continue
            typed = (request.form.get(f"stok-{field}") or "").strip()
            stock = whole_number(typed, low=0, high=100_000)
            if typed and stock is None:
                errors[f"stok-{field}"] = _("Stok pameran berupa angka 0 sampai 100.000.")
                continue
            chosen[(product.id, variant.id if variant else None)] = stock
        if not errors:
            till.set_items(stand, chosen, current_user)
            db.session.commit()
            flash(_("Barang di stan disimpan: %(n)d.", n=len(chosen)))
            return redirect(url_for(".screen", slug=slug, code=code), 303)
    return render("exhibitions/till_goods.html", fair=fair, stand=stand, options=options,
                  current=current, errors=errors, form=request.form,
                  http_status=422 if errors else 200)


# --- visitors ------------------------------------------------------------------------------

def _visitor() -> str:
    """Fair visitors share the venue's network: count per browser session, not per address."""
    return f"session:{session.get('csrf_token') or get_remote_address()}"


@bp.post("/pameran/<slug>/<code>/beli")
@limiter.limit("10 per minute", key_func=_visitor)
@limiter.limit("300 per minute")
def visitor_basket(slug: str, code: str):
    """A visitor picked goods on the stand page: a charge to pay now, collected at the stand."""
    fair, stand = _stand(slug, code)
    if (closed := services.why_closed(fair, stand)) is not None:
        from .views import stand_closed

        return stand_closed(fair, stand, closed)
    try:
        purchase, _new = till.ring_up(stand, _sale_lines(stand, request.form), 0, method="qr",
                                      key=till_key(), fulfilment="pickup", client=holder())
    except till.SaleRefused as refused:
        db.session.rollback()
        return render("exhibitions/stand.html", fair=fair, stand=stand,
                      items=till.stand_items(stand), products=services.stand_products(stand),
                      error=refused.message, http_status=refused.status)  # grid not cached: a rare answer
    db.session.commit()
    return redirect(url_for(".pay", token=purchase.pay_token), 303)


def _charge_or_404(token: str) -> Purchase:
    return till.charge_by_token(token) or abort(404)


@bp.get("/bayar/<token>")
def pay(token: str):
    """What the payment QR opens on the visitor's phone: stand, items, amount, and its state."""
    purchase = _charge_or_404(token)
    if unchanged(purchase.status) and not till.past_its_time(purchase):
        return no_change()
    till.refresh(purchase)
    qr = None
    if purchase.status == "pending" and purchase.payment_qr:
        qr = qr_svg(purchase.payment_qr, scale=5, border=4)
    response = render("exhibitions/pay.html", blocks={"status-bayar": "status"},
                      purchase=purchase, order=purchase.orders[0], stand=purchase.stand, qr=qr)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the token stays on this page
    return response


@bp.post("/bayar/<token>")
@limiter.limit("20 per minute", key_func=_visitor)
def pay_start(token: str):
    purchase = _charge_or_404(token)
    till.refresh(purchase)
    if purchase.status != "pending":
        return redirect(url_for(".pay", token=token), 303)
    url = url_for(".pay", token=token, _external=True)
    try:
        target = runner.start_payment(purchase, success_url=url, cancel_url=url)
    except contract.PaymentError as error:
        flash(str(error.message), "error")
        return redirect(url_for(".pay", token=token), 303)
    # A QRIS payment has no page to go to: its code shows on this one.
    return redirect(target or url_for(".pay", token=token), 303)


@bp.get("/bayar/<token>/qris.png")
def pay_qris_picture(token: str):
    """The charge's QRIS as a picture to save, for "scan from gallery" in the payer's app
    (the usual way to pay a code on one's own phone)."""
    purchase = _charge_or_404(token)
    if purchase.status != "pending" or not purchase.payment_qr:
        abort(404)
    return qris_picture(purchase.payment_qr, purchase.code)


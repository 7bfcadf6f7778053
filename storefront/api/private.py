"""Calls that need a key: orders by code, carts and checkout, the city office's reports.

Each calls the service its page calls (checkout.services.place_purchase, the checkout
page's per-shop choices, payments.runner.start_payment, reports.services.report with
the report page's own form), so no rule of the shop lives here twice. Totals are the
server's, from the database; a client sends product ids and quantities, never a price.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import urlsplit

from flask import current_app, g, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import MultiDict

from ..basket import services as baskets
from ..basket.views import messages as basket_messages
from ..catalogue.models import Product, ProductVariant
from ..checkout import services as checkout
from ..checkout.forms import ContactForm
from ..checkout.models import Purchase
from ..checkout.views import _choices as shop_choices
from ..extensions import db
from ..inventory import services as inventory
from ..orders.models import Order
from ..payments import gateway as contract
from ..payments import runner
from ..reports import services as reports
from ..reports.views import ReportForm
from ..timeutil import today_in_jakarta
from . import bp, schemas, serialize
from .contract import Responses, spec
from .keys import requires
from .models import ApiCheckout
from .problems import ApiProblem, language

PURCHASE_CODE = re.compile(r"GR-[0-9]{6}-[0-9A-Z]{6,10}")
ORDER_CODE = re.compile(r"P-[0-9]{6}-[0-9A-Z]{6,10}")
CART_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,40}")


# --- orders -----------------------------------------------------------------------------------

def _purchase_by_code(code: str) -> Purchase:
    """The shopper's purchase named by its code (GR-…) or one of its orders' (P-…)."""
    purchase = None
    if PURCHASE_CODE.fullmatch(code):
        purchase = db.session.scalar(select(Purchase).where(Purchase.code == code))
    elif ORDER_CODE.fullmatch(code):
        purchase = db.session.scalar(select(Purchase).join(Order, Order.purchase_id == Purchase.id)
                                     .where(Order.code == code))
    if purchase is None or purchase.stand_id is not None:
        raise ApiProblem(404)  # a stand's charge is the keeper's, not a shopper's order
    return purchase


def _method(purchase: Purchase) -> str:
    if purchase.payment_qr or purchase.gateway == contract.qris_gateway():
        return "qris"
    return "card" if purchase.gateway in ("stripe", "sandbox") else "other"


def purchase_answer(purchase: Purchase) -> schemas.Purchase:
    orders = db.session.scalars(select(Order).where(Order.purchase_id == purchase.id)
                                .options(selectinload(Order.lines)).order_by(Order.id)).all()
    pending = purchase.status == "pending"
    return schemas.Purchase(
        code=purchase.code, status=purchase.status, total=purchase.total,
        created_at=purchase.created_at, paid_at=purchase.paid_at,
        receipt_url=url_for("checkout.done", code=purchase.code, _external=True),
        payment=schemas.Payment(method=_method(purchase), status=purchase.status,
                                url=purchase.payment_url if pending else None,
                                qris=purchase.payment_qr if pending else None,
                                expires_at=purchase.expires_at),
        orders=[schemas.Order(
            code=o.code, shop=serialize.shop_ref(o.shop), status=o.status, fulfilment=o.fulfilment,
            subtotal=o.subtotal, delivery_fee=o.delivery_fee, total=o.total,
            lines=[schemas.OrderLine(product_id=l.product_id, name=l.name,
                                     variant_name=l.variant_name, unit_price=l.unit_price,
                                     quantity=l.quantity, line_total=l.line_total)
                   for l in o.lines]) for o in orders])


@bp.get("/orders/<code>")
@requires("orders:read")
@spec.validate(resp=Responses(HTTP_200=schemas.Purchase), tags=("orders",),
               security={"ApiKey": []})
def order(code: str):
    """A purchase and its orders by the code the shopper holds

    The code on the shopper's receipt (GR-…) or one of its shop orders (P-…) is what
    proves the shopper: 50 random bits. No buyer contact details are in the answer.
    """
    return purchase_answer(_purchase_by_code(code))


# --- carts and checkout ------------------------------------------------------------------------

CART_TAGS = ("checkout",)


def _cart(token: str):
    basket = baskets.find(None, token) if CART_TOKEN.fullmatch(token) else None
    if basket is None:
        raise ApiProblem(404)
    return basket


def cart_answer(basket) -> schemas.Cart:
    groups = baskets.grouped(basket)
    return schemas.Cart(
        id=basket.token, total=sum(group.subtotal for group in groups),
        payment_methods=[method for method, _gateway in contract.online_methods()],
        shops=[schemas.CartShop(
            shop=serialize.shop_ref(group.shop), subtotal=group.subtotal,
            delivery_fee=group.shop.delivery_fee,
            lines=[schemas.CartLine(
                product_id=line.product_id, variant_id=line.variant_id,
                name=line.product.name + (f" ({line.variant.name})" if line.variant else ""),
                unit_price=line.unit_price, quantity=line.quantity,
                line_total=line.unit_price * line.quantity) for line in group.lines])
            for group in groups])


@bp.post("/carts")
@requires("checkout:write")
@spec.validate(json=schemas.CartIn, resp=Responses(HTTP_201=schemas.Cart), tags=CART_TAGS,
               security={"ApiKey": []})
def create_cart():
    """A new cart with these lines (prices and stock checked by the server)"""
    body: schemas.CartIn = request.context.json
    basket = baskets.find_or_create(None, None)
    problems = []
    with force_locale(language()):
        words = basket_messages()
        for number, line in enumerate(body.lines):
            product = db.session.get(Product, line.product_id)
            variant = db.session.get(ProductVariant, line.variant_id) if line.variant_id else None
            if product is None:
                problems.append({"field": f"lines.{number}.product_id", "message": words["gone"]})
                continue
            try:
                baskets.add(basket, product, variant, line.quantity, words)
            except baskets.CannotAdd as refused:
                problems.append({"field": f"lines.{number}", "message": refused.message})
    if problems:
        db.session.rollback()
        raise ApiProblem(409, _l("Sebagian barang tidak bisa masuk keranjang."),
                         slug="cart-refused", errors=problems)
    db.session.commit()
    return cart_answer(basket), 201


@bp.get("/carts/<token>")
@requires("checkout:write")
@spec.validate(resp=Responses(HTTP_200=schemas.Cart), tags=CART_TAGS, security={"ApiKey": []})
def cart(token: str):
    """A cart with the server's current prices and totals"""
    return cart_answer(_cart(token))


def _attempt(key_id: int, idempotency_key: str) -> str:
    """The purchase's one-time attempt, from the client's idempotency key: the same
    checkout sent twice (a retry after a timeout) is one purchase."""
    return "api-" + hashlib.sha256(f"{key_id}:{idempotency_key}".encode()).hexdigest()[:32]


@bp.post("/carts/<token>/checkout")
@requires("checkout:write")
@spec.validate(json=schemas.CheckoutIn,
               resp=Responses(HTTP_201=schemas.Purchase, HTTP_200=schemas.Purchase),
               tags=CART_TAGS, security={"ApiKey": []})
def start_checkout(token: str):
    """Check the cart out: one purchase, a QRIS to show (or a payment page to open)

    With ``payment_method: qris`` the answer carries ``payment.qris``, the payload to show
    as a QR code inside the client app; with ``card``, ``payment.url``. Sending the same
    ``idempotency_key`` again answers the same purchase (200) and charges once.
    """
    body: schemas.CheckoutIn = request.context.json
    key = g.api_key
    attempt = _attempt(key.id, body.idempotency_key)
    existing = db.session.scalar(select(Purchase).where(Purchase.attempt == attempt))
    if existing is not None:
        return _pay(existing, status=200)
    basket = _cart(token)
    groups = baskets.grouped(basket)
    with force_locale(language()):
        if not groups:
            raise ApiProblem(409, _("Keranjang Anda kosong."), slug="cart-empty")
        contact_form = ContactForm(MultiDict({k: v for k, v in body.contact.model_dump().items()
                                              if v is not None}), meta={"csrf": False})
        if not contact_form.validate():
            raise ApiProblem(422, slug="invalid-request", errors=[
                {"field": f"contact.{name}", "message": str(messages[0])}
                for name, messages in contact_form.errors.items()])
        wanted = {choice.shop_id: choice for choice in body.shops}
        known = {group.shop.id for group in groups}
        errors: dict[str, str] = {}
        form_data = {}
        for shop_id, choice in wanted.items():
            if shop_id not in known:
                errors[f"antar-{shop_id}"] = _("Toko ini tidak ada di keranjang.")
            form_data[f"antar-{shop_id}"] = choice.fulfilment
            form_data[f"alamat-{shop_id}"] = choice.address or ""
        choices = shop_choices(groups, form_data, errors)
        if errors:
            raise ApiProblem(422, slug="invalid-request", errors=[
                {"field": "shops." + name.replace("antar-", "fulfilment.").replace(
                    "alamat-", "address."), "message": message} for name, message in errors.items()])
        if body.return_url and not _client_origin(body.return_url):
            raise ApiProblem(422, slug="invalid-request", errors=[{
                "field": "return_url",
                "message": _l("Alamat kembali harus di asal aplikasi klien yang terdaftar.")}])
        methods = dict(contract.online_methods())
        if body.payment_method not in methods:
            raise ApiProblem(422, slug="invalid-request", errors=[{
                "field": "payment_method",
                "message": _l("Metode pembayaran ini tidak tersedia sekarang.")}])
        contact = checkout.Contact(name=contact_form.name.data.strip(),
                                   whatsapp=contact_form.whatsapp.data,
                                   email=contact_form.email.data or None)
        # Holds count per shopper of this client app (its server calls from one address).
        client = inventory.client_key(user_id=None, address=f"api:{key.id}:{contact.whatsapp}")
        try:
            purchase = checkout.place_purchase(basket, None, contact, choices, attempt,
                                               methods[body.payment_method], client=client)
            db.session.add(ApiCheckout(api_key_id=key.id, purchase_id=purchase.id))
            db.session.flush()
        except checkout.OutOfStock as short:
            db.session.rollback()
            raise ApiProblem(409, _("Stok tidak cukup untuk: %(items)s. Ubah jumlahnya lalu "
                                    "coba lagi.", items=", ".join(short.names)),
                             slug="out-of-stock") from None
        except inventory.TooManyHolds:
            db.session.rollback()
            raise ApiProblem(429, _("Terlalu banyak pembayaran yang belum selesai dari perangkat "
                                    "atau jaringan ini. Selesaikan atau batalkan yang lama dulu, "
                                    "atau coba lagi nanti."), slug="too-many-holds",
                             headers={"Retry-After": "60"}) from None
        except IntegrityError:
            db.session.rollback()  # the same idempotency key, sent twice at once
            existing = db.session.scalar(select(Purchase).where(Purchase.attempt == attempt))
            if existing is None:
                raise
            return _pay(existing, status=200)
        db.session.commit()
        return _pay(purchase, status=201, return_url=body.return_url)


def _client_origin(url: str) -> bool:
    """Only back to a client app's own origin (API_CORS_ORIGINS): never an open redirect."""
    parts = urlsplit(url)
    return parts.scheme in ("https", "http") and \
        f"{parts.scheme}://{parts.netloc}" in current_app.config["API_CORS_ORIGINS"]


def _pay(purchase: Purchase, status: int, return_url: str | None = None):
    owner = db.session.scalar(select(ApiCheckout.api_key_id)
                              .where(ApiCheckout.purchase_id == purchase.id))
    if owner != g.api_key.id:
        raise ApiProblem(409, slug="idempotency-conflict")
    if purchase.status == "pending" and not (purchase.payment_url or purchase.payment_qr):
        with force_locale(language()):
            try:
                runner.start_payment(
                    purchase,
                    success_url=return_url or url_for("checkout.done", code=purchase.code,
                                                      _external=True),
                    cancel_url=return_url or url_for("checkout.cancelled", code=purchase.code,
                                                     _external=True))
            except contract.GatewayUnavailable as error:
                # The purchase and its hold stay; the same idempotency key asks again.
                raise ApiProblem(503, error.message, slug="gateway-unavailable",
                                 headers={"Retry-After": "5"}) from None
            except contract.PaymentError as error:
                runner.close(purchase)
                raise ApiProblem(503, error.message, slug="payment-failed",
                                 headers={"Retry-After": "5"}) from None
    db.session.refresh(purchase)
    return purchase_answer(purchase), status


# --- reports ---------------------------------------------------------------------------------

@bp.get("/reports/sales")
@requires("reports:read")
@spec.validate(query=schemas.ReportQuery, resp=Responses(HTTP_200=schemas.Report),
               tags=("reports",), security={"ApiKey": []})
def sales_report():
    """Net sales over a date range by one dimension: the figures of /laporan, to the rupiah"""
    query: schemas.ReportQuery = request.context.query
    today = today_in_jakarta()
    fields = {"dari": (query.date_from or today.replace(day=1)).isoformat(),
              "sampai": (query.date_to or today).isoformat(), "menurut": query.by,
              "kanal": query.channel or ""}
    form = ReportForm(MultiDict(fields))
    with force_locale(language()):
        if not form.validate():
            names = {"dari": "from", "sampai": "to", "menurut": "by", "kanal": "channel"}
            raise ApiProblem(422, slug="invalid-request", errors=[
                {"field": "query." + names.get(name, name), "message": str(messages[0])}
                for name, messages in form.errors.items()])
        report = reports.report(form.dari.data, form.sampai.data, form.menurut.data,
                                form.kanal.data or None)
        return schemas.Report(start=report.start, end=report.end, by=report.by,
                              channel=query.channel, total=report.total, count=report.count,
                              rows=[schemas.ReportRow(key=r.key, label=r.label, total=r.total,
                                                      count=r.count, share=round(r.share, 4))
                                    for r in report.rows])

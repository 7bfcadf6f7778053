"""The cart: add from any page with htmx (the badge updates out of band), change, remove."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, user_logged_in

from ..catalogue.models import Product, ProductVariant
from ..checkout.forms import AddToBasketForm, QuantityForm
from ..extensions import db
from ..htmx import render, wants_fragment
from ..params import MAX_ID
from . import services
from .models import MAX_QUANTITY, BasketLine

bp = Blueprint("basket", __name__)


def messages() -> dict[str, str]:
    return {
        "gone": _("Produk ini sudah tidak dijual."),
        "choose_variant": _("Pilih varian dulu."),
        "quantity": _("Jumlah 1 sampai %(max)d.", max=MAX_QUANTITY),
        "sold_out": _("Stok habis."),
        # formatted by the service with the number left
        "too_many": _("Stok tersisa %(n)d; keranjang tidak bisa melebihi itu."),
    }


def current_basket(create: bool = False):
    """The visitor's cart, looked up once per request (the badge needs it on every page)."""
    if g.get("basket") is None or create:
        token = request.cookies.get(services.COOKIE)
        g.basket = (services.find_or_create if create else services.find)(current_user, token)
    return g.basket


@bp.app_context_processor
def basket_badge():
    if "basket_count" not in g:
        basket = current_basket() if request else None
        g.basket_count = basket.count if basket else 0
    return {"basket_count": g.basket_count}


def _remember(response, basket):
    """Anonymous carts live by an unguessable cookie token."""
    if not current_user.is_authenticated:
        response.set_cookie(services.COOKIE, basket.token, max_age=60 * 60 * 24 * 30,
                            httponly=True, samesite="Lax",
                            secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


@user_logged_in.connect
def _merge_cart(sender, user, **extra):
    services.merge_into_account(user, request.cookies.get(services.COOKIE))
    db.session.commit()


def _id_or_none(value) -> int | None:
    return value if isinstance(value, int) and 0 < value <= MAX_ID else None


@bp.post("/keranjang/tambah")
def add():
    form = AddToBasketForm()
    # An id outside the database's range names nothing (and must not reach PostgreSQL).
    product_id, variant_id = (_id_or_none(form.product_id.data),
                              _id_or_none(form.variant_id.data))
    product = db.session.get(Product, product_id) if product_id else None
    if product is None:
        abort(404)
    variant = db.session.get(ProductVariant, variant_id) if variant_id else None
    basket = current_basket(create=True)
    error, status = None, 200
    if not form.validate_on_submit():
        error, status = (form.quantity.errors or [_("Permintaan tidak valid.")])[0], 422
    else:
        try:
            services.add(basket, product, variant, form.quantity.data, messages())
            db.session.commit()
        except services.CannotAdd as refused:
            error, status = refused.message, 409
    db.session.commit()
    g.basket_count = basket.count
    if wants_fragment():
        response = render("basket/added.html", blocks={f"beli-{product.id}": "button"},
                          oob=("badge",), product=product, error=error, http_status=status,
                          basket=basket)
    else:
        if error:
            flash(error, "error")
        else:
            flash(_("%(name)s masuk keranjang.", name=product.name))
        response = redirect(request.referrer if request.referrer and request.referrer.startswith(
            request.host_url) else url_for(".show"), 303)
    return _remember(response, basket)


def _own_line(line_id: int) -> BasketLine:
    basket = current_basket()
    line = db.session.get(BasketLine, line_id)
    if basket is None or line is None or line.basket_id != basket.id:
        abort(404)
    return line


def _cart_page(status=200, line_errors=None):
    basket = current_basket()
    return render("basket/basket.html", blocks={"keranjang": "cart"}, oob=("badge",),
                  groups=services.grouped(basket), basket=basket, http_status=status,
                  line_errors=line_errors or {},
                  price_changed=any(l.price_changed for l in basket.lines) if basket else False)


@bp.get("/keranjang")
def show():
    return _cart_page()


@bp.post("/keranjang/baris/<int:line_id>")
def change(line_id: int):
    line = _own_line(line_id)
    form = QuantityForm()
    errors = {}
    if not form.validate_on_submit():
        errors[line.id] = form.quantity.errors[0] if form.quantity.errors else _("Permintaan tidak valid.")
    else:
        try:
            services.set_quantity(line, form.quantity.data, messages())
            db.session.commit()
        except services.CannotAdd as refused:
            errors[line.id] = refused.message
    g.pop("basket_count", None)
    if not wants_fragment():
        for message in errors.values():
            flash(message, "error")
        return redirect(url_for(".show"), 303)
    return _cart_page(status=422 if errors else 200, line_errors=errors)


@bp.post("/keranjang/baris/<int:line_id>/hapus")
def remove(line_id: int):
    services.remove(_own_line(line_id))
    db.session.commit()
    g.pop("basket_count", None)
    if not wants_fragment():
        return redirect(url_for(".show"), 303)
    return _cart_page()


@bp.post("/keranjang/harga-baru")
def accept_prices():
    basket = current_basket()
    if basket:
        services.accept_prices(basket)
        db.session.commit()
    return redirect(url_for(".show"), 303)

"""A shopper filling one cart from several shops."""

import pytest
from sqlalchemy import select

from storefront.basket.models import Basket, BasketLine
from storefront.catalogue.models import ProductVariant
from storefront.extensions import db
from tests.factories import ProductFactory, ShopFactory, UserFactory
from tests.helpers import csrf_token


@pytest.fixture
def goods(app):
    sri = ShopFactory(name="Dapur Bu Sri", delivery_fee=10_000)
    cimone = ShopFactory(name="Koperasi Cimone", type="koperasi")
    keripik = ProductFactory(shop=sri, name="Keripik Pedas", price=15_000, stock=5)
    sambal = ProductFactory(shop=sri, name="Sambal Bawang", price=25_000, stock=2)
    kopi = ProductFactory(shop=cimone, name="Kopi Robusta", price=45_000, stock=10)
    kaos = ProductFactory(shop=cimone, name="Kaos Batik", price=0, stock=0, option_name="Ukuran")
    kaos.variants = [ProductVariant(shop_id=cimone.id, name="M", price=80_000, stock=3, position=0),
                     ProductVariant(shop_id=cimone.id, name="XL", price=90_000, stock=0, position=1)]
    kaos.price, kaos.stock = 80_000, 3
    db.session.commit()
    return {"keripik": keripik, "sambal": sambal, "kopi": kopi, "kaos": kaos}


def add(client, product, quantity=1, variant=None, htmx=False):
    data = {"product_id": product.id, "quantity": quantity,
            "csrf_token": csrf_token(client, "/keranjang")}
    if variant:
        data["variant_id"] = variant.id
    headers = {"HX-Request": "true", "HX-Target": f"beli-{product.id}"} if htmx else {}
    return client.post("/keranjang/tambah", data=data, headers=headers)


def test_add_with_htmx_updates_button_and_badge_out_of_band(client, goods):
    response = add(client, goods["keripik"], 2, htmx=True)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.lstrip().startswith('<form id="beli-') and "Masuk keranjang" in body
    assert 'id="jumlah-keranjang" class="cart-count" hx-swap-oob="true"' in body and ">2<" in body
    assert "<html" not in body


def test_one_cart_grouped_by_shop_with_subtotals(client, goods):
    add(client, goods["keripik"], 2)
    add(client, goods["sambal"], 1)
    add(client, goods["kopi"], 1)
    page = client.get("/keranjang").get_data(as_text=True)
    assert page.index("Dapur Bu Sri") < page.index("Koperasi Cimone")
    assert "Rp55.000" in page  # 2 x 15.000 + 25.000
    assert "Rp45.000" in page and "Rp100.000" in page  # the shop and the grand total


def test_adding_the_same_product_twice_adds_up(client, goods):
    add(client, goods["keripik"], 2)
    add(client, goods["keripik"], 1)
    assert db.session.scalar(select(BasketLine.quantity)) == 3


@pytest.mark.parametrize("quantity, status, message", [
    (0, 422, "Jumlah 1 sampai 99"), (-3, 422, "Jumlah 1 sampai 99"), (100, 422, "Jumlah 1 sampai 99"),
    ("1.5", 422, "Tulis bilangan bulat"), ("abc", 422, "Tulis bilangan bulat"), (6, 409, "Stok tersisa 5"),
])
def test_bad_quantities_are_refused_with_a_reason(client, goods, quantity, status, message):
    response = add(client, goods["keripik"], quantity, htmx=True)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(BasketLine)) is None


def test_a_variant_must_be_chosen_and_in_stock(client, goods):
    kaos = goods["kaos"]
    assert add(client, kaos, htmx=True).status_code == 409
    sold_out = add(client, kaos, variant=kaos.variants[1], htmx=True)
    assert sold_out.status_code == 409 and "Stok habis" in sold_out.get_data(as_text=True)
    foreign = add(client, kaos, variant=ProductVariant(id=999_999), htmx=True)
    assert foreign.status_code == 409
    assert add(client, kaos, variant=kaos.variants[0], htmx=True).status_code == 200
    assert "Kaos Batik · M" in client.get("/keranjang").get_data(as_text=True)


def test_hidden_or_sold_out_products_cannot_be_added(client, goods):
    draft = ProductFactory(status="draft", stock=5)
    assert add(client, draft, htmx=True).status_code == 409
    goods["keripik"].stock = 0
    db.session.commit()
    assert add(client, goods["keripik"], htmx=True).status_code == 409


def test_change_and_remove_lines_inline(client, goods):
    add(client, goods["keripik"], 1)
    add(client, goods["kopi"], 1)
    line = db.session.scalar(select(BasketLine).where(BasketLine.product_id == goods["keripik"].id))
    token = csrf_token(client, "/keranjang")
    headers = {"HX-Request": "true", "HX-Target": "keranjang"}
    response = client.post(f"/keranjang/baris/{line.id}", data={"quantity": 4, "csrf_token": token},
                           headers=headers)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "Rp60.000" in body and 'hx-swap-oob="true"' in body
    too_many = client.post(f"/keranjang/baris/{line.id}", data={"quantity": 9, "csrf_token": token},
                           headers=headers)
    assert too_many.status_code == 422 and "Stok tersisa 5" in too_many.get_data(as_text=True)
    client.post(f"/keranjang/baris/{line.id}/hapus", data={"csrf_token": token}, headers=headers)
    page = client.get("/keranjang").get_data(as_text=True)
    assert "Keripik Pedas" not in page and "Kopi Robusta" in page


def test_price_changes_are_shown_before_payment(client, goods):
    add(client, goods["kopi"], 1)
    goods["kopi"].price = 50_000
    db.session.commit()
    page = client.get("/keranjang").get_data(as_text=True)
    assert "Harga beberapa barang berubah" in page and "dulu Rp45.000" in page and "Rp50.000" in page


def test_another_shoppers_cart_lines_are_out_of_reach(client, goods, app):
    stranger = app.test_client()
    add(stranger, goods["kopi"], 1)
    line = db.session.scalar(select(BasketLine))
    token = csrf_token(client, "/keranjang")
    assert client.post(f"/keranjang/baris/{line.id}", data={"quantity": 3, "csrf_token": token}).status_code == 404
    assert client.post(f"/keranjang/baris/{line.id}/hapus", data={"csrf_token": token}).status_code == 404
    db.session.refresh(line)
    assert line.quantity == 1


def test_anonymous_cart_survives_login_and_merges(client, auth, goods):
    user = UserFactory(email="budi@contoh.id")
    add(client, goods["keripik"], 2)
    auth.login("budi@contoh.id")
    auth.logout()
    add(client, goods["keripik"], 1)  # a second anonymous cart after logging out
    add(client, goods["kopi"], 1)
    auth.login("budi@contoh.id")
    basket = db.session.scalar(select(Basket).where(Basket.user_id == user.id))
    assert {(l.product.name, l.quantity) for l in basket.lines} == {("Keripik Pedas", 3), ("Kopi Robusta", 1)}
    assert db.session.scalar(select(db.func.count(Basket.id))) == 1


def test_cart_cookie_is_http_only(client, goods):
    response = add(client, goods["keripik"], 1)
    cookie = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("keranjang=")][0]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie

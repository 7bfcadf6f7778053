"""A seller opening a shop, listing products, keeping stock and fulfilling orders."""

import re

import pytest
from sqlalchemy import select

from storefront.catalogue.models import Product, Shop, StockAdjustment
from storefront.extensions import db
from storefront.ledger import services as ledger
from storefront.orders.models import Order, OrderLine
from storefront.timeutil import utcnow
from tests.factories import CategoryFactory, ProductFactory, ShopFactory, UserFactory
from tests.helpers import csrf_token, sync_search

SHOP = {"name": "Dapur Mak Ijah", "type": "umkm", "owner_name": "Ijah Rohayati",
        "whatsapp": "0812-3456-7890", "kecamatan": "Cipondoh", "kelurahan": "Ketapang",
        "address": "Jl. Situ Cipondoh No. 5", "description": "Keripik rumahan", "nib": ""}


@pytest.fixture
def seller(app, auth):
    user = UserFactory(email="ijah@contoh.id", roles=["shopper", "seller"])
    shop = ShopFactory(owner=user, name="Dapur Mak Ijah", slug="dapur-mak-ijah")
    auth.login("ijah@contoh.id")
    return shop


@pytest.fixture
def category(app):
    top = CategoryFactory(name="Makanan", slug="makanan")
    return CategoryFactory(name="Keripik & Camilan", slug="keripik-camilan", parent=top)


def post(client, url, data, page=None):
    return client.post(url, data={**data, "csrf_token": csrf_token(client, page or url)})


# --- opening a shop ----------------------------------------------------------------------

def test_open_shop_waits_for_verification(client, auth, app):
    UserFactory(email="baru@contoh.id")
    auth.login("baru@contoh.id")
    response = post(client, "/penjual/toko/buka", SHOP)
    assert response.status_code == 302
    shop = db.session.scalar(select(Shop))
    assert shop.status == "pending" and shop.whatsapp == "+6281234567890"
    assert "seller" in shop.owner.role_names
    assert "menunggu verifikasi" in client.get("/penjual").get_data(as_text=True)
    assert client.get(f"/toko/{shop.slug}").status_code == 404  # not public yet


@pytest.mark.parametrize("field, value, message", [
    ("whatsapp", "12345", "nomor WhatsApp Indonesia"),
    ("whatsapp", "+1 415 555 0100", "nomor WhatsApp Indonesia"),
    ("nib", "12345", "13 angka"),
    ("kelurahan", "Cimone", "tidak ada di kecamatan"),  # Cimone is in Karawaci
    ("kecamatan", "Atlantis", "Pilihan tidak valid"),
    ("name", "", "Wajib diisi"),
])
def test_bad_shop_details_are_explained_and_kept(client, auth, app, field, value, message):
    UserFactory(email="baru@contoh.id")
    auth.login("baru@contoh.id")
    response = post(client, "/penjual/toko/buka", {**SHOP, field: value})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(rf'id="{field}-error">[^<]*{message}', body), body[:200]
    assert 'value="Jl. Situ Cipondoh No. 5"' in body  # what was typed is still there
    assert db.session.scalar(select(Shop)) is None


def test_kelurahan_list_follows_the_kecamatan(client, seller):
    body = client.get("/penjual/kelurahan?kecamatan=Periuk",
                      headers={"HX-Request": "true", "HX-Target": "kelurahan-field"}).get_data(as_text=True)
    assert "Gebang Raya" in body and "Ketapang" not in body and "<html" not in body


def test_rejected_shop_sees_the_reason_and_resubmits(client, seller, runner):
    seller.status = "pending"
    db.session.commit()
    runner.invoke(args=["shop-verify", "dapur-mak-ijah", "--reject", "Foto KTP tidak terbaca"])
    page = client.get("/penjual").get_data(as_text=True)
    assert "belum disetujui" in page and "Foto KTP tidak terbaca" in page
    post(client, "/penjual/toko", {**SHOP, "address": "Jl. Baru 1"})
    db.session.refresh(seller)
    assert seller.status == "pending"


def test_office_verifies_from_its_page(client, auth, app):
    shop = ShopFactory(status="pending", name="Toko Menunggu")
    UserFactory(email="dinas@contoh.id", roles=["admin"])
    auth.login("dinas@contoh.id")
    assert "Toko Menunggu" in client.get("/admin/verifikasi").get_data(as_text=True)
    post(client, f"/admin/verifikasi/{shop.id}/setujui", {}, "/admin/verifikasi")
    db.session.refresh(shop)
    assert shop.verified and client.get(f"/toko/{shop.slug}").status_code == 200


def test_office_rejects_with_a_reason(client, auth, app):
    shop = ShopFactory(status="pending")
    UserFactory(email="dinas@contoh.id", roles=["organizer"])
    auth.login("dinas@contoh.id")
    empty = post(client, f"/admin/verifikasi/{shop.id}/tolak", {"reason": ""}, "/admin/verifikasi")
    assert empty.status_code == 422 and "Tulis alasannya" in empty.get_data(as_text=True)
    post(client, f"/admin/verifikasi/{shop.id}/tolak", {"reason": "NIB tidak cocok"}, "/admin/verifikasi")
    db.session.refresh(shop)
    assert shop.status == "rejected" and shop.rejection_reason == "NIB tidak cocok"


# --- listings ----------------------------------------------------------------------------

def new_product(client, category, **fields):
    data = {"name": "Keripik Singkong Balado", "category_id": category.id, "description": "Renyah",
            "price": "15.000", "stock": "20", "weight_grams": "250", "sku": "KSB-250",
            "status": "active", "option_name": "", **fields}
    return post(client, "/penjual/produk/baru", data)


def test_create_a_listing_with_price_typed_the_local_way(client, seller, category):
    response = new_product(client, category)
    assert response.status_code == 302
    product = db.session.scalar(select(Product))
    assert (product.price, product.stock, product.sku) == (15_000, 20, "KSB-250")
    assert db.session.scalar(select(StockAdjustment.change)) == 20
    seller.status = "verified"
    db.session.commit()
    sync_search()
    page = client.get("/katalog?q=singkong").get_data(as_text=True)
    assert "Keripik <mark>Singkong</mark> Balado" in page


@pytest.mark.parametrize("fields, field, message", [
    ({"price": "abc"}, "price", "Tulis harga dalam rupiah"),
    ({"price": ""}, "price", "Harga wajib diisi"),
    ({"stock": "-3"}, "stock", "Stok 0 sampai"),
    ({"name": ""}, "name", "Wajib diisi"),
])
def test_bad_listing_input_is_explained_and_kept(client, seller, category, fields, field, message):
    response = new_product(client, category, **fields)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(rf'id="{field}-error">[^<]*{message}', body)
    assert "Renyah" in body  # the description typed is not lost
    assert db.session.scalar(select(Product)) is None


def test_sku_must_be_unique_in_the_shop(client, seller, category):
    ProductFactory(shop=seller, sku="KSB-250")
    response = new_product(client, category)
    assert response.status_code == 422 and "sudah dipakai" in response.get_data(as_text=True)


def test_variants_each_with_price_stock_and_sku(client, seller, category):
    response = new_product(client, category, **{
        "option_name": "Level pedas", "price": "",
        "variants-0-name": "Level 1", "variants-0-price": "15.000", "variants-0-stock": "5", "variants-0-sku": "KP-1",
        "variants-1-name": "Level 5", "variants-1-price": "17.000", "variants-1-stock": "3", "variants-1-sku": "KP-5",
    })
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    product = db.session.scalar(select(Product))
    assert [(v.name, v.price, v.stock) for v in product.variants] == [("Level 1", 15_000, 5), ("Level 5", 17_000, 3)]
    assert product.price == 15_000 and product.stock == 8 and product.option_name == "Level pedas"


def test_variants_need_an_option_name_and_distinct_names(client, seller, category):
    response = new_product(client, category, **{
        "variants-0-name": "S", "variants-0-price": "10.000", "variants-0-stock": "1",
        "variants-1-name": "s", "variants-1-price": "10.000", "variants-1-stock": "1"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "Beri nama pilihannya" in body and "tidak boleh kembar" in body


def test_inline_edit_of_price_and_stock_swaps_the_row(client, seller, category):
    product = ProductFactory(shop=seller, category=category, price=10_000, stock=4)
    token = csrf_token(client, "/penjual/produk")
    response = client.post(f"/penjual/produk/{product.id}/cepat",
                           data={"price": "12.500", "stock": "9", "stock_seen": "4",
                                 "csrf_token": token},
                           headers={"HX-Request": "true", "HX-Target": f"produk-{product.id}"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and body.strip().startswith("<tr") and "Tersimpan" in body
    db.session.refresh(product)
    assert (product.price, product.stock) == (12_500, 9)


def test_inline_edit_error_stays_in_the_row(client, seller, category):
    product = ProductFactory(shop=seller, category=category, price=10_000)
    token = csrf_token(client, "/penjual/produk")
    response = client.post(f"/penjual/produk/{product.id}/cepat",
                           data={"price": "sepuluh ribu", "stock": "1", "csrf_token": token},
                           headers={"HX-Request": "true", "HX-Target": f"produk-{product.id}"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "Tulis harga dalam rupiah" in body
    assert 'value="sepuluh ribu"' in body
    db.session.refresh(product)
    assert product.price == 10_000


@pytest.fixture
def sizes(client, seller, category):
    """Kaos Batik in M (85.000, 4 left) and XL (90.000, 2 left), listed through the form."""
    response = new_product(client, category, **{
        "name": "Kaos Batik", "option_name": "Ukuran", "price": "", "sku": "",
        "variants-0-name": "M", "variants-0-price": "85.000", "variants-0-stock": "4",
        "variants-1-name": "XL", "variants-1-price": "90.000", "variants-1-stock": "2"})
    assert response.status_code == 302
    return db.session.scalar(select(Product))


def row_post(client, product, data):
    """The listing row's form as htmx posts it, to swap the row."""
    return client.post(f"/penjual/produk/{product.id}/cepat", headers={
        "HX-Request": "true", "HX-Target": f"produk-{product.id}"},
        data={**data, "csrf_token": csrf_token(client, "/penjual/produk")})


def quick_edit(client, product, rows):
    """One (price, stock, stock seen) per variant, in the row's order."""
    data = {}
    for i, (variant, (price, stock, seen)) in enumerate(zip(product.variants, rows, strict=True)):
        data |= {f"variants-{i}-id": str(variant.id), f"variants-{i}-price": price,
                 f"variants-{i}-stock": stock, f"variants-{i}-stock_seen": str(seen)}
    return row_post(client, product, data)


def test_the_listing_shows_each_variants_price_and_stock_to_edit(client, sizes):
    page = client.get("/penjual/produk").get_data(as_text=True)
    m, xl = sizes.variants
    assert f'id="harga-{sizes.id}-{m.id}"' in page and f'id="stok-{sizes.id}-{xl.id}"' in page
    assert re.search(rf'id="harga-{sizes.id}-{xl.id}"[^>]*value="90.000"', page)
    assert 'name="variants-1-stock_seen" value="2"' in page


def test_inline_edit_of_each_variants_price_and_stock(client, sizes):
    response = quick_edit(client, sizes, [("87.500", "10", 4), ("90.000", "0", 2)])
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and body.strip().startswith("<tr") and "Tersimpan" in body
    db.session.expire_all()
    assert [(v.name, v.price, v.stock) for v in sizes.variants] == [("M", 87_500, 10), ("XL", 90_000, 0)]
    assert (sizes.price, sizes.stock) == (87_500, 10)
    history = db.session.scalars(select(StockAdjustment).where(
        StockAdjustment.reason == "correction").order_by(StockAdjustment.id)).all()
    assert [(h.variant_id, h.change, h.stock_after) for h in history] == [
        (sizes.variants[0].id, 6, 10), (sizes.variants[1].id, -2, 0)]


def test_inline_edit_of_a_variant_refuses_a_count_over_a_sale(client, sizes):
    from storefront.inventory import services as inventory

    m, xl = sizes.variants
    inventory.change(sizes.id, -1, "sale", variant_id=xl.id)  # a shopper buys one XL
    db.session.commit()
    response = quick_edit(client, sizes, [("86.000", "4", 4), ("90.000", "5", 2)])
    body = response.get_data(as_text=True)
    assert response.status_code == 409
    assert re.search(rf'id="stok-{sizes.id}-{xl.id}-error">Stok berubah dari 2 menjadi 1', body)
    assert re.search(rf'id="stok-{sizes.id}-{xl.id}"[^>]*value="5"', body)  # kept as typed
    assert re.search(rf'id="harga-{sizes.id}-{m.id}"[^>]*value="86.000"', body)
    assert 'name="variants-1-stock_seen" value="1"' in body  # the next save counts from now
    db.session.expire_all()
    assert [(v.price, v.stock) for v in sizes.variants] == [(85_000, 4), (90_000, 1)]  # nothing saved
    again = quick_edit(client, sizes, [("86.000", "4", 4), ("90.000", "5", 1)])
    assert again.status_code == 200
    db.session.expire_all()
    assert [(v.price, v.stock) for v in sizes.variants] == [(86_000, 4), (90_000, 5)]
    assert sizes.stock == 9


def test_inline_edit_of_a_variant_explains_bad_input_in_its_place(client, sizes):
    m, _xl = sizes.variants
    response = quick_edit(client, sizes, [("delapan puluh", "-1", 4), ("90.000", "2", 2)])
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(rf'id="harga-{sizes.id}-{m.id}-error">Tulis harga dalam rupiah', body)
    assert re.search(rf'id="stok-{sizes.id}-{m.id}-error">Stok 0 sampai', body)
    assert 'value="delapan puluh"' in body
    db.session.expire_all()
    assert [(v.price, v.stock) for v in sizes.variants] == [(85_000, 4), (90_000, 2)]


@pytest.mark.parametrize("posted", ["plain row", "one variant", "a variant since removed"])
def test_inline_edit_over_variants_that_changed_since_the_list_opened(client, sizes, posted):
    if posted == "plain row":  # the list was opened before the sizes were added
        data = {"price": "80.000", "stock": "3", "stock_seen": "0"}
    elif posted == "one variant":  # XL was added in another tab
        data = {"variants-0-id": str(sizes.variants[0].id), "variants-0-price": "1",
                "variants-0-stock": "1", "variants-0-stock_seen": "4"}
    else:
        data = {f"variants-{i}-{k}": v for i, vid in enumerate([sizes.variants[0].id, 99_999])
                for k, v in (("id", str(vid)), ("price", "1"), ("stock", "1"), ("stock_seen", "4"))}
    response = row_post(client, sizes, data)
    body = response.get_data(as_text=True)
    assert response.status_code == 409 and "Varian produk ini berubah" in body
    assert f'id="stok-{sizes.id}-{sizes.variants[1].id}"' in body  # the row as it is now
    db.session.expire_all()
    assert [(v.price, v.stock) for v in sizes.variants] == [(85_000, 4), (90_000, 2)]


def test_variant_rows_posted_to_a_product_without_variants_change_nothing(client, seller, category):
    product = ProductFactory(shop=seller, category=category, price=10_000, stock=4)
    response = row_post(client, product, {"variants-0-id": "1", "variants-0-price": "1",
                                          "variants-0-stock": "0", "variants-0-stock_seen": "4"})
    assert response.status_code == 409 and "Varian produk ini berubah" in response.get_data(as_text=True)
    db.session.refresh(product)
    assert (product.price, product.stock) == (10_000, 4)


def test_inline_edit_without_htmx_says_why_on_the_list(client, sizes):
    token = csrf_token(client, "/penjual/produk")
    response = client.post(f"/penjual/produk/{sizes.id}/cepat", follow_redirects=True,
                           data={"variants-0-id": str(sizes.variants[0].id), "variants-0-price": "x",
                                 "variants-1-id": str(sizes.variants[1].id), "csrf_token": token})
    body = response.get_data(as_text=True)
    assert "Harga dan stok Kaos Batik tidak disimpan: Tulis harga dalam rupiah" in body


def test_duplicate_archive_and_restore(client, seller, category):
    product = ProductFactory(shop=seller, category=category, name="Dodol Betawi", sku="DB-1")
    response = post(client, f"/penjual/produk/{product.id}/salin", {}, "/penjual/produk")
    copy = db.session.scalars(select(Product).where(Product.id != product.id)).one()
    assert copy.status == "draft" and copy.sku is None and "salinan" in copy.name
    post(client, f"/penjual/produk/{product.id}/status/archived", {}, "/penjual/produk")
    db.session.refresh(product)
    assert product.status == "archived"
    assert f'id="produk-{product.id}"' not in client.get("/penjual/produk").get_data(as_text=True)
    assert f'id="produk-{product.id}"' in client.get("/penjual/produk?status=archived").get_data(as_text=True)
    post(client, f"/penjual/produk/{product.id}/status/draft", {}, "/penjual/produk")
    db.session.refresh(product)
    assert product.status == "draft"
    assert response.status_code == 302


# --- stock -------------------------------------------------------------------------------

def test_stock_adjustments_with_reasons_and_history(client, seller, category):
    product = ProductFactory(shop=seller, category=category, stock=5)
    post(client, f"/penjual/produk/{product.id}/stok", {"change": "10", "reason": "restock", "note": "dari pabrik"})
    post(client, f"/penjual/produk/{product.id}/stok", {"change": "-2", "reason": "damaged"})
    db.session.refresh(product)
    assert product.stock == 13
    page = client.get(f"/penjual/produk/{product.id}/stok").get_data(as_text=True)
    assert "+10" in page and "-2" in page and "dari pabrik" in page and "Rusak" in page


def test_stock_never_goes_below_zero(client, seller, category):
    product = ProductFactory(shop=seller, category=category, stock=3)
    response = post(client, f"/penjual/produk/{product.id}/stok", {"change": "-4", "reason": "correction"})
    assert response.status_code == 409 and "Stok tidak cukup" in response.get_data(as_text=True)
    db.session.refresh(product)
    assert product.stock == 3


def test_low_stock_and_sold_out_badges(client, seller, category):
    ProductFactory(shop=seller, category=category, name="Hampir Habis", stock=2)
    ProductFactory(shop=seller, category=category, name="Sudah Habis", stock=0)
    page = client.get("/penjual/produk").get_data(as_text=True)
    assert "Stok menipis" in page and "Habis" in page
    assert "Hampir Habis" in client.get("/penjual").get_data(as_text=True)


# --- orders ------------------------------------------------------------------------------

def make_order(shop, status="new", fulfilment="pickup", total=30_000, product=None):
    """An order as checkout leaves it: paid ones are in the ledger, a cancelled one was refunded."""
    paid = status != "awaiting_payment"
    order = Order(code=f"GR-{shop.id}-{db.session.scalar(select(db.func.count(Order.id))) + 1}",
                  shop=shop, buyer_name="Budi", buyer_whatsapp="+6281111111111", status=status,
                  fulfilment=fulfilment, subtotal=total, total=total,
                  paid_at=utcnow() if paid else None,
                  refunded_at=utcnow() if status == "cancelled" else None)
    order.lines.append(OrderLine(product_id=product.id if product else None, name="Keripik", unit_price=total,
                                 quantity=1, line_total=total))
    db.session.add(order)
    db.session.flush()
    if paid:
        ledger.post_sale(order)
    if status == "cancelled":
        ledger.post_refund(order)
    db.session.commit()
    return order


def test_orders_move_through_their_states(client, seller, category):
    order = make_order(seller, fulfilment="delivery")
    url = f"/penjual/pesanan/{order.id}"
    post(client, url, {"status": "processing"})
    missing = post(client, url, {"status": "shipped", "note": ""})
    assert missing.status_code == 422 and "nomor resi" in missing.get_data(as_text=True)
    post(client, url, {"status": "shipped", "note": "JNE 123"})
    wrong = post(client, url, {"status": "processing"})
    assert wrong.status_code == 409
    post(client, url, {"status": "completed"})
    db.session.refresh(order)
    assert order.status == "completed" and order.tracking_note == "JNE 123"


def test_cancelling_returns_the_stock(client, seller, category):
    product = ProductFactory(shop=seller, category=category, stock=1)
    order = make_order(seller, product=product)
    post(client, f"/penjual/pesanan/{order.id}", {"status": "cancelled", "note": "Pembeli minta batal"})
    db.session.refresh(product)
    assert product.stock == 2


def test_unpaid_orders_are_not_shown_to_the_seller(client, seller):
    unpaid = make_order(seller, status="awaiting_payment")
    make_order(seller, status="new")
    assert client.get(f"/penjual/pesanan/{unpaid.id}").status_code == 404
    assert client.get("/penjual/pesanan").get_data(as_text=True).count('class="badge status-') == 1


def test_dashboard_sums_paid_sales(client, seller, category):
    make_order(seller, total=30_000)
    make_order(seller, total=12_500, status="completed")
    make_order(seller, total=99_000, status="awaiting_payment")
    make_order(seller, total=50_000, status="cancelled")
    page = client.get("/penjual").get_data(as_text=True)
    assert page.count("Rp42.500") >= 2  # today and this month
    assert "<svg" in page


# --- permissions -------------------------------------------------------------------------

def _object_routes(product_id, image_id, order_id):
    """Every seller route that names an object by id."""
    return [
        ("get", f"/penjual/produk/{product_id}"), ("post", f"/penjual/produk/{product_id}"),
        ("post", f"/penjual/produk/{product_id}/cepat"), ("post", f"/penjual/produk/{product_id}/salin"),
        ("post", f"/penjual/produk/{product_id}/status/archived"),
        ("post", f"/penjual/produk/{product_id}/foto"),
        ("post", f"/penjual/produk/{product_id}/foto/{image_id}/hapus"),
        ("post", f"/penjual/produk/{product_id}/foto/{image_id}/sampul"),
        ("get", f"/penjual/produk/{product_id}/stok"), ("post", f"/penjual/produk/{product_id}/stok"),
        ("get", f"/penjual/pesanan/{order_id}"), ("post", f"/penjual/pesanan/{order_id}"),
    ]


LIST_ROUTES = ["/penjual", "/penjual/produk", "/penjual/pesanan", "/penjual/toko"]

# who -> what every object route answers: another seller gets 404 (the object is not in
# their shop), a shopper without a shop is sent to open one, a stranger to log in.
EXPECTED = {"other seller": (404, None), "shopper": (302, "/penjual/toko/buka"),
            "anonymous": (302, "/masuk")}


@pytest.fixture
def other_shop(app, category):
    from storefront.catalogue.models import ProductImage

    shop = ShopFactory(name="Toko Tetangga", slug="toko-tetangga")
    product = ProductFactory(shop=shop, category=category, name="Rahasia Tetangga", price=77_000, stock=7)
    product.images.append(ProductImage(key="a" * 32, width=10, height=10, alt="rahasia"))
    order = make_order(shop, product=product)
    db.session.commit()
    return shop, product, product.images[0], order


@pytest.mark.parametrize("who", ["other seller", "shopper", "anonymous"])
def test_nobody_else_reaches_a_shops_objects(client, auth, app, other_shop, who):
    shop, product, image, order = other_shop
    if who == "other seller":
        user = UserFactory(email="lain@contoh.id", roles=["shopper", "seller"])
        ShopFactory(owner=user)
        auth.login("lain@contoh.id")
    elif who == "shopper":
        UserFactory(email="pembeli@contoh.id")
        auth.login("pembeli@contoh.id")
    token = csrf_token(client, "/")
    status, location = EXPECTED[who]
    for method, url in _object_routes(product.id, image.id, order.id):
        response = getattr(client, method)(url, data={"csrf_token": token, "price": "1", "stock": "0",
                                                      "change": "-7", "reason": "damaged",
                                                      "status": "cancelled", "note": "x", "name": "X"})
        assert response.status_code == status, (who, method, url)
        assert location is None or location in response.headers["Location"], (who, url)
        assert "Rahasia Tetangga" not in response.get_data(as_text=True)
    for url in LIST_ROUTES:
        body = client.get(url, follow_redirects=True).get_data(as_text=True)
        assert "Rahasia Tetangga" not in body and "Rp77.000" not in body, (who, url)
    db.session.refresh(product)
    db.session.refresh(order)
    assert (product.price, product.stock, product.status, len(product.images)) == (77_000, 7, "active", 1)
    assert order.status == "new"
    assert db.session.scalar(select(db.func.count(Product.id))) == 1  # nothing duplicated


def test_listing_text_is_escaped_everywhere(client, seller, category):
    ProductFactory(shop=seller, category=category, name='<img src=x onerror=alert(1)>',
                   description='<a hx-get="/keluar" hx-trigger="load">x</a>')
    for url in ("/penjual/produk", "/penjual"):
        body = client.get(url).get_data(as_text=True)
        assert "<img src=x" not in body
    product = db.session.scalar(select(Product))
    body = client.get(f"/penjual/produk/{product.id}").get_data(as_text=True)
    assert "<img src=x" not in body and '<a hx-get="/keluar"' not in body


def test_status_change_never_redirects_off_the_site(client, seller, category):
    product = ProductFactory(shop=seller, category=category)
    for target, expected in [("https://evil.example/", "/penjual/produk"), ("//evil.example", "/penjual/produk"),
                             ("/penjual/produk?status=archived", "/penjual/produk?status=archived")]:
        response = post(client, f"/penjual/produk/{product.id}/status/archived", {"next": target},
                        "/penjual/produk")
        assert response.headers["Location"] == expected

"""A seller on a 360 px phone (issue 14.7): every tab of the workspace on the screen, a new
product with its photo in one go and Aktif by default, an import preview as wide as the phone."""

import io
import itertools

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import log_in
from tests.browser.seen import assert_seen, sideways_overflow, small_targets

pytestmark = pytest.mark.browser

_sellers = itertools.count(1)


@pytest.fixture
def seller(live_app):
    from storefront.accounts.models import User, UserRole
    from storefront.accounts.passwords import hash_password
    from storefront.catalogue.models import Shop
    from storefront.extensions import db
    from tests.conftest import TEST_PASSWORD

    n = next(_sellers)
    with live_app.app_context():
        owner = User(name=f"Bu Tini {n}", email=f"tini{n}@gerai.test",
                     password_hash=hash_password(TEST_PASSWORD))
        owner.roles = [UserRole(role="shopper"), UserRole(role="seller")]
        shop = Shop(owner=owner, name=f"Dodol Bu Tini {n}", slug=f"dodol-bu-tini-{n}", type="umkm",
                    kecamatan="Cipondoh", kelurahan="Ketapang", verified=True)
        db.session.add_all([owner, shop])
        db.session.commit()
        email = owner.email
        db.session.remove()
    return email


def png(path):
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (400, 400), (179, 38, 30)).save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    return path


def test_every_seller_tab_is_on_a_phone_screen(new_context, seller):
    page = log_in(new_context(), seller)
    page.goto("/penjual")
    tabs = page.locator(".seller-nav a")
    assert tabs.count() == 7
    for i in range(tabs.count()):
        assert_seen(tabs.nth(i), f"the tab {tabs.nth(i).inner_text()!r}")
    assert sideways_overflow(page) <= 0


def test_new_product_takes_its_photo_and_is_active_by_default(new_context, seller, live_app, tmp_path):
    from storefront.catalogue.models import Product
    from storefront.extensions import db

    page = log_in(new_context(), seller)
    page.goto("/penjual/produk/baru")
    expect(page.get_by_label("Status")).to_have_value("active")
    photo = page.get_by_label("Foto produk")
    assert_seen(photo, "the photo field, near the top")
    assert small_targets(page) == []
    assert sideways_overflow(page) <= 0
    page.get_by_label("Nama produk").fill("Dodol Garut Wijen")
    page.locator("#price").fill("12.000")
    page.locator("#stock").fill("10")
    photo.set_input_files(str(png(tmp_path / "dodol.png")))
    page.get_by_role("button", name="Simpan produk").click()
    expect(page.locator(".photos img")).to_have_count(1)
    with live_app.app_context():
        product = db.session.scalar(select(Product).where(Product.name == "Dodol Garut Wijen"))
        assert product.status == "active" and len(product.images) == 1
        db.session.remove()


def test_import_preview_is_as_wide_as_the_phone(new_context, seller, tmp_path):
    page = log_in(new_context(), seller)
    page.goto("/penjual/produk/impor")
    csv = tmp_path / "katalog.csv"
    csv.write_text("sku,nama,kategori,harga,stok\nDT-1,Dodol Talas Pandan Wangi Isi Dua Belas,makanan,15000,20\n"
                   "DT-2,Dodol Durian,makanan,abc,5\n")
    page.get_by_label("Berkas CSV atau XLSX").set_input_files(str(csv))
    page.get_by_role("button", name="Unggah dan periksa").click()
    expect(page.locator(".import-preview")).to_be_visible()
    assert sideways_overflow(page) <= 0
    row = page.locator(".import-preview tr", has_text="Dodol Durian")
    row.scroll_into_view_if_needed()
    assert_seen(row.locator(".error").first, "the reason a row is refused")


def _product_with_variants(live_app, email):
    """Kaos Batik with two sizes in the seller's shop; returns (product id, variant ids)."""
    from storefront.catalogue.models import Category, Shop
    from storefront.extensions import db
    from storefront.seller import services

    with live_app.app_context():
        shop = db.session.scalar(select(Shop).where(Shop.owner.has(email=email)))
        category = db.session.scalar(select(Category).where(Category.parent_id.is_not(None)))
        product = services.save_product(
            shop, {"name": "Kaos Batik Cipondoh", "description": "", "price": 0, "stock": 0,
                   "weight_grams": None, "status": "active", "category_id": category.id,
                   "sku": None, "option_name": "Ukuran", "stock_seen": 0},
            [services.VariantInput(name="M", price=85_000, stock=4),
             services.VariantInput(name="XL", price=90_000, stock=2)])
        db.session.commit()
        ids = product.id, [v.id for v in product.variants]
        db.session.remove()
    return ids


def test_a_phone_seller_edits_each_variant_in_the_list(new_context, seller, live_app):
    from storefront.catalogue.models import Product
    from storefront.extensions import db
    from storefront.inventory import services as inventory

    product_id, (m, xl) = _product_with_variants(live_app, seller)
    page = log_in(new_context(), seller)
    page.goto("/penjual/produk")
    row = page.locator(f"#produk-{product_id}")
    for field in (f"#harga-{product_id}-{m}", f"#stok-{product_id}-{m}",
                  f"#harga-{product_id}-{xl}", f"#stok-{product_id}-{xl}"):
        row.locator(field).scroll_into_view_if_needed()
        assert_seen(row.locator(field), f"the field {field}")
    assert sideways_overflow(page) <= 0
    assert small_targets(page) == []

    row.locator(f"#harga-{product_id}-{m}").fill("87.500")
    row.locator(f"#stok-{product_id}-{m}").fill("10")
    row.locator(f"#stok-{product_id}-{xl}").fill("0")
    row.get_by_role("button", name="Simpan").click()
    expect(row.locator(".saved")).to_have_text("Tersimpan")
    assert page.url.endswith("/penjual/produk")
    with live_app.app_context():
        product = db.session.get(Product, product_id)
        assert [(v.name, v.price, v.stock) for v in product.variants] == [
            ("M", 87_500, 10), ("XL", 90_000, 0)]
        assert (product.price, product.stock) == (87_500, 10)
        # A shopper buys two M while the list stays open on the phone.
        inventory.change(product_id, -2, "sale", variant_id=m)
        db.session.commit()
        db.session.remove()

    row.locator(f"#stok-{product_id}-{m}").fill("12")
    row.get_by_role("button", name="Simpan").click()
    error = row.locator(f"#stok-{product_id}-{m}-error")
    expect(error).to_contain_text("Stok berubah dari 10 menjadi 8")
    assert_seen(error, "why the count was refused")
    expect(row.locator(f"#stok-{product_id}-{m}")).to_have_value("12")  # what was typed stays
    assert sideways_overflow(page) <= 0
    row.get_by_role("button", name="Simpan").click()  # the seller looked, and keeps 12
    expect(row.locator(".saved")).to_have_text("Tersimpan")
    with live_app.app_context():
        product = db.session.get(Product, product_id)
        assert [v.stock for v in product.variants] == [12, 0] and product.stock == 12
        db.session.remove()

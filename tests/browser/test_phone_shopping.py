"""A shopper on a 360 px phone (issue 14.5, 14.6, 14.8, 14.10, 14.11 and WhatsApp): the name,
price and buy button come first; the cart says why a quantity was refused, in full; checkout
asks for an address only for delivery; nothing scrolls sideways; every control is thumb-sized."""

import itertools
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.seen import assert_seen, sideways_overflow, small_targets

pytestmark = pytest.mark.browser

_shops = itertools.count(1)


@pytest.fixture
def honey(live_app):
    """A shop with a WhatsApp number and delivery, and a product with three left and no photo."""
    from storefront.accounts.models import User, UserRole
    from storefront.accounts.passwords import hash_password
    from storefront.catalogue.models import Category, Product, Shop
    from storefront.extensions import db
    from tests.conftest import TEST_PASSWORD

    n = next(_shops)
    with live_app.app_context():
        owner = User(name=f"Pak Jali {n}", email=f"madu{n}@gerai.test",
                     password_hash=hash_password(TEST_PASSWORD))
        owner.roles = [UserRole(role="shopper"), UserRole(role="seller")]
        shop = Shop(owner=owner, name=f"Madu Pak Jali {n}", slug=f"madu-pak-jali-{n}", type="umkm",
                    kecamatan="Ciledug", kelurahan="Sudimara Timur", verified=True,
                    whatsapp="+6281234567890", delivery_fee=8_000)
        category = db.session.scalar(select(Category).where(Category.parent_id.is_not(None)).limit(1))
        product = Product(shop=shop, category=category, name="Madu Kelulut 300 ml",
                          slug=f"madu-kelulut-{n}", description="Dari Sudimara.", price=96_500,
                          stock=3, status="active")
        db.session.add_all([owner, shop, product])
        db.session.commit()
        info = {"url": f"/produk/{product.id}/{product.slug}", "shop": f"/toko/{shop.slug}",
                "category": category.name, "shop_name": shop.name, "email": owner.email}
        db.session.remove()
    return info


def photographed_product(live_app) -> str:
    from storefront.catalogue.models import Product, ProductImage
    from storefront.extensions import db

    with live_app.app_context():
        product = db.session.scalar(select(Product).join(ProductImage)
                                    .where(Product.status == "active", Product.stock > 0).limit(1))
        url = f"/produk/{product.id}/{product.slug}"
        db.session.remove()
    return url


def test_product_page_shows_name_price_and_buy_button_before_the_photos(page, live_app):
    page.goto(photographed_product(live_app))
    for what, element in (("the product name", page.locator("h1")),
                          ("the price", page.locator(".summary .price")),
                          ("the buy button", page.get_by_role("button", name="+ Keranjang"))):
        assert_seen(element, what)
    photo = page.locator(".gallery img").first.bounding_box()
    price = page.locator(".summary .price").bounding_box()
    assert photo["y"] > price["y"], "the photos come before the price"
    assert sideways_overflow(page) <= 0
    assert small_targets(page) == []
    # the card a link pasted into WhatsApp shows: name and price, and the photo
    assert re.search(r"Rp\d", page.locator("meta[property='og:title']").get_attribute("content"))
    assert page.locator("meta[property='og:image']").get_attribute("content").startswith("http")


def test_chat_penjual_opens_whatsapp_with_the_product_named(page, honey):
    page.goto(honey["url"])
    chat = page.get_by_role("link", name="Chat penjual")
    assert_seen(chat, "Chat penjual")
    href = chat.get_attribute("href")
    assert href.startswith("https://wa.me/6281234567890?text=")
    assert "Madu%20Kelulut%20300%20ml" in href and re.search(r"http[^ ]*produk", href.replace("%3A", ":").replace("%2F", "/"))
    page.goto(honey["shop"])
    assert page.get_by_role("link", name="Chat penjual").get_attribute("href").startswith("https://wa.me/6281234567890")


def test_a_product_without_photos_shows_its_initial_and_category(page, honey):
    page.goto(honey["shop"])
    card = page.locator("li.card", has_text="Madu Kelulut 300 ml")
    placeholder = card.locator(".no-photo")
    expect(placeholder.locator(".initial")).to_have_text("M")
    expect(placeholder.locator(".category")).to_have_text(honey["category"])
    assert_seen(card.locator(".price"), "the price on a card without a photo")


def test_cart_says_why_a_quantity_was_refused_and_keeps_the_cart_quantity(page, honey):
    page.goto(honey["url"])
    page.get_by_role("button", name="+ Keranjang").click()
    expect(page.locator("#jumlah-keranjang")).to_contain_text("1")
    page.goto("/keranjang")
    line = page.locator(".cart-line", has_text="Madu Kelulut 300 ml")
    expect(line.locator(".thumb .no-photo, .thumb img")).to_have_count(1)
    quantity = line.get_by_label("Jumlah")
    quantity.fill("9")
    line.get_by_role("button", name="Ubah").click()
    message = page.locator(".cart-line", has_text="Madu Kelulut 300 ml").locator(".error")
    expect(message).to_contain_text("Stok tersisa 3")
    expect(message).to_contain_text("diminta: 9")
    assert_seen(message, "the over-stock message")
    box, card = message.bounding_box(), page.locator(".cart-shop").last.bounding_box()
    assert box["x"] + box["width"] <= card["x"] + card["width"], "the message runs past its card"
    expect(page.locator(".cart-line", has_text="Madu Kelulut 300 ml").get_by_label("Jumlah")).to_have_value("1")
    assert sideways_overflow(page) <= 0


def test_checkout_asks_for_an_address_only_for_delivery(page, honey):
    page.goto(honey["url"])
    page.get_by_role("button", name="+ Keranjang").click()
    expect(page.locator("#jumlah-keranjang")).to_contain_text("1")
    page.goto("/checkout")
    choice = page.locator("fieldset.shop-choice", has_text=honey["shop_name"])
    address = choice.get_by_label("Alamat pengantaran")
    expect(address).to_be_hidden()
    pickup = choice.get_by_label(re.compile("Ambil di toko"))
    radio = pickup.bounding_box()
    assert radio["width"] <= 24 and radio["height"] <= 24, f"a giant radio button: {radio}"
    choice.get_by_label(re.compile("Diantar")).check()
    expect(address).to_be_visible()
    pickup.check()
    expect(address).to_be_hidden()
    assert_seen(page.get_by_label("Nama penerima"), "the first field")
    assert sideways_overflow(page) <= 0
    assert small_targets(page) == []


@pytest.mark.parametrize("path", ["/", "/katalog", "/toko", "/keranjang"])
def test_header_is_compact_and_every_page_fits_the_phone(page, path):
    page.goto(path)
    header = page.locator(".site-header").bounding_box()
    assert header["height"] <= 110, f"the header takes {header['height']} px"
    for code in ("ID", "EN"):
        box = page.get_by_role("button", name=code, exact=True).bounding_box()
        assert box["width"] >= 24 and box["height"] >= 24, f"{code}: {box}"
    assert sideways_overflow(page) <= 0
    assert small_targets(page) == []

"""A fair stand in Chromium: a keeper's phone, a visitor's phone, and a network that drops."""

import itertools
import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

pytestmark = pytest.mark.browser

_stands = itertools.count(1)


@pytest.fixture
def stand(live_app):
    """A fresh fair stand with two products, kept by a seller who can log in."""
    from storefront.accounts.models import User, UserRole
    from storefront.accounts.passwords import hash_password
    from storefront.catalogue.models import Category, Product, Shop
    from storefront.exhibitions.models import Fair, Stand, StandItem
    from storefront.extensions import db
    from tests.conftest import TEST_PASSWORD

    n = next(_stands)
    with live_app.app_context():
        keeper = User(name=f"Bu Sri {n}", email=f"stan{n}@gerai.test",
                      password_hash=hash_password(TEST_PASSWORD))
        keeper.roles = [UserRole(role="shopper"), UserRole(role="seller")]
        shop = Shop(owner=keeper, name=f"Keripik Bu Sri {n}", slug=f"keripik-bu-sri-uji-{n}",
                    type="umkm", kecamatan="Cipondoh", kelurahan="Ketapang", verified=True)
        category = db.session.scalar(select(Category).limit(1))
        products = [Product(shop=shop, category=category, name=name, slug=f"{slug}-{n}",
                            description="Buatan rumahan.", price=price, stock=50, status="active")
                    for name, slug, price in (("Keripik Tempe Pedas", "keripik-uji", 15_000),
                                              ("Kopi Robusta Bubuk", "kopi-uji", 40_000))]
        fair = Fair(name=f"Pameran Uji {n}", slug=f"pameran-uji-{n}", venue="Situ Cipondoh",
                    starts_on=date.today() - timedelta(days=1), ends_on=date.today() + timedelta(days=1))
        stand = Stand(fair=fair, code="A-01", shop=shop)
        db.session.add_all([keeper, shop, *products, fair, stand])
        db.session.flush()
        db.session.add_all(StandItem(stand_id=stand.id, product_id=p.id) for p in products)
        db.session.commit()
        info = {"email": keeper.email, "till": f"/pameran/{fair.slug}/A-01/kasir",
                "stand_id": stand.id}
        db.session.remove()
    return info


def stand_sales(live_app, stand_id: int) -> list[tuple[str, int]]:
    from storefront.extensions import db
    from storefront.orders.models import Order

    with live_app.app_context():
        rows = db.session.execute(select(Order.channel, Order.total)
                                  .where(Order.stand_id == stand_id, Order.paid_at.is_not(None))).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def open_till(new_context, stand):
    from tests.browser.conftest import log_in

    context = new_context()
    page = log_in(context, stand["email"])
    page.goto(stand["till"])
    page.evaluate("window.sameScreen = true")  # gone if the page reloads
    return context, page


def decode_qr(page, selector: str) -> str:
    """What a payer's camera reads: the QR decoded from the screen's pixels (zxing-cpp)."""
    import io

    import zxingcpp
    from PIL import Image

    shot = page.locator(selector).screenshot()
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(shot)))
    assert found, f"no QR code readable in {selector}"
    return found[0].text


def pay_on_the_wallet(new_context, payload: str, app: str = "OVO"):
    """The visitor's e-wallet: another phone, no login, pastes what it scanned and pays."""
    wallet = new_context().new_page()
    wallet.goto("/xendit-sandbox/wallet")
    wallet.locator("#isi").fill(payload)
    wallet.locator("#baca").click()
    expect(wallet.locator("#rincian")).to_be_visible()
    merchant = wallet.locator("#penjual").inner_text()
    wallet.get_by_label("Aplikasi").select_option(app)
    wallet.locator("#bayar").click()
    expect(wallet.locator("#pesan")).to_contain_text("Berhasil dibayar")
    return merchant


def test_keeper_rings_up_the_visitor_scans_the_qris_and_the_screen_turns_paid(new_context, live_app,
                                                                                stand):
    import qriskit

    keeper_context, keeper = open_till(new_context, stand)
    keeper.locator(".till-item", has_text="Keripik Tempe Pedas").click()
    keeper.locator(".till-item", has_text="Kopi Robusta Bubuk").click()
    expect(keeper.locator("#total-kasir")).to_have_text("Rp 55.000")
    keeper.get_by_role("button", name="Bayar QR").click()
    charge = keeper.locator("#tagihan")
    expect(charge.locator("[data-qris] svg")).to_be_visible()
    expect(charge).to_contain_text("Scan dengan aplikasi e-wallet atau m-banking apa pun")
    payload = decode_qr(keeper, "#tagihan [data-qris]")
    parsed = qriskit.parse(payload, strict=True)
    assert parsed.is_dynamic and int(parsed.amount) == 55_000
    assert [i for i in qriskit.validate(payload) if i.severity == "error"] == []

    assert parsed.merchant_name in pay_on_the_wallet(new_context, payload)

    expect(keeper.locator("#tagihan .paid-stamp")).to_have_text("LUNAS", timeout=5_000)
    expect(keeper.locator("#tagihan")).to_contain_text("Kopi Robusta Bubuk")
    assert keeper.evaluate("window.sameScreen") is True  # no reload
    assert stand_sales(live_app, stand["stand_id"]) == [("fair_qr", 55_000)]


def test_a_visitor_basket_shows_the_qris_on_the_visitors_phone(new_context, live_app, stand):
    visitor = new_context().new_page()
    visitor.goto(stand["till"].removesuffix("/kasir"))
    visitor.locator("input[name^='q-']").first.fill("2")
    visitor.get_by_role("button", name=re.compile("Bayar dan ambil di stan")).click()
    visitor.get_by_role("button", name=re.compile("^Bayar Rp")).click()
    qr = visitor.locator(".pay-page [data-qris] svg")
    expect(qr).to_be_visible()
    expect(visitor.get_by_role("link", name="Simpan gambar QR")).to_be_visible()
    expect(visitor.locator("[data-countdown]")).to_contain_text("Sisa waktu")
    payload = decode_qr(visitor, ".pay-page [data-qris]")
    pay_on_the_wallet(new_context, payload, app="DANA")
    expect(visitor.locator(".paid-stamp")).to_have_text("LUNAS", timeout=10_000)


def test_cash_sale_made_offline_is_recorded_once_when_back_online(new_context, live_app, stand):
    context, keeper = open_till(new_context, stand)
    context.set_offline(True)
    expect(keeper.locator("#jaringan")).to_contain_text("Offline")
    keeper.locator(".till-item", has_text="Keripik Tempe Pedas").click()
    keeper.get_by_label("Uang diterima (tunai)").fill("20.000")
    expect(keeper.locator("#kembalian")).to_have_text("Rp 5.000")
    keeper.get_by_role("button", name="Tunai").click()
    expect(keeper.locator("#tunai-offline")).to_contain_text("Kembalian Rp 5.000")
    expect(keeper.locator("#antrean")).to_contain_text("1 penjualan tunai menunggu sinkron")
    queued = keeper.evaluate("Object.entries(localStorage).find(([k]) => k.startsWith('gerai-till'))[1]")
    keeper.get_by_role("button", name="Bayar QR").click()  # no network: QR says so
    expect(keeper.locator("#pesan-kasir")).to_contain_text("butuh internet")
    assert stand_sales(live_app, stand["stand_id"]) == []

    context.set_offline(False)
    expect(keeper.locator("#antrean")).to_be_hidden(timeout=10_000)
    expect(keeper.locator("#penjualan .sale")).to_have_count(1, timeout=10_000)
    assert stand_sales(live_app, stand["stand_id"]) == [("fair_cash", 15_000)]

    # The same queued sale sent again (an answer lost on the way back): still one sale.
    keeper.evaluate("""queued => {
        const key = Object.keys(localStorage).find(k => k.startsWith('gerai-till'));
        localStorage.setItem(key, queued);
        window.dispatchEvent(new Event('online'));
    }""", queued)
    expect(keeper.locator("#antrean")).to_be_hidden(timeout=10_000)
    keeper.wait_for_timeout(500)
    assert stand_sales(live_app, stand["stand_id"]) == [("fair_cash", 15_000)]
    assert keeper.evaluate("window.sameScreen") is True


def test_stand_screen_fits_a_phone(new_context, stand):
    _, keeper = open_till(new_context, stand)
    width = keeper.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the stand screen scrolls sideways at 360 px ({width} px)"
    box = keeper.get_by_role("button", name="Tunai").bounding_box()
    assert box["height"] >= 48  # a thumb, not a mouse
    keeper.locator(".till-item", has_text="Kopi Robusta Bubuk").click()
    keeper.get_by_role("button", name="Bayar QR").click()
    expect(keeper.locator("#tagihan svg")).to_be_visible()
    width = keeper.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the payment QR scrolls sideways at 360 px ({width} px)"


"""Screenshots of the pages people use, at 360 and 1280 px, for a reviewer to look at in a
minute (issue 14): python -m tests.browser.screens [folder]  (default: instance/screens).

It seeds a scratch SQLite world like the browser suite, serves the app on a loopback port
with the local payment sandbox, and walks a visitor, a shopper, a seller at a fair stand,
the office and a cooperative manager through their pages. Debian's Chromium only."""

from __future__ import annotations

import logging
import sys
import tempfile
import threading
from pathlib import Path

from werkzeug.serving import make_server

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, import_preview, sandboxes
from tests.conftest import _test_config

WIDTHS = (360, 1280)
FAIR = "/pameran/pameran-umkm-situ-cipondoh"


def serve(folder: Path):
    from storefront import create_app
    from storefront.demo.seed import seed
    from storefront.extensions import db
    from storefront.indexing.services import reindex

    apps = {}
    server = make_server("127.0.0.1", 0, lambda env, start: apps["gerai"](env, start), threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    app = create_app({**_test_config(f"sqlite:///{folder / 'gerai.db'}", media_root=folder / "media"),
                      **sandboxes(base, "whsec_screens")})
    apps["gerai"] = app
    with app.app_context():
        db.create_all()
        seed(products=200, shops=45, media_root=folder / "media")
        reindex()
        db.session.remove()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, base


def main(out: Path) -> None:
    from playwright.sync_api import sync_playwright

    from storefront.demo.seed import DEMO_PASSWORD

    out.mkdir(parents=True, exist_ok=True)
    server, base = serve(Path(tempfile.mkdtemp(prefix="gerai-screens-")))
    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for width in WIDTHS:
            def shot(page, name, full=False):
                path = out / f"{name}-{width}.png"
                page.screenshot(path=str(path), full_page=full)
                written.append(path)

            def person(email=None):
                context = browser.new_context(base_url=base, viewport={"width": width, "height": 780})
                page = context.new_page()
                if email:
                    page.goto("/masuk")
                    page.get_by_label("Email").fill(email)
                    page.get_by_label("Kata sandi").fill(DEMO_PASSWORD)
                    page.get_by_role("button", name="Masuk").click()
                    page.wait_for_url(lambda url: "/masuk" not in url)
                return page

            visitor = person()
            for name, path in (("home", "/"), ("catalogue", "/katalog"), ("shops", "/toko"),
                               ("stand-page", f"{FAIR}/A-001")):
                visitor.goto(path)
                shot(visitor, name)
            visitor.locator("li.card a").first.click()
            shot(visitor, "product")
            visitor.locator(".shop-card a").first.click()
            shot(visitor, "shop")

            shopper = person("pembeli@gerai.test")
            shopper.goto("/katalog")
            shopper.locator("li.card .quick-add").first.click()
            shopper.wait_for_timeout(500)
            shopper.goto("/keranjang")
            shot(shopper, "cart")
            shopper.goto("/checkout")
            shot(shopper, "checkout-details")
            shopper.get_by_label("Nomor WhatsApp").fill("0812-3456-7890")
            shopper.get_by_role("button", name="Periksa pesanan").click()
            shot(shopper, "checkout-review")
            shopper.get_by_role("button", name="Bayar").first.click()  # QRIS, the first choice
            shopper.locator(".receipt [data-qris] svg").wait_for()
            shot(shopper, "receipt-qris")
            wallet = person()
            wallet.goto("/xendit-sandbox/wallet")
            wallet.locator("#isi").fill(shopper.locator(".receipt [data-qris]").get_attribute("data-qris"))
            wallet.locator("#baca").click()
            wallet.locator("#bayar").click()
            shopper.get_by_text("LUNAS").first.wait_for(timeout=10_000)
            shot(shopper, "receipt")

            seller = person("penjual1@gerai.test")
            for name, path in (("seller-dashboard", "/penjual"), ("seller-products", "/penjual/produk"),
                               ("product-form", "/penjual/produk/baru"), ("seller-orders", "/penjual/pesanan")):
                seller.goto(path)
                shot(seller, name)
            import_preview(seller, out)
            shot(seller, "import-preview")
            seller.goto(f"{FAIR}/A-001/kasir")
            shot(seller, "till-idle")
            seller.get_by_role("button", name="Tunai").click()
            shot(seller, "till-error")
            seller.locator(".till-item").first.click()
            shot(seller, "till-rung-up")
            seller.get_by_role("button", name="Bayar QR").click()
            seller.locator("#tagihan svg").wait_for()
            seller.wait_for_timeout(300)
            shot(seller, "till-qr")
            payer = person()
            payer.goto("/xendit-sandbox/wallet")
            payer.locator("#isi").fill(seller.locator("#tagihan [data-qris]").get_attribute(
                "data-qris"))
            payer.locator("#baca").click()
            shot(payer, "wallet")
            payer.locator("#bayar").click()
            seller.locator("#tagihan .paid-stamp").wait_for(timeout=10_000)
            shot(seller, "till-paid")

            office = person("admin@gerai.test")
            office.goto(f"{FAIR}/dasbor")
            shot(office, "fair-dashboard")
            office.goto(f"{FAIR}/stan/A-001/poster")
            shot(office, "poster", full=True)

            manager = person("koperasi@gerai.test")
            manager.goto("/koperasi")
            shot(manager, "cooperative")
        browser.close()
    server.shutdown()
    print("\n".join(str(path) for path in written))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("instance/screens"))

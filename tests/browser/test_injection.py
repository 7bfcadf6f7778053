"""Markup typed into a shop, a product, a picture's alt text or a CSV import stays text in Chromium.

Each payload, if it ran, would set window.__xss, open a dialog, or ask for a URL with
"jahat" in it. On every page that shows them, none of that may happen.
"""

import pytest

from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser

PAYLOADS = [
    '<script>window.__xss=1;fetch("/jahat-script")</script>',
    '<img src="/jahat-img.png" onerror="window.__xss=2">',
    '<div hx-get="/jahat-htmx" hx-trigger="load">muat</div>',
    '<button hx-on:click="window.__xss=3" hx-on::load="fetch(\'/jahat-on\')">x</button>',
    '<a href="javascript:fetch(\'/jahat-js\')">tautan</a>',
    '"><svg onload="window.__xss=4"><iframe src="/jahat-frame"></iframe>',
]


@pytest.fixture(scope="module")
def poisoned(live_app):
    """A seller whose shop, address, products, alt texts and imported rows carry payloads."""
    from sqlalchemy import select

    from storefront.accounts.models import User, UserRole
    from storefront.accounts.passwords import hash_password
    from storefront.catalogue.models import Category, Product, ProductImage, Shop
    from storefront.extensions import db
    from storefront.indexing.services import drain_outbox
    from storefront.seller.imports import apply_plan, plan_file
    from tests.conftest import TEST_PASSWORD

    with live_app.app_context():
        seller = User(name=PAYLOADS[0][:100], email="penjual-jahat@gerai.test",
                      password_hash=hash_password(TEST_PASSWORD))
        seller.roles = [UserRole(role="seller"), UserRole(role="shopper")]
        shop = Shop(owner=seller, name=f"Toko {PAYLOADS[5]}"[:120], slug="toko-injeksi",
                    kecamatan="Cipondoh", kelurahan="Ketapang", address=PAYLOADS[3][:300],
                    description=" ".join(PAYLOADS), owner_name=PAYLOADS[1][:120], status="verified")
        category = db.session.scalar(select(Category).where(Category.parent_id.is_not(None)))
        existing = db.session.scalar(select(ProductImage).limit(1))
        db.session.add_all([seller, shop])
        for n, payload in enumerate(PAYLOADS):
            product = Product(shop=shop, category=category, name=f"Keripik injeksi {n} {payload}"[:140],
                              slug=f"keripik-injeksi-{n}", description=payload, price=10_000,
                              stock=5, status="active")
            db.session.add(product)
            db.session.flush()
            db.session.add(ProductImage(product_id=product.id, position=0, key=existing.key,
                                        alt=payload[:200], width=existing.width,
                                        height=existing.height))
        db.session.commit()
        rows = "sku,nama,harga,stok,kategori,deskripsi\n" + "".join(
            f'INJ-{n},"Impor injeksi {n} {p.replace(chr(34), chr(39))}",12000,3,{category.name},'
            f'"{p.replace(chr(34), chr(39))}"\n' for n, p in enumerate(PAYLOADS))
        plan = plan_file(rows.encode(), "katalog.csv", shop.id)
        assert plan.ok, [r.errors for r in plan.rows if r.errors][:3]
        apply_plan(plan, shop.id)
        db.session.commit()
        drain_outbox()
        product_ids = db.session.scalars(select(Product.id).where(Product.shop_id == shop.id)).all()
        db.session.remove()
    return {"email": "penjual-jahat@gerai.test", "products": product_ids}


def visit_and_watch(page, urls: list[str]) -> list[str]:
    problems, requests = [], []
    page.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    page.on("request", lambda request: requests.append(request.url))
    for url in urls:
        page.goto(url)
        page.wait_for_load_state("networkidle")
        page.mouse.wheel(0, 4000)  # bring lazy parts and the scroll sentinel into view
        page.wait_for_timeout(300)
        if page.evaluate("window.__xss") is not None:
            problems.append(f"a payload ran on {url}")
        page.locator("body").click(position={"x": 5, "y": 5})
    problems += [f"request to {url}" for url in requests if "jahat" in url]
    return problems


def test_payloads_stay_text_for_shoppers(new_context, poisoned):
    page = new_context().new_page()
    urls = ["/katalog?q=injeksi", "/toko/toko-injeksi",
            *[f"/produk/{product_id}" for product_id in poisoned["products"][:4]]]
    assert visit_and_watch(page, urls) == []
    page.goto("/katalog?q=injeksi")
    expect_text = page.locator("main").inner_text()
    assert "<script>" in expect_text  # shown as the text the seller typed


def test_payloads_stay_text_for_the_seller_and_the_office(new_context, poisoned):
    seller = log_in(new_context(), poisoned["email"])
    assert visit_and_watch(seller, ["/penjual", "/penjual/produk", "/penjual/toko"]) == []

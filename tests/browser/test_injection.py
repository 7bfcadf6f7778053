"""Markup typed into a shop, a product, a picture's alt text or a CSV import stays text in Chromium.

Each payload, if it ran, would set window.__xss, open a dialog, or ask for a URL with
"jahat" in it. On every page that shows them, none of that may happen.

The last test goes wider (issue 13): every column people write (USER_TEXT of
tests/outside/test_user_text_containers.py, so a new one is covered once listed there)
carries script, event-handler, htmx (a load-triggered role change as well) and
javascript: payloads and a URL of a second loopback server; every page that shows them
is opened as a visitor, a shopper, a seller, an organizer, a cooperative manager and an
admin. No request may reach that server, no dialog open, no payload become an element
(nor be stopped by CSP, which would mean it had), and no one's roles change.
"""

import threading

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


# --- every text field people write, seen by every role (issue 13) ---------------------------

class PayloadHost:
    """A second loopback server that answers everything and records it: a request here
    means a payload ran (or a browser fetched what someone typed as a URL)."""

    def __init__(self):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        hits = self.hits = []

        class Record(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (the http.server hook's name)
                hits.append(f"{self.command} {self.path} from {self.headers.get('Referer')}")
                self.send_response(204)
                self.end_headers()

            do_POST = do_HEAD = do_OPTIONS = do_GET

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Record)
        self.host = f"127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def payloads(host: str, victim: int) -> list[str]:
    """What people type to run code in others' browsers: each tried first in some column."""
    return [
        f"<script>fetch('//{host}/script')</script>",
        f"<img src=//{host}/img onerror=alert(1)>",
        f"<i hx-get=//{host}/htmx hx-trigger=load>",
        f"<b hx-post=/admin/pengguna/{victim}/peran hx-vals='{{\"role\":\"admin\"}}' "
        "hx-trigger=load>",
        f"<a href=\"javascript:fetch('//{host}/js')\">j</a>",
        f"\"'><svg onload=fetch('//{host}/svg')>",
        f"http://{host}/url",
    ]


def _prefix(texts: list[str]):
    def prefix(n: int, length: int | None) -> str:
        turned = " ".join(texts[n % len(texts):] + texts[:n % len(texts)]) + " "
        # in a short unique column the value's own start still follows the payload
        return turned if length is None else turned[:max(length // 2, 8)]
    return prefix


# Who opens the pages, with the demo's addresses (the organizer is made for the test).
ROLES = {"anonymous": None, "shopper": "pembeli@gerai.test", "seller": "seller",
         "organizer": "penyelenggara@gerai.test", "cooperative manager": "koperasi@gerai.test",
         "admin": "admin@gerai.test"}


@pytest.fixture(scope="module")
def poisoned_city(tmp_path_factory):
    """A demo city of its own after a fair (tests/outside/test_user_text_containers.py),
    every column people write carrying every payload, served from a thread."""
    from storefront import create_app
    from storefront.accounts.models import User, UserRole
    from storefront.accounts.passwords import hash_password
    from storefront.demo.seed import DEMO_PASSWORD
    from storefront.extensions import db
    from tests.conftest import _test_config
    from tests.helpers import Served
    from tests.outside.test_user_text_containers import life_of_a_fair, poison, start_pages

    folder = tmp_path_factory.mktemp("poisoned")
    app = create_app(_test_config(f"sqlite:///{folder / 'gerai.db'}", folder / "media"))
    host = PayloadHost()
    served = Served(app)
    try:
        with app.app_context():
            db.create_all()
            organizer = User(name="Penyelenggara", email=ROLES["organizer"],
                             password_hash=hash_password(DEMO_PASSWORD))
            organizer.roles = [UserRole(role="organizer")]
            db.session.add(organizer)
            db.session.commit()
            victim = organizer.id
            story = life_of_a_fair(served.url)
            written = poison(_prefix(payloads(host.host, victim)))
            assert [c for c, rows in written.items() if not rows] == ["import_job.error"]
            roles = _all_roles()
            db.session.remove()
        starts = start_pages(story)
        starts[ROLES["organizer"]] = [url for url in starts["admin@gerai.test"]
                                      if not url.startswith("/admin/")] + ["/admin/kategori"]
        yield {"url": served.url, "app": app, "host": host, "story": story, "roles": roles,
               "starts": starts, "password": DEMO_PASSWORD}
    finally:
        served.close()
        host.close()
        with app.app_context():
            db.engine.dispose()


def _all_roles() -> dict[str, list[str]]:
    from sqlalchemy import select

    from storefront.accounts.models import User
    from storefront.extensions import db

    return {user.email: sorted(user.role_names) for user in db.session.scalars(select(User))}


def _pages_showing(city: dict, email: str | None, limit: int = 80) -> list[str]:
    """Same-site pages the person reaches from their start pages that show a payload:
    found over HTTP (quick), one page per path shape, to be opened in Chromium (slow)."""
    import re
    from collections import Counter
    from urllib.parse import urldefrag, urlsplit

    from tests.outside.conftest import Browser
    from tests.outside.test_user_text_containers import SKIP

    found, seen, shapes = [], set(), Counter()
    with Browser(city["url"]) as person:
        if email:
            assert person.login(email, city["password"]).status_code == 200, email
        queue = list(city["starts"][email])
        while queue and len(seen) < limit:
            url = urldefrag(queue.pop(0))[0]
            path = urlsplit(url).path
            shape = re.sub(r"^/(produk/#|toko|koperasi)/[^/]+$", r"/\1/*",
                           re.sub(r"\d+", "#", path)).replace("/produk/#", "/produk/#/*", 1)
            if url in seen or SKIP.search(path) or shapes[shape]:
                continue
            seen.add(url)
            answer = person.get(url)
            if "text/html" not in answer.headers.get("Content-Type", ""):
                continue
            if city["host"].host in answer.text:
                shapes[shape] += 1
                found.append(url)
            queue += [link for link in re.findall(r'href="(/[^"/][^"]*)"', answer.text)]
    return found


# Markup a payload would have made, were it not text; and what CSP stopped (which also
# means markup was made: CSP is the second wall, this test is about the first).
INJECTED = """host => {
  const found = [...document.querySelectorAll(
      'script:not([src]), img[src*="' + host + '"], [hx-get*="' + host + '"], [hx-post*="/peran"],'
      + ' svg[onload], [onerror], a[href^="javascript:"]')]
    .filter(e => e.tagName !== 'SCRIPT' || e.textContent.includes(host))
    .map(e => e.outerHTML.slice(0, 120));
  return found.concat(window.__blocked || []);
}"""
WATCH_CSP = """document.addEventListener('securitypolicyviolation', e =>
  (window.__blocked = window.__blocked || []).push('CSP blocked ' + e.blockedURI));"""


def test_every_payload_in_every_text_field_stays_inert_for_every_role(browser, poisoned_city):
    city = poisoned_city
    email_of = {role: city["story"]["seller"] if who == "seller" else who
                for role, who in ROLES.items()}
    problems, opened = [], {}
    for role, email in email_of.items():
        pages = _pages_showing(city, email)
        opened[role] = pages
        context = browser.new_context(base_url=city["url"], viewport={"width": 1280, "height": 900})
        context.set_default_timeout(10_000)
        context.add_init_script(WATCH_CSP)
        try:
            sent = []
            context.on("request", lambda request, sent=sent: sent.append(
                (request.method, request.url)))
            tab = log_in(context, email, city["password"]) if email else context.new_page()
            tab.on("dialog", lambda dialog, role=role: (
                problems.append(f"{role}: a dialog opened on {tab.url}: {dialog.message}"),
                dialog.dismiss()))
            for url in pages:
                tab.goto(url, wait_until="load")
                tab.mouse.wheel(0, 4000)
                tab.wait_for_timeout(250)  # hx-trigger=load and lazy images have fired by now
                problems += [f"{role}: {url}: {found}" for found in tab.evaluate(
                    INJECTED, city["host"].host)]
            problems += [f"{role}: {method} {url}" for method, url in sent
                         if city["host"].host in url or "/peran" in url]
        finally:
            context.close()
    assert not city["host"].hits, f"the payload host was asked: {city['host'].hits}"
    assert problems == []
    with city["app"].app_context():
        assert _all_roles() == city["roles"], "a role changed"
    # every role saw the payloads on some page (else this test tests nothing)
    assert all(opened.values()), {role: len(pages) for role, pages in opened.items()}
